//! The embedded PostgreSQL cluster: initialised once, reused on the next
//! start, refused clearly when another server holds it.

use sqlx::{ConnectOptions, Connection, Executor, Row};
use std::path::PathBuf;
use std::time::Duration;
use steward::embedded::{Cluster, ClusterError, ClusterOptions, SUPERUSER};

pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("steward-tests").join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_second_start_reuses_the_cluster_and_its_data() {
    let dir = scratch("reuse").join("postgres");
    let options = ClusterOptions { dir: dir.clone(), bindir: None, ephemeral: true, settings: Vec::new() };

    let mut first = Cluster::start(&options).unwrap();
    first.wait_ready(Duration::from_secs(30)).await.unwrap();
    let mut conn = first.connect_options(SUPERUSER, "postgres").connect().await.unwrap();
    conn.execute("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('still here')").await.unwrap();
    conn.close().await.unwrap();
    first.stop();

    let mut second = Cluster::start(&options).unwrap();
    second.wait_ready(Duration::from_secs(30)).await.unwrap();
    let mut conn = second.connect_options(SUPERUSER, "postgres").connect().await.unwrap();
    let note: String = sqlx::query("SELECT note FROM kept").fetch_one(&mut conn).await.unwrap().get(0);
    assert_eq!(note, "still here");
    conn.close().await.unwrap();
    second.stop();
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[tokio::test]
async fn a_cluster_in_use_is_refused_with_a_clear_sentence() {
    let dir = scratch("locked").join("postgres");
    let options = ClusterOptions { dir: dir.clone(), bindir: None, ephemeral: true, settings: Vec::new() };
    let mut running = Cluster::start(&options).unwrap();
    running.wait_ready(Duration::from_secs(30)).await.unwrap();

    let error = Cluster::start(&options).err().expect("a second server on the same directory is refused");
    assert!(matches!(error, ClusterError::AlreadyRunning { .. }), "{error}");
    assert!(error.to_string().contains("already running"), "{error}");

    // The first one is unharmed.
    let conn = running.connect_options(SUPERUSER, "postgres").connect().await;
    assert!(conn.is_ok());
    running.stop();
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[tokio::test]
async fn a_directory_that_is_not_a_cluster_is_not_touched() {
    let dir = scratch("notcluster").join("postgres");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("precious.txt"), "mine").unwrap();
    let error = Cluster::start(&ClusterOptions { dir: dir.clone(), bindir: None, ephemeral: true, settings: Vec::new() }).err().expect("refused");
    assert!(error.to_string().contains("is not a PostgreSQL cluster"), "{error}");
    assert_eq!(std::fs::read_to_string(dir.join("precious.txt")).unwrap(), "mine");
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[test]
fn a_data_directory_the_postgres_user_cannot_reach_is_relocated_when_root() {
    use std::os::unix::fs::PermissionsExt;
    let home = scratch("home");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let data = home.join("checkout").join("data");
    let cluster = steward::cluster_dir(&data).unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        assert!(cluster.starts_with("/var/lib/steward"), "{}", cluster.display());
        let recorded = std::fs::read_to_string(data.join("postgres.location")).unwrap();
        assert_eq!(recorded.trim(), cluster.display().to_string());
        // The next start finds the same place.
        assert_eq!(steward::cluster_dir(&data).unwrap(), cluster);
    } else {
        assert_eq!(cluster, data.canonicalize().unwrap().join("postgres"));
    }
    let _ = std::fs::remove_dir_all(&home);
}

#[tokio::test]
async fn a_stale_lock_file_left_by_a_crash_does_not_stop_the_next_start() {
    let dir = scratch("stale").join("postgres");
    let options = ClusterOptions { dir: dir.clone(), bindir: None, ephemeral: true, settings: Vec::new() };
    let mut first = Cluster::start(&options).unwrap();
    first.wait_ready(Duration::from_secs(30)).await.unwrap();
    first.stop();
    // What a killed server leaves: a lock file naming a process that is gone.
    let pid_file = dir.join("postmaster.pid");
    std::fs::write(&pid_file, format!("999999\n{}\n", dir.display())).unwrap();

    let mut again = Cluster::start(&options).unwrap();
    again.wait_ready(Duration::from_secs(30)).await.expect("a stale lock is not a running server");
    again.stop();
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}
