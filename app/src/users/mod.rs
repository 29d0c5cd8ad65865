//! Users: the people who sign in, one account per tenant.
//!
//! Rules (anti-lockout): nobody suspends or deletes themselves; nobody
//! suspends, deletes or strips the last holder of the tenant's top role
//! (owner, or platform administrator on the platform tenant).

mod server;
pub use server::*;

#[cfg(feature = "ssr")]
pub mod ssr;
