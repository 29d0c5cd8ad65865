//! Documents: files with immutable versions. The head (`documents`) holds the
//! title, tags, metadata and the current version; each upload adds a row to
//! `document_versions`, which a trigger keeps from ever changing, and its
//! content to the blob store under its SHA-256.

pub mod pages;
mod server;
pub use server::*;

#[cfg(feature = "ssr")]
pub mod blobs;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod transfer;

use crate::error::FieldError;
use crate::audit::HistoryRow;
use crate::users::Count;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The size limit of one upload when none is configured.
pub const DEFAULT_MAX_UPLOAD_MB: u64 = 25;
/// At most this many tags on a document, each of at most [`TAG_MAX_CHARS`].
pub const MAX_TAGS: usize = 20;
pub const TAG_MAX_CHARS: usize = 40;
/// At most this many metadata pairs; keys and values this long at most.
pub const MAX_METADATA: usize = 50;
pub const META_KEY_MAX_CHARS: usize = 64;
pub const META_VALUE_MAX_CHARS: usize = 1000;

/// The documents list's filters and position, as the query string says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocQuery {
    /// Words of the title, metadata or tags; a misspelt title still matches.
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub tag: String,
    /// The uploader's user id.
    #[serde(default)]
    pub uploader: String,
    /// Uploaded on or after / on or before, `YYYY-MM-DD`.
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// `1` lists the deleted documents.
    #[serde(default)]
    pub deleted: String,
    #[serde(default)]
    pub after: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocRow {
    pub id: Uuid,
    pub title: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub current_version: i32,
    pub tags: Vec<String>,
    pub uploader: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocList {
    pub rows: Vec<DocRow>,
    pub count: Count,
    pub next: Option<String>,
    /// People who uploaded documents here: (id, name).
    pub uploaders: Vec<(Uuid, String)>,
    /// The tenant's most used tags.
    pub tags: Vec<String>,
    /// The upload size limit, in bytes.
    pub max_upload_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRow {
    pub number: i32,
    pub size_bytes: i64,
    pub sha256: String,
    pub file_name: String,
    pub content_type: String,
    pub uploader: String,
    pub note: String,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocDetail {
    pub id: Uuid,
    pub title: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub current_version: i32,
    pub tags: Vec<String>,
    pub metadata: Vec<(String, String)>,
    pub versions: Vec<VersionRow>,
    pub deleted: bool,
    /// The head's version, for optimistic concurrency.
    pub version: i32,
    pub uploader: String,
    pub created_at: String,
    pub history: Vec<HistoryRow>,
    pub max_upload_bytes: u64,
}

/// Reads tags typed as a comma-separated list: trimmed, lower-cased, each
/// once, in the order given.
pub fn parse_tags(text: &str) -> Result<Vec<String>, String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in text.split(',').map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()) {
        if tag.chars().count() > TAG_MAX_CHARS {
            return Err(format!("A tag has {TAG_MAX_CHARS} characters at most."));
        }
        if tag.chars().any(char::is_control) {
            return Err("Tags are plain text.".into());
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(format!("A document has {MAX_TAGS} tags at most."));
    }
    Ok(tags)
}

/// Checks a document's title.
pub fn title_problem(title: &str) -> Option<String> {
    let n = title.trim().chars().count();
    if n == 0 {
        Some("Give the document a title.".into())
    } else if n > 200 {
        Some("A title has 200 characters at most.".into())
    } else if title.chars().any(char::is_control) {
        Some("A title is one line of text.".into())
    } else {
        None
    }
}

/// Pairs the metadata form's keys and values: rows with neither are
/// skipped; a value without a key, a key twice, or too long is refused.
pub fn parse_metadata(keys: &[String], values: &[String]) -> Result<Vec<(String, String)>, FieldError> {
    let problem = |message: String| FieldError { field: "metadata".into(), message };
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let key = key.trim();
        let value = values.get(i).map(|v| v.trim()).unwrap_or_default();
        if key.is_empty() && value.is_empty() {
            continue;
        }
        if key.is_empty() {
            return Err(problem(format!("The value \u{201c}{}\u{201d} needs a key.", value.chars().take(40).collect::<String>())));
        }
        if key.chars().count() > META_KEY_MAX_CHARS || key.chars().any(char::is_control) {
            return Err(problem(format!("A key is one line of {META_KEY_MAX_CHARS} characters at most.")));
        }
        if value.chars().count() > META_VALUE_MAX_CHARS {
            return Err(problem(format!("A value has {META_VALUE_MAX_CHARS} characters at most.")));
        }
        if pairs.iter().any(|(k, _)| k == key) {
            return Err(problem(format!("The key \u{201c}{key}\u{201d} is there twice.")));
        }
        pairs.push((key.to_string(), value.to_string()));
    }
    if pairs.len() > MAX_METADATA {
        return Err(problem(format!("A document has {MAX_METADATA} metadata entries at most.")));
    }
    Ok(pairs)
}

/// A size as people read it.
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut size = bytes as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    if size < 10.0 { format!("{size:.1} {}", UNITS[unit]) } else { format!("{size:.0} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_trimmed_lowered_and_kept_once() {
        assert_eq!(parse_tags(" Finance, q3 ,,finance").unwrap(), ["finance", "q3"]);
        assert!(parse_tags(&"x".repeat(41)).is_err());
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(parse_tags(&many.join(",")).is_err());
    }

    #[test]
    fn metadata_pairs_skip_blank_rows_and_refuse_bad_ones() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_metadata(&s(&["client", "", " year "]), &s(&["Initech", "", "2026"])).unwrap(),
            [("client".to_string(), "Initech".to_string()), ("year".to_string(), "2026".to_string())]
        );
        assert!(parse_metadata(&s(&["", "a"]), &s(&["orphan", "1"])).unwrap_err().message.contains("needs a key"));
        assert!(parse_metadata(&s(&["a", "a"]), &s(&["1", "2"])).unwrap_err().message.contains("twice"));
    }

    #[test]
    fn sizes_read_like_a_person_writes_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(human_size(25 * 1024 * 1024), "25 MB");
    }
}
