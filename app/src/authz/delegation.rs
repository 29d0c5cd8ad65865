//! The delegation rule, in one place. Every path that changes access or
//! credentials calls one of the two checks here, inside the action's own
//! transaction, before it writes:
//!
//! 1. **No escalation** ([`ensure_may_give`]): a change may not give anyone
//!    (the actor included) a permission or a view the actor does not hold.
//!    The change is described by what it hands out: roles (granted to a
//!    person or a team, given to a team's new member, brought back by a
//!    restore) or bare permission and view keys (a role edit, an API key's
//!    scopes).
//! 2. **No takeover upward** ([`ensure_may_act_on`]): an action on someone's
//!    credentials or sign-in (password, second factor, lock, status, email,
//!    sessions, API keys, deletion, anonymisation, their personal data) is
//!    allowed only when their effective permissions and views are a subset
//!    of the actor's.
//!
//! "Held" means effective: the grants of live roles, direct and through
//! live teams, within the modules the tenant has enabled (the same
//! definition the principal is resolved with). Platform staff acting inside
//! a tenant hold their platform grants there, so support cannot act on
//! anyone who can read documents, and never on a platform administrator.
//!
//! A refusal is one sentence saying why ([`AppError::Refused`], shown beside
//! the button) and an `access.denied` event with `rule: delegation`, written
//! in its own transaction because the refused action writes nothing.

use crate::ids::{TenantId, UserId};
use super::ssr::Actor;
use crate::error::AppError;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

/// The permissions and views something carries, sorted and without repeats.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    pub permissions: Vec<String>,
    pub views: Vec<String>,
}

impl Grants {
    /// What of `self` the actor does not hold, as keys (views marked
    /// `view:`), sorted.
    pub fn lacking(&self, actor: &Actor) -> Vec<String> {
        let mut out: Vec<String> = self.permissions.iter().filter(|p| !actor.me().can(p)).cloned().collect();
        out.extend(self.views.iter().filter(|v| !actor.me().can_view(v)).map(|v| format!("view:{v}")));
        out
    }
}

/// The grants the given roles carry in the tenant, within its enabled
/// modules (deleted roles count: restoring one hands out what it carries).
pub async fn carried_by(conn: &mut PgConnection, tenant_id: TenantId, roles: &[Uuid]) -> Result<Grants, AppError> {
    let rows: Vec<(bool, String)> = sqlx::query!(
        r#"WITH enabled AS (SELECT m.key FROM modules m WHERE m.is_core
                          UNION SELECT tm.module_key FROM tenant_modules tm WHERE tm.tenant_id = $1)
         SELECT DISTINCT true AS "is_permission!: bool", p.key AS "key!: String" FROM role_permissions rp
           JOIN permissions p ON p.key = rp.permission_key JOIN enabled e ON e.key = p.module_key
          WHERE rp.tenant_id = $1 AND rp.role_id = ANY($2)
         UNION
         SELECT DISTINCT false, v.key FROM role_views rv
           JOIN views v ON v.key = rv.view_key JOIN enabled e ON e.key = v.module_key
          WHERE rv.tenant_id = $1 AND rv.role_id = ANY($2)
         ORDER BY 1, 2"#,
        tenant_id.0,
        roles
    )
    .map(|r| (r.is_permission, r.key))
    .fetch_all(&mut *conn)
    .await?;
    let mut grants = Grants::default();
    for (is_permission, key) in rows {
        if is_permission { grants.permissions.push(key) } else { grants.views.push(key) }
    }
    Ok(grants)
}

/// What a person holds or would hold again: their roles whatever their
/// status, and also roles deleted for now and roles of teams deleted for
/// now (a restore gives those back, so taking over the account now would be
/// taking over what it becomes).
pub async fn held_by(conn: &mut PgConnection, tenant_id: TenantId, user_id: UserId) -> Result<Grants, AppError> {
    let roles: Vec<Uuid> = sqlx::query_scalar!(r#"SELECT role_id AS "role_id!" FROM user_roles WHERE tenant_id = $1 AND user_id = $2
         UNION
         SELECT tr.role_id FROM team_members tm JOIN team_roles tr ON tr.tenant_id = tm.tenant_id AND tr.team_id = tm.team_id
          WHERE tm.tenant_id = $1 AND tm.user_id = $2"#, tenant_id.0, user_id.0)
        .fetch_all(&mut *conn)
        .await?;
    carried_by(conn, tenant_id, &roles).await
}

/// What a person holds now (effective: live roles, direct and through live
/// teams, within the enabled modules), or nothing when they cannot sign in.
pub async fn effective_grants(conn: &mut PgConnection, tenant_id: TenantId, user_id: UserId) -> Result<Grants, AppError> {
    let roles: Vec<Uuid> = sqlx::query_scalar!(
        r#"SELECT DISTINCT e.role_id AS "role_id!" FROM effective_user_roles e
             JOIN users u ON u.tenant_id = e.tenant_id AND u.id = e.user_id AND u.status = 'active' AND u.deleted_at IS NULL
            WHERE e.tenant_id = $1 AND e.user_id = $2"#,
        tenant_id.0,
        user_id.0
    )
    .fetch_all(&mut *conn)
    .await?;
    carried_by(conn, tenant_id, &roles).await
}

/// The live roles a team hands to its members.
pub async fn roles_of_team(conn: &mut PgConnection, tenant_id: TenantId, team_id: Uuid) -> Result<Vec<Uuid>, AppError> {
    Ok(sqlx::query_scalar!("SELECT tr.role_id FROM team_roles tr JOIN roles r ON r.tenant_id = tr.tenant_id AND r.id = tr.role_id AND r.deleted_at IS NULL
          WHERE tr.tenant_id = $1 AND tr.team_id = $2", tenant_id.0, team_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Refuses, recording why, when the actor does not hold all of `grants`.
/// `what` completes "You cannot …" (such as "grant Owner" or "add Maya
/// Manager to Admins").
pub async fn ensure_may_give(actor: &mut Actor, grants: &Grants, what: &str, subject: Option<UserId>) -> Result<(), AppError> {
    let lacking = grants.lacking(actor);
    if lacking.is_empty() {
        return Ok(());
    }
    let message = format!("You cannot {what}: it would give permissions you do not hold ({}).", shorten(&lacking));
    refuse(actor, "no_escalation", what, subject, &lacking, message).await
}

/// [`ensure_may_give`] for what `roles` carry.
pub async fn ensure_may_give_roles(actor: &mut Actor, roles: &[Uuid], what: &str, subject: Option<UserId>) -> Result<(), AppError> {
    let tenant_id = actor.scope();
    let grants = carried_by(actor.conn(), tenant_id, roles).await?;
    ensure_may_give(actor, &grants, what, subject).await
}

/// Refuses, recording why, an action on `subject`'s credentials or sign-in
/// when they hold a permission or a view the actor does not. `what`
/// completes "You cannot …" (such as "reset the password of").
pub async fn ensure_may_act_on(actor: &mut Actor, subject: UserId, what: &str) -> Result<(), AppError> {
    if subject == actor.me().user_id && actor.me().acting_from.is_none() {
        return Ok(());
    }
    let tenant_id = actor.scope();
    let held = held_by(actor.conn(), tenant_id, subject).await?;
    let lacking = held.lacking(actor);
    if lacking.is_empty() {
        return Ok(());
    }
    let name: String = sqlx::query_scalar!("SELECT display_name FROM users WHERE tenant_id = $1 AND id = $2", tenant_id.0, subject.0)
        .fetch_optional(actor.conn())
        .await?
        .ok_or(AppError::NotFound)?;
    let message = format!("You cannot {what} {name}: they hold permissions you do not ({}).", shorten(&lacking));
    refuse(actor, "no_takeover", what, Some(subject), &lacking, message).await
}

fn shorten(keys: &[String]) -> String {
    const SHOWN: usize = 6;
    let mut text = keys.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if keys.len() > SHOWN {
        text.push_str(&format!(" and {} more", keys.len() - SHOWN));
    }
    text
}

async fn refuse(actor: &Actor, rule: &str, what: &str, subject: Option<UserId>, lacking: &[String], message: String) -> Result<(), AppError> {
    let details = json!({ "rule": "delegation", "check": rule, "action": what, "subject": subject, "lacking": lacking });
    actor.record_refusal(details).await;
    Err(AppError::Refused(message))
}

#[cfg(test)]
mod tests {
    use super::shorten;

    #[test]
    fn long_lists_are_cut_with_a_count() {
        let keys: Vec<String> = (0..9).map(|i| format!("p:{i}")).collect();
        assert_eq!(shorten(&keys[..2]), "p:0, p:1");
        assert_eq!(shorten(&keys), "p:0, p:1, p:2, p:3, p:4, p:5 and 3 more");
    }
}
