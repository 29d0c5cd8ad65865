//! The layering, checked: the spine (what every area builds on) names no
//! area, so that no import circle can run through it. Issue 15 grows the
//! spine; each file that joins it is listed here.

/// The spine's files, relative to `app/src`.
const SPINE: &[&str] =
    &["error.rs", "ids.rs", "status.rs", "text.rs", "db.rs", "audit/record.rs", "audit/chain_checks.rs", "authz/lockout.rs", "auth/credentials.rs", "outbox/mod.rs", "outbox/letter.rs"];

/// The areas: folders and files of the domain, which build on the spine.
const AREAS: &[&str] = &[
    "access_log", "account", "api_keys", "auth", "authz", "components", "dashboard", "documents", "mail", "nav", "pages", "privacy",
    "roles", "settings", "system", "teams", "tenants", "users", "webhooks",
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

/// The only files that hold the database pool or open a transaction: the
/// application state, and the gate every area passes (`require*`, the
/// caller's own things, readers for work after a response, the system
/// scope for jobs), with the sign-in that makes a principal. Every area
/// gets its transaction from them, already authorised and tenant-scoped.
const GATE: &[&str] = &["ssr.rs", "authz/ssr.rs", "auth/ssr.rs", "auth/server.rs", "auth/api_key.rs", "auth/reset.rs"];

/// Every `.rs` file under `app/src`, relative to it.
fn files() -> Vec<String> {
    fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let root = std::path::PathBuf::from(format!("{}/src", env!("CARGO_MANIFEST_DIR")));
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

#[test]
fn no_area_reaches_the_pool() {
    let mut found = Vec::new();
    for file in files() {
        if GATE.contains(&file.as_str()) || file == "architecture.rs" {
            continue;
        }
        let code = code(&file);
        for needle in [".pool", "read_pool", ".begin()", ".begin_with(", "PgPool"] {
            if code.contains(needle) {
                found.push(format!("{file} has {needle}"));
            }
        }
    }
    // The server's web and API adapters, and the commands that write as the
    // application (the demo, the first administrator), go through the same
    // gate. The schema owner's own work (migrations, the chain check, audit
    // retention, bench data in ops/ and cli/gen_data.rs) does not run as the
    // application role and is not counted.
    for file in ["web/mod.rs", "web/access_log.rs", "web/client_addr.rs", "web/metrics.rs", "web/security.rs", "web/session_limit.rs", "api/mod.rs", "cli/mod.rs", "cli/demo.rs"] {
        let text = std::fs::read_to_string(format!("{}/../server/src/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let code: String = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
        for needle in ["state.pool", "state.read_pool", ".begin()", ".begin_with("] {
            if code.contains(needle) {
                found.push(format!("server/src/{file} has {needle}"));
            }
        }
    }
    // The JSON API holds no SQL of its own: it calls the areas' functions.
    let api = std::fs::read_to_string(format!("{}/../server/src/api/mod.rs", env!("CARGO_MANIFEST_DIR"))).unwrap();
    if api.contains("sqlx::") {
        found.push("server/src/api/mod.rs has SQL of its own".into());
    }
    assert!(found.is_empty(), "only the gate ({GATE:?}) may reach the database pool:\n{}", found.join("\n"));
}

/// The module a file defines: `users/ssr.rs` is `users::ssr`, `users/mod.rs` is `users`.
fn module_of(file: &str) -> String {
    let path = file.trim_end_matches(".rs");
    let path = path.strip_suffix("/mod").unwrap_or(path);
    if path == "lib" { String::new() } else { path.replace('/', "::") }
}

/// The modules a file's code names through `crate::` and `super::` paths
/// (braced `use` lists included), each resolved to the longest module that
/// exists.
fn imports(file: &str, code: &str, modules: &std::collections::BTreeSet<String>) -> std::collections::BTreeSet<String> {
    let me = module_of(file);
    let resolve = |parts: &[&str]| -> Option<String> {
        (1..=parts.len()).rev().map(|n| parts[..n].join("::")).find(|m| modules.contains(m) && *m != me)
    };
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = std::collections::BTreeSet::new();
    for (prefix, base) in [("crate::", Vec::new()), ("super::", {
        let mut parts: Vec<String> = me.split("::").map(str::to_string).collect();
        parts.pop();
        parts
    })] {
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().last();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let path: String = rest.chars().take_while(|&c| ident(c)).collect();
            let path = path.trim_end_matches(':');
            let mut parts: Vec<&str> = base.iter().map(String::as_str).collect();
            parts.extend(path.split("::").filter(|p| !p.is_empty()));
            if let Some(m) = resolve(&parts) {
                out.insert(m);
            }
            // `use crate::a::{b, c::d}`: each item of the list.
            let after = &rest[path.len()..];
            if let Some(list) = after.strip_prefix("::{").and_then(|l| l.split('}').next()) {
                for item in list.split(',') {
                    let item = item.split_whitespace().next().unwrap_or("");
                    let mut parts = parts.clone();
                    parts.extend(item.split("::").filter(|p| !p.is_empty()));
                    if let Some(m) = resolve(&parts) {
                        out.insert(m);
                    }
                }
            }
        }
    }
    out
}

#[test]
fn no_import_circle_among_the_files() {
    let files = files();
    let modules: std::collections::BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
    let edges: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        files.iter().map(|f| (module_of(f), imports(f, &code(f), &modules))).collect();
    // Tarjan's strongly connected components; any of more than one module is a circle.
    struct Walk<'a> {
        edges: &'a std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        index: std::collections::HashMap<&'a str, usize>,
        low: std::collections::HashMap<&'a str, usize>,
        stack: Vec<&'a str>,
        circles: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, v: &'a str) {
        let n = w.index.len();
        w.index.insert(v, n);
        w.low.insert(v, n);
        w.stack.push(v);
        for next in w.edges.get(v).into_iter().flatten() {
            let next = next.as_str();
            if !w.index.contains_key(next) {
                visit(w, next);
                let low = w.low[v].min(w.low[next]);
                w.low.insert(v, low);
            } else if w.stack.contains(&next) {
                let low = w.low[v].min(w.index[next]);
                w.low.insert(v, low);
            }
        }
        if w.low[v] == w.index[v] {
            let mut component = Vec::new();
            while let Some(top) = w.stack.pop() {
                component.push(top);
                if top == v {
                    break;
                }
            }
            if component.len() > 1 {
                w.circles.push(component);
            }
        }
    }
    let mut walk = Walk { edges: &edges, index: Default::default(), low: Default::default(), stack: Vec::new(), circles: Vec::new() };
    for v in edges.keys() {
        if !walk.index.contains_key(v.as_str()) {
            visit(&mut walk, v);
        }
    }
    assert!(walk.circles.is_empty(), "files that import each other in a circle: {:?}", walk.circles);
    // The check itself sees imports: the gate names the state, areas name the gate.
    assert!(edges["authz::ssr"].contains("ssr"));
    assert!(edges["users::ssr"].contains("authz::ssr"));
}

#[test]
fn pages_check_permissions_and_views_by_type() {
    let mut found = Vec::new();
    for file in files() {
        if file == "architecture.rs" {
            continue;
        }
        let code = code(&file);
        // A file's own tests may name keys: they test the keys.
        let code = code.split("#[cfg(test)]").next().unwrap_or_default();
        for needle in [".can(\"", "may(\"", "can_view(\"", "view=\"", "require_view(\""] {
            if code.contains(needle) {
                found.push(format!("{file} checks by a string: {needle}…"));
            }
        }
    }
    assert!(found.is_empty(), "use authz::Perm and authz::View, not their keys:\n{}", found.join("\n"));
}

/// In the dark theme, a text colour made for a white background (slate
/// 500 and darker, any hue 600 and darker) loses contrast: every class
/// list that sets one sets its dark counterpart too. The browser tests
/// check contrast on the main screens with axe-core; this covers every
/// screen, including those they do not open.
#[test]
fn every_text_colour_has_its_dark_counterpart() {
    let mut found = Vec::new();
    for file in files() {
        let text = std::fs::read_to_string(format!("{}/src/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        for literal in text.split('"').skip(1).step_by(2) {
            let classes: Vec<&str> = literal.split_whitespace().collect();
            let light_only = classes.iter().any(|c| {
                let Some(rest) = c.strip_prefix("text-") else { return false };
                let Some((hue, shade)) = rest.split_once('-') else { return false };
                let Ok(shade) = shade.parse::<u32>() else { return false };
                let hue_ok = hue.chars().all(|ch| ch.is_ascii_lowercase());
                hue_ok && hue != "white" && (shade >= 600 || (shade == 500 && matches!(hue, "slate" | "gray" | "zinc" | "neutral" | "stone")))
            });
            if light_only && !classes.iter().any(|c| c.starts_with("dark:text-")) {
                found.push(format!("{file}: \"{literal}\""));
            }
        }
    }
    assert!(found.is_empty(), "text colours without a dark counterpart:\n{}", found.join("\n"));
}
