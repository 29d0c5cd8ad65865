//! Steward's own PostgreSQL cluster, for running with no DATABASE_URL and
//! for tests.
//!
//! The cluster listens only on a unix socket in a private (0700) directory,
//! so there is no port to clash and `trust` authentication is safe. When
//! steward runs as root, PostgreSQL refuses to, so the cluster belongs to the
//! unprivileged `postgres` user and its processes run as that user. The
//! server is started from a thread that lives as long as steward, with
//! PR_SET_PDEATHSIG, so it stops when steward dies however it dies; on a
//! clean exit [`Cluster::stop`] shuts it down first.
//!
//! While steward serves, [`Cluster::supervise`] watches the server: when it
//! dies (a crash, an out-of-memory kill, `kill -9`), it is started again on
//! the same directory, which runs PostgreSQL's crash recovery, with a
//! backoff while the dead server's last processes let go of its shared
//! memory, and a log line at each step.

// The few system calls PostgreSQL's supervision needs (who runs us, the
// `postgres` user's ids, signals to the postmaster) are `unsafe` libc calls,
// each a single line; nothing else in Steward may use `unsafe`.
#![allow(unsafe_code)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// The port number in the socket's name; nothing listens on TCP.
pub const SOCKET_PORT: u16 = 5432;
/// The cluster's bootstrap superuser.
pub const SUPERUSER: &str = "postgres";

/// Why the embedded cluster could not run, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("PostgreSQL server binaries (initdb, postgres) were not found; looked in: {looked}. Install them (apt-get install postgresql) or point PG_BINDIR at their directory.")]
    MissingBinaries { looked: String },
    #[error("steward runs as root and PostgreSQL refuses to; it needs an unprivileged user named 'postgres' to own the database, and there is none. Create one (useradd --system postgres) or run steward as a normal user.")]
    NoUnprivilegedUser,
    #[error("{dir} exists but is not a PostgreSQL cluster; move it away or choose another --data-dir.")]
    NotACluster { dir: PathBuf },
    #[error("the cluster in {dir} was made by PostgreSQL {found}, but the binaries in {bindir} are version {wanted}; set PG_BINDIR to PostgreSQL {found}'s binaries.")]
    VersionMismatch { dir: PathBuf, found: String, wanted: String, bindir: PathBuf },
    #[error("another PostgreSQL (probably another steward) is already running on {dir}; stop it first, or choose another --data-dir.")]
    AlreadyRunning { dir: PathBuf },
    #[error("initdb failed for {dir}: {detail}")]
    InitdbFailed { dir: PathBuf, detail: String },
    #[error("PostgreSQL did not start: {detail} (full log: {log})")]
    StartFailed { detail: String, log: PathBuf },
    #[error("{0}")]
    Io(String),
}

fn io(context: &str, path: &Path, error: std::io::Error) -> ClusterError {
    ClusterError::Io(format!("{context} {}: {error}", path.display()))
}

/// How to run the cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The PostgreSQL data directory (created by initdb when empty).
    pub dir: PathBuf,
    pub bindir: Option<PathBuf>,
    /// Trade durability for speed (tests): no fsync, no full-page writes.
    pub ephemeral: bool,
    /// Server settings given at every start (`-c name=value`): WAL
    /// archiving for point-in-time recovery, a recovery target.
    pub settings: Vec<(String, String)>,
}

/// A running cluster.
pub struct Cluster {
    how: Launch,
    server: Arc<Mutex<Server>>,
}

/// What starting the server again needs.
#[derive(Clone)]
struct Launch {
    bindir: PathBuf,
    dir: PathBuf,
    socket_dir: PathBuf,
    log: PathBuf,
    owner: Option<(u32, u32)>,
    ephemeral: bool,
    settings: Vec<(String, String)>,
    /// The long-lived thread that spawns the server (see [`spawner`]).
    spawner: mpsc::Sender<SpawnRequest>,
}

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);

/// The server process, shared by the cluster and its supervisor.
struct Server {
    pid: i32,
    child: Option<Child>,
    /// Set by [`Cluster::stop`]: an exit from now on is wanted.
    stopping: bool,
}

/// The uid and gid the cluster runs as: the `postgres` user when steward is
/// root, nobody else (steward's own user) otherwise.
pub fn run_as() -> Result<Option<(u32, u32)>, ClusterError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = std::ffi::CString::new(SUPERUSER).expect("no NUL");
    // SAFETY: getpwnam takes a valid C string; the result is read at once.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err(ClusterError::NoUnprivilegedUser);
    }
    // SAFETY: pw is non-null and points at libc's static passwd record.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Ok(Some((uid, gid)))
}

/// The first directory on the way to `path` that `uid`/`gid` cannot enter,
/// if any (PostgreSQL must reach its data directory).
pub fn blocked_ancestor(path: &Path, uid: u32, gid: u32) -> Option<PathBuf> {
    let mut current = PathBuf::new();
    for part in path.components() {
        current.push(part);
        let Ok(meta) = fs::metadata(&current) else { break };
        if !meta.is_dir() {
            break;
        }
        let mode = meta.mode();
        let bit = if meta.uid() == uid {
            0o100
        } else if meta.gid() == gid {
            0o010
        } else {
            0o001
        };
        if mode & bit == 0 {
            return Some(current);
        }
    }
    None
}

/// The settings that load `pg_stat_statements` (the System screen's
/// slowest statements), when this installation has it (Debian's
/// postgresql package does): a server that lacks it starts without.
fn statement_statistics(bindir: &Path) -> Vec<String> {
    let library = bindir.parent().map(|p| p.join("lib").join("pg_stat_statements.so"));
    if library.is_some_and(|l| l.is_file()) {
        vec!["-c".into(), "shared_preload_libraries=pg_stat_statements".into(), "-c".into(), "pg_stat_statements.track=top".into()]
    } else {
        Vec::new()
    }
}

/// Finds the directory with initdb and postgres.
pub fn find_bindir(explicit: Option<&Path>) -> Result<PathBuf, ClusterError> {
    let mut looked = Vec::new();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = explicit {
        candidates.push(dir.to_path_buf());
    } else {
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
            if out.status.success() {
                candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
            }
        }
        if let Some(path) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&path) {
                if dir.join("initdb").is_file() {
                    candidates.push(dir);
                }
            }
        }
        let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| {
                        let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                        Some((v, e.path().join("bin")))
                    })
                    .collect()
            })
            .unwrap_or_default();
        versions.sort();
        candidates.extend(versions.into_iter().rev().map(|(_, p)| p));
    }
    for dir in candidates {
        if dir.join("initdb").is_file() && dir.join("postgres").is_file() {
            return Ok(dir);
        }
        looked.push(dir.display().to_string());
    }
    if looked.is_empty() {
        looked.push("pg_config, PATH, /usr/lib/postgresql/*/bin".into());
    }
    Err(ClusterError::MissingBinaries { looked: looked.join(", ") })
}

fn major_version(bindir: &Path) -> Result<String, ClusterError> {
    let out = Command::new(bindir.join("postgres"))
        .arg("--version")
        .output()
        .map_err(|e| io("cannot run", &bindir.join("postgres"), e))?;
    // "postgres (PostgreSQL) 15.18 (Debian ...)"
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().nth(2).unwrap_or_default();
    Ok(version.split('.').next().unwrap_or_default().to_string())
}

pub fn chown_tree(path: &Path, uid: u32, gid: u32) -> Result<(), ClusterError> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| io("cannot chown", path, e))?;
    if path.is_dir() {
        for entry in fs::read_dir(path).map_err(|e| io("cannot read", path, e))? {
            let entry = entry.map_err(|e| io("cannot read", path, e))?;
            let p = entry.path();
            if p.is_dir() && !p.is_symlink() {
                chown_tree(&p, uid, gid)?;
            } else {
                std::os::unix::fs::lchown(&p, Some(uid), Some(gid)).map_err(|e| io("cannot chown", &p, e))?;
            }
        }
    }
    Ok(())
}

/// A short private directory for the server's socket: unix socket paths are
/// limited to 107 bytes, which a data directory deep in a checkout exceeds.
fn socket_dir_for(dir: &Path) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut h);
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    std::env::temp_dir().join(format!("steward-pg-{euid}-{:012x}", h.finish() & 0xffff_ffff_ffff))
}

/// The pid of a PostgreSQL server running on `dir`, from its lock file. A
/// lock file left by a server that died (its pid gone, or reused by another
/// program) is stale: PostgreSQL replaces it on start.
pub fn running_postmaster(dir: &Path) -> Option<i32> {
    let text = fs::read_to_string(dir.join("postmaster.pid")).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (comm.trim() == "postgres").then_some(pid)
}

fn tail(path: &Path, lines: usize) -> Vec<String> {
    let Ok(file) = fs::File::open(path) else { return Vec::new() };
    let all: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
    all[all.len().saturating_sub(lines)..].to_vec()
}

impl Cluster {
    /// Initialises the cluster if needed and starts the server. Returns once
    /// the server process is running; call [`Cluster::wait_ready`] next.
    pub fn start(options: &ClusterOptions) -> Result<Cluster, ClusterError> {
        let bindir = find_bindir(options.bindir.as_deref())?;
        let owner = run_as()?;
        let dir = options.dir.clone();
        let log = dir.with_extension("log");

        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent).map_err(|e| io("cannot create", parent, e))?;
        }
        if !dir.join("PG_VERSION").is_file() {
            let empty = fs::read_dir(&dir).map(|mut d| d.next().is_none()).unwrap_or(true);
            if !empty {
                return Err(ClusterError::NotACluster { dir });
            }
            Self::initdb(&bindir, &dir, owner, options.ephemeral)?;
        } else {
            let found = fs::read_to_string(dir.join("PG_VERSION")).unwrap_or_default().trim().to_string();
            let wanted = major_version(&bindir)?;
            if found != wanted {
                return Err(ClusterError::VersionMismatch { dir, found, wanted, bindir });
            }
        }

        // Refuse before touching anything when a server already runs here
        // (its socket directory is the one this start would recreate).
        if running_postmaster(&dir).is_some() {
            return Err(ClusterError::AlreadyRunning { dir });
        }

        let socket_dir = socket_dir_for(&dir);
        let _ = fs::remove_dir_all(&socket_dir);
        fs::create_dir_all(&socket_dir).map_err(|e| io("cannot create", &socket_dir, e))?;
        fs::set_permissions(&socket_dir, fs::Permissions::from_mode(0o700)).map_err(|e| io("cannot chmod", &socket_dir, e))?;
        if let Some((uid, gid)) = owner {
            chown_tree(&socket_dir, uid, gid)?;
            // A previous run as another user, or files restored by root.
            // Only then: walking a large cluster on every start costs time.
            let owned = fs::metadata(&dir).map(|m| m.uid() == uid).unwrap_or(false);
            if !owned {
                chown_tree(&dir, uid, gid)?;
            }
        }

        fs::File::create(&log).map_err(|e| io("cannot create", &log, e))?;
        let how = Launch { bindir, dir: dir.clone(), socket_dir: socket_dir.clone(), log: log.clone(), owner, ephemeral: options.ephemeral, settings: options.settings.clone(), spawner: spawner()? };
        let child = how.spawn()?;
        let pid = child.id() as i32;
        Ok(Cluster { how, server: Arc::new(Mutex::new(Server { pid, child: Some(child), stopping: false })) })
    }

    fn initdb(bindir: &Path, dir: &Path, owner: Option<(u32, u32)>, ephemeral: bool) -> Result<(), ClusterError> {
        fs::create_dir_all(dir).map_err(|e| io("cannot create", dir, e))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| io("cannot chmod", dir, e))?;
        if let Some((uid, gid)) = owner {
            chown_tree(dir, uid, gid)?;
        }
        let mut command = Command::new(bindir.join("initdb"));
        command
            .arg("-D")
            .arg(dir)
            .args(["-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C"])
            .stdin(Stdio::null())
            .current_dir("/");
        if ephemeral {
            command.arg("--no-sync");
        }
        if let Some((uid, gid)) = owner {
            command.uid(uid).gid(gid);
        }
        let out = command.output().map_err(|e| io("cannot run", &bindir.join("initdb"), e))?;
        if !out.status.success() {
            let detail = String::from_utf8_lossy(&out.stderr).lines().filter(|l| !l.trim().is_empty()).last().unwrap_or("no output").to_string();
            // Leave no half-made cluster behind: the next start would refuse it.
            let _ = fs::remove_dir_all(dir);
            return Err(ClusterError::InitdbFailed { dir: dir.to_path_buf(), detail });
        }
        Ok(())
    }

    pub fn socket_dir(&self) -> &Path {
        &self.how.socket_dir
    }

    pub fn dir(&self) -> &Path {
        &self.how.dir
    }

    /// Connection options for a role and database of this cluster.
    pub fn connect_options(&self, user: &str, database: &str) -> sqlx::postgres::PgConnectOptions {
        self.how.connect_options(user, database)
    }

    /// Fails, with the reason from the server's log, when the server has
    /// exited (a recovery that stopped with an error, say).
    pub fn still_running(&self) -> Result<(), ClusterError> {
        let status = {
            let mut guard = lock(&self.server);
            match guard.child.as_mut().map(|c| c.try_wait()) {
                Some(Ok(Some(status))) => status,
                _ => return Ok(()),
            }
        };
        Err(exit_detail(&self.how, status))
    }

    /// Waits until the server accepts connections; fails at once when it exits.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<(), ClusterError> {
        ready(&self.how, &self.server, timeout).await
    }

    /// Watches the server until [`Cluster::stop`]: checks four times a
    /// second that it still runs, and when it has died starts it again (its
    /// crash recovery brings back every committed transaction), retrying
    /// with a growing pause (0.25 s doubling to 10 s) while it cannot. Each
    /// step is logged. Run it as a task beside the web server; the
    /// connection pools reconnect by themselves once it is back.
    pub fn supervise(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let how = self.how.clone();
        let server = Arc::clone(&self.server);
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let died = {
                    let mut guard = lock(&server);
                    if guard.stopping {
                        return;
                    }
                    let pid = guard.pid;
                    match guard.child.as_mut().map(|c| c.try_wait()) {
                        Some(Ok(Some(status))) => Some((pid, status)),
                        _ => None,
                    }
                };
                let Some((pid, status)) = died else { continue };
                tracing::error!("the embedded PostgreSQL (pid {pid}) stopped ({status}); starting it again on {}", how.dir.display());
                let since = Instant::now();
                let mut pause = Duration::from_millis(250);
                let mut attempt = 1;
                loop {
                    let started = {
                        let mut guard = lock(&server);
                        if guard.stopping {
                            return;
                        }
                        // A server started by an earlier attempt that still
                        // runs (a long crash recovery) is waited for, never
                        // doubled: a second one could not take its lock file
                        // and the first would no longer be tracked.
                        match guard.child.as_mut().map(|c| c.try_wait()) {
                            Some(Ok(None)) => Ok(()),
                            _ => how.spawn().map(|child| {
                                guard.pid = child.id() as i32;
                                guard.child = Some(child);
                            }),
                        }
                    };
                    let outcome = match started {
                        Ok(()) => ready(&how, &server, Duration::from_secs(300)).await,
                        Err(e) => Err(e),
                    };
                    match outcome {
                        Ok(()) => {
                            tracing::warn!(
                                "the embedded PostgreSQL is back (pid {}, crash recovery done) {:.1} s after it stopped, at attempt {attempt}",
                                lock(&server).pid,
                                since.elapsed().as_secs_f64()
                            );
                            break;
                        }
                        Err(e) => {
                            tracing::error!("starting the embedded PostgreSQL again failed (attempt {attempt}): {e}; next attempt in {:.2} s", pause.as_secs_f64());
                        }
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(10));
                    attempt += 1;
                }
            }
        }
    }

    /// Stops the server (fast shutdown: open transactions roll back) and
    /// waits for it to exit.
    pub fn stop(&mut self) {
        let (pid, child) = {
            let mut guard = lock(&self.server);
            guard.stopping = true;
            (guard.pid, guard.child.take())
        };
        let Some(mut child) = child else { return };
        // Already exited (and reaped by the supervisor): its pid may belong
        // to another process by now, so it is not signalled.
        if let Ok(Some(_)) = child.try_wait() {
            let _ = fs::remove_dir_all(&self.how.socket_dir);
            return;
        }
        // SAFETY: kill with a pid we spawned and have not reaped.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                let _ = fs::remove_dir_all(&self.how.socket_dir);
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // SAFETY: as above; immediate shutdown as the last resort.
        unsafe { libc::kill(pid, libc::SIGQUIT) };
        let _ = child.wait();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The server's state; a panic elsewhere while it was held leaves nothing
/// half-changed that matters here, so a poisoned lock is used as is.
fn lock(server: &Mutex<Server>) -> std::sync::MutexGuard<'_, Server> {
    server.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A thread that lives as long as steward and spawns the server each time
/// it is asked: the parent-death signal fires when the spawning *thread*
/// exits, so a server started again after a crash must come from a thread
/// that never ends, like the first.
fn spawner() -> Result<mpsc::Sender<SpawnRequest>, ClusterError> {
    let (tx, rx) = mpsc::channel::<SpawnRequest>();
    std::thread::Builder::new()
        .name("postgres-guardian".into())
        .spawn(move || {
            while let Ok((mut command, answer)) = rx.recv() {
                let _ = answer.send(command.spawn());
            }
            // Every sender is gone: the cluster was dropped, and its server
            // stopped. Stay, so that no parent-death signal fires now.
            loop {
                std::thread::park();
            }
        })
        .map_err(|e| ClusterError::Io(format!("cannot start a thread: {e}")))?;
    Ok(tx)
}

impl Launch {
    /// Starts the server process (appending to the log: a restart keeps
    /// the lines of the crash before it).
    fn spawn(&self) -> Result<Child, ClusterError> {
        // The socket directory may have gone while the server was down (a
        // cleaner of /tmp): made again as at the first start.
        if !self.socket_dir.is_dir() {
            fs::create_dir_all(&self.socket_dir).map_err(|e| io("cannot create", &self.socket_dir, e))?;
            fs::set_permissions(&self.socket_dir, fs::Permissions::from_mode(0o700)).map_err(|e| io("cannot chmod", &self.socket_dir, e))?;
            if let Some((uid, gid)) = self.owner {
                chown_tree(&self.socket_dir, uid, gid)?;
            }
        }
        let log_file = fs::OpenOptions::new().append(true).create(true).open(&self.log).map_err(|e| io("cannot open", &self.log, e))?;
        let log_err = log_file.try_clone().map_err(|e| io("cannot open", &self.log, e))?;
        let mut command = Command::new(self.bindir.join("postgres"));
        command
            .arg("-D")
            .arg(&self.dir)
            .args(["-c", "listen_addresses="])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.socket_dir.display()))
            .args(["-c", &format!("port={SOCKET_PORT}")])
            .args(["-c", "logging_collector=off"])
            .args(statement_statistics(&self.bindir))
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .process_group(0);
        if self.ephemeral {
            command.args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]);
        }
        for (name, value) in &self.settings {
            command.arg("-c").arg(format!("{name}={value}"));
        }
        if let Some((uid, gid)) = self.owner {
            command.uid(uid).gid(gid);
        }
        // SAFETY: prctl and getppid are async-signal-safe; they run between
        // fork and exec, after the uid change (which would otherwise clear
        // the signal). Steward dying between the fork and the prctl would
        // leave no one to send it: then the parent is no longer steward, and
        // the server is not started.
        let steward = std::process::id() as libc::pid_t;
        unsafe {
            command.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT);
                if libc::getppid() != steward {
                    return Err(std::io::Error::other("steward exited while starting PostgreSQL"));
                }
                Ok(())
            });
        }
        let (tx, rx) = mpsc::channel();
        self.spawner
            .send((command, tx))
            .map_err(|_| ClusterError::Io("the postgres-guardian thread died".into()))?;
        rx.recv()
            .map_err(|_| ClusterError::Io("the postgres-guardian thread died".into()))?
            .map_err(|e| io("cannot run", &self.bindir.join("postgres"), e))
    }

    /// Connection options for a role and database of this cluster.
    fn connect_options(&self, user: &str, database: &str) -> sqlx::postgres::PgConnectOptions {
        sqlx::postgres::PgConnectOptions::new()
            .socket(&self.socket_dir)
            .port(SOCKET_PORT)
            .username(user)
            .database(database)
            .application_name("steward")
    }
}

/// Why the server exited, from its log's last lines.
fn exit_detail(how: &Launch, status: std::process::ExitStatus) -> ClusterError {
    let lines = tail(&how.log, 20);
    if lines.iter().any(|l| l.contains("lock file") && l.contains("already exists")) {
        return ClusterError::AlreadyRunning { dir: how.dir.clone() };
    }
    let detail = lines
        .iter()
        .rev()
        .find(|l| l.contains("FATAL") || l.contains("ERROR"))
        .cloned()
        .unwrap_or_else(|| format!("postgres exited with {status}"));
    ClusterError::StartFailed { detail, log: how.log.clone() }
}

/// Waits until the server accepts connections; fails at once when it exits.
async fn ready(how: &Launch, server: &Mutex<Server>, timeout: Duration) -> Result<(), ClusterError> {
    use sqlx::ConnectOptions;
    let started = Instant::now();
    let options = how.connect_options(SUPERUSER, "postgres");
    loop {
        let exited = {
            let mut guard = lock(server);
            if guard.stopping {
                return Err(ClusterError::StartFailed { detail: "stopped while starting".into(), log: how.log.clone() });
            }
            match guard.child.as_mut().map(|c| c.try_wait()) {
                Some(Ok(Some(status))) => Some(status),
                Some(Err(e)) => {
                    tracing::warn!("cannot tell whether PostgreSQL still runs: {e}");
                    None
                }
                _ => None,
            }
        };
        if let Some(status) = exited {
            return Err(exit_detail(how, status));
        }
        if let Ok(conn) = options.connect().await {
            let _ = sqlx::Connection::close(conn).await;
            return Ok(());
        }
        if started.elapsed() > timeout {
            return Err(ClusterError::StartFailed { detail: format!("not ready after {} s", timeout.as_secs()), log: how.log.clone() });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_home_blocks_other_users() {
        let root = tempdir("blocked");
        let home = root.join("home");
        fs::create_dir_all(home.join("checkout")).unwrap();
        fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).unwrap();
        let meta = fs::metadata(&home).unwrap();
        // Someone who is neither the owner nor in the group cannot pass.
        let other = (meta.uid() + 12345, meta.gid() + 12345);
        assert_eq!(blocked_ancestor(&home.join("checkout/data"), other.0, other.1), Some(home.clone()));
        fs::set_permissions(&home, fs::Permissions::from_mode(0o711)).unwrap();
        assert_eq!(blocked_ancestor(&home.join("checkout/data"), other.0, other.1), None);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn missing_binaries_say_what_to_do() {
        let dir = tempdir("nobin");
        let error = find_bindir(Some(&dir)).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("apt-get install postgresql"), "{text}");
        assert!(text.contains(&dir.display().to_string()), "{text}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn socket_paths_stay_short_for_deep_data_directories() {
        let deep = PathBuf::from("/").join("a".repeat(200)).join("postgres");
        let sock = socket_dir_for(&deep).join(".s.PGSQL.5432");
        assert!(sock.as_os_str().len() < 107, "{}", sock.display());
    }

    fn tempdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("steward-test-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }
}
