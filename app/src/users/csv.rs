//! CSV export of the users list: the same filters as the page, streamed in
//! keyset batches so that a million rows never sit in memory at once.

use super::UserQuery;
use crate::authz::ssr::require_with;
use crate::authz::Perm;
use crate::auth::ssr::CurrentUser;
use crate::error::AppError;
use crate::ssr::{plain_error as error, AppState};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, Request};
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
pub async fn export(State(state): State<AppState>, Query(query): Query<UserQuery>, req: Request<Body>) -> Response {
    let me = req.extensions().get::<CurrentUser>().and_then(|c| c.0.clone());
    let meta = crate::authz::ssr::meta_of(req.headers(), req.extensions());
    let mut actor = match require_with(&state.pool, me, meta, Perm::UserRead).await {
        Ok(actor) => actor,
        Err(e) => return error(e),
    };
    let tenant_id = actor.tenant_id();
    // Validate the filters before the first byte goes out.
    let mut probe = QueryBuilder::new("SELECT 1 FROM users u");
    if let Err(e) = super::ssr::push_filters(&mut probe, tenant_id, &query) {
        return error(e);
    }
    let recorded = actor
        .audit("user.export", "tenant", tenant_id, None, Some(serde_json::json!({ "filters": { "q": query.q, "status": query.status, "role": query.role, "team": query.team } })))
        .await;
    if let Err(e) = recorded {
        return error(e);
    }
    if let Err(e) = actor.commit().await {
        return error(e);
    }

    let (tx, body) = crate::ssr::streamed_body();
    let pool = state.pool.clone();
    tokio::spawn(async move {
        let _ = tx.send(Ok("email,name,status,roles,last_sign_in,created\n".to_string())).await;
        let mut after: Option<(String, Uuid)> = None;
        loop {
            let batch = async {
                let mut conn = pool.begin().await?;
                crate::db::scope_to_tenant(&mut conn, tenant_id).await?;
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
