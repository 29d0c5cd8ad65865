//! Roles: named sets of permissions and views, per tenant. System roles are
//! seeded for every tenant, are read-only and cannot be deleted; custom roles
//! are made and edited on the roles screens.
//!
//! Rules: a delegated administrator cannot grant a role carrying a
//! permission they do not hold, nor give a role a permission or view they do
//! not hold; nobody removes their own administration grant; the tenant keeps
//! an active owner.

pub mod pages;
mod server;
pub use server::*;

#[cfg(feature = "ssr")]
pub mod ssr;

use crate::ids::{UserId};
use crate::audit::HistoryRow;
use crate::users::Count;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A line of the roles list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub is_system: bool,
    pub permissions: i64,
    pub views: i64,
    /// People holding it directly (counted up to a cap).
    pub direct: Count,
    /// Live teams holding it.
    pub teams: i64,
    pub deleted: bool,
}

/// One module of the permission matrix: its views and permissions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleGroup {
    pub key: String,
    pub name: String,
    /// Core modules are always on; the others only when the tenant has them.
    pub enabled: bool,
    /// (key, title)
    pub views: Vec<(String, String)>,
    /// (key, description)
    pub permissions: Vec<(String, String)>,
}

/// Someone who holds a role, directly or through a team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    pub via_team: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDetail {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub is_system: bool,
    pub version: i32,
    pub deleted: bool,
    pub permissions: Vec<String>,
    pub views: Vec<String>,
    /// The first holders by name (at most [`HOLDERS_SHOWN`]).
    pub holders: Vec<Holder>,
    /// Distinct people holding the role, directly or through teams.
    pub holder_count: Count,
    /// (team id, name, members) of the live teams holding the role.
    pub teams: Vec<(Uuid, String, i64)>,
    pub history: Vec<HistoryRow>,
}

/// How many holders a role's page lists.
pub const HOLDERS_SHOWN: i64 = 100;

/// Checks a role's name and description.
pub fn role_problems(name: &str, description: &str) -> Vec<crate::error::FieldError> {
    crate::teams::team_problems(name, description)
}
