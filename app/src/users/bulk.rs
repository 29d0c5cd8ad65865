//! Bulk actions on the users list: one action on many people (those ticked,
//! or everyone the filter matches, up to [`BULK_MAX`]), in one transaction.
//! Each person goes through the same function as on their own page (its
//! permission, the delegation rule, the anti-lockout rules, its audit
//! event), inside a savepoint: a refusal for one person leaves nothing of
//! them behind and is reported with its reason; the others go through.
//! People for whom there was nothing to do (suspended already, holding the
//! role already) are reported apart, with no event.

use super::ssr::{delete_in, push_filters, resend_invitation_in, set_status_in};
use super::{BulkAction, BulkRefusal, BulkReport, UserQuery, BULK_MAX};
use crate::authz::delegation::ensure_may_act_on;
use crate::authz::ssr::{require, Actor};
use crate::authz::Perm;
use crate::error::AppError;
use crate::ids::UserId;
use crate::status::UserStatus;
use serde_json::json;
use sqlx::QueryBuilder;
use uuid::Uuid;

/// Whom a bulk action is for: the people ticked, or everyone the filter matches.
pub enum Targets {
    Chosen(Vec<UserId>),
    Matching(UserQuery),
}

/// Runs `action` for each of `targets`; `role` and `team` name what the
/// grant, removal or team action is about.
pub async fn run(action: BulkAction, targets: Targets, role: Option<Uuid>, team: Option<Uuid>) -> Result<BulkReport, AppError> {
    let mut actor = require(action.perm()).await?;
    let base = match action {
        BulkAction::ResendInvitation => Some(crate::ssr::request_link_base()?),
        _ => None,
    };
    let role = match (action, role) {
        (BulkAction::GrantRole | BulkAction::RemoveRole, None) => return Err(AppError::invalid("role_id", "Choose the role.")),
        (_, role) => role,
    };
    let team = match (action, team) {
        (BulkAction::AddToTeam, None) => return Err(AppError::invalid("team_id", "Choose the team.")),
        (_, team) => team,
    };
    // What is the same for everyone is checked once, before anyone: a role
    // or a team that carries more than the actor holds refuses the batch.
    if let (BulkAction::GrantRole, Some(role)) = (action, role) {
        crate::roles::ssr::grantable(&mut actor, role).await.map_err(|e| e.beside("role_id"))?;
    }
    if let (BulkAction::RemoveRole, Some(role)) = (action, role) {
        let tenant_id = actor.tenant_id();
        let found: bool = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM roles WHERE tenant_id = $1 AND id = $2) AS "found!""#, tenant_id.0, role)
            .fetch_one(actor.conn())
            .await?;
        if !found {
            return Err(AppError::NotFound);
        }
    }
    if let (BulkAction::AddToTeam, Some(team)) = (action, team) {
        let tenant_id = actor.tenant_id();
        let live: bool = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM teams WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL) AS "live!""#, tenant_id.0, team)
            .fetch_one(actor.conn())
            .await?;
        if !live {
            return Err(AppError::NotFound);
        }
        let roles = crate::authz::delegation::roles_of_team(actor.conn(), tenant_id, team).await?;
        crate::authz::delegation::ensure_may_give_roles(&mut actor, &roles, "add people to this team", None).await?;
    }
    // Everyone the filter matches is a list of people: only for those who
    // may read the list.
    if matches!(targets, Targets::Matching(_)) && !actor.me().can(Perm::UserRead.key()) {
        return Err(AppError::Forbidden);
    }
    let people = resolve(&mut actor, targets).await?;
    let batch = Uuid::now_v7();
    let mut report = BulkReport { action, done: Vec::new(), unchanged: Vec::new(), refused: Vec::new() };
    // The delegation rule first, for everyone, before anything is written:
    // a refusal records its event in a transaction of its own, which must
    // not wait for this one (whose first audit event holds the chain).
    let mut allowed = Vec::new();
    for (user_id, name) in people {
        let touches_sign_in = matches!(action, BulkAction::Suspend | BulkAction::Reactivate | BulkAction::Delete | BulkAction::ResendInvitation);
        let what = match action {
            BulkAction::Suspend => "suspend",
            BulkAction::Reactivate => "reactivate",
            BulkAction::Delete => "delete",
            _ => "send an invitation again to",
        };
        match if touches_sign_in { ensure_may_act_on(&mut actor, user_id, what).await } else { Ok(()) } {
            Ok(()) => allowed.push((user_id, name)),
            Err(e @ (AppError::Internal | AppError::Unavailable)) => return Err(e),
            Err(e) => report.refused.push(BulkRefusal { user_id, name, reason: reason(&e) }),
        }
    }
    for (user_id, name) in allowed {
        sqlx::query!("SAVEPOINT bulk_person").execute(actor.conn()).await?;
        let result = match action {
            BulkAction::Suspend => set_status_in(&mut actor, user_id, UserStatus::Suspended).await,
            BulkAction::Reactivate => set_status_in(&mut actor, user_id, UserStatus::Active).await,
            BulkAction::Delete => delete_in(&mut actor, user_id).await.map(|()| true),
            BulkAction::GrantRole => crate::roles::ssr::grant_in(&mut actor, user_id, role.unwrap_or_default()).await,
            BulkAction::RemoveRole => crate::roles::ssr::revoke_in(&mut actor, user_id, role.unwrap_or_default()).await,
            BulkAction::AddToTeam => crate::teams::ssr::add_member_in(&mut actor, team.unwrap_or_default(), user_id).await,
            BulkAction::ResendInvitation => resend_invitation_in(&mut actor, user_id, base.as_deref().unwrap_or_default()).await.map(|()| true),
        };
        match result {
            Ok(changed) => {
                sqlx::query!("RELEASE SAVEPOINT bulk_person").execute(actor.conn()).await?;
                if changed { report.done.push(user_id) } else { report.unchanged.push(user_id) }
            }
            Err(e @ (AppError::Internal | AppError::Unavailable)) => return Err(e),
            Err(e) => {
                sqlx::query!("ROLLBACK TO SAVEPOINT bulk_person").execute(actor.conn()).await?;
                report.refused.push(BulkRefusal { user_id, name, reason: reason(&e) });
            }
        }
    }
    let after = json!({
        "action": action.key(),
        "role_id": role,
        "team_id": team,
        "done": report.done.len(),
        "unchanged": report.unchanged.len(),
        "refused": report.refused.len(),
    });
    actor.audit("user.bulk_action", "user_batch", batch, None, Some(after)).await?;
    actor.commit().await?;
    Ok(report)
}

/// The people of `targets` in the actor's tenant, with their names, in a
/// stable order; more than [`BULK_MAX`] is refused whole. An id of no one
/// here (another tenant's, say) is simply not among them; ids that name
/// nobody here at all are not found.
async fn resolve(actor: &mut Actor, targets: Targets) -> Result<Vec<(UserId, String)>, AppError> {
    let tenant_id = actor.tenant_id();
    let mut b = QueryBuilder::new("SELECT u.id, u.display_name FROM users u");
    match &targets {
        Targets::Chosen(ids) => {
            if ids.is_empty() {
                return Err(AppError::invalid("ids", "Tick the people to act on, or choose everyone matching the filter."));
            }
            let ids: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
            b.push(" WHERE u.tenant_id = ").push_bind(tenant_id).push(" AND u.id = ANY(").push_bind(ids).push(")");
        }
        Targets::Matching(query) => push_filters(&mut b, tenant_id, query)?,
    }
    // No bulk action is for deleted people (a restore is one at a time).
    b.push(" AND u.deleted_at IS NULL");
    b.push(" ORDER BY u.id LIMIT ").push_bind(BULK_MAX as i64 + 1);
    let people: Vec<(UserId, String)> = b.build_query_as().fetch_all(actor.conn()).await?;
    if people.len() > BULK_MAX {
        return Err(AppError::invalid(
            "ids",
            &format!("This would act on more than {BULK_MAX} people at once: narrow the filter, and run it in parts."),
        ));
    }
    match (&targets, people.is_empty()) {
        // Ids that name nobody here (another organisation's, say): not found.
        (Targets::Chosen(_), true) => return Err(AppError::NotFound),
        (Targets::Matching(_), true) => return Err(AppError::invalid("ids", "Nobody matches the filter: there is no one to act on.")),
        _ => {}
    }
    Ok(people)
}

/// Why one person was refused, in a sentence.
fn reason(e: &AppError) -> String {
    match e {
        AppError::Validation(errors) => errors.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join(" "),
        AppError::Forbidden => "You may not do this.".into(),
        AppError::NotFound => "Not found (deleted already, or the role or team is gone).".into(),
        other => other.to_string(),
    }
}
