//! The `steward` binary as a person meets it: --help, and one clear
//! sentence (never a panic) for each set-up problem.

use std::process::Command;

fn steward() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_steward"));
    command.env_remove("DATABASE_URL").env_remove("STEWARD_DATA_DIR").env_remove("STEWARD_ADDR");
    command
}

#[test]
fn help_explains_every_setting() {
    let out = steward().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["serve", "migrate", "create-admin", "demo", "verify-audit", "audit-retention", "gen-data", "backup", "restore", "mail", "jobs", "DATABASE_URL", "STEWARD_DATA_DIR", "PG_BINDIR"] {
        assert!(text.contains(word), "--help mentions {word}:\n{text}");
    }
    let out = steward().args(["serve", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["STEWARD_ADDR", "STEWARD_SECURE_COOKIES", "LEPTOS_SITE_ROOT", "STEWARD_BLOB_DIR", "STEWARD_MAX_UPLOAD_MB", "STEWARD_METRICS_TOKEN", "STEWARD_ACCESS_LOG_DAYS", "STEWARD_TRUSTED_PROXIES", "STEWARD_SMTP_URL", "STEWARD_MAIL_FROM", "STEWARD_MAIL_KEEP_DAYS", "STEWARD_AUDIT_KEEP", "STEWARD_BACKUP_DIR", "STEWARD_BACKUP_KEEP_DAYS"] {
        assert!(text.contains(word), "serve --help mentions {word}:\n{text}");
    }
}

#[test]
fn a_trusted_proxy_that_is_no_address_block_is_one_clear_sentence() {
    let out = steward().args(["serve", "--trusted-proxies", "10.0.0.0/8,load-balancer"]).output().unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("\"load-balancer\" is not an address or CIDR block (such as 10.0.0.0/8)"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn missing_postgresql_binaries_are_one_clear_sentence() {
    let data = std::env::temp_dir().join(format!("steward-cli-nobin-{}", std::process::id()));
    let out = steward()
        .args(["migrate", "--pg-bindir", "/nonexistent/bin", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("apt-get install postgresql"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn a_bad_database_url_is_one_clear_sentence() {
    let out = steward().arg("migrate").env("DATABASE_URL", "mysql://nope").output().unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.starts_with("steward: "), "{text}");
    assert!(text.contains("DATABASE_URL"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn an_address_in_use_is_one_clear_sentence_and_the_database_stops() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let data = std::env::temp_dir().join("steward-tests").join(format!("cli-port-{}", std::process::id()));
    let out = steward()
        .args(["serve", "--no-demo", "--addr", &addr, "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("already in use"), "{text}");
    assert!(text.contains("STEWARD_ADDR"), "{text}");
    // The embedded cluster was stopped on the way out: a new one can start.
    let out = steward().arg("migrate").arg("--data-dir").arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(data);
}

/// Sends one HTTP/1.1 request over a plain socket; returns (status, body).
fn http(addr: &str, request: &str) -> (u16, String) {
    let (status, _, body) = http_full(addr, request);
    (status, body)
}

/// [`http`] with the answer's head (status line and headers) too. A
/// connection refused or cut is status 0.
pub(crate) fn http_full(addr: &str, request: &str) -> (u16, String, String) {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else { return (0, String::new(), String::new()) };
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new(), String::new());
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (head, body) = response.split_once("\r\n\r\n").map(|(h, b)| (h.to_string(), b.to_string())).unwrap_or_default();
    (status, head, body)
}

/// Starts `steward serve`; returns it with what it printed in its first
/// seconds (its address, and on a first run the demo credentials).
fn start(data: &std::path::Path, addr: &str) -> (std::process::Child, String) {
    start_serving(&["--addr", addr, "--data-dir", data.to_str().unwrap()], &[("STEWARD_DEMO_PASSWORD", "lifecycle-demo-1")], None)
}

/// `steward serve` with these arguments and environment, its log (stderr)
/// written to `log` when given.
pub(crate) fn start_serving(args: &[&str], env: &[(&str, &str)], log: Option<&std::path::Path>) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let stderr = match log {
        Some(path) => std::process::Stdio::from(std::fs::File::create(path).unwrap()),
        None => std::process::Stdio::null(),
    };
    let mut child = steward()
        .arg("serve")
        .args(args)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut said = String::new();
    let first = rx.recv_timeout(std::time::Duration::from_secs(60)).expect("steward printed nothing in 60 s");
    said.push_str(&first);
    said.push('\n');
    // Whatever follows at once (the credentials on a first run).
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_millis(500)) {
        said.push_str(&line);
        said.push('\n');
    }
    (child, said)
}

pub(crate) fn stop(mut child: std::process::Child) -> std::process::ExitStatus {
    // SAFETY: kill with a pid we spawned and have not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "steward did not stop within 20 s of SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn steward_runs_on_its_own_database_stops_cleanly_and_keeps_its_data() {
    let data = std::env::temp_dir().join("steward-tests").join(format!("cli-life-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");

    let (first, said) = start(&data, &addr);
    assert!(said.contains(&format!("Steward is running at http://{addr}")), "{said}");
    assert!(said.contains("olivia@acme.test") && said.contains("lifecycle-demo-1"), "the first run prints the demo credentials: {said}");
    let (status, body) = http(&addr, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!((status, body.as_str()), (200, "ok"));
    assert!(stop(first).success(), "a clean exit on SIGTERM");
    let cluster = data.join("postgres");
    assert!(cluster.join("PG_VERSION").exists());
    assert!(!cluster.join("postmaster.pid").exists(), "PostgreSQL was shut down with steward");

    let (second, said) = start(&data, &addr);
    assert!(said.contains("is running"), "{said}");
    assert!(!said.contains("olivia@acme.test"), "no second demo: the data is still there: {said}");
    let form = "tenant=acme&email=olivia%40acme.test&password=lifecycle-demo-1";
    let (status, body) = http(
        &addr,
        &format!(
            "POST /api/sign_in HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        ),
    );
    assert_eq!(status, 200, "the demo owner signs in after a restart: {body}");
    assert!(stop(second).success());
    let _ = std::fs::remove_dir_all(data);
}

#[tokio::test]
async fn with_a_database_url_steward_uses_that_server_and_starts_nothing() {
    let db = crate::support::TestDb::new().await;
    let data = std::env::temp_dir().join("steward-tests").join(format!("cli-external-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let out = steward()
        .arg("migrate")
        .arg("--data-dir")
        .arg(&data)
        .env("DATABASE_URL", db.url("steward_app"))
        .env("DATABASE_MIGRATION_URL", db.url("steward_owner"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!data.exists(), "no data directory, no cluster");
}

#[tokio::test]
async fn steward_jobs_lists_the_upkeep_and_a_too_short_audit_period_is_refused() {
    let db = crate::support::TestDb::new().await;
    let out = steward()
        .arg("jobs")
        .env("DATABASE_URL", db.url("steward_app"))
        .env("DATABASE_MIGRATION_URL", db.url("steward_owner"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].starts_with("partitions") && lines[0].contains("every 1 hour") && lines[0].contains("never run"), "{text}");
    assert!(lines[2].starts_with("chain_check") && lines[2].contains("every 1 day"), "{text}");
    assert!(lines[3].starts_with("backup") && lines[3].contains("every 1 day"), "{text}");
    assert!(lines[4].starts_with("base_backup") && lines[4].contains("STEWARD_PITR_DIR"), "{text}");

    // A backup folder without a passphrase is refused at start-up, not every night.
    let scratch = std::env::temp_dir().join("steward-tests").join(format!("no-passphrase-{}", std::process::id()));
    let out = steward().arg("--data-dir").arg(&scratch).arg("serve").env("DATABASE_URL", db.url("steward_app")).env("DATABASE_MIGRATION_URL", db.url("steward_owner"))
        .env("STEWARD_BACKUP_DIR", std::env::temp_dir().join("steward-tests").join("no-passphrase")).env_remove("STEWARD_BACKUP_PASSPHRASE")
        .args(["--addr", "127.0.0.1:0"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("set STEWARD_BACKUP_PASSPHRASE too"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!scratch.join("master.key").exists(), "refused before anything was made");
    let _ = std::fs::remove_dir_all(&scratch);

    let out = steward().args(["serve", "--audit-keep", "1month"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("keep at least 2 months of the audit log"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Runs the binary on a data directory; returns (success, stdout, stderr).
fn run_on(data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = steward().arg("--data-dir").arg(data).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn a_backup_restores_every_row_and_chains_that_verify() {
    let root = std::env::temp_dir().join("steward-tests").join(format!("cli-backup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let data = root.join("data");
    let file = root.join("steward.backup");
    let key = "ab".repeat(32);
    let backup = |passphrase: &str| {
        let out = steward().arg("--data-dir").arg(&data).args(["backup", file.to_str().unwrap()])
            .env("STEWARD_MASTER_KEY", &key).env("STEWARD_BACKUP_PASSPHRASE", passphrase).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let restore = |file: &std::path::Path, passphrase: &str| {
        let out = steward().arg("--data-dir").arg(&data).arg("restore").arg(file).env_remove("STEWARD_MASTER_KEY")
            .env("STEWARD_BACKUP_PASSPHRASE", passphrase).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
    };

    let (ok, _, err) = run_on(&data, &["demo"]);
    assert!(ok, "{err}");
    let (ok, _, err) = backup("");
    assert!(!ok && err.contains("set STEWARD_BACKUP_PASSPHRASE to a passphrase of at least 12 characters"), "{err}");
    let (ok, out, err) = backup("twelve chars or more");
    assert!(ok, "{err}");
    assert!(file.metadata().unwrap().len() > 10_000, "a real dump");
    let saved = out.split("full backup, ").nth(1).and_then(|s| s.split(';').next()).unwrap_or_default().to_string();
    assert!(saved.starts_with("3 tenants, 8 users, 0 documents, "), "{out}");

    // A change after the backup: gone once it is restored.
    let mut child = steward().arg("--data-dir").arg(&data).args(["create-admin", "--email", "late@steward.test", "--password-stdin"]).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"a-long-enough-password\n").unwrap();
    assert!(child.wait_with_output().unwrap().status.success());

    // Something that is not a backup is refused, and nothing changes.
    let bogus = root.join("bogus.backup");
    std::fs::write(&bogus, "not a dump").unwrap();
    let (ok, _, err) = restore(&bogus, "twelve chars or more");
    assert!(!ok);
    assert!(err.contains("is not a backup made by steward backup"), "{err}");
    let (ok, _, err) = restore(&root.join("missing"), "twelve chars or more");
    assert!(!ok);
    assert!(err.contains("there is no backup at"), "{err}");
    let (ok, _, err) = restore(&file, "");
    assert!(!ok && err.contains("set STEWARD_BACKUP_PASSPHRASE to the passphrase the backup was made with"), "{err}");

    let (ok, out, err) = restore(&file, "twelve chars or more");
    assert!(ok, "{err}");
    assert!(out.contains(&format!(": {saved}; every audit chain verifies;")), "restored the same rows:\n{out}\nsaved: {saved}");
    assert_eq!(std::fs::read_to_string(data.join("master.key")).unwrap().trim(), key, "the master key is back in the data directory");
    let (ok, out, err) = run_on(&data, &["verify-audit"]);
    assert!(ok, "{err}");
    assert_eq!(out.matches("chain intact").count(), 3, "{out}");
    // The late administrator is gone, so the email is free again.
    let mut again = steward().arg("--data-dir").arg(&data).args(["create-admin", "--email", "late@steward.test", "--password-stdin"])
        .stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(again.stdin.as_mut().unwrap(), b"a-long-enough-password\n").unwrap();
    let out = again.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(root);
}
