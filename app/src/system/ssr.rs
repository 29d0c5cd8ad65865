//! The area's server side: what the screen shows, read through the spine
//! in the platform scope.

use super::*;
use crate::authz::{ssr::require_platform, Perm};
use crate::documents::human_size;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// The whole screen. Platform administrators only.
pub async fn status() -> Result<SystemReport, AppError> {
    let mut actor = require_platform(Perm::SystemAdmin).await?;
    let conn = actor.conn();
    let jobs = jobs(conn).await?;
    let mut database = database(conn).await?;
    let mail = mail(conn).await?;
    database.replica_lag = crate::ssr::replica_lag().await?.map(|seconds| format!("{seconds:.1} s"));
    let pools = crate::ssr::pool_facts()?
        .into_iter()
        .map(|(name, open, idle, max)| PoolFacts { name: name.into(), open, idle, max })
        .collect();
    Ok(SystemReport { jobs, database, server_pools: pools, mail })
}

/// The jobs, in the order they run. The screen reads them in the
/// platform's scope; `steward jobs` on the schema owner's connection (the
/// server's operator, before any platform tenant exists too).
pub async fn jobs(conn: &mut PgConnection) -> Result<Vec<JobRow>, AppError> {
    let rows = sqlx::query!(
        r#"SELECT job, title, every_seconds, running_since AS "running_since: DateTime<Utc>", running_on,
                  last_started_at AS "last_started_at: DateTime<Utc>", last_duration_ms,
                  last_outcome, last_message, runs, failures
             FROM scheduled_jobs ORDER BY position"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| JobRow {
            job: r.job,
            title: r.title,
            every: every(r.every_seconds),
            running: r.running_since.map(|since| (crate::text::when(since), r.running_on.unwrap_or_default())),
            last_started_at: r.last_started_at.map(crate::text::when).unwrap_or_default(),
            last_duration_ms: r.last_duration_ms,
            outcome: r.last_outcome.unwrap_or_default(),
            message: r.last_message,
            runs: r.runs,
            failures: r.failures,
        })
        .collect())
}

async fn database(conn: &mut PgConnection) -> Result<DatabaseFacts, AppError> {
    let facts = sqlx::query!(
        r#"SELECT current_setting('server_version') AS "version!",
                  pg_database_size(current_database()) AS "size!",
                  current_setting('max_connections')::int8 AS "max_connections!",
                  (SELECT count(*) FROM pg_stat_activity a
                    WHERE a.datname = current_database() AND a.wait_event_type = 'Lock') AS "waiting!""#
    )
    .fetch_one(&mut *conn)
    .await?;
    // A partitioned table's size is its partitions' (the parent holds none).
    let tables = sqlx::query!(
        r#"SELECT c.relname::text AS "name!",
                  (pg_total_relation_size(c.oid)
                   + coalesce((SELECT sum(pg_total_relation_size(i.inhrelid)) FROM pg_inherits i WHERE i.inhparent = c.oid), 0))::int8 AS "bytes!"
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = 'public'
            ORDER BY 2 DESC, 1 LIMIT 10"#
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|t| (t.name, human_size(t.bytes)))
    .collect();
    // Other roles' sessions show no state to the application's role.
    let connections = sqlx::query!(
        r#"SELECT coalesce(a.state, 'another role''s') AS "state!", count(*) AS "n!"
             FROM pg_stat_activity a WHERE a.datname = current_database()
            GROUP BY 1 ORDER BY 2 DESC, 1"#
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|c| (c.state, c.n))
    .collect();
    let statements = statements(&mut *conn).await?;
    Ok(DatabaseFacts {
        statements,
        version: facts.version,
        size: human_size(facts.size),
        tables,
        connections,
        waiting: facts.waiting,
        max_connections: facts.max_connections,
        replica_lag: None,
    })
}

/// The ten statements of this database with the most time in all, when
/// the extension is there and its schema readable. The server may still not
/// load it (the application's role cannot read `shared_preload_libraries`
/// to know): the read runs under a savepoint, and a refusal means "off"
/// instead of ending the screen's transaction.
async fn statements(conn: &mut PgConnection) -> Result<Option<Vec<StatementFacts>>, AppError> {
    use sqlx::Executor;
    let schema: Option<String> = sqlx::query_scalar!(
        r#"SELECT quote_ident(n.nspname) AS "schema!" FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
            WHERE e.extname = 'pg_stat_statements' AND has_schema_privilege(n.oid, 'USAGE')"#
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(schema) = schema else { return Ok(None) };
    conn.execute("SAVEPOINT statement_statistics").await?;
    // The view's schema is known only now: not a checked query.
    type Row = (String, i64, f64, f64, i64);
    let read: Result<Vec<Row>, sqlx::Error> = sqlx::query_as(&format!(
        "SELECT left(regexp_replace(coalesce(s.query, ''), '\\s+', ' ', 'g'), 300), s.calls, s.mean_exec_time, s.total_exec_time, s.rows
           FROM {schema}.pg_stat_statements s
          WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          ORDER BY s.total_exec_time DESC LIMIT 10"
    ))
    .fetch_all(&mut *conn)
    .await;
    let Ok(rows) = read else {
        conn.execute("ROLLBACK TO SAVEPOINT statement_statistics").await?;
        return Ok(None);
    };
    conn.execute("RELEASE SAVEPOINT statement_statistics").await?;
    Ok(Some(
        rows.into_iter()
            .map(|(query, calls, mean_ms, total_ms, rows)| StatementFacts { query, calls, mean_ms, total_ms, rows })
            .collect(),
    ))
}

async fn mail(conn: &mut PgConnection) -> Result<MailFacts, AppError> {
    let m = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE status = 'queued') AS "queued!",
                  count(*) FILTER (WHERE status = 'queued' AND attempts > 0) AS "retrying!",
                  count(*) FILTER (WHERE status = 'failed') AS "failed!",
                  count(*) FILTER (WHERE status = 'sent' AND sent_at > now() - interval '1 day') AS "sent!",
                  min(created_at) FILTER (WHERE status = 'queued') AS "oldest: DateTime<Utc>"
             FROM mail_outbox"#
    )
    .fetch_one(conn)
    .await?;
    Ok(MailFacts {
        queued: m.queued,
        retrying: m.retrying,
        failed: m.failed,
        sent_last_day: m.sent,
        oldest_queued: m.oldest.map(crate::text::when).unwrap_or_default(),
    })
}
