//! The area's server side: each setting read and written through the spine,
//! with its audit event in the same transaction.

use super::{LogoFacts, Organisation, Plan};
use crate::auth::Brand;
use crate::authz::{ssr::{require, Actor}, Perm};
use crate::error::{AppError, FieldError};
use serde_json::json;
use crate::ids::{TenantId, UserId};
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

/// Moves the tenant's authorisation version, so that every principal
/// cached for it (which carries the organisation's name and brand for the
/// top bar) is computed again on its next request. Every change of the
/// organisation's name, colour or logo calls it in its transaction.
pub async fn organisation_changed(conn: &mut sqlx::PgConnection, tenant_id: TenantId) -> Result<(), AppError> {
    sqlx::query!(
        "INSERT INTO tenant_auth AS a (tenant_id, auth_version) VALUES ($1, 2)
         ON CONFLICT (tenant_id) DO UPDATE SET auth_version = a.auth_version + 1",
        tenant_id.0
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The organisation as its Settings page shows it: name, brand, logo, and
/// what its plan allows and what is used. Needs `settings:manage`.
pub async fn organisation() -> Result<Organisation, AppError> {
    let mut actor = require(Perm::SettingsManage).await?;
    let tenant_id = actor.tenant_id();
    let r = sqlx::query!(
        r#"SELECT t.name, t.slug, t.settings->>'brand_colour' AS "brand_colour?", t.version, t.kind = 'platform' AS "platform!", t.notify_new_place, t.anonymise_deleted_after_days,
                  p.name AS plan_name, p.max_people, p.max_document_bytes,
                  coalesce(u.people, 0) AS "people!", coalesce(u.document_bytes, 0) AS "document_bytes!",
                  l.content_type AS "logo_type?", octet_length(l.bytes) AS "logo_bytes?", l.width AS "logo_width?", l.height AS "logo_height?"
             FROM tenants t JOIN plans p ON p.key = t.plan
             LEFT JOIN tenant_usage u ON u.tenant_id = t.id
             LEFT JOIN tenant_logos l ON l.tenant_id = t.id
            WHERE t.id = $1"#,
        tenant_id.0
    )
    .fetch_one(actor.conn())
    .await?;
    actor.commit().await?;
    let logo = match (r.logo_type, r.logo_bytes, r.logo_width, r.logo_height) {
        (Some(content_type), Some(bytes), Some(width), Some(height)) => Some(LogoFacts { content_type, bytes: i64::from(bytes), width, height }),
        _ => None,
    };
    Ok(Organisation {
        brand: Brand {
            tenant_id,
            name: r.name,
            slug: r.slug,
            colour: r.brand_colour.filter(|c| !c.is_empty()),
            version: r.version,
            logo: logo.is_some(),
        },
        version: r.version,
        plan: Plan {
            name: r.plan_name,
            platform: r.platform,
            people: r.people,
            max_people: r.max_people.map(i64::from),
            document_bytes: r.document_bytes,
            max_document_bytes: r.max_document_bytes,
        },
        logo,
        notify_new_place: r.notify_new_place,
        anonymise_after_days: r.anonymise_deleted_after_days,
    })
}

/// Turns the "sign-in from a new address" notices on or off. Needs
/// `settings:manage`.
pub async fn set_new_place_notice(on: bool) -> Result<(), AppError> {
    let mut actor = require(Perm::SettingsManage).await?;
    let tenant_id = actor.tenant_id();
    let before: bool = sqlx::query_scalar!("SELECT notify_new_place FROM tenants WHERE id = $1 FOR UPDATE", tenant_id.0).fetch_one(actor.conn()).await?;
    if before == on {
        return Ok(());
    }
    sqlx::query!("UPDATE tenants SET notify_new_place = $2 WHERE id = $1", tenant_id.0, on).execute(actor.conn()).await?;
    actor
        .audit("tenant.new_place_notice", "tenant", tenant_id, Some(json!({ "notify_new_place": before })), Some(json!({ "notify_new_place": on })))
        .await?;
    actor.commit().await
}

/// Saves the organisation's name and brand colour over the version the
/// form showed. Needs `settings:manage`.
pub async fn update_organisation(version: i32, name: &str, brand_colour: &str) -> Result<(), AppError> {
    let mut actor = require(Perm::SettingsManage).await?;
    let (name, brand_colour) = (name.trim(), brand_colour.trim().to_ascii_lowercase());
    let mut errors = Vec::new();
    if let Some(m) = crate::tenants::name_problem(name) {
        errors.push(FieldError { field: "name".into(), message: m.into() });
    }
    if let Some(m) = crate::tenants::colour_problem(&brand_colour) {
        errors.push(FieldError { field: "brand_colour".into(), message: m.into() });
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let tenant_id = actor.tenant_id();
    let before = sqlx::query!(
        r#"SELECT name, coalesce(settings->>'brand_colour', '') AS "brand_colour!", version FROM tenants WHERE id = $1 FOR UPDATE"#,
        tenant_id.0
    )
    .fetch_one(actor.conn())
    .await?;
    if before.version != version {
        return Err(crate::audit::record::stale(actor.conn(), tenant_id, "tenant", tenant_id).await);
    }
    if before.name == name && before.brand_colour == brand_colour {
        return Ok(());
    }
    sqlx::query!(
        "UPDATE tenants SET name = $2, settings = jsonb_set(CASE WHEN jsonb_typeof(settings) = 'object' THEN settings ELSE '{}'::jsonb END, '{brand_colour}', to_jsonb($3::text)),
                version = version + 1, updated_at = now()
          WHERE id = $1",
        tenant_id.0,
        name,
        &brand_colour
    )
    .execute(actor.conn())
    .await?;
    organisation_changed(actor.conn(), tenant_id).await?;
    actor
        .audit(
            "tenant.settings",
            "tenant",
            tenant_id,
            Some(json!({ "name": before.name, "brand_colour": before.brand_colour })),
            Some(json!({ "name": name, "brand_colour": brand_colour })),
        )
        .await?;
    actor.commit().await
}

/// Stores the organisation's logo (already checked by [`super::logo_kind`])
/// in the actor's transaction, replacing any before it.
pub async fn set_logo_in(actor: &mut Actor, content_type: &str, bytes: &[u8], width: u32, height: u32) -> Result<(), AppError> {
    use sha2::Digest;
    let tenant_id = actor.tenant_id();
    let sha256: String = sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    let before: Option<String> = sqlx::query_scalar!("SELECT sha256 FROM tenant_logos WHERE tenant_id = $1 FOR UPDATE", tenant_id.0)
        .fetch_optional(actor.conn())
        .await?;
    if before.as_deref() == Some(sha256.as_str()) {
        return Ok(());
    }
    let (width, height) = (i32::try_from(width).unwrap_or(i32::MAX), i32::try_from(height).unwrap_or(i32::MAX));
    sqlx::query!(
        "INSERT INTO tenant_logos (tenant_id, content_type, bytes, sha256, width, height) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id) DO UPDATE SET content_type = excluded.content_type, bytes = excluded.bytes, sha256 = excluded.sha256,
                width = excluded.width, height = excluded.height, updated_at = now()",
        tenant_id.0,
        content_type,
        bytes,
        &sha256,
        width,
        height
    )
    .execute(actor.conn())
    .await?;
    // The logo's address carries the organisation's version.
    sqlx::query!("UPDATE tenants SET version = version + 1, updated_at = now() WHERE id = $1", tenant_id.0).execute(actor.conn()).await?;
    organisation_changed(actor.conn(), tenant_id).await?;
    let after = json!({ "sha256": sha256, "content_type": content_type, "bytes": bytes.len(), "width": width, "height": height });
    actor.audit("tenant.logo_set", "tenant", tenant_id, before.map(|sha| json!({ "sha256": sha })), Some(after)).await
}

/// Removes the organisation's logo. Needs `settings:manage`.
pub async fn remove_logo() -> Result<(), AppError> {
    let mut actor = require(Perm::SettingsManage).await?;
    let tenant_id = actor.tenant_id();
    let removed: Option<String> = sqlx::query_scalar!("DELETE FROM tenant_logos WHERE tenant_id = $1 RETURNING sha256", tenant_id.0)
        .fetch_optional(actor.conn())
        .await?;
    let Some(sha256) = removed else { return Ok(()) };
    sqlx::query!("UPDATE tenants SET version = version + 1, updated_at = now() WHERE id = $1", tenant_id.0).execute(actor.conn()).await?;
    organisation_changed(actor.conn(), tenant_id).await?;
    actor.audit("tenant.logo_remove", "tenant", tenant_id, Some(json!({ "sha256": sha256 })), None).await?;
    actor.commit().await
}
