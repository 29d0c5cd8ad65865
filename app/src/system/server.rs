use super::*;
use leptos::prelude::*;

/// The scheduled jobs, the database, the pools and the mail queue. Needs
/// `system:admin` in the platform tenant.
#[server(endpoint = "system_status")]
pub async fn system_status() -> Result<SystemReport, AppError> {
    crate::ssr::respond(super::ssr::status().await)
}
