//! The audit log: every change records an event in its own transaction,
//! with `{before, after}` and secrets redacted. Events are append-only and
//! form a hash chain per tenant (computed by the database on insert; see the
//! audit migration), checked by `steward verify-audit`.

#[cfg(feature = "ssr")]
pub mod ssr;

use serde_json::Value;

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
