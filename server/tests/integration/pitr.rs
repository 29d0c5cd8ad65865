//! Point-in-time recovery of the embedded cluster: WAL archived into a
//! folder, a base backup made by the scheduler, and a restore to a noted
//! time that finds exactly the writes committed before it.

use crate::support::{json, web_config, TestApp, TestDb, PASSWORD};
use sqlx::{ConnectOptions, Connection};
use std::time::Duration;
use steward::db::{self, Targets};
use steward::embedded::{Cluster, ClusterOptions};
use steward::ops::scheduler::{run_due, Outcome, SchedulerConfig};
use steward::pitr::{self, RestorePlan, RestoreTarget};

/// The test's teams, and the audit events of making teams, as the superuser.
async fn teams_and_events(cluster: &Cluster) -> (Vec<String>, i64) {
    let mut conn = cluster.connect_options(steward::embedded::SUPERUSER, db::DATABASE).connect().await.unwrap();
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM teams WHERE name LIKE 'PITR %' ORDER BY name").fetch_all(&mut conn).await.unwrap();
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'team.create'").fetch_one(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    (names, events)
}

/// The embedded cluster of a Steward with a point-in-time folder, started
/// as `Database::open` starts it, with the console on it.
async fn start(root: &std::path::Path, folder: &pitr::Folder) -> (Cluster, TestApp) {
    let settings = pitr::archive_settings(folder).unwrap();
    let mut cluster = Cluster::start(&ClusterOptions { dir: root.join("pg"), bindir: None, ephemeral: true, settings }).unwrap();
    cluster.wait_ready(Duration::from_secs(60)).await.unwrap();
    let targets = Targets::bootstrap_embedded(&cluster, db::DATABASE).await.unwrap();
    db::migrate(&targets.owner).await.unwrap();
    let pool = db::app_pool(&targets.app, 4).await.unwrap();
    let app = TestApp {
        db: TestDb { name: db::DATABASE.into(), targets: targets.clone() },
        pool: pool.clone(),
        router: steward::web::router(pool, &web_config()),
        cookies: Default::default(),
    };
    (cluster, app)
}

#[tokio::test]
async fn a_restore_to_a_noted_time_finds_exactly_the_writes_before_it() {
    let root = std::env::temp_dir().join("steward-tests").join(format!("pitr-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let data_dir = root.join("data");
    // Given once, the folder is recorded and found again without it.
    let folder = pitr::folder_for(&data_dir, Some(&root.join("pitr"))).unwrap().unwrap();
    assert_eq!(pitr::folder_for(&data_dir, None).unwrap().unwrap().path(), folder.path());

    let (mut cluster, app) = start(&root, &folder).await;
    let loaded = steward::demo::load(&app.pool, PASSWORD).await;
    loaded.unwrap();
    let before_any_backup = chrono::Utc::now();

    // The scheduler's daily base backup; a server without the folder never takes it.
    let bindir = steward::embedded::find_bindir(None).unwrap();
    let config = crate::support::scheduler_config("server-a");
    let base_outcome = |ran: Vec<(String, Outcome)>| ran.into_iter().find(|(job, _)| job == "base_backup").map(|(_, o)| o);
    let owner = app.db.targets.owner.clone();
    assert!(base_outcome(run_due(&app.pool, &owner, &config).await.unwrap()).is_none(), "not a server's without the folder");
    let with = SchedulerConfig { pitr: Some(std::sync::Arc::new(pitr::Plan::new(folder.clone(), bindir, &cluster, Some(7)))), ..config };
    let made = base_outcome(run_due(&app.pool, &owner, &with).await.unwrap());
    assert!(matches!(&made, Some(Outcome::Ok(m)) if m.starts_with("base backup ") && m.contains("a restore can aim at any time from")), "{made:?}");
    assert!(base_outcome(run_due(&app.pool, &owner, &with).await.unwrap()).is_none(), "not due again the same day");
    assert_eq!(pitr::catalogue(&folder).unwrap().len(), 1);

    // Writes, the time, more writes.
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    for name in ["PITR 1 kept", "PITR 2 kept"] {
        let made = app.call("/api/create_team", &[("name", name)]).await;
        assert!(made.status.is_success(), "{}", made.body);
    }
    // A password link, live at the noted time.
    let asked = app.another_browser().call("/api/request_password_link", &[("tenant", "acme"), ("email", "mark@acme.test")]).await;
    assert!(asked.status.is_success(), "{}", asked.body);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let noted = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let gone = json(&app.call("/api/create_team", &[("name", "PITR 3 after")]).await).as_str().unwrap().to_string();
    assert!(!gone.is_empty());
    let renamed = app.call("/api/create_team", &[("name", "PITR 4 after")]).await;
    assert!(renamed.status.is_success(), "{}", renamed.body);
    let (names, events_then) = teams_and_events(&cluster).await;
    assert_eq!(names.len(), 4);

    // Refused while the cluster runs; refused before the first base backup.
    let cluster_dir = root.join("pg");
    let plan = |target| RestorePlan { cluster_dir: &cluster_dir, folder: &folder, bindir: None, target };
    let running = pitr::restore_to(&plan(RestoreTarget::Time(noted))).await.unwrap_err().to_string();
    assert!(running.contains("stop Steward first"), "{running}");
    app.pool.close().await;
    // A clean stop: the last WAL segment goes to the archive.
    cluster.stop();
    drop(cluster);
    let early = pitr::restore_to(&plan(RestoreTarget::Time(before_any_backup))).await.unwrap_err().to_string();
    assert!(early.contains("no base backup had finished by") && early.contains("the earliest time to restore to is"), "{early}");

    let restored = pitr::restore_to(&plan(RestoreTarget::Time(noted))).await.unwrap();
    let said = restored.to_string();
    assert!(said.contains("every audit chain verifies") && said.contains("everyone signs in again"), "{said}");
    assert!(restored.sessions_ended >= 1, "Olivia's session ended: {said}");
    assert_eq!(restored.links_ended, 1, "the live password link ended: {said}");
    let last = restored.last_transaction.expect("a transaction was replayed");
    assert!(last <= noted, "nothing committed after the noted time: {last} > {noted}");
    assert!(!root.join("pg-restoring").exists(), "no work directory left");
    let kept = root.join("pg-before-restore");
    assert_eq!(restored.kept.as_deref(), Some(kept.as_path()), "the replaced cluster is kept: {said}");
    let branches = || std::fs::read_dir(folder.wal()).unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".history")).count();
    assert_eq!(branches(), 0, "the trial wrote no new timeline into the archive");

    // Steward starts again on the restored cluster: the first writes, not the later ones.
    let (cluster, app) = start(&root, &folder).await;
    let (names, events) = teams_and_events(&cluster).await;
    assert_eq!(names, ["PITR 1 kept", "PITR 2 kept"]);
    let mut conn = cluster.connect_options(steward::embedded::SUPERUSER, db::DATABASE).connect().await.unwrap();
    let links: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_outbox WHERE link IS NOT NULL").fetch_one(&mut conn).await.unwrap();
    assert_eq!(links, 0, "no live link waits to be sent again");
    conn.close().await.unwrap();
    assert_eq!(events, events_then - 2, "the later events went with their writes");
    let page = app.get("/teams").await;
    assert_eq!(page.location(), Some("/login?next=/teams"), "no session came back");
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let teams = app.get("/teams").await;
    assert!(teams.body.contains("PITR 2 kept") && !teams.body.contains("PITR 3 after"));
    // Writing goes on, on the new timeline, and is archived too.
    assert!(app.call("/api/create_team", &[("name", "PITR 5 new")]).await.status.is_success());
    let verified = steward::db::verify_audit(&app.db.targets.owner, Some("acme")).await.unwrap();
    assert!(verified[0].broken.is_none(), "the chain goes on from the restored point");
    // (The test cluster commits without waiting for the WAL file: give its
    // writer a moment, as a real one writes before it answers.)
    tokio::time::sleep(Duration::from_millis(1000)).await;
    app.pool.close().await;
    // Then the machine loses power: PostgreSQL is killed, its last segment
    // (holding "PITR 5 new") never archived.
    let pid: i32 = std::fs::read_to_string(cluster_dir.join("postmaster.pid")).unwrap().lines().next().unwrap().trim().parse().unwrap();
    // SAFETY: a signal to the test's own PostgreSQL, by the pid it recorded.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    for _ in 0..200 {
        // SAFETY: signal 0 only asks whether the process still exists.
        if unsafe { libc::kill(pid, 0) } != 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    drop(cluster);
    // The cluster kept from the first restore must be dealt with first.
    let waiting = pitr::restore_to(&plan(RestoreTarget::Latest)).await.unwrap_err().to_string();
    assert!(waiting.contains("holds the cluster an earlier restore replaced"), "{waiting}");
    std::fs::remove_dir_all(&kept).unwrap();
    // The end of the archive and of the crashed cluster's own WAL, on the
    // new timeline: the newest write is there.
    let latest = pitr::restore_to(&plan(RestoreTarget::Latest)).await.unwrap();
    assert!(latest.to_string().contains("restored to the end of the archive"));
    assert!(latest.wal_carried, "the segment being written was replayed: {latest}");
    assert!(branches() >= 1, "the restored timeline's history is in the archive");
    let (mut cluster, app) = start(&root, &folder).await;
    assert_eq!(teams_and_events(&cluster).await.0, ["PITR 1 kept", "PITR 2 kept", "PITR 5 new"]);
    app.pool.close().await;
    cluster.stop();
    drop(cluster);
    // A swap interrupted between its two renames (its marker left, the
    // cluster aside): every start refuses, rather than make an empty one.
    std::fs::rename(&cluster_dir, root.join("pg-before-restore-2")).unwrap();
    std::fs::write(root.join("pg-swapping"), "").unwrap();
    let interrupted = pitr::check_not_interrupted(&cluster_dir).unwrap_err().to_string();
    assert!(interrupted.contains("stopped while swapping") && interrupted.contains("Move it back"), "{interrupted}");
    let refused = pitr::restore_to(&plan(RestoreTarget::Latest)).await.unwrap_err().to_string();
    assert!(refused.contains("stopped while swapping"), "{refused}");
    // A restore's work directory left by a restore that was killed: the same.
    std::fs::remove_file(root.join("pg-swapping")).unwrap();
    std::fs::rename(root.join("pg-before-restore-2"), &cluster_dir).unwrap();
    std::fs::create_dir(root.join("pg-restoring")).unwrap();
    let building = pitr::check_not_interrupted(&cluster_dir).unwrap_err().to_string();
    assert!(building.contains("if none runs, delete that directory"), "{building}");
    // A cluster lost after a finished restore is not mistaken for an interrupted one.
    std::fs::remove_dir(root.join("pg-restoring")).unwrap();
    std::fs::rename(&cluster_dir, root.join("pg-lost")).unwrap();
    assert!(pitr::check_not_interrupted(&cluster_dir).is_ok());
    let _ = std::fs::remove_dir_all(&root);
}
