//! The access log's writer: requests hand their record to a bounded channel
//! (never waiting: a full channel drops the record and counts it), and one
//! background task writes what has gathered as a single multi-row INSERT,
//! so a request pays for a channel send and nothing else.

use app::ids::{TenantId, UserId};
use crate::metrics::Metrics;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// One request, as the access log keeps it.
#[derive(Debug, Clone)]
pub struct Record {
    pub at: DateTime<Utc>,
    pub method: String,
    pub route: String,
    pub path: String,
    pub status: u16,
    pub latency_us: i32,
    pub tenant_id: Option<TenantId>,
    pub user_id: Option<UserId>,
    pub request_id: Option<String>,
}

/// Records waiting for the writer, at most.
const QUEUE: usize = 20_000;
/// Records in one INSERT, at most.
const BATCH: usize = 2_000;
/// How long the writer lets records gather before it writes.
const GATHER: Duration = Duration::from_millis(250);

/// The requests' end of the channel.
#[derive(Clone)]
pub struct AccessLog {
    sender: mpsc::Sender<Record>,
    metrics: Arc<Metrics>,
}

impl AccessLog {
    /// Starts the writer on the current runtime.
    pub fn start(pool: PgPool, metrics: Arc<Metrics>) -> AccessLog {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(pool, receiver, metrics.clone()));
        AccessLog { sender, metrics }
    }

    /// Hands a record to the writer without waiting.
    pub fn push(&self, record: Record) {
        if self.sender.try_send(record).is_err() {
            self.metrics.access_log_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn write_batches(pool: PgPool, mut receiver: mpsc::Receiver<Record>, metrics: Arc<Metrics>) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        if receiver.recv_many(&mut batch, BATCH).await == 0 {
            return; // every sender is gone: the server stopped
        }
        // Let a burst gather into one statement.
        let deadline = tokio::time::Instant::now() + GATHER;
        while batch.len() < BATCH {
            let room = BATCH - batch.len();
            match tokio::time::timeout_at(deadline, receiver.recv_many(&mut batch, room)).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let n = batch.len() as u64;
        match insert(&pool, &batch).await {
            Ok(()) => {
                metrics.access_log_written.fetch_add(n, Ordering::Relaxed);
            }
            Err(error) => {
                metrics.access_log_dropped.fetch_add(n, Ordering::Relaxed);
                tracing::warn!(%error, records = n, "the access log could not be written");
            }
        }
        batch.clear();
    }
}

async fn insert(pool: &PgPool, batch: &[Record]) -> Result<(), sqlx::Error> {
    let mut at = Vec::with_capacity(batch.len());
    let mut method = Vec::with_capacity(batch.len());
    let mut route = Vec::with_capacity(batch.len());
    let mut path = Vec::with_capacity(batch.len());
    let mut status = Vec::with_capacity(batch.len());
    let mut latency = Vec::with_capacity(batch.len());
    let mut tenant = Vec::with_capacity(batch.len());
    let mut user = Vec::with_capacity(batch.len());
    let mut request = Vec::with_capacity(batch.len());
    for r in batch {
        at.push(r.at);
        method.push(r.method.as_str());
        route.push(r.route.as_str());
        path.push(r.path.as_str());
        status.push(r.status as i16);
        latency.push(r.latency_us);
        tenant.push(r.tenant_id);
        user.push(r.user_id);
        request.push(r.request_id.as_deref());
    }
    sqlx::query(
        "INSERT INTO access_log (at, method, route, path, status, latency_us, tenant_id, user_id, request_id)
         SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::int2[], $6::int4[],
                              $7::uuid[], $8::uuid[], $9::text[])",
    )
    .bind(at)
    .bind(method)
    .bind(route)
    .bind(path)
    .bind(status)
    .bind(latency)
    .bind(tenant)
    .bind(user)
    .bind(request)
    .execute(pool)
    .await?;
    Ok(())
}

/// Drops the access log's days older than `keep_days`, on a connection of
/// the schema owner. Returns the partitions dropped.
pub async fn drop_old_days(conn: &mut sqlx::PgConnection, keep_days: u32) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT unnest(steward_access_log_drop_before(date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - make_interval(days => $1))) AS "partition!""#,
        keep_days as i32
    )
    .fetch_all(conn)
    .await
}
