//! The mail worker: sends what the console queued (`mail_outbox`), over
//! SMTP with `lettre` when STEWARD_SMTP_URL is set, or into the outbox
//! itself (read on the "Sent mail" screen and by `steward mail list`) when
//! it is not. The queue's rules (claims with a lease, retries with a
//! growing pause, at least once and in practice once) are in
//! `app::mail::ssr`; this file is the transport and the loop.

use app::authz::ssr::System;
use app::mail::ssr::{claim, prune, release, settle, Backoff, Due, Outcome, Via};
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::watch;

/// Where messages go.
#[derive(Clone)]
pub enum Transport {
    /// No SMTP server: a message is delivered by being marked sent in the
    /// outbox, where platform administrators read it.
    Outbox,
    Smtp { mailer: AsyncSmtpTransport<Tokio1Executor>, from: Mailbox },
}

impl Transport {
    /// From the settings: an SMTP URL (`smtps://user:pass@host:465`,
    /// `smtp://host:587?tls=required`, or `smtp://host:25` unencrypted) and
    /// the From address, or the outbox when there is no URL.
    pub fn new(smtp_url: Option<&str>, from: Option<&str>) -> Result<Transport, String> {
        let Some(url) = smtp_url.map(str::trim).filter(|u| !u.is_empty()) else { return Ok(Transport::Outbox) };
        let from = from.map(str::trim).filter(|f| !f.is_empty()).ok_or(
            "STEWARD_SMTP_URL is set but STEWARD_MAIL_FROM is not: give the address mail comes from, such as \"Steward <steward@example.com>\".",
        )?;
        let from: Mailbox = from.parse().map_err(|e| format!("STEWARD_MAIL_FROM is not an address ({e}): write it as \"Steward <steward@example.com>\"."))?;
        let mailer = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("STEWARD_SMTP_URL cannot be used ({e}): write it as smtps://user:password@host:465 or smtp://host:587?tls=required."))?
            .timeout(Some(SEND_LIMIT))
            .build();
        Ok(Transport::Smtp { mailer, from })
    }

    /// Where messages go, for the start-up line (no password in it).
    pub fn describe(&self) -> String {
        match self {
            Transport::Outbox => "mail goes to the outbox (the Sent mail screen, `steward mail list`): set STEWARD_SMTP_URL to send it".into(),
            Transport::Smtp { from, .. } => format!("mail is sent over SMTP (STEWARD_SMTP_URL) from {from}"),
        }
    }

    /// One attempt at one message.
    pub async fn send(&self, due: &Due) -> Outcome {
        let (mailer, from) = match self {
            Transport::Outbox => return Outcome::Sent(Via::Outbox),
            Transport::Smtp { mailer, from } => (mailer, from),
        };
        let to = match due.to_address.parse() {
            // A name is a header's text: no line breaks or other controls.
            Ok(address) => Mailbox::new(Some(plain(&due.to_name)).filter(|n| !n.is_empty()), address),
            Err(e) => return Outcome::Refused(format!("{} is not an address: {e}", due.to_address)),
        };
        // The link goes in only now, on its way to the person (in the HTML
        // body as an attribute's value, escaped as one).
        let put_in = |body: &str, html: bool| match &due.link {
            Some(link) if html => body.replace(app::outbox::LINK_PLACEHOLDER, &html_escape::encode_double_quoted_attribute(link)),
            Some(link) => body.replace(app::outbox::LINK_PLACEHOLDER, link),
            None => body.to_string(),
        };
        let domain = from.email.domain().to_string();
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(plain(&due.subject))
            // The same id on every attempt: a copy sent twice (a worker that
            // died between the server's acceptance and the settling write)
            // is shown once by mail clients.
            .message_id(Some(format!("<{}@{domain}>", due.id)))
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(put_in(&due.body_text, false)))
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(put_in(&due.body_html, true))),
            );
        let message = match message {
            Ok(m) => m,
            Err(e) => return Outcome::Refused(format!("the message cannot be built: {e}")),
        };
        // lettre's own timeout covers connecting only: the whole exchange
        // is bounded here, so a relay that stalls cannot hold the worker.
        match tokio::time::timeout(SEND_LIMIT, mailer.send(message)).await {
            Ok(Ok(_)) => Outcome::Sent(Via::Smtp),
            Ok(Err(e)) if e.is_permanent() => Outcome::Refused(e.to_string()),
            Ok(Err(e)) => Outcome::Retry(e.to_string()),
            Err(_) => Outcome::Retry(format!("the SMTP server did not finish within {} s", SEND_LIMIT.as_secs())),
        }
    }
}

/// The longest one SMTP attempt may take, connecting included.
pub const SEND_LIMIT: Duration = Duration::from_secs(30);
/// Messages claimed at once: each claim's lease covers all of them at
/// their longest, so no other worker takes one while this one may still
/// send it.
pub const BATCH: i64 = 4;

/// Text for a header: control characters (line breaks among them) become spaces.
fn plain(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_string()
}

/// How the worker runs.
#[derive(Clone)]
pub struct WorkerConfig {
    pub transport: Transport,
    pub backoff: Backoff,
    /// How long a claim is held: longer than a batch's attempts can take
    /// (`BATCH` × `SEND_LIMIT`), so no other worker takes a message that
    /// may still be being sent.
    pub lease: Duration,
    /// How often the queue is looked at when it was empty.
    pub poll: Duration,
    /// Sent and failed messages are deleted after this many days.
    pub keep_days: u32,
}

impl WorkerConfig {
    pub fn new(transport: Transport, keep_days: u32) -> WorkerConfig {
        WorkerConfig { transport, backoff: Backoff::default(), lease: SEND_LIMIT * (BATCH as u32 + 1), poll: Duration::from_secs(1), keep_days }
    }
}

/// Sends the queue until `stop` turns true. It stops between messages,
/// never in the middle of one, so a message is either settled or left to
/// its lease. Errors of the database (a restart, say) are logged and the
/// loop goes on after a pause.
pub async fn run(pool: PgPool, config: WorkerConfig, mut stop: watch::Receiver<bool>) {
    let system = System::new(&pool);
    let mut last_prune: Option<tokio::time::Instant> = None;
    while !*stop.borrow() {
        if last_prune.is_none_or(|at| at.elapsed() >= Duration::from_secs(3600)) {
            match prune(&system, config.keep_days).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, keep_days = config.keep_days, "old mail deleted from the outbox"),
                Err(error) => tracing::warn!(?error, "deleting old mail failed; it is tried again in an hour"),
            }
            last_prune = Some(tokio::time::Instant::now());
        }
        let pause = match send_due(&system, &config, &stop).await {
            Ok(0) => config.poll,
            Ok(_) => continue,
            Err(error) => {
                tracing::warn!(?error, "the mail worker could not use its queue; it tries again in 5 s");
                Duration::from_secs(5)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Claims and sends one batch; returns how many messages it claimed.
/// Asked to stop, it hands back the claims it has not tried, so another
/// worker (or this server, started again) sends them at once.
pub async fn send_due(system: &System, config: &WorkerConfig, stop: &watch::Receiver<bool>) -> Result<usize, app::error::AppError> {
    let batch = claim(system, config.lease, BATCH).await?;
    for (n, due) in batch.iter().enumerate() {
        if *stop.borrow() {
            release(system, &batch[n..]).await?;
            break;
        }
        let outcome = config.transport.send(due).await;
        match &outcome {
            Outcome::Sent(_) => tracing::debug!(id = %due.id, "mail sent"),
            Outcome::Retry(error) => tracing::warn!(id = %due.id, attempt = due.attempt, %error, "mail not sent; it is tried again later"),
            Outcome::Refused(error) => tracing::warn!(id = %due.id, %error, "mail refused for good"),
        }
        settle(system, due, &outcome, &config.backoff).await?;
    }
    Ok(batch.len())
}
