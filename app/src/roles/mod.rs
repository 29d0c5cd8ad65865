//! Roles: named sets of permissions and views, per tenant. System roles are
//! seeded for every tenant and cannot be deleted; custom roles can.
//!
//! Rules: a delegated administrator cannot grant a role carrying a
//! permission they do not hold; nobody removes their own administration
//! grant; the tenant keeps an active owner.

mod server;
pub use server::*;

#[cfg(feature = "ssr")]
pub mod ssr;
