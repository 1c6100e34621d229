//! API errors as RFC 9457 problem+json, with stable codes from one table.

use aigov_core::FieldError;
use aigov_store::StoreError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// Every error code the API returns: `(code, status, title)`. Codes are stable; clients may
/// match on them.
pub const CODES: &[(&str, u16, &str)] = &[
    ("bad-request", 400, "the request is malformed"),
    ("unauthenticated", 401, "authentication is required"),
    ("forbidden", 403, "your role does not allow this"),
    ("csrf-failed", 403, "the CSRF token is missing or wrong"),
    ("not-found", 404, "no such resource"),
    ("method-not-allowed", 405, "the method is not allowed here"),
    (
        "conflict",
        409,
        "the request conflicts with the current state",
    ),
    ("duplicate", 409, "a resource with this key exists"),
    (
        "gate-blocked",
        409,
        "a lifecycle stage gate blocks the move; `errors` lists what blocks it",
    ),
    (
        "version-conflict",
        412,
        "the resource changed since you read it",
    ),
    ("payload-too-large", 413, "the request body is too large"),
    (
        "unsupported-media-type",
        415,
        "the content type is not supported here",
    ),
    ("validation-failed", 422, "some fields are invalid"),
    (
        "precondition-required",
        428,
        "send If-Match with the version you read",
    ),
    ("login-locked", 429, "too many failed logins"),
    ("internal", 500, "internal error"),
    ("unavailable", 503, "the service is unavailable"),
];

/// A problem+json body.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// `https://aigov.dev/problems/<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong here.
    pub detail: String,
    /// Stable code (see the error table in the API description).
    pub code: String,
    /// Invalid fields, for 400 and 422.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

/// One invalid field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemField {
    /// The field (`name`, `line 4: system_type`, query parameter `limit`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An API error.
#[derive(Debug, Clone)]
pub struct ApiError {
    code: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `code` (must be in [`CODES`]).
    pub fn new(code: &'static str, detail: impl Into<String>) -> ApiError {
        debug_assert!(CODES.iter().any(|c| c.0 == code), "unknown code {code}");
        ApiError {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// 400 naming a field.
    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let message = message.into();
        let field = field.into();
        ApiError {
            code: "bad-request",
            detail: format!("{field}: {message}"),
            errors: vec![FieldError::new(field, message)],
            retry_after: None,
        }
    }

    /// 422 with field errors.
    pub fn invalid(errors: Vec<FieldError>) -> ApiError {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        ApiError {
            code: "validation-failed",
            detail,
            errors,
            retry_after: None,
        }
    }

    /// The code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// What went wrong, in words.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The invalid fields, for 400 and 422.
    pub fn field_errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// The HTTP status of the code.
    pub fn status(&self) -> StatusCode {
        let s = CODES
            .iter()
            .find(|c| c.0 == self.code)
            .map(|c| c.1)
            .unwrap_or(500);
        StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Not found.
    pub fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::new("not-found", what)
    }

    /// Forbidden.
    pub fn forbidden(what: impl Into<String>) -> ApiError {
        ApiError::new("forbidden", what)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let title = CODES
            .iter()
            .find(|c| c.0 == self.code)
            .map(|c| c.2)
            .unwrap_or("error");
        if status.is_server_error() {
            tracing::error!(code = self.code, detail = %self.detail, "request failed");
        }
        let body = Problem {
            kind: format!("https://aigov.dev/problems/{}", self.code),
            title: title.to_string(),
            status: status.as_u16(),
            detail: self.detail,
            code: self.code.to_string(),
            errors: self
                .errors
                .into_iter()
                .map(|e| ProblemField {
                    field: e.field,
                    message: e.message,
                })
                .collect(),
        };
        let mut r = (status, serde_json::to_string(&body).unwrap_or_default()).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound { .. } => ApiError::new("not-found", e.to_string()),
            StoreError::VersionConflict { .. } => ApiError::new("version-conflict", e.to_string()),
            StoreError::Invalid(inv) => ApiError::invalid(inv.0),
            StoreError::ImportRows(rows) => {
                let mut a = ApiError::invalid(rows);
                a.detail = format!(
                    "{} row error(s); nothing was imported: {}",
                    a.errors.len(),
                    a.detail
                );
                a
            }
            StoreError::Duplicate(m) => ApiError::new("duplicate", m),
            StoreError::Conflict(m) => ApiError::new("conflict", m),
            StoreError::GateBlocked(blockers) => {
                let detail = e_detail(&blockers);
                ApiError {
                    code: "gate-blocked",
                    detail,
                    errors: blockers
                        .into_iter()
                        .map(|b| FieldError::new(b.condition, b.message))
                        .collect(),
                    retry_after: None,
                }
            }
            StoreError::Locked { until } => {
                let mut a = ApiError::new(
                    "login-locked",
                    format!("too many failed logins; try again after {until}"),
                );
                a.retry_after = Some(aigov_store::users::LOCK_SECONDS as u64);
                a
            }
            StoreError::BadCredentials => {
                ApiError::new("unauthenticated", "invalid username or password")
            }
            StoreError::Unsupported(m) => ApiError::new("conflict", m),
            StoreError::Connect(_) | StoreError::Db(_) => {
                tracing::error!(error = %e, "database error");
                ApiError::new(
                    "unavailable",
                    "the database is unavailable or failed; see the server log",
                )
            }
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::new("internal", "internal error; see the server log")
            }
        }
    }
}

fn e_detail(b: &[aigov_core::records::Blocker]) -> String {
    format!(
        "the stage gate blocks the move: {}",
        b.iter()
            .map(|x| x.message.clone())
            .collect::<Vec<_>>()
            .join("; ")
    )
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
