//! The roles screens' server functions: custom roles and their matrix,
//! delegation limits, concurrency, holders, explain access — as a caller
//! observes them.

use crate::support::{json, TestApp, TestResponse, PASSWORD};
use axum::http::StatusCode;
use serde_json::Value;


fn field_message(r: &TestResponse, field: &str) -> String {
    let body = json(r);
    let errors = body["Validation"].as_array().unwrap_or_else(|| panic!("no field errors in {}", r.body));
    errors
        .iter()
        .find(|e| e["field"] == field)
        .and_then(|e| e["message"].as_str())
        .unwrap_or_else(|| panic!("no message for {field} in {}", r.body))
        .to_string()
}

async fn views_of(app: &TestApp) -> Vec<String> {
    let me = json(&app.call("/api/me", &[]).await);
    me["views"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_custom_role_carries_its_matrix_and_its_holder_sees_the_view_on_the_next_request() {
    let owner = TestApp::spawn().await;
    owner.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let member = owner.another_browser();
    member.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert!(!views_of(&member).await.contains(&"teams".to_string()));

    let created = owner
        .call(
            "/api/create_role",
            &[("name", " Team viewers "), ("description", "Sees the teams"), ("perms[]", "team:read"), ("views[]", "teams"), ("perms[]", "team:read")],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let role_id = json(&created).as_str().unwrap().to_string();

    let role = json(&owner.call("/api/get_role", &[("role_id", &role_id)]).await);
    assert_eq!(role["name"], "Team viewers", "the name is trimmed");
    assert_eq!(role["permissions"], serde_json::json!(["team:read"]), "duplicates fold");
    assert_eq!(role["views"], serde_json::json!(["teams"]));
    assert_eq!(role["is_system"], false);

    let mark = owner.db.user_id("mark@acme.test").await.to_string();
    let assigned = owner.call("/api/assign_role", &[("user_id", &mark), ("role_id", &role_id)]).await;
    assert_eq!(assigned.status, StatusCode::OK, "{}", assigned.body);
    assert!(views_of(&member).await.contains(&"teams".to_string()), "the grant applies on the member's next request");
    let page = member.get("/teams").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_testid("team-table"), "and the page opens");

    let events = owner.db.events("acme").await;
    let create = events.iter().find(|e| e.0 == "role.create").expect("a role.create event");
    assert_eq!(create.2["after"]["permissions"], serde_json::json!(["team:read"]));
    assert_eq!(create.2["after"]["views"], serde_json::json!(["teams"]));

    // Taking the view out again removes it on the next request too.
    let version = role["version"].to_string();
    let saved = owner.call("/api/update_role", &[("role_id", &role_id), ("version", &version), ("name", "Team viewers"), ("perms[]", "team:read")]).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(!views_of(&member).await.contains(&"teams".to_string()));
    let update = owner.db.events("acme").await.into_iter().find(|e| e.0 == "role.update").expect("a role.update event");
    assert_eq!(update.2["before"]["views"], serde_json::json!(["teams"]));
    assert_eq!(update.2["after"]["views"], serde_json::json!([]));
}

#[tokio::test]
async fn bad_role_input_gets_a_message_beside_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let long = "x".repeat(101);
    for (fields, field, message) in [
        (vec![("name", "  ")], "name", "Enter a name."),
        (vec![("name", long.as_str())], "name", "A name has 100 characters at most."),
        (vec![("name", "Owner")], "name", "A role with that name already exists."),
        (vec![("name", "Readers"), ("perms[]", "document:fly")], "perms", "No such permission in this organisation: document:fly."),
        (vec![("name", "Readers"), ("views[]", "tenants")], "views", "No such view in this organisation: tenants."),
        (vec![("name", "Readers"), ("perms[]", "tenant:create")], "perms", "No such permission in this organisation: tenant:create."),
    ] {
        let response = app.call("/api/create_role", &fields).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}: {}", response.body);
        assert_eq!(field_message(&response, field), message);
    }
    let events = app.db.events("acme").await;
    assert!(!events.iter().any(|e| e.0 == "role.create"), "nothing was written");

    // Without JavaScript, a refused post keeps the checked boxes and the name.
    let refused = app.post_form("/api/create_role", "/roles/new", &[("name", "Owner"), ("perms[]", "audit:read"), ("views[]", "audit")]).await;
    assert_eq!(refused.status, StatusCode::FOUND);
    let back = refused.location().unwrap().trim_start_matches("http://127.0.0.1:3000").to_string();
    let page = app.get(&back).await;
    assert!(page.body.contains(r#"id="perm-audit-read""#));
    let checked = page.body.split(r#"id="perm-audit-read""#).nth(1).unwrap().split('>').next().unwrap().to_string();
    assert!(checked.contains("checked"), "the box stays checked: {checked}");
    assert!(page.body.contains("A role with that name already exists."));
}

#[tokio::test]
async fn a_created_role_opens_on_its_own_page_without_javascript() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let response = app.post_form("/api/create_role", "/roles/new", &[("name", "Night readers"), ("perms[]", "document:read"), ("views[]", "documents")]).await;
    assert_eq!(response.status, StatusCode::FOUND);
    let location = response.location().expect("a redirect").to_string();
    assert!(location.starts_with("/roles/"), "{location}");
    let page = app.get(&location).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Night readers"));
    assert!(page.has_testid("save-role"), "a custom role can be edited");
}

#[tokio::test]
async fn a_delegated_administrator_cannot_put_into_a_role_what_they_do_not_hold() {
    let app = TestApp::spawn().await;
    let tenant_id = app.db.tenant_id("acme").await;
    // Mark manages roles but holds nothing else of note.
    let managers = uuid::Uuid::now_v7();
    app.db.exec_as_superuser(&format!("INSERT INTO roles (tenant_id, id, name) VALUES ('{tenant_id}', '{managers}', 'Role managers')")).await;
    app.db
        .exec_as_superuser(&format!(
            "INSERT INTO role_permissions SELECT '{tenant_id}', '{managers}', unnest(ARRAY['role:manage','role:read','document:read']);
             INSERT INTO role_views VALUES ('{tenant_id}', '{managers}', 'roles')"
        ))
        .await;
    app.db.grant("mark@acme.test", "acme", "Role managers").await;
    app.sign_in("acme", "mark@acme.test", PASSWORD).await;

    let refused = app.call("/api/create_role", &[("name", "Auditors too"), ("perms[]", "audit:read"), ("perms[]", "document:read")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_message(&refused, "perms"), "You cannot give permissions you do not hold: audit:read.");
    let refused = app.call("/api/create_role", &[("name", "Auditors too"), ("views[]", "audit")]).await;
    assert_eq!(field_message(&refused, "views"), "You cannot give views you cannot open: audit.");

    // A role that already carries audit:read may be renamed by Mark: what
    // it carries stays, he only may not add.
    let olivia = app.another_browser();
    olivia.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let role_id = json(&olivia.call("/api/create_role", &[("name", "Compliance"), ("perms[]", "audit:read"), ("perms[]", "document:read")]).await)
        .as_str()
        .unwrap()
        .to_string();
    let renamed = app.call("/api/update_role", &[("role_id", &role_id), ("version", "1"), ("name", "Compliance desk"), ("perms[]", "audit:read")]).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    let role = json(&app.call("/api/get_role", &[("role_id", &role_id)]).await);
    assert_eq!(role["permissions"], serde_json::json!(["audit:read"]));

    // And Mark cannot take role:manage out of the role that gives it to him.
    let managers = managers.to_string();
    let locked = app.call("/api/update_role", &[("role_id", &managers), ("version", "1"), ("name", "Role managers"), ("perms[]", "role:read")]).await;
    assert_eq!(locked.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", locked.body);
    assert_eq!(field_message(&locked, "perms"), "You cannot take these permissions out: this role is what lets you manage access.");
    let still = json(&app.call("/api/get_role", &[("role_id", &managers)]).await);
    assert_eq!(still["permissions"], serde_json::json!(["document:read", "role:manage", "role:read"]), "nothing half-written");
}

#[tokio::test]
async fn saving_over_a_newer_version_says_who_changed_it_and_system_roles_stay_as_they_are() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let role_id = json(&app.call("/api/create_role", &[("name", "Readers"), ("perms[]", "document:read")]).await).as_str().unwrap().to_string();
    let first = app.call("/api/update_role", &[("role_id", &role_id), ("version", "1"), ("name", "Readers A")]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let second = app.call("/api/update_role", &[("role_id", &role_id), ("version", "1"), ("name", "Readers B")]).await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert!(second.body.contains("Olivia Owner changed this at"), "{}", second.body);
    let role = json(&app.call("/api/get_role", &[("role_id", &role_id)]).await);
    assert_eq!(role["name"], "Readers A");
    // Without JavaScript the page comes back with the conflict and a way to the latest version.
    let stale = app.post_form("/api/update_role", &format!("/roles/{role_id}"), &[("role_id", &role_id), ("version", "1"), ("name", "Readers C")]).await;
    let back = stale.location().unwrap().trim_start_matches("http://127.0.0.1:3000").to_string();
    let page = app.get(&back).await;
    assert!(page.body.contains("Olivia Owner changed this at"), "the conflict is on the page");
    assert!(page.has_testid("reload"));

    let owner_role = app.db.role_id("acme", "owner").await.to_string();
    let system = app.call("/api/update_role", &[("role_id", &owner_role), ("version", "1"), ("name", "Boss")]).await;
    assert_eq!(system.status, StatusCode::CONFLICT);
    assert!(system.body.contains("Owner is a system role: it cannot be changed."), "{}", system.body);
    let page = app.get(&format!("/roles/{owner_role}")).await;
    assert!(page.has_testid("system-role-note"));
    assert!(!page.has_testid("save-role"), "no save button on a system role");
}

#[tokio::test]
async fn a_roles_page_shows_who_holds_it_directly_and_through_teams() {
    let app = TestApp::spawn().await;
    app.db.team_with_role("acme", "Night shift", "mark@acme.test", "auditor").await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let auditor = app.db.role_id("acme", "auditor").await.to_string();
    let role = json(&app.call("/api/get_role", &[("role_id", &auditor)]).await);
    let holders: Vec<(String, Value)> = role["holders"].as_array().unwrap().iter().map(|h| (h["email"].as_str().unwrap().to_string(), h["via_team"].clone())).collect();
    assert_eq!(
        holders,
        [("audrey@acme.test".to_string(), Value::Null), ("mark@acme.test".to_string(), Value::from("Night shift"))]
    );
    assert_eq!(role["holder_count"], serde_json::json!({ "Exact": 2 }));
    assert_eq!(role["teams"][0][1], "Night shift");

    let list = json(&app.call("/api/list_roles", &[("deleted", "false")]).await);
    let row = list.as_array().unwrap().iter().find(|r| r["name"] == "Auditor").unwrap();
    assert_eq!(row["direct"], serde_json::json!({ "Exact": 1 }));
    assert_eq!(row["teams"], 1);
    let page = app.get("/roles").await;
    assert!(page.has_testid("role-table"));
    assert!(page.body.contains("Auditor"));
}

#[tokio::test]
async fn a_deleted_role_leaves_its_holders_and_comes_back_on_restore() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let role_id = json(&app.call("/api/create_role", &[("name", "Archivists"), ("perms[]", "audit:read"), ("views[]", "audit")]).await).as_str().unwrap().to_string();
    let mark_id = app.db.user_id("mark@acme.test").await.to_string();
    app.call("/api/assign_role", &[("user_id", &mark_id), ("role_id", &role_id)]).await;
    let mark = app.another_browser();
    mark.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert!(views_of(&mark).await.contains(&"audit".to_string()));

    assert_eq!(app.call("/api/delete_role", &[("role_id", &role_id)]).await.status, StatusCode::OK);
    assert!(!views_of(&mark).await.contains(&"audit".to_string()), "a deleted role grants nothing");
    let deleted = json(&app.call("/api/list_roles", &[("deleted", "true")]).await);
    assert_eq!(deleted.as_array().unwrap().len(), 1);

    assert_eq!(app.call("/api/restore_role", &[("role_id", &role_id)]).await.status, StatusCode::OK);
    assert!(views_of(&mark).await.contains(&"audit".to_string()), "restored, it grants again");
    let actions: Vec<String> = app.db.events("acme").await.into_iter().map(|e| e.0).filter(|a| a.starts_with("role.")).collect();
    assert_eq!(actions, ["role.create", "role.delete", "role.restore"]);
}

#[tokio::test]
async fn explain_access_takes_an_email_and_answers_on_its_page() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let no = json(&app.call("/api/explain_access", &[("email", "MARK@acme.test"), ("view", "users")]).await);
    assert_eq!(no["allowed"], false);
    let yes = json(&app.call("/api/explain_access", &[("email", "mark@acme.test"), ("permission", "document:read")]).await);
    assert_eq!(yes["allowed"], true);
    assert_eq!(yes["grants"][0]["role"], "Member");

    let unknown = app.call("/api/explain_access", &[("email", "max@globex.test"), ("view", "users")]).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_message(&unknown, "email"), "No user with this email address in this organisation.");
    let nobody = app.call("/api/explain_access", &[("view", "users")]).await;
    assert_eq!(field_message(&nobody, "email"), "Enter the email address of the person to check.");

    let page = app.get("/roles/explain?email=mark%40acme.test&view=users").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_testid("explanation"));
    assert!(page.body.contains("Not allowed"));
    assert!(page.body.contains("Mark Member cannot open the users view"), "the reason is spelled out");
}

#[tokio::test]
async fn nobody_takes_their_own_administration_away_through_a_team() {
    let app = TestApp::spawn().await;
    let tenant_id = app.db.tenant_id("acme").await;
    let (role, team) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let mark = app.db.user_id("mark@acme.test").await;
    app.db
        .exec_as_superuser(&format!(
            "INSERT INTO roles (tenant_id, id, name) VALUES ('{tenant_id}', '{role}', 'Gatekeepers');
             INSERT INTO role_permissions SELECT '{tenant_id}', '{role}', unnest(ARRAY['role:assign','role:manage','role:read','team:manage','team:read']);
             INSERT INTO teams (tenant_id, id, name) VALUES ('{tenant_id}', '{team}', 'Gate');
             INSERT INTO team_members (tenant_id, team_id, user_id) VALUES ('{tenant_id}', '{team}', '{mark}');
             INSERT INTO team_roles (tenant_id, team_id, role_id) VALUES ('{tenant_id}', '{team}', '{role}');"
        ))
        .await;
    app.sign_in("acme", "mark@acme.test", PASSWORD).await;
    let (role, team, mark) = (role.to_string(), team.to_string(), mark.to_string());
    for (path, fields, message) in [
        ("/api/revoke_team_role", vec![("team_id", team.as_str()), ("role_id", role.as_str())], "You cannot take Gatekeepers from this team"),
        ("/api/delete_team", vec![("team_id", team.as_str())], "You cannot delete this team"),
        ("/api/remove_team_member", vec![("team_id", team.as_str()), ("user_id", mark.as_str())], "You cannot leave this team"),
        ("/api/delete_role", vec![("role_id", role.as_str())], "You cannot delete Gatekeepers"),
    ] {
        let response = app.call(path, &fields).await;
        assert_eq!(response.status, StatusCode::CONFLICT, "{path}: {}", response.body);
        assert!(response.body.contains(message), "{path}: {}", response.body);
    }
    let team_now = json(&app.call("/api/get_team", &[("team_id", &team)]).await);
    assert_eq!(team_now["deleted"], false, "nothing was half-done");
    assert_eq!(team_now["members"].as_array().unwrap().len(), 1);
    assert_eq!(team_now["roles"].as_array().unwrap().len(), 1);
}
