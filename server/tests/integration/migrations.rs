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

/// The authorisation version keys every cached principal: moving it to
/// `tenant_auth` (0022) and back must never show a version a process may
/// have cached with older grants. Each way it only moves forward.
#[tokio::test]
async fn the_authorisation_version_only_moves_forward_across_its_move_to_tenant_auth() {
    let db = TestDb::new().await;
    let mut su = sqlx::PgConnection::connect_with(&db.superuser()).await.unwrap();
    let before: Vec<(uuid::Uuid, i64)> = sqlx::query_as(
        "SELECT t.id, coalesce(a.auth_version, 1) FROM tenants t LEFT JOIN tenant_auth a ON a.tenant_id = t.id ORDER BY 1",
    )
    .fetch_all(&mut su)
    .await
    .unwrap();
    assert!(before.iter().any(|(_, v)| *v > 1), "the demo's grants bumped versions: {before:?}");

    let mut owner = sqlx::PgConnection::connect_with(&db.targets.owner).await.unwrap();
    steward::db::MIGRATOR.undo(&mut owner, 20260101000021).await.expect("0022 reverses");
    let down: Vec<(uuid::Uuid, i64)> = sqlx::query_as("SELECT id, auth_version FROM tenants ORDER BY 1").fetch_all(&mut su).await.unwrap();
    for ((tenant, was), (_, now)) in before.iter().zip(&down) {
        assert!(now > was, "tenant {tenant}: {was} before the down migration, {now} after");
    }

    steward::db::MIGRATOR.run(&mut owner).await.expect("0022 applies again");
    let up: Vec<(uuid::Uuid, i64)> = sqlx::query_as("SELECT tenant_id, auth_version FROM tenant_auth ORDER BY 1").fetch_all(&mut su).await.unwrap();
    assert_eq!(up.len(), down.len(), "every tenant has its row after the copy");
    for ((tenant, was), (_, now)) in down.iter().zip(&up) {
        assert!(now > was, "tenant {tenant}: {was} before the up migration, {now} after");
    }

    // A change of access still bumps it, through the trigger.
    let pool = db.app_pool().await;
    let acme = db.tenant_id("acme").await;
    let version = "SELECT auth_version FROM tenant_auth WHERE tenant_id = $1";
    let was: i64 = sqlx::query_scalar(version).bind(acme).fetch_one(&mut su).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    app::db::scope_to_tenant(&mut tx, app::ids::TenantId(acme)).await.unwrap();
    sqlx::query("UPDATE roles SET description = description || ' ' WHERE tenant_id = $1").bind(acme).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    let now: i64 = sqlx::query_scalar(version).bind(acme).fetch_one(&mut su).await.unwrap();
    assert!(now > was, "a change of access bumps the version");
    pool.close().await;
    owner.close().await.unwrap();
    su.close().await.unwrap();
}

/// 0026 counts what each organisation already uses, as the owner role
/// (under the row-level security it forces on itself), and gives owners
/// the Settings screen, on a database holding data.
#[tokio::test]
async fn the_plan_counts_start_from_what_each_organisation_holds_when_0026_applies() {
    let db = TestDb::new().await;
    let mut su = sqlx::PgConnection::connect_with(&db.superuser()).await.unwrap();
    let mut owner = sqlx::PgConnection::connect_with(&db.targets.owner).await.unwrap();
    steward::db::MIGRATOR.undo(&mut owner, 20260101000025).await.expect("0026 reverses over the demo data");
    let granted: i64 = sqlx::query_scalar("SELECT count(*) FROM role_permissions WHERE permission_key = 'settings:manage'").fetch_one(&mut su).await.unwrap();
    assert_eq!(granted, 0);
    steward::db::MIGRATOR.run(&mut owner).await.expect("0026 applies over the demo data");
    owner.close().await.unwrap();
    let counts: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT t.slug, u.people, (SELECT count(*) FROM users x WHERE x.tenant_id = t.id AND x.deleted_at IS NULL)
           FROM tenants t JOIN tenant_usage u ON u.tenant_id = t.id ORDER BY t.slug",
    )
    .fetch_all(&mut su)
    .await
    .unwrap();
    assert_eq!(counts.len(), 3, "every organisation has its counts: {counts:?}");
    for (slug, counted, held) in &counts {
        assert_eq!(counted, held, "{slug}");
        assert!(*held > 0, "{slug}");
    }
    let owners: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM role_permissions p JOIN roles r ON r.tenant_id = p.tenant_id AND r.id = p.role_id
          WHERE p.permission_key = 'settings:manage' AND r.system_key IN ('owner', 'platform_admin')",
    )
    .fetch_one(&mut su)
    .await
    .unwrap();
    assert_eq!(owners, 3, "each organisation's owners (the platform's administrators) hold it");
}
