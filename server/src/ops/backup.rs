//! `steward backup FILE` and `steward restore FILE`: pg_dump's custom format
//! of the whole database, and its restore, with row counts and the audit
//! chains checked on both sides.
//!
//! Every tenant-owned table forces row-level security, so only a role that
//! bypasses it sees every row: the embedded cluster's superuser, or for an
//! external server the role in DATABASE_MIGRATION_URL when it has
//! BYPASSRLS (or is a superuser). A role without it is refused with that
//! sentence rather than given an empty backup.

use crate::{Database, Error};
use sqlx::{ConnectOptions, Connection};
use std::path::Path;
use std::process::Command;

/// The figures a backup holds and a restore must give back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    pub tenants: i64,
    pub users: i64,
    pub documents: i64,
    pub audit_events: i64,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} tenants, {} users, {} documents, {} audit events",
            self.tenants, self.users, self.documents, self.audit_events
        )
    }
}

/// How the PostgreSQL client tools reach the database.
struct Target {
    args: Vec<String>,
    /// Set as PGPASSWORD etc. are not needed: the URL carries them, and the
    /// embedded cluster trusts its socket.
    options: sqlx::postgres::PgConnectOptions,
    embedded: bool,
}

fn target(database: &Database, urls: &crate::cli::DatabaseArgs) -> Result<Target, Error> {
    match (&database.cluster, &urls.database_url) {
        (Some(cluster), _) => Ok(Target {
            args: vec![
                "--host".into(),
                cluster.socket_dir().display().to_string(),
                "--port".into(),
                crate::embedded::SOCKET_PORT.to_string(),
                "--username".into(),
                crate::embedded::SUPERUSER.into(),
                "--dbname".into(),
                crate::db::DATABASE.into(),
            ],
            options: cluster.connect_options(crate::embedded::SUPERUSER, crate::db::DATABASE),
            embedded: true,
        }),
        (None, Some(url)) => {
            let url = urls.database_migration_url.clone().unwrap_or_else(|| url.clone());
            Ok(Target { args: vec!["--dbname".into(), url], options: database.targets.owner.clone(), embedded: false })
        }
        (None, None) => Err("there is no database to back up".into()),
    }
}

/// Counts rows as a role that sees past row-level security, and checks every
/// audit chain. Fails with one sentence when the role cannot see every row.
pub async fn counts(options: &sqlx::postgres::PgConnectOptions) -> Result<Counts, Error> {
    let mut conn = options.connect().await?;
    let bypasses: bool = sqlx::query_scalar!(r#"SELECT rolsuper OR rolbypassrls AS "bypasses!" FROM pg_roles WHERE rolname = current_user"#)
        .fetch_one(&mut conn)
        .await?;
    if !bypasses {
        return Err("the role in DATABASE_MIGRATION_URL cannot see past row-level security, so its backup would be empty: use a role with BYPASSRLS or a superuser for backup and restore.".into());
    }
    let (tenants, users, documents, audit_events) = sqlx::query!(
        r#"SELECT (SELECT count(*) FROM tenants) AS "tenants!", (SELECT count(*) FROM users) AS "users!",
                  (SELECT count(*) FROM documents) AS "documents!", (SELECT count(*) FROM audit_events) AS "audit_events!""#,
    )
    .map(|r| (r.tenants, r.users, r.documents, r.audit_events))
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    Ok(Counts { tenants, users, documents, audit_events })
}

fn run(bindir: &Path, tool: &str, args: &[String]) -> Result<(), Error> {
    let out = Command::new(bindir.join(tool))
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bindir.join(tool).display()))?;
    if !out.status.success() {
        let detail = String::from_utf8_lossy(&out.stderr);
        let detail = detail.lines().filter(|l| !l.trim().is_empty()).take(3).collect::<Vec<_>>().join(" ");
        return Err(format!("{tool} failed: {detail}").into());
    }
    Ok(())
}

/// Writes the database to `file` (custom format, compressed). Returns what it holds.
pub async fn backup(database: &Database, urls: &crate::cli::DatabaseArgs, file: &Path) -> Result<Counts, Error> {
    let target = target(database, urls)?;
    let counts = counts(&target.options).await?;
    let bindir = crate::embedded::find_bindir(urls.pg_bindir.as_deref())?;
    let partial = file.with_extension("partial");
    let mut args = vec!["--format=custom".to_string(), "--file".into(), partial.display().to_string()];
    args.extend(target.args.iter().cloned());
    run(&bindir, "pg_dump", &args)?;
    // Only a complete dump takes the name asked for.
    std::fs::rename(&partial, file).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    Ok(counts)
}

/// Replaces the database with the backup in `file`, then applies any newer
/// migrations and checks every audit chain. Returns what was restored.
pub async fn restore(database: &Database, urls: &crate::cli::DatabaseArgs, file: &Path) -> Result<Counts, Error> {
    if !file.is_file() {
        return Err(format!("there is no backup at {}", file.display()).into());
    }
    let target = target(database, urls)?;
    let bindir = crate::embedded::find_bindir(urls.pg_bindir.as_deref())?;
    // Read the file's table of contents first: a file that is not a backup
    // leaves the database untouched.
    run(&bindir, "pg_restore", &["--list".into(), file.display().to_string()])
        .map_err(|_| format!("{} is not a backup made by steward backup (pg_dump custom format)", file.display()))?;
    let mut args = vec!["--exit-on-error".to_string(), "--single-transaction".into()];
    if target.embedded {
        // A fresh database: nothing of the old one survives.
        let cluster = database.cluster.as_ref().ok_or("no embedded cluster")?;
        let mut admin = cluster.connect_options(crate::embedded::SUPERUSER, "postgres").connect().await?;
        let name = crate::db::DATABASE;
        sqlx::query!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name)
            .fetch_all(&mut admin)
            .await?;
        sqlx::query(&format!(r#"DROP DATABASE IF EXISTS "{name}""#)).execute(&mut admin).await?;
        sqlx::query(&format!(r#"CREATE DATABASE "{name}" OWNER {}"#, crate::db::OWNER_ROLE)).execute(&mut admin).await?;
        admin.close().await?;
    } else {
        args.extend(["--clean".to_string(), "--if-exists".into()]);
    }
    args.extend(target.args.iter().cloned());
    args.push(file.display().to_string());
    run(&bindir, "pg_restore", &args)?;
    crate::db::migrate(&database.targets.owner).await?;
    let counts = counts(&target.options).await?;
    let broken: Vec<String> = crate::db::verify_audit(&database.targets.owner, None)
        .await?
        .into_iter()
        .filter(|r| r.broken.is_some())
        .map(|r| r.tenant)
        .collect();
    if !broken.is_empty() {
        return Err(format!("restored, but the audit chains of {} do not verify: run steward verify-audit", broken.join(", ")).into());
    }
    Ok(counts)
}
