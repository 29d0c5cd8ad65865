//! The JSON API for integration developers: `/api/v1`, authenticated by API
//! keys only (`Authorization: Bearer stw_…`, never the session cookie, so a
//! page of another site cannot drive it), authorised and audited through
//! the same `Caller::require` as every server function, and described at
//! `/api/v1/openapi.json`.

use app::auth::api_key::{principal, KeyRefusal};
use app::auth::ssr::CurrentUser;
use app::authz::ssr::Caller;
use app::authz::Perm;
use app::error::{ApiError, AppError};
use app::ssr::AppState;
use app::users::ssr as users;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

/// The most rows one page gives.
pub const MAX_LIMIT: i64 = 200;

/// The routes under `/api/v1`.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}", get(get_user))
        .route("/invitations", axum::routing::post(invite))
        .route("/teams", get(list_teams))
        .route("/documents", get(list_documents))
        .route("/audit-events", get(list_events))
        .layer(middleware::from_fn_with_state(state, key_auth))
        .route("/openapi.json", get(openapi))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "There is no such API route. See /api/v1/openapi.json.") })
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": { "status": status.as_u16(), "message": message } }))).into_response()
}

/// An application error as the API's error body.
fn app_error(e: AppError) -> Response {
    ApiError(e).into_response()
}

/// Replaces whatever the session said with the key's principal, or answers
/// 401 saying what is wrong with the key.
async fn key_auth(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let refusal = match presented {
        None => Err(KeyRefusal::Missing),
        Some(key) => match principal(&state, key).await {
            Ok(found) => found,
            Err(e) => return app_error(e),
        },
    };
    match refusal {
        Ok((me, key_id)) => {
            req.extensions_mut().insert(CurrentUser(Some(me)));
            req.extensions_mut().insert(KeyId(key_id));
            let mut response = next.run(req).await;
            response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            response
        }
        Err(why) => {
            let mut response = error(StatusCode::UNAUTHORIZED, why.message());
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer realm=\"steward\""));
            response
        }
    }
}

/// The key a request came with.
#[derive(Clone, Copy)]
struct KeyId(Uuid);

/// What a handler answers: its response, or the error response that cut it
/// short (so each step can end with `?`).
type Answer = Result<Response, Response>;

/// What every handler starts with: the key's principal, authorised for `perm`.
async fn actor(state: &AppState, headers: &HeaderMap, extensions: &axum::http::Extensions, perm: Perm) -> Result<app::authz::ssr::Actor, Response> {
    let mut caller = Caller::of(state, headers, extensions);
    if let Some(KeyId(id)) = extensions.get::<KeyId>() {
        // Events of API calls name the key in place of a browser.
        let agent = format!("api key {id}; {}", caller.meta().user_agent.as_deref().unwrap_or_default()).chars().take(512).collect();
        caller.set_user_agent(agent);
    }
    caller.require(perm).await.map_err(app_error)
}

#[derive(Deserialize)]
struct Page {
    after: Option<String>,
    limit: Option<i64>,
}

impl Page {
    fn limit(&self) -> Result<i64, Response> {
        match self.limit {
            None => Ok(50),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(error(StatusCode::UNPROCESSABLE_ENTITY, "limit must be 1 to 200.")),
        }
    }

    /// The `after` cursor parsed as `T`, or a 422 saying what it must be.
    fn after<T: std::str::FromStr>(&self, what: &str) -> Result<Option<T>, Response> {
        self.after
            .as_deref()
            .map(str::parse::<T>)
            .transpose()
            .map_err(|_| error(StatusCode::UNPROCESSABLE_ENTITY, &format!("after must be {what} from the previous page's next.")))
    }
}

/// Rows fetched with `LIMIT limit + 1` as a page: its items, and the cursor
/// of the next one when there is more.
fn page_of<T>(mut rows: Vec<T>, limit: i64, cursor: impl Fn(&T) -> String, item: impl Fn(T) -> Value) -> Response {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = if more { rows.last().map(cursor) } else { None };
    let items: Vec<Value> = rows.into_iter().map(item).collect();
    Json(json!({ "items": items, "next": next })).into_response()
}

fn rfc3339(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| json!(t.to_rfc3339())).unwrap_or(Value::Null)
}

/// `GET /api/v1/users?after=<email>&limit=`: live users by email.
async fn list_users(State(state): State<AppState>, Query(page): Query<Page>, req: Request) -> Answer {
    let mut actor = actor(&state, req.headers(), req.extensions(), Perm::UserRead).await?;
    let limit = page.limit()?;
    let rows = users::records_after(&mut actor, page.after.as_deref(), limit + 1).await.map_err(app_error)?;
    actor.commit().await.map_err(app_error)?;
    Ok(page_of(rows, limit, |r| r.email.to_lowercase(), |u| {
        json!({ "id": u.id, "email": u.email, "display_name": u.display_name, "status": u.status, "created_at": rfc3339(Some(u.created_at)), "last_login_at": rfc3339(u.last_login_at) })
    }))
}

/// `GET /api/v1/users/{id}`: one user, with their roles and teams.
async fn get_user(State(state): State<AppState>, Path(id): Path<String>, req: Request) -> Answer {
    let mut actor = actor(&state, req.headers(), req.extensions(), Perm::UserRead).await?;
    let not_found = || error(StatusCode::NOT_FOUND, "Not found.");
    let id = id.parse::<app::ids::UserId>().map_err(|_| not_found())?;
    let (user, roles, teams) = users::record_of(&mut actor, id).await.map_err(app_error)?.ok_or_else(not_found)?;
    actor.commit().await.map_err(app_error)?;
    let named = |rows: Vec<users::Named>| rows.into_iter().map(|r| json!({ "id": r.id, "name": r.name })).collect::<Vec<_>>();
    Ok(Json(json!({
        "id": user.id, "email": user.email, "display_name": user.display_name, "status": user.status,
        "created_at": rfc3339(Some(user.created_at)), "last_login_at": rfc3339(user.last_login_at),
        "roles": named(roles),
        "teams": named(teams),
    }))
    .into_response())
}

#[derive(Deserialize)]
struct NewUser {
    email: String,
    display_name: String,
}

/// `POST /api/v1/users` `{"email", "display_name"}`: creates a user with a
/// temporary password (returned once, to be changed at first sign-in);
/// recorded like the console's own.
async fn create_user(State(state): State<AppState>, req: Request) -> Answer {
    let (parts, body) = req.into_parts();
    // Authorised first; the temporary password is then hashed with no
    // transaction open, and the write authorises again.
    drop(actor(&state, &parts.headers, &parts.extensions, Perm::UserCreate).await?);
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| error(StatusCode::PAYLOAD_TOO_LARGE, "The body is over 64 KB."))?;
    let new: NewUser = serde_json::from_slice(&bytes)
        .map_err(|e| error(StatusCode::UNPROCESSABLE_ENTITY, &format!("The body must be JSON with email and display_name: {e}.")))?;
    let password = app::users::ssr::new_password(&new.email, None).await.map_err(app_error)?;
    let mut actor = actor(&state, &parts.headers, &parts.extensions, Perm::UserCreate).await?;
    let created = app::users::ssr::create_in(&mut actor, &new.email, &new.display_name, password).await.map_err(app_error)?;
    actor.commit().await.map_err(app_error)?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/users/{}", created.id))],
        Json(json!({ "id": created.id, "temporary_password": created.temporary_password })),
    )
        .into_response())
}

#[derive(Deserialize)]
struct NewInvitation {
    email: String,
    display_name: String,
    #[serde(default)]
    role_id: Option<Uuid>,
    #[serde(default)]
    team_id: Option<Uuid>,
}

/// `POST /api/v1/invitations` `{"email", "display_name", "role_id"?,
/// "team_id"?}`: invites someone as the console's Invite page does (a
/// pending account and a mailed link to choose a password), under the same
/// permissions and the delegation rule; answers the pending user's id.
async fn invite(State(state): State<AppState>, req: Request) -> Answer {
    let (parts, body) = req.into_parts();
    let mut actor = actor(&state, &parts.headers, &parts.extensions, Perm::UserCreate).await?;
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| error(StatusCode::PAYLOAD_TOO_LARGE, "The body is over 64 KB."))?;
    let new: NewInvitation = serde_json::from_slice(&bytes).map_err(|e| {
        error(StatusCode::UNPROCESSABLE_ENTITY, &format!("The body must be JSON with email and display_name, and optionally role_id and team_id: {e}."))
    })?;
    let base = state.link_base(Some(&parts.headers)).map_err(app_error)?;
    let id = users::invite_in(&mut actor, &base, &new.email, &new.display_name, new.role_id, new.team_id).await.map_err(app_error)?;
    actor.commit().await.map_err(app_error)?;
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/api/v1/users/{id}"))], Json(json!({ "id": id, "status": "pending" }))).into_response())
}

/// `GET /api/v1/teams`: live teams by name, with member counts.
async fn list_teams(State(state): State<AppState>, req: Request) -> Answer {
    let mut actor = actor(&state, req.headers(), req.extensions(), Perm::TeamRead).await?;
    let rows = app::teams::ssr::records(&mut actor).await.map_err(app_error)?;
    actor.commit().await.map_err(app_error)?;
    let items: Vec<Value> =
        rows.into_iter().map(|t| json!({ "id": t.id, "name": t.name, "description": t.description, "members": t.members })).collect();
    Ok(Json(json!({ "items": items })).into_response())
}

/// `GET /api/v1/documents?after=<id>&limit=`: live documents, newest first.
async fn list_documents(State(state): State<AppState>, Query(page): Query<Page>, req: Request) -> Answer {
    let mut actor = actor(&state, req.headers(), req.extensions(), Perm::DocumentRead).await?;
    let limit = page.limit()?;
    let after: Option<Uuid> = page.after("a document id")?;
    let rows = app::documents::ssr::records_after(&mut actor, after, limit + 1).await.map_err(app_error)?;
    actor.commit().await.map_err(app_error)?;
    Ok(page_of(rows, limit, |d| d.id.to_string(), |d| {
        json!({ "id": d.id, "title": d.title, "file_name": d.file_name, "content_type": d.content_type, "size_bytes": d.size_bytes, "version": d.current_version, "tags": d.tags, "updated_at": rfc3339(Some(d.updated_at)) })
    }))
}

/// `GET /api/v1/audit-events?after=<seq>&limit=`: the tenant's events in
/// chain order, for feeding a SIEM.
async fn list_events(State(state): State<AppState>, Query(page): Query<Page>, req: Request) -> Answer {
    let mut actor = actor(&state, req.headers(), req.extensions(), Perm::AuditRead).await?;
    let limit = page.limit()?;
    let after: i64 = page.after("a sequence number")?.unwrap_or(0);
    let rows = app::audit::ssr::chained_after(&mut actor, after, limit + 1).await.map_err(app_error)?;
    actor.commit().await.map_err(app_error)?;
    Ok(page_of(rows, limit, |e| e.seq.to_string(), |e| {
        json!({ "seq": e.seq, "id": e.id, "occurred_at": rfc3339(Some(e.occurred_at)), "action": e.action, "entity_type": e.entity_type, "entity_id": e.entity_id, "actor_user_id": e.actor_user_id, "changes": e.changes })
    }))
}

/// `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of this API.
async fn openapi() -> Response {
    Json(openapi_document()).into_response()
}

/// The OpenAPI document (also checked by a test against the routes).
pub fn openapi_document() -> Value {
    let page_params = json!([
        { "name": "after", "in": "query", "required": false, "schema": { "type": "string" }, "description": "The previous page's `next`." },
        { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50 } }
    ]);
    let errors = json!({
        "401": { "$ref": "#/components/responses/Unauthorized" },
        "403": { "$ref": "#/components/responses/Forbidden" },
        "422": { "$ref": "#/components/responses/Invalid" }
    });
    let list = |summary: &str, scope: &str, item: &str| {
        let mut responses = errors.clone();
        responses["200"] = json!({ "description": "A page", "content": { "application/json": { "schema": {
            "type": "object", "properties": { "items": { "type": "array", "items": { "$ref": format!("#/components/schemas/{item}") } }, "next": { "type": ["string", "null"] } }
        } } } });
        json!({ "summary": summary, "description": format!("Needs the `{scope}` scope."), "parameters": page_params.clone(), "responses": responses })
    };
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Steward API", "version": "1", "description": "Authenticate with an API key made in the console (your name → API keys): `Authorization: Bearer stw_…`. A key acts as its maker, limited to its scopes. Records of other tenants do not exist for it (404). Every write is in the audit log." },
        "servers": [{ "url": "/api/v1" }],
        "security": [{ "apiKey": [] }],
        "paths": {
            "/users": {
                "get": list("Live users by email", "user:read", "User"),
                "post": {
                    "summary": "Create a user with a temporary password",
                    "description": "Needs the `user:create` scope. The temporary password is returned once and must be changed at the first sign-in.",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewUser" } } } },
                    "responses": {
                        "201": { "description": "Created", "content": { "application/json": { "schema": { "type": "object", "properties": { "id": { "type": "string", "format": "uuid" }, "temporary_password": { "type": "string" } } } } } },
                        "401": { "$ref": "#/components/responses/Unauthorized" },
                        "403": { "$ref": "#/components/responses/Forbidden" },
                        "409": { "$ref": "#/components/responses/Invalid" },
                        "422": { "$ref": "#/components/responses/Invalid" }
                    }
                }
            },
            "/users/{id}": {
                "get": {
                    "summary": "One user with roles and teams",
                    "description": "Needs the `user:read` scope.",
                    "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }],
                    "responses": {
                        "200": { "description": "The user", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/User" } } } },
                        "401": { "$ref": "#/components/responses/Unauthorized" },
                        "403": { "$ref": "#/components/responses/Forbidden" },
                        "404": { "$ref": "#/components/responses/NotFound" }
                    }
                }
            },
            "/invitations": {
                "post": {
                    "summary": "Invite someone by email",
                    "description": "Needs the `user:create` scope, plus `role:assign` for a role and `team:manage` for a team; nobody may give roles beyond their own. The person is pending until they choose a password with the mailed link (it works once, for 7 days).",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewInvitation" } } } },
                    "responses": {
                        "201": { "description": "Invited", "content": { "application/json": { "schema": { "type": "object", "properties": { "id": { "type": "string", "format": "uuid" }, "status": { "type": "string", "enum": ["pending"] } } } } } },
                        "401": { "$ref": "#/components/responses/Unauthorized" },
                        "403": { "$ref": "#/components/responses/Forbidden" },
                        "409": { "$ref": "#/components/responses/Invalid" },
                        "422": { "$ref": "#/components/responses/Invalid" }
                    }
                }
            },
            "/teams": { "get": list("Live teams by name", "team:read", "Team") },
            "/documents": { "get": list("Live documents, newest first", "document:read", "Document") },
            "/audit-events": { "get": list("The audit log in chain order", "audit:read", "AuditEvent") }
        },
        "components": {
            "securitySchemes": { "apiKey": { "type": "http", "scheme": "bearer", "bearerFormat": "stw_<tenant id>_<secret>" } },
            "responses": {
                "Unauthorized": { "description": "No key, or a malformed, unknown, revoked or expired one", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "Forbidden": { "description": "The key's scopes (or its maker's roles) do not allow this", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "NotFound": { "description": "No such record in the key's tenant", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "Invalid": { "description": "The input cannot be accepted", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            },
            "schemas": {
                "Error": { "type": "object", "properties": { "error": { "type": "object", "properties": {
                    "status": { "type": "integer" }, "message": { "type": "string" },
                    "fields": { "type": "array", "items": { "type": "object", "properties": { "field": { "type": "string" }, "message": { "type": "string" } } } }
                } } } },
                "NewUser": { "type": "object", "required": ["email", "display_name"], "properties": { "email": { "type": "string", "format": "email", "maxLength": 254 }, "display_name": { "type": "string", "maxLength": 200 } } },
                "NewInvitation": { "type": "object", "required": ["email", "display_name"], "properties": { "email": { "type": "string", "format": "email", "maxLength": 254 }, "display_name": { "type": "string", "maxLength": 200 }, "role_id": { "type": "string", "format": "uuid" }, "team_id": { "type": "string", "format": "uuid" } } },
                "User": { "type": "object", "properties": {
                    "id": { "type": "string", "format": "uuid" }, "email": { "type": "string" }, "display_name": { "type": "string" },
                    "status": { "type": "string", "enum": ["pending", "active", "suspended", "inactive"] },
                    "created_at": { "type": "string", "format": "date-time" }, "last_login_at": { "type": ["string", "null"], "format": "date-time" }
                } },
                "Team": { "type": "object", "properties": { "id": { "type": "string", "format": "uuid" }, "name": { "type": "string" }, "description": { "type": "string" }, "members": { "type": "integer" } } },
                "Document": { "type": "object", "properties": {
                    "id": { "type": "string", "format": "uuid" }, "title": { "type": "string" }, "file_name": { "type": "string" }, "content_type": { "type": "string" },
                    "size_bytes": { "type": "integer" }, "version": { "type": "integer" }, "tags": { "type": "array", "items": { "type": "string" } }, "updated_at": { "type": "string", "format": "date-time" }
                } },
                "AuditEvent": { "type": "object", "properties": {
                    "seq": { "type": "integer" }, "id": { "type": "string", "format": "uuid" }, "occurred_at": { "type": "string", "format": "date-time" },
                    "action": { "type": "string" }, "entity_type": { "type": ["string", "null"] }, "entity_id": { "type": ["string", "null"] },
                    "actor_user_id": { "type": ["string", "null"], "format": "uuid" }, "changes": { "type": "object" }
                } }
            }
        }
    })
}
