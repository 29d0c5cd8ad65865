//! "Explain access": why a user can or cannot open a view or do an action.

use crate::ids::{UserId};
use serde::{Deserialize, Serialize};

/// What is asked about: a view (by key) or an action (by permission key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccessTarget {
    View(String),
    Permission(String),
}

/// The answer, with every reason found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub user_id: UserId,
    pub target: AccessTarget,
    pub allowed: bool,
    /// The module the view or permission belongs to, and whether the tenant has it on.
    pub module: String,
    pub module_enabled: bool,
    /// Every role that grants it: directly, or through a team.
    pub grants: Vec<Grant>,
    /// One sentence a person can read.
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub role: String,
    /// The team the role comes through; `None` when held directly.
    pub via_team: Option<String>,
}

impl Explanation {
    pub fn summarise(&mut self, user: &str) {
        let what = match &self.target {
            AccessTarget::View(v) => format!("open the {v} view"),
            AccessTarget::Permission(p) => format!("do {p}"),
        };
        self.summary = if self.allowed {
            let how: Vec<String> = self
                .grants
                .iter()
                .map(|g| match &g.via_team {
                    Some(team) => format!("role {} through team {team}", g.role),
                    None => format!("role {} held directly", g.role),
                })
                .collect();
            format!("{user} can {what}: granted by {}.", how.join("; "))
        } else if !self.module_enabled {
            format!("{user} cannot {what}: the {} module is turned off for this organisation.", self.module)
        } else {
            format!("{user} cannot {what}: none of their roles, direct or through teams, grants it.")
        };
    }
}
