//! Creating users and granting them roles, inside a transaction already
//! scoped to their tenant.

use crate::auth::password::PasswordHashString;
use crate::error::AppError;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

pub async fn create_user(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    email: &str,
    display_name: &str,
    password_hash: &PasswordHashString,
) -> Result<Uuid, AppError> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO users (tenant_id, id, email, display_name, password_hash, status)
         VALUES ($1, $2, $3, $4, $5, 'active')",
        tenant_id,
        id,
        email,
        display_name,
        password_hash.0
    )
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Grants a system role, by its key, to a user; bumps the tenant's
/// authorisation version in the same transaction.
pub async fn grant_system_role(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    user_id: Uuid,
    system_key: &str,
    granted_by: Option<Uuid>,
) -> Result<(), AppError> {
    let granted = sqlx::query!(
        "INSERT INTO user_roles (tenant_id, user_id, role_id, granted_by)
         SELECT $1, $2, r.id, $4 FROM roles r
          WHERE r.tenant_id = $1 AND r.system_key = $3 AND r.deleted_at IS NULL
         ON CONFLICT ON CONSTRAINT user_roles_pkey DO NOTHING",
        tenant_id,
        user_id,
        system_key,
        granted_by
    )
    .execute(&mut **tx)
    .await?;
    if granted.rows_affected() == 0 {
        let exists = sqlx::query_scalar!(
            "SELECT EXISTS (SELECT FROM roles WHERE tenant_id = $1 AND system_key = $2) AS \"exists!\"",
            tenant_id,
            system_key
        )
        .fetch_one(&mut **tx)
        .await?;
        if !exists {
            return Err(AppError::NotFound);
        }
    }
    sqlx::query!("UPDATE tenants SET auth_version = auth_version + 1 WHERE id = $1", tenant_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
