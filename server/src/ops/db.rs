//! Connecting to PostgreSQL: the embedded cluster's roles and database, the
//! migration connection (the schema owner) and the application pool (the
//! steward_app role, which owns nothing and cannot bypass row-level
//! security).

use crate::embedded::{Cluster, SUPERUSER};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor};
use std::str::FromStr;
use std::time::Duration;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// The role that owns the schema and applies migrations.
pub const OWNER_ROLE: &str = "steward_owner";
/// The role every request runs as.
pub const APP_ROLE: &str = "steward_app";
/// The embedded cluster's database.
pub const DATABASE: &str = "steward";

/// Where to connect: the migration (owner) and application connections.
#[derive(Clone, Debug)]
pub struct Targets {
    pub owner: PgConnectOptions,
    pub app: PgConnectOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    BadUrl(String),
    #[error("cannot connect to PostgreSQL ({target}): {source}")]
    Connect { target: String, source: sqlx::Error },
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("the role in DATABASE_URL cannot act as {APP_ROLE}: {0}. Connect as {APP_ROLE}, or GRANT {APP_ROLE} TO that role.")]
    AppRole(sqlx::Error),
}

impl Targets {
    /// Targets for an external server: DATABASE_URL for the application,
    /// DATABASE_MIGRATION_URL (or DATABASE_URL) for migrations.
    pub fn from_urls(app: &str, migration: Option<&str>) -> Result<Self, DbError> {
        let parse = |url: &str| {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(DbError::BadUrl("it must start with postgres:// or postgresql://".into()));
            }
            PgConnectOptions::from_str(url).map_err(|e| DbError::BadUrl(e.to_string()))
        };
        Ok(Targets { app: parse(app)?, owner: parse(migration.unwrap_or(app))? })
    }

    /// Creates the owner and application roles and the database in a fresh
    /// embedded cluster (idempotent), and returns the targets for them.
    pub async fn bootstrap_embedded(cluster: &Cluster, database: &str) -> Result<Self, DbError> {
        let admin = cluster.connect_options(SUPERUSER, "postgres");
        let mut conn = admin.connect().await.map_err(|source| DbError::Connect { target: "embedded cluster".into(), source })?;
        ensure_roles(&mut conn).await?;
        let exists: bool = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1) AS "exists!""#, database)
            .fetch_one(&mut conn)
            .await?;
        if !exists {
            conn.execute(format!(r#"CREATE DATABASE "{database}" OWNER {OWNER_ROLE}"#).as_str()).await?;
        }
        conn.close().await?;
        let mut conn = cluster
            .connect_options(SUPERUSER, database)
            .connect()
            .await
            .map_err(|source| DbError::Connect { target: "embedded cluster".into(), source })?;
        ensure_statement_statistics(&mut conn).await?;
        conn.close().await?;
        Ok(Targets {
            owner: cluster.connect_options(OWNER_ROLE, database),
            app: cluster.connect_options(APP_ROLE, database),
        })
    }
}

/// The schema of `pg_stat_statements`, kept apart from Steward's own
/// (and left out of a restore: the statistics are the server's).
pub const STATS_SCHEMA: &str = "steward_stats";

/// Creates `pg_stat_statements` in its own schema, readable by the
/// application role (the System screen's slowest statements), when the
/// server loads it. Run as a superuser (the embedded cluster's); on an
/// external server its operator does the same, or the screen says how.
pub async fn ensure_statement_statistics(conn: &mut sqlx::PgConnection) -> Result<(), DbError> {
    let loaded: bool =
        sqlx::query_scalar(r#"SELECT current_setting('shared_preload_libraries') ~ '(^|[ ,])pg_stat_statements([ ,]|$)'"#)
            .fetch_one(&mut *conn)
            .await?;
    if loaded {
        conn.execute(
            format!(
                "CREATE SCHEMA IF NOT EXISTS {STATS_SCHEMA};
                 CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA {STATS_SCHEMA};
                 GRANT USAGE ON SCHEMA {STATS_SCHEMA} TO {APP_ROLE};"
            )
            .as_str(),
        )
        .await?;
    }
    Ok(())
}

/// The owner role applies migrations; the application role logs in, owns
/// nothing, and is subject to row-level security.
pub async fn ensure_roles(conn: &mut sqlx::PgConnection) -> Result<(), DbError> {
    conn.execute(
        format!(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{OWNER_ROLE}') THEN
                 CREATE ROLE {OWNER_ROLE} LOGIN NOSUPERUSER NOCREATEROLE;
               END IF;
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                 CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
               END IF;
             END $$"
        )
        .as_str(),
    )
    .await?;
    Ok(())
}

/// A connection as the schema owner.
async fn owner_connection(owner: &PgConnectOptions) -> Result<sqlx::PgConnection, DbError> {
    owner
        .clone()
        .log_statements(tracing::log::LevelFilter::Debug)
        .connect()
        .await
        .map_err(|source| DbError::Connect { target: "migration role".into(), source })
}

/// Applies every pending migration as the schema owner, then makes sure the
/// audit log has its monthly partitions a year ahead (idempotent, so every
/// start keeps them ahead).
pub async fn migrate(owner: &PgConnectOptions) -> Result<(), DbError> {
    let mut conn = owner_connection(owner).await?;
    MIGRATOR.run(&mut conn).await?;
    sqlx::query_scalar!("SELECT steward_audit_ensure_partitions(12)").fetch_one(&mut conn).await?;
    sqlx::query_scalar!("SELECT steward_access_log_ensure_partitions(7)").fetch_one(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// How long a statement of the application waits for a lock another
/// transaction holds before it gives up (the request answers 503, try
/// again). Steward's own transactions hold locks for milliseconds; a wait
/// this long means something is stuck, and a page must not hang on it.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an application transaction may sit idle before PostgreSQL ends
/// its connection, releasing what it locked (a tenant's audit chain head, a
/// row being edited). No request leaves a transaction idle for more than a
/// moment; this bounds the damage of one that is lost.
pub const IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

/// The application pool. Each connection acts as steward_app, whatever role
/// DATABASE_URL names, so row-level security always applies.
pub async fn app_pool(app: &PgConnectOptions, max_connections: u32) -> Result<PgPool, DbError> {
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(1)
        // With the database gone, a request gets its 503 within this.
        .acquire_timeout(Duration::from_millis(1500))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(
                    format!(
                        "SET ROLE {APP_ROLE}; SET lock_timeout = '{}s'; SET idle_in_transaction_session_timeout = '{}s'",
                        LOCK_TIMEOUT.as_secs(),
                        IDLE_IN_TRANSACTION_TIMEOUT.as_secs()
                    )
                    .as_str(),
                )
                .await?;
                Ok(())
            })
        })
        .connect_with(app.clone().log_statements(tracing::log::LevelFilter::Trace))
        .await
        .map_err(|error| match &error {
            sqlx::Error::Database(db) if db.message().contains("permission denied to set role") => DbError::AppRole(error),
            _ => DbError::Connect { target: "application role".into(), source: error },
        })?;
    Ok(pool)
}

/// Whether the database holds any tenant yet (an empty one gets the demo on
/// first run). Runs as the owner, which sees every row of `tenants` (its
/// row-level security is not forced); users are only visible per tenant.
pub async fn is_empty(owner: &PgConnectOptions) -> Result<bool, DbError> {
    let mut conn = owner_connection(owner).await?;
    let any: bool = sqlx::query_scalar!(r#"SELECT NOT EXISTS (SELECT FROM tenants) AS "empty!""#).fetch_one(&mut conn).await?;
    conn.close().await?;
    Ok(any)
}

/// One tenant's audit chain check.
#[derive(Debug, Clone)]
pub struct ChainReport {
    pub tenant: String,
    pub checked: i64,
    pub broken: Option<app::audit::ChainBreak>,
}

/// Walks every tenant's audit chain (or one tenant's), as the owner.
pub async fn verify_audit(owner: &PgConnectOptions, only: Option<&str>) -> Result<Vec<ChainReport>, DbError> {
    let mut conn = owner_connection(owner).await?;
    let tenants: Vec<(uuid::Uuid, String)> = sqlx::query!("SELECT id, slug FROM tenants WHERE $1::text IS NULL OR slug = $1 ORDER BY slug", only)
        .map(|r| (r.id, r.slug))
        .fetch_all(&mut conn)
        .await?;
    let mut reports = Vec::new();
    for (id, slug) in tenants {
        let mut tx = conn.begin().await?;
        sqlx::query!("SELECT set_config('steward.tenant_id', $1, true)", id.to_string()).fetch_one(&mut *tx).await?;
        // Every event, as the daily job and `verify-audit` promise; a whole
        // chain moves the tenant's checkpoint (migration 0035).
        let walk = app::audit::ssr::check_chain(&mut tx, app::ids::TenantId(id), true).await?;
        tx.commit().await?;
        reports.push(ChainReport { tenant: slug, checked: walk.checked, broken: walk.broken });
    }
    conn.close().await?;
    Ok(reports)
}

/// Drops the audit log's monthly partitions that ended on or before `cut`
/// and records it: a row in `audit_retention_cuts` and an `audit.retention`
/// event in the platform tenant's chain, all in one transaction (rolled
/// back when `dry_run`). Returns the partitions dropped.
pub async fn audit_retention(
    owner: &PgConnectOptions,
    cut: chrono::DateTime<chrono::Utc>,
    older_than: &str,
    dry_run: bool,
) -> Result<Vec<String>, DbError> {
    let mut conn = owner_connection(owner).await?;
    let mut tx = conn.begin().await?;
    let dropped: Vec<String> = sqlx::query_scalar("SELECT unnest(steward_audit_drop_before($1))")
        .bind(cut)
        .fetch_all(&mut *tx)
        .await?;
    let platform: Option<uuid::Uuid> = sqlx::query_scalar!("SELECT id FROM tenants WHERE kind = 'platform' AND deleted_at IS NULL")
        .fetch_optional(&mut *tx)
        .await?;
    if let (false, Some(platform)) = (dropped.is_empty(), platform) {
        sqlx::query!("SELECT set_config('steward.tenant_id', $1, true)", platform.to_string()).fetch_one(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO audit_events (tenant_id, action, entity_type, entity_id, changes)
             VALUES ($1, 'audit.retention', 'audit_log', 'retention', jsonb_build_object('after', jsonb_build_object(
                 'older_than', $2::text, 'dropped_before', $3::timestamptz, 'partitions', $4::text[])))",
        )
        .bind(platform)
        .bind(older_than)
        .bind(cut)
        .bind(&dropped)
        .execute(&mut *tx)
        .await?;
    }
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    conn.close().await?;
    Ok(dropped)
}
