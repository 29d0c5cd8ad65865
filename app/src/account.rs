//! The signed-in person's own account: changing their password (also where
//! someone given a temporary password is sent before anything else), and
//! setting up two-factor sign-in (where someone whose tenant requires it is
//! sent).

use crate::components::{Field, PageHeader, ALERT, BUTTON, CARD};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Changes the caller's own password: the current one, then the new one
/// twice. The caller's other sessions end; this one goes on. Needs a
/// signed-in person, nothing more.
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
    next: Option<String>,
) -> Result<u64, AppError> {
    use crate::ssr::{current_user, request_session, respond_form};
    let result = async {
        let me = current_user().ok_or(AppError::Unauthenticated)?;
        let session = request_session()?;
        let state = crate::ssr::app_state()?;
        let meta = crate::authz::ssr::request_meta();
        ssr::change_password(&state.pool, &session, &me, &meta, &current_password, &new_password, &confirm_password).await
    }
    .await;
    if result.is_ok() {
        leptos_axum::redirect(&crate::auth::safe_next(next.as_deref()));
    }
    respond_form(result, &[], "Password changed.")
}

/// Needs a signed-in person: their own open sessions, this one marked.
#[server(endpoint = "list_my_sessions")]
pub async fn list_my_sessions() -> Result<Vec<crate::users::SessionRow>, AppError> {
    crate::ssr::respond(async { ssr::my_sessions(&ssr::own().await?).await }.await)
}

/// Needs a signed-in person: ends one of their other sessions
/// (`session_id`), or all of them but this one. Returns how many ended.
#[server(endpoint = "revoke_my_sessions")]
pub async fn revoke_my_sessions(session_id: Option<Uuid>) -> Result<u64, AppError> {
    crate::ssr::respond_form(async { ssr::revoke_mine(&ssr::own().await?, session_id).await }.await, &[], "Signed out.")
}

/// Where the person's two-factor sign-in stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorState {
    pub enabled: bool,
    /// Set up but not yet confirmed with a first code.
    pub pending: bool,
    pub recovery_codes_left: i64,
    /// The tenant requires it of this person.
    pub required: bool,
}

/// A secret being set up: the QR code to scan, and the same as text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaSetup {
    pub qr_svg: String,
    pub secret: String,
}

/// Needs a signed-in person: their own two-factor state.
#[server(endpoint = "mfa_status")]
pub async fn mfa_status() -> Result<TwoFactorState, AppError> {
    crate::ssr::respond(async { ssr::status(&ssr::own().await?).await }.await)
}

/// Needs a signed-in person: makes a new secret (not yet in force) and
/// returns it to be scanned.
#[server(endpoint = "start_mfa")]
pub async fn start_mfa(current_password: String) -> Result<MfaSetup, AppError> {
    crate::ssr::respond(async { ssr::start(&ssr::own().await?, &current_password).await }.await)
}

/// Needs a signed-in person: the first code from the app turns two-factor
/// sign-in on; returns the recovery codes, shown once.
#[server(endpoint = "confirm_mfa")]
pub async fn confirm_mfa(code: String) -> Result<Vec<String>, AppError> {
    crate::ssr::respond(async { ssr::confirm(&ssr::own().await?, &code).await }.await)
}

/// Needs a signed-in person and their password: turns two-factor sign-in
/// off, unless their tenant requires it of them.
#[server(endpoint = "disable_mfa")]
pub async fn disable_mfa(current_password: String, #[server(default)] code: String) -> Result<(), AppError> {
    crate::ssr::respond_form(async { ssr::disable(&ssr::own().await?, &current_password, &code).await }.await, &[], "Two-factor sign-in is off.")
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use crate::audit::record::{record, Event, RequestMeta};
    use crate::auth::password;
    use crate::auth::ssr::SESSION_MUST_CHANGE_KEY;
    use crate::auth::Me;
    use crate::error::{AppError, FieldError};
    use sqlx::PgPool;
    use tower_sessions::Session;

    fn field(name: &str, message: &str) -> FieldError {
        FieldError { field: name.into(), message: message.into() }
    }

    /// Asks again for the person's own password before a sensitive step
    /// (a new password, the second factor, an API key). Counted like a
    /// sign-in against their account's throttle: refused (429) while it is
    /// blocked, and a wrong password is a failure, recorded as `refused`.
    /// No transaction or pooled connection is held while argon2 runs.
    /// Returns the stored hash that matched.
    pub async fn reauthenticate(pool: &PgPool, me: &Me, meta: &RequestMeta, typed: &str, refused: &'static str) -> Result<String, AppError> {
        use crate::auth::throttle;
        if typed.is_empty() {
            return Err(AppError::Validation(vec![field("current_password", "Enter your current password.")]));
        }
        let home = me.acting_from.as_ref().unwrap_or(&me.tenant);
        let _turn = throttle::turn(&home.slug, &me.email).await?;
        let mut tx = pool.begin().await?;
        crate::db::scope_to_tenant(&mut tx, home.id).await?;
        if let Some(block) = throttle::refusal(&mut tx, &home.slug, &me.email, throttle::AttemptFrom::SignedIn).await? {
            tx.commit().await?;
            return Err(crate::auth::ssr::too_many(block.until));
        }
        let stored: Option<String> = sqlx::query_scalar("SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL")
            .bind(home.id)
            .bind(me.user_id)
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
        let mut tx = pool.begin().await?;
        crate::db::scope_to_tenant(&mut tx, home.id).await?;
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
        pool: &PgPool,
        session: &Session,
        me: &Me,
        meta: &RequestMeta,
        current: &str,
        new: &str,
        confirm: &str,
    ) -> Result<u64, AppError> {
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
        let home = me.acting_from.as_ref().unwrap_or(&me.tenant).id;
        let stored = reauthenticate(pool, me, meta, current, "user.password_change_refused").await?;
        let hash = password::hash(new.to_string()).await?;
        let mut tx = pool.begin().await?;
        crate::db::scope_to_tenant(&mut tx, home).await?;
        let now: Option<Option<String>> = sqlx::query_scalar(
            "SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE",
        )
        .bind(home)
        .bind(me.user_id)
        .fetch_optional(&mut *tx)
        .await?;
        if now != Some(Some(stored)) {
            return Err(AppError::Conflict("Your password was changed meanwhile. Sign in again and try once more.".into()));
        }
        sqlx::query(
            "UPDATE users SET password_hash = $3, password_changed_at = now(), must_change_password = false,
                    version = version + 1, updated_at = now()
              WHERE tenant_id = $1 AND id = $2",
        )
        .bind(home)
        .bind(me.user_id)
        .bind(&hash.0)
        .execute(&mut *tx)
        .await?;
        let this = session.id().map(|id| id.to_string()).unwrap_or_default();
        let ended: Vec<String> = sqlx::query_scalar(
            "DELETE FROM user_sessions WHERE tenant_id = $1 AND user_id = $2 AND session_id <> $3 RETURNING session_id",
        )
        .bind(home)
        .bind(me.user_id)
        .bind(&this)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM tower_sessions.session WHERE id = ANY($1)").bind(&ended).execute(&mut *tx).await?;
        let keys = crate::auth::credentials::revoke_api_keys_of(&mut tx, home, me.user_id).await?;
        let event = Event::by_user(home, me.user_id, "user.password_change", Some(serde_json::json!({ "other_sessions_ended": ended.len(), "api_keys_revoked": keys })));
        record(&mut tx, meta, event).await?;
        tx.commit().await?;
        session.remove::<bool>(SESSION_MUST_CHANGE_KEY).await.map_err(|error| {
            tracing::error!(%error, "session store error");
            AppError::Internal
        })?;
        Ok(ended.len() as u64)
    }

    /// When the person's second factor is on: one of its codes, each good
    /// once (a wrong one is recorded as `refused`). Nothing to check when it
    /// is off.
    pub async fn check_own_code(pool: &PgPool, me: &Me, meta: &RequestMeta, code: &str, refused: &'static str) -> Result<(), AppError> {
        let home = me.acting_from.as_ref().unwrap_or(&me.tenant).id;
        let mut tx = pool.begin().await?;
        crate::db::scope_to_tenant(&mut tx, home).await?;
        let on: Option<(Vec<u8>, Option<i64>)> = sqlx::query_as(
            "SELECT secret_sealed, last_used_step FROM user_mfa WHERE tenant_id = $1 AND user_id = $2 AND enabled_at IS NOT NULL FOR UPDATE",
        )
        .bind(home)
        .bind(me.user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((sealed, last_used)) = on else { return Ok(()) };
        let key = crate::ssr::app_state()?.master_key;
        let secret = key.open(&sealed, &crate::auth::mfa::seal_context(home, me.user_id)).ok_or(AppError::Internal)?;
        match crate::auth::mfa::check(&secret, code, chrono::Utc::now().timestamp(), last_used) {
            Some(step) => {
                sqlx::query("UPDATE user_mfa SET last_used_step = $3 WHERE tenant_id = $1 AND user_id = $2").bind(home).bind(me.user_id).bind(step).execute(&mut *tx).await?;
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
    use crate::auth::mfa;
    use crate::auth::ssr::{ADMIN_PERMISSIONS, SESSION_MUST_ENROL_KEY};
    use std::sync::Arc;
    use uuid::Uuid;

    /// The caller's own account: the principal, a transaction scoped to
    /// their own tenant (also while platform staff act elsewhere), the
    /// session and the request.
    pub struct Own {
        pub me: Arc<Me>,
        pub home: Uuid,
        pub pool: PgPool,
        pub key: mfa::MasterKey,
        pub session: Session,
        pub meta: RequestMeta,
    }

    pub async fn own() -> Result<Own, AppError> {
        let me = crate::ssr::current_user().ok_or(AppError::Unauthenticated)?;
        let state = crate::ssr::app_state()?;
        let home = me.acting_from.as_ref().unwrap_or(&me.tenant).id;
        Ok(Own {
            me,
            home,
            pool: state.pool.clone(),
            key: state.master_key.clone(),
            session: crate::ssr::request_session()?,
            meta: crate::authz::ssr::request_meta(),
        })
    }

    impl Own {
        async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, AppError> {
            let mut tx = self.pool.begin().await?;
            crate::db::scope_to_tenant(&mut tx, self.home).await?;
            Ok(tx)
        }

        fn event(&self, action: &'static str, after: serde_json::Value) -> Event<'static> {
            Event::by_user(self.home, self.me.user_id, action, Some(after))
        }
    }

    pub async fn my_sessions(own: &Own) -> Result<Vec<crate::users::SessionRow>, AppError> {
        let mut tx = own.begin().await?;
        type Row = (Uuid, chrono::DateTime<chrono::Utc>, Option<String>, Option<String>, String);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT us.id, us.created_at, host(us.ip), us.user_agent, us.session_id
               FROM user_sessions us JOIN tower_sessions.session s ON s.id = us.session_id AND s.expiry_date > now()
              WHERE us.tenant_id = $1 AND us.user_id = $2 ORDER BY us.created_at DESC",
        )
        .bind(own.home)
        .bind(own.me.user_id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let this = own.session.id().map(|id| id.to_string());
        Ok(rows
            .into_iter()
            .map(|(id, created, ip, ua, sid)| crate::users::SessionRow {
                id,
                created_at: created.format("%Y-%m-%d %H:%M UTC").to_string(),
                ip: ip.unwrap_or_default(),
                user_agent: ua.unwrap_or_default(),
                current: this.as_deref() == Some(sid.as_str()),
            })
            .collect())
    }

    pub async fn revoke_mine(own: &Own, only: Option<Uuid>) -> Result<u64, AppError> {
        let this = own.session.id().map(|id| id.to_string()).unwrap_or_default();
        let mut tx = own.begin().await?;
        let ended: Vec<String> = sqlx::query_scalar(
            "DELETE FROM user_sessions WHERE tenant_id = $1 AND user_id = $2 AND session_id <> $3
                AND ($4::uuid IS NULL OR id = $4) RETURNING session_id",
        )
        .bind(own.home)
        .bind(own.me.user_id)
        .bind(&this)
        .bind(only)
        .fetch_all(&mut *tx)
        .await?;
        if only.is_some() && ended.is_empty() {
            return Err(AppError::NotFound);
        }
        sqlx::query("DELETE FROM tower_sessions.session WHERE id = ANY($1)").bind(&ended).execute(&mut *tx).await?;
        // "Sign out everywhere" ends the keys too: they are sign-ins that last.
        let keys = if only.is_none() { crate::auth::credentials::revoke_api_keys_of(&mut tx, own.home, own.me.user_id).await? } else { 0 };
        record(&mut tx, &own.meta, own.event("user.sessions_revoke", serde_json::json!({ "sessions_ended": ended.len(), "session": only, "by": "themselves", "api_keys_revoked": keys }))).await?;
        tx.commit().await?;
        Ok(ended.len() as u64)
    }

    /// Whether the person's tenant requires a second factor of them.
    async fn required(conn: &mut sqlx::PgConnection, tenant_id: Uuid, user_id: Uuid) -> Result<bool, AppError> {
        Ok(sqlx::query_scalar("SELECT steward_mfa_required($1, $2, $3)")
            .bind(tenant_id)
            .bind(user_id)
            .bind(ADMIN_PERMISSIONS)
            .fetch_one(conn)
            .await?)
    }

    pub async fn status(own: &Own) -> Result<TwoFactorState, AppError> {
        let mut tx = own.begin().await?;
        let (enabled, pending, left): (bool, bool, i64) = sqlx::query_as(
            "SELECT coalesce(bool_or(m.enabled_at IS NOT NULL), false), coalesce(bool_or(m.enabled_at IS NULL), false),
                    (SELECT count(*) FROM user_recovery_codes c WHERE c.tenant_id = $1 AND c.user_id = $2 AND c.used_at IS NULL)
               FROM user_mfa m WHERE m.tenant_id = $1 AND m.user_id = $2",
        )
        .bind(own.home)
        .bind(own.me.user_id)
        .fetch_one(&mut *tx)
        .await?;
        let required = required(&mut tx, own.home, own.me.user_id).await?;
        tx.commit().await?;
        Ok(TwoFactorState { enabled, pending, recovery_codes_left: left, required })
    }

    pub async fn start(own: &Own, current: &str) -> Result<MfaSetup, AppError> {
        // A stolen session alone must not put the thief's phone on the account.
        reauthenticate(&own.pool, &own.me, &own.meta, current, "user.mfa_setup_refused").await?;
        let mut tx = own.begin().await?;
        let on: Option<bool> = sqlx::query_scalar("SELECT enabled_at IS NOT NULL FROM user_mfa WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE")
            .bind(own.home)
            .bind(own.me.user_id)
            .fetch_optional(&mut *tx)
            .await?;
        if on == Some(true) {
            return Err(AppError::Conflict("Two-factor sign-in is already on. Turn it off first to move it to another app.".into()));
        }
        let secret = mfa::new_secret();
        let sealed = own.key.seal(&secret, &mfa::seal_context(own.home, own.me.user_id));
        sqlx::query(
            "INSERT INTO user_mfa (tenant_id, user_id, secret_sealed) VALUES ($1, $2, $3)
             ON CONFLICT (tenant_id, user_id) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed, created_at = now(), last_used_step = NULL",
        )
        .bind(own.home)
        .bind(own.me.user_id)
        .bind(&sealed)
        .execute(&mut *tx)
        .await?;
        record(&mut tx, &own.meta, own.event("user.mfa_setup_started", serde_json::json!({}))).await?;
        tx.commit().await?;
        let issuer = format!("Steward ({})", own.me.acting_from.as_ref().unwrap_or(&own.me.tenant).slug);
        let uri = mfa::otpauth_uri(&secret, &issuer, &own.me.email);
        Ok(MfaSetup { qr_svg: mfa::qr_svg(&uri), secret: mfa::base32(&secret) })
    }

    pub async fn confirm(own: &Own, code: &str) -> Result<Vec<String>, AppError> {
        let mut tx = own.begin().await?;
        let row: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT secret_sealed FROM user_mfa WHERE tenant_id = $1 AND user_id = $2 AND enabled_at IS NULL FOR UPDATE",
        )
        .bind(own.home)
        .bind(own.me.user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let sealed = row.ok_or_else(|| AppError::Conflict("There is no set-up waiting for a code: start again.".into()))?;
        let secret = own.key.open(&sealed, &mfa::seal_context(own.home, own.me.user_id)).ok_or(AppError::Internal)?;
        let Some(step) = mfa::check(&secret, code, chrono::Utc::now().timestamp(), None) else {
            return Err(AppError::Validation(vec![field(
                "code",
                "That code is not right. Type the 6 digits the app shows now (they change every 30 seconds).",
            )]));
        };
        sqlx::query("UPDATE user_mfa SET enabled_at = now(), last_used_step = $3 WHERE tenant_id = $1 AND user_id = $2")
            .bind(own.home)
            .bind(own.me.user_id)
            .bind(step)
            .execute(&mut *tx)
            .await?;
        let codes = mfa::new_recovery_codes();
        sqlx::query("DELETE FROM user_recovery_codes WHERE tenant_id = $1 AND user_id = $2")
            .bind(own.home)
            .bind(own.me.user_id)
            .execute(&mut *tx)
            .await?;
        let hashes: Vec<String> = codes.iter().map(|c| mfa::recovery_hash(c)).collect();
        sqlx::query("INSERT INTO user_recovery_codes (tenant_id, user_id, code_hash) SELECT $1, $2, unnest($3::text[])")
            .bind(own.home)
            .bind(own.me.user_id)
            .bind(&hashes)
            .execute(&mut *tx)
            .await?;
        record(&mut tx, &own.meta, own.event("user.mfa_enable", serde_json::json!({ "recovery_codes": codes.len() }))).await?;
        tx.commit().await?;
        let _ = own.session.remove::<bool>(SESSION_MUST_ENROL_KEY).await;
        Ok(codes)
    }

    pub async fn disable(own: &Own, current: &str, code: &str) -> Result<(), AppError> {
        if current.is_empty() {
            return Err(AppError::Validation(vec![field("current_password", "Enter your password to turn two-factor sign-in off.")]));
        }
        let mut tx = own.begin().await?;
        if required(&mut tx, own.home, own.me.user_id).await? {
            return Err(AppError::Refused("Your organisation requires two-factor sign-in, so it cannot be turned off.".into()));
        }
        tx.commit().await?;
        reauthenticate(&own.pool, &own.me, &own.meta, current, "user.mfa_disable_refused").await?;
        // And a code of the factor being turned off.
        check_own_code(&own.pool, &own.me, &own.meta, code, "user.mfa_disable_refused").await?;
        let mut tx = own.begin().await?;
        let removed = sqlx::query("DELETE FROM user_mfa WHERE tenant_id = $1 AND user_id = $2")
            .bind(own.home)
            .bind(own.me.user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM user_recovery_codes WHERE tenant_id = $1 AND user_id = $2")
            .bind(own.home)
            .bind(own.me.user_id)
            .execute(&mut *tx)
            .await?;
        if removed.rows_affected() > 0 {
            record(&mut tx, &own.meta, own.event("user.mfa_disable", serde_json::json!({}))).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// `/account/password`: the current password, the new one twice. Works
/// without JavaScript.
#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".into());
    let forced = move || query.read().get("next").is_some();
    let error = move |name: &'static str| {
        Signal::derive(move || action.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err()).and_then(|e| e.field(name))))
    };
    let general = move || {
        action.value().with(|v| match v {
            Some(Err(AppError::Validation(_))) | None | Some(Ok(_)) => None,
            Some(Err(e)) => Some(e.to_string()),
        })
    };
    view! {
        <Title text="Change password" />
        <PageHeader title="Change password" purpose="Your other sessions are signed out when you change it." />
        <AccountTabs current=crate::auth::CHANGE_PASSWORD_PATH />
        <div class=format!("{CARD} max-w-lg")>
            {move || forced().then(|| view! {
                <p role="status" class="mb-4 text-sm text-slate-700 dark:text-slate-300" data-testid="must-change">
                    "Choose a password of your own to continue. It needs at least 12 characters, and not one of the most common."
                </p>
            })}
            <ActionForm action=action attr:class="space-y-4" attr:data-testid="change-password-form">
                {move || general().map(|m| view! { <p role="alert" data-testid="form-error" class=ALERT>{m}</p> })}
                <Field name="current_password" label="Current password" kind="password" autocomplete="current-password" error=error("current_password") />
                <Field name="new_password" label="New password" kind="password" autocomplete="new-password" error=error("new_password") hint="At least 12 characters. A passphrase of a few unrelated words works well." />
                <Field name="confirm_password" label="New password again" kind="password" autocomplete="new-password" error=error("confirm_password") />
                <input type="hidden" name="next" value=next />
                <button type="submit" class=BUTTON data-testid="change-password-submit" disabled=move || action.pending().get()>
                    "Change password"
                </button>
            </ActionForm>
        </div>
        <MySessions />
    }
}

/// `/account/two-factor`: set up an authenticator app (scan, then confirm
/// with a first code; the recovery codes are shown once), or turn it off.
#[component]
pub fn TwoFactorPage() -> impl IntoView {
    let start = ServerAction::<StartMfa>::new();
    let confirm = ServerAction::<ConfirmMfa>::new();
    let disable = ServerAction::<DisableMfa>::new();
    let query = use_query_map();
    let next = move || query.read().get("next");
    let status = Resource::new(
        move || (confirm.version().get(), disable.version().get()),
        |_| mfa_status(),
    );
    let code_error = Signal::derive(move || confirm.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err()).and_then(|e| e.field("code"))));
    let password_error = Signal::derive(move || disable.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err()).and_then(|e| e.field("current_password"))));
    let off_code_error = Signal::derive(move || disable.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err()).and_then(|e| e.field("code"))));
    let start_password_error = Signal::derive(move || start.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err()).and_then(|e| e.field("current_password"))));
    view! {
        <Title text="Two-factor sign-in" />
        <PageHeader title="Two-factor sign-in" purpose="A code from an authenticator app on your phone, asked after your password." />
        <AccountTabs current=crate::auth::MFA_SETUP_PATH />
        <div class=format!("{CARD} max-w-2xl space-y-4")>
            {crate::components::outcome(start, "")}
            {crate::components::outcome(disable, "Two-factor sign-in is off.")}
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let st = match status.await {
                        Ok(st) => st,
                        Err(e) => return view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                    };
                    let codes = confirm.value().get().and_then(|r| r.ok());
                    if let Some(codes) = codes {
                        let then = crate::auth::safe_next(next().as_deref());
                        return view! {
                            <div data-testid="recovery-codes" class="space-y-3">
                                <p role="status" class=crate::components::NOTICE>"Two-factor sign-in is on."</p>
                                <p class="text-sm">"Keep these recovery codes somewhere safe. Each one signs you in once if you lose your phone. They are not shown again."</p>
                                <ul class="grid grid-cols-2 gap-2 font-mono text-sm">
                                    {codes.into_iter().map(|c| view! { <li data-testid="recovery-code">{c}</li> }).collect_view()}
                                </ul>
                                <a href=then class=crate::components::LINK>"I have kept them: continue"</a>
                            </div>
                        }.into_any();
                    }
                    if st.enabled {
                        return view! {
                            <div data-testid="mfa-on" class="space-y-3">
                                <p class="text-sm">"Two-factor sign-in is on. Recovery codes left: " {st.recovery_codes_left} "."</p>
                                {if st.required {
                                    view! { <p class="text-sm text-slate-600 dark:text-slate-400">"Your organisation requires it, so it stays on."</p> }.into_any()
                                } else {
                                    view! {
                                        <ActionForm action=disable attr:class="space-y-3">
                                            <Field name="current_password" label="Your password" kind="password" autocomplete="current-password" error=password_error />
                                            <Field name="code" label="A code from your app" autocomplete="one-time-code" error=off_code_error />
                                            <button type="submit" class=crate::components::BUTTON_DANGER data-testid="mfa-disable">"Turn two-factor sign-in off"</button>
                                        </ActionForm>
                                    }.into_any()
                                }}
                            </div>
                        }.into_any();
                    }
                    let setup = start.value().get().and_then(|r| r.ok());
                    view! {
                        <div class="space-y-4" data-testid="mfa-off">
                            {st.required.then(|| view! {
                                <p role="status" data-testid="mfa-required" class="text-sm font-medium">"Your organisation requires two-factor sign-in. Set it up to continue."</p>
                            })}
                            {match setup {
                                None => view! {
                                    <ActionForm action=start attr:class="space-y-3">
                                        <Field name="current_password" label="Your password" kind="password" autocomplete="current-password" error=start_password_error hint="Asked again so that nobody who only holds your session can put their phone on your account." />
                                        <button type="submit" class=BUTTON data-testid="mfa-start">"Set up an authenticator app"</button>
                                    </ActionForm>
                                }.into_any(),
                                Some(setup) => view! {
                                    <div class="space-y-3">
                                        <p class="text-sm">"1. Scan this code with your authenticator app (or type the key below into it)."</p>
                                        <div class="w-52 rounded bg-white p-2" data-testid="mfa-qr" inner_html=setup.qr_svg></div>
                                        <p class="font-mono text-sm break-all" data-testid="mfa-secret">{setup.secret}</p>
                                        <p class="text-sm">"2. Type the 6-digit code the app shows."</p>
                                        <ActionForm action=confirm attr:class="space-y-3">
                                            <Field name="code" label="Code" autocomplete="one-time-code" error=code_error />
                                            <button type="submit" class=BUTTON data-testid="mfa-confirm">"Turn on"</button>
                                        </ActionForm>
                                    </div>
                                }.into_any(),
                            }}
                        </div>
                    }.into_any()
                })}
            </Transition>
        </div>
    }
}

/// The account pages' own navigation.
#[component]
pub fn AccountTabs(current: &'static str) -> impl IntoView {
    let tabs = [
        (crate::auth::CHANGE_PASSWORD_PATH, "Password"),
        (crate::auth::MFA_SETUP_PATH, "Two-factor sign-in"),
        ("/account/api-keys", "API keys"),
        ("/account/privacy", "Your data"),
    ];
    view! {
        <nav class="mb-4 flex gap-4 border-b border-slate-200 text-sm dark:border-slate-800" aria-label="Your account" data-testid="account-tabs">
            {tabs.into_iter().map(|(href, label)| {
                let here = href == current;
                view! {
                    <a href=href aria-current=here.then_some("page")
                       class=if here { "-mb-px border-b-2 border-indigo-600 px-1 pb-2 font-medium" } else { "px-1 pb-2 text-slate-600 hover:text-slate-900 dark:text-slate-400" }>
                        {label}
                    </a>
                }
            }).collect_view()}
        </nav>
    }
}

/// The person's own sessions: where they are signed in, and signing the
/// others out.
#[component]
fn MySessions() -> impl IntoView {
    let revoke = ServerAction::<RevokeMySessions>::new();
    let done = crate::components::successes(revoke);
    let sessions = Resource::new(move || done.get(), |_| list_my_sessions());
    view! {
        <section class=format!("{CARD} mt-6 max-w-lg") aria-labelledby="my-sessions-heading" data-testid="my-sessions">
            <h2 id="my-sessions-heading" class="text-base font-semibold">"Where you are signed in"</h2>
            {crate::components::outcome(revoke, "Signed out.")}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let rows = sessions.await.unwrap_or_default();
                    let others = rows.iter().filter(|s| !s.current).count();
                    view! {
                        <ul class="mt-3 space-y-2 text-sm">
                            {rows.into_iter().map(|s| view! {
                                <li class="flex items-start justify-between gap-2" data-testid="my-session">
                                    <div>
                                        <div>{s.created_at} {s.current.then_some(" · this session")}</div>
                                        <div class="text-xs text-slate-500">{s.ip} " " {s.user_agent.chars().take(60).collect::<String>()}</div>
                                    </div>
                                    {(!s.current).then(|| view! {
                                        <ActionForm action=revoke>
                                            <input type="hidden" name="session_id" value=s.id.to_string() />
                                            <button type="submit" class=crate::components::BUTTON_QUIET>"Sign out"</button>
                                        </ActionForm>
                                    })}
                                </li>
                            }).collect_view()}
                        </ul>
                        {(others > 0).then(|| view! {
                            <ActionForm action=revoke attr:class="mt-3">
                                <button type="submit" class=crate::components::BUTTON_SECONDARY data-testid="sign-out-others">"Sign out everywhere else"</button>
                            </ActionForm>
                        })}
                    }
                })}
            </Transition>
        </section>
    }
}
