//! The audit log: append-only, a hash chain per tenant that catches edits,
//! sign-ins and denials recorded, partitions made ahead of time.

use crate::support::{TestApp, TestDb, PASSWORD};
use sqlx::{Connection, Executor};

#[tokio::test]
async fn the_application_role_cannot_edit_or_delete_audit_events_and_the_owner_is_refused_too() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let acme = app.db.tenant_id("acme").await;

    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('steward.tenant_id', $1, true)").bind(acme.to_string()).execute(&mut *tx).await.unwrap();
    let error = sqlx::query("UPDATE audit_events SET action = 'x.y'").execute(&mut *tx).await.unwrap_err();
    assert!(error.to_string().contains("permission denied"), "{error}");
    tx.rollback().await.unwrap();

    let mut owner = sqlx::PgConnection::connect_with(&app.db.targets.owner).await.unwrap();
    owner.execute(format!("SELECT set_config('steward.tenant_id', '{acme}', false)").as_str()).await.unwrap();
    let error = sqlx::query("DELETE FROM audit_events").execute(&mut owner).await.unwrap_err();
    assert!(error.to_string().contains("append-only"), "{error}");
    let error = sqlx::query("UPDATE audit_events SET action = 'x.y'").execute(&mut owner).await.unwrap_err();
    assert!(error.to_string().contains("append-only"), "{error}");
}

/// The chain's row trigger stands aside only for rows the owner's batch
/// function (`steward_audit_append`) has placed. The application role
/// giving an event a place and a hash of its own still has it chained;
/// calling the batch function itself, its events take the next places.
#[tokio::test]
async fn the_application_role_cannot_give_an_event_a_place_of_its_own_in_the_chain() {
    let app = TestApp::spawn().await;
    let acme = app.db.tenant_id("acme").await;
    let before = steward::db::verify_audit(&app.db.targets.owner, Some("acme")).await.unwrap()[0].checked;
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('steward.tenant_id', $1, true)").bind(acme.to_string()).execute(&mut *tx).await.unwrap();
    let (seq, hash): (i64, Vec<u8>) = sqlx::query_as(
        "INSERT INTO audit_events (tenant_id, action, seq, prev_hash, hash) VALUES ($1, 'test.forged', 999999, '\\x00', '\\x00') RETURNING seq, hash",
    )
    .bind(acme)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(seq, before + 1, "the trigger gave it the next place");
    assert_eq!(hash.len(), 32, "and its own hash");
    let placed: i64 = sqlx::query_scalar(
        "SELECT steward_audit_append($1, ARRAY[NULL, NULL]::uuid[], ARRAY[NULL, NULL]::uuid[], ARRAY['test.batch', 'test.batch'],
                ARRAY['thing', 'thing'], ARRAY['1', '2'], ARRAY['{}', '{}']::jsonb[], NULL, NULL, NULL)",
    )
    .bind(acme)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(placed, 2);
    // Arrays of another shape or other bounds (review of this change: the
    // function hashed `action[i]` and stored what `unnest` gave, so a 2-D
    // or shifted array stored events whose hash did not match them, and
    // the chain's check stopped there): each event is stored as hashed.
    for actions in ["{{test.shape,test.shape}}", "[0:1]={test.bounds,test.bounds}"] {
        let placed: i64 = sqlx::query_scalar(
            "SELECT steward_audit_append($1, ARRAY[NULL, NULL]::uuid[], ARRAY[NULL, NULL]::uuid[], $2::text[],
                    ARRAY['thing', 'thing'], ARRAY['1', '2'], ARRAY['{}', '{}']::jsonb[], NULL, NULL, NULL)",
        )
        .bind(acme)
        .bind(actions)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(placed, 2, "{actions}");
    }
    // Events of another tenant than the transaction's are refused.
    let globex = app.db.tenant_id("globex").await;
    sqlx::query("SAVEPOINT other").execute(&mut *tx).await.unwrap();
    let error = sqlx::query(
        "SELECT steward_audit_append($1, ARRAY[NULL]::uuid[], ARRAY[NULL]::uuid[], ARRAY['test.other'], ARRAY['thing'], ARRAY['1'], ARRAY['{}']::jsonb[], NULL, NULL, NULL)",
    )
    .bind(globex)
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(error.to_string().contains("not of the transaction's tenant"), "{error}");
    sqlx::query("ROLLBACK TO SAVEPOINT other").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    let reports = steward::db::verify_audit(&app.db.targets.owner, Some("acme")).await.unwrap();
    assert!(reports[0].broken.is_none(), "{reports:?}");
    assert_eq!(reports[0].checked, before + 7);
}

/// Found in the review of stop 34: any role may set `steward.audit_loader`,
/// and the chain trigger then kept the event's own `occurred_at`, so the
/// application role could backdate an event it inserted (shown on the
/// million-user data before migration 0034: stored `2026-12-01 00:00` and
/// `2021-03-01`). The setting now counts only for the owner's role.
type At = chrono::DateTime<chrono::Utc>;

/// In `tx`, scoped to `tenant` with `steward.audit_loader` on, inserts an
/// event dated the first of this month (the same partition, so only the
/// triggers decide); returns the time stored, the transaction's `now()`
/// and the time asked for.
async fn insert_dated(tx: &mut sqlx::PgConnection, tenant: uuid::Uuid) -> (At, At, At) {
    sqlx::query("SELECT set_config('steward.tenant_id', $1, true), set_config('steward.audit_loader', 'on', true)")
        .bind(tenant.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query_as(
        "INSERT INTO audit_events (tenant_id, action, occurred_at) VALUES ($1, 'test.dated', date_trunc('month', now()))
         RETURNING occurred_at, now(), date_trunc('month', now())",
    )
    .bind(tenant)
    .fetch_one(&mut *tx)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_application_role_cannot_backdate_an_event_through_the_loaders_setting() {
    let app = TestApp::spawn().await;
    let acme = app.db.tenant_id("acme").await;
    let mut tx = app.pool.begin().await.unwrap();
    let (stored, now, _) = insert_dated(&mut tx, acme).await;
    assert_eq!(stored, now, "the event happened when it was inserted, whatever the loader's setting says");
    // Years ago: another partition; the row is refused rather than kept there.
    sqlx::query("SAVEPOINT years").execute(&mut *tx).await.unwrap();
    let years = sqlx::query_scalar::<_, At>(
        "INSERT INTO audit_events (tenant_id, action, occurred_at) VALUES ($1, 'test.backdated', '2021-03-01') RETURNING occurred_at",
    )
    .bind(acme)
    .fetch_one(&mut *tx)
    .await;
    match years {
        Ok(at) => assert_eq!(at, now, "stored as happening now"),
        Err(error) => assert!(error.to_string().contains("partition"), "{error}"),
    }
    sqlx::query("ROLLBACK TO SAVEPOINT years").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    let reports = steward::db::verify_audit(&app.db.targets.owner, Some("acme")).await.unwrap();
    assert!(reports[0].broken.is_none(), "{reports:?}");
    // A session that logged in as a superuser (or as the owner, when one
    // URL serves both) and then took the application role, as the pool
    // does (`SET ROLE`): the role in effect decides (review: a check of
    // session_user let it backdate).
    let mut su = sqlx::PgConnection::connect_with(&app.db.superuser()).await.unwrap();
    let mut tx = su.begin().await.unwrap();
    sqlx::query("SET LOCAL ROLE steward_app").execute(&mut *tx).await.unwrap();
    let (stored, now, _) = insert_dated(&mut tx, acme).await;
    assert_eq!(stored, now, "the application role's event happened now, whoever logged in");
    tx.rollback().await.unwrap();
    // The owner's own session still loads history with its own times (the
    // retention test in audit_screens loads a tenant of 2020 that way).
    let mut owner = sqlx::PgConnection::connect_with(&app.db.targets.owner).await.unwrap();
    let mut tx = owner.begin().await.unwrap();
    let (stored, _, asked) = insert_dated(&mut tx, acme).await;
    assert_eq!(stored, asked, "the owner's loader keeps its own time");
    tx.rollback().await.unwrap();
}

/// Checkpoints of the chain check (migration 0035): only a check that
/// walked the chain to them places them; the application role can read its
/// tenant's, never write one or check another tenant's; a checkpoint that
/// no longer matches its event is not trusted, and the check walks every
/// event.
#[tokio::test]
async fn only_a_whole_check_places_a_checkpoint_and_a_checkpoint_that_does_not_match_is_not_trusted() {
    let app = TestApp::spawn().await;
    let acme = app.db.tenant_id("acme").await;
    type Check = (i64, i64, Option<String>, Option<chrono::DateTime<chrono::Utc>>);
    let check = |every: bool| {
        let app = &app;
        async move {
            let mut tx = app.pool.begin().await.unwrap();
            sqlx::query("SELECT set_config('steward.tenant_id', $1, true)").bind(acme.to_string()).execute(&mut *tx).await.unwrap();
            let row: Check = sqlx::query_as("SELECT checked, from_seq, reason, every_at FROM steward_audit_check($1, $2)")
                .bind(acme)
                .bind(every)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            row
        }
    };
    let (all, from, reason, every_at) = check(false).await;
    assert_eq!((from, reason), (0, None), "no checkpoint yet: every event");
    assert!(all > 0 && every_at.is_some());
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let (checked, from, reason, _) = check(false).await;
    assert_eq!((from, reason), (all, None), "from the checkpoint");
    assert!(checked >= 1, "the sign-in's events");
    let (checked_every, from, _, _) = check(true).await;
    assert_eq!((checked_every, from), (all + checked, 0));

    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('steward.tenant_id', $1, true)").bind(acme.to_string()).execute(&mut *tx).await.unwrap();
    let seen: i64 = sqlx::query_scalar("SELECT seq FROM audit_chain_checkpoints").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(seen, all + checked, "the application role reads its tenant's checkpoint");
    for forged in [
        "UPDATE audit_chain_checkpoints SET seq = seq + 1000",
        "INSERT INTO audit_chain_checkpoints (tenant_id, seq, hash, checked_at) VALUES (steward_current_tenant(), 1, '\\x00', now())",
        "DELETE FROM audit_chain_checkpoints",
    ] {
        sqlx::query("SAVEPOINT forged").execute(&mut *tx).await.unwrap();
        let error = sqlx::query(forged).execute(&mut *tx).await.unwrap_err();
        assert!(error.to_string().contains("permission denied"), "{forged}: {error}");
        sqlx::query("ROLLBACK TO SAVEPOINT forged").execute(&mut *tx).await.unwrap();
    }
    let globex = app.db.tenant_id("globex").await;
    let error = sqlx::query("SELECT * FROM steward_audit_check($1, false)").bind(globex).execute(&mut *tx).await.unwrap_err();
    assert!(error.to_string().contains("another tenant"), "{error}");
    tx.rollback().await.unwrap();

    // The checkpoint's hash no longer that of its event: every event again.
    app.db.exec_as_superuser("UPDATE audit_chain_checkpoints SET hash = '\\x00'").await;
    let (checked, from, reason, _) = check(false).await;
    assert_eq!((checked, from, reason), (checked_every, 0, None));

    // An old event changed: the check of every event finds it, and from
    // then on a check of new events walks every event too (review: it
    // started from the checkpoint and said "intact").
    app.db
        .exec_as_superuser(&format!(
            "SET session_replication_role = replica;
             UPDATE audit_events SET action = 'forged.action' WHERE tenant_id = '{acme}' AND seq = 2;"
        ))
        .await;
    assert!(check(false).await.2.is_none(), "a check of new events does not re-hash event 2");
    let (_, from, reason, every_at) = check(true).await;
    assert_eq!(from, 0);
    assert!(reason.is_some() && every_at.is_none());
    let (_, from, reason, _) = check(false).await;
    assert_eq!(from, 0, "no checkpoint is trusted after a break");
    assert!(reason.is_some());
}

#[tokio::test]
async fn tampering_done_as_the_owner_is_caught_by_verify_audit() {
    let app = TestApp::spawn().await;
    let loaded = steward::db::verify_audit(&app.db.targets.owner, Some("acme")).await.unwrap()[0].checked;
    assert!(loaded > 0, "creating the demo tenant and its users was recorded");
    for _ in 0..3 {
        app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    }
    let reports = steward::db::verify_audit(&app.db.targets.owner, Some("acme")).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].broken.is_none(), "{reports:?}");
    assert_eq!(reports[0].checked, loaded + 3);

    // Someone with the owner's (or a superuser's) powers rewrites history,
    // going around the append-only trigger: the second sign-in's event.
    let mut conn = sqlx::PgConnection::connect_with(&app.db.superuser()).await.unwrap();
    let (second, second_seq): (uuid::Uuid, i64) = sqlx::query_as(
        "SELECT e.id, e.seq FROM audit_events e JOIN tenants t ON t.id = e.tenant_id
          WHERE t.slug = 'acme' AND e.action = 'auth.sign_in' ORDER BY e.seq OFFSET 1 LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.execute("SET session_replication_role = replica").await.unwrap();
    sqlx::query("UPDATE audit_events SET ip = '203.0.113.9' WHERE id = $1").bind(second).execute(&mut conn).await.unwrap();

    let reports = steward::db::verify_audit(&app.db.targets.owner, Some("acme")).await.unwrap();
    let b = reports[0].broken.clone().expect("the edit is detected");
    let (seq, reason) = (b.seq, b.reason);
    assert_eq!(b.id, Some(second));
    assert_eq!(seq, second_seq);
    assert_eq!(reports[0].checked, second_seq - 1, "the events before it are intact");
    assert!(reason.contains("changed after it was written"), "{reason}");

    // And the command says so, naming the event, with a failing exit code.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
        .arg("verify-audit")
        .env("DATABASE_URL", app.db.url("steward_app"))
        .env("DATABASE_MIGRATION_URL", app.db.url("steward_owner"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("acme: event {second} (number {second_seq}")), "{text}");
    assert!(text.contains("globex: ") && text.contains("events, chain intact"), "{text}");

    // Deleting an event breaks the chain too.
    sqlx::query("DELETE FROM audit_events WHERE id = $1").bind(second).execute(&mut conn).await.unwrap();
    let reports = steward::db::verify_audit(&app.db.targets.owner, Some("acme")).await.unwrap();
    let b = reports[0].broken.clone().expect("the removal is detected");
    let (seq, reason) = (b.seq, b.reason);
    assert_eq!(seq, second_seq + 1);
    assert!(reason.contains("missing"), "{reason}");
}

/// Eight writers at once on one tenant, half of them recording an event at
/// a time and half twenty together (an import's batch): the chain stays
/// whole, and each batch's events take consecutive places in the order given.
#[tokio::test]
async fn eight_writers_in_parallel_one_event_or_a_batch_at_a_time_keep_the_chain_whole_and_in_order() {
    let db = TestDb::new().await;
    let acme = app::ids::TenantId(db.tenant_id("acme").await);
    let pool = steward::db::app_pool(&db.targets.app, 8).await.unwrap();
    let before = steward::db::verify_audit(&db.targets.owner, Some("acme")).await.unwrap()[0].checked;
    let event = move |writer: usize, n: usize| app::audit::record::Event {
        tenant_id: acme,
        actor_user_id: None,
        actor_tenant_id: None,
        action: "test.write",
        entity_type: Some("writer"),
        entity_id: Some(format!("{writer}-{n:03}")),
        before: None,
        after: Some(serde_json::json!({ "n": n })),
    };
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let pool = pool.clone();
            tokio::spawn(async move {
                for round in 0..if writer % 2 == 0 { 10 } else { 25 } {
                    let mut tx = pool.begin().await.unwrap();
                    app::db::scope_to_tenant(&mut tx, acme).await.unwrap();
                    if writer % 2 == 0 {
                        let batch = (0..20).map(|k| event(writer, round * 20 + k)).collect();
                        app::audit::record::record_all(&mut tx, &Default::default(), batch).await.unwrap();
                    } else {
                        app::audit::record::record(&mut tx, &Default::default(), event(writer, round)).await.unwrap();
                    }
                    tx.commit().await.unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let reports = steward::db::verify_audit(&db.targets.owner, Some("acme")).await.unwrap();
    assert!(reports[0].broken.is_none(), "{reports:?}");
    assert_eq!(reports[0].checked, before + 4 * 200 + 4 * 25);
    // Each batch's twenty events follow one another, in the order given.
    let mut conn = sqlx::ConnectOptions::connect(&db.superuser()).await.unwrap();
    for writer in [0, 2, 4, 6] {
        let seqs: Vec<(i64, String)> = sqlx::query_as(
            "SELECT seq, entity_id FROM audit_events WHERE tenant_id = $1 AND action = 'test.write' AND entity_id LIKE $2 ORDER BY seq",
        )
        .bind(acme.0)
        .bind(format!("{writer}-%"))
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let ids: Vec<&str> = seqs.iter().map(|s| s.1.as_str()).collect();
        let expected: Vec<String> = (0..200).map(|n| format!("{writer}-{n:03}")).collect();
        assert_eq!(ids, expected, "writer {writer}'s events in its order");
        for batch in seqs.chunks(20) {
            assert_eq!(batch[19].0 - batch[0].0, 19, "a batch's events are consecutive in the chain: {batch:?}");
        }
    }
}

#[tokio::test]
async fn sign_ins_failures_sign_outs_and_denials_are_events() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "mark@acme.test", "wrong-password").await;
    app.sign_in("acme", "nobody@acme.test", PASSWORD).await;
    app.sign_in("no-such-org", "mark@acme.test", PASSWORD).await;
    app.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(app.get("/users").await.status, axum::http::StatusCode::FORBIDDEN);
    app.post_form("/api/sign_out", "/", &[]).await;

    // The 403 page records its denial without making the page wait.
    let mut events = Vec::new();
    for _ in 0..50 {
        events = app.db.events("acme").await;
        if events.iter().any(|e| e.0 == "access.denied") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let actions: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(actions[..3], ["auth.sign_in_failed", "auth.sign_in_failed", "auth.sign_in"]);
    assert!(actions.contains(&"access.denied"), "{actions:?}");
    assert!(actions.contains(&"auth.sign_out"), "{actions:?}");
    assert_eq!(events[0].2["after"]["reason"], "wrong password");
    assert_eq!(events[1].2["after"]["reason"], "unknown account");
    assert!(!events[0].2.to_string().contains("wrong-password"), "the password typed is never recorded");
    let denial = events.iter().find(|e| e.0 == "access.denied").unwrap();
    assert_eq!(denial.2["after"]["view"], "users");

    let platform = app.db.events("platform").await;
    assert_eq!(platform.len(), 1, "an unknown organisation is recorded on the platform");
    assert_eq!(platform[0].2["after"]["tenant"], "no-such-org");
}

#[tokio::test]
async fn audit_partitions_exist_a_year_ahead() {
    let db = TestDb::new().await;
    let mut conn = sqlx::PgConnection::connect_with(&db.superuser()).await.unwrap();
    let ahead: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'audit_events'::regclass
            AND c.relname >= 'audit_events_' || to_char(now(), 'YYYY_MM')
            AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(ahead >= 13, "this month and twelve more: {ahead}");
}

#[tokio::test]
async fn events_carry_the_request_id_user_agent_and_client_address() {
    let app = TestApp::spawn().await;
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/api/sign_in")
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("user-agent", "AuditProbe/1.0")
        .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from(([192, 0, 2, 7], 50000))))
        .body(axum::body::Body::from(crate::support::form_encode(&[
            ("tenant", "acme"),
            ("email", "olivia@acme.test"),
            ("password", PASSWORD),
        ])))
        .unwrap();
    assert_eq!(app.request(request).await.status, axum::http::StatusCode::OK);
    let mut conn = sqlx::PgConnection::connect_with(&app.db.superuser()).await.unwrap();
    let (ua, ip, request_id): (Option<String>, Option<String>, Option<String>) =
        sqlx::query_as("SELECT user_agent, host(ip), request_id FROM audit_events WHERE action = 'auth.sign_in'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(ua.as_deref(), Some("AuditProbe/1.0"));
    assert_eq!(ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(request_id.map(|r| r.len()), Some(36), "a UUID per request");
}
