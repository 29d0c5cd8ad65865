//! Teams: groups of people who share roles. A member holds every role of
//! each live team they are in (see the `effective_user_roles` view).

pub mod pages;
mod server;
pub use server::*;
#[cfg(feature = "ssr")]
pub mod ssr;

use crate::ids::{UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamRow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub members: i64,
    pub roles: String,
    pub lead: String,
    pub deleted: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamDetail {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub version: i32,
    pub deleted: bool,
    pub lead_user_id: Option<UserId>,
    /// (user id, name, email)
    pub members: Vec<(UserId, String, String)>,
    pub roles: Vec<(Uuid, String)>,
    pub all_roles: Vec<(Uuid, String)>,
    pub history: Vec<crate::audit::HistoryRow>,
}

/// Checks a team's name and description.
pub fn team_problems(name: &str, description: &str) -> Vec<crate::error::FieldError> {
    let mut errors = Vec::new();
    if let Some(m) = crate::tenants::name_problem(name) {
        errors.push(crate::error::FieldError { field: "name".into(), message: m.into() });
    }
    if description.chars().count() > 500 {
        errors.push(crate::error::FieldError { field: "description".into(), message: "A description has 500 characters at most.".into() });
    }
    errors
}
