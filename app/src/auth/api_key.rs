//! API keys as credentials: their shape, and the principal a presented key
//! acts as. The keys' own screens are the `api_keys` area.

use uuid::Uuid;

/// Every key starts with this.
pub const KEY_PREFIX: &str = "stw_";

/// The random part: 32 characters of base32 (160 bits).
pub const SECRET_LENGTH: usize = 32;

/// Splits a key into its tenant and the whole key, when it has the shape
/// `stw_<tenant id, 32 hex digits>_<32 characters a-z, 2-7>`.
pub fn parse_key(text: &str) -> Option<crate::ids::TenantId> {
    let rest = text.strip_prefix(KEY_PREFIX)?;
    let (tenant, secret) = rest.split_once('_')?;
    if tenant.len() != 32 || !tenant.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    if secret.len() != SECRET_LENGTH || !secret.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)) {
        return None;
    }
    Uuid::parse_str(tenant).ok().map(crate::ids::TenantId)
}

#[cfg(feature = "ssr")]
pub use lookup::*;

#[cfg(feature = "ssr")]
mod lookup {
    use super::parse_key;
    use crate::auth::ssr::{resolve_principal, SessionAuth};
    use crate::auth::Me;
    use crate::error::AppError;
    use crate::ssr::AppState;
    use chrono::{DateTime, Utc};
    use sha2::{Digest, Sha256};
    use std::sync::Arc;
    use uuid::Uuid;

    /// What is stored of a key: its SHA-256, in hex.
    pub fn hash(key: &str) -> String {
        Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
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
    pub async fn principal(state: &AppState, key: &str) -> Result<Result<(Arc<Me>, Uuid), KeyRefusal>, AppError> {
        let Some(tenant_id) = parse_key(key) else { return Ok(Err(KeyRefusal::Malformed)) };
        let mut tx = state.pool.begin().await?;
        type Row = (Uuid, crate::ids::UserId, Vec<String>, Option<DateTime<Utc>>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
        let row: Option<Row> = sqlx::query!(r#"SELECT key_id AS "key_id!: Uuid", user_id AS "user_id!: crate::ids::UserId", scopes AS "scopes!: Vec<String>", expires_at AS "expires_at?: DateTime<Utc>", revoked_at AS "revoked_at?: DateTime<Utc>", last_used_at AS "last_used_at?: DateTime<Utc>" FROM steward_api_key_lookup($1, $2)"#, tenant_id.0, hash(key)).map(|r| (r.key_id, r.user_id, r.scopes, r.expires_at, r.revoked_at, r.last_used_at))
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
            sqlx::query!("UPDATE api_keys SET last_used_at = now() WHERE tenant_id = $1 AND id = $2", tenant_id.0, key_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        let Some(me) = resolve_principal(state, &SessionAuth { tenant_id, user_id }).await? else {
            return Ok(Err(KeyRefusal::Unknown));
        };
        let mut narrowed = (*me).clone();
        narrowed.permissions.retain(|p| scopes.binary_search(p).is_ok());
        narrowed.views.clear();
        narrowed.menu.clear();
        Ok(Ok((Arc::new(narrowed), key_id)))
    }
}
