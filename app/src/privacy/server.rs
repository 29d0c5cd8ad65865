//! The area's server functions: each authorises through the spine and
//! answers with `AppError`.

use crate::ids::{UserId};
use super::*;
use crate::error::AppError;
use uuid::Uuid;

/// Anonymises a person: name, email, password, second factor, roles,
/// teams, sessions and API keys go; the row stays for the audit log's
/// references. `confirm` must repeat their email. Needs `user:delete`.
#[server(endpoint = "anonymise_user")]
pub async fn anonymise_user(user_id: UserId, confirm: String) -> Result<(), AppError> {
    crate::ssr::respond_form(ssr::anonymise(user_id, &confirm).await, &[], "Anonymised.")
}

/// Needs a signed-in person: asks their administrators to delete their account.
#[server(endpoint = "request_deletion")]
pub async fn request_deletion(reason: String) -> Result<(), AppError> {
    crate::ssr::respond_form(ssr::request(&reason).await, &[], "Your request was sent to your administrators.")
}

/// The tenant's deletion requests, pending first. Needs `user:delete`.
#[server(endpoint = "list_deletion_requests")]
pub async fn list_deletion_requests() -> Result<DeletionRequests, AppError> {
    crate::ssr::respond(ssr::list().await)
}

/// Completes (anonymises the person) or rejects (with a note) a request.
/// Needs `user:delete`.
#[server(endpoint = "resolve_deletion_request")]
pub async fn resolve_deletion_request(request_id: Uuid, decision: String, note: Option<String>) -> Result<(), AppError> {
    crate::ssr::respond_form(ssr::resolve(request_id, &decision, note.as_deref().unwrap_or("")).await, &[], "Request resolved.")
}

