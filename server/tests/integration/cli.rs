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
    for word in ["serve", "migrate", "create-admin", "demo", "verify-audit", "audit-retention", "DATABASE_URL", "STEWARD_DATA_DIR", "PG_BINDIR"] {
        assert!(text.contains(word), "--help mentions {word}:\n{text}");
    }
    let out = steward().args(["serve", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["STEWARD_ADDR", "STEWARD_SECURE_COOKIES", "LEPTOS_SITE_ROOT", "STEWARD_BLOB_DIR", "STEWARD_MAX_UPLOAD_MB"] {
        assert!(text.contains(word), "serve --help mentions {word}:\n{text}");
    }
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
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// Starts `steward serve`; returns it with what it printed in its first
/// seconds (its address, and on a first run the demo credentials).
fn start(data: &std::path::Path, addr: &str) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = steward()
        .args(["serve", "--addr", addr, "--data-dir"])
        .arg(data)
        .env("STEWARD_DEMO_PASSWORD", "lifecycle-demo-1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
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

fn stop(mut child: std::process::Child) -> std::process::ExitStatus {
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
            "POST /api/sign_in HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
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
