//! Users: the people who sign in, one account per tenant.
//!
//! Rules (anti-lockout): nobody suspends or deletes themselves; nobody
//! suspends, deletes or strips the last holder of the tenant's top role
//! (owner, or platform administrator on the platform tenant).

mod server;
pub use server::*;

#[cfg(feature = "ssr")]
pub mod ssr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A user found by platform staff's search across tenants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserHit {
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub tenant_name: String,
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub status: String,
    /// RFC 3339, or empty when they never signed in.
    pub last_login_at: String,
}

/// The most hits one cross-tenant search returns.
pub const SEARCH_LIMIT: usize = 50;
