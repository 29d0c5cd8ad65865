//! Mail, queued in the caller's transaction: a message is written to
//! `mail_outbox` beside the change that causes it, so it exists exactly
//! when the change does (never for a change rolled back, never missing for
//! one committed). The server's mail worker sends it afterwards. Part of
//! the spine: it imports no area, so the one audit writer can queue the
//! security notices (`notify`) whatever path made the change.

pub mod letter;

use crate::error::AppError;
use crate::ids::{TenantId, UserId};
use sqlx::PgConnection;
use std::net::IpAddr;
use uuid::Uuid;

/// One message to queue.
pub struct Outgoing<'a> {
    pub tenant_id: TenantId,
    /// A template's key, such as `user.password_change`.
    pub kind: &'a str,
    pub user_id: Option<UserId>,
    pub event_id: Option<Uuid>,
    pub to_address: &'a str,
    pub to_name: &'a str,
    pub letter: letter::Letter,
    /// A link the message carries, written into its bodies as
    /// [`LINK_PLACEHOLDER`] and kept apart (see [`LINK_PLACEHOLDER`]).
    pub link: Option<&'a str>,
}

/// Where a message's link stands in its stored bodies. The link itself is
/// kept in its own column and put in only when the message is sent, so
/// that the Sent mail screen shows it to nobody (except on a private
/// first start, where there is no mailbox to send it to: see
/// `AppState::mail_links_on_screen`), and it is cleared once sent.
pub const LINK_PLACEHOLDER: &str = "[[steward:link]]";

/// A body as it may be shown: its link put in, or said to be hidden.
pub fn shown_body(body: &str, link: Option<&str>, reveal: bool) -> String {
    match link {
        Some(link) if reveal => body.replace(LINK_PLACEHOLDER, link),
        _ => body.replace(LINK_PLACEHOLDER, "[the link is shown only to the person it was sent to]"),
    }
}

/// Queues a message in the caller's transaction, which must be scoped to
/// `tenant_id` (row-level security checks it). Returns its id.
pub async fn queue(conn: &mut PgConnection, message: Outgoing<'_>) -> Result<Uuid, AppError> {
    let (text, html) = (message.letter.text(), message.letter.html());
    let id = sqlx::query_scalar!(
        r#"INSERT INTO mail_outbox (tenant_id, kind, user_id, event_id, to_address, to_name, subject, body_text, body_html, link)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id"#,
        message.tenant_id.0,
        message.kind,
        message.user_id.map(|u| u.0),
        message.event_id,
        message.to_address,
        message.to_name,
        message.letter.subject,
        text,
        html,
        message.link,
    )
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// What a security notice says, by the audit action that sends it.
struct Notice {
    subject: &'static str,
    /// What happened, after "{name}, " … as one sentence.
    happened: &'static str,
    advice: &'static str,
}

const NOT_YOU: &str = "If this was not you, tell your organisation's administrator at once: someone may know your password.";

/// Whether an event with this action queues a notice to the person it concerns.
pub fn sends_notice(action: &str) -> bool {
    notice(action).is_some()
}

/// The actions that tell the person they concern, and what they say.
fn notice(action: &str) -> Option<Notice> {
    Some(match action {
        "user.password_change" => Notice {
            subject: "Your password was changed",
            happened: "the password of your account was changed. Your other sessions were signed out and your API keys revoked.",
            advice: NOT_YOU,
        },
        "user.password_set_by_link" => Notice {
            subject: "Your password was changed",
            happened: "the password of your account was set with a reset link. Your sessions were signed out and your API keys revoked.",
            advice: NOT_YOU,
        },
        "user.password_reset" => Notice {
            subject: "Your password was reset",
            happened: "an administrator set a new password for your account. Your sessions were signed out and your API keys revoked.",
            advice: "Ask your administrator for the new password, or, if you did not expect this, tell them at once.",
        },
        "user.mfa_enable" => Notice {
            subject: "Two-step sign-in was turned on",
            happened: "two-step sign-in was turned on for your account: signing in now asks for a code from your authenticator app.",
            advice: NOT_YOU,
        },
        "user.mfa_disable" => Notice {
            subject: "Two-step sign-in was turned off",
            happened: "two-step sign-in was turned off for your account: signing in no longer asks for a code.",
            advice: NOT_YOU,
        },
        "user.mfa_reset" => Notice {
            subject: "Your two-step sign-in was reset",
            happened: "an administrator removed the second factor of your account. Your sessions were signed out and your API keys revoked.",
            advice: "Set up two-step sign-in again after you sign in. If you did not ask for this, tell your administrator at once.",
        },
        "api_key.create" => Notice {
            subject: "A new API key was created",
            happened: "a new API key was created for your account. It acts with your permissions until it expires or is revoked.",
            advice: "If this was not you, revoke the key under Account › API keys and change your password.",
        },
        NEW_PLACE_NOTICE => Notice {
            subject: "A sign-in from a new address",
            happened: "someone signed in to your account from an address it had not signed in from in the last 90 days.",
            advice: NOT_YOU,
        },
        "user.suspend" => Notice {
            subject: "Your account was suspended",
            happened: "your account was suspended: you cannot sign in, your sessions were ended and your API keys no longer work.",
            advice: "If you think this is a mistake, ask your organisation's administrator.",
        },
        _ => return None,
    })
}

/// The actions that send a notice (for the documentation and the tests).
pub const NOTICE_ACTIONS: &[&str] =
    &["user.password_change", "user.password_set_by_link", "user.password_reset", "user.mfa_enable", "user.mfa_disable", "user.mfa_reset", "api_key.create", "user.suspend"];

/// The notice of a sign-in from an address the account has not signed in
/// from lately, sent with its `auth.sign_in` event where the organisation
/// chose it (`tenants.notify_new_place`); not an action of its own.
pub const NEW_PLACE_NOTICE: &str = "auth.sign_in_new_place";

/// Queues the security notice of an audit event, when its action sends
/// one, to the person it concerns: the user it is about, or (for an event
/// about something else, such as an API key) the person who did it. A
/// person deleted or anonymised is not written to. Called by the audit
/// writer, in the event's transaction.
pub async fn notify(
    conn: &mut PgConnection,
    from: Option<IpAddr>,
    event_id: Uuid,
    tenant_id: TenantId,
    action: &str,
    person: UserId,
    by_themselves: bool,
) -> Result<(), AppError> {
    let Some(notice) = notice(action) else { return Ok(()) };
    let Some(to) = recipient(conn, tenant_id, person).await? else { return Ok(()) };
    // The address it came from helps the person recognise their own doing;
    // an administrator's address is not theirs to be given.
    let facts = facts(from.filter(|_| by_themselves));
    let letter = to.letter(notice.subject, vec![format!("{}, {}", to.name, notice.happened), notice.advice.to_string()], facts, None);
    queue(conn, to.outgoing(tenant_id, person, action, Some(event_id), letter)).await?;
    Ok(())
}

/// A person of a tenant as mail addresses them, with their organisation.
pub struct Recipient {
    pub email: String,
    pub name: String,
    pub organisation: String,
    pub brand_colour: Option<String>,
}

/// The person, unless deleted or anonymised (they are not written to).
pub async fn recipient(conn: &mut PgConnection, tenant_id: TenantId, person: UserId) -> Result<Option<Recipient>, AppError> {
    Ok(sqlx::query!(
        r#"SELECT u.email, u.display_name, t.name AS tenant_name, t.settings->>'brand_colour' AS "brand_colour?: String"
             FROM users u JOIN tenants t ON t.id = u.tenant_id
            WHERE u.tenant_id = $1 AND u.id = $2 AND u.deleted_at IS NULL AND u.anonymised_at IS NULL"#,
        tenant_id.0,
        person.0
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| Recipient { email: r.email, name: r.display_name, organisation: r.tenant_name, brand_colour: r.brand_colour.filter(|c| letter::is_colour(c)) }))
}

impl Recipient {
    /// A letter to them, in their organisation's name and colour.
    pub fn letter(&self, subject: &str, paragraphs: Vec<String>, facts: Vec<(String, String)>, action: Option<(String, String)>) -> letter::Letter {
        letter::Letter { organisation: self.organisation.clone(), brand_colour: self.brand_colour.clone(), subject: subject.to_string(), paragraphs, facts, action }
    }

    pub fn outgoing<'a>(&'a self, tenant_id: TenantId, person: UserId, kind: &'a str, event_id: Option<Uuid>, letter: letter::Letter) -> Outgoing<'a> {
        Outgoing { tenant_id, kind, user_id: Some(person), event_id, to_address: &self.email, to_name: &self.name, letter, link: None }
    }
}

/// When, and from which address, for the foot of a message.
pub fn facts(from: Option<IpAddr>) -> Vec<(String, String)> {
    let mut facts = vec![("When".to_string(), crate::text::when(chrono::Utc::now()))];
    if let Some(ip) = from {
        facts.push(("From the address".to_string(), ip.to_string()));
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_action_has_its_words() {
        for action in NOTICE_ACTIONS.iter().chain([&NEW_PLACE_NOTICE]) {
            let n = notice(action).unwrap_or_else(|| panic!("{action} has no notice"));
            assert!(!n.subject.is_empty() && n.happened.ends_with('.') && n.advice.ends_with('.'), "{action}");
        }
        assert!(notice("team.create").is_none());
    }
}
