//! The "Sent mail" screen (`/mail`): every message Steward queued, newest
//! first, for platform administrators: to whom, what, whether it went and
//! how (SMTP, or the outbox itself when no SMTP server is configured), the
//! attempts and the last error. With no SMTP server this screen *is* the
//! delivery: a first start on one's own machine reads its mail here. The
//! worker that sends the queue lives in `ssr` (`claim`, `settle`, `prune`),
//! driven by the server's mail task.

use crate::error::AppError;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod ssr;
pub mod server;
pub mod pages;

/// The list's filters, as the page's query string carries them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MailQuery {
    /// `queued`, `sent` or `failed`; empty for all.
    pub status: String,
    /// A part of the recipient's address.
    pub to: String,
    /// A tenant's short name.
    pub tenant: String,
    pub after: String,
}

impl MailQuery {
    pub fn filters(&self) -> [(&'static str, &str); 3] {
        [("status", &self.status), ("to", &self.to), ("tenant", &self.tenant)]
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MailRow {
    pub id: String,
    pub queued_at: String,
    pub tenant: String,
    pub kind: String,
    pub to_address: String,
    pub to_name: String,
    pub subject: String,
    pub body_text: String,
    pub status: String,
    /// `smtp` or `outbox`, once sent.
    pub via: String,
    pub sent_at: String,
    pub attempts: i32,
    pub next_attempt_at: String,
    pub last_error: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MailList {
    pub rows: Vec<MailRow>,
    pub next: Option<String>,
}

/// The statuses a message has.
pub const STATUSES: &[&str] = &["queued", "sent", "failed"];

/// The status filter, or a message for the field.
pub fn status_filter(text: &str) -> Result<Option<&'static str>, String> {
    let t = text.trim().to_ascii_lowercase();
    if t.is_empty() {
        return Ok(None);
    }
    STATUSES.iter().copied().find(|s| *s == t).map(Some).ok_or_else(|| "Choose queued, sent or failed.".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_filter_knows_the_three_statuses() {
        assert_eq!(status_filter(""), Ok(None));
        assert_eq!(status_filter(" Sent "), Ok(Some("sent")));
        assert!(status_filter("bounced").is_err());
    }
}
