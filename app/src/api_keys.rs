//! API keys for integration developers: made by a signed-in person for the
//! JSON API (`/api/v1`), shown once, stored as a SHA-256 hash, limited to
//! scopes the maker holds (and, at each request, to what they still hold),
//! with an expiry, revocation and a last-used time.

use crate::components::{outcome, DataTable, Field, PageHeader, ALERT, BUTTON, BUTTON_QUIET, CARD, LABEL, NOTICE, SELECT, TD};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Every key starts with this.
pub const KEY_PREFIX: &str = "stw_";
/// The random part: 32 characters of base32 (160 bits).
pub const SECRET_LENGTH: usize = 32;

/// Splits a key into its tenant and the whole key, when it has the shape
/// `stw_<tenant id, 32 hex digits>_<32 characters a-z, 2-7>`.
pub fn parse_key(text: &str) -> Option<Uuid> {
    let rest = text.strip_prefix(KEY_PREFIX)?;
    let (tenant, secret) = rest.split_once('_')?;
    if tenant.len() != 32 || !tenant.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    if secret.len() != SECRET_LENGTH || !secret.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)) {
        return None;
    }
    Uuid::parse_str(tenant).ok()
}

/// One of the caller's keys, as their list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub name: String,
    /// `stw_` and the first characters of the secret, to tell keys apart.
    pub shown: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: String,
    /// active, expired or revoked
    pub state: String,
}

/// A key just made: the only time its full text is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub id: Uuid,
    pub key: String,
}

/// Needs a signed-in person: their own keys, newest first.
#[server(endpoint = "list_api_keys")]
pub async fn list_api_keys() -> Result<Vec<ApiKeyRow>, AppError> {
    crate::ssr::respond(ssr::list().await)
}

/// Needs a signed-in person, who types their password again (and a code of
/// their second factor when it is on): makes a key acting as them with
/// `scopes` (permission keys they hold), expiring after `expires_in_days`
/// (1 up to their organisation's limit, 90 unless set; empty for the limit).
#[server(endpoint = "create_api_key")]
pub async fn create_api_key(
    name: String,
    scopes: Option<Vec<String>>,
    expires_in_days: Option<String>,
    #[server(default)] current_password: String,
    #[server(default)] code: String,
) -> Result<NewApiKey, AppError> {
    crate::ssr::respond(ssr::create(&name, scopes.unwrap_or_default(), expires_in_days.as_deref().unwrap_or(""), &current_password, &code).await)
}

/// Another person's keys, for administrators. Needs `user:read`, and the
/// person's grants within the caller's.
#[server(endpoint = "list_user_api_keys")]
pub async fn list_user_api_keys(user_id: Uuid) -> Result<Vec<ApiKeyRow>, AppError> {
    crate::ssr::respond(ssr::list_of(user_id).await)
}

/// Revokes another person's key. Needs `user:revoke_sessions`, and the
/// person's grants within the caller's.
#[server(endpoint = "revoke_user_api_key")]
pub async fn revoke_user_api_key(user_id: Uuid, key_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond_form(ssr::revoke_of(user_id, key_id).await, &[], "Key revoked.")
}

/// The organisation's longest API key lifetime, in days. Needs `role:read`.
#[server(endpoint = "get_api_key_max_days")]
pub async fn get_api_key_max_days() -> Result<i32, AppError> {
    crate::ssr::respond(ssr::max_days().await)
}

/// Sets the organisation's longest API key lifetime (1 to 365 days; keys
/// made before keep their expiry). Needs `role:manage`.
#[server(endpoint = "set_api_key_max_days")]
pub async fn set_api_key_max_days(days: String) -> Result<(), AppError> {
    crate::ssr::respond_form(ssr::set_max_days(&days).await, &[("days", &days)], "Saved.")
}

/// Needs a signed-in person: revokes one of their own keys.
#[server(endpoint = "revoke_api_key")]
pub async fn revoke_api_key(key_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond_form(ssr::revoke(key_id).await, &[], "Key revoked.")
}

#[cfg(feature = "ssr")]
pub mod ssr {
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
}

/// `/account/api-keys`: the caller's keys, a form to make one (the key is
/// shown once), and revoking.
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let me = expect_context::<crate::nav::MeResource>();
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let created = crate::components::successes(create);
    let revoked = crate::components::successes(revoke);
    let keys = Resource::new(move || (created.get(), revoked.get()), |_| list_api_keys());
    let error = move |name: &'static str| crate::components::field_error(create, name);
    // The permissions the person holds: a key may carry no others.
    let held: Vec<String> = me.0.get_untracked().and_then(|r| r.ok()).flatten().map(|m| m.permissions).unwrap_or_default();
    view! {
        <Title text="API keys" />
        <PageHeader title="API keys" purpose="Keys let a program use Steward's JSON API (/api/v1) as you, limited to the permissions you choose." />
        <crate::account::AccountTabs current="/account/api-keys" />
        <div class="space-y-6">
            <section class=format!("{CARD} max-w-3xl") aria-labelledby="new-key-heading">
                <h2 id="new-key-heading" class="text-base font-semibold">"New key"</h2>
                {move || create.value().get().and_then(|r| r.ok()).map(|k| view! {
                    <div role="status" class=format!("{NOTICE} mt-3 space-y-1") data-testid="new-api-key">
                        <p>"Copy the key now: it is not shown again."</p>
                        <p class="font-mono break-all" data-testid="api-key-text">{k.key}</p>
                    </div>
                })}
                {move || create.value().get().and_then(|r| r.err()).filter(|e| !matches!(e, AppError::Validation(_))).map(|e| view! { <p role="alert" class=ALERT>{e.to_string()}</p> })}
                <ActionForm action=create attr:class="mt-3 space-y-4">
                    <Field name="name" label="Name" hint="What will use it, such as \"HR sync\"." error=error("name") />
                    <fieldset class="space-y-1">
                        <legend class=LABEL>"Permissions"</legend>
                        <div class="grid grid-cols-2 gap-1 text-sm sm:grid-cols-3">
                            {held.into_iter().map(|p| view! {
                                <label class="inline-flex items-center gap-2">
                                    <input type="checkbox" name="scopes[]" value=p.clone() />
                                    <span class="font-mono text-xs">{p}</span>
                                </label>
                            }).collect_view()}
                        </div>
                        <p class="text-sm text-red-600 dark:text-red-400" data-testid="scopes-error">{move || error("scopes").get()}</p>
                    </fieldset>
                    <div class="max-w-xs space-y-1">
                        <label for="expires_in_days" class=LABEL>"Expires"</label>
                        <select id="expires_in_days" name="expires_in_days" class=SELECT>
                            <option value="7">"in 7 days"</option>
                            <option value="30">"in 30 days"</option>
                            <option value="" selected>"as late as allowed (90 days unless your organisation says otherwise)"</option>
                        </select>
                        <p class="text-sm text-red-600 dark:text-red-400">{move || error("expires_in_days").get()}</p>
                    </div>
                    <Field name="current_password" label="Your password" kind="password" autocomplete="current-password" error=error("current_password") hint="Asked again: a key works without you." />
                    <Field name="code" label="A code from your app (when two-factor sign-in is on)" autocomplete="one-time-code" optional=true error=error("code") />
                    <button type="submit" class=BUTTON data-testid="create-api-key">"Make key"</button>
                </ActionForm>
            </section>
            <section class=CARD aria-labelledby="keys-heading">
                <h2 id="keys-heading" class="text-base font-semibold">"Your keys"</h2>
                {outcome(revoke, "Key revoked.")}
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match keys.await {
                            Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                            Ok(rows) if rows.is_empty() => view! { <p class="mt-2 text-sm text-slate-500">"No keys yet."</p> }.into_any(),
                            Ok(rows) => view! {
                                <DataTable testid="api-keys" columns=&["Name", "Key", "Permissions", "Expires", "Last used", "State", ""] class="mt-3">
                                        {rows.into_iter().map(|k| view! {
                                            <tr data-testid="api-key-row">
                                                <td class=TD>{k.name}</td>
                                                <td class=format!("{TD} font-mono text-xs")>{k.shown}</td>
                                                <td class=format!("{TD} font-mono text-xs")>{k.scopes.join(" ")}</td>
                                                <td class=TD>{k.expires_at}</td>
                                                <td class=TD>{k.last_used_at}</td>
                                                <td class=TD>{k.state.clone()}</td>
                                                <td class=TD>
                                                    {(k.state == "active").then(|| view! {
                                                        <ActionForm action=revoke>
                                                            <input type="hidden" name="key_id" value=k.id.to_string() />
                                                            <button type="submit" class=BUTTON_QUIET data-testid="revoke-api-key">"Revoke"</button>
                                                        </ActionForm>
                                                    })}
                                                </td>
                                            </tr>
                                        }).collect_view()}
                                </DataTable>
                            }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </div>
    }
}

/// `/users/{id}/api-keys`, for administrators: a person's API keys, and
/// revoking them (the delegation rule applies: only for people whose grants
/// are within one's own; otherwise the sentence why).
#[component]
pub fn UserApiKeysPage() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let user_id = move || params.read().get("id").and_then(|id| Uuid::parse_str(&id).ok()).unwrap_or_default();
    let me = expect_context::<crate::nav::MeResource>();
    let revoke = ServerAction::<RevokeUserApiKey>::new();
    let revoked = crate::components::successes(revoke);
    let keys = Resource::new(move || (user_id(), revoked.get()), |(id, _)| list_user_api_keys(id));
    view! {
        <Title text="API keys of a person" />
        <PageHeader title="API keys of a person" purpose="Keys this person made for the JSON API. Revoking one stops it at once.">
            <a href=move || format!("/users/{}", user_id()) class=BUTTON_QUIET>"Back to the person"</a>
        </PageHeader>
        <section class=CARD data-testid="user-api-keys">
            {outcome(revoke, "Key revoked.")}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let may_revoke = me.can("user:revoke_sessions");
                    match keys.await {
                        Err(e) => view! { <p role="alert" class=ALERT>{e.to_string()}</p> }.into_any(),
                        Ok(rows) if rows.is_empty() => view! { <p class="text-sm text-slate-500">"No keys."</p> }.into_any(),
                        Ok(rows) => view! {
                            <DataTable testid="user-api-key-table" columns=&["Name", "Key", "Permissions", "Expires", "Last used", "State", ""]>
                                {rows.into_iter().map(|k| view! {
                                    <tr data-testid="user-api-key">
                                        <td class=TD>{k.name}</td>
                                        <td class=format!("{TD} font-mono text-xs")>{k.shown}</td>
                                        <td class=format!("{TD} font-mono text-xs")>{k.scopes.join(" ")}</td>
                                        <td class=TD>{k.expires_at}</td>
                                        <td class=TD>{k.last_used_at}</td>
                                        <td class=TD>{k.state.clone()}</td>
                                        <td class=TD>
                                            {(may_revoke && k.state == "active").then(|| view! {
                                                <ActionForm action=revoke>
                                                    <input type="hidden" name="user_id" value=user_id().to_string() />
                                                    <input type="hidden" name="key_id" value=k.id.to_string() />
                                                    <button type="submit" class=BUTTON_QUIET data-testid="revoke-user-api-key">"Revoke"</button>
                                                </ActionForm>
                                            })}
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </DataTable>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// On the roles page: how long the organisation's API keys may live.
#[component]
pub fn ApiKeyLifetimeCard(editable: bool) -> impl IntoView {
    let save = ServerAction::<SetApiKeyMaxDays>::new();
    let saved = crate::components::successes(save);
    let days = Resource::new(move || saved.get(), |_| get_api_key_max_days());
    view! {
        <section class=format!("{CARD} mb-6") aria-labelledby="key-lifetime-heading" data-testid="api-key-lifetime">
            <h2 id="key-lifetime-heading" class="text-base font-semibold">"API keys"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let current = days.await.unwrap_or(90);
                    view! {
                        <ActionForm action=save attr:class="mt-3 flex flex-wrap items-end gap-3">
                            <div class="space-y-1">
                                <label for="days" class=LABEL>"Longest lifetime of a key, in days"</label>
                                <input id="days" name="days" type="number" min="1" max="365" value=current.to_string() disabled=!editable class=crate::components::INPUT />
                            </div>
                            {editable.then(|| view! { <button type="submit" class=crate::components::BUTTON_SECONDARY data-testid="save-key-lifetime">"Save"</button> })}
                        </ActionForm>
                        {outcome(save, "Saved. It applies to keys made from now on.")}
                    }
                })}
            </Transition>
        </section>
    }
}
