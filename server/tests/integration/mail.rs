//! Mail: notices queued with the change that causes them, sent by the
//! worker to a real SMTP listener (a small one this test starts, speaking
//! the protocol over TCP), retried with a growing pause, never lost and
//! never sent twice; and, with no SMTP server, delivered to the outbox that
//! the Sent mail screen and `steward mail list` read.

use crate::support::*;
use app::authz::ssr::System;
use app::mail::ssr::{claim, Backoff};
use sqlx::{ConnectOptions, Connection};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use steward::ops::mail::{run, send_due, Transport, WorkerConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A message as the SMTP listener received it.
#[derive(Clone, Debug)]
struct Received {
    from: String,
    to: Vec<String>,
    data: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data.lines().find(|l| l.to_ascii_lowercase().starts_with(&prefix)).map(|l| l[prefix.len()..].trim().to_string())
    }
}

/// An SMTP listener on 127.0.0.1: it answers EHLO, MAIL, RCPT and DATA as
/// a server does, keeps what it accepts, and answers each message's end of
/// data with the next scripted reply (250 when the script is empty), after
/// an optional pause.
#[derive(Clone)]
struct SmtpSink {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<&'static str>>>,
}

impl SmtpSink {
    async fn start(pause: Duration) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = SmtpSink { port: listener.local_addr().unwrap().port(), received: Arc::default(), script: Arc::default() };
        let shared = sink.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let sink = shared.clone();
                tokio::spawn(async move {
                    let _ = sink.session(socket, pause).await;
                });
            }
        });
        sink
    }

    async fn session(&self, socket: tokio::net::TcpStream, pause: Duration) -> std::io::Result<()> {
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 sink.test ESMTP\r\n").await?;
        let (mut from, mut to) = (String::new(), Vec::new());
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let upper = line.to_ascii_uppercase();
            if upper.starts_with("EHLO") {
                write.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n").await?;
            } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
                write.write_all(b"250 OK\r\n").await?;
            } else if upper.starts_with("RSET") {
                (from, to) = (String::new(), Vec::new());
                write.write_all(b"250 OK\r\n").await?;
            } else if upper.starts_with("MAIL FROM:") {
                from = line[10..].trim().to_string();
                write.write_all(b"250 OK\r\n").await?;
            } else if upper.starts_with("RCPT TO:") {
                to.push(line[8..].trim().to_string());
                write.write_all(b"250 OK\r\n").await?;
            } else if upper.starts_with("DATA") {
                write.write_all(b"354 go on\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').filter(|_| line.starts_with("..")).unwrap_or(&line));
                }
                tokio::time::sleep(pause).await;
                let reply = self.script.lock().unwrap().pop_front().unwrap_or("250 accepted");
                if reply.starts_with('2') {
                    self.received.lock().unwrap().push(Received { from: from.clone(), to: to.clone(), data });
                }
                write.write_all(format!("{reply}\r\n").as_bytes()).await?;
                (from, to) = (String::new(), Vec::new());
            } else if upper.starts_with("QUIT") {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                write.write_all(b"502 not here\r\n").await?;
            }
        }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn smtp(sink: &SmtpSink) -> Transport {
    Transport::new(Some(&sink.url()), Some("Steward <steward@steward.test>")).unwrap()
}

fn quick(transport: Transport) -> WorkerConfig {
    WorkerConfig {
        backoff: Backoff { first: Duration::from_millis(100), longest: Duration::from_millis(400), attempts: 3 },
        lease: Duration::from_secs(30),
        poll: Duration::from_millis(50),
        ..WorkerConfig::new(transport, 30)
    }
}

/// (kind, to, status, attempts, last_error, delivered_via, event action), oldest first.
async fn outbox(db: &TestDb) -> Vec<(String, String, String, i32, Option<String>, Option<String>, Option<String>)> {
    let mut conn = db.superuser().connect().await.unwrap();
    let rows = sqlx::query_as(
        "SELECT m.kind, m.to_address, m.status, m.attempts, m.last_error, m.delivered_via, e.action
           FROM mail_outbox m LEFT JOIN audit_events e ON e.tenant_id = m.tenant_id AND e.id = m.event_id
          ORDER BY m.created_at, m.id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    rows
}

async fn sign_in_as(db: &TestDb, tenant: &str, email: &str) -> TestApp {
    let app = TestApp::on(db.clone()).await;
    app.sign_in(tenant, email, PASSWORD).await;
    app
}

/// Queues `n` messages in Acme through the spine's queue, as a change would.
async fn queue_messages(db: &TestDb, n: usize) {
    let pool = db.app_pool().await;
    let acme = app::ids::TenantId(db.tenant_id("acme").await);
    let mut tx = System::new(&pool).in_tenant(acme).await.unwrap();
    for i in 0..n {
        let letter = app::outbox::letter::Letter {
            organisation: "Acme".into(),
            brand_colour: None,
            subject: format!("Message {i}"),
            paragraphs: vec![format!("Number {i}.")],
            facts: Vec::new(),
            action: None,
        };
        let to = format!("person{i}@acme.test");
        let message = app::outbox::Outgoing { tenant_id: acme, kind: "test", user_id: None, event_id: None, to_address: &to, to_name: "", letter, link: None };
        app::outbox::queue(&mut tx, message).await.unwrap();
    }
    tx.commit().await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn a_password_change_queues_its_notice_in_its_transaction_and_smtp_delivers_it_once() {
    let db = TestDb::new().await;
    let mark = sign_in_as(&db, "acme", "mark@acme.test").await;

    // Refused (wrong current password): no change, so no notice.
    let r = mark.call("/api/change_password", &[("current_password", "wrong-password"), ("new_password", "a new passphrase 42"), ("confirm_password", "a new passphrase 42")]).await;
    assert!(!r.status.is_success());
    assert!(outbox(&db).await.is_empty(), "a refused change queues nothing");

    let r = mark.call("/api/change_password", &[("current_password", PASSWORD), ("new_password", "a new passphrase 42"), ("confirm_password", "a new passphrase 42")]).await;
    assert!(r.status.is_success() || r.status.is_redirection(), "{:?}", r.status);
    let queued = outbox(&db).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    let (kind, to, status, attempts, _, _, action) = &queued[0];
    assert_eq!((kind.as_str(), to.as_str(), status.as_str(), *attempts), ("user.password_change", "mark@acme.test", "queued", 0));
    assert_eq!(action.as_deref(), Some("user.password_change"), "the notice names the event it goes with");

    let sink = SmtpSink::start(Duration::ZERO).await;
    let pool = db.app_pool().await;
    let config = quick(smtp(&sink));
    let (_stop, stopped) = watch::channel(false);
    assert_eq!(send_due(&System::new(&pool), &config, &stopped).await.unwrap(), 1);
    assert_eq!(send_due(&System::new(&pool), &config, &stopped).await.unwrap(), 0, "nothing is due twice");

    let got = sink.received();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.from, "<steward@steward.test>");
    assert_eq!(m.to, vec!["<mark@acme.test>".to_string()]);
    assert_eq!(m.header("Subject").as_deref(), Some("Your password was changed"));
    assert!(m.header("To").unwrap().contains("Mark Member"), "{:?}", m.header("To"));
    assert!(m.header("Message-ID").unwrap().ends_with("@steward.test>"));
    assert!(m.data.contains("multipart/alternative") && m.data.contains("text/plain") && m.data.contains("text/html"), "{}", m.data);
    assert!(m.data.contains("Acme"), "the organisation is named: {}", m.data);

    let sent = outbox(&db).await;
    assert_eq!((sent[0].2.as_str(), sent[0].3, sent[0].5.as_deref()), ("sent", 1, Some("smtp")));
    pool.close().await;
}

#[tokio::test]
async fn every_security_change_tells_the_person_it_concerns_and_other_changes_tell_nobody() {
    let db = TestDb::new().await;
    let olivia = sign_in_as(&db, "acme", "olivia@acme.test").await;
    let mark = db.user_id("mark@acme.test").await.to_string();
    let maya = db.user_id("maya@acme.test").await.to_string();

    assert!(olivia.call("/api/reset_password", &[("user_id", &mark)]).await.status.is_success());
    assert!(olivia.call("/api/suspend_user", &[("user_id", &maya)]).await.status.is_success());
    // Not security changes: nothing is sent.
    assert!(olivia.call("/api/reactivate_user", &[("user_id", &maya)]).await.status.is_success());
    assert!(olivia.call("/api/create_team", &[("name", "Mail room")]).await.status.is_success());

    let queued = outbox(&db).await;
    let kinds: Vec<(&str, &str)> = queued.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(kinds, vec![("user.password_reset", "mark@acme.test"), ("user.suspend", "maya@acme.test")]);
}

#[tokio::test]
async fn a_refusal_for_now_is_retried_after_a_pause_and_a_refusal_for_good_is_not() {
    let db = TestDb::new().await;
    queue_messages(&db, 2).await;
    let sink = SmtpSink::start(Duration::ZERO).await;
    sink.script.lock().unwrap().extend(["451 4.3.0 try again later", "550 5.1.1 no such mailbox"]);
    let pool = db.app_pool().await;
    let system = System::new(&pool);
    // A pause long enough that a loaded machine cannot outrun it.
    let config = WorkerConfig { backoff: Backoff { first: Duration::from_secs(2), longest: Duration::from_secs(4), attempts: 3 }, ..quick(smtp(&sink)) };
    let (_stop, stopped) = watch::channel(false);

    assert_eq!(send_due(&system, &config, &stopped).await.unwrap(), 2);
    let rows = outbox(&db).await;
    assert_eq!((rows[0].2.as_str(), rows[0].3), ("queued", 1), "451: queued again: {rows:?}");
    assert!(rows[0].4.as_deref().unwrap().contains("try again later"), "{rows:?}");
    assert_eq!((rows[1].2.as_str(), rows[1].3), ("failed", 1), "550: failed at once: {rows:?}");
    assert!(rows[1].4.as_deref().unwrap().contains("no such mailbox"), "{rows:?}");

    // Not due before its pause ends; sent once it has.
    assert_eq!(send_due(&system, &config, &stopped).await.unwrap(), 0, "the pause holds it back");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(send_due(&system, &config, &stopped).await.unwrap(), 1);
    let rows = outbox(&db).await;
    assert_eq!((rows[0].2.as_str(), rows[0].3, rows[0].5.as_deref()), ("sent", 2, Some("smtp")));
    assert_eq!(rows[1].2, "failed", "a refusal for good is not tried again");
    assert_eq!(sink.received().len(), 1);

    // A server that is not there: retried until the attempts run out.
    queue_messages(&db, 1).await;
    let gone = Transport::new(Some("smtp://127.0.0.1:9"), Some("steward@steward.test")).unwrap();
    let config = quick(gone);
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(450)).await;
        send_due(&system, &config, &stopped).await.unwrap();
    }
    let last = outbox(&db).await.pop().unwrap();
    assert_eq!((last.2.as_str(), last.3), ("failed", 3), "{last:?}");
    assert!(last.4.as_deref().unwrap().to_lowercase().contains("connect"), "{last:?}");
    pool.close().await;
}

#[tokio::test]
async fn two_workers_a_stop_and_a_worker_that_died_lose_nothing_and_send_nothing_twice() {
    let db = TestDb::new().await;
    queue_messages(&db, 40).await;
    let pool = db.app_pool().await;

    // A worker that claimed a batch and died before sending it: its claims
    // wait for their lease, then another worker sends them.
    let dead = claim(&System::new(&pool), Duration::from_millis(500), 5).await.unwrap();
    assert_eq!(dead.len(), 5);

    let sink = SmtpSink::start(Duration::from_millis(20)).await;
    let (stop_one, one_stopped) = watch::channel(false);
    let (stop_two, two_stopped) = watch::channel(false);
    let one = tokio::spawn(run(pool.clone(), quick(smtp(&sink)), one_stopped));
    let two = tokio::spawn(run(pool.clone(), quick(smtp(&sink)), two_stopped));
    // The first worker is stopped part-way (as `steward serve` stops it on
    // shutdown); a third starts (the server started again).
    while sink.received().len() < 10 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop_one.send(true).unwrap();
    one.await.unwrap();
    let (stop_three, three_stopped) = watch::channel(false);
    let three = tokio::spawn(run(pool.clone(), quick(smtp(&sink)), three_stopped));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while sink.received().len() < 40 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_two.send(true).unwrap();
    stop_three.send(true).unwrap();
    two.await.unwrap();
    three.await.unwrap();

    let got = sink.received();
    let mut ids: Vec<String> = got.iter().map(|m| m.header("Message-ID").unwrap()).collect();
    ids.sort();
    let before = ids.len();
    ids.dedup();
    assert_eq!(before, ids.len(), "no message was sent twice");
    assert_eq!(ids.len(), 40, "every message was sent");
    let rows = outbox(&db).await;
    assert!(rows.iter().all(|r| r.2 == "sent"), "{rows:?}");
    let claimed_twice = rows.iter().filter(|r| r.3 == 2).count();
    assert_eq!(claimed_twice, 5, "only the dead worker's five were claimed twice: {rows:?}");
    pool.close().await;
}

#[tokio::test]
async fn without_smtp_the_outbox_is_the_delivery_and_platform_administrators_read_it() {
    let db = TestDb::new().await;
    let olivia = sign_in_as(&db, "acme", "olivia@acme.test").await;
    let mark = db.user_id("mark@acme.test").await.to_string();
    assert!(olivia.call("/api/suspend_user", &[("user_id", &mark)]).await.status.is_success());

    let pool = db.app_pool().await;
    let (_stop, stopped) = watch::channel(false);
    let config = WorkerConfig::new(Transport::new(None, None).unwrap(), 30);
    assert_eq!(send_due(&System::new(&pool), &config, &stopped).await.unwrap(), 1);
    let rows = outbox(&db).await;
    assert_eq!((rows[0].2.as_str(), rows[0].5.as_deref()), ("sent", Some("outbox")));

    // The Sent mail screen, for the platform administrator: the message,
    // its body, and how it went.
    let admin = sign_in_as(&db, "platform", "admin@steward.test").await;
    let page = admin.get("/mail").await;
    assert_eq!(page.status, axum::http::StatusCode::OK);
    assert!(page.has_testid("mail-table"), "{}", page.body);
    assert!(page.body.contains("Your account was suspended") && page.body.contains("mark@acme.test"), "{}", page.body);
    assert!(page.body.contains("Mark Member, your account was suspended"), "the body is shown: {}", page.body);
    assert!(page.body.contains("by the outbox"), "{}", page.body);
    let listed = admin.call("/api/list_sent_mail", &[("query[status]", "sent"), ("query[tenant]", "acme")]).await;
    assert_eq!(json(&listed)["rows"].as_array().unwrap().len(), 1);
    let wrong = admin.call("/api/list_sent_mail", &[("query[status]", "bounced")]).await;
    assert_eq!(wrong.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    assert!(wrong.body.contains("Choose queued, sent or failed."), "{}", wrong.body);

    // The organisation's owner has no such screen: the platform's mail is
    // not hers to read.
    assert_eq!(olivia.call("/api/list_sent_mail", &[("query[status]", "")]).await.status, axum::http::StatusCode::FORBIDDEN);
    pool.close().await;
}

#[tokio::test]
async fn steward_mail_list_and_show_print_the_outbox() {
    let db = TestDb::new().await;
    let olivia = sign_in_as(&db, "acme", "olivia@acme.test").await;
    let mark = db.user_id("mark@acme.test").await.to_string();
    assert!(olivia.call("/api/suspend_user", &[("user_id", &mark)]).await.status.is_success());
    let steward = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(args)
            .env("DATABASE_URL", db.url("steward_app"))
            .env("DATABASE_MIGRATION_URL", db.url("steward_owner"))
            .output()
            .unwrap()
    };
    let out = steward(&["mail", "list", "--tenant", "acme"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = text.lines().find(|l| l.contains("mark@acme.test")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("queued") && line.contains("acme") && line.contains("Your account was suspended"), "{line}");
    let id = line.split_whitespace().last().unwrap();

    let out = steward(&["mail", "show", id]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("To:       Mark Member <mark@acme.test>") && text.contains("Mark Member, your account was suspended"), "{text}");
    let out = steward(&["mail", "list", "--status", "bounced"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Choose queued, sent or failed."));
}

#[tokio::test]
async fn a_link_reaches_the_person_over_smtp_and_is_then_kept_nowhere_readable() {
    let app = TestApp::spawn().await;
    let db = app.db.clone();
    app.call("/api/request_password_link", &[("tenant", "acme"), ("email", "mark@acme.test")]).await;
    let sink = SmtpSink::start(Duration::ZERO).await;
    let pool = db.app_pool().await;
    let (_stop, stopped) = watch::channel(false);
    assert_eq!(send_due(&System::new(&pool), &quick(smtp(&sink)), &stopped).await.unwrap(), 1);

    let got = sink.received();
    assert_eq!(got.len(), 1);
    // The message as sent holds the link (quoted-printable may break its lines).
    let unfolded = got[0].data.replace("=\r\n", "").replace("=3D", "=");
    let at = unfolded.find("http://127.0.0.1:3000/login/reset?link=").unwrap_or_else(|| panic!("{}", got[0].data));
    let link: String = unfolded[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || ":/.?=".contains(*c)).collect();
    assert!(!unfolded.contains(app::outbox::LINK_PLACEHOLDER));

    // What is kept: bodies with the placeholder, no link.
    let mut conn = db.superuser().connect().await.unwrap();
    let (text, html, kept): (String, String, Option<String>) =
        sqlx::query_as("SELECT body_text, body_html, link FROM mail_outbox WHERE to_address = 'mark@acme.test'").fetch_one(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    assert_eq!(kept, None, "cleared once sent");
    let secret = link.split("link=").nth(1).unwrap();
    assert!(!text.contains(secret) && !html.contains(secret));
    // And it works.
    let chosen = "a passphrase from the mail 3";
    let r = app.call("/api/use_password_link", &[("link", secret), ("new_password", chosen), ("confirm_password", chosen)]).await;
    assert!(r.status.is_success() || r.status.is_redirection(), "{r:?}");
    pool.close().await;
}
