//! The area's server side: what its server functions and handlers call,
//! each authorising first through the spine.

use crate::ids::{TenantId, UserId};
use super::{DeletionRequest, DeletionRequests};
use crate::audit::record::{record, Event, RequestMeta};
use crate::authz::ssr::{require, Actor};
use crate::authz::Perm;
use crate::error::{AppError, FieldError};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::PgConnection;
use uuid::Uuid;

fn field(name: &str, message: &str) -> AppError {
    AppError::Validation(vec![FieldError { field: name.into(), message: message.into() }])
}

/// Removes a person's personal data inside `conn`'s transaction (scoped
/// to their tenant). Returns what went, for the audit event.
pub async fn anonymise_in(conn: &mut PgConnection, tenant_id: TenantId, user_id: UserId) -> Result<Value, AppError> {
    let done = sqlx::query!("UPDATE users SET email = 'anonymised-' || id::text || '@anonymised.invalid', display_name = 'Anonymised user',
                password_hash = NULL, status = 'inactive', must_change_password = false,
                deleted_at = coalesce(deleted_at, now()), anonymised_at = now(), version = version + 1, updated_at = now()
          WHERE tenant_id = $1 AND id = $2 AND anonymised_at IS NULL", tenant_id.0, user_id.0)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict("This person is already anonymised.".into()));
    }
    let mut counts = serde_json::Map::new();
    for (what, sql) in [
        ("second_factor", "DELETE FROM user_mfa WHERE tenant_id = $1 AND user_id = $2"),
        ("recovery_codes", "DELETE FROM user_recovery_codes WHERE tenant_id = $1 AND user_id = $2"),
        ("roles", "DELETE FROM user_roles WHERE tenant_id = $1 AND user_id = $2"),
        ("teams", "DELETE FROM team_members WHERE tenant_id = $1 AND user_id = $2"),
        ("team_leads", "UPDATE teams SET lead_user_id = NULL WHERE tenant_id = $1 AND lead_user_id = $2"),
        ("api_keys_revoked", "UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL"),
        ("password_links_ended", "UPDATE password_links SET used_at = now() WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL"),
    ] {
        let n = sqlx::query(sql).bind(tenant_id).bind(user_id).execute(&mut *conn).await?.rows_affected();
        counts.insert(what.into(), json!(n));
    }
    let ended = crate::auth::credentials::end_sessions(conn, tenant_id, Some(user_id), None).await?;
    counts.insert("sessions_ended".into(), json!(ended));
    // An open request to delete the account is thereby done.
    sqlx::query!("UPDATE deletion_requests SET status = 'completed', resolved_at = now(), note = 'anonymised'
          WHERE tenant_id = $1 AND user_id = $2 AND status = 'pending'", tenant_id.0, user_id.0)
    .execute(&mut *conn)
    .await?;
    Ok(Value::Object(counts))
}

async fn email_of(actor: &mut Actor, user_id: UserId) -> Result<(String, bool), AppError> {
    let row: Option<(String, Option<DateTime<Utc>>)> =
        sqlx::query!(r#"SELECT email AS "email!: String", anonymised_at AS "anonymised_at?: DateTime<Utc>" FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE"#, actor.tenant_id().0, user_id.0).map(|r| (r.email, r.anonymised_at))
            .fetch_optional(actor.conn())
            .await?;
    let (email, anonymised) = row.ok_or(AppError::NotFound)?;
    Ok((email, anonymised.is_some()))
}

pub async fn anonymise(user_id: UserId, confirm: &str) -> Result<(), AppError> {
    let mut actor = require(Perm::UserDelete).await?;
    let tenant_id = actor.tenant_id();
    let (email, already) = email_of(&mut actor, user_id).await?;
    if already {
        return Err(AppError::Conflict("This person is already anonymised.".into()));
    }
    if user_id == actor.user_id() {
        return Err(AppError::Conflict("You cannot anonymise yourself: ask another administrator.".into()));
    }
    if !confirm.trim().eq_ignore_ascii_case(&email) {
        return Err(field("confirm", "Type the person's email address exactly, to confirm."));
    }
    crate::authz::delegation::ensure_may_act_on(&mut actor, user_id, "anonymise").await?;
    crate::authz::lockout::ensure_not_last_top_holder(actor.conn(), tenant_id, user_id, None).await?;
    let after = anonymise_in(actor.conn(), tenant_id, user_id).await?;
    actor.audit("user.anonymise", "user", user_id, Some(json!({ "anonymised": false })), Some(after)).await?;
    actor.commit().await
}

pub async fn request(reason: &str) -> Result<(), AppError> {
    let own = crate::authz::ssr::require_self().await?;
    let me = own.me();
    if me.acting_from.is_some() {
        return Err(AppError::Refused("Stop acting inside the other organisation first.".into()));
    }
    let reason = reason.trim();
    if reason.chars().count() > 2000 || reason.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err(field("reason", "Say why in 2,000 characters at most (or leave it empty)."));
    }
    let mut tx = own.transaction().await?;
    let id: Uuid = sqlx::query_scalar!("INSERT INTO deletion_requests (tenant_id, user_id, requested_by, reason) VALUES ($1, $2, $2, $3) RETURNING id", own.home().0, me.user_id.0, reason)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| crate::error::on_conflict(e, "You have already asked; your administrators will answer it."))?;
    let mut event = own.event("user.deletion_request", json!({ "request": id }));
    event.entity_id = Some(me.user_id.to_string());
    record(&mut tx, own.meta(), event).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn list() -> Result<DeletionRequests, AppError> {
    let mut actor = require(Perm::UserDelete).await?;
    let tenant_id = actor.tenant_id();
    type Row = (Uuid, UserId, String, String, DateTime<Utc>, String, String, String);
    let rows: Vec<Row> = sqlx::query!(r#"SELECT r.id AS "id!: Uuid", r.user_id AS "user_id!: UserId", u.display_name AS "display_name!: String", u.email AS "email!: String", r.requested_at AS "requested_at!: DateTime<Utc>", r.reason AS "reason!: String", r.status AS "status!: String", r.note AS "note!: String" FROM deletion_requests r JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.user_id
          WHERE r.tenant_id = $1
          ORDER BY (r.status = 'pending') DESC, r.requested_at DESC LIMIT 500"#, tenant_id.0).map(|r| (r.id, r.user_id, r.display_name, r.email, r.requested_at, r.reason, r.status, r.note))
    .fetch_all(actor.conn())
    .await?;
    let days: Option<i32> = sqlx::query_scalar!("SELECT anonymise_deleted_after_days FROM tenants WHERE id = $1", tenant_id.0)
        .fetch_one(actor.conn())
        .await?;
    actor.commit().await?;
    Ok(DeletionRequests {
        requests: rows
            .into_iter()
            .map(|(id, user_id, name, email, at, reason, status, note)| DeletionRequest {
                id,
                user_id,
                user: format!("{name} <{email}>"),
                requested_at: crate::text::when(at),
                reason,
                status,
                note,
            })
            .collect(),
        anonymise_after_days: days,
    })
}

pub async fn resolve(request_id: Uuid, decision: &str, note: &str) -> Result<(), AppError> {
    let mut actor = require(Perm::UserDelete).await?;
    let tenant_id = actor.tenant_id();
    let row: Option<(UserId, String)> =
        sqlx::query!(r#"SELECT user_id AS "user_id!: UserId", status AS "status!: String" FROM deletion_requests WHERE tenant_id = $1 AND id = $2 FOR UPDATE"#, tenant_id.0, request_id).map(|r| (r.user_id, r.status))
            .fetch_optional(actor.conn())
            .await?;
    let (user_id, status) = row.ok_or(AppError::NotFound)?;
    if status != "pending" {
        return Err(AppError::Conflict(format!("This request is already {status}.")));
    }
    let note = note.trim();
    if note.chars().count() > 2000 {
        return Err(field("note", "A note has 2,000 characters at most."));
    }
    match decision {
        "complete" => {
            if user_id == actor.user_id() {
                return Err(AppError::Conflict("Another administrator must complete your own request.".into()));
            }
            crate::authz::delegation::ensure_may_act_on(&mut actor, user_id, "anonymise").await?;
            crate::authz::lockout::ensure_not_last_top_holder(actor.conn(), tenant_id, user_id, None).await?;
            let after = anonymise_in(actor.conn(), tenant_id, user_id).await?;
            sqlx::query!("UPDATE deletion_requests SET resolved_by = $3, note = $4 WHERE tenant_id = $1 AND id = $2", tenant_id.0, request_id, actor.local_user_id().map(|id| id.0), if note.is_empty() { "anonymised" } else { note })
                .execute(actor.conn())
                .await?;
            actor.audit("user.anonymise", "user", user_id, Some(json!({ "anonymised": false })), Some(after)).await?;
            actor.audit("deletion_request.complete", "deletion_request", request_id, None, Some(json!({ "user": user_id }))).await?;
        }
        "reject" => {
            if note.is_empty() {
                return Err(field("note", "Say why the request is rejected: the person is told."));
            }
            sqlx::query!("UPDATE deletion_requests SET status = 'rejected', resolved_at = now(), resolved_by = $3, note = $4
                  WHERE tenant_id = $1 AND id = $2", tenant_id.0, request_id, actor.local_user_id().map(|id| id.0), note)
            .execute(actor.conn())
            .await?;
            actor.audit("deletion_request.reject", "deletion_request", request_id, None, Some(json!({ "user": user_id, "note": note }))).await?;
        }
        _ => return Err(field("decision", "Choose complete or reject.")),
    }
    actor.commit().await
}


/// Everything Steward holds about a person, as one JSON document.
pub async fn collect(conn: &mut PgConnection, tenant_id: TenantId, user_id: UserId) -> Result<Value, AppError> {
    let one = |sql: &'static str| sqlx::query_scalar::<_, Option<Value>>(sql).bind(tenant_id).bind(user_id);
    let profile = one(
        "SELECT to_jsonb(x) FROM (SELECT id, email, display_name, status, created_at, updated_at, last_login_at,
                password_changed_at, deleted_at, anonymised_at FROM users WHERE tenant_id = $1 AND id = $2) x",
    )
    .fetch_optional(&mut *conn)
    .await?
    .flatten()
    .ok_or(AppError::NotFound)?;
    let mut doc = json!({ "format": "steward.personal-data.v1", "exported_at": Utc::now().to_rfc3339(), "profile": profile });
    for (key, sql) in [
        ("roles", "SELECT coalesce(jsonb_agg(jsonb_build_object('role', r.name, 'through_team', t.name)), '[]') FROM effective_user_roles e JOIN roles r ON r.tenant_id = e.tenant_id AND r.id = e.role_id LEFT JOIN teams t ON t.tenant_id = e.tenant_id AND t.id = e.team_id WHERE e.tenant_id = $1 AND e.user_id = $2"),
        ("teams", "SELECT coalesce(jsonb_agg(jsonb_build_object('team', t.name, 'joined_at', m.added_at)), '[]') FROM team_members m JOIN teams t ON t.tenant_id = m.tenant_id AND t.id = m.team_id WHERE m.tenant_id = $1 AND m.user_id = $2"),
        ("sessions", "SELECT coalesce(jsonb_agg(jsonb_build_object('started_at', created_at, 'ip', host(ip), 'user_agent', user_agent)), '[]') FROM user_sessions WHERE tenant_id = $1 AND user_id = $2"),
        ("two_factor", "SELECT jsonb_build_object('enabled', EXISTS (SELECT 1 FROM user_mfa WHERE tenant_id = $1 AND user_id = $2 AND enabled_at IS NOT NULL))"),
        ("api_keys", "SELECT coalesce(jsonb_agg(jsonb_build_object('name', name, 'scopes', scopes, 'created_at', created_at, 'expires_at', expires_at, 'last_used_at', last_used_at, 'revoked_at', revoked_at)), '[]') FROM api_keys WHERE tenant_id = $1 AND user_id = $2"),
        ("documents_uploaded", "SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'title', title, 'file_name', file_name, 'created_at', created_at)), '[]') FROM documents WHERE tenant_id = $1 AND created_by = $2"),
        ("deletion_requests", "SELECT coalesce(jsonb_agg(jsonb_build_object('requested_at', requested_at, 'reason', reason, 'status', status, 'note', note)), '[]') FROM deletion_requests WHERE tenant_id = $1 AND user_id = $2"),
        ("audit_events", "SELECT coalesce(jsonb_agg(x ORDER BY x.occurred_at DESC), '[]') FROM (SELECT occurred_at, action, entity_type, entity_id, host(ip) AS ip, user_agent, changes FROM audit_events WHERE tenant_id = $1 AND (actor_user_id = $2 OR (entity_type = 'user' AND entity_id = $2::text)) ORDER BY occurred_at DESC LIMIT 10000) x"),
        ("access_log", "SELECT coalesce(jsonb_agg(x ORDER BY x.at DESC), '[]') FROM (SELECT * FROM steward_access_log_of($2, 10000) WHERE $1 IS NOT NULL) x"),
    ] {
        doc[key] = one(sql).fetch_one(&mut *conn).await?.unwrap_or(Value::Null);
    }
    Ok(doc)
}

/// A download of a person's data, recorded as `user.export`.
pub async fn export(actor: &mut Actor, user_id: UserId) -> Result<Value, AppError> {
    let tenant_id = actor.tenant_id();
    crate::authz::delegation::ensure_may_act_on(actor, user_id, "export the personal data of").await?;
    let doc = collect(actor.conn(), tenant_id, user_id).await?;
    actor.audit("user.export", "user", user_id, None, Some(json!({ "contained": contents(&doc) }))).await?;
    Ok(doc)
}

/// What an export holds, section by section: how many entries of each
/// list, and which other parts were there (recorded with the export).
pub fn contents(doc: &Value) -> Value {
    let Some(sections) = doc.as_object() else { return json!({}) };
    sections
        .iter()
        .map(|(k, v)| (k.clone(), v.as_array().map(|a| json!(a.len())).unwrap_or(json!(true))))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Runs the retention job once: in every tenant with a period set,
/// anonymises people deleted longer ago than it (500 a tenant a run).
/// Returns how many were anonymised.
pub async fn run_retention(system: &crate::authz::ssr::System) -> Result<u64, AppError> {
    // The tenants with a period set: a listing across tenants that the
    // database function answers whatever the transaction's scope.
    let mut listing = system.transaction().await?;
    let tenants: Vec<(TenantId, i32)> = sqlx::query!(r#"SELECT tenant_id AS "tenant_id!: TenantId", days AS "days!: i32" FROM steward_retention_tenants()"#).map(|r| (r.tenant_id, r.days)).fetch_all(&mut *listing).await?;
    listing.commit().await?;
    let mut total = 0;
    for (tenant_id, days) in tenants {
        let mut tx = system.in_tenant(tenant_id).await?;
        let due: Vec<UserId> = sqlx::query_scalar!(r#"SELECT id AS "id!: UserId" FROM users WHERE tenant_id = $1 AND anonymised_at IS NULL AND deleted_at < now() - make_interval(days => $2)
              ORDER BY deleted_at LIMIT 500 FOR UPDATE"#, tenant_id.0, days)
        .fetch_all(&mut *tx)
        .await?;
        for user_id in due {
            let mut after = anonymise_in(&mut tx, tenant_id, user_id).await?;
            after["by"] = json!("retention");
            after["anonymise_deleted_after_days"] = json!(days);
            let event = Event {
                tenant_id,
                actor_user_id: None,
                actor_tenant_id: None,
                action: "user.anonymise",
                entity_type: Some("user"),
                entity_id: Some(user_id.to_string()),
                before: Some(json!({ "anonymised": false })),
                after: Some(after),
            };
            record(&mut tx, &RequestMeta::default(), event).await?;
            total += 1;
        }
        tx.commit().await?;
    }
    Ok(total)
}

/// `GET /users/{id}/export.json` (needs `user:export`, and the person's
/// grants within the caller's) and
/// `GET /account/export.json` (one's own): the download.
pub async fn download(caller: &crate::authz::ssr::Caller, user_id: Option<UserId>) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    let result = async {
        let (mut actor, target) = match user_id {
            Some(id) => (caller.require(Perm::UserExport).await?, id),
            None => {
                // Anyone may have their own: authorised as themselves.
                let own = caller.require_self()?;
                let mut tx = own.transaction().await?;
                let doc = collect(&mut tx, own.home(), own.me().user_id).await?;
                let event = Event::by_user(own.home(), own.me().user_id, "user.export", None);
                record(&mut tx, own.meta(), event).await?;
                tx.commit().await?;
                return Ok(doc);
            }
        };
        let doc = export(&mut actor, target).await?;
        actor.commit().await?;
        Ok::<Value, AppError>(doc)
    }
    .await;
    match result {
        Ok(doc) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/json".to_string()),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"personal-data.json\"".to_string()),
            ],
            serde_json::to_string_pretty(&doc).unwrap_or_default(),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}
