//! `steward gen-data`: what it loads is real data the console serves, its
//! audit chains verify, and the database's guards are back afterwards.

use crate::support::*;
use axum::http::StatusCode;
use sha2::Digest;
use sqlx::{ConnectOptions, Connection};
use steward::gen_data::{self, Plan};

#[tokio::test]
async fn generated_tenants_sign_in_serve_pages_and_keep_verifiable_chains() {
    let db = TestDb::new().await;
    let plan = Plan {
        tenants: 2,
        users_per_tenant: 300,
        audit_events: 2_001,
        documents: 41,
        password: PASSWORD.into(),
        blob_dir: blob_dir(),
        seed: 7,
    };
    let mut steps = Vec::new();
    let report = gen_data::run(&db.targets.owner, &plan, &mut |what, done, of| steps.push(format!("{what} {done}/{of}")))
        .await
        .unwrap();
    assert_eq!(report.tenants, vec!["gen-0001".to_string(), "gen-0002".to_string()]);
    assert_eq!((report.users, report.events, report.documents), (600, 2_001, 41));
    assert_eq!(steps, vec!["tenants 1/2", "tenants 2/2", "vacuum 0/1", "vacuum 1/1"]);

    let mut conn = db.superuser().connect().await.unwrap();
    let counts: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE t.slug LIKE 'gen-%'),
                (SELECT count(*) FROM audit_events a JOIN tenants t ON t.id = a.tenant_id WHERE t.slug LIKE 'gen-%'),
                (SELECT count(*) FROM documents d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug LIKE 'gen-%'),
                (SELECT count(*) FROM user_roles r JOIN tenants t ON t.id = r.tenant_id WHERE t.slug LIKE 'gen-%')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(counts, (600, 2_001, 41, 600));
    // The guards lifted for the load are back: forced row-level security,
    // the chain trigger, the grant triggers.
    let unforced: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class WHERE relname = ANY('{users,user_roles,teams,team_members,documents,document_versions,audit_events,audit_chain_heads}') AND NOT relforcerowsecurity",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(unforced.is_empty(), "{unforced:?}");
    let disabled: Vec<String> = sqlx::query_scalar(
        "SELECT tgname::text FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(disabled.is_empty(), "{disabled:?}");
    conn.close().await.unwrap();

    // The overview's kept counts hold the generated people.
    assert_eq!(db.user_count_drift().await, vec![]);

    // Every chain verifies, and a new event continues it.
    let reports = steward::db::verify_audit(&db.targets.owner, None).await.unwrap();
    for name in ["gen-0001", "gen-0002"] {
        let r = reports.iter().find(|r| r.tenant == name).unwrap();
        assert_eq!(r.broken, None, "{name}");
        assert_eq!(r.checked, if name == "gen-0001" { 1_001 } else { 1_000 });
    }

    let app = TestApp::on(db.clone()).await;
    let res = app.sign_in("gen-0001", "owner@gen-0001.test", PASSWORD).await;
    assert!(res.status.is_redirection() || res.status.is_success(), "{res:?}");
    let users = app.get("/users").await;
    assert_eq!(users.status, StatusCode::OK);
    assert!(users.body.contains("@gen-0001.test"), "generated people are listed");
    assert!(!users.body.contains("@gen-0002.test"), "and only this tenant's");
    let audit = app.get("/audit").await;
    assert_eq!(audit.status, StatusCode::OK);
    // A change now continues the generated chain.
    let mut conn = db.superuser().connect().await.unwrap();
    let (someone, email): (uuid::Uuid, String) = sqlx::query_as(
        "SELECT u.id, u.email FROM users u JOIN tenants t ON t.id = u.tenant_id
          WHERE t.slug = 'gen-0001' AND u.email <> 'owner@gen-0001.test' AND u.status = 'active' LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let res = app
        .call("/api/update_user", &[("user_id", &someone.to_string()), ("version", "1"), ("email", &email), ("display_name", "Renamed Person")])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let reports = steward::db::verify_audit(&db.targets.owner, Some("gen-0001")).await.unwrap();
    // 1,001 generated, then the owner's sign-in and the rename.
    assert_eq!((reports[0].checked, reports[0].broken.clone()), (1_003, None));

    // A generated document's content downloads and matches its SHA-256.
    let mut conn = db.superuser().connect().await.unwrap();
    let (doc, sha): (uuid::Uuid, String) = sqlx::query_as(
        "SELECT v.document_id, v.sha256 FROM document_versions v JOIN tenants t ON t.id = v.tenant_id
          WHERE t.slug = 'gen-0001' AND v.number = 1 LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let (status, _, bytes) = app.download(&format!("/documents/{doc}/versions/1/download")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app::documents::blobs::hex(&sha2::Sha256::digest(&bytes)), sha);

    // A second run adds after the first.
    let again = Plan { tenants: 1, users_per_tenant: 5, audit_events: 3, documents: 0, ..plan };
    let report = gen_data::run(&db.targets.owner, &again, &mut |_, _, _| {}).await.unwrap();
    assert_eq!(report.tenants, vec!["gen-0003".to_string()]);
}
