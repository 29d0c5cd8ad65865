//! The one path from a server function to the database.

use super::{AccessTarget, Explanation, Grant, Perm};
use crate::audit::record::{record, Event, RequestMeta};
use crate::auth::Me;
use crate::error::AppError;
use crate::ssr::{app_state, current_user, request_parts};
use crate::db::scope_to_tenant;
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use std::sync::Arc;
use uuid::Uuid;

/// An authorised principal with a transaction scoped to their tenant. Every
/// write goes through it, and so does its audit event: [`Actor::audit`]
/// writes into the same transaction, [`Actor::commit`] commits both.
pub struct Actor {
    pub me: Arc<Me>,
    pub tx: Transaction<'static, Postgres>,
    pub meta: RequestMeta,
    /// The tenant the transaction is scoped to (events go to its chain).
    pub scope: Uuid,
    /// The primary pool, for what must outlive the action's transaction (a
    /// refusal's own event).
    pub pool: PgPool,
}

/// The request id, client address and user agent of the current request.
pub fn request_meta() -> RequestMeta {
    let Ok(parts) = request_parts() else { return RequestMeta::default() };
    meta_of(&parts.headers, &parts.extensions)
}

/// [`request_meta`] from a request's headers and extensions (for handlers
/// outside Leptos).
pub fn meta_of(headers: &axum::http::HeaderMap, extensions: &axum::http::Extensions) -> RequestMeta {
    RequestMeta {
        ip: client_ip(extensions),
        user_agent: headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string),
        request_id: extensions.get::<RequestId>().map(|r| r.0.clone()),
    }
}

/// The address a request is taken to come from: the peer of the connection,
/// or behind trusted proxies the client they name (set by the server's
/// `client_addr` layer).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub std::net::IpAddr);

/// The request's [`ClientAddr`], else the connection's peer.
pub fn client_ip(extensions: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    extensions
        .get::<ClientAddr>()
        .map(|c| c.0)
        .or_else(|| extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|info| info.0.ip()))
}

/// Set by the server for every request; appears in logs and audit events.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Authorises the current request for `perm`: 401 when nobody is signed in,
/// 403 (recorded as an `access.denied` event) without the permission.
pub async fn require(perm: Perm) -> Result<Actor, AppError> {
    let state = app_state()?;
    require_with(&state.pool, current_user(), request_meta(), perm).await
}

/// [`require`] for a handler outside Leptos (downloads, uploads), given the
/// request's principal and details.
pub async fn require_with(pool: &PgPool, me: Option<Arc<Me>>, meta: RequestMeta, perm: Perm) -> Result<Actor, AppError> {
    authorise(pool, pool, me, meta, perm).await
}

/// [`require`] for what only reads (lists, searches, the audit log): its
/// transaction is read-only and comes from the read pool, which is the
/// streaming replica of DATABASE_READ_URL when one is configured (and the
/// primary otherwise). A refusal is still recorded on the primary.
pub async fn require_read(perm: Perm) -> Result<Actor, AppError> {
    let state = app_state()?;
    let mut actor = authorise(&state.pool, &state.read_pool, current_user(), request_meta(), perm).await?;
    sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *actor.tx).await?;
    Ok(actor)
}

async fn authorise(pool: &PgPool, reads: &PgPool, me: Option<Arc<Me>>, meta: RequestMeta, perm: Perm) -> Result<Actor, AppError> {
    let me = me.ok_or(AppError::Unauthenticated)?;
    if !me.can(perm.key()) {
        record_denial(pool, &me, &meta, json!({ "permission": perm.key() })).await;
        return Err(AppError::Forbidden);
    }
    let mut tx = reads.begin().await?;
    scope_to_tenant(&mut tx, me.tenant.id).await?;
    let scope = me.tenant.id;
    Ok(Actor { me, tx, meta, scope, pool: pool.clone() })
}

/// [`require`] for platform staff's own work (the tenant registry, the
/// search across tenants): the permission, held in the platform tenant, and
/// a transaction scoped to the platform tenant even while they act inside
/// another. Anyone else is refused.
pub async fn require_platform(perm: Perm) -> Result<Actor, AppError> {
    let mut actor = require(perm).await?;
    let Some(home) = actor.me.platform_home() else {
        return Err(AppError::Forbidden);
    };
    scope_to_tenant(&mut actor.tx, home).await?;
    actor.scope = home;
    Ok(actor)
}

/// Records that the principal was refused (its own transaction: the refused
/// action writes nothing). Failures are logged, never shown.
pub async fn record_denial(pool: &PgPool, me: &Me, meta: &RequestMeta, what: Value) {
    let result = async {
        let mut tx = pool.begin().await?;
        scope_to_tenant(&mut tx, me.tenant.id).await?;
        let mut event = Event::by_user(me.tenant.id, me.user_id, "access.denied", Some(what));
        event.actor_tenant_id = me.acting_from.as_ref().map(|t| t.id);
        record(&mut tx, meta, event).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    if let Err(error) = result {
        tracing::error!(?error, "could not record a permission denial");
    }
}

impl Actor {
    pub fn user_id(&self) -> Uuid {
        self.me.user_id
    }

    pub fn tenant_id(&self) -> Uuid {
        self.me.tenant.id
    }

    /// Who to name as `granted_by` in the tenant's own rows: nobody when the
    /// actor is platform staff acting from outside (the audit event names them).
    pub fn local_user_id(&self) -> Option<Uuid> {
        (self.scope == self.me.tenant.id && self.me.acting_from.is_none()).then_some(self.me.user_id)
    }

    /// Moves the transaction into another tenant, for platform staff's work
    /// on a tenant (creating, suspending it). Events recorded afterwards go
    /// to that tenant's chain, naming the platform as the actor's tenant.
    pub async fn enter_tenant(&mut self, tenant_id: Uuid) -> Result<(), AppError> {
        if self.me.platform_home().is_none() {
            return Err(AppError::Forbidden);
        }
        scope_to_tenant(&mut self.tx, tenant_id).await?;
        self.scope = tenant_id;
        Ok(())
    }

    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Records the event of this action in the action's own transaction.
    pub async fn audit(
        &mut self,
        action: &str,
        entity_type: &str,
        entity_id: impl ToString,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Result<(), AppError> {
        let home = self.me.acting_from.as_ref().unwrap_or(&self.me.tenant).id;
        let event = Event {
            tenant_id: self.scope,
            actor_user_id: Some(self.me.user_id),
            actor_tenant_id: (home != self.scope).then_some(home),
            action,
            entity_type: Some(entity_type),
            entity_id: Some(entity_id.to_string()),
            before,
            after,
        };
        record(&mut self.tx, &self.meta, event).await?;
        Ok(())
    }

    pub async fn commit(self) -> Result<(), AppError> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// Answers why `user_id` can or cannot reach `target`, inside a transaction
/// scoped to their tenant. `NotFound` for a user outside the tenant or an
/// unknown view or permission.
pub async fn explain(conn: &mut PgConnection, tenant_id: Uuid, user_id: Uuid, target: AccessTarget) -> Result<Explanation, AppError> {
    let user = sqlx::query_scalar!(
        "SELECT display_name FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        tenant_id,
        user_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    let (view, permission) = match &target {
        AccessTarget::View(v) => (Some(v.as_str()), None),
        AccessTarget::Permission(p) => (None, Some(p.as_str())),
    };
    let rows = sqlx::query!(
        r#"SELECT module_key AS "module_key!", module_enabled AS "module_enabled!", role_name, via_team
             FROM steward_explain_access($1, $2, $3, $4)"#,
        tenant_id,
        user_id,
        view,
        permission
    )
    .fetch_all(&mut *conn)
    .await?;
    let Some(head) = rows.first() else { return Err(AppError::NotFound) };
    let grants: Vec<Grant> = rows
        .iter()
        .filter_map(|r| r.role_name.clone().map(|role| Grant { role, via_team: r.via_team.clone() }))
        .collect();
    let mut explanation = Explanation {
        user_id,
        target,
        allowed: head.module_enabled && !grants.is_empty(),
        module: head.module_key.clone(),
        module_enabled: head.module_enabled,
        grants,
        summary: String::new(),
    };
    explanation.summarise(&user);
    Ok(explanation)
}

/// Authorises the current request for a view's own data (a page that is not
/// one action, such as the overview): 401 anonymous, 403 (recorded) when
/// the user's roles do not grant the view.
pub async fn require_view(view: &str) -> Result<Actor, AppError> {
    let state = app_state()?;
    let me = current_user().ok_or(AppError::Unauthenticated)?;
    let meta = request_meta();
    if !me.can_view(view) {
        record_denial(&state.pool, &me, &meta, json!({ "view": view })).await;
        return Err(AppError::Forbidden);
    }
    let mut tx = state.pool.begin().await?;
    scope_to_tenant(&mut tx, me.tenant.id).await?;
    let scope = me.tenant.id;
    Ok(Actor { me, tx, meta, scope, pool: state.pool.clone() })
}

/// Records, in the background, that the current user was refused a view.
/// The page does not wait for it.
pub fn record_view_denial(view: &'static str) {
    let (Ok(state), Some(me)) = (crate::ssr::app_state(), crate::ssr::current_user()) else { return };
    let meta = request_meta();
    tokio::spawn(async move {
        record_denial(&state.pool, &me, &meta, serde_json::json!({ "view": view })).await;
    });
}
