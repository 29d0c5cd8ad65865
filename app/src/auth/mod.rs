//! Signing in and out, and who the signed-in person is.
//!
//! Rules: one generic message for every failed sign-in (an unknown tenant or
//! account is verified against a dummy hash so timing tells nothing either);
//! argon2id at OWASP's parameters on the blocking pool; the session id is
//! cycled at sign-in; sessions live in PostgreSQL.

pub mod api_key;
pub mod pages;
mod server;

#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod credentials;
#[cfg(feature = "ssr")]
pub mod principal;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod throttle;
#[cfg(feature = "ssr")]
pub mod mfa;
#[cfg(feature = "ssr")]
pub mod reset;

pub use server::*;

/// The page where a signed-in person changes their password.
pub const CHANGE_PASSWORD_PATH: &str = "/account/password";
/// The sign-in's second step: the code from the authenticator app.
pub const MFA_PATH: &str = "/login/code";
/// "Forgot your password?": where a link is asked for.
pub const FORGOT_PATH: &str = "/login/forgot";
/// Where a link from a mail is used to choose a password.
pub const RESET_PATH: &str = "/login/reset";
/// Where an invitation from a mail is accepted (by choosing a password).
pub const JOIN_PATH: &str = "/login/join";
/// What a link that does not work says…
pub const LINK_BROKEN: &str =
    "This link does not work: it was used already, it expired, or a newer one was sent. Ask for a new one with \"Forgot your password?\" on the sign-in page.";
/// …and what the page of an invitation says instead (an invited person
/// has no password to forget yet).
pub const INVITATION_BROKEN: &str =
    "This invitation does not work: it was used already, it expired, or a newer one was sent. Ask the person who invited you to send it again.";
/// How long an invitation's link works, in days.
pub const INVITATION_DAYS: i32 = 7;
/// The one answer to "Forgot your password?", whether or not the account
/// exists, is active, or has had too many links: it tells a stranger
/// nothing about who has an account.
pub const ASKED_ANSWER: &str =
    "If that address has an account in that organisation, a link to choose a new password is on its way to it. It works once, for an hour.";
/// The page where a signed-in person sets up two-factor sign-in.
pub const MFA_SETUP_PATH: &str = "/account/two-factor";

use serde::{Deserialize, Serialize};
use crate::ids::{TenantId, UserId};

/// What the page of a live password link or invitation shows: whom it is
/// for, and in which organisation (only its holder reaches it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkFacts {
    /// An invitation to a pending account, rather than a reset.
    pub invitation: bool,
    pub organisation: String,
    /// The organisation's short name, to fill in at the sign-in after.
    pub slug: String,
    pub email: String,
    /// How the organisation shows itself on the link's page.
    #[serde(default)]
    pub brand: Option<Brand>,
}
use crate::status::TenantKind;

/// The signed-in person as every page sees them: who, in which tenant, and
/// what their roles grant (views, permissions and the menu those views make).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub tenant: TenantSummary,
    /// Keys of the views granted, sorted.
    pub views: Vec<String>,
    /// `resource:action` keys granted, sorted.
    pub permissions: Vec<String>,
    pub menu: Vec<MenuSection>,
    /// Set while platform staff act inside another tenant: their own
    /// (platform) tenant. `tenant` is then the tenant acted in, and the
    /// grants are still those of their platform roles.
    #[serde(default)]
    pub acting_from: Option<TenantSummary>,
    /// While acting: when it ends (Unix seconds) and the reason stated.
    #[serde(default)]
    pub acting_until: Option<i64>,
    #[serde(default)]
    pub acting_reason: Option<String>,
    /// The tenant's brand (none while acting inside another tenant).
    #[serde(default)]
    pub brand: Option<Brand>,
}

impl Me {
    /// The platform tenant's id when this principal is platform staff,
    /// acting in another tenant or not.
    pub fn platform_home(&self) -> Option<TenantId> {
        match &self.acting_from {
            Some(home) => Some(home.id),
            None if self.tenant.kind == TenantKind::Platform => Some(self.tenant.id),
            None => None,
        }
    }

    pub fn can_view(&self, view: &str) -> bool {
        self.views.binary_search_by(|v| v.as_str().cmp(view)).is_ok()
    }

    /// Whether the person holds `perm` (what pages and actions check).
    pub fn may(&self, perm: crate::authz::Perm) -> bool {
        self.can(perm.key())
    }

    /// Whether the person's roles grant `view`.
    pub fn may_view(&self, view: crate::authz::View) -> bool {
        self.can_view(view.key())
    }

    /// [`Me::may`] by key, for keys that are data (an API key's scopes, a
    /// role's grants being compared).
    pub fn can(&self, permission: &str) -> bool {
        self.permissions
            .binary_search_by(|p| p.as_str().cmp(permission))
            .is_ok()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSummary {
    pub id: TenantId,
    pub slug: String,
    pub name: String,
    pub kind: TenantKind,
}

/// A heading in the sidebar with the entries under it the user may open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuSection {
    pub key: String,
    pub label: String,
    pub entries: Vec<MenuEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuEntry {
    pub key: String,
    pub label: String,
    pub path: String,
    pub view: String,
    #[serde(default)]
    pub icon: String,
}

/// What the sign-in form typed last time, so a failed sign-in without
/// JavaScript keeps it (the password is never kept).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInPrefill {
    pub tenant: String,
    pub email: String,
    /// The organisation this browser last signed in to (or joined), as it
    /// shows itself; never one merely typed.
    #[serde(default)]
    pub brand: Option<Brand>,
}

/// The cookie that remembers, by id, the organisation a browser signed in
/// to, so that its sign-in page shows the organisation's name, colour and
/// logo. An id cannot be guessed from a short name: typing one shows
/// nothing, and the page tells strangers nothing about who exists.
pub const ORG_COOKIE: &str = "steward_org";

/// How an organisation shows itself: its name, brand colour and logo, on
/// the sign-in page (when the browser knows the organisation), in the top
/// bar and in its mail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Brand {
    pub tenant_id: TenantId,
    pub name: String,
    pub slug: String,
    /// `#rrggbb`, when one was chosen.
    pub colour: Option<String>,
    /// The organisation's version: it changes with every change of it, and
    /// the stylesheet's and logo's addresses carry it, so browsers keep
    /// them until the next change.
    pub version: i32,
    pub logo: bool,
}

impl Brand {
    /// The stylesheet that sets the brand colour (`--brand`), when there is one.
    pub fn stylesheet(&self) -> Option<String> {
        self.colour.as_ref().map(|_| format!("/brand/{}/style.css?v={}", self.tenant_id.0, self.version))
    }

    /// The logo's address, when there is one.
    pub fn logo_url(&self) -> Option<String> {
        self.logo.then(|| format!("/brand/{}/logo?v={}", self.tenant_id.0, self.version))
    }
}

/// Where to go after signing in: only a path on this site, never another
/// host. A path is printable ASCII with no white space and no backslash:
/// browsers drop tabs and newlines from URLs and read `\\` as `/`, so
/// `/\t/evil.example` or `/\\evil.example` would lead away; anything else
/// goes to the overview.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/login")
                && n.len() <= 2000
                && n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'\\') =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::Perm;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/users?q=a")), "/users?q=a");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/login")), "/");
        assert_eq!(safe_next(None), "/");
        // Browsers strip tabs and newlines, and read a backslash as a slash.
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/\n/evil.example")), "/");
        assert_eq!(safe_next(Some("/ /evil.example")), "/");
        assert_eq!(safe_next(Some("/x\\..\\/evil.example")), "/");
        assert_eq!(safe_next(Some("/\u{1}")), "/");
        assert_eq!(safe_next(Some("/users/\u{e9}")), "/");
        assert_eq!(safe_next(Some("/users/%C3%A9?q=a%20b")), "/users/%C3%A9?q=a%20b");
    }

    #[test]
    fn grants_are_looked_up_in_sorted_lists() {
        let me = Me {
            user_id: UserId(uuid::Uuid::nil()),
            email: "a@b.c".into(),
            display_name: "A".into(),
            tenant: TenantSummary { id: TenantId(uuid::Uuid::nil()), slug: "t".into(), name: "T".into(), kind: TenantKind::Customer },
            views: vec!["audit".into(), "overview".into(), "users".into()],
            permissions: vec!["user:read".into()],
            menu: vec![],
            acting_from: None,
            acting_until: None,
            acting_reason: None,
            brand: None,
        };
        assert!(me.can_view("users"));
        assert!(!me.can_view("tenants"));
        assert!(me.may(Perm::UserRead));
        assert!(!me.may(Perm::UserDelete));
    }
}
