use super::*;
use leptos::prelude::*;

/// One page of the access log. Needs `system:admin` in the platform tenant.
#[server(endpoint = "list_access_log")]
pub async fn list_access_log(query: AccessQuery) -> Result<AccessList, AppError> {
    crate::ssr::respond(super::ssr::list(query).await)
}
