//! The "System" screen (`/system`), for platform administrators: the
//! scheduled upkeep (each job's last run and outcome, from the scheduler
//! in `steward serve`), the database (its size, its largest tables, its
//! connections in use and waiting, a replica's lag, the slowest statements
//! when `pg_stat_statements` is loaded), the application's
//! connection pools, and the mail queue.

use crate::error::AppError;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod ssr;
pub mod server;
pub mod pages;

/// One scheduled job, as the scheduler last left it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRow {
    pub job: String,
    pub title: String,
    /// "1 hour", "1 day".
    pub every: String,
    /// Set while a server runs it: since when, and which server.
    pub running: Option<(String, String)>,
    pub last_started_at: String,
    pub last_duration_ms: Option<i32>,
    /// `ok`, `alarm`, `failed`, or empty when it never ran.
    pub outcome: String,
    pub message: String,
    pub runs: i64,
    pub failures: i64,
}

/// The database, as the application's role sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatabaseFacts {
    pub version: String,
    pub size: String,
    /// The largest tables (with their indexes and partitions): name, size.
    pub tables: Vec<(String, String)>,
    /// Connections to this database by state (`active`, `idle`, …).
    pub connections: Vec<(String, i64)>,
    /// Connections waiting on a lock.
    pub waiting: i64,
    pub max_connections: i64,
    /// The streaming replica's delay behind the primary, when
    /// DATABASE_READ_URL names one.
    pub replica_lag: Option<String>,
    /// The statements that took the most time in all, from
    /// `pg_stat_statements`; `None` when the server does not load it.
    pub statements: Option<Vec<StatementFacts>>,
}

/// One statement's figures since the statistics were last reset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatementFacts {
    /// Its text, parameters as `$1`, blanks folded, at most 300 characters
    /// (another role's statement shows as PostgreSQL hides it).
    pub query: String,
    pub calls: i64,
    pub mean_ms: f64,
    pub total_ms: f64,
    pub rows: i64,
}

/// One pool of the server (this server's, not every server's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolFacts {
    pub name: String,
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// The mail queue, every organisation's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MailFacts {
    pub queued: i64,
    /// Queued messages whose first attempt failed and that wait for another.
    pub retrying: i64,
    pub failed: i64,
    pub sent_last_day: i64,
    pub oldest_queued: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SystemReport {
    pub jobs: Vec<JobRow>,
    pub database: DatabaseFacts,
    pub server_pools: Vec<PoolFacts>,
    pub mail: MailFacts,
}

/// "1 hour", "2 days", "30 minutes": how often a job runs.
pub fn every(seconds: i32) -> String {
    let plural = |n: i32, unit: &str| if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") };
    match seconds {
        s if s % 86_400 == 0 => plural(s / 86_400, "day"),
        s if s % 3_600 == 0 => plural(s / 3_600, "hour"),
        s if s % 60 == 0 => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_read_as_people_write_them() {
        assert_eq!(every(3600), "1 hour");
        assert_eq!(every(86_400 * 2), "2 days");
        assert_eq!(every(90), "90 seconds");
    }
}
