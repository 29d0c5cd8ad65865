//! `/metrics` in the Prometheus text format: requests and their latency by
//! route and status, the connection pool's use, sign-in failures, and the
//! access log's queue. Counted in memory by the `track` middleware; nothing
//! here touches the database.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
pub const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    /// Per bucket (not cumulative); the last slot is above every bound.
    buckets: [u64; BUCKETS.len() + 1],
}

/// The process's request figures.
#[derive(Default)]
pub struct Metrics {
    /// (method, route, status) → latency series. Routes are the router's
    /// patterns (`/users/{id}`), never raw paths, and methods outside the
    /// standard set are `OTHER`, so the set stays small; [`MAX_SERIES`]
    /// bounds it whatever happens.
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
    /// Access-log records dropped because the writer fell behind.
    pub access_log_dropped: AtomicU64,
    /// Access-log records written.
    pub access_log_written: AtomicU64,
}

/// The most series kept; past it, new combinations count under one
/// `(overflow)` route, so that no sequence of requests grows the map further.
pub const MAX_SERIES: usize = 2_000;

/// A request's method as metrics and the access log name it: one of the
/// standard methods, or `OTHER` for any extension method (a client chooses
/// those freely, so they must not become keys).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

impl Metrics {
    pub fn observe(&self, method: &'static str, route: &str, status: u16, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let slot = BUCKETS.iter().position(|b| seconds <= *b).unwrap_or(BUCKETS.len());
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let mut key = (method.to_string(), route.to_string(), status);
        if series.len() >= MAX_SERIES && !series.contains_key(&key) {
            key = ("OTHER".to_string(), "(overflow)".to_string(), status);
        }
        let s = series.entry(key).or_default();
        s.count += 1;
        s.sum += seconds;
        s.buckets[slot] += 1;
    }

    /// The text exposition (format 0.0.4).
    pub fn render(&self, pool: &sqlx::PgPool) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP steward_http_requests_total Requests answered, by method, route and status.\n");
        out.push_str("# TYPE steward_http_requests_total counter\n");
        let series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        for ((method, route, status), s) in series.iter() {
            let _ = writeln!(
                out,
                "steward_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                escape(route),
                s.count
            );
        }
        out.push_str("# HELP steward_http_request_duration_seconds Time from the request's arrival to its response's head.\n");
        out.push_str("# TYPE steward_http_request_duration_seconds histogram\n");
        for ((method, route, status), s) in series.iter() {
            let labels = format!("method=\"{method}\",route=\"{}\",status=\"{status}\"", escape(route));
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(s.buckets.iter()) {
                cumulative += n;
                let _ = writeln!(out, "steward_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
            }
            let _ = writeln!(out, "steward_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", s.count);
            let _ = writeln!(out, "steward_http_request_duration_seconds_sum{{{labels}}} {}", s.sum);
            let _ = writeln!(out, "steward_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
        drop(series);

        let size = pool.size();
        let idle = pool.num_idle() as u32;
        let gauges: [(&str, &str, u64); 3] = [
            ("steward_db_pool_connections", "Connections the pool holds.", size.into()),
            ("steward_db_pool_idle", "Connections the pool holds that are idle.", idle.into()),
            ("steward_db_pool_max", "The pool's connection limit.", pool.options().get_max_connections().into()),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        }
        let counters: [(&str, &str, u64); 3] = [
            (
                "steward_sign_in_failures_total",
                "Sign-in attempts refused (unknown account, wrong password, inactive).",
                app::auth::ssr::SIGN_IN_FAILURES.load(Ordering::Relaxed),
            ),
            ("steward_access_log_written_total", "Access-log records written.", self.access_log_written.load(Ordering::Relaxed)),
            (
                "steward_access_log_dropped_total",
                "Access-log records dropped because the writer fell behind.",
                self.access_log_dropped.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        }
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_fall_in_cumulative_buckets() {
        let m = Metrics::default();
        m.observe("GET", "/users", 200, Duration::from_micros(800));
        m.observe("GET", "/users", 200, Duration::from_millis(7));
        m.observe("GET", "/users", 200, Duration::from_secs(30));
        let series = m.series.lock().unwrap();
        let s = &series[&("GET".to_string(), "/users".to_string(), 200)];
        assert_eq!(s.count, 3);
        assert_eq!(s.buckets[0], 1, "0.8 ms is within 1 ms");
        assert_eq!(s.buckets[3], 1, "7 ms is within 10 ms");
        assert_eq!(s.buckets[BUCKETS.len()], 1, "30 s is above every bound");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c"), "a\\\"b\\\\c");
    }
}
