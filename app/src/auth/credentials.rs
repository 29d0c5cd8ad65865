//! Ending what a person's credentials opened: their sessions and their API
//! keys (a password reset or change, a second-factor reset, "sign out
//! everywhere", a suspension). Part of the spine: it names no area.

use crate::ids::{TenantId, UserId};
use crate::error::AppError;
use sqlx::PgConnection;
use uuid::Uuid;

/// Ends sessions (their records in the session store go): one session
/// (`only`), every session of a user, or with no user every session of the
/// tenant. How many ended.
pub async fn end_sessions(conn: &mut PgConnection, tenant_id: TenantId, user_id: Option<UserId>, only: Option<Uuid>) -> Result<u64, AppError> {
    end(conn, tenant_id, user_id, only, None).await
}

/// [`end_sessions`] of a person's own, keeping the session `kept` (the one
/// they are using: "sign out everywhere else", a password change).
pub async fn end_other_sessions(conn: &mut PgConnection, tenant_id: TenantId, user_id: UserId, only: Option<Uuid>, kept: &str) -> Result<u64, AppError> {
    end(conn, tenant_id, Some(user_id), only, Some(kept)).await
}

async fn end(conn: &mut PgConnection, tenant_id: TenantId, user_id: Option<UserId>, only: Option<Uuid>, kept: Option<&str>) -> Result<u64, AppError> {
    let ended: Vec<String> = sqlx::query_scalar!(
        "DELETE FROM user_sessions WHERE tenant_id = $1 AND ($2::uuid IS NULL OR user_id = $2) AND ($3::uuid IS NULL OR id = $3)
            AND ($4::text IS NULL OR session_id <> $4)
         RETURNING session_id",
        tenant_id.0,
        user_id.map(|id| id.0),
        only,
        kept
    )
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM tower_sessions.session WHERE id = ANY($1)", &ended).execute(&mut *conn).await?;
    Ok(ended.len() as u64)
}

/// Revokes every live key of a person (their password or second factor
/// was reset or changed, or they signed out everywhere); how many.
pub async fn revoke_api_keys_of(conn: &mut PgConnection, tenant_id: TenantId, user_id: UserId) -> Result<u64, AppError> {
    Ok(sqlx::query!("UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL", tenant_id.0, user_id.0)
        .execute(conn)
        .await?
        .rows_affected())
}
