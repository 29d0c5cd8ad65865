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
    for word in ["serve", "migrate", "create-admin", "demo", "verify-audit", "DATABASE_URL", "STEWARD_DATA_DIR", "PG_BINDIR"] {
        assert!(text.contains(word), "--help mentions {word}:\n{text}");
    }
    let out = steward().args(["serve", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["STEWARD_ADDR", "STEWARD_SECURE_COOKIES", "LEPTOS_SITE_ROOT"] {
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
