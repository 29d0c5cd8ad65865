//! The area's server side: the console's endpoints and deliveries
//! (authorised through the spine, each change with its audit event in the
//! same transaction), and the webhook worker's steps, which claim across
//! tenants in the platform scope and settle each delivery in its own
//! tenant's transaction through `System` (the worker is a job of the
//! server, not a request).
//!
//! Delivery is at least once: a worker claims due deliveries with a lease
//! (`FOR UPDATE SKIP LOCKED`), posts them, and settles each; a delivery
//! whose worker stopped before settling it is claimed again when its lease
//! ends. Receivers tell repeats apart by the event's id (in the body and in
//! the `Steward-Delivery` header, which is the delivery's id).

use super::*;
use crate::audit::record::{record, Event, RequestMeta};
use crate::authz::ssr::{require, Actor, System};
use crate::authz::Perm;
use crate::error::{AppError, FieldError};
use crate::ids::{TenantId, UserId};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::time::Duration;

/// Deliveries per page of an endpoint's list.
const PAGE: i64 = 50;

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(crate::text::when).unwrap_or_default()
}

/// What a sealed secret is bound to: its tenant and endpoint, so that a
/// sealed secret copied onto another endpoint's row does not open.
pub fn seal_context(tenant_id: TenantId, endpoint_id: Uuid) -> Vec<u8> {
    format!("webhook:{}:{endpoint_id}", tenant_id.0).into_bytes()
}

/// Managing webhooks needs `settings:manage`, and `audit:read` too: an
/// endpoint is sent the audit log, so only those who may read it choose
/// where it goes.
async fn manager() -> Result<Actor, AppError> {
    let actor = require(Perm::SettingsManage).await?;
    if !actor.me().can(Perm::AuditRead.key()) {
        actor.record_refusal(json!({ "permission": Perm::AuditRead.key(), "for": "webhooks" })).await;
        return Err(AppError::Forbidden);
    }
    Ok(actor)
}

/// The organisation's endpoints, newest first.
pub async fn list() -> Result<Vec<EndpointRow>, AppError> {
    let mut actor = manager().await?;
    let tenant_id = actor.tenant_id();
    let rows = endpoints(actor.conn(), tenant_id, None).await?;
    actor.commit().await?;
    Ok(rows)
}

async fn endpoints(conn: &mut sqlx::PgConnection, tenant_id: TenantId, only: Option<Uuid>) -> Result<Vec<EndpointRow>, AppError> {
    let rows = sqlx::query!(
        r#"SELECT e.id, e.url, e.description, e.actions, e.status, e.paused_reason, e.failing_since AS "failing_since: DateTime<Utc>",
                  e.created_at AS "created_at: DateTime<Utc>", e.last_attempt_at AS "last_attempt_at: DateTime<Utc>",
                  e.last_success_at AS "last_success_at: DateTime<Utc>", u.display_name AS "created_by?",
                  (SELECT count(*) FROM webhook_deliveries d
                    WHERE d.tenant_id = e.tenant_id AND d.endpoint_id = e.id AND d.status IN ('queued', 'held')) AS "queued!"
             FROM webhook_endpoints e
             LEFT JOIN users u ON u.tenant_id = e.tenant_id AND u.id = e.created_by
            WHERE e.tenant_id = $1 AND ($2::uuid IS NULL OR e.id = $2)
            ORDER BY e.created_at DESC, e.id DESC"#,
        tenant_id.0,
        only
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| EndpointRow {
            id: r.id,
            url: r.url,
            description: r.description,
            actions: r.actions,
            status: r.status,
            paused_reason: r.paused_reason.unwrap_or_default(),
            failing_since: when(r.failing_since),
            created_at: when(Some(r.created_at)),
            created_by: r.created_by.unwrap_or_default(),
            last_attempt_at: when(r.last_attempt_at),
            last_success_at: when(r.last_success_at),
            queued: r.queued,
        })
        .collect())
}

/// Makes an endpoint: checks the address (public unless the platform
/// allows private ones) and the actions, makes its secret, seals it, and
/// returns it: the only time it is shown.
pub async fn create(url: &str, actions: &str, description: &str) -> Result<NewEndpoint, AppError> {
    let mut actor = manager().await?;
    // An endpoint sends as long as its maker may manage webhooks here:
    // platform staff acting inside would leave one behind them.
    let Some(maker) = actor.local_user_id() else {
        return Err(AppError::Refused("Platform staff acting inside an organisation cannot add webhooks: its own owners add them.".into()));
    };
    let allow_private = crate::ssr::app_state()?.webhook_allow_private;
    let mut errors = Vec::new();
    let url = match check_destination(url, allow_private) {
        Ok(url) => Some(url),
        Err(message) => {
            errors.push(FieldError { field: "url".into(), message });
            None
        }
    };
    let actions = match parse_actions(actions) {
        Ok(actions) => Some(actions),
        Err(message) => {
            errors.push(FieldError { field: "actions".into(), message });
            None
        }
    };
    let description = description.trim();
    if description.chars().count() > 200 || description.chars().any(char::is_control) {
        errors.push(FieldError { field: "description".into(), message: "Describe it in at most 200 characters, on one line.".into() });
    }
    let (Some(url), Some(actions)) = (url, actions) else { return Err(AppError::Validation(errors)) };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let tenant_id = actor.tenant_id();
    // One count under the tenant's row lock: two forms sent at once cannot
    // pass the limit together.
    sqlx::query!("SELECT id FROM tenants WHERE id = $1 FOR UPDATE", tenant_id.0).fetch_one(actor.conn()).await?;
    let count = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM webhook_endpoints WHERE tenant_id = $1"#, tenant_id.0).fetch_one(actor.conn()).await?;
    if count >= MAX_ENDPOINTS {
        return Err(AppError::Conflict(format!("Your organisation has {MAX_ENDPOINTS} endpoints, the most it may have: delete one first.")));
    }
    let id = Uuid::now_v7();
    let secret = {
        use aes_gcm::aead::{rand_core::RngCore, OsRng};
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        format!("whsec_{}", crate::text::hex(&bytes))
    };
    let sealed = crate::ssr::app_state()?.master_key.seal(secret.as_bytes(), &seal_context(tenant_id, id));
    sqlx::query!(
        "INSERT INTO webhook_endpoints (tenant_id, id, url, description, actions, secret_sealed, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        tenant_id.0,
        id,
        url.as_str(),
        description,
        &actions,
        sealed,
        maker.0
    )
    .execute(actor.conn())
    .await?;
    actor.audit("webhook.create", "webhook", id, None, Some(json!({ "url": shown(url.as_str()), "actions": actions, "description": description }))).await?;
    actor.commit().await?;
    Ok(NewEndpoint { id, secret })
}

/// Pauses an endpoint in the caller's transaction, its row locked: its
/// waiting deliveries are held (out of the worker's queue) until it is
/// resumed. Those in flight are held when they settle.
async fn pause_in(conn: &mut sqlx::PgConnection, tenant_id: TenantId, id: Uuid, reason: &str) -> Result<(), AppError> {
    sqlx::query!("UPDATE webhook_endpoints SET status = 'paused', paused_reason = $3 WHERE tenant_id = $1 AND id = $2", tenant_id.0, id, reason)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "UPDATE webhook_deliveries SET status = 'held' WHERE tenant_id = $1 AND endpoint_id = $2 AND status = 'queued' AND (leased_until IS NULL OR leased_until < now())",
        tenant_id.0,
        id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An address as events and logs name it: without its query, which may
/// carry the receiver's token.
fn shown(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or_default().to_string()
}

/// Pauses (events are no longer queued for it; those queued wait) or
/// resumes (its queued deliveries are due at once) an endpoint.
pub async fn set_paused(id: Uuid, paused: bool) -> Result<(), AppError> {
    let mut actor = manager().await?;
    let tenant_id = actor.tenant_id();
    let before = sqlx::query!("SELECT status, paused_reason FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2 FOR UPDATE", tenant_id.0, id)
        .fetch_optional(actor.conn())
        .await?
        .ok_or(AppError::NotFound)?;
    if (before.status == "paused") == paused {
        return Ok(());
    }
    if paused {
        pause_in(actor.conn(), tenant_id, id, "person").await?;
    } else {
        sqlx::query!(
            "UPDATE webhook_endpoints SET status = 'active', paused_reason = NULL, failing_since = NULL WHERE tenant_id = $1 AND id = $2",
            tenant_id.0,
            id
        )
        .execute(actor.conn())
        .await?;
        // What waited is due at once, from its first attempt again.
        sqlx::query!(
            "UPDATE webhook_deliveries SET status = 'queued', next_attempt_at = now(), attempts = 0 WHERE tenant_id = $1 AND endpoint_id = $2 AND status = 'held'",
            tenant_id.0,
            id
        )
        .execute(actor.conn())
        .await?;
    }
    let (action, after) = if paused { ("webhook.pause", json!({ "status": "paused", "reason": "person" })) } else { ("webhook.resume", json!({ "status": "active" })) };
    actor.audit(action, "webhook", id, Some(json!({ "status": before.status, "reason": before.paused_reason })), Some(after)).await?;
    actor.commit().await
}

/// Deletes an endpoint and its deliveries.
pub async fn delete(id: Uuid) -> Result<(), AppError> {
    let mut actor = manager().await?;
    let tenant_id = actor.tenant_id();
    let gone = sqlx::query!("DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2 RETURNING url, actions", tenant_id.0, id)
        .fetch_optional(actor.conn())
        .await?
        .ok_or(AppError::NotFound)?;
    actor.audit("webhook.delete", "webhook", id, Some(json!({ "url": shown(&gone.url), "actions": gone.actions })), None).await?;
    actor.commit().await
}

/// Sends a delivery that was given up (or delivered) again, as a new
/// series of attempts.
pub async fn redeliver(id: Uuid, delivery_id: Uuid) -> Result<(), AppError> {
    let mut actor = manager().await?;
    let tenant_id = actor.tenant_id();
    let done = sqlx::query!(
        "UPDATE webhook_deliveries d
            SET status = CASE WHEN e.status = 'paused' THEN 'held' ELSE 'queued' END,
                attempts = 0, next_attempt_at = now(), delivered_at = NULL, leased_until = NULL
           FROM webhook_endpoints e
          WHERE d.tenant_id = $1 AND d.endpoint_id = $2 AND d.id = $3 AND d.status IN ('delivered', 'failed')
            AND e.tenant_id = d.tenant_id AND e.id = d.endpoint_id
          RETURNING d.event_id",
        tenant_id.0,
        id,
        delivery_id
    )
    .fetch_optional(actor.conn())
    .await?;
    let Some(done) = done else {
        // Unknown, or queued already: the list says which.
        let queued = sqlx::query_scalar!("SELECT status FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2 AND id = $3", tenant_id.0, id, delivery_id)
            .fetch_optional(actor.conn())
            .await?;
        return match queued {
            Some(_) => Err(AppError::Conflict("That delivery is waiting already: it is sent at its next attempt.".into())),
            None => Err(AppError::NotFound),
        };
    };
    actor.audit("webhook.redeliver", "webhook", id, None, Some(json!({ "delivery": delivery_id, "event": done.event_id }))).await?;
    actor.commit().await
}

/// An endpoint and a page of its deliveries, newest first.
pub async fn page(id: Uuid, after: &str) -> Result<EndpointPage, AppError> {
    let mut actor = manager().await?;
    let tenant_id = actor.tenant_id();
    let endpoint = endpoints(actor.conn(), tenant_id, Some(id)).await?.pop().ok_or(AppError::NotFound)?;
    let cursor = if after.is_empty() {
        None
    } else {
        let broken = || AppError::invalid("after", "That page link is broken: start from the first page.");
        let (micros, row) = crate::db::parse_cursor(after).ok_or_else(broken)?;
        let at = micros.parse::<i64>().ok().and_then(DateTime::<Utc>::from_timestamp_micros).ok_or_else(broken)?;
        Some((at, row))
    };
    let mut rows = sqlx::query!(
        r#"SELECT id, event_id, action, created_at AS "created_at: DateTime<Utc>", status, attempts,
                  next_attempt_at AS "next_attempt_at: DateTime<Utc>", delivered_at AS "delivered_at: DateTime<Utc>",
                  response_status, response_body, last_error, duration_ms
             FROM webhook_deliveries
            WHERE tenant_id = $1 AND endpoint_id = $2
              AND ($3::bigint IS NULL OR (created_at, id) < ('epoch'::timestamptz + $3 * interval '1 microsecond', $4))
            ORDER BY created_at DESC, id DESC
            LIMIT $5"#,
        tenant_id.0,
        id,
        cursor.map(|c| c.0.timestamp_micros()),
        cursor.map(|c| c.1),
        PAGE + 1
    )
    .fetch_all(actor.conn())
    .await?;
    actor.commit().await?;
    let next = (rows.len() as i64 > PAGE).then(|| {
        rows.truncate(PAGE as usize);
        rows.last().map(|r| crate::db::keyset::cursor(r.created_at, r.id)).unwrap_or_default()
    });
    let deliveries = rows
        .into_iter()
        .map(|r| DeliveryRow {
            id: r.id,
            event_id: r.event_id,
            action: r.action,
            queued_at: when(Some(r.created_at)),
            next_attempt_at: if r.status == "queued" { when(Some(r.next_attempt_at)) } else { String::new() },
            status: r.status,
            attempts: r.attempts,
            delivered_at: when(r.delivered_at),
            response_status: r.response_status,
            response_body: r.response_body.unwrap_or_default(),
            last_error: r.last_error.unwrap_or_default(),
            duration_ms: r.duration_ms,
        })
        .collect();
    Ok(EndpointPage { endpoint, deliveries, next })
}

/// A delivery claimed for sending.
#[derive(Clone, Debug)]
pub struct Due {
    pub tenant_id: TenantId,
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub action: String,
    pub url: String,
    pub secret_sealed: Vec<u8>,
    /// The body: the event as the payload column holds it.
    pub body: String,
    /// This attempt's number, from 1.
    pub attempt: i32,
    /// The claim: settling and handing back change the delivery only while
    /// this claim holds it.
    pub claim: Uuid,
}

/// What came of an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// A 2xx answer.
    pub delivered: bool,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<i32>,
    /// The start of its answer.
    pub body: String,
    /// Why there was no answer, or what the answer means.
    pub error: Option<String>,
    pub duration_ms: i32,
}

/// The worker's rules: the pause before each retry, and how long an
/// endpoint may fail before it is paused.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    pub backoff: crate::db::queue::Backoff,
    pub pause_after: Duration,
}

impl Default for Rules {
    /// 30 s doubling to an hour, 32 attempts (about 25 hours: longer
    /// than a day, so a dead endpoint is paused before its first delivery
    /// is given up); an endpoint failing for a day is paused.
    fn default() -> Rules {
        Rules {
            backoff: crate::db::queue::Backoff { first: Duration::from_secs(30), longest: Duration::from_secs(3600), attempts: 32 },
            pause_after: Duration::from_secs(24 * 3600),
        }
    }
}

/// Deliveries of one endpoint in flight at once, across workers: a slow
/// receiver holds at most this many of the worker's slots.
pub const IN_FLIGHT_PER_ENDPOINT: usize = 2;

/// Claims up to `limit` due deliveries of active endpoints for `lease`,
/// across tenants, at most [`IN_FLIGHT_PER_ENDPOINT`] of one endpoint in
/// flight. Each claim counts as an attempt.
///
/// Two steps: the candidates are read without locks (the oldest due, of
/// endpoints below the cap), chosen per endpoint here, then claimed by an
/// `UPDATE` that checks again, under each row's lock, that the delivery is
/// still due and unclaimed; so two workers never claim the same one.
pub async fn claim(system: &System, lease: Duration, limit: i64) -> Result<Vec<Due>, AppError> {
    let Some(mut tx) = system.in_platform().await? else { return Ok(Vec::new()) };
    let cap = IN_FLIGHT_PER_ENDPOINT as i64;
    let candidates = sqlx::query!(
        r#"SELECT x.tenant_id, x.id, x.endpoint_id, f.n AS "in_flight!"
             FROM webhook_deliveries x
             JOIN webhook_endpoints e ON e.tenant_id = x.tenant_id AND e.id = x.endpoint_id AND e.status = 'active'
             CROSS JOIN LATERAL (SELECT count(*) AS n FROM webhook_deliveries y
                                  WHERE y.tenant_id = x.tenant_id AND y.endpoint_id = x.endpoint_id AND y.status = 'queued'
                                    AND y.leased_until >= now()) f
            WHERE x.status = 'queued' AND x.next_attempt_at <= now() AND (x.leased_until IS NULL OR x.leased_until < now())
              AND f.n < $2
            ORDER BY x.next_attempt_at
            LIMIT $1::bigint * 8"#,
        limit,
        cap
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut taken: std::collections::HashMap<(Uuid, Uuid), i64> = std::collections::HashMap::new();
    let (mut tenants, mut ids) = (Vec::new(), Vec::new());
    for c in candidates {
        let n = taken.entry((c.tenant_id, c.endpoint_id)).or_insert(c.in_flight);
        if *n >= cap {
            continue;
        }
        *n += 1;
        tenants.push(c.tenant_id);
        ids.push(c.id);
        if ids.len() as i64 >= limit {
            break;
        }
    }
    if ids.is_empty() {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    let this_claim = Uuid::now_v7();
    let due = sqlx::query!(
        r#"UPDATE webhook_deliveries d
              SET leased_until = now() + make_interval(secs => $1::bigint / 1000.0), attempts = d.attempts + 1, claim = $2
             FROM unnest($3::uuid[], $4::uuid[]) AS c(tenant_id, id), webhook_endpoints e
            WHERE d.tenant_id = c.tenant_id AND d.id = c.id
              AND d.status = 'queued' AND d.next_attempt_at <= now() AND (d.leased_until IS NULL OR d.leased_until < now())
              AND e.tenant_id = d.tenant_id AND e.id = d.endpoint_id AND e.status = 'active'
        RETURNING d.tenant_id AS "tenant_id: TenantId", d.id, d.endpoint_id, d.event_id, d.action, e.url, e.secret_sealed,
                  d.payload::text AS "body!", d.attempts"#,
        lease_ms,
        this_claim,
        &tenants,
        &ids
    )
    .map(|r| Due {
        tenant_id: r.tenant_id,
        id: r.id,
        endpoint_id: r.endpoint_id,
        event_id: r.event_id,
        action: r.action,
        url: r.url,
        secret_sealed: r.secret_sealed,
        body: r.body,
        attempt: r.attempts,
        claim: this_claim,
    })
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(due)
}

/// Of claimed deliveries, those whose endpoint's maker still may manage
/// webhooks there (an active member holding `settings:manage` and
/// `audit:read`, as making it needed). The endpoints of the others are
/// paused (reason `maker`, with its `webhook.pause` event) and their
/// claims handed back, held: an endpoint is not a way to keep receiving
/// the audit log after one's access to it ended (the delegation rule).
pub async fn keep_if_maker_may(system: &System, batch: Vec<Due>) -> Result<Vec<Due>, AppError> {
    let mut endpoints: Vec<(TenantId, Uuid)> = batch.iter().map(|d| (d.tenant_id, d.endpoint_id)).collect();
    endpoints.sort_by_key(|(t, e)| (t.0, *e));
    endpoints.dedup();
    let mut refused: Vec<(TenantId, Uuid)> = Vec::new();
    for (tenant_id, endpoint_id) in endpoints {
        let mut tx = system.in_tenant(tenant_id).await?;
        let maker = sqlx::query_scalar!("SELECT created_by FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2 AND status = 'active'", tenant_id.0, endpoint_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(maker) = maker else {
            // Paused or deleted since the claim: settling finds out.
            tx.commit().await?;
            continue;
        };
        let may = match maker.map(UserId) {
            Some(maker) => {
                let grants = crate::authz::delegation::effective_grants(&mut tx, tenant_id, maker).await?;
                [Perm::SettingsManage, Perm::AuditRead].iter().all(|p| grants.permissions.iter().any(|g| g == p.key()))
            }
            None => false,
        };
        if may {
            tx.commit().await?;
            continue;
        }
        // Locked in the order settling and the console use: endpoint first.
        sqlx::query!("SELECT id FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2 FOR UPDATE", tenant_id.0, endpoint_id).fetch_one(&mut *tx).await?;
        pause_in(&mut tx, tenant_id, endpoint_id, "maker").await?;
        let claims: Vec<Uuid> = batch.iter().filter(|d| d.tenant_id == tenant_id && d.endpoint_id == endpoint_id).map(|d| d.id).collect();
        sqlx::query!(
            "UPDATE webhook_deliveries SET status = 'held', leased_until = NULL, attempts = attempts - 1
              WHERE tenant_id = $1 AND id = ANY($2) AND status = 'queued'",
            tenant_id.0,
            &claims
        )
        .execute(&mut *tx)
        .await?;
        let event = Event {
            tenant_id,
            actor_user_id: None,
            actor_tenant_id: None,
            action: "webhook.pause",
            entity_type: Some("webhook"),
            entity_id: Some(endpoint_id.to_string()),
            before: Some(json!({ "status": "active" })),
            after: Some(json!({ "status": "paused", "reason": "maker", "maker": maker })),
        };
        record(&mut tx, &RequestMeta::default(), event).await?;
        tx.commit().await?;
        tracing::warn!(tenant = %tenant_id.0, endpoint = %endpoint_id, "a webhook endpoint whose maker no longer may manage webhooks was paused");
        refused.push((tenant_id, endpoint_id));
    }
    Ok(batch.into_iter().filter(|d| !refused.contains(&(d.tenant_id, d.endpoint_id))).collect())
}

/// Writes what came of an attempt, in the delivery's tenant's transaction:
/// delivered; due again after the backoff's pause (held instead, when its
/// endpoint was paused meanwhile); or failed, out of attempts. The
/// endpoint's last attempt and success move with it; an endpoint whose
/// failures began `rules.pause_after` ago or more is paused, with its audit
/// event and a mail to whoever made it. The endpoint's row is locked first,
/// in the order the console's changes take them.
pub async fn settle(system: &System, due: &Due, attempt: &Attempt, rules: &Rules) -> Result<(), AppError> {
    let mut tx = system.in_tenant(due.tenant_id).await?;
    let endpoint = sqlx::query!(
        r#"SELECT status, failing_since AS "failing_since: DateTime<Utc>", created_by, url FROM webhook_endpoints
            WHERE tenant_id = $1 AND id = $2 FOR UPDATE"#,
        due.tenant_id.0,
        due.endpoint_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    // Deleted meanwhile: its deliveries went with it.
    let Some(endpoint) = endpoint else { return Ok(tx.commit().await?) };
    let body: String = attempt.body.chars().take(1000).collect();
    let error: Option<String> = attempt.error.as_ref().map(|e| e.chars().take(1000).collect());
    let give_up = !attempt.delivered && due.attempt >= rules.backoff.attempts;
    let hold = endpoint.status == "paused";
    let pause_ms = i64::try_from(rules.backoff.after(due.attempt).as_millis()).unwrap_or(i64::MAX);
    let settled = sqlx::query!(
        "UPDATE webhook_deliveries
            SET status = CASE WHEN $3 THEN 'delivered' WHEN $4 THEN 'failed' WHEN $11 THEN 'held' ELSE 'queued' END,
                delivered_at = CASE WHEN $3 THEN now() END,
                next_attempt_at = CASE WHEN $3 OR $4 THEN next_attempt_at ELSE now() + make_interval(secs => $5::bigint / 1000.0) END,
                leased_until = NULL, response_status = $6, response_body = $7, last_error = $8, duration_ms = $9
          WHERE tenant_id = $1 AND id = $2 AND status = 'queued' AND claim = $10",
        due.tenant_id.0,
        due.id,
        attempt.delivered,
        give_up,
        pause_ms,
        attempt.status,
        body,
        error,
        attempt.duration_ms,
        due.claim,
        hold
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if settled == 0 {
        // The lease ended and another worker took it over: its attempt counts.
        return Ok(tx.commit().await?);
    }
    if attempt.delivered {
        sqlx::query!(
            "UPDATE webhook_endpoints SET failing_since = NULL, last_attempt_at = now(), last_success_at = now() WHERE tenant_id = $1 AND id = $2",
            due.tenant_id.0,
            due.endpoint_id
        )
        .execute(&mut *tx)
        .await?;
        return Ok(tx.commit().await?);
    }
    let since = sqlx::query_scalar!(
        r#"UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now()), last_attempt_at = now()
            WHERE tenant_id = $1 AND id = $2 RETURNING failing_since AS "since!: DateTime<Utc>""#,
        due.tenant_id.0,
        due.endpoint_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let failing_for = endpoint.failing_since.map(|s| (Utc::now() - s).to_std().unwrap_or_default());
    if endpoint.status == "active" && failing_for.is_some_and(|d| d >= rules.pause_after) {
        pause_in(&mut tx, due.tenant_id, due.endpoint_id, "failing").await?;
        let reason = error.clone().or_else(|| attempt.status.map(|s| format!("HTTP {s}"))).unwrap_or_default();
        let event = Event {
            tenant_id: due.tenant_id,
            actor_user_id: None,
            actor_tenant_id: None,
            action: "webhook.pause",
            entity_type: Some("webhook"),
            entity_id: Some(due.endpoint_id.to_string()),
            before: Some(json!({ "status": "active" })),
            after: Some(json!({ "status": "paused", "reason": "failing", "failing_since": since, "last_error": reason })),
        };
        let event_id = record(&mut tx, &RequestMeta::default(), event).await?;
        if let Some(creator) = endpoint.created_by.map(UserId) {
            tell_creator(&mut tx, due.tenant_id, creator, event_id, &shown(&endpoint.url), since, &reason).await?;
        }
        tracing::warn!(tenant = %due.tenant_id.0, endpoint = %due.endpoint_id, "a webhook endpoint failing for a day was paused");
    }
    tx.commit().await?;
    Ok(())
}

/// Mails the endpoint's creator, when still an active member, that it was
/// paused, in the pausing transaction.
async fn tell_creator(
    conn: &mut sqlx::PgConnection,
    tenant_id: TenantId,
    creator: UserId,
    event_id: Uuid,
    url: &str,
    since: DateTime<Utc>,
    reason: &str,
) -> Result<(), AppError> {
    let found = sqlx::query!(
        r#"SELECT u.email, u.display_name, t.name AS organisation, t.settings->>'brand_colour' AS "brand_colour?"
             FROM users u JOIN tenants t ON t.id = u.tenant_id
            WHERE u.tenant_id = $1 AND u.id = $2 AND u.status = 'active' AND u.deleted_at IS NULL"#,
        tenant_id.0,
        creator.0
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(person) = found else { return Ok(()) };
    let letter = crate::outbox::letter::Letter {
        organisation: person.organisation,
        brand_colour: person.brand_colour,
        subject: "A webhook was paused".into(),
        paragraphs: vec![
            format!("{}, the webhook you made to {url} has failed every delivery for a day, so Steward paused it.", person.display_name),
            "No events are queued for it while it is paused; those already queued wait. Once the receiver answers again, resume it under Settings, Webhooks: the waiting deliveries are sent at once.".into(),
        ],
        facts: vec![("Address".into(), url.to_string()), ("Failing since".into(), crate::text::when(since)), ("Last error".into(), reason.to_string())],
        action: None,
    };
    crate::outbox::queue(
        conn,
        crate::outbox::Outgoing {
            tenant_id,
            kind: "webhook.pause",
            user_id: Some(creator),
            event_id: Some(event_id),
            to_address: &person.email,
            to_name: &person.display_name,
            letter,
            link: None,
        },
    )
    .await?;
    Ok(())
}

const QUEUE: crate::db::queue::Table = crate::db::queue::Table("webhook_deliveries");

/// Hands back claims not tried: due again at once, the claim not counted.
pub async fn release(system: &System, claimed: &[Due]) -> Result<(), AppError> {
    let Some(mut tx) = system.in_platform().await? else { return Ok(()) };
    let claims: Vec<_> = claimed.iter().map(|d| (d.tenant_id, d.id, d.claim)).collect();
    crate::db::queue::release(&mut tx, QUEUE, &claims).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes deliveries queued more than `keep_days` ago that are not due:
/// delivered, given up, or held by a paused endpoint (their bodies hold
/// what the events hold: names, addresses); returns how many.
pub async fn prune(system: &System, keep_days: u32) -> Result<u64, AppError> {
    let Some(mut tx) = system.in_platform().await? else { return Ok(0) };
    let done = crate::db::queue::prune(&mut tx, QUEUE, keep_days).await?;
    tx.commit().await?;
    Ok(done)
}
