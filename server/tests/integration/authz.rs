//! The spine's authorisation: every server function behind `require`, its
//! role matrix, the anti-lockout rules, and explain-access.

use crate::support::{TestApp, TestDb, PASSWORD};
use axum::http::StatusCode;
use uuid::Uuid;

/// Server functions anyone may call: how a principal comes to exist, or
/// what it says about itself, or (change_password) what any signed-in
/// person does to their own account (security.rs tests it).
const PUBLIC: &[&str] = &[
    "/api/sign_in",
    "/api/sign_out",
    "/api/me",
    "/api/sign_in_hint",
    "/api/flash",
    "/api/stop_acting",
    "/api/change_password",
    "/api/set_theme",
    "/api/get_theme",
    "/api/verify_mfa",
    "/api/mfa_status",
    "/api/start_mfa",
    "/api/confirm_mfa",
    "/api/disable_mfa",
    "/api/list_api_keys",
    "/api/create_api_key",
    "/api/revoke_api_key",
    "/api/request_deletion",
    "/api/list_my_sessions",
    "/api/revoke_my_sessions",
    "/api/request_password_link",
    "/api/use_password_link",
    "/api/check_password_link",
];

/// Every other server function, with the fields it takes. `{acme_user}`
/// and friends are filled in per test.
const GUARDED: &[(&str, &[(&str, &str)])] = &[
    ("/api/suspend_user", &[("user_id", "{target_user}")]),
    ("/api/reactivate_user", &[("user_id", "{target_user}")]),
    ("/api/delete_user", &[("user_id", "{target_user}")]),
    ("/api/assign_role", &[("user_id", "{target_user}"), ("role_id", "{target_role}")]),
    ("/api/revoke_role", &[("user_id", "{target_user}"), ("role_id", "{target_role}")]),
    ("/api/delete_role", &[("role_id", "{custom_role}")]),
    ("/api/explain_access", &[("user_id", "{target_user}"), ("view", "users")]),
    ("/api/restore_role", &[("role_id", "{custom_role}")]),
    ("/api/list_roles", &[("deleted", "false")]),
    ("/api/get_role", &[("role_id", "{custom_role}")]),
    ("/api/role_catalogue", &[]),
    ("/api/get_import", &[("import_id", "{target_import}")]),
    ("/api/list_imports", &[]),
    ("/api/create_role", &[("name", "Night readers"), ("perms[]", "document:read")]),
    ("/api/update_role", &[("role_id", "{custom_role}"), ("version", "1"), ("name", "Renamed role"), ("perms[]", "document:read")]),
    ("/api/search_users_across_tenants", &[("query", "acme")]),
    ("/api/list_users", &[("query[q]", "a")]),
    ("/api/get_user", &[("user_id", "{target_user}")]),
    ("/api/create_user", &[("email", "new.person@example.com"), ("display_name", "New Person")]),
    ("/api/update_user", &[("user_id", "{target_user}"), ("version", "1"), ("email", "renamed@example.com"), ("display_name", "Renamed")]),
    ("/api/reset_password", &[("user_id", "{target_user}")]),
    ("/api/restore_user", &[("user_id", "{target_user}")]),
    ("/api/revoke_sessions", &[("user_id", "{target_user}")]),
    ("/api/unlock_user", &[("user_id", "{target_user}")]),
    ("/api/reset_mfa", &[("user_id", "{target_user}")]),
    ("/api/set_mfa_requirement", &[("level", "admins")]),
    ("/api/get_mfa_requirement", &[]),
    ("/api/anonymise_user", &[("user_id", "{target_user}"), ("confirm", "not their email")]),
    ("/api/list_deletion_requests", &[]),
    ("/api/resolve_deletion_request", &[("request_id", "00000000-0000-0000-0000-000000000001"), ("decision", "reject"), ("note", "no")]),
    ("/api/set_retention", &[("days", "30")]),
    ("/api/list_teams", &[("deleted", "false")]),
    ("/api/get_team", &[("team_id", "{target_team}")]),
    ("/api/create_team", &[("name", "Night shift")]),
    ("/api/update_team", &[("team_id", "{target_team}"), ("version", "1"), ("name", "Renamed team")]),
    ("/api/delete_team", &[("team_id", "{target_team}")]),
    ("/api/restore_team", &[("team_id", "{target_team}")]),
    ("/api/add_team_member", &[("team_id", "{target_team}"), ("user_id", "{target_user}")]),
    ("/api/remove_team_member", &[("team_id", "{target_team}"), ("user_id", "{target_user}")]),
    ("/api/grant_team_role", &[("team_id", "{target_team}"), ("role_id", "{target_role}")]),
    ("/api/revoke_team_role", &[("team_id", "{target_team}"), ("role_id", "{target_role}")]),
    ("/api/list_tenants", &[("query[q]", "a")]),
    ("/api/get_tenant", &[("tenant_id", "{target_tenant}")]),
    ("/api/create_tenant", &[("name", "Initech"), ("slug", "initech"), ("plan", "standard"), ("owner_name", "Bill"), ("owner_email", "bill@initech.test")]),
    ("/api/update_tenant", &[("tenant_id", "{target_tenant}"), ("version", "1"), ("name", "Renamed"), ("plan", "free"), ("brand_colour", "")]),
    ("/api/suspend_tenant", &[("tenant_id", "{target_tenant}")]),
    ("/api/reactivate_tenant", &[("tenant_id", "{target_tenant}")]),
    ("/api/delete_tenant", &[("tenant_id", "{target_tenant}")]),
    ("/api/restore_tenant", &[("tenant_id", "{target_tenant}")]),
    ("/api/act_in_tenant", &[("slug", "globex"), ("reason", "role matrix")]),
    ("/api/list_documents", &[("query[q]", "a")]),
    ("/api/get_document", &[("document_id", "{target_document}")]),
    ("/api/update_document", &[("document_id", "{target_document}"), ("version", "1"), ("title", "Renamed document")]),
    ("/api/delete_document", &[("document_id", "{target_document}")]),
    ("/api/restore_document", &[("document_id", "{target_document}")]),
    ("/api/list_events", &[("query[action]", "user.")]),
    ("/api/get_event", &[("event_id", "{target_event}")]),
    ("/api/verify_audit_chain", &[]),
    ("/api/start_chain_check", &[]),
    ("/api/dashboard", &[]),
    ("/api/list_access_log", &[("query[status]", "2xx")]),
    ("/api/list_sent_mail", &[("query[status]", "sent")]),
    ("/api/system_status", &[]),
    ("/api/send_password_link", &[("user_id", "{target_user}")]),
    ("/api/invite_user", &[("email", "invited.person@example.com"), ("display_name", "Invited Person")]),
    ("/api/resend_invitation", &[("user_id", "{target_user}")]),
    ("/api/revoke_invitation", &[("user_id", "{target_user}")]),
    ("/api/bulk_users", &[("action", "suspend"), ("ids[]", "{target_user}")]),
    ("/api/list_user_api_keys", &[("user_id", "{target_user}")]),
    ("/api/revoke_user_api_key", &[("user_id", "{target_user}"), ("key_id", "00000000-0000-0000-0000-000000000001")]),
    ("/api/get_api_key_max_days", &[]),
    ("/api/set_api_key_max_days", &[("days", "30")]),
    ("/api/get_organisation", &[]),
    ("/api/update_organisation", &[("version", "1"), ("name", "Renamed organisation"), ("brand_colour", "#0f766e")]),
    ("/api/remove_logo", &[]),
    ("/api/set_new_place_notice", &[("on", "true")]),
    ("/api/list_webhooks", &[]),
    ("/api/create_webhook", &[("url", "https://hooks.example.com/steward"), ("actions", "*")]),
    ("/api/get_webhook", &[("id", "{target_webhook}")]),
    ("/api/pause_webhook", &[("id", "{target_webhook}")]),
    ("/api/resume_webhook", &[("id", "{target_webhook}")]),
    ("/api/redeliver_webhook", &[("id", "{target_webhook}"), ("delivery_id", "{target_delivery}")]),
    ("/api/delete_webhook", &[("id", "{target_webhook}")]),
];

/// Functions that name no record: "another tenant's id" does not apply.
const TAKES_NO_IDS: &[&str] = &[
    "/api/search_users_across_tenants",
    "/api/list_users",
    "/api/create_user",
    "/api/invite_user",
    "/api/list_teams",
    "/api/create_team",
    "/api/list_roles",
    "/api/role_catalogue",
    "/api/create_role",
    "/api/list_imports",
    "/api/list_documents",
    "/api/list_events",
    "/api/verify_audit_chain",
    "/api/start_chain_check",
    "/api/dashboard",
    "/api/list_access_log",
    "/api/list_sent_mail",
    "/api/system_status",
    "/api/set_mfa_requirement",
    "/api/get_mfa_requirement",
    "/api/list_deletion_requests",
    "/api/set_retention",
    "/api/get_api_key_max_days",
    "/api/set_api_key_max_days",
    "/api/get_organisation",
    "/api/update_organisation",
    "/api/remove_logo",
    "/api/set_new_place_notice",
    "/api/list_webhooks",
    "/api/create_webhook",
];

/// Platform staff's functions: they name any tenant by design, and a
/// tenant's own people are refused them outright (403).
const PLATFORM_ONLY: &[&str] = &[
    "/api/list_tenants",
    "/api/get_tenant",
    "/api/create_tenant",
    "/api/update_tenant",
    "/api/suspend_tenant",
    "/api/reactivate_tenant",
    "/api/delete_tenant",
    "/api/restore_tenant",
    "/api/act_in_tenant",
    "/api/list_access_log",
    "/api/list_sent_mail",
    "/api/system_status",
];

#[test]
fn every_server_function_is_in_the_matrix() {
    let registered: Vec<String> = leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path.to_string()).collect();
    for path in &registered {
        assert!(
            PUBLIC.contains(&path.as_str()) || GUARDED.iter().any(|(p, _)| p == path),
            "{path} has no role-matrix entry: add it to GUARDED (or PUBLIC) in tests/integration/authz.rs"
        );
    }
    for (path, _) in GUARDED {
        assert!(registered.iter().any(|r| r == path), "{path} is not registered");
    }
}

struct Ids {
    target_user: Uuid,
    target_role: Uuid,
    custom_role: Uuid,
    target_team: Uuid,
    target_tenant: Uuid,
    target_import: Uuid,
    target_document: Uuid,
    target_event: Uuid,
    target_webhook: Uuid,
    target_delivery: Uuid,
}

async fn custom_role(db: &TestDb, tenant: &str, name: &str, permissions: &[&str]) -> Uuid {
    let tenant_id = db.tenant_id(tenant).await;
    let id = Uuid::now_v7();
    db.exec_as_superuser(&format!("INSERT INTO roles (tenant_id, id, name) VALUES ('{tenant_id}', '{id}', '{name}')")).await;
    for p in permissions {
        db.exec_as_superuser(&format!("INSERT INTO role_permissions VALUES ('{tenant_id}', '{id}', '{p}')")).await;
    }
    id
}

async fn ids(db: &TestDb, tenant: &str, user: &str) -> Ids {
    Ids {
        target_user: db.user_id(user).await,
        target_role: db.role_id(tenant, "auditor").await,
        custom_role: custom_role(db, tenant, &format!("Reviewers {}", Uuid::now_v7()), &["document:read"]).await,
        target_team: {
            let tenant_id = db.tenant_id(tenant).await;
            let id = Uuid::now_v7();
            db.exec_as_superuser(&format!("INSERT INTO teams (tenant_id, id, name) VALUES ('{tenant_id}', '{id}', 'Team {id}')")).await;
            id
        },
        target_tenant: db.tenant_id(tenant).await,
        target_import: {
            let tenant_id = db.tenant_id(tenant).await;
            let id = Uuid::now_v7();
            db.exec_as_superuser(&format!(
                "INSERT INTO user_imports (tenant_id, id, created_by, file_name) SELECT '{tenant_id}', '{id}', id, 'x.csv' FROM users WHERE tenant_id = '{tenant_id}' LIMIT 1"
            ))
            .await;
            id
        },
        target_document: {
            let tenant_id = db.tenant_id(tenant).await;
            let id = Uuid::now_v7();
            db.exec_as_superuser(&format!(
                "INSERT INTO documents (tenant_id, id, title, file_name, content_type, size_bytes) VALUES ('{tenant_id}', '{id}', 'Doc {id}', 'd.txt', 'text/plain', 1)"
            ))
            .await;
            id
        },
        target_event: {
            let tenant_id = db.tenant_id(tenant).await;
            let id = Uuid::now_v7();
            db.exec_as_superuser(&format!(
                "SELECT set_config('steward.tenant_id', '{tenant_id}', false);
                 INSERT INTO audit_events (tenant_id, id, action) VALUES ('{tenant_id}', '{id}', 'tenant.update')"
            ))
            .await;
            id
        },
        target_webhook: Uuid::now_v7(),
        target_delivery: Uuid::now_v7(),
    }
    .with_webhook(db, tenant)
    .await
}

impl Ids {
    /// A paused endpoint of the tenant with one delivered delivery (made
    /// as the superuser: the trigger is the only other way in).
    async fn with_webhook(self, db: &TestDb, tenant: &str) -> Ids {
        let tenant_id = db.tenant_id(tenant).await;
        db.exec_as_superuser(&format!(
            "INSERT INTO webhook_endpoints (tenant_id, id, url, actions, secret_sealed, status, paused_reason)
             VALUES ('{tenant_id}', '{w}', 'https://hooks.example.com/x', '{{*}}', '\\x00', 'paused', 'person');
             INSERT INTO webhook_deliveries (tenant_id, id, endpoint_id, event_id, action, payload, status, delivered_at)
             VALUES ('{tenant_id}', '{d}', '{w}', '{e}', 'tenant.update', '{{}}', 'delivered', now())",
            w = self.target_webhook,
            d = self.target_delivery,
            e = self.target_event
        ))
        .await;
        self
    }
}

fn fill(fields: &[(&str, &str)], ids: &Ids) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace("{target_user}", &ids.target_user.to_string())
                .replace("{target_role}", &ids.target_role.to_string())
                .replace("{custom_role}", &ids.custom_role.to_string())
                .replace("{target_team}", &ids.target_team.to_string())
                .replace("{target_tenant}", &ids.target_tenant.to_string())
                .replace("{target_import}", &ids.target_import.to_string())
                .replace("{target_document}", &ids.target_document.to_string())
                .replace("{target_event}", &ids.target_event.to_string())
                .replace("{target_webhook}", &ids.target_webhook.to_string())
                .replace("{target_delivery}", &ids.target_delivery.to_string());
            (k.to_string(), v)
        })
        .collect()
}

async fn call(app: &TestApp, path: &str, fields: &[(String, String)]) -> crate::support::TestResponse {
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.call(path, &borrowed).await
}

#[tokio::test]
async fn anonymous_callers_get_401_from_every_guarded_server_function() {
    let app = TestApp::spawn().await;
    let ids = ids(&app.db, "acme", "mark@acme.test").await;
    for (path, fields) in GUARDED {
        let response = call(&app, path, &fill(fields, &ids)).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{path}: {}", response.body);
    }
}

#[tokio::test]
async fn a_member_without_the_permission_gets_403_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let ids = ids(&app.db, "acme", "maya@acme.test").await;
    // Mark without his member role: no permission and no view at all (a
    // member may read and write documents and open the overview).
    let mark = app.db.user_id("mark@acme.test").await;
    app.db.exec_as_superuser(&format!("DELETE FROM user_roles WHERE user_id = '{mark}'")).await;
    app.sign_in("acme", "mark@acme.test", PASSWORD).await;
    for (path, fields) in GUARDED {
        let response = call(&app, path, &fill(fields, &ids)).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{path}: {}", response.body);
    }
    let denials = app.db.events("acme").await.into_iter().filter(|e| e.0 == "access.denied").count();
    assert_eq!(denials, GUARDED.len(), "every refusal is an audit event");
    let writes = app.db.events("acme").await.into_iter().filter(|e| e.0 != "access.denied" && !e.0.starts_with("auth.")).count();
    assert_eq!(writes, 0);
}

#[tokio::test]
async fn another_tenants_ids_are_404_not_403() {
    let app = TestApp::spawn().await;
    let globex = ids(&app.db, "globex", "max@globex.test").await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    for (path, fields) in GUARDED.iter().filter(|(p, _)| !TAKES_NO_IDS.contains(p) && !PLATFORM_ONLY.contains(p)) {
        let response = call(&app, path, &fill(fields, &globex)).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}: {}", response.body);
        assert!(!response.body.contains("max@globex.test"), "nothing of the other tenant leaks");
    }
}

#[tokio::test]
async fn the_owner_may_do_each_action_and_each_writes_its_event() {
    let app = TestApp::spawn().await;
    let ids = ids(&app.db, "acme", "mark@acme.test").await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    // In an order where each call is meaningful: reactivate after suspend, and so on.
    for path in ["/api/suspend_user", "/api/reactivate_user", "/api/assign_role", "/api/revoke_role", "/api/delete_role", "/api/explain_access", "/api/delete_user"] {
        let fields = GUARDED.iter().find(|(p, _)| *p == path).unwrap().1;
        let response = call(&app, path, &fill(fields, &ids)).await;
        assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.body);
    }
    let actions: Vec<String> = app.db.events("acme").await.into_iter().map(|e| e.0).filter(|a| a != "auth.sign_in").collect();
    assert_eq!(actions, ["user.suspend", "user.reactivate", "user.role_grant", "user.role_revoke", "role.delete", "user.delete"]);
    let events = app.db.events("acme").await;
    let suspend = events.iter().find(|e| e.0 == "user.suspend").unwrap();
    assert_eq!(suspend.1.as_deref(), Some(ids.target_user.to_string().as_str()));
    assert_eq!(suspend.2, serde_json::json!({ "before": { "status": "active" }, "after": { "status": "suspended", "sessions_ended": 0 } }));
}

#[tokio::test]
async fn nobody_suspends_or_deletes_themselves() {
    let app = TestApp::spawn().await;
    let me = app.db.user_id("olivia@acme.test").await.to_string();
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let response = app.call("/api/suspend_user", &[("user_id", &me)]).await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    assert!(response.body.contains("You cannot suspend yourself."), "{}", response.body);
    let response = app.call("/api/delete_user", &[("user_id", &me)]).await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    assert!(response.body.contains("You cannot delete yourself."), "{}", response.body);
}

#[tokio::test]
async fn the_last_owner_cannot_be_suspended_deleted_or_stripped() {
    let app = TestApp::spawn().await;
    // Administrator, auditor and the organisation's settings together hold
    // every grant of the owner's (the delegation rule lets nobody act on
    // someone holding more).
    app.db.grant("maya@acme.test", "acme", "admin").await;
    app.db.grant("maya@acme.test", "acme", "auditor").await;
    let settings = custom_role(&app.db, "acme", "Settings keeper", &["settings:manage"]).await;
    let (tenant_id, maya) = (app.db.tenant_id("acme").await, app.db.user_id("maya@acme.test").await);
    app.db.exec_as_superuser(&format!("INSERT INTO role_views VALUES ('{tenant_id}', '{settings}', 'settings')")).await;
    app.db.exec_as_superuser(&format!("INSERT INTO user_roles (tenant_id, user_id, role_id) VALUES ('{tenant_id}', '{maya}', '{settings}')")).await;
    let olivia = app.db.user_id("olivia@acme.test").await.to_string();
    let owner_role = app.db.role_id("acme", "owner").await.to_string();
    app.sign_in("acme", "maya@acme.test", PASSWORD).await;

    for (path, fields) in [
        ("/api/suspend_user", vec![("user_id", olivia.as_str())]),
        ("/api/delete_user", vec![("user_id", olivia.as_str())]),
        ("/api/revoke_role", vec![("user_id", olivia.as_str()), ("role_id", owner_role.as_str())]),
    ] {
        let response = app.call(path, &fields).await;
        assert_eq!(response.status, StatusCode::CONFLICT, "{path}: {}", response.body);
        assert!(response.body.contains("last owner"), "{path}: {}", response.body);
    }

    // With a second owner, the first may go.
    app.db.grant("audrey@acme.test", "acme", "owner").await;
    let response = app.call("/api/suspend_user", &[("user_id", &olivia)]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
}

#[tokio::test]
async fn an_owner_held_through_a_team_counts_as_an_owner() {
    let app = TestApp::spawn().await;
    app.db.team_with_role("acme", "Board", "audrey@acme.test", "owner").await;
    let olivia = app.db.user_id("olivia@acme.test").await.to_string();
    app.sign_in("acme", "audrey@acme.test", PASSWORD).await;
    let response = app.call("/api/suspend_user", &[("user_id", &olivia)]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
}

#[tokio::test]
async fn nobody_drops_their_own_administration_grant() {
    let app = TestApp::spawn().await;
    app.db.grant("audrey@acme.test", "acme", "owner").await; // so the last-owner rule is not what refuses
    let olivia = app.db.user_id("olivia@acme.test").await.to_string();
    let owner_role = app.db.role_id("acme", "owner").await.to_string();
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let response = app.call("/api/revoke_role", &[("user_id", &olivia), ("role_id", &owner_role)]).await;
    assert_eq!(response.status, StatusCode::CONFLICT, "{}", response.body);
    assert!(response.body.contains("from yourself"), "{}", response.body);

    // Holding administration another way, the role may go.
    app.db.grant("olivia@acme.test", "acme", "admin").await;
    let response = app.call("/api/revoke_role", &[("user_id", &olivia), ("role_id", &owner_role)]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
}

#[tokio::test]
async fn system_roles_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    let member = app.db.role_id("acme", "member").await.to_string();
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let response = app.call("/api/delete_role", &[("role_id", &member)]).await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    assert!(response.body.contains("system role"), "{}", response.body);
}

#[tokio::test]
async fn nobody_deletes_the_custom_role_that_makes_them_an_administrator() {
    let app = TestApp::spawn().await;
    let gatekeepers = custom_role(&app.db, "acme", "Gatekeepers", &["role:manage", "role:assign", "role:read"]).await;
    app.db.grant("maya@acme.test", "acme", "Gatekeepers").await;
    app.sign_in("acme", "maya@acme.test", PASSWORD).await;
    let response = app.call("/api/delete_role", &[("role_id", &gatekeepers.to_string())]).await;
    assert_eq!(response.status, StatusCode::CONFLICT, "{}", response.body);
    assert!(response.body.contains("lets you manage access"), "{}", response.body);
}

#[tokio::test]
async fn a_delegated_admin_cannot_grant_a_permission_they_do_not_hold() {
    let app = TestApp::spawn().await;
    app.db.grant("maya@acme.test", "acme", "admin").await; // admin lacks audit:export
    let mark = app.db.user_id("mark@acme.test").await.to_string();
    let owner_role = app.db.role_id("acme", "owner").await.to_string();
    let member_role = app.db.role_id("acme", "auditor").await.to_string();
    app.sign_in("acme", "maya@acme.test", PASSWORD).await;

    let response = app.call("/api/assign_role", &[("user_id", &mark), ("role_id", &owner_role)]).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.body);
    assert!(response.body.contains("audit:export"), "{}", response.body);

    // The auditor role carries audit:export too; a role within her grants is fine.
    let response = app.call("/api/assign_role", &[("user_id", &mark), ("role_id", &member_role)]).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.body);
    let manager_role = app.db.role_id("acme", "manager").await.to_string();
    let response = app.call("/api/assign_role", &[("user_id", &mark), ("role_id", &manager_role)]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
}

#[tokio::test]
async fn a_grant_made_through_the_console_applies_on_the_next_request() {
    let owner = TestApp::spawn().await;
    let mark = owner.db.user_id("mark@acme.test").await.to_string();
    let auditor = owner.db.role_id("acme", "auditor").await.to_string();
    owner.sign_in("acme", "olivia@acme.test", PASSWORD).await;

    let member = owner.another_browser();
    member.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(member.get("/audit").await.status, StatusCode::FORBIDDEN);

    let response = owner.call("/api/assign_role", &[("user_id", &mark), ("role_id", &auditor)]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(member.get("/audit").await.status, StatusCode::OK, "the cached principal is not reused after a grant");

    let response = owner.call("/api/revoke_role", &[("user_id", &mark), ("role_id", &auditor)]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(member.get("/audit").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn explain_access_names_the_role_the_team_or_the_module() {
    let app = TestApp::spawn().await;
    let mark = app.db.user_id("mark@acme.test").await.to_string();
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;

    let json = |r: crate::support::TestResponse| serde_json::from_str::<serde_json::Value>(&r.body).unwrap();
    let no = json(app.call("/api/explain_access", &[("user_id", &mark), ("view", "users")]).await);
    assert_eq!(no["allowed"], false);
    assert_eq!(no["module_enabled"], true);
    assert!(no["summary"].as_str().unwrap().contains("none of their roles"), "{no}");

    let yes = json(app.call("/api/explain_access", &[("user_id", &mark), ("permission", "document:write")]).await);
    assert_eq!(yes["allowed"], true);
    assert_eq!(yes["grants"], serde_json::json!([{ "role": "Member", "via_team": null }]));
    assert!(yes["summary"].as_str().unwrap().contains("role Member held directly"), "{yes}");

    app.db.team_with_role("acme", "Compliance", "mark@acme.test", "auditor").await;
    let via_team = json(app.call("/api/explain_access", &[("user_id", &mark), ("view", "audit")]).await);
    assert_eq!(via_team["allowed"], true);
    assert_eq!(via_team["grants"], serde_json::json!([{ "role": "Auditor", "via_team": "Compliance" }]));

    app.db
        .exec_as_superuser("DELETE FROM tenant_modules WHERE module_key = 'audit' AND tenant_id = (SELECT id FROM tenants WHERE slug = 'acme')")
        .await;
    let off = json(app.call("/api/explain_access", &[("user_id", &mark), ("view", "audit")]).await);
    assert_eq!(off["allowed"], false);
    assert!(off["summary"].as_str().unwrap().contains("audit module is turned off"), "{off}");

    let unknown = app.call("/api/explain_access", &[("user_id", &mark), ("view", "no-such-view")]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let neither = app.call("/api/explain_access", &[("user_id", &mark)]).await;
    assert_eq!(neither.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_permission_catalogue_and_the_code_agree() {
    let db = TestDb::new().await;
    let mut conn: sqlx::PgConnection = sqlx::Connection::connect_with(&db.superuser()).await.unwrap();
    let mut keys: Vec<String> = sqlx::query_scalar("SELECT key FROM permissions ORDER BY key").fetch_all(&mut conn).await.unwrap();
    let mut code: Vec<String> = app::authz::Perm::ALL.iter().map(|p| p.key().to_string()).collect();
    keys.sort();
    code.sort();
    assert_eq!(keys, code);
    let mut views: Vec<String> = sqlx::query_scalar("SELECT key FROM views ORDER BY key").fetch_all(&mut conn).await.unwrap();
    let mut code: Vec<String> = app::authz::View::ALL.iter().map(|v| v.key().to_string()).collect();
    views.sort();
    code.sort();
    assert_eq!(views, code, "the views table and authz::View");
}

#[tokio::test]
async fn support_staff_search_users_across_tenants_through_the_audited_path() {
    let app = TestApp::spawn().await;
    app.sign_in("platform", "support@steward.test", PASSWORD).await;
    let response = app.call("/api/search_users_across_tenants", &[("query", "MA")]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let hits: Vec<serde_json::Value> = serde_json::from_str(&response.body).unwrap();
    let found: Vec<(String, String)> = hits
        .iter()
        .map(|h| (h["tenant_slug"].as_str().unwrap().to_string(), h["email"].as_str().unwrap().to_string()))
        .collect();
    assert!(found.contains(&("acme".into(), "mark@acme.test".into())), "{found:?}");
    assert!(found.contains(&("acme".into(), "maya@acme.test".into())), "{found:?}");
    assert!(found.contains(&("globex".into(), "max@globex.test".into())), "{found:?}");
    assert!(!found.iter().any(|(_, e)| e == "olivia@acme.test"), "{found:?}");

    let events = app.db.events("platform").await;
    let search = events.iter().find(|e| e.0 == "platform.user_search").expect("the search is an audit event");
    assert_eq!(search.2["after"], serde_json::json!({ "query": "MA", "results": found.len() }));

    let short = app.call("/api/search_users_across_tenants", &[("query", "m")]).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.body.contains("between 2 and 100"), "{}", short.body);
    let wildcard = app.call("/api/search_users_across_tenants", &[("query", "%%")]).await;
    assert_eq!(wildcard.body, "[]", "LIKE wildcards are searched for literally");
}

#[tokio::test]
async fn support_staff_cannot_change_roles() {
    let app = TestApp::spawn().await;
    let support = app.db.user_id("support@steward.test").await.to_string();
    let admin_role = app.db.role_id("platform", "platform_admin").await.to_string();
    app.sign_in("platform", "support@steward.test", PASSWORD).await;
    let response = app.call("/api/assign_role", &[("user_id", &support), ("role_id", &admin_role)]).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_cross_tenant_search_refuses_any_transaction_not_scoped_to_the_platform() {
    let db = TestDb::new().await;
    let acme = db.tenant_id("acme").await;
    let pool = db.app_pool().await;
    let mut tx = pool.begin().await.unwrap();
    app::db::scope_to_tenant(&mut tx, app::ids::TenantId(acme)).await.unwrap();
    let error = sqlx::query("SELECT * FROM steward_platform_user_search('a', 10)").fetch_all(&mut *tx).await.unwrap_err();
    assert!(error.to_string().contains("platform staff only"), "{error}");
    let unscoped = sqlx::query("SELECT * FROM steward_platform_user_search('a', 10)").fetch_all(&pool).await.unwrap_err();
    assert!(unscoped.to_string().contains("platform staff only"), "{unscoped}");
}

#[tokio::test]
async fn a_revoked_session_gets_401_from_every_guarded_server_function() {
    let app = TestApp::spawn().await;
    let ids = ids(&app.db, "acme", "mark@acme.test").await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    // Olivia, from another browser, ends every session of hers.
    let other = app.another_browser();
    other.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let olivia = app.db.user_id("olivia@acme.test").await.to_string();
    let revoked = other.call("/api/revoke_sessions", &[("user_id", &olivia)]).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    for (path, fields) in GUARDED {
        let response = call(&app, path, &fill(fields, &ids)).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{path}: {}", response.body);
        assert!(!response.body.contains("mark@acme.test"), "{path}: nothing leaks");
    }
}

/// Inputs an attacker or a careless client sends: SQL, markup, control
/// characters, confusable and right-to-left text, huge and malformed values.
const HOSTILE: &[&str] = &[
    "' OR 1=1; DROP TABLE users; --",
    "\"; SELECT pg_sleep(10); --",
    "<script>alert(1)</script>",
    "nul\u{0}byte",
    "аdmin@аcme.test",
    "\u{202e}gpj.exe",
    "../../../../etc/passwd",
    "%00%27",
    "-1",
    "99999999999999999999999",
    "not-a-uuid",
    "00000000-0000-0000-0000-000000000000",
    "",
];

#[tokio::test]
async fn hostile_input_to_every_server_function_never_gets_a_500_or_a_half_written_row() {
    let app = TestApp::spawn().await;
    let ids = ids(&app.db, "acme", "mark@acme.test").await;
    let admin = app.another_browser();
    admin.sign_in("platform", "admin@steward.test", PASSWORD).await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let huge = "x".repeat(200_000);
    let mut tried = 0;
    for (path, fields) in GUARDED {
        let caller = if PLATFORM_ONLY.contains(path) { &admin } else { &app };
        let base = fill(fields, &ids);
        for (i, _) in base.iter().enumerate() {
            for value in HOSTILE.iter().copied().chain([huge.as_str()]) {
                let mut hostile = base.clone();
                hostile[i].1 = value.to_string();
                let response = call(caller, path, &hostile).await;
                tried += 1;
                assert!(
                    response.status.as_u16() < 500,
                    "{path} with {}={:?}: {} {}",
                    hostile[i].0,
                    value.chars().take(40).collect::<String>(),
                    response.status,
                    response.body.chars().take(300).collect::<String>()
                );
                assert!(!response.body.contains("panicked") && !response.body.contains("SQLSTATE"), "{path}: {}", response.body);
            }
        }
    }
    assert!(tried > 500, "{tried} hostile calls");
    // Whatever went through, the audit chains still verify: every write
    // that happened was recorded whole.
    for report in steward::db::verify_audit(&app.db.targets.owner, None).await.unwrap() {
        assert!(report.broken.is_none(), "{report:?}");
    }
}
