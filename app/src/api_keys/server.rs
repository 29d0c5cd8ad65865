//! The area's server functions: each authorises through the spine and
//! answers with `AppError`.

use crate::ids::{UserId};
use super::*;
use crate::error::AppError;
use uuid::Uuid;

/// Needs a signed-in person: their own keys, newest first.
#[server(endpoint = "list_api_keys")]
pub async fn list_api_keys() -> Result<Vec<ApiKeyRow>, AppError> {
    crate::ssr::respond(ssr::list().await)
}

/// Needs a signed-in person, who types their password again (and a code of
/// their second factor when it is on): makes a key acting as them with
/// `scopes` (permission keys they hold), expiring after `expires_in_days`
/// (1 up to their organisation's limit, 90 unless set; empty for the limit).
#[server(endpoint = "create_api_key")]
pub async fn create_api_key(
    name: String,
    scopes: Option<Vec<String>>,
    expires_in_days: Option<String>,
    #[server(default)] current_password: String,
    #[server(default)] code: String,
) -> Result<NewApiKey, AppError> {
    crate::ssr::respond(ssr::create(&name, scopes.unwrap_or_default(), expires_in_days.as_deref().unwrap_or(""), &current_password, &code).await)
}

/// Another person's keys, for administrators. Needs `user:read`, and the
/// person's grants within the caller's.
#[server(endpoint = "list_user_api_keys")]
pub async fn list_user_api_keys(user_id: UserId) -> Result<Vec<ApiKeyRow>, AppError> {
    crate::ssr::respond(ssr::list_of(user_id).await)
}

/// Revokes another person's key. Needs `user:revoke_sessions`, and the
/// person's grants within the caller's.
#[server(endpoint = "revoke_user_api_key")]
pub async fn revoke_user_api_key(user_id: UserId, key_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond_form(ssr::revoke_of(user_id, key_id).await, &[], "Key revoked.")
}


/// Needs a signed-in person: revokes one of their own keys.
#[server(endpoint = "revoke_api_key")]
pub async fn revoke_api_key(key_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond_form(ssr::revoke(key_id).await, &[], "Key revoked.")
}
