//! Server functions of the audit screens (the exports are axum handlers:
//! see `export`).

use super::{AuditQuery, ChainCheck, EventDetail, EventList};
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

/// One page of the tenant's events, filtered. Needs `audit:read`.
#[server(endpoint = "list_events")]
pub async fn list_events(query: AuditQuery) -> Result<EventList, AppError> {
    crate::ssr::respond(super::ssr::list(query).await)
}

/// One event: its diff, and the other events of its entity and request.
/// Needs `audit:read`.
#[server(endpoint = "get_event")]
pub async fn get_event(event_id: Uuid) -> Result<EventDetail, AppError> {
    crate::ssr::respond(super::ssr::detail(event_id).await)
}

/// The tenant's last chain check, starting the first one. Needs `audit:read`.
#[server(endpoint = "verify_audit_chain")]
pub async fn verify_audit_chain() -> Result<ChainCheck, AppError> {
    crate::ssr::respond(super::ssr::chain_check(false, false).await)
}

/// Starts a new check of the tenant's hash chain (in the background): of
/// the events since the last verified one, or of every event when `every`
/// (a million events take about 12 s). Needs `audit:read`.
#[server(endpoint = "start_chain_check")]
pub async fn start_chain_check(every: Option<bool>) -> Result<ChainCheck, AppError> {
    crate::ssr::respond_form(super::ssr::chain_check(true, every.unwrap_or(false)).await, &[], "The check has started.")
}
