//! Users on the server: creating them, changing their status, and the
//! anti-lockout checks.

use crate::ids::{TenantId, UserId};
use crate::audit::record::{record, Event, RequestMeta};
use crate::auth::password::PasswordHashString;
use crate::authz::delegation::ensure_may_act_on;
use crate::authz::{ssr::require, Perm};
use crate::error::AppError;
use crate::db::{like_pattern, parse_cursor};
use crate::auth::credentials::end_sessions;
use crate::auth::reset::{LinkKind, INVITATION_DAYS};
use crate::authz::lockout::ensure_not_last_top_holder;
use crate::error::field_conflict;
use serde_json::{json, Value};
use sqlx::{PgConnection, Postgres, Transaction};
use crate::status::UserStatus;
use uuid::Uuid;

/// Inserts a user, active (with a password hash, or none for an imported
/// account that gets its password from a reset) or pending (invited, with
/// none), and returns its id and what its `user.create` event says; the
/// callers record the event. An address in use is a conflict.
async fn insert_row(conn: &mut PgConnection, tenant_id: TenantId, email: &str, display_name: &str, hash: Option<&str>, status: UserStatus) -> Result<(UserId, Value), AppError> {
    let id = UserId(Uuid::now_v7());
    sqlx::query!(
        "INSERT INTO users (tenant_id, id, email, display_name, password_hash, status) VALUES ($1, $2, $3, $4, $5, $6)",
        tenant_id.0,
        id.0,
        email,
        display_name,
        hash,
        status.as_str()
    )
    .execute(conn)
    .await
    .map_err(|e| crate::error::field_conflict(e, "email"))?;
    Ok((id, created(email, display_name, status)))
}

/// What a `user.create` event says of the person made.
pub fn created(email: &str, display_name: &str, status: UserStatus) -> Value {
    json!({ "email": email, "display_name": display_name, "status": status })
}

/// Creates an active user with a password, and records it with no actor
/// (the demo and the command line, through `System`).
pub async fn create_user(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: TenantId,
    email: &str,
    display_name: &str,
    password_hash: &PasswordHashString,
) -> Result<UserId, AppError> {
    let (id, after) = insert_row(tx, tenant_id, email, display_name, Some(password_hash.0.as_str()), UserStatus::Active).await?;
    let event = Event {
        tenant_id,
        actor_user_id: None,
        actor_tenant_id: None,
        action: "user.create",
        entity_type: Some("user"),
        entity_id: Some(id.to_string()),
        before: None,
        after: Some(after),
    };
    record(&mut **tx, &RequestMeta::default(), event).await?;
    Ok(id)
}

/// Grants a system role, by its key, to a user (the tenant's authorisation
/// version is bumped by the database in the same transaction).
pub async fn grant_system_role(
    tx: &mut Transaction<'_, Postgres>,
    tenant_id: TenantId,
    user_id: UserId,
    system_key: &str,
    granted_by: Option<UserId>,
) -> Result<(), AppError> {
    let role_id = sqlx::query_scalar!(
        "SELECT id FROM roles WHERE tenant_id = $1 AND system_key = $2 AND deleted_at IS NULL",
        tenant_id.0,
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
async fn lock_user(conn: &mut PgConnection, tenant_id: TenantId, user_id: UserId) -> Result<(UserStatus, i32), AppError> {
    let row = sqlx::query!(
        r#"SELECT status AS "status: UserStatus", version FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE"#,
        tenant_id.0,
        user_id.0
    )
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok((row.status, row.version))
}

/// Why an action meant for an account in use is refused for one whose
/// invitation is not accepted yet.
const NOT_YET_JOINED: &str = "This person has not accepted their invitation yet: send it again, or revoke it.";

/// Suspends or reactivates a user. Needs `user:suspend`.
pub async fn set_status(user_id: UserId, status: UserStatus) -> Result<(), AppError> {
    let mut actor = require(Perm::UserSuspend).await?;
    set_status_in(&mut actor, user_id, status).await?;
    actor.commit().await
}

/// [`set_status`] in the actor's transaction (for one person of a batch);
/// whether the status changed.
pub async fn set_status_in(actor: &mut Actor, user_id: UserId, status: UserStatus) -> Result<bool, AppError> {
    if !actor.me().can(Perm::UserSuspend.key()) {
        return Err(AppError::Forbidden);
    }
    let tenant_id = actor.tenant_id();
    let reactivate = status == UserStatus::Active;
    if user_id == actor.user_id() && !reactivate {
        return Err(AppError::Conflict("You cannot suspend yourself.".into()));
    }
    let (before, _) = lock_user(actor.conn(), tenant_id, user_id).await?;
    let what = if reactivate { "reactivate" } else { "suspend" };
    ensure_may_act_on(actor, user_id, what).await?;
    if before == status {
        return Ok(false);
    }
    if before == UserStatus::Pending {
        return Err(AppError::Conflict(NOT_YET_JOINED.into()));
    }
    if !reactivate {
        ensure_not_last_top_holder(actor.conn(), tenant_id, user_id, None).await?;
    }
    sqlx::query!(
        "UPDATE users SET status = $3, version = version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2",
        tenant_id.0,
        user_id.0,
        status.as_str()
    )
    .execute(actor.conn())
    .await?;
    let action = if reactivate { "user.reactivate" } else { "user.suspend" };
    let mut after = json!({ "status": status });
    if !reactivate {
        after["sessions_ended"] = json!(end_sessions(actor.conn(), tenant_id, Some(user_id), None).await?);
        // A link does not come back to life with a reactivation.
        crate::auth::reset::end_links(actor.conn(), tenant_id, user_id).await?;
    }
    actor.audit(action, "user", user_id, Some(json!({ "status": before })), Some(after)).await?;
    Ok(true)
}

/// Soft-deletes a user. Needs `user:delete`.
pub async fn delete(user_id: UserId) -> Result<(), AppError> {
    let mut actor = require(Perm::UserDelete).await?;
    delete_in(&mut actor, user_id).await?;
    actor.commit().await
}

/// [`delete`] in the actor's transaction (for one person of a batch).
pub async fn delete_in(actor: &mut Actor, user_id: UserId) -> Result<(), AppError> {
    if !actor.me().can(Perm::UserDelete.key()) {
        return Err(AppError::Forbidden);
    }
    let tenant_id = actor.tenant_id();
    if user_id == actor.user_id() {
        return Err(AppError::Conflict("You cannot delete yourself.".into()));
    }
    lock_user(actor.conn(), tenant_id, user_id).await?;
    ensure_may_act_on(actor, user_id, "delete").await?;
    ensure_not_last_top_holder(actor.conn(), tenant_id, user_id, None).await?;
    let deleted_at = sqlx::query_scalar!(
        "UPDATE users SET deleted_at = now(), version = version + 1, updated_at = now()
          WHERE tenant_id = $1 AND id = $2 RETURNING deleted_at AS \"deleted_at!: chrono::DateTime<chrono::Utc>\"",
        tenant_id.0,
        user_id.0
    )
    .fetch_one(actor.conn())
    .await?;
    let ended = end_sessions(actor.conn(), tenant_id, Some(user_id), None).await?;
    crate::auth::reset::end_links(actor.conn(), tenant_id, user_id).await?;
    actor
        .audit(
            "user.delete",
            "user",
            user_id,
            Some(json!({ "deleted_at": null })),
            Some(json!({ "deleted_at": deleted_at, "sessions_ended": ended })),
        )
        .await
}

/// Platform staff's search across tenants: the one explicit cross-tenant
/// read path (`steward_platform_user_search`), authorised and audited.
pub async fn search_across_tenants(query: &str) -> Result<Vec<super::UserHit>, AppError> {
    let mut actor = crate::authz::ssr::require_platform(Perm::SupportCrossTenant).await?;
    let query = query.trim();
    let length = query.chars().count();
    if !(2..=100).contains(&length) {
        return Err(AppError::Validation(vec![crate::error::FieldError {
            field: "query".into(),
            message: "Type between 2 and 100 characters of an email address or name.".into(),
        }]));
    }
    let rows = sqlx::query!(
        r#"SELECT tenant_id AS "tenant_id!: TenantId", tenant_slug AS "tenant_slug!", tenant_name AS "tenant_name!",
                  user_id AS "user_id!: UserId", email AS "email!", display_name AS "display_name!",
                  status AS "status!: UserStatus", last_login_at AS "last_login_at: chrono::DateTime<chrono::Utc>"
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
    let platform = actor.scope();
    actor
        .audit("platform.user_search", "tenant", platform, None, Some(json!({ "query": query, "results": hits.len() })))
        .await?;
    actor.commit().await?;
    Ok(hits)
}

// ---------------------------------------------------------------------------
// The console's users screens.

use super::{Count, Created, HeldRole, SessionRow, UserDetail, UserList, UserQuery, UserRow, COUNT_CAP, PAGE_SIZE};
use crate::audit::record::{history, stale};
use crate::text::when;
use crate::authz::ssr::Actor;
use crate::error::FieldError;
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

/// The ordering key of a sort, as SQL over `users u`, and whether it runs
/// descending. Unknown sorts fall back to name.
fn sort_key(sort: &str) -> (&'static str, bool, &'static str) {
    match sort {
        "-name" => ("u.name_key", true, "-name"),
        "email" => ("u.email_key", false, "email"),
        "-email" => ("u.email_key", true, "-email"),
        "created" => ("u.id::text", false, "created"),
        "-created" => ("u.id::text", true, "-created"),
        _ => ("u.name_key", false, "name"),
    }
}

/// The WHERE clause the list, its count and the CSV export share.
pub fn push_filters(b: &mut QueryBuilder<'_, sqlx::Postgres>, tenant_id: TenantId, query: &UserQuery) -> Result<(), AppError> {
    b.push(" WHERE u.tenant_id = ").push_bind(tenant_id);
    match query.status.as_str() {
        "" => {
            b.push(" AND u.deleted_at IS NULL");
        }
        "deleted" => {
            b.push(" AND u.deleted_at IS NOT NULL");
        }
        s if UserStatus::parse(s).is_some() => {
            b.push(" AND u.deleted_at IS NULL AND u.status = ").push_bind(s.to_string());
        }
        _ => return Err(AppError::invalid("status", "Choose a status from the list.")),
    }
    let q = query.q.trim();
    if q.chars().count() > 200 {
        return Err(AppError::invalid("q", "Search for 200 characters at most."));
    }
    if !q.is_empty() {
        // Through the search index (migration 0013): a LIKE on users
        // itself could not use an index under row-level security.
        b.push(" AND u.id IN (SELECT user_id FROM steward_user_search(").push_bind(like_pattern(q)).push("))");
    }
    if !query.role.is_empty() {
        let role: Uuid = query.role.parse().map_err(|_| AppError::invalid("role", "Choose a role from the list."))?;
        b.push(" AND EXISTS (SELECT 1 FROM effective_user_roles e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id AND e.role_id = ")
            .push_bind(role)
            .push(")");
    }
    if !query.team.is_empty() {
        let team: Uuid = query.team.parse().map_err(|_| AppError::invalid("team", "Choose a team from the list."))?;
        b.push(" AND EXISTS (SELECT 1 FROM team_members m WHERE m.tenant_id = u.tenant_id AND m.user_id = u.id AND m.team_id = ")
            .push_bind(team)
            .push(")");
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ListRow {
    id: UserId,
    email: String,
    display_name: String,
    status: UserStatus,
    roles: Option<String>,
    last_login_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
    sort_value: String,
}

/// How many of a tenant's people are in each state, leaving out states
/// with none. The one reading of `user_counts`, which the triggers on
/// `users` keep in each change's own transaction (migration 0036): exact,
/// and the person's own change shows at once. The overview shows the rows;
/// the users list sums them.
pub async fn kept_counts(conn: &mut PgConnection, tenant_id: TenantId) -> Result<Vec<(String, i64)>, AppError> {
    Ok(sqlx::query_as("SELECT state, n FROM user_counts WHERE tenant_id = $1 AND n <> 0").bind(tenant_id).fetch_all(conn).await?)
}

/// One page of the tenant's users: filtered, ordered, from a cursor, with
/// a count: exact when only the status filters (the kept counts), capped
/// at [`COUNT_CAP`] under a search, a role or a team. Needs `user:read`.
pub async fn list(query: UserQuery) -> Result<UserList, AppError> {
    let mut actor = crate::authz::ssr::require_read(Perm::UserRead).await?;
    let tenant_id = actor.tenant_id();
    let (key, desc, _) = sort_key(&query.sort);
    let mut b = QueryBuilder::new(format!(
        "SELECT u.id, u.email, u.display_name, u.status, u.last_login_at, u.created_at, u.deleted_at, {key} AS sort_value,
                (SELECT string_agg(DISTINCT r.name, ', ') FROM effective_user_roles e
                   JOIN roles r ON r.tenant_id = e.tenant_id AND r.id = e.role_id
                  WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id) AS roles
           FROM users u"
    ));
    push_filters(&mut b, tenant_id, &query)?;
    if !query.after.is_empty() {
        let (value, id) = parse_cursor(&query.after).ok_or_else(|| AppError::invalid("after", "That page link is broken: start from the first page."))?;
        let op = if desc { "<" } else { ">" };
        if key == "u.id::text" {
            // Ordered by id itself: compare the uuid (a cast would keep the
            // condition out of the index under row-level security).
            b.push(format!(" AND u.id {op} ")).push_bind(id);
        } else {
            b.push(format!(" AND ({key}, u.id) {op} (")).push_bind(value).push(", ").push_bind(id).push(")");
        }
    }
    let dir = if desc { "DESC" } else { "ASC" };
    let order = if key == "u.id::text" { "u.id".to_string() } else { format!("{key} {dir}, u.id") };
    b.push(format!(" ORDER BY {order} {dir} LIMIT {}", PAGE_SIZE + 1));
    let mut rows: Vec<ListRow> = b.build_query_as().fetch_all(actor.conn()).await?;
    let next = (rows.len() > PAGE_SIZE).then(|| {
        rows.truncate(PAGE_SIZE);
        let last = rows.last().expect("a full page");
        format!("{}|{}", last.sort_value, last.id)
    });

    let count = if query.q.trim().is_empty() && query.role.is_empty() && query.team.is_empty() {
        // No filter but the status: the figures kept for the overview,
        // exact, read in place of counting up to COUNT_CAP rows.
        let n = kept_counts(actor.conn(), tenant_id)
            .await?
            .into_iter()
            .filter(|(state, _)| if query.status.is_empty() { state != "deleted" } else { *state == query.status })
            .map(|(_, n)| n)
            .sum();
        Count::Exact(n)
    } else {
        let mut c = QueryBuilder::new("SELECT count(*) FROM (SELECT 1 FROM users u");
        push_filters(&mut c, tenant_id, &query)?;
        c.push(format!(" LIMIT {}) capped", COUNT_CAP + 1));
        let n: i64 = c.build_query_scalar().fetch_one(actor.conn()).await?;
        Count::capped(n)
    };

    let roles = live_roles(actor.conn(), tenant_id).await?;
    let teams = live_teams(actor.conn(), tenant_id).await?;
    actor.commit().await?;
    Ok(UserList {
        rows: rows
            .into_iter()
            .map(|r| UserRow {
                id: r.id,
                email: r.email,
                display_name: r.display_name,
                status: r.status,
                roles: r.roles.unwrap_or_default(),
                last_login_at: r.last_login_at.map(when).unwrap_or_default(),
                created_at: when(r.created_at),
                deleted: r.deleted_at.is_some(),
            })
            .collect(),
        count,
        next,
        roles,
        teams,
    })
}

pub use crate::roles::ssr::live_roles;

/// The tenant's live teams, (id, name) by name.
pub async fn live_teams(conn: &mut PgConnection, tenant_id: TenantId) -> Result<Vec<(Uuid, String)>, AppError> {
    Ok(sqlx::query!("SELECT id, name FROM teams WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY lower(name)", tenant_id.0)
        .map(|r| (r.id, r.name))
        .fetch_all(conn)
        .await?)
}

/// Everything the user's page shows. Needs `user:read`; deleted users are
/// shown (so they can be restored), another tenant's are not found.
pub async fn detail(user_id: UserId, current_session: Option<String>) -> Result<UserDetail, AppError> {
    let mut actor = crate::authz::ssr::require_current(Perm::UserRead).await?;
    let tenant_id = actor.tenant_id();
    let user = sqlx::query!(r#"SELECT email AS "email!: String", display_name AS "display_name!: String", status AS "status!: UserStatus", version AS "version!: i32", created_at AS "created_at!: DateTime<Utc>", last_login_at AS "last_login_at?: DateTime<Utc>", deleted_at AS "deleted_at?: DateTime<Utc>" FROM users WHERE tenant_id = $1 AND id = $2"#, tenant_id.0, user_id.0)
    .fetch_optional(actor.conn())
    .await?
    .ok_or(AppError::NotFound)?;
    let roles: Vec<(Uuid, String, Option<String>)> = sqlx::query!(r#"SELECT e.role_id AS "role_id!: Uuid", r.name AS "name!: String", t.name AS "name_2?: String" FROM effective_user_roles e
           JOIN roles r ON r.tenant_id = e.tenant_id AND r.id = e.role_id
           LEFT JOIN teams t ON t.tenant_id = e.tenant_id AND t.id = e.team_id
          WHERE e.tenant_id = $1 AND e.user_id = $2
          ORDER BY lower(r.name), t.name NULLS FIRST"#, tenant_id.0, user_id.0).map(|r| (r.role_id, r.name, r.name_2))
    .fetch_all(actor.conn())
    .await?;
    let teams: Vec<(Uuid, String)> = sqlx::query!(r#"SELECT t.id AS "id!: Uuid", t.name AS "name!: String" FROM team_members m JOIN teams t ON t.tenant_id = m.tenant_id AND t.id = m.team_id
          WHERE m.tenant_id = $1 AND m.user_id = $2 AND t.deleted_at IS NULL ORDER BY lower(t.name)"#, tenant_id.0, user_id.0).map(|r| (r.id, r.name))
    .fetch_all(actor.conn())
    .await?;
    let sessions: Vec<(Uuid, DateTime<Utc>, Option<String>, Option<String>, String)> = sqlx::query!(r#"SELECT us.id AS "id!: Uuid", us.created_at AS "created_at!: DateTime<Utc>", host(us.ip) AS "c2?: String", us.user_agent AS "user_agent?: String", us.session_id AS "session_id!: String" FROM user_sessions us
           JOIN tower_sessions.session s ON s.id = us.session_id AND s.expiry_date > now()
          WHERE us.tenant_id = $1 AND us.user_id = $2
          ORDER BY us.created_at DESC"#, tenant_id.0, user_id.0).map(|r| (r.id, r.created_at, r.c2, r.user_agent, r.session_id))
    .fetch_all(actor.conn())
    .await?;
    let all_roles = live_roles(actor.conn(), tenant_id).await?;
    let all_teams = live_teams(actor.conn(), tenant_id).await?;
    let history = history(actor.conn(), tenant_id, "user", user_id, 50).await?;
    let lock = sqlx::query!(r#"SELECT failures AS "failures!: i32", blocked_until AS "blocked_until?: DateTime<Utc>", strangers_only AS "strangers_only!: bool" FROM steward_sign_in_lock_state($1)
          WHERE blocked_until > now() OR blocked_until IS NULL"#, user_id.0)
    .fetch_optional(actor.conn())
    .await?;
    let mfa_enabled: bool = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM user_mfa WHERE tenant_id = $1 AND user_id = $2 AND enabled_at IS NOT NULL) AS "on!""#, tenant_id.0, user_id.0)
    .fetch_one(actor.conn())
    .await?;
    let invitation = if user.status == UserStatus::Pending {
        sqlx::query!(
            r#"SELECT l.created_at AS "created_at: DateTime<Utc>", l.expires_at AS "expires_at: DateTime<Utc>", l.used_at IS NOT NULL OR l.expires_at <= now() AS "ended!", s.display_name AS "sent_by?"
                 FROM password_links l LEFT JOIN users s ON s.tenant_id = l.tenant_id AND s.id = l.sent_by
                WHERE l.tenant_id = $1 AND l.user_id = $2 AND l.purpose = 'invite' ORDER BY l.created_at DESC LIMIT 1"#,
            tenant_id.0,
            user_id.0
        )
        .fetch_optional(actor.conn())
        .await?
        .map(|r| super::Invitation { sent: when(r.created_at), sent_by: r.sent_by.unwrap_or_default(), expires: when(r.expires_at), ended: r.ended })
    } else {
        None
    };
    actor.commit().await?;
    Ok(UserDetail {
        invitation,
        mfa_enabled,
        failed_sign_ins: lock.as_ref().map(|l| l.failures).unwrap_or(0),
        locked_until: lock.as_ref().and_then(|l| l.blocked_until).map(when),
        locked_for_strangers_only: lock.is_some_and(|l| l.strangers_only),
        id: user_id,
        email: user.email,
        display_name: user.display_name,
        status: user.status,
        version: user.version,
        created_at: when(user.created_at),
        last_login_at: user.last_login_at.map(when).unwrap_or_default(),
        deleted: user.deleted_at.is_some(),
        roles: roles.into_iter().map(|(role_id, name, via_team)| HeldRole { role_id, name, via_team }).collect(),
        teams,
        all_roles,
        all_teams,
        sessions: sessions
            .into_iter()
            .map(|(id, created, ip, ua, sid)| SessionRow {
                id,
                created_at: when(created),
                ip: ip.unwrap_or_default(),
                user_agent: ua.unwrap_or_default(),
                current: current_session.as_deref() == Some(sid.as_str()),
            })
            .collect(),
        history,
    })
}

/// A password nobody chose, for a new account or a reset: 20 characters
/// from an alphabet without look-alikes (about 110 bits).
pub fn temporary_password() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

/// A new account's password, hashed before any transaction opens (argon2
/// never runs while a pooled connection is held): the one typed, or else a
/// temporary one made here. A typed password the policy refuses is not
/// hashed; [`create_in`] reports it beside its field.
pub struct NewPassword {
    typed_problem: Option<&'static str>,
    temporary: Option<String>,
    hash: Option<crate::auth::password::PasswordHashString>,
}

/// Call only for a caller already known (from the principal in memory) to
/// hold the permission that creates the account: hashing is the costly part.
pub async fn new_password(email: &str, typed: Option<&str>) -> Result<NewPassword, AppError> {
    let typed = typed.filter(|p| !p.is_empty());
    if let Some(problem) = typed.and_then(|p| crate::auth::password::problem(p, email.trim())) {
        return Ok(NewPassword { typed_problem: Some(problem), temporary: None, hash: None });
    }
    let temporary = typed.is_none().then(temporary_password);
    let hash = crate::auth::password::hash(typed.map(str::to_string).or(temporary.clone()).unwrap_or_default()).await?;
    Ok(NewPassword { typed_problem: None, temporary, hash: Some(hash) })
}

/// Creates a user in the actor's tenant, and records it in the actor's
/// transaction, with a password made by [`new_password`] (a temporary one
/// is returned).
pub async fn create_in(actor: &mut Actor, email: &str, display_name: &str, password: NewPassword) -> Result<Created, AppError> {
    let (email, display_name) = (email.trim(), display_name.trim());
    let mut errors = super::validate_profile(email, display_name);
    if let Some(message) = password.typed_problem {
        errors.push(FieldError { field: "password".into(), message: message.into() });
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let temporary = password.temporary;
    let hash = password.hash.ok_or(AppError::Internal)?;
    let id = insert_user(actor, email, display_name, Some(&hash.0), None, UserStatus::Active).await?;
    // Whoever was given a temporary password chooses their own at sign-in.
    sqlx::query!("UPDATE users SET must_change_password = $3, password_changed_at = now() WHERE tenant_id = $1 AND id = $2", actor.scope().0, id.0, temporary.is_some())
        .execute(actor.conn())
        .await?;
    Ok(Created { id, temporary_password: temporary })
}

/// Inserts a checked user (with a password hash, or none for an imported
/// or invited account) and records the event, naming `via` (such as an
/// import) when given.
pub async fn insert_user(actor: &mut Actor, email: &str, display_name: &str, hash: Option<&str>, via: Option<Uuid>, status: UserStatus) -> Result<UserId, AppError> {
    let tenant_id = actor.scope();
    let (id, mut after) = insert_row(actor.conn(), tenant_id, email, display_name, hash, status).await?;
    if let Some(import) = via {
        after["import_id"] = json!(import);
    }
    actor.audit("user.create", "user", id, None, Some(after)).await?;
    Ok(id)
}

/// Creates a user, optionally with a role. Needs `user:create` (and
/// `role:assign` plus every permission of the role, when one is given).
pub async fn create(email: &str, display_name: &str, password: Option<&str>, role_id: Option<Uuid>) -> Result<Created, AppError> {
    // Hashed only for someone who holds the permission, before the transaction.
    if !crate::ssr::current_user().is_some_and(|me| me.can(Perm::UserCreate.key())) {
        return Err(require(Perm::UserCreate).await.err().unwrap_or(AppError::Forbidden));
    }
    let password = new_password(email, password).await?;
    let mut actor = require(Perm::UserCreate).await?;
    // The role is checked before anything is written: a refusal records
    // its event in a transaction of its own, which must not wait for this
    // one's hold on the audit chain.
    if let Some(role_id) = role_id {
        crate::roles::ssr::grantable(&mut actor, role_id).await?;
    }
    let created = create_in(&mut actor, email, display_name, password).await?;
    if let Some(role_id) = role_id {
        crate::roles::ssr::grant_in(&mut actor, created.id, role_id).await?;
    }
    actor.commit().await?;
    Ok(created)
}

/// Saves a profile over the version the form was loaded at; a newer
/// version is a conflict naming who changed it. Needs `user:update`.
pub async fn update_profile(user_id: UserId, version: i32, email: &str, display_name: &str) -> Result<(), AppError> {
    let mut actor = require(Perm::UserUpdate).await?;
    let tenant_id = actor.tenant_id();
    let (email, display_name) = (email.trim(), display_name.trim());
    let errors = super::validate_profile(email, display_name);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let before = sqlx::query!(r#"SELECT email AS "email!: String", display_name AS "display_name!: String", version AS "version!: i32" FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE"#, tenant_id.0, user_id.0)
    .fetch_optional(actor.conn())
    .await?
    .ok_or(AppError::NotFound)?;
    if before.version != version {
        return Err(stale(actor.conn(), tenant_id, "user", user_id).await);
    }
    if before.email == email && before.display_name == display_name {
        return Ok(());
    }
    if !before.email.eq_ignore_ascii_case(email) {
        // The email is what they sign in with, and where links go: links
        // already mailed to the old address end.
        ensure_may_act_on(&mut actor, user_id, "change the email address of").await?;
        crate::auth::reset::end_links(actor.conn(), tenant_id, user_id).await?;
    }
    sqlx::query!("UPDATE users SET email = $3, display_name = $4, version = version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2", tenant_id.0, user_id.0, email, display_name)
        .execute(actor.conn())
        .await
        .map_err(|e| field_conflict(e, "email"))?;
    actor
        .audit(
            "user.update",
            "user",
            user_id,
            Some(json!({ "email": before.email, "display_name": before.display_name })),
            Some(json!({ "email": email, "display_name": display_name })),
        )
        .await?;
    actor.commit().await
}

/// Gives a user a new temporary password, shown once to the caller, and
/// ends their sessions. Needs `user:reset_password`.
pub async fn reset_password(user_id: UserId) -> Result<String, AppError> {
    // Hashed before the transaction opens (argon2 never runs while a pooled
    // connection is held), and only for someone who holds the permission.
    if !crate::ssr::current_user().is_some_and(|me| me.can(Perm::UserResetPassword.key())) {
        return Err(require(Perm::UserResetPassword).await.err().unwrap_or(AppError::Forbidden));
    }
    let password = temporary_password();
    let hash = crate::auth::password::hash(password.clone()).await?;
    let mut actor = require(Perm::UserResetPassword).await?;
    let tenant_id = actor.tenant_id();
    let (status, _) = lock_user(actor.conn(), tenant_id, user_id).await?;
    ensure_may_act_on(&mut actor, user_id, "reset the password of").await?;
    if status == UserStatus::Pending {
        return Err(AppError::Conflict(NOT_YET_JOINED.into()));
    }
    sqlx::query!("UPDATE users SET password_hash = $3, must_change_password = true, password_changed_at = now(),
                version = version + 1, updated_at = now()
          WHERE tenant_id = $1 AND id = $2", tenant_id.0, user_id.0, &hash.0)
        .execute(actor.conn())
        .await?;
    crate::auth::reset::end_links(actor.conn(), tenant_id, user_id).await?;
    let ended = end_sessions(actor.conn(), tenant_id, Some(user_id), None).await?;
    let keys = crate::auth::credentials::revoke_api_keys_of(actor.conn(), tenant_id, user_id).await?;
    actor.audit("user.password_reset", "user", user_id, None, Some(json!({ "sessions_ended": ended, "api_keys_revoked": keys }))).await?;
    actor.commit().await?;
    Ok(password)
}

/// Mails the person a link to choose a password themselves (it works
/// once, for a day; their current password keeps working until then).
/// Needs `user:reset_password`, and the person's grants within the
/// caller's (the delegation rule: the link is a way into their account).
pub async fn send_password_link(user_id: UserId) -> Result<(), AppError> {
    let mut actor = require(Perm::UserResetPassword).await?;
    let base = crate::ssr::request_link_base()?;
    let tenant_id = actor.tenant_id();
    let (status, _) = lock_user(actor.conn(), tenant_id, user_id).await?;
    ensure_may_act_on(&mut actor, user_id, "send a reset link to").await?;
    if status == UserStatus::Pending {
        return Err(AppError::Conflict(NOT_YET_JOINED.into()));
    }
    if status != UserStatus::Active {
        return Err(AppError::Conflict("Only an active account can be sent a reset link: reactivate it first.".into()));
    }
    let (me, meta) = (actor.me().clone(), actor.meta().clone());
    crate::auth::reset::issue(actor.conn(), &meta, tenant_id, user_id, LinkKind::Sent(&me), &base).await?;
    actor
        .audit("user.password_link_sent", "user", user_id, None, Some(json!({ "expires_in_hours": crate::auth::reset::SENT_HOURS })))
        .await?;
    actor.commit().await
}

/// Invites someone by email: a pending account (no password) with the
/// role and team given, and a mail with a link to choose a password (it
/// works once, for [`INVITATION_DAYS`] days). Needs `user:create`, plus
/// `role:assign` for a role and `team:manage` for a team; the delegation
/// rule applies to both, as when granting them.
pub async fn invite(email: &str, display_name: &str, role_id: Option<Uuid>, team_id: Option<Uuid>) -> Result<UserId, AppError> {
    let mut actor = require(Perm::UserCreate).await?;
    let base = crate::ssr::request_link_base()?;
    let id = invite_in(&mut actor, &base, email, display_name, role_id, team_id).await?;
    actor.commit().await?;
    Ok(id)
}

/// [`invite`] in the actor's transaction (authorised for `user:create`),
/// with links built on `base`: the console's form and the JSON API's
/// `POST /api/v1/invitations` both come here.
pub async fn invite_in(actor: &mut Actor, base: &str, email: &str, display_name: &str, role_id: Option<Uuid>, team_id: Option<Uuid>) -> Result<UserId, AppError> {
    let (email, display_name) = (email.trim(), display_name.trim());
    let mut errors = super::validate_profile(email, display_name);
    if role_id.is_some() && !actor.me().can(Perm::RoleAssign.key()) {
        errors.push(FieldError { field: "role_id".into(), message: "You may not grant roles: leave the role empty.".into() });
    }
    if team_id.is_some() && !actor.me().can(Perm::TeamManage.key()) {
        errors.push(FieldError { field: "team_id".into(), message: "You may not add people to teams: leave the team empty.".into() });
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    // The invitation is a way into the account: everything it would hold
    // (the role, and every role of the team, those deleted for now
    // included, as a restore gives them back) within the inviter's grants.
    // Checked before anything is written.
    let mut roles: Vec<Uuid> = role_id.into_iter().collect();
    if let Some(team_id) = team_id {
        let tenant_id = actor.tenant_id();
        roles.extend(sqlx::query_scalar!("SELECT role_id FROM team_roles WHERE tenant_id = $1 AND team_id = $2", tenant_id.0, team_id).fetch_all(actor.conn()).await?);
    }
    crate::authz::delegation::ensure_may_give_roles(actor, &roles, &format!("invite {display_name} with these roles"), None).await?;
    let id = insert_user(actor, email, display_name, None, None, UserStatus::Pending).await?;
    if let Some(role_id) = role_id {
        crate::roles::ssr::grant_in(actor, id, role_id).await.map_err(|e| e.beside("role_id"))?;
    }
    if let Some(team_id) = team_id {
        crate::teams::ssr::add_member_in(actor, team_id, id).await.map_err(|e| e.beside("team_id"))?;
    }
    send_invitation(actor, id, base, "user.invitation_send").await?;
    Ok(id)
}

/// Writes the invitation's link and mail, and records `action`.
pub(crate) async fn send_invitation(actor: &mut Actor, user_id: UserId, base: &str, action: &str) -> Result<(), AppError> {
    let (me, meta, tenant_id) = (actor.me().clone(), actor.meta().clone(), actor.tenant_id());
    crate::auth::reset::issue(actor.conn(), &meta, tenant_id, user_id, LinkKind::Invitation(&me), base).await?;
    actor.audit(action, "user", user_id, None, Some(json!({ "expires_in_days": INVITATION_DAYS }))).await
}

/// A pending person, locked for the change, whom the actor may send a way
/// into the account (the delegation rule: an invitation is one).
async fn lock_invited(actor: &mut Actor, user_id: UserId, what: &str) -> Result<(), AppError> {
    let tenant_id = actor.tenant_id();
    let (status, _) = lock_user(actor.conn(), tenant_id, user_id).await?;
    ensure_may_act_on(actor, user_id, what).await?;
    if status != UserStatus::Pending {
        return Err(AppError::Conflict("This person has accepted their invitation already: there is no invitation to change.".into()));
    }
    Ok(())
}

/// Sends a pending person's invitation again: a new link (the old ones
/// end). Needs `user:create`, and the person's grants within the caller's.
pub async fn resend_invitation(user_id: UserId) -> Result<(), AppError> {
    let mut actor = require(Perm::UserCreate).await?;
    let base = crate::ssr::request_link_base()?;
    resend_invitation_in(&mut actor, user_id, &base).await?;
    actor.commit().await
}

/// [`resend_invitation`] in the actor's transaction, with links on `base`.
pub async fn resend_invitation_in(actor: &mut Actor, user_id: UserId, base: &str) -> Result<(), AppError> {
    if !actor.me().can(Perm::UserCreate.key()) {
        return Err(AppError::Forbidden);
    }
    lock_invited(actor, user_id, "send an invitation again to").await?;
    let tenant_id = actor.tenant_id();
    crate::auth::reset::end_links(actor.conn(), tenant_id, user_id).await?;
    send_invitation(actor, user_id, base, "user.invitation_resend").await
}

/// Revokes a pending person's invitation: its links end and the account is
/// deleted (restorable, like any deletion; its address is free again).
/// Needs `user:delete` (it deletes, as a restore needs it), and the
/// person's grants within the caller's.
pub async fn revoke_invitation(user_id: UserId) -> Result<(), AppError> {
    let mut actor = require(Perm::UserDelete).await?;
    lock_invited(&mut actor, user_id, "revoke the invitation of").await?;
    let tenant_id = actor.tenant_id();
    let ended = crate::auth::reset::end_links(actor.conn(), tenant_id, user_id).await?;
    let deleted_at = sqlx::query_scalar!(
        r#"UPDATE users SET deleted_at = now(), version = version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2
           RETURNING deleted_at AS "deleted_at!: chrono::DateTime<chrono::Utc>""#,
        tenant_id.0,
        user_id.0
    )
    .fetch_one(actor.conn())
    .await?;
    actor
        .audit("user.invitation_revoke", "user", user_id, Some(json!({ "deleted_at": null })), Some(json!({ "deleted_at": deleted_at, "links_ended": ended })))
        .await?;
    actor.commit().await
}

/// Brings back a deleted user (their email must still be free). Needs `user:delete`.
pub async fn restore(user_id: UserId) -> Result<(), AppError> {
    let mut actor = require(Perm::UserDelete).await?;
    let tenant_id = actor.tenant_id();
    let found: Option<bool> = sqlx::query_scalar!(r#"SELECT deleted_at IS NOT NULL AS "deleted!" FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE"#, tenant_id.0, user_id.0)
        .fetch_optional(actor.conn())
        .await?;
    if found != Some(true) {
        return Err(AppError::NotFound);
    }
    // Bringing them back gives them all their roles again.
    ensure_may_act_on(&mut actor, user_id, "restore").await?;
    let done = sqlx::query!("UPDATE users SET deleted_at = NULL, version = version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NOT NULL", tenant_id.0, user_id.0)
        .execute(actor.conn())
        .await
        .map_err(|e| crate::error::on_conflict(e, "Another user now has this email address: change theirs first."))?;
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    actor.audit("user.restore", "user", user_id, Some(json!({ "deleted": true })), Some(json!({ "deleted": false }))).await?;
    actor.commit().await
}

/// Lets a user whose sign-ins are refused after too many failures sign in
/// again. Needs `user:reset_password`.
pub async fn unlock(user_id: UserId) -> Result<(), AppError> {
    let mut actor = require(Perm::UserResetPassword).await?;
    let tenant_id = actor.tenant_id();
    lock_user(actor.conn(), tenant_id, user_id).await?;
    ensure_may_act_on(&mut actor, user_id, "unlock").await?;
    let state: Option<(i32, Option<DateTime<Utc>>)> =
        sqlx::query!(r#"SELECT failures AS "failures!: i32", blocked_until AS "blocked_until?: DateTime<Utc>" FROM steward_sign_in_lock_state($1)"#, user_id.0).map(|r| (r.failures, r.blocked_until))
            .fetch_optional(actor.conn())
            .await?;
    let Some((failures, blocked_until)) = state else { return Ok(()) };
    sqlx::query!("SELECT steward_sign_in_unlock($1)", user_id.0).fetch_one(actor.conn()).await?;
    actor
        .audit(
            "user.unlock",
            "user",
            user_id,
            Some(json!({ "failures_in_a_row": failures, "blocked_until": blocked_until })),
            Some(json!({ "failures_in_a_row": 0 })),
        )
        .await?;
    actor.commit().await
}

/// Takes away a user's second factor (they lost their phone and their
/// recovery codes) and ends their sessions; at their next sign-in they set
/// it up again if their tenant requires it. Needs `user:reset_password`.
pub async fn reset_mfa(user_id: UserId) -> Result<(), AppError> {
    let mut actor = require(Perm::UserResetPassword).await?;
    let tenant_id = actor.tenant_id();
    lock_user(actor.conn(), tenant_id, user_id).await?;
    ensure_may_act_on(&mut actor, user_id, "reset the second factor of").await?;
    let removed = sqlx::query!("DELETE FROM user_mfa WHERE tenant_id = $1 AND user_id = $2", tenant_id.0, user_id.0)
        .execute(actor.conn())
        .await?;
    if removed.rows_affected() == 0 {
        return Err(AppError::Conflict("This user has no two-factor sign-in to reset.".into()));
    }
    sqlx::query!("DELETE FROM user_recovery_codes WHERE tenant_id = $1 AND user_id = $2", tenant_id.0, user_id.0)
        .execute(actor.conn())
        .await?;
    let ended = end_sessions(actor.conn(), tenant_id, Some(user_id), None).await?;
    let keys = crate::auth::credentials::revoke_api_keys_of(actor.conn(), tenant_id, user_id).await?;
    actor
        .audit("user.mfa_reset", "user", user_id, Some(json!({ "mfa": true })), Some(json!({ "mfa": false, "sessions_ended": ended, "api_keys_revoked": keys })))
        .await?;
    actor.commit().await
}

/// Ends one session of a user, or all of them. Needs `user:revoke_sessions`.
pub async fn revoke_sessions(user_id: UserId, only: Option<Uuid>) -> Result<u64, AppError> {
    let mut actor = require(Perm::UserRevokeSessions).await?;
    let tenant_id = actor.tenant_id();
    lock_user(actor.conn(), tenant_id, user_id).await?;
    ensure_may_act_on(&mut actor, user_id, "end the sessions of").await?;
    let ended = end_sessions(actor.conn(), tenant_id, Some(user_id), only).await?;
    if only.is_some() && ended == 0 {
        return Err(AppError::NotFound);
    }
    let keys = if only.is_none() { crate::auth::credentials::revoke_api_keys_of(actor.conn(), tenant_id, user_id).await? } else { 0 };
    actor.audit("user.sessions_revoke", "user", user_id, None, Some(json!({ "sessions_ended": ended, "session": only, "api_keys_revoked": keys }))).await?;
    actor.commit().await?;
    Ok(ended)
}

/// A live user as the JSON API gives them.
pub struct UserRecord {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub status: UserStatus,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

/// Something with an id and a name (a role, a team).
pub struct Named {
    pub id: Uuid,
    pub name: String,
}

/// Up to `limit` live users by email, after the email `after`.
pub async fn records_after(actor: &mut Actor, after: Option<&str>, limit: i64) -> Result<Vec<UserRecord>, AppError> {
    let tenant_id = actor.tenant_id();
    Ok(sqlx::query_as!(
        UserRecord,
        r#"SELECT id AS "id: _", email, display_name, status AS "status: _", created_at AS "created_at: _", last_login_at AS "last_login_at: _" FROM users
            WHERE tenant_id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR lower(email) > lower($2))
            ORDER BY lower(email) LIMIT $3"#,
        tenant_id.0,
        after,
        limit
    )
    .fetch_all(actor.conn())
    .await?)
}

/// A live user with the roles they hold (directly or through a team) and
/// their teams; `None` when there is none with this id in the tenant.
pub async fn record_of(actor: &mut Actor, user_id: UserId) -> Result<Option<(UserRecord, Vec<Named>, Vec<Named>)>, AppError> {
    let tenant_id = actor.tenant_id();
    let Some(user) = sqlx::query_as!(
        UserRecord,
        r#"SELECT id AS "id: _", email, display_name, status AS "status: _", created_at AS "created_at: _", last_login_at AS "last_login_at: _" FROM users
            WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL"#,
        tenant_id.0,
        user_id.0
    )
    .fetch_optional(actor.conn())
    .await?
    else {
        return Ok(None);
    };
    let roles = sqlx::query_as!(
        Named,
        r#"SELECT DISTINCT r.id AS "id!", r.name AS "name!" FROM effective_user_roles e JOIN roles r ON r.tenant_id = e.tenant_id AND r.id = e.role_id
            WHERE e.tenant_id = $1 AND e.user_id = $2 ORDER BY 2"#,
        tenant_id.0,
        user_id.0
    )
    .fetch_all(actor.conn())
    .await?;
    let teams = sqlx::query_as!(
        Named,
        r#"SELECT t.id AS "id!", t.name AS "name!" FROM team_members m JOIN teams t ON t.tenant_id = m.tenant_id AND t.id = m.team_id
            WHERE m.tenant_id = $1 AND m.user_id = $2 AND t.deleted_at IS NULL ORDER BY t.name"#,
        tenant_id.0,
        user_id.0
    )
    .fetch_all(actor.conn())
    .await?;
    Ok(Some((user, roles, teams)))
}
