//! Users on the server: creating them, changing their status, and the
//! anti-lockout checks.

use crate::audit::ssr::{record, Event, RequestMeta};
use crate::auth::password::PasswordHashString;
use crate::authz::{ssr::require, Perm};
use crate::error::AppError;
use serde_json::json;
use sqlx::{PgConnection, Postgres, Transaction};
use uuid::Uuid;

/// The system roles that administer a tenant: a tenant must keep an active
/// holder of one of them.
pub const TOP_ROLES: &[&str] = &["owner", "platform_admin"];

/// Creates an active user with a password, and records it.
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
    let event = Event {
        tenant_id,
        actor_user_id: None,
        actor_tenant_id: None,
        action: "user.create",
        entity_type: Some("user"),
        entity_id: Some(id.to_string()),
        before: None,
        after: Some(json!({ "email": email, "display_name": display_name, "status": "active" })),
    };
    record(&mut **tx, &RequestMeta::default(), event).await?;
    Ok(id)
}

/// Grants a system role, by its key, to a user (the tenant's authorisation
/// version is bumped by the database in the same transaction).
pub async fn grant_system_role(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: Uuid,
    user_id: Uuid,
    system_key: &str,
    granted_by: Option<Uuid>,
) -> Result<(), AppError> {
    let role_id = sqlx::query_scalar!(
        "SELECT id FROM roles WHERE tenant_id = $1 AND system_key = $2 AND deleted_at IS NULL",
        tenant_id,
        system_key
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(AppError::NotFound)?;
    if crate::roles::ssr::insert_grant(tx, tenant_id, user_id, role_id, granted_by).await? {
        let event = Event {
            tenant_id,
            actor_user_id: granted_by,
            actor_tenant_id: None,
            action: "user.role_grant",
            entity_type: Some("user"),
            entity_id: Some(user_id.to_string()),
            before: None,
            after: Some(json!({ "role_id": role_id, "role": system_key })),
        };
        record(&mut **tx, &RequestMeta::default(), event).await?;
    }
    Ok(())
}

/// A live user of the tenant, locked for the change; `NotFound` otherwise
/// (another tenant's user is invisible under row-level security).
async fn lock_user(conn: &mut PgConnection, tenant_id: Uuid, user_id: Uuid) -> Result<(String, i32), AppError> {
    let row = sqlx::query!(
        "SELECT status, version FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE",
        tenant_id,
        user_id
    )
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok((row.status, row.version))
}

/// Refuses a change that would leave the tenant with no active holder of
/// its top role (held directly or through a team). The change takes
/// `user_id` out entirely (suspend, delete) or, with `only_role`, removes
/// that one role held directly by them.
pub async fn ensure_not_last_top_holder(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    only_role: Option<Uuid>,
) -> Result<(), AppError> {
    // Serialise these checks per tenant: two admins removing the last two
    // owners at once must not both pass.
    sqlx::query!("SELECT id FROM tenants WHERE id = $1 FOR UPDATE", tenant_id)
        .fetch_optional(&mut *conn)
        .await?;
    let counts = sqlx::query!(
        r#"WITH active AS (
               SELECT e.user_id, e.role_id, e.team_id IS NOT NULL AS via_team
                 FROM effective_user_roles e
                 JOIN roles r ON r.tenant_id = e.tenant_id AND r.id = e.role_id AND r.system_key = ANY($3)
                 JOIN users u ON u.tenant_id = e.tenant_id AND u.id = e.user_id AND u.deleted_at IS NULL AND u.status = 'active'
                WHERE e.tenant_id = $1
           )
           SELECT count(*) AS "now!",
                  count(*) FILTER (WHERE NOT (user_id = $2 AND ($4::uuid IS NULL OR (role_id = $4 AND NOT via_team)))) AS "after!"
             FROM active"#,
        tenant_id,
        user_id,
        TOP_ROLES as &[&str],
        only_role,
    )
    .fetch_one(&mut *conn)
    .await?;
    if counts.now > 0 && counts.after == 0 {
        return Err(AppError::Conflict(
            "This is the organisation's last owner. Make someone else an owner first.".into(),
        ));
    }
    Ok(())
}

/// Suspends (`suspended`) or reactivates (`active`) a user. Needs `user:suspend`.
pub async fn set_status(user_id: Uuid, status: &str) -> Result<(), AppError> {
    let mut actor = require(Perm::UserSuspend).await?;
    let tenant_id = actor.tenant_id();
    if user_id == actor.user_id() && status != "active" {
        return Err(AppError::Conflict("You cannot suspend yourself.".into()));
    }
    let (before, _) = lock_user(actor.conn(), tenant_id, user_id).await?;
    if before == status {
        return Ok(());
    }
    if status != "active" {
        ensure_not_last_top_holder(actor.conn(), tenant_id, user_id, None).await?;
    }
    sqlx::query!(
        "UPDATE users SET status = $3, version = version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        user_id,
        status
    )
    .execute(actor.conn())
    .await?;
    let action = if status == "active" { "user.reactivate" } else { "user.suspend" };
    actor
        .audit(action, "user", user_id, Some(json!({ "status": before })), Some(json!({ "status": status })))
        .await?;
    actor.commit().await
}

/// Soft-deletes a user. Needs `user:delete`.
pub async fn delete(user_id: Uuid) -> Result<(), AppError> {
    let mut actor = require(Perm::UserDelete).await?;
    let tenant_id = actor.tenant_id();
    if user_id == actor.user_id() {
        return Err(AppError::Conflict("You cannot delete yourself.".into()));
    }
    lock_user(actor.conn(), tenant_id, user_id).await?;
    ensure_not_last_top_holder(actor.conn(), tenant_id, user_id, None).await?;
    let deleted_at = sqlx::query_scalar!(
        "UPDATE users SET deleted_at = now(), version = version + 1, updated_at = now()
          WHERE tenant_id = $1 AND id = $2 RETURNING deleted_at AS \"deleted_at!: chrono::DateTime<chrono::Utc>\"",
        tenant_id,
        user_id
    )
    .fetch_one(actor.conn())
    .await?;
    actor
        .audit("user.delete", "user", user_id, Some(json!({ "deleted_at": null })), Some(json!({ "deleted_at": deleted_at })))
        .await?;
    actor.commit().await
}

/// Platform staff's search across tenants: the one explicit cross-tenant
/// read path (`steward_platform_user_search`), authorised and audited.
pub async fn search_across_tenants(query: &str) -> Result<Vec<super::UserHit>, AppError> {
    let mut actor = require(Perm::SupportCrossTenant).await?;
    if actor.me.tenant.kind != "platform" {
        return Err(AppError::Forbidden);
    }
    let query = query.trim();
    let length = query.chars().count();
    if !(2..=100).contains(&length) {
        return Err(AppError::Validation(vec![crate::error::FieldError {
            field: "query".into(),
            message: "Type between 2 and 100 characters of an email address or name.".into(),
        }]));
    }
    let rows = sqlx::query!(
        r#"SELECT tenant_id AS "tenant_id!", tenant_slug AS "tenant_slug!", tenant_name AS "tenant_name!",
                  user_id AS "user_id!", email AS "email!", display_name AS "display_name!",
                  status AS "status!", last_login_at AS "last_login_at: chrono::DateTime<chrono::Utc>"
             FROM steward_platform_user_search($1, $2)"#,
        query,
        super::SEARCH_LIMIT as i32
    )
    .fetch_all(actor.conn())
    .await?;
    let hits: Vec<super::UserHit> = rows
        .into_iter()
        .take(super::SEARCH_LIMIT)
        .map(|r| super::UserHit {
            tenant_id: r.tenant_id,
            tenant_slug: r.tenant_slug,
            tenant_name: r.tenant_name,
            user_id: r.user_id,
            email: r.email,
            display_name: r.display_name,
            status: r.status,
            last_login_at: r.last_login_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        })
        .collect();
    let platform = actor.tenant_id();
    actor
        .audit("platform.user_search", "tenant", platform, None, Some(json!({ "query": query, "results": hits.len() })))
        .await?;
    actor.commit().await?;
    Ok(hits)
}
