//! Server functions of the teams area.

use crate::ids::{UserId};
use super::{TeamDetail, TeamRow};
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

/// The tenant's teams (`deleted` for the deleted ones). Needs `team:read`.
#[server(endpoint = "list_teams")]
pub async fn list_teams(deleted: bool) -> Result<Vec<TeamRow>, AppError> {
    crate::ssr::respond(super::ssr::list(deleted).await)
}

/// A team with its members, lead, roles and history. Needs `team:read`.
#[server(endpoint = "get_team")]
pub async fn get_team(team_id: Uuid) -> Result<TeamDetail, AppError> {
    crate::ssr::respond(super::ssr::detail(team_id).await)
}

/// Creates a team. Needs `team:manage`.
#[server(endpoint = "create_team")]
pub async fn create_team(name: String, description: Option<String>) -> Result<Uuid, AppError> {
    let description = description.unwrap_or_default();
    let result = super::ssr::create(&name, &description).await;
    crate::ssr::respond_form(result, &[("name", &name), ("description", &description)], "Team created.")
}

/// Renames a team, or changes its description or lead, over the version
/// the form showed. Needs `team:manage`.
#[server(endpoint = "update_team")]
pub async fn update_team(team_id: Uuid, version: i32, name: String, description: Option<String>, lead_user_id: Option<String>) -> Result<(), AppError> {
    let description = description.unwrap_or_default();
    let result = super::ssr::update(team_id, version, &name, &description, lead_user_id.as_deref()).await;
    crate::ssr::respond_form(result, &[("name", &name), ("description", &description)], "Team saved.")
}

/// Deletes a team (soft): its members lose the roles it gave. Needs `team:manage`.
#[server(endpoint = "delete_team")]
pub async fn delete_team(team_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::set_deleted(team_id, true).await, &[], "Team deleted.")
}

/// Restores a deleted team. Needs `team:manage`.
#[server(endpoint = "restore_team")]
pub async fn restore_team(team_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::set_deleted(team_id, false).await, &[], "Team restored.")
}

/// Adds a user to a team. Needs `team:manage`.
#[server(endpoint = "add_team_member")]
pub async fn add_team_member(team_id: Uuid, user_id: UserId) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::set_member(team_id, user_id, true).await, &[], "Added to the team.")
}

/// Takes a user out of a team. Needs `team:manage`.
#[server(endpoint = "remove_team_member")]
pub async fn remove_team_member(team_id: Uuid, user_id: UserId) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::set_member(team_id, user_id, false).await, &[], "Removed from the team.")
}

/// Gives a team a role (every member then holds it). Needs `role:assign`
/// and every permission of the role.
#[server(endpoint = "grant_team_role")]
pub async fn grant_team_role(team_id: Uuid, role_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::set_role(team_id, role_id, true).await, &[], "Role granted to the team.")
}

/// Takes a role from a team. Needs `role:assign`.
#[server(endpoint = "revoke_team_role")]
pub async fn revoke_team_role(team_id: Uuid, role_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::set_role(team_id, role_id, false).await, &[], "Role removed from the team.")
}
