//! The area's server side: each setting read and written through the spine,
//! with its audit event in the same transaction.

use crate::authz::{ssr::require, Perm};
use crate::error::{AppError, FieldError};
use serde_json::json;
use crate::ids::UserId;
use crate::status::MfaRequirement;

/// The tenant's two-factor requirement. Needs `role:read`.
pub async fn mfa_requirement() -> Result<MfaRequirement, AppError> {
    let mut actor = require(Perm::RoleRead).await?;
    let tenant_id = actor.tenant_id();
    let level = sqlx::query_scalar!(r#"SELECT mfa_required AS "level: MfaRequirement" FROM tenants WHERE id = $1"#, tenant_id.0)
        .fetch_one(actor.conn())
        .await?;
    actor.commit().await?;
    Ok(level)
}

/// Sets the tenant's two-factor requirement. Needs `role:manage`.
pub async fn set_mfa_requirement(level: &str) -> Result<(), AppError> {
    let mut actor = require(Perm::RoleManage).await?;
    let Some(level) = MfaRequirement::parse(level) else {
        return Err(AppError::Validation(vec![FieldError {
            field: "level".into(),
            message: "Choose nobody, administrators or everyone.".into(),
        }]));
    };
    let tenant_id = actor.tenant_id();
    let before = sqlx::query_scalar!(r#"SELECT mfa_required AS "level: MfaRequirement" FROM tenants WHERE id = $1 FOR UPDATE"#, tenant_id.0)
        .fetch_one(actor.conn())
        .await?;
    if before == level {
        return Ok(());
    }
    sqlx::query!("UPDATE tenants SET mfa_required = $2 WHERE id = $1", tenant_id.0, level.as_str()).execute(actor.conn()).await?;
    actor
        .audit("tenant.mfa_requirement", "tenant", tenant_id, Some(json!({ "mfa_required": before })), Some(json!({ "mfa_required": level })))
        .await?;
    actor.commit().await
}

/// The longest lifetime of the tenant's API keys, in days. Needs `role:read`.
pub async fn api_key_max_days() -> Result<i32, AppError> {
    let mut actor = crate::authz::ssr::require(crate::authz::Perm::RoleRead).await?;
    let tenant_id = actor.tenant_id();
    let days: i32 = sqlx::query_scalar!("SELECT api_key_max_days FROM tenants WHERE id = $1", tenant_id.0).fetch_one(actor.conn()).await?;
    actor.commit().await?;
    Ok(days)
}

/// Sets the longest lifetime of the tenant's API keys. Needs `role:manage`.
pub async fn set_api_key_max_days(days: &str) -> Result<(), AppError> {
    let mut actor = crate::authz::ssr::require(crate::authz::Perm::RoleManage).await?;
    let days: i32 = match days.trim().parse() {
        Ok(d) if (1..=365).contains(&d) => d,
        _ => return Err(AppError::Validation(vec![FieldError { field: "days".into(), message: "Give 1 to 365 days.".into() }])),
    };
    let tenant_id = actor.tenant_id();
    let before: i32 = sqlx::query_scalar!("SELECT api_key_max_days FROM tenants WHERE id = $1 FOR UPDATE", tenant_id.0).fetch_one(actor.conn()).await?;
    if before == days {
        return Ok(());
    }
    sqlx::query!("UPDATE tenants SET api_key_max_days = $2 WHERE id = $1", tenant_id.0, days).execute(actor.conn()).await?;
    actor
        .audit("tenant.api_key_max_days", "tenant", tenant_id, Some(serde_json::json!({ "api_key_max_days": before })), Some(serde_json::json!({ "api_key_max_days": days })))
        .await?;
    actor.commit().await
}

/// Sets how many days after deletion people are anonymised (empty or
/// `never`: never). Needs `user:delete`; shortening it passes the
/// delegation rule for everyone it would anonymise.
pub async fn set_retention(days: &str) -> Result<(), AppError> {
    let mut actor = require(Perm::UserDelete).await?;
    let days = days.trim();
    let value: Option<i32> = if days.is_empty() || days == "never" {
        None
    } else {
        match days.parse::<i32>() {
            Ok(d) if (0..=3650).contains(&d) => Some(d),
            _ => return Err(AppError::invalid("days", "Give 0 to 3,650 days, or leave it empty for never.")),
        }
    };
    let tenant_id = actor.tenant_id();
    let before: Option<i32> = sqlx::query_scalar!("SELECT anonymise_deleted_after_days FROM tenants WHERE id = $1 FOR UPDATE", tenant_id.0)
        .fetch_one(actor.conn())
        .await?;
    if before == value {
        return Ok(());
    }
    // A shorter period anonymises, at the next run, the people deleted
    // longer ago than it: the delegation rule, as for anonymising them
    // one by one.
    if let Some(days) = value {
        let due: Vec<UserId> = sqlx::query_scalar!(r#"SELECT id AS "id!: UserId" FROM users WHERE tenant_id = $1 AND anonymised_at IS NULL AND deleted_at < now() - make_interval(days => $2) LIMIT 1000"#, tenant_id.0, days)
        .fetch_all(actor.conn())
        .await?;
        for user_id in due {
            crate::authz::delegation::ensure_may_act_on(&mut actor, user_id, "shorten the retention period so as to anonymise").await?;
        }
    }
    sqlx::query!("UPDATE tenants SET anonymise_deleted_after_days = $2 WHERE id = $1", tenant_id.0, value).execute(actor.conn()).await?;
    actor
        .audit("tenant.retention", "tenant", tenant_id, Some(json!({ "anonymise_deleted_after_days": before })), Some(json!({ "anonymise_deleted_after_days": value })))
        .await?;
    actor.commit().await
}
