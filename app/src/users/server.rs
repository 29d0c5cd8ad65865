//! Server functions of the users area.

use crate::ids::{UserId};
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

/// Suspends a user: they can no longer sign in and are signed out on their
/// next request. Needs `user:suspend`.
#[server(endpoint = "suspend_user")]
pub async fn suspend_user(user_id: UserId) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::set_status(user_id, crate::status::UserStatus::Suspended).await, &[], "User suspended.")
}

/// Lets a suspended user sign in again. Needs `user:suspend`.
#[server(endpoint = "reactivate_user")]
pub async fn reactivate_user(user_id: UserId) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::set_status(user_id, crate::status::UserStatus::Active).await, &[], "User reactivated.")
}

/// Deletes a user (soft: restorable; their email can be used again).
/// Needs `user:delete`.
#[server(endpoint = "delete_user")]
pub async fn delete_user(user_id: UserId) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::delete(user_id).await, &[], "User deleted. You can restore them from the Deleted filter.")
}

/// One action on many people: those ticked (`ids[]`), or with `all=on`
/// everyone the list's filter (`query[…]`) matches, up to 1,000. Needs the
/// action's permission; each person is checked as on their own page (the
/// delegation rule, the anti-lockout rules) and refused alone, with why.
#[server(endpoint = "bulk_users")]
pub async fn bulk_users(
    action: String,
    ids: Option<Vec<String>>,
    all: Option<String>,
    query: Option<super::UserQuery>,
    role_id: Option<String>,
    team_id: Option<String>,
) -> Result<super::BulkReport, AppError> {
    let result = async {
        let Some(act) = super::BulkAction::parse(action.trim()) else { return Err(AppError::invalid("action", "Choose what to do.")) };
        let chosen = |value: &Option<String>, field: &str| match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => v.parse::<Uuid>().map(Some).map_err(|_| AppError::invalid(field, "Choose one from the list.")),
            None => Ok(None),
        };
        let (role, team) = (chosen(&role_id, "role_id")?, chosen(&team_id, "team_id")?);
        let targets = if all.as_deref() == Some("on") {
            super::bulk::Targets::Matching(query.unwrap_or_default())
        } else {
            let ids = ids.unwrap_or_default().iter().map(|id| id.trim().parse::<UserId>()).collect::<Result<Vec<_>, _>>();
            super::bulk::Targets::Chosen(ids.map_err(|_| AppError::invalid("ids", "Tick people from the list."))?)
        };
        super::bulk::run(act, targets, role, team).await
    }
    .await;
    // The notice rides in a cookie to the page after a post without
    // JavaScript: long reports are cut to stay within a cookie's 4 KB once
    // percent-encoded (the page with JavaScript shows all).
    let mut notice = result.as_ref().map(|r| r.summary()).unwrap_or_default();
    if notice.len() > 900 {
        // By bytes (each becomes up to three characters in the cookie).
        let cut = (0..=900).rev().find(|i| notice.is_char_boundary(*i)).unwrap_or(0);
        notice = format!("{}…", &notice[..cut]);
    }
    crate::ssr::respond_form(result, &[], &notice)
}

/// Finds users in every tenant by email or name (platform staff only).
/// Needs `support:cross_tenant` in the platform tenant; every search is an
/// audit event.
#[server(endpoint = "search_users_across_tenants")]
pub async fn search_users_across_tenants(query: String) -> Result<Vec<super::UserHit>, AppError> {
    crate::ssr::respond(super::ssr::search_across_tenants(&query).await)
}

/// One page of the tenant's users. Needs `user:read`.
#[server(endpoint = "list_users")]
pub async fn list_users(query: super::UserQuery) -> Result<super::UserList, AppError> {
    crate::ssr::respond(super::ssr::list(query).await)
}

/// Everything the user's page shows. Needs `user:read`.
#[server(endpoint = "get_user")]
pub async fn get_user(user_id: UserId) -> Result<super::UserDetail, AppError> {
    let current = match crate::ssr::request_session() {
        Ok(session) => session.id().map(|id| id.to_string()),
        Err(_) => None,
    };
    crate::ssr::respond(super::ssr::detail(user_id, current).await)
}

/// Creates an account. Without a password, a temporary one is made and
/// returned once. Needs `user:create` (and `role:assign` to give a role).
#[server(endpoint = "create_user")]
pub async fn create_user(email: String, display_name: String, password: Option<String>, role_id: Option<String>) -> Result<super::Created, AppError> {
    let result = async {
        let role_id = match role_id.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => Some(r.parse::<Uuid>().map_err(|_| crate::error::AppError::invalid("role_id", "Choose a role from the list."))?),
            None => None,
        };
        super::ssr::create(&email, &display_name, password.as_deref(), role_id).await
    }
    .await;
    crate::ssr::respond_form(result, &[("email", &email), ("display_name", &display_name)], "User created.")
}

/// Invites someone by email, with a role and a team if given: a pending
/// account and a mail with a link to choose a password. Needs
/// `user:create` (and `role:assign`, `team:manage` for the role and team;
/// the delegation rule applies to both).
#[server(endpoint = "invite_user")]
pub async fn invite_user(email: String, display_name: String, role_id: Option<String>, team_id: Option<String>) -> Result<UserId, AppError> {
    let result = async {
        let chosen = |value: &Option<String>, field: &str, message: &str| match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => v.parse::<Uuid>().map(Some).map_err(|_| AppError::invalid(field, message)),
            None => Ok(None),
        };
        let role_id = chosen(&role_id, "role_id", "Choose a role from the list.")?;
        let team_id = chosen(&team_id, "team_id", "Choose a team from the list.")?;
        super::ssr::invite(&email, &display_name, role_id, team_id).await
    }
    .await;
    let notice = format!("Invitation sent to {}. It works for {} days.", email.trim(), crate::auth::INVITATION_DAYS);
    crate::ssr::respond_form(result, &[("email", &email), ("display_name", &display_name)], &notice)
}

/// Sends a pending person's invitation again (a new link; the old ones
/// end). Needs `user:create`; the delegation rule applies.
#[server(endpoint = "resend_invitation")]
pub async fn resend_invitation(user_id: UserId) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::resend_invitation(user_id).await, &[], "The invitation was sent again; the earlier link no longer works.")
}

/// Revokes a pending person's invitation: the link ends and the account is
/// deleted. Needs `user:delete`; the delegation rule applies.
#[server(endpoint = "revoke_invitation")]
pub async fn revoke_invitation(user_id: UserId) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::revoke_invitation(user_id).await, &[], "Invitation revoked.")
}

/// Saves a user's email and name over the version the form showed. Needs `user:update`.
#[server(endpoint = "update_user")]
pub async fn update_user(user_id: UserId, version: i32, email: String, display_name: String) -> Result<(), AppError> {
    let result = super::ssr::update_profile(user_id, version, &email, &display_name).await;
    crate::ssr::respond_form(result, &[("email", &email), ("display_name", &display_name)], "Profile saved.")
}

/// Sets a temporary password, returned once, and ends the user's sessions.
/// Needs `user:reset_password`.
#[server(endpoint = "reset_password")]
pub async fn reset_password(user_id: UserId) -> Result<String, AppError> {
    crate::ssr::respond(super::ssr::reset_password(user_id).await)
}

/// Mails the person a link to choose a password themselves, so that
/// nobody else learns it. Needs `user:reset_password`; the delegation rule
/// applies (only someone whose grants are within the caller's).
#[server(endpoint = "send_password_link")]
pub async fn send_password_link(user_id: UserId) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::send_password_link(user_id).await, &[], "A link to choose a password was sent to the person's address.")
}

/// Lifts the block on a user's sign-ins after too many failures. Needs
/// `user:reset_password`.
#[server(endpoint = "unlock_user")]
pub async fn unlock_user(user_id: UserId) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::unlock(user_id).await, &[], "Sign-ins unlocked.")
}

/// Takes away a user's second factor and ends their sessions. Needs
/// `user:reset_password`.
#[server(endpoint = "reset_mfa")]
pub async fn reset_mfa(user_id: UserId) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::reset_mfa(user_id).await, &[], "Two-factor sign-in reset.")
}

/// Brings back a deleted user. Needs `user:delete`.
#[server(endpoint = "restore_user")]
pub async fn restore_user(user_id: UserId) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::restore(user_id).await, &[], "User restored.")
}

/// Ends one of a user's sessions (`session_id`) or all of them. Needs
/// `user:revoke_sessions`.
#[server(endpoint = "revoke_sessions")]
pub async fn revoke_sessions(user_id: UserId, session_id: Option<Uuid>) -> Result<u64, AppError> {
    crate::ssr::respond_form(super::ssr::revoke_sessions(user_id, session_id).await, &[], "Signed out.")
}

/// An import's progress and the rows it refused. Needs `user:create`.
#[server(endpoint = "get_import")]
pub async fn get_import(import_id: Uuid) -> Result<super::ImportStatus, AppError> {
    crate::ssr::respond(super::import::get(import_id).await)
}

/// The latest imports of the tenant. Needs `user:create`.
#[server(endpoint = "list_imports")]
pub async fn list_imports() -> Result<Vec<super::ImportStatus>, AppError> {
    crate::ssr::respond(super::import::recent().await)
}
