//! Writing audit events: the one writer every change goes through, and an
//! entity's history. Part of the spine: it imports no area.

use crate::ids::{TenantId, UserId};
use crate::error::AppError;
use crate::text::when;
use serde_json::{json, Value};
use sqlx::PgConnection;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use uuid::Uuid;

/// Who did it and from where: taken from the request.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// The person's own writes, for reading them back from a replica.
    pub writes: OwnWrites,
}

/// What a request knows of the person's own writes, when reads may go to a
/// replica (DATABASE_READ_URL): where the primary's WAL stood after their
/// last write (the `steward_written` cookie), and whether this request
/// writes. Every change records an audit event, so [`record`] and
/// [`record_all`] are where a request is found to write; the server then
/// reads the primary's position and gives it back in the cookie
/// (`crate::ssr::own_writes`), and reads go to the replica only once it
/// has replayed that far (`crate::authz::ssr`).
#[derive(Clone, Debug, Default)]
pub struct OwnWrites {
    /// The primary's WAL position (bytes from `0/0`) after the person's
    /// last write, as their cookie says; `None` without one. The client
    /// can change it: a lower one shows them their own writes late, a
    /// higher one sends their reads to the primary. Neither reaches
    /// anyone else's data.
    pub floor: Option<i64>,
    wrote: Arc<AtomicBool>,
}

impl OwnWrites {
    pub fn new(floor: Option<i64>) -> OwnWrites {
        OwnWrites { floor, wrote: Arc::default() }
    }

    /// Notes that the request writes.
    pub fn mark(&self) {
        self.wrote.store(true, Ordering::Relaxed);
    }

    /// Whether the request wrote (an audit event, so a change).
    pub fn wrote(&self) -> bool {
        self.wrote.load(Ordering::Relaxed)
    }
}

/// One event. `tenant_id` is the tenant the change touched.
#[derive(Clone, Debug)]
pub struct Event<'a> {
    pub tenant_id: TenantId,
    pub actor_user_id: Option<UserId>,
    /// The actor's own tenant when it is not `tenant_id` (platform staff).
    pub actor_tenant_id: Option<TenantId>,
    pub action: &'a str,
    pub entity_type: Option<&'a str>,
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Event<'_> {
    /// An event about a user's own doing (signing in or out, being refused).
    pub fn by_user(tenant_id: TenantId, user_id: UserId, action: &str, after: Option<Value>) -> Event<'_> {
        Event {
            tenant_id,
            actor_user_id: Some(user_id),
            actor_tenant_id: None,
            action,
            entity_type: Some("user"),
            entity_id: Some(user_id.to_string()),
            before: None,
            after,
        }
    }
}

/// Records an event in the caller's transaction, which must be scoped to
/// `event.tenant_id` (row-level security checks it).
///
/// An action that warrants a security notice (`outbox::NOTICE_ACTIONS`)
/// queues it here too, to the person it concerns: the user the event is
/// about, or else its actor. Whatever path makes such a change, the notice
/// goes with its event, in the same transaction.
pub async fn record(conn: &mut PgConnection, meta: &RequestMeta, event: Event<'_>) -> Result<Uuid, AppError> {
    meta.writes.mark();
    let concerned = concerned(&event);
    let (tenant_id, action) = (event.tenant_id, event.action);
    let by_themselves = concerned.is_some() && event.actor_user_id == concerned && event.actor_tenant_id.is_none();
    let ip = meta.ip.map(|ip| ip.to_string());
    let id = sqlx::query_scalar!(
        r#"INSERT INTO audit_events (tenant_id, actor_user_id, actor_tenant_id, ip, user_agent, action,
                                     entity_type, entity_id, changes, request_id)
           VALUES ($1, $2, $3, $4::text::inet, $5, $6, $7, $8, $9, $10)
           RETURNING id"#,
        event.tenant_id.0,
        event.actor_user_id.map(|id| id.0),
        event.actor_tenant_id.map(|id| id.0),
        ip,
        user_agent(meta),
        event.action,
        event.entity_type,
        event.entity_id,
        changes(event.before, event.after),
        meta.request_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    if let Some(person) = concerned {
        crate::outbox::notify(conn, meta.ip, id, tenant_id, action, person, by_themselves).await?;
    }
    Ok(id)
}

/// Records several events of one request together, in their order: the
/// chain links them as one [`record`] after another would, but the database
/// (`steward_audit_append`) locks and moves the chain's head once for all
/// of them and inserts them in one statement. For batches (an import's
/// rows) in a transaction scoped to their tenant. Events that warrant a
/// security notice, or of several tenants, are recorded one by one, as
/// [`record`] does.
pub async fn record_all(conn: &mut PgConnection, meta: &RequestMeta, events: Vec<Event<'_>>) -> Result<(), AppError> {
    let Some(tenant_id) = events.first().map(|e| e.tenant_id) else { return Ok(()) };
    meta.writes.mark();
    if events.iter().any(|e| e.tenant_id != tenant_id || crate::outbox::sends_notice(e.action)) {
        for event in events {
            record(conn, meta, event).await?;
        }
        return Ok(());
    }
    let mut columns = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for e in events {
        columns.0.push(e.actor_user_id.map(|id| id.0));
        columns.1.push(e.actor_tenant_id.map(|id| id.0));
        columns.2.push(e.action.to_string());
        columns.3.push(e.entity_type.map(str::to_string));
        columns.4.push(e.entity_id);
        columns.5.push(changes(e.before, e.after));
    }
    // The database refuses events of another tenant than the transaction's.
    sqlx::query("SELECT steward_audit_append($1, $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::text::inet, $9, $10)")
        .bind(tenant_id.0)
        .bind(columns.0)
        .bind(columns.1)
        .bind(columns.2)
        .bind(columns.3)
        .bind(columns.4)
        .bind(columns.5)
        .bind(meta.ip.map(|ip| ip.to_string()))
        .bind(user_agent(meta))
        .bind(meta.request_id.as_deref())
        .execute(conn)
        .await?;
    Ok(())
}

/// The person an event concerns: the user it is about, or else its actor.
fn concerned(event: &Event<'_>) -> Option<UserId> {
    match (event.entity_type, event.entity_id.as_deref()) {
        (Some("user"), Some(id)) => id.parse::<UserId>().ok(),
        _ => event.actor_user_id,
    }
}

/// The event's `changes` column: what it had before and after, redacted.
fn changes(before: Option<Value>, after: Option<Value>) -> Value {
    let mut changes = serde_json::Map::new();
    if let Some(before) = before {
        changes.insert("before".into(), super::redact(before));
    }
    if let Some(after) = after {
        changes.insert("after".into(), super::redact(after));
    }
    Value::Object(changes)
}

fn user_agent(meta: &RequestMeta) -> Option<String> {
    meta.user_agent.as_deref().map(|ua| ua.chars().take(512).collect())
}

/// The `{before, after}` shape used when only a few fields changed.
pub fn field_change(field: &str, before: impl Into<Value>, after: impl Into<Value>) -> (Value, Value) {
    (json!({ field: before.into() }), json!({ field: after.into() }))
}

/// The latest events about one entity, newest first, with who did each.
pub async fn history(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    entity_type: &str,
    entity_id: impl std::fmt::Display,
    limit: i64,
) -> Result<Vec<super::HistoryRow>, AppError> {
    let rows: Vec<(chrono::DateTime<chrono::Utc>, String, Option<String>, Option<TenantId>, Value)> = sqlx::query!(r#"SELECT e.occurred_at AS "occurred_at!: chrono::DateTime<chrono::Utc>", e.action AS "action!: String", u.display_name AS "display_name?: String", e.actor_tenant_id AS "actor_tenant_id?: TenantId", e.changes AS "changes!: Value" FROM audit_events e
           LEFT JOIN users u ON u.tenant_id = e.tenant_id AND u.id = e.actor_user_id
          WHERE e.tenant_id = $1 AND e.entity_type = $2 AND e.entity_id = $3
          ORDER BY e.occurred_at DESC, e.id DESC
          LIMIT $4"#, tenant_id.0, entity_type, entity_id.to_string(), limit).map(|r| (r.occurred_at, r.action, r.display_name, r.actor_tenant_id, r.changes))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(at, action, actor, from_tenant, changes)| super::HistoryRow {
            occurred_at: when(at),
            action,
            actor: actor.unwrap_or_else(|| if from_tenant.is_some() { "Platform staff".into() } else { "Steward".into() }),
            changes: if changes.as_object().is_some_and(|o| o.is_empty()) { String::new() } else { changes.to_string() },
        })
        .collect())
}

/// The answer to a save over a newer version: who changed the record last
/// and when, from its latest event.
pub async fn stale(conn: &mut PgConnection, tenant_id: TenantId, entity_type: &str, entity_id: impl std::fmt::Display) -> AppError {
    match history(conn, tenant_id, entity_type, entity_id, 1).await {
        Ok(rows) if !rows.is_empty() => AppError::Conflict(format!(
            "{} changed this at {} while you were editing. Your changes were not saved: reload to see theirs, then edit again.",
            rows[0].actor, rows[0].occurred_at
        )),
        Ok(_) => AppError::Conflict(
            "Someone changed this while you were editing. Your changes were not saved: reload and edit again.".into(),
        ),
        Err(error) => error,
    }
}
