//! Server side of signing in: the session record, resolving the principal of
//! a request, and the sign-in transaction.

use crate::ids::{TenantId, UserId};
use crate::status::{TenantKind, TenantStatus, UserStatus};
use crate::authz::Perm;
use super::{password, safe_next, throttle, Brand, CHANGE_PASSWORD_PATH, MFA_PATH, MFA_SETUP_PATH, Me, MenuSection, SignInPrefill, TenantSummary, ORG_COOKIE};
use crate::audit::record::{record, Event, RequestMeta};
use crate::error::{AppError, FieldError};
use crate::text::{percent_decode, percent_encode};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::sync::Arc;
use tower_sessions::Session;

/// The session key under which the signed-in identity is stored.
pub const SESSION_AUTH_KEY: &str = "steward.auth";
/// When the session signed in (unix seconds): its absolute lifetime runs from here.
pub const SESSION_STARTED_KEY: &str = "steward.started";
/// Set while the person signed in with a password they must replace.
pub const SESSION_MUST_CHANGE_KEY: &str = "steward.must_change_password";
/// Set while the person must set up two-factor sign-in (their tenant
/// requires it and they have none).
pub const SESSION_MUST_ENROL_KEY: &str = "steward.must_enrol_mfa";
/// Set between an accepted password and its second factor ([`MfaPending`]).
pub const SESSION_MFA_PENDING_KEY: &str = "steward.mfa_pending";


/// Sign-in attempts refused since the process started (`/metrics`).
pub static SIGN_IN_FAILURES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// The cookie that remembers what the sign-in form typed (never the password).
pub const HINT_COOKIE: &str = "steward_sign_in";

/// What a session remembers of who signed in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionAuth {
    pub tenant_id: TenantId,
    pub user_id: UserId,
}

pub use super::principal::{CurrentUser, PrincipalCache};

/// Resolves a session's identity to a principal in one database round trip
/// (`steward_resolve_principal`), which only recomputes the grants when the
/// tenant's authorisation version moved past the cached one. `None` when the
/// user or tenant is no longer active or was deleted: the session then no
/// longer signs anyone in.
pub async fn resolve_principal(state: &crate::ssr::AppState, auth: &SessionAuth) -> Result<Option<Arc<Me>>, AppError> {
    let mut conn = state.pool.acquire().await?;
    resolve_principal_on(&mut conn, state, auth).await
}

/// [`resolve_principal`] on `conn` (the page's transaction, which the
/// function leaves scoped to the principal's tenant).
pub async fn resolve_principal_on(conn: &mut sqlx::PgConnection, state: &crate::ssr::AppState, auth: &SessionAuth) -> Result<Option<Arc<Me>>, AppError> {
    let cache = &*state.principals;
    let key = (auth.tenant_id, auth.user_id);
    let cached = cache.get(key);
    let known_version = cached.as_ref().map(|(v, _)| *v).unwrap_or(-1);
    let row = sqlx::query!(
        r#"SELECT unchanged AS "unchanged!", auth_version AS "auth_version!", user_id AS "user_id!: UserId",
                  email, display_name, tenant_id AS "tenant_id!: TenantId", tenant_slug, tenant_name, tenant_kind AS "tenant_kind: TenantKind",
                  views, permissions, menu
             FROM steward_resolve_principal($1, $2, $3)"#,
        auth.tenant_id.0,
        auth.user_id.0,
        known_version
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        cache.forget(key);
        return Ok(None);
    };
    if row.unchanged {
        if let Some((_, me)) = cached {
            return Ok(Some(me));
        }
    }
    let menu: Vec<MenuSection> = serde_json::from_value(row.menu.unwrap_or_default()).map_err(|error| {
        tracing::error!(%error, "menu from steward_resolve_principal does not parse");
        AppError::Internal
    })?;
    let me = Arc::new(Me {
        user_id: row.user_id,
        email: row.email.unwrap_or_default(),
        display_name: row.display_name.unwrap_or_default(),
        tenant: TenantSummary {
            id: row.tenant_id,
            slug: row.tenant_slug.unwrap_or_default(),
            name: row.tenant_name.unwrap_or_default(),
            // Always set when the grants were recomputed; the least
            // powerful kind otherwise.
            kind: row.tenant_kind.unwrap_or(TenantKind::Customer),
        },
        views: row.views.unwrap_or_default(),
        permissions: row.permissions.unwrap_or_default(),
        menu,
        acting_from: None,
        acting_until: None,
        acting_reason: None,
        // A change of name, colour or logo moves the authorisation version
        // too (settings::ssr::organisation_changed), so this is recomputed
        // with the rest.
        brand: brand(&mut *conn, row.tenant_id).await?,
    });
    cache.put(key, row.auth_version, me.clone());
    Ok(Some(me))
}

/// The session key under which platform staff's "acting inside" tenant is kept.
pub const SESSION_ACTING_KEY: &str = "steward.acting";

/// What the session keeps while platform staff act inside a tenant: where,
/// why, and until when (Unix seconds).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ActingGrant {
    pub tenant: TenantSummary,
    pub reason: String,
    pub until: i64,
}

/// `me` acting under `grant`.
pub fn acting_as(me: &Me, grant: &ActingGrant) -> Me {
    let mut acting = me.clone();
    acting.acting_from = Some(std::mem::replace(&mut acting.tenant, grant.tenant.clone()));
    acting.acting_until = Some(grant.until);
    acting.acting_reason = Some(grant.reason.clone());
    acting.brand = None;
    acting
}

/// Platform staff who switched into another tenant act there with their
/// platform grants until the grant's time runs out: the principal is the
/// same person, with `tenant` the tenant acted in and `acting_from` their
/// own. Past its time the grant is dropped, the end is recorded in both
/// audit chains, and they are back on the platform. Anyone else is
/// unchanged (a stale or malformed record is ignored).
pub async fn apply_acting(me: Arc<Me>, session: &Session, state: &crate::ssr::AppState, meta: &RequestMeta) -> Arc<Me> {
    let Ok(Some(grant)) = session.get::<ActingGrant>(SESSION_ACTING_KEY).await else { return me };
    let staff = me.tenant.kind == TenantKind::Platform && (me.may(Perm::SystemAdmin) || me.may(Perm::SupportCrossTenant));
    if !staff || grant.tenant.id == me.tenant.id {
        return me;
    }
    if grant.until <= chrono::Utc::now().timestamp() {
        if matches!(session.remove::<ActingGrant>(SESSION_ACTING_KEY).await, Ok(Some(_))) {
            let acting = acting_as(&me, &grant);
            record_acting_end(state, &acting, "expired", meta).await;
        }
        return me;
    }
    Arc::new(acting_as(&me, &grant))
}

/// Records that platform staff stopped acting inside a tenant (`how`:
/// returned, switched or expired), in the tenant's chain and the
/// platform's, in a transaction of its own. Failures are logged.
pub async fn record_acting_end(state: &crate::ssr::AppState, acting: &Me, how: &str, meta: &RequestMeta) {
    let (Some(home), tenant) = (acting.acting_from.as_ref().map(|h| h.id), acting.tenant.id) else { return };
    let result = async {
        let mut tx = state.pool.begin().await?;
        for (chain, actor_tenant) in [(tenant, Some(home)), (home, None)] {
            crate::db::scope_to_tenant(&mut tx, chain).await?;
            let event = Event {
                tenant_id: chain,
                actor_user_id: Some(acting.user_id),
                actor_tenant_id: actor_tenant,
                action: "platform.act_in_tenant_end",
                entity_type: Some("tenant"),
                entity_id: Some(tenant.to_string()),
                before: None,
                after: Some(serde_json::json!({ "how": how, "reason": acting.acting_reason })),
            };
            record(&mut tx, meta, event).await?;
        }
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    if let Err(error) = result {
        tracing::error!(?error, "could not record the end of acting inside a tenant");
    }
}

/// Reads the session's identity; a malformed record counts as signed out.
pub async fn session_auth(session: &Session) -> Option<SessionAuth> {
    session.get::<SessionAuth>(SESSION_AUTH_KEY).await.ok().flatten()
}

fn validate_sign_in(tenant: &str, email: &str, password: &str) -> Result<(), AppError> {
    let mut errors = Vec::new();
    if tenant.is_empty() {
        errors.push(FieldError { field: "tenant".into(), message: "Enter your organisation's short name.".into() });
    } else if tenant.len() > 63 {
        errors.push(FieldError { field: "tenant".into(), message: "That is longer than any organisation's short name (63 characters at most).".into() });
    }
    if email.is_empty() {
        errors.push(FieldError { field: "email".into(), message: "Enter your email address.".into() });
    } else if email.len() > 254 {
        errors.push(FieldError { field: "email".into(), message: "An email address has 254 characters at most.".into() });
    }
    if password.is_empty() {
        errors.push(FieldError { field: "password".into(), message: "Enter your password.".into() });
    } else if password.len() > 1024 {
        errors.push(FieldError { field: "password".into(), message: "A password has 1024 characters at most.".into() });
    }
    if errors.is_empty() { Ok(()) } else { Err(AppError::Validation(errors)) }
}

/// Signs a person in: checks the credentials, records the sign-in, cycles
/// the session id and stores the identity. Returns where to go next, and
/// the organisation whose password step passed.
pub async fn sign_in(
    pool: &PgPool,
    session: &Session,
    meta: &RequestMeta,
    tenant: &str,
    email: &str,
    password: &str,
    next: Option<&str>,
) -> Result<(String, TenantId), AppError> {
    let tenant = tenant.trim().to_lowercase();
    let email = email.trim();
    validate_sign_in(&tenant, email, password)?;

    let _turn = throttle::turn(&tenant, email).await?;
    let mut tx = pool.begin().await?;
    let found = sqlx::query!(
        r#"SELECT tenant_id AS "tenant_id!: TenantId", tenant_status AS "tenant_status!: TenantStatus", user_id AS "user_id: UserId", user_status AS "user_status: UserStatus",
                  password_hash
             FROM steward_sign_in_lookup($1, $2)"#,
        tenant,
        email
    )
    .fetch_optional(&mut *tx)
    .await?;

    let found_tenant = found.as_ref().map(|row| row.tenant_id);
    let (account, stored_hash) = match found {
        Some(row) => match row.user_id {
            Some(user_id) => {
                let active = row.tenant_status == TenantStatus::Active && row.user_status == Some(UserStatus::Active);
                (Some((row.tenant_id, user_id, active)), row.password_hash)
            }
            None => (None, None),
        },
        None => (None, None),
    };
    // Events of a refused attempt go to the tenant that was named, or to
    // the platform when no such tenant exists.
    let event_tenant = match found_tenant {
        Some(id) => Some(id),
        None => match crate::db::platform_tenant_id(&mut tx).await? {
            Some(id) => {
                crate::db::scope_to_tenant(&mut tx, id).await?;
                Some(id)
            }
            None => None,
        },
    };
    let attempt = serde_json::json!({ "tenant": tenant, "email": email });
    let refused_event = |action: &'static str, after: serde_json::Value| Event {
        tenant_id: event_tenant.unwrap_or(TenantId(uuid::Uuid::nil())),
        actor_user_id: None,
        actor_tenant_id: None,
        action,
        entity_type: account.map(|_| "user"),
        entity_id: account.map(|(_, user_id, _)| user_id.to_string()),
        before: None,
        after: Some(after),
    };

    // Blocked: refused before the password is looked at; the block's first
    // refusal is recorded.
    if let Some(refused) = throttle::refusal(&mut tx, &tenant, email, throttle::AttemptFrom::Client(meta.ip)).await? {
        if event_tenant.is_some() && refused.first_of_block {
            let mut after = attempt.clone();
            after["blocked_until"] = serde_json::json!(refused.until);
            record(&mut tx, meta, refused_event("auth.sign_in_throttled", after)).await?;
        }
        tx.commit().await?;
        SIGN_IN_FAILURES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(too_many(refused.until));
    }
    // No transaction or pooled connection is held while argon2 runs: a
    // queue of password checks must never take the pool from every page.
    tx.commit().await?;
    let verify_hash = stored_hash.clone();
    let verified = password::verify(password.to_string(), verify_hash).await?;
    // A hash made with older parameters is made again while the password
    // is at hand.
    let rehashed = match stored_hash.as_deref().filter(|h| verified && password::needs_rehash(h)) {
        Some(_) => Some(password::hash(password.to_string()).await?.0),
        None => None,
    };
    let mut tx = pool.begin().await?;
    if let Some(scope) = event_tenant {
        crate::db::scope_to_tenant(&mut tx, scope).await?;
    }
    let Some((tenant_id, user_id, true)) = account.filter(|_| verified) else {
        let counted = throttle::failure(&mut tx, &tenant, email, throttle::AttemptFrom::Client(meta.ip)).await?;
        if event_tenant.is_some() {
            let mut after = attempt.clone();
            after["reason"] = serde_json::json!(match (found_tenant.is_some(), account) {
                (false, _) => "unknown organisation",
                (true, None) => "unknown account",
                (true, Some((_, _, false))) => "account or organisation not active",
                (true, Some((_, _, true))) => "wrong password",
            });
            after["failures_in_a_row"] = serde_json::json!(counted.account_failures);
            after["familiar_place"] = serde_json::json!(counted.familiar_place);
            record(&mut tx, meta, refused_event("auth.sign_in_failed", after)).await?;
            if let Some(until) = counted.account_blocked_until {
                let mut after = attempt.clone();
                after["failures_in_a_row"] = serde_json::json!(counted.account_failures);
                after["blocked_until"] = serde_json::json!(until);
                // Blocked at one familiar place, or everywhere else.
                after["familiar_place"] = serde_json::json!(counted.familiar_place);
                record(&mut tx, meta, refused_event("auth.account_locked", after)).await?;
            }
            if let Some(until) = counted.address_blocked_until {
                let after = serde_json::json!({ "address": meta.ip.map(|ip| ip.to_string()), "blocked_until": until });
                record(&mut tx, meta, refused_event("auth.address_blocked", after)).await?;
            }
        }
        tx.commit().await?;
        SIGN_IN_FAILURES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(match counted.blocked_until() {
            Some(until) => too_many(until),
            None => AppError::SignInFailed,
        });
    };

    if let Some(hash) = &rehashed {
        sqlx::query!("UPDATE users SET password_hash = $3 WHERE tenant_id = $1 AND id = $2", tenant_id.0, user_id.0, hash)
            .execute(&mut *tx)
            .await?;
    }
    let mut after = serde_json::json!({});
    if rehashed.is_some() {
        after["password_hash_upgraded"] = serde_json::json!(true);
    }
    let mfa_on: bool = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM user_mfa WHERE tenant_id = $1 AND user_id = $2 AND enabled_at IS NOT NULL) AS "on!""#, tenant_id.0, user_id.0)
    .fetch_one(&mut *tx)
    .await?;
    if mfa_on {
        // The password was right; the second factor decides. Failures of
        // either count against the same account name.
        tx.commit().await?;
        session.cycle_id().await.map_err(session_error)?;
        let pending = MfaPending {
            tenant_id,
            user_id,
            tenant: tenant.clone(),
            email: email.to_string(),
            at: chrono::Utc::now().timestamp(),
            after,
        };
        session.insert(SESSION_MFA_PENDING_KEY, pending).await.map_err(session_error)?;
        return Ok((format!("{MFA_PATH}?next={}", percent_encode(&safe_next(next), b"-_.~/")), tenant_id));
    }
    let next = finish_sign_in(pool, session, meta, tx, SignedIn { tenant_id, user_id, tenant: &tenant, email, after }, next).await?;
    Ok((next, tenant_id))
}

/// Who passed the password step and still owes a second factor.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MfaPending {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub tenant: String,
    pub email: String,
    /// When the password was accepted (unix seconds).
    pub at: i64,
    /// What the sign-in event will say.
    pub after: serde_json::Value,
}

/// How long the second step may wait after the password.
pub const MFA_PENDING_SECONDS: i64 = 300;

/// The permissions that make someone an administrator for the tenant's
/// "require two-factor sign-in for administrators" setting: whoever may
/// change other people's access.
pub const ADMIN_PERMISSIONS: &[&str] =
    &["system:admin", "support:cross_tenant", "role:manage", "role:assign", "user:reset_password", "user:suspend", "settings:manage"];

/// A person whose credentials were accepted.
pub struct SignedIn<'a> {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub tenant: &'a str,
    pub email: &'a str,
    pub after: serde_json::Value,
}

/// The end of every sign-in: clears the account name's failures, records
/// the sign-in in `tx`, cycles the session id, stores the identity and
/// registers the session. Returns where to go next: the password page for
/// a temporary password, the two-factor page when the tenant requires one
/// and the person has none, else `next`.
pub async fn finish_sign_in(
    pool: &PgPool,
    session: &Session,
    meta: &RequestMeta,
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    who: SignedIn<'_>,
    next: Option<&str>,
) -> Result<String, AppError> {
    let SignedIn { tenant_id, user_id, tenant, email, after } = who;
    // Asked before the place becomes familiar below.
    let new_place: bool = sqlx::query_scalar!(
        r#"SELECT coalesce(steward_sign_in_place_is_new($1, $2, $3) AND (SELECT t.notify_new_place FROM tenants t WHERE t.id = $4), false) AS "new!""#,
        tenant,
        email,
        meta.ip.map(throttle::place_of),
        tenant_id.0
    )
    .fetch_one(&mut *tx)
    .await?;
    throttle::success(&mut tx, tenant, email, meta.ip).await?;
    let (must_change, must_enrol, theme): (bool, bool, crate::status::Theme) = sqlx::query!(
        r#"UPDATE users u SET last_login_at = now() WHERE u.tenant_id = $1 AND u.id = $2
         RETURNING u.must_change_password AS "must_change!: bool", u.theme AS "theme!: crate::status::Theme",
                   NOT EXISTS (SELECT 1 FROM user_mfa m WHERE m.tenant_id = u.tenant_id AND m.user_id = u.id AND m.enabled_at IS NOT NULL)
                   AND steward_mfa_required(u.tenant_id, u.id, $3) AS "must_enrol!: bool""#,
        tenant_id.0,
        user_id.0,
        ADMIN_PERMISSIONS as &[&str]
    )
    .map(|r| (r.must_change, r.must_enrol, r.theme))
    .fetch_one(&mut *tx)
    .await?;
    // The person's pages arrive in their colours from the first one.
    set_theme_cookie(theme);
    let after = after.as_object().is_some_and(|o| !o.is_empty()).then_some(after);
    let event_id = record(&mut tx, meta, Event::by_user(tenant_id, user_id, "auth.sign_in", after)).await?;
    if new_place {
        crate::outbox::notify(&mut tx, meta.ip, event_id, tenant_id, crate::outbox::NEW_PLACE_NOTICE, user_id, true).await?;
    }
    tx.commit().await?;

    // A new person on this browser starts clean: nothing of an earlier
    // sign-in (acting inside a tenant, confinement flags) carries over.
    session.clear().await;
    session.cycle_id().await.map_err(session_error)?;
    session
        .insert(SESSION_AUTH_KEY, SessionAuth { tenant_id, user_id })
        .await
        .map_err(session_error)?;
    session.insert(SESSION_STARTED_KEY, chrono::Utc::now().timestamp()).await.map_err(session_error)?;
    if must_change {
        session.insert(SESSION_MUST_CHANGE_KEY, true).await.map_err(session_error)?;
    }
    if must_enrol {
        session.insert(SESSION_MUST_ENROL_KEY, true).await.map_err(session_error)?;
    }
    // Saved now, so that its id is known and goes into the registry of the
    // user's sessions (which is how they are listed and revoked).
    session.save().await.map_err(session_error)?;
    if let Some(session_id) = session.id() {
        let mut tx = pool.begin().await?;
        crate::db::scope_to_tenant(&mut tx, tenant_id).await?;
        sqlx::query!("INSERT INTO user_sessions (tenant_id, user_id, session_id, ip, user_agent)
             VALUES ($1, $2, $3, $4::text::inet, $5)", tenant_id.0, user_id.0, session_id.to_string(), meta.ip.map(|ip| ip.to_string()), meta.user_agent.as_deref().map(|ua| ua.chars().take(512).collect::<String>()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    let then = percent_encode(&safe_next(next), b"-_.~/");
    Ok(if must_change {
        format!("{CHANGE_PASSWORD_PATH}?next={then}")
    } else if must_enrol {
        format!("{MFA_SETUP_PATH}?next={then}")
    } else {
        safe_next(next)
    })
}

/// The second step: a code from the authenticator app, or a recovery code,
/// for the person whose password was accepted within the last five
/// minutes. Wrong codes count against the account name like wrong
/// passwords, and are recorded.
pub async fn verify_mfa(
    pool: &PgPool,
    key: &super::mfa::MasterKey,
    session: &Session,
    meta: &RequestMeta,
    code: &str,
    next: Option<&str>,
) -> Result<String, AppError> {
    let pending = session.get::<MfaPending>(SESSION_MFA_PENDING_KEY).await.ok().flatten();
    let now = chrono::Utc::now().timestamp();
    let Some(pending) = pending.filter(|p| now - p.at <= MFA_PENDING_SECONDS) else {
        let _ = session.remove::<MfaPending>(SESSION_MFA_PENDING_KEY).await;
        return Err(AppError::Refused("Sign in again: the password step has expired or was not taken.".into()));
    };
    let code = code.trim();
    if code.is_empty() || code.len() > 64 {
        return Err(AppError::Validation(vec![FieldError {
            field: "code".into(),
            message: "Enter the 6-digit code from your authenticator app, or a recovery code.".into(),
        }]));
    }
    let mut tx = pool.begin().await?;
    crate::db::scope_to_tenant(&mut tx, pending.tenant_id).await?;
    if let Some(refused) = throttle::refusal(&mut tx, &pending.tenant, &pending.email, throttle::AttemptFrom::Client(meta.ip)).await? {
        if refused.first_of_block {
            let after = serde_json::json!({ "step": "second factor", "blocked_until": refused.until });
            record(&mut tx, meta, Event::by_user(pending.tenant_id, pending.user_id, "auth.sign_in_throttled", Some(after))).await?;
        }
        tx.commit().await?;
        return Err(too_many(refused.until));
    }
    let row: Option<(Vec<u8>, Option<i64>)> = sqlx::query!(r#"SELECT secret_sealed AS "secret_sealed!: Vec<u8>", last_used_step AS "last_used_step?: i64" FROM user_mfa
          WHERE tenant_id = $1 AND user_id = $2 AND enabled_at IS NOT NULL FOR UPDATE"#, pending.tenant_id.0, pending.user_id.0).map(|r| (r.secret_sealed, r.last_used_step))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((sealed, last_used)) = row else {
        // Turned off (or reset by support) since the password step.
        let _ = session.remove::<MfaPending>(SESSION_MFA_PENDING_KEY).await;
        return Err(AppError::Refused("Sign in again: two-factor sign-in changed for this account.".into()));
    };
    let secret = key.open(&sealed, &super::mfa::seal_context(pending.tenant_id, pending.user_id)).ok_or_else(|| {
        tracing::error!(user = %pending.user_id, "a two-factor secret does not open with this master key");
        AppError::Internal
    })?;
    let method = if let Some(step) = super::mfa::check(&secret, code, now, last_used) {
        sqlx::query!("UPDATE user_mfa SET last_used_step = $3 WHERE tenant_id = $1 AND user_id = $2", pending.tenant_id.0, pending.user_id.0, step)
            .execute(&mut *tx)
            .await?;
        Some("authenticator app")
    } else {
        let used = sqlx::query!("UPDATE user_recovery_codes SET used_at = now()
              WHERE tenant_id = $1 AND user_id = $2 AND code_hash = $3 AND used_at IS NULL", pending.tenant_id.0, pending.user_id.0, super::mfa::recovery_hash(code))
        .execute(&mut *tx)
        .await?;
        (used.rows_affected() == 1).then_some("recovery code")
    };
    let Some(method) = method else {
        let counted = throttle::failure(&mut tx, &pending.tenant, &pending.email, throttle::AttemptFrom::Client(meta.ip)).await?;
        let after = serde_json::json!({ "failures_in_a_row": counted.account_failures, "familiar_place": counted.familiar_place });
        record(&mut tx, meta, Event::by_user(pending.tenant_id, pending.user_id, "auth.mfa_failed", Some(after))).await?;
        if let Some(until) = counted.account_blocked_until {
            let after = serde_json::json!({
                "failures_in_a_row": counted.account_failures,
                "blocked_until": until,
                "step": "second factor",
                "familiar_place": counted.familiar_place,
            });
            record(&mut tx, meta, Event::by_user(pending.tenant_id, pending.user_id, "auth.account_locked", Some(after))).await?;
        }
        tx.commit().await?;
        SIGN_IN_FAILURES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(until) = counted.blocked_until() {
            let _ = session.remove::<MfaPending>(SESSION_MFA_PENDING_KEY).await;
            return Err(too_many(until));
        }
        return Err(AppError::Validation(vec![FieldError {
            field: "code".into(),
            message: "That code is not right. Codes change every 30 seconds: check the app's clock, or use a recovery code.".into(),
        }]));
    };
    let mut after = pending.after.clone();
    after["second_factor"] = serde_json::json!(method);
    if method == "recovery code" {
        let left: i64 = sqlx::query_scalar!(r#"SELECT count(*) AS "left!" FROM user_recovery_codes WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL"#, pending.tenant_id.0, pending.user_id.0)
        .fetch_one(&mut *tx)
        .await?;
        after["recovery_codes_left"] = serde_json::json!(left);
    }
    session.remove::<MfaPending>(SESSION_MFA_PENDING_KEY).await.map_err(session_error)?;
    let who = SignedIn { tenant_id: pending.tenant_id, user_id: pending.user_id, tenant: &pending.tenant, email: &pending.email, after };
    finish_sign_in(pool, session, meta, tx, who, next).await
}

/// The refusal of a blocked sign-in, with the wait in words.
pub(crate) fn too_many(until: chrono::DateTime<chrono::Utc>) -> AppError {
    let seconds = (until - chrono::Utc::now()).num_seconds().max(1) as u64;
    AppError::TooManyAttempts { wait: throttle::wait_text(seconds) }
}

/// Ends the session: the record is deleted from the store and the cookie
/// expires. Recorded when someone was signed in.
pub async fn sign_out(pool: &PgPool, session: &Session, me: Option<&Me>, meta: &RequestMeta) -> Result<(), AppError> {
    if let Some(me) = me {
        let home = me.acting_from.as_ref().unwrap_or(&me.tenant).id;
        let mut tx = pool.begin().await?;
        crate::db::scope_to_tenant(&mut tx, home).await?;
        if let Some(session_id) = session.id() {
            sqlx::query!("DELETE FROM user_sessions WHERE tenant_id = $1 AND session_id = $2", home.0, session_id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        record(&mut tx, meta, Event::by_user(home, me.user_id, "auth.sign_out", None)).await?;
        tx.commit().await?;
    }
    session.flush().await.map_err(session_error)
}

fn session_error(error: tower_sessions::session::Error) -> AppError {
    tracing::error!(%error, "session store error");
    AppError::Internal
}

/// An organisation's brand by id (`steward_brand`), for the sign-in page,
/// the top bar and mail; `None` for one that does not exist or was deleted.
pub async fn brand<'c, E: sqlx::PgExecutor<'c>>(conn: E, tenant_id: TenantId) -> Result<Option<Brand>, AppError> {
    let row = sqlx::query!(
        r#"SELECT name AS "name!", slug AS "slug!", brand_colour, version AS "version!", has_logo AS "has_logo!" FROM steward_brand($1)"#,
        tenant_id.0
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| Brand {
        tenant_id,
        name: r.name,
        slug: r.slug,
        colour: r.brand_colour.filter(|c| crate::outbox::letter::is_colour(c)),
        version: r.version,
        logo: r.has_logo,
    }))
}

/// [`brand`] for a request that has no organisation yet (the sign-in page,
/// the brand's stylesheet).
pub async fn public_brand(state: &crate::ssr::AppState, tenant_id: TenantId) -> Result<Option<Brand>, AppError> {
    brand(&state.pool, tenant_id).await
}

/// An organisation's logo by id: its type, bytes and SHA-256, and the
/// organisation's version (for its cache header), in one query.
pub async fn public_logo(state: &crate::ssr::AppState, tenant_id: TenantId) -> Result<Option<(String, Vec<u8>, String, i32)>, AppError> {
    let row = sqlx::query!(
        r#"SELECT content_type AS "content_type!", bytes AS "bytes!", sha256 AS "sha256!", version AS "version!" FROM steward_brand_logo($1)"#,
        tenant_id.0
    )
    .fetch_optional(&state.pool)
    .await?;
    Ok(row.map(|r| (r.content_type, r.bytes, r.sha256, r.version)))
}

/// The organisation id remembered by [`ORG_COOKIE`] in a `Cookie` header.
pub fn remembered_org(cookie_header: &str) -> Option<TenantId> {
    cookie_header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == ORG_COOKIE)
        .and_then(|(_, value)| value.parse::<uuid::Uuid>().ok())
        .map(TenantId)
}

/// A year, in seconds: how long the organisation and the theme are remembered.
pub const YEAR_SECONDS: i64 = 365 * 24 * 60 * 60;
/// How long the sign-in form keeps what was typed, in seconds.
pub const HINT_SECONDS: i64 = 600;

/// Sets the theme cookie for `theme`, kept for a year. Not `HttpOnly`: it holds
/// nothing but `system`, `light` or `dark`, and the browser reads it after
/// a sign-in that the router follows without loading a new document (see
/// `status::apply_theme`, in the browser).
pub fn set_theme_cookie(theme: crate::status::Theme) {
    crate::ssr::set_cookie_as(crate::status::THEME_COOKIE, theme.as_str(), YEAR_SECONDS, crate::ssr::Script::Reads);
}

/// Remembers the organisation for a year, for the sign-in page.
pub fn remember_org(tenant_id: TenantId) {
    crate::ssr::set_cookie(ORG_COOKIE, &tenant_id.0.to_string(), YEAR_SECONDS);
}

/// Encodes the sign-in hint as a cookie value (percent-encoded `tenant\nemail`).
pub fn encode_hint(hint: &SignInPrefill) -> String {
    percent_encode(&format!("{}\n{}", hint.tenant, hint.email), b"-_.@")
}

/// Reads the sign-in hint from a `Cookie` header.
pub fn decode_hint(cookie_header: &str) -> SignInPrefill {
    cookie_header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == HINT_COOKIE)
        .and_then(|(_, value)| percent_decode(value))
        .and_then(|text| {
            text.split_once('\n').map(|(t, e)| SignInPrefill {
                tenant: t.chars().take(63).collect(),
                email: e.chars().take(254).collect(),
                brand: None,
            })
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_cookie_round_trips_and_ignores_other_cookies() {
        let hint = SignInPrefill { tenant: "acme".into(), email: "olivia+x@acme.test".into(), brand: None };
        let header = format!("other=1; {HINT_COOKIE}={}; steward_session=abc", encode_hint(&hint));
        assert_eq!(decode_hint(&header), hint);
        assert_eq!(decode_hint("other=1"), SignInPrefill::default());
        assert_eq!(decode_hint(&format!("{HINT_COOKIE}=%ZZ")), SignInPrefill::default());
    }

    #[test]
    fn empty_sign_in_fields_are_named() {
        let Err(AppError::Validation(errors)) = validate_sign_in("", "", "") else { panic!("expected validation") };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["tenant", "email", "password"]);
    }
}
