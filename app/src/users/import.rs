//! CSV import of users. `POST /users/imports` (multipart, field `file`)
//! checks the file's shape, records an import, and answers at once with the
//! report page; the rows are then created in the background, each in its own
//! savepoint (a refused row leaves nothing behind), in batches of
//! [`BATCH`] rows per transaction, with the progress and the refused rows
//! written to `user_imports` after each batch.
//!
//! Columns, by header name in any order: `email`, `name` (or
//! `display_name`), and optionally `role` (a role's name). With the form's
//! `invite` box ticked, each person is invited (pending, with a mail and a
//! link to choose a password, as from the Invite page); otherwise imported
//! people have no password yet and a reset from their page gives them one.

use super::ssr::insert_user;
use super::{validate_profile, ImportFailure, ImportStatus, FAILURES_KEPT, IMPORT_MAX_BYTES};
use crate::authz::ssr::{require, Actor, Caller};
use crate::authz::Perm;
use crate::error::AppError;
use axum::extract::Multipart;
use crate::status::UserStatus;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// Rows per transaction.
pub const BATCH: usize = 250;

/// One row to import, with its line in the file (the header is line 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub line: i64,
    pub email: String,
    pub name: String,
    pub role: String,
}

/// Reads the file: the rows to import, and the lines that are not even
/// rows (wrong number of fields, not UTF-8). A file whose header lacks the
/// needed columns, or that has no rows, is refused as a whole.
pub fn parse(bytes: &[u8]) -> Result<(Vec<Row>, Vec<ImportFailure>), String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(bytes);
    let headers = reader.byte_headers().map_err(|_| "The first line must name the columns.".to_string())?.clone();
    let column = |names: &[&str]| headers.iter().position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n.as_bytes())));
    let (Some(email), Some(name)) = (column(&["email"]), column(&["name", "display_name"])) else {
        return Err("The first line must name the columns: email, name (and, if you like, role).".into());
    };
    let role = column(&["role"]);
    let mut rows = Vec::new();
    let mut broken = Vec::new();
    let mut record = csv::ByteRecord::new();
    // The file's own line numbers, from byte offsets (the reader's count
    // skips blank lines), counted forward once.
    let (mut counted_to, mut newlines) = (0usize, 0i64);
    let mut line_at = |byte: u64| {
        let mut byte = (byte as usize).min(bytes.len());
        // A record's position can sit before the blank lines it skipped.
        while byte < bytes.len() && matches!(bytes[byte], b'\n' | b'\r') {
            byte += 1;
        }
        newlines += bytes[counted_to..byte].iter().filter(|b| **b == b'\n').count() as i64;
        counted_to = byte;
        newlines + 1
    };
    loop {
        let start = reader.position().byte();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                if record.iter().all(|f| f.is_empty()) {
                    continue;
                }
                let text = |i: Option<usize>| i.and_then(|i| record.get(i)).map(|f| std::str::from_utf8(f).map(str::to_string));
                match (text(Some(email)), text(Some(name)), text(role)) {
                    (Some(Ok(email)), Some(Ok(name)), None | Some(Ok(_))) => {
                        let role = text(role).and_then(Result::ok).unwrap_or_default();
                        let line = line_at(record.position().map_or(start, |p| p.byte()));
                        rows.push(Row { line, email, name, role });
                    }
                    _ => {
                        let line = line_at(record.position().map_or(start, |p| p.byte()));
                        broken.push(ImportFailure { line, email: String::new(), reason: "This line is not UTF-8 text.".into() })
                    }
                }
            }
            Err(e) => {
                let line = line_at(e.position().map_or(start, |p| p.byte()));
                let reason = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        format!("This line has {len} fields; the header has {expected_len}.")
                    }
                    _ => "This line cannot be read as CSV.".to_string(),
                };
                broken.push(ImportFailure { line, email: String::new(), reason });
                // A quoting error can leave the reader lost: stop at the
                // first one rather than report every line after it.
                if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                    break;
                }
            }
        }
    }
    if rows.is_empty() && broken.is_empty() {
        return Err("The file has no rows under its header.".into());
    }
    Ok((rows, broken))
}

/// The page to send a browser back to with a message beside the file field.
fn back(message: &str) -> Response {
    let to = format!("/users/import?error={}", crate::text::percent_encode(message, b"-_."));
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

/// `POST /users/imports`: starts an import. Needs `user:create`.
pub async fn start(caller: Caller, headers: axum::http::HeaderMap, multipart: Multipart) -> Response {
    let refuse = |e: AppError| e.into_response();
    // Authorise before reading a byte of the upload; the transaction is not
    // held while the file arrives (a slow upload must not pin a connection).
    match caller.require(Perm::UserCreate).await {
        Ok(actor) => drop(actor),
        Err(e) => return refuse(e),
    }
    let (file_name, bytes, invite) = match read_upload(multipart).await {
        Ok(upload) => upload,
        Err(message) => return back(&message),
    };
    // Where the invitations' links point, known before anything is written.
    let invite = match invite.then(|| caller.state().link_base(Some(&headers))).transpose() {
        Ok(base) => base,
        Err(e) => return back(&e.to_string()),
    };
    let (rows, broken) = match parse(&bytes) {
        Ok(parsed) => parsed,
        Err(message) => return back(&message),
    };
    drop(bytes);
    let actor = match caller.require(Perm::UserCreate).await {
        Ok(actor) => actor,
        Err(e) => return refuse(e),
    };
    match begin(actor, &file_name, &rows, &broken, invite.is_some()).await {
        Ok(id) => {
            tokio::spawn(run(caller, id, rows, invite));
            (StatusCode::SEE_OTHER, [(header::LOCATION, format!("/users/imports/{id}"))]).into_response()
        }
        Err(e) => back(&e.to_string()),
    }
}

/// The upload's file, and whether its `invite` box was ticked (the fields
/// may come in any order).
async fn read_upload(mut multipart: Multipart) -> Result<(String, Vec<u8>, bool), String> {
    let too_big = format!("The file is larger than {} MB: split it, then import each part.", IMPORT_MAX_BYTES / (1024 * 1024));
    let problem = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE { too_big.clone() } else { "The upload did not arrive whole: try again.".to_string() }
    };
    let (mut file, mut invite) = (None, false);
    while let Some(mut field) = multipart.next_field().await.map_err(problem)? {
        if field.name() == Some("invite") {
            invite = field.text().await.map_err(problem)?.trim() == "on";
            continue;
        }
        if field.name() != Some("file") || file.is_some() {
            continue;
        }
        let name: String = field.file_name().unwrap_or("upload.csv").chars().filter(|c| !c.is_control()).take(200).collect();
        let bytes = crate::ssr::read_field(&mut field, IMPORT_MAX_BYTES).await.map_err(|e| match e {
            crate::ssr::FieldRead::TooLarge => too_big.clone(),
            crate::ssr::FieldRead::Broken(e) => problem(e),
        })?;
        if bytes.is_empty() {
            return Err("Choose a CSV file to import.".into());
        }
        file = Some((if name.is_empty() { "upload.csv".into() } else { name }, bytes));
    }
    let (name, bytes) = file.ok_or_else(|| "Choose a CSV file to import.".to_string())?;
    Ok((name, bytes, invite))
}

/// Records the import (its total, and the lines that could not be read)
/// and its start event.
async fn begin(mut actor: Actor, file_name: &str, rows: &[Row], broken: &[ImportFailure], invite: bool) -> Result<Uuid, AppError> {
    let id = Uuid::now_v7();
    let total = (rows.len() + broken.len()) as i32;
    let kept: Vec<&ImportFailure> = broken.iter().take(FAILURES_KEPT).collect();
    let tenant_id = actor.tenant_id();
    let created_by = actor.user_id();
    sqlx::query!("INSERT INTO user_imports (tenant_id, id, created_by, file_name, total, processed, failures, failed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $6)", tenant_id.0, id, created_by.0, file_name, total, broken.len() as i32, json!(kept))
    .execute(actor.conn())
    .await?;
    actor.audit("user.import", "user_import", id, None, Some(json!({ "file_name": file_name, "rows": total, "invite": invite }))).await?;
    actor.commit().await?;
    Ok(id)
}

/// Creates the rows, batch by batch. Runs after the response went out.
/// Each batch authorises the importer afresh, with the grants they hold at
/// that moment: an importer who was suspended, or lost `user:create` or a
/// role's permissions meanwhile, grants nothing more. `invite`: where the
/// invitations' links point, when each person is invited.
async fn run(started_by: Caller, id: Uuid, rows: Vec<Row>, invite: Option<String>) {
    for batch in rows.chunks(BATCH) {
        let now = match started_by.now().await {
            Ok(Some(now)) => now,
            Ok(None) | Err(_) => {
                tracing::warn!(%id, "user import stopped: its importer can no longer sign in");
                let _ = finish(&started_by, id, "failed").await;
                return;
            }
        };
        if let Err(error) = run_batch(&now, id, batch, invite.as_deref()).await {
            tracing::error!(?error, %id, "user import stopped");
            let _ = finish(&started_by, id, "failed").await;
            return;
        }
    }
    tidy_search(&started_by, id).await;
    if let Err(error) = finish(&started_by, id, "done").await {
        tracing::error!(?error, %id, "could not close a user import");
    }
}

async fn run_batch(importer: &Caller, id: Uuid, batch: &[Row], invite: Option<&str>) -> Result<(), AppError> {
    let mut actor = importer.require(Perm::UserCreate).await?;
    // The tenant's authorisation version row first, as a change of status
    // or access takes it: inserting people then takes the usage and the
    // people-by-status counts, and granting their roles the version again,
    // so a deletion (version, then usage and counts) cannot wait for this
    // batch while it waits for the deletion.
    sqlx::query("SELECT 1 FROM tenant_auth WHERE tenant_id = $1 FOR UPDATE").bind(actor.tenant_id()).execute(actor.conn()).await?;
    let mut roles = RoleCache::new();
    // Every role of the batch is looked up and checked before any row is
    // written: a refusal records its event in a transaction of its own,
    // which must not wait for this one's hold on the audit chain.
    for row in batch.iter().filter(|r| !r.role.trim().is_empty()) {
        if let Err(e @ (AppError::Internal | AppError::Unavailable)) = resolve_role(&mut actor, &mut roles, row.role.trim()).await {
            return Err(e);
        }
    }
    // Without invitations (which mail each person), the batch is written
    // in a few statements; should one of them refuse (a plan's limit
    // reached midway, a row the database will not take), the batch goes
    // back and is written a row at a time, each row kept or refused alone.
    let mut done = None;
    if invite.is_none() {
        sqlx::query("SAVEPOINT import_batch").execute(actor.conn()).await?;
        match import_set(&mut actor, &mut roles, id, batch).await {
            Ok(outcome) => {
                sqlx::query("RELEASE SAVEPOINT import_batch").execute(actor.conn()).await?;
                done = Some(outcome);
            }
            Err(e @ (AppError::Internal | AppError::Unavailable)) => return Err(e),
            Err(e) => {
                // Expected: a plan's limit reached within the batch, say.
                tracing::info!(reason = %e, %id, "an import's batch goes a row at a time");
                sqlx::query("ROLLBACK TO SAVEPOINT import_batch").execute(actor.conn()).await?;
            }
        }
    }
    let (created, failures) = match done {
        Some(outcome) => outcome,
        None => import_rows(&mut actor, &mut roles, id, batch, invite).await?,
    };
    let tenant_id = actor.tenant_id();
    sqlx::query!("UPDATE user_imports
            SET processed = processed + $3, created = created + $4, failed = failed + $5, updated_at = now(),
                failures = CASE WHEN jsonb_array_length(failures) >= $6 THEN failures
                                ELSE failures || (SELECT coalesce(jsonb_agg(f), '[]') FROM
                                     (SELECT f FROM jsonb_array_elements($7::jsonb) f LIMIT $6 - jsonb_array_length(failures)) x) END
          WHERE tenant_id = $1 AND id = $2", tenant_id.0, id, batch.len() as i32, created, failures.len() as i32, FAILURES_KEPT as i32, json!(failures))
    .execute(actor.conn())
    .await?;
    actor.commit().await
}

/// The batch a row at a time, each in its own savepoint: how many were
/// created, and the refused rows with why.
async fn import_rows(actor: &mut Actor, roles: &mut RoleCache, id: Uuid, batch: &[Row], invite: Option<&str>) -> Result<(i32, Vec<ImportFailure>), AppError> {
    let (mut created, mut failures) = (0, Vec::new());
    for row in batch {
        sqlx::query!("SAVEPOINT import_row").execute(actor.conn()).await?;
        match import_row(actor, roles, id, row, invite).await {
            Ok(()) => {
                sqlx::query!("RELEASE SAVEPOINT import_row").execute(actor.conn()).await?;
                created += 1;
            }
            Err(e @ (AppError::Internal | AppError::Unavailable)) => return Err(e),
            Err(e) => {
                sqlx::query!("ROLLBACK TO SAVEPOINT import_row").execute(actor.conn()).await?;
                failures.push(refused(row, &e));
            }
        }
    }
    Ok((created, failures))
}

/// The batch in four statements: the rows checked here (as [`import_row`]
/// checks one), the people inserted together (an address already in use,
/// or met earlier in the file, is refused as a row alone would be), their
/// roles granted together, and their events recorded together, in the
/// file's order and in the order one row after another would record them.
async fn import_set(actor: &mut Actor, roles: &mut RoleCache, import_id: Uuid, batch: &[Row]) -> Result<(i32, Vec<ImportFailure>), AppError> {
    let mut failures = Vec::new();
    let mut people = Vec::with_capacity(batch.len());
    for row in batch {
        let (email, name) = (row.email.trim(), row.name.trim());
        let errors = validate_profile(email, name);
        if !errors.is_empty() {
            failures.push(refused(row, &AppError::Validation(errors)));
            continue;
        }
        let role = match row.role.trim() {
            "" => None,
            role => match resolve_role(actor, roles, role).await {
                Ok(role) => Some(role),
                Err(e @ (AppError::Internal | AppError::Unavailable)) => return Err(e),
                Err(e) => {
                    failures.push(refused(row, &e));
                    continue;
                }
            },
        };
        people.push((row, email, name, Uuid::now_v7(), role));
    }
    let tenant_id = actor.scope();
    let inserted: std::collections::HashSet<Uuid> = sqlx::query_scalar(
        "INSERT INTO users (tenant_id, id, email, display_name, status)
         SELECT $1::uuid, p.id, p.email, p.name, $2::text FROM unnest($3::uuid[], $4::text[], $5::text[]) WITH ORDINALITY AS p(id, email, name, n)
          ORDER BY p.n
         ON CONFLICT (tenant_id, lower(email)) WHERE deleted_at IS NULL DO NOTHING
         RETURNING id",
    )
    .bind(tenant_id.0)
    .bind(UserStatus::Active.as_str())
    .bind(people.iter().map(|p| p.3).collect::<Vec<_>>())
    .bind(people.iter().map(|p| p.1).collect::<Vec<_>>())
    .bind(people.iter().map(|p| p.2).collect::<Vec<_>>())
    .fetch_all(actor.conn())
    .await?
    .into_iter()
    .collect();
    let in_use = AppError::Conflict(crate::error::unique_violation_message("users_email_live_key").into());
    let (mut grants, mut events) = ((Vec::new(), Vec::new()), Vec::with_capacity(people.len() * 2));
    for (row, email, name, id, role) in &people {
        if !inserted.contains(id) {
            failures.push(refused(row, &in_use));
            continue;
        }
        let mut after = crate::users::ssr::created(email, name, UserStatus::Active);
        after["import_id"] = json!(import_id);
        events.push(actor.event("user.create", "user", id, None, Some(after)));
        if let Some((role_id, role_name)) = role {
            grants.0.push(*id);
            grants.1.push(*role_id);
            events.push(actor.event("user.role_grant", "user", id, None, Some(crate::roles::ssr::grant_change(*role_id, role_name))));
        }
    }
    if !grants.0.is_empty() {
        sqlx::query(
            "INSERT INTO user_roles (tenant_id, user_id, role_id, granted_by)
             SELECT $1::uuid, g.user_id, g.role_id, $2::uuid FROM unnest($3::uuid[], $4::uuid[]) AS g(user_id, role_id)",
        )
        .bind(tenant_id.0)
        .bind(actor.local_user_id().map(|id| id.0))
        .bind(&grants.0)
        .bind(&grants.1)
        .execute(actor.conn())
        .await?;
    }
    actor.audit_all(events).await?;
    failures.sort_by_key(|f| f.line);
    Ok((inserted.len() as i32, failures))
}

/// What a role name of the file resolves to, looked up and checked against
/// the importer's grants once per batch: the role's id and name, or why it
/// cannot be given.
type RoleCache = HashMap<String, Result<(Uuid, String), String>>;

async fn resolve_role(actor: &mut Actor, roles: &mut RoleCache, role: &str) -> Result<(Uuid, String), AppError> {
    let key = role.to_lowercase();
    if !roles.contains_key(&key) {
        let tenant_id = actor.tenant_id();
        let found: Option<Uuid> = sqlx::query_scalar!("SELECT id FROM roles WHERE tenant_id = $1 AND lower(name) = lower($2) AND deleted_at IS NULL", tenant_id.0, role)
            .fetch_optional(actor.conn())
            .await?;
        let resolved = match found {
            None => Err(format!("There is no role named {role}.")),
            Some(id) => match crate::roles::ssr::grantable(actor, id).await {
                Ok(name) => Ok((id, name)),
                Err(e @ (AppError::Internal | AppError::Unavailable)) => return Err(e),
                Err(e) => Err(reason(&e)),
            },
        };
        roles.insert(key.clone(), resolved);
    }
    roles[&key].clone().map_err(AppError::Refused)
}

/// One person: checked, created, given their role and, when `invite`
/// says where links point, invited; or refused whole.
async fn import_row(actor: &mut Actor, roles: &mut RoleCache, import_id: Uuid, row: &Row, invite: Option<&str>) -> Result<(), AppError> {
    let (email, name) = (row.email.trim(), row.name.trim());
    let errors = validate_profile(email, name);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let role = row.role.trim();
    let role = if role.is_empty() { None } else { Some(resolve_role(actor, roles, role).await?) };
    let status = if invite.is_some() { UserStatus::Pending } else { UserStatus::Active };
    let user_id = insert_user(actor, email, name, None, Some(import_id), status).await?;
    if let Some((role_id, role_name)) = role {
        crate::roles::ssr::record_grant(actor, user_id, role_id, &role_name).await?;
    }
    if let Some(base) = invite {
        super::ssr::send_invitation(actor, user_id, base, "user.invitation_send").await?;
    }
    Ok(())
}

/// A refused row, as its report lists it.
fn refused(row: &Row, e: &AppError) -> ImportFailure {
    ImportFailure { line: row.line, email: row.email.chars().take(254).collect(), reason: reason(e) }
}

/// Why a row was refused, in a sentence.
fn reason(e: &AppError) -> String {
    let text = match e {
        AppError::Validation(errors) => errors.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join(" "),
        AppError::Forbidden => "You may not grant roles, so the row's role cannot be given.".into(),
        other => other.to_string(),
    };
    text.chars().take(300).collect()
}

async fn finish(importer: &Caller, id: Uuid, state: &str) -> Result<(), AppError> {
    let mut actor = importer.require(Perm::UserCreate).await?;
    let tenant_id = actor.tenant_id();
    let (total, created, failed): (i32, i32, i32) = sqlx::query!(
        "UPDATE user_imports SET state = $3, finished_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING total, created, failed",
        tenant_id.0,
        id,
        state
    )
    .map(|r| (r.total, r.created, r.failed))
    .fetch_one(actor.conn())
    .await?;
    actor
        .audit("user.import_finish", "user_import", id, None, Some(json!({ "state": state, "rows": total, "created": created, "failed": failed })))
        .await?;
    actor.commit().await
}

/// Merges the search index's pending entries for the people just made,
/// rather than leave every search to read them until the list fills
/// (migration 0037). Before the import is reported done, so that its time
/// counts it. Only speed depends on it: a failure is logged.
async fn tidy_search(importer: &Caller, id: Uuid) {
    let tidied = async {
        let mut actor = importer.require(Perm::UserCreate).await?;
        sqlx::query("SELECT steward_user_search_tidy()").execute(actor.conn()).await?;
        actor.commit().await
    };
    if let Err(error) = tidied.await {
        tracing::warn!(?error, %id, "could not merge the search index's pending entries after an import");
    }
}

type StatusRow = (Uuid, String, i32, i32, i32, i32, serde_json::Value, String, chrono::DateTime<chrono::Utc>, Option<String>);

/// The report's columns. The state as reported: a running import that has
/// not moved for two minutes was cut off (Steward restarted under it).
/// `failures`: the refused rows' column, or an empty list for the overview.
fn select_status(failures: &str) -> String {
    format!(
        "SELECT i.id, CASE WHEN i.state = 'running' AND i.updated_at < now() - interval '2 minutes' THEN 'interrupted' ELSE i.state END,
                i.total, i.processed, i.created, i.failed, {failures}, i.file_name, i.created_at, u.display_name
           FROM user_imports i LEFT JOIN users u ON u.tenant_id = i.tenant_id AND u.id = i.created_by"
    )
}

fn status((id, state, total, processed, created, failed_count, failures, file_name, started, by): StatusRow) -> ImportStatus {
    ImportStatus {
        id,
        state,
        total,
        processed,
        created,
        failed_count,
        failed: serde_json::from_value(failures).unwrap_or_default(),
        file_name,
        started: crate::text::when(started),
        started_by: by.unwrap_or_else(|| "Platform staff".into()),
    }
}

/// An import's progress and refused rows. Needs `user:create`.
pub async fn get(import_id: Uuid) -> Result<ImportStatus, AppError> {
    let mut actor = require(Perm::UserCreate).await?;
    let row: StatusRow = sqlx::query_as(&format!("{} WHERE i.tenant_id = $1 AND i.id = $2", select_status("i.failures")))
        .bind(actor.tenant_id())
        .bind(import_id)
        .fetch_optional(actor.conn())
        .await?
        .ok_or(AppError::NotFound)?;
    // The import's rows are written after the answer that started it, so
    // each look at its progress renews the person's read-your-writes mark
    // (with a replica) past the rows written so far.
    actor.meta().writes.mark();
    actor.commit().await?;
    Ok(status(row))
}

/// The tenant's latest imports, without their refused rows. Needs `user:create`.
pub async fn recent() -> Result<Vec<ImportStatus>, AppError> {
    let mut actor = require(Perm::UserCreate).await?;
    let rows: Vec<StatusRow> = sqlx::query_as(&format!("{} WHERE i.tenant_id = $1 ORDER BY i.created_at DESC LIMIT 20", select_status("'[]'::jsonb")))
    .bind(actor.tenant_id())
    .fetch_all(actor.conn())
    .await?;
    actor.commit().await?;
    Ok(rows.into_iter().map(status).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_by_header_name_and_broken_lines_are_reported() {
        let file = "\u{feff}Name,EMAIL,role\nAnn,ann@x.test,Member\n\n\"Bo, Jr\",bo@x.test,\nCy,cy@x.test\n";
        let (rows, broken) = parse(file.as_bytes()).unwrap();
        assert_eq!(
            rows,
            [
                Row { line: 2, email: "ann@x.test".into(), name: "Ann".into(), role: "Member".into() },
                Row { line: 4, email: "bo@x.test".into(), name: "Bo, Jr".into(), role: "".into() },
            ]
        );
        assert_eq!(broken.len(), 1);
        assert_eq!(broken[0].line, 5);
        assert_eq!(broken[0].reason, "This line has 2 fields; the header has 3.");
    }

    #[test]
    fn a_file_without_the_columns_or_rows_is_refused_whole() {
        assert!(parse(b"mail,who\na@x.test,A\n").unwrap_err().contains("email, name"));
        assert_eq!(parse(b"email,name\n").unwrap_err(), "The file has no rows under its header.");
        assert!(parse(b"").is_err());
        let (rows, _) = parse(b"email,display_name\na@x.test,A\n").unwrap();
        assert_eq!(rows[0].name, "A");
    }

    #[test]
    fn text_that_is_not_utf8_is_a_broken_line_not_a_panic() {
        let (rows, broken) = parse(b"email,name\n\xff@x.test,A\nb@x.test,B\n").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(broken[0].line, 2);
    }
}
