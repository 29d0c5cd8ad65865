//! Point-in-time recovery for the embedded cluster (`STEWARD_PITR_DIR`).
//!
//! The folder holds:
//! - `wal/`: every WAL segment the cluster fills, copied there by
//!   PostgreSQL's `archive_command` (synced to disk, never overwritten), and
//!   at least every [`ARCHIVE_TIMEOUT_SECONDS`] while anything is written;
//!   a clean stop of the cluster archives the last one (unless the stop
//!   has to be forced, after 15 s);
//! - `base/<time>/`: base backups (`pg_basebackup`, plain format, with the
//!   WAL that makes each consistent by itself), `base/<time>.json` beside
//!   each saying when it began and finished, and its timeline and WAL range.
//!
//! When steward runs as root, only `wal/` belongs to the cluster's user
//! (who archives into it); the folder and `base/` stay root's, so nothing
//! the database's user can write there is deleted or copied by root. The
//! cluster's `pg_wal`, which that user writes, is read as regular files
//! only, never through a link.
//!
//! `steward serve` makes a base backup every day (the `base_backup` job),
//! deletes those older than `--pitr-keep-days` (never the newest), and the
//! WAL older than the oldest one kept (`pg_archivecleanup`).
//!
//! `steward restore --to TIME` (Steward stopped) copies the newest base
//! backup finished by TIME that lies on the newest timeline's history
//! beside the cluster, with the cluster's own WAL not yet archived, lets
//! PostgreSQL replay the archive up to TIME (`recovery_target_time`, then
//! promote, onto a new timeline), ends every session and every live
//! password link, checks every audit chain, and only then swaps it in for
//! the cluster. The replaced cluster is kept beside it
//! (`<cluster>-before-restore`) until the operator deletes it; the
//! restored one archives its new timeline once Steward starts on it (the
//! trial never writes into the archive), and its first base backup is due
//! at once.
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
    use std::os::unix::fs::PermissionsExt;
    let owner = embedded::run_as()?;
    for (dir, mode) in [(folder.path().to_path_buf(), if owner.is_some() { 0o711 } else { 0o700 }), (wal.clone(), 0o700), (folder.base(), 0o700)] {
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).map_err(|e| format!("cannot chmod {}: {e}", dir.display()))?;
    }
    if let Some((uid, gid)) = owner {
        // The cluster's user writes the WAL and reads it back in a
        // restore; the base backups stay root's (see the module's text).
        std::os::unix::fs::chown(&wal, Some(uid), Some(gid)).map_err(|e| format!("cannot chown {}: {e}", wal.display()))?;
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
    let command = format!(
        "if test -f {to}; then cmp -s '%p' {to}; else cp '%p' '{text}/%f.part' && sync '{text}/%f.part' && mv '{text}/%f.part' {to} && sync '{text}'; fi"
    );
    Ok(vec![
        ("archive_mode".into(), "on".into()),
        ("archive_command".into(), command),
        ("archive_timeout".into(), ARCHIVE_TIMEOUT_SECONDS.to_string()),
    ])
}

/// Refuses to start (or restore over) a cluster that an interrupted
/// restore moved aside: starting would make an empty one in its place.
pub fn check_not_interrupted(cluster_dir: &Path) -> Result<(), Error> {
    let (before, swapping, building) = (beside(cluster_dir, "before-restore"), beside(cluster_dir, "swapping"), beside(cluster_dir, "restoring"));
    if swapping.exists() {
        return Err(if cluster_dir.join("PG_VERSION").is_file() {
            format!(
                "a point-in-time restore stopped while swapping clusters: check that {} is the restored one (the replaced one is in {}), then delete {}",
                cluster_dir.display(),
                before.display(),
                swapping.display()
            )
        } else {
            format!(
                "a point-in-time restore stopped while swapping clusters: the cluster is in {}. Move it back (mv {} {}), delete {}, and start again",
                before.display(),
                before.display(),
                cluster_dir.display(),
                swapping.display()
            )
        }
        .into());
    }
    if building.exists() {
        return Err(format!(
            "a point-in-time restore is building {} (or was stopped while it did): if none runs, delete that directory and start again",
            building.display()
        )
        .into());
    }
    Ok(())
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
    /// Its timeline and WAL range (from its backup_manifest): a restore
    /// uses it only if that range lies on the newest timeline's history.
    pub timeline: u32,
    pub start_lsn: String,
    pub end_lsn: String,
    pub bytes: u64,
}

impl Base {
    fn valid(&self) -> bool {
        let stamp = self.name.len() == 16
            && self.name.bytes().enumerate().all(|(i, b)| match i {
                8 => b == b'T',
                15 => b == b'Z',
                _ => b.is_ascii_digit(),
            });
        stamp && self.start_wal.len() == 24 && self.start_wal.bytes().all(|b| b.is_ascii_hexdigit()) && lsn(&self.end_lsn).is_some()
    }
}

/// Writes a base backup's record whole or not at all: a temporary file,
/// synced, renamed, the folder synced.
fn write_record(base_dir: &Path, base: &Base) -> Result<(), Error> {
    use std::io::Write;
    let (temporary, record) = (base_dir.join(format!("{}.json.part", base.name)), base_dir.join(format!("{}.json", base.name)));
    let mut file = std::fs::File::create(&temporary).map_err(|e| format!("cannot write {}: {e}", temporary.display()))?;
    file.write_all(&serde_json::to_vec_pretty(base)?)?;
    file.sync_all()?;
    std::fs::rename(&temporary, &record).map_err(|e| format!("cannot write {}: {e}", record.display()))?;
    std::fs::File::open(base_dir)?.sync_all()?;
    Ok(())
}

/// "0/2000028" as a number.
fn lsn(text: &str) -> Option<u64> {
    let (high, low) = text.split_once('/')?;
    Some((u64::from_str_radix(high, 16).ok()? << 32) | u64::from_str_radix(low, 16).ok()?)
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
            // One damaged record costs its own backup, not every other one.
            let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let base = match serde_json::from_str::<Base>(&text) {
                Ok(base) if base.valid() && path.file_stem().is_some_and(|s| *s == *base.name) => base,
                _ => {
                    tracing::warn!(record = %path.display(), "passed over: not a base backup's record");
                    continue;
                }
            };
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
    /// Its superuser on the maintenance database (the archiver's state).
    admin: PgConnectOptions,
    /// Base backups older than this are deleted; `None` keeps them all.
    pub keep_days: Option<u32>,
}

impl Plan {
    pub fn new(folder: Folder, bindir: PathBuf, cluster: &Cluster, keep_days: Option<u32>) -> Plan {
        let admin = cluster.connect_options(embedded::SUPERUSER, "postgres");
        Plan { folder, bindir, socket_dir: cluster.socket_dir().to_path_buf(), admin, keep_days }
    }
}

/// Makes a base backup, deletes the expired ones and the WAL only they
/// needed, and checks that archiving works. Says what it did, and whether a
/// person must look (archiving fails).
pub async fn base_backup(plan: &Plan) -> Result<(String, bool), Error> {
    let base_dir = plan.folder.base();
    std::fs::create_dir_all(&base_dir).map_err(|e| format!("cannot create {}: {e}", base_dir.display()))?;
    // Left by a run that was killed: work directories, and backups made
    // whole but never recorded.
    for entry in std::fs::read_dir(&base_dir)?.filter_map(Result::ok) {
        let path = entry.path();
        let unrecorded = entry.file_type().is_ok_and(|t| t.is_dir()) && !base_dir.join(format!("{}.json", entry.file_name().to_string_lossy())).exists();
        if path.extension().is_some_and(|e| e == "part") || unrecorded {
            let removed = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            removed.map_err(|e| format!("cannot delete {}: {e}", path.display()))?;
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
    if let Err(e) = crate::backup::run(command, "pg_basebackup").await {
        let _ = std::fs::remove_dir_all(&part);
        return Err(e);
    }
    let label = std::fs::read_to_string(part.join("backup_label")).map_err(|e| format!("the base backup has no backup_label: {e}"))?;
    let start_wal = start_wal(&label).ok_or("the base backup's backup_label names no start WAL segment")?;
    let manifest = std::fs::read_to_string(part.join("backup_manifest")).map_err(|e| format!("the base backup has no backup_manifest: {e}"))?;
    let (timeline, start_lsn, end_lsn) = wal_range(&manifest).ok_or("the base backup's backup_manifest has no WAL range")?;
    let finished_at = Utc::now();
    let bytes = tree_size(&part);
    let whole = base_dir.join(&name);
    std::fs::rename(&part, &whole).map_err(|e| format!("cannot rename {}: {e}", part.display()))?;
    let base = Base { name: name.clone(), started_at, finished_at, start_wal, timeline, start_lsn, end_lsn, bytes };
    write_record(&base_dir, &base)?;

    // Expiry: older than keep_days, never the newest.
    let all = catalogue(&plan.folder)?;
    let cut = plan.keep_days.and_then(|days| finished_at.checked_sub_signed(chrono::Duration::days(i64::from(days))));
    let (mut old, mut kept) = (Vec::new(), Vec::new());
    for (i, b) in all.iter().enumerate() {
        if i + 1 < all.len() && cut.is_some_and(|cut| b.finished_at < cut) {
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
    // pg_archivecleanup compares segment numbers, not timelines: the kept
    // backup whose WAL starts lowest sets the cut.
    if let Some(lowest) = kept.iter().map(|b| &b.start_wal).min_by_key(|w| &w[8..]) {
        let mut cleanup = tokio::process::Command::new(plan.bindir.join("pg_archivecleanup"));
        cleanup.arg(plan.folder.wal()).arg(lowest);
        crate::backup::run(cleanup, "pg_archivecleanup").await?;
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
    let mut conn = plan.admin.connect().await?;
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

/// The timeline and WAL range of a backup_manifest's "WAL-Ranges".
fn wal_range(manifest: &str) -> Option<(u32, String, String)> {
    let value: serde_json::Value = serde_json::from_str(manifest).ok()?;
    let range = value.get("WAL-Ranges")?.as_array()?.first()?;
    let timeline = u32::try_from(range.get("Timeline")?.as_u64()?).ok()?;
    let start = range.get("Start-LSN")?.as_str()?.to_string();
    let end = range.get("End-LSN")?.as_str()?.to_string();
    (lsn(&start).is_some() && lsn(&end).is_some()).then_some((timeline, start, end))
}

/// The newest timeline in the archive (or the cluster's own WAL), and
/// where each of its ancestors branched off: (parent timeline, switch LSN).
fn newest_timeline(dirs: &[PathBuf]) -> (u32, Vec<(u32, u64)>) {
    let mut newest: Option<(u32, PathBuf)> = None;
    for dir in dirs {
        for entry in std::fs::read_dir(dir).into_iter().flatten().filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(tli) = name.strip_suffix(".history").filter(|t| t.len() == 8).and_then(|t| u32::from_str_radix(t, 16).ok()) {
                if newest.as_ref().is_none_or(|(n, _)| tli > *n) {
                    newest = Some((tli, entry.path()));
                }
            }
        }
    }
    let Some((tli, path)) = newest else { return (1, Vec::new()) };
    (tli, parse_history(&std::fs::read_to_string(path).unwrap_or_default()))
}

/// Whether a base backup lies on the newest timeline's history: on that
/// timeline, or on an ancestor and whole before the branch.
fn on_history(base: &Base, (newest, forks): &(u32, Vec<(u32, u64)>)) -> bool {
    base.timeline == *newest || lsn(&base.end_lsn).is_some_and(|end| forks.iter().any(|(tli, switch)| *tli == base.timeline && end <= *switch))
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

/// What a stopped cluster's control file says (`pg_controldata`).
#[derive(Debug, Clone)]
struct Control {
    /// The segment its last checkpoint's redo starts in: WAL from there
    /// on is what crash recovery (and so a restore) needs of `pg_wal`.
    redo_wal: String,
    timeline: u32,
    segment_bytes: u64,
}

fn control(bindir: &Path, dir: &Path) -> Option<Control> {
    if !dir.join("global").join("pg_control").is_file() {
        return None;
    }
    let out = std::process::Command::new(bindir.join("pg_controldata")).arg(dir).env("LC_ALL", "C").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string());
    Some(Control {
        redo_wal: field("Latest checkpoint's REDO WAL file:").filter(|w| w.len() == 24)?,
        timeline: field("Latest checkpoint's TimeLineID:")?.parse().ok()?,
        segment_bytes: field("Bytes per WAL segment:")?.parse().ok()?,
    })
}

/// The segments of `pg_wal` from the redo point on whose first page says
/// they are that segment (a recycled one still carries its old address),
/// in order: complete ones, then the one being written.
fn live_segments(pg_wal: &Path, control: &Control) -> Vec<String> {
    let mut live: Vec<String> = std::fs::read_dir(pg_wal)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.len() == 24 && is_wal_name(name) && name[..8] == control.redo_wal[..8] && name[8..] >= control.redo_wal[8..])
        .filter(|name| segment_address(name, control.segment_bytes).is_some_and(|addr| first_page_address(&pg_wal.join(name)) == Some(addr)))
        .collect();
    live.sort_by(|a, b| a[8..].cmp(&b[8..]));
    live
}

/// Where a segment begins in the WAL, from its name.
fn segment_address(name: &str, segment_bytes: u64) -> Option<u64> {
    let log = u64::from_str_radix(&name[8..16], 16).ok()?;
    let seg = u64::from_str_radix(&name[16..24], 16).ok()?;
    Some((log << 32) + seg * segment_bytes)
}

/// The address in a segment's first page header (`xlp_pageaddr`, 8 bytes
/// at offset 8); read only from a regular file, never through a link.
fn first_page_address(path: &Path) -> Option<u64> {
    use std::io::Read;
    let mut header = [0u8; 16];
    open_regular(path).ok()?.read_exact(&mut header).ok()?;
    Some(u64::from_le_bytes(header[8..16].try_into().ok()?))
}

/// Opens a regular file without following a link: the cluster's user can
/// write `pg_wal`, and steward (maybe root) must not be led elsewhere.
fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(file)
}

fn copy_regular(from: &Path, to: &Path) -> Result<(), Error> {
    let mut source = open_regular(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    let mut dest = std::fs::File::create(to).map_err(|e| format!("cannot write {}: {e}", to.display()))?;
    std::io::copy(&mut source, &mut dest).map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
    dest.sync_all()?;
    Ok(())
}

/// Archives a file as the archive command does: a temporary name, synced,
/// renamed, the folder synced, given to the cluster's user; never over one.
fn archive_by_hand(from: &Path, wal_dir: &Path, name: &str) -> Result<(), Error> {
    let (part, whole) = (wal_dir.join(format!("{name}.part")), wal_dir.join(name));
    copy_regular(from, &part)?;
    if let Some((uid, gid)) = embedded::run_as()? {
        std::os::unix::fs::chown(&part, Some(uid), Some(gid)).map_err(|e| format!("cannot chown {}: {e}", part.display()))?;
    }
    if whole.exists() {
        let _ = std::fs::remove_file(&part);
        return Ok(());
    }
    std::fs::rename(&part, &whole).map_err(|e| format!("cannot archive {}: {e}", whole.display()))?;
    std::fs::File::open(wal_dir)?.sync_all()?;
    Ok(())
}

/// Where each ancestor of `timeline` branched off, from its history file.
fn forks_of(dirs: &[PathBuf], timeline: u32) -> Vec<(u32, u64)> {
    let name = format!("{timeline:08X}.history");
    dirs.iter().find_map(|d| std::fs::read_to_string(d.join(&name)).ok()).map(|text| parse_history(&text)).unwrap_or_default()
}

fn parse_history(history: &str) -> Vec<(u32, u64)> {
    history
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            Some((parts.next()?.parse().ok()?, lsn(parts.next()?)?))
        })
        .collect()
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
    /// Password links that were live at the time, ended.
    pub links_ended: u64,
    /// API keys live in the restored database (any revoked since is again).
    pub live_api_keys: i64,
    /// Where the replaced cluster is kept.
    pub kept: Option<PathBuf>,
    /// Segments of the cluster's own WAL the archive lacked, archived by
    /// the restore; and whether the one being written was replayed too.
    pub wal_archived: usize,
    pub wal_carried: bool,
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
        write!(f, "; {} live password link(s) ended", self.links_ended)?;
        if self.wal_carried || self.wal_archived > 0 {
            write!(
                f,
                "; the cluster's own WAL was replayed too ({} segment(s) the archive lacked, now archived{})",
                self.wal_archived,
                if self.wal_carried { ", and the one being written" } else { "" }
            )?;
        }
        if self.live_api_keys > 0 {
            write!(f, "; {} API key(s) are live: any revoked after that time is live again, so review them", self.live_api_keys)?;
        }
        if let Some(kept) = &self.kept {
            write!(f, "; the replaced cluster is kept in {}: delete it once the restored one is right", kept.display())?;
        }
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
    check_not_interrupted(cluster_dir)?;
    let before = beside(cluster_dir, "before-restore");
    if before.exists() {
        return Err(format!(
            "{} holds the cluster an earlier restore replaced: delete it (or move it elsewhere) once you no longer need it, then restore again",
            before.display()
        )
        .into());
    }
    let bindir = embedded::find_bindir(plan.bindir)?;
    let all = catalogue(plan.folder)?;
    let history_dirs = [plan.folder.wal(), cluster_dir.join("pg_wal")];
    // The history the cluster is on (its own timeline, from its control
    // file), or, with no cluster left, the newest the archive knows.
    let cluster = control(&bindir, cluster_dir);
    let history = match &cluster {
        Some(c) => (c.timeline, forks_of(&history_dirs, c.timeline)),
        None => {
            let mut newest = newest_timeline(&history_dirs);
            // A base backup on a later timeline than any history file found
            // (an archive begun after a restore) is on the newest timeline.
            newest.0 = newest.0.max(all.iter().map(|b| b.timeline).max().unwrap_or(1));
            newest
        }
    };
    let bases: Vec<Base> = all.into_iter().filter(|b| on_history(b, &history)).collect();
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

    let mut laps = Laps { phases: Vec::new(), clock: Instant::now() };
    // While this directory exists, no start of the cluster and no other
    // restore proceeds (check_not_interrupted); a failure removes it.
    let building = beside(cluster_dir, "restoring");
    let mut work = WorkDir(Some(building.clone()));
    let source = plan.folder.base().join(&base.name);
    let wal_dir = plan.folder.wal();
    let (from_base, archived, carried) = {
        let (source, building, cluster_dir, wal_dir) = (source.clone(), building.clone(), cluster_dir.to_path_buf(), wal_dir.clone());
        let control = cluster.clone();
        tokio::task::spawn_blocking(move || -> Result<(u64, usize, bool), Error> {
            std::fs::create_dir(&building).map_err(|e| format!("cannot create {}: {e}", building.display()))?;
            let bytes = copy_tree(&source, &building).map_err(|e| format!("cannot copy the base backup into {}: {e}", building.display()))?;
            // The cluster's WAL that never reached the archive (a crash,
            // or archiving that failed) is replayed too: its complete
            // segments go into the archive (where the trial's restartpoints
            // cannot delete them, and later restores find them), the one
            // being written into the trial's own pg_wal.
            let (mut archived, mut carried) = (0, false);
            if let Some(control) = &control {
                let pg_wal = cluster_dir.join("pg_wal");
                let live = live_segments(&pg_wal, control);
                for (i, name) in live.iter().enumerate() {
                    if i + 1 == live.len() {
                        copy_regular(&pg_wal.join(name), &building.join("pg_wal").join(name))?;
                        carried = true;
                    } else if !wal_dir.join(name).exists() {
                        archive_by_hand(&pg_wal.join(name), &wal_dir, name)?;
                        archived += 1;
                    }
                }
                let history = format!("{:08X}.history", control.timeline);
                if pg_wal.join(&history).is_file() && !wal_dir.join(&history).exists() {
                    archive_by_hand(&pg_wal.join(&history), &wal_dir, &history)?;
                }
            }
            std::fs::write(building.join("recovery.signal"), "")?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&building, std::fs::Permissions::from_mode(0o700))?;
            Ok((bytes, archived, carried))
        })
        .await??
    };
    tracing::info!(
        "copied the base backup {} ({}); {archived} segment(s) of the cluster's WAL the archive lacked archived, {} the one being written",
        base.name,
        app::documents::human_size(from_base as i64),
        if carried { "and carried" } else { "no" }
    );
    laps.lap("copying the base backup");

    let wal = wal_dir.display().to_string();
    archive_settings(plan.folder)?;
    // The trial keeps its new timeline's WAL to itself (marked ready, not
    // archived): a restore that fails leaves no branch in the archive. The
    // cluster archives it once Steward starts on it.
    let mut settings = vec![("archive_mode".to_string(), "on".to_string()), ("archive_command".to_string(), String::new())];
    settings.push(("restore_command".into(), format!("cp '{wal}/%f' '%p'")));
    settings.push(("recovery_target_action".into(), "promote".into()));
    settings.push(("recovery_target_timeline".into(), history.0.to_string()));
    if let RestoreTarget::Time(t) = plan.target {
        settings.push(("recovery_target_time".into(), t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()));
    }
    let mut cluster = Cluster::start(&ClusterOptions { dir: building.clone(), bindir: plan.bindir.map(Path::to_path_buf), ephemeral: false, settings })?;
    let recovered = recover(&mut cluster, plan).await;
    let Ended { last_transaction, counts, sessions: sessions_ended, links: links_ended, live_api_keys, replay_seconds: last_replay_seconds } = match recovered {
        Ok(found) => found,
        Err(e) => {
            cluster.stop();
            drop(cluster);
            let _ = std::fs::remove_dir_all(&building);
            return Err(e);
        }
    };
    let since = laps.clock.elapsed().as_secs_f64();
    laps.phases.push(("replaying the WAL", last_replay_seconds));
    laps.phases.push(("ending sessions and links, checking every chain", since - last_replay_seconds));
    laps.clock = Instant::now();
    cluster.stop();
    drop(cluster);

    // The swap: two renames, the replaced cluster kept beside the new one.
    if embedded::running_postmaster(cluster_dir).is_some() {
        let _ = std::fs::remove_dir_all(&building);
        return Err(format!("PostgreSQL was started on {} during the restore: stop Steward and restore again", cluster_dir.display()).into());
    }
    let swapping = beside(cluster_dir, "swapping");
    std::fs::write(&swapping, format!("{}\n", building.display())).map_err(|e| format!("cannot write {}: {e}", swapping.display()))?;
    if cluster_dir.exists() {
        if let Err(e) = std::fs::rename(cluster_dir, &before) {
            let _ = std::fs::remove_file(&swapping);
            return Err(format!("cannot move {} aside: {e}", cluster_dir.display()).into());
        }
    }
    if let Err(e) = std::fs::rename(&building, cluster_dir) {
        let back = if before.exists() { std::fs::rename(&before, cluster_dir).err() } else { None };
        if back.is_none() {
            let _ = std::fs::remove_file(&swapping);
        }
        return Err(match back {
            None => format!("cannot move {} into place: {e}; the cluster is as it was", building.display()),
            Some(b) => format!("cannot move {} into place: {e}, nor the cluster back from {}: {b}; move it back by hand", building.display(), before.display()),
        }
        .into());
    }
    // The swap is done: a folder that cannot be synced is said, not failed.
    if let Some(parent) = cluster_dir.parent() {
        if let Err(e) = std::fs::File::open(parent).and_then(|d| d.sync_all()) {
            tracing::warn!("the swap is done, but {} could not be synced: {e}", parent.display());
        }
    }
    work.0 = None;
    let _ = std::fs::remove_file(&swapping);
    laps.lap("swapping it in");
    let kept = before.exists().then_some(before);
    Ok(RestoredTo { base, target: plan.target, last_transaction, counts, sessions_ended, links_ended, live_api_keys, kept, wal_archived: archived, wal_carried: carried, phases: laps.phases })
}

/// The restore's work directory, removed when the restore fails.
struct WorkDir(Option<PathBuf>);

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// How long each step took.
struct Laps {
    phases: Vec<(&'static str, f64)>,
    clock: Instant,
}

impl Laps {
    fn lap(&mut self, name: &'static str) {
        self.phases.push((name, self.clock.elapsed().as_secs_f64()));
        self.clock = Instant::now();
    }
}

/// What the restored database was given back without.
struct Ended {
    last_transaction: Option<DateTime<Utc>>,
    counts: crate::backup::Counts,
    sessions: u64,
    links: u64,
    live_api_keys: i64,
    /// From the start of the trial cluster to its promotion.
    replay_seconds: f64,
}

/// Waits for the restored cluster to reach its target and promote, then
/// ends its sessions and live links and checks its counts and chains.
async fn recover(cluster: &mut Cluster, plan: &RestorePlan<'_>) -> Result<Ended, Error> {
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
    let started = Instant::now();
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
    let replay_seconds = started.elapsed().as_secs_f64();
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
    // Live password links of that time, some used since, and the links in
    // queued mail (which would go out again): as a whole restore does.
    let links = sqlx::query("UPDATE password_links SET expires_at = now() WHERE used_at IS NULL AND expires_at > now()")
        .execute(&mut conn)
        .await?
        .rows_affected();
    sqlx::query(
        "UPDATE mail_outbox
            SET status = CASE WHEN status = 'queued' THEN 'failed' ELSE status END,
                last_error = CASE WHEN status = 'queued' THEN 'not sent: the database was restored to an earlier time, which ends live links; send it again' ELSE last_error END,
                link = NULL
          WHERE link IS NOT NULL",
    )
    .execute(&mut conn)
    .await?;
    let live_api_keys: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())")
        .fetch_one(&mut conn)
        .await?;
    // A base backup on the new timeline at once (an older one is of no use past the branch).
    let _ = sqlx::query("UPDATE scheduled_jobs SET last_started_at = NULL WHERE job = 'base_backup'").execute(&mut conn).await;
    let counts = crate::backup::counts(&mut conn).await?;
    conn.close().await?;
    let owner = cluster.connect_options(crate::db::OWNER_ROLE, crate::db::DATABASE);
    let broken: Vec<String> = crate::db::verify_audit(&owner, None).await?.into_iter().filter(|r| r.broken.is_some()).map(|r| r.tenant).collect();
    if !broken.is_empty() {
        return Err(format!("the restored database's audit chains of {} do not verify; the cluster was left as it was", broken.join(", ")).into());
    }
    Ok(Ended { last_transaction: last, counts, sessions: ended, links, live_api_keys, replay_seconds })
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
        assert_eq!(segment_address("000000010000000000000003", 16 << 20), Some(3 * (16 << 20)));
        assert_eq!(segment_address("0000000200000001000000FF", 16 << 20), Some((1 << 32) + 255 * (16 << 20)));
        assert_eq!(parse_history("1\t0/3000000\tbefore 2026-12-04\n\n2\t1/A0\tno recovery target\n"), vec![(1, 0x300_0000), (2, (1 << 32) | 0xA0)]);
    }
}
