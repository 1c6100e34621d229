//! The REST API under `/api/v1`, one module per resource.

pub mod audit;
pub mod catalogs;
pub mod evidence;
pub mod governance;
pub mod health;
pub mod incidents;
pub mod inventory;
pub mod links;
pub mod reports;
pub mod risks;
pub mod tokens;
pub mod users;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A JSON response with the ETag of `version`.
pub fn versioned<T: serde::Serialize>(status: StatusCode, body: &T, version: i64) -> Response {
    let mut r = (status, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&crate::extract::etag(version)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

/// Checks `limit` (1–500, default 50) and `offset` (≥ 0, default 0).
pub fn page(limit: Option<i64>, offset: Option<i64>) -> crate::error::ApiResult<(i64, i64)> {
    let limit = limit.unwrap_or(50);
    if !(1..=inventory::MAX_LIMIT).contains(&limit) {
        return Err(crate::error::ApiError::bad_field(
            "limit",
            format!("must be between 1 and {}", inventory::MAX_LIMIT),
        ));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(crate::error::ApiError::bad_field(
            "offset",
            "must not be negative",
        ));
    }
    Ok((limit, offset))
}

/// Parses an enumerated body field, or 422 naming it and the accepted values.
pub(crate) fn parse_field<T>(
    field: &str,
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
    expected: String,
) -> crate::error::ApiResult<T> {
    parse(value).ok_or_else(|| {
        crate::error::ApiError::invalid(vec![aigov_core::FieldError::new(
            field,
            format!("must be one of {expected}"),
        )])
    })
}
