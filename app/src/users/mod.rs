//! Users: the people who sign in, one account per tenant.

#[cfg(feature = "ssr")]
pub mod ssr;
