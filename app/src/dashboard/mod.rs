//! The overview's figures: people by status, documents, today's events and
//! thirty days of activity, each shown to those who may read it. The
//! activity chart is plain SVG, drawn on the server.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod ssr;
mod server;
pub use server::*;
pub mod pages;

/// Days in the activity chart.
pub const DAYS: usize = 30;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// (status, count), when the user may read users.
    pub users: Option<Vec<(String, i64)>>,
    /// Live documents, when the user may read documents.
    pub documents: Option<i64>,
    /// Events since midnight UTC, and events per day for the last
    /// [`DAYS`] days (oldest first), when the user may read the audit log.
    pub events_today: Option<i64>,
    pub activity: Option<Vec<(String, i64)>>,
}
