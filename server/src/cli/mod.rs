//! Command line and environment configuration of the `steward` binary.

pub mod demo;
pub mod gen_data;

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Steward: the administration console for multi-tenant software.
///
/// With no DATABASE_URL, Steward runs its own PostgreSQL cluster under the
/// data directory (initialised on first run, started privately on a unix
/// socket, stopped on exit). With DATABASE_URL it uses that server and
/// starts nothing.
#[derive(Parser, Debug)]
#[command(name = "steward", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// PostgreSQL server to use, connecting as the application role
    /// (steward_app, or a role that may SET ROLE steward_app). Unset: run the
    /// embedded cluster under the data directory.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// A streaming replica of the database (same roles): lists, searches
    /// and the audit log read from it; everything else, and every write,
    /// goes to DATABASE_URL (or the embedded cluster). For five minutes
    /// after a change, the browser that made it reads the replica only
    /// once it has replayed the change (the steward_written cookie).
    #[arg(long, env = "DATABASE_READ_URL", global = true, hide_env_values = true)]
    pub database_read_url: Option<String>,

    /// Connection used to apply migrations (the role that owns the schema).
    /// Defaults to DATABASE_URL.
    #[arg(long, env = "DATABASE_MIGRATION_URL", global = true, hide_env_values = true)]
    pub database_migration_url: Option<String>,

    /// Where Steward keeps its state: the embedded PostgreSQL cluster lives in
    /// <data-dir>/postgres.
    #[arg(long, env = "STEWARD_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,

    /// Directory holding the PostgreSQL server binaries (initdb, postgres)
    /// for the embedded cluster. Default: pg_config --bindir, then initdb on
    /// PATH, then the newest /usr/lib/postgresql/*/bin.
    #[arg(long, env = "PG_BINDIR", global = true)]
    pub pg_bindir: Option<PathBuf>,

    /// Point-in-time recovery for the embedded cluster: archive every WAL
    /// segment into DIR/wal (at least every 5 minutes while anything is
    /// written) and keep daily base backups in DIR/base, so that `steward
    /// restore --to TIME` can bring the database back as it was at any time
    /// since the oldest base backup. Recorded in <data-dir>/pitr.location
    /// and used by every later start (delete that file to stop archiving).
    #[arg(long, env = "STEWARD_PITR_DIR", global = true)]
    pub pitr_dir: Option<PathBuf>,
}

impl DatabaseArgs {
    /// Where document content is stored: the folder given (--blob-dir,
    /// STEWARD_BLOB_DIR), else `<data-dir>/blobs`.
    pub fn blob_dir(&self, given: Option<&std::path::Path>) -> PathBuf {
        given.map(std::path::Path::to_path_buf).unwrap_or_else(|| self.data_dir.join("blobs"))
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web console (the default command).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Create a platform administrator (and the platform tenant if missing).
    CreateAdmin(CreateAdminArgs),
    /// Load the demo tenants and users (Platform, Acme, Globex).
    Demo(DemoArgs),
    /// Check every tenant's audit hash chain, every event from the first;
    /// names the first event whose hash does not match. Exits 1 when any
    /// chain is broken. A whole chain moves the tenant's checkpoint, from
    /// which the Audit chain page checks new events.
    VerifyAudit(VerifyAuditArgs),
    /// Drop the audit log's whole months that are older than a period
    /// (e.g. `--older-than 13months`), and record that as an event of the
    /// platform tenant. Chains stay verifiable from the first event kept.
    AuditRetention(AuditRetentionArgs),
    /// Load generated tenants (gen-0001, …), users, grants, teams, documents
    /// and audit events through COPY, for benchmarks. Every generated user
    /// signs in with --password.
    GenData(GenDataArgs),
    /// Write a whole backup to FILE, one archive: the database (in one
    /// snapshot, without live sessions), the document contents it refers
    /// to, and the master key sealed under the passphrase in
    /// STEWARD_BACKUP_PASSPHRASE (an environment variable, never an
    /// argument). --since makes it incremental. Needs a role that sees past
    /// row-level security: the embedded cluster's superuser, or a
    /// DATABASE_MIGRATION_URL role with BYPASSRLS.
    Backup(BackupArgs),
    /// The backups in a folder (STEWARD_BACKUP_DIR by default), oldest
    /// first: when each was made, full or incremental, its size and counts.
    Backups(BackupsArgs),
    /// Replace the whole database with the backup in FILE (and the backups
    /// it builds on, from the same folder), put back the document contents
    /// and the master key, apply newer migrations, and check the row
    /// counts, every audit chain and every content's SHA-256. Needs
    /// STEWARD_BACKUP_PASSPHRASE. Or, with --to TIME instead of FILE (the
    /// embedded cluster with STEWARD_PITR_DIR, Steward stopped): bring the
    /// database back as it was at TIME, from a base backup and the archived
    /// WAL, end every session, and check every audit chain.
    Restore(RestoreArgs),
    /// Make a base backup for point-in-time recovery now (serve makes one
    /// each day), and list those kept: from which time a restore can aim.
    BaseBackup,
    /// Read the mail Steward queued: without an SMTP server this is where
    /// it is delivered (as on the Sent mail screen).
    #[command(subcommand)]
    Mail(MailCommand),
    /// The upkeep `steward serve` runs by itself (partitions, retention,
    /// the chain check, the daily backup): each job, how often, its last
    /// run and outcome.
    Jobs,
}

#[derive(Subcommand, Debug)]
pub enum MailCommand {
    /// The newest messages, one a line: when, status, organisation, to whom, subject, id.
    List(MailListArgs),
    /// One message, whole: its headers, its attempts and its plain-text body.
    Show(MailShowArgs),
}

#[derive(Args, Debug, Clone)]
pub struct MailListArgs {
    /// Only messages with this status: queued, sent or failed.
    #[arg(long)]
    pub status: Option<String>,
    /// Only messages to an address containing this.
    #[arg(long)]
    pub to: Option<String>,
    /// Only one organisation's messages (its short name).
    #[arg(long)]
    pub tenant: Option<String>,
    /// How many messages at most.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub limit: u32,
}

#[derive(Args, Debug, Clone)]
pub struct MailShowArgs {
    /// The message's id, as `steward mail list` prints it.
    pub id: uuid::Uuid,
}

#[derive(Args, Debug, Clone)]
pub struct BackupArgs {
    /// The archive to write (it takes this name only once complete).
    pub file: PathBuf,
    /// Make an incremental backup on this earlier one (in the same folder):
    /// only document contents it and its own bases do not hold are copied.
    #[arg(long)]
    pub since: Option<PathBuf>,
    /// Where document content is stored. Default: <data-dir>/blobs (as serve).
    #[arg(long, env = "STEWARD_BLOB_DIR")]
    pub blob_dir: Option<PathBuf>,
    /// The master key, when serve is given one (else <data-dir>/master.key).
    #[arg(long, env = "STEWARD_MASTER_KEY", hide_env_values = true, hide = true)]
    pub master_key: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct BackupsArgs {
    /// The folder. Default: STEWARD_BACKUP_DIR.
    #[arg(env = "STEWARD_BACKUP_DIR")]
    pub dir: PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct RestoreArgs {
    /// The archive to restore.
    #[arg(required_unless_present = "to", conflicts_with = "to")]
    pub file: Option<PathBuf>,
    /// Point-in-time recovery: the time to bring the database back to, with
    /// its zone ("2026-12-02 15:04:00Z"), or `latest` for the end of the
    /// archive. Every transaction committed by then is kept, none after.
    /// Recovery stops at a time only when the archive holds a later commit:
    /// for a quiet server's last minutes, say `latest`. Steward must be
    /// stopped; the replaced cluster is kept in <cluster>-before-restore
    /// until you delete it.
    #[arg(long)]
    pub to: Option<crate::ops::pitr::RestoreTarget>,
    /// Where document content goes. Default: <data-dir>/blobs (as serve).
    #[arg(long, env = "STEWARD_BLOB_DIR")]
    pub blob_dir: Option<PathBuf>,
    /// When set, it must be the backup's key (the restore checks).
    #[arg(long, env = "STEWARD_MASTER_KEY", hide_env_values = true, hide = true)]
    pub master_key: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "STEWARD_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Directory of the compiled site (the wasm bundle under pkg/, and public
    /// files), as produced by cargo leptos build.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// Mark every cookie Secure (set this when Steward is served over HTTPS).
    #[arg(long, env = "STEWARD_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// Sign out sessions idle for this many minutes.
    #[arg(long, env = "STEWARD_SESSION_IDLE_MINUTES", default_value_t = 480)]
    pub session_idle_minutes: i64,

    /// The key that seals two-factor secrets: 64 hexadecimal digits. Without
    /// it, <data-dir>/master.key is used, and created at the first start.
    #[arg(long, env = "STEWARD_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,

    /// Sign out every session this many hours after it signed in, however
    /// active it was.
    #[arg(long, env = "STEWARD_SESSION_MAX_HOURS", default_value_t = 12)]
    pub session_max_hours: i64,

    /// Where document content is stored (content-addressed by SHA-256).
    /// Default: <data-dir>/blobs.
    #[arg(long, env = "STEWARD_BLOB_DIR")]
    pub blob_dir: Option<PathBuf>,

    /// The size limit of one document upload, in megabytes.
    #[arg(long, env = "STEWARD_MAX_UPLOAD_MB", default_value_t = app::documents::DEFAULT_MAX_UPLOAD_MB,
          value_parser = clap::value_parser!(u64).range(1..=10240))]
    pub max_upload_mb: u64,

    /// A bearer token that opens /metrics to other hosts (Authorization:
    /// Bearer <token>). Without it, /metrics answers only this machine.
    #[arg(long, env = "STEWARD_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Reverse proxies or load balancers in front of Steward, as CIDR blocks
    /// separated by commas (such as 10.0.0.0/8,2001:db8::/32). A request
    /// from one of them is taken to come from the rightmost address in its
    /// X-Forwarded-For that is not a trusted proxy: that address is what
    /// sign-in throttling counts and audit events record. Unset: the
    /// connection's peer is the client and X-Forwarded-For is ignored.
    #[arg(long, env = "STEWARD_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<crate::client_addr::Cidr>,

    /// How long platform staff may act inside a tenant after switching in
    /// (with a stated reason), in minutes; then they are returned to the
    /// platform and the end is recorded.
    #[arg(long, env = "STEWARD_ACTING_MINUTES", default_value_t = app::tenants::DEFAULT_ACTING_MINUTES,
          value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub acting_minutes: u32,

    /// Keep this many whole days of the access log (older days are dropped
    /// every hour).
    #[arg(long, env = "STEWARD_ACCESS_LOG_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub access_log_days: u32,

    /// Drop the audit log's whole months older than this, every hour (a
    /// number and a unit: 13months, 400days, 7years), with the cut
    /// recorded as `steward audit-retention` does. Unset keeps them all.
    /// At least two months: the month just ended is never dropped.
    #[arg(long, env = "STEWARD_AUDIT_KEEP", value_parser = parse_audit_keep)]
    pub audit_keep: Option<Period>,

    /// Make a whole backup into this folder every day (see `steward backup`):
    /// a full one each week, incremental ones between. Needs
    /// STEWARD_BACKUP_PASSPHRASE in the environment. Unset: no backups are
    /// made, and the System screen raises that alarm.
    #[arg(long, env = "STEWARD_BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,

    /// Delete the backups in the backup folder older than this many days
    /// (by the newest of a full backup and its incremental ones, which go
    /// together; the newest chain is always kept).
    #[arg(long, env = "STEWARD_BACKUP_KEEP_DAYS", default_value_t = 35,
          value_parser = clap::value_parser!(u32).range(7..=3650))]
    pub backup_keep_days: u32,

    /// With STEWARD_PITR_DIR: delete the base backups older than this many
    /// days (the newest is always kept), and the WAL only they needed. A
    /// point-in-time restore can aim this far back.
    #[arg(long, env = "STEWARD_PITR_KEEP_DAYS", default_value_t = 7,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub pitr_keep_days: u32,

    /// How hard pages, answers and exports are compressed for browsers that
    /// accept it: zstd (brotli for those without it, then gzip), each at
    /// this level on its own scale, 1 (fastest) to 11; 0 sends them
    /// uncompressed (behind a proxy that compresses). The bundle is sent as compressed at build time.
    #[arg(long, env = "STEWARD_COMPRESSION_LEVEL", default_value_t = crate::web::assets::DEFAULT_LEVEL,
          value_parser = clap::value_parser!(u32).range(0..=11))]
    pub compression_level: u32,

    /// The SMTP server mail is sent through: smtps://user:password@host:465
    /// (TLS), smtp://user:password@host:587?tls=required (STARTTLS), or
    /// smtp://host:25 (unencrypted: a relay on this machine only). Unset:
    /// mail is delivered to the outbox, read on the Sent mail screen and
    /// with `steward mail list`.
    #[arg(long, env = "STEWARD_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The address mail comes from, such as "Steward <steward@example.com>"
    /// (needed with STEWARD_SMTP_URL).
    #[arg(long, env = "STEWARD_MAIL_FROM")]
    pub mail_from: Option<String>,

    /// Delete sent and failed mail from the outbox this many days after it
    /// was queued.
    #[arg(long, env = "STEWARD_MAIL_KEEP_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub mail_keep_days: u32,

    /// Let organisations' webhooks go to private, loopback and link-local
    /// addresses, and over plain http: for receivers inside the same
    /// network. Off, a webhook goes only over https to a public address
    /// (checked when it is saved and again at every connection, after the
    /// name is resolved).
    #[arg(long, env = "STEWARD_WEBHOOK_ALLOW_PRIVATE", default_value_t = false)]
    pub webhook_allow_private: bool,

    /// Delete webhook deliveries that are not due (delivered, given up, or
    /// held by a paused endpoint) this many days after they were queued.
    #[arg(long, env = "STEWARD_WEBHOOK_KEEP_DAYS", default_value_t = 14,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub webhook_keep_days: u32,

    /// Do not write requests to the access log.
    #[arg(long, env = "STEWARD_NO_ACCESS_LOG", default_value_t = false)]
    pub no_access_log: bool,

    /// Do not load the demo data into an empty database.
    #[arg(long, env = "STEWARD_NO_DEMO", default_value_t = false)]
    pub no_demo: bool,

    /// Load the demo into an empty database even when Steward is not on its
    /// own embedded cluster listening on a loopback address (the demo's
    /// users, a platform administrator among them, share a published
    /// password: never on a server others can reach).
    #[arg(long, env = "STEWARD_DEMO", conflicts_with = "no_demo")]
    pub demo: bool,

    /// The address people reach Steward at, such as https://console.example.com.
    /// Requests addressed to any other host are refused (421), and the
    /// cross-site check compares Origin and Referer with it. Unset: on a
    /// loopback address only 127.0.0.1, localhost and [::1] at its port are
    /// accepted; on any other address, every host (set this there).
    #[arg(long, env = "STEWARD_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Password given to every demo user.
    #[arg(long, env = "STEWARD_DEMO_PASSWORD", default_value = crate::demo::DEFAULT_PASSWORD, hide_env_values = true)]
    pub demo_password: String,
}

impl ServeArgs {
    /// The serve options when no subcommand is given: defaults and environment.
    pub fn from_env() -> Self {
        #[derive(Parser)]
        struct ServeOnly {
            #[command(flatten)]
            args: ServeArgs,
        }
        ServeOnly::parse_from(["steward"]).args
    }
}

#[derive(Args, Debug, Clone)]
pub struct CreateAdminArgs {
    /// The administrator's email address (their sign-in name).
    #[arg(long)]
    pub email: String,
    /// The administrator's display name.
    #[arg(long, default_value = "Platform administrator")]
    pub name: String,
    /// Read the password from standard input instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Password given to every demo user.
    #[arg(long, env = "STEWARD_DEMO_PASSWORD", default_value = crate::demo::DEFAULT_PASSWORD, hide_env_values = true)]
    pub password: String,
}

#[derive(Args, Debug, Clone)]
pub struct GenDataArgs {
    /// How many tenants to add.
    #[arg(long, default_value_t = 100)]
    pub tenants: u32,
    /// Users in each tenant.
    #[arg(long, default_value_t = 10_000)]
    pub users_per_tenant: u32,
    /// Audit events in all, shared among the tenants (each a verifiable chain).
    #[arg(long, default_value_t = 5_000_000)]
    pub audit_events: u64,
    /// Documents in all, shared among the tenants (one to three versions each).
    #[arg(long, default_value_t = 100_000)]
    pub documents: u64,
    /// Every generated user's password.
    #[arg(long, env = "STEWARD_DEMO_PASSWORD", default_value = crate::demo::DEFAULT_PASSWORD, hide_env_values = true)]
    pub password: String,
    /// Where document content goes. Default: <data-dir>/blobs (as serve).
    #[arg(long, env = "STEWARD_BLOB_DIR")]
    pub blob_dir: Option<PathBuf>,
    /// Seed of the generator: the same seed makes the same names.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Args, Debug, Clone)]
pub struct VerifyAuditArgs {
    /// Check only this tenant (its short name).
    #[arg(long)]
    pub tenant: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct AuditRetentionArgs {
    /// Drop months that ended longer ago than this: a number and a unit,
    /// `months`, `days` or `years` (e.g. 13months, 400days, 2years).
    #[arg(long, value_parser = parse_period)]
    pub older_than: Period,
    /// Only say which months would be dropped.
    #[arg(long)]
    pub dry_run: bool,
}

/// A length of time as `steward audit-retention` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Days(u32),
    Months(u32),
}

impl Period {
    /// As a person reads it: "13 months", "400 days".
    pub fn label(self) -> String {
        match self {
            Period::Days(d) => format!("{d} days"),
            Period::Months(m) => format!("{m} months"),
        }
    }

    /// The moment this long before `now`.
    pub fn before(self, now: chrono::DateTime<chrono::Utc>) -> Option<chrono::DateTime<chrono::Utc>> {
        match self {
            Period::Days(d) => now.checked_sub_signed(chrono::Duration::days(d.into())),
            Period::Months(m) => now.checked_sub_months(chrono::Months::new(m)),
        }
    }
}

/// `--audit-keep`: a period of at least two months (62 days), so the
/// hourly job never drops the month just ended, nor makes and drops it
/// again each hour.
pub fn parse_audit_keep(text: &str) -> Result<Period, String> {
    match parse_period(text)? {
        Period::Months(m) if m < 2 => Err("keep at least 2 months of the audit log (e.g. 13months)".into()),
        Period::Days(d) if d < 62 => Err("keep at least 62 days of the audit log (e.g. 400days)".into()),
        period => Ok(period),
    }
}

pub fn parse_period(text: &str) -> Result<Period, String> {
    let text = text.trim().to_ascii_lowercase();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u32 = number.parse().map_err(|_| format!("'{text}' should start with a number, as in 13months"))?;
    if n == 0 {
        return Err("the period must be longer than zero".into());
    }
    match unit.trim() {
        "d" | "day" | "days" => Ok(Period::Days(n)),
        "m" | "month" | "months" => Ok(Period::Months(n)),
        "y" | "year" | "years" => n.checked_mul(12).map(Period::Months).ok_or_else(|| "that period is too long".into()),
        other => Err(format!("unknown unit '{other}': use days, months or years (e.g. 13months)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_read_as_people_write_them() {
        assert_eq!(parse_period("13months"), Ok(Period::Months(13)));
        assert_eq!(parse_period("400days"), Ok(Period::Days(400)));
        assert_eq!(parse_period("2 years"), Ok(Period::Months(24)));
        assert!(parse_period("0months").is_err());
        assert!(parse_period("months").is_err());
        assert!(parse_period("3weeks").unwrap_err().contains("unknown unit"));
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z").unwrap().to_utc();
        assert_eq!(Period::Months(13).before(now).unwrap().to_rfc3339(), "2025-10-23T10:00:00+00:00");
    }
}
