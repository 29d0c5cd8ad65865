//! The organisation's own settings: owners rename it and choose its brand
//! colour and logo, which its sign-in page (for a browser that signed in
//! there), its top bar and its mail show; and its plan's limits of people
//! and document storage, kept by the database on every path that adds
//! either, refused with a sentence that says what to do.

use crate::support::*;
use axum::http::StatusCode;
use sqlx::{ConnectOptions, Connection};

fn ok(r: &TestResponse) -> bool {
    r.status.is_success() || r.status.is_redirection()
}

/// A 2×1 PNG, as an image editor writes it.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,
    0x08, 0x06, 0x00, 0x00, 0x00, 0xf4, 0x22, 0x7f, 0x8a, 0x00, 0x00, 0x00, 0x10, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x08, 0x18, 0x00, 0x00, 0x1f, 0xe0, 0x03, 0xfd, 0x7b, 0x6b, 0x1b, 0x61, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60,
    0x82,
];

async fn organisation(app: &TestApp) -> serde_json::Value {
    let r = app.call("/api/get_organisation", &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    json(&r)
}

#[tokio::test]
async fn an_owner_renames_and_recolours_the_organisation_and_its_pages_show_it() {
    let app = TestApp::spawn().await;
    let acme = app.db.tenant_id("acme").await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let page = app.get("/settings").await;
    assert!(page.has_testid("organisation-settings") && page.has_testid("plan-settings"), "{}", page.body);
    let o = organisation(&app).await;
    assert_eq!(o["brand"]["name"], "Acme Corporation");
    assert_eq!(o["plan"]["name"], "Standard");
    assert_eq!(o["plan"]["people"], 4);
    let version = o["version"].as_i64().unwrap().to_string();

    // Bad input is told beside its field; nothing changes.
    let r = app.call("/api/update_organisation", &[("version", &version), ("name", ""), ("brand_colour", "red")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Enter a name.") && r.body.contains("Use a colour like #4f46e5"), "{}", r.body);
    // A save over a newer version is refused.
    let r = app.call("/api/update_organisation", &[("version", "999"), ("name", "Acme Inc"), ("brand_colour", "")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);

    let r = app.call("/api/update_organisation", &[("version", &version), ("name", "  Acme Inc "), ("brand_colour", "#0F766E")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let event = app.db.events("acme").await.into_iter().find(|e| e.0 == "tenant.settings").expect("the change is an event");
    assert_eq!(
        event.2,
        serde_json::json!({ "before": { "name": "Acme Corporation", "brand_colour": "" }, "after": { "name": "Acme Inc", "brand_colour": "#0f766e" } })
    );
    let o = organisation(&app).await;
    let version = o["version"].as_i64().unwrap();
    // The top bar of the very next page (the principal is computed again).
    let home = app.get("/").await;
    assert!(home.body.contains("Acme Inc"), "the new name in the top bar");
    let style = format!("/brand/{acme}/style.css?v={version}");
    assert!(home.body.contains(&style), "the brand's stylesheet is linked: {}", home.body);
    let (status, headers, css) = app.download(&style).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(String::from_utf8(css).unwrap(), ":root{--brand:#0f766e;--brand-ink:#ffffff}\n");
    assert_eq!(headers["content-type"], "text/css; charset=utf-8");
    assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable");
    // An old address is answered too, but checked again next time.
    let (_, headers, _) = app.download(&format!("/brand/{acme}/style.css?v=1")).await;
    assert_eq!(headers["cache-control"], "no-cache");

    // Mail carries the organisation's name and colour.
    let mark = app.db.user_id("mark@acme.test").await.to_string();
    let r = app.call("/api/send_password_link", &[("user_id", &mark)]).await;
    assert!(ok(&r), "{}", r.body);
    let mut su = app.db.superuser().connect().await.unwrap();
    let html: String = sqlx::query_scalar("SELECT body_html FROM mail_outbox WHERE to_address = 'mark@acme.test' ORDER BY created_at DESC LIMIT 1")
        .fetch_one(&mut su)
        .await
        .unwrap();
    su.close().await.unwrap();
    assert!(html.contains("Acme Inc") && html.contains("#0f766e"), "{html}");

    // A member may not.
    let mark = app.another_browser();
    mark.sign_in("acme", "mark@acme.test", PASSWORD).await;
    let r = mark.call("/api/update_organisation", &[("version", &version.to_string()), ("name", "Mark's"), ("brand_colour", "")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(mark.call("/api/get_organisation", &[]).await.status, StatusCode::FORBIDDEN);
    assert!(!mark.get("/settings").await.has_testid("organisation-settings"));
}

#[tokio::test]
async fn the_sign_in_page_shows_the_organisation_only_to_a_browser_that_signed_in_there() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let version = organisation(&app).await["version"].as_i64().unwrap().to_string();
    let r = app.call("/api/update_organisation", &[("version", &version), ("name", "Acme Inc"), ("brand_colour", "#b91c1c")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.post_form("/api/sign_out", "/", &[]).await;
    assert!(ok(&r), "{}", r.body);

    // This browser signed in to Acme: its sign-in page shows Acme, filled in.
    let page = app.get("/login").await;
    assert!(page.has_testid("sign-in-brand"), "{}", page.body);
    assert!(page.body.contains("Acme Inc") && page.body.contains("value=\"acme\""), "{}", page.body);
    assert!(page.body.contains("/style.css?v="), "the brand colour's stylesheet: {}", page.body);

    // A stranger, whatever short name they type, learns nothing of who exists.
    let stranger = app.another_browser();
    assert!(!stranger.get("/login").await.has_testid("sign-in-brand"));
    let r = stranger.sign_in("acme", "nobody@acme.test", "wrong password 123").await;
    assert!(ok(&r) || r.status == StatusCode::UNAUTHORIZED, "{}", r.body);
    let page = stranger.get("/login").await;
    assert!(page.body.contains("value=\"acme\""), "what was typed is kept");
    assert!(!page.has_testid("sign-in-brand") && !page.body.contains("Acme Inc"), "{}", page.body);
    // Nor does a made-up organisation cookie.
    stranger.set_cookie("steward_org", "0190aaaa-0000-7000-8000-000000000000");
    assert!(!stranger.get("/login").await.has_testid("sign-in-brand"));
    // Typing another organisation hides the remembered one.
    let r = app.sign_in("globex", "nobody@globex.test", "wrong password 123").await;
    assert!(!r.status.is_server_error());
    assert!(!app.get("/login").await.has_testid("sign-in-brand"));
}

#[tokio::test]
async fn a_logo_is_known_by_its_bytes_and_served_by_the_organisations_id() {
    let app = TestApp::spawn().await;
    let acme = app.db.tenant_id("acme").await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;

    // What the browser claims does not count: the bytes do.
    let r = app.upload_form("/settings/logo", &[], Some(("logo", "logo.png", "image/png", b"<svg onload=alert(1)></svg>"))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().unwrap().starts_with("/settings?field=logo&error=Upload%20a%20PNG"), "{:?}", r.location());
    let big = [PNG, &vec![0u8; 300 * 1024]].concat();
    let r = app.upload_form("/settings/logo", &[], Some(("logo", "logo.png", "image/png", &big))).await;
    assert!(r.location().unwrap_or_default().contains("256%20KB"), "{:?} {}", r.location(), r.body);
    let page = app.get(r.location().unwrap_or("/settings")).await;
    assert!(page.body.contains("256 KB at most"), "the refusal is shown beside the field");
    assert!(organisation(&app).await["logo"].is_null());

    let r = app.upload_form("/settings/logo", &[], Some(("logo", "mark.bin", "application/octet-stream", PNG))).await;
    assert_eq!(r.location(), Some("/settings"), "{}", r.body);
    let o = organisation(&app).await;
    assert_eq!(o["logo"]["content_type"], "image/png");
    assert_eq!((o["logo"]["width"].as_i64(), o["logo"]["height"].as_i64()), (Some(2), Some(1)));
    let event = app.db.events("acme").await.into_iter().find(|e| e.0 == "tenant.logo_set").expect("an event");
    assert_eq!(event.2["after"]["bytes"], PNG.len());
    let url = format!("/brand/{acme}/logo?v={}", o["version"]);
    assert!(app.get("/").await.body.contains(&url), "the top bar shows it");
    let (status, headers, bytes) = app.another_browser().download(&url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, PNG);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["content-security-policy"].to_str().unwrap().starts_with("sandbox"));

    // A member may not upload one.
    let mark = app.another_browser();
    mark.sign_in("acme", "mark@acme.test", PASSWORD).await;
    let r = mark.upload_form("/settings/logo", &[], Some(("logo", "x.png", "image/png", PNG))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = app.call("/api/remove_logo", &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.download(&url).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.download("/brand/not-an-id/logo").await.0, StatusCode::NOT_FOUND);
    assert!(app.db.events("acme").await.iter().any(|e| e.0 == "tenant.logo_remove"));
}

#[tokio::test]
async fn the_plan_limits_people_and_documents_on_every_path_that_adds_them() {
    let app = TestApp::spawn().await;
    // A small plan, for the test: Acme has four people.
    app.db.exec_as_superuser("UPDATE plans SET max_people = 5, max_document_bytes = 100 WHERE key = 'free'").await;
    app.db.exec_as_superuser("UPDATE tenants SET plan = 'free' WHERE slug = 'acme'").await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;

    let r = app.call("/api/create_user", &[("email", "fifth@acme.test"), ("display_name", "Fifth")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    const FULL: &str = "The Free plan allows 5 people, and Acme Corporation has 5 already. Delete someone who has left, or ask for a larger plan.";
    let r = app.call("/api/create_user", &[("email", "sixth@acme.test"), ("display_name", "Sixth")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains(FULL), "{}", r.body);
    let r = app.call("/api/invite_user", &[("email", "sixth@acme.test"), ("display_name", "Sixth")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains(FULL), "{}", r.body);
    // Without JavaScript, the form comes back with what was typed.
    let r = app.post_form("/api/create_user", "/users/new", &[("email", "sixth@acme.test"), ("display_name", "Sixth")]).await;
    assert!(r.status.is_redirection(), "{}", r.body);
    let page = app.get(r.location().unwrap().trim_start_matches("http://127.0.0.1:3000")).await;
    assert!(page.body.contains("The Free plan allows 5 people") && page.body.contains("sixth@acme.test"), "{}", page.body);
    let mut su = app.db.superuser().connect().await.unwrap();
    let sixth: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'sixth@acme.test'").fetch_one(&mut su).await.unwrap();
    assert_eq!(sixth, 0, "nothing half-written");
    assert!(app.db.events("acme").await.iter().all(|e| e.0 != "user.invitation_send"));

    // Deleting makes room; restoring takes it again, and is refused when full.
    let fifth = app.db.user_id("fifth@acme.test").await.to_string();
    assert_eq!(app.call("/api/delete_user", &[("user_id", &fifth)]).await.status, StatusCode::OK);
    let r = app.call("/api/create_user", &[("email", "sixth@acme.test"), ("display_name", "Sixth")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.call("/api/restore_user", &[("user_id", &fifth)]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains(FULL), "{}", r.body);

    // An import: the rows past the plan are refused, each with the sentence.
    let report = crate::imports::import(&app, "email,name\nseventh@acme.test,Seventh\n").await;
    assert_eq!((report["state"].as_str(), report["created"].as_i64()), (Some("done"), Some(0)), "{report}");
    assert_eq!(report["failed"][0]["reason"], FULL, "{report}");

    // Documents: the plan's storage, counted over every version kept.
    let r = app.upload_form("/documents/upload", &[("title", "Small")], Some(("file", "a.txt", "text/plain", &[b'a'; 60]))).await;
    assert!(r.location().unwrap_or_default().starts_with("/documents/0"), "{:?} {}", r.location(), r.body);
    let r = app.upload_form("/documents/upload", &[("title", "Too much")], Some(("file", "b.txt", "text/plain", &[b'b'; 60]))).await;
    let to = r.location().unwrap_or_default().to_string();
    assert!(to.starts_with("/documents?field=file&error=The%20Free%20plan%20allows%20100%20bytes"), "{to}");
    let page = app.get(&to).await;
    assert!(page.body.contains("Acme Corporation uses 60 bytes"), "{}", page.body);
    let o = organisation(&app).await;
    assert_eq!((o["plan"]["people"].as_i64(), o["plan"]["document_bytes"].as_i64()), (Some(5), Some(60)));

    // The platform cannot move an organisation to a plan it has outgrown.
    app.db.exec_as_superuser("UPDATE tenants SET plan = 'standard' WHERE slug = 'acme'").await;
    app.db.exec_as_superuser("UPDATE plans SET max_people = 3 WHERE key = 'free'").await;
    let admin = app.another_browser();
    admin.sign_in("platform", "admin@steward.test", PASSWORD).await;
    let acme = app.db.tenant_id("acme").await.to_string();
    let version: i32 = sqlx::query_scalar("SELECT version FROM tenants WHERE slug = 'acme'").fetch_one(&mut su).await.unwrap();
    let r = admin
        .call("/api/update_tenant", &[("tenant_id", &acme), ("version", &version.to_string()), ("name", "Acme Corporation"), ("plan", "free"), ("brand_colour", "")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Acme Corporation has 5 people, and the Free plan allows 3"), "{}", r.body);
    su.close().await.unwrap();
}

/// The "new address" notices mailed to `email`: their texts, oldest first.
async fn new_place_notices(db: &TestDb, email: &str) -> Vec<String> {
    let mut conn = db.superuser().connect().await.unwrap();
    let texts: Vec<String> = sqlx::query_scalar("SELECT subject || ' | ' || body_text FROM mail_outbox WHERE to_address = $1 AND kind = 'auth.sign_in_new_place' ORDER BY created_at")
        .bind(email)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    texts
}

#[tokio::test]
async fn people_are_told_of_a_sign_in_from_a_new_address_where_their_organisation_chose_it() {
    let app = TestApp::spawn().await;
    let signed_in = |r: TestResponse| assert!(r.status.is_success(), "{} {}", r.status, r.body);
    // Off unless chosen: a new address tells nobody.
    signed_in(sign_in_from(&app.another_browser(), "198.51.100.7", "acme", "mark@acme.test", PASSWORD).await);
    signed_in(sign_in_from(&app.another_browser(), "203.0.113.9", "acme", "mark@acme.test", PASSWORD).await);
    assert!(new_place_notices(&app.db, "mark@acme.test").await.is_empty());

    // The owner chooses it; a member may not.
    let mark = app.another_browser();
    signed_in(sign_in_from(&mark, "198.51.100.7", "acme", "mark@acme.test", PASSWORD).await);
    assert_eq!(mark.call("/api/set_new_place_notice", &[("on", "true")]).await.status, StatusCode::FORBIDDEN);
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let r = app.call("/api/set_new_place_notice", &[("on", "true")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(organisation(&app).await["notify_new_place"], true);
    let event = app.db.events("acme").await.into_iter().find(|e| e.0 == "tenant.new_place_notice").expect("an event");
    assert_eq!(event.2, serde_json::json!({ "before": { "notify_new_place": false }, "after": { "notify_new_place": true } }));

    // Places the account knows tell nothing; a new one does, with its address.
    signed_in(sign_in_from(&app.another_browser(), "198.51.100.8", "acme", "mark@acme.test", PASSWORD).await);
    assert!(new_place_notices(&app.db, "mark@acme.test").await.is_empty(), "the same network is a known place");
    signed_in(sign_in_from(&app.another_browser(), "192.0.2.44", "acme", "mark@acme.test", PASSWORD).await);
    let notices = new_place_notices(&app.db, "mark@acme.test").await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].starts_with("A sign-in from a new address | ") && notices[0].contains("192.0.2.44"), "{}", notices[0]);
    signed_in(sign_in_from(&app.another_browser(), "192.0.2.45", "acme", "mark@acme.test", PASSWORD).await);
    assert_eq!(new_place_notices(&app.db, "mark@acme.test").await.len(), 1, "known now");
    // Someone's very first sign-in tells them nothing they do not know.
    signed_in(sign_in_from(&app.another_browser(), "192.0.2.44", "acme", "maya@acme.test", PASSWORD).await);
    assert!(new_place_notices(&app.db, "maya@acme.test").await.is_empty());

    // Turned off again (the box unticked sends nothing).
    assert_eq!(app.call("/api/set_new_place_notice", &[]).await.status, StatusCode::OK);
    signed_in(sign_in_from(&app.another_browser(), "100.64.0.1", "acme", "mark@acme.test", PASSWORD).await);
    assert_eq!(new_place_notices(&app.db, "mark@acme.test").await.len(), 1);
}
