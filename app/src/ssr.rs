//! What server functions and pages share on the server: the application
//! state, the request, and how errors become HTTP statuses.

use crate::auth::{principal::CurrentUser, Me};
use crate::error::AppError;
use axum::extract::FromRef;
use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use sqlx::PgPool;
use std::sync::Arc;

/// Everything a request handler may need, given to Leptos as context.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    /// Connects as the application role (row-level security applies).
    /// Only the spine reaches it: areas get a transaction from `require*`.
    pub(crate) pool: PgPool,
    /// For reads that may lag a moment (lists, searches, the audit log): the
    /// streaming replica of DATABASE_READ_URL, or the same pool as `pool`.
    pub(crate) read_pool: PgPool,
    /// Whether `read_pool` is a replica's (DATABASE_READ_URL).
    pub(crate) replica: bool,
    /// The URL of the compiled stylesheet (content-hashed).
    pub stylesheet: Arc<str>,
    /// Principals resolved before, valid while their tenant's authorisation
    /// version stands.
    pub principals: Arc<crate::auth::principal::PrincipalCache>,
    /// The audit chain checks running, and their last results.
    pub chain_checks: Arc<crate::audit::chain_checks::ChainChecks>,
    /// The lists' filter menus, per tenant, for a few seconds.
    pub menus: Arc<TenantCache>,
    /// The overview's counts of past days.
    pub activity: Arc<ActivityCache>,
    /// Where document content is stored.
    pub blobs: Arc<dyn crate::documents::blobs::BlobStore>,
    /// The size limit of one document upload, in bytes.
    pub max_upload_bytes: u64,
    /// Seals two-factor secrets at rest.
    pub master_key: crate::auth::mfa::MasterKey,
    /// How long platform staff may act inside a tenant, in minutes.
    pub acting_minutes: u32,
    /// The address people reach Steward at (STEWARD_PUBLIC_URL), for links
    /// in mail.
    pub public_url: Option<Arc<str>>,
    /// The server listens on a loopback address (so answers loopback hosts only).
    pub links_from_loopback_host: bool,
    /// The Sent mail screen shows the links messages carry (a private first
    /// start without SMTP, where the screen is the only mailbox).
    pub mail_links_on_screen: bool,
    /// Webhooks may go to private and loopback addresses, and over plain
    /// http (`--webhook-allow-private`).
    pub webhook_allow_private: bool,
    /// Steward is reached over HTTPS (`--secure-cookies`): every cookie it
    /// sets is `Secure`, as the session cookie is.
    pub secure_cookies: bool,
}

/// What the server gives [`AppState::new`]; the caches start empty.
pub struct StateConfig {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    /// The replica of DATABASE_READ_URL, if any.
    pub read_pool: Option<PgPool>,
    pub stylesheet: Arc<str>,
    pub blobs: Arc<dyn crate::documents::blobs::BlobStore>,
    pub max_upload_bytes: u64,
    pub master_key: crate::auth::mfa::MasterKey,
    pub acting_minutes: u32,
    pub public_url: Option<String>,
    pub links_from_loopback_host: bool,
    pub mail_links_on_screen: bool,
    pub webhook_allow_private: bool,
    pub secure_cookies: bool,
}

impl AppState {
    pub fn new(config: StateConfig) -> AppState {
        AppState {
            leptos_options: config.leptos_options,
            replica: config.read_pool.is_some(),
            read_pool: config.read_pool.unwrap_or_else(|| config.pool.clone()),
            pool: config.pool,
            stylesheet: config.stylesheet,
            principals: Arc::default(),
            chain_checks: Arc::default(),
            menus: Arc::default(),
            activity: Arc::default(),
            blobs: config.blobs,
            max_upload_bytes: config.max_upload_bytes,
            master_key: config.master_key,
            acting_minutes: config.acting_minutes,
            public_url: config.public_url.map(|u| Arc::from(u.trim_end_matches('/'))),
            links_from_loopback_host: config.links_from_loopback_host,
            mail_links_on_screen: config.mail_links_on_screen,
            webhook_allow_private: config.webhook_allow_private,
            secure_cookies: config.secure_cookies,
        }
    }

    /// Where links in mail point: STEWARD_PUBLIC_URL; without it, on a
    /// server listening on a loopback address, the request's own host when
    /// that is a loopback name (all such a server answers). Otherwise none:
    /// a link built from a Host header others control would send people to
    /// them.
    pub fn link_base(&self, headers: Option<&axum::http::HeaderMap>) -> Result<String, AppError> {
        if let Some(url) = &self.public_url {
            return Ok(url.to_string());
        }
        let host = headers.and_then(|h| h.get(header::HOST)).and_then(|h| h.to_str().ok()).unwrap_or_default();
        let name = host.rsplit_once(':').filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit())).map_or(host, |(name, _)| name);
        if self.links_from_loopback_host && matches!(name, "localhost" | "127.0.0.1" | "[::1]") {
            return Ok(format!("http://{host}"));
        }
        Err(AppError::Refused(
            "Steward cannot send links until its administrator sets STEWARD_PUBLIC_URL (the address people reach it at).".into(),
        ))
    }
}

/// The event counts of the days before today, per tenant. Events are
/// append-only and stamped with the time they are written, so a day
/// that has ended never changes: it is counted once per process, and
/// only today is counted on each visit.
#[derive(Default)]
pub struct ActivityCache(std::sync::Mutex<std::collections::HashMap<crate::ids::TenantId, (chrono::NaiveDate, Vec<(chrono::NaiveDate, i64)>)>>);

impl ActivityCache {
    pub fn get(&self, tenant_id: crate::ids::TenantId, today: chrono::NaiveDate) -> Option<Vec<(chrono::NaiveDate, i64)>> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&tenant_id).filter(|(day, _)| *day == today).map(|(_, counts)| counts.clone())
    }

    pub fn put(&self, tenant_id: crate::ids::TenantId, today: chrono::NaiveDate, counts: Vec<(chrono::NaiveDate, i64)>) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // Yesterday's entries are of no use today.
        map.retain(|_, (day, _)| *day == today);
        map.insert(tenant_id, (today, counts));
    }
}

/// Per-tenant values that may be a few seconds old: the filter menus of the
/// documents list (uploaders, tag suggestions) and the audit log (actions,
/// entity types). Reading them took 3 to 9 ms of a page's database time at
/// 10,000 users a tenant; a menu entry new within the last
/// [`TenantCache::TTL`] may be missing from a menu, never from the results.
#[derive(Default)]
pub struct TenantCache {
    entries: std::sync::Mutex<std::collections::HashMap<(crate::ids::TenantId, &'static str), (std::time::Instant, Arc<dyn std::any::Any + Send + Sync>)>>,
}

impl TenantCache {
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(15);
    /// Entries kept at most; past it the map starts afresh.
    const LIMIT: usize = 20_000;

    /// The tenant's `what`, loaded by `load` when missing or older than the TTL.
    pub async fn get<T, F>(&self, tenant: crate::ids::TenantId, what: &'static str, load: F) -> Result<T, AppError>
    where
        T: Clone + Send + Sync + 'static,
        F: std::future::Future<Output = Result<T, AppError>>,
    {
        let found = {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries
                .get(&(tenant, what))
                .filter(|(at, _)| at.elapsed() < Self::TTL)
                .and_then(|(_, value)| value.downcast_ref::<T>().cloned())
        };
        if let Some(value) = found {
            return Ok(value);
        }
        let value = load.await?;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::LIMIT {
            entries.clear();
        }
        entries.insert((tenant, what), (std::time::Instant::now(), Arc::new(value.clone())));
        Ok(value)
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        AppError::Internal
    })
}

/// This server's connection pools, for the System screen: name, open,
/// idle, most allowed. The read pool is listed when it is a pool of its own
/// (DATABASE_READ_URL).
pub fn pool_facts() -> Result<Vec<(&'static str, u32, u32, u32)>, AppError> {
    let state = app_state()?;
    let facts = |p: &PgPool| (p.size(), u32::try_from(p.num_idle()).unwrap_or(u32::MAX), p.options().get_max_connections());
    let mut pools = Vec::new();
    let (open, idle, max) = facts(&state.pool);
    pools.push(("primary", open, idle, max));
    if state.replica {
        let (open, idle, max) = facts(&state.read_pool);
        pools.push(("replica (DATABASE_READ_URL)", open, idle, max));
    }
    Ok(pools)
}

/// How far the replica of DATABASE_READ_URL is behind, in seconds (none
/// without one, or while it has replayed nothing).
pub async fn replica_lag() -> Result<Option<f64>, AppError> {
    let state = app_state()?;
    if !state.replica {
        return Ok(None);
    }
    Ok(sqlx::query_scalar!("SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8")
        .fetch_one(&state.read_pool)
        .await?)
}

/// The cookie that carries where the primary's WAL stood after the
/// person's last write (see [`crate::audit::record::OwnWrites`]).
pub const WRITTEN_COOKIE: &str = "steward_written";

/// How long a write sends the writer's reads to a replica only once it has
/// replayed the write: a replica further behind than this shows them their
/// own change late (the System screen shows how far behind it is).
pub const WRITTEN_SECONDS: u32 = 300;

/// Read-your-writes with a replica (DATABASE_READ_URL), as a layer around
/// every route: gives the request what its `steward_written` cookie says
/// ([`crate::audit::record::OwnWrites`]), and when the request wrote (it
/// recorded an audit event), reads the primary's WAL position, which its
/// commit has reached, and sets the cookie to it. One query per writing
/// request; none without a replica, where the server does not install it.
pub async fn own_writes(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let floor = cookie_in(req.headers(), WRITTEN_COOKIE).and_then(|v| v.parse::<i64>().ok()).filter(|lsn| *lsn > 0);
    let writes = crate::audit::record::OwnWrites::new(floor);
    req.extensions_mut().insert(writes.clone());
    let mut res = next.run(req).await;
    if writes.wrote() {
        match sqlx::query_scalar::<_, i64>("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint").fetch_one(&state.pool).await {
            Ok(lsn) => {
                let cookie = cookie(WRITTEN_COOKIE, &lsn.to_string(), WRITTEN_SECONDS.into(), Script::Hidden, state.secure_cookies);
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    res.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            // The write stands; the person may see it a moment late.
            Err(error) => tracing::warn!(%error, "could not read the primary's WAL position after a write"),
        }
    }
    res
}

/// Where links in mail sent for the current request point:
/// [`AppState::link_base`] with this request's headers.
pub fn request_link_base() -> Result<String, AppError> {
    app_state()?.link_base(request_parts().ok().as_ref().map(|p| &p.headers))
}

pub fn request_parts() -> Result<Parts, AppError> {
    use_context::<Parts>().ok_or_else(|| {
        tracing::error!("request Parts missing from the Leptos context");
        AppError::Internal
    })
}

/// The session of the current request (the session layer puts it there).
pub fn request_session() -> Result<tower_sessions::Session, AppError> {
    request_parts()?
        .extensions
        .get::<tower_sessions::Session>()
        .cloned()
        .ok_or_else(|| {
            tracing::error!("no session layer in front of the request");
            AppError::Internal
        })
}

/// The principal the authentication middleware resolved for this request.
pub fn current_user() -> Option<Arc<Me>> {
    use_context::<Parts>()
        .and_then(|parts| parts.extensions.get::<CurrentUser>().cloned())
        .and_then(|current| current.0)
}

/// Whether the page's script may read a cookie. Only the theme's may (see
/// [`crate::auth::ssr::set_theme_cookie`]); every other cookie is `HttpOnly`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Script {
    Hidden,
    Reads,
}

/// The `Set-Cookie` value of one of Steward's cookies: `Path=/`,
/// `SameSite=Lax`, `HttpOnly` unless the script reads it, and `Secure` when
/// Steward is reached over HTTPS (`--secure-cookies`), as the session cookie
/// is. A `max_age` of 0 removes the cookie. The one place a cookie is
/// written, by the `cookie` crate that tower-sessions brings; `value` is
/// already safe in a cookie (percent-encoded, a UUID or a number).
pub fn cookie(name: &str, value: &str, max_age_seconds: i64, script: Script, secure: bool) -> String {
    use tower_sessions::cookie::{time::Duration, Cookie, SameSite};
    Cookie::build((name, value))
        .path("/")
        .max_age(Duration::seconds(max_age_seconds))
        .same_site(SameSite::Lax)
        .http_only(script == Script::Hidden)
        .secure(secure)
        .build()
        .to_string()
}

/// Sets one of Steward's `HttpOnly` cookies on the answer being rendered
/// (see [`cookie`]); `max_age_seconds` 0 removes it.
pub fn set_cookie(name: &str, value: &str, max_age_seconds: i64) {
    set_cookie_as(name, value, max_age_seconds, Script::Hidden);
}

/// [`set_cookie`] for a cookie the page's script reads too.
pub fn set_cookie_as(name: &str, value: &str, max_age_seconds: i64, script: Script) {
    let secure = use_context::<AppState>().is_some_and(|s| s.secure_cookies);
    if let (Some(options), Ok(value)) = (use_context::<ResponseOptions>(), HeaderValue::from_str(&cookie(name, value, max_age_seconds, script, secure))) {
        options.append_header(header::SET_COOKIE, value);
    }
}

/// A redirect to `to` after a post without JavaScript (an upload), with
/// `notice` for the next page to show.
pub fn see_other_with_notice(state: &AppState, to: &str, notice: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let notice = cookie(NOTICE_COOKIE, &crate::text::percent_encode(notice, b"-_."), NOTICE_SECONDS, Script::Hidden, state.secure_cookies);
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string()), (header::SET_COOKIE, notice)]).into_response()
}

/// Sets the HTTP status of the page being rendered (403 and 404 pages).
pub fn set_status(status: u16) {
    if let (Some(options), Ok(status)) = (use_context::<ResponseOptions>(), StatusCode::from_u16(status)) {
        options.set_status(status);
    }
}

/// Gives a server function's error its HTTP status for API callers. A plain
/// form post (no JavaScript) is answered with a redirect back to the form
/// instead, which the status must not replace.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(error) = &result {
        if !is_form_post() {
            set_status(error.status());
        }
    }
    result
}

/// The cookie that carries a notice to the next page after a form post
/// without JavaScript.
pub const NOTICE_COOKIE: &str = "steward_notice";
/// The cookie that carries what a failed form typed back to the form.
pub const TYPED_COOKIE: &str = "steward_typed";
/// How long the notice and typed cookies wait for the page they are for.
pub const NOTICE_SECONDS: i64 = 60;

fn is_form_post() -> bool {
    use_context::<Parts>()
        .and_then(|p| p.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).map(|a| a.contains("text/html")))
        .unwrap_or(false)
}

/// [`respond`] for form actions. After a post without JavaScript the browser
/// is sent back to the form, so what it must show travels in short-lived
/// cookies: `notice` on success; on failure, the `typed` fields (never
/// passwords), so the form shows them again beside the messages.
pub fn respond_form<T>(result: Result<T, AppError>, typed: &[(&str, &str)], notice: &str) -> Result<T, AppError> {
    if is_form_post() {
        match &result {
            Ok(_) => set_cookie(NOTICE_COOKIE, &crate::text::percent_encode(notice, b"-_."), NOTICE_SECONDS),
            Err(_) if !typed.is_empty() => {
                let encoded: Vec<String> = typed
                    .iter()
                    .map(|(k, v)| {
                        let v: String = v.chars().take(600).collect();
                        format!("{}={}", k, crate::text::percent_encode(&v, b"-_."))
                    })
                    .collect();
                let value = crate::text::percent_encode(&encoded.join("&"), b"-_.");
                set_cookie(TYPED_COOKIE, &value, NOTICE_SECONDS);
            }
            Err(_) => {}
        }
    }
    respond(result)
}

/// Reads a cookie of the current request.
pub fn request_cookie(name: &str) -> Option<String> {
    let parts = use_context::<Parts>()?;
    cookie_in(&parts.headers, name).map(str::to_string)
}

/// A cookie's value among a request's `Cookie` headers.
pub fn cookie_in<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A response body fed through a channel of a few chunks: the producer
/// (spawned by the caller) stays at most that far ahead of the client, so
/// an export of any size holds little in memory.
pub fn streamed_body() -> (tokio::sync::mpsc::Sender<Result<String, std::io::Error>>, axum::body::Body) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    (tx, axum::body::Body::from_stream(stream))
}

/// The Content-Security-Policy of a page: scripts from Steward itself and
/// the inline ones Leptos marks with this response's `nonce` (hydration and
/// resolved data); WebAssembly; styles only from the stylesheet; no frames.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// Why an uploaded field could not be read whole.
pub enum FieldRead {
    /// More than the limit was sent.
    TooLarge,
    /// The upload broke off (or the body limit cut it).
    Broken(axum::extract::multipart::MultipartError),
}

/// A multipart field's bytes, refused past `limit` as they arrive (the
/// logo and the CSV import; documents stream into the blob store instead).
pub async fn read_field(field: &mut axum::extract::multipart::Field<'_>, limit: usize) -> Result<Vec<u8>, FieldRead> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(FieldRead::Broken)? {
        if bytes.len() + chunk.len() > limit {
            return Err(FieldRead::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
