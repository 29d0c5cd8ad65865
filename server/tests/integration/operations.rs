//! What operators rely on: /healthz, /readyz and /metrics; the access log;
//! a clear 503 while PostgreSQL is down and service again once it is back;
//! and a schema that keeps Citus's rules for distributing by tenant.

use crate::support::*;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use sqlx::{ConnectOptions, Connection};
use std::time::{Duration, Instant};
use steward::embedded::{Cluster, ClusterOptions};

pub(crate) async fn metrics_text(app: &TestApp) -> String {
    let req = Request::get("/metrics")
        .header(header::AUTHORIZATION, format!("Bearer {METRICS_TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let res = app.request(req).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    res.body
}

/// The value of a metric line that starts with `prefix`.
fn value(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no line starts with {prefix}:\n{text}"))
}

#[tokio::test]
async fn readyz_answers_and_metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status, StatusCode::OK);
    let res = app.get("/readyz").await;
    assert_eq!((res.status, res.body.contains("ready")), (StatusCode::OK, true), "{}", res.body);

    let failures_before = value(&metrics_text(&app).await, "steward_sign_in_failures_total ");
    app.sign_in("acme", "olivia@acme.test", "not the password").await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    for _ in 0..3 {
        assert_eq!(app.get("/users").await.status, StatusCode::OK);
    }
    let user = app.db.user_id("mark@acme.test").await;
    assert_eq!(app.get(&format!("/users/{user}")).await.status, StatusCode::OK);
    assert_eq!(app.get(&format!("/users/{}", uuid::Uuid::now_v7())).await.status, StatusCode::NOT_FOUND);

    let text = metrics_text(&app).await;
    assert_eq!(value(&text, r#"steward_http_requests_total{method="GET",route="/users",status="200"}"#), 3.0);
    // Routes are the router's patterns, so ids never become label values.
    assert_eq!(value(&text, r#"steward_http_requests_total{method="GET",route="/users/{id}",status="200"}"#), 1.0);
    assert_eq!(value(&text, r#"steward_http_requests_total{method="GET",route="/users/{id}",status="404"}"#), 1.0);
    assert!(!text.contains(&user.to_string()), "no raw path in the labels");
    assert_eq!(
        value(&text, r#"steward_http_request_duration_seconds_count{method="GET",route="/users",status="200"}"#),
        3.0
    );
    assert_eq!(
        value(&text, r#"steward_http_request_duration_seconds_bucket{method="GET",route="/users",status="200",le="+Inf"}"#),
        3.0
    );
    assert!(value(&text, "steward_sign_in_failures_total ") >= failures_before + 1.0);
    assert!(value(&text, "steward_db_pool_connections ") >= 1.0);
    assert_eq!(value(&text, "steward_db_pool_max "), 4.0);

    // Another host without the token is refused, and learns nothing.
    let res = app.request(Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(!res.body.contains("steward_http"), "{}", res.body);
    let res = app
        .request(Request::get("/metrics").header(header::AUTHORIZATION, "Bearer wrong").body(Body::empty()).unwrap())
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

/// Rows of the access log, read as the superuser: (route, status, tenant, user).
async fn access_rows(app: &TestApp, path: &str) -> Vec<(String, i16, Option<uuid::Uuid>, Option<uuid::Uuid>, Option<String>)> {
    let mut conn = app.db.superuser().connect().await.unwrap();
    let rows = sqlx::query_as(
        "SELECT route, status, tenant_id, user_id, request_id FROM access_log WHERE path = $1 ORDER BY at, id",
    )
    .bind(path)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    rows
}

#[tokio::test]
async fn every_request_reaches_the_access_log_in_batches_and_only_the_platform_reads_it() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let user = app.db.user_id("maya@acme.test").await;
    let page = format!("/users/{user}");
    assert_eq!(app.get(&page).await.status, StatusCode::OK);
    let anonymous = app.another_browser();
    assert_eq!(anonymous.get("/teams").await.status, StatusCode::SEE_OTHER);
    app.get("/healthz").await;

    // Written off the request path: wait for the writer's batch.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut rows = access_rows(&app, &page).await;
    while rows.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        rows = access_rows(&app, &page).await;
    }
    let olivia = app.db.user_id("olivia@acme.test").await;
    let acme = app.db.tenant_id("acme").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (route, status, tenant, who, request_id) = rows[0].clone();
    assert_eq!((route.as_str(), status, tenant, who), ("/users/{id}", 200, Some(acme), Some(olivia)));
    assert!(request_id.is_some_and(|r| !r.is_empty()));
    let anonymous_rows = access_rows(&app, "/teams").await;
    assert_eq!(anonymous_rows.len(), 1);
    assert_eq!((anonymous_rows[0].1, anonymous_rows[0].2, anonymous_rows[0].3), (303, None, None));
    assert!(access_rows(&app, "/healthz").await.is_empty(), "probes are not logged");

    // Through the application role: a customer tenant sees none of it, the
    // platform tenant sees it all.
    let count_as = |tenant: uuid::Uuid| {
        let pool = app.pool.clone();
        async move {
            let mut tx = pool.begin().await.unwrap();
            sqlx::query("SELECT set_config('steward.tenant_id', $1, true)").bind(tenant.to_string()).execute(&mut *tx).await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM access_log").fetch_one(&mut *tx).await.unwrap();
            tx.rollback().await.unwrap();
            n
        }
    };
    assert_eq!(count_as(acme).await, 0);
    assert!(count_as(app.db.tenant_id("platform").await).await >= 2);
}

#[tokio::test]
async fn access_log_upkeep_keeps_days_ahead_and_drops_old_ones() {
    let db = TestDb::new().await;
    db.exec_as_superuser(
        "CREATE TABLE access_log_20200101 PARTITION OF access_log FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-01-02 00:00+00')",
    )
    .await;
    // The scheduler's partitions and retention jobs, as `serve` runs them.
    let config = scheduler_config("server-a");
    let pool = db.app_pool().await;
    let ran = steward::ops::scheduler::run_due(&pool, &db.targets.owner, &config).await.unwrap();
    let retention = ran.iter().find(|(job, _)| job == "retention").map(|(_, o)| o);
    assert!(
        matches!(retention, Some(steward::ops::scheduler::Outcome::Ok(m)) if m.contains("1 access-log day(s) dropped")),
        "{retention:?}"
    );
    let mut conn = db.superuser().connect().await.unwrap();
    let old: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_class WHERE relname = 'access_log_20200101'").fetch_one(&mut conn).await.unwrap();
    assert_eq!(old, 0, "the old day is dropped");
    let ahead: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'access_log'::regclass",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(ahead >= 8, "yesterday, today and a week ahead: {ahead}");
    conn.close().await.unwrap();
}

/// A cluster of the test's own, with the demo, that the test may stop.
async fn own_cluster(name: &str) -> (Cluster, ClusterOptions, TestDb) {
    let dir = std::env::temp_dir().join("steward-tests").join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = ClusterOptions { dir: dir.join("pg"), bindir: None, ephemeral: true, settings: Vec::new() };
    let mut cluster = Cluster::start(&options).unwrap();
    cluster.wait_ready(Duration::from_secs(60)).await.unwrap();
    let targets = steward::db::Targets::bootstrap_embedded(&cluster, steward::db::DATABASE).await.unwrap();
    steward::db::migrate(&targets.owner).await.unwrap();
    let pool = steward::db::app_pool(&targets.app, 2).await.unwrap();
    steward::demo::load(&pool, PASSWORD).await.unwrap();
    pool.close().await;
    (cluster, options, TestDb { name: steward::db::DATABASE.into(), targets })
}

#[tokio::test]
async fn with_the_database_down_pages_say_503_quickly_and_service_returns_by_itself() {
    let (mut cluster, options, db) = own_cluster("fault").await;
    let app = TestApp::on(db).await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    assert_eq!(app.get("/users").await.status, StatusCode::OK);

    cluster.stop();
    // Under load: eight requests at once, each answered within 2 s.
    let started = Instant::now();
    let mut handles = Vec::new();
    for i in 0..8 {
        let browser = TestApp { db: app.db.clone(), pool: app.pool.clone(), router: app.router.clone(), cookies: std::sync::Mutex::new(app.cookies.lock().unwrap().clone()) };
        handles.push(tokio::spawn(async move {
            let path = if i % 2 == 0 { "/users" } else { "/documents" };
            let t = Instant::now();
            let res = browser.get(path).await;
            (res.status, res.body, t.elapsed())
        }));
    }
    for handle in handles {
        let (status, body, took) = handle.await.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(took < Duration::from_secs(2), "answered in {took:?}");
        assert!(body.contains("database"), "a sentence that says why: {body}");
    }
    let res = app.get("/readyz").await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    let res = app.call("/api/me", &[]).await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{}", res.body);
    assert!(started.elapsed() < Duration::from_secs(10));

    // Back again: the same router serves without a restart.
    let mut cluster = Cluster::start(&options).unwrap();
    cluster.wait_ready(Duration::from_secs(60)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut status = app.get("/users").await.status;
    while status != StatusCode::OK && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = app.get("/users").await.status;
    }
    assert_eq!(status, StatusCode::OK, "served again once PostgreSQL is back");
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
    drop(app);
    cluster.stop();
    let _ = std::fs::remove_dir_all(options.dir.parent().unwrap());
}

/// Citus distributes a table by a column only when every primary key,
/// unique constraint and unique index includes it, and every foreign key
/// between distributed tables joins on it. Tenant-owned tables are the ones
/// whose row-level security compares `tenant_id` with the current tenant.
#[tokio::test]
async fn every_tenant_owned_table_keeps_citus_rules_for_distribution_by_tenant_id() {
    let db = TestDb::new().await;
    let mut conn = db.superuser().connect().await.unwrap();
    let owned: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT c.relname::text
           FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
          WHERE pg_get_expr(p.polqual, p.polrelid) LIKE '%tenant_id = steward_current_tenant()%'
            AND c.relkind IN ('r', 'p') AND NOT c.relispartition
          ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for table in ["users", "roles", "teams", "user_roles", "documents", "document_versions", "audit_events", "user_sessions", "tenant_auth"] {
        assert!(owned.contains(&table.to_string()), "{table} is found as tenant-owned: {owned:?}");
    }

    // Unique indexes (primary keys and unique constraints have one too).
    let uniques: Vec<(String, String)> = sqlx::query_as(
        "SELECT t.relname::text, i.relname::text
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
          WHERE x.indisunique AND t.relname = ANY($1)
            AND NOT EXISTS (SELECT FROM pg_attribute a
                             WHERE a.attrelid = t.oid AND a.attname = 'tenant_id' AND a.attnum = ANY(x.indkey))",
    )
    .bind(&owned)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(uniques.is_empty(), "unique indexes without tenant_id: {uniques:?}");

    // Foreign keys: to another tenant-owned table they join on tenant_id;
    // otherwise they point at a reference table (tenants, the catalogue).
    let foreign: Vec<(String, String, String, bool)> = sqlx::query_as(
        "SELECT f.conname::text, t.relname::text, r.relname::text,
                EXISTS (SELECT FROM unnest(f.conkey, f.confkey) AS k(mine, theirs)
                          JOIN pg_attribute a ON a.attrelid = f.conrelid AND a.attnum = k.mine
                          JOIN pg_attribute b ON b.attrelid = f.confrelid AND b.attnum = k.theirs
                         WHERE a.attname = 'tenant_id' AND b.attname = 'tenant_id')
           FROM pg_constraint f JOIN pg_class t ON t.oid = f.conrelid JOIN pg_class r ON r.oid = f.confrelid
          WHERE f.contype = 'f' AND t.relname = ANY($1) AND NOT t.relispartition",
    )
    .bind(&owned)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(foreign.len() >= 10, "the foreign keys are found: {foreign:?}");
    let broken: Vec<_> = foreign
        .iter()
        .filter(|(_, _, referenced, on_tenant)| owned.contains(referenced) && !on_tenant)
        .collect();
    assert!(broken.is_empty(), "foreign keys between tenant-owned tables that do not join on tenant_id: {broken:?}");
    let references: std::collections::BTreeSet<&str> = foreign
        .iter()
        .filter(|(_, _, referenced, _)| !owned.contains(referenced))
        .map(|(_, _, r, _)| r.as_str())
        .collect();
    let known = ["tenants", "modules", "permissions", "views"];
    assert!(references.iter().all(|r| known.contains(r)), "reference tables: {references:?}");

    // A trigger on a distributed table may write only co-located tables:
    // Citus refuses writes to a reference table (`tenants`, the catalogue)
    // from a shard. The statements of each trigger's function are read for
    // the tables they change.
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = 'public'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let triggers: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, g.tgname::text, p.prosrc
           FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_proc p ON p.oid = g.tgfoid
          WHERE NOT g.tgisinternal AND NOT c.relispartition AND c.relname = ANY($1)",
    )
    .bind(&owned)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(triggers.len() >= 10, "the triggers are found: {triggers:?}");
    let mut writes_elsewhere = Vec::new();
    for (table, trigger, source) in &triggers {
        for written in tables_written(source) {
            if tables.contains(&written) && !owned.contains(&written) {
                writes_elsewhere.push(format!("{trigger} on {table} writes {written}"));
            }
        }
    }
    assert!(writes_elsewhere.is_empty(), "triggers on tenant-owned tables writing other tables: {writes_elsewhere:?}");

    // docs/SCALING.md's statements place every table, each once: the
    // tenant-owned ones distributed, the rest reference or coordinator-only
    // tables. A new table fails this until the document says where it goes.
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/SCALING.md")).unwrap();
    let named = |call: &str| -> Vec<String> {
        doc.match_indices(call)
            .map(|(at, _)| {
                let rest = &doc[at + call.len()..];
                rest[..rest.find('\'').unwrap()].to_string()
            })
            .collect()
    };
    let distributed = named("create_distributed_table('");
    let reference = named("create_reference_table('");
    let local = named("citus_add_local_table_to_metadata('");
    let mut placed: Vec<&String> = distributed.iter().chain(&reference).chain(&local).collect();
    placed.sort();
    let mut everything: Vec<String> = sqlx::query_scalar(
        "SELECT CASE WHEN n.nspname = 'public' THEN c.relname::text ELSE n.nspname || '.' || c.relname END
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
            AND n.nspname IN ('public', 'tower_sessions') AND c.relname <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    everything.sort();
    assert_eq!(placed, everything.iter().collect::<Vec<_>>(), "docs/SCALING.md places every table exactly once");
    let mut owned_sorted = owned.clone();
    owned_sorted.sort();
    let mut distributed_sorted = distributed.clone();
    distributed_sorted.sort();
    assert_eq!(distributed_sorted, owned_sorted, "the distributed tables are exactly the tenant-owned ones");
    conn.close().await.unwrap();
}

/// The tables a PL/pgSQL body changes: the names after UPDATE, INSERT INTO
/// and DELETE FROM (an `ON CONFLICT … DO UPDATE SET` names none).
fn tables_written(source: &str) -> Vec<String> {
    let words: Vec<String> = source
        .split(|c: char| c.is_whitespace() || c == '(' || c == ';')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect();
    let mut written = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let target = match word.as_str() {
            "update" => words.get(i + 1).filter(|next| *next != "set"),
            "into" if i > 0 && words[i - 1] == "insert" => words.get(i + 1),
            "from" if i > 0 && words[i - 1] == "delete" => words.get(i + 1),
            _ => None,
        };
        if let Some(table) = target {
            written.push(table.trim_start_matches("public.").to_string());
        }
    }
    written
}

/// A streaming replica of `primary`, made with pg_basebackup -R and started.
async fn replica_of(primary: &Cluster, dir: std::path::PathBuf) -> Cluster {
    let bindir = steward::embedded::find_bindir(None).unwrap();
    let out = std::process::Command::new(bindir.join("pg_basebackup"))
        .arg("--host")
        .arg(primary.socket_dir())
        .args(["--port", "5432", "--username", "postgres", "--write-recovery-conf", "--wal-method=stream", "--checkpoint=fast", "--pgdata"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_basebackup: {}", String::from_utf8_lossy(&out.stderr));
    let mut replica = Cluster::start(&ClusterOptions { dir, bindir: None, ephemeral: true, settings: Vec::new() }).unwrap();
    replica.wait_ready(Duration::from_secs(60)).await.unwrap();
    replica
}

#[tokio::test]
async fn lists_read_from_the_replica_but_a_person_reads_their_own_writes_at_once() {
    let (mut primary, options, db) = own_cluster("replica").await;
    let mut replica = replica_of(&primary, options.dir.parent().unwrap().join("replica")).await;
    let read_pool = steward::db::app_pool(&replica.connect_options(steward::db::APP_ROLE, steward::db::DATABASE), 2).await.unwrap();
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()").fetch_one(&read_pool).await.unwrap();
    assert!(in_recovery, "the read pool is on the standby");

    let pool = db.app_pool().await;
    let config = steward::web::WebConfig { read_pool: Some(read_pool), ..web_config() };
    let router = steward::web::router(pool.clone(), &config);
    let app = TestApp { db: db.clone(), pool, router, cookies: Default::default() };
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    assert!(app.cookie(WRITTEN).is_some(), "signing in wrote its event, and the answer says where the primary stood");
    assert!(app.get("/users").await.body.contains("mark@acme.test"));
    // Another browser that has written nothing (its sign-in's mark dropped).
    let other = app.another_browser();
    other.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    other.cookies.lock().unwrap().remove(WRITTEN);

    // Hold the replica still, then write through the console.
    let mut standby = replica.connect_options("postgres", steward::db::DATABASE).connect().await.unwrap();
    sqlx::query("SELECT pg_wal_replay_pause()").execute(&mut standby).await.unwrap();
    let before = app.cookie(WRITTEN).unwrap().parse::<i64>().unwrap();
    let res = app.call("/api/create_user", &[("email", "rita@acme.test"), ("display_name", "Rita Replica")]).await;
    assert_eq!(res.status, StatusCode::OK, "the write went to the primary: {}", res.body);
    let set = res.set_cookies().into_iter().find(|c| c.starts_with(WRITTEN)).expect("the write sets the cookie");
    assert!(set.contains("HttpOnly") && set.contains("Max-Age=300"), "{set}");
    let after = app.cookie(WRITTEN).unwrap().parse::<i64>().unwrap();
    assert!(after > before, "the mark moved past the write ({before} -> {after})");
    let created: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    let rita = created["id"].as_str().unwrap().to_string();

    // The writer sees her at once in the list and the audit log, though
    // the replica has not replayed her: on the old code both were read
    // from the paused replica and missed her.
    let list = app.get("/users?q=rita").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("rita@acme.test"), "the writer's list shows her own write");
    // (A row names the user it is about by id, not by address.)
    let audit = app.get("/audit?action=user.create").await;
    assert!(audit.body.contains(&rita), "the writer's audit log shows her own write");
    let page = app.get(&format!("/users/{rita}")).await;
    assert!(page.body.contains("Rita Replica"));
    // A browser that wrote nothing still reads the paused replica.
    let theirs = other.get("/users?q=rita").await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(!theirs.body.contains("rita@acme.test"), "the list is read from the paused replica");
    let theirs = other.get("/audit?action=user.create").await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(!theirs.body.contains(&rita), "so is the audit log");
    // What the cookie says is the client's: nonsense is ignored, and a
    // mark far ahead only sends their reads to the primary.
    other.set_cookie(WRITTEN, "not-a-position");
    let nonsense = other.get("/users?q=rita").await;
    assert_eq!(nonsense.status, StatusCode::OK);
    assert!(!nonsense.body.contains("rita@acme.test"));
    other.set_cookie(WRITTEN, &i64::MAX.to_string());
    assert!(other.get("/users?q=rita").await.body.contains("rita@acme.test"));

    // Replay resumes: the list catches up by itself for everyone.
    sqlx::query("SELECT pg_wal_replay_resume()").execute(&mut standby).await.unwrap();
    other.cookies.lock().unwrap().remove(WRITTEN);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = other.get("/users?q=rita").await.body.contains("rita@acme.test");
    while !seen && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = other.get("/users?q=rita").await.body.contains("rita@acme.test");
    }
    assert!(seen, "the replica caught up");
    // ... past the writer's mark too (a commit on the primary gives it a
    // record to replay should the mark fall just past a page's header).
    let mark = app.cookie(WRITTEN).unwrap().parse::<i64>().unwrap();
    let mut owner = primary.connect_options("postgres", steward::db::DATABASE).connect().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let replayed: i64 = sqlx::query_scalar("SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint").fetch_one(&mut standby).await.unwrap();
        if replayed >= mark {
            break;
        }
        assert!(Instant::now() < deadline, "the replica replays past the writer's mark");
        sqlx::query("SELECT txid_current()").execute(&mut owner).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Once the replica has replayed her write, the writer reads from it
    // again: a change made on the primary behind the console's back while
    // the replica is held is not in her list.
    sqlx::query("SELECT pg_wal_replay_pause()").execute(&mut standby).await.unwrap();
    sqlx::query("UPDATE users SET display_name = 'Rita Renamed' WHERE email = 'rita@acme.test'").execute(&mut owner).await.unwrap();
    owner.close().await.unwrap();
    let list = app.get("/users?q=rita").await;
    assert!(list.body.contains("Rita Replica") && !list.body.contains("Rita Renamed"), "the writer is back on the replica");
    sqlx::query("SELECT pg_wal_replay_resume()").execute(&mut standby).await.unwrap();
    standby.close().await.unwrap();
    drop((app, other));
    replica.stop();
    primary.stop();
    let _ = std::fs::remove_dir_all(options.dir.parent().unwrap());
}

/// The cookie that says where the primary stood after the browser's last write.
const WRITTEN: &str = app::ssr::WRITTEN_COOKIE;

#[tokio::test]
async fn platform_administrators_browse_the_access_log_and_nobody_else_sees_it() {
    let app = TestApp::spawn().await;
    let olivia = app.another_browser();
    olivia.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    assert_eq!(olivia.get("/users").await.status, StatusCode::OK);
    assert_eq!(olivia.get(&format!("/users/{}", uuid::Uuid::now_v7())).await.status, StatusCode::NOT_FOUND);
    // Customers have no such view: no menu entry, and a 403.
    let page = olivia.get("/access-log").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(!olivia.get("/").await.body.contains("href=\"/access-log\""));

    app.sign_in("platform", "admin@steward.test", PASSWORD).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut page = app.get("/access-log?tenant=acme").await;
    while !page.body.contains(">acme<") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        page = app.get("/access-log?tenant=acme").await;
    }
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("href=\"/access-log\""), "in the platform menu");
    assert!(page.has_testid("access-table"));
    assert!(page.has_testid("access-row") && page.body.contains(">acme<"), "{}", page.body);
    assert!(page.body.contains("<div class=\"text-slate-500 dark:text-slate-400\">/users/{id}</div>"), "the route pattern of a row");
    let errors = app.get("/access-log?tenant=acme&status=4xx").await;
    assert!(errors.body.contains(">404<"));
    assert!(!errors.body.contains(">200<"), "only 4xx rows");
    let refused = app.get("/access-log?status=9xx").await;
    assert!(refused.body.contains("Give a class such as 4xx"), "a message beside the field");
    assert!(refused.body.contains("value=\"9xx\""), "what was typed is kept");
}

#[tokio::test]
async fn a_session_idle_longer_than_the_timeout_is_signed_out() {
    let db = TestDb::new().await;
    let pool = db.app_pool().await;
    let strict = steward::web::router(pool.clone(), &steward::web::WebConfig { session_idle_minutes: 0, ..web_config() });
    let app = TestApp { db, pool, router: strict, cookies: Default::default() };
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    assert_eq!(app.get("/users").await.status, StatusCode::OK, "within the timeout");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let res = app.get("/users").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/login?next=/users"));
}

#[tokio::test]
async fn user_search_answers_from_its_index_for_the_current_tenant_only() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    // A rename reaches the search key through its trigger.
    let mut conn = app.db.superuser().connect().await.unwrap();
    sqlx::query("UPDATE users SET display_name = 'Marcus Member' WHERE email = 'mark@acme.test'").execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    let found = app.get("/users?q=marcus").await;
    assert!(found.body.contains("mark@acme.test"), "found by the new name");
    assert!(!app.get("/users?q=mark%20member").await.body.contains("mark@acme.test"), "not by the old one");
    // Another tenant's people never match, whatever the pattern.
    let globex = app.get("/users?q=globex.test").await;
    assert_eq!(globex.status, StatusCode::OK);
    assert!(!globex.body.contains("max@globex.test"));

    // The application role cannot read the search table itself, and the
    // function answers nothing without a tenant.
    let denied = sqlx::query("SELECT count(*) FROM user_search").fetch_one(&app.pool).await;
    assert!(denied.is_err(), "no privilege on user_search");
    let none: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT user_id FROM steward_user_search('%')").fetch_all(&app.pool).await.unwrap();
    assert!(none.is_empty(), "no tenant set: no rows");
}

/// A write that waits on a lock something else holds (here a stuck
/// transaction on the tenant's audit chain head) gives up after
/// `db::LOCK_TIMEOUT` with a 503 and writes nothing, and succeeds once the
/// lock is gone; every connection of the pool carries both timeouts.
#[tokio::test]
async fn a_write_stuck_behind_a_held_lock_answers_503_and_writes_nothing() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let mut conn = app.pool.acquire().await.unwrap();
    let settings: (String, String) = sqlx::query_as("SELECT current_setting('lock_timeout'), current_setting('idle_in_transaction_session_timeout')")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(settings, ("10s".to_string(), "1min".to_string()));
    drop(conn);

    let acme = app.db.tenant_id("acme").await;
    let mut holder = app.db.superuser().connect().await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT 1 FROM audit_chain_heads WHERE tenant_id = $1 FOR UPDATE").bind(acme).execute(&mut holder).await.unwrap();
    let started = Instant::now();
    let stuck = app.call("/api/create_role", &[("name", "Night readers"), ("perms[]", "document:read")]).await;
    let waited = started.elapsed();
    assert_eq!(stuck.status, StatusCode::SERVICE_UNAVAILABLE, "{}", stuck.body);
    assert!(stuck.body.contains("Unavailable"), "the page says to try again: {}", stuck.body);
    assert!(waited >= Duration::from_secs(9) && waited < Duration::from_secs(20), "gave up after {waited:?}");
    let roles = json(&app.call("/api/list_roles", &[("deleted", "false")]).await);
    assert!(!roles.as_array().unwrap().iter().any(|r| r["name"] == "Night readers"), "nothing half-written");

    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    let again = app.call("/api/create_role", &[("name", "Night readers"), ("perms[]", "document:read")]).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
}
