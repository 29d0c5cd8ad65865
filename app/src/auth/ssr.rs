//! Server side of signing in: the session record, resolving the principal of
//! a request, and the sign-in transaction.

use super::{password, safe_next, Me, MenuSection, SignInPrefill, TenantSummary};
use crate::error::{AppError, FieldError};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::sync::Arc;
use tower_sessions::Session;
use uuid::Uuid;

/// The session key under which the signed-in identity is stored.
pub const SESSION_AUTH_KEY: &str = "steward.auth";
/// The cookie that remembers what the sign-in form typed (never the password).
pub const HINT_COOKIE: &str = "steward_sign_in";

/// What a session remembers of who signed in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionAuth {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
}

/// The principal of the current request, put into the request's extensions
/// by the server's authentication middleware before any page or server
/// function runs. `None` means nobody is signed in.
#[derive(Clone, Debug, Default)]
pub struct CurrentUser(pub Option<Arc<Me>>);

/// Resolves a session's identity to a principal in one database round trip
/// (`steward_resolve_principal`). `None` when the user or tenant is no longer
/// active or was deleted: the session then no longer signs anyone in.
pub async fn resolve_principal(pool: &PgPool, auth: &SessionAuth) -> Result<Option<Me>, AppError> {
    let row = sqlx::query!(
        r#"SELECT user_id AS "user_id!", email AS "email!", display_name AS "display_name!",
                  tenant_id AS "tenant_id!", tenant_slug AS "tenant_slug!", tenant_name AS "tenant_name!",
                  tenant_kind AS "tenant_kind!", views AS "views!", permissions AS "permissions!",
                  menu AS "menu!"
             FROM steward_resolve_principal($1, $2)"#,
        auth.tenant_id,
        auth.user_id
    )
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let menu: Vec<MenuSection> = serde_json::from_value(row.menu).map_err(|error| {
        tracing::error!(%error, "menu from steward_resolve_principal does not parse");
        AppError::Internal
    })?;
    Ok(Some(Me {
        user_id: row.user_id,
        email: row.email,
        display_name: row.display_name,
        tenant: TenantSummary {
            id: row.tenant_id,
            slug: row.tenant_slug,
            name: row.tenant_name,
            kind: row.tenant_kind,
        },
        views: row.views,
        permissions: row.permissions,
        menu,
    }))
}

/// Reads the session's identity; a malformed record counts as signed out.
pub async fn session_auth(session: &Session) -> Option<SessionAuth> {
    session.get::<SessionAuth>(SESSION_AUTH_KEY).await.ok().flatten()
}

fn validate_sign_in(tenant: &str, email: &str, password: &str) -> Result<(), AppError> {
    let mut errors = Vec::new();
    if tenant.is_empty() {
        errors.push(FieldError { field: "tenant".into(), message: "Enter your organisation's short name.".into() });
    } else if tenant.len() > 63 {
        errors.push(FieldError { field: "tenant".into(), message: "That is longer than any organisation's short name (63 characters at most).".into() });
    }
    if email.is_empty() {
        errors.push(FieldError { field: "email".into(), message: "Enter your email address.".into() });
    } else if email.len() > 254 {
        errors.push(FieldError { field: "email".into(), message: "An email address has 254 characters at most.".into() });
    }
    if password.is_empty() {
        errors.push(FieldError { field: "password".into(), message: "Enter your password.".into() });
    } else if password.len() > 1024 {
        errors.push(FieldError { field: "password".into(), message: "A password has 1024 characters at most.".into() });
    }
    if errors.is_empty() { Ok(()) } else { Err(AppError::Validation(errors)) }
}

/// Signs a person in: checks the credentials, records the sign-in, cycles
/// the session id and stores the identity. Returns where to go next.
pub async fn sign_in(
    pool: &PgPool,
    session: &Session,
    tenant: &str,
    email: &str,
    password: &str,
    next: Option<&str>,
) -> Result<String, AppError> {
    let tenant = tenant.trim().to_lowercase();
    let email = email.trim();
    validate_sign_in(&tenant, email, password)?;

    let mut tx = pool.begin().await?;
    let found = sqlx::query!(
        r#"SELECT tenant_id AS "tenant_id!", tenant_status AS "tenant_status!", user_id, user_status,
                  password_hash
             FROM steward_sign_in_lookup($1, $2)"#,
        tenant,
        email
    )
    .fetch_optional(&mut *tx)
    .await?;

    let (account, stored_hash) = match found {
        Some(row) => match row.user_id {
            Some(user_id) => {
                let active = row.tenant_status == "active" && row.user_status.as_deref() == Some("active");
                (Some((row.tenant_id, user_id, active)), row.password_hash)
            }
            None => (None, None),
        },
        None => (None, None),
    };
    let verified = password::verify(password.to_string(), stored_hash).await;
    let Some((tenant_id, user_id, true)) = account.filter(|_| verified) else {
        return Err(AppError::SignInFailed);
    };

    sqlx::query!(
        "UPDATE users SET last_login_at = now() WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        user_id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;

    session.cycle_id().await.map_err(session_error)?;
    session
        .insert(SESSION_AUTH_KEY, SessionAuth { tenant_id, user_id })
        .await
        .map_err(session_error)?;
    Ok(safe_next(next))
}

/// Ends the session: the record is deleted from the store and the cookie
/// expires.
pub async fn sign_out(session: &Session) -> Result<(), AppError> {
    session.flush().await.map_err(session_error)
}

fn session_error(error: tower_sessions::session::Error) -> AppError {
    tracing::error!(%error, "session store error");
    AppError::Internal
}

/// Encodes the sign-in hint as a cookie value (percent-encoded `tenant\nemail`).
pub fn encode_hint(hint: &SignInPrefill) -> String {
    percent_encode(&format!("{}\n{}", hint.tenant, hint.email))
}

/// Reads the sign-in hint from a `Cookie` header.
pub fn decode_hint(cookie_header: &str) -> SignInPrefill {
    cookie_header
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == HINT_COOKIE)
        .and_then(|(_, value)| percent_decode(value))
        .and_then(|text| {
            text.split_once('\n').map(|(t, e)| SignInPrefill {
                tenant: t.chars().take(63).collect(),
                email: e.chars().take(254).collect(),
            })
        })
        .unwrap_or_default()
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'@' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_cookie_round_trips_and_ignores_other_cookies() {
        let hint = SignInPrefill { tenant: "acme".into(), email: "olivia+x@acme.test".into() };
        let header = format!("other=1; {HINT_COOKIE}={}; steward_session=abc", encode_hint(&hint));
        assert_eq!(decode_hint(&header), hint);
        assert_eq!(decode_hint("other=1"), SignInPrefill::default());
        assert_eq!(decode_hint(&format!("{HINT_COOKIE}=%ZZ")), SignInPrefill::default());
    }

    #[test]
    fn empty_sign_in_fields_are_named() {
        let Err(AppError::Validation(errors)) = validate_sign_in("", "", "") else { panic!("expected validation") };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["tenant", "email", "password"]);
    }
}
