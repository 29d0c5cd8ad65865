//! Creating tenants, under row-level security: the transaction is scoped to
//! the new tenant's id before its row is written, so the application role
//! can create a tenant without seeing any other.

use crate::audit::ssr::{record, Event, RequestMeta};
use crate::error::AppError;
use serde_json::json;
use sqlx::{PgConnection, Postgres, Transaction};
use uuid::Uuid;

/// Scopes the transaction to a tenant for row-level security.
pub async fn scope_to_tenant(tx: &mut PgConnection, tenant_id: Uuid) -> Result<(), AppError> {
    sqlx::query!("SELECT set_config('steward.tenant_id', $1, true) AS \"set!\"", tenant_id.to_string())
        .fetch_one(&mut *tx)
        .await?;
    Ok(())
}

/// Creates a tenant with its system roles and modules (see the
/// `role_templates` table), and records it. Leaves the transaction scoped to
/// the new tenant.
pub async fn create_tenant(
    tx: &mut Transaction<'_, Postgres>,
    slug: &str,
    name: &str,
    kind: &str,
) -> Result<Uuid, AppError> {
    let id = Uuid::now_v7();
    scope_to_tenant(tx, id).await?;
    sqlx::query!(
        "INSERT INTO tenants (id, slug, name, kind) VALUES ($1, $2, $3, $4)",
        id,
        slug,
        name,
        kind
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!("SELECT steward_seed_tenant($1) AS \"seeded\"", id)
        .fetch_one(&mut **tx)
        .await?;
    let event = Event {
        tenant_id: id,
        actor_user_id: None,
        actor_tenant_id: None,
        action: "tenant.create",
        entity_type: Some("tenant"),
        entity_id: Some(id.to_string()),
        before: None,
        after: Some(json!({ "slug": slug, "name": name, "kind": kind })),
    };
    record(tx, &RequestMeta::default(), event).await?;
    Ok(id)
}

/// The tenant with this slug, when the transaction may see it (the platform
/// tenant is found through its kind, which every caller may name).
pub async fn platform_tenant_id(tx: &mut PgConnection) -> Result<Option<Uuid>, AppError> {
    Ok(sqlx::query_scalar!("SELECT tenant_id AS \"id!\" FROM steward_platform_tenant()")
        .fetch_optional(&mut *tx)
        .await?)
}
