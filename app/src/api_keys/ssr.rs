//! The area's server side: what its server functions and handlers call,
//! each authorising first through the spine.

use super::{ApiKeyRow, NewApiKey, KEY_PREFIX};
use crate::audit::record::{record, Event, RequestMeta};
use crate::auth::ssr::{resolve_principal, PrincipalCache, SessionAuth};
use crate::auth::Me;
use crate::error::{AppError, FieldError};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::sync::Arc;
use uuid::Uuid;

fn hash(key: &str) -> String {
    Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}

fn own() -> Result<(Arc<Me>, Uuid, PgPool, RequestMeta), AppError> {
    let me = crate::ssr::current_user().ok_or(AppError::Unauthenticated)?;
    let home = me.acting_from.as_ref().unwrap_or(&me.tenant).id;
    if me.acting_from.is_some() {
        // Keys act in their maker's own tenant; platform staff acting
        // elsewhere make them from home.
        return Err(AppError::Refused("Stop acting inside the other organisation to manage your API keys.".into()));
    }
    Ok((me, home, crate::ssr::app_state()?.pool.clone(), crate::authz::ssr::request_meta()))
}

pub async fn list() -> Result<Vec<ApiKeyRow>, AppError> {
    let (me, home, pool, _) = own()?;
    let mut tx = pool.begin().await?;
    crate::db::scope_to_tenant(&mut tx, home).await?;
    let rows = rows_of(&mut tx, home, me.user_id).await?;
    tx.commit().await?;
    Ok(rows)
}

/// Another person's keys (administrators').
pub async fn list_of(user_id: Uuid) -> Result<Vec<ApiKeyRow>, AppError> {
    let mut actor = crate::authz::ssr::require(crate::authz::Perm::UserRead).await?;
    let tenant_id = actor.tenant_id();
    sqlx::query_scalar::<_, Uuid>("SELECT id FROM users WHERE tenant_id = $1 AND id = $2").bind(tenant_id).bind(user_id).fetch_optional(actor.conn()).await?.ok_or(AppError::NotFound)?;
    crate::authz::delegation::ensure_may_act_on(&mut actor, user_id, "list the API keys of").await?;
    let rows = rows_of(actor.conn(), tenant_id, user_id).await?;
    actor.commit().await?;
    Ok(rows)
}

/// Revokes another person's key (administrators').
pub async fn revoke_of(user_id: Uuid, key_id: Uuid) -> Result<(), AppError> {
    let mut actor = crate::authz::ssr::require(crate::authz::Perm::UserRevokeSessions).await?;
    let tenant_id = actor.tenant_id();
    sqlx::query_scalar::<_, Uuid>("SELECT id FROM users WHERE tenant_id = $1 AND id = $2").bind(tenant_id).bind(user_id).fetch_optional(actor.conn()).await?.ok_or(AppError::NotFound)?;
    crate::authz::delegation::ensure_may_act_on(&mut actor, user_id, "revoke the API keys of").await?;
    let done = sqlx::query("UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND id = $2 AND user_id = $3 AND revoked_at IS NULL")
        .bind(tenant_id)
        .bind(key_id)
        .bind(user_id)
        .execute(actor.conn())
        .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    actor.audit("api_key.revoke", "api_key", key_id, None, Some(serde_json::json!({ "user": user_id }))).await?;
    actor.commit().await
}

pub async fn max_days() -> Result<i32, AppError> {
    let mut actor = crate::authz::ssr::require(crate::authz::Perm::RoleRead).await?;
    let tenant_id = actor.tenant_id();
    let days: i32 = sqlx::query_scalar("SELECT api_key_max_days FROM tenants WHERE id = $1").bind(tenant_id).fetch_one(actor.conn()).await?;
    actor.commit().await?;
    Ok(days)
}

pub async fn set_max_days(days: &str) -> Result<(), AppError> {
    let mut actor = crate::authz::ssr::require(crate::authz::Perm::RoleManage).await?;
    let days: i32 = match days.trim().parse() {
        Ok(d) if (1..=365).contains(&d) => d,
        _ => return Err(AppError::Validation(vec![FieldError { field: "days".into(), message: "Give 1 to 365 days.".into() }])),
    };
    let tenant_id = actor.tenant_id();
    let before: i32 = sqlx::query_scalar("SELECT api_key_max_days FROM tenants WHERE id = $1 FOR UPDATE").bind(tenant_id).fetch_one(actor.conn()).await?;
    if before == days {
        return Ok(());
    }
    sqlx::query("UPDATE tenants SET api_key_max_days = $2 WHERE id = $1").bind(tenant_id).bind(days).execute(actor.conn()).await?;
    actor
        .audit("tenant.api_key_max_days", "tenant", tenant_id, Some(serde_json::json!({ "api_key_max_days": before })), Some(serde_json::json!({ "api_key_max_days": days })))
        .await?;
    actor.commit().await
}

async fn rows_of(conn: &mut sqlx::PgConnection, tenant_id: Uuid, user_id: Uuid) -> Result<Vec<ApiKeyRow>, AppError> {
    type Row = (Uuid, String, String, Vec<String>, DateTime<Utc>, Option<DateTime<Utc>>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, name, prefix, scopes, created_at, expires_at, last_used_at, revoked_at
           FROM api_keys WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at DESC LIMIT 200",
    )
    .bind(tenant_id)
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .map(|(id, name, prefix, scopes, created, expires, used, revoked)| ApiKeyRow {
            id,
            name,
            shown: format!("{KEY_PREFIX}…{prefix}"),
            scopes,
            created_at: when(Some(created)),
            expires_at: expires.map(|e| when(Some(e))).unwrap_or_else(|| "never".into()),
            last_used_at: used.map(|u| when(Some(u))).unwrap_or_else(|| "never".into()),
            state: if revoked.is_some() {
                "revoked"
            } else if expires.is_some_and(|e| e <= now) {
                "expired"
            } else {
                "active"
            }
            .into(),
        })
        .collect())
}

pub async fn create(name: &str, scopes: Vec<String>, expires_in_days: &str, current_password: &str, code: &str) -> Result<NewApiKey, AppError> {
    let (me, home, pool, meta) = own()?;
    let max_days: i64 = {
        let mut tx = pool.begin().await?;
        crate::db::scope_to_tenant(&mut tx, home).await?;
        let days: i32 = sqlx::query_scalar("SELECT api_key_max_days FROM tenants WHERE id = $1").bind(home).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        i64::from(days)
    };
    let name = name.trim();
    let mut errors = Vec::new();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.push(FieldError { field: "name".into(), message: "Name the key (1 to 100 characters), after what will use it.".into() });
    }
    let mut scopes: Vec<String> = scopes.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        errors.push(FieldError { field: "scopes".into(), message: "Choose at least one permission for the key.".into() });
    } else if let Some(extra) = scopes.iter().find(|s| !me.can(s)) {
        errors.push(FieldError { field: "scopes".into(), message: format!("You do not hold {extra}, so a key of yours cannot either.") });
    }
    let days = expires_in_days.trim();
    let expires_days: Option<i64> = if days.is_empty() {
        Some(max_days)
    } else {
        match days.parse::<i64>() {
            Ok(d) if (1..=max_days).contains(&d) => Some(d),
            _ => {
                errors.push(FieldError {
                    field: "expires_in_days".into(),
                    message: format!("Give 1 to {max_days} days: your organisation's keys live {max_days} days at most."),
                });
                None
            }
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    // A stolen session alone must not mint a lasting credential.
    crate::account::ssr::reauthenticate(&pool, &me, &meta, current_password, "api_key.create_refused").await?;
    crate::account::ssr::check_own_code(&pool, &me, &meta, code, "api_key.create_refused").await?;
    let secret = {
        use aes_gcm::aead::{rand_core::RngCore, OsRng};
        let mut bytes = [0u8; 20];
        OsRng.fill_bytes(&mut bytes);
        crate::auth::mfa::base32(&bytes).to_lowercase()
    };
    let key = format!("{KEY_PREFIX}{}_{secret}", home.simple());
    let mut tx = pool.begin().await?;
    crate::db::scope_to_tenant(&mut tx, home).await?;
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO api_keys (tenant_id, user_id, name, prefix, key_hash, scopes, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(days => $7::int)) RETURNING id",
    )
    .bind(home)
    .bind(me.user_id)
    .bind(name)
    .bind(&secret[..6])
    .bind(hash(&key))
    .bind(&scopes)
    .bind(expires_days.map(|d| d as i32))
    .fetch_one(&mut *tx)
    .await?;
    let mut event = Event::by_user(home, me.user_id, "api_key.create", None);
    event.entity_type = Some("api_key");
    let id_text = id.to_string();
    event.entity_id = Some(id_text);
    event.after = Some(serde_json::json!({ "name": name, "scopes": scopes, "expires_in_days": expires_days }));
    record(&mut tx, &meta, event).await?;
    tx.commit().await?;
    Ok(NewApiKey { id, key })
}

pub async fn revoke(key_id: Uuid) -> Result<(), AppError> {
    let (me, home, pool, meta) = own()?;
    let mut tx = pool.begin().await?;
    crate::db::scope_to_tenant(&mut tx, home).await?;
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(home)
    .bind(key_id)
    .bind(me.user_id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    let mut event = Event::by_user(home, me.user_id, "api_key.revoke", None);
    event.entity_type = Some("api_key");
    event.entity_id = Some(key_id.to_string());
    record(&mut tx, &meta, event).await?;
    tx.commit().await?;
    Ok(())
}

/// Why a presented key does not authenticate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRefusal {
    Missing,
    Malformed,
    Unknown,
    Revoked,
    Expired,
}

impl KeyRefusal {
    pub fn message(self) -> &'static str {
        match self {
            KeyRefusal::Missing => "Send an API key as `Authorization: Bearer stw_…`. Keys are made under your name in the console (API keys).",
            KeyRefusal::Malformed => "That is not an API key: keys look like stw_ followed by 32 hexadecimal digits, _ and 32 characters.",
            KeyRefusal::Unknown => "That API key is not known, or its owner can no longer sign in.",
            KeyRefusal::Revoked => "That API key was revoked.",
            KeyRefusal::Expired => "That API key has expired.",
        }
    }
}

/// The principal a key acts as: its maker, with their permissions
/// narrowed to the key's scopes (and no views). Refused keys say why.
pub async fn principal(pool: &PgPool, cache: &PrincipalCache, key: &str) -> Result<Result<(Arc<Me>, Uuid), KeyRefusal>, AppError> {
    let Some(tenant_id) = super::parse_key(key) else { return Ok(Err(KeyRefusal::Malformed)) };
    let mut tx = pool.begin().await?;
    type Row = (Uuid, Uuid, Vec<String>, Option<DateTime<Utc>>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT key_id, user_id, scopes, expires_at, revoked_at, last_used_at FROM steward_api_key_lookup($1, $2)",
    )
    .bind(tenant_id)
    .bind(hash(key))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((key_id, user_id, scopes, expires, revoked, used)) = row else { return Ok(Err(KeyRefusal::Unknown)) };
    if revoked.is_some() {
        return Ok(Err(KeyRefusal::Revoked));
    }
    let now = Utc::now();
    if expires.is_some_and(|e| e <= now) {
        return Ok(Err(KeyRefusal::Expired));
    }
    // Last use, written at most once a minute.
    if used.is_none_or(|u| (now - u).num_seconds() >= 60) {
        sqlx::query("UPDATE api_keys SET last_used_at = now() WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(key_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    let Some(me) = resolve_principal(pool, cache, &SessionAuth { tenant_id, user_id }).await? else {
        return Ok(Err(KeyRefusal::Unknown));
    };
    let mut narrowed = (*me).clone();
    narrowed.permissions.retain(|p| scopes.binary_search(p).is_ok());
    narrowed.views.clear();
    narrowed.menu.clear();
    Ok(Ok((Arc::new(narrowed), key_id)))
}
