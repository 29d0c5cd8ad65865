//! Invitations: an owner or administrator invites someone by email with a
//! role and a team; the person is pending (cannot sign in) until they
//! follow the mail's link and choose a password. Links work once and for
//! seven days, are kept only as a digest, and end when the invitation is
//! sent again or revoked. What an invitation gives is under the delegation
//! rule, as a grant is; sending one again or revoking it touches the
//! account's way in, so it is only for accounts within the caller's grants.

use crate::support::*;
use axum::http::StatusCode;
use sqlx::{ConnectOptions, Connection};

/// The invitation links mailed to an address, newest first (paths on the host).
async fn invitations_to(db: &TestDb, email: &str) -> Vec<String> {
    let links = mailed_links(db, email, "user.invitation").await;
    let mut conn = db.superuser().connect().await.unwrap();
    let subjects: Vec<String> = sqlx::query_scalar("SELECT subject FROM mail_outbox WHERE to_address = $1 AND kind = 'user.invitation'")
        .bind(email)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    assert!(subjects.iter().all(|s| s.contains("invited you to Acme")), "{subjects:?}");
    links
}

fn link_of(path: &str) -> String {
    path.split("link=").nth(1).unwrap().to_string()
}

async fn accept(app: &TestApp, link: &str, password: &str) -> TestResponse {
    app.call("/api/use_password_link", &[("link", link), ("new_password", password), ("confirm_password", password)]).await
}

fn ok(r: &TestResponse) -> bool {
    r.status.is_success() || r.status.is_redirection()
}

async fn status_of(db: &TestDb, email: &str) -> (String, bool) {
    let mut conn = db.superuser().connect().await.unwrap();
    let row: (String, bool) = sqlx::query_as("SELECT status, deleted_at IS NOT NULL FROM users WHERE email = $1 ORDER BY created_at DESC LIMIT 1")
        .bind(email)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    row
}

const CHOSEN: &str = "a passphrase of my own 4";

#[tokio::test]
async fn an_invited_person_is_pending_until_they_choose_a_password_with_the_link_once() {
    let app = TestApp::spawn().await;
    let db = app.db.clone();
    let olivia = TestApp::on(db.clone()).await;
    olivia.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let manager = db.role_id("acme", "manager").await.to_string();
    let r = olivia.call("/api/create_team", &[("name", "Editors")]).await;
    assert!(ok(&r), "{}", r.body);
    let mut su = db.superuser().connect().await.unwrap();
    let editors: String = sqlx::query_scalar("SELECT id::text FROM teams WHERE name = 'Editors'").fetch_one(&mut su).await.unwrap();

    // Bad input is told beside its field, and nothing is written.
    let r = olivia.call("/api/invite_user", &[("email", "not an address"), ("display_name", ""), ("role_id", "nonsense")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Choose a role from the list."), "{}", r.body);
    let r = olivia.call("/api/invite_user", &[("email", "not an address"), ("display_name", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("\"email\"") && r.body.contains("\"display_name\""), "{}", r.body);
    // An address in use is a conflict beside the email.
    let r = olivia.call("/api/invite_user", &[("email", "mark@acme.test"), ("display_name", "Mark Again")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    let r = olivia.call("/api/invite_user", &[("email", "nina@acme.test"), ("display_name", "Nina New"), ("role_id", &manager), ("team_id", &editors)]).await;
    assert!(ok(&r), "{}", r.body);
    assert_eq!(status_of(&db, "nina@acme.test").await, ("pending".to_string(), false));
    let path = invitations_to(&db, "nina@acme.test").await.remove(0);
    assert!(path.starts_with("/login/join?link="), "{path}");
    let link = link_of(&path);

    // Pending: no sign-in, with no password at all.
    let early = TestApp::on(db.clone()).await;
    early.sign_in("acme", "nina@acme.test", "").await;
    assert_eq!(early.get("/").await.status, StatusCode::SEE_OTHER);

    // The page, without JavaScript, says what the link is for.
    let stranger = TestApp::on(db.clone()).await;
    let page = stranger.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_testid("reset-form") && page.body.contains("Join Acme") && page.body.contains("nina@acme.test"), "{}", page.body);

    // The password rules apply, and a refusal does not use the link up.
    let r = accept(&stranger, &link, "short").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = accept(&stranger, &link, CHOSEN).await;
    assert!(ok(&r), "{}", r.body);
    assert_eq!(status_of(&db, "nina@acme.test").await, ("active".to_string(), false));

    // Once only; the sign-in works, with the role and the team given.
    let again = accept(&stranger, &link, "another passphrase 99").await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.body.contains("This link does not work"), "{}", again.body);
    assert!(stranger.get(&path).await.has_testid("link-broken"));
    let nina = TestApp::on(db.clone()).await;
    nina.sign_in("acme", "nina@acme.test", CHOSEN).await;
    assert_eq!(nina.get("/").await.status, StatusCode::OK);
    let me = nina.call("/api/me", &[]).await;
    assert!(me.body.contains("team:manage"), "the manager role, now held: {}", me.body);
    let teams: i64 = sqlx::query_scalar("SELECT count(*) FROM team_members m JOIN users u ON u.id = m.user_id WHERE u.email = 'nina@acme.test'")
        .fetch_one(&mut su)
        .await
        .unwrap();
    assert_eq!(teams, 1);

    // Recorded: created pending, invited, the grants, accepted by herself.
    let events = db.events("acme").await;
    let actions: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    for action in ["user.create", "user.role_grant", "team.member_add", "user.invitation_send", "user.invitation_accept"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let created = events.iter().find(|e| e.0 == "user.create" && e.2["after"]["email"] == "nina@acme.test").unwrap();
    assert_eq!(created.2["after"]["status"], "pending");
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT secret_hash FROM password_links WHERE purpose = 'invite'").fetch_all(&mut su).await.unwrap();
    let secret = link.split('.').nth(1).unwrap();
    assert!(stored.iter().all(|h| h.len() == 32 && !String::from_utf8_lossy(h).contains(secret)), "only a digest of the secret is kept");
    su.close().await.unwrap();
}

#[tokio::test]
async fn an_invitation_sent_again_ends_the_old_link_and_a_revoked_or_expired_one_lets_nobody_in() {
    let app = TestApp::spawn().await;
    let db = app.db.clone();
    let olivia = TestApp::on(db.clone()).await;
    olivia.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    assert!(ok(&olivia.call("/api/invite_user", &[("email", "omar@acme.test"), ("display_name", "Omar")]).await));
    let omar = db.user_id("omar@acme.test").await.to_string();
    let first = link_of(&invitations_to(&db, "omar@acme.test").await.remove(0));

    // The person's page tells when and by whom, and offers both actions.
    let page = olivia.get(&format!("/users/{omar}")).await;
    assert!(page.has_testid("invitation") && page.body.contains("by Olivia Owner") && page.has_testid("resend-invitation"), "{}", page.body);
    // What needs an account in use says so.
    for op in ["reset_password", "reactivate_user", "send_password_link"] {
        let r = olivia.call(&format!("/api/{op}"), &[("user_id", &omar)]).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{op}: {}", r.body);
    }

    assert!(ok(&olivia.call("/api/resend_invitation", &[("user_id", &omar)]).await));
    let links = invitations_to(&db, "omar@acme.test").await;
    assert_eq!(links.len(), 2);
    let second = link_of(&links[0]);
    let stranger = TestApp::on(db.clone()).await;
    assert_eq!(accept(&stranger, &first, CHOSEN).await.status, StatusCode::UNPROCESSABLE_ENTITY, "the first link ended");

    // Expired: refused, and the page says so.
    db.exec_as_superuser("UPDATE password_links SET created_at = now() - interval '8 days', expires_at = now() - interval '1 day' WHERE purpose = 'invite' AND used_at IS NULL").await;
    assert_eq!(accept(&stranger, &second, CHOSEN).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = olivia.get(&format!("/users/{omar}")).await;
    assert!(page.body.contains("That link no longer works"), "{}", page.body);

    // A fresh one, then revoked: the link ends and the account is deleted.
    assert!(ok(&olivia.call("/api/resend_invitation", &[("user_id", &omar)]).await));
    let third = link_of(&invitations_to(&db, "omar@acme.test").await.remove(0));
    assert!(ok(&olivia.call("/api/revoke_invitation", &[("user_id", &omar)]).await));
    assert_eq!(accept(&stranger, &third, CHOSEN).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(status_of(&db, "omar@acme.test").await, ("pending".to_string(), true));
    // The address is free again: a new invitation can go to it.
    assert!(ok(&olivia.call("/api/invite_user", &[("email", "omar@acme.test"), ("display_name", "Omar")]).await));

    // Only a pending account has an invitation to send again or revoke.
    let mark = db.user_id("mark@acme.test").await.to_string();
    for op in ["resend_invitation", "revoke_invitation"] {
        assert_eq!(olivia.call(&format!("/api/{op}"), &[("user_id", &mark)]).await.status, StatusCode::CONFLICT, "{op}");
    }
    // Another organisation's person is not found.
    let max = db.user_id("max@globex.test").await.to_string();
    for op in ["resend_invitation", "revoke_invitation"] {
        assert_eq!(olivia.call(&format!("/api/{op}"), &[("user_id", &max)]).await.status, StatusCode::NOT_FOUND, "{op}");
    }
    // Someone without user:create cannot invite.
    let maya = TestApp::on(db.clone()).await;
    maya.sign_in("acme", "maya@acme.test", PASSWORD).await;
    assert_eq!(maya.call("/api/invite_user", &[("email", "x@acme.test"), ("display_name", "X")]).await.status, StatusCode::FORBIDDEN);
    let events = db.events("acme").await;
    for action in ["user.invitation_resend", "user.invitation_revoke"] {
        assert!(events.iter().any(|e| e.0 == action), "{action}");
    }
}

#[tokio::test]
async fn an_invitation_gives_nothing_the_inviter_lacks_and_only_they_may_resend_it_who_hold_as_much() {
    let app = TestApp::spawn().await;
    let db = app.db.clone();
    let olivia = TestApp::on(db.clone()).await;
    olivia.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    assert!(ok(&olivia.call("/api/create_user", &[("email", "ada@acme.test"), ("display_name", "Ada Admin"), ("password", PASSWORD)]).await));
    db.grant("ada@acme.test", "acme", "admin").await;
    db.team_with_role("acme", "Admins", "olivia@acme.test", "owner").await;
    let mut su = db.superuser().connect().await.unwrap();
    let admins: String = sqlx::query_scalar("SELECT id::text FROM teams WHERE name = 'Admins'").fetch_one(&mut su).await.unwrap();
    let owner = db.role_id("acme", "owner").await.to_string();
    let ada = TestApp::on(db.clone()).await;
    ada.sign_in("acme", "ada@acme.test", PASSWORD).await;

    // The attack: an administrator invites a mailbox of her own as owner,
    // directly or through a team that carries owner. Refused, and nothing
    // is left behind: no account, no mail.
    for fields in [vec![("role_id", owner.as_str())], vec![("team_id", admins.as_str())]] {
        let mut all = vec![("email", "ada.other@acme.test"), ("display_name", "Ada Elsewhere")];
        all.extend(fields);
        let r = ada.call("/api/invite_user", &all).await;
        assert!(!ok(&r), "refused: {}", r.body);
        assert!(r.body.contains("permissions you do not hold"), "{}", r.body);
    }
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'ada.other@acme.test'").fetch_one(&mut su).await.unwrap();
    let mailed: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_outbox WHERE to_address = 'ada.other@acme.test'").fetch_one(&mut su).await.unwrap();
    assert_eq!((left, mailed), (0, 0));

    // The owner invites an owner; the administrator may not take over that
    // invitation (by sending it again to read it, or by revoking it).
    assert!(ok(&olivia.call("/api/invite_user", &[("email", "owen@acme.test"), ("display_name", "Owen Owner"), ("role_id", &owner)]).await));
    let owen = db.user_id("owen@acme.test").await.to_string();
    for op in ["resend_invitation", "revoke_invitation"] {
        let r = ada.call(&format!("/api/{op}"), &[("user_id", &owen)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{op}: {}", r.body);
    }
    assert_eq!(invitations_to(&db, "owen@acme.test").await.len(), 1);
    // Within her grants, she may.
    assert!(ok(&ada.call("/api/invite_user", &[("email", "pat@acme.test"), ("display_name", "Pat")]).await));
    let pat = db.user_id("pat@acme.test").await.to_string();
    for _ in 0..4 {
        assert!(ok(&ada.call("/api/resend_invitation", &[("user_id", &pat)]).await));
    }
    // Five links to one person in an hour, then no more: mail is not a
    // stream anyone may open at someone.
    let r = ada.call("/api/resend_invitation", &[("user_id", &pat)]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("in the last hour"), "{}", r.body);
    // Nor through a team that carries a role deleted for now: the
    // invitation would be a way into what a restore gives back.
    db.team_with_role("acme", "Old owners", "olivia@acme.test", "owner").await;
    db.exec_as_superuser(
        "INSERT INTO roles (tenant_id, name, description) SELECT id, 'Exporters', '' FROM tenants WHERE slug = 'acme';
         INSERT INTO role_permissions (tenant_id, role_id, permission_key) SELECT tenant_id, id, 'audit:export' FROM roles WHERE name = 'Exporters';
         INSERT INTO team_roles (tenant_id, team_id, role_id) SELECT r.tenant_id, t.id, r.id FROM roles r JOIN teams t ON t.tenant_id = r.tenant_id AND t.name = 'Old owners' WHERE r.name = 'Exporters';
         DELETE FROM team_roles WHERE role_id IN (SELECT id FROM roles WHERE system_key = 'owner');
         UPDATE roles SET deleted_at = now() WHERE name = 'Exporters';",
    )
    .await;
    let old_owners: String = sqlx::query_scalar("SELECT id::text FROM teams WHERE name = 'Old owners'").fetch_one(&mut su).await.unwrap();
    let r = ada.call("/api/invite_user", &[("email", "quentin@acme.test"), ("display_name", "Quentin"), ("team_id", &old_owners)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("audit:export"), "{}", r.body);
    su.close().await.unwrap();
}

#[tokio::test]
async fn an_import_can_invite_each_person_instead_of_leaving_them_without_a_password() {
    let app = TestApp::spawn().await;
    let db = app.db.clone();
    let olivia = TestApp::on(db.clone()).await;
    olivia.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let csv = "email,name,role\nquin@acme.test,Quin,Member\nrosa@acme.test,Rosa,\n";
    let r = olivia.upload_form("/users/imports", &[("invite", "on")], Some(("file", "people.csv", "text/csv", csv.as_bytes()))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    imports_settled(&db).await;
    for email in ["quin@acme.test", "rosa@acme.test"] {
        assert_eq!(status_of(&db, email).await, ("pending".to_string(), false), "{email}");
        assert_eq!(invitations_to(&db, email).await.len(), 1, "{email}");
    }
    let link = link_of(&invitations_to(&db, "quin@acme.test").await.remove(0));
    assert!(ok(&accept(&TestApp::on(db.clone()).await, &link, CHOSEN).await));
    let quin = TestApp::on(db.clone()).await;
    quin.sign_in("acme", "quin@acme.test", CHOSEN).await;
    assert_eq!(quin.get("/").await.status, StatusCode::OK);

    // Without the box, as before: active, no mail.
    let r = olivia.upload("/users/imports", "file", "more.csv", b"email,name\nsol@acme.test,Sol\n").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    imports_settled(&db).await;
    assert_eq!(status_of(&db, "sol@acme.test").await, ("active".to_string(), false));
    assert!(invitations_to(&db, "sol@acme.test").await.is_empty());
}

/// Waits for the imports started to finish (they run after the response).
async fn imports_settled(db: &TestDb) {
    let mut su = db.superuser().connect().await.unwrap();
    for _ in 0..200 {
        let running: i64 = sqlx::query_scalar("SELECT count(*) FROM user_imports WHERE state <> 'done'").fetch_one(&mut su).await.unwrap();
        if running == 0 {
            return su.close().await.unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("an import did not finish within 10 s");
}

#[tokio::test]
async fn a_link_sent_before_the_person_was_given_more_than_its_sender_holds_no_longer_works() {
    // The attack: an administrator invites a mailbox of her own as a
    // member (within her grants), or sends a reset link to one; an owner,
    // later and in good faith, makes that account an owner; the
    // administrator then uses the old link and holds an owner's account.
    let app = TestApp::spawn().await;
    let db = app.db.clone();
    let olivia = TestApp::on(db.clone()).await;
    olivia.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    assert!(ok(&olivia.call("/api/create_user", &[("email", "ada@acme.test"), ("display_name", "Ada Admin"), ("password", PASSWORD)]).await));
    db.grant("ada@acme.test", "acme", "admin").await;
    let ada = TestApp::on(db.clone()).await;
    ada.sign_in("acme", "ada@acme.test", PASSWORD).await;
    let (owner, member) = (db.role_id("acme", "owner").await.to_string(), db.role_id("acme", "member").await.to_string());

    assert!(ok(&ada.call("/api/invite_user", &[("email", "ada.second@acme.test"), ("display_name", "Ada Second"), ("role_id", &member)]).await));
    let invitation = link_of(&invitations_to(&db, "ada.second@acme.test").await.remove(0));
    let mark = db.user_id("mark@acme.test").await.to_string();
    assert!(ok(&ada.call("/api/send_password_link", &[("user_id", &mark)]).await));
    let mut su = db.superuser().connect().await.unwrap();
    let reset: String = sqlx::query_scalar("SELECT link FROM mail_outbox WHERE to_address = 'mark@acme.test' AND kind = 'user.password_link'").fetch_one(&mut su).await.unwrap();
    let reset = link_of(&reset);

    let second = db.user_id("ada.second@acme.test").await.to_string();
    for who in [&second, &mark] {
        assert!(ok(&olivia.call("/api/assign_role", &[("user_id", who), ("role_id", &owner)]).await));
    }
    let stranger = TestApp::on(db.clone()).await;
    for link in [&invitation, &reset] {
        let r = accept(&stranger, link, CHOSEN).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "the old link is refused: {}", r.body);
        assert!(r.body.contains("holds more access"), "{}", r.body);
    }
    assert_eq!(status_of(&db, "ada.second@acme.test").await, ("pending".to_string(), false));
    let denied: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'access.denied' AND changes->'after'->>'check' = 'outgrown_link'")
        .fetch_one(&mut su)
        .await
        .unwrap();
    assert_eq!(denied, 2, "each refusal is recorded");
    // Sent again by someone who holds as much, it works.
    assert!(ok(&olivia.call("/api/resend_invitation", &[("user_id", &second)]).await));
    let fresh = link_of(&invitations_to(&db, "ada.second@acme.test").await.remove(0));
    assert!(ok(&accept(&stranger, &fresh, CHOSEN).await));

    // A link outlives no sender's authority: Ada invites within her grants,
    // then is suspended; her invitation no longer works.
    assert!(ok(&ada.call("/api/invite_user", &[("email", "ada.third@acme.test"), ("display_name", "Ada Third"), ("role_id", &member)]).await));
    let third = link_of(&invitations_to(&db, "ada.third@acme.test").await.remove(0));
    let ada_id = db.user_id("ada@acme.test").await.to_string();
    assert!(ok(&olivia.call("/api/suspend_user", &[("user_id", &ada_id)]).await));
    let r = accept(&stranger, &third, CHOSEN).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(stranger.get(&format!("/login/join?link={third}")).await.has_testid("link-broken"));
    su.close().await.unwrap();
}
