//! The upkeep `steward serve` runs by itself: one scheduler, its jobs in
//! the `scheduled_jobs` table, each with its last run and outcome (shown on
//! the System screen, and printed by `steward jobs`).
//!
//! - `partitions` (hourly): the audit log's months a year ahead and the
//!   access log's days a week ahead. An event whose month has no partition
//!   lands in the default partition rather than failing its write; any
//!   there is an alarm.
//! - `retention` (hourly): people deleted longer ago than their
//!   organisation's retention period anonymised, sign-in failures older
//!   than a day forgotten, access-log days past `--access-log-days`
//!   dropped, and, when `--audit-keep` is set, the audit log's months past
//!   it (with the cut recorded, as `steward audit-retention` does).
//! - `chain_check` (daily): every organisation's audit chain walked; a
//!   break is an alarm.
//!
//! Several servers may run the scheduler against one database: a server
//! claims a due job by marking it running in one statement, so no job runs
//! twice at once. A claim left by a server that died is taken over after
//! an hour.

use crate::cli::Period;
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What the scheduler needs besides the pools.
#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    pub access_log_days: u32,
    /// Audit months older than this are dropped; `None` keeps them all.
    pub audit_keep: Option<Period>,
    /// Named in the job's row while it runs (which server holds it).
    pub server: String,
    /// How often the table is looked at for due jobs.
    pub poll: Duration,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok(String),
    /// It ran, and found something a person must look at.
    Alarm(String),
    Failed(String),
}

impl Outcome {
    fn word(&self) -> &'static str {
        match self {
            Outcome::Ok(_) => "ok",
            Outcome::Alarm(_) => "alarm",
            Outcome::Failed(_) => "failed",
        }
    }

    fn message(&self) -> &str {
        match self {
            Outcome::Ok(m) | Outcome::Alarm(m) | Outcome::Failed(m) => m,
        }
    }
}

/// Runs due jobs until `stop` turns true.
pub async fn run(pool: PgPool, owner: PgConnectOptions, config: SchedulerConfig, mut stop: watch::Receiver<bool>) {
    loop {
        match run_due(&pool, &owner, &config).await {
            Ok(ran) => {
                for (job, outcome) in ran {
                    match &outcome {
                        Outcome::Ok(m) => tracing::info!(job, "{m}"),
                        Outcome::Alarm(m) => tracing::error!(job, "ALARM: {m}"),
                        Outcome::Failed(m) => tracing::warn!(job, "failed: {m}; it is tried again at its next turn"),
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "the scheduler could not read its jobs; it tries again shortly"),
        }
        tokio::select! {
            _ = tokio::time::sleep(config.poll) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Claims every due job, runs each, and records how it ended. Returns
/// what ran. (The scheduler's one step; the tests call it directly.)
pub async fn run_due(pool: &PgPool, owner: &PgConnectOptions, config: &SchedulerConfig) -> Result<Vec<(String, Outcome)>, sqlx::Error> {
    use sqlx::{ConnectOptions, Connection};
    let mut conn = owner.connect().await?;
    let due: Vec<String> = sqlx::query_scalar!(
        "UPDATE scheduled_jobs j SET running_since = now(), running_on = $1, last_started_at = now()
          WHERE j.job IN (SELECT d.job FROM scheduled_jobs d
                           WHERE (d.last_started_at IS NULL OR d.last_started_at + make_interval(secs => d.every_seconds) <= now())
                             AND (d.running_since IS NULL OR d.running_since < now() - interval '1 hour')
                           ORDER BY d.position FOR UPDATE SKIP LOCKED)
          RETURNING j.job",
        config.server
    )
    .fetch_all(&mut conn)
    .await?;
    let mut ran = Vec::new();
    for job in due {
        let started = Instant::now();
        let outcome = match job.as_str() {
            "partitions" => partitions(&mut conn).await,
            "retention" => retention(pool, owner, &mut conn, config).await,
            "chain_check" => chain_check(owner).await,
            other => Outcome::Failed(format!("this server does not know the job '{other}'")),
        };
        let millis = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        sqlx::query!(
            "UPDATE scheduled_jobs SET running_since = NULL, running_on = NULL, last_finished_at = now(),
                    last_outcome = $2, last_message = $3, last_duration_ms = $4,
                    runs = runs + 1, failures = failures + CASE WHEN $2 = 'ok' THEN 0 ELSE 1 END
              WHERE job = $1",
            job,
            outcome.word(),
            outcome.message(),
            millis
        )
        .execute(&mut conn)
        .await?;
        ran.push((job, outcome));
    }
    conn.close().await?;
    Ok(ran)
}

async fn partitions(conn: &mut sqlx::PgConnection) -> Outcome {
    let made = async {
        let audit: i32 = sqlx::query_scalar!(r#"SELECT steward_audit_ensure_partitions(12) AS "made!""#).fetch_one(&mut *conn).await?;
        let days: i32 = sqlx::query_scalar!(r#"SELECT steward_access_log_ensure_partitions(7) AS "made!""#).fetch_one(&mut *conn).await?;
        let stray: i64 = sqlx::query_scalar!(r#"SELECT steward_audit_default_count() AS "n!""#).fetch_one(&mut *conn).await?;
        Ok::<_, sqlx::Error>((audit, days, stray))
    }
    .await;
    match made {
        Err(e) => Outcome::Failed(e.to_string()),
        Ok((_, _, stray)) if stray > 0 => Outcome::Alarm(format!(
            "{stray} audit event(s) are in the default partition: a month had no partition when they were written. \
             They are kept, and their chains hold; make that month's partition by hand and move them into it."
        )),
        Ok((audit, days, _)) => Outcome::Ok(format!("{audit} audit month(s) and {days} access-log day(s) made; a year and a week ahead are ready")),
    }
}

async fn retention(pool: &PgPool, owner: &PgConnectOptions, conn: &mut sqlx::PgConnection, config: &SchedulerConfig) -> Outcome {
    let mut done = Vec::new();
    let system = app::authz::ssr::System::new(pool);
    match app::privacy::ssr::run_retention(&system).await {
        Ok(n) => done.push(format!("{n} deleted person(s) anonymised")),
        Err(e) => return Outcome::Failed(format!("anonymising deleted people: {e}")),
    }
    if let Err(e) = sqlx::query!("SELECT steward_sign_in_throttle_prune()").fetch_all(pool).await {
        return Outcome::Failed(format!("forgetting old sign-in failures: {e}"));
    }
    match crate::access_log::drop_old_days(conn, config.access_log_days).await {
        Ok(dropped) => done.push(format!("{} access-log day(s) dropped", dropped.len())),
        Err(e) => return Outcome::Failed(format!("dropping old access-log days: {e}")),
    }
    if let Some(keep) = config.audit_keep {
        let Some(cut) = keep.before(chrono::Utc::now()) else {
            return Outcome::Failed("the audit period reaches before the calendar begins".into());
        };
        match super::db::audit_retention(owner, cut, &keep.label(), false).await {
            Ok(dropped) => done.push(format!("{} audit month(s) older than {} dropped", dropped.len(), keep.label())),
            Err(e) => return Outcome::Failed(format!("dropping old audit months: {e}")),
        }
    }
    Outcome::Ok(done.join("; "))
}

async fn chain_check(owner: &PgConnectOptions) -> Outcome {
    match super::db::verify_audit(owner, None).await {
        Err(e) => Outcome::Failed(e.to_string()),
        Ok(reports) => {
            let checked: i64 = reports.iter().map(|r| r.checked).sum();
            let broken: Vec<String> = reports
                .iter()
                .filter_map(|r| r.broken.as_ref().map(|(_, seq, _, why)| format!("{} at event {seq}: {why}", r.tenant)))
                .collect();
            if broken.is_empty() {
                Outcome::Ok(format!("{checked} event(s) of {} organisation(s) checked; every chain holds", reports.len()))
            } else {
                Outcome::Alarm(format!("{} chain(s) broken: {}", broken.len(), broken.join("; ")))
            }
        }
    }
}
