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
use app::webhooks::ssr::{claim, keep_if_maker_may, prune, release, seal_context, settle, Attempt, Due, Rules};
use futures_util::future::join_all;
use std::sync::Arc;
use sqlx::PgPool;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The longest one delivery may take, connecting and reading the answer
/// included.
pub const SEND_LIMIT: Duration = Duration::from_secs(10);
/// Deliveries in flight at once, each its own task: the worker claims
/// more as each finishes, and a slow receiver holds at most
/// `IN_FLIGHT_PER_ENDPOINT` of them (`app::webhooks::ssr::claim`).
pub const IN_FLIGHT: usize = 16;
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
            // A proxy from the environment (HTTPS_PROXY, ALL_PROXY) would
            // resolve the destination itself, out of the guard's sight.
            .no_proxy()
            .dns_resolver(Arc::new(Guard { allow_private }))
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
                // Which addresses stays in the server's log: the
                // organisation is not told the network's own names.
                tracing::debug!(%host, addresses = ?found, "a webhook's name resolves to no public address");
                return Err(format!("{host} resolves to no public address: webhooks go to public addresses only").into());
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
        // Without the URL: it may carry the receiver's token.
        Err(error) => return failed(describe(&error.without_url()), started),
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

/// Sends the queue until `stop` turns true: up to [`IN_FLIGHT`]
/// deliveries at once, each its own task, claiming more as each is
/// settled. Asked to stop, it claims no more and lets those in flight
/// finish (each within [`SEND_LIMIT`]). Errors of the database are logged
/// and the loop goes on after a pause.
pub async fn run(pool: PgPool, config: WorkerConfig, mut stop: watch::Receiver<bool>) {
    let system = System::new(&pool);
    let config = Arc::new(config);
    let mut running: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();
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
        let free = IN_FLIGHT - running.len();
        let mut pause = config.poll;
        if free > 0 {
            match claim_checked(&system, &config, free as i64).await {
                Ok(batch) if !batch.is_empty() => {
                    // As many due as there was room for: more may be due.
                    if batch.len() == free {
                        pause = Duration::ZERO;
                    }
                    for due in batch {
                        let (system, config) = (system.clone(), config.clone());
                        running.spawn(async move { deliver(&system, &config, &due).await });
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(?error, "the webhook worker could not use its queue; it tries again in 5 s");
                    pause = Duration::from_secs(5);
                }
            }
        }
        tokio::select! {
            Some(_) = running.join_next(), if !running.is_empty() => {}
            _ = tokio::time::sleep(pause), if pause > Duration::ZERO || running.is_empty() => {}
            _ = stop.changed() => {}
        }
    }
    while running.join_next().await.is_some() {}
}

/// Claims up to `limit` and keeps those whose endpoint's maker still may
/// (the others' endpoints are paused and their claims handed back).
async fn claim_checked(system: &System, config: &WorkerConfig, limit: i64) -> Result<Vec<Due>, app::error::AppError> {
    let batch = claim(system, config.lease, limit).await?;
    if batch.is_empty() {
        return Ok(batch);
    }
    keep_if_maker_may(system, batch).await
}

/// Sends one delivery and settles it; a settling error is logged (the
/// claim's lease then hands it to a later attempt).
async fn deliver(system: &System, config: &WorkerConfig, due: &Due) {
    let attempt = send(config, due).await;
    log(due, &attempt);
    if let Err(error) = settle(system, due, &attempt, &config.rules).await {
        tracing::warn!(?error, id = %due.id, "a webhook delivery could not be settled; it is tried again when its claim's lease ends");
    }
}

fn log(due: &Due, attempt: &Attempt) {
    match &attempt.error {
        None => tracing::debug!(id = %due.id, "webhook delivered"),
        Some(error) => tracing::info!(id = %due.id, endpoint = %due.endpoint_id, attempt = due.attempt, %error, "webhook not delivered; it is tried again later"),
    }
}

/// Claims and sends one batch of up to [`IN_FLIGHT`], in parallel, and
/// settles each; returns how many it claimed (as the loop does, at once:
/// for tests and one-off runs). Asked to stop before sending, it hands
/// the batch back.
pub async fn send_due(system: &System, config: &WorkerConfig, stop: &watch::Receiver<bool>) -> Result<usize, app::error::AppError> {
    let claimed = claim(system, config.lease, IN_FLIGHT as i64).await?;
    let n = claimed.len();
    if n == 0 {
        return Ok(0);
    }
    if *stop.borrow() {
        release(system, &claimed).await?;
        return Ok(n);
    }
    let batch = keep_if_maker_may(system, claimed).await?;
    let attempts = join_all(batch.iter().map(|due| send(config, due))).await;
    for (due, attempt) in batch.iter().zip(&attempts) {
        log(due, attempt);
        settle(system, due, attempt, &config.rules).await?;
    }
    Ok(n)
}
