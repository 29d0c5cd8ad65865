//! Server functions of the documents area (uploads and downloads are axum
//! handlers: see `transfer`).

use super::{DocDetail, DocList, DocQuery};
use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

/// One page of documents, filtered. Needs `document:read`.
#[server(endpoint = "list_documents")]
pub async fn list_documents(query: DocQuery) -> Result<DocList, AppError> {
    crate::ssr::respond(super::ssr::list(query).await)
}

/// A document with its versions and history. Needs `document:read`.
#[server(endpoint = "get_document")]
pub async fn get_document(document_id: Uuid) -> Result<DocDetail, AppError> {
    crate::ssr::respond(super::ssr::detail(document_id).await)
}

/// Saves a document's title, tags (comma-separated) and metadata (pairs
/// of `meta_key[]` and `meta_value[]`) over the version the form showed.
/// Needs `document:write`.
#[server(endpoint = "update_document")]
pub async fn update_document(
    document_id: Uuid,
    version: i32,
    title: String,
    tags: Option<String>,
    meta_key: Option<Vec<String>>,
    meta_value: Option<Vec<String>>,
) -> Result<(), AppError> {
    let tags = tags.unwrap_or_default();
    let (keys, values) = (meta_key.unwrap_or_default(), meta_value.unwrap_or_default());
    let result = super::ssr::update(document_id, version, &title, &tags, &keys, &values).await;
    crate::ssr::respond_form(result, &[("title", &title), ("tags", &tags)], "Document saved.")
}

/// Deletes a document (soft: it can be restored). Needs `document:delete`.
#[server(endpoint = "delete_document")]
pub async fn delete_document(document_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::set_deleted(document_id, true).await, &[], "Document deleted.")
}

/// Restores a deleted document. Needs `document:delete`.
#[server(endpoint = "restore_document")]
pub async fn restore_document(document_id: Uuid) -> Result<(), AppError> {
    crate::ssr::respond_form(super::ssr::set_deleted(document_id, false).await, &[], "Document restored.")
}
