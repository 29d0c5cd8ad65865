//! The database primitives every area builds on: scoping a transaction to
//! a tenant for row-level security, keyset cursors, LIKE patterns. Part of
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
