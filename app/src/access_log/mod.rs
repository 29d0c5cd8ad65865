//! The access log's screen (`/access-log`): every request the servers
//! answered, newest first, for platform administrators — by status class
//! or code, route, tenant and slowness, in keyset pages.

use crate::error::AppError;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod ssr;
pub mod server;
pub mod pages;

/// The list's filters, as the page's query string carries them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessQuery {
    /// `2xx` … `5xx`, or one code such as `404`.
    pub status: String,
    /// A route pattern, as the router names it (`/users/{id}`).
    pub route: String,
    /// A tenant's short name.
    pub tenant: String,
    /// Only requests that took at least this many milliseconds.
    pub slower_than: String,
    pub after: String,
}

impl AccessQuery {
    pub fn filters(&self) -> [(&'static str, &str); 4] {
        [("status", &self.status), ("route", &self.route), ("tenant", &self.tenant), ("slower_than", &self.slower_than)]
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessRow {
    pub at: String,
    pub method: String,
    pub route: String,
    pub path: String,
    pub status: i16,
    pub latency_ms: f64,
    pub tenant: String,
    pub user_id: String,
    pub request_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessList {
    pub rows: Vec<AccessRow>,
    pub next: Option<String>,
}

/// The status filter as a range of codes, or a message for the field.
pub fn status_range(text: &str) -> Result<Option<(i16, i16)>, String> {
    let t = text.trim().to_ascii_lowercase();
    if t.is_empty() {
        return Ok(None);
    }
    if let Some(class) = t.strip_suffix("xx") {
        return match class.parse::<i16>() {
            Ok(c @ 1..=5) => Ok(Some((c * 100, c * 100 + 99))),
            _ => Err("Give a class such as 4xx, or a code such as 404.".into()),
        };
    }
    match t.parse::<i16>() {
        Ok(code @ 100..=599) => Ok(Some((code, code))),
        _ => Err("Give a class such as 4xx, or a code such as 404.".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_classes_or_codes() {
        assert_eq!(status_range(""), Ok(None));
        assert_eq!(status_range("4xx"), Ok(Some((400, 499))));
        assert_eq!(status_range(" 5XX "), Ok(Some((500, 599))));
        assert_eq!(status_range("404"), Ok(Some((404, 404))));
        assert!(status_range("9xx").is_err());
        assert!(status_range("42").is_err());
        assert!(status_range("abc").is_err());
    }
}
