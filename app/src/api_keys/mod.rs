//! API keys for integration developers: made by a signed-in person for the
//! JSON API (`/api/v1`), shown once, stored as a SHA-256 hash, limited to
//! scopes the maker holds (and, at each request, to what they still hold),
//! with an expiry, revocation and a last-used time.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod ssr;
mod server;
pub use server::*;
pub mod pages;

pub use crate::auth::api_key::{parse_key, KEY_PREFIX, SECRET_LENGTH};

/// One of the caller's keys, as their list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub name: String,
    /// `stw_` and the first characters of the secret, to tell keys apart.
    pub shown: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: String,
    /// active, expired or revoked
    pub state: String,
}

/// A key just made: the only time its full text is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub id: Uuid,
    pub key: String,
}
