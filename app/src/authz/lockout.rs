//! The anti-lockout rules, in one place: a tenant always keeps an active
//! holder of its top role, whatever removes one (suspending, deleting or
//! anonymising a person, taking a role from them or from a team, taking a
//! member out of a team, deleting a team). Each check runs after the
//! change, in its transaction.

use crate::ids::{TenantId, UserId};
use crate::error::AppError;
use sqlx::PgConnection;
use uuid::Uuid;

/// The system roles that administer a tenant: a tenant must keep an active
/// holder of one of them.
pub const TOP_ROLES: &[&str] = &["owner", "platform_admin"];

/// Refuses a change that would leave the tenant with no active holder of
/// its top role (held directly or through a team). The change takes
/// `user_id` out entirely (suspend, delete) or, with `only_role`, removes
/// that one role held directly by them.
pub async fn ensure_not_last_top_holder(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    user_id: UserId,
    only_role: Option<Uuid>,
) -> Result<(), AppError> {
    ensure_top_remains(conn, tenant_id, Some(user_id), only_role, None, only_role.is_some()).await
}

/// [`ensure_not_last_top_holder`] for deleting a team.
pub async fn ensure_team_not_last_top(conn: &mut PgConnection, tenant_id: TenantId, team_id: Uuid) -> Result<(), AppError> {
    ensure_top_remains(conn, tenant_id, None, None, Some(team_id), false).await
}

/// [`ensure_not_last_top_holder`] for taking a member out of a team.
pub async fn ensure_member_not_last_top(conn: &mut PgConnection, tenant_id: TenantId, team_id: Uuid, user_id: UserId) -> Result<(), AppError> {
    ensure_top_remains(conn, tenant_id, Some(user_id), None, Some(team_id), false).await
}

/// [`ensure_not_last_top_holder`] for taking a role from a team.
pub async fn ensure_team_role_not_last_top(conn: &mut PgConnection, tenant_id: TenantId, team_id: Uuid, role_id: Uuid) -> Result<(), AppError> {
    ensure_top_remains(conn, tenant_id, None, Some(role_id), Some(team_id), false).await
}

/// The grants a change removes are those matching every given part (user,
/// role, team; `direct_only` for grants held directly). Refuses when the
/// tenant has an active top-role holder now and would have none after.
async fn ensure_top_remains(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    user_id: Option<UserId>,
    role_id: Option<Uuid>,
    team_id: Option<Uuid>,
    direct_only: bool,
) -> Result<(), AppError> {
    // Serialise these checks per tenant: two admins removing the last two
    // owners at once must not both pass.
    sqlx::query!("SELECT id FROM tenants WHERE id = $1 FOR UPDATE", tenant_id.0).fetch_optional(&mut *conn).await?;
    let (now, after): (i64, i64) = sqlx::query!(
        r#"WITH active AS (
             SELECT e.user_id, e.role_id, e.team_id
               FROM effective_user_roles e
               JOIN roles r ON r.tenant_id = e.tenant_id AND r.id = e.role_id AND r.system_key = ANY($2)
               JOIN users u ON u.tenant_id = e.tenant_id AND u.id = e.user_id AND u.deleted_at IS NULL AND u.status = 'active'
              WHERE e.tenant_id = $1
         )
         SELECT count(*) AS "now!: i64",
                count(*) FILTER (WHERE NOT (($3::uuid IS NULL OR user_id = $3) AND ($4::uuid IS NULL OR role_id = $4)
                                            AND ($5::uuid IS NULL OR team_id IS NOT DISTINCT FROM $5)
                                            AND (NOT $6 OR team_id IS NULL))) AS "after!: i64"
           FROM active"#,
        tenant_id.0,
        TOP_ROLES as &[&str],
        user_id.map(|id| id.0),
        role_id,
        team_id,
        direct_only
    )
    .map(|r| (r.now, r.after))
    .fetch_one(&mut *conn)
    .await?;
    if now > 0 && after == 0 {
        return Err(AppError::Conflict(
            "This is the organisation's last owner. Make someone else an owner first.".into(),
        ));
    }
    Ok(())
}
