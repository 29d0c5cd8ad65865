//! The layering, checked: the spine (what every area builds on) names no
//! area, so that no import circle can run through it. Issue 15 grows the
//! spine; each file that joins it is listed here.

/// The spine's files, relative to `app/src`.
const SPINE: &[&str] =
    &["error.rs", "text.rs", "db.rs", "audit/record.rs", "audit/chain_checks.rs", "authz/lockout.rs", "auth/credentials.rs"];

/// The areas: folders and files of the domain, which build on the spine.
const AREAS: &[&str] = &[
    "access_log", "account", "api_keys", "auth", "authz", "components", "dashboard", "documents", "nav", "pages", "privacy",
    "roles", "teams", "tenants", "users",
];

/// The code of a file without its comments (a doc link is not an import).
fn code(path: &str) -> String {
    let text = std::fs::read_to_string(format!("{}/src/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_spine_names_no_area() {
    let mut found = Vec::new();
    for file in SPINE {
        let code = code(file);
        for area in AREAS {
            if code.contains(&format!("crate::{area}::")) || code.contains(&format!("crate::{area};")) {
                found.push(format!("{file} names crate::{area}"));
            }
        }
        // The spine is not the application state's composition root either.
        if code.contains("crate::ssr::") {
            found.push(format!("{file} names crate::ssr"));
        }
    }
    assert!(found.is_empty(), "the spine must not depend on an area:\n{}", found.join("\n"));
}
