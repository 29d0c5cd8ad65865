//! What the browser downloads besides pages: the wasm bundle and its
//! script under a content-addressed path, cached for a year and sent
//! precompressed (brotli or gzip, made at build time) when the browser
//! accepts it; and the compression of pages and answers on the fly.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::Router;
use sha2::{Digest, Sha256};
use std::path::Path;
use tower_http::compression::predicate::Predicate;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// Cached for a year and never revalidated: the path changes with a byte.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The bundle's version: the first 16 hex digits of SHA-256 over the names
/// and contents of the files in `site_root/pkg` (the precompressed copies
/// follow from the others). "none" when there is no bundle.
pub fn bundle_version(site_root: &str) -> String {
    let dir = Path::new(site_root).join("pkg");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    files.retain(|p| !matches!(p.extension().and_then(|e| e.to_str()), Some("br" | "gz")));
    files.sort();
    if files.is_empty() {
        return "none".into();
    }
    let mut hash = Sha256::new();
    for file in files {
        hash.update(file.file_name().map(|n| n.as_encoded_bytes()).unwrap_or_default());
        hash.update([0]);
        hash.update(std::fs::read(&file).unwrap_or_default());
        hash.update([0]);
    }
    hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The prefix pages load the bundle from (Leptos's hydration scripts add
/// `/pkg/<name>`): `/assets/<version>`.
pub fn bundle_root(version: &str) -> String {
    format!("/assets/{version}")
}

/// Serves `site_root/pkg` at `<bundle root>/pkg`, a year in the browser's
/// cache, with the `.br` or `.gz` copy the build made when the browser
/// accepts it. An older version's path is not found: a page is never
/// cached, so a reload asks for the current one.
pub fn bundle<S: Clone + Send + Sync + 'static>(site_root: &str, version: &str) -> Router<S> {
    let files = ServeDir::new(Path::new(site_root).join("pkg")).precompressed_br().precompressed_gzip();
    Router::new().nest_service(&format!("{}/pkg", bundle_root(version)), files).layer(SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        HeaderValue::from_static(IMMUTABLE),
    ))
}

/// The compression level pages get unless told otherwise. On the users
/// page as stop 36 served it (80 KB at a million users) zstd 1 takes
/// 63 µs and leaves 9.4 KB, brotli 1 175 µs for 10.1 KB, gzip 1 105 µs for
/// 12.3 KB; the next levels cost 1.4–3.3 times the CPU for 4–14% fewer bytes
/// (docs/BENCHMARKS.md, `cargo bench -p server -- "users page"`).
pub const DEFAULT_LEVEL: u32 = 1;

/// How hard pages are compressed on the fly: zstd for the browsers that
/// take it (Chromium, Firefox; the cheapest to make and the smallest at
/// level 1), brotli for the rest (Safari), gzip for those without either;
/// each at `level` on its own scale. 0 turns it off (behind a proxy that
/// compresses).
pub fn compression(level: u32) -> CompressionLayer<Compressible> {
    CompressionLayer::new()
        .no_deflate()
        .quality(CompressionLevel::Precise(level.clamp(1, 11) as i32))
        .compress_when(Compressible { on: level > 0 })
}

/// Text worth compressing: pages, server functions' JSON, the stylesheet,
/// exports; not what is compressed already (the bundle's copies, document
/// downloads of any type), nor short answers.
#[derive(Clone, Copy, Debug)]
pub struct Compressible {
    on: bool,
}

impl Predicate for Compressible {
    fn should_compress<B>(&self, response: &axum::http::Response<B>) -> bool
    where
        B: axum::body::HttpBody,
    {
        self.on && compressible(response.status(), response.headers(), response.body().size_hint().upper())
    }
}

fn compressible(status: StatusCode, headers: &HeaderMap, size: Option<u64>) -> bool {
    if status == StatusCode::SWITCHING_PROTOCOLS || headers.contains_key(header::CONTENT_ENCODING) {
        return false;
    }
    // A body of known size under 1 KiB gains less than the header costs.
    if size.is_some_and(|n| n < 1024) {
        return false;
    }
    let kind = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let kind = kind.split(';').next().unwrap_or("").trim();
    // Document downloads carry their own type and a disposition: their
    // content is the person's, often compressed already.
    if headers.contains_key(header::CONTENT_DISPOSITION) && !matches!(kind, "text/csv" | "application/x-ndjson" | "application/json") {
        return false;
    }
    matches!(
        kind,
        "text/html" | "text/css" | "text/plain" | "text/csv" | "application/json" | "application/x-ndjson" | "application/javascript" | "text/javascript" | "image/svg+xml"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(kind: &str, disposition: bool) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_str(kind).unwrap());
        if disposition {
            h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"a\""));
        }
        h
    }

    #[test]
    fn pages_and_exports_are_compressed_downloads_and_short_answers_are_not() {
        let ok = |kind: &str, disposition: bool, size: Option<u64>| compressible(StatusCode::OK, &headers(kind, disposition), size);
        assert!(ok("text/html; charset=utf-8", false, None));
        assert!(ok("application/json", false, Some(5000)));
        assert!(ok("text/csv; charset=utf-8", true, None));
        assert!(!ok("application/pdf", true, Some(90_000)));
        assert!(!ok("text/plain", true, Some(90_000)));
        assert!(!ok("image/png", false, Some(90_000)));
        assert!(!ok("text/html", false, Some(300)));
        let mut encoded = headers("text/html", false);
        encoded.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        assert!(!compressible(StatusCode::OK, &encoded, None));
    }
}
