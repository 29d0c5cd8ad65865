//! Criterion micro-benchmarks of what every request or every change runs in
//! Rust: the permission check, building the principal and its menu from the
//! resolver's row, the audit chain's hash, and compressing a page (which
//! encoder and level `--compression-level` defaults to). `cargo bench -p
//! server`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use serde_json::json;

fn principal_json() -> serde_json::Value {
    let permissions = [
        "audit:export", "audit:read", "document:delete", "document:read", "document:write", "role:assign",
        "role:manage", "role:read", "team:manage", "team:read", "user:create", "user:delete", "user:read",
        "user:reset_password", "user:revoke_sessions", "user:suspend", "user:update",
    ];
    let entry = |key: &str, label: &str, path: &str| json!({ "key": key, "label": label, "path": path, "view": key, "icon": "list" });
    json!({
        "user_id": "0190d6c4-8a4f-7000-8000-000000000001",
        "email": "olivia@acme.test",
        "display_name": "Olivia Owner",
        "tenant": { "id": "0190d6c4-8a4f-7000-8000-000000000002", "slug": "acme", "name": "Acme", "kind": "customer" },
        "views": ["audit", "documents", "overview", "roles", "teams", "users"],
        "permissions": permissions,
        "menu": [
            { "key": "workspace", "label": "Workspace", "entries": [entry("overview", "Overview", "/"), entry("documents", "Documents", "/documents")] },
            { "key": "people", "label": "People and access", "entries": [entry("users", "Users", "/users"), entry("teams", "Teams", "/teams"), entry("roles", "Roles", "/roles")] },
            { "key": "compliance", "label": "Compliance", "entries": [entry("audit", "Audit log", "/audit")] },
        ],
    })
}

fn permission_check(c: &mut Criterion) {
    let me: app::auth::Me = serde_json::from_value(principal_json()).unwrap();
    c.bench_function("permission check (granted, 17 held)", |b| b.iter(|| black_box(&me).can(black_box("user:suspend"))));
    c.bench_function("permission check (refused)", |b| b.iter(|| black_box(&me).can(black_box("tenant:delete"))));
    c.bench_function("view check", |b| b.iter(|| black_box(&me).can_view(black_box("roles"))));
}

fn principal_and_menu(c: &mut Criterion) {
    let row = principal_json();
    let menu = row["menu"].clone();
    c.bench_function("menu from the resolver's JSON (3 sections, 6 entries)", |b| {
        b.iter(|| serde_json::from_value::<Vec<app::auth::MenuSection>>(black_box(menu.clone())).unwrap())
    });
    c.bench_function("whole principal from JSON", |b| {
        b.iter(|| serde_json::from_value::<app::auth::Me>(black_box(row.clone())).unwrap())
    });
}

fn audit_hash(c: &mut Criterion) {
    let event = steward::gen_data::Event {
        tenant_id: uuid::Uuid::now_v7(),
        id: uuid::Uuid::now_v7(),
        seq: 123_456,
        occurred_at: chrono::Utc::now(),
        actor_user_id: Some(uuid::Uuid::now_v7()),
        ip: Some("203.0.113.7".into()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0".into()),
        action: "user.update".into(),
        entity_type: Some("user".into()),
        entity_id: Some(uuid::Uuid::now_v7().to_string()),
        changes: json!({ "before": { "display_name": "Mark Member", "status": "active" }, "after": { "display_name": "Marcus Member", "status": "suspended" } }),
        request_id: Some("0190d6c4-8a4f-7000-8000-0000000000ff".into()),
    };
    let prev = [7u8; 32];
    c.bench_function("audit event hash (canonical JSON + SHA-256)", |b| b.iter(|| black_box(&event).hash(Some(black_box(&prev)))));
}

/// A page as the bench served it (users page 1 of a tenant of 10,000 at a
/// million users, 80 KB, before its cells lost their class), compressed by the encoders tower-http uses (the
/// brotli, flate2 and zstd crates) at the levels worth considering; prints
/// each one's size once.
fn page_compression(c: &mut Criterion) {
    use std::io::Write;
    let page = include_bytes!("users-page.html");
    let brotli = |level: u32| {
        let mut out = Vec::new();
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, level, 22);
        w.write_all(page).unwrap();
        drop(w);
        out
    };
    let gzip = |level: u32| {
        let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        w.write_all(page).unwrap();
        w.finish().unwrap()
    };
    for level in [1, 2, 3, 4, 5, 6] {
        println!("brotli {level}: {} of {} bytes", brotli(level).len(), page.len());
        c.bench_function(&format!("users page, brotli {level}"), |b| b.iter(|| black_box(brotli(level))));
    }
    let zstd = |level: i32| zstd::encode_all(&page[..], level).unwrap();
    for level in [1, 3] {
        println!("zstd {level}: {} of {} bytes", zstd(level).len(), page.len());
        c.bench_function(&format!("users page, zstd {level}"), |b| b.iter(|| black_box(zstd(level))));
    }
    for level in [1, 4, 6, 9] {
        println!("gzip {level}: {} of {} bytes", gzip(level).len(), page.len());
        c.bench_function(&format!("users page, gzip {level}"), |b| b.iter(|| black_box(gzip(level))));
    }
}

criterion_group!(benches, permission_check, principal_and_menu, audit_hash, page_compression);
criterion_main!(benches);
