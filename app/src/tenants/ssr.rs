//! Creating tenants, under row-level security: the transaction is scoped to
//! the new tenant's id before its row is written, so the application role
//! can create a tenant without seeing any other.

use crate::ids::TenantId;
use crate::status::{TenantKind, TenantStatus};
use crate::audit::record::{record, Event, RequestMeta};
use crate::db::scope_to_tenant;
use crate::error::AppError;
use serde_json::{json, Value};
use sqlx::{PgConnection, Postgres, Transaction};
use uuid::Uuid;

/// Inserts a tenant and seeds its system roles and modules (see the
/// `role_templates` table); the transaction must already be scoped to `id`.
/// A short name in use is a conflict.
async fn insert_tenant(conn: &mut PgConnection, id: TenantId, slug: &str, name: &str, kind: TenantKind, plan: &str) -> Result<(), AppError> {
    sqlx::query!("INSERT INTO tenants (id, slug, name, kind, plan) VALUES ($1, $2, $3, $4, $5)", id.0, slug, name, kind.as_str(), plan)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("SELECT steward_seed_tenant($1) AS \"seeded\"", id.0).fetch_one(&mut *conn).await?;
    Ok(())
}

/// Creates a tenant on the standard plan with its system roles and
/// modules, and records it with no actor (the demo and the command line,
/// through `System`). Leaves the transaction scoped to the new tenant.
pub async fn create_tenant(
    tx: &mut Transaction<'_, Postgres>,
    slug: &str,
    name: &str,
    kind: TenantKind,
) -> Result<TenantId, AppError> {
    let id = TenantId(Uuid::now_v7());
    scope_to_tenant(tx, id).await?;
    insert_tenant(tx, id, slug, name, kind, "standard").await?;
    let event = Event {
        tenant_id: id,
        actor_user_id: None,
        actor_tenant_id: None,
        action: "tenant.create",
        entity_type: Some("tenant"),
        entity_id: Some(id.to_string()),
        before: None,
        after: Some(json!({ "slug": slug, "name": name, "kind": kind })),
    };
    record(tx, &RequestMeta::default(), event).await?;
    Ok(id)
}

// ---------------------------------------------------------------------------
// Platform staff's tenant screens. Every function authorises in the platform
// tenant (`require_platform`), then enters the tenant it works on, so its
// events go to that tenant's chain naming the platform as the actor's tenant;
// a copy goes to the platform's own chain.

use super::{TenantDetail, TenantList, TenantQuery, TenantRow};
use crate::audit::record::{history, stale};
use crate::text::when;
use crate::auth::TenantSummary;
use crate::authz::ssr::{require_platform, require_platform_read, Actor};
use crate::authz::Perm;
use crate::error::FieldError;
use chrono::{DateTime, Utc};

struct Row {
    id: TenantId,
    slug: String,
    name: String,
    kind: TenantKind,
    status: TenantStatus,
    plan: String,
    created_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
    modules: Vec<String>,
}

struct Locked {
    row: Row,
    version: i32,
    settings: Value,
}

impl From<Row> for TenantRow {
    fn from(r: Row) -> TenantRow {
        TenantRow {
            id: r.id,
            slug: r.slug,
            name: r.name,
            kind: r.kind,
            status: r.status,
            plan: r.plan,
            created_at: when(r.created_at),
            deleted: r.deleted_at.is_some(),
            modules: r.modules,
        }
    }
}

const TENANT_PAGE: i32 = 50;

/// One page of tenants, by short name. Needs `tenant:read` on the platform.
pub async fn list(query: TenantQuery) -> Result<TenantList, AppError> {
    let mut actor = require_platform_read(Perm::TenantRead).await?;
    if !["", "active", "suspended", "deleted"].contains(&query.status.as_str()) {
        return Err(crate::error::AppError::invalid("status", "Choose a status from the list."));
    }
    let mut rows: Vec<Row> = sqlx::query_as!(
        Row,
        r#"SELECT id AS "id!: _", slug AS "slug!: _", name AS "name!: _", kind AS "kind!: _", status AS "status!: _", plan AS "plan!: _",
                  created_at AS "created_at!: _", deleted_at AS "deleted_at?: _", modules AS "modules!: _"
             FROM steward_platform_tenants($1, $2, $3, $4)"#,
        query.q.trim().chars().take(100).collect::<String>(),
        &query.status,
        (!query.after.is_empty()).then_some(&query.after),
        TENANT_PAGE + 1
    )
    .fetch_all(actor.conn())
        .await?;
    let next = (rows.len() > TENANT_PAGE as usize).then(|| {
        rows.truncate(TENANT_PAGE as usize);
        rows.last().map(|r| r.slug.clone()).unwrap_or_default()
    });
    actor.commit().await?;
    Ok(TenantList { rows: rows.into_iter().map(Into::into).collect(), next })
}

/// Enters a tenant (any status, deleted included) and reads its row; `NotFound`
/// when there is none.
async fn enter(actor: &mut Actor, tenant_id: TenantId) -> Result<(TenantRow, i32, serde_json::Value), AppError> {
    actor.enter_tenant(tenant_id).await?;
    let found: Option<Locked> = sqlx::query!(
        r#"SELECT t.id AS "id: TenantId", t.slug, t.name, t.kind AS "kind: TenantKind", t.status AS "status: TenantStatus", t.plan, t.created_at AS "created_at: DateTime<Utc>",
                  t.deleted_at AS "deleted_at: DateTime<Utc>", t.version, t.settings,
                  coalesce((SELECT array_agg(m.key ORDER BY m.key) FROM modules m
                             WHERE m.is_core OR EXISTS (SELECT 1 FROM tenant_modules tm WHERE tm.tenant_id = t.id AND tm.module_key = m.key)), '{}') AS "modules!: Vec<String>"
             FROM tenants t WHERE t.id = $1 FOR UPDATE"#,
        tenant_id.0
    )
    .map(|r| Locked {
        row: Row {
            id: r.id,
            slug: r.slug,
            name: r.name,
            kind: r.kind,
            status: r.status,
            plan: r.plan,
            created_at: r.created_at,
            deleted_at: r.deleted_at,
            modules: r.modules,
        },
        version: r.version,
        settings: r.settings,
    })
    .fetch_optional(actor.conn())
    .await?;
    let found = found.ok_or(AppError::NotFound)?;
    Ok((found.row.into(), found.version, found.settings))
}

/// Records a change to a tenant in its own chain and in the platform's.
async fn audit_both(actor: &mut Actor, tenant_id: TenantId, action: &str, before: Option<Value>, after: Option<Value>) -> Result<(), AppError> {
    actor.audit(action, "tenant", tenant_id, before.clone(), after.clone()).await?;
    let home = actor.me().platform_home().ok_or(AppError::Forbidden)?;
    if home != tenant_id {
        actor.enter_tenant(home).await?;
        actor.audit(action, "tenant", tenant_id, before, after).await?;
        actor.enter_tenant(tenant_id).await?;
    }
    Ok(())
}

pub async fn detail(tenant_id: TenantId) -> Result<TenantDetail, AppError> {
    let mut actor = require_platform(Perm::TenantRead).await?;
    let (row, version, settings) = enter(&mut actor, tenant_id).await?;
    let history = history(actor.conn(), tenant_id, "tenant", tenant_id, 50).await?;
    actor.commit().await?;
    Ok(TenantDetail {
        row,
        version,
        brand_colour: settings.get("brand_colour").and_then(|c| c.as_str()).unwrap_or_default().to_string(),
        history,
    })
}

fn check_plan_and_modules(plan: &str, modules: &[String], errors: &mut Vec<FieldError>) {
    if !super::PLANS.iter().any(|(p, _)| *p == plan) {
        errors.push(FieldError { field: "plan".into(), message: "Choose a plan from the list.".into() });
    }
    if modules.iter().any(|m| !super::OPTIONAL_MODULES.iter().any(|(k, _)| k == m)) {
        errors.push(FieldError { field: "modules".into(), message: "Choose modules from the list.".into() });
    }
}

async fn set_modules(actor: &mut Actor, tenant_id: TenantId, modules: &[String]) -> Result<(), AppError> {
    let optional: Vec<String> = super::OPTIONAL_MODULES.iter().map(|(k, _)| k.to_string()).collect();
    sqlx::query!("DELETE FROM tenant_modules WHERE tenant_id = $1 AND module_key = ANY($2) AND NOT (module_key = ANY($3))", tenant_id.0, &optional, modules)
        .execute(actor.conn())
        .await?;
    sqlx::query!("INSERT INTO tenant_modules (tenant_id, module_key) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING", tenant_id.0, modules)
        .execute(actor.conn())
        .await?;
    Ok(())
}

/// Creates a customer tenant with its seeded roles, the chosen modules and
/// its first owner (who gets a temporary password, returned once). Needs
/// `tenant:create`.
pub async fn create_with_owner(
    name: &str,
    slug: &str,
    plan: &str,
    modules: &[String],
    owner_name: &str,
    owner_email: &str,
) -> Result<crate::users::Created, AppError> {
    // The owner's temporary password is hashed before the transaction
    // opens, and only for someone who holds the permission.
    let owner_password = if crate::ssr::current_user().is_some_and(|me| me.can(Perm::TenantCreate.key())) {
        Some(crate::users::ssr::new_password(owner_email, None).await?)
    } else {
        None
    };
    let mut actor = require_platform(Perm::TenantCreate).await?;
    let owner_password = owner_password.ok_or(AppError::Forbidden)?;
    let name = name.trim();
    let mut errors = Vec::new();
    if let Some(m) = super::name_problem(name) {
        errors.push(FieldError { field: "name".into(), message: m.into() });
    }
    let slug = match super::parse_slug(slug) {
        Ok(s) => s,
        Err(m) => {
            errors.push(FieldError { field: "slug".into(), message: m.into() });
            String::new()
        }
    };
    check_plan_and_modules(plan, modules, &mut errors);
    for e in crate::users::validate_profile(owner_email.trim(), owner_name.trim()) {
        errors.push(FieldError { field: format!("owner_{}", if e.field == "email" { "email" } else { "name" }), message: e.message });
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let id = TenantId(Uuid::now_v7());
    actor.enter_tenant(id).await?;
    insert_tenant(actor.conn(), id, &slug, name, TenantKind::Customer, plan).await.map_err(|e| e.beside("slug"))?;
    set_modules(&mut actor, id, modules).await?;
    let after = json!({ "slug": slug, "name": name, "plan": plan, "modules": modules });
    audit_both(&mut actor, id, "tenant.create", None, Some(after)).await?;
    let owner = crate::users::ssr::create_in(&mut actor, owner_email, owner_name, owner_password)
        .await
        .map_err(|e| match e {
            AppError::Validation(list) => AppError::Validation(
                list.into_iter().map(|f| FieldError { field: format!("owner_{}", if f.field == "email" { "email" } else { "name" }), ..f }).collect(),
            ),
            other => other,
        })?;
    let role: Uuid = sqlx::query_scalar!("SELECT id FROM roles WHERE tenant_id = $1 AND system_key = 'owner'", id.0)
        .fetch_one(actor.conn())
        .await?;
    crate::roles::ssr::insert_grant(actor.conn(), id, owner.id, role, None).await?;
    actor.audit("user.role_grant", "user", owner.id, None, Some(json!({ "role_id": role, "role": "Owner" }))).await?;
    actor.commit().await?;
    Ok(owner)
}

/// Saves a tenant's name, plan, modules and brand colour over the version
/// the form showed. Needs `tenant:update`.
pub async fn update(tenant_id: TenantId, version: i32, name: &str, plan: &str, modules: &[String], brand_colour: &str) -> Result<(), AppError> {
    let mut actor = require_platform(Perm::TenantUpdate).await?;
    let (name, brand_colour) = (name.trim(), brand_colour.trim());
    let mut errors = Vec::new();
    if let Some(m) = super::name_problem(name) {
        errors.push(FieldError { field: "name".into(), message: m.into() });
    }
    if let Some(m) = super::colour_problem(brand_colour) {
        errors.push(FieldError { field: "brand_colour".into(), message: m.into() });
    }
    check_plan_and_modules(plan, modules, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let (row, current, settings) = enter(&mut actor, tenant_id).await?;
    if current != version {
        return Err(stale(actor.conn(), tenant_id, "tenant", tenant_id).await);
    }
    if row.kind == TenantKind::Customer && plan != row.plan {
        check_room_in_plan(&mut actor, &row.name, plan).await?;
    }
    let mut settings = if settings.is_object() { settings } else { json!({}) };
    settings["brand_colour"] = json!(brand_colour);
    sqlx::query!("UPDATE tenants SET name = $2, plan = $3, settings = $4, version = version + 1, updated_at = now() WHERE id = $1", tenant_id.0, name, plan, &settings)
        .execute(actor.conn())
        .await?;
    if row.kind == TenantKind::Customer {
        set_modules(&mut actor, tenant_id, modules).await?;
    }
    crate::settings::ssr::organisation_changed(actor.conn(), tenant_id).await?;
    let before = json!({ "name": row.name, "plan": row.plan, "modules": row.modules });
    let after = json!({ "name": name, "plan": plan, "modules": modules, "brand_colour": brand_colour });
    audit_both(&mut actor, tenant_id, "tenant.update", Some(before), Some(after)).await?;
    actor.commit().await
}

/// Refuses a plan smaller than what the tenant uses: past its limits at
/// once, it would refuse every person and document added after.
async fn check_room_in_plan(actor: &mut Actor, name: &str, plan: &str) -> Result<(), AppError> {
    // The counts of the tenant entered, locked (steward_lock_usage) until
    // the change commits: an addition meanwhile waits, then sees the new plan.
    let r = sqlx::query!(
        r#"SELECT p.name, p.max_people, p.max_document_bytes, u.people AS "people!", u.document_bytes AS "bytes!"
             FROM plans p, steward_lock_usage() u WHERE p.key = $1"#,
        plan
    )
    .fetch_one(actor.conn())
    .await?;
    if let Some(max) = r.max_people.filter(|&m| i64::from(m) < r.people) {
        return Err(AppError::invalid("plan", &format!("{name} has {} people, and the {} plan allows {max}: delete people first, or choose a larger plan.", r.people, r.name)));
    }
    if let Some(max) = r.max_document_bytes.filter(|&m| m < r.bytes) {
        let size = crate::documents::human_size;
        return Err(AppError::invalid("plan", &format!("{name} keeps {} of documents, and the {} plan allows {}: delete documents first, or choose a larger plan.", size(r.bytes), r.name, size(max))));
    }
    Ok(())
}

/// Suspends (its members cannot sign in; their sessions end) or reactivates
/// a customer tenant. Needs `tenant:suspend`.
pub async fn set_status(tenant_id: TenantId, status: TenantStatus) -> Result<(), AppError> {
    let mut actor = require_platform(Perm::TenantSuspend).await?;
    let (row, _, _) = enter(&mut actor, tenant_id).await?;
    if row.kind == TenantKind::Platform {
        return Err(AppError::Conflict("The platform tenant cannot be suspended or deleted.".into()));
    }
    if row.deleted {
        return Err(AppError::Conflict("Restore the tenant first.".into()));
    }
    if row.status == status {
        return Ok(());
    }
    sqlx::query!("UPDATE tenants SET status = $2, version = version + 1, updated_at = now() WHERE id = $1", tenant_id.0, status.as_str())
        .execute(actor.conn())
        .await?;
    let ended = if status == TenantStatus::Suspended { crate::auth::credentials::end_sessions(actor.conn(), tenant_id, None, None).await? } else { 0 };
    if status == TenantStatus::Suspended {
        crate::auth::reset::end_tenant_links(actor.conn(), tenant_id).await?;
    }
    let action = if status == TenantStatus::Active { "tenant.reactivate" } else { "tenant.suspend" };
    audit_both(&mut actor, tenant_id, action, Some(json!({ "status": row.status })), Some(json!({ "status": status, "sessions_ended": ended }))).await?;
    actor.commit().await
}

/// Soft-deletes (sessions end; restorable while its short name is free) or
/// restores a customer tenant. Needs `tenant:delete`.
pub async fn set_deleted(tenant_id: TenantId, deleted: bool) -> Result<(), AppError> {
    let mut actor = require_platform(Perm::TenantDelete).await?;
    let (row, _, _) = enter(&mut actor, tenant_id).await?;
    if row.kind == TenantKind::Platform {
        return Err(AppError::Conflict("The platform tenant cannot be suspended or deleted.".into()));
    }
    if row.deleted == deleted {
        return Ok(());
    }
    sqlx::query!("UPDATE tenants SET deleted_at = CASE WHEN $2 THEN now() END, version = version + 1, updated_at = now() WHERE id = $1", tenant_id.0, deleted)
        .execute(actor.conn())
        .await
        .map_err(|e| crate::error::on_conflict(e, "Another tenant now uses this short name: it cannot be restored under it."))?;
    if deleted {
        crate::auth::credentials::end_sessions(actor.conn(), tenant_id, None, None).await?;
        crate::auth::reset::end_tenant_links(actor.conn(), tenant_id).await?;
    }
    let action = if deleted { "tenant.delete" } else { "tenant.restore" };
    audit_both(&mut actor, tenant_id, action, Some(json!({ "deleted": !deleted })), Some(json!({ "deleted": deleted }))).await?;
    actor.commit().await
}

/// Finds a live tenant by short name for platform staff switching into it
/// for `minutes` with a stated reason, and records the switch (with the
/// reason and its end) in that tenant's chain and the platform's. Needs
/// `support:cross_tenant`. Returning to the platform tenant itself needs no
/// reason and records nothing here.
pub async fn enter_by_slug(slug: &str, reason: &str, minutes: u32) -> Result<(TenantSummary, i64), AppError> {
    let mut actor = require_platform(Perm::SupportCrossTenant).await?;
    let slug = super::parse_slug(slug).map_err(|m| crate::error::AppError::invalid("slug", m))?;
    let found: Option<(TenantId, String, String, TenantKind, TenantStatus, bool)> =
        sqlx::query!(r#"SELECT id AS "id!: TenantId", slug AS "slug!: String", name AS "name!: String", kind AS "kind!: TenantKind", status AS "status!: TenantStatus", deleted AS "deleted!: bool" FROM steward_platform_tenant_by_slug($1)"#, &slug).map(|r| (r.id, r.slug, r.name, r.kind, r.status, r.deleted))
            .fetch_optional(actor.conn())
            .await?;
    let Some((id, slug, name, kind, status, false)) = found else {
        return Err(crate::error::AppError::invalid("slug", "There is no tenant with that short name."));
    };
    let summary = TenantSummary { id, slug, name, kind };
    let until = chrono::Utc::now().timestamp() + i64::from(minutes) * 60;
    if Some(id) != actor.me().platform_home() {
        let reason = reason.trim();
        if let Some(problem) = super::acting_reason_problem(reason) {
            return Err(crate::error::AppError::invalid("reason", problem));
        }
        if status != TenantStatus::Active {
            return Err(crate::error::AppError::invalid("slug", "That tenant is suspended: reactivate it first to act inside it."));
        }
        actor.enter_tenant(id).await?;
        let until_text = chrono::DateTime::from_timestamp(until, 0).map(|t| t.to_rfc3339()).unwrap_or_default();
        audit_both(&mut actor, id, "platform.act_in_tenant", None, Some(json!({ "reason": reason, "until": until_text, "minutes": minutes }))).await?;
    }
    actor.commit().await?;
    Ok((summary, until))
}

