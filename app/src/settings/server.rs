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

/// The organisation as its Settings page shows it: name, brand colour,
/// logo, and what its plan allows and what is used. Needs `settings:manage`.
#[server(endpoint = "get_organisation")]
pub async fn get_organisation() -> Result<super::Organisation, AppError> {
    crate::ssr::respond(super::ssr::organisation().await)
}

/// Saves the organisation's name and brand colour (`#rrggbb`, or empty for
/// Steward's own) over the version the form showed. Needs `settings:manage`.
#[server(endpoint = "update_organisation")]
pub async fn update_organisation(version: i32, name: String, brand_colour: String) -> Result<(), AppError> {
    let result = super::ssr::update_organisation(version, &name, &brand_colour).await;
    crate::ssr::respond_form(result, &[("name", &name), ("brand_colour", &brand_colour)], "Organisation saved.")
}

/// Removes the organisation's logo. Needs `settings:manage`.
#[server(endpoint = "remove_logo")]
pub async fn remove_logo() -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::remove_logo().await, &[], "Logo removed.")
}

/// Turns on or off the mail that tells people of a sign-in to their account
/// from an address it has not signed in from in 90 days (`on`: present
/// when ticked). Needs `settings:manage`.
#[server(endpoint = "set_new_place_notice")]
pub async fn set_new_place_notice(#[server(default)] on: Option<String>) -> Result<(), AppError> {
    let on = on.is_some_and(|v| !v.is_empty() && v != "false");
    crate::ssr::respond_form(super::ssr::set_new_place_notice(on).await, &[], "Saved.")
}
