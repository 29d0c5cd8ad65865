//! Bulk actions on the users list: one action on the people ticked, or on
//! everyone the filter matches (1,000 at most), in one transaction. Each
//! person passes the same checks as on their own page and is refused
//! alone, with the reason in the report; one audit event per person.

use crate::support::*;
use axum::http::StatusCode;
use sqlx::{ConnectOptions, Connection};

fn ok(r: &TestResponse) -> bool {
    r.status.is_success() || r.status.is_redirection()
}

async fn create(app: &TestApp, email: &str, name: &str) -> String {
    let r = app.call("/api/create_user", &[("email", email), ("display_name", name), ("password", PASSWORD)]).await;
    assert!(ok(&r), "{}", r.body);
    json(&r)["id"].as_str().unwrap().to_string()
}

async fn statuses(db: &TestDb, like: &str) -> Vec<(String, String, bool)> {
    let mut conn = db.superuser().connect().await.unwrap();
    let rows = sqlx::query_as("SELECT email, status, deleted_at IS NOT NULL FROM users WHERE email LIKE $1 ORDER BY email")
        .bind(like)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    rows
}

#[tokio::test]
async fn an_owner_suspends_three_people_at_once_and_herself_is_refused_with_the_reason() {
    let app = TestApp::spawn().await;
    let db = app.db.clone();
    let olivia = TestApp::on(db.clone()).await;
    olivia.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let mut ids = Vec::new();
    for (email, name) in [("b1@acme.test", "Bulk One"), ("b2@acme.test", "Bulk Two"), ("b3@acme.test", "Bulk Three")] {
        ids.push(create(&olivia, email, name).await);
    }
    let b1 = TestApp::on(db.clone()).await;
    b1.sign_in("acme", "b1@acme.test", PASSWORD).await;
    assert_ne!(b1.get("/").await.status, StatusCode::SEE_OTHER, "signed in");
    let me = db.user_id("olivia@acme.test").await.to_string();
    let other = db.user_id("max@globex.test").await.to_string();

    let mut fields = vec![("action", "suspend")];
    fields.extend(ids.iter().map(|id| ("ids[]", id.as_str())));
    fields.push(("ids[]", &me));
    fields.push(("ids[]", &other));
    let r = olivia.call("/api/bulk_users", &fields).await;
    assert!(ok(&r), "{}", r.body);
    let report = json(&r);
    assert_eq!(report["done"].as_array().unwrap().len(), 3, "{report}");
    let refused = report["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "another organisation's person is not even named: {report}");
    assert_eq!(refused[0]["name"], "Olivia Owner");
    assert_eq!(refused[0]["reason"], "You cannot suspend yourself.");
    assert_eq!(statuses(&db, "b_@acme.test").await.iter().filter(|r| r.1 == "suspended").count(), 3);
    assert_eq!(b1.get("/").await.status, StatusCode::SEE_OTHER, "signed out by the suspension");
    assert_eq!(statuses(&db, "max@globex.test").await[0].1, "active");

    // One event per person, and one for the batch.
    let events = db.events("acme").await;
    assert_eq!(events.iter().filter(|e| e.0 == "user.suspend").count(), 3);
    let batch = events.iter().find(|e| e.0 == "user.bulk_action").unwrap();
    assert_eq!((batch.2["after"]["done"].as_i64(), batch.2["after"]["refused"].as_i64()), (Some(3), Some(1)));

    // Again: nothing to change, counted apart, no second event.
    let mut again = vec![("action", "suspend")];
    again.extend(ids.iter().map(|id| ("ids[]", id.as_str())));
    let r = olivia.call("/api/bulk_users", &again).await;
    assert!(ok(&r), "{}", r.body);
    assert_eq!((json(&r)["done"].as_array().unwrap().len(), json(&r)["unchanged"].as_array().unwrap().len()), (0, 3));
    assert_eq!(db.events("acme").await.iter().filter(|e| e.0 == "user.suspend").count(), 3);

    // Everyone the filter matches: reactivated in one go.
    let r = olivia.call("/api/bulk_users", &[("action", "reactivate"), ("all", "on"), ("query[q]", "bulk"), ("query[status]", "suspended")]).await;
    assert!(ok(&r), "{}", r.body);
    assert_eq!(json(&r)["done"].as_array().unwrap().len(), 3);
    assert!(statuses(&db, "b_@acme.test").await.iter().all(|r| r.1 == "active"));

    // Bad input, told clearly; nothing written.
    let r = olivia.call("/api/bulk_users", &[("action", "explode"), ("ids[]", &ids[0])]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = olivia.call("/api/bulk_users", &[("action", "suspend")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Tick the people"), "{}", r.body);
    let r = olivia.call("/api/bulk_users", &[("action", "grant_role"), ("ids[]", &ids[0])]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Choose the role."), "{}", r.body);
    let r = olivia.call("/api/bulk_users", &[("action", "suspend"), ("ids[]", "not-an-id")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Without the permission: 403 before anything.
    let mark = TestApp::on(db.clone()).await;
    mark.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(mark.call("/api/bulk_users", &[("action", "delete"), ("ids[]", &ids[0])]).await.status, StatusCode::FORBIDDEN);
    assert!(statuses(&db, "b_@acme.test").await.iter().all(|r| !r.2));
}

#[tokio::test]
async fn a_bulk_grant_gives_nobody_more_than_the_actor_holds_and_more_than_a_thousand_is_refused_whole() {
    let app = TestApp::spawn().await;
    let db = app.db.clone();
    let olivia = TestApp::on(db.clone()).await;
    olivia.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    create(&olivia, "ada@acme.test", "Ada Admin").await;
    db.grant("ada@acme.test", "acme", "admin").await;
    let ada = TestApp::on(db.clone()).await;
    ada.sign_in("acme", "ada@acme.test", PASSWORD).await;
    let (owner, member) = (db.role_id("acme", "owner").await.to_string(), db.role_id("acme", "member").await.to_string());
    let mark = db.user_id("mark@acme.test").await.to_string();
    let ada_id = db.user_id("ada@acme.test").await.to_string();

    // The attack: an administrator grants owner to herself and others in a batch.
    let r = ada.call("/api/bulk_users", &[("action", "grant_role"), ("role_id", &owner), ("ids[]", &mark), ("ids[]", &ada_id)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "refused before any person: {}", r.body);
    let owners: i64 = {
        let mut conn = db.superuser().connect().await.unwrap();
        let n = sqlx::query_scalar("SELECT count(*) FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE r.system_key = 'owner' AND ur.user_id IN ($1::uuid, $2::uuid)")
            .bind(&mark)
            .bind(&ada_id)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        n
    };
    assert_eq!(owners, 0);
    // Within her grants it goes through; on an owner (beyond her) a
    // suspension is refused for that person alone.
    let r = ada.call("/api/bulk_users", &[("action", "grant_role"), ("role_id", &member), ("ids[]", &mark)]).await;
    assert!(ok(&r), "{}", r.body);
    let olivia_id = db.user_id("olivia@acme.test").await.to_string();
    let r = ada.call("/api/bulk_users", &[("action", "suspend"), ("ids[]", &olivia_id), ("ids[]", &mark)]).await;
    assert!(ok(&r), "{}", r.body);
    let report = json(&r);
    assert_eq!(report["done"].as_array().unwrap().len(), 1);
    assert!(report["refused"][0]["reason"].as_str().unwrap().contains("they hold permissions you do not"), "{report}");
    assert_eq!(statuses(&db, "olivia@acme.test").await[0].1, "active");
    // The refusal is recorded, even after others in the batch were done.
    let r = ada.call("/api/bulk_users", &[("action", "reactivate"), ("ids[]", &mark), ("ids[]", &olivia_id)]).await;
    assert!(ok(&r), "{}", r.body);
    let denied = db.events("acme").await.iter().filter(|e| e.0 == "access.denied" && e.2["after"]["subject"].as_str() == Some(olivia_id.as_str())).count();
    assert_eq!(denied, 2, "one refusal event per batch that named her");
    // Deleted people are never part of a batch.
    let r = olivia.call("/api/bulk_users", &[("action", "grant_role"), ("role_id", &member), ("all", "on"), ("query[status]", "deleted")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // More than a thousand at once: refused whole, nothing done.
    db.exec_as_superuser(
        "INSERT INTO users (tenant_id, email, display_name, status)
         SELECT t.id, 'many' || g || '@acme.test', 'Many ' || g, 'active' FROM tenants t, generate_series(1, 1001) g WHERE t.slug = 'acme'",
    )
    .await;
    let r = olivia.call("/api/bulk_users", &[("action", "suspend"), ("all", "on"), ("query[q]", "many")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("more than 1000 people"), "{}", r.body);
    assert_eq!(statuses(&db, "many%").await.iter().filter(|r| r.1 == "suspended").count(), 0);
    // A thousand exactly is one batch.
    let r = olivia.call("/api/bulk_users", &[("action", "suspend"), ("all", "on"), ("query[q]", "many1")]).await;
    assert!(ok(&r), "{}", r.body);
    let done = json(&r)["done"].as_array().unwrap().len();
    assert_eq!(done, statuses(&db, "many1%").await.len());
    assert_eq!(statuses(&db, "many%").await.iter().filter(|r| r.1 == "suspended").count(), done);
}
