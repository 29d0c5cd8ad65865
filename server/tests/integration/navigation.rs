//! The console frame and the data-driven menu: each user sees the views
//! their roles grant, and a view's URL without the grant is a 403 page.

use crate::support::{TestApp, PASSWORD};
use axum::http::StatusCode;

#[tokio::test]
async fn anonymous_visitors_are_sent_to_sign_in_and_back() {
    let app = TestApp::spawn().await;
    let response = app.get("/users?q=ann").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), Some("/login?next=/users%3Fq%3Dann"));
    let home = app.get("/").await;
    assert_eq!(home.location(), Some("/login"));
}

#[tokio::test]
async fn the_sign_in_page_is_a_form_that_works_without_javascript() {
    let app = TestApp::spawn().await;
    let page = app.get("/login").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"action="/api/sign_in""#), "{}", page.body);
    assert!(page.body.contains(r#"method="post""#));
    for field in ["tenant", "email", "password"] {
        assert!(page.body.contains(&format!(r#"name="{field}""#)), "field {field}");
        assert!(page.body.contains(&format!(r#"for="{field}""#)), "label for {field}");
    }
}

#[tokio::test]
async fn a_signed_in_user_opening_sign_in_goes_home() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let response = app.get("/login").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), Some("/"));
}

#[tokio::test]
async fn an_owner_and_a_member_see_different_menus() {
    let owner = TestApp::spawn().await;
    owner.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let page = owner.get("/").await;
    for entry in ["overview", "documents", "users", "teams", "roles", "audit"] {
        assert!(page.has_testid(&format!("nav-{entry}")), "owner sees {entry}");
    }
    assert!(!page.has_testid("nav-tenants"), "tenants are for platform staff");

    let member = TestApp::spawn().await;
    member.sign_in("acme", "mark@acme.test", PASSWORD).await;
    let page = member.get("/").await;
    assert!(page.has_testid("nav-overview"));
    assert!(page.has_testid("nav-documents"));
    for entry in ["users", "teams", "roles", "audit", "tenants"] {
        assert!(!page.has_testid(&format!("nav-{entry}")), "member does not see {entry}");
    }
}

#[tokio::test]
async fn platform_staff_see_the_tenants_view() {
    let app = TestApp::spawn().await;
    app.sign_in("platform", "admin@steward.test", PASSWORD).await;
    let page = app.get("/tenants").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_testid("nav-tenants"));
    assert!(page.has_testid("tenant-table"));

    let support = TestApp::spawn().await;
    support.sign_in("platform", "support@steward.test", PASSWORD).await;
    let page = support.get("/").await;
    assert!(page.has_testid("nav-users"));
    assert!(!page.has_testid("nav-roles"), "support cannot change roles");
    assert!(!page.has_testid("nav-documents"), "support cannot read documents");
}

#[tokio::test]
async fn opening_a_view_without_its_grant_is_a_403_page() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "mark@acme.test", PASSWORD).await;
    let page = app.get("/users").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.has_testid("forbidden"));
    assert!(page.body.contains("You cannot open"));
    assert!(!page.has_testid("user-table"));

    let allowed = app.get("/documents").await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert!(allowed.has_testid("document-table"));
}

#[tokio::test]
async fn a_grant_change_shows_in_the_menu_on_the_next_request() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert!(!app.get("/").await.has_testid("nav-audit"));
    assert_eq!(app.get("/audit").await.status, StatusCode::FORBIDDEN);

    app.db
        .exec_as_superuser(
            "INSERT INTO user_roles (tenant_id, user_id, role_id)
             SELECT u.tenant_id, u.id, r.id FROM users u JOIN roles r ON r.tenant_id = u.tenant_id AND r.system_key = 'auditor'
              WHERE u.email = 'mark@acme.test'",
        )
        .await;
    assert!(app.get("/").await.has_testid("nav-audit"));
    assert_eq!(app.get("/audit").await.status, StatusCode::OK);
}

#[tokio::test]
async fn roles_held_through_a_team_count() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "mark@acme.test", PASSWORD).await;
    app.db.team_with_role("acme", "Compliance", "mark@acme.test", "auditor").await;
    assert!(app.get("/").await.has_testid("nav-audit"), "the team's role grants the audit view");
}

#[tokio::test]
async fn a_module_the_tenant_turned_off_hides_its_views() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    assert!(app.get("/").await.has_testid("nav-documents"));
    app.db
        .exec_as_superuser("DELETE FROM tenant_modules WHERE module_key = 'documents' AND tenant_id = (SELECT id FROM tenants WHERE slug = 'acme')")
        .await;
    assert!(!app.get("/").await.has_testid("nav-documents"));
    assert_eq!(app.get("/documents").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_suspended_user_is_signed_out_on_the_next_request() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "maya@acme.test", PASSWORD).await;
    assert_eq!(app.get("/").await.status, StatusCode::OK);
    app.db.exec_as_superuser("UPDATE users SET status = 'suspended' WHERE email = 'maya@acme.test'").await;
    let response = app.get("/").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), Some("/login"));
}

#[tokio::test]
async fn an_unknown_address_is_a_404_page() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let page = app.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.has_testid("not-found"));
}

#[tokio::test]
async fn me_answers_the_signed_in_user_and_nobody_else() {
    let app = TestApp::spawn().await;
    let anonymous = app.call("/api/me", &[]).await;
    assert_eq!(anonymous.status, StatusCode::OK);
    assert_eq!(anonymous.body, "null");

    app.sign_in("globex", "max@globex.test", PASSWORD).await;
    let me = app.call("/api/me", &[]).await;
    let json: serde_json::Value = serde_json::from_str(&me.body).unwrap();
    assert_eq!(json["email"], "max@globex.test");
    assert_eq!(json["tenant"]["slug"], "globex");
    assert_eq!(json["views"], serde_json::json!(["documents", "overview"]));
}

#[tokio::test]
async fn the_stylesheet_holds_the_classes_the_pages_use() {
    let app = TestApp::spawn().await;
    let css = app.get(&steward::web::stylesheet_path()).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.headers.get("content-type").unwrap(), "text/css; charset=utf-8");
    assert!(css.body.contains(".bg-indigo-600"));
    assert!(css.body.contains("prefers-color-scheme: dark"));
    let page = app.get("/login").await;
    assert!(page.body.contains(&steward::web::stylesheet_path()), "pages link the stylesheet");
}

/// Listing the routes runs the app with resource loading suppressed through
/// a flag leptos_server keeps for the whole process; a page whose data first
/// loads while another router is being built used to wait forever
/// (leptos-rs/leptos#4773, seen as a CI run that hung). Pages rendered while
/// another thread builds router after router all complete with their data.
#[tokio::test]
async fn pages_complete_while_other_routers_are_built() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let stop = Arc::new(AtomicBool::new(false));
    let (pool, done) = (app.pool.clone(), stop.clone());
    let builder = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let mut built = 0;
            while !done.load(Ordering::Relaxed) {
                drop(steward::web::router(pool.clone(), &crate::support::web_config()));
                built += 1;
                tokio::task::yield_now().await;
            }
            built
        })
    });
    for round in 0..30 {
        let page = tokio::time::timeout(std::time::Duration::from_secs(10), app.get("/roles"))
            .await
            .unwrap_or_else(|_| panic!("page {round} never completed"));
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.has_testid("role-table"), "page {round} came with its data");
    }
    stop.store(true, Ordering::Relaxed);
    assert!(builder.join().unwrap() > 0, "routers were built meanwhile");
}

/// A signed-in page reads its session, its principal and its data in one
/// read-only transaction begun for that request (issue 16): what another
/// connection changes between two pages is seen by the next one. A session
/// ended elsewhere is over, and a grant taken away elsewhere is gone.
#[tokio::test]
async fn a_page_sees_a_session_ended_or_a_grant_removed_elsewhere_on_the_very_next_request() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let mut watcher: sqlx::PgConnection = sqlx::Connection::connect_with(&app.db.superuser()).await.unwrap();
    for _ in 0..3 {
        let page = app.get("/users").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("olivia@acme.test"));
    }
    let other = app.another_browser();
    other.sign_in("acme", "maya@acme.test", PASSWORD).await;
    assert_eq!(other.get("/users").await.status, StatusCode::OK);
    // Maya's roles, taken away elsewhere: her next page is refused.
    sqlx::query("DELETE FROM user_roles WHERE user_id = (SELECT id FROM users WHERE email = 'maya@acme.test')")
        .execute(&mut watcher)
        .await
        .unwrap();
    assert_eq!(other.get("/users").await.status, StatusCode::FORBIDDEN);

    sqlx::query("DELETE FROM tower_sessions.session").execute(&mut watcher).await.unwrap();
    let after = app.get("/users").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location(), Some("/login?next=/users"));
}

/// A page whose reads are two resources (a role's page: the role, and the
/// catalogue of permissions) reads both in the page's one transaction. The
/// second was taken for a read inside a read and began a transaction of its
/// own on a second connection: with more such pages at once than the pool
/// has connections, every one held a connection and waited for another, and
/// they failed when the pool's wait ran out (the bench's role page at 16
/// connections). Six at once on the tests' pool of four: all are served;
/// and the same for the Explain page.
#[tokio::test]
async fn pages_of_two_resources_at_once_do_not_wait_for_a_second_connection() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let member = app.db.role_id("acme", "member").await;
    let path = format!("/roles/{member}");
    let pages = futures_util::future::join_all((0..6).map(|_| app.get(&path))).await;
    for page in &pages {
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.has_testid("role-holders"), "{}", page.body);
        assert!(!page.body.contains("database cannot answer"), "{}", page.body);
    }
    // The Explain page: the catalogue takes its turn, then the answer. The
    // answer read through `require`, whose commit of the page's transaction
    // was skipped when the rendering task had taken the turn for the
    // catalogue, so it, too, held one connection and waited for another.
    let explain = "/roles/explain?email=mark%40acme.test&view=users";
    let pages = futures_util::future::join_all((0..6).map(|_| app.get(explain))).await;
    for page in &pages {
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("Mark Member cannot open the users view"), "{}", page.body);
    }
}
