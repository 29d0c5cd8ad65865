//! The one path from a server function to the database.

use crate::ids::{TenantId, UserId};
use super::{AccessTarget, Explanation, Grant, Perm};
use crate::audit::record::{record, record_all, Event, RequestMeta};
use crate::auth::Me;
use crate::error::AppError;
use crate::ssr::{app_state, request_parts, AppState};
use crate::db::scope_to_tenant;
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use std::sync::Arc;

/// An authorised principal with a transaction scoped to their tenant. Every
/// write goes through it, and so does its audit event: [`Actor::audit`]
/// writes into the same transaction, [`Actor::commit`] commits both.
pub struct Actor {
    me: Arc<Me>,
    tx: ActorTx,
    meta: RequestMeta,
    /// The tenant the transaction is scoped to (events go to its chain).
    scope: TenantId,
    /// The primary pool, for what must outlive the action's transaction (a
    /// refusal's own event).
    pool: PgPool,
    /// The pool of reads that may lag a moment (the replica, or the primary).
    read_pool: PgPool,
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
        writes: extensions.get::<crate::audit::record::OwnWrites>().cloned().unwrap_or_default(),
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
    Caller::of_request()?.require(perm).await
}

/// [`require`] for what only reads (lists, searches, the audit log): its
/// transaction is read-only and comes from the read pool, which is the
/// streaming replica of DATABASE_READ_URL when one is configured (and the
/// primary otherwise). A refusal is still recorded on the primary.
pub async fn require_read(perm: Perm) -> Result<Actor, AppError> {
    Caller::of_request()?.require_read(perm).await
}

/// [`require`] for what only reads but must show the person's own latest
/// writes (a record shown for editing): read-only, on the primary, in the
/// page's transaction when there is one.
pub async fn require_current(perm: Perm) -> Result<Actor, AppError> {
    let caller = Caller::of_request()?;
    caller.authorise(perm, Access::Current).await
}

/// How an action reaches the database.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Writes: its own transaction on the primary.
    Write,
    /// Reads that may lag a moment: the page's transaction, or the read pool.
    Read,
    /// Reads of one's own latest writes: the page's transaction (always on
    /// the primary), or the primary.
    Current,
}

/// Who asks, as a plain axum handler (uploads, downloads, exports, the
/// JSON API) or a server function sees them: the principal the
/// authentication layer resolved, the request's details, and the state.
/// It is the only way from a request to an [`Actor`]: its `require*`
/// authorise first. As an extractor it never fails; an anonymous caller
/// is refused (401) by `require`.
#[derive(Clone)]
pub struct Caller {
    me: Option<Arc<Me>>,
    meta: RequestMeta,
    state: AppState,
    /// The page's read-only transaction, when the server opened one.
    page: Option<PageTx>,
}

/// Begins a transaction scoped to `tenant_id` for row-level security in
/// one round trip: `BEGIN` (read-only when asked) and the scope travel in
/// one message.
pub async fn begin_scoped(pool: &PgPool, tenant_id: TenantId, read_only: bool) -> Result<Transaction<'static, Postgres>, AppError> {
    let mode = if read_only { " READ ONLY" } else { "" };
    // A uuid prints as hex digits and dashes only: it cannot leave the literal.
    let statement = format!("BEGIN{mode}; SELECT set_config('steward.tenant_id', '{}', true)", tenant_id.0);
    begin_whole(pool, statement).await
}

/// A read-only transaction of the read pool scoped to `tenant`, or of the
/// primary while the read pool's replica has not yet replayed the person's
/// own last write (`floor`, see [`OwnWrites`]). The check is one more round
/// trip, made only for someone who wrote in the last few minutes.
///
/// [`OwnWrites`]: crate::audit::record::OwnWrites
async fn begin_read(read_pool: &PgPool, primary: &PgPool, tenant: TenantId, floor: Option<i64>) -> Result<Transaction<'static, Postgres>, AppError> {
    let Some(floor) = floor else { return begin_scoped(read_pool, tenant, true).await };
    // A replica that cannot be asked is read as one that is behind.
    if let Ok(mut tx) = begin_scoped(read_pool, tenant, true).await {
        // NULL on a server that replays nothing (the primary itself; the
        // server warns at start when DATABASE_READ_URL names such a one).
        let reached: Result<Option<bool>, _> =
            sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn >= $1").bind(floor).fetch_one(&mut *tx).await;
        if matches!(reached, Ok(Some(true) | None)) {
            return Ok(tx);
        }
        // Dropped, it is rolled back when its connection is next used.
        drop(tx);
    }
    tracing::debug!(floor, "the replica has not replayed the person's last write: this read goes to the primary");
    begin_scoped(primary, tenant, true).await
}

/// Begins a transaction with `statement` in a task of its own, so that it
/// completes even when the request that asked is dropped (a browser that
/// navigated away): sqlx 0.8 counts a transaction as open only once
/// `BEGIN` is answered, so a begin cut off while waiting left the pooled
/// connection inside a transaction nobody would end.
/// Finished in its task, a transaction nobody takes is rolled back when
/// dropped.
async fn begin_whole(pool: &PgPool, statement: String) -> Result<Transaction<'static, Postgres>, AppError> {
    let pool = pool.clone();
    match tokio::spawn(async move { pool.begin_with(statement).await }).await {
        Ok(begun) => Ok(begun?),
        Err(error) => {
            tracing::error!(%error, "beginning a transaction did not finish");
            Err(AppError::Unavailable)
        }
    }
}

/// Begins the read-only transaction a signed-in page is served in (see
/// [`PageTx`]), on the primary: the session and the principal are read in
/// it, then the page's own data. `None` when reads go to a replica: the
/// page reads there, and the session and principal are read on the primary
/// as before.
pub async fn open_page(state: &AppState) -> Result<Option<Transaction<'static, Postgres>>, AppError> {
    if state.replica {
        return Ok(None);
    }
    Ok(Some(begin_whole(&state.pool, "BEGIN READ ONLY".into()).await?))
}

/// The read-only transaction a signed-in page is served in. The server
/// opens it to read the session and the principal ([`open_page`]); the page's reads ([`require_read`],
/// [`require_view`]) then take turns in it instead of each beginning its
/// own, so that a page is one transaction on one connection. The server
/// commits it when the response is ready ([`PageTx::finish`]); a write, a
/// refusal or the person's own transaction ends it first, so that a request
/// never holds one connection while it waits for another.
#[derive(Clone)]
pub struct PageTx {
    open: Arc<tokio::sync::Mutex<Option<PageOpen>>>,
}

/// How long a read waits for its turn in the page's transaction.
const TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

struct PageOpen {
    tx: Transaction<'static, Postgres>,
    /// The tenant the transaction is scoped to now.
    scope: TenantId,
}

impl PageTx {
    /// `tx`, scoped to `scope`.
    pub fn new(tx: Transaction<'static, Postgres>, scope: TenantId) -> PageTx {
        PageTx { open: Arc::new(tokio::sync::Mutex::new(Some(PageOpen { tx, scope }))) }
    }

    /// Waits for its turn: `None` once it has ended, or after `TURN_WAIT`
    /// (that read begins a transaction of its own).
    ///
    /// It does not ask which task holds the turn: Leptos polls a resource's
    /// future once in the rendering task before it spawns it, so the task
    /// that took a turn is not the one that gives it back, and a page's
    /// second resource, polled first in that same task, was taken for a read
    /// inside a read and began a transaction of its own. Under load those
    /// second connections emptied the pool (a role's page, 16 connections:
    /// requests failed waiting for a connection). A read inside a read in
    /// one future (none exists) would wait `TURN_WAIT` and then begin its own.
    async fn turn(&self) -> Option<PageGuard> {
        // Turns are short (one read's queries); a wait past this is a read
        // that kept its turn too long, and this one begins its own instead.
        let Ok(guard) = tokio::time::timeout(TURN_WAIT, self.open.clone().lock_owned()).await else {
            tracing::warn!("a read waited past its turn in the page's transaction; it begins its own");
            return None;
        };
        guard.as_ref()?;
        Some(PageGuard { guard, done: false })
    }

    /// Commits it, once every read that holds it is done (and after
    /// `TURN_WAIT` leaves it to its holder). Like [`PageTx::turn`] it does
    /// not ask which task holds it: a turn taken in the rendering task may
    /// be held by a resource spawned from it, and skipping the commit then
    /// (the Explain page: a read through `require` after a resource took
    /// its turn) made the request hold the page's connection while it
    /// waited for another.
    pub async fn finish(&self) {
        let Ok(mut open) = tokio::time::timeout(TURN_WAIT, self.open.lock()).await else {
            tracing::warn!("a page's transaction was held past its turn; it ends with its holder");
            return;
        };
        if let Some(open) = open.take() {
            if let Err(error) = open.tx.commit().await {
                tracing::warn!(%error, "a page's transaction did not end cleanly");
            }
        }
    }
}

/// A read's turn in the page's transaction.
struct PageGuard {
    guard: tokio::sync::OwnedMutexGuard<Option<PageOpen>>,
    /// Set when the read ended well; otherwise one of its statements may
    /// have failed the transaction, which is then ended, and later reads
    /// begin their own.
    done: bool,
}

impl PageGuard {
    fn open(&mut self) -> &mut PageOpen {
        self.guard.as_mut().expect("a turn is only given while the transaction is open")
    }
}

impl Drop for PageGuard {
    fn drop(&mut self) {
        if !self.done {
            *self.guard = None;
        }
    }
}

/// The transaction an [`Actor`] works in: its own, or its turn in the
/// page's.
enum ActorTx {
    Own(Transaction<'static, Postgres>),
    Page(PageGuard),
}

impl std::ops::Deref for ActorTx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        match self {
            ActorTx::Own(tx) => tx,
            ActorTx::Page(turn) => &turn.guard.as_ref().expect("a turn is only given while the transaction is open").tx,
        }
    }
}

impl std::ops::DerefMut for ActorTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match self {
            ActorTx::Own(tx) => tx,
            ActorTx::Page(turn) => &mut turn.open().tx,
        }
    }
}

impl<S> axum::extract::FromRequestParts<S> for Caller
where
    AppState: axum::extract::FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller::of(&<AppState as axum::extract::FromRef<S>>::from_ref(state), &parts.headers, &parts.extensions))
    }
}

impl Caller {
    /// The caller of a request, from its headers and extensions.
    pub fn of(state: &AppState, headers: &axum::http::HeaderMap, extensions: &axum::http::Extensions) -> Caller {
        Caller {
            me: extensions.get::<crate::auth::ssr::CurrentUser>().and_then(|c| c.0.clone()),
            meta: meta_of(headers, extensions),
            state: state.clone(),
            page: extensions.get::<PageTx>().cloned(),
        }
    }

    /// The caller of the current server function.
    pub fn of_request() -> Result<Caller, AppError> {
        let parts = request_parts()?;
        Ok(Caller {
            me: parts.extensions.get::<crate::auth::ssr::CurrentUser>().and_then(|c| c.0.clone()),
            meta: meta_of(&parts.headers, &parts.extensions),
            state: app_state()?,
            page: parts.extensions.get::<PageTx>().cloned(),
        })
    }

    /// The signed-in principal, if any.
    pub fn me(&self) -> Option<&Arc<Me>> {
        self.me.as_ref()
    }

    pub fn meta(&self) -> &RequestMeta {
        &self.meta
    }

    /// The application's state (for what a handler needs beside its actor).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Names what the caller came through in their events (an API key).
    pub fn set_user_agent(&mut self, user_agent: String) {
        self.meta.user_agent = Some(user_agent);
    }

    /// Authorises the caller for `perm`: 401 when nobody is signed in, 403
    /// (recorded as an `access.denied` event) without the permission.
    pub async fn require(&self, perm: Perm) -> Result<Actor, AppError> {
        self.authorise(perm, Access::Write).await
    }

    /// [`Caller::require`] on a read-only transaction of the read pool.
    pub async fn require_read(&self, perm: Perm) -> Result<Actor, AppError> {
        self.authorise(perm, Access::Read).await
    }

    /// Authorises the caller for their own things (see [`Own`]): 401 when
    /// nobody is signed in.
    pub fn require_self(&self) -> Result<Own, AppError> {
        let me = self.me.clone().ok_or(AppError::Unauthenticated)?;
        let home = me.acting_from.as_ref().unwrap_or(&me.tenant).id;
        Ok(Own { me, home, state: self.state.clone(), meta: self.meta.clone(), page: self.page.clone() })
    }

    async fn authorise(&self, perm: Perm, access: Access) -> Result<Actor, AppError> {
        let me = self.me.clone().ok_or(AppError::Unauthenticated)?;
        if !me.can(perm.key()) {
            self.end_page().await;
            record_denial(&self.state.pool, &me, &self.meta, json!({ "permission": perm.key() })).await;
            return Err(AppError::Forbidden);
        }
        self.open(me, access).await
    }

    /// Ends the page's transaction before the request needs another
    /// connection (a write, a refusal's event), so that it never holds one
    /// while it waits for another.
    async fn end_page(&self) {
        if let Some(page) = &self.page {
            page.finish().await;
        }
    }

    /// The actor of `me`, authorised already: a read takes its turn in the
    /// page's transaction when there is one, else each begins its own.
    async fn open(&self, me: Arc<Me>, access: Access) -> Result<Actor, AppError> {
        let read_only = access != Access::Write;
        let turn = match &self.page {
            Some(page) if read_only => page.turn().await,
            _ => {
                self.end_page().await;
                None
            }
        };
        let tx = match turn {
            Some(turn) => ActorTx::Page(turn),
            None if access == Access::Read => ActorTx::Own(begin_read(&self.state.read_pool, &self.state.pool, me.tenant.id, self.meta.writes.floor).await?),
            None => ActorTx::Own(begin_scoped(&self.state.pool, me.tenant.id, read_only).await?),
        };
        let scope = me.tenant.id;
        let mut actor = Actor { me, tx, meta: self.meta.clone(), scope, pool: self.state.pool.clone(), read_pool: self.state.read_pool.clone() };
        // The page's transaction may be scoped elsewhere: to the person's
        // own tenant while platform staff act inside another, or to the
        // platform by an earlier read.
        if let ActorTx::Page(turn) = &mut actor.tx {
            if turn.open().scope != scope {
                actor.rescope(scope).await?;
            }
        }
        Ok(actor)
    }

    /// The same caller with the grants they hold now, for work that goes
    /// on after the response (an import's later batches): `None` once they
    /// can no longer sign in, or once platform staff's time inside the
    /// tenant is over. Platform staff acting inside a tenant keep acting
    /// there with their current platform grants.
    pub async fn now(&self) -> Result<Option<Caller>, AppError> {
        let Some(started_by) = &self.me else { return Ok(None) };
        if started_by.acting_until.is_some_and(|until| until <= chrono::Utc::now().timestamp()) {
            return Ok(None);
        }
        let home = started_by.acting_from.as_ref().unwrap_or(&started_by.tenant).id;
        let auth = crate::auth::ssr::SessionAuth { tenant_id: home, user_id: started_by.user_id };
        let Some(now) = crate::auth::ssr::resolve_principal(&self.state, &auth).await? else {
            return Ok(None);
        };
        let me = if started_by.acting_from.is_none() {
            now
        } else {
            let mut acting = (*now).clone();
            acting.acting_from = Some(std::mem::replace(&mut acting.tenant, started_by.tenant.clone()));
            Arc::new(acting)
        };
        Ok(Some(Caller { me: Some(me), meta: self.meta.clone(), state: self.state.clone(), page: None }))
    }
}

/// [`require`] for platform staff's own work (the tenant registry, the
/// search across tenants): the permission, held in the platform tenant, and
/// a transaction scoped to the platform tenant even while they act inside
/// another. Anyone else is refused.
pub async fn require_platform(perm: Perm) -> Result<Actor, AppError> {
    platform(require(perm).await?).await
}

/// [`require_platform`] for what only reads (the tenant registry's list):
/// read-only, as [`require_current`] (a tenant just made is in the list).
pub async fn require_platform_read(perm: Perm) -> Result<Actor, AppError> {
    platform(require_current(perm).await?).await
}

async fn platform(mut actor: Actor) -> Result<Actor, AppError> {
    let Some(home) = actor.me.platform_home() else {
        return Err(AppError::Forbidden);
    };
    actor.rescope(home).await?;
    Ok(actor)
}

/// Records that the principal was refused (its own transaction: the refused
/// action writes nothing). Failures are logged, never shown.
pub async fn record_denial(pool: &PgPool, me: &Me, meta: &RequestMeta, what: Value) {
    let result = async {
        let mut tx = begin_scoped(pool, me.tenant.id, false).await?;
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
    /// The principal the action is authorised for.
    pub fn me(&self) -> &Arc<Me> {
        &self.me
    }

    /// The tenant the transaction is scoped to (the tenant being worked on
    /// by platform staff, else the principal's own).
    pub fn scope(&self) -> TenantId {
        self.scope
    }

    pub fn meta(&self) -> &RequestMeta {
        &self.meta
    }

    /// Later transactions in the same tenant, for what goes on after this
    /// action commits (an export's pages): from the primary.
    pub fn reader(&self) -> TenantReader {
        TenantReader { pool: self.pool.clone(), primary: self.pool.clone(), floor: None, tenant: self.scope }
    }

    /// [`Actor::reader`] from the read pool (the replica when there is one).
    pub fn replica_reader(&self) -> TenantReader {
        TenantReader { pool: self.read_pool.clone(), primary: self.pool.clone(), floor: self.meta.writes.floor, tenant: self.scope }
    }

    /// Records that this principal was refused (in a transaction of its
    /// own: the refused action writes nothing).
    pub async fn record_refusal(&self, what: Value) {
        record_denial(&self.pool, &self.me, &self.meta, what).await;
    }

    pub fn user_id(&self) -> UserId {
        self.me.user_id
    }

    pub fn tenant_id(&self) -> TenantId {
        self.me.tenant.id
    }

    /// Who to name as `granted_by` in the tenant's own rows: nobody when the
    /// actor is platform staff acting from outside (the audit event names them).
    pub fn local_user_id(&self) -> Option<UserId> {
        (self.scope == self.me.tenant.id && self.me.acting_from.is_none()).then_some(self.me.user_id)
    }

    /// Moves the transaction into another tenant, for platform staff's work
    /// on a tenant (creating, suspending it). Events recorded afterwards go
    /// to that tenant's chain, naming the platform as the actor's tenant.
    pub async fn enter_tenant(&mut self, tenant_id: TenantId) -> Result<(), AppError> {
        if self.me.platform_home().is_none() {
            return Err(AppError::Forbidden);
        }
        self.rescope(tenant_id).await
    }

    /// Scopes the transaction to `tenant_id`.
    async fn rescope(&mut self, tenant_id: TenantId) -> Result<(), AppError> {
        scope_to_tenant(&mut self.tx, tenant_id).await?;
        self.scope = tenant_id;
        if let ActorTx::Page(turn) = &mut self.tx {
            turn.open().scope = tenant_id;
        }
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
        let event = self.event(action, entity_type, entity_id, before, after);
        record(&mut self.tx, &self.meta, event).await?;
        Ok(())
    }

    /// An event of this actor in the tenant worked on, for [`Actor::audit_all`].
    pub fn event<'a>(&self, action: &'a str, entity_type: &'a str, entity_id: impl ToString, before: Option<Value>, after: Option<Value>) -> Event<'a> {
        let home = self.me.acting_from.as_ref().unwrap_or(&self.me.tenant).id;
        Event {
            tenant_id: self.scope,
            actor_user_id: Some(self.me.user_id),
            actor_tenant_id: (home != self.scope).then_some(home),
            action,
            entity_type: Some(entity_type),
            entity_id: Some(entity_id.to_string()),
            before,
            after,
        }
    }

    /// Records the events of a batch of changes (an import's rows) in one
    /// statement, in the given order, in the action's own transaction.
    pub async fn audit_all(&mut self, events: Vec<Event<'_>>) -> Result<(), AppError> {
        record_all(&mut self.tx, &self.meta, events).await
    }

    /// Commits the action; a read's turn in the page's transaction ends,
    /// and the server commits that with the page.
    pub async fn commit(self) -> Result<(), AppError> {
        match self.tx {
            ActorTx::Own(tx) => tx.commit().await?,
            ActorTx::Page(mut turn) => turn.done = true,
        }
        Ok(())
    }
}

/// Transactions scoped to one tenant, handed out by an authorised
/// [`Actor`] for work that outlives its action (the pages of an export,
/// a chain check). Each is read-only but the chain check's own
/// (`TenantReader::chain_check_transaction`).
#[derive(Clone)]
pub struct TenantReader {
    pool: PgPool,
    /// Where reads go while `pool`, a replica's, is behind `floor`.
    primary: PgPool,
    floor: Option<i64>,
    tenant: TenantId,
}

impl TenantReader {
    pub fn tenant_id(&self) -> TenantId {
        self.tenant
    }

    pub async fn transaction(&self) -> Result<Transaction<'static, Postgres>, AppError> {
        begin_read(&self.pool, &self.primary, self.tenant, self.floor).await
    }

    /// The one transaction of a reader that may write: the chain check's,
    /// whose only write is the checkpoint `steward_audit_check` places
    /// itself, as the owner, after walking the chain to it (the application
    /// role has no grant on checkpoints). A reader from the replica fails
    /// here, as it should.
    pub(crate) async fn chain_check_transaction(&self) -> Result<Transaction<'static, Postgres>, AppError> {
        begin_scoped(&self.pool, self.tenant, false).await
    }
}

/// Work that no person does: the scheduled jobs and the command line. Its
/// events name no actor. Made only by the server's own start-up and
/// commands, never from a request.
#[derive(Clone)]
pub struct System {
    pool: PgPool,
}

impl System {
    pub fn new(pool: &PgPool) -> System {
        System { pool: pool.clone() }
    }

    /// A transaction in no tenant yet, for work that makes one (the demo,
    /// the first platform administrator) and then scopes itself to it, or
    /// that lists across tenants through a database function made for it
    /// (row-level security shows it no tenant's rows).
    pub async fn transaction(&self) -> Result<Transaction<'static, Postgres>, AppError> {
        begin_whole(&self.pool, "BEGIN".into()).await
    }

    /// A transaction scoped to `tenant` (see [`begin_scoped`]).
    pub async fn in_tenant(&self, tenant: TenantId) -> Result<Transaction<'static, Postgres>, AppError> {
        begin_scoped(&self.pool, tenant, false).await
    }

    /// A transaction scoped to the platform tenant, for operations tables
    /// that only the platform reads across tenants (the mail queue); none
    /// while there is no platform tenant.
    pub async fn in_platform(&self) -> Result<Option<Transaction<'static, Postgres>>, AppError> {
        let mut tx = self.transaction().await?;
        let Some(platform) = crate::db::platform_tenant_id(&mut tx).await? else { return Ok(None) };
        scope_to_tenant(&mut tx, platform).await?;
        Ok(Some(tx))
    }
}

/// Answers why `user_id` can or cannot reach `target`, inside a transaction
/// scoped to their tenant. `NotFound` for a user outside the tenant or an
/// unknown view or permission.
pub async fn explain(conn: &mut PgConnection, tenant_id: TenantId, user_id: UserId, target: AccessTarget) -> Result<Explanation, AppError> {
    let user = sqlx::query_scalar!(
        "SELECT display_name FROM users WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        tenant_id.0,
        user_id.0
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
        tenant_id.0,
        user_id.0,
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

/// Authorises the current request to read a view's own data (a page that
/// is not one action, such as the overview): 401 anonymous, 403 (recorded)
/// when the user's roles do not grant the view. Read-only, as
/// [`require_current`] (the person's own changes show at once).
pub async fn require_view(view: super::View) -> Result<Actor, AppError> {
    let caller = Caller::of_request()?;
    let me = caller.me.clone().ok_or(AppError::Unauthenticated)?;
    if !me.may_view(view) {
        caller.end_page().await;
        record_denial(&caller.state.pool, &me, &caller.meta, json!({ "view": view.key() })).await;
        return Err(AppError::Forbidden);
    }
    caller.open(me, Access::Current).await
}

/// Records, in the background, that the current user was refused a view.
/// The page does not wait for it.
pub fn record_view_denial(view: super::View) {
    let (Ok(state), Some(me)) = (crate::ssr::app_state(), crate::ssr::current_user()) else { return };
    let meta = request_meta();
    tokio::spawn(async move {
        record_denial(&state.pool, &me, &meta, serde_json::json!({ "view": view.key() })).await;
    });
}

/// The caller's own things (their password, second factor, sessions, API
/// keys, their personal data): no permission is needed to reach them, only
/// a signed-in principal, and every transaction is scoped to the person's
/// own tenant, also while platform staff act elsewhere. See [`require_self`].
pub struct Own {
    me: Arc<Me>,
    home: TenantId,
    state: AppState,
    meta: RequestMeta,
    page: Option<PageTx>,
}

/// Authorises the current request for the caller's own things: 401 when
/// nobody is signed in.
pub async fn require_self() -> Result<Own, AppError> {
    Caller::of_request()?.require_self()
}

impl Own {
    pub fn me(&self) -> &Arc<Me> {
        &self.me
    }

    /// The person's own tenant.
    pub fn home(&self) -> TenantId {
        self.home
    }

    pub fn meta(&self) -> &RequestMeta {
        &self.meta
    }

    /// Seals and opens second-factor secrets.
    pub fn master_key(&self) -> &crate::auth::mfa::MasterKey {
        &self.state.master_key
    }

    /// The session of the current request.
    pub fn session(&self) -> Result<tower_sessions::Session, AppError> {
        crate::ssr::request_session()
    }

    /// A transaction scoped to the person's own tenant.
    pub async fn transaction(&self) -> Result<Transaction<'static, Postgres>, AppError> {
        // Not while the page's transaction holds a connection.
        if let Some(page) = &self.page {
            page.finish().await;
        }
        begin_scoped(&self.state.pool, self.home, false).await
    }

    /// An event of the person's own action, in their own tenant's chain.
    pub fn event(&self, action: &'static str, after: Value) -> Event<'static> {
        Event::by_user(self.home, self.me.user_id, action, Some(after))
    }
}
