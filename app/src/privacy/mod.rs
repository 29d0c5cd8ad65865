//! Personal data (GDPR): everything about a person as one JSON download,
//! anonymising a person (irreversible), requests to delete an account that
//! an administrator works through, and the tenant's retention period after
//! which deleted people are anonymised by an hourly job.
//!
//! The audit log is not rewritten: it is the record of who did what, kept
//! under the legal-obligation exemption, tamper-evident by its hash chain,
//! and bounded by `steward audit-retention`. Anonymisation removes the
//! person's name and email from every other table.

use crate::ids::{UserId};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod ssr;
mod server;
pub use server::*;
pub mod pages;

/// One request to delete an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionRequest {
    pub id: Uuid,
    pub user_id: UserId,
    pub user: String,
    pub requested_at: String,
    pub reason: String,
    pub status: String,
    pub note: String,
}

/// The requests page: the requests and the retention setting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionRequests {
    pub requests: Vec<DeletionRequest>,
    /// Days after deletion before the retention job anonymises (None: never).
    pub anonymise_after_days: Option<i32>,
}
