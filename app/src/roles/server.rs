//! Server functions of the roles area.

use crate::ids::{UserId};
use super::{ModuleGroup, RoleDetail, RoleRow};
use crate::authz::Explanation;
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

/// Grants a role to a user. Needs `role:assign`, and every permission the
/// role carries.
#[server(endpoint = "assign_role")]
pub async fn assign_role(user_id: UserId, role_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond(super::ssr::assign(user_id, role_id).await)
}

/// Takes a role from a user. Needs `role:assign`.
#[server(endpoint = "revoke_role")]
pub async fn revoke_role(user_id: UserId, role_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond(super::ssr::revoke(user_id, role_id).await)
}

/// Deletes a custom role (soft). System roles cannot be deleted. Needs
/// `role:manage`.
#[server(endpoint = "delete_role")]
pub async fn delete_role(role_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::delete(role_id).await, &[], "Role deleted.")
}

/// Restores a deleted custom role. Needs `role:manage`, and every
/// permission the role carries.
#[server(endpoint = "restore_role")]
pub async fn restore_role(role_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::restore(role_id).await, &[], "Role restored.")
}

/// The tenant's roles (`deleted` for the deleted ones). Needs `role:read`.
#[server(endpoint = "list_roles")]
pub async fn list_roles(deleted: bool) -> Result<Vec<RoleRow>, AppError> {
    crate::ssr::respond(super::ssr::list(deleted).await)
}

/// A role with its permissions, views, holders and history. Needs `role:read`.
#[server(endpoint = "get_role")]
pub async fn get_role(role_id: Uuid) -> Result<RoleDetail, AppError> {
    crate::ssr::respond(super::ssr::detail(role_id).await)
}

/// The permission matrix (modules with their views and permissions) of
/// the tenant. Needs `role:read`.
#[server(endpoint = "role_catalogue")]
pub async fn role_catalogue() -> Result<Vec<ModuleGroup>, AppError> {
    crate::ssr::respond(super::ssr::catalogue().await)
}

/// Creates a custom role with the checked permissions (`perms[]`) and views
/// (`views[]`). Needs `role:manage`, and every permission and view given.
#[server(endpoint = "create_role")]
pub async fn create_role(name: String, description: Option<String>, perms: Option<Vec<String>>, views: Option<Vec<String>>) -> Result<Uuid, AppError> {
    let description = description.unwrap_or_default();
    let (perms, views) = (perms.unwrap_or_default(), views.unwrap_or_default());
    let typed = (perms.join(" "), views.join(" "));
    let result = super::ssr::create(&name, &description, perms, views).await;
    if let Ok(id) = &result {
        // To the new role's page, with JavaScript or without.
        leptos_axum::redirect(&format!("/roles/{id}"));
    }
    crate::ssr::respond_form(result, &[("name", &name), ("description", &description), ("perms", &typed.0), ("views", &typed.1)], "Role created.")
}

/// Saves a custom role over the version the form showed. Needs `role:manage`;
/// permissions and views added must be the actor's own.
#[server(endpoint = "update_role")]
pub async fn update_role(
    role_id: Uuid,
    version: i32,
    name: String,
    description: Option<String>,
    perms: Option<Vec<String>>,
    views: Option<Vec<String>>,
) -> Result<(), AppError> {
    let description = description.unwrap_or_default();
    let (perms, views) = (perms.unwrap_or_default(), views.unwrap_or_default());
    let typed = (perms.join(" "), views.join(" "));
    let result = super::ssr::update(role_id, version, &name, &description, perms, views).await;
    crate::ssr::respond_form(result, &[("name", &name), ("description", &description), ("perms", &typed.0), ("views", &typed.1)], "Role saved.")
}

/// Why a user (by id, or by email) can or cannot open a view or do an
/// action. Needs `role:read`.
#[server(endpoint = "explain_access")]
pub async fn explain_access(
    user_id: Option<UserId>,
    email: Option<String>,
    view: Option<String>,
    permission: Option<String>,
) -> Result<Explanation, AppError> {
    crate::ssr::respond(super::ssr::explain(user_id, email, view, permission).await)
}

