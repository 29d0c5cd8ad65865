//! The logo, as plain axum handlers: the upload (multipart in) through the
//! spine and the audit path like every change, and the public addresses
//! that the sign-in page, the top bar and mail clients read.
//!
//! - `POST /settings/logo` (field `logo`): needs `settings:manage`;
//!   answered with a redirect to `/settings`, with the refusal beside the
//!   field when the image is refused.
//! - `GET /brand/{tenant_id}/logo?v=…`: the image.
//! - `GET /brand/{tenant_id}/style.css?v=…`: the brand colour, as custom
//!   properties (`--brand`, `--brand-ink`).
//!
//! The public two answer by the organisation's id only (see
//! `auth::ORG_COOKIE`), for one that exists and is not deleted; with the
//! `v` they were linked with, browsers keep them for a year (the address
//! changes with the organisation's version).

use crate::authz::ssr::Caller;
use crate::authz::Perm;
use crate::error::AppError;
use crate::ids::TenantId;
use crate::ssr::AppState;
use crate::text::percent_encode;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Back to the Settings page with `message` beside the logo field.
fn refused(message: &str) -> Response {
    let to = format!("/settings?field=logo&error={}", percent_encode(message, b"-_."));
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

/// `POST /settings/logo`. Needs `settings:manage`.
pub async fn upload(caller: Caller, mut multipart: Multipart) -> Response {
    // Authorise before reading a byte.
    if let Err(e) = caller.require(Perm::SettingsManage).await {
        return e.into_response();
    }
    let mut bytes: Option<Vec<u8>> = None;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => return refused("The upload did not arrive whole: try again."),
        };
        if field.name() != Some("logo") {
            continue;
        }
        bytes = Some(match crate::ssr::read_field(&mut field, super::LOGO_MAX_BYTES).await {
            Ok(data) => data,
            Err(crate::ssr::FieldRead::TooLarge) => return refused("A logo is 256 KB at most: upload a smaller image."),
            Err(crate::ssr::FieldRead::Broken(_)) => return refused("The upload did not arrive whole: try again."),
        });
    }
    let bytes = bytes.unwrap_or_default();
    let (content_type, width, height) = match super::logo_kind(&bytes) {
        Ok(kind) => kind,
        Err(message) => return refused(message),
    };
    let result = async {
        let mut actor = caller.require(Perm::SettingsManage).await?;
        super::ssr::set_logo_in(&mut actor, content_type, &bytes, width, height).await?;
        actor.commit().await
    }
    .await;
    match result {
        Ok(()) => {
            crate::ssr::see_other_with_notice(caller.state(), "/settings", "Logo saved.")
        }
        Err(e) => e.into_response(),
    }
}

#[derive(serde::Deserialize)]
pub struct Stamp {
    #[serde(default)]
    v: Option<i32>,
}

fn tenant(id: &str) -> Option<TenantId> {
    id.parse::<uuid::Uuid>().ok().map(TenantId)
}

/// How long a browser may keep an answer: for good when asked with the
/// organisation's current version, otherwise only after checking again.
fn cache_control(asked: Option<i32>, version: i32) -> HeaderValue {
    HeaderValue::from_static(if asked == Some(version) { "public, max-age=31536000, immutable" } else { "no-cache" })
}

/// `GET /brand/{tenant_id}/logo`.
pub async fn serve(State(state): State<AppState>, Path(id): Path<String>, Query(stamp): Query<Stamp>) -> Response {
    let Some(tenant_id) = tenant(&id) else { return AppError::NotFound.into_response() };
    let (content_type, bytes, sha256, version) = match crate::auth::ssr::public_logo(&state, tenant_id).await {
        Ok(Some(logo)) => logo,
        Ok(None) => return AppError::NotFound.into_response(),
        Err(e) => return e.into_response(),
    };
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    h.insert(header::CACHE_CONTROL, cache_control(stamp.v, version));
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{sha256}\"")) {
        h.insert(header::ETAG, tag);
    }
    response
}

/// `GET /brand/{tenant_id}/style.css`.
pub async fn style(State(state): State<AppState>, Path(id): Path<String>, Query(stamp): Query<Stamp>) -> Response {
    let Some(tenant_id) = tenant(&id) else { return AppError::NotFound.into_response() };
    // No colour and no organisation answer alike.
    let brand = match crate::auth::ssr::public_brand(&state, tenant_id).await {
        Ok(Some(brand)) if brand.colour.is_some() => brand,
        Ok(_) => return AppError::NotFound.into_response(),
        Err(e) => return e.into_response(),
    };
    let css = super::brand_css(brand.colour.as_deref());
    let mut response = css.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, cache_control(stamp.v, brand.version));
    response
}
