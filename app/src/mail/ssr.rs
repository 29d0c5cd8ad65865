//! The area's server side: the screen's list (authorised through the
//! spine), and the mail worker's steps, which run in the platform scope
//! through `System` (the worker is a job of the server, not a request).
//!
//! Sending is at least once, and in practice once: a worker claims due
//! messages with a lease (`FOR UPDATE SKIP LOCKED`, so two workers, on one
//! server or several, never claim the same message), sends them, and
//! settles each. A message whose worker stopped before settling it is
//! claimed again when its lease ends, so nothing queued is lost; the only
//! way to send one twice is a worker dying between the SMTP server's
//! acceptance and the settling write, and then both copies carry the same
//! Message-ID, which mail clients use to show one.

use super::*;
use crate::authz::{ssr::require_platform, ssr::System, Perm};
use crate::db::keyset;
use crate::ids::TenantId;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, QueryBuilder};
use std::time::Duration;
use uuid::Uuid;

const PAGE: usize = 50;

/// One page of the mail queue, newest first. Platform administrators only.
pub async fn list(q: MailQuery) -> Result<MailList, AppError> {
    let mut actor = require_platform(Perm::SystemAdmin).await?;
    let reveal = crate::ssr::app_state()?.mail_links_on_screen;
    page(actor.conn(), &q, PAGE, reveal).await
}

/// The newest messages, for `steward mail list`: the same list as the
/// screen's, read in the platform scope.
pub async fn recent(system: &System, q: &MailQuery, limit: usize) -> Result<MailList, AppError> {
    let Some(mut tx) = system.in_platform().await? else { return Ok(MailList { rows: Vec::new(), next: None }) };
    let list = page(&mut tx, q, limit, false).await?;
    tx.commit().await?;
    Ok(list)
}

/// One message by its id (`steward mail show`), its link put in: the
/// command is run by the server's operator, who holds its database.
pub async fn one(system: &System, id: Uuid) -> Result<Option<(MailRow, String)>, AppError> {
    let Some(mut tx) = system.in_platform().await? else { return Ok(None) };
    let found = sqlx::query!("SELECT body_html, link FROM mail_outbox WHERE id = $1", id).fetch_optional(&mut *tx).await?;
    let Some(found) = found else { return Ok(None) };
    let html = crate::outbox::shown_body(&found.body_html, found.link.as_deref(), true);
    let mut b = select();
    b.push(" AND m.id = ").push_bind(id);
    let row = rows(&mut tx, b, true).await?.pop().map(|(row, _)| row);
    tx.commit().await?;
    Ok(row.map(|r| (r, html)))
}

fn select() -> QueryBuilder<'static, sqlx::Postgres> {
    QueryBuilder::new(
        "SELECT m.created_at, m.id, t.slug, m.kind, m.to_address, m.to_name, m.subject, m.body_text, m.status,
                m.delivered_via, m.sent_at, m.attempts, m.next_attempt_at, m.last_error, m.link
           FROM mail_outbox m LEFT JOIN steward_tenant_slugs() t ON t.id = m.tenant_id WHERE true",
    )
}

/// A page of the list; `reveal` puts the messages' links in.
async fn page(conn: &mut PgConnection, q: &MailQuery, limit: usize, reveal: bool) -> Result<MailList, AppError> {
    let mut b = select();
    if let Some(status) = status_filter(&q.status).map_err(|m| AppError::invalid("status", &m))? {
        b.push(" AND m.status = ").push_bind(status);
    }
    if !q.to.trim().is_empty() {
        b.push(" AND lower(m.to_address) LIKE ").push_bind(crate::db::like_pattern(q.to.trim()));
    }
    if !q.tenant.trim().is_empty() {
        b.push(" AND m.tenant_id = (SELECT id FROM steward_tenant_slugs() WHERE slug = ")
            .push_bind(q.tenant.trim().to_lowercase())
            .push(")");
    }
    keyset::push_after(&mut b, "m.created_at", "m.id", &q.after)?;
    b.push(format!(" ORDER BY m.created_at DESC, m.id DESC LIMIT {}", limit + 1));
    let mut rows = rows(conn, b, reveal).await?;
    let next = (rows.len() > limit).then(|| {
        rows.truncate(limit);
        rows.last().map(|(_, cursor)| cursor.clone()).unwrap_or_default()
    });
    Ok(MailList { rows: rows.into_iter().map(|(row, _)| row).collect(), next })
}

/// The rows a query reads, each with its cursor (its time and id).
async fn rows(conn: &mut PgConnection, mut b: QueryBuilder<'_, sqlx::Postgres>, reveal: bool) -> Result<Vec<(MailRow, String)>, AppError> {
    type Raw = (
        DateTime<Utc>,
        Uuid,
        Option<String>,
        String,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<DateTime<Utc>>,
        i32,
        DateTime<Utc>,
        Option<String>,
        Option<String>,
    );
    let raw: Vec<Raw> = b.build_query_as().fetch_all(conn).await?;
    let time = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
    Ok(raw
        .into_iter()
        .map(|(at, id, tenant, kind, to_address, to_name, subject, body_text, status, via, sent_at, attempts, next, error, link)| {
            let row = MailRow {
                id: id.to_string(),
                queued_at: time(at),
                tenant: tenant.unwrap_or_default(),
                kind,
                to_address,
                to_name,
                subject,
                body_text: crate::outbox::shown_body(&body_text, link.as_deref(), reveal),
                next_attempt_at: if status == "queued" { time(next) } else { String::new() },
                status,
                via: via.unwrap_or_default(),
                sent_at: sent_at.map(time).unwrap_or_default(),
                attempts,
                last_error: error.unwrap_or_default(),
            };
            (row, keyset::cursor(at, id))
        })
        .collect())
}

/// A message claimed for sending.
#[derive(Clone, Debug)]
pub struct Due {
    pub tenant_id: TenantId,
    pub id: Uuid,
    pub to_address: String,
    pub to_name: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// The link to put in for [`crate::outbox::LINK_PLACEHOLDER`].
    pub link: Option<String>,
    /// This attempt's number, from 1.
    pub attempt: i32,
    /// The claim: settling and handing back change the message only while
    /// this claim holds it (not after its lease ended and another took it).
    pub claim: Uuid,
}

/// Where a sent message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Smtp,
    /// No SMTP server is configured: the outbox is the delivery.
    Outbox,
}

/// What came of an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent(Via),
    /// The server may take it later (4xx, a connection refused, a timeout).
    Retry(String),
    /// It never will (5xx, an address that is not one).
    Refused(String),
}

pub use crate::db::queue::Backoff;

const QUEUE: crate::db::queue::Table = crate::db::queue::Table("mail_outbox");

/// Claims up to `limit` due messages for `lease`, across tenants. Each
/// claim counts as an attempt.
pub async fn claim(system: &System, lease: Duration, limit: i64) -> Result<Vec<Due>, AppError> {
    let Some(mut tx) = system.in_platform().await? else { return Ok(Vec::new()) };
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    let this_claim = Uuid::now_v7();
    let due = sqlx::query!(
        r#"UPDATE mail_outbox m
              SET leased_until = now() + make_interval(secs => $1::bigint / 1000.0), attempts = m.attempts + 1, claim = $3
             FROM (SELECT tenant_id, id FROM mail_outbox
                    WHERE status = 'queued' AND next_attempt_at <= now() AND (leased_until IS NULL OR leased_until < now())
                    ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED) d
            WHERE m.tenant_id = d.tenant_id AND m.id = d.id
        RETURNING m.tenant_id AS "tenant_id: TenantId", m.id, m.to_address, m.to_name, m.subject, m.body_text, m.body_html, m.link, m.attempts"#,
        lease_ms,
        limit,
        this_claim
    )
    .map(|r| Due {
        tenant_id: r.tenant_id,
        id: r.id,
        to_address: r.to_address,
        to_name: r.to_name,
        subject: r.subject,
        body_text: r.body_text,
        body_html: r.body_html,
        link: r.link,
        attempt: r.attempts,
        claim: this_claim,
    })
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(due)
}

/// Writes what came of an attempt: sent; due again after the backoff's
/// pause; or failed, when refused for good or out of attempts.
pub async fn settle(system: &System, due: &Due, outcome: &Outcome, backoff: &Backoff) -> Result<(), AppError> {
    let Some(mut tx) = system.in_platform().await? else { return Ok(()) };
    match outcome {
        Outcome::Sent(via) => {
            let via = match via {
                Via::Smtp => "smtp",
                Via::Outbox => "outbox",
            };
            sqlx::query!(
                "UPDATE mail_outbox SET status = 'sent', sent_at = now(), delivered_via = $3, leased_until = NULL, last_error = NULL,
                        link = CASE WHEN $3 = 'smtp' THEN NULL ELSE link END
                  WHERE tenant_id = $1 AND id = $2 AND status = 'queued' AND claim = $4",
                due.tenant_id.0,
                due.id,
                via,
                due.claim
            )
            .execute(&mut *tx)
            .await?;
        }
        Outcome::Retry(error) | Outcome::Refused(error) => {
            let give_up = matches!(outcome, Outcome::Refused(_)) || due.attempt >= backoff.attempts;
            let pause_ms = i64::try_from(backoff.after(due.attempt).as_millis()).unwrap_or(i64::MAX);
            let error: String = error.chars().take(1000).collect();
            sqlx::query!(
                "UPDATE mail_outbox
                    SET status = CASE WHEN $3 THEN 'failed' ELSE 'queued' END,
                        next_attempt_at = now() + make_interval(secs => $4::bigint / 1000.0),
                        leased_until = NULL, last_error = $5,
                        link = CASE WHEN $3 THEN NULL ELSE link END
                  WHERE tenant_id = $1 AND id = $2 AND status = 'queued' AND claim = $6",
                due.tenant_id.0,
                due.id,
                give_up,
                pause_ms,
                error,
                due.claim
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Hands back claims not tried: due again at once, the claim not counted.
pub async fn release(system: &System, claimed: &[Due]) -> Result<(), AppError> {
    let Some(mut tx) = system.in_platform().await? else { return Ok(()) };
    let claims: Vec<_> = claimed.iter().map(|d| (d.tenant_id, d.id, d.claim)).collect();
    crate::db::queue::release(&mut tx, QUEUE, &claims).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes sent and failed messages queued more than `keep_days` ago
/// (their bodies hold names and addresses); returns how many.
pub async fn prune(system: &System, keep_days: u32) -> Result<u64, AppError> {
    let Some(mut tx) = system.in_platform().await? else { return Ok(0) };
    let done = crate::db::queue::prune(&mut tx, QUEUE, keep_days).await?;
    tx.commit().await?;
    Ok(done)
}
