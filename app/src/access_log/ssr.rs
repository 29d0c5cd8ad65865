//! The area's server side: what its server functions and handlers call,
//! each authorising first through the spine.

use super::*;
use crate::authz::{ssr::require_platform, Perm};
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

const PAGE: usize = 50;

/// One page of the access log. Platform administrators only.
pub async fn list(q: AccessQuery) -> Result<AccessList, AppError> {
    let mut actor = require_platform(Perm::SystemAdmin).await?;
    let mut b = QueryBuilder::new(
        "SELECT a.at, a.id, a.method, a.route, a.path, a.status, a.latency_us, t.slug, a.user_id, a.request_id
           FROM access_log a LEFT JOIN steward_tenant_slugs() t ON t.id = a.tenant_id WHERE true",
    );
    if let Some((low, high)) = status_range(&q.status).map_err(|m| AppError::invalid("status", &m))? {
        b.push(" AND a.status BETWEEN ").push_bind(low).push(" AND ").push_bind(high);
    }
    if !q.route.trim().is_empty() {
        b.push(" AND a.route = ").push_bind(q.route.trim().to_string());
    }
    if !q.tenant.trim().is_empty() {
        b.push(" AND a.tenant_id = (SELECT id FROM steward_tenant_slugs() WHERE slug = ")
            .push_bind(q.tenant.trim().to_lowercase())
            .push(")");
    }
    if !q.slower_than.trim().is_empty() {
        let ms: u32 = q
            .slower_than
            .trim()
            .parse()
            .map_err(|_| AppError::invalid("slower_than", "Give a whole number of milliseconds, such as 100."))?;
        b.push(" AND a.latency_us >= ").push_bind(i64::from(ms) * 1000);
    }
    if !q.after.is_empty() {
        let broken = || AppError::invalid("after", "That page link is broken: start from the first page.");
        let (micros, id) = q.after.split_once('|').ok_or_else(broken)?;
        let at = micros.parse::<i64>().ok().and_then(DateTime::<Utc>::from_timestamp_micros).ok_or_else(broken)?;
        let id: i64 = id.parse().map_err(|_| broken())?;
        b.push(" AND (a.at, a.id) < (").push_bind(at).push(", ").push_bind(id).push(")");
    }
    b.push(format!(" ORDER BY a.at DESC, a.id DESC LIMIT {}", PAGE + 1));
    type Raw = (DateTime<Utc>, i64, String, String, String, i16, i32, Option<String>, Option<uuid::Uuid>, Option<String>);
    let mut raw: Vec<Raw> = b.build_query_as().fetch_all(actor.conn()).await?;
    let next = (raw.len() > PAGE).then(|| {
        raw.truncate(PAGE);
        raw.last().map(|r| format!("{}|{}", r.0.timestamp_micros(), r.1)).unwrap_or_default()
    });
    let rows = raw
        .into_iter()
        .map(|(at, _, method, route, path, status, latency, tenant, user, request)| AccessRow {
            at: at.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
            method,
            route,
            path,
            status,
            latency_ms: f64::from(latency) / 1000.0,
            tenant: tenant.unwrap_or_default(),
            user_id: user.map(|u| u.to_string()).unwrap_or_default(),
            request_id: request.unwrap_or_default(),
        })
        .collect();
    Ok(AccessList { rows, next })
}
