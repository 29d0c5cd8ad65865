//! Steward comes back by itself when its database dies (issue 18): the real
//! binary under a write load from four clients, first on its own cluster
//! with `kill -9` of the postmaster, then on an external server that is
//! restarted. Every acknowledged write must be there afterwards, none half
//! done, every chain intact, and the time without answers is printed.

use super::cli::{http_full, start_serving, stop};
use super::cluster::scratch;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use steward::embedded::{Cluster, ClusterOptions, SUPERUSER};

const PASSWORD: &str = "recovery-demo-1";

/// One write: when it was sent and answered, and with what.
struct Write {
    sent: Instant,
    answered: Instant,
    status: u16,
    team: Option<String>,
    name: String,
}

/// Clients creating teams one after another, each on its own connection.
struct Load {
    writes: Arc<Mutex<Vec<Write>>>,
    done: Arc<AtomicBool>,
    clients: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(addr: &str, clients: usize) -> Load {
        let cookie = sign_in(addr);
        let writes = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicBool::new(false));
        let clients = (0..clients)
            .map(|client| {
                let (addr, cookie, writes, done) = (addr.to_string(), cookie.clone(), Arc::clone(&writes), Arc::clone(&done));
                std::thread::spawn(move || {
                    let mut n = 0;
                    while !done.load(Ordering::Relaxed) {
                        n += 1;
                        let name = format!("crash-{client}-{n}");
                        let sent = Instant::now();
                        let (status, _, body) = post(&addr, "/api/create_team", &cookie, &format!("name={name}&description="));
                        let team = (status == 200).then(|| body.trim().trim_matches('"').to_string());
                        writes.lock().unwrap().push(Write { sent, answered: Instant::now(), status, team, name });
                        if status != 200 {
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                })
            })
            .collect();
        Load { writes, done, clients }
    }

    /// Waits until `n` writes sent after `since` were acknowledged, or
    /// `limit` passed; says whether they were.
    fn wait_acknowledged(&self, n: usize, since: Instant, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if acknowledged_after(&self.writes.lock().unwrap(), since) >= n {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn finish(self) -> Vec<Write> {
        self.done.store(true, Ordering::Relaxed);
        for client in self.clients {
            client.join().unwrap();
        }
        std::mem::take(&mut *self.writes.lock().unwrap())
    }
}

fn acknowledged_after(writes: &[Write], since: Instant) -> usize {
    writes.iter().filter(|w| w.status == 200 && w.sent > since).count()
}

fn post(addr: &str, path: &str, cookie: &str, form: &str) -> (u16, String, String) {
    http_full(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        ),
    )
}

/// The demo's owner signs in; returns the session cookie.
fn sign_in(addr: &str) -> String {
    let (status, head, body) = post(addr, "/api/sign_in", "", &format!("tenant=acme&email=olivia%40acme.test&password={PASSWORD}"));
    assert_eq!(status, 200, "{body}");
    // The answer also clears the sign-in hint's cookie: the session's is
    // the one named so.
    head.lines()
        .filter_map(|l| l.split_once(':').filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie")).map(|(_, v)| v.trim()))
        .filter_map(|c| c.split(';').next())
        .find(|c| c.starts_with(&format!("{}=", steward::web::SESSION_COOKIE)))
        .expect("a session cookie")
        .to_string()
}

/// What the outage looked like from the clients, printed; fails when pages
/// did not answer again within 10 s, or when a refusal was not a 503.
fn report(what: &str, writes: &[Write], cut: Instant, log: &Path) {
    let said = std::fs::read_to_string(log).unwrap_or_default();
    let back = writes
        .iter()
        .filter(|w| w.status == 200 && w.sent > cut)
        .map(|w| w.answered)
        .min()
        .unwrap_or_else(|| panic!("no write was acknowledged after the {what}; steward's log:\n{said}"));
    let refused: Vec<&Write> = writes.iter().filter(|w| w.status != 200).collect();
    let statuses: BTreeSet<u16> = refused.iter().map(|w| w.status).collect();
    let window = back.duration_since(cut);
    println!(
        "{what}: {} writes, {} acknowledged, {} refused (HTTP {statuses:?}); pages answered again {:.2} s after it",
        writes.len(),
        writes.len() - refused.len(),
        refused.len(),
        window.as_secs_f64()
    );
    assert!(window < Duration::from_secs(10), "answered again only {:.1} s after the {what}; steward's log:\n{said}", window.as_secs_f64());
    assert!(statuses.iter().all(|s| *s == 503), "refusals during the outage are 503s: {statuses:?}");
}

/// Nothing acknowledged is lost; nothing is half written (every team has
/// its audit event, every such event its team); every chain verifies.
async fn nothing_lost(cluster: &Cluster, writes: &[Write]) {
    let options = cluster.connect_options(SUPERUSER, steward::db::DATABASE);
    let mut conn = sqlx::ConnectOptions::connect(&options).await.unwrap();
    let stored: Vec<String> = sqlx::query_scalar("SELECT id::text FROM teams WHERE name LIKE 'crash-%'").fetch_all(&mut conn).await.unwrap();
    let stored: BTreeSet<&str> = stored.iter().map(String::as_str).collect();
    let acknowledged: Vec<&Write> = writes.iter().filter(|w| w.status == 200).collect();
    for w in &acknowledged {
        let id = w.team.as_deref().unwrap();
        assert!(stored.contains(id), "the acknowledged team {} ({id}) is missing", w.name);
    }
    let unaudited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM teams t WHERE t.name LIKE 'crash-%'
           AND NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.action = 'team.create' AND e.entity_id = t.id::text)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(unaudited, 0, "a team without its audit event");
    let orphaned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events e WHERE e.action = 'team.create' AND e.changes::text LIKE '%crash-%'
           AND NOT EXISTS (SELECT 1 FROM teams t WHERE t.id::text = e.entity_id)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(orphaned, 0, "an audit event without its team");
    sqlx::Connection::close(conn).await.unwrap();
    let reports = steward::db::verify_audit(&options, None).await.unwrap();
    assert!(!reports.is_empty() && reports.iter().all(|r| r.broken.is_none()), "{reports:?}");
}

fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("127.0.0.1:{port}")
}

#[test]
fn a_killed_embedded_postgres_comes_back_by_itself_and_keeps_every_acknowledged_write() {
    let root = scratch("recovery-embedded");
    let data = root.join("data");
    let log = root.join("steward.log");
    let addr = free_addr();
    let (server, said) = start_serving(&["--addr", &addr, "--data-dir", data.to_str().unwrap()], &[("STEWARD_DEMO_PASSWORD", PASSWORD)], Some(&log));
    assert!(said.contains("is running"), "{said}");

    let load = Load::start(&addr, 4);
    let began = Instant::now();
    assert!(load.wait_acknowledged(40, began, Duration::from_secs(60)), "the write load never got going");

    // kill -9 of the postmaster, as an out-of-memory killer would.
    let pid: i32 = std::fs::read_to_string(data.join("postgres").join("postmaster.pid")).unwrap().lines().next().unwrap().trim().parse().unwrap();
    let killed = Instant::now();
    // SAFETY: kill with the pid PostgreSQL wrote in its own lock file.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    load.wait_acknowledged(40, killed, Duration::from_secs(60));
    let writes = load.finish();
    report("kill -9 of the embedded postmaster", &writes, killed, &log);

    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(said.contains(&format!("(pid {pid}) stopped")) && said.contains("starting it again"), "the crash is logged:\n{said}");
    assert!(said.contains("is back"), "the recovery is logged:\n{said}");
    assert!(stop(server).success(), "a clean exit on SIGTERM after the recovery");
    assert!(!data.join("postgres").join("postmaster.pid").exists(), "the restarted PostgreSQL was shut down with steward");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut cluster = Cluster::start(&ClusterOptions { dir: data.join("postgres"), bindir: None, ephemeral: false, settings: Vec::new() }).unwrap();
        cluster.wait_ready(Duration::from_secs(60)).await.unwrap();
        nothing_lost(&cluster, &writes).await;
        cluster.stop();
    });
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_restart_of_an_external_database_is_survived_without_touching_steward() {
    let root = scratch("recovery-external");
    let log = root.join("steward.log");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // The "external" server: a cluster of the test's own, which steward
    // reaches only through DATABASE_URL.
    let options = ClusterOptions { dir: root.join("external"), bindir: None, ephemeral: false, settings: Vec::new() };
    let mut cluster = Cluster::start(&options).unwrap();
    let targets = rt.block_on(async {
        cluster.wait_ready(Duration::from_secs(60)).await.unwrap();
        steward::db::Targets::bootstrap_embedded(&cluster, steward::db::DATABASE).await.unwrap()
    });
    let socket = cluster.socket_dir().display().to_string();
    let url = |role: &str| format!("postgres://{role}@localhost/{}?host={socket}&port={}", steward::db::DATABASE, steward::embedded::SOCKET_PORT);
    drop(targets);
    let addr = free_addr();
    let (server, said) = start_serving(
        &["--addr", &addr, "--demo", "--data-dir", root.join("data").to_str().unwrap()],
        &[("STEWARD_DEMO_PASSWORD", PASSWORD), ("DATABASE_URL", &url(steward::db::APP_ROLE)), ("DATABASE_MIGRATION_URL", &url(steward::db::OWNER_ROLE))],
        Some(&log),
    );
    assert!(said.contains("is running"), "{said}");

    let load = Load::start(&addr, 4);
    assert!(load.wait_acknowledged(40, Instant::now(), Duration::from_secs(60)), "the write load never got going");
    // A restart of the database server (fast shutdown: open transactions
    // roll back), as an operator's upgrade or a failover would do.
    let cut = Instant::now();
    cluster.stop();
    cluster = Cluster::start(&options).unwrap();
    rt.block_on(cluster.wait_ready(Duration::from_secs(60))).unwrap();
    load.wait_acknowledged(40, cut, Duration::from_secs(60));
    let writes = load.finish();
    report("restart of the external database", &writes, cut, &log);
    assert!(stop(server).success());
    rt.block_on(nothing_lost(&cluster, &writes));
    cluster.stop();
    let _ = std::fs::remove_dir_all(&root);
}
