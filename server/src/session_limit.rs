//! At most [`PER_SESSION`] requests of one session in flight at once; one
//! more is answered 429 at once, before its session is read. A storm of
//! requests from one signed-in browser (or a script holding its cookie)
//! then takes a few of the pool's connections, not all of them, and the
//! other tenants' pages keep their pace (docs/BENCHMARKS.md, review H4).
//! A browser opens at most six connections to a host, so a person never
//! meets the limit; static files are not counted.

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

/// The middleware: counts the request against its session cookie, if any.
pub async fn limit(State(in_flight): State<InFlight>, req: Request, next: Next) -> Response {
    if crate::web::is_static(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let cookie = app::ssr::cookie_in(req.headers(), crate::web::SESSION_COOKIE).filter(|v| !v.is_empty() && v.len() <= 128);
    let Some(key) = cookie.map(str::to_string) else {
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
