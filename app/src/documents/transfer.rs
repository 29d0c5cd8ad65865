//! Uploads and downloads, as plain axum handlers (multipart in, a byte
//! stream out), through the same authorisation and audit path as the
//! server functions.
//!
//! - `POST /documents/upload` (fields `title`, `tags`, `note`, `file`): a new
//!   document; answered with a redirect to its page.
//! - `POST /documents/{id}/versions` (fields `note`, `file`): a new version.
//! - `GET /documents/{id}/versions/{n}/download`: the bytes of version n.
//!
//! A refused upload sends the browser back to its form with the message
//! and what was typed in the query string.

use super::blobs::{BlobProblem, Stager, TooLarge};
use super::ssr::NewVersion;
use crate::text::percent_encode;
use crate::authz::ssr::Caller;
use crate::authz::Perm;
use crate::error::AppError;
use crate::ssr::AppState;
use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

/// What the upload form sent.
#[derive(Default)]
struct Form {
    title: String,
    tags: String,
    note: String,
    file: Option<(String, String, super::blobs::Staged)>,
}

/// Why an upload was refused: the field it belongs to, and the message.
struct Refusal(&'static str, String);

/// Back to the form at `page`, with the message beside `field` and what was typed.
fn back(page: &str, refusal: Refusal, form: &Form) -> Response {
    let mut to = format!("{page}?field={}&error={}", refusal.0, percent_encode(&refusal.1, b"-_."));
    for (k, v) in [("title", &form.title), ("tags", &form.tags), ("note", &form.note)] {
        if !v.is_empty() {
            let v: String = v.chars().take(300).collect();
            to.push_str(&format!("&{k}={}", percent_encode(&v, b"-_.")));
        }
    }
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

/// A file name as sent, without any folder part or control characters.
pub fn clean_file_name(sent: &str) -> String {
    let base = sent.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    let name = name.trim().to_string();
    if name.is_empty() || name == "." || name == ".." { "upload".into() } else { name }
}

/// A media type as sent (`type/subtype`, parameters dropped), or
/// `application/octet-stream` when it is missing or malformed.
pub fn clean_content_type(sent: Option<&str>) -> String {
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
    let essence = sent.unwrap_or_default().split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.split_once('/') {
        Some((t, s)) if token(t) && token(s) && essence.len() <= 100 => essence,
        _ => "application/octet-stream".into(),
    }
}

async fn read_form(state: &AppState, mut multipart: Multipart, form: &mut Form) -> Result<(), Refusal> {
    let limit = state.max_upload_bytes;
    let too_big = || Refusal("file", format!("The file is larger than the limit of {}: upload a smaller file.", super::human_size(limit as i64)));
    let broken = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE { too_big() } else { Refusal("file", "The upload did not arrive whole: try again.".into()) }
    };
    let storage = |e: std::io::Error| {
        tracing::error!(error = %e, store = %state.blobs.describe(), "document storage failed");
        Refusal("file", "Steward could not store the file just now. Try again; if it keeps failing, tell your administrator.".into())
    };
    while let Some(mut field) = multipart.next_field().await.map_err(broken)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let sent_name = field.file_name().unwrap_or_default().to_string();
            let file_name = clean_file_name(&sent_name);
            let content_type = clean_content_type(field.content_type());
            let mut stager = Stager::new(state.blobs.as_ref(), limit).await.map_err(storage)?;
            while let Some(chunk) = field.chunk().await.map_err(broken)? {
                match stager.write(&chunk).await {
                    Ok(()) => {}
                    Err(Ok(TooLarge)) => return Err(too_big()),
                    Err(Err(e)) => return Err(storage(e)),
                }
            }
            let staged = stager.finish().await.map_err(storage)?;
            // No file chosen: browsers send an empty part without a name.
            if staged.size == 0 && sent_name.is_empty() {
                continue;
            }
            form.file = Some((file_name, content_type, staged));
        } else {
            let text = field.text().await.map_err(broken)?;
            if text.len() > 64 * 1024 {
                return Err(Refusal("file", "The form's fields are too long.".into()));
            }
            match name.as_str() {
                "title" => form.title = text,
                "tags" => form.tags = text,
                "note" => form.note = text,
                _ => {}
            }
        }
    }
    Ok(())
}

fn check_note(note: &str) -> Result<String, Refusal> {
    let note = note.trim();
    if note.chars().count() > 500 {
        return Err(Refusal("note", "A note has 500 characters at most.".into()));
    }
    Ok(note.to_string())
}

/// `POST /documents/upload`: a new document. Needs `document:write`.
pub async fn upload(State(state): State<AppState>, caller: Caller, multipart: Multipart) -> Response {
    // Authorise before reading a byte; no transaction is held while the file arrives.
    if let Err(e) = caller.require(Perm::DocumentWrite).await {
        return e.into_response();
    }
    let mut form = Form::default();
    if let Err(refusal) = read_form(&state, multipart, &mut form).await {
        return back("/documents", refusal, &form);
    }
    let Some((file_name, content_type, staged)) = form.file.take() else {
        return back("/documents", Refusal("file", "Choose a file to upload.".into()), &form);
    };
    let title = if form.title.trim().is_empty() { file_name.clone() } else { form.title.trim().to_string() };
    if let Some(message) = super::title_problem(&title) {
        return back("/documents", Refusal("title", message), &form);
    }
    let tags = match super::parse_tags(&form.tags) {
        Ok(tags) => tags,
        Err(message) => return back("/documents", Refusal("tags", message), &form),
    };
    let note = match check_note(&form.note) {
        Ok(note) => note,
        Err(refusal) => return back("/documents", refusal, &form),
    };
    let (sha256, size) = (staged.sha256.clone(), staged.size as i64);
    if let Err(e) = state.blobs.put(staged).await {
        tracing::error!(error = %e, "could not store a document");
        return AppError::Internal.into_response();
    }
    let result = async {
        let mut actor = caller.require(Perm::DocumentWrite).await?;
        let version = NewVersion { sha256: &sha256, size, file_name: &file_name, content_type: &content_type, note: &note };
        let id = super::ssr::create(&mut actor, &title, &tags, &version).await?;
        actor.commit().await?;
        Ok::<_, AppError>(id)
    }
    .await;
    match result {
        Ok(id) => crate::ssr::see_other_with_notice(&state, &format!("/documents/{id}"), "Document uploaded."),
        // The plan's storage, say: beside the file, with what was typed.
        Err(AppError::Conflict(message)) => back("/documents", Refusal("file", message), &form),
        Err(e) => e.into_response(),
    }
}

/// `POST /documents/{id}/versions`: a new version. Needs `document:write`.
pub async fn upload_version(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Response {
    if let Err(e) = caller.require(Perm::DocumentWrite).await {
        return e.into_response();
    }
    let Ok(id) = id.parse::<Uuid>() else { return AppError::NotFound.into_response() };
    let page = format!("/documents/{id}");
    let mut form = Form::default();
    if let Err(refusal) = read_form(&state, multipart, &mut form).await {
        return back(&page, refusal, &form);
    }
    let Some((file_name, content_type, staged)) = form.file.take() else {
        return back(&page, Refusal("file", "Choose a file to upload.".into()), &form);
    };
    let note = match check_note(&form.note) {
        Ok(note) => note,
        Err(refusal) => return back(&page, refusal, &form),
    };
    let (sha256, size) = (staged.sha256.clone(), staged.size as i64);
    if let Err(e) = state.blobs.put(staged).await {
        tracing::error!(error = %e, "could not store a document version");
        return AppError::Internal.into_response();
    }
    let result = async {
        let mut actor = caller.require(Perm::DocumentWrite).await?;
        let version = NewVersion { sha256: &sha256, size, file_name: &file_name, content_type: &content_type, note: &note };
        let number = super::ssr::add_version(&mut actor, id, &version).await?;
        actor.commit().await?;
        Ok::<_, AppError>(number)
    }
    .await;
    match result {
        Ok(number) => crate::ssr::see_other_with_notice(&state, &page, &format!("Version {number} uploaded.")),
        Err(AppError::Conflict(message)) => back(&page, Refusal("file", message), &form),
        Err(e) => e.into_response(),
    }
}

/// `Content-Disposition` for a download: an ASCII name and the exact UTF-8 one.
pub fn disposition(file_name: &str) -> String {
    let ascii: String = file_name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", percent_encode(file_name, b"-_.~"))
}

/// `GET /documents/{id}/versions/{n}/download`. Needs `document:read`; the
/// download is recorded as an event. Content that is missing or no longer
/// matches its checksum is reported, never sent.
pub async fn download(State(state): State<AppState>, caller: Caller, Path((id, number)): Path<(String, String)>) -> Response {
    let mut actor = match caller.require(Perm::DocumentRead).await {
        Ok(actor) => actor,
        Err(e) => return e.into_response(),
    };
    let (Ok(id), Ok(number)) = (id.parse::<Uuid>(), number.parse::<i32>()) else { return AppError::NotFound.into_response() };
    let (sha256, size, file_name, content_type) = match super::ssr::version_for_download(&mut actor, id, number).await {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    let blob = match state.blobs.open(&sha256, size as u64).await {
        Ok(blob) => blob,
        Err(problem) => {
            let what = match &problem {
                BlobProblem::Missing => "is missing from storage",
                BlobProblem::Corrupt => "no longer matches its checksum (the stored file was damaged)",
                BlobProblem::Io(_) => "cannot be read from storage just now",
            };
            tracing::error!(%id, number, %sha256, ?problem, "a document version cannot be served");
            let message = format!("Version {number} of this document {what}, so it was not sent. Tell your administrator: it must be restored from a backup.");
            return (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message).into_response();
        }
    };
    let recorded = actor
        .audit("document.download", "document", id, None, Some(serde_json::json!({ "version": number, "sha256": sha256 })))
        .await;
    if let Err(e) = recorded {
        return e.into_response();
    }
    if let Err(e) = actor.commit().await {
        return e.into_response();
    }
    let mut response = Response::new(Body::from_stream(tokio_util::io::ReaderStream::with_capacity(blob.file, 64 * 1024)));
    let h = response.headers_mut();
    let value = |s: &str| HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, value(&content_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(blob.size));
    h.insert(header::CONTENT_DISPOSITION, value(&disposition(&file_name)));
    h.insert(header::ETAG, value(&format!("\"{sha256}\"")));
    // Never rendered as a page of this site, whatever the file holds.
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_names_and_types_are_cleaned() {
        assert_eq!(clean_file_name("C:\\fakepath\\report.pdf"), "report.pdf");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name(""), "upload");
        assert_eq!(clean_content_type(Some("Text/Plain; charset=utf-8")), "text/plain");
        assert_eq!(clean_content_type(Some("text/html\r\nX: y")), "application/octet-stream");
        assert_eq!(clean_content_type(None), "application/octet-stream");
    }

    #[test]
    fn the_download_name_survives_any_characters() {
        assert_eq!(disposition("plan \"v2\".pdf"), "attachment; filename=\"plan _v2_.pdf\"; filename*=UTF-8''plan%20%22v2%22.pdf");
        assert!(disposition("Übersicht.pdf").starts_with("attachment; filename=\"_bersicht.pdf\"; filename*=UTF-8''%C3%9Cbersicht.pdf"));
    }
}
