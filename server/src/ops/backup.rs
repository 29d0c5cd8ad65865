//! `steward backup FILE` and `steward restore FILE`: one archive that brings
//! a whole Steward back on another machine.
//!
//! The archive is a tar file (the `tar` crate) of, in this order:
//! - `steward-backup.json`, the manifest: when and from which schema it was
//!   made, the row counts, every document content the database refers to
//!   (SHA-256 and size), which of them this archive holds, the dump's
//!   SHA-256, and the master key sealed under a passphrase;
//! - `database.dump`, pg_dump's custom format;
//! - `mail_outbox.copy`, the mail queue with its links left out;
//! - `blobs/<sha256>`, each document content the archive holds.
//!
//! Everything is read in one snapshot: the dump, the counts and the list of
//! contents agree with each other however busy the server is.
//!
//! What is left out: the data of the session tables (a backup carries no
//! live session id) and the `link` of queued mail (a live link to choose a
//! password). People sign in again after a restore; a queued password
//! message goes out without its link, and is sent again from the console.
//!
//! An incremental backup (`--since BASE`) holds only the contents that
//! none of the backups it builds on holds; it names its base, and a restore
//! reads the base (from the same folder) for the rest.
//!
//! The master key is sealed with AES-256-GCM under a key derived from
//! STEWARD_BACKUP_PASSPHRASE by Argon2id (64 MiB, 3 passes), so a backup
//! without its passphrase opens no second factor.
//!
//! Every tenant-owned table forces row-level security, so only a role that
//! bypasses it sees every row: the embedded cluster's superuser, or for an
//! external server the role in DATABASE_MIGRATION_URL when it has
//! BYPASSRLS (or is a superuser). A role without it is refused with that
//! sentence rather than given an empty backup.

use crate::Error;
use app::auth::mfa::MasterKey;
use app::documents::blobs::FsBlobStore;
use app::text::{hex, unhex};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};
use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The archive's format, in its manifest.
pub const FORMAT: &str = "steward-backup/1";
/// The environment variable that holds the passphrase (never an argument).
pub const PASSPHRASE_VAR: &str = "STEWARD_BACKUP_PASSPHRASE";
/// The shortest passphrase a backup is made with.
pub const MIN_PASSPHRASE: usize = 12;

const MANIFEST: &str = "steward-backup.json";
const DUMP: &str = "database.dump";
const MAIL: &str = "mail_outbox.copy";
const BLOBS: &str = "blobs/";
/// Tables whose rows are not backed up: live sessions.
const WITHOUT_DATA: [&str; 2] = ["tower_sessions.session", "public.user_sessions"];

/// The figures a backup holds and a restore must give back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// One document content the database refers to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlobRef {
    pub sha256: String,
    pub size: u64,
}

/// The previous backup an incremental one builds on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaseRef {
    pub id: uuid::Uuid,
    /// Its file name, looked for in the same folder.
    pub file: String,
    pub made_at: DateTime<Utc>,
}

/// The master key, sealed under the passphrase.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SealedKey {
    /// "argon2id": the key-derivation function and its parameters.
    pub kdf: String,
    pub memory_kib: u32,
    pub passes: u32,
    pub lanes: u32,
    pub salt: String,
    /// AES-256-GCM: nonce then ciphertext and tag, in hexadecimal.
    pub sealed: String,
}

/// What an archive says about itself (its first member).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub id: uuid::Uuid,
    pub made_at: DateTime<Utc>,
    pub steward_version: String,
    /// The newest migration applied to the database backed up.
    pub schema_version: i64,
    pub counts: Counts,
    pub dump_sha256: String,
    pub dump_bytes: u64,
    pub mail_sha256: String,
    pub base: Option<BaseRef>,
    /// Every content the dump's documents refer to.
    pub referenced: Vec<BlobRef>,
    /// Those this archive holds (the others are in its base's chain).
    pub held: Vec<String>,
    /// Those that were already missing or damaged in the store when the
    /// backup was made (it cannot bring them back).
    pub missing: Vec<String>,
    /// The mail queue's columns, in the order of `mail_outbox.copy`.
    pub mail_columns: Vec<String>,
    pub master_key: SealedKey,
}

impl Manifest {
    /// "full backup", or "incremental backup on <its base's file>".
    pub fn kind(&self) -> String {
        match &self.base {
            None => "full backup".into(),
            Some(base) => format!("incremental backup on {}", base.file),
        }
    }
}

/// How the PostgreSQL client tools and Steward reach the database.
pub struct Target {
    /// A connection that sees past row-level security.
    options: PgConnectOptions,
    /// The client tools' connection arguments: never a password.
    args: Vec<String>,
    /// The password, given to the tools as PGPASSWORD.
    password: Option<String>,
    /// Steward's own cluster: a restore builds the database under another
    /// name and swaps it in only once it is whole.
    embedded: Option<Embedded>,
}

/// The embedded cluster's side of a restore.
struct Embedded {
    /// The cluster's maintenance connection (database `postgres`).
    admin: PgConnectOptions,
    /// The database's name.
    name: String,
}

/// The name a restore builds the embedded database under, and the name the
/// replaced one keeps until the restore has succeeded.
fn restoring(name: &str) -> (String, String) {
    (format!("{name}_restoring"), format!("{name}_before_restore"))
}

impl Target {
    /// A database of Steward's own cluster, as its superuser.
    pub fn embedded(cluster: &crate::embedded::Cluster, database: &str) -> Target {
        Target {
            options: cluster.connect_options(crate::embedded::SUPERUSER, database),
            args: vec![
                "--host".into(),
                cluster.socket_dir().display().to_string(),
                "--port".into(),
                crate::embedded::SOCKET_PORT.to_string(),
                "--username".into(),
                crate::embedded::SUPERUSER.into(),
                "--dbname".into(),
                database.into(),
            ],
            password: None,
            // Dropping and renaming a large database takes seconds: no
            // "slow statement" warnings in the command's output.
            embedded: Some(Embedded {
                admin: cluster
                    .connect_options(crate::embedded::SUPERUSER, "postgres")
                    .log_slow_statements(tracing::log::LevelFilter::Off, std::time::Duration::ZERO),
                name: database.into(),
            }),
        }
    }

    /// An external server, by URL: the password (in the user part or as a
    /// `password` parameter) leaves the URL and reaches the tools through
    /// their environment, never their arguments (which every user of the
    /// machine can read).
    pub fn external(url: &str) -> Result<Target, Error> {
        use std::str::FromStr;
        let options = PgConnectOptions::from_str(url).map_err(|e| format!("DATABASE_MIGRATION_URL is not a valid PostgreSQL URL: {e}"))?;
        let mut parsed = url::Url::parse(url).map_err(|e| format!("DATABASE_MIGRATION_URL is not a valid URL: {e}"))?;
        let mut password = parsed.password().map(|p| app::text::percent_decode(p).unwrap_or_else(|| p.to_string()));
        let mut kept = Vec::new();
        for (key, value) in parsed.query_pairs() {
            match key.as_ref() {
                "password" => password = Some(value.into_owned()),
                "sslpassword" => {
                    return Err("DATABASE_MIGRATION_URL carries an sslpassword, which backup and restore would have to pass in the tools' arguments: give them a client key without a passphrase".into())
                }
                _ => kept.push((key.into_owned(), value.into_owned())),
            }
        }
        let _ = parsed.set_password(None);
        if kept.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(kept);
        }
        Ok(Target { options, args: vec!["--dbname".into(), parsed.to_string()], password, embedded: None })
    }

    /// The tools' arguments for another database of the embedded cluster.
    fn args_for(&self, database: &str) -> Vec<String> {
        let mut args = self.args.clone();
        if let Some(i) = args.iter().position(|a| a == "--dbname") {
            args[i + 1] = database.into();
        }
        args
    }

    fn tool(&self, bindir: &Path, tool: &str) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(bindir.join(tool));
        if let Some(password) = &self.password {
            command.env("PGPASSWORD", password);
        }
        command.kill_on_drop(true);
        command
    }
}

/// Counts rows as a role that sees past row-level security. Fails with one
/// sentence when the role cannot see every row.
pub async fn counts(conn: &mut sqlx::PgConnection) -> Result<Counts, Error> {
    let bypasses: bool = sqlx::query_scalar!(r#"SELECT rolsuper OR rolbypassrls AS "bypasses!" FROM pg_roles WHERE rolname = current_user"#)
        .fetch_one(&mut *conn)
        .await?;
    if !bypasses {
        return Err("the role in DATABASE_MIGRATION_URL cannot see past row-level security, so its backup would be empty: use a role with BYPASSRLS or a superuser for backup and restore.".into());
    }
    let counts = sqlx::query!(
        r#"SELECT (SELECT count(*) FROM tenants) AS "tenants!", (SELECT count(*) FROM users) AS "users!",
                  (SELECT count(*) FROM documents) AS "documents!", (SELECT count(*) FROM audit_events) AS "audit_events!""#,
    )
    .map(|r| Counts { tenants: r.tenants, users: r.users, documents: r.documents, audit_events: r.audit_events })
    .fetch_one(&mut *conn)
    .await?;
    Ok(counts)
}

pub(crate) async fn run(mut command: tokio::process::Command, tool: &str) -> Result<(), Error> {
    let out = command.output().await.map_err(|e| format!("cannot run {tool}: {e}"))?;
    if !out.status.success() {
        let detail = String::from_utf8_lossy(&out.stderr);
        let detail = detail.lines().filter(|l| !l.trim().is_empty()).take(3).collect::<Vec<_>>().join(" ");
        return Err(format!("{tool} failed: {detail}").into());
    }
    Ok(())
}

/// What `backup` needs besides the database.
pub struct BackupPlan<'a> {
    /// The document store (FsBlobStore's folder).
    pub blob_dir: &'a Path,
    /// The master key's text (64 hexadecimal digits).
    pub master_key: &'a str,
    pub passphrase: &'a str,
    /// The backup this one builds on (incremental), if any.
    pub since: Option<&'a Path>,
    /// The PostgreSQL client tools.
    pub bindir: &'a Path,
}

/// What a backup wrote.
#[derive(Debug)]
pub struct Made {
    pub manifest: Manifest,
    /// Contents this archive holds, and their bytes.
    pub held_bytes: u64,
    /// The archive's size.
    pub bytes: u64,
}

impl std::fmt::Display for Made {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = &self.manifest;
        write!(
            f,
            "{}, {}; {} document contents ({}) held here",
            m.kind(),
            m.counts,
            m.held.len(),
            app::documents::human_size(self.held_bytes as i64)
        )?;
        if m.base.is_some() {
            write!(f, ", {} in the backups it builds on", m.referenced.len() - m.held.len() - m.missing.len())?;
        }
        Ok(())
    }
}

/// Writes a whole backup to `file`: nothing takes that name until the
/// archive is complete.
pub async fn backup(target: &Target, plan: &BackupPlan<'_>, file: &Path) -> Result<Made, Error> {
    if plan.passphrase.chars().count() < MIN_PASSPHRASE {
        return Err(format!(
            "set {PASSPHRASE_VAR} to a passphrase of at least {MIN_PASSPHRASE} characters: it seals the master key in the backup (without the key, restored second factors cannot be checked)."
        )
        .into());
    }
    if MasterKey::parse(plan.master_key).is_none() {
        return Err("the master key is not 64 hexadecimal digits".into());
    }
    let chain = match plan.since {
        Some(base) => read_chain(base)?,
        None => Vec::new(),
    };
    if plan.since.is_some_and(|base| folder(base) != folder(file)) {
        return Err("an incremental backup goes in the same folder as the backup it builds on, where a restore looks for it".into());
    }
    let in_base: HashSet<String> = chain.iter().flat_map(|(_, m)| m.held.iter().cloned()).collect();
    let store = FsBlobStore::new(plan.blob_dir).map_err(|e| format!("cannot use the blob folder {}: {e}", plan.blob_dir.display()))?;

    if file.exists() {
        return Err(format!("{} exists: a backup is never written over another; choose another name", file.display()).into());
    }
    let partial = sibling(file, ".partial");
    let dump = sibling(file, ".dump.partial");
    let mail = sibling(file, ".mail.partial");
    let _cleanup = Cleanup(vec![partial.clone(), dump.clone(), mail.clone()]);

    // One snapshot for everything read from the database.
    let mut conn = target.options.connect().await?;
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?;
    // The transaction waits, idle, while pg_dump reads: no time limit of
    // the server's may end it meanwhile.
    conn.execute("SET LOCAL idle_in_transaction_session_timeout = 0; SET LOCAL statement_timeout = 0").await?;
    let snapshot: String = sqlx::query_scalar!(r#"SELECT pg_export_snapshot() AS "snapshot!""#).fetch_one(&mut conn).await?;
    let made_at: DateTime<Utc> = sqlx::query_scalar("SELECT now()").fetch_one(&mut conn).await?;
    let counts = counts(&mut conn).await?;
    let schema_version: i64 = sqlx::query_scalar("SELECT coalesce(max(version), 0) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut conn)
        .await?;
    let referenced: Vec<BlobRef> = sqlx::query!(
        r#"SELECT sha256 AS "sha256!", max(size_bytes) AS "size!" FROM document_versions GROUP BY sha256 ORDER BY sha256"#
    )
    .map(|r| BlobRef { sha256: r.sha256, size: r.size as u64 })
    .fetch_all(&mut conn)
    .await?;
    let mail_columns: Vec<String> = sqlx::query_scalar!(
        r#"SELECT attname::text AS "name!" FROM pg_attribute
            WHERE attrelid = 'public.mail_outbox'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum"#
    )
    .fetch_all(&mut conn)
    .await?;

    // Made first, mode 0600: pg_dump truncates it and keeps the mode.
    private_file(&dump)?;
    let mut args = vec![format!("--snapshot={snapshot}"), "--format=custom".into(), "--file".into(), dump.display().to_string()];
    for table in WITHOUT_DATA.iter().chain(["public.mail_outbox"].iter()) {
        args.push(format!("--exclude-table-data={table}"));
    }
    args.extend(target.args.iter().cloned());
    let mut pg_dump = target.tool(plan.bindir, "pg_dump");
    pg_dump.args(&args);
    run(pg_dump, "pg_dump").await?;

    // The mail queue, its links left out: a message still waiting to carry
    // one is kept as not sent, with why (sent without it, it would be a
    // broken message).
    const CARRIED: &str = "link IS NOT NULL AND status = 'queued'";
    let select: Vec<String> = mail_columns
        .iter()
        .map(|c| match c.as_str() {
            "link" => "NULL::text".to_string(),
            "status" => format!("CASE WHEN {CARRIED} THEN 'failed' ELSE status END"),
            "last_error" => format!(
                "CASE WHEN {CARRIED} THEN 'not sent: restored from a backup, which keeps no live link; send it again' ELSE last_error END"
            ),
            _ => quote_ident(c),
        })
        .collect();
    let mut out = private_file(&mail)?;
    let mut stream = conn.copy_out_raw(&format!("COPY (SELECT {} FROM public.mail_outbox) TO STDOUT", select.join(", "))).await?;
    while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
        out.write_all(&chunk?)?;
    }
    drop(stream);
    out.sync_all()?;
    conn.execute("COMMIT").await?;
    conn.close().await?;

    // The rest is hashing, sealing and copying files (seconds to minutes
    // at scale): on a blocking thread, so that a daily backup inside
    // `serve` takes no worker from the pages.
    let base = chain.first().map(|(path, m)| BaseRef {
        id: m.id,
        file: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        made_at: m.made_at,
    });
    let (master_key, passphrase, file) = (plan.master_key.to_owned(), plan.passphrase.to_owned(), file.to_path_buf());
    let read = Snapshot { made_at, counts, schema_version, referenced, mail_columns };
    tokio::task::spawn_blocking(move || write_archive(read, &store, &in_base, base, (&master_key, &passphrase), (&dump, &mail, &partial), &file))
        .await
        .map_err(|e| format!("the backup's writer stopped: {e}"))?
}

/// What the snapshot gave the archive.
struct Snapshot {
    made_at: DateTime<Utc>,
    counts: Counts,
    schema_version: i64,
    referenced: Vec<BlobRef>,
    mail_columns: Vec<String>,
}

/// Hashes the dump, the mail queue and the contents no base holds, seals
/// the key, and writes the archive under its work name, then its name.
fn write_archive(
    read: Snapshot,
    store: &FsBlobStore,
    in_base: &HashSet<String>,
    base: Option<BaseRef>,
    (master_key, passphrase): (&str, &str),
    (dump, mail, partial): (&Path, &Path, &Path),
    file: &Path,
) -> Result<Made, Error> {
    let Snapshot { made_at, counts, schema_version, referenced, mail_columns } = read;
    // The contents: those no base holds, each checked against its address.
    let mut held = Vec::new();
    let mut missing = Vec::new();
    let mut held_bytes = 0;
    for blob in &referenced {
        if in_base.contains(&blob.sha256) {
            continue;
        }
        match stored_blob(store, blob) {
            Ok(path) => {
                held_bytes += blob.size;
                held.push((blob.sha256.clone(), path));
            }
            Err(()) => missing.push(blob.sha256.clone()),
        }
    }

    let (dump_sha256, dump_bytes) = file_sha256(dump).map_err(|e| format!("cannot read {}: {e}", dump.display()))?;
    let (mail_sha256, _) = file_sha256(mail).map_err(|e| format!("cannot read {}: {e}", mail.display()))?;
    let id = uuid::Uuid::now_v7();
    let mut manifest = Manifest {
        format: FORMAT.into(),
        id,
        made_at,
        steward_version: env!("CARGO_PKG_VERSION").into(),
        schema_version,
        counts,
        dump_sha256,
        dump_bytes,
        mail_sha256,
        base,
        referenced,
        held: held.iter().map(|(sha, _)| sha.clone()).collect(),
        missing,
        mail_columns,
        master_key: SealedKey::default(),
    };
    manifest.master_key = seal_key(master_key, passphrase, &manifest)?;

    // Readable by its owner only: it holds every person's data.
    let out = private_file(partial).map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    let mut archive = tar::Builder::new(std::io::BufWriter::new(out));
    let json = serde_json::to_vec_pretty(&manifest)?;
    append(&mut archive, MANIFEST, json.len() as u64, json.as_slice())?;
    append_file(&mut archive, DUMP, dump)?;
    append_file(&mut archive, MAIL, mail)?;
    for (sha, path) in &held {
        append_file(&mut archive, &format!("{BLOBS}{sha}"), path)?;
    }
    let written = archive.into_inner()?.into_inner().map_err(|e| e.into_error())?;
    written.sync_all()?;
    drop(written);
    publish(partial, file)?;
    let bytes = std::fs::metadata(file)?.len();
    Ok(Made { manifest, held_bytes, bytes })
}

/// What `restore` needs besides the database.
pub struct RestorePlan<'a> {
    /// Where the document contents go (FsBlobStore's folder).
    pub blob_dir: &'a Path,
    pub passphrase: Option<&'a str>,
    pub bindir: &'a Path,
    /// Where the master key is written (the data directory's master.key).
    pub key_file: &'a Path,
    /// STEWARD_MASTER_KEY, when set: it must be the backup's key.
    pub key_given: Option<&'a str>,
}

/// What a restore brought back.
#[derive(Debug)]
pub struct Restored {
    pub manifest: Manifest,
    pub counts: Counts,
    /// Contents checked in the store (SHA-256 and size), and their bytes.
    pub blobs_checked: usize,
    pub blob_bytes: u64,
    /// Where a different key that was in the key file was moved.
    pub replaced_key: Option<PathBuf>,
    pub key_file: PathBuf,
    /// How long each step took, in seconds.
    pub phases: Vec<(&'static str, f64)>,
}

impl std::fmt::Display for Restored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = &self.manifest;
        write!(
            f,
            "{} made {}: {}; every audit chain verifies; {} document contents ({}), every SHA-256 checked; the master key is in {}",
            m.kind(),
            m.made_at.format("%Y-%m-%d %H:%M:%SZ"),
            self.counts,
            self.blobs_checked,
            app::documents::human_size(self.blob_bytes as i64),
            self.key_file.display()
        )?;
        if let Some(old) = &self.replaced_key {
            write!(f, " (the key it replaced is kept in {})", old.display())?;
        }
        if !m.missing.is_empty() {
            write!(f, "; {} contents were already missing when the backup was made", m.missing.len())?;
        }
        let phases: Vec<String> = self.phases.iter().map(|(name, s)| format!("{name} {s:.1} s")).collect();
        write!(f, " ({})", phases.join(", "))
    }
}

/// Replaces the database with the backup in `file` (and the bases it
/// builds on), puts back the document contents and the master key, applies
/// any newer migrations, and checks the counts, every audit chain and every
/// content's SHA-256. Nothing is touched until the archive, its bases and
/// the passphrase have been checked.
pub async fn restore(target: &Target, owner: &PgConnectOptions, plan: &RestorePlan<'_>, file: &Path) -> Result<Restored, Error> {
    if !file.is_file() {
        return Err(format!("there is no backup at {}", file.display()).into());
    }
    let chain = read_chain(file)?;
    let manifest = chain[0].1.clone();
    let passphrase = plan
        .passphrase
        .ok_or_else(|| format!("set {PASSPHRASE_VAR} to the passphrase the backup was made with: it opens the backup's master key."))?;
    let key_text = open_key(&manifest, passphrase)?.ok_or_else(|| {
        format!("{PASSPHRASE_VAR} does not open this backup's master key: it is not the passphrase the backup was made with, or the manifest was changed.")
    })?;
    if let Some(given) = plan.key_given {
        if MasterKey::parse(given).is_none() || !given.trim().eq_ignore_ascii_case(&key_text) {
            return Err("STEWARD_MASTER_KEY is set to another key than the backup's: unset it (the restore writes the backup's key to the data directory), or set it to the backup's key.".into());
        }
    }
    let newest = crate::db::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    if manifest.schema_version > newest {
        return Err(format!(
            "this backup was made by a newer Steward ({}, schema {}): restore it with that version or a later one",
            manifest.steward_version, manifest.schema_version
        )
        .into());
    }
    if manifest.mail_columns.is_empty() {
        return Err(format!("{} is damaged: its manifest names no mail columns", file.display()).into());
    }
    let store = FsBlobStore::new(plan.blob_dir).map_err(|e| format!("cannot use the blob folder {}: {e}", plan.blob_dir.display()))?;
    let mut phases = Vec::new();
    let mut clock = std::time::Instant::now();
    let mut lap = |name: &'static str| {
        phases.push((name, clock.elapsed().as_secs_f64()));
        clock = std::time::Instant::now();
    };

    // The dump and the mail queue out of the archive, checked.
    let dump = sibling(&plan.blob_dir.join("staging").join("restore"), ".dump");
    let mail = sibling(&plan.blob_dir.join("staging").join("restore"), ".mail");
    let list = sibling(&plan.blob_dir.join("staging").join("restore"), ".list");
    let _cleanup = Cleanup(vec![dump.clone(), mail.clone(), list.clone()]);
    let missing: HashSet<&str> = manifest.missing.iter().map(String::as_str).collect();
    let mut wanted: BTreeMap<String, u64> =
        manifest.referenced.iter().filter(|b| !missing.contains(b.sha256.as_str())).map(|b| (b.sha256.clone(), b.size)).collect();
    let mut checked = 0usize;
    let mut bytes = 0u64;
    // Contents already in the store are checked, not copied again.
    wanted.retain(|sha, size| match stored_blob(&store, &BlobRef { sha256: sha.clone(), size: *size }) {
        Ok(_) => {
            checked += 1;
            bytes += *size;
            false
        }
        Err(()) => true,
    });
    for (n, (path, m)) in chain.iter().enumerate() {
        let mut archive = tar::Archive::new(std::fs::File::open(path)?);
        // Members not wanted are seeked past, not read (a base's dump).
        for entry in archive.entries_with_seek()? {
            let mut entry = entry?;
            let name = entry.path()?.to_string_lossy().into_owned();
            if n == 0 && name == DUMP {
                let (sha, _) = copy_hashing(&mut entry, &dump)?;
                if sha != m.dump_sha256 {
                    return Err(format!("{} is damaged: its database dump does not match the SHA-256 its manifest records", path.display()).into());
                }
            } else if n == 0 && name == MAIL {
                let (sha, _) = copy_hashing(&mut entry, &mail)?;
                if sha != m.mail_sha256 {
                    return Err(format!("{} is damaged: its mail queue does not match the SHA-256 its manifest records", path.display()).into());
                }
            } else if let Some(sha) = name.strip_prefix(BLOBS) {
                let Some(&size) = wanted.get(sha) else { continue };
                let target_path = store.path_of(sha).ok_or_else(|| format!("{} holds a content that is not named by its SHA-256", path.display()))?;
                let staged = plan.blob_dir.join("staging").join(uuid::Uuid::now_v7().to_string());
                let _staged = Cleanup(vec![staged.clone()]);
                let (actual, len) = copy_hashing(&mut entry, &staged)?;
                if actual != sha || len != size {
                    return Err(format!("{} is damaged: the content {sha} does not hash to its name", path.display()).into());
                }
                if let Some(dir) = target_path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::rename(&staged, &target_path)?;
                wanted.remove(sha);
                checked += 1;
                bytes += size;
            }
        }
    }
    if !dump.is_file() || !mail.is_file() {
        return Err(format!("{} is damaged: it lacks its database dump or its mail queue", file.display()).into());
    }
    if let Some(sha) = wanted.keys().next() {
        return Err(format!(
            "{} content(s) the database refers to are in none of the backups read (the first: {sha}): the chain of backups is incomplete",
            wanted.len()
        )
        .into());
    }
    // The dump's table of contents, without the statistics extension:
    // that is the server's (a superuser's to create), not the backup's.
    let damaged = || format!("{} is damaged: its database dump cannot be read by pg_restore", file.display());
    let listed = target.tool(plan.bindir, "pg_restore").arg("--list").arg(&dump).output().await.map_err(|_| damaged())?;
    if !listed.status.success() {
        return Err(damaged().into());
    }
    let contents: String = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(|line| {
            if line.contains("pg_stat_statements") || line.contains(crate::db::STATS_SCHEMA) {
                format!(";{line}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(&list, contents)?;
    lap("reading and checking the archive");

    // The database. Steward's own cluster builds it under another name and
    // swaps it in only once it is whole and its counts are the backup's, so
    // a failure leaves the database as it was; an external server's is
    // replaced by pg_restore in one transaction.
    let mut args = vec!["--exit-on-error".to_string(), "--single-transaction".into(), "--use-list".into(), list.display().to_string()];
    let into = match &target.embedded {
        Some(e) => {
            let (building, _) = restoring(&e.name);
            let mut admin = e.admin.connect().await?;
            admin.execute(format!(r#"DROP DATABASE IF EXISTS "{building}""#).as_str()).await?;
            admin.execute(format!(r#"CREATE DATABASE "{building}" OWNER {}"#, crate::db::OWNER_ROLE).as_str()).await?;
            admin.close().await?;
            args.extend(target.args_for(&building));
            target.options.clone().database(&building)
        }
        None => {
            args.extend(["--clean".to_string(), "--if-exists".into()]);
            args.extend(target.args.iter().cloned());
            target.options.clone()
        }
    };
    args.push(dump.display().to_string());
    let mut pg_restore = target.tool(plan.bindir, "pg_restore");
    pg_restore.args(&args);
    run(pg_restore, "pg_restore").await?;

    // The mail queue, as it was (without its links), then the counts, as
    // the backup recorded them (before any newer migration changes them).
    let mut conn = into.connect().await?;
    if target.embedded.is_some() {
        crate::db::ensure_statement_statistics(&mut conn).await?;
    }
    let columns: Vec<String> = manifest.mail_columns.iter().map(|c| quote_ident(c)).collect();
    let mut copy = conn.copy_in_raw(&format!("COPY public.mail_outbox ({}) FROM STDIN", columns.join(", "))).await?;
    copy.read_from(tokio::fs::File::open(&mail).await?).await?;
    copy.finish().await?;
    let counts = counts(&mut conn).await?;
    conn.close().await?;
    if counts != manifest.counts {
        let kept = if target.embedded.is_some() { "the database was left as it was" } else { "the database holds the restored rows" };
        return Err(format!("the restored database holds {counts} where the backup recorded {} ({kept})", manifest.counts).into());
    }
    if let Some(e) = &target.embedded {
        let (building, before) = restoring(&e.name);
        let name = &e.name;
        let mut admin = e.admin.connect().await?;
        sqlx::query!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name)
            .fetch_all(&mut admin)
            .await?;
        admin.execute(format!(r#"DROP DATABASE IF EXISTS "{before}""#).as_str()).await?;
        let exists: bool = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1) AS "exists!""#, name)
            .fetch_one(&mut admin)
            .await?;
        if exists {
            admin.execute(format!(r#"ALTER DATABASE "{name}" RENAME TO "{before}""#).as_str()).await?;
        }
        admin.execute(format!(r#"ALTER DATABASE "{building}" RENAME TO "{name}""#).as_str()).await?;
        admin.close().await?;
    }
    // The key now: the database in place is the backup's, and its second
    // factors are sealed under it, whatever the checks below find.
    let replaced_key = crate::ops::keys::write_key(plan.key_file, &key_text)?;
    lap("database");

    crate::db::migrate(owner).await?;
    let broken: Vec<String> =
        crate::db::verify_audit(owner, None).await?.into_iter().filter(|r| r.broken.is_some()).map(|r| r.tenant).collect();
    if !broken.is_empty() {
        return Err(format!("restored, but the audit chains of {} do not verify: run steward verify-audit", broken.join(", ")).into());
    }
    // All is well: the replaced database goes.
    if let Some(e) = &target.embedded {
        let (_, before) = restoring(&e.name);
        let mut admin = e.admin.connect().await?;
        admin.execute(format!(r#"DROP DATABASE IF EXISTS "{before}""#).as_str()).await?;
        admin.close().await?;
    }
    lap("migrations and chains");

    Ok(Restored { manifest, counts, blobs_checked: checked, blob_bytes: bytes, replaced_key, key_file: plan.key_file.to_path_buf(), phases })
}

/// The backup `steward serve` makes every day when STEWARD_BACKUP_DIR is
/// set: a full one when the newest full one is a week old (or there is
/// none), else an incremental one on the newest; then the chains whose
/// newest backup is older than `keep_days` are deleted, never the newest.
pub struct Scheduled {
    pub target: Target,
    pub dir: PathBuf,
    pub blob_dir: PathBuf,
    pub master_key: String,
    pub passphrase: String,
    pub bindir: PathBuf,
    pub keep_days: u32,
}

impl std::fmt::Debug for Scheduled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduled").field("dir", &self.dir).field("keep_days", &self.keep_days).finish_non_exhaustive()
    }
}

/// How old the newest full backup may be before the next one is full.
pub const FULL_EVERY_DAYS: i64 = 7;

/// Makes the day's backup; says what it wrote and deleted, and how many
/// contents were missing from the store (a person must look at those).
pub async fn scheduled(plan: &Scheduled) -> Result<(String, usize), Error> {
    std::fs::create_dir_all(&plan.dir).map_err(|e| format!("cannot create the backup folder {}: {e}", plan.dir.display()))?;
    let now = Utc::now();
    let archives = catalogue(&plan.dir)?;
    let full_is_recent = archives
        .iter()
        .rev()
        .find(|(_, m)| m.base.is_none())
        .is_some_and(|(_, m)| now - m.made_at < chrono::Duration::days(FULL_EVERY_DAYS));
    // On the newest backup, while its chain can be read whole (a base
    // deleted by hand makes the next one full).
    let since = archives.last().map(|(path, _)| path.clone()).filter(|newest| full_is_recent && read_chain(newest).is_ok());
    let name = format!("steward-{}-{}.backup", now.format("%Y%m%dT%H%M%S%.3fZ"), if since.is_some() { "incremental" } else { "full" });
    let file = plan.dir.join(&name);
    let backup_plan = BackupPlan {
        blob_dir: &plan.blob_dir,
        master_key: &plan.master_key,
        passphrase: &plan.passphrase,
        since: since.as_deref(),
        bindir: &plan.bindir,
    };
    let made = backup(&plan.target, &backup_plan, &file).await?;
    let mut all = archives;
    all.push((file, made.manifest.clone()));
    let mut old = expired(&all, now - chrono::Duration::days(i64::from(plan.keep_days)));
    // Newest first: stopped half-way, no incremental backup is left without its base.
    old.reverse();
    for path in &old {
        std::fs::remove_file(path).map_err(|e| format!("cannot delete the expired backup {}: {e}", path.display()))?;
    }
    let missing = match made.manifest.missing.len() {
        0 => String::new(),
        n => format!("; {n} document content(s) the database refers to are missing or damaged in the blob store"),
    };
    let said = format!("{name} ({}): {made}; {} expired backup(s) deleted{missing}", app::documents::human_size(made.bytes as i64), old.len());
    Ok((said, made.manifest.missing.len()))
}

/// The backups in a folder, oldest first; other files are passed over.
pub fn catalogue(dir: &Path) -> Result<Vec<(PathBuf, Manifest)>, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read the backup folder {}: {e}", dir.display()).into()),
    };
    let mut found: Vec<(PathBuf, Manifest)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "backup") && p.is_file())
        .filter_map(|p| read_manifest(&p).ok().map(|m| (p, m)))
        .collect();
    found.sort_by_key(|(_, m)| m.made_at);
    Ok(found)
}

/// The backups to delete: every chain (a full backup and the incremental
/// ones on it) whose newest member was made before `cut`, except the
/// chain of the newest backup.
fn expired(archives: &[(PathBuf, Manifest)], cut: DateTime<Utc>) -> Vec<PathBuf> {
    let by_id: std::collections::HashMap<uuid::Uuid, &Manifest> = archives.iter().map(|(_, m)| (m.id, m)).collect();
    let root = |m: &Manifest| {
        let mut id = m.id;
        let mut base = m.base.as_ref().map(|b| b.id);
        for _ in 0..1000 {
            match base.and_then(|b| by_id.get(&b)) {
                Some(found) => {
                    id = found.id;
                    base = found.base.as_ref().map(|b| b.id);
                }
                None => break,
            }
        }
        id
    };
    let mut chains: BTreeMap<uuid::Uuid, (DateTime<Utc>, Vec<PathBuf>)> = BTreeMap::new();
    for (path, m) in archives {
        let chain = chains.entry(root(m)).or_insert((m.made_at, Vec::new()));
        chain.0 = chain.0.max(m.made_at);
        chain.1.push(path.clone());
    }
    let newest = archives.iter().max_by_key(|(_, m)| m.made_at).map(|(_, m)| root(m));
    chains.into_iter().filter(|(id, (last, _))| Some(*id) != newest && *last < cut).flat_map(|(_, (_, paths))| paths).collect()
}

/// Reads an archive's manifest (its first member).
pub fn read_manifest(file: &Path) -> Result<Manifest, Error> {
    let not_ours = || format!("{} is not a backup made by steward backup", file.display());
    let mut archive = tar::Archive::new(std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?);
    let mut entries = archive.entries().map_err(|_| not_ours())?;
    let mut first = entries.next().ok_or_else(not_ours)?.map_err(|_| not_ours())?;
    if first.path().map_err(|_| not_ours())?.to_string_lossy() != MANIFEST || first.size() > 64 << 20 {
        return Err(not_ours().into());
    }
    let mut text = Vec::new();
    first.read_to_end(&mut text).map_err(|_| not_ours())?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|_| not_ours())?;
    if manifest.format != FORMAT {
        return Err(format!("{} is a backup of another format ({}): this Steward reads {FORMAT}", file.display(), manifest.format).into());
    }
    Ok(manifest)
}

/// An archive and the bases it builds on, newest first.
fn read_chain(file: &Path) -> Result<Vec<(PathBuf, Manifest)>, Error> {
    let mut chain = vec![(file.to_path_buf(), read_manifest(file)?)];
    while let Some(base) = chain.last().and_then(|(_, m)| m.base.clone()) {
        if chain.len() > 1000 {
            return Err("the chain of backups is more than 1000 long: make a full backup".into());
        }
        // A plain file name only: the base is in the same folder.
        if Path::new(&base.file).file_name().is_none_or(|name| name != base.file.as_str()) {
            return Err(format!("{} is damaged: the backup it builds on is not named as a file of its folder", file.display()).into());
        }
        let path = file.parent().unwrap_or(Path::new(".")).join(&base.file);
        if !path.is_file() {
            return Err(format!(
                "this backup builds on {} (made {}), which is not in the same folder: put it there",
                base.file,
                base.made_at.format("%Y-%m-%d %H:%M:%SZ")
            )
            .into());
        }
        let manifest = read_manifest(&path)?;
        if manifest.id != base.id {
            return Err(format!("{} is not the backup this one builds on (another backup has that name now)", path.display()).into());
        }
        chain.push((path, manifest));
    }
    Ok(chain)
}

/// A stored content's file, when it is there and hashes to its address.
fn stored_blob(store: &FsBlobStore, blob: &BlobRef) -> Result<PathBuf, ()> {
    let path = store.path_of(&blob.sha256).ok_or(())?;
    match file_sha256(&path) {
        Ok((sha, size)) if sha == blob.sha256 && size == blob.size => Ok(path),
        _ => Err(()),
    }
}

fn file_sha256(path: &Path) -> std::io::Result<(String, u64)> {
    copy_hashing(&mut std::fs::File::open(path)?, Path::new(""))
}

/// Copies `from` to the file `to` (nowhere when `to` is empty), returning
/// the bytes' SHA-256 and count.
fn copy_hashing(from: &mut impl Read, to: &Path) -> std::io::Result<(String, u64)> {
    let mut out = if to.as_os_str().is_empty() { None } else { Some(private_file(to)?) };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if let Some(out) = out.as_mut() {
            out.write_all(&buf[..n])?;
        }
        total += n as u64;
    }
    if let Some(out) = out {
        out.sync_all()?;
    }
    Ok((hex(&hasher.finalize()), total))
}

fn append(archive: &mut tar::Builder<impl Write>, name: &str, size: u64, data: impl Read) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(Utc::now().timestamp().max(0) as u64);
    header.set_entry_type(tar::EntryType::Regular);
    archive.append_data(&mut header, name, data)
}

/// Appends a file's bytes; an error names the file.
fn append_file(archive: &mut tar::Builder<impl Write>, name: &str, path: &Path) -> std::io::Result<()> {
    let named = |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(named)?;
    let size = file.metadata().map_err(named)?.len();
    append(archive, name, size, file).map_err(named)
}

/// The Argon2id parameters of a sealed key.
const KDF_MEMORY_KIB: u32 = 64 * 1024;
const KDF_PASSES: u32 = 3;
const KDF_LANES: u32 = 1;

fn derive(passphrase: &str, salt: &[u8], memory_kib: u32, passes: u32, lanes: u32) -> Result<MasterKey, Error> {
    let params = argon2::Params::new(memory_kib, passes, lanes, Some(32)).map_err(|e| format!("key derivation: {e}"))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = [0u8; 32];
    argon.hash_password_into(passphrase.as_bytes(), salt, &mut key).map_err(|e| format!("key derivation: {e}"))?;
    Ok(MasterKey::from_bytes(key))
}

/// What the seal is bound to: the whole manifest but the seal itself. A
/// manifest changed after the backup (another dump's SHA-256, another
/// content list) no longer opens the key, so a restore refuses it.
fn seal_context(manifest: &Manifest) -> Result<Vec<u8>, Error> {
    let mut bare = manifest.clone();
    bare.master_key = SealedKey::default();
    let digest = Sha256::digest(serde_json::to_vec(&bare)?);
    Ok(format!("steward backup {} manifest {}", manifest.id, hex(&digest)).into_bytes())
}

fn seal_key(key_text: &str, passphrase: &str, manifest: &Manifest) -> Result<SealedKey, Error> {
    use rand::RngCore;
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let sealer = derive(passphrase, &salt, KDF_MEMORY_KIB, KDF_PASSES, KDF_LANES)?;
    Ok(SealedKey {
        kdf: "argon2id".into(),
        memory_kib: KDF_MEMORY_KIB,
        passes: KDF_PASSES,
        lanes: KDF_LANES,
        salt: hex(&salt),
        sealed: hex(&sealer.seal(key_text.trim().as_bytes(), &seal_context(manifest)?)),
    })
}

/// The master key's text, when the passphrase opens it; `None` when it
/// does not (or the manifest was changed). Key-derivation settings beyond
/// what Steward uses are refused before any memory is taken for them.
fn open_key(manifest: &Manifest, passphrase: &str) -> Result<Option<String>, Error> {
    let sealed = &manifest.master_key;
    if sealed.kdf != "argon2id" || sealed.memory_kib > 4 * KDF_MEMORY_KIB || sealed.passes > 10 || !(1..=4).contains(&sealed.lanes) {
        return Err("this backup's key is sealed with settings Steward does not use: it was not made by steward backup".into());
    }
    let (Some(salt), Some(ciphertext)) = (unhex(&sealed.salt), unhex(&sealed.sealed)) else { return Ok(None) };
    let sealer = derive(passphrase, &salt, sealed.memory_kib, sealed.passes, sealed.lanes)?;
    let Some(opened) = sealer.open(&ciphertext, &seal_context(manifest)?) else { return Ok(None) };
    Ok(String::from_utf8(opened).ok().filter(|text| MasterKey::parse(text).is_some()))
}


/// Gives the finished archive its name, never over another file: a hard
/// link (which fails if the name is taken), or on a filesystem without
/// links (FAT, some network and FUSE mounts) a rename once the name is
/// seen free. The work file is removed by the caller's cleanup.
fn publish(partial: &Path, file: &Path) -> Result<(), Error> {
    let taken = || format!("{} exists: a backup is never written over another; choose another name", file.display());
    match std::fs::hard_link(partial, file) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(taken().into()),
        Err(e) if matches!(e.kind(), std::io::ErrorKind::Unsupported | std::io::ErrorKind::PermissionDenied) => {
            if file.exists() {
                return Err(taken().into());
            }
            std::fs::rename(partial, file).map_err(|e| format!("cannot write {}: {e}", file.display()).into())
        }
        Err(e) => Err(format!("cannot write {}: {e}", file.display()).into()),
    }
}

/// The folder a file is in, resolved.
fn folder(file: &Path) -> Option<PathBuf> {
    file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).canonicalize().ok()
}

/// A new file readable by its owner only. A file left at that name (by a
/// run that was killed) is removed first, so the mode is always this one
/// and no link planted there is followed.
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

/// `file` with `suffix` added to its name, in the same folder (a work
/// file beside an archive, a directory beside the cluster).
pub(crate) fn sibling(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    file.with_file_name(name)
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Removes its files when dropped (work files left by a failure).
struct Cleanup(Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(name: &str, days: i64, base: Option<&Manifest>) -> (PathBuf, Manifest) {
        let m = Manifest {
            format: FORMAT.into(),
            id: uuid::Uuid::now_v7(),
            made_at: Utc::now() - chrono::Duration::days(days),
            steward_version: String::new(),
            schema_version: 0,
            counts: Counts { tenants: 0, users: 0, documents: 0, audit_events: 0 },
            dump_sha256: "ab".repeat(32),
            dump_bytes: 0,
            mail_sha256: String::new(),
            base: base.map(|b| BaseRef { id: b.id, file: String::new(), made_at: b.made_at }),
            referenced: vec![],
            held: vec![],
            missing: vec![],
            mail_columns: vec![],
            master_key: SealedKey::default(),
        };
        (PathBuf::from(name), m)
    }

    #[test]
    fn the_passphrase_opens_the_sealed_key_and_nothing_else_does() {
        let key = MasterKey::generate_text();
        let (_, mut m) = manifest("m", 0, None);
        m.master_key = seal_key(&key, "correct horse battery", &m).unwrap();
        assert_eq!(open_key(&m, "correct horse battery").unwrap().as_deref(), Some(key.as_str()));
        assert_eq!(open_key(&m, "correct horse batterY").unwrap(), None, "another passphrase");
        assert!(!serde_json::to_string(&m).unwrap().contains(&key), "the key is not in the clear");
        // The manifest round-trips through its JSON and still opens.
        let read: Manifest = serde_json::from_slice(&serde_json::to_vec_pretty(&m).unwrap()).unwrap();
        assert_eq!(open_key(&read, "correct horse battery").unwrap().as_deref(), Some(key.as_str()));
        // Another dump's SHA-256 in the manifest: the key no longer opens.
        let mut changed = m.clone();
        changed.dump_sha256 = "cd".repeat(32);
        assert_eq!(open_key(&changed, "correct horse battery").unwrap(), None, "a changed manifest");
        // Settings no backup of Steward's has are refused before any work.
        let mut greedy = m.clone();
        greedy.master_key.memory_kib = 4 * 1024 * 1024;
        assert!(open_key(&greedy, "correct horse battery").is_err());
    }

    #[test]
    fn whole_chains_expire_and_the_newest_chain_never_does() {
        let at = |days: i64| Utc::now() - chrono::Duration::days(days);
        let make = manifest;
        // Chain A: 60..50 days old; chain B: 45..20 days (its last is recent enough); chain C: today.
        let a0 = make("a0", 60, None);
        let a1 = make("a1", 50, Some(&a0.1));
        let b0 = make("b0", 45, None);
        let b1 = make("b1", 20, Some(&b0.1));
        let c0 = make("c0", 1, None);
        let all = vec![a0.clone(), a1.clone(), b0.clone(), b1.clone(), c0.clone()];
        assert_eq!(expired(&all, at(30)), [PathBuf::from("a0"), PathBuf::from("a1")]);
        assert!(expired(&all, at(70)).is_empty());
        // However old, the newest chain stays.
        let only = vec![a0, a1];
        assert!(expired(&only, at(0)).is_empty());
        assert_eq!(expired(&all, at(0)).len(), 4, "all but the newest chain");
    }

    #[test]
    fn a_password_leaves_the_tools_arguments() {
        let target = Target::external("postgres://backup:s%40cret@db.example:5433/steward?sslmode=require").unwrap();
        assert_eq!(target.password.as_deref(), Some("s@cret"));
        assert_eq!(target.args, ["--dbname", "postgres://backup@db.example:5433/steward?sslmode=require"]);
        let target = Target::external("postgres://backup@db.example/steward?password=s3cret&sslmode=require").unwrap();
        assert_eq!(target.password.as_deref(), Some("s3cret"));
        assert_eq!(target.args, ["--dbname", "postgres://backup@db.example/steward?sslmode=require"]);
        assert!(Target::external("postgres://backup@db.example/steward?sslpassword=x").is_err());
    }
}
