//! The signed-in person's own account: changing their password (also where
//! someone given a temporary password is sent before anything else), and
//! setting up two-factor sign-in (where someone whose tenant requires it is
//! sent).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod ssr;
mod server;
pub use server::*;
pub mod pages;

/// Where the person's two-factor sign-in stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorState {
    pub enabled: bool,
    /// Set up but not yet confirmed with a first code.
    pub pending: bool,
    pub recovery_codes_left: i64,
    /// The tenant requires it of this person.
    pub required: bool,
}

/// A secret being set up: the QR code to scan, and the same as text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaSetup {
    pub qr_svg: String,
    pub secret: String,
}
