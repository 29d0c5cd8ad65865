//! Documents on the server: the list, a document's page, and the writes of
//! the head (title, tags, metadata, delete, restore). Uploads and downloads
//! are in [`super::transfer`].

use crate::ids::{TenantId};
use super::{DocDetail, DocList, DocQuery, DocRow, VersionRow};
use crate::audit::record::{history, stale};
use crate::text::when;
use crate::authz::ssr::{require, Actor};
use crate::authz::Perm;
use crate::error::{AppError, FieldError};
use crate::db::like_pattern;
use crate::users::{Count, COUNT_CAP, PAGE_SIZE};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use sqlx::{PgConnection, QueryBuilder};
use uuid::Uuid;

/// Words typed into the search box match a misspelt title when their
/// trigram word similarity reaches this (pg_trgm's default is 0.6).
const FUZZY_THRESHOLD: &str = "0.4";

fn max_upload_bytes() -> u64 {
    crate::ssr::app_state().map(|s| s.max_upload_bytes).unwrap_or(super::DEFAULT_MAX_UPLOAD_MB * 1024 * 1024)
}

/// The WHERE clause of the list and its count.
fn push_filters(b: &mut QueryBuilder<'_, sqlx::Postgres>, tenant_id: TenantId, query: &DocQuery) -> Result<(), AppError> {
    b.push(" WHERE d.tenant_id = ").push_bind(tenant_id);
    b.push(if query.deleted == "1" { " AND d.deleted_at IS NOT NULL" } else { " AND d.deleted_at IS NULL" });
    let q = query.q.trim();
    if q.chars().count() > 200 {
        return Err(AppError::invalid("q", "Search for 200 characters at most."));
    }
    if !q.is_empty() {
        // Words (title, metadata, tags), a substring of the title, or a
        // title close to what was typed: each served by its own index.
        b.push(" AND (d.search @@ websearch_to_tsquery('simple', ")
            .push_bind(q.to_string())
            .push(") OR lower(d.title) LIKE ")
            .push_bind(like_pattern(q))
            .push(" OR ")
            .push_bind(q.to_lowercase())
            .push(" <% lower(d.title))");
    }
    let tag = query.tag.trim().to_lowercase();
    if !tag.is_empty() {
        b.push(" AND d.tags @> ARRAY[").push_bind(tag).push("]::text[]");
    }
    if !query.uploader.is_empty() {
        let uploader: Uuid = query.uploader.parse().map_err(|_| AppError::invalid("uploader", "Choose an uploader from the list."))?;
        b.push(" AND d.created_by = ").push_bind(uploader);
    }
    crate::db::keyset::push_days(b, "d.created_at", &query.from, &query.to)?;
    Ok(())
}

/// One page of the tenant's documents, newest first. Needs `document:read`.
pub async fn list(query: DocQuery) -> Result<DocList, AppError> {
    let mut actor = crate::authz::ssr::require_read(Perm::DocumentRead).await?;
    let tenant_id = actor.tenant_id();
    if !query.q.trim().is_empty() {
        sqlx::query!("SELECT set_config('pg_trgm.word_similarity_threshold', $1, true)", FUZZY_THRESHOLD)
            .fetch_one(actor.conn())
            .await?;
    }
    let mut b = QueryBuilder::new(
        "SELECT d.id, d.title, d.file_name, d.content_type, d.size_bytes, d.current_version, d.tags,
                u.display_name AS uploader, d.created_at, d.updated_at
           FROM documents d LEFT JOIN users u ON u.tenant_id = d.tenant_id AND u.id = d.created_by",
    );
    push_filters(&mut b, tenant_id, &query)?;
    crate::db::keyset::push_after(&mut b, "d.created_at", "d.id", &query.after)?;
    b.push(format!(" ORDER BY d.created_at DESC, d.id DESC LIMIT {}", PAGE_SIZE + 1));
    let mut rows: Vec<DocumentRecord> = b.build_query_as().fetch_all(actor.conn()).await?;
    let next = (rows.len() > PAGE_SIZE).then(|| {
        rows.truncate(PAGE_SIZE);
        let last = rows.last().expect("a full page");
        crate::db::keyset::cursor(last.created_at, last.id)
    });

    let mut c = QueryBuilder::new("SELECT count(*) FROM (SELECT 1 FROM documents d");
    push_filters(&mut c, tenant_id, &query)?;
    c.push(format!(" LIMIT {}) capped", COUNT_CAP + 1));
    let count = Count::capped(c.build_query_scalar().fetch_one(actor.conn()).await?);

    let menus = crate::ssr::app_state()?.menus;
    let uploaders = menus.get(tenant_id, "document_uploaders", uploaders(actor.conn(), tenant_id)).await?;
    // The most used tags among the latest documents (a bounded read).
    let tags: Vec<String> = menus
        .get(tenant_id, "document_tags", async {
            Ok(sqlx::query_scalar!(r#"SELECT t AS "t!" FROM (SELECT tags FROM documents WHERE tenant_id = $1 AND deleted_at IS NULL
                                  ORDER BY created_at DESC LIMIT 5000) recent, unnest(recent.tags) t
                  GROUP BY t ORDER BY count(*) DESC, t LIMIT 30"#, tenant_id.0)
            .fetch_all(actor.conn())
            .await?)
        })
        .await?;
    actor.commit().await?;
    Ok(DocList {
        rows: rows
            .into_iter()
            .map(|r| DocRow {
                id: r.id,
                title: r.title,
                file_name: r.file_name,
                content_type: r.content_type,
                size_bytes: r.size_bytes,
                current_version: r.current_version,
                tags: r.tags,
                uploader: r.uploader.unwrap_or_else(|| "Platform staff".into()),
                created_at: when(r.created_at),
                updated_at: when(r.updated_at),
            })
            .collect(),
        count,
        next,
        uploaders,
        tags,
        max_upload_bytes: max_upload_bytes(),
    })
}

/// Who uploaded documents here: the distinct creators, found by skipping
/// through the creator index (cheap however many documents there are).
async fn uploaders(conn: &mut PgConnection, tenant_id: TenantId) -> Result<Vec<(Uuid, String)>, AppError> {
    Ok(sqlx::query!(
        r#"WITH RECURSIVE c(id, n) AS (
             (SELECT created_by, 1 FROM documents WHERE tenant_id = $1 AND created_by IS NOT NULL ORDER BY created_by LIMIT 1)
             UNION ALL
             SELECT (SELECT d.created_by FROM documents d WHERE d.tenant_id = $1 AND d.created_by > c.id ORDER BY d.created_by LIMIT 1), c.n + 1
               FROM c WHERE c.id IS NOT NULL AND c.n < 200)
         SELECT u.id, u.display_name FROM c JOIN users u ON u.tenant_id = $1 AND u.id = c.id ORDER BY lower(u.display_name)"#,
        tenant_id.0
    )
    .map(|r| (r.id, r.display_name))
    .fetch_all(conn)
    .await?)
}

type Head = (String, String, String, i64, i32, Vec<String>, Value, i32, bool, Option<String>, DateTime<Utc>);

async fn head(conn: &mut PgConnection, tenant_id: TenantId, id: Uuid, lock: bool) -> Result<Head, AppError> {
    let sql = format!(
        "SELECT d.title, d.file_name, d.content_type, d.size_bytes, d.current_version, d.tags, d.metadata, d.version,
                d.deleted_at IS NOT NULL, u.display_name, d.created_at
           FROM documents d LEFT JOIN users u ON u.tenant_id = d.tenant_id AND u.id = d.created_by
          WHERE d.tenant_id = $1 AND d.id = $2{}",
        if lock { " FOR UPDATE OF d" } else { "" }
    );
    sqlx::query_as(&sql).bind(tenant_id).bind(id).fetch_optional(conn).await?.ok_or(AppError::NotFound)
}

/// Metadata as the page edits it: string values as they are, others as JSON.
fn metadata_pairs(metadata: &Value) -> Vec<(String, String)> {
    metadata
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect())
        .unwrap_or_default()
}

/// A document with its versions and history. Needs `document:read`.
pub async fn detail(id: Uuid) -> Result<DocDetail, AppError> {
    let mut actor = require(Perm::DocumentRead).await?;
    let tenant_id = actor.tenant_id();
    let (title, file_name, content_type, size_bytes, current_version, tags, metadata, version, deleted, uploader, created_at) =
        head(actor.conn(), tenant_id, id, false).await?;
    let versions: Vec<(i32, i64, String, String, String, Option<String>, String, DateTime<Utc>)> = sqlx::query!(r#"SELECT v.number AS "number!: i32", v.size_bytes AS "size_bytes!: i64", v.sha256 AS "sha256!: String", v.file_name AS "file_name!: String", v.content_type AS "content_type!: String", u.display_name AS "display_name?: String", v.note AS "note!: String", v.created_at AS "created_at!: DateTime<Utc>" FROM document_versions v LEFT JOIN users u ON u.tenant_id = v.tenant_id AND u.id = v.uploaded_by
          WHERE v.tenant_id = $1 AND v.document_id = $2
          ORDER BY v.number DESC LIMIT 200"#, tenant_id.0, id).map(|r| (r.number, r.size_bytes, r.sha256, r.file_name, r.content_type, r.display_name, r.note, r.created_at))
    .fetch_all(actor.conn())
    .await?;
    let history = history(actor.conn(), tenant_id, "document", id, 20).await?;
    actor.commit().await?;
    Ok(DocDetail {
        id,
        title,
        file_name,
        content_type,
        size_bytes,
        current_version,
        tags,
        metadata: metadata_pairs(&metadata),
        versions: versions
            .into_iter()
            .map(|(number, size_bytes, sha256, file_name, content_type, uploader, note, at)| VersionRow {
                number,
                size_bytes,
                sha256,
                file_name,
                content_type,
                uploader: uploader.unwrap_or_else(|| "Platform staff".into()),
                note,
                created_at: when(at),
            })
            .collect(),
        deleted,
        version,
        uploader: uploader.unwrap_or_else(|| "Platform staff".into()),
        created_at: when(created_at),
        history,
        max_upload_bytes: max_upload_bytes(),
    })
}

fn metadata_object(pairs: &[(String, String)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<Map<_, _>>())
}

/// Saves the title, tags and metadata over the version the form showed.
/// Needs `document:write`.
pub async fn update(id: Uuid, version: i32, title: &str, tags: &str, keys: &[String], values: &[String]) -> Result<(), AppError> {
    let mut actor = require(Perm::DocumentWrite).await?;
    let mut errors = Vec::new();
    if let Some(message) = super::title_problem(title) {
        errors.push(FieldError { field: "title".into(), message });
    }
    let tags = super::parse_tags(tags).map_err(|message| errors.push(FieldError { field: "tags".into(), message })).unwrap_or_default();
    let pairs = super::parse_metadata(keys, values).map_err(|e| errors.push(e)).unwrap_or_default();
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let tenant_id = actor.tenant_id();
    let (old_title, _, _, _, _, old_tags, old_metadata, current, deleted, _, _) = head(actor.conn(), tenant_id, id, true).await?;
    if deleted {
        return Err(AppError::Conflict("Restore the document first.".into()));
    }
    if current != version {
        return Err(stale(actor.conn(), tenant_id, "document", id).await);
    }
    let (title, metadata) = (title.trim(), metadata_object(&pairs));
    let mut before = Map::new();
    let mut after = Map::new();
    if old_title != title {
        before.insert("title".into(), json!(old_title));
        after.insert("title".into(), json!(title));
    }
    if old_tags != tags {
        before.insert("tags".into(), json!(old_tags));
        after.insert("tags".into(), json!(tags));
    }
    if old_metadata != metadata {
        before.insert("metadata".into(), old_metadata);
        after.insert("metadata".into(), metadata.clone());
    }
    if after.is_empty() {
        return actor.commit().await;
    }
    sqlx::query!("UPDATE documents SET title = $3, tags = $4, metadata = $5, version = version + 1, updated_at = now()
          WHERE tenant_id = $1 AND id = $2", tenant_id.0, id, title, &tags, &metadata)
    .execute(actor.conn())
    .await?;
    actor.audit("document.update", "document", id, Some(Value::Object(before)), Some(Value::Object(after))).await?;
    actor.commit().await
}

/// Deletes (soft) or restores a document. Needs `document:delete`.
pub async fn set_deleted(id: Uuid, delete: bool) -> Result<(), AppError> {
    let mut actor = require(Perm::DocumentDelete).await?;
    let tenant_id = actor.tenant_id();
    let (title, _, _, _, _, _, _, _, deleted, _, _) = head(actor.conn(), tenant_id, id, true).await?;
    if deleted == delete {
        return Err(AppError::Conflict(if delete { "The document is already deleted." } else { "The document is not deleted." }.into()));
    }
    sqlx::query!("UPDATE documents SET deleted_at = CASE WHEN $3 THEN now() END, version = version + 1, updated_at = now()
          WHERE tenant_id = $1 AND id = $2", tenant_id.0, id, delete)
    .execute(actor.conn())
    .await?;
    let action = if delete { "document.delete" } else { "document.restore" };
    actor.audit(action, "document", id, Some(json!({ "title": title, "deleted": !delete })), Some(json!({ "deleted": delete }))).await?;
    actor.commit().await
}

/// What an upload adds: its stored content and how it was sent.
pub struct NewVersion<'a> {
    pub sha256: &'a str,
    pub size: i64,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub note: &'a str,
}

/// Creates a document with its first version, in the actor's transaction.
pub async fn create(actor: &mut Actor, title: &str, tags: &[String], v: &NewVersion<'_>) -> Result<Uuid, AppError> {
    let tenant_id = actor.tenant_id();
    let by = actor.local_user_id();
    let id: Uuid = sqlx::query_scalar!("INSERT INTO documents (tenant_id, title, file_name, content_type, size_bytes, tags, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id", tenant_id.0, title, v.file_name, v.content_type, v.size, tags, by.map(|id| id.0))
    .fetch_one(actor.conn())
    .await?;
    insert_version(actor, id, 1, v).await?;
    actor
        .audit(
            "document.create",
            "document",
            id,
            None,
            Some(json!({ "title": title, "tags": tags, "version": 1, "file_name": v.file_name, "content_type": v.content_type,
                         "size_bytes": v.size, "sha256": v.sha256, "note": v.note })),
        )
        .await?;
    Ok(id)
}

/// Adds a version to a live document, in the actor's transaction; returns
/// its number.
pub async fn add_version(actor: &mut Actor, id: Uuid, v: &NewVersion<'_>) -> Result<i32, AppError> {
    let tenant_id = actor.tenant_id();
    let (_, file_name, content_type, size, current, _, _, _, deleted, _, _) = head(actor.conn(), tenant_id, id, true).await?;
    if deleted {
        return Err(AppError::Conflict("Restore the document first.".into()));
    }
    let number = current + 1;
    insert_version(actor, id, number, v).await?;
    sqlx::query!("UPDATE documents SET current_version = $3, file_name = $4, content_type = $5, size_bytes = $6, updated_at = now()
          WHERE tenant_id = $1 AND id = $2", tenant_id.0, id, number, v.file_name, v.content_type, v.size)
    .execute(actor.conn())
    .await?;
    actor
        .audit(
            "document.version_add",
            "document",
            id,
            Some(json!({ "version": current, "file_name": file_name, "content_type": content_type, "size_bytes": size })),
            Some(json!({ "version": number, "file_name": v.file_name, "content_type": v.content_type, "size_bytes": v.size,
                         "sha256": v.sha256, "note": v.note })),
        )
        .await?;
    Ok(number)
}

async fn insert_version(actor: &mut Actor, id: Uuid, number: i32, v: &NewVersion<'_>) -> Result<(), AppError> {
    let tenant_id = actor.tenant_id();
    let by = actor.local_user_id();
    sqlx::query!("INSERT INTO document_versions (tenant_id, document_id, number, sha256, size_bytes, file_name, content_type, note, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", tenant_id.0, id, number, v.sha256, v.size, v.file_name, v.content_type, v.note, by.map(|id| id.0))
    .execute(actor.conn())
    .await?;
    Ok(())
}

/// One stored version, for a download: (sha256, size, file name, content
/// type). A deleted document's versions are for those who may restore it.
pub async fn version_for_download(actor: &mut Actor, id: Uuid, number: i32) -> Result<(String, i64, String, String), AppError> {
    let tenant_id = actor.tenant_id();
    let may_see_deleted = actor.me().can(Perm::DocumentDelete.key());
    let row: Option<(String, i64, String, String, bool)> = sqlx::query!(r#"SELECT v.sha256 AS "sha256!: String", v.size_bytes AS "size_bytes!: i64", v.file_name AS "file_name!: String", v.content_type AS "content_type!: String", d.deleted_at IS NOT NULL AS "c4!: bool" FROM document_versions v JOIN documents d ON d.tenant_id = v.tenant_id AND d.id = v.document_id
          WHERE v.tenant_id = $1 AND v.document_id = $2 AND v.number = $3"#, tenant_id.0, id, number).map(|r| (r.sha256, r.size_bytes, r.file_name, r.content_type, r.c4))
    .fetch_optional(actor.conn())
    .await?;
    match row {
        Some((_, _, _, _, true)) if !may_see_deleted => Err(AppError::NotFound),
        Some((sha, size, name, content_type, _)) => Ok((sha, size, name, content_type)),
        None => Err(AppError::NotFound),
    }
}

/// A document as read for a list: the page's rows and the JSON API's.
#[derive(sqlx::FromRow)]
pub struct DocumentRecord {
    pub id: Uuid,
    pub title: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub current_version: i32,
    pub tags: Vec<String>,
    /// The uploader's name; `None` for platform staff or a person since deleted.
    pub uploader: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Up to `limit` live documents, newest first, after the id `after`.
pub async fn records_after(actor: &mut Actor, after: Option<Uuid>, limit: i64) -> Result<Vec<DocumentRecord>, AppError> {
    let tenant_id = actor.tenant_id();
    Ok(sqlx::query_as!(
        DocumentRecord,
        r#"SELECT d.id, d.title, d.file_name, d.content_type, d.size_bytes, d.current_version, d.tags,
                  u.display_name AS "uploader?", d.created_at AS "created_at: _", d.updated_at AS "updated_at: _"
             FROM documents d LEFT JOIN users u ON u.tenant_id = d.tenant_id AND u.id = d.created_by
            WHERE d.tenant_id = $1 AND d.deleted_at IS NULL AND ($2::uuid IS NULL OR d.id < $2)
            ORDER BY d.id DESC LIMIT $3"#,
        tenant_id.0,
        after,
        limit
    )
    .fetch_all(actor.conn())
    .await?)
}
