//! The area's server functions: each authorises through the spine and
//! answers with `AppError`.

use super::*;
use crate::error::AppError;
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
    use crate::ssr::respond_form;
    let result = async {
        let own = crate::authz::ssr::require_self().await?;
        ssr::change_password(&own, &current_password, &new_password, &confirm_password).await
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
    crate::ssr::respond(async { ssr::my_sessions(&crate::authz::ssr::require_self().await?).await }.await)
}

/// Needs a signed-in person: ends one of their other sessions
/// (`session_id`), or all of them but this one. Returns how many ended.
#[server(endpoint = "revoke_my_sessions")]
pub async fn revoke_my_sessions(session_id: Option<Uuid>) -> Result<u64, AppError> {
    crate::ssr::respond_form(async { ssr::revoke_mine(&crate::authz::ssr::require_self().await?, session_id).await }.await, &[], "Signed out.")
}

/// Needs a signed-in person: their own two-factor state.
#[server(endpoint = "mfa_status")]
pub async fn mfa_status() -> Result<TwoFactorState, AppError> {
    crate::ssr::respond(async { ssr::status(&crate::authz::ssr::require_self().await?).await }.await)
}

/// Needs a signed-in person: makes a new secret (not yet in force) and
/// returns it to be scanned.
#[server(endpoint = "start_mfa")]
pub async fn start_mfa(current_password: String) -> Result<MfaSetup, AppError> {
    crate::ssr::respond(async { ssr::start(&crate::authz::ssr::require_self().await?, &current_password).await }.await)
}

/// Needs a signed-in person: the first code from the app turns two-factor
/// sign-in on; returns the recovery codes, shown once.
#[server(endpoint = "confirm_mfa")]
pub async fn confirm_mfa(code: String) -> Result<Vec<String>, AppError> {
    crate::ssr::respond(async { ssr::confirm(&crate::authz::ssr::require_self().await?, &code).await }.await)
}

/// Needs a signed-in person and their password: turns two-factor sign-in
/// off, unless their tenant requires it of them.
#[server(endpoint = "disable_mfa")]
pub async fn disable_mfa(current_password: String, #[server(default)] code: String) -> Result<(), AppError> {
    crate::ssr::respond_form(async { ssr::disable(&crate::authz::ssr::require_self().await?, &current_password, &code).await }.await, &[], "Two-factor sign-in is off.")
}

/// Sets the person's theme (`system`, `light` or `dark`), for every page
/// from the next one. Needs a signed-in person, nothing more.
#[server(endpoint = "set_theme")]
pub async fn set_theme(theme: String) -> Result<crate::status::Theme, AppError> {
    let result = async {
        let own = crate::authz::ssr::require_self().await?;
        ssr::set_theme(&own, &theme).await
    }
    .await;
    if let Ok(chosen) = &result {
        crate::auth::ssr::set_theme_cookie(*chosen);
    }
    crate::ssr::respond_form(result, &[], "Appearance saved.")
}

/// The person's theme. Needs a signed-in person, nothing more.
#[server(endpoint = "get_theme")]
pub async fn get_theme() -> Result<crate::status::Theme, AppError> {
    let result = async { ssr::theme(&crate::authz::ssr::require_self().await?).await }.await;
    crate::ssr::respond(result)
}
