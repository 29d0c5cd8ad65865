use super::*;
use leptos::prelude::*;

/// One page of the mail Steward queued. Needs `system:admin` in the
/// platform tenant.
#[server(endpoint = "list_sent_mail")]
pub async fn list_sent_mail(query: MailQuery) -> Result<MailList, AppError> {
    crate::ssr::respond(super::ssr::list(query).await)
}
