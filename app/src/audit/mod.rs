//! The audit log: every change records an event in its own transaction,
//! with `{before, after}` and secrets redacted. Events are append-only and
//! form a hash chain per tenant (computed by the database on insert; see the
//! audit migration), checked by `steward verify-audit`.

pub mod pages;
mod server;
pub use server::*;
#[cfg(feature = "ssr")]
pub mod chain_checks;
#[cfg(feature = "ssr")]
pub mod export;
#[cfg(feature = "ssr")]
pub mod record;
#[cfg(feature = "ssr")]
pub mod ssr;

/// One line of an entity's history (its audit events).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRow {
    pub occurred_at: String,
    pub action: String,
    pub actor: String,
    pub changes: String,
}

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The audit list's filters and position, as the query string says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// The actor's email (a person of this tenant).
    #[serde(default)]
    pub actor: String,
    /// An action (`user.update`), or every action of a kind (`user.`).
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub entity_type: String,
    #[serde(default)]
    pub entity_id: String,
    /// `YYYY-MM-DD`, inclusive, in UTC.
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// A client address, or a network as `10.0.0.0/8`.
    #[serde(default)]
    pub ip: String,
    #[serde(default)]
    pub request_id: String,
    #[serde(default)]
    pub after: String,
}

impl AuditQuery {
    /// The filters as `(name, value)` pairs, without the position.
    pub fn filters(&self) -> [(&'static str, &str); 8] {
        [
            ("actor", &self.actor),
            ("action", &self.action),
            ("entity_type", &self.entity_type),
            ("entity_id", &self.entity_id),
            ("from", &self.from),
            ("to", &self.to),
            ("ip", &self.ip),
            ("request_id", &self.request_id),
        ]
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRow {
    pub id: Uuid,
    pub seq: i64,
    pub occurred_at: String,
    pub actor: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub ip: String,
    /// The fields the event changed, by name.
    pub fields: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventList {
    pub rows: Vec<EventRow>,
    pub next: Option<String>,
    /// The actions and entity types recorded in this tenant, for the filters.
    pub actions: Vec<String>,
    pub entity_types: Vec<String>,
}

/// One field of an event's change: its value before and after, as JSON
/// text (`None`: the field was not there).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffRow {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl DiffRow {
    pub fn changed(&self) -> bool {
        self.before != self.after
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDetail {
    pub event: EventRow,
    pub actor_id: Option<crate::ids::UserId>,
    /// The actor acted from another tenant (platform staff).
    pub from_platform: bool,
    pub user_agent: String,
    pub request_id: String,
    pub diff: Vec<DiffRow>,
    pub hash: String,
    pub prev_hash: String,
    /// Where the entity's own page is, when it has one.
    pub entity_link: Option<String>,
    pub same_entity: Vec<EventRow>,
    pub same_request: Vec<EventRow>,
}

/// Where a check found a tenant's hash chain broken: the page, `steward
/// verify-audit`, the daily job and the restores' checks all read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBreak {
    /// The first event that does not match; none when the chain ends
    /// before its head (the newest events are missing).
    pub id: Option<Uuid>,
    /// Its number; when none matches, the last event found.
    pub seq: i64,
    /// Its time (`YYYY-MM-DD HH:MM:SS UTC`).
    pub at: Option<String>,
    pub reason: String,
}

/// The result of walking the tenant's hash chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStatus {
    /// Events walked and hashed again by this check.
    pub checked: i64,
    /// The check started after this event, verified by an earlier check
    /// (its checkpoint); 0 when it walked every event.
    pub from_seq: i64,
    /// When a check last walked every event, if one has.
    pub every_at: Option<String>,
    /// Where the chain is broken, if it is.
    pub broken: Option<ChainBreak>,
    /// Events before this time were dropped by retention.
    pub cut_before: Option<String>,
    pub took_ms: u64,
    pub finished_at: String,
}

/// The tenant's chain check: the last result, and whether one is running.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainCheck {
    pub last: Option<ChainStatus>,
    /// When the running check started.
    pub running_since: Option<String>,
}

/// The page of an entity, by its type and id.
pub fn entity_link(entity_type: &str, entity_id: &str) -> Option<String> {
    let id: Uuid = entity_id.parse().ok()?;
    let base = match entity_type {
        "user" => "users",
        "role" => "roles",
        "team" => "teams",
        "document" => "documents",
        "tenant" => "tenants",
        "user_import" => "users/imports",
        _ => return None,
    };
    Some(format!("/{base}/{id}"))
}

/// Compares an event's `{before, after}` field by field. Nested objects are
/// walked with dotted names (`settings.theme`); other values are compared
/// whole. Fields come in name order.
pub fn diff(changes: &Value) -> Vec<DiffRow> {
    fn walk(path: &str, before: Option<&Value>, after: Option<&Value>, rows: &mut Vec<DiffRow>) {
        let objects = match (before, after) {
            (Some(Value::Object(b)), Some(Value::Object(a))) => Some((Some(b), Some(a))),
            (Some(Value::Object(b)), None) => Some((Some(b), None)),
            (None, Some(Value::Object(a))) => Some((None, Some(a))),
            _ => None,
        };
        match objects {
            Some((b, a)) => {
                let mut keys: Vec<&String> = b.iter().flat_map(|m| m.keys()).chain(a.iter().flat_map(|m| m.keys())).collect();
                keys.sort();
                keys.dedup();
                for key in keys {
                    let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                    walk(&child, b.and_then(|m| m.get(key)), a.and_then(|m| m.get(key)), rows);
                }
            }
            None => rows.push(DiffRow {
                field: if path.is_empty() { "value".into() } else { path.to_string() },
                before: before.map(Value::to_string),
                after: after.map(Value::to_string),
            }),
        }
    }
    let mut rows = Vec::new();
    let (before, after) = (changes.get("before"), changes.get("after"));
    if before.is_some() || after.is_some() {
        walk("", before, after, &mut rows);
    }
    rows
}

/// Field names whose values never reach the audit log.
const SECRET_FIELDS: &[&str] = &["password", "password_hash", "secret", "token", "totp_secret", "api_key", "recovery_codes"];

/// Replaces the values of secret fields, at any depth, with "<redacted>".
pub fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let secret = SECRET_FIELDS.iter().any(|s| k.eq_ignore_ascii_case(s));
                    (k, if secret { Value::String("<redacted>".into()) } else { redact(v) })
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_change_is_compared_field_by_field() {
        let rows = diff(&json!({
            "before": { "title": "Plan", "tags": ["a"], "metadata": { "client": "Acme", "year": "2025" } },
            "after": { "title": "Plan v2", "tags": ["a"], "metadata": { "year": "2026", "owner": "Olivia" } }
        }));
        let view: Vec<(&str, Option<&str>, Option<&str>, bool)> =
            rows.iter().map(|r| (r.field.as_str(), r.before.as_deref(), r.after.as_deref(), r.changed())).collect();
        assert_eq!(
            view,
            [
                ("metadata.client", Some("\"Acme\""), None, true),
                ("metadata.owner", None, Some("\"Olivia\""), true),
                ("metadata.year", Some("\"2025\""), Some("\"2026\""), true),
                ("tags", Some("[\"a\"]"), Some("[\"a\"]"), false),
                ("title", Some("\"Plan\""), Some("\"Plan v2\""), true),
            ]
        );
        // A creation has only "after"; an object on one side only is compared whole.
        let rows = diff(&json!({ "after": { "email": "a@b.c" } }));
        assert_eq!(rows, [DiffRow { field: "email".into(), before: None, after: Some("\"a@b.c\"".into()) }]);
        let rows = diff(&json!({ "before": { "x": 1 }, "after": { "x": { "y": 2 } } }));
        assert_eq!(rows[0].field, "x");
        assert!(diff(&json!({})).is_empty());
    }

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let redacted = redact(json!({
            "email": "a@b.c",
            "password_hash": "$argon2id$...",
            "nested": [{"Token": "abc", "name": "x"}]
        }));
        assert_eq!(redacted, json!({
            "email": "a@b.c",
            "password_hash": "<redacted>",
            "nested": [{"Token": "<redacted>", "name": "x"}]
        }));
    }
}
