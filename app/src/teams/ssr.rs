//! Teams on the server.

use crate::ids::{UserId};
use super::{TeamDetail, TeamRow};
use crate::audit::record::{history, stale};
use crate::authz::delegation;
use crate::authz::ssr::{require, require_current, Actor};
use crate::authz::Perm;
use crate::roles::ssr::ensure_keeps_admin;
use crate::error::AppError;
use crate::error::field_conflict;
use crate::roles::ssr::live_roles;
use serde_json::json;
use uuid::Uuid;

pub async fn list(deleted: bool) -> Result<Vec<TeamRow>, AppError> {
    let mut actor = require_current(Perm::TeamRead).await?;
    let rows: Vec<(Uuid, String, String, i64, Option<String>, Option<String>, bool)> = sqlx::query!(r#"SELECT t.id AS "id!: Uuid", t.name AS "name!: String", t.description AS "description!: String", (SELECT count(*) FROM team_members m WHERE m.tenant_id = t.tenant_id AND m.team_id = t.id) AS "c3!: i64", (SELECT string_agg(r.name, ', ' ORDER BY r.name) FROM team_roles tr
                   JOIN roles r ON r.tenant_id = tr.tenant_id AND r.id = tr.role_id AND r.deleted_at IS NULL
                  WHERE tr.tenant_id = t.tenant_id AND tr.team_id = t.id) AS "c4?: String", u.display_name AS "display_name?: String", t.deleted_at IS NOT NULL AS "c6!: bool" FROM teams t LEFT JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.lead_user_id
          WHERE t.tenant_id = $1 AND (t.deleted_at IS NOT NULL) = $2
          ORDER BY lower(t.name)"#, actor.tenant_id().0, deleted).map(|r| (r.id, r.name, r.description, r.c3, r.c4, r.display_name, r.c6))
    .fetch_all(actor.conn())
    .await?;
    actor.commit().await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, description, members, roles, lead, deleted)| TeamRow {
            id,
            name,
            description,
            members,
            roles: roles.unwrap_or_default(),
            lead: lead.unwrap_or_default(),
            deleted,
        })
        .collect())
}

/// A team as read before a change.
struct Team {
    name: String,
    description: String,
    version: i32,
    lead_user_id: Option<UserId>,
    deleted: bool,
}

async fn find(actor: &mut Actor, team_id: Uuid, lock: bool) -> Result<Team, AppError> {
    let tenant_id = actor.tenant_id();
    let team = if lock {
        sqlx::query_as!(
            Team,
            r#"SELECT name, description, version, lead_user_id AS "lead_user_id: _", deleted_at IS NOT NULL AS "deleted!"
                 FROM teams WHERE tenant_id = $1 AND id = $2 FOR UPDATE"#,
            tenant_id.0,
            team_id
        )
        .fetch_optional(actor.conn())
        .await?
    } else {
        sqlx::query_as!(
            Team,
            r#"SELECT name, description, version, lead_user_id AS "lead_user_id: _", deleted_at IS NOT NULL AS "deleted!"
                 FROM teams WHERE tenant_id = $1 AND id = $2"#,
            tenant_id.0,
            team_id
        )
        .fetch_optional(actor.conn())
        .await?
    };
    team.ok_or(AppError::NotFound)
}

/// A team to change (locked): a deleted one must be restored first.
async fn find_live(actor: &mut Actor, team_id: Uuid) -> Result<Team, AppError> {
    let team = find(actor, team_id, true).await?;
    if team.deleted {
        return Err(AppError::Conflict("Restore the team first.".into()));
    }
    Ok(team)
}

pub async fn detail(team_id: Uuid) -> Result<TeamDetail, AppError> {
    let mut actor = require_current(Perm::TeamRead).await?;
    let tenant_id = actor.tenant_id();
    let Team { name, description, version, lead_user_id, deleted } = find(&mut actor, team_id, false).await?;
    let members: Vec<(UserId, String, String)> = sqlx::query!(r#"SELECT u.id AS "id!: UserId", u.display_name AS "display_name!: String", u.email AS "email!: String" FROM team_members m JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id
          WHERE m.tenant_id = $1 AND m.team_id = $2 AND u.deleted_at IS NULL ORDER BY lower(u.display_name)"#, tenant_id.0, team_id).map(|r| (r.id, r.display_name, r.email))
    .fetch_all(actor.conn())
    .await?;
    let roles: Vec<(Uuid, String)> = sqlx::query!(r#"SELECT r.id AS "id!: Uuid", r.name AS "name!: String" FROM team_roles tr JOIN roles r ON r.tenant_id = tr.tenant_id AND r.id = tr.role_id AND r.deleted_at IS NULL
          WHERE tr.tenant_id = $1 AND tr.team_id = $2 ORDER BY lower(r.name)"#, tenant_id.0, team_id).map(|r| (r.id, r.name))
    .fetch_all(actor.conn())
    .await?;
    let all_roles = live_roles(actor.conn(), tenant_id).await?;
    let history = history(actor.conn(), tenant_id, "team", team_id, 50).await?;
    actor.commit().await?;
    Ok(TeamDetail { id: team_id, name, description, version, deleted, lead_user_id, members, roles, all_roles, history })
}

pub async fn create(name: &str, description: &str) -> Result<Uuid, AppError> {
    let mut actor = require(Perm::TeamManage).await?;
    let (name, description) = (name.trim(), description.trim());
    let errors = super::team_problems(name, description);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let id = Uuid::now_v7();
    sqlx::query!("INSERT INTO teams (tenant_id, id, name, description) VALUES ($1, $2, $3, $4)", actor.tenant_id().0, id, name, description)
        .execute(actor.conn())
        .await
        .map_err(|e| field_conflict(e, "name"))?;
    actor.audit("team.create", "team", id, None, Some(json!({ "name": name, "description": description }))).await?;
    actor.commit().await?;
    Ok(id)
}

pub async fn update(team_id: Uuid, version: i32, name: &str, description: &str, lead: Option<&str>) -> Result<(), AppError> {
    let mut actor = require(Perm::TeamManage).await?;
    let tenant_id = actor.tenant_id();
    let (name, description) = (name.trim(), description.trim());
    let errors = super::team_problems(name, description);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let lead: Option<UserId> = match lead.map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) => Some(l.parse().map_err(|_| AppError::invalid("lead_user_id", "Choose the lead from the team's members."))?),
        None => None,
    };
    let before = find_live(&mut actor, team_id).await?;
    if before.version != version {
        return Err(stale(actor.conn(), tenant_id, "team", team_id).await);
    }
    if let Some(lead) = lead {
        let member: Option<Uuid> = sqlx::query_scalar!("SELECT user_id FROM team_members WHERE tenant_id = $1 AND team_id = $2 AND user_id = $3", tenant_id.0, team_id, lead.0)
            .fetch_optional(actor.conn())
            .await?;
        if member.is_none() {
            return Err(AppError::invalid("lead_user_id", "Choose the lead from the team's members."));
        }
    }
    sqlx::query!("UPDATE teams SET name = $3, description = $4, lead_user_id = $5, version = version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2", tenant_id.0, team_id, name, description, lead.map(|id| id.0))
        .execute(actor.conn())
        .await
        .map_err(|e| field_conflict(e, "name"))?;
    actor
        .audit(
            "team.update",
            "team",
            team_id,
            Some(json!({ "name": before.name, "description": before.description, "lead_user_id": before.lead_user_id })),
            Some(json!({ "name": name, "description": description, "lead_user_id": lead })),
        )
        .await?;
    actor.commit().await
}

pub async fn set_deleted(team_id: Uuid, deleted: bool) -> Result<(), AppError> {
    let mut actor = require(Perm::TeamManage).await?;
    let tenant_id = actor.tenant_id();
    let before = find(&mut actor, team_id, true).await?;
    if before.deleted == deleted {
        return Ok(());
    }
    if deleted {
        // Deleting the team takes its roles from its members: the same
        // anti-lockout rule as taking them one by one.
        crate::authz::lockout::ensure_team_not_last_top(actor.conn(), tenant_id, team_id).await?;
    } else {
        // Restoring it gives its roles back to its members: the delegation
        // rule, as for granting them.
        let roles = delegation::roles_of_team(actor.conn(), tenant_id, team_id).await?;
        delegation::ensure_may_give_roles(&mut actor, &roles, &format!("restore {}", before.name), None).await?;
    }
    sqlx::query!("UPDATE teams SET deleted_at = CASE WHEN $3 THEN now() END, version = version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2", tenant_id.0, team_id, deleted)
        .execute(actor.conn())
        .await
        .map_err(|e| crate::error::on_conflict(e, "Another team now has this name: rename it first."))?;
    if deleted {
        ensure_keeps_admin(&mut actor, "You cannot delete this team: it is what lets you manage access.".into()).await?;
    }
    let action = if deleted { "team.delete" } else { "team.restore" };
    actor.audit(action, "team", team_id, Some(json!({ "deleted": !deleted })), Some(json!({ "deleted": deleted }))).await?;
    actor.commit().await
}

pub async fn set_member(team_id: Uuid, user_id: UserId, member: bool) -> Result<(), AppError> {
    let mut actor = require(Perm::TeamManage).await?;
    if member {
        add_member_in(&mut actor, team_id, user_id).await?;
        return actor.commit().await;
    }
    let tenant_id = actor.tenant_id();
    let team = find_live(&mut actor, team_id).await?;
    let user: Option<String> = sqlx::query_scalar!("SELECT display_name FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL", tenant_id.0, user_id.0)
        .fetch_optional(actor.conn())
        .await?;
    let user = user.ok_or(AppError::NotFound)?;
    crate::authz::lockout::ensure_member_not_last_top(actor.conn(), tenant_id, team_id, user_id).await?;
    if team.lead_user_id == Some(user_id) {
        sqlx::query!("UPDATE teams SET lead_user_id = NULL, version = version + 1 WHERE tenant_id = $1 AND id = $2", tenant_id.0, team_id)
            .execute(actor.conn())
            .await?;
    }
    let removed = sqlx::query!("DELETE FROM team_members WHERE tenant_id = $1 AND team_id = $2 AND user_id = $3", tenant_id.0, team_id, user_id.0)
        .execute(actor.conn())
        .await?
        .rows_affected();
    if user_id == actor.user_id() {
        // Leaving a team must not take away one's own administration.
        ensure_keeps_admin(&mut actor, "You cannot leave this team: it is what lets you manage access.".into()).await?;
    }
    if removed > 0 {
        actor.audit("team.member_remove", "team", team_id, Some(json!({ "user_id": user_id, "user": user })), None).await?;
    }
    actor.commit().await
}

pub async fn add_member_in(actor: &mut Actor, team_id: Uuid, user_id: UserId) -> Result<bool, AppError> {
    if !actor.me().can(Perm::TeamManage.key()) {
        return Err(AppError::Forbidden);
    }
    let tenant_id = actor.tenant_id();
    let team = find_live(actor, team_id).await?;
    let user: Option<String> = sqlx::query_scalar!("SELECT display_name FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL", tenant_id.0, user_id.0)
        .fetch_optional(actor.conn())
        .await?;
    let user = user.ok_or(AppError::NotFound)?;
    let roles = delegation::roles_of_team(actor.conn(), tenant_id, team_id).await?;
    delegation::ensure_may_give_roles(actor, &roles, &format!("add {user} to {}", team.name), Some(user_id)).await?;
    let added = sqlx::query!("INSERT INTO team_members (tenant_id, team_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", tenant_id.0, team_id, user_id.0)
        .execute(actor.conn())
        .await?
        .rows_affected();
    if added > 0 {
        actor.audit("team.member_add", "team", team_id, None, Some(json!({ "user_id": user_id, "user": user }))).await?;
    }
    Ok(added > 0)
}

pub async fn set_role(team_id: Uuid, role_id: Uuid, granted: bool) -> Result<(), AppError> {
    let mut actor = require(Perm::RoleAssign).await?;
    let tenant_id = actor.tenant_id();
    find_live(&mut actor, team_id).await?;
    let role = crate::roles::ssr::grantable(&mut actor, role_id).await?;
    let changed = if granted {
        sqlx::query!("INSERT INTO team_roles (tenant_id, team_id, role_id, granted_by) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", tenant_id.0, team_id, role_id, actor.local_user_id().map(|id| id.0))
            .execute(actor.conn())
            .await?
            .rows_affected()
    } else {
        crate::authz::lockout::ensure_team_role_not_last_top(actor.conn(), tenant_id, team_id, role_id).await?;
        sqlx::query!("DELETE FROM team_roles WHERE tenant_id = $1 AND team_id = $2 AND role_id = $3", tenant_id.0, team_id, role_id)
            .execute(actor.conn())
            .await?
            .rows_affected()
    };
    if !granted {
        ensure_keeps_admin(&mut actor, format!("You cannot take {role} from this team: it is what lets you manage access.")).await?;
    }
    if changed > 0 {
        let what = json!({ "role_id": role_id, "role": role });
        let (action, before, after) = if granted { ("team.role_grant", None, Some(what)) } else { ("team.role_revoke", Some(what), None) };
        actor.audit(action, "team", team_id, before, after).await?;
    }
    actor.commit().await
}

/// A live team as the JSON API gives it.
pub struct TeamRecord {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub members: i64,
}

/// The live teams by name (at most 1,000), with their member counts.
pub async fn records(actor: &mut Actor) -> Result<Vec<TeamRecord>, AppError> {
    let tenant_id = actor.tenant_id();
    Ok(sqlx::query_as!(
        TeamRecord,
        r#"SELECT t.id, t.name, t.description,
                  (SELECT count(*) FROM team_members m WHERE m.tenant_id = t.tenant_id AND m.team_id = t.id) AS "members!"
             FROM teams t WHERE t.tenant_id = $1 AND t.deleted_at IS NULL ORDER BY lower(t.name) LIMIT 1000"#,
        tenant_id.0
    )
    .fetch_all(actor.conn())
    .await?)
}
