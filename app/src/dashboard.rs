//! The overview's figures: people by status, documents, today's events and
//! thirty days of activity, each shown to those who may read it. The
//! activity chart is plain SVG, drawn on the server.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Days in the activity chart.
pub const DAYS: usize = 30;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// (status, count), when the user may read users.
    pub users: Option<Vec<(String, i64)>>,
    /// Live documents, when the user may read documents.
    pub documents: Option<i64>,
    /// Events since midnight UTC, and events per day for the last
    /// [`DAYS`] days (oldest first), when the user may read the audit log.
    pub events_today: Option<i64>,
    pub activity: Option<Vec<(String, i64)>>,
}

/// The figures of the signed-in user's tenant. Needs the overview view.
#[server(endpoint = "dashboard")]
pub async fn dashboard() -> Result<Figures, AppError> {
    crate::ssr::respond(ssr::load().await)
}

#[cfg(feature = "ssr")]
pub mod ssr {
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
        let mut actor = require_view("overview").await?;
        let tenant_id = actor.tenant_id();
        let can = |p: Perm| actor.me.can(p.key());
        let (read_users, read_documents, read_audit) = (can(Perm::UserRead), can(Perm::DocumentRead), can(Perm::AuditRead));
        let mut board = Figures { users: None, documents: None, events_today: None, activity: None };
        if read_users {
            let rows: Vec<(String, i64)> = sqlx::query_as(
                "SELECT CASE WHEN deleted_at IS NULL THEN status ELSE 'deleted' END AS s, count(*)
                   FROM users WHERE tenant_id = $1 GROUP BY 1",
            )
            .bind(tenant_id)
            .fetch_all(actor.conn())
            .await?;
            let order = ["active", "pending", "suspended", "inactive", "deleted"];
            let mut rows = rows;
            rows.sort_by_key(|(s, _)| order.iter().position(|o| o == s).unwrap_or(order.len()));
            board.users = Some(rows);
        }
        if read_documents {
            board.documents = Some(
                sqlx::query_scalar("SELECT count(*) FROM documents WHERE tenant_id = $1 AND deleted_at IS NULL")
                    .bind(tenant_id)
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
}

/// Events per day as bars, with the busiest day's count as the scale.
#[component]
pub fn ActivityChart(days: Vec<(String, i64)>) -> impl IntoView {
    const W: f64 = 720.0;
    const H: f64 = 180.0;
    const LEFT: f64 = 36.0;
    const BOTTOM: f64 = 22.0;
    let max = days.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let total: i64 = days.iter().map(|(_, n)| *n).sum();
    let slot = (W - LEFT) / days.len().max(1) as f64;
    let plot = H - BOTTOM - 8.0;
    let summary = format!(
        "{total} events in the last {} days; the busiest day had {max}.",
        days.len()
    );
    let label = summary.clone();
    let first = days.first().map(|(d, _)| d.clone()).unwrap_or_default();
    let last = days.last().map(|(d, _)| d.clone()).unwrap_or_default();
    view! {
        <svg viewBox=format!("0 0 {W} {H}") class="h-auto w-full text-indigo-500" role="img" aria-label=label data-testid="activity-chart">
            <desc>{summary}</desc>
            <line x1=LEFT y1=H - BOTTOM x2=W y2=H - BOTTOM class="stroke-slate-300 dark:stroke-slate-700" stroke-width="1" />
            <text x=LEFT - 6.0 y=12 text-anchor="end" class="fill-slate-500 text-[10px]">{max}</text>
            <text x=LEFT - 6.0 y=H - BOTTOM text-anchor="end" class="fill-slate-500 text-[10px]">"0"</text>
            {days.into_iter().enumerate().map(|(i, (day, n))| {
                let h = (n as f64 / max as f64) * plot;
                let x = LEFT + i as f64 * slot + slot * 0.15;
                view! {
                    <rect x=format!("{x:.1}") y=format!("{:.1}", H - BOTTOM - h) width=format!("{:.1}", slot * 0.7) height=format!("{h:.1}") rx="2" class="fill-current" data-day=day.clone() data-count=n>
                        <title>{format!("{day}: {n} events")}</title>
                    </rect>
                }
            }).collect_view()}
            <text x=LEFT y=H - 6.0 class="fill-slate-500 text-[10px]">{first}</text>
            <text x=W y=H - 6.0 text-anchor="end" class="fill-slate-500 text-[10px]">{last}</text>
        </svg>
    }
}
