//! CSV export of the users list: the same filters as the page, streamed in
//! keyset batches so that a million rows never sit in memory at once.

use super::UserQuery;
use crate::authz::ssr::Caller;
use crate::authz::Perm;
use crate::error::AppError;
use axum::response::IntoResponse;
use axum::extract::Query;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use uuid::Uuid;

const BATCH: i64 = 5000;

/// Quotes a CSV field when it needs it, and defuses spreadsheet formulas.
pub fn field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_string() };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// `GET /users/export.csv?q=…&status=…&role=…&team=…`: the filtered users,
/// by email. Needs `user:read`; recorded as an event.
pub async fn export(caller: Caller, Query(query): Query<UserQuery>) -> Response {
    let mut actor = match caller.require(Perm::UserRead).await {
        Ok(actor) => actor,
        Err(e) => return e.into_response(),
    };
    let reader = actor.reader();
    let tenant_id = reader.tenant_id();
    // Validate the filters before the first byte goes out.
    let mut probe = QueryBuilder::new("SELECT 1 FROM users u");
    if let Err(e) = super::ssr::push_filters(&mut probe, tenant_id, &query) {
        return e.into_response();
    }
    let recorded = actor
        .audit("user.export", "tenant", tenant_id, None, Some(serde_json::json!({ "filters": { "q": query.q, "status": query.status, "role": query.role, "team": query.team } })))
        .await;
    if let Err(e) = recorded {
        return e.into_response();
    }
    if let Err(e) = actor.commit().await {
        return e.into_response();
    }

    let (tx, body) = crate::ssr::streamed_body();
    tokio::spawn(async move {
        let _ = tx.send(Ok("email,name,status,roles,last_sign_in,created\n".to_string())).await;
        let mut after: Option<(String, Uuid)> = None;
        loop {
            let batch = async {
                let mut conn = reader.transaction().await?;
                let mut b = QueryBuilder::new(
                    "SELECT u.email_key AS k, u.id, u.email, u.display_name, u.status, u.last_login_at, u.created_at,
                            (SELECT string_agg(DISTINCT r.name, '; ') FROM effective_user_roles e
                               JOIN roles r ON r.tenant_id = e.tenant_id AND r.id = e.role_id
                              WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id) AS roles
                       FROM users u",
                );
                super::ssr::push_filters(&mut b, tenant_id, &query)?;
                if let Some((k, id)) = &after {
                    b.push(" AND (u.email_key, u.id) > (").push_bind(k.clone()).push(", ").push_bind(*id).push(")");
                }
                b.push(format!(" ORDER BY u.email_key, u.id LIMIT {BATCH}"));
                let rows: Vec<(String, Uuid, String, String, String, Option<DateTime<Utc>>, DateTime<Utc>, Option<String>)> =
                    b.build_query_as().fetch_all(&mut *conn).await?;
                conn.commit().await?;
                Ok::<_, AppError>(rows)
            }
            .await;
            let rows = match batch {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!(?e, "CSV export stopped");
                    let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                    return;
                }
            };
            let done = (rows.len() as i64) < BATCH;
            let mut chunk = String::with_capacity(rows.len() * 80);
            for (k, id, email, name, status, last, created, roles) in rows {
                chunk.push_str(&format!(
                    "{},{},{},{},{},{}\n",
                    field(&email),
                    field(&name),
                    status,
                    field(&roles.unwrap_or_default()),
                    last.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    created.to_rfc3339()
                ));
                after = Some((k, id));
            }
            if tx.send(Ok(chunk)).await.is_err() || done {
                return;
            }
        }
    });
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"users.csv\""));
    response
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(field("line\nbreak"), "\"line\nbreak\"");
    }
}
