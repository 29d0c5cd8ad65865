//! One error type for every server function, shared by server and browser.
//!
//! Database and internal details are logged on the server and never sent:
//! the browser gets the variant and a sentence a person can act on.

use serde::{Deserialize, Serialize};
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};

/// What went wrong, as a caller needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No signed-in user (HTTP 401).
    #[error("Please sign in to continue.")]
    Unauthenticated,
    /// Sign-in refused. One message for every reason, so that it never tells
    /// whether the organisation or the account exists (HTTP 401).
    #[error("Those details did not match an active account. Check the organisation, email and password.")]
    SignInFailed,
    /// Sign-in refused without checking the password: too many failures for
    /// the account name or from the address, until the wait is over (HTTP 429).
    #[error("Too many failed sign-ins. Try again in {wait}, or ask your administrator to unlock your account.")]
    TooManyAttempts { wait: String },
    /// Too many password checks are waiting already (HTTP 429): argon2's
    /// queue is bounded so that it cannot grow without end.
    #[error("Steward is checking many passwords just now. Try again in a few seconds.")]
    Busy,
    /// Signed in, but the user's roles do not grant this (HTTP 403).
    #[error("You do not have access to this.")]
    Forbidden,
    /// Refused for a stated reason, such as granting more than one holds (HTTP 403).
    #[error("{0}")]
    Refused(String),
    /// Not found, or in another tenant: nothing says which (HTTP 404).
    #[error("Not found.")]
    NotFound,
    /// Input that cannot be accepted, field by field (HTTP 422).
    #[error("Please correct the highlighted fields.")]
    Validation(Vec<FieldError>),
    /// A write over a newer version, or a rule that forbids the change (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached, or what the action needs stayed
    /// locked too long (HTTP 503).
    #[error("Steward's database cannot answer just now. Try again in a moment.")]
    Unavailable,
    /// Anything else; the details are in the server log (HTTP 500).
    #[error("Something went wrong on our side. It has been logged.")]
    Internal,
    /// Input the database cannot hold, such as a NUL character or a number
    /// out of range, caught where no field check saw it (HTTP 400).
    #[error("{0}")]
    BadInput(String),
    /// The request itself failed (network, encoding) before reaching the code.
    #[error("The request failed: {0}")]
    Transport(String),
}

/// A message that belongs next to one form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl AppError {
    /// The HTTP status that API callers receive.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::SignInFailed => 401,
            AppError::TooManyAttempts { .. } | AppError::Busy => 429,
            AppError::Forbidden | AppError::Refused(_) => 403,
            AppError::NotFound => 404,
            AppError::Validation(_) => 422,
            AppError::Conflict(_) => 409,
            AppError::Unavailable => 503,
            AppError::Internal => 500,
            AppError::Transport(_) | AppError::BadInput(_) => 400,
        }
    }

    /// The message for one field, when this is a validation error.
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            AppError::Validation(errors) => errors
                .iter()
                .find(|e| e.field == name)
                .map(|e| e.message.clone()),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                AppError::Conflict(unique_violation_message(db.constraint().unwrap_or_default()).to_string())
            }
            sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22")) => {
                // Class 22, data exception: the input, not Steward, is at fault.
                tracing::info!(%error, "input the database refused");
                AppError::BadInput(match db.code().as_deref() {
                    Some("22021") | Some("22P05") => "The text contains a character that cannot be stored (such as a NUL). Remove it and try again.".into(),
                    Some("22001") => "A value is longer than can be stored. Shorten it and try again.".into(),
                    Some("22003") => "A number is out of range.".into(),
                    _ => "A value is not in a form that can be stored. Check it and try again.".into(),
                })
            }
            // The plan's limit of people (SL001) or of document storage
            // (SL002), kept by the database on every path that adds either
            // (migration 0026): its sentence says what to do.
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("SL001" | "SL002")) => AppError::Conflict(db.message().to_string()),
            // A lock held too long by someone else (`lock_timeout`), a
            // deadlock broken by PostgreSQL, a serialisation failure: the
            // same action may well succeed when tried again.
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("55P03" | "40P01" | "40001")) => {
                tracing::warn!(%error, "database busy");
                AppError::Unavailable
            }
            // The server going away: shut down by its operator or crashed
            // (57P01, 57P02), still starting or in crash recovery (57P03), a
            // connection lost (class 08). The next try reaches it again. A
            // protocol violation (08P01) is a bug, and a dropped database
            // (57P04) does not come back: those stay 500s. (A connection
            // lost during COMMIT leaves its outcome unknown, as any lost
            // answer does; every form shows the state after a reload.)
            sqlx::Error::Database(db)
                if db.code().is_some_and(|c| matches!(c.as_ref(), "57P01" | "57P02" | "57P03") || (c.starts_with("08") && c != "08P01")) =>
            {
                tracing::error!(%error, "database unavailable");
                AppError::Unavailable
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::error!(%error, "database unavailable");
                AppError::Unavailable
            }
            _ => {
                tracing::error!(%error, "database error");
                AppError::Internal
            }
        }
    }
}

/// A unique violation told in the caller's own words (restoring a record
/// whose name is now taken, say); any other error as usual.
#[cfg(feature = "ssr")]
pub fn on_conflict(error: sqlx::Error, message: &str) -> AppError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => AppError::Conflict(message.into()),
        _ => AppError::from(error),
    }
}

/// What a person is told when a write collides with a unique constraint.
pub fn unique_violation_message(constraint: &str) -> &'static str {
    match constraint {
        "users_email_live_key" => "That email address is already used in this organisation.",
        "tenants_slug_live_key" => "That short name is already taken by another organisation.",
        "tenants_one_platform_key" => "There is already a platform tenant.",
        "roles_name_live_key" => "A role with that name already exists.",
        "teams_name_live_key" => "A team with that name already exists.",
        _ => "That already exists.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_round_trip_through_the_server_function_encoding() {
        let error = AppError::Validation(vec![FieldError {
            field: "email".into(),
            message: "Enter an email address.".into(),
        }]);
        let back = AppError::de(error.ser());
        assert_eq!(back, error);
        assert_eq!(back.field("email").as_deref(), Some("Enter an email address."));
        assert_eq!(back.field("name"), None);
    }

    #[test]
    fn sign_in_failure_names_no_reason() {
        let message = AppError::SignInFailed.to_string();
        assert!(!message.to_lowercase().contains("not found"));
        assert!(!message.to_lowercase().contains("wrong password"));
        assert_eq!(AppError::SignInFailed.status(), 401);
    }
}

impl AppError {
    /// A refusal of what was typed in one field, shown beside it.
    pub fn invalid(field: &str, message: &str) -> AppError {
        AppError::Validation(vec![FieldError { field: field.into(), message: message.into() }])
    }
}

/// A unique violation as a message beside `field`; anything else as usual
/// (a plan's limit, say, is about the whole form, not one field).
#[cfg(feature = "ssr")]
pub fn field_conflict(error: sqlx::Error, field: &str) -> AppError {
    let unique = matches!(&error, sqlx::Error::Database(db) if db.is_unique_violation());
    let error = AppError::from(error);
    if unique { error.beside(field) } else { error }
}

impl AppError {
    /// A conflict (a unique value taken) as a message beside `field` of the
    /// form; any other error unchanged.
    pub fn beside(self, field: &str) -> AppError {
        match self {
            AppError::Conflict(message) => AppError::Validation(vec![FieldError { field: field.into(), message }]),
            other => other,
        }
    }
}


/// An error as an HTTP answer: its status, the sentence a person can act on
/// as plain text, and `Retry-After` when trying again later will help. The
/// plain handlers (uploads, downloads, exports) return it with `?`.
#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        use axum::http::{header, HeaderValue, StatusCode};
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], self.to_string()).into_response();
        if let Some(seconds) = self.retry_after() {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl AppError {
    /// Seconds after which the same request may well succeed, for the
    /// answers that say "try again" without a time of their own.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            AppError::Unavailable => Some(2),
            AppError::Busy => Some(1),
            _ => None,
        }
    }
}

/// An error as the JSON API answers it:
/// `{"error": {"status", "message", "fields"?}}`.
#[cfg(feature = "ssr")]
pub struct ApiError(pub AppError);

#[cfg(feature = "ssr")]
impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        ApiError(error)
    }
}

#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        use axum::http::{header, HeaderValue, StatusCode};
        let e = self.0;
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = serde_json::json!({ "error": { "status": status.as_u16(), "message": e.to_string() } });
        if let AppError::Validation(fields) = &e {
            body["error"]["fields"] = fields.iter().map(|f| serde_json::json!({ "field": f.field, "message": f.message })).collect();
        }
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(seconds) = e.retry_after() {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
