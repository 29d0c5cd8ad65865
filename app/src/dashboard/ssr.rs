//! The area's server side: what its server functions and handlers call,
//! each authorising first through the spine.

use super::{Figures, DAYS};
use crate::authz::ssr::require_view;
use crate::authz::Perm;
use crate::error::AppError;
use chrono::{Days, NaiveDate, Utc};

const COUNT_DAYS: &str = "SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, count(*)
                            FROM audit_events
                           WHERE tenant_id = $1 AND occurred_at >= ($2::date)::timestamp AT TIME ZONE 'UTC'
                             AND occurred_at < ($3::date)::timestamp AT TIME ZONE 'UTC'
                           GROUP BY 1";

pub async fn load() -> Result<Figures, AppError> {
    let mut actor = require_view(crate::authz::View::Overview).await?;
    let tenant_id = actor.tenant_id();
    let can = |p: Perm| actor.me().can(p.key());
    let (read_users, read_documents, read_audit) = (can(Perm::UserRead), can(Perm::DocumentRead), can(Perm::AuditRead));
    let mut board = Figures { users: None, documents: None, events_today: None, activity: None };
    if read_users {
        let mut rows = crate::users::ssr::kept_counts(actor.conn(), tenant_id).await?;
        let order = ["active", "pending", "suspended", "inactive", "deleted"];
        rows.sort_by_key(|(s, _)| order.iter().position(|o| o == s).unwrap_or(order.len()));
        board.users = Some(rows);
    }
    if read_documents {
        board.documents = Some(
            sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM documents WHERE tenant_id = $1 AND deleted_at IS NULL"#, tenant_id.0)
                .fetch_one(actor.conn())
                .await?,
        );
    }
    if read_audit {
        let today = Utc::now().date_naive();
        let first = today.checked_sub_days(Days::new(DAYS as u64 - 1)).unwrap_or(today);
        let tomorrow = today.checked_add_days(Days::new(1)).unwrap_or(today);
        let cache = crate::ssr::app_state()?.activity;
        let mut counts = match cache.get(tenant_id, today) {
            Some(past) => past,
            None => {
                let past: Vec<(NaiveDate, i64)> =
                    sqlx::query_as(COUNT_DAYS).bind(tenant_id).bind(first).bind(today).fetch_all(actor.conn()).await?;
                cache.put(tenant_id, today, past.clone());
                past
            }
        };
        let now: Vec<(NaiveDate, i64)> = sqlx::query_as(COUNT_DAYS).bind(tenant_id).bind(today).bind(tomorrow).fetch_all(actor.conn()).await?;
        counts.extend(now);
        let activity: Vec<(String, i64)> = first
            .iter_days()
            .take(DAYS)
            .map(|d| (d.format("%Y-%m-%d").to_string(), counts.iter().find(|(c, _)| *c == d).map_or(0, |(_, n)| *n)))
            .collect();
        board.events_today = activity.last().map(|(_, n)| *n);
        board.activity = Some(activity);
    }
    actor.commit().await?;
    Ok(board)
}
