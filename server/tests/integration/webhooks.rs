//! Webhooks: deliveries queued by the audit trigger in the event's own
//! transaction, posted by the worker to a real HTTP receiver (an axum server
//! this test starts on 127.0.0.1), signed so that the receiver can check
//! them, retried after a failure, paused after failing too long (with its
//! audit event and a mail to the endpoint's creator), resumed, sent again
//! and deleted through the console's server functions; and refused for
//! private destinations unless the platform allows them, both when saved
//! and when the name is resolved at connection time.

use crate::support::*;
use app::authz::ssr::System;
use app::webhooks::ssr::Rules;
use axum::http::StatusCode;
use sqlx::{ConnectOptions, Connection};
use hmac::{Hmac, Mac};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use steward::ops::webhooks::{send_due, WorkerConfig};
use tokio::sync::watch;

/// A request as the receiver got it.
#[derive(Clone, Debug)]
struct Got {
    headers: axum::http::HeaderMap,
    body: String,
}

impl Got {
    fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// An HTTP receiver on 127.0.0.1: keeps every POST and answers with the
/// next scripted status (200 when the script is empty) and a short text.
#[derive(Clone)]
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Got>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver { port: listener.local_addr().unwrap().port(), got: Arc::default(), script: Arc::default() };
        let shared = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let shared = shared.clone();
                async move {
                    shared.got.lock().unwrap().push(Got { headers, body });
                    let status = shared.script.lock().unwrap().pop_front().unwrap_or(200);
                    (StatusCode::from_u16(status).unwrap(), format!("receiver says {status}"))
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

/// A server whose platform allows private destinations (the receiver is on
/// this machine).
async fn allowing_private(db: &TestDb) -> TestApp {
    let pool = db.app_pool().await;
    let router = steward::web::router(pool.clone(), &steward::web::WebConfig { webhook_allow_private: true, ..web_config() });
    TestApp { db: db.clone(), pool, router, cookies: Default::default() }
}

fn worker(allow_private: bool) -> WorkerConfig {
    WorkerConfig {
        rules: Rules {
            backoff: app::db::queue::Backoff { first: Duration::from_millis(300), longest: Duration::from_millis(600), attempts: 5 },
            pause_after: Duration::from_secs(3600),
        },
        poll: Duration::from_millis(50),
        ..WorkerConfig::new(test_master_key(), allow_private, 14).unwrap()
    }
}

/// (action, status, attempts, response status, last error), oldest first.
async fn deliveries(db: &TestDb) -> Vec<(String, String, i32, Option<i32>, Option<String>)> {
    let mut conn = db.superuser().connect().await.unwrap();
    let rows = sqlx::query_as("SELECT action, status, attempts, response_status, last_error FROM webhook_deliveries ORDER BY created_at, id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    rows
}

async fn scalar<T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin>(db: &TestDb, sql: &str) -> T {
    let mut conn = db.superuser().connect().await.unwrap();
    let value: (T,) = sqlx::query_as(sql).fetch_one(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    value.0
}

/// Runs the worker once, after any pause its deliveries wait for.
async fn send(db: &TestDb, config: &WorkerConfig) -> usize {
    let pool = db.app_pool().await;
    let (_stop, stopped) = watch::channel(false);
    let n = send_due(&System::new(&pool), config, &stopped).await.unwrap();
    pool.close().await;
    n
}

fn check_signature(secret: &str, got: &Got) -> i64 {
    let header = got.header("steward-signature");
    let (t, v1) = header.split_once(",v1=").unwrap_or_else(|| panic!("a signature header: {header:?}"));
    let t: i64 = t.strip_prefix("t=").unwrap().parse().unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", got.body).as_bytes());
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v1, expected, "the signature is HMAC-SHA256(secret, t.body)");
    t
}

#[tokio::test]
async fn subscribed_events_reach_a_real_receiver_signed_once_each_and_others_do_not() {
    let db = TestDb::new().await;
    let app = allowing_private(&db).await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let receiver = Receiver::start().await;

    // Bad input is told beside its field.
    let r = app.call("/api/create_webhook", &[("url", "hooks.example.com"), ("actions", "team.create, nonsense")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("full address") && r.body.contains("\\\"nonsense\\\" is not an action"), "{}", r.body);

    let r = app.call("/api/create_webhook", &[("url", &receiver.url()), ("actions", "team.*, user.suspend"), ("description", "SIEM")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let made = json(&r);
    let secret = made["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_") && secret.len() == 70, "{secret}");
    let endpoint = made["id"].as_str().unwrap().to_string();
    let stored: Vec<u8> = scalar(&db, "SELECT secret_sealed FROM webhook_endpoints").await;
    assert!(!stored.windows(16).any(|w| secret.as_bytes().windows(16).any(|s| s == w)), "the secret is sealed, not stored");
    let created = db.events("acme").await.into_iter().find(|e| e.0 == "webhook.create").expect("an audit event");
    assert_eq!(created.2["after"]["actions"], serde_json::json!(["team.*", "user.suspend"]));
    assert!(!created.2.to_string().contains(&secret), "the event holds no secret");

    // Two subscribed events, one not subscribed, one refused change, and
    // another organisation's event.
    assert!(app.call("/api/create_team", &[("name", "Hooked")]).await.status.is_success());
    let maya = db.user_id("maya@acme.test").await.to_string();
    assert!(app.call("/api/suspend_user", &[("user_id", &maya)]).await.status.is_success());
    assert!(app.call("/api/reactivate_user", &[("user_id", &maya)]).await.status.is_success());
    assert_eq!(app.call("/api/create_team", &[("name", "")]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let globex = TestApp::on(db.clone()).await;
    globex.sign_in("globex", "gina@globex.test", PASSWORD).await;
    assert!(globex.call("/api/create_team", &[("name", "Elsewhere")]).await.status.is_success());

    // The patterns: an action, an area's every action, everything.
    for (patterns, action, matches) in [
        ("{user.*,role.grant}", "user.create", true),
        ("{user.*,role.grant}", "user.password_change", true),
        ("{user.*,role.grant}", "role.grant", true),
        ("{user.*,role.grant}", "role.revoke", false),
        ("{user.*}", "users.create", false),
        ("{*}", "team.create", true),
    ] {
        let got: bool = scalar(&db, &format!("SELECT steward_webhook_matches('{patterns}', '{action}')")).await;
        assert_eq!(got, matches, "{patterns} {action}");
    }
    let queued = deliveries(&db).await;
    let actions: Vec<&str> = queued.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(actions, vec!["team.create", "user.suspend"], "queued with their events, and only those: {queued:?}");
    // Each delivery is its event's: in the same transaction.
    let orphans: i64 = scalar(&db, "SELECT count(*) FROM webhook_deliveries d WHERE NOT EXISTS (SELECT FROM audit_events e WHERE e.tenant_id = d.tenant_id AND e.id = d.event_id AND e.action = d.action)").await;
    assert_eq!(orphans, 0);

    let config = worker(true);
    assert_eq!(send(&db, &config).await, 2);
    assert_eq!(send(&db, &config).await, 0, "nothing is due twice");
    let got = receiver.got();
    assert_eq!(got.len(), 2, "{got:?}");
    for g in &got {
        let t = check_signature(&secret, g);
        assert!((chrono::Utc::now().timestamp() - t).abs() < 60, "the time is now's");
        assert_eq!(g.header("content-type"), "application/json");
        assert!(g.header("user-agent").starts_with("Steward-Webhooks/"));
        let body = g.json();
        assert_eq!(g.header("steward-event"), body["action"].as_str().unwrap());
        assert_eq!(g.header("steward-event-id"), body["id"].as_str().unwrap());
        // The body is the event as the audit log holds it, hash included.
        let hash: String = scalar(&db, &format!("SELECT encode(hash, 'hex') FROM audit_events WHERE id = '{}'", body["id"].as_str().unwrap())).await;
        assert_eq!(body["hash"], hash.as_str());
        assert_eq!(body["tenant_id"], db.tenant_id("acme").await.to_string().as_str());
    }
    let team = got.iter().map(Got::json).find(|b| b["action"] == "team.create").unwrap();
    assert_eq!(team["changes"]["after"]["name"], "Hooked");
    // A tampered body no longer matches its signature.
    let mut forged = got[0].clone();
    forged.body = forged.body.replace("Hooked", "Hacked");
    assert!(std::panic::catch_unwind(|| check_signature(&secret, &forged)).is_err(), "a changed body fails the check");
    let states: Vec<(String, String, i32, Option<i32>)> = deliveries(&db).await.into_iter().map(|d| (d.0, d.1, d.2, d.3)).collect();
    assert_eq!(states, vec![("team.create".into(), "delivered".into(), 1, Some(200)), ("user.suspend".into(), "delivered".into(), 1, Some(200))]);

    // The screens: the list, and the endpoint's page with its deliveries.
    let page = app.get("/settings/webhooks").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&receiver.url()) && page.has_testid("webhook-row"), "{}", page.body);
    let page = app.get(&format!("/settings/webhooks/{endpoint}")).await;
    assert!(page.body.contains("HTTP 200") && page.body.contains("receiver says 200"), "{}", page.body);
    // Another organisation's endpoint is not found.
    let r = globex.call("/api/get_webhook", &[("id", &endpoint)]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = globex.call("/api/delete_webhook", &[("id", &endpoint)]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    // Sent again on request: the receiver gets the same event a second time.
    let first: String = scalar(&db, "SELECT id::text FROM webhook_deliveries WHERE action = 'team.create'").await;
    let r = app.call("/api/redeliver_webhook", &[("id", &endpoint), ("delivery_id", &first)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(send(&db, &config).await, 1);
    let got = receiver.got();
    assert_eq!(got[2].header("steward-event-id"), got.iter().find(|g| g.header("steward-event") == "team.create").unwrap().header("steward-event-id"));
    assert_eq!(got[2].header("steward-delivery"), first);

    // Deleted: its deliveries go with it, and events queue nothing more.
    let r = app.call("/api/delete_webhook", &[("id", &endpoint)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(app.call("/api/create_team", &[("name", "After")]).await.status.is_success());
    assert!(deliveries(&db).await.is_empty());
    let actions: Vec<String> = db.events("acme").await.into_iter().map(|e| e.0).filter(|a| a.starts_with("webhook.")).collect();
    assert_eq!(actions, vec!["webhook.create", "webhook.redeliver", "webhook.delete"]);
}

#[tokio::test]
async fn a_failing_receiver_is_retried_then_paused_with_its_creator_told_and_resumed() {
    let db = TestDb::new().await;
    let app = allowing_private(&db).await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let receiver = Receiver::start().await;
    let r = app.call("/api/create_webhook", &[("url", &receiver.url()), ("actions", "*")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let endpoint = json(&r)["id"].as_str().unwrap().to_string();
    // Subscribed to everything, it is sent its own making first.
    let config = worker(true);
    assert_eq!(send(&db, &config).await, 1);
    assert_eq!(receiver.got()[0].header("steward-event"), "webhook.create");

    // A 500, then (after the pause) a 200.
    receiver.script.lock().unwrap().extend([500]);
    assert!(app.call("/api/create_team", &[("name", "One")]).await.status.is_success());
    assert_eq!(send(&db, &config).await, 1);
    let rows = deliveries(&db).await;
    assert_eq!((rows[1].1.as_str(), rows[1].2, rows[1].3), ("queued", 1, Some(500)), "{rows:?}");
    assert_eq!(rows[1].4.as_deref(), Some("the receiver answered 500 Internal Server Error"));
    let body: String = scalar(&db, "SELECT response_body FROM webhook_deliveries ORDER BY created_at DESC, id DESC LIMIT 1").await;
    assert_eq!(body, "receiver says 500", "the answer is kept");
    let failing: bool = scalar(&db, "SELECT failing_since IS NOT NULL FROM webhook_endpoints").await;
    assert!(failing);
    assert_eq!(send(&db, &config).await, 0, "not before its pause");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(send(&db, &config).await, 1);
    let rows = deliveries(&db).await;
    assert_eq!((rows[1].1.as_str(), rows[1].2, rows[1].3), ("delivered", 2, Some(200)), "{rows:?}");
    let failing: bool = scalar(&db, "SELECT failing_since IS NOT NULL FROM webhook_endpoints").await;
    assert!(!failing, "a success ends the failing spell");

    // Failing past the limit (here: at once): paused, with its event and a
    // mail to Olivia, who made it.
    let pausing = WorkerConfig { rules: Rules { pause_after: Duration::ZERO, ..config.rules }, ..config.clone() };
    receiver.script.lock().unwrap().extend([503, 503]);
    assert!(app.call("/api/create_team", &[("name", "Two")]).await.status.is_success());
    assert_eq!(send(&db, &pausing).await, 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(send(&db, &pausing).await, 1);
    let (status, reason): (String, String) = {
        let mut conn = db.superuser().connect().await.unwrap();
        sqlx::query_as("SELECT status, paused_reason FROM webhook_endpoints").fetch_one(&mut conn).await.unwrap()
    };
    assert_eq!((status.as_str(), reason.as_str()), ("paused", "failing"));
    let paused: Vec<serde_json::Value> = {
        let mut conn = db.superuser().connect().await.unwrap();
        sqlx::query_scalar("SELECT changes FROM audit_events WHERE action = 'webhook.pause'").fetch_all(&mut conn).await.unwrap()
    };
    assert_eq!(paused.len(), 1, "{paused:?}");
    assert_eq!(paused[0]["after"]["reason"], "failing");
    assert!(paused[0]["after"]["last_error"].as_str().unwrap().contains("503"), "{paused:?}");
    let mail: (String, String, String) = {
        let mut conn = db.superuser().connect().await.unwrap();
        sqlx::query_as("SELECT to_address, subject, body_text FROM mail_outbox WHERE kind = 'webhook.pause'").fetch_one(&mut conn).await.unwrap()
    };
    assert_eq!((mail.0.as_str(), mail.1.as_str()), ("olivia@acme.test", "A webhook was paused"));
    assert!(mail.2.contains(&receiver.url()) && mail.2.contains("503"), "{}", mail.2);
    let page = app.get("/settings/webhooks").await;
    assert!(page.body.contains("paused: it failed for a day"), "{}", page.body);

    // While paused, nothing new is queued and the waiting one is not sent.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(app.call("/api/create_team", &[("name", "Three")]).await.status.is_success());
    assert_eq!(send(&db, &pausing).await, 0);
    let waiting: Vec<(String, String)> = deliveries(&db).await.into_iter().filter(|d| d.1 == "queued" || d.1 == "held").map(|d| (d.0, d.1)).collect();
    assert_eq!(waiting, vec![("team.create".to_string(), "held".to_string())], "only Two's delivery waits, out of the queue");
    let sent_before = receiver.got().len();

    // Resumed: the waiting delivery goes at once (with the resumption's
    // own event, which it subscribes to).
    let r = app.call("/api/resume_webhook", &[("id", &endpoint)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(send(&db, &config).await, 2);
    let after: Vec<serde_json::Value> = receiver.got()[sent_before..].iter().map(Got::json).collect();
    let mut sent: Vec<String> = after.iter().map(|b| format!("{} {}", b["action"].as_str().unwrap(), b["changes"]["after"]["name"].as_str().unwrap_or(""))).collect();
    sent.sort();
    assert_eq!(sent, vec!["team.create Two", "webhook.resume "]);
    let queued: i64 = scalar(&db, "SELECT count(*) FROM webhook_deliveries WHERE status = 'queued'").await;
    assert_eq!(queued, 0);
    // Given up after its last attempt: failed, and kept with its answer.
    let short = WorkerConfig { rules: Rules { backoff: app::db::queue::Backoff { attempts: 1, ..config.rules.backoff }, ..config.rules }, ..config.clone() };
    receiver.script.lock().unwrap().extend([404]);
    assert!(app.call("/api/create_team", &[("name", "Four")]).await.status.is_success());
    assert_eq!(send(&db, &short).await, 1);
    let last = deliveries(&db).await.pop().unwrap();
    assert_eq!((last.1.as_str(), last.3), ("failed", Some(404)));

    // Old deliveries are deleted (here: all that are settled); the
    // waiting ones stay.
    let pool = db.app_pool().await;
    let settled: i64 = scalar(&db, "SELECT count(*) FROM webhook_deliveries WHERE status <> 'queued'").await;
    assert_eq!(app::webhooks::ssr::prune(&System::new(&pool), 0).await.unwrap(), settled as u64);
    assert!(deliveries(&db).await.iter().all(|d| d.1 == "queued"));
    pool.close().await;
}

#[tokio::test]
async fn private_destinations_are_refused_when_saved_and_when_resolved_and_only_managers_who_read_the_audit_log_may_add_one() {
    let db = TestDb::new().await;
    // The platform does not allow private destinations (the default).
    let app = TestApp::on(db.clone()).await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    for (url, said) in [
        ("http://hooks.example.com/x", "Use an https:// address"),
        ("https://127.0.0.1/x", "is not a public address"),
        ("https://169.254.169.254/latest/meta-data", "is not a public address"),
        ("https://[::ffff:10.0.0.1]/x", "is not a public address"),
        ("https://localhost:8443/x", "this machine's own"),
    ] {
        let r = app.call("/api/create_webhook", &[("url", url), ("actions", "*")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {}", r.body);
        assert!(r.body.contains(said), "{url}: {}", r.body);
    }
    let made: i64 = scalar(&db, "SELECT count(*) FROM webhook_endpoints").await;
    assert_eq!(made, 0);

    // A name that resolves to a private address at connection time (a
    // public name rebound, say) reaches nothing: `localhost` stands in for
    // it here, saved behind the console's back (the console refuses it).
    let receiver = Receiver::start().await;
    let acme = db.tenant_id("acme").await;
    let id = uuid::Uuid::now_v7();
    let sealed = test_master_key().seal(b"whsec_x", &app::webhooks::ssr::seal_context(app::ids::TenantId(acme), id));
    let mut conn = db.superuser().connect().await.unwrap();
    for (n, url) in [format!("https://localhost:{}/hook", receiver.port), format!("https://127.0.0.1:{}/hook", receiver.port)].iter().enumerate() {
        let id = if n == 0 { id } else { uuid::Uuid::now_v7() };
        let sealed = if n == 0 { sealed.clone() } else { test_master_key().seal(b"whsec_x", &app::webhooks::ssr::seal_context(app::ids::TenantId(acme), id)) };
        sqlx::query("INSERT INTO webhook_endpoints (tenant_id, id, url, actions, secret_sealed, created_by) VALUES ($1, $2, $3, '{team.create}', $4, $5)")
            .bind(acme)
            .bind(id)
            .bind(url)
            .bind(sealed)
            .bind(db.user_id("olivia@acme.test").await)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    conn.close().await.unwrap();
    assert!(app.call("/api/create_team", &[("name", "Rebound")]).await.status.is_success());
    assert_eq!(send(&db, &worker(false)).await, 2);
    assert!(receiver.got().is_empty(), "nothing reached the private address");
    let errors: Vec<String> = deliveries(&db).await.into_iter().map(|d| d.4.unwrap_or_default()).collect();
    assert!(errors.iter().any(|e| e.contains("localhost resolves to no public address")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("127.0.0.1 is not a public address")), "{errors:?}");

    // Who may: not a member; not someone who manages settings but may not
    // read the audit log (the endpoint would hand it to them).
    let mark = TestApp::on(db.clone()).await;
    mark.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(mark.call("/api/list_webhooks", &[]).await.status, StatusCode::FORBIDDEN);
    db.exec_as_superuser(
        "WITH r AS (INSERT INTO roles (tenant_id, name) SELECT id, 'Brand keeper' FROM tenants WHERE slug = 'acme' RETURNING tenant_id, id),
              p AS (INSERT INTO role_permissions (tenant_id, role_id, permission_key) SELECT tenant_id, id, 'settings:manage' FROM r)
         INSERT INTO role_views (tenant_id, role_id, view_key) SELECT tenant_id, id, 'settings' FROM r",
    )
    .await;
    db.grant("maya@acme.test", "acme", "Brand keeper").await;
    let maya = TestApp::on(db.clone()).await;
    maya.sign_in("acme", "maya@acme.test", PASSWORD).await;
    assert_eq!(maya.call("/api/get_organisation", &[]).await.status, StatusCode::OK, "she manages the settings");
    let r = maya.call("/api/create_webhook", &[("url", "https://hooks.example.com/x"), ("actions", "*")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(maya.call("/api/list_webhooks", &[]).await.status, StatusCode::FORBIDDEN);
    assert!(!maya.get("/settings").await.has_testid("webhooks-card"), "the card is not offered");
    assert!(app.get("/settings").await.has_testid("webhooks-card"));
    let refused: i64 = scalar(&db, "SELECT count(*) FROM audit_events WHERE action = 'access.denied' AND changes::text LIKE '%audit:read%'").await;
    assert!(refused >= 1, "the refusal is recorded");

    // Platform staff acting inside the organisation hold both permissions,
    // but would leave behind an endpoint nobody there made: refused.
    let admin = TestApp::on(db.clone()).await;
    admin.sign_in("platform", "admin@steward.test", PASSWORD).await;
    let r = admin.call("/api/act_in_tenant", &[("slug", "acme"), ("reason", "ticket 99")]).await;
    assert!(r.status.is_success() || r.status.is_redirection(), "{}", r.body);
    let r = admin.call("/api/create_webhook", &[("url", "https://hooks.example.com/x"), ("actions", "*")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("its own owners add them"), "{}", r.body);
}

#[tokio::test]
async fn an_endpoint_stops_sending_once_its_maker_may_no_longer_manage_webhooks() {
    let db = TestDb::new().await;
    let app = allowing_private(&db).await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let receiver = Receiver::start().await;
    let r = app.call("/api/create_webhook", &[("url", &receiver.url()), ("actions", "team.*")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(app.call("/api/create_team", &[("name", "Before")]).await.status.is_success());
    let config = worker(true);
    assert_eq!(send(&db, &config).await, 1);
    assert_eq!(receiver.got().len(), 1);

    // Olivia loses her roles (through the back door: the console keeps an
    // organisation's last owner). The audit log she could read no longer
    // goes to her endpoint.
    assert!(app.call("/api/create_team", &[("name", "After")]).await.status.is_success());
    let olivia = db.user_id("olivia@acme.test").await;
    db.exec_as_superuser(&format!("DELETE FROM user_roles WHERE user_id = '{olivia}'")).await;
    assert_eq!(send(&db, &config).await, 1, "claimed, then handed back");
    assert_eq!(receiver.got().len(), 1, "nothing more was sent");
    let (status, reason): (String, String) = {
        let mut conn = db.superuser().connect().await.unwrap();
        sqlx::query_as("SELECT status, paused_reason FROM webhook_endpoints").fetch_one(&mut conn).await.unwrap()
    };
    assert_eq!((status.as_str(), reason.as_str()), ("paused", "maker"));
    let held: (String, i32) = {
        let mut conn = db.superuser().connect().await.unwrap();
        sqlx::query_as("SELECT status, attempts FROM webhook_deliveries ORDER BY created_at DESC LIMIT 1").fetch_one(&mut conn).await.unwrap()
    };
    assert_eq!(held, ("held".to_string(), 0), "held, its claim not counted");
    let paused: serde_json::Value = scalar(&db, "SELECT changes FROM audit_events WHERE action = 'webhook.pause'").await;
    assert_eq!(paused["after"]["reason"], "maker");
    assert_eq!(send(&db, &config).await, 0);
}

#[tokio::test]
async fn a_slow_receiver_holds_at_most_two_of_the_workers_slots() {
    let db = TestDb::new().await;
    let app = allowing_private(&db).await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let receiver = Receiver::start().await;
    for _ in 0..2 {
        let r = app.call("/api/create_webhook", &[("url", &receiver.url()), ("actions", "team.create")]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    for n in 0..4 {
        assert!(app.call("/api/create_team", &[("name", &format!("Team {n}"))]).await.status.is_success());
    }
    assert_eq!(deliveries(&db).await.len(), 8);
    let pool = db.app_pool().await;
    let system = System::new(&pool);
    let lease = Duration::from_secs(30);
    let first = app::webhooks::ssr::claim(&system, lease, 16).await.unwrap();
    let mut per_endpoint: std::collections::BTreeMap<uuid::Uuid, usize> = Default::default();
    for d in &first {
        *per_endpoint.entry(d.endpoint_id).or_default() += 1;
    }
    assert_eq!(per_endpoint.values().copied().collect::<Vec<_>>(), vec![2, 2], "two of each endpoint: {per_endpoint:?}");
    assert!(app::webhooks::ssr::claim(&system, lease, 16).await.unwrap().is_empty(), "both are at their cap while those are in flight");
    app::webhooks::ssr::release(&system, &first[..1]).await.unwrap();
    let next = app::webhooks::ssr::claim(&system, lease, 16).await.unwrap();
    assert_eq!(next.len(), 1, "a freed slot is taken again");
    assert_eq!(next[0].endpoint_id, first[0].endpoint_id);
    pool.close().await;
}

/// Run by `a_proxy_in_the_environment_is_not_used` in a child process with
/// the proxy variables set (they are the process's: not set in this one).
#[tokio::test]
#[ignore = "run by a_proxy_in_the_environment_is_not_used, in a child process"]
async fn send_through_the_environments_proxy() {
    let port = std::env::var("STEWARD_TEST_HOOK_PORT").unwrap();
    let (tenant, endpoint) = (app::ids::TenantId(uuid::Uuid::now_v7()), uuid::Uuid::now_v7());
    let due = app::webhooks::ssr::Due {
        tenant_id: tenant,
        id: uuid::Uuid::now_v7(),
        endpoint_id: endpoint,
        event_id: uuid::Uuid::now_v7(),
        action: "team.create".into(),
        url: format!("https://localhost:{port}/hook"),
        secret_sealed: test_master_key().seal(b"whsec_x", &app::webhooks::ssr::seal_context(tenant, endpoint)),
        body: "{}".into(),
        attempt: 1,
        claim: uuid::Uuid::now_v7(),
    };
    let attempt = steward::ops::webhooks::send(&WorkerConfig::new(test_master_key(), false, 14).unwrap(), &due).await;
    let error = attempt.error.unwrap_or_default();
    assert!(error.contains("localhost resolves to no public address"), "the guard resolved the name itself: {error}");
}

#[tokio::test]
async fn a_proxy_in_the_environment_is_not_used() {
    // A "proxy" that counts who connects to it.
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://127.0.0.1:{}", proxy.local_addr().unwrap().port());
    let reached = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = reached.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = proxy.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let output = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["webhooks::send_through_the_environments_proxy", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env("HTTPS_PROXY", &proxy_url)
        .env("https_proxy", &proxy_url)
        .env("ALL_PROXY", &proxy_url)
        .env("HTTP_PROXY", &proxy_url)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env("STEWARD_TEST_HOOK_PORT", "9")
        .output()
        .await
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(said.contains("1 passed"), "the child ran the probe: {said}");
    assert!(output.status.success(), "{said}");
    assert_eq!(reached.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing went through the proxy");
}
