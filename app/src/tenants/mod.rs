//! Tenants: the organisations on the platform, and the platform itself.

pub mod pages;
mod server;
pub use server::*;
#[cfg(feature = "ssr")]
pub mod ssr;

use serde::{Deserialize, Serialize};
use crate::ids::TenantId;
use crate::status::{TenantKind, TenantStatus};

/// Plans a tenant may be on.
/// How long platform staff act inside a tenant after switching in, unless
/// configured (`--acting-minutes`).
pub const DEFAULT_ACTING_MINUTES: u32 = 60;

/// The reason staff give for acting inside a tenant: checked on both sides.
pub fn acting_reason_problem(reason: &str) -> Option<&'static str> {
    let n = reason.trim().chars().count();
    if n < 5 {
        Some("Say why you are acting inside this organisation (a ticket number or a sentence; it is kept in both audit logs).")
    } else if n > 300 || reason.chars().any(char::is_control) {
        Some("Keep the reason to one line of at most 300 characters.")
    } else {
        None
    }
}

pub const PLANS: &[(&str, &str)] = &[("free", "Free"), ("standard", "Standard"), ("enterprise", "Enterprise")];
/// Modules a customer tenant may switch on (the core ones are always on).
pub const OPTIONAL_MODULES: &[(&str, &str)] = &[("documents", "Documents"), ("audit", "Audit log")];

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantQuery {
    #[serde(default)]
    pub q: String,
    /// `active`, `suspended`, `deleted`, or empty for every live tenant.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub after: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRow {
    pub id: TenantId,
    pub slug: String,
    pub name: String,
    pub kind: TenantKind,
    pub status: TenantStatus,
    pub plan: String,
    pub created_at: String,
    pub deleted: bool,
    pub modules: Vec<String>,
}

impl TenantRow {
    /// The status to show: deleted, or the stored one.
    pub fn shown_status(&self) -> &'static str {
        crate::status::shown(self.deleted, self.status)
    }

    /// Whether "Act inside" is offered for it: a live, active customer
    /// tenant (a suspended one is refused, and the platform is where
    /// staff return to rather than enter).
    pub fn open_to_staff(&self) -> bool {
        !self.deleted && self.status == crate::status::TenantStatus::Active && self.kind == crate::status::TenantKind::Customer
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantList {
    pub rows: Vec<TenantRow>,
    pub next: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantDetail {
    pub row: TenantRow,
    pub version: i32,
    pub brand_colour: String,
    pub history: Vec<crate::audit::HistoryRow>,
}

/// Checks a brand colour: empty, or `#` and six hex digits.
pub fn colour_problem(colour: &str) -> Option<&'static str> {
    let ok = colour.is_empty()
        || (colour.len() == 7 && colour.starts_with('#') && colour[1..].chars().all(|c| c.is_ascii_hexdigit()));
    (!ok).then_some("Use a colour like #4f46e5, or leave it empty.")
}

/// Checks an organisation's name: 1 to 100 characters, no control characters.
pub fn name_problem(name: &str) -> Option<&'static str> {
    let n = name.chars().count();
    if n == 0 {
        Some("Enter a name.")
    } else if n > 100 {
        Some("A name has 100 characters at most.")
    } else if name.chars().any(|c| c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')) {
        // Text-direction overrides would let a name show as another.
        Some("A name cannot contain control or text-direction characters.")
    } else {
        None
    }
}

/// Checks a tenant's short name: 1 to 63 lowercase letters, digits and
/// hyphens, not starting or ending with a hyphen (it appears in sign-in and
/// may appear in host names).
pub fn parse_slug(input: &str) -> Result<String, &'static str> {
    let slug = input.trim().to_lowercase();
    if slug.is_empty() {
        return Err("Enter a short name.");
    }
    if slug.len() > 63 {
        return Err("A short name has 63 characters at most.");
    }
    if !slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return Err("Use only letters a-z, digits and hyphens.");
    }
    if slug.starts_with('-') || slug.ends_with('-') {
        return Err("A short name cannot start or end with a hyphen.");
    }
    Ok(slug)
}

#[cfg(test)]
mod tests {
    use super::parse_slug;

    #[test]
    fn slugs_are_lowercased_and_checked() {
        assert_eq!(parse_slug(" Acme-2 "), Ok("acme-2".to_string()));
        assert!(parse_slug("").is_err());
        assert!(parse_slug("-acme").is_err());
        assert!(parse_slug("acme-").is_err());
        assert!(parse_slug("ac me").is_err());
        assert!(parse_slug("acmé").is_err());
        assert!(parse_slug(&"a".repeat(64)).is_err());
        assert!(parse_slug(&"a".repeat(63)).is_ok());
    }

    #[test]
    fn colours_and_names() {
        use super::{colour_problem, name_problem};
        assert_eq!(colour_problem(""), None);
        assert_eq!(colour_problem("#4F46e5"), None);
        assert!(colour_problem("4f46e5").is_some());
        assert!(colour_problem("#4f46e").is_some());
        assert!(colour_problem("#zzzzzz").is_some());
        assert_eq!(name_problem("Acme"), None);
        assert!(name_problem("").is_some());
        assert!(name_problem(&"a".repeat(101)).is_some());
        assert!(name_problem("a\u{0}b").is_some());
        assert!(name_problem("Acme\u{202e}cba").is_some());
        assert_eq!(name_problem("Zoë & Søn"), None);
    }
}
