//! `/healthz`: liveness and database reachability, without authentication.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

/// Health.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: String,
    /// aigov version.
    pub version: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// Schema version.
    pub schema: Option<i64>,
}

/// Liveness and database reachability (no authentication).
#[utoipa::path(get, path = "/healthz", tag = "health", security(()),
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn healthz(State(s): State<AppState>) -> (StatusCode, axum::Json<Health>) {
    let schema = s.store.schema_version().await.ok();
    let status = if schema.is_some() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(Health {
            status: if schema.is_some() { "ok" } else { "degraded" }.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            database: s.store.backend().as_str().into(),
            schema,
        }),
    )
}
