//! Every migration has a down that undoes it, on a database holding data.

use crate::support::TestDb;
use sqlx::{Connection, Row};

#[tokio::test]
async fn every_migration_reverses_and_applies_again_on_a_database_holding_data() {
    let db = TestDb::new().await;
    // Put something in every kind of table, the audit log included.
    let pool = db.app_pool().await;
    let acme = db.tenant_id("acme").await;
    let mut tx = pool.begin().await.unwrap();
    app::db::scope_to_tenant(&mut tx, app::ids::TenantId(acme)).await.unwrap();
    let event = app::audit::record::Event::by_user(app::ids::TenantId(acme), app::ids::UserId(db.user_id("olivia@acme.test").await), "auth.sign_in", None);
    app::audit::record::record(&mut tx, &Default::default(), event).await.unwrap();
    tx.commit().await.unwrap();
    pool.close().await;
    let mut owner = sqlx::PgConnection::connect_with(&db.targets.owner).await.unwrap();
    let applied: i64 = sqlx::query("SELECT count(*) FROM _sqlx_migrations").fetch_one(&mut owner).await.unwrap().get(0);
    assert_eq!(applied as usize, steward::db::MIGRATOR.iter().filter(|m| m.migration_type.is_up_migration()).count());

    steward::db::MIGRATOR.undo(&mut owner, 0).await.expect("every down migration runs over the demo data");
    let left: i64 = sqlx::query("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations'")
        .fetch_one(&mut owner)
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the downs leave no table behind");

    steward::db::MIGRATOR.run(&mut owner).await.expect("every up migration applies again");
    owner.close().await.unwrap();
    let pool = db.app_pool().await;
    steward::demo::load(&pool, crate::support::PASSWORD).await.expect("the schema works again");
}
