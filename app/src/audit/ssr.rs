//! The audit screens' server side: the event list and its filters, one
//! event, and the chain check.

use crate::ids::{TenantId, UserId};
use crate::error::AppError;
use crate::text::when;
use serde_json::Value;
use sqlx::PgConnection;
use std::net::IpAddr;
use uuid::Uuid;

use super::{AuditQuery, ChainBreak, ChainCheck, ChainStatus, EventDetail, EventList, EventRow};
use crate::authz::ssr::require;
use crate::authz::Perm;
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

/// Events on one page of the list.
pub const EVENTS_PAGE: usize = 50;

/// The columns every event listing reads (alias `e` for the events, `u` for the actor).
pub const EVENT_COLUMNS: &str = "e.id, e.seq, e.occurred_at, e.actor_user_id, e.actor_tenant_id, u.display_name AS actor_name,
        u.email AS actor_email, host(e.ip) AS ip, e.user_agent, e.action, e.entity_type, e.entity_id, e.changes,
        e.request_id, e.hash, e.prev_hash";
pub const EVENT_FROM: &str = "audit_events e LEFT JOIN users u ON u.tenant_id = e.tenant_id AND u.id = e.actor_user_id";

#[derive(sqlx::FromRow, Debug)]
pub struct EventRecord {
    pub id: Uuid,
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_user_id: Option<UserId>,
    pub actor_tenant_id: Option<TenantId>,
    pub actor_name: Option<String>,
    pub actor_email: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub action: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub changes: Value,
    pub request_id: Option<String>,
    pub hash: Vec<u8>,
    pub prev_hash: Option<Vec<u8>>,
}

impl EventRecord {
    pub fn actor(&self) -> String {
        match (&self.actor_name, self.actor_tenant_id, self.actor_user_id) {
            (Some(name), _, _) => name.clone(),
            (None, Some(_), _) => "Platform staff".into(),
            (None, None, Some(_)) => "A removed user".into(),
            (None, None, None) => "Steward".into(),
        }
    }

    pub fn row(&self) -> EventRow {
        EventRow {
            id: self.id,
            seq: self.seq,
            occurred_at: self.occurred_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            actor: self.actor(),
            action: self.action.clone(),
            entity_type: self.entity_type.clone().unwrap_or_default(),
            entity_id: self.entity_id.clone().unwrap_or_default(),
            ip: self.ip.clone().unwrap_or_default(),
            fields: super::diff(&self.changes).iter().filter(|d| d.changed()).map(|d| d.field.clone()).collect::<Vec<_>>().join(", "),
        }
    }
}

/// The WHERE clause of the list and the exports.
pub fn push_filters(b: &mut QueryBuilder<'_, sqlx::Postgres>, tenant_id: TenantId, q: &AuditQuery) -> Result<(), AppError> {
    b.push(" WHERE e.tenant_id = ").push_bind(tenant_id);
    for (name, value) in q.filters() {
        if value.chars().count() > 200 {
            return Err(AppError::invalid(name, "That is too long for a filter."));
        }
    }
    let actor = q.actor.trim();
    if !actor.is_empty() {
        b.push(" AND e.actor_user_id IN (SELECT a.id FROM users a WHERE a.tenant_id = ")
            .push_bind(tenant_id)
            .push(" AND lower(a.email) = lower(")
            .push_bind(actor.to_string())
            .push("))");
    }
    let action = q.action.trim();
    if let Some(kind) = action.strip_suffix('.') {
        b.push(" AND e.action LIKE ").push_bind(format!("{}.%", kind.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
    } else if !action.is_empty() {
        b.push(" AND e.action = ").push_bind(action.to_string());
    }
    if !q.entity_type.trim().is_empty() {
        b.push(" AND e.entity_type = ").push_bind(q.entity_type.trim().to_string());
    }
    if !q.entity_id.trim().is_empty() {
        b.push(" AND e.entity_id = ").push_bind(q.entity_id.trim().to_string());
    }
    let ip = q.ip.trim();
    if !ip.is_empty() {
        if ip.contains('/') {
            let (addr, bits) = ip.split_once('/').unwrap_or_default();
            let ok = addr.parse::<IpAddr>().is_ok_and(|a| bits.parse::<u8>().is_ok_and(|n| n <= if a.is_ipv4() { 32 } else { 128 }));
            if !ok {
                return Err(AppError::invalid("ip", "Give an address (203.0.113.7) or a network (203.0.113.0/24)."));
            }
            b.push(" AND e.ip <<= ").push_bind(ip.to_string()).push("::inet");
        } else {
            let addr: IpAddr = ip.parse().map_err(|_| AppError::invalid("ip", "Give an address (203.0.113.7) or a network (203.0.113.0/24)."))?;
            b.push(" AND e.ip = ").push_bind(addr.to_string()).push("::inet");
        }
    }
    if !q.request_id.trim().is_empty() {
        b.push(" AND e.request_id = ").push_bind(q.request_id.trim().to_string());
    }
    crate::db::keyset::push_days(b, "e.occurred_at", &q.from, &q.to)?;
    Ok(())
}

/// Adds the keyset position: events older than the cursor.
pub fn push_after(b: &mut QueryBuilder<'_, sqlx::Postgres>, after: &str) -> Result<(), AppError> {
    crate::db::keyset::push_after(b, "e.occurred_at", "e.id", after)
}

pub fn cursor(e: &EventRecord) -> String {
    crate::db::keyset::cursor(e.occurred_at, e.id)
}

/// Distinct values of an indexed column, found by skipping through the
/// index (a few probes per value, however many events there are).
async fn distinct(conn: &mut PgConnection, tenant_id: TenantId, column: &str) -> Result<Vec<String>, AppError> {
    let sql = format!(
        "WITH RECURSIVE v(x, n) AS (
             (SELECT {column}, 1 FROM audit_events WHERE tenant_id = $1 AND {column} IS NOT NULL ORDER BY {column} LIMIT 1)
             UNION ALL
             SELECT (SELECT {column} FROM audit_events WHERE tenant_id = $1 AND {column} > v.x ORDER BY {column} LIMIT 1), v.n + 1
               FROM v WHERE v.x IS NOT NULL AND v.n < 300)
         SELECT x FROM v WHERE x IS NOT NULL"
    );
    Ok(sqlx::query_scalar(&sql).bind(tenant_id).fetch_all(conn).await?)
}

/// One page of the tenant's events, newest first. Needs `audit:read`.
pub async fn list(q: AuditQuery) -> Result<EventList, AppError> {
    let mut actor = crate::authz::ssr::require_read(Perm::AuditRead).await?;
    let tenant_id = actor.tenant_id();
    let mut b = QueryBuilder::new(format!("SELECT {EVENT_COLUMNS} FROM {EVENT_FROM}"));
    push_filters(&mut b, tenant_id, &q)?;
    push_after(&mut b, &q.after)?;
    b.push(format!(" ORDER BY e.occurred_at DESC, e.id DESC LIMIT {}", EVENTS_PAGE + 1));
    let mut rows: Vec<EventRecord> = b.build_query_as().fetch_all(actor.conn()).await?;
    let next = (rows.len() > EVENTS_PAGE).then(|| {
        rows.truncate(EVENTS_PAGE);
        cursor(rows.last().expect("a full page"))
    });
    let menus = crate::ssr::app_state()?.menus;
    let actions = menus.get(tenant_id, "audit_actions", distinct(actor.conn(), tenant_id, "action")).await?;
    let entity_types = menus.get(tenant_id, "audit_entity_types", distinct(actor.conn(), tenant_id, "entity_type")).await?;
    actor.commit().await?;
    Ok(EventList { rows: rows.iter().map(EventRecord::row).collect(), next, actions, entity_types })
}

/// One event with its diff and its neighbours. Needs `audit:read`.
pub async fn detail(id: Uuid) -> Result<EventDetail, AppError> {
    let mut actor = crate::authz::ssr::require_read(Perm::AuditRead).await?;
    let tenant_id = actor.tenant_id();
    let e: EventRecord = sqlx::query_as(&format!("SELECT {EVENT_COLUMNS} FROM {EVENT_FROM} WHERE e.tenant_id = $1 AND e.id = $2"))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(actor.conn())
        .await?
        .ok_or(AppError::NotFound)?;
    let same_entity: Vec<EventRecord> = match (&e.entity_type, &e.entity_id) {
        (Some(t), Some(i)) => sqlx::query_as(&format!(
            "SELECT {EVENT_COLUMNS} FROM {EVENT_FROM}
              WHERE e.tenant_id = $1 AND e.entity_type = $2 AND e.entity_id = $3 AND e.id <> $4
              ORDER BY e.occurred_at DESC, e.id DESC LIMIT 20"
        ))
        .bind(tenant_id)
        .bind(t)
        .bind(i)
        .bind(id)
        .fetch_all(actor.conn())
        .await?,
        _ => Vec::new(),
    };
    let same_request: Vec<EventRecord> = match &e.request_id {
        Some(r) => sqlx::query_as(&format!(
            "SELECT {EVENT_COLUMNS} FROM {EVENT_FROM}
              WHERE e.tenant_id = $1 AND e.request_id = $2 AND e.id <> $3
              ORDER BY e.seq LIMIT 50"
        ))
        .bind(tenant_id)
        .bind(r)
        .bind(id)
        .fetch_all(actor.conn())
        .await?,
        None => Vec::new(),
    };
    actor.commit().await?;
    let hex = crate::documents::blobs::hex;
    Ok(EventDetail {
        event: e.row(),
        actor_id: e.actor_user_id,
        from_platform: e.actor_tenant_id.is_some(),
        user_agent: e.user_agent.clone().unwrap_or_default(),
        request_id: e.request_id.clone().unwrap_or_default(),
        diff: super::diff(&e.changes),
        hash: hex(&e.hash),
        prev_hash: e.prev_hash.as_deref().map(hex).unwrap_or_default(),
        entity_link: super::entity_link(e.entity_type.as_deref().unwrap_or_default(), e.entity_id.as_deref().unwrap_or_default()),
        same_entity: same_entity.iter().map(EventRecord::row).collect(),
        same_request: same_request.iter().map(EventRecord::row).collect(),
    })
}

/// The tenant's chain check: starts one when `again`, or when there has
/// been none, then waits up to a second and a half for it (a small chain,
/// or the events since the last check, are done by then). `every` walks
/// every event; otherwise the check starts after the last event an earlier
/// check verified. Needs `audit:read`.
pub async fn chain_check(again: bool, every: bool) -> Result<ChainCheck, AppError> {
    let actor = require(Perm::AuditRead).await?;
    let tenant_id = actor.tenant_id();
    let reader = actor.reader();
    actor.commit().await?;
    let state = crate::ssr::app_state()?;
    let checks = state.chain_checks.clone();
    let entry = checks.entry(tenant_id);
    let start = entry.running_since.is_none() && (again || entry.last.is_none());
    if start {
        checks.update(tenant_id, |e| e.running_since = Some(Utc::now()));
        let mine = checks.clone();
        tokio::spawn(async move {
            let result = walk_chain(&reader, every).await;
            mine.update(tenant_id, |e| {
                e.running_since = None;
                match result {
                    Ok(status) => e.last = Some(status),
                    Err(error) => tracing::error!(?error, %tenant_id, "the audit chain check failed"),
                }
            });
        });
        for _ in 0..30 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            if checks.entry(tenant_id).running_since.is_none() {
                break;
            }
        }
    }
    Ok(checks.view(tenant_id))
}

/// What one check of a tenant's chain found (`steward_audit_check`,
/// migration 0035).
pub struct ChainWalk {
    /// Events walked and hashed again.
    pub checked: i64,
    /// The checkpoint the walk started after; 0 when it walked every event.
    pub from_seq: i64,
    /// When a check last walked every event and found it whole.
    pub every_at: Option<DateTime<Utc>>,
    pub broken: Option<ChainBreak>,
}

/// Checks the tenant's hash chain in `conn`, a read-write transaction
/// scoped to it: from its first event when `every`, else from its
/// checkpoint. The one reading of `steward_audit_check` (the page, and the
/// server's `verify-audit`, daily job and restores): any reason is a
/// break, also the newest events missing, which names no event.
pub async fn check_chain(conn: &mut sqlx::PgConnection, tenant_id: TenantId, every: bool) -> Result<ChainWalk, sqlx::Error> {
    type Row = (i64, i64, Option<Uuid>, Option<i64>, Option<DateTime<Utc>>, Option<String>, Option<DateTime<Utc>>);
    let (checked, from_seq, id, seq, at, reason, every_at): Row =
        sqlx::query_as("SELECT checked, from_seq, bad_id, bad_seq, bad_at, reason, every_at FROM steward_audit_check($1, $2)")
            .bind(tenant_id.0)
            .bind(every)
            .fetch_one(conn)
            .await?;
    let broken = reason.map(|reason| ChainBreak {
        id,
        seq: seq.unwrap_or_default(),
        at: at.map(|at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
        reason,
    });
    Ok(ChainWalk { checked, from_seq, every_at, broken })
}

/// Walks the tenant's hash chain for the page ([`check_chain`]).
async fn walk_chain(reader: &crate::authz::ssr::TenantReader, every: bool) -> Result<ChainStatus, AppError> {
    let mut tx = reader.chain_check_transaction().await?;
    let started = std::time::Instant::now();
    let walk = check_chain(&mut tx, reader.tenant_id(), every).await?;
    let cut: Option<DateTime<Utc>> = sqlx::query_scalar!(r#"SELECT max(cut_before) AS "cut: DateTime<Utc>" FROM audit_retention_cuts"#).fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(ChainStatus {
        checked: walk.checked,
        from_seq: walk.from_seq,
        every_at: walk.every_at.map(when),
        broken: walk.broken,
        cut_before: cut.map(when),
        took_ms: started.elapsed().as_millis() as u64,
        finished_at: when(Utc::now()),
    })
}

/// An event in chain order, as the JSON API gives it.
pub struct ChainedEvent {
    pub seq: i64,
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub action: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor_user_id: Option<UserId>,
    pub changes: Value,
}

/// Up to `limit` of the tenant's events after the sequence number `after`.
pub async fn chained_after(actor: &mut crate::authz::ssr::Actor, after: i64, limit: i64) -> Result<Vec<ChainedEvent>, AppError> {
    let tenant_id = actor.tenant_id();
    Ok(sqlx::query_as!(
        ChainedEvent,
        r#"SELECT seq, id, occurred_at AS "occurred_at: _", action, entity_type, entity_id, actor_user_id AS "actor_user_id: _", changes FROM audit_events
            WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"#,
        tenant_id.0,
        after,
        limit
    )
    .fetch_all(actor.conn())
    .await?)
}
