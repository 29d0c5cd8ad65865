//! `steward gen-data`: loads realistic tenants, users, role grants, teams,
//! documents (with stored content) and audit events through COPY, so a
//! benchmark has a million users and millions of events in minutes.
//!
//! It runs as the schema owner, one transaction per tenant. For the length
//! of that transaction it lifts the forced row-level security of the tables
//! it loads (COPY refuses tables whose policies apply to the loader) and
//! pauses the per-row triggers: the audit chain is computed here, in Rust,
//! exactly as `steward_audit_hash` computes it (the test verifies every
//! chain afterwards), and the authorisation version is bumped once at the
//! end instead of once per grant. Both are restored before the commit, so
//! no other transaction ever sees them lifted.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use std::fmt::Write as _;
use std::time::Instant;
use uuid::Uuid;

/// What to generate.
#[derive(Clone, Debug)]
pub struct Plan {
    pub tenants: u32,
    pub users_per_tenant: u32,
    pub audit_events: u64,
    pub documents: u64,
    /// Every generated user's password.
    pub password: String,
    /// Where document content goes (the server's blob store).
    pub blob_dir: std::path::PathBuf,
    pub seed: u64,
}

/// What was generated.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub tenants: Vec<String>,
    pub users: u64,
    pub events: u64,
    pub documents: u64,
    pub seconds: f64,
}

/// Progress callback: (what, done, of).
pub type Progress<'a> = &'a mut dyn FnMut(&str, u64, u64);

const FIRST: &[&str] = &[
    "Ada", "Ben", "Chloe", "Dev", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Liam", "Mei", "Nora",
    "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Vera", "Wen", "Xavier", "Yara", "Zoltan", "Amelie",
    "Bruno", "Carmen", "Dmitri", "Esther", "Felix", "Giulia", "Hannah", "Ivan", "Jade", "Kofi", "Lucia", "Mateo",
    "Niamh", "Olu", "Pablo", "Rania", "Sofia", "Theo", "Ursula", "Victor", "Willa", "Yusuf", "Zainab",
];
const LAST: &[&str] = &[
    "Adams", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jansen", "Kowalski",
    "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quispe", "Rossi", "Schmidt", "Tanaka", "Usman", "Varga",
    "Weber", "Xu", "Yilmaz", "Zhang", "Andersson", "Brennan", "Chen", "Diaz", "Evans", "Ferreira", "Gupta", "Horvat",
    "Ivanova", "Jovanovic", "Kim", "Lopez", "Murphy", "Novak", "Olsen", "Park", "Ramos", "Silva", "Torres", "Walsh",
];
const TEAMS: &[&str] = &[
    "Engineering", "Finance", "Legal", "Operations", "People", "Sales", "Support", "Marketing", "Security", "Design",
];
const DOC_TITLES: &[&str] = &[
    "Quarterly report", "Supplier contract", "Holiday rota", "Security policy", "Board minutes", "Invoice",
    "Onboarding checklist", "Data processing agreement", "Budget forecast", "Incident review",
];
const TAGS: &[&str] = &["finance", "legal", "people", "policy", "board", "security", "sales", "draft", "final"];
const CLIENTS: &[&str] = &["Initech", "Umbrella", "Hooli", "Vandelay", "Globex", "Soylent", "Stark", "Wayne"];
const ACTIONS: &[(&str, &str)] = &[
    ("auth.sign_in", "user"),
    ("user.update", "user"),
    ("user.create", "user"),
    ("user.suspend", "user"),
    ("role.grant", "user"),
    ("team.member_add", "team"),
    ("document.create", "document"),
    ("document.update", "document"),
    ("document.download", "document"),
    ("document.version_add", "document"),
];

/// Loads the plan. Tenants are named `gen-0001`, `gen-0002`, … after the
/// highest such name already present, so a second run adds to the first.
pub async fn run(owner: &PgConnectOptions, plan: &Plan, progress: Progress<'_>) -> Result<Report, crate::Error> {
    let started = Instant::now();
    let mut conn = owner.connect().await?;
    let password_hash = app::auth::password::hash_blocking(&plan.password).0;
    let blobs = store_blobs(&plan.blob_dir)?;
    let first: i64 = sqlx::query_scalar!(
        r#"SELECT coalesce(max(substring(slug FROM '^gen-([0-9]+)$')::bigint), 0) + 1 AS "first!" FROM tenants WHERE slug ~ '^gen-[0-9]+$'"#,
    )
    .fetch_one(&mut conn)
    .await?;
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let mut report = Report::default();
    let tenants = u64::from(plan.tenants.max(1));
    for i in 0..tenants {
        let share = |total: u64| total / tenants + u64::from(i < total % tenants);
        let slug = format!("gen-{:04}", first + i as i64);
        let spec = TenantSpec {
            slug: slug.clone(),
            users: plan.users_per_tenant.max(1),
            events: share(plan.audit_events),
            documents: share(plan.documents),
        };
        load_tenant(&mut conn, &spec, &password_hash, &blobs, &mut rng).await?;
        report.tenants.push(slug);
        report.users += u64::from(spec.users);
        report.events += spec.events;
        report.documents += spec.documents;
        progress("tenants", i + 1, tenants);
    }
    // As autovacuum would leave a live database: statistics for the planner,
    // and the visibility map set, so index-only scans stay index-only.
    progress("vacuum", 0, 1);
    sqlx::query("VACUUM (ANALYZE)").execute(&mut conn).await?;
    progress("vacuum", 1, 1);
    conn.close().await?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

struct TenantSpec {
    slug: String,
    users: u32,
    events: u64,
    documents: u64,
}

/// A few distinct contents, stored once in the blob store; versions point at them.
fn store_blobs(dir: &std::path::Path) -> Result<Vec<(String, u64)>, crate::Error> {
    let store = app::documents::blobs::FsBlobStore::new(dir)
        .map_err(|e| format!("cannot use {} for document storage: {e}", dir.display()))?;
    let mut out = Vec::new();
    for n in 0..16 {
        let content = format!("Generated document content number {n}.\n").repeat(20 + n * 7);
        let sha = app::documents::blobs::hex(&Sha256::digest(content.as_bytes()));
        let path = store.path_of(&sha).ok_or("the blob store refused a SHA-256")?;
        if !path.is_file() {
            std::fs::create_dir_all(path.parent().ok_or("a blob path has no folder")?)?;
            std::fs::write(&path, content.as_bytes())?;
        }
        out.push((sha, content.len() as u64));
    }
    Ok(out)
}

/// The tables a tenant's load COPYs into, and the triggers it pauses.
const LOADED: &[&str] = &["users", "user_roles", "teams", "team_members", "documents", "document_versions", "audit_events", "audit_chain_heads"];
const PAUSED: &[(&str, &str)] = &[
    ("user_roles", "user_roles_auth_version_insert"),
    ("team_members", "team_members_auth_version_insert"),
    ("teams", "teams_auth_version_insert"),
    ("audit_events", "audit_events_at"),
    ("audit_events", "audit_events_chain"),
    ("users", "users_search_sync"),
];

async fn load_tenant(
    conn: &mut PgConnection,
    spec: &TenantSpec,
    password_hash: &str,
    blobs: &[(String, u64)],
    rng: &mut StdRng,
) -> Result<(), crate::Error> {
    let mut tx = conn.begin().await?;
    let tenant = Uuid::now_v7();
    sqlx::query!("SELECT set_config('steward.tenant_id', $1, true)", tenant.to_string()).fetch_one(&mut *tx).await?;
    let name = format!("{} {}", LAST[rng.gen_range(0..LAST.len())], ["Ltd", "GmbH", "Inc", "SA", "BV"][rng.gen_range(0..5)]);
    // Plans that hold what is generated (`plans`: Standard allows 100,000
    // people and 100 GB of documents).
    let plan = if spec.users > 100_000 { "enterprise" } else { ["standard", "enterprise"][rng.gen_range(0..2)] };
    sqlx::query!("INSERT INTO tenants (id, slug, name, plan) VALUES ($1, $2, $3, $4)", tenant, &spec.slug, &name, plan)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("SELECT steward_seed_tenant($1)", tenant).fetch_one(&mut *tx).await?;
    for table in LOADED {
        sqlx::query(&format!("ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")).execute(&mut *tx).await?;
    }
    for (table, trigger) in PAUSED {
        sqlx::query(&format!("ALTER TABLE {table} DISABLE TRIGGER {trigger}")).execute(&mut *tx).await?;
    }

    let now = Utc::now();
    let roles: Vec<(Uuid, String)> = sqlx::query!(r#"SELECT id, system_key AS "system_key!" FROM roles WHERE tenant_id = $1 AND system_key IS NOT NULL"#, tenant)
        .map(|r| (r.id, r.system_key))
        .fetch_all(&mut *tx)
        .await?;
    let role = |key: &str| roles.iter().find(|(_, k)| k == key).map(|(id, _)| *id).ok_or_else(|| format!("no {key} role was seeded"));
    let (owner_role, admin_role, manager_role, auditor_role, member_role) =
        (role("owner")?, role("admin")?, role("manager")?, role("auditor")?, role("member")?);

    // Users, oldest first, with one role each.
    let mut users = Vec::with_capacity(spec.users as usize);
    let mut copy = String::with_capacity(spec.users as usize * 220);
    let mut grants = String::with_capacity(spec.users as usize * 120);
    for n in 0..spec.users {
        let created = now - Duration::seconds(rng.gen_range(0..730 * 86_400));
        let id = v7_at(created, rng);
        let (first, last) = (FIRST[rng.gen_range(0..FIRST.len())], LAST[rng.gen_range(0..LAST.len())]);
        let email = match n {
            0 => format!("owner@{}.test", spec.slug),
            _ => format!("{}.{}{}@{}.test", first.to_lowercase(), last.to_lowercase(), n, spec.slug),
        };
        let status = match rng.gen_range(0..100) {
            0..=93 => "active",
            94..=96 => "suspended",
            97..=98 => "pending",
            _ => "inactive",
        };
        let login = (status == "active" && rng.gen_bool(0.8)).then(|| now - Duration::seconds(rng.gen_range(0..60 * 86_400)));
        row(&mut copy, &[
            Some(&tenant.to_string()),
            Some(&id.to_string()),
            Some(&email),
            Some(&format!("{first} {last}")),
            Some(status),
            Some(password_hash),
            login.map(|t| t.to_rfc3339()).as_deref(),
            Some(&created.to_rfc3339()),
            Some(&created.to_rfc3339()),
        ]);
        let granted = match n {
            0 => owner_role,
            1..=4 => admin_role,
            _ if n % 50 == 0 => manager_role,
            _ if n % 97 == 0 => auditor_role,
            _ => member_role,
        };
        row(&mut grants, &[Some(&tenant.to_string()), Some(&id.to_string()), Some(&granted.to_string()), Some(&created.to_rfc3339())]);
        users.push(id);
    }
    copy_in(&mut tx, "users (tenant_id, id, email, display_name, status, password_hash, last_login_at, created_at, updated_at)", &copy).await?;
    copy_in(&mut tx, "user_roles (tenant_id, user_id, role_id, granted_at)", &grants).await?;
    // The search keys in one statement (their trigger is paused for the COPY).
    sqlx::query!("INSERT INTO user_search (tenant_id, user_id, key) SELECT tenant_id, id, lower(email || ' ' || display_name) FROM users WHERE tenant_id = $1", tenant)
        .execute(&mut *tx)
        .await?;

    // Teams, with a few per cent of the people in each.
    let mut teams = String::new();
    let mut members = String::new();
    for name in TEAMS.iter().take(1 + users.len() / 1000).take(TEAMS.len()) {
        let id = Uuid::now_v7();
        let lead = users[rng.gen_range(0..users.len())];
        row(&mut teams, &[Some(&tenant.to_string()), Some(&id.to_string()), Some(name), Some(&lead.to_string())]);
        let mut chosen = std::collections::BTreeSet::new();
        for _ in 0..(users.len() / 20).max(1) {
            chosen.insert(users[rng.gen_range(0..users.len())]);
        }
        for user in chosen {
            row(&mut members, &[Some(&tenant.to_string()), Some(&id.to_string()), Some(&user.to_string())]);
        }
    }
    copy_in(&mut tx, "teams (tenant_id, id, name, lead_user_id)", &teams).await?;
    copy_in(&mut tx, "team_members (tenant_id, team_id, user_id)", &members).await?;

    // Documents, each with one to three versions.
    let mut docs = String::with_capacity(spec.documents as usize * 300);
    let mut versions = String::with_capacity(spec.documents as usize * 400);
    for n in 0..spec.documents {
        let created = now - Duration::seconds(rng.gen_range(0..365 * 86_400));
        let id = v7_at(created, rng);
        let title = format!("{} {}", DOC_TITLES[rng.gen_range(0..DOC_TITLES.len())], n + 1);
        let count = rng.gen_range(1..=3);
        let by = users[rng.gen_range(0..users.len())];
        let mut last = (String::new(), 0, String::new());
        for v in 1..=count {
            let (sha, size) = &blobs[rng.gen_range(0..blobs.len())];
            let file = format!("{}-v{v}.txt", title.to_lowercase().replace(' ', "-"));
            let at = created + Duration::minutes(i64::from(v - 1) * 90);
            row(&mut versions, &[
                Some(&tenant.to_string()),
                Some(&id.to_string()),
                Some(&v.to_string()),
                Some(sha),
                Some(&size.to_string()),
                Some(&file),
                Some("text/plain"),
                Some(if v == 1 { "" } else { "Revised" }),
                Some(&by.to_string()),
                Some(&at.to_rfc3339()),
            ]);
            last = (file, *size, at.to_rfc3339());
        }
        let tags = format!("{{{},y{}}}", TAGS[rng.gen_range(0..TAGS.len())], 2000 + rng.gen_range(0..27));
        let metadata = serde_json::json!({ "client": CLIENTS[rng.gen_range(0..CLIENTS.len())], "ref": format!("R-{}", n + 1) }).to_string();
        row(&mut docs, &[
            Some(&tenant.to_string()),
            Some(&id.to_string()),
            Some(&title),
            Some(&last.0),
            Some("text/plain"),
            Some(&last.1.to_string()),
            Some(&count.to_string()),
            Some(&metadata),
            Some(&tags),
            Some(&by.to_string()),
            Some(&created.to_rfc3339()),
            Some(&last.2),
        ]);
        if docs.len() > 8 << 20 {
            copy_in(&mut tx, DOC_COLUMNS, &docs).await?;
            docs.clear();
        }
    }
    copy_in(&mut tx, DOC_COLUMNS, &docs).await?;
    copy_in(&mut tx, "document_versions (tenant_id, document_id, number, sha256, size_bytes, file_name, content_type, note, uploaded_by, created_at)", &versions).await?;

    // Audit events: the chain computed here, in time order, within the
    // months that have partitions (from the start of last month).
    let from = month_start(now) - Duration::days(20);
    let span = (now - from).num_microseconds().unwrap_or(1).max(1);
    let mut prev: Option<[u8; 32]> = None;
    let mut buffer = String::with_capacity(4 << 20);
    for seq in 1..=spec.events {
        let offset = (span as f64 * (seq as f64 / (spec.events + 1) as f64)) as i64;
        let at = truncate_micros(from + Duration::microseconds(offset));
        let (action, entity_type) = ACTIONS[rng.gen_range(0..ACTIONS.len())];
        let actor = users[rng.gen_range(0..users.len().min(200))];
        let entity = match entity_type {
            "user" => users[rng.gen_range(0..users.len())].to_string(),
            _ => format!("{:x}", rng.gen::<u64>()),
        };
        let n = rng.gen_range(1..10_000);
        let changes = serde_json::json!({
            "before": { "title": format!("Title {n}"), "status": "active" },
            "after": { "title": format!("Title {n} (revised)"), "status": if n % 7 == 0 { "suspended" } else { "active" } },
        });
        let event = Event {
            tenant_id: tenant,
            id: v7_at(at, rng),
            seq: seq as i64,
            occurred_at: at,
            actor_user_id: Some(actor),
            ip: Some(format!("10.{}.{}.{}", rng.gen_range(0..4), rng.gen_range(0..250), rng.gen_range(1..250))),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0".into()),
            action: action.into(),
            entity_type: Some(entity_type.into()),
            entity_id: Some(entity),
            changes,
            request_id: Some(format!("gen-{:x}", rng.gen::<u64>())),
        };
        let hash = event.hash(prev.as_ref());
        row(&mut buffer, &[
            Some(&event.tenant_id.to_string()),
            Some(&event.id.to_string()),
            Some(&event.occurred_at.to_rfc3339()),
            Some(&event.seq.to_string()),
            prev.map(|p| format!("\\x{}", app::documents::blobs::hex(&p))).as_deref(),
            Some(&format!("\\x{}", app::documents::blobs::hex(&hash))),
            event.actor_user_id.map(|u| u.to_string()).as_deref(),
            event.ip.as_deref(),
            event.user_agent.as_deref(),
            Some(&event.action),
            event.entity_type.as_deref(),
            event.entity_id.as_deref(),
            Some(&event.changes.to_string()),
            event.request_id.as_deref(),
        ]);
        prev = Some(hash);
        if buffer.len() > 4 << 20 {
            copy_in(&mut tx, EVENT_COLUMNS, &buffer).await?;
            buffer.clear();
        }
    }
    copy_in(&mut tx, EVENT_COLUMNS, &buffer).await?;
    if let Some(head) = prev {
        sqlx::query!(
            "INSERT INTO audit_chain_heads (tenant_id, seq, hash) VALUES ($1, $2, $3)
             ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            tenant,
            spec.events as i64,
            head.to_vec()
        )
        .execute(&mut *tx)
        .await?;
    }

    for (table, trigger) in PAUSED {
        sqlx::query(&format!("ALTER TABLE {table} ENABLE TRIGGER {trigger}")).execute(&mut *tx).await?;
    }
    for table in LOADED {
        sqlx::query(&format!("ALTER TABLE {table} FORCE ROW LEVEL SECURITY")).execute(&mut *tx).await?;
    }
    // The grants loaded with their triggers paused: one bump for them all.
    sqlx::query!(
        "INSERT INTO tenant_auth AS a (tenant_id, auth_version) VALUES ($1, 2)
         ON CONFLICT (tenant_id) DO UPDATE SET auth_version = a.auth_version + 1",
        tenant
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

const DOC_COLUMNS: &str = "documents (tenant_id, id, title, file_name, content_type, size_bytes, current_version, metadata, tags, created_by, created_at, updated_at)";
const EVENT_COLUMNS: &str = "audit_events (tenant_id, id, occurred_at, seq, prev_hash, hash, actor_user_id, ip, user_agent, action, entity_type, entity_id, changes, request_id)";

async fn copy_in(conn: &mut PgConnection, target: &str, data: &str) -> Result<(), sqlx::Error> {
    if data.is_empty() {
        return Ok(());
    }
    let mut copy = conn.copy_in_raw(&format!("COPY {target} FROM STDIN (FORMAT text)")).await?;
    copy.send(data.as_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

/// One line of COPY's text format.
fn row(out: &mut String, fields: &[Option<&str>]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match field {
            None => out.push_str("\\N"),
            Some(text) => {
                for c in text.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
            }
        }
    }
    out.push('\n');
}

fn v7_at(at: DateTime<Utc>, rng: &mut StdRng) -> Uuid {
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, at.timestamp() as u64, at.timestamp_subsec_nanos());
    let mut bytes = *Uuid::new_v7(ts).as_bytes();
    // The random tail from the seeded generator, so ids never collide
    // between rows made in the same millisecond.
    let tail: [u8; 8] = rng.gen();
    bytes[8..].copy_from_slice(&tail);
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

fn month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::{Datelike, TimeZone};
    Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0).single().unwrap_or(now)
}

fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// An audit event as `steward_audit_hash` sees it.
pub struct Event {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_user_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub action: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub changes: serde_json::Value,
    pub request_id: Option<String>,
}

impl Event {
    /// SHA-256 of the previous hash and the event's canonical JSON: jsonb's
    /// text form, whose keys are ordered shortest first, then bytewise.
    pub fn hash(&self, prev: Option<&[u8; 32]>) -> [u8; 32] {
        use serde_json::Value;
        let opt = |v: &Option<String>| v.clone().map(Value::String).unwrap_or(Value::Null);
        let object = serde_json::json!({
            "tenant_id": self.tenant_id.to_string(),
            "id": self.id.to_string(),
            "seq": self.seq,
            "occurred_at": self.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            "actor_user_id": self.actor_user_id.map(|u| Value::String(u.to_string())).unwrap_or(Value::Null),
            "actor_tenant_id": Value::Null,
            "ip": opt(&self.ip),
            "user_agent": opt(&self.user_agent),
            "action": self.action,
            "entity_type": opt(&self.entity_type),
            "entity_id": opt(&self.entity_id),
            "changes": self.changes,
            "request_id": opt(&self.request_id),
        });
        let mut text = String::with_capacity(512);
        jsonb_text(&object, &mut text);
        let mut hasher = Sha256::new();
        if let Some(p) = prev {
            hasher.update(p);
        }
        hasher.update(text.as_bytes());
        hasher.finalize().into()
    }
}

/// Writes a value as PostgreSQL prints a jsonb.
pub fn jsonb_text(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                jsonb_text(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.as_bytes().cmp(b.as_bytes())));
            out.push('{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_string(key, out);
                out.push_str(": ");
                jsonb_text(&map[*key], out);
            }
            out.push('}');
        }
    }
}

fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonb_text_orders_keys_shortest_first_then_bytewise() {
        let v = serde_json::json!({ "bb": 1, "a": [true, null], "ab": "x\"y\n", "c": { "zz": 2, "y": "é" } });
        let mut out = String::new();
        jsonb_text(&v, &mut out);
        assert_eq!(out, r#"{"a": [true, null], "c": {"y": "é", "zz": 2}, "ab": "x\"y\n", "bb": 1}"#);
    }

    #[test]
    fn copy_rows_escape_what_copy_reads_specially() {
        let mut out = String::new();
        row(&mut out, &[Some("a\tb\\c\nd"), None, Some("")]);
        assert_eq!(out, "a\\tb\\\\c\\nd\t\\N\t\n");
    }
}
