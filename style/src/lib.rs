//! Steward's stylesheet: Tailwind utility classes written in the components,
//! compiled to CSS by encre-css at build time (no Node, no download).
//!
//! `server/build.rs` calls [`compile`] with every Rust source of the `app`
//! crate; the classes found there, plus `style/base.css`, become the one
//! stylesheet the server serves.

use encre_css::config::DarkMode;
use encre_css::Config;
use std::path::{Path, PathBuf};

/// Hand-written CSS that utilities cannot express (focus rings shared by every
/// control, the scheme colour).
pub const BASE_CSS: &str = include_str!("../base.css");

/// The page's theme, as the server writes it on `<html data-theme=…>`
/// (`status::Theme`): `dark:` classes apply when it is `dark`, and when it
/// is `system` while the system prefers dark.
const CHOSEN_DARK: &str = ":root[data-theme=dark]";
const SYSTEM: &str = ":root[data-theme=system]";

/// Compiles the stylesheet from source texts that use utility classes.
///
/// encre-css makes the `dark:` variant either a media query (the system's
/// choice) or a parent selector (a choice of the page's), not both. So the
/// classes are compiled twice with the parent selector: once under
/// `[data-theme=dark]`, the whole stylesheet, and once under
/// `[data-theme=system]`, of which only the dark rules are kept, inside
/// `@media (prefers-color-scheme: dark)`. A light choice matches neither.
pub fn compile<'a>(sources: impl IntoIterator<Item = &'a str>) -> String {
    let sources: Vec<&str> = sources.into_iter().collect();
    let under = |parent: &'static str| {
        let mut config = Config::default();
        config.theme.dark_mode = DarkMode::new_class(parent);
        encre_css::generate(sources.iter().copied(), &config)
    };
    let chosen = under(CHOSEN_DARK);
    let system = under(SYSTEM);
    // encre-css writes each rule (with any media query around it) as one
    // block, blocks parted by an empty line.
    let system_dark: Vec<&str> = system.split("\n\n").filter(|block| block.contains(SYSTEM)).collect();
    format!("{chosen}\n\n@media (prefers-color-scheme: dark) {{\n{}\n}}\n{BASE_CSS}", system_dark.join("\n\n"))
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
        let chosen = ":root[data-theme=dark] .dark\\:bg-slate-900";
        assert!(css.contains(chosen), "dark variant must follow a chosen dark theme: {css}");
        let system = ":root[data-theme=system] .dark\\:bg-slate-900";
        let media = css.find("@media (prefers-color-scheme: dark)").unwrap();
        assert!(css[media..].contains(system), "the system's dark applies only where the system prefers it: {css}");
        assert_eq!(css.matches(".flex {").count(), 1, "every other utility once");
        assert!(!css.contains("data-theme=light] .dark"), "a light choice matches no dark rule");
        assert!(css.contains("grid-cols-\\[14rem_1fr\\]"), "arbitrary value missing");
    }

    #[test]
    fn unused_classes_are_not_emitted() {
        let css = compile(["<p class=\"text-sm\">"]);
        assert!(!css.contains(".text-7xl"));
    }
}
