//! The organisation's own settings: whom it requires to sign in with a
//! second factor, how long its API keys may live, and how long deleted
//! people are kept before they are anonymised. Each is a column of the
//! tenant's row, changed with its audit event; the cards are shown where
//! the setting matters (roles and access, personal data).

pub mod pages;
mod server;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use server::*;
