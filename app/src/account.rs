//! The signed-in person's own account: changing their password (also where
//! someone given a temporary password is sent before anything else).

use crate::components::{Field, PageHeader, ALERT, BUTTON, CARD};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

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

#[cfg(feature = "ssr")]
pub mod ssr {
    use crate::audit::ssr::{record, Event, RequestMeta};
    use crate::auth::password;
    use crate::auth::ssr::SESSION_MUST_CHANGE_KEY;
    use crate::auth::Me;
    use crate::error::{AppError, FieldError};
    use sqlx::PgPool;
    use tower_sessions::Session;

    fn field(name: &str, message: &str) -> FieldError {
        FieldError { field: name.into(), message: message.into() }
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
        } else if current.len() > password::MAX_LENGTH * 4 {
            errors.push(field("current_password", "That is not your current password."));
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
        let mut tx = pool.begin().await?;
        crate::tenants::ssr::scope_to_tenant(&mut tx, home).await?;
        let stored: Option<String> = sqlx::query_scalar(
            "SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE",
        )
        .bind(home)
        .bind(me.user_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AppError::NotFound)?;
        if !password::verify(current.to_string(), stored).await {
            let event = Event::by_user(home, me.user_id, "user.password_change_refused", Some(serde_json::json!({ "reason": "wrong current password" })));
            record(&mut tx, meta, event).await?;
            tx.commit().await?;
            return Err(AppError::Validation(vec![field("current_password", "That is not your current password.")]));
        }
        let hash = password::hash(new.to_string()).await;
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
        let event = Event::by_user(home, me.user_id, "user.password_change", Some(serde_json::json!({ "other_sessions_ended": ended.len() })));
        record(&mut tx, meta, event).await?;
        tx.commit().await?;
        session.remove::<bool>(SESSION_MUST_CHANGE_KEY).await.map_err(|error| {
            tracing::error!(%error, "session store error");
            AppError::Internal
        })?;
        Ok(ended.len() as u64)
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
    }
}
