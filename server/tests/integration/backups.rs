//! Whole backups: a full and an incremental archive of a live database,
//! restored onto a second PostgreSQL cluster with its own blob folder and
//! no master key, where a person signs in with her second factor and
//! downloads her documents.

use crate::documents::upload;
use crate::mfa::{code, enrol};
use crate::support::{blob_dir, shared_cluster, test_master_key_text, web_config, TestApp, TestDb, PASSWORD};
use axum::http::StatusCode;
use sqlx::{ConnectOptions, Connection};
use std::time::Duration;
use steward::backup::{self, BackupPlan, RestorePlan, Target};
use steward::db::{self, Targets};
use steward::embedded::{Cluster, ClusterOptions};
use steward::ops::scheduler::{run_due, Outcome, SchedulerConfig};

const PASSPHRASE: &str = "a passphrase for the test backups";

async fn count(options: &sqlx::postgres::PgConnectOptions, sql: &str) -> i64 {
    let mut conn = options.connect().await.unwrap();
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    n
}

#[tokio::test]
async fn a_backup_restored_on_a_second_cluster_signs_in_with_a_second_factor_and_downloads_documents() {
    let root = std::env::temp_dir().join("steward-tests").join(format!("backups-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let bindir = steward::embedded::find_bindir(None).unwrap();

    // The live server: a document, a second factor, a signed-in session.
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let first: Vec<u8> = format!("Board minutes {}\n", uuid::Uuid::now_v7()).into_bytes();
    let first_id = upload(&app, "Board minutes", "", "minutes.txt", &first).await;
    let (secret, _codes) = enrol(&app).await;
    // A password link waits in the outbox (no SMTP server here).
    let asked = app.another_browser().call("/api/request_password_link", &[("tenant", "acme"), ("email", "mark@acme.test")]).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert_eq!(count(&app.db.superuser(), "SELECT count(*) FROM mail_outbox WHERE link IS NOT NULL").await, 1);
    let source = Target::embedded(shared_cluster(), &app.db.name);
    let key = test_master_key_text();
    let (store, full_file) = (blob_dir(), root.join("full.backup"));
    let plan = BackupPlan { blob_dir: &store, master_key: &key, passphrase: PASSPHRASE, since: None, bindir: &bindir };

    // A passphrase too short to seal the key with: refused, nothing written.
    let short = BackupPlan { passphrase: "short", ..plan };
    let refused = backup::backup(&source, &short, &root.join("full.backup")).await.unwrap_err().to_string();
    assert!(refused.contains("STEWARD_BACKUP_PASSPHRASE") && refused.contains("at least 12 characters"), "{refused}");
    assert!(!root.join("full.backup").exists());

    let full = backup::backup(&source, &plan, &full_file).await.unwrap();
    assert_eq!((full.manifest.referenced.len(), full.manifest.held.len()), (1, 1), "the one document's content");
    assert!(full.manifest.base.is_none() && full.manifest.missing.is_empty());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&full_file).unwrap().permissions().mode() & 0o777, 0o600, "readable by its owner only");
    let archive = std::fs::read(root.join("full.backup")).unwrap();
    assert!(!archive.windows(key.len()).any(|w| w == key.as_bytes()), "the master key is sealed, not in the clear");

    // More work, then an incremental backup: it holds only the new content.
    let second: Vec<u8> = format!("Budget {}\n", uuid::Uuid::now_v7()).into_bytes();
    let second_id = upload(&app, "Budget", "", "budget.txt", &second).await;
    let incremental = backup::backup(&source, &BackupPlan { since: Some(&full_file), ..plan }, &root.join("incremental.backup")).await.unwrap();
    assert_eq!((incremental.manifest.referenced.len(), incremental.manifest.held.len()), (2, 1));
    assert_eq!(incremental.manifest.base.as_ref().map(|b| b.id), Some(full.manifest.id));
    assert!(incremental.bytes < full.bytes + second.len() as u64 + 4096, "no content copied twice");
    let saved = incremental.manifest.counts.clone();
    assert_eq!(saved.documents, 2);

    // A second cluster, empty, with its own blob folder and no key.
    let mut cluster = Cluster::start(&ClusterOptions { dir: root.join("pg"), bindir: None, ephemeral: true, settings: Vec::new() }).unwrap();
    cluster.wait_ready(Duration::from_secs(60)).await.unwrap();
    let targets = Targets::bootstrap_embedded(&cluster, db::DATABASE).await.unwrap();
    db::migrate(&targets.owner).await.unwrap();
    let blobs = root.join("blobs");
    let key_file = root.join("data").join("master.key");
    let target = Target::embedded(&cluster, db::DATABASE);
    let restore_plan = |passphrase| RestorePlan { blob_dir: &blobs, passphrase, bindir: &bindir, key_file: &key_file, key_given: None };

    // Refused before anything is touched: a wrong passphrase, a missing base.
    let wrong = backup::restore(&target, &targets.owner, &restore_plan(Some("not the passphrase at all")), &root.join("incremental.backup"))
        .await
        .unwrap_err()
        .to_string();
    assert!(wrong.contains("does not open this backup's master key"), "{wrong}");
    std::fs::rename(root.join("full.backup"), root.join("elsewhere")).unwrap();
    let orphan = backup::restore(&target, &targets.owner, &restore_plan(Some(PASSPHRASE)), &root.join("incremental.backup"))
        .await
        .unwrap_err()
        .to_string();
    assert!(orphan.contains("builds on full.backup") && orphan.contains("not in the same folder"), "{orphan}");
    std::fs::rename(root.join("elsewhere"), root.join("full.backup")).unwrap();
    assert_eq!(count(&targets.owner, "SELECT count(*) FROM tenants").await, 0, "nothing restored yet");
    assert!(!key_file.exists() && !blobs.join("staging").read_dir().map(|mut d| d.next().is_some()).unwrap_or(false));

    let restored = backup::restore(&target, &targets.owner, &restore_plan(Some(PASSPHRASE)), &root.join("incremental.backup")).await.unwrap();
    assert_eq!(restored.counts, saved);
    assert_eq!(restored.blobs_checked, 2, "both contents, one from each archive, hashed");
    assert_eq!(std::fs::read_to_string(&key_file).unwrap().trim(), key, "the key is back");
    let said = restored.to_string();
    assert!(said.contains("incremental backup on full.backup") && said.contains("every audit chain verifies") && said.contains("2 document contents"), "{said}");
    // No live session came along.
    let superuser = cluster.connect_options(steward::embedded::SUPERUSER, db::DATABASE);
    assert_eq!(count(&superuser, "SELECT count(*) FROM tower_sessions.session").await, 0);
    assert_eq!(count(&superuser, "SELECT count(*) FROM user_sessions").await, 0);
    assert_eq!(count(&superuser, "SELECT count(*) FROM mail_outbox WHERE link IS NOT NULL").await, 0, "no live link");
    assert_eq!(
        count(&superuser, "SELECT count(*) FROM mail_outbox").await,
        count(&app.db.superuser(), "SELECT count(*) FROM mail_outbox").await,
        "the mail queue itself came back"
    );

    // The restored Steward: its own blob folder and the key from the file.
    let mut config = web_config();
    config.blobs = std::sync::Arc::new(app::documents::blobs::FsBlobStore::new(&blobs).unwrap());
    config.master_key = steward::ops::keys::master_key(None, key_file.parent().unwrap()).unwrap();
    let pool = db::app_pool(&targets.app, 4).await.unwrap();
    let restored_app = TestApp {
        db: TestDb { name: db::DATABASE.into(), targets: targets.clone() },
        pool: pool.clone(),
        router: steward::web::router(pool.clone(), &config),
        cookies: Default::default(),
    };
    // The session of the old server means nothing here.
    for (name, value) in app.cookies.lock().unwrap().iter() {
        restored_app.set_cookie(name, value);
    }
    assert_eq!(restored_app.get("/documents").await.location(), Some("/login?next=/documents"));
    restored_app.clear_cookies();

    let signed = restored_app
        .post_form("/api/sign_in", "/login", &[("tenant", "acme"), ("email", "olivia@acme.test"), ("password", PASSWORD), ("next", "/documents")])
        .await;
    assert_eq!(signed.location(), Some("/login/code?next=/documents"), "the second factor came back with the key");
    let done = restored_app.call("/api/verify_mfa", &[("code", &code(&secret, 1)), ("next", "/documents")]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    for (id, bytes) in [(&first_id, &first), (&second_id, &second)] {
        let (status, _, body) = restored_app.download(&format!("/documents/{id}/versions/1/download")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(&body, bytes);
    }
    pool.close().await;
    cluster.stop();
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn the_daily_backup_is_full_then_incremental_and_shown_on_the_system_screen() {
    let dir = std::env::temp_dir().join("steward-tests").join(format!("scheduled-backups-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    upload(&app, "Plan", "", "plan.txt", format!("Plan {}\n", uuid::Uuid::now_v7()).as_bytes()).await;
    let plan = backup::Scheduled {
        target: Target::embedded(shared_cluster(), &app.db.name),
        dir: dir.clone(),
        blob_dir: blob_dir(),
        master_key: test_master_key_text(),
        passphrase: PASSPHRASE.into(),
        bindir: steward::embedded::find_bindir(None).unwrap(),
        keep_days: 35,
    };
    let config = SchedulerConfig { backup: Some(std::sync::Arc::new(plan)), ..crate::support::scheduler_config("server-a") };
    let owner = &app.db.targets.owner;
    let backup_outcome = |ran: Vec<(String, Outcome)>| ran.into_iter().find(|(job, _)| job == "backup").map(|(_, o)| o);
    // A server without a backup folder raises the alarm; one with it then
    // takes the job at once, not a day later.
    let bare = SchedulerConfig { backup: None, server: "server-b".into(), ..config.clone() };
    let alarm = backup_outcome(run_due(&app.pool, owner, &bare).await.unwrap());
    assert!(matches!(&alarm, Some(Outcome::Alarm(m)) if m.contains("no backups are being made")), "{alarm:?}");
    assert!(backup_outcome(run_due(&app.pool, owner, &bare).await.unwrap()).is_none(), "the alarm is not raised again at once");
    let first = backup_outcome(run_due(&app.pool, owner, &config).await.unwrap());
    assert!(matches!(&first, Some(Outcome::Ok(m)) if m.contains("-full.backup") && m.contains("full backup, 3 tenants")), "{first:?}");
    assert!(backup_outcome(run_due(&app.pool, owner, &config).await.unwrap()).is_none(), "not due again the same day");

    // A day later, with a new document: an incremental backup on the first.
    upload(&app, "Plan B", "", "plan-b.txt", format!("Plan B {}\n", uuid::Uuid::now_v7()).as_bytes()).await;
    let mut conn = owner.connect().await.unwrap();
    sqlx::query("UPDATE scheduled_jobs SET last_started_at = now() - interval '25 hours' WHERE job = 'backup'").execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    let second = backup_outcome(run_due(&app.pool, owner, &config).await.unwrap());
    assert!(matches!(&second, Some(Outcome::Ok(m)) if m.contains("-incremental.backup") && m.contains("1 document contents")), "{second:?}");
    let listed = backup::catalogue(&dir).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].1.base.as_ref().map(|b| b.id), Some(listed[0].1.id));
    assert_eq!((listed[0].1.held.len(), listed[1].1.held.len()), (1, 1), "the second holds only the new content");

    let admin = app.another_browser();
    admin.sign_in("platform", "admin@steward.test", PASSWORD).await;
    let page = admin.get("/system").await;
    assert!(page.body.contains("-incremental.backup"), "the backup job's last run: {}", page.body);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A copy of the archive `from` with one member's bytes changed by `change`.
fn tampered(from: &std::path::Path, to: &std::path::Path, member: impl Fn(&str) -> bool, change: impl Fn(&mut Vec<u8>)) {
    use std::io::Read;
    let mut source = tar::Archive::new(std::fs::File::open(from).unwrap());
    let mut out = tar::Builder::new(std::fs::File::create(to).unwrap());
    let mut changed = false;
    for entry in source.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if !changed && member(&name) {
            change(&mut bytes);
            changed = true;
        }
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        header.set_cksum();
        out.append_data(&mut header, &name, bytes.as_slice()).unwrap();
    }
    out.finish().unwrap();
    assert!(changed, "the member to change is in the archive");
}

#[tokio::test]
async fn a_tampered_archive_is_refused_and_the_database_is_left_as_it_was() {
    let root = std::env::temp_dir().join("steward-tests").join(format!("tampered-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let bindir = steward::embedded::find_bindir(None).unwrap();
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    upload(&app, "Charter", "", "charter.txt", format!("Charter {}\n", uuid::Uuid::now_v7()).as_bytes()).await;
    let target = Target::embedded(shared_cluster(), &app.db.name);
    let (store, key) = (blob_dir(), test_master_key_text());
    let good = root.join("good.backup");
    let plan = BackupPlan { blob_dir: &store, master_key: &key, passphrase: PASSPHRASE, since: None, bindir: &bindir };
    backup::backup(&target, &plan, &good).await.unwrap();

    // Changed after the fact, by someone without the passphrase: the dump,
    // a content, the manifest's counts.
    let flip = |bytes: &mut Vec<u8>| {
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
    };
    tampered(&good, &root.join("dump.backup"), |n| n == "database.dump", flip);
    tampered(&good, &root.join("content.backup"), |n| n.starts_with("blobs/"), flip);
    tampered(&good, &root.join("manifest.backup"), |n| n == "steward-backup.json", |bytes| {
        let mut manifest: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        manifest["counts"]["users"] = serde_json::json!(manifest["counts"]["users"].as_i64().unwrap() + 1);
        *bytes = serde_json::to_vec(&manifest).unwrap();
    });

    let before = count(&app.db.superuser(), "SELECT count(*) FROM users").await;
    let (blobs, key_file) = (root.join("blobs"), root.join("data").join("master.key"));
    let restore_plan = RestorePlan { blob_dir: &blobs, passphrase: Some(PASSPHRASE), bindir: &bindir, key_file: &key_file, key_given: None };
    for (file, said) in [
        ("dump.backup", "its database dump does not match the SHA-256 its manifest records"),
        ("content.backup", "does not hash to its name"),
        ("manifest.backup", "does not open this backup's master key"),
    ] {
        let refused = backup::restore(&target, &app.db.targets.owner, &restore_plan, &root.join(file)).await.unwrap_err().to_string();
        assert!(refused.contains(said), "{file}: {refused}");
        assert!(!key_file.exists(), "{file}: no key written");
    }
    // The live database is untouched: same rows, the session still works.
    assert_eq!(count(&app.db.superuser(), "SELECT count(*) FROM users").await, before);
    assert!(app.get("/documents").await.body.contains("Charter"));
    let _ = std::fs::remove_dir_all(&root);
}
