//! Authorisation: the permissions the console knows, and (on the server)
//! the one path every server function takes to the database:
//! `let mut actor = require(Perm::UserSuspend).await?;` yields the signed-in
//! principal and a transaction already scoped to their tenant for row-level
//! security, or refuses (401 anonymous, 403 without the permission, with
//! the denial recorded in the audit log).

#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod delegation;
#[cfg(feature = "ssr")]
pub mod lockout;

mod explain;
pub use explain::*;

use serde::{Deserialize, Serialize};

macro_rules! permissions {
    ($($variant:ident => $key:literal),* $(,)?) => {
        /// Every action the console offers, by its `resource:action` key (the
        /// `permissions` table holds the same list; a test keeps them equal).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Perm { $($variant),* }

        impl Perm {
            pub const ALL: &'static [Perm] = &[$(Perm::$variant),*];

            pub fn key(self) -> &'static str {
                match self { $(Perm::$variant => $key),* }
            }

            pub fn parse(key: &str) -> Option<Perm> {
                match key { $($key => Some(Perm::$variant),)* _ => None }
            }
        }
    };
}

permissions! {
    SystemAdmin => "system:admin",
    TenantRead => "tenant:read",
    TenantCreate => "tenant:create",
    TenantUpdate => "tenant:update",
    TenantSuspend => "tenant:suspend",
    TenantDelete => "tenant:delete",
    SupportCrossTenant => "support:cross_tenant",
    UserRead => "user:read",
    UserCreate => "user:create",
    UserUpdate => "user:update",
    UserSuspend => "user:suspend",
    UserDelete => "user:delete",
    UserResetPassword => "user:reset_password",
    UserRevokeSessions => "user:revoke_sessions",
    UserExport => "user:export",
    RoleRead => "role:read",
    RoleManage => "role:manage",
    RoleAssign => "role:assign",
    TeamRead => "team:read",
    TeamManage => "team:manage",
    DocumentRead => "document:read",
    DocumentWrite => "document:write",
    DocumentDelete => "document:delete",
    AuditRead => "audit:read",
    AuditExport => "audit:export",
    SettingsManage => "settings:manage",
}

/// Every view (screen) the console has, by its key in the `views` table
/// (a test keeps them equal), with the title its pages and 403 page show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum View {
    Overview,
    Users,
    Teams,
    Roles,
    Documents,
    Audit,
    Tenants,
    AccessLog,
    SentMail,
    Settings,
    System,
}

impl View {
    pub const ALL: &'static [View] =
        &[View::Overview, View::Users, View::Teams, View::Roles, View::Documents, View::Audit, View::Tenants, View::AccessLog, View::SentMail, View::Settings, View::System];

    pub fn key(self) -> &'static str {
        match self {
            View::Overview => "overview",
            View::Users => "users",
            View::Teams => "teams",
            View::Roles => "roles",
            View::Documents => "documents",
            View::Audit => "audit",
            View::Tenants => "tenants",
            View::AccessLog => "access_log",
            View::SentMail => "sent_mail",
            View::Settings => "settings",
            View::System => "system",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            View::Overview => "Overview",
            View::Users => "Users",
            View::Teams => "Teams",
            View::Roles => "Roles and permissions",
            View::Documents => "Documents",
            View::Audit => "Audit log",
            View::Tenants => "Tenants",
            View::AccessLog => "Access log",
            View::SentMail => "Sent mail",
            View::Settings => "Settings",
            View::System => "System",
        }
    }

    pub fn parse(key: &str) -> Option<View> {
        View::ALL.iter().copied().find(|v| v.key() == key)
    }
}

/// Checks a `resource:action` key's shape.
pub fn is_permission_key(key: &str) -> bool {
    let Some((resource, action)) = key.split_once(':') else { return false };
    let part = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    };
    part(resource) && part(action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_key_parses_back_and_is_well_formed() {
        for perm in Perm::ALL {
            assert_eq!(Perm::parse(perm.key()), Some(*perm));
            assert!(is_permission_key(perm.key()), "{}", perm.key());
        }
        assert_eq!(Perm::parse("user:fly"), None);
        for view in View::ALL {
            assert_eq!(View::parse(view.key()), Some(*view));
            assert!(!view.title().is_empty());
        }
        assert!(!is_permission_key("user"));
        assert!(!is_permission_key("User:read"));
        assert!(!is_permission_key("user:read:x"));
        assert!(!is_permission_key(":read"));
    }
}
