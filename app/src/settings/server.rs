//! The area's server functions: each authorises through the spine and
//! answers with `AppError`. Their endpoints are those they had in the
//! roles, API keys and personal data areas.

use crate::error::AppError;
use leptos::prelude::*;

/// Whom the tenant requires to sign in with a second factor: `off`,
/// `admins` or `everyone`. Needs `role:read`.
#[server(endpoint = "get_mfa_requirement")]
pub async fn get_mfa_requirement() -> Result<crate::status::MfaRequirement, AppError> {
    crate::ssr::respond(super::ssr::mfa_requirement().await)
}

/// Sets whom the tenant requires to sign in with a second factor (applies
/// from each person's next sign-in). Needs `role:manage`.
#[server(endpoint = "set_mfa_requirement")]
pub async fn set_mfa_requirement(level: String) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::set_mfa_requirement(&level).await, &[], "Two-factor requirement saved.")
}

/// The organisation's longest API key lifetime, in days. Needs `role:read`.
#[server(endpoint = "get_api_key_max_days")]
pub async fn get_api_key_max_days() -> Result<i32, AppError> {
    crate::ssr::respond(super::ssr::api_key_max_days().await)
}

/// Sets the organisation's longest API key lifetime (1 to 365 days; keys
/// made before keep their expiry). Needs `role:manage`.
#[server(endpoint = "set_api_key_max_days")]
pub async fn set_api_key_max_days(days: String) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::set_api_key_max_days(&days).await, &[("days", &days)], "Saved.")
}

/// Sets how many days after deletion people are anonymised (empty: never).
/// Needs `user:delete`.
#[server(endpoint = "set_retention")]
pub async fn set_retention(days: String) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::set_retention(&days).await, &[], "Retention saved.")
}
