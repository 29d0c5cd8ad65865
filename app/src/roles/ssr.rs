//! Roles on the server.

use crate::authz::ssr::{explain as explain_access, require, Actor};
use crate::authz::{AccessTarget, Explanation, Perm};
use crate::error::AppError;
use crate::users::ssr::{ensure_not_last_top_holder, TOP_ROLES};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

struct RoleRow {
    name: String,
    system_key: Option<String>,
    is_system: bool,
}

async fn find_role(conn: &mut PgConnection, tenant_id: Uuid, role_id: Uuid) -> Result<RoleRow, AppError> {
    let row = sqlx::query!(
        "SELECT name, system_key, is_system FROM roles WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        tenant_id,
        role_id
    )
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(RoleRow { name: row.name, system_key: row.system_key, is_system: row.is_system })
}

async fn user_exists(conn: &mut PgConnection, tenant_id: Uuid, user_id: Uuid) -> Result<(), AppError> {
    sqlx::query_scalar!("SELECT id FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL", tenant_id, user_id)
        .fetch_optional(conn)
        .await?
        .map(|_| ())
        .ok_or(AppError::NotFound)
}

/// The administration permissions: holding none of them after a change
/// means the person can no longer manage access.
const ADMIN_PERMISSIONS: &[&str] = &["role:assign", "role:manage"];

/// Whether `user_id` keeps an administration permission once `role_id` is
/// gone from them (directly held) or gone altogether (`everywhere`).
async fn keeps_admin_without(conn: &mut PgConnection, tenant_id: Uuid, user_id: Uuid, role_id: Uuid, everywhere: bool) -> Result<bool, AppError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (
               SELECT FROM effective_user_roles e
                 JOIN role_permissions rp ON rp.tenant_id = e.tenant_id AND rp.role_id = e.role_id
                WHERE e.tenant_id = $1 AND e.user_id = $2
                  AND rp.permission_key = ANY($5)
                  AND NOT (e.role_id = $3 AND ($4 OR e.team_id IS NULL))
           ) AS "keeps!""#,
        tenant_id,
        user_id,
        role_id,
        everywhere,
        ADMIN_PERMISSIONS as &[&str]
    )
    .fetch_one(conn)
    .await?)
}

/// Writes a direct grant; false when the user held the role already. The
/// caller records the event.
pub async fn insert_grant(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    role_id: Uuid,
    granted_by: Option<Uuid>,
) -> Result<bool, AppError> {
    let granted = sqlx::query!(
        "INSERT INTO user_roles (tenant_id, user_id, role_id, granted_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT ON CONSTRAINT user_roles_pkey DO NOTHING",
        tenant_id,
        user_id,
        role_id,
        granted_by
    )
    .execute(conn)
    .await?;
    Ok(granted.rows_affected() > 0)
}

/// Grants `role_id` to `user_id`. The actor must hold every permission the
/// role carries: a delegated administrator cannot hand out more than they have.
pub async fn assign(user_id: Uuid, role_id: Uuid) -> Result<(), AppError> {
    let mut actor = require(Perm::RoleAssign).await?;
    let tenant_id = actor.tenant_id();
    user_exists(actor.conn(), tenant_id, user_id).await?;
    grant_in(&mut actor, user_id, role_id).await?;
    actor.commit().await
}

/// Refuses a role that carries a permission the actor lacks; the role's
/// name otherwise.
pub async fn grantable(actor: &mut Actor, role_id: Uuid) -> Result<String, AppError> {
    if !actor.me.can(Perm::RoleAssign.key()) {
        return Err(AppError::Forbidden);
    }
    let tenant_id = actor.tenant_id();
    let role = find_role(actor.conn(), tenant_id, role_id).await?;
    let carried: Vec<String> = sqlx::query_scalar(
        "SELECT permission_key FROM role_permissions WHERE tenant_id = $1 AND role_id = $2 ORDER BY permission_key",
    )
    .bind(tenant_id)
    .bind(role_id)
    .fetch_all(actor.conn())
    .await?;
    let missing: Vec<&str> = carried.iter().map(String::as_str).filter(|p| !actor.me.can(p)).collect();
    if !missing.is_empty() {
        return Err(AppError::Refused(format!(
            "You cannot grant {}: it carries permissions you do not hold ({}).",
            role.name,
            missing.join(", ")
        )));
    }
    Ok(role.name)
}

/// Grants a role in the actor's transaction (after [`grantable`]) and
/// records it; nothing when the user holds it already.
pub async fn grant_in(actor: &mut Actor, user_id: Uuid, role_id: Uuid) -> Result<(), AppError> {
    let name = grantable(actor, role_id).await?;
    let tenant_id = actor.tenant_id();
    let me = actor.local_user_id();
    if insert_grant(actor.conn(), tenant_id, user_id, role_id, me).await? {
        actor
            .audit("user.role_grant", "user", user_id, None, Some(json!({ "role_id": role_id, "role": name })))
            .await?;
    }
    Ok(())
}

/// Takes `role_id` from `user_id` (a role held through a team stays).
pub async fn revoke(user_id: Uuid, role_id: Uuid) -> Result<(), AppError> {
    let mut actor = require(Perm::RoleAssign).await?;
    let tenant_id = actor.tenant_id();
    user_exists(actor.conn(), tenant_id, user_id).await?;
    let role = find_role(actor.conn(), tenant_id, role_id).await?;
    if user_id == actor.user_id() && !keeps_admin_without(actor.conn(), tenant_id, user_id, role_id, false).await? {
        return Err(AppError::Conflict(format!(
            "You cannot remove {} from yourself: it is what lets you manage access.",
            role.name
        )));
    }
    if role.system_key.as_deref().is_some_and(|k| TOP_ROLES.contains(&k)) {
        ensure_not_last_top_holder(actor.conn(), tenant_id, user_id, Some(role_id)).await?;
    }
    let removed = sqlx::query!(
        "DELETE FROM user_roles WHERE tenant_id = $1 AND user_id = $2 AND role_id = $3",
        tenant_id,
        user_id,
        role_id
    )
    .execute(actor.conn())
    .await?;
    if removed.rows_affected() == 0 {
        return Ok(());
    }
    actor
        .audit("user.role_revoke", "user", user_id, Some(json!({ "role_id": role_id, "role": role.name })), None)
        .await?;
    actor.commit().await
}

/// Deletes a custom role. System roles are never deleted, and nobody deletes
/// the role that lets them manage access.
pub async fn delete(role_id: Uuid) -> Result<(), AppError> {
    let mut actor = require(Perm::RoleManage).await?;
    let tenant_id = actor.tenant_id();
    let role = find_role(actor.conn(), tenant_id, role_id).await?;
    if role.is_system {
        return Err(AppError::Conflict(format!("{} is a system role: it cannot be deleted.", role.name)));
    }
    let me = actor.user_id();
    if actor.me.acting_from.is_none() && !keeps_admin_without(actor.conn(), tenant_id, me, role_id, true).await? {
        return Err(AppError::Conflict(format!(
            "You cannot delete {}: it is what lets you manage access.",
            role.name
        )));
    }
    sqlx::query!(
        "UPDATE roles SET deleted_at = now(), version = version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        role_id
    )
    .execute(actor.conn())
    .await?;
    actor
        .audit("role.delete", "role", role_id, Some(json!({ "name": role.name, "deleted": false })), Some(json!({ "deleted": true })))
        .await?;
    actor.commit().await
}

/// Explains access for a user of the actor's tenant. Needs `role:read`.
pub async fn explain(user_id: Uuid, target: AccessTarget) -> Result<Explanation, AppError> {
    let mut actor = require(Perm::RoleRead).await?;
    let tenant_id = actor.tenant_id();
    let explanation = explain_access(actor.conn(), tenant_id, user_id, target).await?;
    actor.commit().await?;
    Ok(explanation)
}
