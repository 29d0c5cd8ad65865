//! Personal data: the export, anonymising, deletion requests and the
//! retention job.

use crate::support::{TestApp, PASSWORD};
use axum::http::StatusCode;
use sqlx::ConnectOptions;

#[tokio::test]
async fn an_administrator_and_the_person_themselves_can_export_everything_about_them() {
    let app = TestApp::spawn().await;
    let mark = app.db.user_id("mark@acme.test").await;
    let me = app.another_browser();
    me.sign_in("acme", "mark@acme.test", PASSWORD).await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;

    let (status, headers, body) = app.download(&format!("/users/{mark}/export.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get("content-disposition").unwrap().to_str().unwrap().contains("attachment"));
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["format"], "steward.personal-data.v1");
    assert_eq!(doc["profile"]["email"], "mark@acme.test");
    assert_eq!(doc["roles"][0]["role"], "Member");
    assert!(doc["sessions"].as_array().unwrap().len() == 1, "his session: {}", doc["sessions"]);
    assert!(doc["audit_events"].as_array().unwrap().iter().any(|e| e["action"] == "auth.sign_in"));
    for key in ["teams", "two_factor", "api_keys", "documents_uploaded", "deletion_requests", "access_log"] {
        assert!(!doc[key].is_null(), "{key}");
    }
    assert!(app.db.events("acme").await.iter().any(|e| e.0 == "user.export" && e.1.as_deref() == Some(mark.to_string().as_str())));

    let (own, _, own_body) = me.download("/account/export.json").await;
    assert_eq!(own, StatusCode::OK);
    assert!(String::from_utf8_lossy(&own_body).contains("mark@acme.test"));
    // A member may not export someone else; another tenant's person is a 404.
    let olivia = app.db.user_id("olivia@acme.test").await;
    assert_eq!(me.download(&format!("/users/{olivia}/export.json")).await.0, StatusCode::FORBIDDEN);
    let max = app.db.user_id("max@globex.test").await;
    let (other, _, other_body) = app.download(&format!("/users/{max}/export.json")).await;
    assert_eq!(other, StatusCode::NOT_FOUND);
    assert!(!String::from_utf8_lossy(&other_body).contains("max@globex.test"));
    assert_eq!(app.another_browser().download("/account/export.json").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn anonymising_removes_the_person_everywhere_but_the_audit_chain_and_cannot_be_undone() {
    let app = TestApp::spawn().await;
    let mark = app.db.user_id("mark@acme.test").await.to_string();
    let mark_browser = app.another_browser();
    mark_browser.sign_in("acme", "mark@acme.test", PASSWORD).await;
    mark_browser.call("/api/create_api_key", &[("name", "mine"), ("scopes[]", "document:read"), ("current_password", PASSWORD)]).await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;

    let wrong = app.call("/api/anonymise_user", &[("user_id", &mark), ("confirm", "someone@acme.test")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("confirm"), "{}", wrong.body);
    let done = app.call("/api/anonymise_user", &[("user_id", &mark), ("confirm", "Mark@Acme.test")]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);

    let mut conn = app.db.superuser().connect().await.unwrap();
    let (email, name, hash, status): (String, String, Option<String>, String) =
        sqlx::query_as(&format!("SELECT email, display_name, password_hash, status FROM users WHERE id = '{mark}'")).fetch_one(&mut conn).await.unwrap();
    assert_eq!((email.ends_with("@anonymised.invalid"), name.as_str(), hash, status.as_str()), (true, "Anonymised user", None, "inactive"));
    for (table, column) in [("user_roles", "user_id"), ("team_members", "user_id"), ("user_sessions", "user_id"), ("user_mfa", "user_id")] {
        let left: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE {column} = '{mark}'")).fetch_one(&mut conn).await.unwrap();
        assert_eq!(left, 0, "{table}");
    }
    let live_keys: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM api_keys WHERE user_id = '{mark}' AND revoked_at IS NULL")).fetch_one(&mut conn).await.unwrap();
    assert_eq!(live_keys, 0, "keys revoked");
    assert_eq!(mark_browser.get("/").await.location(), Some("/login"), "signed out");
    assert_eq!(app.another_browser().call("/api/sign_in", &[("tenant", "acme"), ("email", "mark@acme.test"), ("password", PASSWORD)]).await.status, StatusCode::UNAUTHORIZED);
    assert!(!app.get("/users?q=mark").await.body.contains("mark@acme.test"), "not found by search");
    let event = app.db.events("acme").await.into_iter().find(|e| e.0 == "user.anonymise").unwrap();
    assert!(!event.2.to_string().contains("mark@acme.test"), "the event does not repeat what was removed: {}", event.2);
    assert_eq!(event.2["after"]["api_keys_revoked"], 1);
    let again = app.call("/api/anonymise_user", &[("user_id", &mark), ("confirm", &email)]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    // Nobody anonymises themselves or the last owner.
    let olivia = app.db.user_id("olivia@acme.test").await.to_string();
    assert_eq!(app.call("/api/anonymise_user", &[("user_id", &olivia), ("confirm", "olivia@acme.test")]).await.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_person_asks_to_be_deleted_and_an_administrator_works_through_the_requests() {
    let app = TestApp::spawn().await;
    let mark_browser = app.another_browser();
    mark_browser.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert!(mark_browser.get("/account/privacy").await.has_testid("request-deletion"));
    let asked = mark_browser.call("/api/request_deletion", &[("reason", "I am leaving")]).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert_eq!(mark_browser.call("/api/request_deletion", &[("reason", "")]).await.status, StatusCode::CONFLICT, "one open request");
    let maya_browser = app.another_browser();
    maya_browser.sign_in("acme", "maya@acme.test", PASSWORD).await;
    maya_browser.call("/api/request_deletion", &[("reason", "")]).await;

    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let list: serde_json::Value = serde_json::from_str(&app.call("/api/list_deletion_requests", &[]).await.body).unwrap();
    let requests = list["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2);
    assert!(app.get("/users/deletion-requests").await.body.contains("I am leaving"));
    let id_of = |who: &str| requests.iter().find(|r| r["user"].as_str().unwrap().contains(who)).unwrap()["id"].as_str().unwrap().to_string();
    let (mark_req, maya_req) = (id_of("mark@"), id_of("maya@"));
    let no_note = app.call("/api/resolve_deletion_request", &[("request_id", &maya_req), ("decision", "reject")]).await;
    assert_eq!(no_note.status, StatusCode::UNPROCESSABLE_ENTITY);
    let rejected = app.call("/api/resolve_deletion_request", &[("request_id", &maya_req), ("decision", "reject"), ("note", "You lead the night shift until March.")]).await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    let completed = app.call("/api/resolve_deletion_request", &[("request_id", &mark_req), ("decision", "complete")]).await;
    assert_eq!(completed.status, StatusCode::OK, "{}", completed.body);
    assert_eq!(app.call("/api/resolve_deletion_request", &[("request_id", &mark_req), ("decision", "reject"), ("note", "x")]).await.status, StatusCode::CONFLICT);

    let list: serde_json::Value = serde_json::from_str(&app.call("/api/list_deletion_requests", &[]).await.body).unwrap();
    let statuses: Vec<&str> = list["requests"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert!(statuses.contains(&"completed") && statuses.contains(&"rejected"), "{statuses:?}");
    let actions: Vec<String> = app.db.events("acme").await.into_iter().map(|e| e.0).collect();
    for a in ["user.deletion_request", "deletion_request.reject", "deletion_request.complete", "user.anonymise"] {
        assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
    }
}

#[tokio::test]
async fn the_retention_job_anonymises_people_deleted_longer_ago_than_the_tenant_keeps_them() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    assert_eq!(app.call("/api/set_retention", &[("days", "soon")]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.call("/api/set_retention", &[("days", "30")]).await.status, StatusCode::OK);
    let maya = app.db.user_id("maya@acme.test").await;
    let audrey = app.db.user_id("audrey@acme.test").await;
    app.db.exec_as_superuser(&format!("UPDATE users SET deleted_at = now() - interval '31 days' WHERE id = '{maya}'")).await;
    app.db.exec_as_superuser(&format!("UPDATE users SET deleted_at = now() - interval '29 days' WHERE id = '{audrey}'")).await;
    assert_eq!(app::privacy::ssr::run_retention(&app::authz::ssr::System::new(&app.pool)).await.unwrap(), 1, "only the one past 30 days");
    assert_eq!(app::privacy::ssr::run_retention(&app::authz::ssr::System::new(&app.pool)).await.unwrap(), 0, "and only once");
    let mut conn = app.db.superuser().connect().await.unwrap();
    let names: Vec<String> = sqlx::query_scalar(&format!("SELECT display_name FROM users WHERE id IN ('{maya}', '{audrey}') ORDER BY id = '{maya}'")).fetch_all(&mut conn).await.unwrap();
    assert_eq!(names, ["Audrey Auditor", "Anonymised user"]);
    let by: String = sqlx::query_scalar(&format!(
        "SELECT changes->'after'->>'by' FROM audit_events WHERE action = 'user.anonymise' AND entity_id = '{maya}' AND actor_user_id IS NULL"
    ))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(by, "retention", "recorded, with no person as the actor");
    assert!(app.db.events("acme").await.iter().any(|e| e.0 == "tenant.retention"));
    for report in steward::db::verify_audit(&app.db.targets.owner, Some("acme")).await.unwrap() {
        assert!(report.broken.is_none());
    }
}
