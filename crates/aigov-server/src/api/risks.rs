//! The "assess" and "respond" steps: the risk register, assessments, treatment, controls,
//! action items, acceptances, overdue work and the dashboard.

use aigov_core::access::Perm;
use aigov_core::inventory::ObjectKind;
use aigov_core::records::{Acceptance, Action, Assessment, Control, Risk};
use aigov_core::risk::{
    ActionInput, AssessmentInput, ControlInput, RiskInput, RiskStatus, Treatment,
};
use aigov_core::{FieldError, Timestamp};
use aigov_store::risks::{Overdue, RiskQuery};
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

fn risk_response(status: StatusCode, r: &Risk) -> Response {
    let mut resp = versioned(status, r, r.version);
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&format!("/api/v1/risks/{}", r.id))
    {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Register filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RiskParams {
    /// Only this system (id or ref).
    pub system: Option<String>,
    /// identified, assessed, treating, accepted, closed.
    pub status: Option<String>,
    /// Current level id (e.g. `major`).
    pub level: Option<String>,
    /// Owner's user id.
    pub owner_id: Option<String>,
    /// Case-insensitive substring of the title.
    pub q: Option<String>,
    /// Taxonomy item (`catalog@version:ref`).
    pub taxonomy: Option<String>,
    /// Only risks whose treatment should have started.
    pub treatment_overdue: Option<bool>,
    /// ref, title, updated_at, level; prefix `-` for descending.
    pub sort: Option<String>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// Skipped (default 0).
    pub offset: Option<i64>,
}

/// A page of risks.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskPage {
    /// The risks.
    pub items: Vec<Risk>,
    /// Matching risks on all pages.
    pub total: i64,
    /// Page size.
    pub limit: i64,
    /// Skipped.
    pub offset: i64,
}

/// The risk register, filtered and paged.
#[utoipa::path(get, path = "/api/v1/risks", tag = "risks", params(RiskParams), responses((status = 200, body = RiskPage), (status = 400, body = Problem)))]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Query<RiskParams>,
) -> ApiResult<axum::Json<RiskPage>> {
    p.require(Perm::RiskRead)?;
    let rq = risk_query(&s, q).await?;
    let (limit, offset) = (rq.limit, rq.offset);
    let (items, total) = s.store.list_risks(&rq).await?;
    Ok(axum::Json(RiskPage {
        items,
        total,
        limit,
        offset,
    }))
}

/// Turns register parameters into a store query (shared by the API and the web UI).
pub(crate) async fn risk_query(s: &AppState, q: RiskParams) -> ApiResult<RiskQuery> {
    let (limit, offset) = super::page(q.limit, q.offset)?;
    let (desc, sort) = match q.sort.as_deref() {
        None => (false, "ref"),
        Some(x) => x.strip_prefix('-').map(|k| (true, k)).unwrap_or((false, x)),
    };
    if !matches!(sort, "ref" | "title" | "updated_at" | "level") {
        return Err(ApiError::bad_field(
            "sort",
            format!("unknown sort key {sort:?} (expected ref, title, updated_at or level)"),
        ));
    }
    let status = match &q.status {
        None => None,
        Some(x) => Some(RiskStatus::parse(x).ok_or_else(|| {
            ApiError::bad_field(
                "status",
                format!(
                    "unknown value {x:?} (expected one of {})",
                    RiskStatus::expected()
                ),
            )
        })?),
    };
    let system_id = match &q.system {
        None => None,
        Some(k) => Some(
            s.store
                .get_object(ObjectKind::System, k)
                .await
                .map_err(|_| ApiError::bad_field("system", format!("no system {k}")))?
                .id,
        ),
    };
    let rq = RiskQuery {
        system_id,
        status,
        level: q.level,
        owner_id: q.owner_id,
        q: q.q,
        taxonomy: q.taxonomy,
        treatment_overdue: q.treatment_overdue.unwrap_or(false),
        sort: sort.to_string(),
        desc,
        limit,
        offset,
    };
    Ok(rq)
}

/// Register a risk of a system.
#[utoipa::path(post, path = "/api/v1/systems/{id}/risks", tag = "risks", request_body = RiskInput, params(("id" = String, Path, description = "System id or ref")),
    responses((status = 201, body = Risk), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Json(b): Json<RiskInput>,
) -> ApiResult<Response> {
    p.require(Perm::RiskWrite)?;
    let lib = s.library().await;
    Ok(risk_response(
        StatusCode::CREATED,
        &s.store.create_risk(&p.actor(), &lib, &id, b).await?,
    ))
}

/// One risk.
#[utoipa::path(get, path = "/api/v1/risks/{id}", tag = "risks", params(("id" = String, Path, description = "Risk id or ref (RISK-n)")),
    responses((status = 200, body = Risk), (status = 404, body = Problem)))]
pub async fn get(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    p.require(Perm::RiskRead)?;
    Ok(risk_response(StatusCode::OK, &s.store.get_risk(&id).await?))
}

/// Edit a risk's fields with a JSON merge patch (If-Match required).
#[utoipa::path(patch, path = "/api/v1/risks/{id}", tag = "risks", request_body(content = Object, description = "JSON merge patch of the risk's fields"),
    params(("id" = String, Path, description = "Risk id or ref"), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = Risk), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Json(b): Json<Value>,
) -> ApiResult<Response> {
    p.require(Perm::RiskWrite)?;
    let lib = s.library().await;
    Ok(risk_response(
        StatusCode::OK,
        &s.store.update_risk(&p.actor(), &lib, &id, b, v).await?,
    ))
}

/// A status change by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// `closed`, or back to `identified` / `assessed` from closed.
    pub to: String,
    /// Why.
    pub reason: String,
}

/// Close or reopen a risk (other status changes happen through the loop; If-Match required).
#[utoipa::path(post, path = "/api/v1/risks/{id}/status", tag = "risks", request_body = StatusChange,
    params(("id" = String, Path, description = "Risk id or ref"), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = Risk), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn set_status(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Json(b): Json<StatusChange>,
) -> ApiResult<Response> {
    p.require(Perm::RiskWrite)?;
    let to = super::parse_field("to", &b.to, RiskStatus::parse, RiskStatus::expected())?;
    Ok(risk_response(
        StatusCode::OK,
        &s.store
            .set_risk_status(&p.actor(), &id, to, &b.reason, v)
            .await?,
    ))
}

/// A risk's assessments, newest first.
#[utoipa::path(get, path = "/api/v1/risks/{id}/assessments", tag = "risks", params(("id" = String, Path, description = "Risk id or ref")),
    responses((status = 200, body = Vec<Assessment>), (status = 404, body = Problem)))]
pub async fn assessments(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<Assessment>>> {
    p.require(Perm::RiskRead)?;
    Ok(axum::Json(s.store.assessments(&id).await?))
}

/// A recorded assessment and the risk after it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Assessed {
    /// The risk.
    pub risk: Risk,
    /// The assessment.
    pub assessment: Assessment,
}

/// Record an inherent, current or residual assessment (likelihood × impact on the system's
/// methodology, or the grading questionnaire) with its basis.
#[utoipa::path(post, path = "/api/v1/risks/{id}/assessments", tag = "risks", request_body = AssessmentInput, params(("id" = String, Path, description = "Risk id or ref")),
    responses((status = 201, body = Assessed), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn assess(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Json(b): Json<AssessmentInput>,
) -> ApiResult<(StatusCode, axum::Json<Assessed>)> {
    p.require(Perm::RiskAssess)?;
    let (risk, assessment) = s.store.assess(&p.actor(), &id, b).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Assessed { risk, assessment }),
    ))
}

/// A treatment decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TreatmentDecision {
    /// mitigate, avoid, transfer or accept.
    pub decision: String,
    /// Why.
    pub rationale: String,
}

/// Decide a risk's treatment (If-Match required). `accept` is decided here and made effective
/// by an approved acceptance request.
#[utoipa::path(post, path = "/api/v1/risks/{id}/treatment", tag = "risks", request_body = TreatmentDecision,
    params(("id" = String, Path, description = "Risk id or ref"), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = Risk), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn treatment(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Json(b): Json<TreatmentDecision>,
) -> ApiResult<Response> {
    p.require(Perm::RiskWrite)?;
    let d = super::parse_field(
        "decision",
        &b.decision,
        Treatment::parse,
        Treatment::expected(),
    )?;
    Ok(risk_response(
        StatusCode::OK,
        &s.store
            .set_treatment(&p.actor(), &id, d, &b.rationale, v)
            .await?,
    ))
}

/// A risk's controls.
#[utoipa::path(get, path = "/api/v1/risks/{id}/controls", tag = "treatment", params(("id" = String, Path, description = "Risk id or ref")),
    responses((status = 200, body = Vec<Control>), (status = 404, body = Problem)))]
pub async fn list_controls(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<Control>>> {
    p.require(Perm::RiskRead)?;
    Ok(axum::Json(s.store.list_controls(&id).await?))
}

/// Add a control, from a catalog measure (`source`) or written by you.
#[utoipa::path(post, path = "/api/v1/risks/{id}/controls", tag = "treatment", request_body = ControlInput, params(("id" = String, Path, description = "Risk id or ref")),
    responses((status = 201, body = Control), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_control(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Json(b): Json<ControlInput>,
) -> ApiResult<Response> {
    p.require(Perm::RiskWrite)?;
    let lib = s.library().await;
    let c = s.store.create_control(&p.actor(), &lib, &id, b).await?;
    Ok(versioned(StatusCode::CREATED, &c, c.version))
}

/// Edit a control with a JSON merge patch (If-Match required).
#[utoipa::path(patch, path = "/api/v1/controls/{id}", tag = "treatment", request_body(content = Object, description = "JSON merge patch of the control's fields"),
    params(("id" = String, Path, description = "Control id"), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = Control), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_control(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Json(b): Json<Value>,
) -> ApiResult<Response> {
    p.require(Perm::RiskWrite)?;
    let lib = s.library().await;
    let c = s.store.update_control(&p.actor(), &lib, &id, b, v).await?;
    Ok(versioned(StatusCode::OK, &c, c.version))
}

/// Remove a control.
#[utoipa::path(delete, path = "/api/v1/controls/{id}", tag = "treatment", params(("id" = String, Path, description = "Control id")),
    responses((status = 204, description = "Removed"), (status = 404, body = Problem)))]
pub async fn delete_control(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    p.require(Perm::RiskWrite)?;
    s.store.delete_control(&p.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A risk's action items.
#[utoipa::path(get, path = "/api/v1/risks/{id}/actions", tag = "treatment", params(("id" = String, Path, description = "Risk id or ref")),
    responses((status = 200, body = Vec<Action>), (status = 404, body = Problem)))]
pub async fn list_actions(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<Action>>> {
    p.require(Perm::RiskRead)?;
    Ok(axum::Json(s.store.list_actions(&id).await?))
}

/// Add an action item.
#[utoipa::path(post, path = "/api/v1/risks/{id}/actions", tag = "treatment", request_body = ActionInput, params(("id" = String, Path, description = "Risk id or ref")),
    responses((status = 201, body = Action), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_action(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Json(b): Json<ActionInput>,
) -> ApiResult<Response> {
    p.require(Perm::RiskWrite)?;
    let a = s.store.create_action(&p.actor(), &id, b).await?;
    Ok(versioned(StatusCode::CREATED, &a, a.version))
}

/// Edit an action item with a JSON merge patch (If-Match required).
#[utoipa::path(patch, path = "/api/v1/actions/{id}", tag = "treatment", request_body(content = Object, description = "JSON merge patch: title, control_id, owner_id, due_date, done"),
    params(("id" = String, Path, description = "Action id"), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = Action), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_action(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Json(b): Json<Value>,
) -> ApiResult<Response> {
    p.require(Perm::RiskWrite)?;
    let a = s.store.update_action(&p.actor(), &id, b, v).await?;
    Ok(versioned(StatusCode::OK, &a, a.version))
}

/// A risk's acceptance requests, newest first.
#[utoipa::path(get, path = "/api/v1/risks/{id}/acceptances", tag = "acceptance", params(("id" = String, Path, description = "Risk id or ref")),
    responses((status = 200, body = Vec<Acceptance>), (status = 404, body = Problem)))]
pub async fn list_acceptances(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<Acceptance>>> {
    p.require(Perm::RiskRead)?;
    Ok(axum::Json(s.store.list_acceptances(&id).await?))
}

/// An acceptance request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptanceRequest {
    /// Why the risk can be accepted.
    pub rationale: String,
    /// Until when (RFC 3339, at most three years ahead); the risk reopens then.
    pub expires_at: String,
}

/// Ask for a risk to be accepted; the approver role comes from the methodology's appetite for
/// the risk's level.
#[utoipa::path(post, path = "/api/v1/risks/{id}/acceptances", tag = "acceptance", request_body = AcceptanceRequest, params(("id" = String, Path, description = "Risk id or ref")),
    responses((status = 201, body = Acceptance), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn request_acceptance(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Json(b): Json<AcceptanceRequest>,
) -> ApiResult<(StatusCode, axum::Json<Acceptance>)> {
    p.require(Perm::AcceptanceRequest)?;
    let exp = Timestamp::parse(&b.expires_at).map_err(|_| {
        ApiError::invalid(vec![FieldError::new(
            "expires_at",
            "must be an RFC 3339 time such as 2027-06-30T00:00:00Z",
        )])
    })?;
    Ok((
        StatusCode::CREATED,
        axum::Json(
            s.store
                .request_acceptance(&p.actor(), &id, &b.rationale, exp)
                .await?,
        ),
    ))
}

/// One acceptance, with its frozen snapshot once approved.
#[utoipa::path(get, path = "/api/v1/acceptances/{id}", tag = "acceptance", params(("id" = String, Path, description = "Acceptance id")),
    responses((status = 200, body = Acceptance), (status = 404, body = Problem)))]
pub async fn get_acceptance(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Acceptance>> {
    p.require(Perm::RiskRead)?;
    Ok(axum::Json(s.store.get_acceptance(&id).await?))
}

/// A decision on an acceptance request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptanceDecision {
    /// Approve or reject.
    pub approve: bool,
    /// Why.
    pub note: String,
}

/// Approve or reject an acceptance request. Your role must cover the role the risk's level
/// requires, and nobody decides their own request. Approval freezes a snapshot of the risk.
#[utoipa::path(post, path = "/api/v1/acceptances/{id}/decision", tag = "acceptance", request_body = AcceptanceDecision, params(("id" = String, Path, description = "Acceptance id")),
    responses((status = 200, body = Acceptance), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn decide_acceptance(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Json(b): Json<AcceptanceDecision>,
) -> ApiResult<axum::Json<Acceptance>> {
    p.require(Perm::AcceptanceDecide)?;
    Ok(axum::Json(
        s.store
            .decide_acceptance(&p.actor(), p.role, &id, b.approve, &b.note)
            .await?,
    ))
}

/// Withdraw a pending acceptance request.
#[utoipa::path(post, path = "/api/v1/acceptances/{id}/withdraw", tag = "acceptance", params(("id" = String, Path, description = "Acceptance id")),
    responses((status = 200, body = Acceptance), (status = 409, body = Problem)))]
pub async fn withdraw_acceptance(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Acceptance>> {
    p.require(Perm::AcceptanceRequest)?;
    Ok(axum::Json(
        s.store.withdraw_acceptance(&p.actor(), &id).await?,
    ))
}

/// Overdue work.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverdueView {
    /// Risks whose treatment should have started.
    #[schema(value_type = Vec<Object>)]
    pub treatments: Vec<Value>,
    /// Controls past due and not in place.
    #[schema(value_type = Vec<Object>)]
    pub controls: Vec<Value>,
    /// Action items past due.
    #[schema(value_type = Vec<Object>)]
    pub actions: Vec<Value>,
    /// Approved acceptances expiring within 30 days.
    #[schema(value_type = Vec<Object>)]
    pub acceptances_expiring: Vec<Value>,
    /// Requests awaiting a decision.
    #[schema(value_type = Vec<Object>)]
    pub acceptances_pending: Vec<Value>,
}

impl From<Overdue> for OverdueView {
    fn from(o: Overdue) -> Self {
        OverdueView {
            treatments: o.treatments,
            controls: o.controls,
            actions: o.actions,
            acceptances_expiring: o.acceptances_expiring,
            acceptances_pending: o.acceptances_pending,
        }
    }
}

/// Overdue treatments, controls and actions; acceptances expiring or awaiting a decision.
#[utoipa::path(get, path = "/api/v1/overdue", tag = "risks", responses((status = 200, body = OverdueView)))]
pub async fn overdue(
    State(s): State<AppState>,
    p: Principal,
) -> ApiResult<axum::Json<OverdueView>> {
    p.require(Perm::RiskRead)?;
    Ok(axum::Json(s.store.overdue().await?.into()))
}

/// Dashboard aggregates: open risks by level, status and system; the heat map; overdue
/// counts; open incidents; checklist coverage per framework.
#[utoipa::path(get, path = "/api/v1/dashboard", tag = "risks", responses((status = 200, body = Object)))]
pub async fn dashboard(State(s): State<AppState>, p: Principal) -> ApiResult<axum::Json<Value>> {
    p.require(Perm::RiskRead)?;
    Ok(axum::Json(s.store.dashboard().await?))
}
