//! Compiles the stylesheet from the utility classes used in `app/src` (see
//! the `style` crate) into `$OUT_DIR/steward.css`, with a content hash for
//! the cache-busting URL.

use std::hash::{Hash, Hasher};
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let app_src = root.join("app/src");
    println!("cargo:rerun-if-changed={}", app_src.display());
    println!("cargo:rerun-if-changed={}", root.join("style").display());
    // `sqlx::migrate!` embeds the migrations; without this a new migration
    // is missed by an incremental build (sqlx's documented advice).
    println!("cargo:rerun-if-changed={}", root.join("migrations").display());

    let files = style::rust_sources(&app_src).expect("read app/src");
    let texts: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("read source"))
        .collect();
    let css = style::compile(texts.iter().map(String::as_str));

    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    css.hash(&mut hasher);
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    std::fs::write(Path::new(&out).join("steward.css"), &css).expect("write css");
    println!("cargo:rustc-env=STEWARD_CSS_HASH={:016x}", hasher.finish());
}
