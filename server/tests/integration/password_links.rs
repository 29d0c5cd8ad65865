//! Links to choose a password: "Forgot your password?" on the sign-in page,
//! and "Send a reset link" on a person's page. The link reaches only the
//! person's mailbox (here, the outbox the worker delivers to), works once
//! and until it expires, ends every session and key, and nobody else ever
//! learns the password.

use crate::support::*;
use axum::http::StatusCode;
use sqlx::{ConnectOptions, Connection};

async fn links_to(db: &TestDb, email: &str) -> Vec<String> {
    mailed_links(db, email, "user.password_link").await
}

fn link_of(path: &str) -> String {
    path.split("link=").nth(1).unwrap().to_string()
}

async fn ask(app: &TestApp, tenant: &str, email: &str) -> TestResponse {
    app.call("/api/request_password_link", &[("tenant", tenant), ("email", email)]).await
}

async fn use_link(app: &TestApp, link: &str, password: &str, confirm: &str) -> TestResponse {
    app.call("/api/use_password_link", &[("link", link), ("new_password", password), ("confirm_password", confirm)]).await
}

const NEW: &str = "a brand new passphrase 7";

#[tokio::test]
async fn forgot_password_answers_alike_for_every_address_and_mails_only_a_real_active_account() {
    let app = TestApp::spawn().await;
    let db = app.db.clone();
    let olivia = TestApp::on(db.clone()).await;
    olivia.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let maya = db.user_id("maya@acme.test").await.to_string();
    assert!(olivia.call("/api/suspend_user", &[("user_id", &maya)]).await.status.is_success());

    let answers = [
        ask(&app, "acme", "mark@acme.test").await,
        ask(&app, "acme", "nobody@acme.test").await,
        ask(&app, "nowhere", "mark@acme.test").await,
        ask(&app, "acme", "maya@acme.test").await,
    ];
    for a in &answers {
        assert_eq!((a.status, a.location(), a.body.as_str()), (answers[0].status, answers[0].location(), answers[0].body.as_str()), "the same answer for every address");
    }
    assert!(answers[0].status.is_success() || answers[0].status.is_redirection(), "{:?}", answers[0]);
    assert_eq!(links_to(&db, "mark@acme.test").await.len(), 1);
    assert!(links_to(&db, "maya@acme.test").await.is_empty(), "a suspended account gets no link");

    let events = db.events("acme").await;
    let of = |action: &str| events.iter().filter(|e| e.0 == action).map(|e| e.2["after"]["reason"].as_str().unwrap_or_default().to_string()).collect::<Vec<_>>();
    assert_eq!(of("auth.password_link_requested").len(), 1);
    assert_eq!(of("auth.password_link_refused"), vec!["unknown account".to_string(), "account or organisation not active".to_string()]);

    // Empty fields are told beside the field.
    let r = ask(&app, "", "not an address").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Enter your organisation's short name.") && r.body.contains("Enter the email address you sign in with."), "{}", r.body);

    // The page, without JavaScript: the form, then the one answer.
    let page = app.get("/login/forgot").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_testid("forgot-form"), "{}", page.body);
    let sent = app.get("/login/forgot?sent=1").await;
    assert!(sent.has_testid("link-sent") && sent.body.contains("If that address has an account"), "{}", sent.body);
    assert!(app.get("/login").await.has_testid("forgot-link"));
}

#[tokio::test]
async fn a_link_sets_the_password_once_ends_every_session_and_key_and_tells_the_person() {
    let app = TestApp::spawn().await;
    let db = app.db.clone();
    let elsewhere = TestApp::on(db.clone()).await;
    elsewhere.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(elsewhere.get("/").await.status, StatusCode::OK);

    ask(&app, "acme", "mark@acme.test").await;
    let path = links_to(&db, "mark@acme.test").await.remove(0);
    let link = link_of(&path);
    let page = app.get(&path).await;
    assert!(page.has_testid("reset-form"), "{}", page.body);

    // Refused without using the link up: the password rules, beside the fields.
    let r = use_link(&app, &link, NEW, "something else entirely").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("This does not match the new password."), "{}", r.body);
    let r = use_link(&app, &link, "short", "short").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let r = use_link(&app, &link, NEW, NEW).await;
    assert!(r.status.is_success() || r.status.is_redirection(), "{r:?}");
    // The other session ended; the old password no longer works, the new one does.
    assert_eq!(elsewhere.get("/").await.status, StatusCode::SEE_OTHER);
    let old = TestApp::on(db.clone()).await;
    old.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(old.get("/").await.status, StatusCode::SEE_OTHER, "the old password no longer signs in");
    let new = TestApp::on(db.clone()).await;
    new.sign_in("acme", "mark@acme.test", NEW).await;
    assert_eq!(new.get("/").await.status, StatusCode::OK);

    // Once only.
    let again = use_link(&app, &link, "another passphrase 99", "another passphrase 99").await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.body.contains("This link does not work"), "{}", again.body);
    assert!(app.get(&path).await.has_testid("link-broken"));

    let mut conn = db.superuser().connect().await.unwrap();
    let notices: Vec<String> = sqlx::query_scalar("SELECT kind FROM mail_outbox WHERE to_address = 'mark@acme.test' ORDER BY created_at").fetch_all(&mut conn).await.unwrap();
    assert_eq!(notices, vec!["user.password_link", "user.password_set_by_link"]);
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT secret_hash FROM password_links").fetch_all(&mut conn).await.unwrap();
    let secret = link.split('.').nth(1).unwrap();
    assert!(stored.iter().all(|h| h.len() == 32 && !String::from_utf8_lossy(h).contains(secret)), "only a digest of the secret is kept");
    conn.close().await.unwrap();
}

#[tokio::test]
async fn links_expire_a_newer_password_ends_them_and_an_hour_sends_three_at_most() {
    let app = TestApp::spawn().await;
    let db = app.db.clone();
    for _ in 0..4 {
        ask(&app, "acme", "mark@acme.test").await;
    }
    let links = links_to(&db, "mark@acme.test").await;
    assert_eq!(links.len(), 3, "three links an hour");
    assert!(db.events("acme").await.iter().any(|e| e.0 == "auth.password_link_refused" && e.2["after"]["reason"] == "too many links asked for in an hour"));

    // Expired.
    db.exec_as_superuser("UPDATE password_links SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 hour' WHERE id = (SELECT id FROM password_links ORDER BY created_at DESC, id DESC LIMIT 1)").await;
    let r = use_link(&app, &link_of(&links[0]), NEW, NEW).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // A password set another way (an administrator's reset) ends the rest.
    let olivia = TestApp::on(db.clone()).await;
    olivia.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let mark = db.user_id("mark@acme.test").await.to_string();
    assert!(olivia.call("/api/reset_password", &[("user_id", &mark)]).await.status.is_success());
    let r = use_link(&app, &link_of(&links[1]), NEW, NEW).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // A link made up is no link.
    let r = use_link(&app, &format!("{}.{}", uuid::Uuid::nil().simple(), "0".repeat(64)), NEW, NEW).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn support_sends_a_reset_link_within_the_delegation_rule_and_never_learns_the_password() {
    let db = TestDb::new().await;
    let olivia = TestApp::on(db.clone()).await;
    olivia.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    // Maya administers acme, but is not an owner.
    db.grant("maya@acme.test", "acme", "admin").await;
    let maya = TestApp::on(db.clone()).await;
    maya.sign_in("acme", "maya@acme.test", PASSWORD).await;
    let (mark, olivia_id) = (db.user_id("mark@acme.test").await.to_string(), db.user_id("olivia@acme.test").await.to_string());

    let r = olivia.call("/api/send_password_link", &[("user_id", &mark)]).await;
    assert!(r.status.is_success(), "{r:?}");
    assert!(!r.body.contains("link="), "the caller is not given the link: {}", r.body);
    let mut conn = db.superuser().connect().await.unwrap();
    let (subject, body): (String, String) =
        sqlx::query_as("SELECT subject, body_text FROM mail_outbox WHERE to_address = 'mark@acme.test'").fetch_one(&mut conn).await.unwrap();
    assert_eq!(subject, "A link to choose your password");
    assert!(body.contains("Olivia Owner sent you a link") && body.contains("for a day"), "{body}");
    conn.close().await.unwrap();
    assert!(db.events("acme").await.iter().any(|e| e.0 == "user.password_link_sent" && e.1.as_deref() == Some(mark.as_str())));
    // Mark's password still works until he uses the link.
    let still = TestApp::on(db.clone()).await;
    still.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(still.get("/").await.status, StatusCode::OK);

    // An administrator may not send one to the owner, who holds more than she does.
    let r = maya.call("/api/send_password_link", &[("user_id", &olivia_id)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(links_to(&db, "olivia@acme.test").await.is_empty());
    // A member may not send any.
    let member = TestApp::on(db.clone()).await;
    member.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(member.call("/api/send_password_link", &[("user_id", &olivia_id)]).await.status, StatusCode::FORBIDDEN);

    // The button on the person's page.
    let page = olivia.get(&format!("/users/{mark}")).await;
    assert!(page.has_testid("send-reset-link"), "{}", page.body);
}

#[tokio::test]
async fn the_sent_mail_screen_shows_no_live_link_except_on_a_private_first_start() {
    let app = TestApp::spawn().await;
    let db = app.db.clone();
    ask(&app, "acme", "mark@acme.test").await;
    let link = links_to(&db, "mark@acme.test").await.remove(0);
    let secret = link_of(&link);

    // A platform administrator of a server others reach: the message, not its link.
    let admin = TestApp::on(db.clone()).await;
    admin.sign_in("platform", "admin@steward.test", PASSWORD).await;
    let listed = admin.call("/api/list_sent_mail", &[("query[to]", "mark@acme.test")]).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert!(!listed.body.contains(&secret), "{}", listed.body);
    assert!(listed.body.contains("the link is shown only to the person it was sent to"), "{}", listed.body);
    assert!(!admin.get("/mail").await.body.contains(&secret));

    // Steward's own cluster on a loopback address with no SMTP server: the
    // screen is the only mailbox, so it shows the link.
    let private = steward::web::router(app.pool.clone(), &steward::web::WebConfig { mail_links_on_screen: true, ..web_config() });
    let admin_here = TestApp { db: db.clone(), pool: app.pool.clone(), router: private, cookies: Default::default() };
    admin_here.sign_in("platform", "admin@steward.test", PASSWORD).await;
    assert!(admin_here.call("/api/list_sent_mail", &[("query[to]", "mark@acme.test")]).await.body.contains(&secret));

    // On a server that listens elsewhere and has no public address, no link is made at all.
    let exposed = steward::web::router(app.pool.clone(), &steward::web::WebConfig { site_addr: "0.0.0.0:3000".parse().unwrap(), ..web_config() });
    let stranger = TestApp { db: db.clone(), pool: app.pool.clone(), router: exposed, cookies: Default::default() };
    let r = stranger.call("/api/request_password_link", &[("tenant", "acme"), ("email", "mark@acme.test")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("STEWARD_PUBLIC_URL"), "{}", r.body);
    assert_eq!(links_to(&db, "mark@acme.test").await.len(), 1);
}

#[tokio::test]
async fn a_change_of_email_a_suspension_or_the_organisation_suspended_ends_the_links() {
    let app = TestApp::spawn().await;
    let db = app.db.clone();
    let olivia = TestApp::on(db.clone()).await;
    olivia.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let mark = db.user_id("mark@acme.test").await.to_string();
    let broken = |r: &TestResponse| r.status == StatusCode::UNPROCESSABLE_ENTITY && r.body.contains("This link does not work");

    // A link mailed to the old address ends when the address changes.
    ask(&app, "acme", "mark@acme.test").await;
    let first = link_of(&links_to(&db, "mark@acme.test").await.remove(0));
    let version = json(&olivia.call("/api/get_user", &[("user_id", &mark)]).await)["version"].as_i64().unwrap().to_string();
    let moved = olivia.call("/api/update_user", &[("user_id", &mark), ("version", &version), ("email", "mark.new@acme.test"), ("display_name", "Mark Member")]).await;
    assert!(moved.status.is_success(), "{moved:?}");
    assert!(broken(&use_link(&app, &first, NEW, NEW).await));

    // A suspension ends it, and a reactivation does not bring it back.
    ask(&app, "acme", "mark.new@acme.test").await;
    let second = link_of(&links_to(&db, "mark.new@acme.test").await.remove(0));
    assert!(olivia.call("/api/suspend_user", &[("user_id", &mark)]).await.status.is_success());
    assert!(olivia.call("/api/reactivate_user", &[("user_id", &mark)]).await.status.is_success());
    assert!(broken(&use_link(&app, &second, NEW, NEW).await));

    // So does the organisation's suspension.
    ask(&app, "acme", "mark.new@acme.test").await;
    let third = link_of(&links_to(&db, "mark.new@acme.test").await.remove(0));
    let admin = TestApp::on(db.clone()).await;
    admin.sign_in("platform", "admin@steward.test", PASSWORD).await;
    let acme = db.tenant_id("acme").await.to_string();
    assert!(admin.call("/api/suspend_tenant", &[("tenant_id", &acme)]).await.status.is_success());
    assert!(admin.call("/api/reactivate_tenant", &[("tenant_id", &acme)]).await.status.is_success());
    assert!(broken(&use_link(&app, &third, NEW, NEW).await));
}
