//! The HTTP side: the axum router around the Leptos application, the session
//! layer, and the authentication middleware that resolves every request's
//! principal before any page or server function runs.

use app::documents::blobs::BlobStore;
use app::auth::ssr::{apply_acting, percent_encode, resolve_principal, session_auth, CurrentUser};
use app::authz::ssr::RequestId;
use app::error::AppError;
use app::ssr::AppState;
use app::{shell, App};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::path::Path;
use std::sync::Arc;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

/// The compiled stylesheet (see build.rs) and its content hash.
pub const STYLESHEET: &str = include_str!(concat!(env!("OUT_DIR"), "/steward.css"));
pub const STYLESHEET_HASH: &str = env!("STEWARD_CSS_HASH");
/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "steward_session";

pub fn stylesheet_path() -> String {
    format!("/assets/steward-{STYLESHEET_HASH}.css")
}

/// How the web side is set up.
#[derive(Clone)]
pub struct WebConfig {
    pub site_root: String,
    pub site_addr: std::net::SocketAddr,
    pub secure_cookies: bool,
    pub session_idle_minutes: i64,
    /// Where document content is stored.
    pub blobs: Arc<dyn BlobStore>,
    /// The size limit of one document upload, in bytes.
    pub max_upload_bytes: u64,
}

pub fn leptos_options(config: &WebConfig) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("steward")
        .site_root(config.site_root.clone())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .build()
}

/// Builds the whole application: pages, server functions, static files.
pub fn router(pool: sqlx::PgPool, config: &WebConfig) -> Router {
    let state = AppState {
        leptos_options: leptos_options(config),
        pool: pool.clone(),
        stylesheet: Arc::from(stylesheet_path()),
        principals: Arc::default(),
        activity: Arc::default(),
        chain_checks: Arc::default(),
        blobs: config.blobs.clone(),
        max_upload_bytes: config.max_upload_bytes,
    };
    let routes = generate_route_list(App);

    let sessions = SessionManagerLayer::new(PostgresStore::new(pool))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(tower_sessions::cookie::time::Duration::minutes(
            config.session_idle_minutes,
        )));

    // The multipart envelope and the form's other fields ride on top of the file.
    let upload_limit = usize::try_from(config.max_upload_bytes).unwrap_or(usize::MAX).saturating_add(256 * 1024);
    let page_state = state.clone();
    let fallback_state = state.clone();
    Router::new()
        .route(&stylesheet_path(), get(stylesheet))
        .route("/healthz", get(|| async { "ok" }))
        .route("/users/export.csv", get(app::users::csv::export))
        .route("/audit/export.csv", get(app::audit::export::csv))
        .route("/audit/export.jsonl", get(app::audit::export::json_lines))
        .route(
            "/documents/upload",
            post(app::documents::transfer::upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route(
            "/documents/{id}/versions",
            post(app::documents::transfer::upload_version).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/documents/{id}/versions/{number}/download", get(app::documents::transfer::download))
        .route(
            "/users/imports",
            post(app::users::import::start).layer(DefaultBodyLimit::max(app::users::IMPORT_MAX_BYTES + 64 * 1024)),
        )
        .leptos_routes(&state, routes, move || shell(page_state.leptos_options.clone(), &page_state.stylesheet))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(move |options| {
            shell(options, &fallback_state.stylesheet)
        }))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(sessions)
        .with_state(state)
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
        ],
        STYLESHEET,
    )
}

/// Pages (not server functions, assets or files) need a signed-in user,
/// except the sign-in page.
fn is_page(method: &Method, path: &str) -> bool {
    (method == Method::GET || method == Method::HEAD)
        && !path.starts_with("/api/")
        && !path.starts_with("/pkg/")
        && !path.starts_with("/assets/")
        && path != "/healthz"
        && !Path::new(path).extension().is_some_and(|e| !e.is_empty())
}

/// Resolves the session to a principal (one query) and puts it in the
/// request's extensions as [`CurrentUser`]. Anonymous requests for pages go
/// to the sign-in page; signed-in ones for the sign-in page go home.
async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    req.extensions_mut().insert(RequestId(uuid::Uuid::now_v7().to_string()));
    let session = req.extensions().get::<Session>().cloned();
    let mut current = CurrentUser(None);
    if let Some(session) = &session {
        if let Some(auth) = session_auth(session).await {
            match resolve_principal(&state.pool, &state.principals, &auth).await {
                Ok(Some(me)) => current = CurrentUser(Some(apply_acting(me, session).await)),
                // Deleted, suspended, or the tenant is: the session is over.
                Ok(None) => {
                    let _ = session.flush().await;
                }
                Err(error) => return error_page(error),
            }
        }
    }

    let path = req.uri().path();
    if is_page(req.method(), path) {
        let signed_in = current.0.is_some();
        if path == "/login" && signed_in {
            return Redirect::to("/").into_response();
        }
        if path != "/login" && !signed_in {
            let wanted = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let target = if wanted == "/" {
                "/login".to_string()
            } else {
                format!("/login?next={}", percent_encode(wanted, b"-_.~/"))
            };
            return Redirect::to(&target).into_response();
        }
    }
    req.extensions_mut().insert(current);
    let mut response = next.run(req).await;
    // Pages show who is signed in: never cache them in shared caches.
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A plain page for failures before the application renders.
fn error_page(error: AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Steward</title>\
         <link rel=\"stylesheet\" href=\"{}\"></head><body class=\"p-8 font-sans\">\
         <h1 class=\"text-xl font-semibold\">{}</h1><p class=\"mt-2\">{}</p></body></html>",
        stylesheet_path(),
        status,
        error
    );
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pages_need_a_session() {
        assert!(is_page(&Method::GET, "/"));
        assert!(is_page(&Method::GET, "/users"));
        assert!(!is_page(&Method::POST, "/users"));
        assert!(!is_page(&Method::GET, "/api/me"));
        assert!(!is_page(&Method::GET, "/pkg/steward.js"));
        assert!(!is_page(&Method::GET, "/favicon.svg"));
        assert!(!is_page(&Method::GET, &stylesheet_path()));
    }

    #[test]
    fn the_next_parameter_is_encoded() {
        assert_eq!(percent_encode("/users?q=a b&x=1", b"-_.~/"), "/users%3Fq%3Da%20b%26x%3D1");
    }
}
