//! The area's server side: what its server functions and handlers call,
//! each authorising first through the spine.

use crate::ids::{TenantId, UserId};
use super::{ApiKeyRow, NewApiKey, KEY_PREFIX};
use crate::audit::record::{record, Event};
use crate::authz::ssr::{require_self, Own};
use crate::error::{AppError, FieldError};
use chrono::{DateTime, Utc};
use uuid::Uuid;


fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(crate::text::when).unwrap_or_default()
}

async fn own() -> Result<Own, AppError> {
    let own = require_self().await?;
    if own.me().acting_from.is_some() {
        // Keys act in their maker's own tenant; platform staff acting
        // elsewhere make them from home.
        return Err(AppError::Refused("Stop acting inside the other organisation to manage your API keys.".into()));
    }
    Ok(own)
}

pub async fn list() -> Result<Vec<ApiKeyRow>, AppError> {
    let own = own().await?;
    let (me, home) = (own.me(), own.home());
    let mut tx = own.transaction().await?;
    let rows = rows_of(&mut tx, home, me.user_id).await?;
    tx.commit().await?;
    Ok(rows)
}

/// Another person's keys (administrators').
pub async fn list_of(user_id: UserId) -> Result<Vec<ApiKeyRow>, AppError> {
    let mut actor = crate::authz::ssr::require(crate::authz::Perm::UserRead).await?;
    let tenant_id = actor.tenant_id();
    sqlx::query_scalar!("SELECT id FROM users WHERE tenant_id = $1 AND id = $2", tenant_id.0, user_id.0).fetch_optional(actor.conn()).await?.ok_or(AppError::NotFound)?;
    crate::authz::delegation::ensure_may_act_on(&mut actor, user_id, "list the API keys of").await?;
    let rows = rows_of(actor.conn(), tenant_id, user_id).await?;
    actor.commit().await?;
    Ok(rows)
}

/// Revokes another person's key (administrators').
pub async fn revoke_of(user_id: UserId, key_id: Uuid) -> Result<(), AppError> {
    let mut actor = crate::authz::ssr::require(crate::authz::Perm::UserRevokeSessions).await?;
    let tenant_id = actor.tenant_id();
    sqlx::query_scalar!("SELECT id FROM users WHERE tenant_id = $1 AND id = $2", tenant_id.0, user_id.0).fetch_optional(actor.conn()).await?.ok_or(AppError::NotFound)?;
    crate::authz::delegation::ensure_may_act_on(&mut actor, user_id, "revoke the API keys of").await?;
    let done = sqlx::query!("UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND id = $2 AND user_id = $3 AND revoked_at IS NULL", tenant_id.0, key_id, user_id.0)
        .execute(actor.conn())
        .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    actor.audit("api_key.revoke", "api_key", key_id, None, Some(serde_json::json!({ "user": user_id }))).await?;
    actor.commit().await
}


async fn rows_of(conn: &mut sqlx::PgConnection, tenant_id: TenantId, user_id: UserId) -> Result<Vec<ApiKeyRow>, AppError> {
    type Row = (Uuid, String, String, Vec<String>, DateTime<Utc>, Option<DateTime<Utc>>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let rows: Vec<Row> = sqlx::query!(r#"SELECT id AS "id!: Uuid", name AS "name!: String", prefix AS "prefix!: String", scopes AS "scopes!: Vec<String>", created_at AS "created_at!: DateTime<Utc>", expires_at AS "expires_at?: DateTime<Utc>", last_used_at AS "last_used_at?: DateTime<Utc>", revoked_at AS "revoked_at?: DateTime<Utc>" FROM api_keys WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at DESC LIMIT 200"#, tenant_id.0, user_id.0).map(|r| (r.id, r.name, r.prefix, r.scopes, r.created_at, r.expires_at, r.last_used_at, r.revoked_at))
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
    let own = own().await?;
    let (me, home, meta) = (own.me(), own.home(), own.meta());
    let max_days: i64 = {
        let mut tx = own.transaction().await?;
        let days: i32 = sqlx::query_scalar!("SELECT api_key_max_days FROM tenants WHERE id = $1", home.0).fetch_one(&mut *tx).await?;
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
    crate::account::ssr::reauthenticate(&own, current_password, "api_key.create_refused").await?;
    crate::account::ssr::check_own_code(&own, code, "api_key.create_refused").await?;
    let secret = {
        use aes_gcm::aead::{rand_core::RngCore, OsRng};
        let mut bytes = [0u8; 20];
        OsRng.fill_bytes(&mut bytes);
        crate::auth::mfa::base32(&bytes).to_lowercase()
    };
    let key = format!("{KEY_PREFIX}{}_{secret}", home.0.simple());
    let mut tx = own.transaction().await?;
    let id: Uuid = sqlx::query_scalar!("INSERT INTO api_keys (tenant_id, user_id, name, prefix, key_hash, scopes, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(days => $7::int)) RETURNING id", home.0, me.user_id.0, name, &secret[..6], crate::auth::api_key::hash(&key), &scopes, expires_days.map(|d| d as i32))
    .fetch_one(&mut *tx)
    .await?;
    let mut event = Event::by_user(home, me.user_id, "api_key.create", None);
    event.entity_type = Some("api_key");
    let id_text = id.to_string();
    event.entity_id = Some(id_text);
    event.after = Some(serde_json::json!({ "name": name, "scopes": scopes, "expires_in_days": expires_days }));
    record(&mut tx, meta, event).await?;
    tx.commit().await?;
    Ok(NewApiKey { id, key })
}

pub async fn revoke(key_id: Uuid) -> Result<(), AppError> {
    let own = own().await?;
    let (me, home, meta) = (own.me(), own.home(), own.meta());
    let mut tx = own.transaction().await?;
    let done = sqlx::query!("UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND id = $2 AND user_id = $3 AND revoked_at IS NULL", home.0, key_id, me.user_id.0)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    let mut event = Event::by_user(home, me.user_id, "api_key.revoke", None);
    event.entity_type = Some("api_key");
    event.entity_id = Some(key_id.to_string());
    record(&mut tx, meta, event).await?;
    tx.commit().await?;
    Ok(())
}

