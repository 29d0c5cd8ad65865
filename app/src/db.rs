//! The database primitives every area builds on: scoping a transaction to
//! a tenant for row-level security, keyset cursors, LIKE patterns, and the
//! rules the work queues share (`queue`). Part of
//! the spine: it imports no area (checked by `architecture::the_spine_names_no_area`).

use crate::ids::TenantId;
use crate::error::AppError;
use sqlx::PgConnection;
use uuid::Uuid;

/// Scopes the transaction to a tenant for row-level security.
pub async fn scope_to_tenant(tx: &mut PgConnection, tenant_id: TenantId) -> Result<(), AppError> {
    sqlx::query!("SELECT set_config('steward.tenant_id', $1, true) AS \"set!\"", tenant_id.to_string())
        .fetch_one(&mut *tx)
        .await?;
    Ok(())
}

/// The platform tenant's id (found through its kind, which every caller
/// may name, whatever the transaction's scope).
pub async fn platform_tenant_id(tx: &mut PgConnection) -> Result<Option<TenantId>, AppError> {
    Ok(sqlx::query_scalar!("SELECT tenant_id AS \"id!: TenantId\" FROM steward_platform_tenant()")
        .fetch_optional(&mut *tx)
        .await?)
}

/// A cursor is the last row's sort value and id: `value|uuid`.
pub fn parse_cursor(after: &str) -> Option<(String, Uuid)> {
    let (value, id) = after.rsplit_once('|')?;
    Some((value.to_string(), id.parse().ok()?))
}

pub fn like_pattern(q: &str) -> String {
    format!("%{}%", q.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// Lists ordered newest first page by a cursor `micros|id`: the last row's
/// time in microseconds and its id.
pub mod keyset {
    use crate::error::AppError;
    use chrono::{DateTime, NaiveDate, Utc};
    use sqlx::QueryBuilder;
    use uuid::Uuid;

    pub fn cursor(at: DateTime<Utc>, id: Uuid) -> String {
        format!("{}|{id}", at.timestamp_micros())
    }

    /// Adds ` AND (time, id) < cursor` for a non-empty `after`.
    pub fn push_after(b: &mut QueryBuilder<'_, sqlx::Postgres>, time: &str, id: &str, after: &str) -> Result<(), AppError> {
        if after.is_empty() {
            return Ok(());
        }
        let broken = || AppError::invalid("after", "That page link is broken: start from the first page.");
        let (micros, row) = super::parse_cursor(after).ok_or_else(broken)?;
        let at = micros.parse::<i64>().ok().and_then(DateTime::<Utc>::from_timestamp_micros).ok_or_else(broken)?;
        b.push(format!(" AND ({time}, {id}) < (")).push_bind(at).push(", ").push_bind(row).push(")");
        Ok(())
    }

    fn day(field: &str, text: &str) -> Result<Option<NaiveDate>, AppError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d").map(Some).map_err(|_| AppError::invalid(field, "Give a date as YYYY-MM-DD."))
    }

    /// Adds the UTC days `from` to `to` (both inclusive, `YYYY-MM-DD`, either
    /// may be empty) as a range on `column`, or refuses them beside the field.
    pub fn push_days(b: &mut QueryBuilder<'_, sqlx::Postgres>, column: &str, from: &str, to: &str) -> Result<(), AppError> {
        let (from, to) = (day("from", from)?, day("to", to)?);
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                return Err(AppError::invalid("to", "The end date is before the start date."));
            }
        }
        if let Some(from) = from {
            b.push(format!(" AND {column} >= (")).push_bind(from).push("::date)::timestamp AT TIME ZONE 'UTC'");
        }
        if let Some(to) = to {
            b.push(format!(" AND {column} < (")).push_bind(to).push("::date + 1)::timestamp AT TIME ZONE 'UTC'");
        }
        Ok(())
    }
}

/// The rules the server's work queues share (the mail outbox, webhook
/// deliveries): a worker claims due rows with a lease and a claim id,
/// retries after a pause that doubles, hands back what it did not try,
/// and deletes what is done after a while. Each queue's own claiming and
/// settling is its area's; what is the same is here.
#[cfg(feature = "ssr")]
pub mod queue {
    use crate::error::AppError;
    use crate::ids::TenantId;
    use sqlx::PgConnection;
    use std::time::Duration;
    use uuid::Uuid;

    /// The pause before each retry: `first`, doubling, at most `longest`;
    /// after `attempts` attempts the row is given up.
    #[derive(Clone, Copy, Debug)]
    pub struct Backoff {
        pub first: Duration,
        pub longest: Duration,
        pub attempts: i32,
    }

    impl Default for Backoff {
        /// 30 s, 1 min, 2 min … 1 h: ten attempts over about three hours.
        fn default() -> Backoff {
            Backoff { first: Duration::from_secs(30), longest: Duration::from_secs(3600), attempts: 10 }
        }
    }

    impl Backoff {
        /// The pause after attempt `n` (from 1) failed.
        pub fn after(&self, n: i32) -> Duration {
            let doubling = 2u32.saturating_pow(n.saturating_sub(1).clamp(0, 30) as u32);
            self.first.saturating_mul(doubling).min(self.longest)
        }
    }

    /// A queue's table: a constant of the code, never input.
    #[derive(Clone, Copy, Debug)]
    pub struct Table(pub &'static str);

    /// Hands back claims not tried: due again at once, the claim not
    /// counted; only rows still `queued` under the same claim (not one a
    /// later worker took after the lease ended). `claimed` holds each row's
    /// tenant, id and claim.
    pub async fn release(conn: &mut PgConnection, table: Table, claimed: &[(TenantId, Uuid, Uuid)]) -> Result<(), AppError> {
        let tenants: Vec<Uuid> = claimed.iter().map(|c| c.0 .0).collect();
        let ids: Vec<Uuid> = claimed.iter().map(|c| c.1).collect();
        let claims: Vec<Uuid> = claimed.iter().map(|c| c.2).collect();
        sqlx::query(&format!(
            "UPDATE {t} q SET leased_until = NULL, attempts = q.attempts - 1
               FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS c(tenant_id, id, claim)
              WHERE q.tenant_id = c.tenant_id AND q.id = c.id AND q.status = 'queued' AND q.claim = c.claim",
            t = table.0
        ))
        .bind(&tenants)
        .bind(&ids)
        .bind(&claims)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Deletes the rows that are not due (any status but `queued`) queued
    /// more than `keep_days` ago; returns how many.
    pub async fn prune(conn: &mut PgConnection, table: Table, keep_days: u32) -> Result<u64, AppError> {
        let days = i32::try_from(keep_days).unwrap_or(i32::MAX);
        let done = sqlx::query(&format!("DELETE FROM {t} WHERE status <> 'queued' AND created_at < now() - make_interval(days => $1)", t = table.0))
            .bind(days)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        Ok(done)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_pause_doubles_up_to_its_longest() {
            let b = Backoff::default();
            assert_eq!(b.after(1), Duration::from_secs(30));
            assert_eq!(b.after(2), Duration::from_secs(60));
            assert_eq!(b.after(4), Duration::from_secs(240));
            assert_eq!(b.after(8), Duration::from_secs(3600));
            assert_eq!(b.after(40), Duration::from_secs(3600));
        }
    }
}
