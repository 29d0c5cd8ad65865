//! Exports of the filtered audit log, as CSV or JSON lines, streamed in
//! keyset batches: a million events never sit in memory at once.
//!
//! `GET /audit/export.csv?…` and `GET /audit/export.jsonl?…` take the
//! list's filters. Needs `audit:export`; each export is itself an event.

use super::ssr::{cursor, push_after, push_filters, EventRecord, EVENT_COLUMNS, EVENT_FROM};
use super::AuditQuery;
use crate::authz::ssr::Caller;
use crate::authz::Perm;
use crate::documents::blobs::hex;
use crate::error::AppError;
use axum::response::IntoResponse;
use crate::users::csv::field;
use axum::extract::Query;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use serde_json::json;
use sqlx::QueryBuilder;

const BATCH: usize = 2000;

#[derive(Clone, Copy)]
enum Format {
    Csv,
    JsonLines,
}

const CSV_HEADER: &str = "occurred_at,seq,id,actor,actor_user_id,actor_tenant_id,ip,action,entity_type,entity_id,request_id,changes,hash\n";

fn line(format: Format, e: &EventRecord) -> String {
    fn opt(v: &Option<impl ToString>) -> String {
        v.as_ref().map(|u| u.to_string()).unwrap_or_default()
    }
    match format {
        Format::Csv => format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            e.occurred_at.to_rfc3339(),
            e.seq,
            e.id,
            field(&e.actor()),
            opt(&e.actor_user_id),
            opt(&e.actor_tenant_id),
            e.ip.clone().unwrap_or_default(),
            field(&e.action),
            field(e.entity_type.as_deref().unwrap_or_default()),
            field(e.entity_id.as_deref().unwrap_or_default()),
            field(e.request_id.as_deref().unwrap_or_default()),
            field(&e.changes.to_string()),
            hex(&e.hash)
        ),
        Format::JsonLines => {
            let mut text = json!({
                "occurred_at": e.occurred_at.to_rfc3339(),
                "seq": e.seq,
                "id": e.id,
                "actor": e.actor(),
                "actor_email": e.actor_email,
                "actor_user_id": e.actor_user_id,
                "actor_tenant_id": e.actor_tenant_id,
                "ip": e.ip,
                "user_agent": e.user_agent,
                "action": e.action,
                "entity_type": e.entity_type,
                "entity_id": e.entity_id,
                "request_id": e.request_id,
                "changes": e.changes,
                "prev_hash": e.prev_hash.as_deref().map(hex),
                "hash": hex(&e.hash),
            })
            .to_string();
            text.push('\n');
            text
        }
    }
}

pub async fn csv(caller: Caller, query: Query<AuditQuery>) -> Response {
    export(caller, query, Format::Csv).await
}

pub async fn json_lines(caller: Caller, query: Query<AuditQuery>) -> Response {
    export(caller, query, Format::JsonLines).await
}

async fn export(caller: Caller, Query(query): Query<AuditQuery>, format: Format) -> Response {
    let mut actor = match caller.require(Perm::AuditExport).await {
        Ok(actor) => actor,
        Err(e) => return e.into_response(),
    };
    let reader = actor.replica_reader();
    let tenant_id = reader.tenant_id();
    // Filters are checked before the first byte goes out.
    let mut probe = QueryBuilder::new("SELECT 1 FROM audit_events e");
    if let Err(e) = push_filters(&mut probe, tenant_id, &query) {
        return e.into_response();
    }
    let filters: serde_json::Map<String, serde_json::Value> =
        query.filters().iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.to_string(), json!(v))).collect();
    let kind = match format {
        Format::Csv => "csv",
        Format::JsonLines => "jsonl",
    };
    let recorded = actor.audit("audit.export", "tenant", tenant_id, None, Some(json!({ "format": kind, "filters": filters }))).await;
    if let Err(e) = recorded {
        return e.into_response();
    }
    if let Err(e) = actor.commit().await {
        return e.into_response();
    }

    let (tx, body) = crate::ssr::streamed_body();
    tokio::spawn(async move {
        if matches!(format, Format::Csv) && tx.send(Ok(CSV_HEADER.to_string())).await.is_err() {
            return;
        }
        let mut after = query.after.clone();
        loop {
            let batch = async {
                let mut conn = reader.transaction().await?;
                let mut b = QueryBuilder::new(format!("SELECT {EVENT_COLUMNS} FROM {EVENT_FROM}"));
                push_filters(&mut b, tenant_id, &query)?;
                push_after(&mut b, &after)?;
                b.push(format!(" ORDER BY e.occurred_at DESC, e.id DESC LIMIT {BATCH}"));
                let rows: Vec<EventRecord> = b.build_query_as().fetch_all(&mut *conn).await?;
                conn.commit().await?;
                Ok::<_, AppError>(rows)
            }
            .await;
            let rows = match batch {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!(?e, "audit export stopped");
                    let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                    return;
                }
            };
            let done = rows.len() < BATCH;
            let mut chunk = String::with_capacity(rows.len() * 300);
            for e in &rows {
                chunk.push_str(&line(format, e));
            }
            if let Some(last) = rows.last() {
                after = cursor(last);
            }
            if tx.send(Ok(chunk)).await.is_err() || done {
                return;
            }
        }
    });
    let mut response = Response::new(body);
    let (content_type, name) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "attachment; filename=\"audit.csv\""),
        Format::JsonLines => ("application/x-ndjson", "attachment; filename=\"audit.jsonl\""),
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(name));
    response
}
