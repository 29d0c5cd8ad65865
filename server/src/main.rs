//! `steward`: the administration console's server and its commands.

use clap::Parser;
use std::process::ExitCode;
use steward::cli::{Cli, Command, ServeArgs};
use steward::{db, demo, web, Database, Error};
use tokio::net::TcpListener;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_sessions=warn,tower_sessions_core=warn".into()),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("steward: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The embedded cluster is started on this (the main) thread's future,
    // never inside a spawned task: see embedded.rs on the parent-death signal.
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("steward: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Error> {
    let command = cli.command.unwrap_or_else(|| Command::Serve(ServeArgs::from_env()));
    // A point-in-time restore works on the stopped cluster's files.
    if let Command::Restore(steward::cli::RestoreArgs { to: Some(target), .. }) = &command {
        return restore_to(&cli.database, *target).await;
    }
    let database = Database::open(&cli.database).await?;
    let result = match command {
        Command::Serve(args) => serve(&database, args, &cli.database).await,
        Command::Migrate => {
            println!("migrations applied ({} in all)", db::MIGRATOR.iter().filter(|m| m.migration_type.is_up_migration()).count());
            Ok(())
        }
        Command::CreateAdmin(args) => create_admin(&database, args).await,
        Command::VerifyAudit(args) => verify_audit(&database, args).await,
        Command::AuditRetention(args) => audit_retention(&database, args).await,
        Command::Backup(args) => backup(&database, &cli.database, args).await,
        Command::Restore(args) => restore(&database, &cli.database, args).await,
        Command::Backups(args) => backups(&args.dir),
        Command::BaseBackup => base_backup(&database, &cli.database).await,
        Command::GenData(args) => gen_data(&database, args, &cli.database).await,
        Command::Mail(command) => mail(&database, command).await,
        Command::Jobs => jobs(&database).await,
        Command::Demo(args) => {
            let pool = db::app_pool(&database.targets.app, 2).await?;
            let loaded = demo::load(&pool, &args.password).await;
            pool.close().await;
            loaded?;
            print!("{}", demo::credentials("the console", &args.password));
            Ok(())
        }
    };
    database.close();
    result
}

async fn serve(database: &Database, args: ServeArgs, urls: &steward::cli::DatabaseArgs) -> Result<(), Error> {
    // Refused before anything is made (the key, the blob folder, the pools).
    let backup_passphrase = backup_passphrase(&args)?;
    let data_dir = urls.data_dir.as_path();
    let blob_dir = urls.blob_dir(args.blob_dir.as_deref());
    let pool = db::app_pool(&database.targets.app, 16).await?;
    let read_pool = match &urls.database_read_url {
        Some(url) => {
            let target = db::Targets::from_urls(url, None).map_err(|e| e.to_string().replace("DATABASE_URL", "DATABASE_READ_URL"))?;
            let replica = db::app_pool(&target.app, 16).await.map_err(|e| format!("DATABASE_READ_URL: {e}"))?;
            tracing::info!("lists, searches and the audit log read from DATABASE_READ_URL");
            // Read-your-writes asks a streaming replica how far it has
            // replayed; a server that replays nothing cannot say.
            if let Ok(false) = sqlx::query_scalar::<_, bool>("SELECT pg_is_in_recovery()").fetch_one(&replica).await {
                tracing::warn!("DATABASE_READ_URL names a server that is not a streaming replica (not in recovery): the person who made a change is not kept from a list that lags it");
            }
            Some(replica)
        }
        None => None,
    };
    let first_run = db::is_empty(&database.targets.owner).await?;
    // The demo's password is published: it loads by itself only into
    // Steward's own cluster on a loopback address (a first try on one's own
    // machine), or when asked for with --demo.
    let private = database.cluster.is_some() && args.addr.ip().is_loopback();
    let mut demo_loaded = false;
    if first_run && !args.no_demo {
        if args.demo || private {
            demo::load(&pool, &args.demo_password).await?;
            demo_loaded = true;
        } else {
            tracing::warn!("no demo loaded: Steward is not on its own cluster on a loopback address (--demo loads it anyway)");
        }
    }

    let listener = TcpListener::bind(args.addr).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "{} is already in use: stop whatever listens there, or choose another address with --addr or STEWARD_ADDR (e.g. 127.0.0.1:3001).",
            args.addr
        ),
        _ => format!("cannot listen on {}: {e}", args.addr),
    })?;
    let address = format!("http://{}", listener.local_addr()?);

    let bundle = args.site_root.join("pkg").join("steward.js");
    if !bundle.is_file() {
        tracing::warn!(
            "the browser bundle {} is missing: pages work, but without JavaScript. Build it with `cargo leptos build --release`.",
            bundle.display()
        );
    }

    let transport = steward::ops::mail::Transport::new(args.smtp_url.as_deref(), args.mail_from.as_deref())?;
    tracing::info!("{}", transport.describe());
    let config = web::WebConfig {
        site_root: args.site_root.display().to_string(),
        site_addr: args.addr,
        public_url: args.public_url.clone(),
        secure_cookies: args.secure_cookies,
        session_idle_minutes: args.session_idle_minutes,
        session_max_hours: args.session_max_hours,
        blobs: std::sync::Arc::new(blob_store(&blob_dir)?),
        max_upload_bytes: args.max_upload_mb * 1024 * 1024,
        metrics_token: args.metrics_token.clone(),
        access_log: !args.no_access_log,
        trusted_proxies: steward::client_addr::TrustedProxies::new(args.trusted_proxies.clone()),
        acting_minutes: args.acting_minutes,
        compression_level: args.compression_level,
        read_pool,
        master_key: steward::ops::keys::master_key(args.master_key.as_deref(), data_dir)?,
        mail_links_on_screen: private && matches!(transport, steward::ops::mail::Transport::Outbox),
        webhook_allow_private: args.webhook_allow_private,
    };
    // After the master key exists (the config made it at a first start).
    let backup = scheduled_backup(database, urls, &args, &blob_dir, backup_passphrase)?.map(std::sync::Arc::new);
    let pitr = match (&database.cluster, &database.pitr) {
        (Some(cluster), Some(folder)) => {
            tracing::info!(dir = %folder.path().display(), keep_days = args.pitr_keep_days, "WAL is archived for point-in-time recovery, with a base backup every day");
            let bindir = steward::embedded::find_bindir(urls.pg_bindir.as_deref())?;
            Some(std::sync::Arc::new(steward::pitr::Plan::new(folder.clone(), bindir, cluster, Some(args.pitr_keep_days))))
        }
        _ => None,
    };
    let (stop_mail, mail_stopped) = tokio::sync::watch::channel(false);
    let mailer = tokio::spawn(steward::ops::mail::run(
        pool.clone(),
        steward::ops::mail::WorkerConfig::new(transport, args.mail_keep_days),
        mail_stopped,
    ));
    if args.webhook_allow_private {
        tracing::warn!("webhooks may go to private and loopback addresses and over plain http (--webhook-allow-private)");
    }
    let (stop_hooks, hooks_stopped) = tokio::sync::watch::channel(false);
    let hooks = tokio::spawn(steward::ops::webhooks::run(
        pool.clone(),
        steward::ops::webhooks::WorkerConfig::new(config.master_key.clone(), args.webhook_allow_private, args.webhook_keep_days)?,
        hooks_stopped,
    ));
    // Steward's own cluster is started again if it dies (an external
    // server is its operator's; the pools reconnect to either by themselves).
    let supervisor = database.cluster.as_ref().map(|cluster| tokio::spawn(cluster.supervise()));
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    let scheduler = tokio::spawn(steward::ops::scheduler::run(
        pool.clone(),
        database.targets.owner.clone(),
        steward::ops::scheduler::SchedulerConfig {
            access_log_days: args.access_log_days,
            audit_keep: args.audit_keep,
            server: format!("{}:{}", hostname(), std::process::id()),
            poll: std::time::Duration::from_secs(60),
            backup,
            pitr,
        },
        jobs_stopped,
    ));
    let app = web::router(pool.clone(), &config);

    println!("Steward is running at {address}  (Ctrl-C stops it)");
    if demo_loaded {
        print!("{}", demo::credentials(&address, &args.demo_password));
    }
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    println!("Steward is stopping.");
    // The mail worker finishes the message it is sending (an SMTP attempt
    // gives up after 30 s) and hands back the rest of its batch.
    let _ = stop_mail.send(true);
    if tokio::time::timeout(std::time::Duration::from_secs(35), mailer).await.is_err() {
        tracing::warn!("the mail worker did not stop in time; its claims are taken up again when their lease ends");
    }
    // A batch of deliveries under way finishes (each within 10 s).
    let _ = stop_hooks.send(true);
    if tokio::time::timeout(std::time::Duration::from_secs(15), hooks).await.is_err() {
        tracing::warn!("the webhook worker did not stop in time; its claims are taken up again when their lease ends");
    }
    // A job under way is left to finish its statement; its claim is taken
    // over by the next server after an hour if it never settles.
    let _ = stop_jobs.send(true);
    if tokio::time::timeout(std::time::Duration::from_secs(5), scheduler).await.is_err() {
        tracing::warn!("a scheduled job was still running at shutdown; its claim is taken over after an hour");
    }
    if let Some(supervisor) = supervisor {
        supervisor.abort();
    }
    pool.close().await;
    Ok(())
}

/// The backup's view of the database: the embedded cluster as its
/// superuser, or DATABASE_MIGRATION_URL (else DATABASE_URL).
fn backup_target(database: &Database, urls: &steward::cli::DatabaseArgs) -> Result<steward::backup::Target, Error> {
    match (&database.cluster, &urls.database_url) {
        (Some(cluster), _) => Ok(steward::backup::Target::embedded(cluster, db::DATABASE)),
        (None, Some(url)) => steward::backup::Target::external(urls.database_migration_url.as_deref().unwrap_or(url)),
        (None, None) => Err("there is no database to back up".into()),
    }
}

/// `steward backup FILE [--since BASE]`.
async fn backup(database: &Database, urls: &steward::cli::DatabaseArgs, args: steward::cli::BackupArgs) -> Result<(), Error> {
    use steward::backup::PASSPHRASE_VAR;
    let target = backup_target(database, urls)?;
    let key = steward::ops::keys::master_key_text(args.master_key.as_deref(), &urls.data_dir)?.ok_or_else(|| {
        format!("there is no master key to back up: {} is missing and STEWARD_MASTER_KEY is unset", steward::ops::keys::key_file(&urls.data_dir).display())
    })?;
    let passphrase = std::env::var(PASSPHRASE_VAR).unwrap_or_default();
    let blob_dir = urls.blob_dir(args.blob_dir.as_deref());
    let bindir = steward::embedded::find_bindir(urls.pg_bindir.as_deref())?;
    let started = std::time::Instant::now();
    let plan = steward::backup::BackupPlan { blob_dir: &blob_dir, master_key: &key, passphrase: &passphrase, since: args.since.as_deref(), bindir: &bindir };
    let made = steward::backup::backup(&target, &plan, &args.file).await?;
    println!(
        "Backed up to {} ({}, in {:.1} s): {made}.",
        args.file.display(),
        app::documents::human_size(made.bytes as i64),
        started.elapsed().as_secs_f64()
    );
    if let Some(first) = made.manifest.missing.first() {
        eprintln!(
            "warning: {} document content(s) the database refers to are missing or damaged in {} (the first: {first}); the backup cannot bring them back.",
            made.manifest.missing.len(),
            blob_dir.display()
        );
    }
    Ok(())
}

/// STEWARD_BACKUP_PASSPHRASE, when STEWARD_BACKUP_DIR is set: refused at
/// start-up without one, rather than failing every night.
fn backup_passphrase(args: &ServeArgs) -> Result<Option<String>, Error> {
    use steward::backup::{MIN_PASSPHRASE, PASSPHRASE_VAR};
    if args.backup_dir.is_none() {
        return Ok(None);
    }
    let passphrase = std::env::var(PASSPHRASE_VAR).unwrap_or_default();
    if passphrase.chars().count() < MIN_PASSPHRASE {
        return Err(format!("STEWARD_BACKUP_DIR is set: set {PASSPHRASE_VAR} too, to a passphrase of at least {MIN_PASSPHRASE} characters (it seals the master key in each backup).").into());
    }
    Ok(Some(passphrase))
}

/// The daily backup's plan, when STEWARD_BACKUP_DIR is set.
fn scheduled_backup(
    database: &Database,
    urls: &steward::cli::DatabaseArgs,
    args: &ServeArgs,
    blob_dir: &std::path::Path,
    passphrase: Option<String>,
) -> Result<Option<steward::backup::Scheduled>, Error> {
    let (Some(dir), Some(passphrase)) = (&args.backup_dir, passphrase) else { return Ok(None) };
    let master_key = steward::ops::keys::master_key_text(args.master_key.as_deref(), &urls.data_dir)?.ok_or("there is no master key to back up")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create the backup folder {} (STEWARD_BACKUP_DIR): {e}", dir.display()))?;
    tracing::info!(dir = %dir.display(), keep_days = args.backup_keep_days, "a whole backup is made every day");
    Ok(Some(steward::backup::Scheduled {
        target: backup_target(database, urls)?,
        dir: dir.clone(),
        blob_dir: blob_dir.to_path_buf(),
        master_key,
        passphrase,
        bindir: steward::embedded::find_bindir(urls.pg_bindir.as_deref())?,
        keep_days: args.backup_keep_days,
    }))
}

/// `steward backups DIR`: the catalogue.
fn backups(dir: &std::path::Path) -> Result<(), Error> {
    let found = steward::backup::catalogue(dir)?;
    if found.is_empty() {
        println!("No backups in {}.", dir.display());
    }
    for (path, m) in found {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!(
            "{}  {:<9}  {}  {}  ({}; {} contents held)",
            m.made_at.format("%Y-%m-%d %H:%M:%SZ"),
            app::documents::human_size(size as i64),
            path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            m.kind(),
            m.counts,
            m.held.len()
        );
    }
    Ok(())
}

/// `steward base-backup`: one now, then the catalogue.
async fn base_backup(database: &Database, urls: &steward::cli::DatabaseArgs) -> Result<(), Error> {
    let (Some(cluster), Some(folder)) = (&database.cluster, &database.pitr) else {
        return Err("base backups are for Steward's own cluster with STEWARD_PITR_DIR set (--pitr-dir)".into());
    };
    let bindir = steward::embedded::find_bindir(urls.pg_bindir.as_deref())?;
    let plan = steward::pitr::Plan::new(folder.clone(), bindir, cluster, None);
    let (said, failing) = steward::pitr::base_backup(&plan).await?;
    println!("Made the {said}.");
    for base in steward::pitr::catalogue(folder)? {
        println!(
            "{}  {:<9}  from {} on",
            base.name,
            app::documents::human_size(base.bytes as i64),
            base.finished_at.format("%Y-%m-%d %H:%M:%SZ")
        );
    }
    if failing {
        return Err("WAL archiving fails: see the cluster's log".into());
    }
    Ok(())
}

/// `steward restore --to TIME`: the embedded cluster, stopped, as it was then.
async fn restore_to(urls: &steward::cli::DatabaseArgs, target: steward::pitr::RestoreTarget) -> Result<(), Error> {
    if urls.database_url.is_some() {
        return Err("restore --to is for Steward's own cluster: with DATABASE_URL, point-in-time recovery is the database server's".into());
    }
    let folder = steward::pitr::folder_for(&urls.data_dir, urls.pitr_dir.as_deref())?
        .ok_or("there is no point-in-time folder: set STEWARD_PITR_DIR (--pitr-dir) to the one Steward archived into")?;
    let cluster_dir = steward::cluster_dir(&urls.data_dir)?;
    let plan = steward::pitr::RestorePlan { cluster_dir: &cluster_dir, folder: &folder, bindir: urls.pg_bindir.as_deref(), target };
    let started = std::time::Instant::now();
    let restored = steward::pitr::restore_to(&plan).await?;
    println!("Restored in {:.1} s: {restored}.", started.elapsed().as_secs_f64());
    Ok(())
}

/// `steward restore FILE`.
async fn restore(database: &Database, urls: &steward::cli::DatabaseArgs, args: steward::cli::RestoreArgs) -> Result<(), Error> {
    let file = args.file.ok_or("name the backup to restore, or a time with --to")?;
    let target = backup_target(database, urls)?;
    let passphrase = std::env::var(steward::backup::PASSPHRASE_VAR).ok().filter(|p| !p.is_empty());
    let blob_dir = urls.blob_dir(args.blob_dir.as_deref());
    let bindir = steward::embedded::find_bindir(urls.pg_bindir.as_deref())?;
    let key_file = steward::ops::keys::key_file(&urls.data_dir);
    let plan = steward::backup::RestorePlan {
        blob_dir: &blob_dir,
        passphrase: passphrase.as_deref(),
        bindir: &bindir,
        key_file: &key_file,
        key_given: args.master_key.as_deref(),
    };
    let started = std::time::Instant::now();
    let restored = steward::backup::restore(&target, &database.targets.owner, &plan, &file).await?;
    println!("Restored {} in {:.1} s: {restored}.", file.display(), started.elapsed().as_secs_f64());
    Ok(())
}

/// `steward jobs`: the scheduled upkeep, one job a line.
async fn jobs(database: &Database) -> Result<(), Error> {
    use sqlx::{ConnectOptions, Connection};
    let mut conn = database.targets.owner.connect().await?;
    let jobs = app::system::ssr::jobs(&mut conn).await?;
    for j in jobs {
        let last = if j.last_started_at.is_empty() { "never run".to_string() } else { format!("last {} ({} ms)", j.last_started_at, j.last_duration_ms.unwrap_or(0)) };
        println!("{:<12} every {:<9} {:<7} {last}  {}", j.job, j.every, if j.outcome.is_empty() { "-" } else { &j.outcome }, j.message);
    }
    conn.close().await?;
    Ok(())
}

/// The machine's name, for the scheduler's claims (which server runs a job).
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "steward".into())
}

/// The document store in its folder (--blob-dir, or <data-dir>/blobs).
fn blob_store(dir: &std::path::Path) -> Result<app::documents::blobs::FsBlobStore, Error> {
    app::documents::blobs::FsBlobStore::new(dir)
        .map_err(|e| format!("cannot use {} for document storage: {e}. Choose another folder with --blob-dir or STEWARD_BLOB_DIR.", dir.display()).into())
}

/// `steward mail list` and `steward mail show`.
async fn mail(database: &Database, command: steward::cli::MailCommand) -> Result<(), Error> {
    use steward::cli::MailCommand;
    let pool = db::app_pool(&database.targets.app, 2).await?;
    let system = app::authz::ssr::System::new(&pool);
    let result = match command {
        MailCommand::List(args) => {
            let query = app::mail::MailQuery {
                status: args.status.unwrap_or_default(),
                to: args.to.unwrap_or_default(),
                tenant: args.tenant.unwrap_or_default(),
                after: String::new(),
            };
            app::mail::ssr::recent(&system, &query, args.limit as usize).await.map(|list| {
                if list.rows.is_empty() {
                    println!("No messages.");
                }
                for m in &list.rows {
                    println!("{}  {:<6}  {:<12}  {:<32}  {}  {}", m.queued_at, m.status, m.tenant, m.to_address, m.subject, m.id);
                }
            })
        }
        MailCommand::Show(args) => app::mail::ssr::one(&system, args.id).await.map(|found| match found {
            Some((m, _html)) => {
                println!("Id:       {}\nQueued:   {} UTC\nTo:       {} <{}>\nSubject:  {}\nKind:     {}\nStatus:   {}{}", m.id, m.queued_at, m.to_name, m.to_address, m.subject, m.kind, m.status,
                    match m.status.as_str() {
                        "sent" => format!(" ({} UTC, by {})", m.sent_at, m.via),
                        _ if !m.last_error.is_empty() => format!(" after {} attempt(s): {}", m.attempts, m.last_error),
                        _ => String::new(),
                    });
                println!("\n{}", m.body_text);
            }
            None => println!("No message has the id {}.", args.id),
        }),
    };
    pool.close().await;
    result.map_err(|e| match e {
        // Said of the option, as the screen says it beside the field.
        app::error::AppError::Validation(problems) => {
            problems.iter().map(|p| format!("--{}: {}", p.field, p.message)).collect::<Vec<_>>().join(" ").into()
        }
        e => e.to_string().into(),
    })
}

async fn create_admin(database: &Database, args: steward::cli::CreateAdminArgs) -> Result<(), Error> {
    let (password, generated) = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        (line.trim_end_matches(['\r', '\n']).to_string(), false)
    } else {
        use rand::distributions::{Alphanumeric, DistString};
        (Alphanumeric.sample_string(&mut rand::thread_rng(), 20), true)
    };
    if password.chars().count() < 12 {
        return Err("the password must have at least 12 characters.".into());
    }
    let pool = db::app_pool(&database.targets.app, 2).await?;
    let created = demo::create_admin(&pool, &args.email, &args.name, &password).await;
    pool.close().await;
    created.map_err(|e| match e.field("email") {
        Some(message) => message,
        None => e.to_string(),
    })?;
    println!("Created platform administrator {} in organisation 'platform'.", args.email.trim());
    if generated {
        println!("Their password (shown once): {password}");
    }
    Ok(())
}

async fn verify_audit(database: &Database, args: steward::cli::VerifyAuditArgs) -> Result<(), Error> {
    let reports = db::verify_audit(&database.targets.owner, args.tenant.as_deref()).await?;
    if reports.is_empty() {
        return Err(match args.tenant {
            Some(t) => format!("there is no tenant '{t}'.").into(),
            None => "there are no tenants yet.".into(),
        });
    }
    let mut broken = 0;
    for report in &reports {
        match &report.broken {
            None => println!("{}: {} events, chain intact", report.tenant, report.checked),
            Some(app::audit::ChainBreak { id: Some(id), seq, at: Some(at), reason }) => {
                broken += 1;
                println!("{}: event {id} (number {seq}, {at}) does not match: {reason}. {} events before it are intact.", report.tenant, report.checked);
            }
            Some(app::audit::ChainBreak { seq, reason, .. }) => {
                broken += 1;
                println!("{}: after event number {seq}: {reason}. {} events are intact.", report.tenant, report.checked);
            }
        }
    }
    if broken > 0 {
        return Err(format!("{broken} audit chain(s) broken.").into());
    }
    Ok(())
}

async fn audit_retention(database: &Database, args: steward::cli::AuditRetentionArgs) -> Result<(), Error> {
    let cut = args.older_than.before(chrono::Utc::now()).ok_or("that period reaches before the calendar begins.")?;
    let label = args.older_than.label();
    let dropped = db::audit_retention(&database.targets.owner, cut, &label, args.dry_run).await?;
    let verb = if args.dry_run { "would drop" } else { "dropped" };
    if dropped.is_empty() {
        println!("No month of the audit log ended before {}: nothing to drop.", cut.format("%Y-%m-%d"));
    } else {
        println!(
            "{verb} {} month(s) of audit events older than {label} (before {}): {}",
            dropped.len(),
            cut.format("%Y-%m-%d"),
            dropped.join(", ")
        );
    }
    Ok(())
}

async fn gen_data(database: &Database, args: steward::cli::GenDataArgs, urls: &steward::cli::DatabaseArgs) -> Result<(), Error> {
    use std::io::Write;
    let plan = steward::gen_data::Plan {
        tenants: args.tenants,
        users_per_tenant: args.users_per_tenant,
        audit_events: args.audit_events,
        documents: args.documents,
        password: args.password,
        blob_dir: urls.blob_dir(args.blob_dir.as_deref()),
        seed: args.seed,
    };
    let started = std::time::Instant::now();
    let mut progress = |what: &str, done: u64, of: u64| {
        let elapsed = started.elapsed().as_secs_f64();
        let left = if done > 0 { elapsed / done as f64 * (of - done) as f64 } else { 0.0 };
        let width = 30;
        let filled = (done * width / of.max(1)) as usize;
        eprint!(
            "\r[{}{}] {what} {done}/{of}  {elapsed:.0} s, about {left:.0} s left   ",
            "#".repeat(filled),
            " ".repeat(width as usize - filled)
        );
        let _ = std::io::stderr().flush();
    };
    let report = steward::gen_data::run(&database.targets.owner, &plan, &mut progress).await?;
    eprintln!();
    println!(
        "Generated {} tenants ({} … {}), {} users, {} audit events and {} documents in {:.1} s. Each tenant's owner is owner@<tenant>.test (e.g. owner@{}.test), with --password.",
        report.tenants.len(),
        report.tenants.first().map(String::as_str).unwrap_or("-"),
        report.tenants.last().map(String::as_str).unwrap_or("-"),
        report.users,
        report.events,
        report.documents,
        report.seconds,
        report.tenants.first().map(String::as_str).unwrap_or("-"),
    );
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
