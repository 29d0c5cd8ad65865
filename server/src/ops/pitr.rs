//! Point-in-time recovery for the embedded cluster (`STEWARD_PITR_DIR`).
//!
//! The folder holds:
//! - `wal/`: every WAL segment the cluster fills, copied there by
//!   PostgreSQL's `archive_command` (synced to disk, never overwritten), and
//!   at least every [`ARCHIVE_TIMEOUT_SECONDS`] while anything is written;
//!   a clean stop of the cluster archives the last one;
//! - `base/<time>/`: base backups (`pg_basebackup`, plain format, with the
//!   WAL that makes each consistent by itself), `base/<time>.json` beside
//!   each saying when it began and finished.
//!
//! `steward serve` makes a base backup every day (the `base_backup` job),
//! deletes those older than `--pitr-keep-days` (never the newest), and the
//! WAL older than the oldest one kept (`pg_archivecleanup`).
//!
//! `steward restore --to TIME` (Steward stopped) copies the newest base
//! backup finished by TIME beside the cluster, with the cluster's own WAL
//! not yet archived, lets PostgreSQL replay the archive up to TIME
//! (`recovery_target_time`, then promote), ends every session, checks
//! every audit chain, and only then swaps it in for the cluster. The
//! cluster it replaces is deleted once the new one is in place; its history
//! stays in the archive, on the timeline the restore branched from.
//!
//! The folder is recorded in `<data-dir>/pitr.location` the first time it
//! is given, and used from then on by every command that starts the
//! cluster, so no start (a `steward migrate`, say) leaves a gap in the
//! archive. Deleting that file turns archiving off at the next start.

use crate::embedded::{self, Cluster, ClusterOptions};
use crate::Error;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A WAL segment is archived at least this often while anything is written
/// (the most a lost disk under the cluster can take from the archive).
pub const ARCHIVE_TIMEOUT_SECONDS: u32 = 300;
/// The file in the data directory that records the folder.
const LOCATION: &str = "pitr.location";

/// The point-in-time folder: `wal/` and `base/`.
#[derive(Debug, Clone)]
pub struct Folder(PathBuf);

impl Folder {
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn wal(&self) -> PathBuf {
        self.0.join("wal")
    }
    pub fn base(&self) -> PathBuf {
        self.0.join("base")
    }
}

/// The folder for the embedded cluster of `data_dir`: the one given (then
/// recorded), else the one recorded, else none.
pub fn folder_for(data_dir: &Path, given: Option<&Path>) -> Result<Option<Folder>, Error> {
    let location = data_dir.join(LOCATION);
    let dir = match given {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create the point-in-time folder {} (STEWARD_PITR_DIR): {e}", dir.display()))?;
            let dir = dir.canonicalize()?;
            let recorded = std::fs::read_to_string(&location).ok().map(|t| PathBuf::from(t.trim()));
            if recorded.as_deref() != Some(dir.as_path()) {
                std::fs::create_dir_all(data_dir)?;
                std::fs::write(&location, format!("{}\n", dir.display())).map_err(|e| format!("cannot write {}: {e}", location.display()))?;
            }
            dir
        }
        None => match std::fs::read_to_string(&location) {
            Ok(text) => PathBuf::from(text.trim()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", location.display()).into()),
        },
    };
    Ok(Some(Folder(dir)))
}

/// The server settings that archive every WAL segment into the folder,
/// which is made ready for the cluster's user to write. The command copies
/// under a temporary name, syncs, renames, and never overwrites a segment
/// (a second copy of the same bytes counts as done).
pub fn archive_settings(folder: &Folder) -> Result<Vec<(String, String)>, Error> {
    let wal = folder.wal();
    let text = wal.display().to_string();
    if text.contains('\'') || text.contains('%') {
        return Err(format!("the point-in-time folder {} has a quote or a % in its path, which PostgreSQL's archive command cannot carry: choose another", folder.path().display()).into());
    }
    for dir in [folder.path().to_path_buf(), wal.clone(), folder.base()] {
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| format!("cannot chmod {}: {e}", dir.display()))?;
    }
    if let Some((uid, gid)) = embedded::run_as()? {
        // The cluster's user writes the WAL, and reads it back in a restore.
        for dir in [folder.path().to_path_buf(), wal.clone(), folder.base()] {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(|e| format!("cannot chown {}: {e}", dir.display()))?;
        }
        if let Some(blocked) = embedded::blocked_ancestor(&wal, uid, gid) {
            return Err(format!(
                "the postgres user cannot enter {}, so it cannot archive WAL into {}: choose a point-in-time folder it can reach (under /var/lib, say)",
                blocked.display(),
                wal.display()
            )
            .into());
        }
    }
    let to = format!("'{text}/%f'");
    let command = format!("test ! -f {to} && cp '%p' '{text}/%f.part' && sync '{text}/%f.part' && mv '{text}/%f.part' {to} || cmp -s '%p' {to}");
    Ok(vec![
        ("archive_mode".into(), "on".into()),
        ("archive_command".into(), command),
        ("archive_timeout".into(), ARCHIVE_TIMEOUT_SECONDS.to_string()),
    ])
}

/// One base backup, as its `.json` file records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Base {
    /// The folder's name under `base/`.
    pub name: String,
    pub started_at: DateTime<Utc>,
    /// A restore may aim at any time from this one on.
    pub finished_at: DateTime<Utc>,
    /// The first WAL segment it needs (older ones serve no kept backup).
    pub start_wal: String,
    pub bytes: u64,
}

/// The base backups in the folder, oldest first; a half-made one (no
/// `.json`) is passed over.
pub fn catalogue(folder: &Folder) -> Result<Vec<Base>, Error> {
    let dir = folder.base();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display()).into()),
    };
    let mut found = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let base: Base = serde_json::from_str(&text).map_err(|e| format!("{} is not a base backup's record: {e}", path.display()))?;
            if dir.join(&base.name).is_dir() {
                found.push(base);
            }
        }
    }
    found.sort_by_key(|b| b.finished_at);
    Ok(found)
}

/// What the daily base backup needs.
#[derive(Debug, Clone)]
pub struct Plan {
    pub folder: Folder,
    pub bindir: PathBuf,
    /// The embedded cluster's socket directory (pg_basebackup connects there).
    pub socket_dir: PathBuf,
    pub keep_days: u32,
}

impl Plan {
    pub fn new(folder: Folder, bindir: PathBuf, cluster: &Cluster, keep_days: u32) -> Plan {
        Plan { folder, bindir, socket_dir: cluster.socket_dir().to_path_buf(), keep_days }
    }

    fn superuser(&self) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .port(embedded::SOCKET_PORT)
            .username(embedded::SUPERUSER)
            .database("postgres")
            .application_name("steward")
    }
}

/// Makes a base backup, deletes the expired ones and the WAL only they
/// needed, and checks that archiving works. Says what it did, and whether a
/// person must look (archiving fails).
pub async fn base_backup(plan: &Plan) -> Result<(String, bool), Error> {
    let base_dir = plan.folder.base();
    std::fs::create_dir_all(&base_dir).map_err(|e| format!("cannot create {}: {e}", base_dir.display()))?;
    // Left by a run that was killed.
    for entry in std::fs::read_dir(&base_dir)?.filter_map(Result::ok) {
        if entry.path().extension().is_some_and(|e| e == "part") {
            std::fs::remove_dir_all(entry.path()).map_err(|e| format!("cannot delete {}: {e}", entry.path().display()))?;
        }
    }
    let started = Instant::now();
    let started_at = Utc::now();
    let name = started_at.format("%Y%m%dT%H%M%SZ").to_string();
    let part = base_dir.join(format!("{name}.part"));
    let mut command = tokio::process::Command::new(plan.bindir.join("pg_basebackup"));
    command
        .arg("--host")
        .arg(&plan.socket_dir)
        .args(["--port", &embedded::SOCKET_PORT.to_string(), "--username", embedded::SUPERUSER, "--no-password"])
        .args(["--wal-method=stream", "--checkpoint=fast", "--label", &format!("steward {name}"), "--pgdata"])
        .arg(&part)
        .kill_on_drop(true);
    let out = command.output().await.map_err(|e| format!("cannot run pg_basebackup: {e}"))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&part);
        let detail = String::from_utf8_lossy(&out.stderr);
        let detail = detail.lines().filter(|l| !l.trim().is_empty()).take(3).collect::<Vec<_>>().join(" ");
        return Err(format!("pg_basebackup failed: {detail}").into());
    }
    let label = std::fs::read_to_string(part.join("backup_label")).map_err(|e| format!("the base backup has no backup_label: {e}"))?;
    let start_wal = start_wal(&label).ok_or("the base backup's backup_label names no start WAL segment")?;
    let finished_at = Utc::now();
    let bytes = tree_size(&part);
    let whole = base_dir.join(&name);
    std::fs::rename(&part, &whole).map_err(|e| format!("cannot rename {}: {e}", part.display()))?;
    let base = Base { name: name.clone(), started_at, finished_at, start_wal, bytes };
    std::fs::write(base_dir.join(format!("{name}.json")), serde_json::to_vec_pretty(&base)?)?;

    // Expiry: older than keep_days, never the newest.
    let all = catalogue(&plan.folder)?;
    let cut = finished_at - chrono::Duration::days(i64::from(plan.keep_days));
    let (mut old, mut kept) = (Vec::new(), Vec::new());
    for (i, b) in all.iter().enumerate() {
        if i + 1 < all.len() && b.finished_at < cut {
            old.push(b);
        } else {
            kept.push(b);
        }
    }
    for b in &old {
        // The record first: a run stopped half-way leaves no listed backup without its files.
        std::fs::remove_file(base_dir.join(format!("{}.json", b.name)))?;
        std::fs::remove_dir_all(base_dir.join(&b.name)).map_err(|e| format!("cannot delete the base backup {}: {e}", b.name))?;
    }
    let wal_before = count_files(&plan.folder.wal());
    if let Some(oldest) = kept.first() {
        let out = tokio::process::Command::new(plan.bindir.join("pg_archivecleanup"))
            .arg(plan.folder.wal())
            .arg(&oldest.start_wal)
            .output()
            .await
            .map_err(|e| format!("cannot run pg_archivecleanup: {e}"))?;
        if !out.status.success() {
            return Err(format!("pg_archivecleanup failed: {}", String::from_utf8_lossy(&out.stderr).trim()).into());
        }
    }
    let removed = wal_before.saturating_sub(count_files(&plan.folder.wal()));

    let mut said = format!(
        "base backup {name} ({}, in {:.0} s); a restore can aim at any time from {} on; {} expired base backup(s) and {removed} WAL segment(s) deleted",
        app::documents::human_size(bytes as i64),
        started.elapsed().as_secs_f64(),
        kept.first().map(|b| b.finished_at).unwrap_or(finished_at).format("%Y-%m-%d %H:%M:%SZ"),
        old.len()
    );
    let failing = archiver_failing(plan).await?;
    if let Some(why) = &failing {
        said = format!("WAL archiving fails ({why}): a restore cannot reach past the last segment archived; {said}");
    }
    Ok((said, failing.is_some()))
}

/// `Some(why)` when the archiver's last attempt failed.
async fn archiver_failing(plan: &Plan) -> Result<Option<String>, Error> {
    let mut conn = plan.superuser().connect().await?;
    let row: (Option<String>, bool) = sqlx::query_as(
        "SELECT last_failed_wal,
                last_failed_time IS NOT NULL AND (last_archived_time IS NULL OR last_failed_time > last_archived_time)
           FROM pg_stat_archiver",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    Ok(row.1.then(|| format!("the last attempt, for {}, failed: see the cluster's log", row.0.unwrap_or_default())))
}

/// "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)".
fn start_wal(label: &str) -> Option<String> {
    let line = label.lines().find(|l| l.starts_with("START WAL LOCATION:"))?;
    let file = line.split("(file ").nth(1)?.trim_end_matches(')').trim();
    (file.len() == 24 && file.bytes().all(|b| b.is_ascii_hexdigit())).then(|| file.to_string())
}

fn tree_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => tree_size(&e.path()),
                    Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
                    _ => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// Copies a directory tree (files, folders and symbolic links).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<u64> {
    std::fs::create_dir_all(to)?;
    let mut bytes = 0;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (source, dest) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            bytes += copy_tree(&source, &dest)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&source)?, &dest)?;
        } else {
            bytes += std::fs::copy(&source, &dest).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", source.display())))?;
        }
    }
    Ok(bytes)
}

/// A WAL segment's or a timeline history file's name.
fn is_wal_name(name: &str) -> bool {
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    (name.len() == 24 && hex(name)) || (name.len() == 16 && name.ends_with(".history") && hex(&name[..8]))
}

/// Where a point-in-time restore aims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreTarget {
    /// Every transaction committed at or before this time, none after.
    Time(DateTime<Utc>),
    /// The end of the archive.
    Latest,
}

impl std::str::FromStr for RestoreTarget {
    type Err = String;

    /// `latest`, or a time with its zone: `2026-12-02 15:04:00Z`,
    /// `2026-12-02T15:04:00+01:00`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("latest") {
            return Ok(RestoreTarget::Latest);
        }
        let normal = text.replacen(' ', "T", 1);
        DateTime::parse_from_rfc3339(&normal)
            .map(|t| RestoreTarget::Time(t.with_timezone(&Utc)))
            .map_err(|_| format!("'{text}' is not a time with its zone: give it as 2026-12-02 15:04:00Z (or with +01:00), or say latest"))
    }
}

impl std::fmt::Display for RestoreTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestoreTarget::Time(t) => write!(f, "{}", t.format("%Y-%m-%d %H:%M:%S%.fZ")),
            RestoreTarget::Latest => write!(f, "the end of the archive"),
        }
    }
}

/// What a point-in-time restore needs.
pub struct RestorePlan<'a> {
    /// The embedded cluster's directory (stopped).
    pub cluster_dir: &'a Path,
    pub folder: &'a Folder,
    pub bindir: Option<&'a Path>,
    pub target: RestoreTarget,
}

/// What a point-in-time restore did.
#[derive(Debug)]
pub struct RestoredTo {
    pub base: Base,
    pub target: RestoreTarget,
    /// When the last transaction replayed was committed.
    pub last_transaction: Option<DateTime<Utc>>,
    pub counts: crate::backup::Counts,
    pub sessions_ended: u64,
    pub phases: Vec<(&'static str, f64)>,
}

impl std::fmt::Display for RestoredTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "restored to {} from the base backup {} (finished {}); the last transaction replayed was committed {}; {}; every audit chain verifies; {} session(s) ended, so everyone signs in again",
            self.target,
            self.base.name,
            self.base.finished_at.format("%Y-%m-%d %H:%M:%SZ"),
            self.last_transaction.map(|t| t.format("%Y-%m-%d %H:%M:%S%.3fZ").to_string()).unwrap_or_else(|| "before the base backup ended".into()),
            self.counts,
            self.sessions_ended
        )?;
        let phases: Vec<String> = self.phases.iter().map(|(name, s)| format!("{name} {s:.1} s")).collect();
        write!(f, " ({})", phases.join(", "))
    }
}

/// The directories a restore builds in, and keeps the replaced cluster in
/// until the new one is in place (beside the cluster: renames, not copies).
fn beside(cluster_dir: &Path, what: &str) -> PathBuf {
    let mut name = cluster_dir.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!("-{what}"));
    cluster_dir.with_file_name(name)
}

/// Replaces the (stopped) embedded cluster with its state at the target:
/// see the module's text. Nothing of the cluster is touched until the
/// restored one has recovered, promoted and passed its checks.
pub async fn restore_to(plan: &RestorePlan<'_>) -> Result<RestoredTo, Error> {
    let cluster_dir = plan.cluster_dir;
    if embedded::running_postmaster(cluster_dir).is_some() {
        return Err(format!("PostgreSQL is running on {}: stop Steward first (a point-in-time restore replaces its cluster)", cluster_dir.display()).into());
    }
    if let RestoreTarget::Time(t) = plan.target {
        if t > Utc::now() {
            return Err(format!("{} is in the future", plan.target).into());
        }
    }
    let bases = catalogue(plan.folder)?;
    let Some(first) = bases.first() else {
        return Err(format!(
            "there is no base backup in {}: steward serve makes one each day with STEWARD_PITR_DIR set, or run steward base-backup",
            plan.folder.base().display()
        )
        .into());
    };
    let base = match plan.target {
        RestoreTarget::Latest => bases.last(),
        RestoreTarget::Time(t) => bases.iter().rev().find(|b| b.finished_at <= t),
    }
    .ok_or_else(|| format!("no base backup had finished by {}: the earliest time to restore to is {}", plan.target, first.finished_at.format("%Y-%m-%d %H:%M:%SZ")))?
    .clone();

    let mut phases = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |name: &'static str| {
        phases.push((name, clock.elapsed().as_secs_f64()));
        clock = Instant::now();
    };
    let building = beside(cluster_dir, "restoring");
    if building.exists() {
        std::fs::remove_dir_all(&building).map_err(|e| format!("cannot delete {} (left by an earlier restore): {e}", building.display()))?;
    }
    let source = plan.folder.base().join(&base.name);
    let wal_dir = plan.folder.wal();
    let (from_base, from_cluster) = {
        let (source, building, cluster_dir, wal_dir) = (source.clone(), building.clone(), cluster_dir.to_path_buf(), wal_dir.clone());
        tokio::task::spawn_blocking(move || -> Result<(u64, usize), Error> {
            let bytes = copy_tree(&source, &building).map_err(|e| format!("cannot copy the base backup into {}: {e}", building.display()))?;
            // The cluster's WAL that never reached the archive (a crash,
            // or the last minutes before a lost archive disk) is replayed too.
            let mut carried = 0;
            if let Ok(entries) = std::fs::read_dir(cluster_dir.join("pg_wal")) {
                for entry in entries.filter_map(Result::ok) {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if is_wal_name(&name) && !wal_dir.join(&name).exists() {
                        std::fs::copy(entry.path(), building.join("pg_wal").join(&name)).map_err(|e| format!("cannot copy {}: {e}", entry.path().display()))?;
                        carried += 1;
                    }
                }
            }
            std::fs::write(building.join("recovery.signal"), "")?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&building, std::fs::Permissions::from_mode(0o700))?;
            Ok((bytes, carried))
        })
        .await??
    };
    tracing::info!("copied the base backup {} ({}) and {from_cluster} WAL segment(s) not yet archived", base.name, app::documents::human_size(from_base as i64));
    lap("copying the base backup");

    let wal = wal_dir.display().to_string();
    let mut settings = archive_settings(plan.folder)?;
    settings.push(("restore_command".into(), format!("cp '{wal}/%f' '%p'")));
    settings.push(("recovery_target_action".into(), "promote".into()));
    if let RestoreTarget::Time(t) = plan.target {
        settings.push(("recovery_target_time".into(), t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()));
    }
    let mut cluster = Cluster::start(&ClusterOptions { dir: building.clone(), bindir: plan.bindir.map(Path::to_path_buf), ephemeral: false, settings })?;
    let recovered = recover(&mut cluster, plan).await;
    let (last_transaction, counts, sessions_ended) = match recovered {
        Ok(found) => found,
        Err(e) => {
            cluster.stop();
            drop(cluster);
            let _ = std::fs::remove_dir_all(&building);
            return Err(e);
        }
    };
    lap("replaying the WAL and checking");
    cluster.stop();
    drop(cluster);

    // The swap: two renames. The replaced cluster goes once the new one is in place.
    let before = beside(cluster_dir, "before-restore");
    if before.exists() {
        std::fs::remove_dir_all(&before).map_err(|e| format!("cannot delete {}: {e}", before.display()))?;
    }
    if cluster_dir.exists() {
        std::fs::rename(cluster_dir, &before).map_err(|e| format!("cannot move {} aside: {e}", cluster_dir.display()))?;
    }
    std::fs::rename(&building, cluster_dir).map_err(|e| format!("cannot move {} into place: {e}", building.display()))?;
    if before.exists() {
        tokio::task::spawn_blocking(move || std::fs::remove_dir_all(&before)).await??;
    }
    lap("swapping it in");
    Ok(RestoredTo { base, target: plan.target, last_transaction, counts, sessions_ended, phases })
}

/// Waits for the restored cluster to reach its target and promote, then
/// ends its sessions and checks its counts and chains.
async fn recover(cluster: &mut Cluster, plan: &RestorePlan<'_>) -> Result<(Option<DateTime<Utc>>, crate::backup::Counts, u64), Error> {
    let explain = |e: embedded::ClusterError| -> Error {
        let text = e.to_string();
        if text.contains("before configured recovery target was reached") {
            format!(
                "the archive ends before {}: no transaction after it was archived (was Steward stopped uncleanly, or archiving failing?). Restore to an earlier time, or to the end of the archive with --to latest",
                plan.target
            )
            .into()
        } else {
            format!("the recovery stopped: {text}").into()
        }
    };
    cluster.wait_ready(Duration::from_secs(3600)).await.map_err(explain)?;
    let admin = cluster.connect_options(embedded::SUPERUSER, "postgres").log_slow_statements(tracing::log::LevelFilter::Off, Duration::ZERO);
    loop {
        let in_recovery = async {
            let mut conn = admin.connect().await?;
            let r: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()").fetch_one(&mut conn).await?;
            conn.close().await?;
            Ok::<_, sqlx::Error>(r)
        }
        .await;
        match in_recovery {
            Ok(false) => break,
            Ok(true) => {}
            Err(_) => cluster.still_running().map_err(explain)?,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut conn = cluster.connect_options(embedded::SUPERUSER, crate::db::DATABASE).log_slow_statements(tracing::log::LevelFilter::Off, Duration::ZERO).connect().await?;
    let last: Option<DateTime<Utc>> = sqlx::query_scalar("SELECT pg_last_xact_replay_timestamp()").fetch_one(&mut conn).await?;
    // The sessions of that time would be live again, some of them ended
    // since: everyone signs in again, as after a whole restore.
    let mut ended = 0;
    for table in ["tower_sessions.session", "public.user_sessions"] {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL").bind(table).fetch_one(&mut conn).await?;
        if exists {
            ended += sqlx::query(&format!("DELETE FROM {table}")).execute(&mut conn).await?.rows_affected();
        }
    }
    let counts = crate::backup::counts(&mut conn).await?;
    conn.close().await?;
    let owner = cluster.connect_options(crate::db::OWNER_ROLE, crate::db::DATABASE);
    let broken: Vec<String> = crate::db::verify_audit(&owner, None).await?.into_iter().filter(|r| r.broken.is_some()).map(|r| r.tenant).collect();
    if !broken.is_empty() {
        return Err(format!("the restored database's audit chains of {} do not verify; the cluster was left as it was", broken.join(", ")).into());
    }
    Ok((last, counts, ended))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_need_their_zone() {
        let t: RestoreTarget = "2026-12-02 15:04:00Z".parse().unwrap();
        assert_eq!(t.to_string(), "2026-12-02 15:04:00Z");
        let t: RestoreTarget = "2026-12-02T16:04:00.25+01:00".parse().unwrap();
        assert_eq!(t.to_string(), "2026-12-02 15:04:00.250Z");
        assert_eq!("latest".parse::<RestoreTarget>().unwrap(), RestoreTarget::Latest);
        let refused = "2026-12-02 15:04:00".parse::<RestoreTarget>().unwrap_err();
        assert!(refused.contains("with its zone"), "{refused}");
    }

    #[test]
    fn the_start_segment_is_read_from_the_label() {
        let label = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nCHECKPOINT LOCATION: 0/2000060\n";
        assert_eq!(start_wal(label).as_deref(), Some("000000010000000000000002"));
        assert_eq!(start_wal("START WAL LOCATION: 0/2000028 (file ../../etc)"), None);
        assert!(is_wal_name("000000010000000000000002") && is_wal_name("00000002.history"));
        assert!(!is_wal_name("000000010000000000000002.part") && !is_wal_name("archive_status"));
    }
}
