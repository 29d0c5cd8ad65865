//! At most [`PER_SESSION`] requests of one session in flight at once; one
//! more is answered 429 at once, before its session is read. A storm of
//! requests from one signed-in browser (or a script holding its cookie)
//! then holds a few of the pool's connections, not all of them, and the
//! other tenants' pages keep their pace (docs/BENCHMARKS.md, review H4).
//! A request counts until its handler returns: a streamed export that goes
//! on reading after that is not counted. Static files are not counted. A
//! browser on HTTP/1.1 opens at most six connections to a host; over
//! HTTP/2 several tabs of one person could reach the limit, and the ninth
//! request is then told to retry after a second.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use app::error::AppError;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Requests of one session that may be in flight at once.
pub const PER_SESSION: usize = 8;

/// The sessions with requests in flight, and how many each.
#[derive(Clone, Default)]
pub struct InFlight(Arc<Mutex<HashMap<String, usize>>>);

struct Slot {
    in_flight: InFlight,
    key: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.in_flight.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

impl InFlight {
    /// A slot for the session `key`, or None when it has [`PER_SESSION`]
    /// requests in flight already.
    fn take(&self, key: &str) -> Option<Slot> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(key.to_string()).or_insert(0);
        if *n >= PER_SESSION {
            return None;
        }
        *n += 1;
        Some(Slot { in_flight: self.clone(), key: key.to_string() })
    }
}

/// The session cookie exactly as the session layer will read it
/// (tower-cookies: every `Cookie` header split at `;`, each part trimmed and
/// percent-decoded, the last of a name winning), so that no spelling of the
/// cookie reaches the session while escaping its count.
fn session_id(headers: &axum::http::HeaderMap) -> Option<String> {
    let mut found = None;
    for header in headers.get_all(header::COOKIE) {
        let Ok(text) = std::str::from_utf8(header.as_bytes()) else { continue };
        for part in text.split(';') {
            if let Ok(cookie) = cookie::Cookie::parse_encoded(part) {
                if cookie.name() == crate::web::SESSION_COOKIE {
                    found = Some(cookie.value().to_string());
                }
            }
        }
    }
    found.filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The middleware: counts the request against its session cookie, if any.
pub async fn limit(State(in_flight): State<InFlight>, req: Request, next: Next) -> Response {
    if crate::web::is_static(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let Some(key) = session_id(req.headers()) else {
        return next.run(req).await;
    };
    let Some(_slot) = in_flight.take(&key) else {
        // A server function's caller reads the error as JSON, a page as HTML.
        let mut response = if req.uri().path().starts_with("/api/") {
            let body = serde_json::to_string(&AppError::Busy).unwrap_or_default();
            let mut response = (StatusCode::TOO_MANY_REQUESTS, body).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        } else {
            crate::web::error_page(AppError::Busy)
        };
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(header::COOKIE, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn the_session_is_read_as_the_session_layer_reads_it() {
        // The last of a name wins, across headers too, as in tower-cookies.
        assert_eq!(session_id(&headers(&["steward_session=forged; steward_session=real"])).as_deref(), Some("real"));
        assert_eq!(session_id(&headers(&["steward_session=forged", "theme=dark; steward_session=real"])).as_deref(), Some("real"));
        // Percent-encoding and spaces do not make another key.
        assert_eq!(session_id(&headers(&["steward_session=%72eal"])).as_deref(), Some("real"));
        assert_eq!(session_id(&headers(&["other=1;   steward_session=real  "])).as_deref(), Some("real"));
        assert_eq!(session_id(&headers(&["other=1"])), None);
    }

    #[test]
    fn a_session_has_at_most_eight_requests_in_flight() {
        let in_flight = InFlight::default();
        let slots: Vec<_> = (0..PER_SESSION).map(|_| in_flight.take("a").expect("a slot")).collect();
        assert!(in_flight.take("a").is_none(), "the ninth waits");
        assert!(in_flight.take("b").is_some(), "another session is not held");
        drop(slots);
        let again = in_flight.take("a");
        assert!(again.is_some(), "the slots came back");
        assert_eq!(in_flight.0.lock().unwrap().get("a"), Some(&1));
        drop(again);
        assert!(in_flight.0.lock().unwrap().is_empty(), "nothing is kept for a session with nothing in flight");
    }
}
