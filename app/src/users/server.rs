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

/// Finds users in every tenant by email or name (platform staff only).
/// Needs `support:cross_tenant` in the platform tenant; every search is an
/// audit event.
#[server(endpoint = "search_users_across_tenants")]
pub async fn search_users_across_tenants(query: String) -> Result<Vec<super::UserHit>, AppError> {
    crate::ssr::respond(super::ssr::search_across_tenants(&query).await)
}
