//! Two-factor sign-in: set-up, the second sign-in step, replay, recovery
//! codes, lockout, the tenant's requirement and support's reset.

use crate::support::{TestApp, PASSWORD};
use app::auth::mfa::{code_at, step_of};
use axum::http::StatusCode;
use sqlx::ConnectOptions;

fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in text.bytes() {
        buffer = (buffer << 5) | ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    out
}

/// The code of `secret` `offset` steps from now.
pub(crate) fn code(secret: &[u8], offset: i64) -> String {
    format!("{:06}", code_at(secret, step_of(chrono::Utc::now().timestamp()) + offset))
}

/// Sets up two-factor sign-in for the signed-in `app`: the secret and the recovery codes.
pub(crate) async fn enrol(app: &TestApp) -> (Vec<u8>, Vec<String>) {
    let started = app.call("/api/start_mfa", &[("current_password", PASSWORD)]).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let setup: serde_json::Value = serde_json::from_str(&started.body).unwrap();
    assert!(setup["qr_svg"].as_str().unwrap().contains("<svg"));
    let secret = base32_decode(setup["secret"].as_str().unwrap());
    assert_eq!(secret.len(), 20);
    let wrong = app.call("/api/confirm_mfa", &[("code", "000000")]).await;
    if wrong.status == StatusCode::OK {
        panic!("a wrong first code turned it on");
    }
    let confirmed = app.call("/api/confirm_mfa", &[("code", &code(&secret, 0))]).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let codes: Vec<String> = serde_json::from_str(&confirmed.body).unwrap();
    (secret, codes)
}

#[tokio::test]
async fn a_user_sets_up_an_app_and_then_signs_in_with_its_code_once() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "mark@acme.test", PASSWORD).await;
    let page = app.get("/account/two-factor").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_testid("mfa-start"));
    let (secret, codes) = enrol(&app).await;
    assert_eq!(codes.len(), 10);
    assert!(app.get("/account/two-factor").await.has_testid("mfa-on"));

    // At rest: the secret is sealed, the recovery codes are hashes.
    let mut conn = app.db.superuser().connect().await.unwrap();
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT secret_sealed FROM user_mfa").fetch_one(&mut conn).await.unwrap();
    assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_slice()), "the secret is not stored in the clear");
    let stored: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM user_recovery_codes").fetch_all(&mut conn).await.unwrap();
    assert_eq!(stored.len(), 10);
    assert!(codes.iter().all(|c| !stored.contains(c)), "no recovery code in the clear");

    // Signing in now takes a second step.
    let browser = app.another_browser();
    let first = browser.post_form("/api/sign_in", "/login", &[("tenant", "acme"), ("email", "mark@acme.test"), ("password", PASSWORD), ("next", "/documents")]).await;
    assert_eq!(first.location(), Some("/login/code?next=/documents"));
    assert_eq!(browser.get("/documents").await.location(), Some("/login?next=/documents"), "not signed in yet");
    let form = browser.get("/login/code?next=/documents").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.has_testid("mfa-form"));
    let wrong = browser.call("/api/verify_mfa", &[("code", "123 456")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("That code is not right"), "{}", wrong.body);
    // The code the set-up used is spent; the next one is good.
    let good = code(&secret, 1);
    let done = browser.call("/api/verify_mfa", &[("code", &good), ("next", "/documents")]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(browser.get("/documents").await.status, StatusCode::OK);

    // The same code again, in another browser: refused (replay).
    let thief = app.another_browser();
    thief.sign_in("acme", "mark@acme.test", PASSWORD).await;
    let replay = thief.call("/api/verify_mfa", &[("code", &good)]).await;
    assert_eq!(replay.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", replay.body);
    // A recovery code works, once.
    let recovered = thief.call("/api/verify_mfa", &[("code", &codes[3].to_uppercase())]).await;
    assert_eq!(recovered.status, StatusCode::OK, "{}", recovered.body);
    let again = app.another_browser();
    again.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(again.call("/api/verify_mfa", &[("code", &codes[3])]).await.status, StatusCode::UNPROCESSABLE_ENTITY);

    let events = app.db.events("acme").await;
    let actions: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    assert!(actions.contains(&"user.mfa_setup_started") && actions.contains(&"user.mfa_enable"), "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "auth.mfa_failed").count(), 3);
    let by_recovery = events.iter().find(|e| e.0 == "auth.sign_in" && e.2["after"]["second_factor"] == "recovery code").unwrap();
    assert_eq!(by_recovery.2["after"]["recovery_codes_left"], 9);
}

#[tokio::test]
async fn wrong_codes_lock_the_account_like_wrong_passwords() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "mark@acme.test", PASSWORD).await;
    enrol(&app).await;
    let browser = app.another_browser();
    browser.sign_in("acme", "mark@acme.test", PASSWORD).await;
    for _ in 0..4 {
        assert_eq!(browser.call("/api/verify_mfa", &[("code", "000001")]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let fifth = browser.call("/api/verify_mfa", &[("code", "000001")]).await;
    assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS, "{}", fifth.body);
    // The password alone is refused too while locked.
    let password = app.another_browser().call("/api/sign_in", &[("tenant", "acme"), ("email", "mark@acme.test"), ("password", PASSWORD)]).await;
    assert_eq!(password.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_tenant_that_requires_two_factor_sends_people_to_set_it_up_and_keeps_it_on() {
    let app = TestApp::spawn().await;
    let owner = app.another_browser();
    owner.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let bad = owner.call("/api/set_mfa_requirement", &[("level", "sometimes")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let set = owner.call("/api/set_mfa_requirement", &[("level", "everyone")]).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert!(owner.get("/roles").await.body.contains("value=\"everyone\" checked"), "the roles page shows it");

    let res = app.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(res.location(), Some("/account/two-factor?next=/"));
    assert_eq!(app.get("/documents").await.location(), Some("/account/two-factor?next=/documents"));
    let refused = app.call("/api/list_documents", &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("requires two-factor sign-in"), "{}", refused.body);
    assert!(app.get("/account/two-factor?next=/").await.has_testid("mfa-required"));
    enrol(&app).await;
    assert_eq!(app.get("/documents").await.status, StatusCode::OK, "free once set up");
    let off = app.call("/api/disable_mfa", &[("current_password", PASSWORD)]).await;
    assert_eq!(off.status, StatusCode::FORBIDDEN, "it stays on: {}", off.body);

    // "Administrators": Maya (a manager) is not one; Olivia (owner) is.
    owner.call("/api/set_mfa_requirement", &[("level", "admins")]).await;
    assert_eq!(app.another_browser().sign_in("acme", "maya@acme.test", PASSWORD).await.location(), Some("/"));
    assert_eq!(app.another_browser().sign_in("acme", "olivia@acme.test", PASSWORD).await.location(), Some("/account/two-factor?next=/"));
    let event = app.db.events("acme").await.into_iter().find(|e| e.0 == "tenant.mfa_requirement").unwrap();
    assert_eq!(event.2["after"]["mfa_required"], "everyone");
}

#[tokio::test]
async fn support_resets_a_lost_second_factor_and_the_user_signs_in_with_the_password_alone() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "mark@acme.test", PASSWORD).await;
    enrol(&app).await;
    let owner = app.another_browser();
    owner.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let mark = app.db.user_id("mark@acme.test").await.to_string();
    assert!(owner.get(&format!("/users/{mark}")).await.body.contains("confirm-reset-mfa"));
    let reset = owner.call("/api/reset_mfa", &[("user_id", &mark)]).await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(app.get("/").await.location(), Some("/login"), "their sessions ended");
    assert_eq!(app.another_browser().sign_in("acme", "mark@acme.test", PASSWORD).await.location(), Some("/"));
    let again = owner.call("/api/reset_mfa", &[("user_id", &mark)]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let event = app.db.events("acme").await.into_iter().find(|e| e.0 == "user.mfa_reset").unwrap();
    assert_eq!(event.2["after"]["sessions_ended"], 1);
}

#[tokio::test]
async fn turning_two_factor_off_needs_the_password() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "mark@acme.test", PASSWORD).await;
    let (secret, _) = enrol(&app).await;
    let wrong = app.call("/api/disable_mfa", &[("current_password", "not-my-password"), ("code", &code(&secret, 1))]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let no_code = app.call("/api/disable_mfa", &[("current_password", PASSWORD)]).await;
    assert_eq!(no_code.status, StatusCode::UNPROCESSABLE_ENTITY, "the password alone is not enough: {}", no_code.body);
    assert!(no_code.body.contains("code"), "{}", no_code.body);
    let events = app.db.events("acme").await;
    assert!(events.iter().any(|e| e.0 == "user.mfa_disable_refused" && e.2["after"]["reason"] == "wrong current password"), "a wrong password is recorded");
    let off = app.call("/api/disable_mfa", &[("current_password", PASSWORD), ("code", &code(&secret, 1))]).await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(app.another_browser().sign_in("acme", "mark@acme.test", PASSWORD).await.location(), Some("/"));
    assert!(app.db.events("acme").await.iter().any(|e| e.0 == "user.mfa_disable"));
}
