//! `/api/v1/incidents`: incidents with timelines, reporting deadlines, root causes and the
//! close-out review.

use aigov_core::access::Perm;
use aigov_core::records::{Incident, Risk};
use aigov_core::risk::{CloseOut, IncidentInput, IncidentStatus, RiskInput};
use aigov_store::incidents::IncidentQuery;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{IfMatch, Json, Principal, Query};

use super::versioned;

fn incident_response(status: StatusCode, i: &Incident) -> Response {
    let mut r = versioned(status, i, i.version);
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&format!("/api/v1/incidents/{}", i.id))
    {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Incident filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IncidentParams {
    /// open, contained, resolved, closed.
    pub status: Option<String>,
    /// Only incidents not closed.
    pub open: Option<bool>,
    /// Only incidents affecting this system (id or ref).
    pub system: Option<String>,
    /// Only incidents past their reporting deadline and not reported.
    pub reporting_overdue: Option<bool>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// Skipped.
    pub offset: Option<i64>,
}

/// A page of incidents.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentPage {
    /// The incidents (without timelines; read one for its timeline).
    pub items: Vec<Incident>,
    /// Matching incidents on all pages.
    pub total: i64,
    /// Page size.
    pub limit: i64,
    /// Skipped.
    pub offset: i64,
}

/// Incidents, newest detection first.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(IncidentParams), responses((status = 200, body = IncidentPage), (status = 400, body = Problem)))]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Query<IncidentParams>,
) -> ApiResult<axum::Json<IncidentPage>> {
    p.require(Perm::RiskRead)?;
    let (limit, offset) = super::page(q.limit, q.offset)?;
    let status = match &q.status {
        None => None,
        Some(x) => Some(IncidentStatus::parse(x).ok_or_else(|| {
            ApiError::bad_field(
                "status",
                format!(
                    "unknown value {x:?} (expected one of {})",
                    IncidentStatus::expected()
                ),
            )
        })?),
    };
    let iq = IncidentQuery {
        status,
        system: q.system,
        open: q.open.unwrap_or(false),
        reporting_overdue: q.reporting_overdue.unwrap_or(false),
        limit,
        offset,
    };
    let (items, total) = s.store.list_incidents(&iq).await?;
    Ok(axum::Json(IncidentPage {
        items,
        total,
        limit,
        offset,
    }))
}

/// Record an incident; its reporting deadline follows from its severity.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = IncidentInput,
    responses((status = 201, body = Incident), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<AppState>,
    p: Principal,
    Json(b): Json<IncidentInput>,
) -> ApiResult<Response> {
    p.require(Perm::IncidentWrite)?;
    Ok(incident_response(
        StatusCode::CREATED,
        &s.store.create_incident(&p.actor(), &s.rules, b).await?,
    ))
}

/// One incident with its timeline and evidence.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents", params(("id" = String, Path, description = "Incident id or ref (INC-n)")),
    responses((status = 200, body = Incident), (status = 404, body = Problem)))]
pub async fn get(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    p.require(Perm::RiskRead)?;
    Ok(incident_response(
        StatusCode::OK,
        &s.store.get_incident(&id).await?,
    ))
}

/// Edit an open incident with a JSON merge patch (If-Match required).
#[utoipa::path(patch, path = "/api/v1/incidents/{id}", tag = "incidents", request_body(content = Object, description = "JSON merge patch of the incident's fields"),
    params(("id" = String, Path, description = "Incident id or ref"), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = Incident), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Json(b): Json<Value>,
) -> ApiResult<Response> {
    p.require(Perm::IncidentWrite)?;
    if !b.is_object() {
        return Err(ApiError::bad_field(
            "body",
            "must be a JSON object (a JSON merge patch)",
        ));
    }
    Ok(incident_response(
        StatusCode::OK,
        &s.store
            .update_incident(&p.actor(), &s.rules, &id, b, v)
            .await?,
    ))
}

/// A timeline entry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelineInput {
    /// When it happened (RFC 3339; default now).
    #[serde(default)]
    pub at: Option<String>,
    /// What happened.
    pub entry: String,
}

/// Add a timeline entry.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/timeline", tag = "incidents", request_body = TimelineInput, params(("id" = String, Path, description = "Incident id or ref")),
    responses((status = 201, body = Incident), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_timeline(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Json(b): Json<TimelineInput>,
) -> ApiResult<Response> {
    p.require(Perm::IncidentWrite)?;
    Ok(incident_response(
        StatusCode::CREATED,
        &s.store
            .add_timeline(&p.actor(), &id, b.at.as_deref(), &b.entry)
            .await?,
    ))
}

/// Close an incident with its close-out review (If-Match required).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/close", tag = "incidents", request_body = CloseOut,
    params(("id" = String, Path, description = "Incident id or ref"), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = Incident), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn close(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Json(b): Json<CloseOut>,
) -> ApiResult<Response> {
    p.require(Perm::IncidentWrite)?;
    Ok(incident_response(
        StatusCode::OK,
        &s.store.close_incident(&p.actor(), &id, b, v).await?,
    ))
}

/// Why an incident is reopened.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reopen {
    /// Why.
    pub reason: String,
}

/// Reopen a closed incident (If-Match required).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/reopen", tag = "incidents", request_body = Reopen,
    params(("id" = String, Path, description = "Incident id or ref"), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = Incident), (status = 409, body = Problem), (status = 412, body = Problem)))]
pub async fn reopen(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Json(b): Json<Reopen>,
) -> ApiResult<Response> {
    p.require(Perm::IncidentWrite)?;
    Ok(incident_response(
        StatusCode::OK,
        &s.store
            .reopen_incident(&p.actor(), &id, &b.reason, v)
            .await?,
    ))
}

/// A new risk as an incident's root cause.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RootCauseRisk {
    /// The system the risk belongs to (id or ref).
    pub system: String,
    /// The risk.
    pub risk: RiskInput,
}

/// An incident and the risk registered as its root cause.
#[derive(Debug, Serialize, ToSchema)]
pub struct RootCauseLinked {
    /// The incident.
    pub incident: Incident,
    /// The new risk.
    pub risk: Risk,
}

/// Register a new risk as the root cause of an incident and link it (existing risks are
/// linked through `root_cause_risks` in a PATCH).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/root-cause-risk", tag = "incidents", request_body = RootCauseRisk, params(("id" = String, Path, description = "Incident id or ref")),
    responses((status = 201, body = RootCauseLinked), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn root_cause_risk(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Json(b): Json<RootCauseRisk>,
) -> ApiResult<(StatusCode, axum::Json<RootCauseLinked>)> {
    p.require(Perm::IncidentWrite)?;
    p.require(Perm::RiskWrite)?;
    let lib = s.library().await;
    let (incident, risk) = s
        .store
        .root_cause_new_risk(&p.actor(), &lib, &id, &b.system, b.risk)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(RootCauseLinked { incident, risk }),
    ))
}
