//! Test support: a real PostgreSQL for each test binary, a database per
//! test cloned from a template that is migrated and holds the demo, and a
//! client that drives the real router with a cookie jar.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::{ConnectOptions, Connection, Executor};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use steward::db::{self, Targets};
use steward::embedded::{Cluster, ClusterOptions, SUPERUSER};
use steward::web::{self, WebConfig};
use tower::ServiceExt;

pub const PASSWORD: &str = "test-password-123";
/// The longest any request of a test may take, body included.
pub const REQUEST_LIMIT: Duration = Duration::from_secs(60);
const TEMPLATE: &str = "steward_template";

struct Shared {
    cluster: Cluster,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        // A runtime of its own: the tests' runtimes come and go.
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(start_shared())
        })
        .join()
        .expect("test cluster start-up panicked")
    })
}

/// Removes clusters left by test processes that no longer run.
fn sweep_stale(root: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(pid) = name.rsplit('-').next().and_then(|p| p.parse::<i32>().ok()) {
            // SAFETY: signal 0 only checks that the process exists.
            if unsafe { libc::kill(pid, 0) } != 0 {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

async fn start_shared() -> Shared {
    let root = std::env::temp_dir().join("steward-tests");
    std::fs::create_dir_all(&root).unwrap();
    sweep_stale(&root);
    let exe = std::env::current_exe().unwrap();
    let name = exe.file_name().unwrap().to_string_lossy().to_string();
    let dir: PathBuf = root.join(format!("{}-{}", name.split('-').next().unwrap_or("t"), std::process::id()));
    let mut cluster = Cluster::start(&ClusterOptions { dir: dir.join("pg"), bindir: None, ephemeral: true, settings: Vec::new() })
        .expect("start the test cluster");
    cluster.wait_ready(Duration::from_secs(60)).await.expect("test cluster ready");
    let targets = Targets::bootstrap_embedded(&cluster, TEMPLATE).await.unwrap();
    db::migrate(&targets.owner).await.expect("migrate the template");
    let pool = db::app_pool(&targets.app, 2).await.unwrap();
    steward::demo::load(&pool, PASSWORD).await.expect("load the demo into the template");
    pool.close().await;
    Shared { cluster }
}

/// A database of its own for one test, holding the migrated schema and the demo.
#[derive(Clone)]
pub struct TestDb {
    pub name: String,
    pub targets: Targets,
}

impl TestDb {
    pub async fn new() -> TestDb {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let shared = shared();
        let name = format!("t_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let mut admin = shared.cluster.connect_options(SUPERUSER, "postgres").connect().await.unwrap();
        admin
            .execute(format!(r#"CREATE DATABASE "{name}" TEMPLATE {TEMPLATE} OWNER {}"#, db::OWNER_ROLE).as_str())
            .await
            .unwrap();
        admin.close().await.unwrap();
        TestDb {
            targets: Targets {
                owner: shared.cluster.connect_options(db::OWNER_ROLE, &name),
                app: shared.cluster.connect_options(db::APP_ROLE, &name),
            },
            name,
        }
    }

    pub fn superuser(&self) -> PgConnectOptions {
        shared().cluster.connect_options(SUPERUSER, &self.name)
    }

    pub async fn app_pool(&self) -> PgPool {
        db::app_pool(&self.targets.app, 4).await.unwrap()
    }

    /// Runs SQL as the superuser (for arranging a test, never for the code under test).
    pub async fn exec_as_superuser(&self, sql: &str) {
        let mut conn = self.superuser().connect().await.unwrap();
        conn.execute(sql).await.unwrap();
        conn.close().await.unwrap();
    }
}

pub fn web_config() -> WebConfig {
    WebConfig {
        site_root: "target/site".into(),
        site_addr: "127.0.0.1:3000".parse().unwrap(),
        secure_cookies: false,
        session_idle_minutes: 60,
        session_max_hours: 12,
        blobs: std::sync::Arc::new(steward_blobs()),
        max_upload_bytes: UPLOAD_LIMIT,
        metrics_token: Some(METRICS_TOKEN.into()),
        access_log: true,
        trusted_proxies: Default::default(),
        read_pool: None,
        master_key: test_master_key(),
        acting_minutes: app::tenants::DEFAULT_ACTING_MINUTES,
        public_url: None,
        compression_level: steward::web::assets::DEFAULT_LEVEL,
        mail_links_on_screen: false,
        webhook_allow_private: false,
    }
}

/// One master key for the whole test run (tests that sign in on two
/// routers of the same database need the same key).
pub fn test_master_key() -> app::auth::mfa::MasterKey {
    app::auth::mfa::MasterKey::parse(&test_master_key_text()).unwrap()
}

/// The test run's master key as text (64 hexadecimal digits).
pub fn test_master_key_text() -> String {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(app::auth::mfa::MasterKey::generate_text).clone()
}

/// The cluster every test database lives in.
pub fn shared_cluster() -> &'static Cluster {
    &shared().cluster
}

/// The bearer token that opens the test server's /metrics.
pub const METRICS_TOKEN: &str = "test-metrics-token";

/// The document upload limit of the test server.
pub const UPLOAD_LIMIT: u64 = 64 * 1024;

/// The tests' blob store: one folder per test process (content-addressed,
/// so tests share it safely).
pub fn blob_dir() -> PathBuf {
    std::env::temp_dir().join("steward-tests").join(format!("blobs-{}", std::process::id()))
}

fn steward_blobs() -> app::documents::blobs::FsBlobStore {
    app::documents::blobs::FsBlobStore::new(blob_dir()).expect("a blob folder for the tests")
}

/// A response's body as JSON (the test fails, showing the body, when it is not).
/// The links mailed to an address in messages of `kind`, newest first, as
/// paths on the test host, the way the mail worker puts them into the
/// messages (the stored bodies hold a placeholder, checked here).
pub async fn mailed_links(db: &TestDb, email: &str, kind: &str) -> Vec<String> {
    use sqlx::{ConnectOptions, Connection};
    let mut conn = db.superuser().connect().await.unwrap();
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT body_text, link FROM mail_outbox WHERE to_address = $1 AND kind = $2 ORDER BY created_at DESC, id DESC")
            .bind(email)
            .bind(kind)
            .fetch_all(&mut conn)
            .await
            .unwrap();
    conn.close().await.unwrap();
    rows.iter()
        .map(|(body, link)| {
            assert!(body.contains(app::outbox::LINK_PLACEHOLDER) && !body.contains("link="), "the stored body holds no link: {body}");
            link.strip_prefix("http://127.0.0.1:3000").unwrap_or_else(|| panic!("a link on the host asked: {link}")).to_string()
        })
        .collect()
}

pub fn json(r: &TestResponse) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

/// Sends a request through the router and reads the whole response. One
/// that never completes fails its test by name within [`REQUEST_LIMIT`]
/// instead of holding the whole run until CI gives up.
async fn complete(router: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, axum::body::Bytes) {
    let what = format!("{} {}", req.method(), req.uri());
    let router = router.clone();
    let work = async move {
        let response = router.oneshot(req).await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (status, headers, response.into_body().collect().await.unwrap().to_bytes())
    };
    tokio::time::timeout(REQUEST_LIMIT, work)
        .await
        .unwrap_or_else(|_| panic!("{what} did not complete within {REQUEST_LIMIT:?}"))
}

/// The real router over a test database, and a browser-like cookie jar.
pub struct TestApp {
    pub db: TestDb,
    pub pool: PgPool,
    pub router: Router,
    pub cookies: Mutex<BTreeMap<String, String>>,
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }

    /// Whether the page has an element with this data-testid.
    pub fn has_testid(&self, id: &str) -> bool {
        self.body.contains(&format!("data-testid=\"{id}\""))
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        let db = TestDb::new().await;
        Self::on(db).await
    }

    /// Another server process on the same database (as after a restart).
    pub async fn on(db: TestDb) -> TestApp {
        let pool = db.app_pool().await;
        let router = web::router(pool.clone(), &web_config());
        TestApp { db, pool, router, cookies: Mutex::new(BTreeMap::new()) }
    }

    /// Another browser (its own cookies) on the same server.
    pub fn another_browser(&self) -> TestApp {
        TestApp { db: self.db.clone(), pool: self.pool.clone(), router: self.router.clone(), cookies: Default::default() }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies.lock().unwrap().insert(name.into(), value.into());
    }

    pub fn clear_cookies(&self) {
        self.cookies.lock().unwrap().clear();
    }

    pub async fn request(&self, mut req: Request<Body>) -> TestResponse {
        // As a browser does: the host it addressed (the cross-site check
        // compares Origin and Referer with it).
        if !req.headers().contains_key(header::HOST) {
            req.headers_mut().insert(header::HOST, axum::http::HeaderValue::from_static("127.0.0.1:3000"));
        }
        let (status, headers, bytes) = complete(&self.router, req).await;
        let result = TestResponse { status, headers, body: String::from_utf8_lossy(&bytes).to_string() };
        let mut jar = self.cookies.lock().unwrap();
        for cookie in result.set_cookies() {
            let first = cookie.split(';').next().unwrap_or_default();
            let Some((name, value)) = first.split_once('=') else { continue };
            let expired = cookie.to_ascii_lowercase().contains("max-age=0");
            if expired || value.is_empty() {
                jar.remove(name.trim());
            } else {
                jar.insert(name.trim().to_string(), value.to_string());
            }
        }
        result
    }

    fn with_cookies(&self, builder: axum::http::request::Builder) -> axum::http::request::Builder {
        let jar = self.cookies.lock().unwrap();
        if jar.is_empty() {
            return builder;
        }
        let header = jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        builder.header(header::COOKIE, header)
    }

    /// A page load by a browser.
    pub async fn get(&self, path: &str) -> TestResponse {
        let req = self
            .with_cookies(Request::builder().method(Method::GET).uri(path).header(header::ACCEPT, "text/html"))
            .body(Body::empty())
            .unwrap();
        self.request(req).await
    }

    /// A form post as a browser without JavaScript sends it.
    pub async fn post_form(&self, path: &str, referer: &str, fields: &[(&str, &str)]) -> TestResponse {
        let req = self
            .with_cookies(
                Request::builder()
                    .method(Method::POST)
                    .uri(path)
                    .header(header::ACCEPT, "text/html,application/xhtml+xml")
                    .header(header::REFERER, format!("http://127.0.0.1:3000{referer}"))
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
            )
            .body(Body::from(form_encode(fields)))
            .unwrap();
        self.request(req).await
    }

    /// A multipart form post of one file, as a browser sends an upload.
    pub async fn upload(&self, path: &str, field: &str, file_name: &str, content: &[u8]) -> TestResponse {
        self.upload_form(path, &[], Some((field, file_name, "text/csv", content))).await
    }

    /// A multipart form post: text fields, then (maybe) one file part
    /// `(field, file name, content type, bytes)`.
    pub async fn upload_form(&self, path: &str, fields: &[(&str, &str)], file: Option<(&str, &str, &str, &[u8])>) -> TestResponse {
        let boundary = "----steward-test-boundary";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
        }
        if let Some((field, file_name, content_type, content)) = file {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n")
                    .as_bytes(),
            );
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let req = self
            .with_cookies(
                Request::builder()
                    .method(Method::POST)
                    .uri(path)
                    .header(header::ACCEPT, "text/html")
                    .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}")),
            )
            .body(Body::from(body))
            .unwrap();
        self.request(req).await
    }

    /// A download: the status, headers and the exact bytes.
    pub async fn download(&self, path: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let req = self.with_cookies(Request::builder().method(Method::GET).uri(path).header(header::HOST, "127.0.0.1:3000")).body(Body::empty()).unwrap();
        let (status, headers, bytes) = complete(&self.router, req).await;
        (status, headers, bytes.to_vec())
    }

    /// A server function call as the hydrated page (or an API caller) makes it.
    pub async fn call(&self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let req = self
            .with_cookies(
                Request::builder()
                    .method(Method::POST)
                    .uri(path)
                    .header(header::ACCEPT, "application/json")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
            )
            .body(Body::from(form_encode(fields)))
            .unwrap();
        self.request(req).await
    }

    /// Signs in through the form, as a browser without JavaScript does.
    pub async fn sign_in(&self, tenant: &str, email: &str, password: &str) -> TestResponse {
        self.post_form("/api/sign_in", "/login", &[("tenant", tenant), ("email", email), ("password", password)]).await
    }
}

/// A sign-in (as `fetch` sends it: JSON answer) from the client address
/// `address`.
pub async fn sign_in_from(app: &TestApp, address: &str, tenant: &str, email: &str, password: &str) -> TestResponse {
    sign_in_via(app, address, None, tenant, email, password).await
}

/// A sign-in from the connection peer `address`, carrying
/// `X-Forwarded-For: forwarded` when given (as a proxy sends it).
pub async fn sign_in_via(app: &TestApp, address: &str, forwarded: Option<&str>, tenant: &str, email: &str, password: &str) -> TestResponse {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/api/sign_in")
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(forwarded) = forwarded {
        req = req.header("x-forwarded-for", forwarded);
    }
    let mut req = req.body(Body::from(form_encode(&[("tenant", tenant), ("email", email), ("password", password)]))).unwrap();
    let ip: std::net::IpAddr = address.parse().unwrap();
    let addr = std::net::SocketAddr::new(ip, 50000);
    req.extensions_mut().insert(axum::extract::ConnectInfo(addr));
    app.request(req).await
}

pub fn form_encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl TestDb {
    /// Every organisation's kept counts of people by state (migration
    /// 0036) against its people counted, both ways: the rows that differ.
    pub async fn user_count_drift(&self) -> Vec<(uuid::Uuid, String, i64, i64)> {
        let mut conn = self.superuser().connect().await.unwrap();
        sqlx::query_as(
            "SELECT coalesce(k.tenant_id, c.tenant_id), coalesce(k.state, c.state), coalesce(k.n, 0), coalesce(c.n, 0)
               FROM (SELECT tenant_id, state, n FROM user_counts WHERE n <> 0) k
               FULL JOIN (SELECT tenant_id, CASE WHEN deleted_at IS NULL THEN status ELSE 'deleted' END AS state, count(*) AS n
                            FROM users GROUP BY 1, 2) c ON c.tenant_id = k.tenant_id AND c.state = k.state
              WHERE k.n IS DISTINCT FROM c.n",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap()
    }

    /// The id of a user, by email (looked up as the superuser).
    pub async fn user_id(&self, email: &str) -> uuid::Uuid {
        let mut conn = self.superuser().connect().await.unwrap();
        sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(email).fetch_one(&mut conn).await.unwrap()
    }

    /// The id of a tenant's role, by its system key or name.
    pub async fn role_id(&self, tenant: &str, role: &str) -> uuid::Uuid {
        let mut conn = self.superuser().connect().await.unwrap();
        sqlx::query_scalar(
            "SELECT r.id FROM roles r JOIN tenants t ON t.id = r.tenant_id
              WHERE t.slug = $1 AND (r.system_key = $2 OR r.name = $2) AND r.deleted_at IS NULL",
        )
        .bind(tenant)
        .bind(role)
        .fetch_one(&mut conn)
        .await
        .unwrap()
    }

    pub async fn tenant_id(&self, slug: &str) -> uuid::Uuid {
        let mut conn = self.superuser().connect().await.unwrap();
        sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1").bind(slug).fetch_one(&mut conn).await.unwrap()
    }

    /// Grants a role directly, as the superuser (arranging a test).
    pub async fn grant(&self, email: &str, tenant: &str, role: &str) {
        let user = self.user_id(email).await;
        let role = self.role_id(tenant, role).await;
        self.exec_as_superuser(&format!(
            "INSERT INTO user_roles (tenant_id, user_id, role_id) SELECT tenant_id, id, '{role}' FROM users WHERE id = '{user}'"
        ))
        .await;
    }

    /// Creates a team in `tenant` holding `role`, with `member` in it.
    pub async fn team_with_role(&self, tenant: &str, team: &str, member: &str, role: &str) {
        self.exec_as_superuser(&format!(
            "WITH t AS (INSERT INTO teams (tenant_id, name) SELECT id, '{team}' FROM tenants WHERE slug = '{tenant}' RETURNING tenant_id, id),
                  m AS (INSERT INTO team_members (tenant_id, team_id, user_id)
                        SELECT t.tenant_id, t.id, u.id FROM t JOIN users u ON u.tenant_id = t.tenant_id AND u.email = '{member}')
             INSERT INTO team_roles (tenant_id, team_id, role_id)
             SELECT t.tenant_id, t.id, r.id FROM t JOIN roles r ON r.tenant_id = t.tenant_id AND r.system_key = '{role}'"
        ))
        .await;
    }

    /// Audit events recorded while serving requests (not those of loading
    /// the demo into the template): (action, entity_id, changes), oldest first.
    pub async fn events(&self, tenant: &str) -> Vec<(String, Option<String>, serde_json::Value)> {
        let mut conn = self.superuser().connect().await.unwrap();
        sqlx::query_as(
            "SELECT e.action, e.entity_id, e.changes FROM audit_events e JOIN tenants t ON t.id = e.tenant_id
              WHERE t.slug = $1 AND e.request_id IS NOT NULL ORDER BY e.seq",
        )
        .bind(tenant)
        .fetch_all(&mut conn)
        .await
        .unwrap()
    }

    /// A postgres:// URL for this database as `role`, over the cluster's socket.
    pub fn url(&self, role: &str) -> String {
        let socket = shared().cluster.socket_dir().display().to_string();
        format!("postgres://{role}@localhost/{}?host={socket}", self.name)
    }
}

/// The scheduler's settings of a server with neither a backup folder nor a
/// point-in-time folder (a test adds what it needs).
pub fn scheduler_config(server: &str) -> steward::ops::scheduler::SchedulerConfig {
    steward::ops::scheduler::SchedulerConfig {
        access_log_days: 30,
        audit_keep: None,
        server: server.into(),
        poll: Duration::from_secs(60),
        backup: None,
        pitr: None,
    }
}
