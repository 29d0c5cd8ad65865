//! Server functions of the users area.

use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

/// Suspends a user: they can no longer sign in and are signed out on their
/// next request. Needs `user:suspend`.
#[server(endpoint = "suspend_user")]
pub async fn suspend_user(user_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond(super::ssr::set_status(user_id, "suspended").await)
}

/// Lets a suspended user sign in again. Needs `user:suspend`.
#[server(endpoint = "reactivate_user")]
pub async fn reactivate_user(user_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond(super::ssr::set_status(user_id, "active").await)
}

/// Deletes a user (soft: restorable; their email can be used again).
/// Needs `user:delete`.
#[server(endpoint = "delete_user")]
pub async fn delete_user(user_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond(super::ssr::delete(user_id).await)
}
