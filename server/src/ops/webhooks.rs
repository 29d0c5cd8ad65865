//! The webhook worker: posts what the audit trigger queued
//! (`webhook_deliveries`) to each endpoint, signed with its secret, over
//! HTTPS with `reqwest` (rustls, the webpki roots). The queue's rules
//! (claims with a lease, the backoff, pausing an endpoint failing for a
//! day) are in `app::webhooks::ssr`; this file is the transport and the
//! loop.
//!
//! Where a request may go is checked twice: when the endpoint is saved
//! (`app::webhooks::check_url`), and at every connection, after the name is
//! resolved (`Guard`), so that a name that later resolves to a private
//! address (DNS rebinding) reaches nothing inside the network. Redirects
//! are not followed: a 3xx is a failed delivery that says so.

use app::auth::mfa::MasterKey;
use app::authz::ssr::System;
use app::webhooks::ssr::{claim, prune, release, seal_context, settle, Attempt, Due, Rules};
use futures_util::future::join_all;
use sqlx::PgPool;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The longest one delivery may take, connecting and reading the answer
/// included.
pub const SEND_LIMIT: Duration = Duration::from_secs(10);
/// Deliveries claimed and sent at once (in parallel): a slow receiver
/// holds its own delivery, not the others'.
pub const BATCH: i64 = 16;
/// How much of a receiver's answer is kept with the delivery.
const ANSWER_KEPT: usize = 1000;

/// How the worker runs.
#[derive(Clone)]
pub struct WorkerConfig {
    /// Made by [`WorkerConfig::new`]: its resolver keeps private addresses
    /// out unless `allow_private`.
    pub client: reqwest::Client,
    pub master_key: MasterKey,
    pub allow_private: bool,
    pub rules: Rules,
    /// How long a claim is held: longer than a batch can take.
    pub lease: Duration,
    /// How often the queue is looked at when it was empty.
    pub poll: Duration,
    /// Delivered and failed deliveries are deleted after this many days.
    pub keep_days: u32,
}

impl WorkerConfig {
    /// `allow_private`: `--webhook-allow-private`.
    pub fn new(master_key: MasterKey, allow_private: bool, keep_days: u32) -> Result<WorkerConfig, String> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("Steward-Webhooks/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(SEND_LIMIT)
            .connect_timeout(Duration::from_secs(5))
            .https_only(!allow_private)
            .dns_resolver(std::sync::Arc::new(Guard { allow_private }))
            .build()
            .map_err(|e| format!("the webhook client cannot be made: {e}"))?;
        Ok(WorkerConfig {
            client,
            master_key,
            allow_private,
            rules: Rules::default(),
            lease: SEND_LIMIT * 3,
            poll: Duration::from_secs(1),
            keep_days,
        })
    }
}

/// Resolves an endpoint's name, keeping only public addresses (unless
/// private ones are allowed): the connection is made to what this returns,
/// so the check and the use see the same answer.
struct Guard {
    allow_private: bool,
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found.iter().copied().filter(|a| allow_private || app::webhooks::is_public(a.ip())).collect();
            if kept.is_empty() {
                let all: Vec<String> = found.iter().map(|a| a.ip().to_string()).collect();
                return Err(format!("{host} resolves to no public address ({}): webhooks go to public addresses only", all.join(", ")).into());
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// One attempt at one delivery.
pub async fn send(config: &WorkerConfig, due: &Due) -> Attempt {
    let started = Instant::now();
    let failed = |error: String, started: Instant| Attempt {
        delivered: false,
        status: None,
        body: String::new(),
        error: Some(error),
        duration_ms: i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX),
    };
    let Some(secret) = config.master_key.open(&due.secret_sealed, &seal_context(due.tenant_id, due.endpoint_id)) else {
        return failed("the endpoint's secret does not open with this server's master key: delete the endpoint and make it again".into(), started);
    };
    // An address given as an IP is not resolved: checked here instead.
    let url = match app::webhooks::check_url(&due.url, config.allow_private) {
        Ok(url) => url,
        Err(error) => return failed(error, started),
    };
    let signature = app::webhooks::signature(&secret, chrono::Utc::now().timestamp(), due.body.as_bytes());
    let request = config
        .client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(app::webhooks::SIGNATURE_HEADER, signature)
        .header("Steward-Event", &due.action)
        .header("Steward-Event-Id", due.event_id.to_string())
        .header("Steward-Delivery", due.id.to_string())
        .body(due.body.clone());
    let mut response = match request.send().await {
        Ok(response) => response,
        Err(error) => return failed(describe(&error), started),
    };
    let status = response.status();
    let mut answer: Vec<u8> = Vec::new();
    while answer.len() < ANSWER_KEPT {
        match response.chunk().await {
            Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
            // A receiver that stops mid-answer after a status still answered.
            Ok(None) | Err(_) => break,
        }
    }
    answer.truncate(ANSWER_KEPT);
    let delivered = status.is_success();
    Attempt {
        delivered,
        status: Some(i32::from(status.as_u16())),
        body: String::from_utf8_lossy(&answer).into_owned(),
        error: (!delivered).then(|| match status.is_redirection() {
            true => format!("the receiver answered {status}: redirects are not followed, give the final address"),
            false => format!("the receiver answered {status}"),
        }),
        duration_ms: i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX),
    }
}

/// An error with its causes, which reqwest keeps apart ("error sending
/// request" alone says nothing).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return format!("the receiver did not answer within {} s", SEND_LIMIT.as_secs());
    }
    let mut out = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// Sends the queue until `stop` turns true. It stops between batches, never
/// in the middle of one. Errors of the database are logged and the loop
/// goes on after a pause.
pub async fn run(pool: PgPool, config: WorkerConfig, mut stop: watch::Receiver<bool>) {
    let system = System::new(&pool);
    let mut last_prune: Option<tokio::time::Instant> = None;
    while !*stop.borrow() {
        if last_prune.is_none_or(|at| at.elapsed() >= Duration::from_secs(3600)) {
            match prune(&system, config.keep_days).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, keep_days = config.keep_days, "old webhook deliveries deleted"),
                Err(error) => tracing::warn!(?error, "deleting old webhook deliveries failed; it is tried again in an hour"),
            }
            last_prune = Some(tokio::time::Instant::now());
        }
        let pause = match send_due(&system, &config, &stop).await {
            Ok(0) => config.poll,
            Ok(_) => continue,
            Err(error) => {
                tracing::warn!(?error, "the webhook worker could not use its queue; it tries again in 5 s");
                Duration::from_secs(5)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Claims and sends one batch, in parallel; returns how many deliveries it
/// claimed. Asked to stop before sending, it hands the batch back.
pub async fn send_due(system: &System, config: &WorkerConfig, stop: &watch::Receiver<bool>) -> Result<usize, app::error::AppError> {
    let batch = claim(system, config.lease, BATCH).await?;
    if batch.is_empty() {
        return Ok(0);
    }
    if *stop.borrow() {
        release(system, &batch).await?;
        return Ok(batch.len());
    }
    let attempts = join_all(batch.iter().map(|due| send(config, due))).await;
    for (due, attempt) in batch.iter().zip(&attempts) {
        match &attempt.error {
            None => tracing::debug!(id = %due.id, "webhook delivered"),
            Some(error) => tracing::info!(id = %due.id, endpoint = %due.endpoint_id, attempt = due.attempt, %error, "webhook not delivered; it is tried again later"),
        }
        settle(system, due, attempt, &config.rules).await?;
    }
    Ok(batch.len())
}
