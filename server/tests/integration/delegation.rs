//! The delegation rule, tested by a model: long random sequences of the
//! real server functions (grants and revokes, team membership and team
//! roles, role edits, deletes and restores of people, teams and roles,
//! password and second-factor resets, unlocks, suspensions, email changes,
//! anonymisation, personal-data exports, CSV imports, API keys,
//! invitations sent, accepted, sent again and revoked, bulk actions on the
//! users list) by random
//! actors among seeded and created people, on real PostgreSQL through the
//! real router. After every step it checks, from the database itself and
//! with its own SQL (not the code under test):
//!
//! (a) every permission or view that anyone gained is held by the actor of
//!     that step (as they were before it);
//! (b) any secret handed back (a temporary password) belongs to an account
//!     whose grants are within the actor's, and more widely every action on
//!     someone's credentials or sign-in that succeeded was on such an account.
//!
//! `STEWARD_MODEL_STEPS` (steps per run, default 400) and
//! `STEWARD_MODEL_RUNS` (runs, default 3) and `STEWARD_MODEL_SEED` (first
//! seed) set its size; docs/SECURITY.md records a long run.

use crate::support::*;
use axum::http::StatusCode;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sqlx::{ConnectOptions, PgConnection};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

type Grants = BTreeSet<String>;

/// What every user of a tenant effectively holds now: permissions and
/// `view:` keys of their live roles (direct, and through live teams) within
/// the tenant's enabled modules; nothing for people who cannot sign in.
async fn effective(conn: &mut PgConnection, tenant: Uuid) -> BTreeMap<Uuid, Grants> {
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "WITH roles_held AS (
             SELECT ur.user_id, ur.role_id FROM user_roles ur WHERE ur.tenant_id = $1
             UNION
             SELECT tm.user_id, tr.role_id FROM team_members tm
               JOIN teams t ON t.tenant_id = tm.tenant_id AND t.id = tm.team_id AND t.deleted_at IS NULL
               JOIN team_roles tr ON tr.tenant_id = tm.tenant_id AND tr.team_id = tm.team_id
              WHERE tm.tenant_id = $1),
           live AS (
             SELECT h.user_id, h.role_id FROM roles_held h
               JOIN roles r ON r.tenant_id = $1 AND r.id = h.role_id AND r.deleted_at IS NULL
               JOIN users u ON u.tenant_id = $1 AND u.id = h.user_id AND u.deleted_at IS NULL AND u.status = 'active'),
           enabled AS (SELECT key FROM modules WHERE is_core UNION SELECT module_key FROM tenant_modules WHERE tenant_id = $1)
         SELECT l.user_id, p.key FROM live l JOIN role_permissions rp ON rp.tenant_id = $1 AND rp.role_id = l.role_id
           JOIN permissions p ON p.key = rp.permission_key JOIN enabled e ON e.key = p.module_key
         UNION
         SELECT l.user_id, 'view:' || v.key FROM live l JOIN role_views rv ON rv.tenant_id = $1 AND rv.role_id = l.role_id
           JOIN views v ON v.key = rv.view_key JOIN enabled e ON e.key = v.module_key",
    )
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut out: BTreeMap<Uuid, Grants> = BTreeMap::new();
    for (user, key) in rows {
        out.entry(user).or_default().insert(key);
    }
    out
}

/// Someone who acts in the model: a browser signed in as them.
struct Actor {
    name: String,
    email: String,
    /// Their own tenant (where they sign in and what their grants come from).
    home: &'static str,
    /// Acting inside acme from the platform.
    acting: bool,
    password: String,
    browser: TestApp,
}

/// The arena: the tenant the actors act in, and what is in it.
struct World {
    acme: Uuid,
    platform: Uuid,
    users: Vec<(Uuid, String, bool)>,
    roles: Vec<(Uuid, String, bool)>,
    custom_roles: Vec<(Uuid, String, bool)>,
    teams: Vec<(Uuid, String, bool)>,
    perms: Vec<String>,
    views: Vec<String>,
    /// Live API keys in acme: (key, its holder).
    api_keys: Vec<(Uuid, Uuid)>,
    /// People invited who have not accepted yet.
    pending: Vec<(Uuid, String, bool)>,
}

async fn refresh(conn: &mut PgConnection, world: &mut World, tenant: Uuid) {
    world.users = sqlx::query_as("SELECT id, email, deleted_at IS NOT NULL FROM users WHERE tenant_id = $1 AND anonymised_at IS NULL ORDER BY id")
        .bind(tenant)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    world.roles = sqlx::query_as("SELECT id, name, deleted_at IS NOT NULL FROM roles WHERE tenant_id = $1 ORDER BY id")
        .bind(tenant)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    world.custom_roles = sqlx::query_as("SELECT id, name, deleted_at IS NOT NULL FROM roles WHERE tenant_id = $1 AND NOT is_system ORDER BY id")
        .bind(tenant)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    world.teams = sqlx::query_as("SELECT id, name, deleted_at IS NOT NULL FROM teams WHERE tenant_id = $1 ORDER BY id")
        .bind(tenant)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    world.pending = sqlx::query_as("SELECT id, email, false FROM users WHERE tenant_id = $1 AND status = 'pending' AND deleted_at IS NULL ORDER BY id")
        .bind(tenant)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    world.api_keys = sqlx::query_as("SELECT id, user_id FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL ORDER BY id")
        .bind(tenant)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
}

/// acme's retention of deleted people (days; None: kept for ever).
async fn retention(conn: &mut PgConnection, tenant: Uuid) -> Option<i32> {
    sqlx::query_scalar("SELECT anonymise_deleted_after_days FROM tenants WHERE id = $1").bind(tenant).fetch_one(&mut *conn).await.unwrap()
}

/// Steps that touch someone's credentials or sign-in: their subject's
/// grants must be within the actor's.
const TAKEOVER_STEPS: &[&str] =
    &["reset_password", "send_password_link", "resend_invitation", "revoke_invitation", "reset_mfa", "unlock_user", "suspend_user", "reactivate_user", "delete_user", "restore_user", "revoke_sessions", "update_user_email", "anonymise_user", "export_user", "list_user_api_keys", "revoke_user_api_key"];

struct Step {
    op: &'static str,
    subject: Option<Uuid>,
    text: String,
    /// The people a bulk action was done for (its report).
    done: Vec<Uuid>,
}

async fn sign_in_actor(actor: &Actor) -> bool {
    actor.browser.clear_cookies();
    let r = actor.browser.sign_in(actor.home, &actor.email, &actor.password).await;
    if !r.status.is_redirection() {
        return false;
    }
    if r.location().is_some_and(|l| l.starts_with("/account/password")) {
        // A temporary password from a reset the model made: choose ours again.
        let changed = actor
            .browser
            .call("/api/change_password", &[("current_password", &actor.password), ("new_password", PASSWORD), ("confirm_password", PASSWORD)])
            .await;
        if !changed.status.is_success() {
            return false;
        }
    }
    if actor.acting {
        let r = actor.browser.call("/api/act_in_tenant", &[("slug", "acme"), ("reason", "model-based delegation test")]).await;
        return r.status.is_success() || r.status.is_redirection();
    }
    true
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> Option<&'a T> {
    items.choose(rng)
}

/// One random step by `actor` in acme; what it did, for the trace.
async fn step(rng: &mut StdRng, actor: &Actor, held: &Grants, world: &World, counter: &mut usize, temps: &mut Vec<(Uuid, String)>) -> (Step, StatusCode) {
    const OPS: &[&str] = &[
        "assign_role", "revoke_role", "add_team_member", "remove_team_member", "grant_team_role", "revoke_team_role",
        "create_team", "delete_team", "restore_team", "create_role", "update_role", "delete_role", "restore_role",
        "create_user", "reset_password", "reset_mfa", "unlock_user", "suspend_user", "reactivate_user", "delete_user",
        "restore_user", "revoke_sessions", "update_user_email", "anonymise_user", "export_user", "import_users", "create_api_key",
        "list_user_api_keys", "revoke_user_api_key", "set_retention", "send_password_link", "invite_user", "resend_invitation",
        "revoke_invitation", "bulk_users",
        // Twice: they need someone pending, and an actor who may.
        "invite_user", "resend_invitation", "revoke_invitation",
    ];
    let op = *pick(rng, OPS).unwrap();
    let b = &actor.browser;
    let user = pick(rng, &world.users).cloned().unwrap();
    let role = pick(rng, &world.roles).cloned().unwrap();
    let team = pick(rng, &world.teams).cloned();
    let (uid, rid) = (user.0.to_string(), role.0.to_string());
    *counter += 1;
    let n = *counter;
    // Mostly what the actor holds (so that the step can succeed), now and
    // then anything at all (so that the refusals are tried too).
    let some_perms = |rng: &mut StdRng| -> Vec<String> {
        let own = rng.gen_bool(0.75);
        world.perms.iter().filter(|p| (!own || held.contains(*p)) && rng.gen_bool(0.4)).cloned().collect()
    };
    let some_views = |rng: &mut StdRng| -> Vec<String> {
        let own = rng.gen_bool(0.75);
        world.views.iter().filter(|v| (!own || held.contains(&format!("view:{v}"))) && rng.gen_bool(0.4)).cloned().collect()
    };
    let mut subject = None;
    let mut done = Vec::new();
    let (text, status) = match op {
        "assign_role" | "revoke_role" => {
            let r = b.call(&format!("/api/{op}"), &[("user_id", &uid), ("role_id", &rid)]).await;
            (format!("{op} {} {}", user.1, role.1), r.status)
        }
        "add_team_member" | "remove_team_member" => {
            let Some(team) = team else { return (Step { op, subject, text: "no team".into(), done: vec![] }, StatusCode::NOT_FOUND) };
            let r = b.call(&format!("/api/{op}"), &[("team_id", &team.0.to_string()), ("user_id", &uid)]).await;
            (format!("{op} {} {}", team.1, user.1), r.status)
        }
        "grant_team_role" | "revoke_team_role" => {
            let Some(team) = team else { return (Step { op, subject, text: "no team".into(), done: vec![] }, StatusCode::NOT_FOUND) };
            let r = b.call(&format!("/api/{op}"), &[("team_id", &team.0.to_string()), ("role_id", &rid)]).await;
            (format!("{op} {} {}", team.1, role.1), r.status)
        }
        "create_team" => {
            let r = b.call("/api/create_team", &[("name", &format!("Team {n}"))]).await;
            (format!("create_team Team {n}"), r.status)
        }
        "delete_team" | "restore_team" => {
            let Some(team) = team else { return (Step { op, subject, text: "no team".into(), done: vec![] }, StatusCode::NOT_FOUND) };
            let r = b.call(&format!("/api/{op}"), &[("team_id", &team.0.to_string())]).await;
            (format!("{op} {}", team.1), r.status)
        }
        "create_role" => {
            let (perms, views) = (some_perms(rng), some_views(rng));
            let mut fields: Vec<(&str, &str)> = vec![("name", "")];
            let name = format!("Role {n}");
            fields[0].1 = &name;
            fields.extend(perms.iter().map(|p| ("perms[]", p.as_str())));
            fields.extend(views.iter().map(|v| ("views[]", v.as_str())));
            let r = b.call("/api/create_role", &fields).await;
            (format!("create_role {name} {perms:?} {views:?}"), r.status)
        }
        "update_role" => {
            let role = pick(rng, &world.custom_roles).cloned().unwrap_or(role);
            let rid = role.0.to_string();
            let detail = b.call("/api/get_role", &[("role_id", &rid)]).await;
            let version = if detail.status.is_success() { json(&detail)["version"].as_i64().unwrap_or(1).to_string() } else { "1".into() };
            let (perms, views) = (some_perms(rng), some_views(rng));
            let mut fields: Vec<(&str, &str)> = vec![("role_id", &rid), ("version", &version), ("name", &role.1)];
            fields.extend(perms.iter().map(|p| ("perms[]", p.as_str())));
            fields.extend(views.iter().map(|v| ("views[]", v.as_str())));
            let r = b.call("/api/update_role", &fields).await;
            (format!("update_role {} {perms:?} {views:?}", role.1), r.status)
        }
        "delete_role" | "restore_role" => {
            let r = b.call(&format!("/api/{op}"), &[("role_id", &rid)]).await;
            (format!("{op} {}", role.1), r.status)
        }
        "create_user" => {
            let email = format!("made{n}@acme.test");
            let with_role = rng.gen_bool(0.7);
            let mut fields = vec![("email", email.as_str()), ("display_name", "Made Person")];
            if with_role {
                fields.push(("role_id", &rid));
            }
            let r = b.call("/api/create_user", &fields).await;
            if r.status.is_success() {
                if let Some(temp) = json(&r)["temporary_password"].as_str() {
                    let id: Uuid = json(&r)["id"].as_str().unwrap().parse().unwrap();
                    subject = Some(id);
                    temps.push((id, temp.to_string()));
                }
            }
            (format!("create_user {email} role={}", if with_role { role.1.as_str() } else { "-" }), r.status)
        }
        "reset_password" => {
            subject = Some(user.0);
            let r = b.call("/api/reset_password", &[("user_id", &uid)]).await;
            if r.status.is_success() {
                temps.push((user.0, json(&r).as_str().unwrap_or_default().to_string()));
            }
            (format!("reset_password {}", user.1), r.status)
        }
        "bulk_users" => {
            // One action on a few people (a bulk action runs each person
            // through the same checks as their own page would).
            let action = *pick(rng, &["suspend", "reactivate", "delete", "grant_role", "remove_role", "add_to_team", "resend_invitation"]).unwrap();
            let people: Vec<String> = (0..rng.gen_range(1..=3)).map(|_| pick(rng, &world.users).unwrap().0.to_string()).collect();
            let mut fields = vec![("action", action)];
            let everyone = rng.gen_bool(0.25);
            if everyone {
                // Everyone the filter matches (people named "imported…", "made…").
                fields.push(("all", "on"));
                fields.push(("query[q]", *pick(rng, &["imp", "made", "invited"]).unwrap()));
            } else {
                fields.extend(people.iter().map(|id| ("ids[]", id.as_str())));
            }
            fields.push(("role_id", &rid));
            let team_id = team.as_ref().map(|t| t.0.to_string()).unwrap_or_default();
            fields.push(("team_id", &team_id));
            let r = b.call("/api/bulk_users", &fields).await;
            if r.status.is_success() {
                done = json(&r)["done"].as_array().map(|a| a.iter().filter_map(|v| v.as_str()?.parse().ok()).collect()).unwrap_or_default();
            }
            let whom = if everyone { "everyone matching".to_string() } else { format!("{people:?}") };
            (format!("bulk_users {action} {whom} role={} -> done {done:?}", role.1), r.status)
        }
        "invite_user" => {
            let email = format!("invited{n}@acme.test");
            let mut fields = vec![("email", email.as_str()), ("display_name", "Invited Person")];
            let with_role = rng.gen_bool(0.6);
            if with_role {
                fields.push(("role_id", &rid));
            }
            let team_id = team.as_ref().filter(|_| rng.gen_bool(0.4)).map(|t| t.0.to_string());
            if let Some(t) = &team_id {
                fields.push(("team_id", t));
            }
            let r = b.call("/api/invite_user", &fields).await;
            if r.status.is_success() {
                subject = json(&r).as_str().and_then(|id| id.parse().ok());
            }
            let team_name = team.as_ref().filter(|_| team_id.is_some()).map_or("-", |t| t.1.as_str());
            (format!("invite_user {email} role={} team={team_name}", if with_role { role.1.as_str() } else { "-" }), r.status)
        }
        "resend_invitation" | "revoke_invitation" => {
            // Mostly someone pending (so that the step can succeed).
            let who = if rng.gen_bool(0.8) { pick(rng, &world.pending).cloned().unwrap_or(user) } else { user };
            subject = Some(who.0);
            let r = b.call(&format!("/api/{op}"), &[("user_id", &who.0.to_string())]).await;
            (format!("{op} {}", who.1), r.status)
        }
        "reset_mfa" | "unlock_user" | "suspend_user" | "reactivate_user" | "delete_user" | "restore_user" | "revoke_sessions" | "send_password_link" => {
            subject = Some(user.0);
            let r = b.call(&format!("/api/{op}"), &[("user_id", &uid)]).await;
            (format!("{op} {}", user.1), r.status)
        }
        "update_user_email" => {
            subject = Some(user.0);
            let detail = b.call("/api/get_user", &[("user_id", &uid)]).await;
            let (version, name) = if detail.status.is_success() {
                let d = json(&detail);
                (d["version"].as_i64().unwrap_or(1).to_string(), d["display_name"].as_str().unwrap_or("Someone").to_string())
            } else {
                ("1".into(), "Someone".into())
            };
            let email = format!("moved{n}@acme.test");
            let r = b.call("/api/update_user", &[("user_id", &uid), ("version", &version), ("email", &email), ("display_name", &name)]).await;
            (format!("update_user_email {} -> {email}", user.1), r.status)
        }
        "anonymise_user" => {
            subject = Some(user.0);
            let r = b.call("/api/anonymise_user", &[("user_id", &uid), ("confirm", &user.1)]).await;
            (format!("anonymise_user {}", user.1), r.status)
        }
        "export_user" => {
            subject = Some(user.0);
            let (status, _, _) = b.download(&format!("/users/{uid}/export.json")).await;
            (format!("export_user {}", user.1), status)
        }
        "import_users" => {
            let mut csv = String::from("email,name,role\n");
            for i in 0..rng.gen_range(1..=3) {
                let role = pick(rng, &world.roles).unwrap();
                csv.push_str(&format!("imp{n}x{i}@acme.test,Imported {n} {i},{}\n", role.1));
            }
            let r = b.upload("/users/imports", "file", "people.csv", csv.as_bytes()).await;
            (format!("import_users {}", csv.replace('\n', " | ")), r.status)
        }
        "create_api_key" => {
            let perms = some_perms(rng);
            let mut fields = vec![("name", "model key"), ("expires_in_days", "30"), ("current_password", PASSWORD)];
            fields.extend(perms.iter().map(|p| ("scopes[]", p.as_str())));
            let r = b.call("/api/create_api_key", &fields).await;
            (format!("create_api_key {perms:?}"), r.status)
        }
        "list_user_api_keys" => {
            subject = Some(user.0);
            let r = b.call("/api/list_user_api_keys", &[("user_id", &uid)]).await;
            (format!("list_user_api_keys {}", user.1), r.status)
        }
        "revoke_user_api_key" => {
            // Mostly a key that exists; its holder is the subject.
            let (key, holder) = pick(rng, &world.api_keys).copied().unwrap_or((Uuid::nil(), user.0));
            subject = Some(holder);
            let r = b.call("/api/revoke_user_api_key", &[("user_id", &holder.to_string()), ("key_id", &key.to_string())]).await;
            (format!("revoke_user_api_key {key} of {holder}"), r.status)
        }
        "set_retention" => {
            let days = *pick(rng, &["", "0", "30", "3650"]).unwrap();
            let r = b.call("/api/set_retention", &[("days", days)]).await;
            (format!("set_retention {days:?}"), r.status)
        }
        _ => unreachable!(),
    };
    (Step { op, subject, text, done }, status)
}

/// Waits for the imports a step started to finish (they run after the response).
async fn imports_settled(conn: &mut PgConnection) {
    for _ in 0..200 {
        let running: i64 = sqlx::query_scalar("SELECT count(*) FROM user_imports WHERE state = 'running'").fetch_one(&mut *conn).await.unwrap();
        if running == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("an import did not finish within 10 s");
}

/// Sets up the actors, then runs `steps` random steps from `seed`; returns
/// the violations found (empty when the rule held) and counts per step kind.
async fn run(seed: u64, steps: usize) -> (Vec<String>, BTreeMap<String, (usize, usize)>) {
    let app = TestApp::spawn().await;
    let mut su = app.db.superuser().connect().await.unwrap();
    let acme = app.db.tenant_id("acme").await;
    let platform = app.db.tenant_id("platform").await;

    // Actors beyond the demo's: an administrator, a helpdesk with a custom
    // role, a team administrator who may assign roles but holds little.
    let olivia = app.another_browser();
    olivia.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    for (email, name) in [("ada@acme.test", "Ada Admin"), ("hal@acme.test", "Hal Helpdesk"), ("tia@acme.test", "Tia Teamadmin")] {
        let r = olivia.call("/api/create_user", &[("email", email), ("display_name", name), ("password", PASSWORD)]).await;
        assert!(r.status.is_success(), "{}", r.body);
    }
    app.db.grant("ada@acme.test", "acme", "admin").await;
    for (role, perms, views) in [
        ("Helpdesk", vec!["user:read", "user:reset_password", "user:suspend", "user:revoke_sessions", "user:update"], vec!["users"]),
        ("Team admin", vec!["user:read", "team:read", "team:manage", "role:read", "role:assign"], vec!["users", "teams", "roles"]),
    ] {
        let mut fields: Vec<(&str, &str)> = vec![("name", role)];
        fields.extend(perms.iter().map(|p| ("perms[]", *p)));
        fields.extend(views.iter().map(|v| ("views[]", *v)));
        let r = olivia.call("/api/create_role", &fields).await;
        assert!(r.status.is_success(), "{}", r.body);
    }
    app.db.grant("hal@acme.test", "acme", "Helpdesk").await;
    app.db.grant("tia@acme.test", "acme", "Team admin").await;
    // A team that carries Owner, as in the review's H1.
    let r = olivia.call("/api/create_team", &[("name", "Admins")]).await;
    assert!(r.status.is_success(), "{}", r.body);
    let admins: String = sqlx::query_scalar("SELECT id::text FROM teams WHERE name = 'Admins'").fetch_one(&mut su).await.unwrap();
    let owner = app.db.role_id("acme", "owner").await.to_string();
    let r = olivia.call("/api/grant_team_role", &[("team_id", &admins), ("role_id", &owner)]).await;
    assert!(r.status.is_success(), "{}", r.body);

    let mut actors = Vec::new();
    for (email, name, home, acting) in [
        ("olivia@acme.test", "olivia (owner)", "acme", false),
        ("ada@acme.test", "ada (admin)", "acme", false),
        ("maya@acme.test", "maya (manager)", "acme", false),
        ("audrey@acme.test", "audrey (auditor)", "acme", false),
        ("mark@acme.test", "mark (member)", "acme", false),
        ("hal@acme.test", "hal (helpdesk)", "acme", false),
        ("tia@acme.test", "tia (team admin)", "acme", false),
        ("support@steward.test", "support (acting)", "platform", true),
        ("admin@steward.test", "platform admin (acting)", "platform", true),
    ] {
        let actor = Actor { name: name.into(), email: email.into(), home, acting, password: PASSWORD.into(), browser: app.another_browser() };
        assert!(sign_in_actor(&actor).await, "{name} signs in");
        actors.push(actor);
    }

    let mut world = World {
        acme,
        platform,
        users: vec![],
        roles: vec![],
        custom_roles: vec![],
        teams: vec![],
        perms: vec![],
        views: vec![],
        api_keys: vec![],
        pending: vec![],
    };
    world.perms = sqlx::query_scalar("SELECT p.key FROM permissions p JOIN modules m ON m.key = p.module_key WHERE m.key <> 'platform' ORDER BY 1")
        .fetch_all(&mut su)
        .await
        .unwrap();
    world.views = sqlx::query_scalar("SELECT v.key FROM views v WHERE v.module_key <> 'platform' ORDER BY 1").fetch_all(&mut su).await.unwrap();

    let mut rng = StdRng::seed_from_u64(seed);
    let mut violations = Vec::new();
    let mut trace: Vec<String> = Vec::new();
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut counter = 0;
    for i in 0..steps {
        refresh(&mut su, &mut world, acme).await;
        let actor_index = rng.gen_range(0..actors.len());
        let actor = &actors[actor_index];
        let home = if actor.home == "acme" { world.acme } else { world.platform };
        let actor_id: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE tenant_id = $1 AND lower(email) = $2")
            .bind(home)
            .bind(&actor.email)
            .fetch_optional(&mut su)
            .await
            .unwrap()
            .unwrap_or_default();
        let held = effective(&mut su, home).await.remove(&actor_id).unwrap_or_default();
        let before = effective(&mut su, acme).await;
        // Who a step touched, read from the database itself: versions and
        // links, before and after.
        let versions_before: BTreeMap<Uuid, i32> =
            sqlx::query_as("SELECT id, version FROM users WHERE tenant_id = $1").bind(acme).fetch_all(&mut su).await.unwrap().into_iter().collect();
        let step_started: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT clock_timestamp()").fetch_one(&mut su).await.unwrap();
        let kept_before = retention(&mut su, acme).await;

        let mut temps = Vec::new();
        let (mut s, mut status) = step(&mut rng, actor, &held, &world, &mut counter, &mut temps).await;
        if status == StatusCode::UNAUTHORIZED && sign_in_actor(actor).await {
            // Signed out by an earlier step (a reset, a suspension now lifted): once more.
            (s, status) = step(&mut rng, actor, &held, &world, &mut counter, &mut temps).await;
        }
        imports_settled(&mut su).await;
        let ok = status.is_success() || status.is_redirection();
        let entry = counts.entry(s.op.to_string()).or_default();
        if ok { entry.0 += 1 } else { entry.1 += 1 }
        let line = format!("#{i} {} {} -> {}", actor.name, s.text, status.as_u16());
        trace.push(line.clone());
        if std::env::var_os("STEWARD_MODEL_TRACE").is_some() {
            eprintln!("{line}");
        }

        // The model reads the person's mail (as whoever holds their mailbox,
        // perhaps moved there by an earlier step) and uses the link it was
        // sent: a reset link (the person's password is now one the model
        // knows), or an invitation, accepted at once now and then (what it
        // gave is now held, and checked below).
        let mailed = match s.op {
            "send_password_link" => Some("user.password_link"),
            "resend_invitation" => Some("user.invitation"),
            "invite_user" if rng.gen_bool(0.35) => Some("user.invitation"),
            _ => None,
        };
        if let (Some(kind), true, Some(subject)) = (mailed, ok, s.subject) {
            let sent: String = sqlx::query_scalar("SELECT link FROM mail_outbox WHERE user_id = $1 AND kind = $2 ORDER BY created_at DESC, id DESC LIMIT 1")
                .bind(subject)
                .bind(kind)
                .fetch_one(&mut su)
                .await
                .unwrap();
            let link = sent.split("link=").nth(1).unwrap_or_default().to_string();
            let chosen = format!("chosen-by-link-{counter}");
            let r = actor.browser.another_browser().call("/api/use_password_link", &[("link", &link), ("new_password", &chosen), ("confirm_password", &chosen)]).await;
            assert!(r.status.is_success() || r.status.is_redirection(), "the {kind} sent works: {} {}", r.status, r.body);
            if s.op != "invite_user" {
                temps.push((subject, chosen));
            }
        }

        // The passwords the model learnt: actors whose password was reset
        // sign in with the temporary one next time.
        for (id, temp) in &temps {
            for a in actors.iter_mut() {
                let a_home = if a.home == "acme" { acme } else { platform };
                let a_id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM users WHERE tenant_id = $1 AND lower(email) = $2")
                    .bind(a_home)
                    .bind(&a.email)
                    .fetch_optional(&mut su)
                    .await
                    .unwrap();
                if a_id == Some(*id) && !temp.is_empty() {
                    a.password = temp.clone();
                }
            }
        }
        if s.op == "update_user_email" && ok {
            // An actor's email moved: follow it.
            let moved: Option<String> = sqlx::query_scalar("SELECT email FROM users WHERE id = $1").bind(s.subject).fetch_optional(&mut su).await.unwrap();
            let old = world.users.iter().find(|u| Some(u.0) == s.subject).map(|u| u.1.clone());
            for a in actors.iter_mut() {
                if Some(a.email.clone()) == old && a.home == "acme" {
                    a.email = moved.clone().unwrap_or_default();
                }
            }
        }

        // (a) No escalation: every gained grant is held by the actor.
        let after = effective(&mut su, acme).await;
        for (user, grants) in &after {
            let had = before.get(user).cloned().unwrap_or_default();
            let gained: Vec<&String> = grants.difference(&had).filter(|g| !held.contains(*g)).collect();
            if !gained.is_empty() {
                violations.push(format!("seed {seed} step {line}: user {user} gained {gained:?}, which the actor does not hold\n  trace:\n    {}", trace.join("\n    ")));
            }
        }
        // (b) No takeover upward: secrets and credential actions only for
        // accounts whose grants are within the actor's.
        let subject_grants = |id: &Uuid| {
            let mut g = before.get(id).cloned().unwrap_or_default();
            // A suspended or deleted person holds their roles still.
            g.extend(after.get(id).cloned().unwrap_or_default());
            g
        };
        for (id, _) in &temps {
            if s.op == "create_user" {
                continue; // a new account: covered by (a)
            }
            let mut potential = subject_grants(id);
            potential.extend(potential_grants(&mut su, acme, *id).await);
            let extra: Vec<String> = potential.difference(&held).cloned().collect();
            if !extra.is_empty() {
                violations.push(format!("seed {seed} step {line}: a temporary password for {id}, who holds {extra:?} beyond the actor"));
            }
        }
        // A bulk suspension, reactivation, deletion or invitation sent again
        // touches each person's sign-in: every one it was done for, within.
        let bulk_takeover = s.op == "bulk_users" && ["suspend", "reactivate", "delete", "resend_invitation"].iter().any(|a| s.text.starts_with(&format!("bulk_users {a} ")));
        if ok && bulk_takeover {
            let versions_after: BTreeMap<Uuid, i32> =
                sqlx::query_as("SELECT id, version FROM users WHERE tenant_id = $1").bind(acme).fetch_all(&mut su).await.unwrap().into_iter().collect();
            let mut touched: BTreeSet<Uuid> = versions_after.iter().filter(|(id, v)| versions_before.get(id) != Some(v)).map(|(id, _)| *id).collect();
            let linked: Vec<Uuid> = sqlx::query_scalar("SELECT user_id FROM password_links WHERE tenant_id = $1 AND created_at >= $2")
                .bind(acme)
                .bind(step_started)
                .fetch_all(&mut su)
                .await
                .unwrap();
            touched.extend(linked);
            assert!(s.done.iter().all(|id| touched.contains(id)), "every person reported done was changed: {line}");
            for subject in touched.iter().filter(|id| **id != actor_id) {
                let mut potential = subject_grants(subject);
                potential.extend(potential_grants(&mut su, acme, *subject).await);
                let extra: Vec<String> = potential.difference(&held).cloned().collect();
                if !extra.is_empty() {
                    violations.push(format!("seed {seed} step {line}: bulk acted on {subject}, who holds {extra:?} beyond the actor"));
                }
            }
        }
        if ok && TAKEOVER_STEPS.contains(&s.op) {
            if let Some(subject) = s.subject {
                let mut potential = subject_grants(&subject);
                potential.extend(potential_grants(&mut su, acme, subject).await);
                let extra: Vec<String> = potential.difference(&held).cloned().collect();
                if !extra.is_empty() && subject != actor_id {
                    violations.push(format!("seed {seed} step {line}: acted on {subject}, who holds {extra:?} beyond the actor"));
                }
            }
        }
        // A shorter retention anonymises, at the next run, everyone deleted
        // longer ago than it: each of them is someone the actor may act on.
        let kept_after = retention(&mut su, acme).await;
        if let Some(days) = kept_after.filter(|d| kept_before.is_none_or(|b| *d < b)) {
            let due: Vec<Uuid> = sqlx::query_scalar(
                "SELECT id FROM users WHERE tenant_id = $1 AND anonymised_at IS NULL AND deleted_at < now() - make_interval(days => $2)",
            )
            .bind(acme)
            .bind(days)
            .fetch_all(&mut su)
            .await
            .unwrap();
            for id in due.into_iter().filter(|id| *id != actor_id) {
                let extra: Vec<String> = potential_grants(&mut su, acme, id).await.difference(&held).cloned().collect();
                if !extra.is_empty() {
                    violations.push(format!("seed {seed} step {line}: retention now anonymises {id}, who holds {extra:?} beyond the actor"));
                }
            }
        }
        if violations.len() >= 3 {
            break;
        }
    }
    (violations, counts)
}

/// What a person would hold if active (their roles, whatever their status).
async fn potential_grants(conn: &mut PgConnection, tenant: Uuid, user: Uuid) -> Grants {
    let rows: Vec<String> = sqlx::query_scalar(
        "WITH held AS (SELECT role_id FROM user_roles WHERE tenant_id = $1 AND user_id = $2
                       UNION SELECT tr.role_id FROM team_members tm
                         JOIN teams t ON t.tenant_id = tm.tenant_id AND t.id = tm.team_id AND t.deleted_at IS NULL
                         JOIN team_roles tr ON tr.tenant_id = tm.tenant_id AND tr.team_id = tm.team_id
                        WHERE tm.tenant_id = $1 AND tm.user_id = $2),
              live AS (SELECT h.role_id FROM held h JOIN roles r ON r.tenant_id = $1 AND r.id = h.role_id AND r.deleted_at IS NULL),
              enabled AS (SELECT key FROM modules WHERE is_core UNION SELECT module_key FROM tenant_modules WHERE tenant_id = $1)
         SELECT p.key FROM live l JOIN role_permissions rp ON rp.tenant_id = $1 AND rp.role_id = l.role_id
           JOIN permissions p ON p.key = rp.permission_key JOIN enabled e ON e.key = p.module_key
         UNION
         SELECT 'view:' || v.key FROM live l JOIN role_views rv ON rv.tenant_id = $1 AND rv.role_id = l.role_id
           JOIN views v ON v.key = rv.view_key JOIN enabled e ON e.key = v.module_key",
    )
    .bind(tenant)
    .bind(user)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    rows.into_iter().collect()
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_sequences_of_access_changes_never_give_more_than_the_actor_holds() {
    let steps = env_number("STEWARD_MODEL_STEPS", 400) as usize;
    let runs = env_number("STEWARD_MODEL_RUNS", 3);
    let first = env_number("STEWARD_MODEL_SEED", 20261202);
    let mut totals: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for seed in first..first + runs {
        let (violations, counts) = run(seed, steps).await;
        for (op, (ok, refused)) in counts {
            let t = totals.entry(op).or_default();
            t.0 += ok;
            t.1 += refused;
        }
        assert!(violations.is_empty(), "the delegation rule was broken:\n{}", violations.join("\n\n"));
    }
    let summary: Vec<String> = totals.iter().map(|(op, (ok, refused))| format!("{op}: {ok} done, {refused} refused")).collect();
    println!("model: {runs} runs x {steps} steps, violations 0\n  {}", summary.join("\n  "));
    // Every kind of step was tried, and the grant paths were taken at least once.
    assert!(totals.len() >= 28, "step kinds covered: {}", totals.len());
    // The ways into someone's account were both taken and refused.
    for op in ["reset_password", "send_password_link", "invite_user", "resend_invitation", "revoke_invitation", "bulk_users"] {
        let (done, refused) = totals.get(op).copied().unwrap_or_default();
        assert!(done > 0 && refused > 0, "{op}: {done} done, {refused} refused");
    }
}
