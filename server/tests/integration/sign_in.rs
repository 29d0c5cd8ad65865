//! Signing in and out: the generic failure message, cookies, the session id
//! cycled at sign-in, sessions in PostgreSQL.

use crate::support::{TestApp, TestDb, PASSWORD};
use axum::http::StatusCode;
use sqlx::Row;

#[tokio::test]
async fn an_owner_signs_in_without_javascript_and_lands_on_the_overview() {
    let app = TestApp::spawn().await;
    let response = app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    assert_eq!(response.status, StatusCode::FOUND);
    assert_eq!(response.location(), Some("/"));
    assert!(app.cookie("steward_session").is_some(), "a session cookie is set");

    let page = app.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Olivia Owner"));
    assert!(page.body.contains("Acme Corporation"));
    assert!(page.has_testid("view-overview"));
}

#[tokio::test]
async fn sign_in_goes_back_to_the_page_first_asked_for() {
    let app = TestApp::spawn().await;
    let response = app
        .post_form("/api/sign_in", "/login?next=%2Fusers", &[("tenant", "acme"), ("email", "olivia@acme.test"), ("password", PASSWORD), ("next", "/users")])
        .await;
    assert_eq!(response.location(), Some("/users"));
    // and never to another site
    app.clear_cookies();
    let response = app
        .post_form("/api/sign_in", "/login", &[("tenant", "acme"), ("email", "olivia@acme.test"), ("password", PASSWORD), ("next", "//evil.example/")])
        .await;
    assert_eq!(response.location(), Some("/"));
}

#[tokio::test]
async fn every_failed_sign_in_gets_the_same_answer() {
    let app = TestApp::spawn().await;
    let wrong_password = app.call("/api/sign_in", &[("tenant", "acme"), ("email", "olivia@acme.test"), ("password", "nope-nope-nope")]).await;
    let unknown_account = app.call("/api/sign_in", &[("tenant", "acme"), ("email", "nobody@acme.test"), ("password", PASSWORD)]).await;
    let unknown_tenant = app.call("/api/sign_in", &[("tenant", "initech"), ("email", "olivia@acme.test"), ("password", PASSWORD)]).await;
    let other_tenant = app.call("/api/sign_in", &[("tenant", "globex"), ("email", "olivia@acme.test"), ("password", PASSWORD)]).await;
    for response in [&wrong_password, &unknown_account, &unknown_tenant, &other_tenant] {
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{response:?}");
        assert_eq!(response.body, wrong_password.body);
        assert!(app.cookie("steward_session").is_none());
    }
    assert!(wrong_password.body.contains("SignInFailed"), "{}", wrong_password.body);
}

#[tokio::test]
async fn a_suspended_account_cannot_sign_in_even_with_the_right_password() {
    let app = TestApp::spawn().await;
    app.db
        .exec_as_superuser("UPDATE users SET status = 'suspended' WHERE email = 'mark@acme.test'")
        .await;
    let response = app.call("/api/sign_in", &[("tenant", "acme"), ("email", "mark@acme.test"), ("password", PASSWORD)]).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_failed_sign_in_without_javascript_shows_the_message_and_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    let response = app.sign_in("Acme", "olivia@acme.test", "wrong-password-1").await;
    assert_eq!(response.status, StatusCode::FOUND);
    let back = response.location().expect("redirected back to the form").to_string();
    assert!(back.starts_with("http://127.0.0.1:3000/login?"), "{back}");
    assert!(back.contains("__err="));

    let path = back.trim_start_matches("http://127.0.0.1:3000");
    let page = app.get(path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_testid("sign-in-error"), "the generic message is shown");
    assert!(page.body.contains("did not match an active account"));
    assert!(page.body.contains(r#"value="Acme""#), "organisation kept");
    assert!(page.body.contains(r#"value="olivia@acme.test""#), "email kept");
    assert!(!page.body.contains("wrong-password-1"), "the password is never echoed");
}

#[tokio::test]
async fn empty_fields_are_named_next_to_the_field() {
    let app = TestApp::spawn().await;
    let response = app.call("/api/sign_in", &[("tenant", ""), ("email", "olivia@acme.test"), ("password", "")]).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.body.contains("tenant"));
    assert!(response.body.contains("password"));
    assert!(!response.body.contains("\"email\""));
}

#[tokio::test]
async fn session_cookies_are_http_only_and_same_site_lax() {
    let app = TestApp::spawn().await;
    let response = app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let cookie = response
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("steward_session="))
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "not Secure unless configured: {cookie}");
}

#[tokio::test]
async fn secure_cookies_when_configured() {
    let db = TestDb::new().await;
    let pool = db.app_pool().await;
    let mut config = crate::support::web_config();
    config.secure_cookies = true;
    let router = steward::web::router(pool, &config);
    let app = TestApp::on(db).await;
    let app = TestApp { router, ..app };
    let response = app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let cookie = response.set_cookies().into_iter().find(|c| c.starts_with("steward_session=")).unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
    // Every other cookie too: the organisation, the theme, and the notice
    // and typed fields of a post without JavaScript (before, only the
    // session's and the replica's carried Secure).
    let cookies = response.set_cookies();
    let names = |cookies: &[String]| cookies.iter().map(|c| c.split('=').next().unwrap_or_default().to_string()).collect::<Vec<_>>();
    assert!(names(&cookies).contains(&"steward_org".to_string()) && names(&cookies).contains(&"steward_theme".to_string()), "{cookies:?}");
    let refused = app.post_form("/api/create_team", "/teams", &[("name", "")]).await;
    let saved = app.post_form("/api/create_team", "/teams", &[("name", "Night shift")]).await;
    let flash = app.get("/teams").await;
    let more: Vec<String> = [refused.set_cookies(), saved.set_cookies(), flash.set_cookies()].concat();
    for name in ["steward_typed", "steward_notice"] {
        assert!(names(&more).contains(&name.to_string()), "{name} in {more:?}");
    }
    for cookie in cookies.iter().chain(&more) {
        assert!(cookie.contains("Secure") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
        assert_eq!(cookie.contains("HttpOnly"), !cookie.starts_with("steward_theme="), "only the theme is read by the page's script: {cookie}");
    }
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in_and_the_old_one_stops_working() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "mark@acme.test", PASSWORD).await;
    let first = app.cookie("steward_session").unwrap();
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let second = app.cookie("steward_session").unwrap();
    assert_ne!(first, second, "sign-in issues a new session id");

    app.set_cookie("steward_session", &first);
    let page = app.get("/").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "the old id signs nobody in");
}

#[tokio::test]
async fn signing_out_ends_the_session_in_the_database() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let sessions = || async {
        let mut conn: sqlx::PgConnection = sqlx::Connection::connect_with(&app.db.superuser()).await.unwrap();
        let n: i64 = sqlx::query("SELECT count(*) FROM tower_sessions.session").fetch_one(&mut conn).await.unwrap().get(0);
        n
    };
    assert_eq!(sessions().await, 1);
    let cookie = app.cookie("steward_session").unwrap();

    let response = app.post_form("/api/sign_out", "/", &[]).await;
    assert_eq!(response.status, StatusCode::FOUND);
    assert_eq!(response.location(), Some("/login"));
    assert_eq!(sessions().await, 0);

    app.set_cookie("steward_session", &cookie);
    assert_eq!(app.get("/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sessions_survive_a_restart_of_steward() {
    let app = TestApp::spawn().await;
    app.sign_in("globex", "gina@globex.test", PASSWORD).await;
    let cookie = app.cookie("steward_session").unwrap();

    // A new server process: new pool, new router, same database.
    let TestApp { db, pool, .. } = app;
    pool.close().await;
    let restarted = TestApp::on(db).await;
    restarted.set_cookie("steward_session", &cookie);
    let page = restarted.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Gina Owner"));
}

#[tokio::test]
async fn signing_in_records_the_time() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let mut conn: sqlx::PgConnection = sqlx::Connection::connect_with(&app.db.superuser()).await.unwrap();
    let recent: bool = sqlx::query("SELECT last_login_at > now() - interval '1 minute' FROM users WHERE email = 'olivia@acme.test'")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    assert!(recent);
}

/// A session ended (its row deleted: signed out elsewhere, suspended, its
/// password changed) while one of its requests was still under way stays
/// ended: saving it as that request ends updates its row and never inserts
/// it again. The crate's own store upserts, and brought it back.
#[tokio::test]
async fn a_session_ended_during_one_of_its_requests_is_not_written_back() {
    use tower_sessions::session::Id;
    use tower_sessions::SessionStore;
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let id: Id = app.cookie("steward_session").expect("a session cookie").parse().expect("a session id");
    let ours = steward::web::sessions::Sessions::new(app.pool.clone());
    let crates = tower_sessions_sqlx_store::PostgresStore::new(app.pool.clone());
    // What the request read when it began, with the mark it sets on its way.
    let mut record = ours.load(&id).await.unwrap().expect("the signed-in session");
    record.data.insert("steward.seen".into(), serde_json::json!(chrono::Utc::now().timestamp()));
    let end = || sqlx::query("DELETE FROM tower_sessions.session").execute(&app.pool);

    end().await.unwrap();
    crates.save(&record).await.unwrap();
    assert!(crates.load(&id).await.unwrap().is_some(), "the crate's store writes an ended session back");

    end().await.unwrap();
    ours.save(&record).await.unwrap();
    assert!(ours.load(&id).await.unwrap().is_none(), "an ended session stays ended");
    let page = app.get("/users").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/login?next=/users"));
}
