//! Users: the people who sign in, one account per tenant.
//!
//! Rules (anti-lockout): nobody suspends or deletes themselves; nobody
//! suspends, deletes or strips the last holder of the tenant's top role
//! (owner, or platform administrator on the platform tenant).

pub mod import_pages;
pub mod pages;
mod server;
pub use server::*;

#[cfg(feature = "ssr")]
pub mod bulk;
#[cfg(feature = "ssr")]
pub mod csv;
#[cfg(feature = "ssr")]
pub mod import;
#[cfg(feature = "ssr")]
pub mod ssr;

use crate::ids::{TenantId, UserId};
use crate::audit::HistoryRow;
use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use crate::status::UserStatus;
use uuid::Uuid;

/// A user found by platform staff's search across tenants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserHit {
    pub tenant_id: TenantId,
    pub tenant_slug: String,
    pub tenant_name: String,
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub status: UserStatus,
    /// RFC 3339, or empty when they never signed in.
    pub last_login_at: String,
}

/// The most hits one cross-tenant search returns.
pub const SEARCH_LIMIT: usize = 50;

/// Rows on one page of a list.
pub const PAGE_SIZE: usize = 50;
/// Lists count matching rows up to this many, then say "more than".
pub const COUNT_CAP: i64 = 1000;

/// How many rows match: exact where a kept count answers (the users list
/// filtered by status alone) or up to [`COUNT_CAP`], never a full count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Count {
    Exact(i64),
    MoreThan(i64),
}

impl Count {
    /// A count read with `LIMIT COUNT_CAP + 1`, told as exact or capped.
    pub fn capped(n: i64) -> Count {
        if n > COUNT_CAP {
            Count::MoreThan(COUNT_CAP)
        } else {
            Count::Exact(n)
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Count::Exact(n) => write!(f, "{}", grouped(*n)),
            Count::MoreThan(n) => write!(f, "more than {}", grouped(*n)),
        }
    }
}

/// A count with thousands separated: 100,000.
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The users list's filters, ordering and position; every field is what
/// the page's query string says (empty means "any").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserQuery {
    #[serde(default)]
    pub q: String,
    /// `active`, `suspended`, `pending`, `inactive`, `deleted`, or empty.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub team: String,
    /// `name`, `-name`, `email`, `-email`, `created`, `-created`.
    #[serde(default)]
    pub sort: String,
    /// The cursor after which the page starts (from the previous page).
    #[serde(default)]
    pub after: String,
}

/// The list filter's choices: each stored [`crate::status::UserStatus`], and deleted.
pub const STATUSES: &[&str] = &["active", "suspended", "pending", "inactive", "deleted"];
pub const SORTS: &[(&str, &str)] = &[
    ("name", "Name A–Z"),
    ("-name", "Name Z–A"),
    ("email", "Email A–Z"),
    ("-email", "Email Z–A"),
    ("-created", "Newest first"),
    ("created", "Oldest first"),
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub status: UserStatus,
    pub roles: String,
    pub last_login_at: String,
    pub created_at: String,
    pub deleted: bool,
}

impl UserRow {
    /// The status to show: deleted, or the stored one.
    pub fn shown_status(&self) -> &'static str {
        crate::status::shown(self.deleted, self.status)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserList {
    pub rows: Vec<UserRow>,
    pub count: Count,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
    /// Roles and teams to filter by: (id, name).
    pub roles: Vec<(Uuid, String)>,
    pub teams: Vec<(Uuid, String)>,
}

/// One of a user's roles, and how they hold it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldRole {
    pub role_id: Uuid,
    pub name: String,
    /// The team it comes through; `None` when held directly.
    pub via_team: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    pub id: Uuid,
    pub created_at: String,
    pub ip: String,
    pub user_agent: String,
    /// The session this very request came with.
    pub current: bool,
}


#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDetail {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub status: UserStatus,
    pub version: i32,
    pub created_at: String,
    pub last_login_at: String,
    pub deleted: bool,
    pub roles: Vec<HeldRole>,
    pub teams: Vec<(Uuid, String)>,
    /// Every live role and team of the tenant, for the assign and add menus.
    pub all_roles: Vec<(Uuid, String)>,
    pub all_teams: Vec<(Uuid, String)>,
    pub sessions: Vec<SessionRow>,
    pub history: Vec<HistoryRow>,
    /// Failed sign-ins in a row under this account's name (0 when none).
    pub failed_sign_ins: i32,
    /// Set while sign-ins are refused after too many failures.
    pub locked_until: Option<String>,
    /// The block holds only for networks the person has not signed in from
    /// (their usual ones still let them in).
    pub locked_for_strangers_only: bool,
    /// Signs in with a second factor.
    pub mfa_enabled: bool,
    /// The latest invitation of a pending person.
    pub invitation: Option<Invitation>,
}

/// The most people one bulk action acts on (one transaction).
pub const BULK_MAX: usize = 1000;

/// What a bulk action on the users list does to each person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    Suspend,
    Reactivate,
    Delete,
    GrantRole,
    RemoveRole,
    AddToTeam,
    ResendInvitation,
}

impl BulkAction {
    pub const ALL: &'static [BulkAction] = &[
        BulkAction::Suspend,
        BulkAction::Reactivate,
        BulkAction::GrantRole,
        BulkAction::RemoveRole,
        BulkAction::AddToTeam,
        BulkAction::ResendInvitation,
        BulkAction::Delete,
    ];

    /// Its word in forms and events.
    pub fn key(self) -> &'static str {
        match self {
            BulkAction::Suspend => "suspend",
            BulkAction::Reactivate => "reactivate",
            BulkAction::Delete => "delete",
            BulkAction::GrantRole => "grant_role",
            BulkAction::RemoveRole => "remove_role",
            BulkAction::AddToTeam => "add_to_team",
            BulkAction::ResendInvitation => "resend_invitation",
        }
    }

    pub fn parse(key: &str) -> Option<BulkAction> {
        BulkAction::ALL.iter().copied().find(|a| a.key() == key)
    }

    /// As offered in the menu.
    pub fn label(self) -> &'static str {
        match self {
            BulkAction::Suspend => "Suspend",
            BulkAction::Reactivate => "Reactivate",
            BulkAction::Delete => "Delete",
            BulkAction::GrantRole => "Grant the role",
            BulkAction::RemoveRole => "Remove the role",
            BulkAction::AddToTeam => "Add to the team",
            BulkAction::ResendInvitation => "Send invitations again",
        }
    }

    /// What was done, for the report ("3 suspended").
    pub fn done(self) -> &'static str {
        match self {
            BulkAction::Suspend => "suspended",
            BulkAction::Reactivate => "reactivated",
            BulkAction::Delete => "deleted",
            BulkAction::GrantRole => "given the role",
            BulkAction::RemoveRole => "without the role now",
            BulkAction::AddToTeam => "added to the team",
            BulkAction::ResendInvitation => "sent their invitation again",
        }
    }

    /// The permission it needs (each person is then checked as on their page).
    pub fn perm(self) -> crate::authz::Perm {
        use crate::authz::Perm;
        match self {
            BulkAction::Suspend | BulkAction::Reactivate => Perm::UserSuspend,
            BulkAction::Delete => Perm::UserDelete,
            BulkAction::GrantRole | BulkAction::RemoveRole => Perm::RoleAssign,
            BulkAction::AddToTeam => Perm::TeamManage,
            BulkAction::ResendInvitation => Perm::UserCreate,
        }
    }
}

/// One person a bulk action was refused for, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkRefusal {
    pub user_id: UserId,
    pub name: String,
    pub reason: String,
}

/// What a bulk action did: the people done, and those refused with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkReport {
    pub action: BulkAction,
    pub done: Vec<UserId>,
    /// Nothing to do for them (suspended already, holding the role already).
    pub unchanged: Vec<UserId>,
    pub refused: Vec<BulkRefusal>,
}

impl BulkReport {
    /// One sentence: how many were done, and each refusal with its reason.
    pub fn summary(&self) -> String {
        let mut out = format!("{} {}.", self.done.len(), self.action.done());
        if !self.unchanged.is_empty() {
            out.push_str(&format!(" {} had nothing to change.", self.unchanged.len()));
        }
        if !self.refused.is_empty() {
            let each: Vec<String> = self.refused.iter().map(|r| format!("{}: {}", r.name, r.reason)).collect();
            out.push_str(&format!(" {} refused. {}", self.refused.len(), each.join(" ")));
        }
        out
    }
}

/// A pending person's latest invitation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub sent: String,
    /// Who sent it (empty when they are gone).
    pub sent_by: String,
    pub expires: String,
    /// Used, expired, or ended by a newer one or a revocation.
    pub ended: bool,
}

impl UserDetail {
    /// The status to show: deleted, or the stored one.
    pub fn shown_status(&self) -> &'static str {
        crate::status::shown(self.deleted, self.status)
    }
}

/// A new account, with the temporary password when one was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    pub id: UserId,
    pub temporary_password: Option<String>,
}

/// The outcome of an import, row by row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportStatus {
    pub id: Uuid,
    /// running, done, failed (stopped by an error of Steward's, not of a
    /// row) or interrupted (cut off by a restart).
    pub state: String,
    pub total: i32,
    pub processed: i32,
    pub created: i32,
    /// Rows refused so far; `failed` lists the first [`FAILURES_KEPT`].
    pub failed_count: i32,
    pub failed: Vec<ImportFailure>,
    pub file_name: String,
    pub started: String,
    pub started_by: String,
}

/// How many refused rows an import keeps for its report.
pub const FAILURES_KEPT: usize = 1000;
/// The largest CSV file an import takes.
pub const IMPORT_MAX_BYTES: usize = 16 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportFailure {
    /// The line of the file (the header is line 1).
    pub line: i64,
    pub email: String,
    pub reason: String,
}

/// Checks an email address's shape: one `@`, something on each side, a dot
/// in the domain, no spaces or control characters, 254 characters at most.
pub fn email_problem(email: &str) -> Option<&'static str> {
    if email.is_empty() {
        return Some("Enter an email address.");
    }
    if email.chars().count() > 254 {
        return Some("An email address has 254 characters at most.");
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Some("That does not look like an email address (name@example.com).");
    };
    let bad = |s: &str| s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@' && s == domain);
    if bad(local)
        || bad(domain)
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
        || local.contains(char::is_whitespace)
    {
        return Some("That does not look like an email address (name@example.com).");
    }
    None
}

/// Validates a profile: email and display name, each with its message.
pub fn validate_profile(email: &str, display_name: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(message) = email_problem(email) {
        errors.push(FieldError { field: "email".into(), message: message.into() });
    }
    let name = display_name.chars().count();
    if name == 0 {
        errors.push(FieldError { field: "display_name".into(), message: "Enter the person's name.".into() });
    } else if name > 200 {
        errors.push(FieldError { field: "display_name".into(), message: "A name has 200 characters at most.".into() });
    } else if display_name.chars().any(char::is_control) {
        errors.push(FieldError { field: "display_name".into(), message: "A name cannot contain control characters.".into() });
    } else if display_name.chars().any(is_invisible_format) {
        errors.push(FieldError {
            field: "display_name".into(),
            message: "A name cannot contain invisible direction or joining marks (they make one name look like another).".into(),
        });
    }
    errors
}

/// Invisible formatting characters that reorder or hide text: bidi
/// embeddings, overrides and isolates, zero-width spaces and joiners, the
/// word joiner and the byte-order mark. In a name they let one person's
/// name read as another's in lists and the audit log.
pub fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{061C}' | '\u{00AD}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(100_000), "100,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn names_with_direction_overrides_or_zero_width_characters_are_refused() {
        for name in ["Olivia\u{202E}renwO", "Oli\u{200B}via", "\u{2066}Admin\u{2069}", "Ma\u{00AD}ya"] {
            let errors = validate_profile("x@acme.test", name);
            assert_eq!(errors.len(), 1, "{name:?}");
            assert!(errors[0].message.contains("invisible"), "{name:?}");
        }
        assert!(validate_profile("x@acme.test", "Zoë Ångström-Łukasz").is_empty());
    }

    #[test]
    fn email_shapes() {
        assert_eq!(email_problem("ann@example.com"), None);
        assert_eq!(email_problem("a.b+c@sub.example.co.uk"), None);
        for bad in ["", "ann", "ann@", "@example.com", "ann@example", "ann @example.com", "ann@exa mple.com", "ann@.com", "ann@example..com"] {
            assert!(email_problem(bad).is_some(), "{bad:?} passed");
        }
        assert!(email_problem(&format!("{}@example.com", "a".repeat(250))).is_some());
    }

    #[test]
    fn profile_messages_name_their_field() {
        let errors = validate_profile("nope", "");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "display_name"]);
        assert!(validate_profile("a@b.co", &"x".repeat(201))[0].message.contains("200"));
        assert!(validate_profile("a@b.co", "Ann").is_empty());
    }

    #[test]
    fn counts_read_as_people_say_them() {
        assert_eq!(Count::Exact(12).to_string(), "12");
        assert_eq!(Count::Exact(10_000).to_string(), "10,000");
        assert_eq!(Count::MoreThan(1000).to_string(), "more than 1,000");
    }
}
