//! Roles on the server.

use crate::ids::{TenantId, UserId};
use super::{Holder, ModuleGroup, RoleDetail, RoleRow, HOLDERS_SHOWN};
use crate::audit::record::{history, stale};
use crate::authz::ssr::{explain as explain_access, require, require_current, Actor};
use crate::authz::{AccessTarget, Explanation, Perm};
use crate::error::{AppError, FieldError};
use crate::error::field_conflict;
use crate::authz::lockout::{ensure_not_last_top_holder, TOP_ROLES};
use crate::users::{Count, COUNT_CAP};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

struct FoundRole {
    name: String,
    system_key: Option<String>,
    is_system: bool,
}

async fn find_role(conn: &mut PgConnection, tenant_id: TenantId, role_id: Uuid) -> Result<FoundRole, AppError> {
    let row = sqlx::query!(
        "SELECT name, system_key, is_system FROM roles WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        tenant_id.0,
        role_id
    )
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(FoundRole { name: row.name, system_key: row.system_key, is_system: row.is_system })
}

async fn user_exists(conn: &mut PgConnection, tenant_id: TenantId, user_id: UserId) -> Result<(), AppError> {
    sqlx::query_scalar!("SELECT id FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL", tenant_id.0, user_id.0)
        .fetch_optional(conn)
        .await?
        .map(|_| ())
        .ok_or(AppError::NotFound)
}

/// The administration permissions: holding none of them after a change
/// means the person can no longer manage access.
const MANAGES_ACCESS: &[&str] = &["role:assign", "role:manage"];

/// Refuses a change that leaves the actor without any administration
/// permission (run after the change's writes, inside its transaction, so the
/// refusal rolls them back). Platform staff acting from outside are not
/// holders in the tenant: nothing to keep.
pub async fn ensure_keeps_admin(actor: &mut Actor, message: String) -> Result<(), AppError> {
    if actor.me().acting_from.is_some() {
        return Ok(());
    }
    let (tenant_id, me) = (actor.tenant_id(), actor.user_id());
    let keeps: bool = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT FROM effective_user_roles e JOIN role_permissions rp ON rp.tenant_id = e.tenant_id AND rp.role_id = e.role_id
          WHERE e.tenant_id = $1 AND e.user_id = $2 AND rp.permission_key = ANY($3)) AS "keeps!""#, tenant_id.0, me.0, MANAGES_ACCESS as &[&str])
    .fetch_one(actor.conn())
    .await?;
    if keeps {
        Ok(())
    } else {
        Err(AppError::Conflict(message))
    }
}

/// Writes a direct grant; false when the user held the role already. The
/// caller records the event.
pub async fn insert_grant(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    user_id: UserId,
    role_id: Uuid,
    granted_by: Option<UserId>,
) -> Result<bool, AppError> {
    let granted = sqlx::query!(
        "INSERT INTO user_roles (tenant_id, user_id, role_id, granted_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT ON CONSTRAINT user_roles_pkey DO NOTHING",
        tenant_id.0,
        user_id.0,
        role_id,
        granted_by.map(|id| id.0)
    )
    .execute(conn)
    .await?;
    Ok(granted.rows_affected() > 0)
}

/// Grants `role_id` to `user_id`. The actor must hold every permission the
/// role carries: a delegated administrator cannot hand out more than they have.
pub async fn assign(user_id: UserId, role_id: Uuid) -> Result<(), AppError> {
    let mut actor = require(Perm::RoleAssign).await?;
    let tenant_id = actor.tenant_id();
    user_exists(actor.conn(), tenant_id, user_id).await?;
    grant_in(&mut actor, user_id, role_id).await?;
    actor.commit().await
}

/// The tenant's live roles, (id, name) by name: for menus and filters.
pub async fn live_roles(conn: &mut PgConnection, tenant_id: TenantId) -> Result<Vec<(Uuid, String)>, AppError> {
    Ok(sqlx::query!("SELECT id, name FROM roles WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY lower(name)", tenant_id.0)
        .map(|r| (r.id, r.name))
        .fetch_all(conn)
        .await?)
}

/// Refuses (through the delegation rule) a role that carries a permission
/// or a view the actor lacks; the role's name otherwise.
pub async fn grantable(actor: &mut Actor, role_id: Uuid) -> Result<String, AppError> {
    if !actor.me().can(Perm::RoleAssign.key()) {
        return Err(AppError::Forbidden);
    }
    let tenant_id = actor.tenant_id();
    let role = find_role(actor.conn(), tenant_id, role_id).await?;
    crate::authz::delegation::ensure_may_give_roles(actor, &[role_id], &format!("grant {}", role.name), None).await?;
    Ok(role.name)
}

/// Grants a role in the actor's transaction (after [`grantable`]) and
/// records it; nothing when the user holds it already.
pub async fn grant_in(actor: &mut Actor, user_id: UserId, role_id: Uuid) -> Result<bool, AppError> {
    let name = grantable(actor, role_id).await?;
    record_grant(actor, user_id, role_id, &name).await
}

/// Writes a direct grant already found [`grantable`] (its `name` is what
/// that returned) and records it; nothing when the user holds it already.
pub async fn record_grant(actor: &mut Actor, user_id: UserId, role_id: Uuid, name: &str) -> Result<bool, AppError> {
    let tenant_id = actor.tenant_id();
    let me = actor.local_user_id();
    let granted = insert_grant(actor.conn(), tenant_id, user_id, role_id, me).await?;
    if granted {
        actor
            .audit("user.role_grant", "user", user_id, None, Some(grant_change(role_id, name)))
            .await?;
    }
    Ok(granted)
}

/// What a `user.role_grant` event says of the role given.
pub fn grant_change(role_id: Uuid, name: &str) -> serde_json::Value {
    json!({ "role_id": role_id, "role": name })
}

/// Takes `role_id` from `user_id` (a role held through a team stays).
pub async fn revoke(user_id: UserId, role_id: Uuid) -> Result<(), AppError> {
    let mut actor = require(Perm::RoleAssign).await?;
    revoke_in(&mut actor, user_id, role_id).await?;
    actor.commit().await
}

/// [`revoke`] in the actor's transaction (for one person of a batch);
/// whether they held it.
pub async fn revoke_in(actor: &mut Actor, user_id: UserId, role_id: Uuid) -> Result<bool, AppError> {
    if !actor.me().can(Perm::RoleAssign.key()) {
        return Err(AppError::Forbidden);
    }
    let tenant_id = actor.tenant_id();
    user_exists(actor.conn(), tenant_id, user_id).await?;
    let role = find_role(actor.conn(), tenant_id, role_id).await?;
    if role.system_key.as_deref().is_some_and(|k| TOP_ROLES.contains(&k)) {
        ensure_not_last_top_holder(actor.conn(), tenant_id, user_id, Some(role_id)).await?;
    }
    let removed = sqlx::query!(
        "DELETE FROM user_roles WHERE tenant_id = $1 AND user_id = $2 AND role_id = $3",
        tenant_id.0,
        user_id.0,
        role_id
    )
    .execute(actor.conn())
    .await?;
    if removed.rows_affected() == 0 {
        return Ok(false);
    }
    if user_id == actor.user_id() {
        ensure_keeps_admin(actor, format!("You cannot remove {} from yourself: it is what lets you manage access.", role.name)).await?;
    }
    actor.audit("user.role_revoke", "user", user_id, Some(json!({ "role_id": role_id, "role": role.name })), None).await?;
    Ok(true)
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
    sqlx::query!(
        "UPDATE roles SET deleted_at = now(), version = version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2",
        tenant_id.0,
        role_id
    )
    .execute(actor.conn())
    .await?;
    ensure_keeps_admin(&mut actor, format!("You cannot delete {}: it is what lets you manage access.", role.name)).await?;
    actor
        .audit("role.delete", "role", role_id, Some(json!({ "name": role.name, "deleted": false })), Some(json!({ "deleted": true })))
        .await?;
    actor.commit().await
}

/// Explains access for a user of the actor's tenant, named by id or by
/// email, to a view or a permission. Needs `role:read`.
pub async fn explain(user_id: Option<UserId>, email: Option<String>, view: Option<String>, permission: Option<String>) -> Result<Explanation, AppError> {
    let mut actor = require_current(Perm::RoleRead).await?;
    let target = match (view.filter(|v| !v.is_empty()), permission.filter(|p| !p.is_empty())) {
        (Some(v), None) => AccessTarget::View(v),
        (None, Some(p)) => AccessTarget::Permission(p),
        _ => return Err(AppError::invalid("view", "Name either a view or a permission.")),
    };
    let user_id = match (user_id, email.as_deref().map(str::trim).filter(|e| !e.is_empty())) {
        (Some(id), _) => id,
        (None, Some(email)) => user_by_email(&mut actor, email).await?,
        (None, None) => return Err(AppError::invalid("email", "Enter the email address of the person to check.")),
    };
    let tenant_id = actor.tenant_id();
    let explanation = explain_access(actor.conn(), tenant_id, user_id, target).await?;
    actor.commit().await?;
    Ok(explanation)
}

// ---- The roles screens -------------------------------------------------

/// The tenant's roles (`deleted` for the deleted custom ones). Needs `role:read`.
pub async fn list(deleted: bool) -> Result<Vec<RoleRow>, AppError> {
    let mut actor = require(Perm::RoleRead).await?;
    let rows: Vec<(Uuid, String, String, bool, i64, i64, i64, i64, bool)> = sqlx::query_as(&format!(
        "SELECT r.id, r.name, r.description, r.is_system,
                (SELECT count(*) FROM role_permissions p WHERE p.tenant_id = r.tenant_id AND p.role_id = r.id),
                (SELECT count(*) FROM role_views v WHERE v.tenant_id = r.tenant_id AND v.role_id = r.id),
                (SELECT count(*) FROM (SELECT 1 FROM user_roles ur WHERE ur.tenant_id = r.tenant_id AND ur.role_id = r.id LIMIT {}) c),
                (SELECT count(*) FROM team_roles tr JOIN teams t ON t.tenant_id = tr.tenant_id AND t.id = tr.team_id AND t.deleted_at IS NULL
                  WHERE tr.tenant_id = r.tenant_id AND tr.role_id = r.id),
                r.deleted_at IS NOT NULL
           FROM roles r
          WHERE r.tenant_id = $1 AND (r.deleted_at IS NOT NULL) = $2
          ORDER BY NOT r.is_system, lower(r.name)",
        COUNT_CAP + 1
    ))
    .bind(actor.tenant_id())
    .bind(deleted)
    .fetch_all(actor.conn())
    .await?;
    actor.commit().await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, description, is_system, permissions, views, direct, teams, deleted)| RoleRow {
            id,
            name,
            description,
            is_system,
            permissions,
            views,
            direct: Count::capped(direct),
            teams,
            deleted,
        })
        .collect())
}

/// The permission matrix's rows: the modules this tenant can use (core ones
/// and those it has), each with its views and permissions.
async fn catalogue_in(conn: &mut PgConnection, tenant_id: TenantId) -> Result<Vec<ModuleGroup>, AppError> {
    let modules: Vec<(String, String, bool)> = sqlx::query!(r#"SELECT m.key AS "key!: String", m.name AS "name!: String", m.is_core OR EXISTS (SELECT FROM tenant_modules tm WHERE tm.tenant_id = $1 AND tm.module_key = m.key) AS "c2!: bool" FROM modules m
          WHERE m.key <> 'platform' OR EXISTS (SELECT FROM tenant_modules tm WHERE tm.tenant_id = $1 AND tm.module_key = m.key)
          ORDER BY m.is_core DESC, m.key = 'platform', m.name"#, tenant_id.0).map(|r| (r.key, r.name, r.c2))
    .fetch_all(&mut *conn)
    .await?;
    let views: Vec<(String, String, String)> = sqlx::query!(r#"SELECT module_key AS "module_key!: String", key AS "key!: String", title AS "title!: String" FROM views ORDER BY path"#).map(|r| (r.module_key, r.key, r.title))
        .fetch_all(&mut *conn)
        .await?;
    let permissions: Vec<(String, String, String)> = sqlx::query!(r#"SELECT module_key AS "module_key!: String", key AS "key!: String", description AS "description!: String" FROM permissions ORDER BY key"#).map(|r| (r.module_key, r.key, r.description))
        .fetch_all(&mut *conn)
        .await?;
    Ok(modules
        .into_iter()
        .map(|(key, name, enabled)| ModuleGroup {
            views: views.iter().filter(|v| v.0 == key).map(|v| (v.1.clone(), v.2.clone())).collect(),
            permissions: permissions.iter().filter(|p| p.0 == key).map(|p| (p.1.clone(), p.2.clone())).collect(),
            key,
            name,
            enabled,
        })
        .collect())
}

/// The permission matrix for this tenant. Needs `role:read`.
pub async fn catalogue() -> Result<Vec<ModuleGroup>, AppError> {
    let mut actor = require_current(Perm::RoleRead).await?;
    let tenant_id = actor.tenant_id();
    let groups = catalogue_in(actor.conn(), tenant_id).await?;
    actor.commit().await?;
    Ok(groups)
}

async fn grants_of(conn: &mut PgConnection, tenant_id: TenantId, role_id: Uuid) -> Result<(Vec<String>, Vec<String>), AppError> {
    let permissions: Vec<String> = sqlx::query_scalar!("SELECT permission_key FROM role_permissions WHERE tenant_id = $1 AND role_id = $2 ORDER BY 1", tenant_id.0, role_id)
        .fetch_all(&mut *conn)
        .await?;
    let views: Vec<String> = sqlx::query_scalar!("SELECT view_key FROM role_views WHERE tenant_id = $1 AND role_id = $2 ORDER BY 1", tenant_id.0, role_id)
        .fetch_all(&mut *conn)
        .await?;
    Ok((permissions, views))
}

/// A role with its grants, holders and history. Needs `role:read`.
pub async fn detail(role_id: Uuid) -> Result<RoleDetail, AppError> {
    let mut actor = require_current(Perm::RoleRead).await?;
    let tenant_id = actor.tenant_id();
    let (name, description, is_system, version, deleted): (String, String, bool, i32, bool) =
        sqlx::query!(r#"SELECT name AS "name!: String", description AS "description!: String", is_system AS "is_system!: bool", version AS "version!: i32", deleted_at IS NOT NULL AS "c4!: bool" FROM roles WHERE tenant_id = $1 AND id = $2"#, tenant_id.0, role_id).map(|r| (r.name, r.description, r.is_system, r.version, r.c4))
            .fetch_optional(actor.conn())
            .await?
            .ok_or(AppError::NotFound)?;
    let (permissions, views) = grants_of(actor.conn(), tenant_id, role_id).await?;
    // The first holders by name: those granted it directly, walked in name
    // order through the users' index (the planner stops at the hundredth
    // when most people hold it, and starts from the grants when few do),
    // and those holding it through a team, merged. A deleted role has none.
    let holders: Vec<(UserId, String, String, Option<String>)> = if deleted {
        Vec::new()
    } else {
        sqlx::query_as(
            "(SELECT u.id, u.display_name, u.email, NULL::text AS team, u.name_key FROM users u
               WHERE u.tenant_id = $1 AND u.deleted_at IS NULL
                 AND EXISTS (SELECT 1 FROM user_roles ur WHERE ur.tenant_id = u.tenant_id AND ur.user_id = u.id AND ur.role_id = $2)
               ORDER BY u.name_key, u.id LIMIT $3)
             UNION ALL
             (SELECT u.id, u.display_name, u.email, t.name, u.name_key FROM team_roles tr
                JOIN teams t ON t.tenant_id = tr.tenant_id AND t.id = tr.team_id AND t.deleted_at IS NULL
                JOIN team_members tm ON tm.tenant_id = tr.tenant_id AND tm.team_id = tr.team_id
                JOIN users u ON u.tenant_id = tm.tenant_id AND u.id = tm.user_id AND u.deleted_at IS NULL
               WHERE tr.tenant_id = $1 AND tr.role_id = $2
               ORDER BY u.name_key, u.id, t.name LIMIT $3)
             ORDER BY name_key, id, team NULLS FIRST
             LIMIT $3",
        )
        .bind(tenant_id)
        .bind(role_id)
        .bind(HOLDERS_SHOWN)
        .fetch_all(actor.conn())
        .await?
        .into_iter()
        .map(|(id, name, email, team, _): (UserId, String, String, Option<String>, String)| (id, name, email, team))
        .collect()
    };
    // How many hold it, up to the cap: those granted it directly, and those
    // through a team who are not also granted it directly.
    let holder_count: i64 = if deleted {
        0
    } else {
        sqlx::query_scalar(&format!(
            "SELECT count(*) FROM (
               (SELECT ur.user_id FROM user_roles ur
                  JOIN users u ON u.tenant_id = ur.tenant_id AND u.id = ur.user_id AND u.deleted_at IS NULL
                 WHERE ur.tenant_id = $1 AND ur.role_id = $2 LIMIT {cap})
               UNION ALL
               (SELECT DISTINCT tm.user_id FROM team_roles tr
                  JOIN teams t ON t.tenant_id = tr.tenant_id AND t.id = tr.team_id AND t.deleted_at IS NULL
                  JOIN team_members tm ON tm.tenant_id = tr.tenant_id AND tm.team_id = tr.team_id
                  JOIN users u ON u.tenant_id = tm.tenant_id AND u.id = tm.user_id AND u.deleted_at IS NULL
                 WHERE tr.tenant_id = $1 AND tr.role_id = $2
                   AND NOT EXISTS (SELECT 1 FROM user_roles d WHERE d.tenant_id = tm.tenant_id AND d.user_id = tm.user_id AND d.role_id = $2)
                 LIMIT {cap})
             ) holders",
            cap = COUNT_CAP + 1
        ))
        .bind(tenant_id)
        .bind(role_id)
        .fetch_one(actor.conn())
        .await?
    };
    let teams: Vec<(Uuid, String, i64)> = sqlx::query!(r#"SELECT t.id AS "id!: Uuid", t.name AS "name!: String", (SELECT count(*) FROM team_members m WHERE m.tenant_id = t.tenant_id AND m.team_id = t.id) AS "c2!: i64" FROM team_roles tr JOIN teams t ON t.tenant_id = tr.tenant_id AND t.id = tr.team_id AND t.deleted_at IS NULL
          WHERE tr.tenant_id = $1 AND tr.role_id = $2 ORDER BY lower(t.name)"#, tenant_id.0, role_id).map(|r| (r.id, r.name, r.c2))
    .fetch_all(actor.conn())
    .await?;
    let history = history(actor.conn(), tenant_id, "role", role_id, 50).await?;
    actor.commit().await?;
    Ok(RoleDetail {
        id: role_id,
        name,
        description,
        is_system,
        version,
        deleted,
        permissions,
        views,
        holders: holders.into_iter().map(|(user_id, name, email, via_team)| Holder { user_id, name, email, via_team }).collect(),
        holder_count: Count::capped(holder_count),
        teams,
        history,
    })
}

/// Checks what a custom role is to carry: every key known and usable in
/// this tenant, and nothing added that the actor does not hold themselves.
/// Sorts and dedups both lists.
async fn check_grants(
    actor: &mut Actor,
    before: (&[String], &[String]),
    permissions: &mut Vec<String>,
    views: &mut Vec<String>,
) -> Result<(), AppError> {
    for list in [&mut *permissions, &mut *views] {
        list.retain(|k| !k.is_empty());
        list.sort();
        list.dedup();
    }
    let tenant_id = actor.tenant_id();
    let groups = catalogue_in(actor.conn(), tenant_id).await?;
    let mut errors = Vec::new();
    let unknown_p: Vec<&str> = permissions.iter().map(String::as_str).filter(|k| !groups.iter().any(|g| g.permissions.iter().any(|p| p.0 == *k))).collect();
    let unknown_v: Vec<&str> = views.iter().map(String::as_str).filter(|k| !groups.iter().any(|g| g.views.iter().any(|v| v.0 == *k))).collect();
    // The delegation rule: what the edit adds must be held by the actor.
    let added = crate::authz::delegation::Grants {
        permissions: permissions.iter().filter(|k| !before.0.contains(k)).cloned().collect(),
        views: views.iter().filter(|k| !before.1.contains(k)).cloned().collect(),
    };
    let lacking = added.lacking(actor);
    let lacking_p: Vec<&str> = lacking.iter().map(String::as_str).filter(|k| !k.starts_with("view:")).collect();
    let lacking_v: Vec<&str> = lacking.iter().filter_map(|k| k.strip_prefix("view:")).collect();
    let mut problem = |field: &str, keys: &[&str], what: &str| {
        if !keys.is_empty() {
            let message: String = format!("{what}: {}.", keys.join(", ")).chars().take(300).collect();
            errors.push(FieldError { field: field.into(), message });
        }
    };
    problem("perms", &unknown_p, "No such permission in this organisation");
    problem("views", &unknown_v, "No such view in this organisation");
    if unknown_p.is_empty() {
        problem("perms", &lacking_p, "You cannot give permissions you do not hold");
    }
    if unknown_v.is_empty() {
        problem("views", &lacking_v, "You cannot give views you cannot open");
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Replaces a role's permissions and views with the given lists.
async fn write_grants(conn: &mut PgConnection, tenant_id: TenantId, role_id: Uuid, permissions: &[String], views: &[String]) -> Result<(), AppError> {
    sqlx::query!("DELETE FROM role_permissions WHERE tenant_id = $1 AND role_id = $2 AND NOT (permission_key = ANY($3))", tenant_id.0, role_id, permissions)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("INSERT INTO role_permissions (tenant_id, role_id, permission_key) SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING", tenant_id.0, role_id, permissions)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("DELETE FROM role_views WHERE tenant_id = $1 AND role_id = $2 AND NOT (view_key = ANY($3))", tenant_id.0, role_id, views)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("INSERT INTO role_views (tenant_id, role_id, view_key) SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING", tenant_id.0, role_id, views)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Creates a custom role. Needs `role:manage`, and every permission and
/// view it is given.
pub async fn create(name: &str, description: &str, mut permissions: Vec<String>, mut views: Vec<String>) -> Result<Uuid, AppError> {
    let mut actor = require(Perm::RoleManage).await?;
    let tenant_id = actor.tenant_id();
    let (name, description) = (name.trim(), description.trim());
    let mut errors = super::role_problems(name, description);
    if let Err(AppError::Validation(more)) = check_grants(&mut actor, (&[], &[]), &mut permissions, &mut views).await {
        errors.extend(more);
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let id = Uuid::now_v7();
    sqlx::query!("INSERT INTO roles (tenant_id, id, name, description) VALUES ($1, $2, $3, $4)", tenant_id.0, id, name, description)
        .execute(actor.conn())
        .await
        .map_err(|e| field_conflict(e, "name"))?;
    write_grants(actor.conn(), tenant_id, id, &permissions, &views).await?;
    actor
        .audit(
            "role.create",
            "role",
            id,
            None,
            Some(json!({ "name": name, "description": description, "permissions": permissions, "views": views })),
        )
        .await?;
    actor.commit().await?;
    Ok(id)
}

/// Saves a custom role over the version the form showed. Needs `role:manage`.
pub async fn update(role_id: Uuid, version: i32, name: &str, description: &str, mut permissions: Vec<String>, mut views: Vec<String>) -> Result<(), AppError> {
    let mut actor = require(Perm::RoleManage).await?;
    let tenant_id = actor.tenant_id();
    let (name, description) = (name.trim(), description.trim());
    let before = sqlx::query!(r#"SELECT name AS "name!: String", description AS "description!: String", is_system AS "is_system!: bool", version AS "version!: i32", deleted_at IS NOT NULL AS "deleted!: bool" FROM roles WHERE tenant_id = $1 AND id = $2 FOR UPDATE"#, tenant_id.0, role_id)
            .fetch_optional(actor.conn())
            .await?
            .ok_or(AppError::NotFound)?;
    if before.is_system {
        return Err(AppError::Conflict(format!("{} is a system role: it cannot be changed. Make a custom role instead.", before.name)));
    }
    if before.deleted {
        return Err(AppError::Conflict("Restore the role first.".into()));
    }
    if before.version != version {
        return Err(stale(actor.conn(), tenant_id, "role", role_id).await);
    }
    let (old_permissions, old_views) = grants_of(actor.conn(), tenant_id, role_id).await?;
    let mut errors = super::role_problems(name, description);
    if let Err(AppError::Validation(more)) = check_grants(&mut actor, (&old_permissions, &old_views), &mut permissions, &mut views).await {
        errors.extend(more);
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    sqlx::query!("UPDATE roles SET name = $3, description = $4, version = version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2", tenant_id.0, role_id, name, description)
        .execute(actor.conn())
        .await
        .map_err(|e| field_conflict(e, "name"))?;
    write_grants(actor.conn(), tenant_id, role_id, &permissions, &views).await?;
    // Taking role:manage / role:assign out of the role that gives them to
    // oneself would lock one out of this very screen.
    let message = "You cannot take these permissions out: this role is what lets you manage access.";
    ensure_keeps_admin(&mut actor, message.into()).await.map_err(|_| AppError::invalid("perms", message))?;
    actor
        .audit(
            "role.update",
            "role",
            role_id,
            Some(json!({ "name": before.name, "description": before.description, "permissions": old_permissions, "views": old_views })),
            Some(json!({ "name": name, "description": description, "permissions": permissions, "views": views })),
        )
        .await?;
    actor.commit().await
}

/// Restores a deleted custom role. Needs `role:manage`.
pub async fn restore(role_id: Uuid) -> Result<(), AppError> {
    let mut actor = require(Perm::RoleManage).await?;
    let tenant_id = actor.tenant_id();
    let deleted: bool = sqlx::query_scalar!(r#"SELECT deleted_at IS NOT NULL AS "deleted!" FROM roles WHERE tenant_id = $1 AND id = $2 FOR UPDATE"#, tenant_id.0, role_id)
        .fetch_optional(actor.conn())
        .await?
        .ok_or(AppError::NotFound)?;
    if !deleted {
        return Ok(());
    }
    // Restoring gives the role back to its holders: the same limit as granting it.
    crate::authz::delegation::ensure_may_give_roles(&mut actor, &[role_id], "restore this role", None).await?;
    sqlx::query!("UPDATE roles SET deleted_at = NULL, version = version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2", tenant_id.0, role_id)
        .execute(actor.conn())
        .await
        .map_err(|e| crate::error::on_conflict(e, "Another role now has this name: rename that one first."))?;
    actor.audit("role.restore", "role", role_id, Some(json!({ "deleted": true })), Some(json!({ "deleted": false }))).await?;
    actor.commit().await
}

/// Finds a live user of the actor's tenant by email, for the explain page.
pub async fn user_by_email(actor: &mut Actor, email: &str) -> Result<UserId, AppError> {
    let tenant_id = actor.tenant_id();
    sqlx::query_scalar!(r#"SELECT id AS "id: UserId" FROM users WHERE tenant_id = $1 AND lower(email) = lower($2) AND deleted_at IS NULL"#, tenant_id.0, email.trim())
        .fetch_optional(actor.conn())
        .await?
        .ok_or_else(|| AppError::invalid("email", "No user with this email address in this organisation."))
}

