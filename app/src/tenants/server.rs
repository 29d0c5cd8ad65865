//! Server functions of the tenants area (platform staff).

use crate::ids::{TenantId};
use super::{TenantDetail, TenantList, TenantQuery};
use crate::error::AppError;
use leptos::prelude::*;

/// One page of tenants. Needs `tenant:read` in the platform tenant.
#[server(endpoint = "list_tenants")]
pub async fn list_tenants(query: TenantQuery) -> Result<TenantList, AppError> {
    crate::ssr::respond(super::ssr::list(query).await)
}

/// A tenant's settings and history. Needs `tenant:read`.
#[server(endpoint = "get_tenant")]
pub async fn get_tenant(tenant_id: TenantId) -> Result<TenantDetail, AppError> {
    crate::ssr::respond(super::ssr::detail(tenant_id).await)
}

/// Creates a tenant and its first owner; the owner's temporary password is
/// returned once. Needs `tenant:create`.
#[server(endpoint = "create_tenant")]
pub async fn create_tenant(
    name: String,
    slug: String,
    plan: String,
    modules: Option<Vec<String>>,
    owner_name: String,
    owner_email: String,
) -> Result<crate::users::Created, AppError> {
    let result = super::ssr::create_with_owner(&name, &slug, &plan, &modules.unwrap_or_default(), &owner_name, &owner_email).await;
    crate::ssr::respond_form(
        result,
        &[("name", &name), ("slug", &slug), ("plan", &plan), ("owner_name", &owner_name), ("owner_email", &owner_email)],
        "Tenant created.",
    )
}

/// Saves a tenant's settings over the version the form showed. Needs `tenant:update`.
#[server(endpoint = "update_tenant")]
pub async fn update_tenant(
    tenant_id: TenantId,
    version: i32,
    name: String,
    plan: String,
    modules: Option<Vec<String>>,
    brand_colour: String,
) -> Result<(), AppError> {
    let result = super::ssr::update(tenant_id, version, &name, &plan, &modules.unwrap_or_default(), &brand_colour).await;
    crate::ssr::respond_form(result, &[("name", &name), ("plan", &plan), ("brand_colour", &brand_colour)], "Tenant saved.")
}

/// Suspends a tenant: its members cannot sign in and their sessions end.
/// Needs `tenant:suspend`.
#[server(endpoint = "suspend_tenant")]
pub async fn suspend_tenant(tenant_id: TenantId) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::set_status(tenant_id, crate::status::TenantStatus::Suspended).await, &[], "Tenant suspended.")
}

/// Lets a suspended tenant's members sign in again. Needs `tenant:suspend`.
#[server(endpoint = "reactivate_tenant")]
pub async fn reactivate_tenant(tenant_id: TenantId) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::set_status(tenant_id, crate::status::TenantStatus::Active).await, &[], "Tenant reactivated.")
}

/// Deletes a tenant (soft: restorable). Needs `tenant:delete`.
#[server(endpoint = "delete_tenant")]
pub async fn delete_tenant(tenant_id: TenantId) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::set_deleted(tenant_id, true).await, &[], "Tenant deleted.")
}

/// Restores a deleted tenant. Needs `tenant:delete`.
#[server(endpoint = "restore_tenant")]
pub async fn restore_tenant(tenant_id: TenantId) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::set_deleted(tenant_id, false).await, &[], "Tenant restored.")
}

/// Platform staff switch into a tenant (by short name), stating why, and act
/// there with their platform grants, under a banner, for a limited time
/// (`--acting-minutes`, 60 by default) or until they return. Needs
/// `support:cross_tenant` in the platform tenant; the start and the end are
/// recorded in the tenant's chain and the platform's.
#[server(endpoint = "act_in_tenant")]
pub async fn act_in_tenant(slug: String, #[server(default)] reason: String, next: Option<String>) -> Result<(), AppError> {
    use crate::auth::ssr::{ActingGrant, SESSION_ACTING_KEY};
    let result = async {
        let minutes = crate::ssr::app_state()?.acting_minutes;
        let (target, until) = super::ssr::enter_by_slug(&slug, &reason, minutes).await?;
        let session = crate::ssr::request_session()?;
        let me = crate::ssr::current_user().ok_or(AppError::Unauthenticated)?;
        let home = me.platform_home();
        let before = session.remove::<ActingGrant>(SESSION_ACTING_KEY).await.ok().flatten();
        if before.is_some() && me.acting_from.is_some() {
            let state = crate::ssr::app_state()?;
            let how = if Some(target.id) == home { "returned" } else { "switched" };
            crate::auth::ssr::record_acting_end(&state, &me, how, &crate::authz::ssr::request_meta()).await;
        }
        if Some(target.id) != home {
            let grant = ActingGrant { tenant: target, reason: reason.trim().to_string(), until };
            session.insert(SESSION_ACTING_KEY, grant).await.map_err(|_| AppError::Internal)?;
        }
        leptos_axum::redirect(&crate::auth::safe_next(next.as_deref()));
        Ok(())
    }
    .await;
    crate::ssr::respond_form(result, &[("slug", &slug), ("reason", &reason)], "")
}

/// Platform staff return to the platform tenant (recorded in both chains).
/// Needs a session.
#[server(endpoint = "stop_acting")]
pub async fn stop_acting() -> Result<(), AppError> {
    use crate::auth::ssr::{ActingGrant, SESSION_ACTING_KEY};
    let result = async {
        let me = crate::ssr::current_user().ok_or(AppError::Unauthenticated)?;
        let session = crate::ssr::request_session()?;
        let was = session.remove::<ActingGrant>(SESSION_ACTING_KEY).await.map_err(|_| AppError::Internal)?;
        if was.is_some() && me.acting_from.is_some() {
            let state = crate::ssr::app_state()?;
            crate::auth::ssr::record_acting_end(&state, &me, "returned", &crate::authz::ssr::request_meta()).await;
        }
        leptos_axum::redirect("/tenants");
        Ok(())
    }
    .await;
    crate::ssr::respond(result)
}
