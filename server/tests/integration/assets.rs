//! What a browser downloads besides pages (issue 19): the bundle under a
//! content-addressed path, cached for a year, sent as the copy compressed
//! at build time; pages compressed on the fly and never cached.

use crate::support::*;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use std::io::Read;
use tower::ServiceExt;

/// A site root with a bundle of two files and the brotli and gzip copies
/// the release build makes (`cargo leptos build --precompress`).
fn site_with_bundle(wasm: &[u8]) -> tempfile_dir::Dir {
    let dir = tempfile_dir::Dir::new();
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("steward.js"), b"export default function init() {}\n").unwrap();
    std::fs::write(pkg.join("steward.wasm"), wasm).unwrap();
    let mut br = Vec::new();
    brotli_compress(wasm, &mut br);
    std::fs::write(pkg.join("steward.wasm.br"), &br).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, wasm).unwrap();
    std::fs::write(pkg.join("steward.wasm.gz"), gz.finish().unwrap()).unwrap();
    dir
}

fn brotli_compress(input: &[u8], out: &mut Vec<u8>) {
    let mut w = brotli::CompressorWriter::new(out, 4096, 9, 22);
    std::io::Write::write_all(&mut w, input).unwrap();
}

mod tempfile_dir {
    /// A directory removed when dropped.
    pub struct Dir(std::path::PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            let path = std::env::temp_dir().join(format!("steward-assets-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&path).unwrap();
            Dir(path)
        }
        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

async fn fetch(router: &axum::Router, path: &str, accept_encoding: Option<&str>, cookie: Option<&str>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::builder().uri(path).header(header::HOST, "127.0.0.1:3000").header(header::ACCEPT, "text/html");
    if let Some(e) = accept_encoding {
        req = req.header(header::ACCEPT_ENCODING, e);
    }
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let res = router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = res.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

fn unbrotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli_decompressor::Decompressor::new(data, 4096).read_to_end(&mut out).unwrap();
    out
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data).read_to_end(&mut out).unwrap();
    out
}

#[tokio::test]
async fn the_bundle_is_content_addressed_cached_for_a_year_and_sent_precompressed() {
    let wasm: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let site = site_with_bundle(&wasm);
    let db = TestDb::new().await;
    let pool = db.app_pool().await;
    let config = steward::web::WebConfig { site_root: site.path().display().to_string(), ..web_config() };
    let router = steward::web::router(pool.clone(), &config);

    // The sign-in page names the bundle under its version.
    let (status, headers, page) = fetch(&router, "/login", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    let page = String::from_utf8(page).unwrap();
    let version = steward::web::assets::bundle_version(&config.site_root);
    assert_eq!(version.len(), 16, "{version}");
    let script = format!("/assets/{version}/pkg/steward.js");
    assert!(page.contains(&script), "the page loads {script}: {page}");
    assert!(page.contains(&format!("/assets/{version}/pkg/steward.wasm")));

    // Cached for a year, whoever asks (no session needed).
    let (status, headers, body) = fetch(&router, &script, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "public, max-age=31536000, immutable");
    assert!(String::from_utf8(body).unwrap().contains("init"));

    // The build's brotli copy to a browser that takes brotli, gzip to one
    // that takes only gzip, the file itself to one that takes neither.
    let wasm_path = format!("/assets/{version}/pkg/steward.wasm");
    let (_, headers, body) = fetch(&router, &wasm_path, Some("gzip, deflate, br"), None).await;
    assert_eq!(headers.get(header::CONTENT_ENCODING).unwrap(), "br");
    assert_eq!(unbrotli(&body), wasm);
    // Chromium's header (zstd first of all for pages): the build made no
    // zstd copy, so the brotli one, sent as it is.
    let (_, headers, body) = fetch(&router, &wasm_path, Some("gzip, deflate, br, zstd"), None).await;
    assert_eq!(headers.get(header::CONTENT_ENCODING).unwrap(), "br");
    assert_eq!(unbrotli(&body), wasm);
    let (_, headers, body) = fetch(&router, &wasm_path, Some("gzip"), None).await;
    assert_eq!(headers.get(header::CONTENT_ENCODING).unwrap(), "gzip");
    assert!(body.len() < wasm.len() / 2, "gzip copy of {} bytes", body.len());
    assert_eq!(gunzip(&body), wasm);
    let (_, headers, body) = fetch(&router, &wasm_path, None, None).await;
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(body, wasm);

    // A change to the bundle moves it: the old path is gone.
    let mut changed = wasm.clone();
    changed[0] ^= 1;
    let site2 = site_with_bundle(&changed);
    let version2 = steward::web::assets::bundle_version(&site2.path().display().to_string());
    assert_ne!(version2, version);
    let router2 = steward::web::router(pool.clone(), &steward::web::WebConfig { site_root: site2.path().display().to_string(), ..web_config() });
    let (status, _, _) = fetch(&router2, &wasm_path, None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pages_are_compressed_for_browsers_that_accept_it_and_stay_uncached() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let cookie = app.cookies.lock().unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");

    let (status, headers, plain) = fetch(&app.router, "/users", None, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    let plain = String::from_utf8(plain).unwrap();
    assert!(plain.contains("data-testid=\"user-table\""));

    // What Chromium and Firefox send: zstd, the cheapest of the three to
    // make (docs/BENCHMARKS.md, issue 16's sixth part).
    let (status, headers, zst) = fetch(&app.router, "/users", Some("gzip, deflate, br, zstd"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get(header::CONTENT_ENCODING).unwrap(), "zstd");
    assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    assert!(headers.get(header::VARY).is_some_and(|v| v.to_str().unwrap().to_lowercase().contains("accept-encoding")));
    let page = String::from_utf8(zstd::decode_all(&zst[..]).unwrap()).unwrap();
    assert!(page.contains("data-testid=\"user-table\""));
    assert!(zst.len() * 3 < page.len(), "{} bytes compressed to {}", page.len(), zst.len());

    // Safari's: brotli.
    let (status, headers, br) = fetch(&app.router, "/users", Some("gzip, deflate, br"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get(header::CONTENT_ENCODING).unwrap(), "br");
    let page = String::from_utf8(unbrotli(&br)).unwrap();
    assert!(page.contains("data-testid=\"user-table\""));
    assert!(br.len() * 3 < page.len(), "{} bytes compressed to {}", page.len(), br.len());

    let (_, headers, gz) = fetch(&app.router, "/users", Some("gzip"), Some(&cookie)).await;
    assert_eq!(headers.get(header::CONTENT_ENCODING).unwrap(), "gzip");
    assert!(String::from_utf8(gunzip(&gz)).unwrap().contains("data-testid=\"user-table\""));

    // Turned off (a compressing proxy in front): sent as it is.
    let plain_router = steward::web::router(app.pool.clone(), &steward::web::WebConfig { compression_level: 0, ..web_config() });
    let (_, headers, _) = fetch(&plain_router, "/users", Some("br"), Some(&cookie)).await;
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
}
