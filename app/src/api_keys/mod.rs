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

/// Every key starts with this.
pub const KEY_PREFIX: &str = "stw_";

/// The random part: 32 characters of base32 (160 bits).
pub const SECRET_LENGTH: usize = 32;

/// Splits a key into its tenant and the whole key, when it has the shape
/// `stw_<tenant id, 32 hex digits>_<32 characters a-z, 2-7>`.
pub fn parse_key(text: &str) -> Option<Uuid> {
    let rest = text.strip_prefix(KEY_PREFIX)?;
    let (tenant, secret) = rest.split_once('_')?;
    if tenant.len() != 32 || !tenant.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    if secret.len() != SECRET_LENGTH || !secret.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)) {
        return None;
    }
    Uuid::parse_str(tenant).ok()
}

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
