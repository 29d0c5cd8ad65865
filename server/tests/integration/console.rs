//! The console's server functions and pages: users, teams, tenants, acting
//! inside a tenant, and the CSV export — as a caller observes them.

use crate::support::{json, TestApp, PASSWORD};
use axum::http::StatusCode;
use serde_json::Value;


/// Adds `n` users to a tenant straight in the database (fast, no hashing).
async fn many_users(app: &TestApp, tenant: &str, n: usize) {
    let tenant_id = app.db.tenant_id(tenant).await;
    app.db
        .exec_as_superuser(&format!(
            "INSERT INTO users (tenant_id, email, display_name)
             SELECT '{tenant_id}', 'bulk' || lpad(i::text, 5, '0') || '@{tenant}.test', 'Bulk Person ' || lpad(i::text, 5, '0')
               FROM generate_series(1, {n}) i"
        ))
        .await;
}

#[tokio::test]
async fn the_users_list_searches_filters_and_pages_by_cursor() {
    let app = TestApp::spawn().await;
    many_users(&app, "acme", 120).await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;

    let page1 = json(&app.call("/api/list_users", &[("query[q]", "bulk"), ("query[sort]", "email")]).await);
    assert_eq!(page1["count"], serde_json::json!({ "Exact": 120 }));
    let rows = page1["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 50);
    assert_eq!(rows[0]["email"], "bulk00001@acme.test");
    let after = page1["next"].as_str().expect("a next page").to_string();

    let page2 = json(&app.call("/api/list_users", &[("query[q]", "bulk"), ("query[sort]", "email"), ("query[after]", &after)]).await);
    assert_eq!(page2["rows"][0]["email"], "bulk00051@acme.test", "the next page starts right after the last row");
    let page3 = json(&app.call("/api/list_users", &[("query[q]", "bulk"), ("query[sort]", "email"), ("query[after]", page2["next"].as_str().unwrap())]).await);
    assert_eq!(page3["rows"].as_array().unwrap().len(), 20);
    assert_eq!(page3["next"], Value::Null);

    let desc = json(&app.call("/api/list_users", &[("query[q]", "bulk"), ("query[sort]", "-email")]).await);
    assert_eq!(desc["rows"][0]["email"], "bulk00120@acme.test");

    // Substring search over email and name, case-insensitive; LIKE wildcards are literal.
    let found = json(&app.call("/api/list_users", &[("query[q]", "OLIVIA")]).await);
    assert_eq!(found["rows"].as_array().unwrap().len(), 1);
    let none = json(&app.call("/api/list_users", &[("query[q]", "%")]).await);
    assert_eq!(none["count"], serde_json::json!({ "Exact": 0 }));

    // Filters: status, role (direct or through a team), team.
    let auditor = app.db.role_id("acme", "auditor").await.to_string();
    let by_role = json(&app.call("/api/list_users", &[("query[role]", &auditor)]).await);
    let emails: Vec<&str> = by_role["rows"].as_array().unwrap().iter().map(|r| r["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["audrey@acme.test"]);
    let bad = app.call("/api/list_users", &[("query[status]", "sleeping")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let broken = app.call("/api/list_users", &[("query[after]", "nonsense")]).await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// A count read as the superuser, to hold the page's figure against.
async fn live(app: &TestApp, sql: &str) -> i64 {
    use sqlx::ConnectOptions;
    let mut conn = app.db.superuser().connect().await.unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
}

#[tokio::test]
async fn the_count_is_exact_from_the_kept_counts_and_stops_at_the_cap_under_a_search() {
    let app = TestApp::spawn().await;
    many_users(&app, "globex", 1005).await;
    app.sign_in("globex", "gina@globex.test", PASSWORD).await;
    let everyone = live(&app, "SELECT count(*) FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE t.slug = 'globex' AND u.deleted_at IS NULL").await;
    assert!(everyone > 1005, "{everyone}");

    // No filter, or the status alone: the exact figure, kept by the triggers.
    let list = json(&app.call("/api/list_users", &[("query[q]", "")]).await);
    assert_eq!(list["count"], serde_json::json!({ "Exact": everyone }));
    let page = app.get("/users").await;
    assert_eq!(page.status, StatusCode::OK);
    let shown = format!("{} users", app::users::grouped(everyone));
    assert!(page.body.contains(&shown), "the page says {shown}");
    let pending = live(&app, "SELECT count(*) FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE t.slug = 'globex' AND u.deleted_at IS NULL AND u.status = 'pending'").await;
    let list = json(&app.call("/api/list_users", &[("query[status]", "pending")]).await);
    assert_eq!(list["count"], serde_json::json!({ "Exact": pending }));

    // The person's own change shows in the next figure.
    let gone = app.db.user_id("bulk00001@globex.test").await.to_string();
    let deleted = app.call("/api/delete_user", &[("user_id", &gone)]).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    let list = json(&app.call("/api/list_users", &[("query[q]", "")]).await);
    assert_eq!(list["count"], serde_json::json!({ "Exact": everyone - 1 }));
    let list = json(&app.call("/api/list_users", &[("query[status]", "deleted")]).await);
    assert_eq!(list["count"], serde_json::json!({ "Exact": 1 }));

    // A search counts the matching rows, and stops at the cap.
    let list = json(&app.call("/api/list_users", &[("query[q]", "bulk")]).await);
    assert_eq!(list["count"], serde_json::json!({ "MoreThan": 1000 }));
    let page = app.get("/users?q=bulk").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("more than 1,000 users"), "the page says the count is capped");
}

#[tokio::test]
async fn creating_a_user_checks_every_field_and_the_temporary_password_works() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    for (fields, field, message) in [
        (vec![("email", ""), ("display_name", "Ann")], "email", "Enter an email address."),
        (vec![("email", "ann-at-example"), ("display_name", "Ann")], "email", "does not look like an email"),
        (vec![("email", "ann@example.com"), ("display_name", "")], "display_name", "Enter the person's name."),
        (vec![("email", "ann@example.com"), ("display_name", &"x".repeat(201))], "display_name", "200 characters"),
        (vec![("email", "ann@example.com"), ("display_name", "Ann"), ("password", "short")], "password", "at least 12"),
        (vec![("email", "MARK@acme.test"), ("display_name", "Mark Again")], "email", "already used"),
    ] {
        let response = app.call("/api/create_user", &fields).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}: {}", response.body);
        let error = json(&response);
        let list = error["Validation"].as_array().unwrap();
        let hit = list.iter().find(|e| e["field"] == field).unwrap_or_else(|| panic!("no {field} message: {error}"));
        assert!(hit["message"].as_str().unwrap().contains(message), "{hit}");
    }
    let role = app.db.role_id("acme", "member").await.to_string();
    let created = app.call("/api/create_user", &[("email", "ann@acme.test"), ("display_name", "Ann Example"), ("role_id", &role)]).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let created = json(&created);
    let password = created["temporary_password"].as_str().unwrap().to_string();
    assert_eq!(password.len(), 20);

    let ann = app.another_browser();
    let signed_in = ann.sign_in("acme", "ann@acme.test", &password).await;
    assert_eq!(signed_in.location(), Some("/account/password?next=/"), "the temporary password signs in, to choose a password");
    let actions: Vec<String> = app.db.events("acme").await.into_iter().map(|e| e.0).collect();
    assert!(actions.contains(&"user.create".to_string()) && actions.contains(&"user.role_grant".to_string()), "{actions:?}");
    let json_events = app.db.events("acme").await;
    assert!(!serde_json::to_string(&json_events.iter().map(|e| &e.2).collect::<Vec<_>>()).unwrap().contains(&password), "no password in the audit log");
}

#[tokio::test]
async fn saving_over_a_newer_version_says_who_changed_it_and_saves_nothing() {
    let app = TestApp::spawn().await;
    let mark = app.db.user_id("mark@acme.test").await.to_string();
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let first = app.call("/api/update_user", &[("user_id", &mark), ("version", "1"), ("email", "mark@acme.test"), ("display_name", "Mark One")]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let second = app.call("/api/update_user", &[("user_id", &mark), ("version", "1"), ("email", "mark@acme.test"), ("display_name", "Mark Two")]).await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.body);
    assert!(second.body.contains("Olivia Owner changed this at"), "{}", second.body);
    let user = json(&app.call("/api/get_user", &[("user_id", &mark)]).await);
    assert_eq!(user["display_name"], "Mark One");
    assert_eq!(user["version"], 2);
    let update = app.db.events("acme").await.into_iter().find(|e| e.0 == "user.update").unwrap();
    assert_eq!(update.2["before"]["display_name"], "Mark Member");
    assert_eq!(update.2["after"]["display_name"], "Mark One");
}

#[tokio::test]
async fn a_password_reset_ends_the_users_sessions_and_the_new_one_signs_in() {
    let app = TestApp::spawn().await;
    let mark_id = app.db.user_id("mark@acme.test").await.to_string();
    let mark = app.another_browser();
    mark.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(mark.get("/documents").await.status, StatusCode::OK);

    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let sessions = json(&app.call("/api/get_user", &[("user_id", &mark_id)]).await)["sessions"].as_array().unwrap().len();
    assert_eq!(sessions, 1, "the user's page lists the open session");
    let reset = app.call("/api/reset_password", &[("user_id", &mark_id)]).await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    let password: String = serde_json::from_str(&reset.body).unwrap();

    let again = mark.get("/documents").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "the old session is over");
    let fresh = app.another_browser();
    assert!(fresh.sign_in("acme", "mark@acme.test", PASSWORD).await.location().unwrap().contains("/login"), "the old password no longer works");
    assert_eq!(fresh.sign_in("acme", "mark@acme.test", &password).await.location(), Some("/account/password?next=/"));
}

#[tokio::test]
async fn an_owner_builds_a_team_that_grants_a_role_to_its_members() {
    let app = TestApp::spawn().await;
    let mark = app.db.user_id("mark@acme.test").await.to_string();
    let auditor = app.db.role_id("acme", "auditor").await.to_string();
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;

    let empty = app.call("/api/create_team", &[("name", "  ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let team = app.call("/api/create_team", &[("name", "Compliance"), ("description", "Reads the audit log")]).await;
    assert_eq!(team.status, StatusCode::OK, "{}", team.body);
    let team: String = serde_json::from_str(&team.body).unwrap();
    let twice = app.call("/api/create_team", &[("name", "compliance")]).await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(twice.body.contains("already exists"), "{}", twice.body);

    let member = app.another_browser();
    member.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(member.get("/audit").await.status, StatusCode::FORBIDDEN);

    assert_eq!(app.call("/api/add_team_member", &[("team_id", &team), ("user_id", &mark)]).await.status, StatusCode::OK);
    assert_eq!(app.call("/api/grant_team_role", &[("team_id", &team), ("role_id", &auditor)]).await.status, StatusCode::OK);
    assert_eq!(member.get("/audit").await.status, StatusCode::OK, "the team's role applies on the next request");

    let lead = app.call("/api/update_team", &[("team_id", &team), ("version", "1"), ("name", "Compliance"), ("lead_user_id", &mark)]).await;
    assert_eq!(lead.status, StatusCode::OK, "{}", lead.body);
    let detail = json(&app.call("/api/get_team", &[("team_id", &team)]).await);
    assert_eq!(detail["lead_user_id"], mark.as_str());
    assert_eq!(detail["members"][0][2], "mark@acme.test");

    assert_eq!(app.call("/api/delete_team", &[("team_id", &team)]).await.status, StatusCode::OK);
    assert_eq!(member.get("/audit").await.status, StatusCode::FORBIDDEN, "a deleted team grants nothing");
    assert_eq!(app.call("/api/restore_team", &[("team_id", &team)]).await.status, StatusCode::OK);
    assert_eq!(member.get("/audit").await.status, StatusCode::OK);

    let actions: Vec<String> = app.db.events("acme").await.into_iter().map(|e| e.0).filter(|a| a.starts_with("team.")).collect();
    assert_eq!(actions, ["team.create", "team.member_add", "team.role_grant", "team.update", "team.delete", "team.restore"]);
    let page = app.get(&format!("/teams/{team}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Mark Member") && page.body.contains("team.role_grant"), "the team page shows members and history");
}

#[tokio::test]
async fn the_last_owner_cannot_be_lost_through_a_team() {
    let app = TestApp::spawn().await;
    app.db.exec_as_superuser("DELETE FROM user_roles WHERE role_id IN (SELECT id FROM roles WHERE system_key = 'owner')").await;
    app.db.team_with_role("acme", "Board", "olivia@acme.test", "owner").await;
    let team: String = {
        let tenant = app.db.tenant_id("acme").await;
        let mut conn: sqlx::PgConnection = sqlx::Connection::connect_with(&app.db.superuser()).await.unwrap();
        let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM teams WHERE tenant_id = $1 AND name = 'Board'").bind(tenant).fetch_one(&mut conn).await.unwrap();
        id.to_string()
    };
    app.db.grant("maya@acme.test", "acme", "admin").await;
    let olivia = app.db.user_id("olivia@acme.test").await.to_string();
    let owner = app.db.role_id("acme", "owner").await.to_string();
    app.sign_in("acme", "maya@acme.test", PASSWORD).await;
    for (path, fields) in [
        ("/api/delete_team", vec![("team_id", team.as_str())]),
        ("/api/remove_team_member", vec![("team_id", team.as_str()), ("user_id", olivia.as_str())]),
    ] {
        let response = app.call(path, &fields).await;
        assert_eq!(response.status, StatusCode::CONFLICT, "{path}: {}", response.body);
        assert!(response.body.contains("last owner"), "{path}: {}", response.body);
    }
    // Maya (admin) may not hand out or take the owner role at all: it carries audit:export.
    let revoke = app.call("/api/revoke_team_role", &[("team_id", &team), ("role_id", &owner)]).await;
    assert_eq!(revoke.status, StatusCode::FORBIDDEN, "{}", revoke.body);
}

#[tokio::test]
async fn a_platform_administrator_creates_a_tenant_whose_owner_can_sign_in() {
    let app = TestApp::spawn().await;
    app.sign_in("platform", "admin@steward.test", PASSWORD).await;
    let bad = app
        .call("/api/create_tenant", &[("name", ""), ("slug", "-bad-"), ("plan", "gold"), ("owner_name", "Bill"), ("owner_email", "bill")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<String> = json(&bad)["Validation"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect();
    assert_eq!(fields, ["name", "slug", "plan", "owner_email"]);
    let taken = app
        .call("/api/create_tenant", &[("name", "Acme Two"), ("slug", "acme"), ("plan", "standard"), ("owner_name", "Bill"), ("owner_email", "bill@acme2.test")])
        .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(taken.body.contains("already taken"), "{}", taken.body);

    let created = app
        .call(
            "/api/create_tenant",
            &[("name", "Initech"), ("slug", "Initech"), ("plan", "enterprise"), ("modules[]", "audit"), ("owner_name", "Bill Lumbergh"), ("owner_email", "bill@initech.test")],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let password = json(&created)["temporary_password"].as_str().unwrap().to_string();

    let list = json(&app.call("/api/list_tenants", &[("query[q]", "init")]).await);
    assert_eq!(list["rows"][0]["slug"], "initech");
    assert_eq!(list["rows"][0]["plan"], "enterprise");
    assert_eq!(list["rows"][0]["modules"], serde_json::json!(["audit", "core", "people"]));

    let bill = app.another_browser();
    assert_eq!(bill.sign_in("initech", "bill@initech.test", &password).await.location(), Some("/account/password?next=/"));
    let temporary = password;
    let password = "violet tractor anthem".to_string();
    let changed = bill
        .call("/api/change_password", &[("current_password", &temporary), ("new_password", &password), ("confirm_password", &password)])
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let menu = bill.get("/").await;
    assert!(menu.body.contains("Audit log") && !menu.body.contains(">Documents<"), "the owner sees the modules chosen");
    assert!(app.db.events("initech").await.iter().any(|e| e.0 == "tenant.create"));
    assert!(app.db.events("platform").await.iter().any(|e| e.0 == "tenant.create"), "the platform's chain has it too");

    // Suspending ends the members' sessions and stops sign-in; reactivating restores it.
    let initech = app.db.tenant_id("initech").await.to_string();
    assert_eq!(app.call("/api/suspend_tenant", &[("tenant_id", &initech)]).await.status, StatusCode::OK);
    assert_eq!(bill.get("/").await.status, StatusCode::SEE_OTHER);
    assert!(bill.sign_in("initech", "bill@initech.test", &password).await.location().unwrap().contains("/login"));
    assert_eq!(app.call("/api/reactivate_tenant", &[("tenant_id", &initech)]).await.status, StatusCode::OK);
    assert_eq!(bill.sign_in("initech", "bill@initech.test", &password).await.location(), Some("/"));

    // Delete and restore; the platform tenant itself cannot go.
    assert_eq!(app.call("/api/delete_tenant", &[("tenant_id", &initech)]).await.status, StatusCode::OK);
    let deleted = json(&app.call("/api/list_tenants", &[("query[status]", "deleted")]).await);
    assert_eq!(deleted["rows"][0]["slug"], "initech");
    assert_eq!(app.call("/api/restore_tenant", &[("tenant_id", &initech)]).await.status, StatusCode::OK);
    let platform = app.db.tenant_id("platform").await.to_string();
    let refused = app.call("/api/suspend_tenant", &[("tenant_id", &platform)]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);

    // Settings, with optimistic concurrency.
    let detail = json(&app.call("/api/get_tenant", &[("tenant_id", &initech)]).await);
    let version = detail["version"].to_string();
    let saved = app
        .call("/api/update_tenant", &[("tenant_id", &initech), ("version", &version), ("name", "Initech Corp"), ("plan", "free"), ("brand_colour", "#123abc")])
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let stale = app
        .call("/api/update_tenant", &[("tenant_id", &initech), ("version", &version), ("name", "Old"), ("plan", "free"), ("brand_colour", "")])
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let colour = app
        .call("/api/update_tenant", &[("tenant_id", &initech), ("version", "99"), ("name", "X"), ("plan", "free"), ("brand_colour", "red")])
        .await;
    assert_eq!(colour.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn support_staff_act_inside_a_tenant_reset_a_password_and_cannot_change_roles() {
    let app = TestApp::spawn().await;
    // Someone with no role yet (support may act only on people whose
    // grants are within theirs: Mark reads documents, support does not).
    let owner = app.another_browser();
    owner.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let created = owner.call("/api/create_user", &[("email", "nina@acme.test"), ("display_name", "Nina New"), ("password", PASSWORD)]).await;
    assert!(created.status.is_success(), "{}", created.body);
    let mark = app.db.user_id("nina@acme.test").await.to_string();
    let auditor = app.db.role_id("acme", "auditor").await.to_string();
    app.sign_in("platform", "support@steward.test", PASSWORD).await;

    let unknown = app.call("/api/act_in_tenant", &[("slug", "nowhere"), ("reason", "ticket 1")]).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let entered = app.call("/api/act_in_tenant", &[("slug", "acme"), ("reason", "ticket 1"), ("next", &format!("/users/{mark}"))]).await;
    assert_eq!(entered.status, StatusCode::OK, "{}", entered.body);

    let page = app.get(&format!("/users/{mark}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_testid("acting-banner"), "a banner says whose tenant this is");
    assert!(page.body.contains("Nina New"));
    assert!(page.body.contains("Reset password") && !page.has_testid("assign-role-form"), "support may reset, not assign");

    let reset = app.call("/api/reset_password", &[("user_id", &mark)]).await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    let assign = app.call("/api/assign_role", &[("user_id", &mark), ("role_id", &auditor)]).await;
    assert_eq!(assign.status, StatusCode::FORBIDDEN);

    let support = app.db.user_id("support@steward.test").await;
    let platform = app.db.tenant_id("platform").await;
    let member = app.db.user_id("mark@acme.test").await.to_string();
    let refused = app.call("/api/reset_password", &[("user_id", &member)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "Mark holds document permissions support lacks: {}", refused.body);
    let reset_event = app.db.events("acme").await.into_iter().find(|e| e.0 == "user.password_reset").unwrap();
    assert_eq!(reset_event.1.as_deref(), Some(mark.as_str()));
    let (actor, actor_tenant): (Option<uuid::Uuid>, Option<uuid::Uuid>) = {
        let mut conn: sqlx::PgConnection = sqlx::Connection::connect_with(&app.db.superuser()).await.unwrap();
        sqlx::query_as("SELECT actor_user_id, actor_tenant_id FROM audit_events WHERE action = 'user.password_reset'").fetch_one(&mut conn).await.unwrap()
    };
    assert_eq!((actor, actor_tenant), (Some(support), Some(platform)), "the event names the support user and their tenant");

    assert_eq!(app.call("/api/stop_acting", &[]).await.status, StatusCode::OK);
    let back = app.get(&format!("/users/{mark}")).await;
    assert_eq!(back.status, StatusCode::NOT_FOUND, "back on the platform, Acme's user is out of reach");
}

/// The tenants list asks why once, in one form, and each live row's button
/// names that form and sends its tenant's short name (before, every row
/// carried a form of its own: 2.4 KB a row, 153 KB for the 1M bench's 50
/// rows). Without JavaScript the browser posts the button's pair with the
/// reason. A suspended tenant's refusal is said in words on the list; before,
/// the list said "Please correct the highlighted fields" with nothing
/// highlighted, the short name being a hidden field.
#[tokio::test]
async fn the_tenants_list_asks_why_once_and_each_row_acts_inside_its_tenant() {
    let app = TestApp::spawn().await;
    app.sign_in("platform", "admin@steward.test", PASSWORD).await;
    let list = app.get("/tenants").await;
    assert_eq!(list.status, StatusCode::OK);
    // (The header's tenant switcher has a reason field of its own: `switch-reason`.)
    assert_eq!(list.body.matches(r#"id="reason""#).count(), 1, "one reason field for the list");
    assert_eq!(list.body.matches(r#"data-testid="act-inside-form""#).count(), 1);
    let rows = list.body.matches(r#"data-testid="tenant-row""#).count();
    let buttons = list.body.matches(r#"form="act-inside""#).count();
    // Every customer tenant has its button; the platform, which staff
    // return to rather than act inside, has none.
    assert!(rows >= 3 && buttons == rows - 1, "{buttons} buttons for {rows} tenants");
    assert!(list.body.contains(r#"value="globex""#) && list.body.contains(r#"aria-label="Act inside globex""#));
    assert!(!list.body.contains(r#"aria-label="Act inside platform""#));

    // What a browser without JavaScript sends for Globex's button.
    let entered = app.post_form("/api/act_in_tenant", "/tenants", &[("next", "/"), ("reason", "ticket 42: from the list"), ("slug", "globex")]).await;
    assert!(entered.status.is_redirection(), "{}", entered.body);
    let inside = app.get("/").await;
    assert!(inside.has_testid("acting-banner") && inside.body.contains("Globex") && inside.body.contains("ticket 42: from the list"));
    assert_eq!(app.call("/api/stop_acting", &[]).await.status, StatusCode::OK);

    // A suspended tenant: refused, and the list says why.
    let globex = app.db.tenant_id("globex").await.to_string();
    assert_eq!(app.call("/api/suspend_tenant", &[("tenant_id", &globex)]).await.status, StatusCode::OK);
    let refused = app.post_form("/api/act_in_tenant", "/tenants", &[("next", "/"), ("reason", "ticket 43: suspended"), ("slug", "globex")]).await;
    assert!(refused.status.is_redirection(), "{}", refused.body);
    let back = app.get(refused.location().unwrap().trim_start_matches("http://127.0.0.1:3000")).await;
    assert!(back.body.contains("That tenant is suspended: reactivate it first to act inside it."), "{}", refused.location().unwrap());
    assert!(!back.body.contains("Please correct the highlighted fields"));
    assert!(back.body.contains(r#"value="ticket 43: suspended""#), "the reason typed is kept");
    assert!(!back.has_testid("acting-banner"));
    assert!(!back.body.contains(r#"aria-label="Act inside globex""#), "a suspended tenant's row offers no way in");
}

#[tokio::test]
async fn a_customer_cannot_act_inside_another_tenant() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    assert_eq!(app.call("/api/act_in_tenant", &[("slug", "globex")]).await.status, StatusCode::FORBIDDEN);
    // A forged session record is ignored for anyone but platform staff.
    assert_eq!(app.get("/users").await.status, StatusCode::OK);
    let globex_user = app.db.user_id("max@globex.test").await;
    assert_eq!(app.get(&format!("/users/{globex_user}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_csv_export_holds_the_filtered_users_and_is_guarded() {
    let app = TestApp::spawn().await;
    let anonymous = app.get("/users/export.csv").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let member = app.another_browser();
    member.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(member.get("/users/export.csv").await.status, StatusCode::FORBIDDEN);

    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    app.db.exec_as_superuser("UPDATE users SET display_name = '=HYPERLINK(\"x\"), Mark' WHERE email = 'mark@acme.test'").await;
    let csv = app.get("/users/export.csv?q=acme.test").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "email,name,status,roles,last_sign_in,created");
    assert_eq!(lines.len(), 5, "{}", csv.body);
    assert!(lines[1].starts_with("audrey@acme.test,Audrey Auditor,active,Auditor,"), "{}", lines[1]);
    assert!(csv.body.contains("mark@acme.test,\"'=HYPERLINK(\"\"x\"\"), Mark\""), "formulas are defused: {}", csv.body);
    assert!(!csv.body.contains("globex"));
    let suspended = app.get("/users/export.csv?status=suspended").await;
    assert_eq!(suspended.body.lines().count(), 1, "only the header: nobody is suspended");
    assert!(app.db.events("acme").await.iter().any(|e| e.0 == "user.export"));
}

#[tokio::test]
async fn the_screens_render_on_the_server_with_their_data() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let users = app.get("/users?q=mark").await;
    assert_eq!(users.status, StatusCode::OK);
    assert!(users.body.contains("mark@acme.test") && !users.body.contains("maya@acme.test"), "the search applies on the server render");
    let mark = app.db.user_id("mark@acme.test").await;
    let page = app.get(&format!("/users/{mark}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_testid("profile-form") && page.has_testid("history"));
    assert_eq!(app.get("/users/not-a-uuid").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/users/{}", uuid::Uuid::now_v7())).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/teams").await.status, StatusCode::OK);
    assert_eq!(app.get("/tenants").await.status, StatusCode::FORBIDDEN, "owners do not see the tenant registry");

    let admin = app.another_browser();
    admin.sign_in("platform", "admin@steward.test", PASSWORD).await;
    let tenants = admin.get("/tenants").await;
    assert_eq!(tenants.status, StatusCode::OK);
    assert!(tenants.body.contains("globex") && tenants.body.contains("acme"));
}

#[tokio::test]
async fn a_failed_form_post_without_javascript_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let post = app.post_form("/api/create_user", "/users/new", &[("email", "not-an-email"), ("display_name", "Typed Name")]).await;
    assert_eq!(post.status, StatusCode::FOUND, "{:?}", post.headers);
    let back = post.location().unwrap().to_string();
    let page = app.get(back.trim_start_matches("http://127.0.0.1:3000")).await;
    assert!(page.body.contains("value=\"Typed Name\""), "the name typed is back in its field");
    assert!(page.body.contains("does not look like an email"), "the message is beside the field");

    let ok = app.post_form("/api/create_team", "/teams", &[("name", "Typed Team")]).await;
    assert!(ok.status.is_redirection());
    let page = app.get("/teams").await;
    assert!(page.body.contains("Team created."), "the notice shows after the redirect");
    assert!(!app.get("/teams").await.body.contains("Team created."), "once");
}
