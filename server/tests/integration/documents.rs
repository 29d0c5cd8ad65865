//! Documents: upload, versions, download, limits, immutability, isolation.

use crate::support::{blob_dir, TestApp, PASSWORD, UPLOAD_LIMIT};
use axum::http::{header, StatusCode};
use sha2::{Digest, Sha256};
use sqlx::Connection;

fn sha(bytes: &[u8]) -> String {
    app::documents::blobs::hex(&Sha256::digest(bytes))
}

/// Uploads a new document as the signed-in user; returns its id.
pub(crate) async fn upload(app: &TestApp, title: &str, tags: &str, name: &str, bytes: &[u8]) -> String {
    let response = app.upload_form("/documents/upload", &[("title", title), ("tags", tags), ("note", "first draft")], Some(("file", name, "text/plain", bytes))).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let to = response.location().unwrap().to_string();
    assert!(to.starts_with("/documents/") && !to.contains('?'), "{to}");
    to.trim_start_matches("/documents/").to_string()
}

#[tokio::test]
async fn upload_a_new_version_and_download_each_with_matching_checksums() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let (v1, v2) = (b"Contract, first draft\n".as_slice(), "Contract, signed \u{2713}\n".as_bytes());
    let id = upload(&app, "Supplier contract", "Legal, 2026", "contract.txt", v1).await;

    let page = app.get(&format!("/documents/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Supplier contract"));
    assert!(page.body.contains(&sha(v1)), "the full checksum is on the page");
    assert!(page.has_testid("version-form"));

    let response = app
        .upload_form(&format!("/documents/{id}/versions"), &[("note", "Signed by both parties")], Some(("file", "contract-signed.txt", "text/plain; charset=utf-8", v2)))
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), Some(format!("/documents/{id}").as_str()));
    let page = app.get(&format!("/documents/{id}")).await;
    assert!(page.body.contains("Version 2 uploaded."), "the notice shows after the redirect");
    assert!(page.body.contains("Signed by both parties"));

    for (n, bytes, name) in [(1, v1, "contract.txt"), (2, v2, "contract-signed.txt")] {
        let (status, headers, body) = app.download(&format!("/documents/{id}/versions/{n}/download")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, bytes, "version {n} comes back byte for byte");
        assert_eq!(sha(&body), sha(bytes));
        assert_eq!(headers[header::ETAG], format!("\"{}\"", sha(bytes)).as_str());
        assert_eq!(headers[header::CONTENT_TYPE], "text/plain");
        assert_eq!(headers[header::CONTENT_LENGTH], bytes.len().to_string().as_str());
        assert!(headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with(&format!("attachment; filename=\"{name}\"")));
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }

    let mut conn = sqlx::PgConnection::connect_with(&app.db.superuser()).await.unwrap();
    let versions: Vec<(i32, String, i64, String)> =
        sqlx::query_as("SELECT number, sha256, size_bytes, note FROM document_versions WHERE document_id = $1::uuid ORDER BY number")
            .bind(&id)
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(versions, [(1, sha(v1), v1.len() as i64, "first draft".into()), (2, sha(v2), v2.len() as i64, "Signed by both parties".into())]);
    let head: (i32, Vec<String>, String) = sqlx::query_as("SELECT current_version, tags, file_name FROM documents WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(head, (2, vec!["legal".to_string(), "2026".to_string()], "contract-signed.txt".to_string()));

    let actions: Vec<String> = app.db.events("acme").await.into_iter().filter(|e| e.1.as_deref() == Some(id.as_str())).map(|e| e.0).collect();
    assert_eq!(actions, ["document.create", "document.version_add", "document.download", "document.download"]);
}

#[tokio::test]
async fn identical_content_is_stored_once() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let bytes = format!("the same bytes {}", uuid::Uuid::now_v7()).into_bytes();
    let a = upload(&app, "One", "", "a.txt", &bytes).await;
    let b = upload(&app, "Two", "", "b.txt", &bytes).await;
    assert_ne!(a, b);
    let store = app::documents::blobs::FsBlobStore::new(blob_dir()).unwrap();
    let path = store.path_of(&sha(&bytes)).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&path).unwrap().nlink(), 1, "one stored file, no staging copy left");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[tokio::test]
async fn an_upload_past_the_limit_is_refused_with_a_message_and_leaves_nothing() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    for size in [UPLOAD_LIMIT as usize + 1, UPLOAD_LIMIT as usize + 400 * 1024] {
        let big = vec![b'x'; size];
        let response = app.upload_form("/documents/upload", &[("title", "Too big"), ("tags", "huge")], Some(("file", "big.bin", "application/octet-stream", &big))).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER);
        let to = response.location().unwrap();
        assert!(to.starts_with("/documents?field=file&error="), "{to}");
        let page = app.get(to).await;
        assert!(page.body.contains("The file is larger than the limit of 64 KB"), "the message is beside the file field");
        if size == UPLOAD_LIMIT as usize + 1 {
            // Refused while the file streamed in: the fields sent before it are kept.
            // (A body far past the limit is refused before any field is read.)
            let form = page.body.split("data-testid=\"upload-form\"").nth(1).unwrap().split("</form>").next().unwrap();
            assert!(form.contains("value=\"Too big\"") && form.contains("value=\"huge\""), "the form keeps what was typed: {form}");
        }
    }
    let mut conn = sqlx::PgConnection::connect_with(&app.db.superuser()).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM documents").fetch_one(&mut conn).await.unwrap();
    assert_eq!(n, 0);

    let none = app.upload_form("/documents/upload", &[("title", "Nothing")], Some(("file", "", "application/octet-stream", b""))).await;
    assert!(app.get(none.location().unwrap()).await.body.contains("Choose a file to upload."));
}

#[tokio::test]
async fn a_version_row_cannot_be_changed_or_removed_even_by_the_owner_of_the_schema() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let id = upload(&app, "Fixed", "", "f.txt", b"fixed").await;
    let mut owner = sqlx::PgConnection::connect_with(&app.db.targets.owner).await.unwrap();
    let tenant = app.db.tenant_id("acme").await;
    sqlx::query("SELECT set_config('steward.tenant_id', $1, false)").bind(tenant.to_string()).execute(&mut owner).await.unwrap();
    for sql in [
        "UPDATE document_versions SET note = 'rewritten' WHERE document_id = $1::uuid",
        "UPDATE document_versions SET sha256 = repeat('0', 64) WHERE document_id = $1::uuid",
        "DELETE FROM document_versions WHERE document_id = $1::uuid",
    ] {
        let error = sqlx::query(sql).bind(&id).execute(&mut owner).await.unwrap_err();
        assert!(error.to_string().contains("document versions are immutable"), "{sql}: {error}");
    }
    let note: String = sqlx::query_scalar("SELECT note FROM document_versions WHERE document_id = $1::uuid").bind(&id).fetch_one(&mut owner).await.unwrap();
    assert_eq!(note, "first draft");
}

#[tokio::test]
async fn another_tenants_document_is_a_404_and_support_staff_cannot_read_contents() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let id = upload(&app, "Acme secrets", "", "s.txt", b"secret plans").await;

    let gina = app.another_browser();
    gina.sign_in("globex", "gina@globex.test", PASSWORD).await;
    let (status, _, body) = gina.download(&format!("/documents/{id}/versions/1/download")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!String::from_utf8_lossy(&body).contains("secret"));
    assert_eq!(gina.get(&format!("/documents/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(gina.call("/api/get_document", &[("document_id", &id)]).await.status, StatusCode::NOT_FOUND);
    let versions = gina.upload_form(&format!("/documents/{id}/versions"), &[], Some(("file", "x.txt", "text/plain", b"overwrite"))).await;
    assert_eq!(versions.status, StatusCode::NOT_FOUND);

    // Support staff acting inside Acme: no document:read.
    let support = app.another_browser();
    support.sign_in("platform", "support@steward.test", PASSWORD).await;
    let entered = support.call("/api/act_in_tenant", &[("slug", "acme"), ("reason", "ticket 7")]).await;
    assert!(entered.status.is_success() || entered.status == StatusCode::SEE_OTHER, "{}", entered.body);
    let (status, _, body) = support.download(&format!("/documents/{id}/versions/1/download")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!String::from_utf8_lossy(&body).contains("secret"));

    // A member reads and writes but does not delete.
    let mark = app.another_browser();
    mark.sign_in("acme", "mark@acme.test", PASSWORD).await;
    assert_eq!(mark.download(&format!("/documents/{id}/versions/1/download")).await.2, b"secret plans");
    assert_eq!(mark.call("/api/delete_document", &[("document_id", &id)]).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn metadata_tags_and_title_are_searchable_and_edits_are_checked() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let id = upload(&app, "Quarterly report", "finance", "q.txt", b"numbers").await;
    upload(&app, "Holiday rota", "people", "rota.txt", b"who is off").await;

    let saved = app
        .call(
            "/api/update_document",
            &[("document_id", &id), ("version", "1"), ("title", "Quarterly report Q3"), ("tags", "finance, Board"),
              ("meta_key[]", "client"), ("meta_value[]", "Initech"), ("meta_key[]", ""), ("meta_value[]", "")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);

    let titles = |page: &str| -> Vec<String> {
        page.split("data-testid=\"document-row\"").skip(1).map(|row| row.split("</a>").next().unwrap().rsplit('>').next().unwrap().to_string()).collect()
    };
    assert_eq!(titles(&app.get("/documents?q=initech").await.body), ["Quarterly report Q3"], "found by a metadata value");
    assert_eq!(titles(&app.get("/documents?q=quartrly").await.body), ["Quarterly report Q3"], "found by a misspelt title");
    assert_eq!(titles(&app.get("/documents?tag=board").await.body), ["Quarterly report Q3"]);
    assert_eq!(titles(&app.get("/documents").await.body).len(), 2);
    assert_eq!(app.get("/documents?from=2026-13-01").await.status, StatusCode::OK);
    assert!(app.get("/documents?from=2026-13-01").await.body.contains("Give a date as YYYY-MM-DD."));

    // A stale version, a duplicate key and an empty title are refused.
    let stale = app.call("/api/update_document", &[("document_id", &id), ("version", "1"), ("title", "Other")]).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let twice = app
        .call("/api/update_document", &[("document_id", &id), ("version", "2"), ("title", "X"), ("meta_key[]", "a"), ("meta_value[]", "1"), ("meta_key[]", "a"), ("meta_value[]", "2")])
        .await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(twice.body.contains("The key \u{201c}a\u{201d} is there twice."), "{}", twice.body);
    let untitled = app.call("/api/update_document", &[("document_id", &id), ("version", "2"), ("title", " ")]).await;
    assert!(untitled.body.contains("Give the document a title."));

    let events = app.db.events("acme").await;
    let update = events.iter().find(|e| e.0 == "document.update").unwrap();
    assert_eq!(update.2["before"]["title"], "Quarterly report");
    assert_eq!(update.2["after"]["metadata"]["client"], "Initech");
    assert_eq!(update.2["after"]["tags"], serde_json::json!(["finance", "board"]));
}

#[tokio::test]
async fn a_deleted_document_leaves_the_list_takes_no_versions_and_can_be_restored() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let id = upload(&app, "Old policy", "", "p.txt", b"policy").await;
    assert_eq!(app.call("/api/delete_document", &[("document_id", &id)]).await.status, StatusCode::OK);
    assert!(app.get("/documents").await.has_testid("no-documents"));
    assert!(app.get("/documents?deleted=1").await.body.contains("Old policy"));
    let refused = app.upload_form(&format!("/documents/{id}/versions"), &[("note", "n")], Some(("file", "p2.txt", "text/plain", b"v2"))).await;
    let page = app.get(refused.location().unwrap()).await;
    assert!(page.body.contains("Restore the document first."), "{}", refused.location().unwrap());
    assert_eq!(app.call("/api/restore_document", &[("document_id", &id)]).await.status, StatusCode::OK);
    assert!(app.get("/documents").await.body.contains("Old policy"));
}

#[tokio::test]
async fn a_damaged_or_missing_blob_is_reported_not_served() {
    let app = TestApp::spawn().await;
    app.sign_in("acme", "olivia@acme.test", PASSWORD).await;
    let bytes = format!("fragile {}", uuid::Uuid::now_v7()).into_bytes();
    let id = upload(&app, "Fragile", "", "f.txt", &bytes).await;
    let path = app::documents::blobs::FsBlobStore::new(blob_dir()).unwrap().path_of(&sha(&bytes)).unwrap();
    let mut damaged = bytes.clone();
    damaged[0] ^= 1;
    std::fs::write(&path, &damaged).unwrap();
    let (status, _, body) = app.download(&format!("/documents/{id}/versions/1/download")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("no longer matches its checksum"), "{body}");
    assert!(!body.contains("ragile"));
    std::fs::remove_file(&path).unwrap();
    let (_, _, body) = app.download(&format!("/documents/{id}/versions/1/download")).await;
    assert!(String::from_utf8(body).unwrap().contains("is missing from storage"));
}
