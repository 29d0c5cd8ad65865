//! Steward's stylesheet: Tailwind utility classes written in the components,
//! compiled to CSS by encre-css at build time (no Node, no download).
//!
//! `server/build.rs` calls [`compile`] with every Rust source of the `app`
//! crate; the classes found there, plus `style/base.css`, become the one
//! stylesheet the server serves.

use encre_css::Config;
use std::path::{Path, PathBuf};

/// Hand-written CSS that utilities cannot express (focus rings shared by every
/// control, the scheme colour).
pub const BASE_CSS: &str = include_str!("../base.css");

/// Compiles the stylesheet from source texts that use utility classes.
pub fn compile<'a>(sources: impl IntoIterator<Item = &'a str>) -> String {
    let config = Config::default();
    let utilities = encre_css::generate(sources, &config);
    format!("{utilities}\n{BASE_CSS}")
}

/// Every `.rs` file below `dir`, sorted so the output is reproducible.
pub fn rust_sources(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_and_arbitrary_values_compile_to_valid_css() {
        let css = compile([r#"<div class="flex hover:bg-slate-100 md:grid-cols-[14rem_1fr] dark:bg-slate-900 bg-indigo-600/50">"#]);
        assert!(css.contains(".flex {\n  display: flex;"), "{css}");
        assert!(css.contains("hover\\:bg-slate-100:hover"), "hover variant missing");
        assert!(css.contains("@media (width >= 48rem)"), "md variant missing");
        assert!(css.contains("prefers-color-scheme: dark"), "dark variant must follow the system");
        assert!(css.contains("grid-cols-\\[14rem_1fr\\]"), "arbitrary value missing");
    }

    #[test]
    fn unused_classes_are_not_emitted() {
        let css = compile(["<p class=\"text-sm\">"]);
        assert!(!css.contains(".text-7xl"));
    }
}
