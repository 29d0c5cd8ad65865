//! Server functions of the roles area.

use crate::authz::Explanation;
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

/// Grants a role to a user. Needs `role:assign`, and every permission the
/// role carries.
#[server(endpoint = "assign_role")]
pub async fn assign_role(user_id: Uuid, role_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond(super::ssr::assign(user_id, role_id).await)
}

/// Takes a role from a user. Needs `role:assign`.
#[server(endpoint = "revoke_role")]
pub async fn revoke_role(user_id: Uuid, role_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond(super::ssr::revoke(user_id, role_id).await)
}

/// Deletes a custom role (soft). System roles cannot be deleted. Needs
/// `role:manage`.
#[server(endpoint = "delete_role")]
pub async fn delete_role(role_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond(super::ssr::delete(role_id).await)
}

/// Why a user can or cannot open a view or do an action. Needs `role:read`.
#[server(endpoint = "explain_access")]
pub async fn explain_access(user_id: Uuid, view: Option<String>, permission: Option<String>) -> Result<Explanation, AppError> {
    use crate::authz::AccessTarget;
    let target = match (view, permission) {
        (Some(v), None) if !v.is_empty() => AccessTarget::View(v),
        (None, Some(p)) if !p.is_empty() => AccessTarget::Permission(p),
        _ => {
            return crate::ssr::respond(Err(AppError::Validation(vec![crate::error::FieldError {
                field: "view".into(),
                message: "Name either a view or a permission.".into(),
            }])))
        }
    };
    crate::ssr::respond(super::ssr::explain(user_id, target).await)
}
