//! Links that let a person choose a password: asked for on the sign-in page
//! ("Forgot your password?"), sent from the person's page by someone who
//! may reset it ("Send a reset link", so that nobody but the person ever
//! learns it), or an invitation (the person is `pending` until they follow
//! it). Like the sign-in, asking and using a link need no session: this
//! file opens its own transactions (it is part of the gate).
//!
//! A link is `/login/reset?link=<tenant id>.<secret>` (`/login/join?…`
//! for an invitation): 32 random bytes, of which only the SHA-256 is
//! stored. It works once and until it expires (an hour when asked for, a
//! day when sent, seven days for an invitation); setting a password by any
//! way ends every other link of the person. A reset link works only for an
//! active account and an invitation only for a pending one. Using a reset
//! link ends every session and API key of the person and tells them by
//! mail; accepting an invitation makes the account active. A second factor
//! is asked for (or set up, where the organisation requires one) at the
//! next sign-in.

use crate::audit::record::{record, Event, RequestMeta};
use crate::db::scope_to_tenant;
use crate::error::{AppError, FieldError};
use crate::ids::{TenantId, UserId};
use crate::status::{TenantStatus, UserStatus};
use super::{LinkFacts, Me};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// How long a link asked for on the sign-in page works, in hours.
pub const ASKED_HOURS: i32 = 1;
/// How long a link sent by an administrator or support works, in hours.
pub const SENT_HOURS: i32 = 24;
pub use super::INVITATION_DAYS;
/// At most this many links are sent to one person in an hour…
const PER_PERSON_PER_HOUR: i64 = 3;
/// …and asked for from one address in one organisation.
const PER_ADDRESS_PER_HOUR: i64 = 10;
/// At most this many links are sent to one person by others (reset links
/// and invitations) in an hour.
const SENT_PER_PERSON_PER_HOUR: i64 = 5;

use super::LINK_BROKEN as BROKEN;

/// What a link is for, and who sent it.
#[derive(Clone, Copy, Debug)]
pub enum LinkKind<'a> {
    /// Asked for on the sign-in page ("Forgot your password?").
    Asked,
    /// Sent from the person's page by its signed-in sender.
    Sent(&'a Me),
    /// An invitation to a pending account, from its signed-in inviter.
    Invitation(&'a Me),
}

impl LinkKind<'_> {
    fn sent_by(&self) -> Option<&Me> {
        match self {
            LinkKind::Asked => None,
            LinkKind::Sent(me) | LinkKind::Invitation(me) => Some(me),
        }
    }

    fn sender(&self) -> Option<UserId> {
        self.sent_by().map(|me| me.user_id)
    }

    fn purpose(&self) -> &'static str {
        if matches!(self, LinkKind::Invitation(..)) { "invite" } else { "reset" }
    }

    fn hours(&self) -> i32 {
        match self {
            LinkKind::Asked => ASKED_HOURS,
            LinkKind::Sent(..) => SENT_HOURS,
            LinkKind::Invitation(..) => INVITATION_DAYS * 24,
        }
    }
}


fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Writes a link for `person` and queues the mail that carries it, in the
/// caller's transaction (scoped to `tenant_id`). The caller has checked
/// that the person may be sent it (the delegation rule, their status).
pub async fn issue(conn: &mut PgConnection, meta: &RequestMeta, tenant_id: TenantId, person: UserId, kind: LinkKind<'_>, base: &str) -> Result<(), AppError> {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let Some(to) = crate::outbox::recipient(conn, tenant_id, person).await? else { return Err(AppError::NotFound) };
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    // Links sent by someone: at most a few to one person an hour, whoever
    // sends them (mail to a person is not a stream anyone may open).
    if kind.sender().is_some() {
        let recent: i64 = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM password_links WHERE tenant_id = $1 AND user_id = $2 AND sent_by IS NOT NULL AND created_at > now() - interval '1 hour'"#,
            tenant_id.0,
            person.0
        )
        .fetch_one(&mut *conn)
        .await?;
        if recent >= SENT_PER_PERSON_PER_HOUR {
            return Err(AppError::Conflict(format!(
                "{} links were sent to this person in the last hour: wait before sending another.",
                SENT_PER_PERSON_PER_HOUR
            )));
        }
    }
    // What the sender holds now: the link works only while the person
    // holds no more than that (see `within_sender`).
    let sender_grants: Option<Vec<String>> =
        kind.sent_by().map(|me| me.permissions.iter().cloned().chain(me.views.iter().map(|v| format!("view:{v}"))).collect());
    sqlx::query!(
        "INSERT INTO password_links (tenant_id, user_id, secret_hash, sent_by, requested_from, expires_at, purpose, sender_grants)
         VALUES ($1, $2, $3, $4, $5::text::inet, now() + make_interval(hours => $6), $7, $8)",
        tenant_id.0,
        person.0,
        digest(&secret),
        kind.sender().map(|id| id.0),
        meta.ip.map(|ip| ip.to_string()),
        kind.hours(),
        kind.purpose(),
        sender_grants.as_deref()
    )
    .execute(&mut *conn)
    .await?;
    let path = if matches!(kind, LinkKind::Invitation(..)) { super::JOIN_PATH } else { super::RESET_PATH };
    let url = format!("{base}{path}?link={}.{secret}", tenant_id.0.simple());
    let (mail_kind, subject, paragraphs, button) = match kind {
        LinkKind::Asked => (
            "user.password_link",
            "Choose a new password".to_string(),
            vec![
                format!("{}, someone (we hope you) asked to choose a new password for your account at {}.", to.name, to.organisation),
                "The link below works once, for an hour. If you did not ask, ignore this message: your password stays as it is.".to_string(),
            ],
            "Choose a new password",
        ),
        LinkKind::Sent(Me { display_name: sender, .. }) => (
            "user.password_link",
            "A link to choose your password".to_string(),
            vec![
                format!("{}, {sender} sent you a link to choose a new password for your account at {}.", to.name, to.organisation),
                "The link below works once, for a day. Your current password keeps working until you use it.".to_string(),
            ],
            "Choose a new password",
        ),
        LinkKind::Invitation(Me { display_name: sender, .. }) => (
            "user.invitation",
            format!("{sender} invited you to {}", to.organisation),
            vec![
                format!("{}, {sender} invited you to join {} on Steward, with this address.", to.name, to.organisation),
                format!(
                    "Follow the link below to choose your password. It works once, for {INVITATION_DAYS} days. If you did not expect this, ignore this message: nothing happens until the link is used."
                ),
            ],
            "Accept the invitation",
        ),
    };
    // The sender's address is not the person's to be given.
    let facts = crate::outbox::facts(meta.ip.filter(|_| kind.sender().is_none()));
    let letter = to.letter(&subject, paragraphs, facts, Some((button.into(), crate::outbox::LINK_PLACEHOLDER.into())));
    let mut message = to.outgoing(tenant_id, person, mail_kind, None, letter);
    message.link = Some(&url);
    crate::outbox::queue(conn, message).await?;
    Ok(())
}

/// "Forgot your password?": sends a link to the account of `email` in the
/// organisation `tenant`, when there is one that is active and has not had
/// too many links this hour. The answer is the same in every case
/// (`auth::ASKED_ANSWER`); what happened is recorded in the organisation's log.
pub async fn request(pool: &PgPool, meta: &RequestMeta, base: &str, tenant: &str, email: &str) -> Result<(), AppError> {
    let (tenant, email) = (tenant.trim().to_lowercase(), email.trim());
    let mut errors = Vec::new();
    if tenant.is_empty() {
        errors.push(FieldError { field: "tenant".into(), message: "Enter your organisation's short name.".into() });
    }
    if !email.contains('@') || email.len() > 254 {
        errors.push(FieldError { field: "email".into(), message: "Enter the email address you sign in with.".into() });
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let mut tx = pool.begin().await?;
    let found = sqlx::query!(
        r#"SELECT tenant_id AS "tenant_id!: TenantId", tenant_status AS "tenant_status!: TenantStatus", user_id AS "user_id: UserId", user_status AS "user_status: UserStatus"
             FROM steward_sign_in_lookup($1, $2)"#,
        tenant,
        email
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(found) = found else {
        // No such organisation: nobody to tell, nothing to record.
        tx.commit().await?;
        return Ok(());
    };
    scope_to_tenant(&mut tx, found.tenant_id).await?;
    let refused = |reason: &str| Event {
        tenant_id: found.tenant_id,
        actor_user_id: None,
        actor_tenant_id: None,
        action: "auth.password_link_refused",
        entity_type: found.user_id.map(|_| "user"),
        entity_id: found.user_id.map(|u| u.to_string()),
        before: None,
        after: Some(serde_json::json!({ "email": email, "reason": reason })),
    };
    let person = match found.user_id {
        None => {
            record(&mut tx, meta, refused("unknown account")).await?;
            return Ok(tx.commit().await?);
        }
        Some(_) if found.tenant_status != TenantStatus::Active || found.user_status != Some(UserStatus::Active) => {
            record(&mut tx, meta, refused("account or organisation not active")).await?;
            return Ok(tx.commit().await?);
        }
        Some(person) => person,
    };
    // The limits: per person, and per address (an IPv6 /64, as one network
    // holds them) within the organisation. Requests for one person wait
    // for each other here, so that a burst cannot all count the same past.
    // Requests from one network wait for each other first (always in this
    // order: network, then person).
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('steward.password_link_from:' || $1::uuid::text || ':'
                 || coalesce(network(set_masklen($2::text::inet, CASE WHEN family($2::text::inet) = 6 THEN 64 ELSE 32 END))::text, ''), 0))",
        found.tenant_id.0,
        meta.ip.map(|ip| ip.to_string())
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended('steward.password_link:' || $1::uuid::text, 0))", person.0)
        .fetch_one(&mut *tx)
        .await?;
    let recent = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE user_id = $2) AS "person!",
                  count(*) FILTER (WHERE requested_from <<= set_masklen($3::text::inet, CASE WHEN family($3::text::inet) = 6 THEN 64 ELSE 32 END)) AS "address!"
             FROM password_links WHERE tenant_id = $1 AND created_at > now() - interval '1 hour' AND sent_by IS NULL AND purpose = 'reset'"#,
        found.tenant_id.0,
        person.0,
        meta.ip.map(|ip| ip.to_string())
    )
    .fetch_one(&mut *tx)
    .await?;
    if recent.person >= PER_PERSON_PER_HOUR || recent.address >= PER_ADDRESS_PER_HOUR {
        record(&mut tx, meta, refused("too many links asked for in an hour")).await?;
        return Ok(tx.commit().await?);
    }
    issue(&mut tx, meta, found.tenant_id, person, LinkKind::Asked, base).await?;
    let event = Event {
        tenant_id: found.tenant_id,
        actor_user_id: None,
        actor_tenant_id: None,
        action: "auth.password_link_requested",
        entity_type: Some("user"),
        entity_id: Some(person.to_string()),
        before: None,
        after: Some(serde_json::json!({ "expires_in_hours": ASKED_HOURS })),
    };
    record(&mut tx, meta, event).await?;
    tx.commit().await?;
    Ok(())
}

/// The link's organisation and secret, or the message for a broken one.
fn parse(link: &str) -> Result<(TenantId, &str), AppError> {
    let broken = || AppError::invalid("link", BROKEN);
    let (tenant, secret) = link.trim().split_once('.').ok_or_else(broken)?;
    let tenant = Uuid::try_parse(tenant).map_err(|_| broken())?;
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(broken());
    }
    Ok((TenantId(tenant), secret))
}

/// Whether a link works now, and what its page shows.
pub async fn check(pool: &PgPool, link: &str) -> Result<LinkFacts, AppError> {
    let (tenant_id, secret) = parse(link)?;
    let mut tx = pool.begin().await?;
    scope_to_tenant(&mut tx, tenant_id).await?;
    let live = live_link(&mut tx, tenant_id, secret).await?.ok_or_else(|| AppError::invalid("link", BROKEN))?;
    let within = within_sender(&mut tx, tenant_id, &live).await?;
    tx.commit().await?;
    if within { Ok(live.facts) } else { Err(AppError::invalid("link", OUTGROWN)) }
}

struct LiveLink {
    id: Uuid,
    person: UserId,
    facts: LinkFacts,
    /// Who sent it, and what they held then (none when the person asked).
    sender: Option<Uuid>,
    sender_grants: Option<Vec<String>>,
}

const OUTGROWN: &str = "This link no longer works: the account holds more access than whoever sent it holds now. Ask someone who holds as much to send a new one.";

/// Refuses a link sent by someone when the person now holds a permission
/// or a view beyond what the sender held when they sent it, or beyond what
/// the sender holds now (when they are of this organisation: suspended,
/// deleted or stripped since, their links end with their authority): the
/// delegation rule, checked again when the link is used, because the
/// person may have been given more since (by someone else, in good faith).
/// A link sent by platform staff acting inside the organisation is held
/// to what they held when they sent it.
async fn within_sender(conn: &mut PgConnection, tenant_id: TenantId, link: &LiveLink) -> Result<bool, AppError> {
    use crate::authz::delegation::{effective_grants, held_by};
    let (Some(sender), Some(then)) = (link.sender, &link.sender_grants) else { return Ok(true) };
    let of_here: Option<bool> = sqlx::query_scalar!(
        r#"SELECT status = 'active' AND deleted_at IS NULL AS "live!" FROM users WHERE tenant_id = $1 AND id = $2"#,
        tenant_id.0,
        sender
    )
    .fetch_optional(&mut *conn)
    .await?;
    let now: Option<Vec<String>> = match of_here {
        None => None,
        Some(false) => return Ok(false),
        Some(true) => {
            let g = effective_grants(conn, tenant_id, UserId(sender)).await?;
            Some(g.permissions.into_iter().chain(g.views.into_iter().map(|v| format!("view:{v}"))).collect())
        }
    };
    let holds = |key: &str| then.iter().any(|k| k == key) && now.as_ref().is_none_or(|keys| keys.iter().any(|k| k == key));
    let held = held_by(conn, tenant_id, link.person).await?;
    Ok(held.permissions.iter().all(|p| holds(p)) && held.views.iter().all(|v| holds(&format!("view:{v}"))))
}

/// The link of `secret`, while it works: unused, unexpired, of a live
/// organisation, for an account in the status its purpose needs (active
/// for a reset, pending for an invitation).
async fn live_link(conn: &mut PgConnection, tenant_id: TenantId, secret: &str) -> Result<Option<LiveLink>, AppError> {
    Ok(sqlx::query!(
        r#"SELECT l.id, l.user_id AS "user_id: UserId", l.purpose = 'invite' AS "invitation!", u.email, t.name, t.slug, l.sent_by, l.sender_grants,
                  nullif(t.settings->>'brand_colour', '') AS brand_colour, t.version AS tenant_version,
                  EXISTS (SELECT 1 FROM tenant_logos g WHERE g.tenant_id = t.id) AS "has_logo!"
             FROM password_links l JOIN users u ON u.tenant_id = l.tenant_id AND u.id = l.user_id
             JOIN tenants t ON t.id = l.tenant_id
            WHERE l.tenant_id = $1 AND l.secret_hash = $2 AND l.used_at IS NULL AND l.expires_at > now()
              AND u.deleted_at IS NULL AND t.status = 'active' AND t.deleted_at IS NULL
              AND u.status = CASE l.purpose WHEN 'invite' THEN 'pending' ELSE 'active' END"#,
        tenant_id.0,
        digest(secret)
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| LiveLink {
        id: r.id,
        person: r.user_id,
        facts: LinkFacts {
            invitation: r.invitation,
            brand: Some(super::Brand {
                tenant_id,
                name: r.name.clone(),
                slug: r.slug.clone(),
                colour: r.brand_colour.filter(|c| crate::outbox::letter::is_colour(c)),
                version: r.tenant_version,
                logo: r.has_logo,
            }),
            organisation: r.name,
            slug: r.slug,
            email: r.email,
        },
        sender: r.sent_by,
        sender_grants: r.sender_grants,
    }))
}

/// Sets the password a link was sent for: once, while the link lives.
/// A reset ends every session, API key and other link of the person, and
/// tells them (the `user.password_set_by_link` notice); an invitation
/// makes the pending account active. Returns what the link was.
pub async fn redeem(pool: &PgPool, meta: &RequestMeta, link: &str, new: &str, confirm: &str) -> Result<LinkFacts, AppError> {
    let (tenant_id, secret) = parse(link)?;
    let mut tx = pool.begin().await?;
    scope_to_tenant(&mut tx, tenant_id).await?;
    let found = live_link(&mut tx, tenant_id, secret).await?.ok_or_else(|| AppError::invalid("link", BROKEN))?;
    tx.commit().await?;
    let email = found.facts.email;
    let mut errors = Vec::new();
    if let Some(problem) = super::password::problem(new, &email) {
        errors.push(FieldError { field: "new_password".into(), message: problem.into() });
    }
    if confirm != new {
        errors.push(FieldError { field: "confirm_password".into(), message: "This does not match the new password.".into() });
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    // argon2 runs with no transaction open.
    let hash = super::password::hash(new.to_string()).await?;
    let mut tx = pool.begin().await?;
    scope_to_tenant(&mut tx, tenant_id).await?;
    // Two uses at once: the second update waits for the first and then
    // finds the link used.
    let Some(live) = live_link(&mut tx, tenant_id, secret).await? else { return Err(AppError::invalid("link", BROKEN)) };
    let LiveLink { id: link_id, person, ref facts, .. } = live;
    let facts = facts.clone();
    let taken = sqlx::query!("UPDATE password_links SET used_at = now() WHERE tenant_id = $1 AND id = $2 AND used_at IS NULL", tenant_id.0, link_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if taken != 1 {
        return Err(AppError::invalid("link", BROKEN));
    }
    // The status is checked again under the row's lock: an invitation
    // revoked, or an account suspended, while the password was hashed.
    let status = if facts.invitation { "pending" } else { "active" };
    let set = sqlx::query!(
        "UPDATE users SET password_hash = $3, must_change_password = false, password_changed_at = now(), status = 'active',
                version = version + 1, updated_at = now()
          WHERE tenant_id = $1 AND id = $2 AND status = $4 AND deleted_at IS NULL",
        tenant_id.0,
        person.0,
        &hash.0,
        status
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if set != 1 {
        return Err(AppError::invalid("link", BROKEN));
    }
    // Checked after that update: its trigger holds the organisation's
    // authorisation row, which every change of access takes too, so no
    // grant can land between this check and the commit.
    if !within_sender(&mut tx, tenant_id, &live).await? {
        drop(tx);
        return Err(refuse_outgrown(pool, meta, tenant_id, &live).await);
    }
    end_links(&mut tx, tenant_id, person).await?;
    let event = if facts.invitation {
        Event::by_user(tenant_id, person, "user.invitation_accept", Some(serde_json::json!({ "status": UserStatus::Active })))
    } else {
        let ended = super::credentials::end_sessions(&mut tx, tenant_id, Some(person), None).await?;
        let keys = super::credentials::revoke_api_keys_of(&mut tx, tenant_id, person).await?;
        Event::by_user(tenant_id, person, "user.password_set_by_link", Some(serde_json::json!({ "sessions_ended": ended, "api_keys_revoked": keys })))
    };
    record(&mut tx, meta, event).await?;
    tx.commit().await?;
    Ok(facts)
}

/// Records a link refused as outgrown (`access.denied`, the delegation
/// rule), in a transaction of its own since the use writes nothing.
async fn refuse_outgrown(pool: &PgPool, meta: &RequestMeta, tenant_id: TenantId, link: &LiveLink) -> AppError {
    let recorded = async {
        let mut tx = pool.begin().await?;
        scope_to_tenant(&mut tx, tenant_id).await?;
        let event = Event {
            tenant_id,
            actor_user_id: None,
            actor_tenant_id: None,
            action: "access.denied",
            entity_type: Some("user"),
            entity_id: Some(link.person.to_string()),
            before: None,
            after: Some(serde_json::json!({ "rule": "delegation", "check": "outgrown_link", "sent_by": link.sender })),
        };
        record(&mut tx, meta, event).await?;
        tx.commit().await?;
        Ok::<(), AppError>(())
    }
    .await;
    match recorded {
        Ok(()) => AppError::invalid("link", OUTGROWN),
        Err(e) => e,
    }
}

/// Ends every live link of an organisation (it was suspended or deleted:
/// a link must not come back to life with it).
pub async fn end_tenant_links(conn: &mut PgConnection, tenant_id: TenantId) -> Result<u64, AppError> {
    Ok(sqlx::query!("UPDATE password_links SET used_at = now() WHERE tenant_id = $1 AND used_at IS NULL", tenant_id.0)
        .execute(conn)
        .await?
        .rows_affected())
}

/// Ends every live link of a person (a password was set, their email
/// changed, they were suspended, deleted or anonymised).
pub async fn end_links(conn: &mut PgConnection, tenant_id: TenantId, person: UserId) -> Result<u64, AppError> {
    Ok(sqlx::query!("UPDATE password_links SET used_at = now() WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL", tenant_id.0, person.0)
        .execute(conn)
        .await?
        .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_an_organisation_and_a_secret_of_64_hex_digits() {
        let tenant = Uuid::now_v7();
        let secret = "ab".repeat(32);
        let link = format!("{}.{secret}", tenant.simple());
        let (t, s) = parse(&link).unwrap();
        assert_eq!((t.0, s), (tenant, secret.as_str()));
        for broken in ["", "x", &format!("{}.", tenant.simple()), &format!("nope.{secret}"), &format!("{}.{}", tenant.simple(), "zz".repeat(32))] {
            assert!(parse(broken).unwrap_err().field("link").is_some(), "{broken}");
        }
    }
}
