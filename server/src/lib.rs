//! The `steward` binary's library, by part: `web` (the console over HTTP),
//! `api` (`/api/v1`), `ops` (database set-up, backups), `cli` (the
//! commands, the demo, bench data) and `embedded` (the PostgreSQL cluster). `main.rs` wires
//! them to the command line; tests use them directly.

/// The JSON API for integrations (`/api/v1`).
pub mod api;
/// The command line: arguments, the demo, generated data for the bench.
pub mod cli;
/// Steward's own PostgreSQL cluster.
pub mod embedded;
/// Migrations, connection pools, backups.
pub mod ops;
/// The console over HTTP: the router and its layers, the access log, metrics.
pub mod web;

// Each part by its short path, as the binary and the tests name it.
pub use cli::{demo, gen_data};
pub use ops::{backup, db, pitr};
pub use web::{access_log, client_addr, metrics, security, session_limit};

use cli::DatabaseArgs;
use db::Targets;
use embedded::{Cluster, ClusterError, ClusterOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Any failure that ends a command: printed as one sentence.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The database Steward runs on: an external server, or the embedded
/// cluster, migrated and ready.
pub struct Database {
    pub targets: Targets,
    pub cluster: Option<Cluster>,
    /// The embedded cluster's point-in-time folder, when it archives WAL.
    pub pitr: Option<ops::pitr::Folder>,
}

impl Database {
    /// Connects to DATABASE_URL, or starts the embedded cluster, then applies
    /// the migrations.
    pub async fn open(args: &DatabaseArgs) -> Result<Database, Error> {
        let (targets, cluster, pitr) = match &args.database_url {
            Some(url) => {
                if args.pitr_dir.is_some() {
                    return Err("STEWARD_PITR_DIR is for Steward's own cluster: with DATABASE_URL, point-in-time recovery is the database server's (its archive_command and base backups)".into());
                }
                (Targets::from_urls(url, args.database_migration_url.as_deref())?, None, None)
            }
            None => {
                let dir = cluster_dir(&args.data_dir)?;
                ops::pitr::check_not_interrupted(&dir)?;
                let pitr = ops::pitr::folder_for(&args.data_dir, args.pitr_dir.as_deref())?;
                let settings = match &pitr {
                    Some(folder) => ops::pitr::archive_settings(folder)?,
                    None => Vec::new(),
                };
                let mut cluster = Cluster::start(&ClusterOptions { dir, bindir: args.pg_bindir.clone(), ephemeral: false, settings })?;
                cluster.wait_ready(Duration::from_secs(60)).await?;
                let targets = Targets::bootstrap_embedded(&cluster, db::DATABASE).await?;
                (targets, Some(cluster), pitr)
            }
        };
        db::migrate(&targets.owner).await?;
        Ok(Database { targets, cluster, pitr })
    }

    /// Stops the embedded cluster, if any.
    pub fn close(mut self) {
        if let Some(cluster) = self.cluster.as_mut() {
            cluster.stop();
        }
    }
}

/// Where the embedded cluster lives: `<data-dir>/postgres`, unless steward
/// runs as root and the `postgres` user cannot reach that directory (a
/// checkout under /root, say). Then it lives under /var/lib/steward, and
/// `<data-dir>/postgres.location` records where, so restarts find it again.
pub fn cluster_dir(data_dir: &Path) -> Result<PathBuf, Error> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create the data directory {}: {e}", data_dir.display()))?;
    let data_dir = data_dir.canonicalize()?;
    let location_file = data_dir.join("postgres.location");
    if let Ok(recorded) = std::fs::read_to_string(&location_file) {
        return Ok(PathBuf::from(recorded.trim()));
    }
    let wanted = data_dir.join("postgres");
    let Some((uid, gid)) = embedded::run_as()? else { return Ok(wanted) };
    let Some(blocked) = embedded::blocked_ancestor(&wanted, uid, gid) else { return Ok(wanted) };

    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut h);
    let base = PathBuf::from("/var/lib/steward");
    std::fs::create_dir_all(&base).map_err(|e| ClusterError::Io(format!("cannot create {}: {e}", base.display())))?;
    let relocated = base.join(format!("cluster-{:016x}", h.finish()));
    std::fs::write(&location_file, format!("{}\n", relocated.display()))?;
    eprintln!(
        "note: the postgres user cannot enter {}, so the database cluster lives in {} (recorded in {}).",
        blocked.display(),
        relocated.display(),
        location_file.display()
    );
    Ok(relocated)
}
