//! The upkeep `steward serve` runs by itself (issue 18, part 3): each due
//! job once, whichever servers ask; its outcome on the System screen; and
//! a month without its audit partition costs no write, only an alarm.

use crate::support::*;
use axum::http::StatusCode;
use sqlx::{ConnectOptions, Connection};
use steward::ops::scheduler::{run_due, Outcome};

#[tokio::test]
async fn two_servers_run_each_due_job_once_and_the_system_screen_shows_how_it_went() {
    let app = TestApp::spawn().await;
    let owner = &app.db.targets.owner;
    let (first, second) = (scheduler_config("server-a"), scheduler_config("server-b"));
    let (a, b) = tokio::join!(run_due(&app.pool, owner, &first), run_due(&app.pool, owner, &second));
    let mut ran: Vec<String> = a
        .unwrap()
        .into_iter()
        .chain(b.unwrap())
        .map(|(job, outcome)| {
            match job.as_str() {
                // No backup folder on these servers: said as an alarm.
                "backup" => assert!(matches!(&outcome, Outcome::Alarm(m) if m.contains("no backups are being made")), "{outcome:?}"),
                _ => assert!(matches!(outcome, Outcome::Ok(_)), "{job}: {outcome:?}"),
            }
            job
        })
        .collect();
    ran.sort();
    assert_eq!(ran, ["backup", "chain_check", "partitions", "retention"], "each job once between the two servers");
    assert!(run_due(&app.pool, owner, &scheduler_config("server-a")).await.unwrap().is_empty(), "nothing is due again at once");

    app.sign_in("platform", "admin@steward.test", PASSWORD).await;
    let page = app.get("/system").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("href=\"/system\""), "in the platform menu");
    assert_eq!(page.body.matches("data-testid=\"job-row\"").count(), 5, "{}", page.body);
    assert!(page.body.contains("Runs on a server with STEWARD_PITR_DIR"), "the base backup says what it needs: {}", page.body);
    assert!(page.body.contains("every chain holds"), "the chain check's outcome: {}", page.body);
    assert!(page.body.contains("1 run(s), 0 not ok"));
    assert!(page.has_testid("largest-tables") && page.body.contains("audit_events"), "the database's tables by size");
    assert!(page.has_testid("mail-queue") && page.has_testid("pools"));
    // Steward's own cluster loads pg_stat_statements: the slowest statements show.
    assert!(page.has_testid("statements-table") && page.has_testid("statement-row"), "{}", page.body);
    // Without the extension (an external server not set up for it), the screen says how.
    app.db.exec_as_superuser("DROP EXTENSION pg_stat_statements").await;
    let page = app.get("/system").await;
    assert!(page.has_testid("statements-off") && page.body.contains("shared_preload_libraries"), "{}", page.body);

    // An organisation's owner has no such view: no menu entry, and a 403.
    let olivia = app.another_browser();
    olivia.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    assert_eq!(olivia.get("/system").await.status, StatusCode::FORBIDDEN);
    assert!(!olivia.get("/").await.body.contains("href=\"/system\""));
}

#[tokio::test]
async fn a_write_in_a_month_without_its_partition_is_kept_and_the_partitions_job_raises_the_alarm() {
    let app = TestApp::spawn().await;
    // This month's partition gone, as on a server whose upkeep stopped.
    let mut conn = app.db.superuser().connect().await.unwrap();
    let month: String = sqlx::query_scalar("SELECT 'audit_events_' || to_char(now(), 'YYYY_MM')").fetch_one(&mut conn).await.unwrap();
    app.db.exec_as_superuser(&format!("ALTER TABLE audit_events DETACH PARTITION {month}")).await;
    app.db.exec_as_superuser(&format!("DROP TABLE {month}")).await;

    // Signing in writes its event: it succeeds, and the event is kept.
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let home = app.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.has_testid("current-user"), "signed in");
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events_default WHERE action = 'auth.sign_in'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(kept, 1, "the sign-in's event is in the default partition");

    let ran = run_due(&app.pool, &app.db.targets.owner, &scheduler_config("server-a")).await.unwrap();
    let (_, partitions) = ran.iter().find(|(job, _)| job == "partitions").unwrap();
    match partitions {
        Outcome::Alarm(message) => {
            assert!(message.starts_with("1 audit event(s) were in the default partition"), "{message}");
            assert!(message.contains(&format!("became {month}")), "{message}");
        }
        other => panic!("the partitions job must raise the alarm: {other:?}"),
    }
    let (outcome, message): (String, String) = sqlx::query_as("SELECT last_outcome, last_message FROM scheduled_jobs WHERE job = 'partitions'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(outcome, "alarm");
    assert!(message.contains("default partition"));
    // The other months are still made around the one the default holds.
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = 'audit_events'::regclass")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(made >= 14, "last month, this month (from the default), a year ahead and a new default: {made}");
    // The event now in its month's partition, the default empty again, and
    // the chain whole.
    let moved: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {month} WHERE action = 'auth.sign_in'")).fetch_one(&mut conn).await.unwrap();
    assert_eq!(moved, 1);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events_default").fetch_one(&mut conn).await.unwrap();
    assert_eq!(left, 0);
    // Its next run finds nothing wrong.
    sqlx::query("UPDATE scheduled_jobs SET last_started_at = NULL WHERE job = 'partitions'").execute(&mut conn).await.unwrap();
    let again = run_due(&app.pool, &app.db.targets.owner, &scheduler_config("server-b")).await.unwrap();
    assert!(matches!(&again[..], [(job, Outcome::Ok(_))] if job == "partitions"), "{again:?}");
    conn.close().await.unwrap();

    app.sign_in("platform", "admin@steward.test", PASSWORD).await;
    let page = app.get("/system").await;
    assert!(page.body.contains(">alarm<"), "the System screen shows the alarm: {}", page.body);
}
