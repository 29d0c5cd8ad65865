//! The HTTP side: the axum router around the Leptos application, the session
//! layer, and the authentication middleware that resolves every request's
//! principal before any page or server function runs.

pub mod access_log;
pub mod assets;
pub mod client_addr;
pub mod metrics;
pub mod security;
pub mod session_limit;
pub mod sessions;

use app::ids::{TenantId, UserId};
use app::documents::blobs::BlobStore;
use access_log::AccessLog;
use crate::metrics::Metrics;
use app::auth::ssr::{
    apply_acting, resolve_principal, resolve_principal_on, ActingGrant, CurrentUser, SessionAuth, SESSION_ACTING_KEY, SESSION_AUTH_KEY, SESSION_MUST_CHANGE_KEY,
    SESSION_MUST_ENROL_KEY, SESSION_STARTED_KEY,
};
use app::auth::{CHANGE_PASSWORD_PATH, MFA_PATH, MFA_SETUP_PATH};
use app::authz::ssr::{Caller, PageTx, RequestId};
use app::error::AppError;
use app::text::percent_encode;
use app::ssr::AppState;
use app::{shell, App};
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
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
use sessions::Sessions;

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
    /// Every session ends this many hours after its sign-in.
    pub session_max_hours: i64,
    /// Where document content is stored.
    pub blobs: Arc<dyn BlobStore>,
    /// The size limit of one document upload, in bytes.
    pub max_upload_bytes: u64,
    /// A bearer token that opens `/metrics` to other hosts. Without one,
    /// `/metrics` answers only clients on this machine.
    pub metrics_token: Option<String>,
    /// Write every request to the access log (`access_log` table).
    pub access_log: bool,
    /// The pool of DATABASE_READ_URL (a streaming replica) for lists,
    /// searches and the audit log; None reads from the primary.
    pub read_pool: Option<sqlx::PgPool>,
    /// The reverse proxies whose X-Forwarded-For names the client.
    pub trusted_proxies: crate::client_addr::TrustedProxies,
    /// Seals two-factor secrets at rest (STEWARD_MASTER_KEY or the key file).
    pub master_key: app::auth::mfa::MasterKey,
    /// How long platform staff may act inside a tenant, in minutes.
    pub acting_minutes: u32,
    /// The address people reach Steward at (`--public-url`); see
    /// [`crate::security::allowed_hosts`].
    pub public_url: Option<String>,
    /// How hard pages and answers are compressed (`--compression-level`;
    /// 0: not at all).
    pub compression_level: u32,
    /// Whether the Sent mail screen shows the links messages carry: only on
    /// a private first start (Steward's own cluster on a loopback address,
    /// no SMTP server), where the screen is the only mailbox there is.
    pub mail_links_on_screen: bool,
    /// Webhooks may go to private and loopback addresses, and over plain
    /// http (`--webhook-allow-private`).
    pub webhook_allow_private: bool,
}

pub fn leptos_options(config: &WebConfig) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("steward")
        .site_root(config.site_root.clone())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .build()
}

/// The application's routes, listed once per process. Listing runs the app
/// with resource loading suppressed through a process-wide flag in
/// leptos_server: a page whose resource first polls while another thread
/// lists routes waits forever (leptos-rs/leptos#4773). The server lists them
/// once before it serves; the tests build many routers in one process while
/// others render, so every router after the first reuses this list.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Builds the whole application: pages, server functions, static files.
pub fn router(pool: sqlx::PgPool, config: &WebConfig) -> Router {
    let state = AppState::new(app::ssr::StateConfig {
        leptos_options: leptos_options(config),
        pool: pool.clone(),
        read_pool: config.read_pool.clone(),
        stylesheet: Arc::from(stylesheet_path()),
        blobs: config.blobs.clone(),
        max_upload_bytes: config.max_upload_bytes,
        master_key: config.master_key.clone(),
        acting_minutes: config.acting_minutes,
        public_url: config.public_url.clone(),
        links_from_loopback_host: config.site_addr.ip().is_loopback(),
        mail_links_on_screen: config.mail_links_on_screen,
        webhook_allow_private: config.webhook_allow_private,
        secure_cookies: config.secure_cookies,
    });
    let routes = route_list();

    let sessions = SessionManagerLayer::new(Sessions::new(pool.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies)
        // The idle timeout is enforced by `authenticate` (see SEEN_KEY), so
        // a request writes its session at most once a minute instead of on
        // every request, as OnInactivity would.
        .with_expiry(Expiry::OnSessionEnd);

    // The multipart envelope and the form's other fields ride on top of the file.
    let ops = Ops {
        metrics: Arc::default(),
        access_log: None,
        pool: pool.clone(),
        metrics_token: config.metrics_token.clone().map(Arc::from),
    };
    let ops = Ops { access_log: config.access_log.then(|| AccessLog::start(pool.clone(), ops.metrics.clone())), ..ops };

    let upload_limit = usize::try_from(config.max_upload_bytes).unwrap_or(usize::MAX).saturating_add(256 * 1024);
    let page_state = state.clone();
    let fallback_state = state.clone();
    let version = assets::bundle_version(&config.site_root);
    let bundle_root: Arc<str> = Arc::from(assets::bundle_root(&version));
    let (page_root, fallback_root) = (bundle_root.clone(), bundle_root);
    let router = Router::new()
        .merge(assets::bundle(&config.site_root, &version))
        .route(&stylesheet_path(), get(stylesheet))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz).with_state(ops.clone()))
        .route("/metrics", get(metrics).with_state(ops.clone()))
        .nest("/api/v1", crate::api::routes(state.clone()))
        .route("/users/export.csv", get(app::users::csv::export))
        .route("/users/{id}/export.json", get(personal_data))
        .route("/account/export.json", get(own_personal_data))
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
            app::settings::LOGO_UPLOAD_PATH,
            post(app::settings::logo::upload).layer(DefaultBodyLimit::max(app::settings::LOGO_MAX_BYTES + 64 * 1024)),
        )
        .route("/brand/{id}/logo", get(app::settings::logo::serve))
        .route("/brand/{id}/style.css", get(app::settings::logo::style))
        .route(
            "/users/imports",
            post(app::users::import::start).layer(DefaultBodyLimit::max(app::users::IMPORT_MAX_BYTES + 64 * 1024)),
        )
        .leptos_routes(&state, routes, move || shell(page_state.leptos_options.clone(), &page_state.stylesheet, &page_root))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(move |options| {
            shell(options, &fallback_state.stylesheet, &fallback_root)
        }))
        .layer(middleware::from_fn_with_state(
            Auth {
                app: state.clone(),
                idle_seconds: config.session_idle_minutes.max(0) * 60,
                max_seconds: config.session_max_hours.max(0) * 3600,
            },
            authenticate,
        ));
    // Read-your-writes on the replica, only when reads go to one: outside
    // `authenticate`, whose own events (the end of acting in a tenant)
    // count as the request's writes too.
    let router = if config.read_pool.is_some() {
        router.layer(middleware::from_fn_with_state(state.clone(), app::ssr::own_writes))
    } else {
        router
    };
    router
        .layer(sessions)
        .layer(middleware::from_fn_with_state(crate::session_limit::InFlight::default(), crate::session_limit::limit))
        .layer(middleware::from_fn(argument_errors))
        .layer(middleware::from_fn_with_state(crate::security::Guard {
            https: config.secure_cookies,
            allowed_hosts: Arc::new(crate::security::allowed_hosts(config.public_url.as_deref(), config.site_addr)),
        }, crate::security::guard))
        .layer(assets::compression(config.compression_level))
        .layer(middleware::from_fn_with_state(ops, track))
        .layer(middleware::from_fn_with_state(config.trusted_proxies.clone(), crate::client_addr::client_addr))
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
        && !path.starts_with("/brand/")
        && !matches!(path, "/healthz" | "/readyz" | "/metrics")
        && !Path::new(path).extension().is_some_and(|e| !e.is_empty())
}

/// A static file: the compiled bundle, the stylesheet, images and fonts,
/// and an organisation's brand (its colour and logo, which its sign-in page
/// shows before anyone signs in). Nothing a static path names holds tenant
/// data.
pub(crate) fn is_static(method: &Method, path: &str) -> bool {
    let static_ext = Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "js" | "wasm" | "css" | "ico" | "png" | "svg" | "woff" | "woff2" | "map" | "txt"));
    (method == Method::GET || method == Method::HEAD)
        && (path.starts_with("/pkg/") || path.starts_with("/assets/") || path.starts_with("/brand/") || matches!(path, "/healthz" | "/readyz") || (static_ext && !path[1..].contains('/')))
}

/// Resolves the session to a principal (one query) and puts it in the
/// request's extensions as [`CurrentUser`]. Anonymous requests for pages go
/// to the sign-in page; signed-in ones for the sign-in page go home.
/// What `authenticate` needs: the application and the idle timeout.
#[derive(Clone)]
struct Auth {
    app: AppState,
    idle_seconds: i64,
    /// The absolute lifetime of a session, from its sign-in.
    max_seconds: i64,
}

/// When the session was last seen (unix seconds), refreshed at most once a
/// minute: a session unseen for longer than the idle timeout is over.
const SEEN_KEY: &str = "steward.seen";

/// Whether a session last seen at `seen` is still alive at `now`, and
/// whether to record `now` as its last sight.
fn idle_check(seen: Option<i64>, now: i64, idle_seconds: i64) -> (bool, bool) {
    match seen {
        Some(at) if now - at > idle_seconds => (false, false),
        Some(at) => (true, now - at >= 60.min(idle_seconds / 2).max(1)),
        None => (true, true),
    }
}

async fn authenticate(State(auth_state): State<Auth>, mut req: Request, next: Next) -> Response {
    let state = &auth_state.app;
    req.extensions_mut().insert(RequestId(uuid::Uuid::now_v7().to_string()));
    let session = req.extensions().get::<Session>().cloned();
    let mut current = CurrentUser(None);
    // A signed-in page is served in one read-only transaction: its session,
    // its principal and then its data (the page's first read takes it over).
    let mut page = None;
    if let Some(session) = &session {
        let mut page_tx = match session.id() {
            Some(_) if is_page(req.method(), req.uri().path()) => match app::authz::ssr::open_page(state).await {
                Ok(tx) => tx,
                Err(error) => return error_page(error),
            },
            _ => None,
        };
        // The session store is PostgreSQL: when it cannot be read, say so
        // (503) rather than treat the person as signed out.
        let read = match (&mut page_tx, session.id()) {
            (Some(tx), Some(id)) => match sessions::read(tx, &id).await {
                Ok(record) => Sessions::preloaded(id, record, session.get::<SessionAuth>(SESSION_AUTH_KEY)).await,
                Err(error) => {
                    tracing::warn!(%error, "the session could not be read");
                    return error_page(AppError::Unavailable);
                }
            },
            _ => session.get::<SessionAuth>(SESSION_AUTH_KEY).await,
        };
        let auth = match read {
            Ok(auth) => auth,
            Err(error) => {
                tracing::warn!(%error, "the session could not be read");
                return error_page(AppError::Unavailable);
            }
        };
        // Ends the page's transaction before anything that takes another
        // connection (ending the session, recording the end of acting
        // inside), so a request never holds one while it waits for another.
        async fn end(page_tx: &mut Option<sqlx::Transaction<'static, sqlx::Postgres>>) {
            if let Some(tx) = page_tx.take() {
                let _ = tx.commit().await;
            }
        }
        let auth = match auth {
            Some(auth) => {
                let now = chrono::Utc::now().timestamp();
                let seen = session.get::<i64>(SEEN_KEY).await.ok().flatten();
                let started = session.get::<i64>(SESSION_STARTED_KEY).await.ok().flatten();
                let expired = started.is_some_and(|at| now - at > auth_state.max_seconds);
                match if expired { (false, false) } else { idle_check(seen, now, auth_state.idle_seconds) } {
                    (false, _) => {
                        end(&mut page_tx).await;
                        let _ = session.flush().await;
                        None
                    }
                    (true, touch) => {
                        if touch && session.insert(SEEN_KEY, now).await.is_err() {
                            return error_page(AppError::Unavailable);
                        }
                        Some(auth)
                    }
                }
            }
            None => None,
        };
        if let Some(auth) = auth {
            let resolved = match &mut page_tx {
                Some(tx) => resolve_principal_on(tx, &state, &auth).await,
                None => resolve_principal(&state, &auth).await,
            };
            match resolved {
                Ok(Some(me)) => {
                    let meta = app::authz::ssr::meta_of(req.headers(), req.extensions());
                    // Platform staff acting inside: the end of their time
                    // there is recorded on connections of its own.
                    if session.get::<ActingGrant>(SESSION_ACTING_KEY).await.ok().flatten().is_some() {
                        end(&mut page_tx).await;
                    }
                    current = CurrentUser(Some(apply_acting(me, session, &state, &meta).await));
                    // The principal's function left the transaction scoped
                    // to their tenant.
                    page = page_tx.take().map(|tx| PageTx::new(tx, auth.tenant_id));
                }
                // Deleted, suspended, or the tenant is: the session is over.
                Ok(None) => {
                    end(&mut page_tx).await;
                    let _ = session.flush().await;
                }
                Err(error) => return error_page(error),
            }
        }
        if let Some(tx) = page_tx {
            let _ = tx.commit().await;
        }
    }

    let path = req.uri().path();
    // Signed in with a temporary password, or without the second factor
    // the tenant requires: nothing but putting that right.
    if current.0.is_some() {
        if let Some(session) = &session {
            if let Some((page, allowed, message)) = confinement(session).await {
                if path != page {
                    if is_page(req.method(), path) {
                        let wanted = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
                        let target = format!("{page}?next={}", percent_encode(wanted, b"-_.~/"));
                        return Redirect::to(&target).into_response();
                    }
                    // An allow-list: the page's own server functions, signing
                    // out, who one is, the flash message and static files.
                    // Everything else (exports included) is refused.
                    if !allowed.contains(&path) && !matches!(path, "/api/sign_out" | "/api/me" | "/api/flash") && !is_static(req.method(), path) {
                        let body = serde_json::to_string(&AppError::Refused(message.into())).unwrap_or_default();
                        return (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "application/json")], body).into_response();
                    }
                }
            }
        }
    }
    if is_page(req.method(), path) {
        let signed_in = current.0.is_some();
        if path == "/login" && signed_in {
            return Redirect::to("/").into_response();
        }
        // The pages of signing in, which need no session: the sign-in, its
        // second step, and choosing a password with a link from a mail.
        if !["/login", MFA_PATH, app::auth::FORGOT_PATH, app::auth::RESET_PATH, app::auth::JOIN_PATH].contains(&path) && !signed_in {
            let wanted = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let target = if wanted == "/" {
                "/login".to_string()
            } else {
                format!("/login?next={}", percent_encode(wanted, b"-_.~/"))
            };
            return Redirect::to(&target).into_response();
        }
    }
    let who = current.0.as_ref().map(|me| Who { tenant_id: me.tenant.id, user_id: me.user_id });
    let request_id = req.extensions().get::<RequestId>().cloned();
    req.extensions_mut().insert(current);
    if let Some(page) = &page {
        req.extensions_mut().insert(page.clone());
    }
    let mut response = next.run(req).await;
    if let Some(page) = page {
        page.finish().await;
    }
    if let Some(who) = who {
        response.extensions_mut().insert(who);
    }
    if let Some(id) = request_id {
        response.extensions_mut().insert(id);
    }
    // Pages show who is signed in: never cache them in shared caches.
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Where a session is confined to, what it may call there, and why: the
/// password page while a temporary password is in use, then the two-factor
/// page while the tenant requires a second factor the person lacks.
async fn confinement(session: &Session) -> Option<(&'static str, &'static [&'static str], &'static str)> {
    let flag = |key: &'static str| async move { session.get::<bool>(key).await.ok().flatten() == Some(true) };
    if flag(SESSION_MUST_CHANGE_KEY).await {
        // The password page also lists (and may end) one's other sessions.
        return Some((
            CHANGE_PASSWORD_PATH,
            &["/api/change_password", "/api/list_my_sessions", "/api/revoke_my_sessions"],
            "Choose a new password first.",
        ));
    }
    if flag(SESSION_MUST_ENROL_KEY).await {
        return Some((
            MFA_SETUP_PATH,
            &["/api/mfa_status", "/api/start_mfa", "/api/confirm_mfa"],
            "Your organisation requires two-factor sign-in: set it up first.",
        ));
    }
    None
}

/// A server function whose arguments do not parse (a malformed id, a
/// missing field) is answered by the framework with 500 and the `Transport`
/// error: it is the caller's mistake, so it becomes a 400.
async fn argument_errors(req: Request, next: Next) -> Response {
    let server_fn = req.uri().path().starts_with("/api/") && !req.uri().path().starts_with("/api/v1/");
    let response = next.run(req).await;
    if !server_fn || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    if matches!(serde_json::from_slice::<AppError>(&bytes), Ok(AppError::Transport(_))) {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// `GET /users/{id}/export.json`: everything about a person (`user:read`).
async fn personal_data(caller: Caller, axum::extract::Path(id): axum::extract::Path<String>) -> Response {
    let Ok(id) = id.parse::<app::ids::UserId>() else { return AppError::NotFound.into_response() };
    app::privacy::ssr::download(&caller, Some(id)).await
}

/// `GET /account/export.json`: everything about the signed-in person.
async fn own_personal_data(caller: Caller) -> Response {
    app::privacy::ssr::download(&caller, None).await
}

/// Who a response was for, handed from `authenticate` to `track`.
#[derive(Clone, Copy)]
struct Who {
    tenant_id: TenantId,
    user_id: UserId,
}

/// What the operational endpoints and the request tracker share.
#[derive(Clone)]
struct Ops {
    metrics: Arc<Metrics>,
    access_log: Option<AccessLog>,
    pool: sqlx::PgPool,
    metrics_token: Option<Arc<str>>,
}

/// Times every request, counts it by route and status for `/metrics`, and
/// hands it to the access log.
async fn track(State(ops): State<Ops>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let at = chrono::Utc::now();
    let method = crate::metrics::method_label(req.method());
    let path = req.uri().path().to_string();
    let route = match req.extensions().get::<MatchedPath>() {
        Some(m) => m.as_str().to_string(),
        None if path.starts_with("/pkg/") => "/pkg/*".to_string(),
        None => "(unmatched)".to_string(),
    };
    let response = next.run(req).await;
    let latency = started.elapsed();
    let status = response.status().as_u16();
    ops.metrics.observe(method, &route, status, latency);
    if let Some(log) = &ops.access_log {
        let quiet = matches!(route.as_str(), "/healthz" | "/readyz" | "/metrics" | "/pkg/*")
            || route.starts_with("/assets/");
        if !quiet {
            let who = response.extensions().get::<Who>().copied();
            log.push(access_log::Record {
                at,
                method: method.to_string(),
                route,
                path: path.chars().take(512).collect(),
                status,
                latency_us: i32::try_from(latency.as_micros()).unwrap_or(i32::MAX),
                tenant_id: who.map(|w| w.tenant_id),
                user_id: who.map(|w| w.user_id),
                request_id: response.extensions().get::<RequestId>().map(|r| r.0.clone()),
            });
        }
    }
    response
}

/// Ready when the database answers within a second.
async fn readyz(State(ops): State<Ops>) -> Response {
    let ping = tokio::time::timeout(std::time::Duration::from_secs(1), sqlx::query!("SELECT 1 AS one").fetch_one(&ops.pool)).await;
    match ping {
        Ok(Ok(_)) => (StatusCode::OK, "ready: the database answers\n").into_response(),
        Ok(Err(error)) => {
            // The cause (host, role, authentication) goes to the log, not to
            // whoever asks.
            tracing::warn!(%error, "readyz: the database cannot be reached");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready: the database cannot be reached\n").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "not ready: the database did not answer within 1 s\n").into_response(),
    }
}

/// The Prometheus text exposition: for clients on this machine, or for
/// others that present the configured bearer token.
async fn metrics(
    State(ops): State<Ops>,
    req: Request,
) -> Response {
    let client = app::authz::ssr::client_ip(req.extensions());
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // With a token configured, only the token opens it. Without one, only
    // this machine, and not a request a same-host proxy forwarded for
    // someone else (it carries X-Forwarded-For).
    let forwarded = req.headers().contains_key("x-forwarded-for");
    let allowed = match (&ops.metrics_token, presented) {
        (Some(token), Some(given)) => constant_time_eq(token.as_bytes(), given.as_bytes()),
        (Some(_), None) => false,
        (None, _) => client.is_some_and(|ip| ip.is_loopback()) && !forwarded,
    };
    if !allowed {
        return (
            StatusCode::FORBIDDEN,
            "/metrics answers clients on this machine, or a bearer token set with STEWARD_METRICS_TOKEN.\n",
        )
            .into_response();
    }
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))],
        ops.metrics.render(&ops.pool),
    )
        .into_response()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A plain page for failures before the application renders.
pub(crate) fn error_page(error: AppError) -> Response {
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
    if let Some(seconds) = error.retry_after() {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
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
    fn idle_sessions_end_and_live_ones_are_touched_once_a_minute() {
        let idle = 480 * 60;
        assert_eq!(idle_check(None, 1_000, idle), (true, true), "a new session is recorded");
        assert_eq!(idle_check(Some(1_000), 1_030, idle), (true, false), "seen 30 s ago: no write");
        assert_eq!(idle_check(Some(1_000), 1_060, idle), (true, true), "a minute on: recorded again");
        assert_eq!(idle_check(Some(1_000), 1_000 + idle + 1, idle), (false, false), "idle too long: over");
        assert_eq!(idle_check(Some(1_000), 1_001, 0), (false, false));
    }

    #[test]
    fn the_next_parameter_is_encoded() {
        assert_eq!(percent_encode("/users?q=a b&x=1", b"-_.~/"), "/users%3Fq%3Da%20b%26x%3D1");
    }
}
