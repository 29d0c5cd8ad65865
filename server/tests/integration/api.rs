//! The JSON API and its keys: making, scoping, expiring and revoking keys;
//! every route refusing what it must; the OpenAPI document.

use crate::support::{json, TestApp, TestResponse, PASSWORD};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};

/// Every route of /api/v1 and the scope it needs.
const ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/api/v1/users", "user:read"),
    ("GET", "/api/v1/users/{user}", "user:read"),
    ("POST", "/api/v1/users", "user:create"),
    ("POST", "/api/v1/invitations", "user:create"),
    ("GET", "/api/v1/teams", "team:read"),
    ("GET", "/api/v1/documents", "document:read"),
    ("GET", "/api/v1/audit-events", "audit:read"),
];

async fn api(app: &TestApp, method: &str, path: &str, key: Option<&str>, body: Option<serde_json::Value>) -> TestResponse {
    let mut builder = Request::builder().method(Method::from_bytes(method.as_bytes()).unwrap()).uri(path);
    if let Some(key) = key {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    let body = match body {
        Some(json) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    app.request(builder.body(body).unwrap()).await
}

/// Makes a key as the signed-in `app` with these scopes.
async fn make_key(app: &TestApp, name: &str, scopes: &[&str]) -> String {
    let mut fields = vec![("name", name), ("expires_in_days", "30"), ("current_password", PASSWORD)];
    fields.extend(scopes.iter().map(|s| ("scopes[]", *s)));
    let res = app.call("/api/create_api_key", &fields).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let made: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    made["key"].as_str().unwrap().to_string()
}


#[tokio::test]
async fn a_key_acts_as_its_maker_within_its_scopes_until_revoked() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let key = make_key(&app, "HR sync", &["user:read", "team:read"]).await;
    assert!(app::api_keys::parse_key(&key).is_some(), "{key}");
    let page = app.get("/account/api-keys").await;
    assert!(page.has_testid("api-key-row") && page.body.contains("HR sync"));
    assert!(!page.body.contains(&key), "the key is never shown again");

    let users = api(&app, "GET", "/api/v1/users?limit=2", Some(&key), None).await;
    assert_eq!(users.status, StatusCode::OK, "{}", users.body);
    let body = json(&users);
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    let next = body["next"].as_str().unwrap().to_string();
    let rest = json(&api(&app, "GET", &format!("/api/v1/users?after={next}&limit=200"), Some(&key), None).await);
    let emails: Vec<&str> = body["items"].as_array().unwrap().iter().chain(rest["items"].as_array().unwrap()).map(|u| u["email"].as_str().unwrap()).collect();
    assert!(emails.contains(&"mark@acme.test") && emails.contains(&"olivia@acme.test"), "{emails:?}");
    assert!(!emails.iter().any(|e| e.ends_with("globex.test")), "only the key's tenant");
    let mark = app.db.user_id("mark@acme.test").await;
    let one = api(&app, "GET", &format!("/api/v1/users/{mark}"), Some(&key), None).await;
    assert_eq!(json(&one)["email"], "mark@acme.test");
    let max = app.db.user_id("max@globex.test").await;
    assert_eq!(api(&app, "GET", &format!("/api/v1/users/{max}"), Some(&key), None).await.status, StatusCode::NOT_FOUND, "another tenant's user is a 404");

    // Out of scope, though Olivia herself may: 403, recorded.
    let docs = api(&app, "GET", "/api/v1/documents", Some(&key), None).await;
    assert_eq!(docs.status, StatusCode::FORBIDDEN, "{}", docs.body);
    let create = api(&app, "POST", "/api/v1/users", Some(&key), Some(serde_json::json!({ "email": "x@acme.test", "display_name": "X" }))).await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
    let events = app.db.events("acme").await;
    assert_eq!(events.iter().filter(|e| e.0 == "access.denied").count(), 2);
    assert!(events.iter().any(|e| e.0 == "api_key.create" && e.2["after"]["scopes"] == serde_json::json!(["team:read", "user:read"])));

    // The session cookie alone opens nothing here.
    assert_eq!(api(&app, "GET", "/api/v1/users", None, None).await.status, StatusCode::UNAUTHORIZED);

    let list: serde_json::Value = serde_json::from_str(&app.call("/api/list_api_keys", &[]).await.body).unwrap();
    assert_ne!(list[0]["last_used_at"], "never", "last use is recorded");
    let id = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(app.call("/api/revoke_api_key", &[("key_id", &id)]).await.status, StatusCode::OK);
    let revoked = api(&app, "GET", "/api/v1/users", Some(&key), None).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    assert!(revoked.body.contains("revoked"), "{}", revoked.body);
    assert!(app.db.events("acme").await.iter().any(|e| e.0 == "api_key.revoke"));
}

#[tokio::test]
async fn a_key_can_carry_only_what_its_maker_holds_and_loses_what_they_lose() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "mark@acme.test", PASSWORD).await;
    let res = app.call("/api/create_api_key", &[("name", "too much"), ("scopes[]", "user:read"), ("current_password", PASSWORD)]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("You do not hold user:read"), "{}", res.body);
    for (name, days) in [("", "30"), ("ok", "0"), ("ok", "91"), ("ok", "never"), ("ok", "soon")] {
        let res = app.call("/api/create_api_key", &[("name", name), ("scopes[]", "document:read"), ("expires_in_days", days), ("current_password", PASSWORD)]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?} {days:?}");
    }
    let key = make_key(&app, "docs", &["document:read"]).await;
    assert_eq!(api(&app, "GET", "/api/v1/documents", Some(&key), None).await.status, StatusCode::OK);
    // Mark loses his member role: the key loses document:read with it.
    let mark = app.db.user_id("mark@acme.test").await;
    app.db.exec_as_superuser(&format!("DELETE FROM user_roles WHERE user_id = '{mark}'")).await;
    assert_eq!(api(&app, "GET", "/api/v1/documents", Some(&key), None).await.status, StatusCode::FORBIDDEN);
    // Suspended: the key stops altogether.
    app.db.exec_as_superuser(&format!("UPDATE users SET status = 'suspended' WHERE id = '{mark}'")).await;
    assert_eq!(api(&app, "GET", "/api/v1/documents", Some(&key), None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn missing_malformed_unknown_and_expired_keys_are_refused_saying_why() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let key = make_key(&app, "short-lived", &["user:read"]).await;
    let acme = app.db.tenant_id("acme").await.simple().to_string();
    let unknown = format!("stw_{acme}_{}", "a".repeat(32));
    let other_tenant = key.replace(&acme, &app.db.tenant_id("globex").await.simple().to_string());
    for (presented, says) in [
        (None, "Send an API key"),
        (Some("not-a-key"), "not an API key"),
        (Some("stw_"), "not an API key"),
        (Some(unknown.as_str()), "not known"),
        (Some(other_tenant.as_str()), "not known"),
    ] {
        let res = api(&app, "GET", "/api/v1/users", presented, None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{presented:?}");
        assert!(res.body.contains(says), "{presented:?}: {}", res.body);
        assert_eq!(res.headers.get(header::WWW_AUTHENTICATE).unwrap(), "Bearer realm=\"steward\"");
    }
    app.db.exec_as_superuser("UPDATE api_keys SET expires_at = now() - interval '1 second'").await;
    let expired = api(&app, "GET", "/api/v1/users", Some(&key), None).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert!(expired.body.contains("expired"));
}

#[tokio::test]
async fn every_route_refuses_anonymous_revoked_expired_and_out_of_scope_keys_without_leaking() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let user = app.db.user_id("mark@acme.test").await.to_string();
    let revoked = make_key(&app, "revoked", &["user:read", "user:create", "team:read", "document:read", "audit:read"]).await;
    let expired = make_key(&app, "expired", &["user:read", "user:create", "team:read", "document:read", "audit:read"]).await;
    let narrow = make_key(&app, "narrow", &["role:read"]).await;
    let list: serde_json::Value = serde_json::from_str(&app.call("/api/list_api_keys", &[]).await.body).unwrap();
    let id_of = |name: &str| list.as_array().unwrap().iter().find(|k| k["name"] == name).unwrap()["id"].as_str().unwrap().to_string();
    app.call("/api/revoke_api_key", &[("key_id", &id_of("revoked"))]).await;
    app.db.exec_as_superuser(&format!("UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE id = '{}'", id_of("expired"))).await;
    for (method, path, _) in ROUTES {
        let path = path.replace("{user}", &user);
        let body = (*method == "POST").then(|| serde_json::json!({ "email": "new@acme.test", "display_name": "New" }));
        for (who, key, status) in [
            ("anonymous", None, StatusCode::UNAUTHORIZED),
            ("revoked", Some(revoked.as_str()), StatusCode::UNAUTHORIZED),
            ("expired", Some(expired.as_str()), StatusCode::UNAUTHORIZED),
            ("out of scope", Some(narrow.as_str()), StatusCode::FORBIDDEN),
        ] {
            let res = api(&app, method, &path, key, body.clone()).await;
            assert_eq!(res.status, status, "{method} {path} as {who}: {}", res.body);
            assert!(!res.body.contains("mark@acme.test") && !res.body.contains("items"), "{method} {path} as {who} leaked: {}", res.body);
        }
    }
    let mut conn = sqlx::ConnectOptions::connect(&app.db.superuser()).await.unwrap();
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'new@acme.test'").fetch_one(&mut conn).await.unwrap();
    assert_eq!(made, 0);
}

#[tokio::test]
async fn creating_a_user_through_the_api_is_checked_and_recorded_like_the_console() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let key = make_key(&app, "provisioning", &["user:create", "user:read"]).await;
    let bad = api(&app, "POST", "/api/v1/users", Some(&key), Some(serde_json::json!({ "email": "not an email", "display_name": "" }))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<String> = json(&bad)["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap().to_string()).collect();
    assert_eq!(fields, ["email", "display_name"]);
    let garbage = api(&app, "POST", "/api/v1/users", Some(&key), Some(serde_json::json!([1, 2]))).await;
    assert_eq!(garbage.status, StatusCode::UNPROCESSABLE_ENTITY);
    let made = api(&app, "POST", "/api/v1/users", Some(&key), Some(serde_json::json!({ "email": "pat@acme.test", "display_name": "Pat Provisioned" }))).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let id = json(&made)["id"].as_str().unwrap().to_string();
    assert_eq!(made.headers.get(header::LOCATION).unwrap().to_str().unwrap(), format!("/api/v1/users/{id}"));
    assert!(json(&made)["temporary_password"].as_str().is_some_and(|p| p.len() == 20));
    let again = api(&app, "POST", "/api/v1/users", Some(&key), Some(serde_json::json!({ "email": "PAT@acme.test", "display_name": "Twice" }))).await;
    assert!(again.status == StatusCode::CONFLICT || again.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", again.status);
    assert!(again.body.contains("already used"), "{}", again.body);
    let event = app.db.events("acme").await.into_iter().find(|e| e.0 == "user.create").expect("recorded");
    assert_eq!(event.1.as_deref(), Some(id.as_str()));
}

#[tokio::test]
async fn inviting_through_the_api_is_checked_and_recorded_like_the_console() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let key = make_key(&app, "onboarding", &["user:create"]).await;
    let invite = |body: serde_json::Value| api(&app, "POST", "/api/v1/invitations", Some(&key), Some(body));
    let bad = invite(serde_json::json!({ "email": "not an email", "display_name": "" })).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(invite(serde_json::json!({ "display_name": "No address" })).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The key does not carry role:assign: no role may be given with it.
    let owner = app.db.role_id("acme", "owner").await.to_string();
    let beyond = invite(serde_json::json!({ "email": "quinn@acme.test", "display_name": "Quinn", "role_id": owner })).await;
    assert_eq!(beyond.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", beyond.body);
    assert!(beyond.body.contains("You may not grant roles"), "{}", beyond.body);

    let made = invite(serde_json::json!({ "email": "quinn@acme.test", "display_name": "Quinn Invited" })).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let id = json(&made)["id"].as_str().unwrap().to_string();
    assert_eq!(json(&made)["status"], "pending");
    assert_eq!(made.headers.get(header::LOCATION).unwrap().to_str().unwrap(), format!("/api/v1/users/{id}"));
    let links = crate::support::mailed_links(&app.db, "quinn@acme.test", "user.invitation").await;
    assert_eq!(links.len(), 1, "one invitation mailed");
    assert!(links[0].starts_with("/login/join?link="), "{}", links[0]);
    let actions: Vec<String> = app.db.events("acme").await.into_iter().filter(|e| e.1.as_deref() == Some(id.as_str())).map(|e| e.0).collect();
    assert_eq!(actions, ["user.create", "user.invitation_send"]);
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_and_nothing_else() {
    let app = TestApp::spawn().await;
    let res = api(&app, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(res.status, StatusCode::OK);
    let doc = json(&res);
    assert_eq!(doc["openapi"], "3.1.0");
    let mut described: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            described.push((method.to_uppercase(), format!("/api/v1{path}")));
        }
    }
    described.sort();
    let mut routed: Vec<(String, String)> = ROUTES.iter().map(|(m, p, _)| (m.to_string(), p.replace("{user}", "{id}"))).collect();
    routed.sort();
    assert_eq!(described, routed);
    // Each described route answers (401 without a key, not 404).
    for (method, path) in &described {
        let res = api(&app, method, &path.replace("{id}", &uuid::Uuid::nil().to_string()), None, None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    assert_eq!(api(&app, "GET", "/api/v1/nothing-here", None, None).await.status, StatusCode::NOT_FOUND);
}
