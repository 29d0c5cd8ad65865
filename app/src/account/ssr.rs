//! The area's server side: what its server functions and handlers call,
//! each authorising first through the spine.

use crate::ids::{TenantId, UserId};
use crate::audit::record::{record, Event};
use crate::auth::password;
use crate::auth::ssr::SESSION_MUST_CHANGE_KEY;
use crate::error::{AppError, FieldError};

fn field(name: &str, message: &str) -> FieldError {
    FieldError { field: name.into(), message: message.into() }
}

/// Asks again for the person's own password before a sensitive step
/// (a new password, the second factor, an API key). Counted like a
/// sign-in against their account's throttle: refused (429) while it is
/// blocked, and a wrong password is a failure, recorded as `refused`.
/// No transaction or pooled connection is held while argon2 runs.
/// Returns the stored hash that matched.
pub async fn reauthenticate(own: &Own, typed: &str, refused: &'static str) -> Result<String, AppError> {
    use crate::auth::throttle;
    let (me, meta) = (own.me(), own.meta());
    if typed.is_empty() {
        return Err(AppError::Validation(vec![field("current_password", "Enter your current password.")]));
    }
    let home = me.acting_from.as_ref().unwrap_or(&me.tenant);
    let _turn = throttle::turn(&home.slug, &me.email).await?;
    let mut tx = own.transaction().await?;
    if let Some(block) = throttle::refusal(&mut tx, &home.slug, &me.email, throttle::AttemptFrom::SignedIn).await? {
        tx.commit().await?;
        return Err(crate::auth::ssr::too_many(block.until));
    }
    let stored: Option<String> = sqlx::query_scalar!("SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL", home.id.0, me.user_id.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    let right = typed.len() <= password::MAX_LENGTH * 4 && password::verify(typed.to_string(), stored.clone()).await?;
    if right {
        if let Some(stored) = stored {
            return Ok(stored);
        }
    }
    let mut tx = own.transaction().await?;
    let counted = throttle::failure(&mut tx, &home.slug, &me.email, throttle::AttemptFrom::SignedIn).await?;
    let after = serde_json::json!({ "reason": "wrong current password", "failures_in_a_row": counted.account_failures });
    record(&mut tx, meta, Event::by_user(home.id, me.user_id, refused, Some(after))).await?;
    tx.commit().await?;
    Err(match counted.blocked_until() {
        Some(until) => crate::auth::ssr::too_many(until),
        None => AppError::Validation(vec![field("current_password", "That is not your current password.")]),
    })
}

/// Checks the current password, sets the new one, ends every other
/// session of the person and records it, in one transaction. Returns
/// how many other sessions ended.
pub async fn change_password(
    own: &Own,
    current: &str,
    new: &str,
    confirm: &str,
) -> Result<u64, AppError> {
    let me = own.me();
    let mut errors = Vec::new();
    if current.is_empty() {
        errors.push(field("current_password", "Enter your current password."));
    }
    if let Some(problem) = password::problem(new, &me.email) {
        errors.push(field("new_password", problem));
    } else if new == current {
        errors.push(field("new_password", "Choose a password other than your current one."));
    }
    if confirm != new {
        errors.push(field("confirm_password", "This does not match the new password."));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }

    // The person's own tenant, also while platform staff act elsewhere.
    let (home, session, meta) = (own.home(), own.session()?, own.meta());
    let stored = reauthenticate(own, current, "user.password_change_refused").await?;
    let hash = password::hash(new.to_string()).await?;
    let mut tx = own.transaction().await?;
    let now: Option<Option<String>> = sqlx::query_scalar!("SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE", home.0, me.user_id.0)
    .fetch_optional(&mut *tx)
    .await?;
    if now != Some(Some(stored)) {
        return Err(AppError::Conflict("Your password was changed meanwhile. Sign in again and try once more.".into()));
    }
    sqlx::query!("UPDATE users SET password_hash = $3, password_changed_at = now(), must_change_password = false,
                version = version + 1, updated_at = now()
          WHERE tenant_id = $1 AND id = $2", home.0, me.user_id.0, &hash.0)
    .execute(&mut *tx)
    .await?;
    let this = session.id().map(|id| id.to_string()).unwrap_or_default();
    let ended = crate::auth::credentials::end_other_sessions(&mut tx, home, me.user_id, None, &this).await?;
    let keys = crate::auth::credentials::revoke_api_keys_of(&mut tx, home, me.user_id).await?;
    crate::auth::reset::end_links(&mut tx, home, me.user_id).await?;
    let event = Event::by_user(home, me.user_id, "user.password_change", Some(serde_json::json!({ "other_sessions_ended": ended, "api_keys_revoked": keys })));
    record(&mut tx, meta, event).await?;
    tx.commit().await?;
    session.remove::<bool>(SESSION_MUST_CHANGE_KEY).await.map_err(|error| {
        tracing::error!(%error, "session store error");
        AppError::Internal
    })?;
    Ok(ended)
}

/// When the person's second factor is on: one of its codes, each good
/// once (a wrong one is recorded as `refused`). Nothing to check when it
/// is off.
pub async fn check_own_code(own: &Own, code: &str, refused: &'static str) -> Result<(), AppError> {
    let (me, meta, home) = (own.me(), own.meta(), own.home());
    let mut tx = own.transaction().await?;
    let on: Option<(Vec<u8>, Option<i64>)> = sqlx::query!(r#"SELECT secret_sealed AS "secret_sealed!: Vec<u8>", last_used_step AS "last_used_step?: i64" FROM user_mfa WHERE tenant_id = $1 AND user_id = $2 AND enabled_at IS NOT NULL FOR UPDATE"#, home.0, me.user_id.0).map(|r| (r.secret_sealed, r.last_used_step))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((sealed, last_used)) = on else { return Ok(()) };
    let secret = own.master_key().open(&sealed, &crate::auth::mfa::seal_context(home, me.user_id)).ok_or(AppError::Internal)?;
    match crate::auth::mfa::check(&secret, code, chrono::Utc::now().timestamp(), last_used) {
        Some(step) => {
            sqlx::query!("UPDATE user_mfa SET last_used_step = $3 WHERE tenant_id = $1 AND user_id = $2", home.0, me.user_id.0, step).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        }
        None => {
            record(&mut tx, meta, Event::by_user(home, me.user_id, refused, Some(serde_json::json!({ "reason": "wrong code" })))).await?;
            tx.commit().await?;
            Err(AppError::Validation(vec![field("code", "That code is not right. Type the 6 digits your app shows now.")]))
        }
    }
}

use super::{MfaSetup, TwoFactorState};
use crate::authz::ssr::Own;
use crate::auth::mfa;
use crate::auth::ssr::{ADMIN_PERMISSIONS, SESSION_MUST_ENROL_KEY};
use uuid::Uuid;

pub async fn my_sessions(own: &Own) -> Result<Vec<crate::users::SessionRow>, AppError> {
    let mut tx = own.transaction().await?;
    type Row = (Uuid, chrono::DateTime<chrono::Utc>, Option<String>, Option<String>, String);
    let rows: Vec<Row> = sqlx::query!(r#"SELECT us.id AS "id!: Uuid", us.created_at AS "created_at!: chrono::DateTime<chrono::Utc>", host(us.ip) AS "c2?: String", us.user_agent AS "user_agent?: String", us.session_id AS "session_id!: String" FROM user_sessions us JOIN tower_sessions.session s ON s.id = us.session_id AND s.expiry_date > now()
          WHERE us.tenant_id = $1 AND us.user_id = $2 ORDER BY us.created_at DESC"#, own.home().0, own.me().user_id.0).map(|r| (r.id, r.created_at, r.c2, r.user_agent, r.session_id))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let this = own.session()?.id().map(|id| id.to_string());
    Ok(rows
        .into_iter()
        .map(|(id, created, ip, ua, sid)| crate::users::SessionRow {
            id,
            created_at: crate::text::when(created),
            ip: ip.unwrap_or_default(),
            user_agent: ua.unwrap_or_default(),
            current: this.as_deref() == Some(sid.as_str()),
        })
        .collect())
}

pub async fn revoke_mine(own: &Own, only: Option<Uuid>) -> Result<u64, AppError> {
    let this = own.session()?.id().map(|id| id.to_string()).unwrap_or_default();
    let mut tx = own.transaction().await?;
    let ended = crate::auth::credentials::end_other_sessions(&mut tx, own.home(), own.me().user_id, only, &this).await?;
    if only.is_some() && ended == 0 {
        return Err(AppError::NotFound);
    }
    // "Sign out everywhere" ends the keys too: they are sign-ins that last.
    let keys = if only.is_none() { crate::auth::credentials::revoke_api_keys_of(&mut tx, own.home(), own.me().user_id).await? } else { 0 };
    record(&mut tx, own.meta(), own.event("user.sessions_revoke", serde_json::json!({ "sessions_ended": ended, "session": only, "by": "themselves", "api_keys_revoked": keys }))).await?;
    tx.commit().await?;
    Ok(ended)
}

/// Whether the person's tenant requires a second factor of them.
async fn required(conn: &mut sqlx::PgConnection, tenant_id: TenantId, user_id: UserId) -> Result<bool, AppError> {
    Ok(sqlx::query_scalar!(r#"SELECT steward_mfa_required($1, $2, $3) AS "required!""#, tenant_id.0, user_id.0, ADMIN_PERMISSIONS as &[&str])
        .fetch_one(conn)
        .await?)
}

pub async fn status(own: &Own) -> Result<TwoFactorState, AppError> {
    let mut tx = own.transaction().await?;
    let (enabled, pending, left): (bool, bool, i64) = sqlx::query!(r#"SELECT coalesce(bool_or(m.enabled_at IS NOT NULL), false) AS "c0!: bool", coalesce(bool_or(m.enabled_at IS NULL), false) AS "c1!: bool", (SELECT count(*) FROM user_recovery_codes c WHERE c.tenant_id = $1 AND c.user_id = $2 AND c.used_at IS NULL) AS "c2!: i64" FROM user_mfa m WHERE m.tenant_id = $1 AND m.user_id = $2"#, own.home().0, own.me().user_id.0).map(|r| (r.c0, r.c1, r.c2))
    .fetch_one(&mut *tx)
    .await?;
    let required = required(&mut tx, own.home(), own.me().user_id).await?;
    tx.commit().await?;
    Ok(TwoFactorState { enabled, pending, recovery_codes_left: left, required })
}

pub async fn start(own: &Own, current: &str) -> Result<MfaSetup, AppError> {
    // A stolen session alone must not put the thief's phone on the account.
    reauthenticate(own, current, "user.mfa_setup_refused").await?;
    let mut tx = own.transaction().await?;
    let on: Option<bool> = sqlx::query_scalar!(r#"SELECT enabled_at IS NOT NULL AS "on!" FROM user_mfa WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE"#, own.home().0, own.me().user_id.0)
        .fetch_optional(&mut *tx)
        .await?;
    if on == Some(true) {
        return Err(AppError::Conflict("Two-factor sign-in is already on. Turn it off first to move it to another app.".into()));
    }
    let secret = mfa::new_secret();
    let sealed = own.master_key().seal(&secret, &mfa::seal_context(own.home(), own.me().user_id));
    sqlx::query!("INSERT INTO user_mfa (tenant_id, user_id, secret_sealed) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed, created_at = now(), last_used_step = NULL", own.home().0, own.me().user_id.0, &sealed)
    .execute(&mut *tx)
    .await?;
    record(&mut tx, own.meta(), own.event("user.mfa_setup_started", serde_json::json!({}))).await?;
    tx.commit().await?;
    let issuer = format!("Steward ({})", own.me().acting_from.as_ref().unwrap_or(&own.me().tenant).slug);
    let uri = mfa::otpauth_uri(&secret, &issuer, &own.me().email);
    Ok(MfaSetup { qr_svg: mfa::qr_svg(&uri), secret: mfa::base32(&secret) })
}

pub async fn confirm(own: &Own, code: &str) -> Result<Vec<String>, AppError> {
    let mut tx = own.transaction().await?;
    let row: Option<Vec<u8>> = sqlx::query_scalar!("SELECT secret_sealed FROM user_mfa WHERE tenant_id = $1 AND user_id = $2 AND enabled_at IS NULL FOR UPDATE", own.home().0, own.me().user_id.0)
    .fetch_optional(&mut *tx)
    .await?;
    let sealed = row.ok_or_else(|| AppError::Conflict("There is no set-up waiting for a code: start again.".into()))?;
    let secret = own.master_key().open(&sealed, &mfa::seal_context(own.home(), own.me().user_id)).ok_or(AppError::Internal)?;
    let Some(step) = mfa::check(&secret, code, chrono::Utc::now().timestamp(), None) else {
        return Err(AppError::Validation(vec![field(
            "code",
            "That code is not right. Type the 6 digits the app shows now (they change every 30 seconds).",
        )]));
    };
    sqlx::query!("UPDATE user_mfa SET enabled_at = now(), last_used_step = $3 WHERE tenant_id = $1 AND user_id = $2", own.home().0, own.me().user_id.0, step)
        .execute(&mut *tx)
        .await?;
    let codes = mfa::new_recovery_codes();
    sqlx::query!("DELETE FROM user_recovery_codes WHERE tenant_id = $1 AND user_id = $2", own.home().0, own.me().user_id.0)
        .execute(&mut *tx)
        .await?;
    let hashes: Vec<String> = codes.iter().map(|c| mfa::recovery_hash(c)).collect();
    sqlx::query!("INSERT INTO user_recovery_codes (tenant_id, user_id, code_hash) SELECT $1, $2, unnest($3::text[])", own.home().0, own.me().user_id.0, &hashes)
        .execute(&mut *tx)
        .await?;
    record(&mut tx, own.meta(), own.event("user.mfa_enable", serde_json::json!({ "recovery_codes": codes.len() }))).await?;
    tx.commit().await?;
    let _ = own.session()?.remove::<bool>(SESSION_MUST_ENROL_KEY).await;
    Ok(codes)
}

pub async fn disable(own: &Own, current: &str, code: &str) -> Result<(), AppError> {
    if current.is_empty() {
        return Err(AppError::Validation(vec![field("current_password", "Enter your password to turn two-factor sign-in off.")]));
    }
    let mut tx = own.transaction().await?;
    if required(&mut tx, own.home(), own.me().user_id).await? {
        return Err(AppError::Refused("Your organisation requires two-factor sign-in, so it cannot be turned off.".into()));
    }
    tx.commit().await?;
    reauthenticate(own, current, "user.mfa_disable_refused").await?;
    // And a code of the factor being turned off.
    check_own_code(own, code, "user.mfa_disable_refused").await?;
    let mut tx = own.transaction().await?;
    let removed = sqlx::query!("DELETE FROM user_mfa WHERE tenant_id = $1 AND user_id = $2", own.home().0, own.me().user_id.0)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("DELETE FROM user_recovery_codes WHERE tenant_id = $1 AND user_id = $2", own.home().0, own.me().user_id.0)
        .execute(&mut *tx)
        .await?;
    if removed.rows_affected() > 0 {
        record(&mut tx, own.meta(), own.event("user.mfa_disable", serde_json::json!({}))).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Sets the person's theme, recorded as `user.theme`. Needs only the
/// person's own session.
pub async fn set_theme(own: &Own, theme: &str) -> Result<crate::status::Theme, AppError> {
    use crate::status::Theme;
    let Some(theme) = Theme::parse(theme.trim()) else {
        return Err(AppError::invalid("theme", "Choose light, dark, or as your system is set."));
    };
    let (me, meta, home) = (own.me(), own.meta(), own.home());
    let mut tx = own.transaction().await?;
    let before: Option<Theme> = sqlx::query_scalar!(
        r#"SELECT theme AS "theme: Theme" FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE"#,
        home.0,
        me.user_id.0
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(before) = before else { return Err(AppError::Unauthenticated) };
    if before != theme {
        sqlx::query!("UPDATE users SET theme = $3 WHERE tenant_id = $1 AND id = $2", home.0, me.user_id.0, theme.as_str()).execute(&mut *tx).await?;
        let mut event = Event::by_user(home, me.user_id, "user.theme", Some(serde_json::json!({ "theme": theme })));
        event.before = Some(serde_json::json!({ "theme": before }));
        record(&mut tx, meta, event).await?;
    }
    tx.commit().await?;
    Ok(theme)
}

/// The person's theme. Needs only the person's own session.
pub async fn theme(own: &Own) -> Result<crate::status::Theme, AppError> {
    let (me, home) = (own.me(), own.home());
    let mut tx = own.transaction().await?;
    let theme = sqlx::query_scalar!(r#"SELECT theme AS "theme: crate::status::Theme" FROM users WHERE tenant_id = $1 AND id = $2"#, home.0, me.user_id.0)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    theme.ok_or(AppError::Unauthenticated)
}
