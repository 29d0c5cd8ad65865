//! The attack suite's first part: sign-in throttling and lockout, the
//! password policy and flows, session lifetime and revocation, cross-site
//! requests and the security headers.

use crate::support::{form_encode, sign_in_from, sign_in_via, web_config, TestApp, TestDb, PASSWORD};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use sqlx::ConnectOptions;
use std::time::Duration;

const LOCKED: &str = "Too many failed sign-ins";

fn actions(events: &[(String, Option<String>, serde_json::Value)]) -> Vec<&str> {
    events.iter().map(|e| e.0.as_str()).collect()
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_until_support_unlocks_it() {
    let app = TestApp::spawn().await;
    for attempt in 1..=4 {
        let res = app.call("/api/sign_in", &[("tenant", "acme"), ("email", "mark@acme.test"), ("password", "wrong-password-x")]).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {attempt}: {}", res.body);
    }
    let fifth = app.call("/api/sign_in", &[("tenant", "acme"), ("email", "Mark@ACME.test"), ("password", "wrong-password-x")]).await;
    assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS, "{}", fifth.body);
    assert!(fifth.body.contains("TooManyAttempts") && fifth.body.contains("a minute"), "{}", fifth.body);
    // Without JavaScript the form says it in words.
    let browser = app.another_browser();
    let back = browser.sign_in("acme", "mark@acme.test", "wrong-password-x").await;
    let page = browser.get(back.location().unwrap().trim_start_matches("http://127.0.0.1:3000")).await;
    assert!(page.body.contains(LOCKED), "the sign-in page says why");
    // The right password is not even looked at while locked.
    let right = app.call("/api/sign_in", &[("tenant", "acme"), ("email", "mark@acme.test"), ("password", PASSWORD)]).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.get("/").await.location(), Some("/login"), "not signed in");

    let events = app.db.events("acme").await;
    let acts = actions(&events);
    assert_eq!(acts.iter().filter(|a| **a == "auth.sign_in_failed").count(), 5);
    assert_eq!(acts.iter().filter(|a| **a == "auth.account_locked").count(), 1);
    // Two attempts were refused during the block; its first is recorded.
    assert_eq!(acts.iter().filter(|a| **a == "auth.sign_in_throttled").count(), 1);
    let locked = events.iter().find(|e| e.0 == "auth.account_locked").unwrap();
    assert_eq!(locked.2["after"]["failures_in_a_row"], 5);

    // The owner sees the lock on Mark's page and lifts it.
    let owner = app.another_browser();
    owner.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let mark = app.db.user_id("mark@acme.test").await.to_string();
    let page = owner.get(&format!("/users/{mark}")).await;
    assert!(page.has_testid("sign-in-locked"), "the lock is shown");
    assert!(page.has_testid("unlock-user"));
    let unlock = owner.call("/api/unlock_user", &[("user_id", &mark)]).await;
    assert_eq!(unlock.status, StatusCode::OK, "{}", unlock.body);
    assert!(!owner.get(&format!("/users/{mark}")).await.has_testid("sign-in-locked"));
    let unlock_event = app.db.events("acme").await.into_iter().find(|e| e.0 == "user.unlock").expect("recorded");
    assert_eq!(unlock_event.1.as_deref(), Some(mark.as_str()));
    assert_eq!(unlock_event.2["before"]["failures_in_a_row"], 5);

    let again = app.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(again.status, StatusCode::FOUND, "{}", again.body);
    assert_eq!(app.get("/").await.status, StatusCode::OK);
}

/// Failures at a network the account was signed in from count there alone:
/// a guesser inside the owner's own network blocks that network, not every
/// other, and an unlock lifts the blocks of every place.
#[tokio::test]
async fn failures_at_a_familiar_network_block_that_network_alone() {
    let app = TestApp::spawn().await;
    let first = sign_in_from(&app.another_browser(), "203.0.113.7", "acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    for n in 1..=5 {
        let guess = sign_in_from(&app.another_browser(), "203.0.113.8", "acme", "mark@acme.test", "wrong-password-x").await;
        let expected = if n < 5 { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(guess.status, expected, "guess {n}: {}", guess.body);
    }
    let there = sign_in_from(&app.another_browser(), "203.0.113.7", "acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(there.status, StatusCode::TOO_MANY_REQUESTS, "that network waits");
    let locked = app.db.events("acme").await.into_iter().find(|e| e.0 == "auth.account_locked").expect("recorded");
    assert_eq!(locked.2["after"]["familiar_place"], true);

    // The owner sees the lock, not marked as strangers' only, and lifts it.
    let owner = app.another_browser();
    owner.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let mark = app.db.user_id("mark@acme.test").await.to_string();
    let page = owner.get(&format!("/users/{mark}")).await;
    assert!(page.has_testid("sign-in-locked"));
    assert!(!page.body.contains("From their usual networks"));
    assert_eq!(owner.call("/api/unlock_user", &[("user_id", &mark)]).await.status, StatusCode::OK);
    let back = sign_in_from(&app.another_browser(), "203.0.113.7", "acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
}

/// A network nobody signed in from shares the count every other such
/// network adds to, so the block placed there holds against all of them;
/// another network the account knows is not held by it.
#[tokio::test]
async fn new_networks_share_one_count_and_a_known_network_keeps_its_own() {
    let app = TestApp::spawn().await;
    assert_eq!(sign_in_from(&app.another_browser(), "2001:db8:1:2::5", "acme", "mark@acme.test", PASSWORD).await.status, StatusCode::OK);
    for n in 1..=5 {
        let guess = sign_in_from(&app.another_browser(), &format!("2001:db8:{n}:9::1"), "acme", "mark@acme.test", "wrong-password-x").await;
        let expected = if n < 5 { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(guess.status, expected, "guess {n} from a new /64");
    }
    assert_eq!(sign_in_from(&app.another_browser(), "2001:db8:77::1", "acme", "mark@acme.test", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
    let home = sign_in_from(&app.another_browser(), "2001:db8:1:2:aaaa::9", "acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(home.status, StatusCode::OK, "the same /64: {}", home.body);
}

#[tokio::test]
async fn an_account_that_does_not_exist_is_throttled_just_the_same() {
    let app = TestApp::spawn().await;
    let mut answers = Vec::new();
    for email in ["mark@acme.test", "nobody@acme.test"] {
        for _ in 0..5 {
            let res = app.call("/api/sign_in", &[("tenant", "acme"), ("email", email), ("password", "wrong-password-x")]).await;
            answers.push((email, res.status, res.body));
        }
    }
    let (real, ghost) = answers.split_at(5);
    for (a, b) in real.iter().zip(ghost) {
        assert_eq!((a.1, &a.2), (b.1, &b.2), "the same answer for an account that exists and one that does not");
    }
    assert_eq!(ghost[4].1, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn twenty_failures_from_one_address_block_it_for_every_account() {
    let app = TestApp::spawn().await;
    for n in 0..19 {
        let res = sign_in_from(&app, "203.0.113.7", "acme", &format!("guess{n}@acme.test"), "wrong-password-x").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "failure {n}");
    }
    let twentieth = sign_in_from(&app, "203.0.113.7", "acme", "guess19@acme.test", "wrong-password-x").await;
    assert_eq!(twentieth.status, StatusCode::TOO_MANY_REQUESTS);
    // Even a right password from that address waits; another address does not.
    let blocked = sign_in_from(&app, "203.0.113.7", "acme", "olivia@acme.test", PASSWORD).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS, "{}", blocked.body);
    let elsewhere = sign_in_from(&app.another_browser(), "198.51.100.1", "acme", "olivia@acme.test", PASSWORD).await;
    assert_eq!(elsewhere.status, StatusCode::OK, "{}", elsewhere.body);
    let events = app.db.events("acme").await;
    let blocked = events.iter().find(|e| e.0 == "auth.address_blocked").expect("recorded");
    assert_eq!(blocked.2["after"]["address"], "203.0.113.7");
    // A storm against the blocked address is answered without writing: the
    // block's first refusal is its only event.
    for n in 0..10 {
        let res = sign_in_from(&app, "203.0.113.7", "acme", &format!("more{n}@acme.test"), "wrong-password-x").await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    }
    let after = app.db.events("acme").await;
    let throttled: Vec<_> = after.iter().filter(|e| e.0 == "auth.sign_in_throttled").collect();
    assert_eq!(throttled.len(), 1, "one event for the block, not one per attempt");
    assert_eq!(throttled[0].2["after"]["email"], "olivia@acme.test", "the first refused attempt");
    assert_eq!(after.len(), events.len(), "the storm wrote nothing");
}

#[tokio::test]
async fn a_password_hashed_with_older_parameters_is_hashed_again_at_sign_in() {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let app = TestApp::spawn().await;
    let weak = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, argon2::Params::new(4096, 1, 1, None).unwrap())
        .hash_password(PASSWORD.as_bytes(), &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
    app.db.exec_as_superuser(&format!("UPDATE users SET password_hash = '{weak}' WHERE email = 'mark@acme.test'")).await;
    let res = app.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(res.status, StatusCode::FOUND);
    let mut conn = app.db.superuser().connect().await.unwrap();
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'mark@acme.test'").fetch_one(&mut conn).await.unwrap();
    assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
    let event = app.db.events("acme").await.into_iter().rev().find(|e| e.0 == "auth.sign_in").unwrap();
    assert_eq!(event.2["after"]["password_hash_upgraded"], true);
    // And the new hash still signs in.
    let again = app.another_browser().sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(again.status, StatusCode::FOUND);
}

#[tokio::test]
async fn a_new_password_must_be_long_and_uncommon() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    for (password, message) in [
        ("short-one", "Use at least 12 characters."),
        ("password1234", "most common passwords"),
        ("Sunshine2024!", "most common passwords"),
        ("zzzzzzzzzzzzzzzz", "one character repeated"),
    ] {
        let res = app
            .call("/api/create_user", &[("email", "pat@acme.test"), ("display_name", "Pat"), ("password", password)])
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{password}: {}", res.body);
        assert!(res.body.contains(message), "{password}: {}", res.body);
    }
    let mut conn = app.db.superuser().connect().await.unwrap();
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'pat@acme.test'").fetch_one(&mut conn).await.unwrap();
    assert_eq!(made, 0, "nothing half-written");
}

#[tokio::test]
async fn a_reset_password_must_be_replaced_at_the_next_sign_in() {
    let app = TestApp::spawn().await;
    let owner = app.another_browser();
    owner.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let mark = app.db.user_id("mark@acme.test").await.to_string();
    let reset = owner.call("/api/reset_password", &[("user_id", &mark)]).await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    let temporary: String = serde_json::from_str(&reset.body).unwrap();

    // Two browsers sign in with it; each is sent to choose a password.
    let other = app.another_browser();
    other.sign_in("acme", "mark@acme.test", &temporary).await;
    let res = app.post_form("/api/sign_in", "/login?next=/documents", &[("tenant", "acme"), ("email", "mark@acme.test"), ("password", &temporary), ("next", "/documents")]).await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert_eq!(res.location(), Some("/account/password?next=/documents"));
    let page = app.get("/documents").await;
    assert_eq!(page.location(), Some("/account/password?next=/documents"), "every page leads there");
    let refused = app.call("/api/list_documents", &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("Choose a new password first."), "{}", refused.body);
    let form = app.get("/account/password?next=/documents").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.has_testid("must-change") && form.has_testid("change-password-form"));

    // Wrong current password, a common new one, a mismatch: each beside its field.
    let wrong = app
        .call("/api/change_password", &[("current_password", "not-it-at-all"), ("new_password", "violet tractor anthem"), ("confirm_password", "violet tractor anthem")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("current_password") && wrong.body.contains("That is not your current password."), "{}", wrong.body);
    let common = app
        .call("/api/change_password", &[("current_password", &temporary), ("new_password", "qwertyuiop123"), ("confirm_password", "qwertyuiop123")])
        .await;
    assert!(common.body.contains("new_password") && common.body.contains("most common"), "{}", common.body);
    let mismatch = app
        .call("/api/change_password", &[("current_password", &temporary), ("new_password", "violet tractor anthem"), ("confirm_password", "violet tractor anthem!")])
        .await;
    assert!(mismatch.body.contains("confirm_password"), "{}", mismatch.body);

    let done = app
        .call("/api/change_password", &[("current_password", &temporary), ("new_password", "violet tractor anthem"), ("confirm_password", "violet tractor anthem"), ("next", "/documents")])
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body, "1", "the other browser's session ended");
    assert_eq!(app.get("/documents").await.status, StatusCode::OK, "this session goes on, free");
    assert_eq!(other.get("/documents").await.location(), Some("/login?next=/documents"), "the other is over");
    let events = app.db.events("acme").await;
    let acts = actions(&events);
    assert!(acts.contains(&"user.password_change_refused") && acts.contains(&"user.password_change"), "{acts:?}");
    // The new password signs in; the temporary one no longer does.
    assert_eq!(app.another_browser().sign_in("acme", "mark@acme.test", "violet tractor anthem").await.status, StatusCode::FOUND);
    assert_eq!(app.another_browser().call("/api/sign_in", &[("tenant", "acme"), ("email", "mark@acme.test"), ("password", &temporary)]).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn anyone_signed_in_may_change_their_own_password_and_nobody_else_may() {
    let app = TestApp::spawn().await;
    let anonymous = app.call("/api/change_password", &[("current_password", PASSWORD), ("new_password", "violet tractor anthem"), ("confirm_password", "violet tractor anthem")]).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    app.sign_in("acme", "mark@acme.test", PASSWORD).await;
    let res = app.call("/api/change_password", &[("current_password", PASSWORD), ("new_password", "violet tractor anthem"), ("confirm_password", "violet tractor anthem")]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    // The header links to the page for everyone, whatever their roles.
    assert!(app.get("/").await.has_testid("account-link"));
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_however_active() {
    let db = TestDb::new().await;
    let pool = db.app_pool().await;
    let router = steward::web::router(pool.clone(), &steward::web::WebConfig { session_max_hours: 0, ..web_config() });
    let app = TestApp { db, pool, router, cookies: Default::default() };
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    assert_eq!(app.get("/users").await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.get("/users").await.location(), Some("/login?next=/users"));
}

#[tokio::test]
async fn suspending_or_deleting_a_user_ends_their_sessions_at_once() {
    let app = TestApp::spawn().await;
    let mark_browser = app.another_browser();
    mark_browser.sign_in("acme", "mark@acme.test", PASSWORD).await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let mark = app.db.user_id("mark@acme.test").await.to_string();
    let res = app.call("/api/suspend_user", &[("user_id", &mark)]).await;
    assert_eq!(res.status, StatusCode::OK);
    let mut conn = app.db.superuser().connect().await.unwrap();
    let left: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM user_sessions WHERE user_id = '{mark}'")).fetch_one(&mut conn).await.unwrap();
    assert_eq!(left, 0, "the registry is empty");
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM tower_sessions.session").fetch_one(&mut conn).await.unwrap();
    assert_eq!(sessions, 1, "only the owner's session is left in the store");
    let event = app.db.events("acme").await.into_iter().find(|e| e.0 == "user.suspend").unwrap();
    assert_eq!(event.2["after"]["sessions_ended"], 1);
    assert_eq!(mark_browser.get("/").await.location(), Some("/login"));
}

#[tokio::test]
async fn a_cross_site_form_post_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let forged = |origin: Option<&str>, fetch_site: Option<&str>| {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri("/api/create_user")
            .header(header::ACCEPT, "text/html")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("steward_session={}", app.cookie("steward_session").unwrap()));
        if let Some(origin) = origin {
            builder = builder.header(header::ORIGIN, origin);
        }
        if let Some(site) = fetch_site {
            builder = builder.header("sec-fetch-site", site);
        }
        builder.body(Body::from(form_encode(&[("email", "forged@acme.test"), ("display_name", "Forged")]))).unwrap()
    };
    for (origin, site) in [(Some("https://evil.example"), None), (Some("null"), None), (None, Some("cross-site")), (Some("http://127.0.0.1:3000"), Some("same-site"))] {
        let res = app.request(forged(origin, site)).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{origin:?} {site:?}");
        assert!(res.body.contains("came from another site"), "{}", res.body);
    }
    // A login forged from another site is refused too.
    let mut login = Request::builder()
        .method(Method::POST)
        .uri("/api/sign_in")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::REFERER, "https://evil.example/steward")
        .body(Body::from(form_encode(&[("tenant", "acme"), ("email", "mark@acme.test"), ("password", PASSWORD)])))
        .unwrap();
    login.headers_mut().insert(header::HOST, "127.0.0.1:3000".parse().unwrap());
    assert_eq!(app.another_browser().request(login).await.status, StatusCode::FORBIDDEN);

    let mut conn = app.db.superuser().connect().await.unwrap();
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'forged@acme.test'").fetch_one(&mut conn).await.unwrap();
    assert_eq!(made, 0);
    // The same post from the page's own origin works.
    let res = app.request(forged(Some("http://127.0.0.1:3000"), Some("same-origin"))).await;
    assert!(res.status.is_redirection(), "{} {}", res.status, res.body);
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'forged@acme.test'").fetch_one(&mut conn).await.unwrap();
    assert_eq!(made, 1);
}

#[tokio::test]
async fn pages_carry_a_content_security_policy_with_the_nonce_of_their_scripts() {
    let app = TestApp::spawn().await;
    let page = app.get("/login").await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = page.headers.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap().to_string();
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce in the policy");
    assert!(nonce.len() >= 16, "{nonce}");
    assert!(page.body.contains(&format!("nonce=\"{nonce}\"")), "the hydration script carries it");
    for script in page.body.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap_or_default();
        assert!(tag.contains("src=") || tag.contains(&format!("nonce=\"{nonce}\"")), "an inline script without the nonce: <script{tag}>");
    }
    assert!(!page.body.contains(" style=\""), "no inline style for the policy to refuse");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_ne!(app.get("/login").await.headers.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap(), csp, "a new nonce per response");
    for (name, value) in [("x-frame-options", "DENY"), ("x-content-type-options", "nosniff"), ("referrer-policy", "same-origin")] {
        assert_eq!(page.headers.get(name).and_then(|v| v.to_str().ok()), Some(value), "{name}");
    }
    assert!(page.headers.get(header::STRICT_TRANSPORT_SECURITY).is_none(), "no HSTS over plain HTTP");

    // A server function's answer allows nothing inline at all.
    let api = app.call("/api/me", &[]).await;
    let api_csp = api.headers.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap();
    assert!(!api_csp.contains("nonce") && api_csp.contains("frame-ancestors 'none'"), "{api_csp}");

    // With Secure cookies the site is HTTPS: HSTS.
    let db = TestDb::new().await;
    let pool = db.app_pool().await;
    let router = steward::web::router(pool.clone(), &steward::web::WebConfig { secure_cookies: true, ..web_config() });
    let https = TestApp { db, pool, router, cookies: Default::default() };
    let hsts = https.get("/login").await;
    assert_eq!(
        hsts.headers.get(header::STRICT_TRANSPORT_SECURITY).and_then(|v| v.to_str().ok()),
        Some("max-age=31536000; includeSubDomains")
    );
}

#[tokio::test]
async fn people_list_their_own_sessions_and_sign_the_others_out() {
    let app = TestApp::spawn().await;
    let phone = app.another_browser();
    let laptop = app.another_browser();
    phone.sign_in("acme", "mark@acme.test", PASSWORD).await;
    laptop.sign_in("acme", "mark@acme.test", PASSWORD).await;
    app.sign_in("acme", "mark@acme.test", PASSWORD).await;
    app.another_browser().sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let listed: serde_json::Value = serde_json::from_str(&app.call("/api/list_my_sessions", &[]).await.body).unwrap();
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 3, "his three, not Olivia's");
    assert_eq!(rows.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(app.get("/account/password").await.has_testid("my-session"));
    let other = rows.iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(app.call("/api/revoke_my_sessions", &[("session_id", &other)]).await.body, "1");
    let rest = app.call("/api/revoke_my_sessions", &[]).await;
    assert_eq!(rest.body, "1", "the remaining other one");
    assert_eq!(phone.get("/").await.location(), Some("/login"));
    assert_eq!(laptop.get("/").await.location(), Some("/login"));
    assert_eq!(app.get("/").await.status, StatusCode::OK, "this one goes on");
    // Another person's session id is not found.
    let olivia_session: String = {
        let mut conn = app.db.superuser().connect().await.unwrap();
        sqlx::query_scalar("SELECT us.id::text FROM user_sessions us JOIN users u ON u.id = us.user_id WHERE u.email = 'olivia@acme.test'")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(app.call("/api/revoke_my_sessions", &[("session_id", &olivia_session)]).await.status, StatusCode::NOT_FOUND);
    assert!(app.db.events("acme").await.iter().any(|e| e.0 == "user.sessions_revoke" && e.2["after"]["by"] == "themselves"));
}

/// Behind a load balancer every connection comes from the balancer. With
/// it among the trusted proxies, each client is throttled and recorded by
/// the address the balancer forwarded: one client's guessing blocks that
/// client only, and a client writing X-Forwarded-For itself gains nothing.
#[tokio::test]
async fn behind_a_trusted_proxy_each_client_is_counted_and_recorded_by_its_own_address() {
    let db = TestDb::new().await;
    let pool = db.app_pool().await;
    let trusted = steward::client_addr::TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap()]);
    let router = steward::web::router(pool.clone(), &steward::web::WebConfig { trusted_proxies: trusted, ..web_config() });
    let app = TestApp { db, pool, router, cookies: Default::default() };
    let balancer = "10.0.0.2";
    for n in 0..19 {
        let res = sign_in_via(&app, balancer, Some("203.0.113.9"), "acme", &format!("guess{n}@acme.test"), "wrong-password-x").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "failure {n}");
    }
    // A forged entry to the left of what the balancer appended is not read.
    let twentieth = sign_in_via(&app, balancer, Some("198.51.100.7, 203.0.113.9"), "acme", "guess19@acme.test", "wrong-password-x").await;
    assert_eq!(twentieth.status, StatusCode::TOO_MANY_REQUESTS, "{}", twentieth.body);
    // Everyone else behind the same balancer still signs in.
    let other = sign_in_via(&app.another_browser(), balancer, Some("198.51.100.7"), "acme", "olivia@acme.test", PASSWORD).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
    // A client that connects itself is its own address, whatever header it
    // writes: the guesser cannot pose as someone else to get past its block,
    // and nobody can pose as the guesser.
    let guesser = sign_in_via(&app.another_browser(), "203.0.113.9", Some("198.51.100.8"), "acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(guesser.status, StatusCode::TOO_MANY_REQUESTS, "{}", guesser.body);
    let bystander = sign_in_via(&app.another_browser(), "192.0.2.1", Some("203.0.113.9"), "acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(bystander.status, StatusCode::OK, "{}", bystander.body);

    let mut conn = app.db.superuser().connect().await.unwrap();
    let recorded: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT action, host(ip) FROM audit_events WHERE action IN ('auth.address_blocked', 'auth.sign_in') ORDER BY seq")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        recorded,
        [
            ("auth.address_blocked".to_string(), Some("203.0.113.9".to_string())),
            ("auth.sign_in".to_string(), Some("198.51.100.7".to_string())),
            ("auth.sign_in".to_string(), Some("192.0.2.1".to_string())),
        ]
    );
    let blocked: String = sqlx::query_scalar("SELECT changes->'after'->>'address' FROM audit_events WHERE action = 'auth.address_blocked'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(blocked, "203.0.113.9");
}
