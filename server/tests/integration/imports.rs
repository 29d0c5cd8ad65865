//! CSV import of users, as an uploader observes it: the report of every
//! refused row, valid rows in, and nothing half-imported.

use crate::support::{json, TestApp, PASSWORD};
use axum::http::StatusCode;
use serde_json::Value;
use std::time::Duration;

/// Uploads a file and follows the import until it finishes.
pub async fn import(app: &TestApp, content: &str) -> Value {
    let response = app.upload("/users/imports", "file", "people.csv", content.as_bytes()).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let report = response.location().unwrap().to_string();
    let id = report.strip_prefix("/users/imports/").expect("the report page").to_string();
    for _ in 0..200 {
        let status = json(&app.call("/api/get_import", &[("import_id", &id)]).await);
        if status["state"] != "running" {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the import did not finish");
}

#[tokio::test]
async fn an_import_creates_the_valid_rows_and_reports_each_refused_one() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let file = "email,name,role\n\
                ann@acme.test,Ann Import,Auditor\n\
                not-an-email,Bad Email,\n\
                mark@acme.test,Mark Again,\n\
                bo@acme.test,Bo Import,\n\
                cy@acme.test,Cy Import,Wizards\n\
                bo@acme.test,Bo Twice,\n\
                dee@acme.test,,\n\
                short-line\n";
    let status = import(&app, file).await;
    assert_eq!(status["state"], "done");
    assert_eq!(status["total"], 8);
    assert_eq!(status["processed"], 8);
    assert_eq!(status["created"], 2, "{status}");
    assert_eq!(status["failed_count"], 6);
    let failed: Vec<(i64, String, String)> = status["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["line"].as_i64().unwrap(), f["email"].as_str().unwrap().to_string(), f["reason"].as_str().unwrap().to_string()))
        .collect();
    let reason = |line: i64| failed.iter().find(|f| f.0 == line).unwrap_or_else(|| panic!("line {line} in {failed:?}")).2.clone();
    assert!(reason(3).contains("does not look like an email"), "{}", reason(3));
    assert_eq!(reason(4), "That email address is already used in this organisation.");
    assert_eq!(reason(6), "There is no role named Wizards.");
    assert_eq!(reason(7), "That email address is already used in this organisation.", "a repeat within the file");
    assert_eq!(reason(8), "Enter the person's name.");
    assert_eq!(reason(9), "This line has 1 fields; the header has 3.");

    // Valid rows are in, with their role; the refused ones left nothing.
    let list = json(&app.call("/api/list_users", &[("query[q]", "import")]).await);
    let emails: Vec<&str> = list["rows"].as_array().unwrap().iter().map(|r| r["email"].as_str().unwrap()).collect();
    assert_eq!(emails.len(), 2);
    assert!(emails.contains(&"ann@acme.test") && emails.contains(&"bo@acme.test"));
    let none = json(&app.call("/api/list_users", &[("query[q]", "cy@acme")]).await);
    assert_eq!(none["count"], serde_json::json!({ "Exact": 0 }), "the row whose role failed is not half-imported");
    let ann = app.db.user_id("ann@acme.test").await.to_string();
    let explained = json(&app.call("/api/explain_access", &[("user_id", &ann), ("permission", "audit:read")]).await);
    assert_eq!(explained["allowed"], true, "the role column was applied");

    // Each created user and the import itself are audit events.
    let events = app.db.events("acme").await;
    let creates: Vec<&Value> = events.iter().filter(|e| e.0 == "user.create").map(|e| &e.2).collect();
    assert_eq!(creates.len(), 2);
    assert_eq!(creates[0]["after"]["import_id"], status["id"]);
    assert!(events.iter().any(|e| e.0 == "user.import"));
    let finish = events.iter().find(|e| e.0 == "user.import_finish").expect("the finish event");
    assert_eq!(finish.2["after"]["created"], 2);

    // The report page lists the refused rows.
    let page = app.get(&format!("/users/imports/{}", status["id"].as_str().unwrap())).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Finished: 2 created, 6 refused."));
    assert_eq!(page.body.matches("data-testid=\"import-failure\"").count(), 6);
}

/// Three batches written a few statements at a time: the report is what a
/// row at a time would give (repeats within a batch and across batches, an
/// address already in use, a malformed one), each person has their events
/// in the file's order (created, then given their role), and the chain holds.
#[tokio::test]
async fn a_large_import_reports_each_row_and_records_its_events_in_the_files_order() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let before = steward::db::verify_audit(&app.db.targets.owner, Some("acme")).await.unwrap()[0].checked;
    let email = |i: usize| match i {
        100 => "mark@acme.test".to_string(),
        120 => "BULK110@acme.test".to_string(),
        300 => "bulk5@acme.test".to_string(),
        450 => "not-an-email".to_string(),
        _ => format!("bulk{i}@acme.test"),
    };
    let mut file = String::from("email,name,role\n");
    for i in 0..600 {
        file.push_str(&format!("{},Bulk {i},{}\n", email(i), if i % 2 == 0 { "Auditor" } else { "" }));
    }
    let status = import(&app, &file).await;
    assert_eq!((status["state"].as_str(), status["created"].as_i64(), status["failed_count"].as_i64()), (Some("done"), Some(596), Some(4)), "{status}");
    let failed: Vec<(i64, String)> =
        status["failed"].as_array().unwrap().iter().map(|f| (f["line"].as_i64().unwrap(), f["reason"].as_str().unwrap().to_string())).collect();
    let in_use = "That email address is already used in this organisation.".to_string();
    assert_eq!(failed[0], (102, in_use.clone()), "{failed:?}");
    assert_eq!(failed[1], (122, in_use.clone()), "a repeat within the batch, in other letters");
    assert_eq!(failed[2], (302, in_use), "a repeat from an earlier batch");
    assert_eq!(failed[3].0, 452);
    assert!(failed[3].1.contains("does not look like an email"), "{failed:?}");

    // Every created person's events, in the file's order: the creation,
    // then (every other row) the role.
    let events = app.db.events("acme").await;
    let mut expected = Vec::new();
    for i in (0..600).filter(|i| ![100, 120, 300, 450].contains(i)) {
        expected.push(("user.create".to_string(), email(i)));
        if i % 2 == 0 {
            expected.push(("user.role_grant".to_string(), "Auditor".to_string()));
        }
    }
    let got: Vec<(String, String)> = events
        .iter()
        .filter(|e| e.0 == "user.create" || e.0 == "user.role_grant")
        .map(|e| (e.0.clone(), e.2["after"]["email"].as_str().or(e.2["after"]["role"].as_str()).unwrap_or_default().to_string()))
        .collect();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "the events are not in the file's order");
    let bulk0 = app.db.user_id("bulk0@acme.test").await.to_string();
    let grant = events.iter().find(|e| e.0 == "user.role_grant").unwrap();
    assert_eq!(grant.1.as_deref(), Some(bulk0.as_str()), "the grant names the person");
    let explained = json(&app.call("/api/explain_access", &[("user_id", &bulk0), ("permission", "audit:read")]).await);
    assert_eq!(explained["allowed"], true, "the role was given");
    let reports = steward::db::verify_audit(&app.db.targets.owner, Some("acme")).await.unwrap();
    assert!(reports[0].broken.is_none(), "{reports:?}");
    assert_eq!(reports[0].checked, before + 596 + 296 + 2, "each person's events, the import's and its finish");
    // The overview's kept counts moved with the batches' statements.
    assert_eq!(app.db.user_count_drift().await, vec![]);
    // The merge the import ends with is the application's to call.
    let pool = app.db.app_pool().await;
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('steward.tenant_id', $1, true)").bind(app.db.tenant_id("acme").await.to_string()).execute(&mut *tx).await.unwrap();
    sqlx::query("SELECT steward_user_search_tidy()").execute(&mut *tx).await.expect("the application role may merge the search index's pending list");
    tx.commit().await.unwrap();
}

/// A plan that runs out within a batch: the batch goes a row at a time, so
/// the rows before the limit are created and the rest refused with the
/// plan's sentence.
#[tokio::test]
async fn an_import_that_fills_the_plan_midway_keeps_the_rows_that_fit() {
    let app = TestApp::spawn().await;
    app.db.exec_as_superuser("UPDATE plans SET max_people = 7 WHERE key = 'free'").await;
    app.db.exec_as_superuser("UPDATE tenants SET plan = 'free' WHERE slug = 'acme'").await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    // Acme has four people: three more fit.
    let status = import(&app, "email,name\nfit1@acme.test,One\nfit2@acme.test,Two\nfit3@acme.test,Three\nover1@acme.test,Four\nover2@acme.test,Five\n").await;
    assert_eq!((status["state"].as_str(), status["created"].as_i64(), status["failed_count"].as_i64()), (Some("done"), Some(3), Some(2)), "{status}");
    const FULL: &str = "The Free plan allows 7 people, and Acme Corporation has 7 already. Delete someone who has left, or ask for a larger plan.";
    assert_eq!((status["failed"][0]["line"].as_i64(), status["failed"][0]["reason"].as_str()), (Some(5), Some(FULL)), "{status}");
    assert_eq!(status["failed"][1]["line"], 6);
    let created: Vec<String> = app.db.events("acme").await.into_iter().filter(|e| e.0 == "user.create").map(|e| e.2["after"]["email"].as_str().unwrap().to_string()).collect();
    assert_eq!(created, ["fit1@acme.test", "fit2@acme.test", "fit3@acme.test"]);
    // The batch that went back and then a row at a time moved the kept
    // counts once per row kept.
    assert_eq!(app.db.user_count_drift().await, vec![]);
}

#[tokio::test]
async fn a_file_without_its_columns_or_too_big_is_refused_with_a_message_beside_the_field() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let response = app.upload("/users/imports", "file", "people.csv", b"mail,who\na@b.test,A\n").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let back = response.location().unwrap().to_string();
    assert!(back.starts_with("/users/import?error="), "{back}");
    let page = app.get(&back).await;
    assert!(page.body.contains("The first line must name the columns: email, name"), "the message shows on the form");

    let mut big = b"email,name\n".to_vec();
    while big.len() <= app::users::IMPORT_MAX_BYTES {
        big.extend_from_slice(b"someone.with.a.long.address@acme.test,Some One With A Long Name\n");
    }
    let response = app.upload("/users/imports", "file", "big.csv", &big).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let page = app.get(response.location().unwrap()).await;
    assert!(page.body.contains("The file is larger than 16 MB"), "{}", response.location().unwrap());
    let imports = json(&app.call("/api/list_imports", &[]).await);
    assert_eq!(imports.as_array().unwrap().len(), 0, "no import was started");
}

#[tokio::test]
async fn importing_needs_user_create_and_another_tenants_import_is_404() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "mark@acme.test", PASSWORD).await;
    let refused = app.upload("/users/imports", "file", "people.csv", b"email,name\nz@acme.test,Z\n").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let gina = app.another_browser();
    gina.sign_in("globex", "gina@globex.test", PASSWORD).await;
    let status = import(&gina, "email,name\nnew@globex.test,New Globex\n").await;
    assert_eq!(status["created"], 1);
    let olivia = app.another_browser();
    olivia.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let other = olivia.call("/api/get_import", &[("import_id", status["id"].as_str().unwrap())]).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_import_cut_off_by_a_restart_is_reported_as_interrupted() {
    let app = TestApp::spawn().await;
    let tenant_id = app.db.tenant_id("acme").await;
    let olivia = app.db.user_id("olivia@acme.test").await;
    let (stuck, fresh) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    app.db
        .exec_as_superuser(&format!(
            "INSERT INTO user_imports (tenant_id, id, created_by, file_name, total, processed, created, updated_at)
             VALUES ('{tenant_id}', '{stuck}', '{olivia}', 'stuck.csv', 1000, 250, 250, now() - interval '10 minutes'),
                    ('{tenant_id}', '{fresh}', '{olivia}', 'fresh.csv', 1000, 250, 250, now())"
        ))
        .await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let status = json(&app.call("/api/get_import", &[("import_id", &stuck.to_string())]).await);
    assert_eq!(status["state"], "interrupted");
    let running = json(&app.call("/api/get_import", &[("import_id", &fresh.to_string())]).await);
    assert_eq!(running["state"], "running", "one that is still moving is running");
    let page = app.get(&format!("/users/imports/{stuck}")).await;
    assert!(page.body.contains("Cut off after 250 rows (Steward restarted)"));
    assert!(!page.body.contains("http-equiv=\"refresh\""), "an interrupted import's page stops reloading");
    let recent = json(&app.call("/api/list_imports", &[]).await);
    let states: Vec<&str> = recent.as_array().unwrap().iter().map(|i| i["state"].as_str().unwrap()).collect();
    assert_eq!(states.len(), 2);
    assert!(states.contains(&"interrupted") && states.contains(&"running"));
}
