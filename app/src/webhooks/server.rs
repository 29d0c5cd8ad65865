//! The area's server functions: each authorises through the spine (they
//! need `settings:manage` and `audit:read`) and answers with `AppError`.

use super::*;
use crate::error::AppError;
use leptos::prelude::*;

/// The organisation's webhook endpoints, newest first.
#[server(endpoint = "list_webhooks")]
pub async fn list_webhooks() -> Result<Vec<EndpointRow>, AppError> {
    crate::ssr::respond(ssr::list().await)
}

/// Makes an endpoint that is sent the events whose actions match
/// `actions` (`user.*`, `role.grant`, `*`, separated by commas or spaces).
/// Its signing secret is in the answer, and never again.
#[server(endpoint = "create_webhook")]
pub async fn create_webhook(url: String, actions: String, #[server(default)] description: String) -> Result<NewEndpoint, AppError> {
    let result = ssr::create(&url, &actions, &description).await;
    crate::ssr::respond_form(result, &[("url", &url), ("actions", &actions), ("description", &description)], "Endpoint made.")
}

/// Pauses an endpoint: no events are queued for it until it is resumed.
#[server(endpoint = "pause_webhook")]
pub async fn pause_webhook(id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond_form(ssr::set_paused(id, true).await, &[], "Endpoint paused.")
}

/// Resumes an endpoint: its waiting deliveries are sent at once.
#[server(endpoint = "resume_webhook")]
pub async fn resume_webhook(id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond_form(ssr::set_paused(id, false).await, &[], "Endpoint resumed.")
}

/// Deletes an endpoint and its deliveries.
#[server(endpoint = "delete_webhook")]
pub async fn delete_webhook(id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond_form(ssr::delete(id).await, &[], "Endpoint deleted.")
}

/// Sends a delivery again, from its first attempt.
#[server(endpoint = "redeliver_webhook")]
pub async fn redeliver_webhook(id: Uuid, delivery_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond_form(ssr::redeliver(id, delivery_id).await, &[], "Queued again.")
}

/// An endpoint and a page of its deliveries (`after`: the cursor of the
/// page before), newest first.
#[server(endpoint = "get_webhook")]
pub async fn get_webhook(id: Uuid, #[server(default)] after: String) -> Result<EndpointPage, AppError> {
    crate::ssr::respond(ssr::page(id, &after).await)
}
