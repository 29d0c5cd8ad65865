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
//! - `backup` (daily): a whole backup into STEWARD_BACKUP_DIR (full
//!   weekly, incremental between), expired ones deleted (`backup::scheduled`).
//!   A server with no backup folder takes the job only when no backup was
//!   tried for two days, and raises the alarm: no backups are being made. A
//!   server with a folder takes it at once after such an alarm.
//! - `base_backup` (daily): with STEWARD_PITR_DIR, a base backup for
//!   point-in-time recovery, expired ones and the WAL only they needed
//!   deleted (`pitr::base_backup`); an archiver that fails is an alarm.
//!   Only a server with the folder takes it.
//!
//! What a job needs of the server (a backup folder, a point-in-time
//! folder), and whether one without it raises an alarm after a while, is
//! in the job's row; `steward_job_due` is the one rule that says whether a
//! server may take a job now.
//!
//! Several servers may run the scheduler against one database: a job runs
//! under a session-level advisory lock of its own, so no job runs twice at
//! once however long it takes; a server that dies loses its locks with its
//! connection, and its claim is taken over at once.

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
    /// The daily backup, when a backup folder is set.
    pub backup: Option<std::sync::Arc<crate::backup::Scheduled>>,
    /// The daily base backup, when the embedded cluster archives its WAL.
    pub pitr: Option<std::sync::Arc<crate::pitr::Plan>>,
}

impl SchedulerConfig {
    /// The settings this server has, as jobs' `needs` name them.
    fn has(&self) -> Vec<String> {
        let mut has = Vec::new();
        if self.backup.is_some() {
            has.push("backup_dir".to_string());
        }
        if self.pitr.is_some() {
            has.push("pitr_dir".to_string());
        }
        has
    }
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

/// Runs every due job, one after another, and records how each ended.
/// Returns what ran. (The scheduler's one step; the tests call it directly.)
///
/// A job is held by a session-level advisory lock for the whole run, so no
/// other server starts it meanwhile however long it takes, and the lock
/// goes with the connection if this server dies. A claim left marked
/// running with no lock held (its server died) is taken over at once.
pub async fn run_due(pool: &PgPool, owner: &PgConnectOptions, config: &SchedulerConfig) -> Result<Vec<(String, Outcome)>, sqlx::Error> {
    use sqlx::{ConnectOptions, Connection};
    let mut conn = owner.connect().await?;
    let candidates: Vec<String> = sqlx::query_scalar!(
        r#"SELECT job AS "job!" FROM scheduled_jobs j WHERE steward_job_due(j, $1) ORDER BY position"#,
        &config.has()
    )
    .fetch_all(&mut conn)
    .await?;
    let mut ran = Vec::new();
    for job in candidates {
        let locked: bool = sqlx::query_scalar!(r#"SELECT pg_try_advisory_lock(hashtext('steward.job.' || $1::text)) AS "locked!""#, job)
            .fetch_one(&mut conn)
            .await?;
        if !locked {
            continue; // another server runs it now
        }
        let outcome = run_one(pool, owner, &mut conn, config, &job).await;
        sqlx::query!("SELECT pg_advisory_unlock(hashtext('steward.job.' || $1::text))", job).fetch_one(&mut conn).await?;
        if let Some(outcome) = outcome? {
            ran.push((job, outcome));
        }
    }
    conn.close().await?;
    Ok(ran)
}

/// With the job's lock held: claims it if it is still due (or its last
/// runner died), runs it, and settles it. `None` when it was not due.
async fn run_one(
    pool: &PgPool,
    owner: &PgConnectOptions,
    conn: &mut sqlx::PgConnection,
    config: &SchedulerConfig,
    job: &str,
) -> Result<Option<Outcome>, sqlx::Error> {
    let has = config.has();
    // Whether this server lacks what the job needs (then it only raises the alarm).
    let claimed = sqlx::query_scalar!(
        r#"UPDATE scheduled_jobs j SET running_since = now(), running_on = $2, last_started_at = now()
            WHERE job = $1 AND steward_job_due(j, $3)
        RETURNING j.needs IS NOT NULL AND NOT j.needs = ANY ($3) AS "unattended!""#,
        job,
        config.server,
        &has
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(unattended) = claimed else {
        return Ok(None);
    };
    let started = Instant::now();
    let outcome = match job {
        "partitions" => partitions(&mut *conn).await,
        "retention" => retention(pool, owner, &mut *conn, config).await,
        "chain_check" => chain_check(owner).await,
        "backup" => backup(config).await,
        "base_backup" => base_backup(config).await,
        other => Outcome::Failed(format!("this server does not know the job '{other}'")),
    };
    let millis = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    sqlx::query!(
        "UPDATE scheduled_jobs SET running_since = NULL, running_on = NULL, last_finished_at = now(),
                last_outcome = $2, last_message = $3, last_duration_ms = $4, last_run_unattended = $5,
                runs = runs + 1, failures = failures + CASE WHEN $2 = 'ok' THEN 0 ELSE 1 END
          WHERE job = $1",
        job,
        outcome.word(),
        outcome.message(),
        millis,
        unattended
    )
    .execute(&mut *conn)
    .await?;
    Ok(Some(outcome))
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
        Ok((_, _, stray)) if stray > 0 => {
            // Most often they are all of one month that had no partition:
            // the default partition becomes that month's, rows untouched.
            let adopted = sqlx::query_scalar!("SELECT steward_audit_adopt_default()").fetch_one(&mut *conn).await;
            Outcome::Alarm(match adopted {
                Ok(Some(month)) => format!(
                    "{stray} audit event(s) were in the default partition: their month had no partition when they were written. \
                     The default partition became {month}, with them, and a new one was made. Find out why the partitions were not made ahead."
                ),
                Ok(None) => format!(
                    "{stray} audit event(s) are in the default partition, of more than one month: they are kept and their chains hold, \
                     but retention does not drop them. Detach audit_events_default and attach it as the months' partition by hand."
                ),
                Err(e) => format!("{stray} audit event(s) are in the default partition, and giving them their month's partition failed: {e}"),
            })
        }
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

async fn backup(config: &SchedulerConfig) -> Outcome {
    match &config.backup {
        None => Outcome::Alarm(
            "no backups are being made: set STEWARD_BACKUP_DIR (and STEWARD_BACKUP_PASSPHRASE) on the servers, or back up with steward backup".into(),
        ),
        Some(plan) => match crate::backup::scheduled(plan).await {
            Ok((message, 0)) => Outcome::Ok(message),
            Ok((message, _)) => Outcome::Alarm(message),
            Err(e) => Outcome::Failed(e.to_string()),
        },
    }
}

async fn base_backup(config: &SchedulerConfig) -> Outcome {
    match &config.pitr {
        None => Outcome::Failed("this server has no point-in-time folder (STEWARD_PITR_DIR)".into()),
        Some(plan) => match crate::pitr::base_backup(plan).await {
            Ok((message, false)) => Outcome::Ok(message),
            Ok((message, true)) => Outcome::Alarm(message),
            Err(e) => Outcome::Failed(e.to_string()),
        },
    }
}

async fn chain_check(owner: &PgConnectOptions) -> Outcome {
    match super::db::verify_audit(owner, None).await {
        Err(e) => Outcome::Failed(e.to_string()),
        Ok(reports) => {
            let checked: i64 = reports.iter().map(|r| r.checked).sum();
            let broken: Vec<String> = reports
                .iter()
                .filter_map(|r| r.broken.as_ref().map(|b| format!("{} at event {}: {}", r.tenant, b.seq, b.reason)))
                .collect();
            if broken.is_empty() {
                Outcome::Ok(format!("{checked} event(s) of {} organisation(s) checked; every chain holds", reports.len()))
            } else {
                Outcome::Alarm(format!("{} chain(s) broken: {}", broken.len(), broken.join("; ")))
            }
        }
    }
}
