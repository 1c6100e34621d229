//! The "govern" and "identify" steps: methodologies and the grading questionnaire, framework
//! adoption and checklists, crosswalk suggestions, candidate risks, stage gates and settings.

use aigov_core::access::{Perm, Role};
use aigov_core::grading::{Answers, Grade};
use aigov_core::inventory::{ObjectKind, Stage};
use aigov_core::methodology::{Methodology, from_ciso_matrix};
use aigov_core::records::{Adoption, Blocker, Candidate, ChecklistItem, CoverageBreakdown, Risk};
use aigov_core::rules::{ReportingRule, StageGate};
use aigov_store::governance::{ChecklistPatch, Suggestion};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{IfMatch, Json, Principal, Query};

use super::versioned;

// ---------------------------------------------------------------------------------------
// Methodologies

/// Every methodology (the built-in default first).
#[utoipa::path(get, path = "/api/v1/methodologies", tag = "methodologies", responses((status = 200, body = Vec<Methodology>)))]
pub async fn list_methodologies(
    State(s): State<AppState>,
    p: Principal,
) -> ApiResult<axum::Json<Vec<Methodology>>> {
    p.require(Perm::RiskRead)?;
    Ok(axum::Json(s.store.list_methodologies().await?))
}

/// One methodology.
#[utoipa::path(get, path = "/api/v1/methodologies/{id}", tag = "methodologies", params(("id" = String, Path, description = "Methodology id")),
    responses((status = 200, body = Methodology), (status = 404, body = Problem)))]
pub async fn get_methodology(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Methodology>> {
    p.require(Perm::RiskRead)?;
    Ok(axum::Json(s.store.get_methodology(&id).await?))
}

/// Create a methodology from its definition.
#[utoipa::path(post, path = "/api/v1/methodologies", tag = "methodologies", request_body = Methodology,
    responses((status = 201, body = Methodology), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_methodology(
    State(s): State<AppState>,
    p: Principal,
    Json(m): Json<Methodology>,
) -> ApiResult<(StatusCode, axum::Json<Methodology>)> {
    p.require(Perm::MethodologyManage)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(s.store.create_methodology(&p.actor(), &m).await?),
    ))
}

/// Import of a CISO Assistant risk matrix.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CisoImport {
    /// Id of the new methodology.
    pub id: String,
    /// The matrix JSON (bare, or a library object with `json_definition`).
    #[schema(value_type = Object)]
    pub matrix: Value,
    /// Who approves acceptance at every level (adjust per level afterwards; default `risk_manager`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub approver: Option<Role>,
    /// Days to start treatment at every level (default 30).
    #[serde(default)]
    pub treatment_days: Option<i64>,
}

/// Import a CISO Assistant risk matrix as a methodology.
#[utoipa::path(post, path = "/api/v1/methodologies/import-ciso", tag = "methodologies", request_body = CisoImport,
    responses((status = 201, body = Methodology), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn import_ciso(
    State(s): State<AppState>,
    p: Principal,
    Json(b): Json<CisoImport>,
) -> ApiResult<(StatusCode, axum::Json<Methodology>)> {
    p.require(Perm::MethodologyManage)?;
    let m = from_ciso_matrix(
        &b.matrix,
        &b.id,
        b.approver.unwrap_or(Role::RiskManager),
        b.treatment_days.unwrap_or(30),
    )
    .map_err(ApiError::invalid)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(s.store.create_methodology(&p.actor(), &m).await?),
    ))
}

/// A switch of a system's methodology.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetMethodology {
    /// The methodology id.
    pub methodology_id: String,
    /// Why (recorded in the audit log and every re-graded assessment).
    pub reason: String,
}

/// The outcome of a methodology switch.
#[derive(Debug, Serialize, ToSchema)]
pub struct MethodologySwitched {
    /// The methodology now in force.
    pub methodology_id: String,
    /// Assessments re-graded onto it.
    pub regraded_assessments: usize,
}

/// Switch a system's methodology; its risks are re-graded (audited).
#[utoipa::path(put, path = "/api/v1/systems/{id}/methodology", tag = "methodologies", request_body = SetMethodology,
    params(("id" = String, Path, description = "System id or ref")),
    responses((status = 200, body = MethodologySwitched), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_system_methodology(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Json(b): Json<SetMethodology>,
) -> ApiResult<axum::Json<MethodologySwitched>> {
    p.require(Perm::MethodologyManage)?;
    let n = s
        .store
        .set_system_methodology(&p.actor(), &id, &b.methodology_id, &b.reason)
        .await?;
    Ok(axum::Json(MethodologySwitched {
        methodology_id: b.methodology_id,
        regraded_assessments: n,
    }))
}

/// The methodology a system's risks are graded on.
#[utoipa::path(get, path = "/api/v1/systems/{id}/methodology", tag = "methodologies", params(("id" = String, Path, description = "System id or ref")),
    responses((status = 200, body = Methodology), (status = 404, body = Problem)))]
pub async fn system_methodology(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Methodology>> {
    p.require(Perm::RiskRead)?;
    let sys = s.store.get_object(ObjectKind::System, &id).await?;
    Ok(axum::Json(s.store.system_methodology(&sys.id).await?))
}

/// Grade answers to the five-level grading questionnaire (changes nothing).
#[utoipa::path(post, path = "/api/v1/grading", tag = "methodologies", request_body = Answers, responses((status = 200, body = Grade)))]
pub async fn grade(p: Principal, Json(a): Json<Answers>) -> ApiResult<axum::Json<Grade>> {
    p.require(Perm::RiskRead)?;
    Ok(axum::Json(aigov_core::grading::grade(&a)))
}

// ---------------------------------------------------------------------------------------
// Adoption and checklists

/// A system's adopted catalogs with checklist coverage.
#[utoipa::path(get, path = "/api/v1/systems/{id}/adoptions", tag = "checklists", params(("id" = String, Path, description = "System id or ref")),
    responses((status = 200, body = Vec<Adoption>), (status = 404, body = Problem)))]
pub async fn list_adoptions(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<Adoption>>> {
    p.require(Perm::RiskRead)?;
    Ok(axum::Json(s.store.list_adoptions(&id).await?))
}

/// What to adopt.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Adopt {
    /// `catalog@version` (or a bare id for the latest); omit to adopt the defaults the rules
    /// select for this system.
    #[serde(default)]
    pub catalog: Option<String>,
    /// Why (for an explicit adoption).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Adopt a catalog (or the default catalogs) for a system; builds its checklist.
#[utoipa::path(post, path = "/api/v1/systems/{id}/adoptions", tag = "checklists", request_body = Adopt,
    params(("id" = String, Path, description = "System id or ref")),
    responses((status = 201, body = Vec<Adoption>), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn adopt(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Json(b): Json<Adopt>,
) -> ApiResult<(StatusCode, axum::Json<Vec<Adoption>>)> {
    let out = adopt_catalogs(&s, &p, &id, b.catalog.as_deref(), b.reason.as_deref()).await?;
    Ok((StatusCode::CREATED, axum::Json(out)))
}

/// Adopts one named catalog with a reason, or (with no catalog) the defaults the rules pick.
/// Shared by the API and the system page's forms.
pub(crate) async fn adopt_catalogs(
    s: &AppState,
    p: &Principal,
    id: &str,
    catalog: Option<&str>,
    reason: Option<&str>,
) -> ApiResult<Vec<Adoption>> {
    p.require(Perm::ChecklistWrite)?;
    let lib = s.library().await;
    let Some(c) = catalog else {
        return Ok(s
            .store
            .adopt_defaults(&p.actor(), &lib, &s.rules, id)
            .await?);
    };
    let reason = reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            ApiError::invalid(vec![aigov_core::FieldError::new(
                "reason",
                "say why the system adopts this catalog",
            )])
        })?;
    Ok(vec![
        s.store
            .adopt(
                &p.actor(),
                &lib,
                &s.rules,
                id,
                c,
                json!({"en": reason, "zh": Value::Null, "facts": []}),
            )
            .await?,
    ])
}

/// Drop an adoption (its checklist goes; the audit log keeps the history).
#[utoipa::path(delete, path = "/api/v1/systems/{id}/adoptions/{catalog}", tag = "checklists",
    params(("id" = String, Path, description = "System id or ref"), ("catalog" = String, Path, description = "Catalog id")),
    responses((status = 204, description = "Removed"), (status = 404, body = Problem)))]
pub async fn unadopt(
    State(s): State<AppState>,
    p: Principal,
    Path((id, catalog)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    p.require(Perm::ChecklistWrite)?;
    s.store.unadopt(&p.actor(), &id, &catalog).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checklist options.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChecklistParams {
    /// Include items that do not apply (with the reason they do not).
    pub all: Option<bool>,
}

/// The checklist of an adopted catalog.
#[utoipa::path(get, path = "/api/v1/systems/{id}/checklists/{catalog}", tag = "checklists",
    params(("id" = String, Path, description = "System id or ref"), ("catalog" = String, Path, description = "Catalog id"), ChecklistParams),
    responses((status = 200, body = Vec<ChecklistItem>), (status = 404, body = Problem)))]
pub async fn checklist(
    State(s): State<AppState>,
    p: Principal,
    Path((id, catalog)): Path<(String, String)>,
    Query(q): Query<ChecklistParams>,
) -> ApiResult<axum::Json<Vec<ChecklistItem>>> {
    p.require(Perm::RiskRead)?;
    let lib = s.library().await;
    Ok(axum::Json(
        s.store
            .checklist(&lib, &id, &catalog, q.all.unwrap_or(false))
            .await?,
    ))
}

/// Checklist coverage of an adopted catalog: overall, per top-level section and per actor role.
#[utoipa::path(get, path = "/api/v1/systems/{id}/checklists/{catalog}/coverage", tag = "checklists",
    params(("id" = String, Path, description = "System id or ref"), ("catalog" = String, Path, description = "Catalog id")),
    responses((status = 200, body = CoverageBreakdown), (status = 404, body = Problem)))]
pub async fn coverage(
    State(s): State<AppState>,
    p: Principal,
    Path((id, catalog)): Path<(String, String)>,
) -> ApiResult<axum::Json<CoverageBreakdown>> {
    p.require(Perm::RiskRead)?;
    let lib = s.library().await;
    Ok(axum::Json(
        s.store.checklist_coverage(&lib, &id, &catalog).await?,
    ))
}

/// The outcome of a refresh.
#[derive(Debug, Serialize, ToSchema)]
pub struct Refreshed {
    /// Items whose applicability changed or that were added.
    pub changed: usize,
}

/// Recompute which items apply after the system changed (statuses are kept).
#[utoipa::path(post, path = "/api/v1/systems/{id}/checklists/{catalog}/refresh", tag = "checklists",
    params(("id" = String, Path, description = "System id or ref"), ("catalog" = String, Path, description = "Catalog id")),
    responses((status = 200, body = Refreshed), (status = 404, body = Problem)))]
pub async fn refresh_checklist(
    State(s): State<AppState>,
    p: Principal,
    Path((id, catalog)): Path<(String, String)>,
) -> ApiResult<axum::Json<Refreshed>> {
    p.require(Perm::ChecklistWrite)?;
    let lib = s.library().await;
    Ok(axum::Json(Refreshed {
        changed: s
            .store
            .refresh_checklist(&p.actor(), &lib, &s.rules, &id, &catalog)
            .await?,
    }))
}

/// One checklist item.
#[utoipa::path(get, path = "/api/v1/checklist-items/{id}", tag = "checklists", params(("id" = String, Path, description = "Checklist item id")),
    responses((status = 200, body = ChecklistItem), (status = 404, body = Problem)))]
pub async fn get_checklist_item(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    p.require(Perm::RiskRead)?;
    let lib = s.library().await;
    let it = s.store.get_checklist_item(&lib, &id).await?;
    Ok(versioned(StatusCode::OK, &it, it.version))
}

/// A checklist item change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistChange {
    /// not-started, compliant, partial, non-compliant, not-applicable.
    #[serde(default)]
    pub status: Option<String>,
    /// Why the item does not apply (required with not-applicable).
    #[serde(default)]
    pub justification: Option<String>,
    /// Owner's user id ("" clears).
    #[serde(default)]
    pub owner_id: Option<String>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

/// Record a checklist item's status, owner or notes (If-Match required).
#[utoipa::path(patch, path = "/api/v1/checklist-items/{id}", tag = "checklists", request_body = ChecklistChange,
    params(("id" = String, Path, description = "Checklist item id"), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = ChecklistItem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_checklist_item(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Json(b): Json<ChecklistChange>,
) -> ApiResult<Response> {
    p.require(Perm::ChecklistWrite)?;
    let status = match b.status {
        None => None,
        Some(x) => Some(aigov_core::risk::ChecklistStatus::parse(&x).ok_or_else(|| {
            ApiError::invalid(vec![aigov_core::FieldError::new(
                "status",
                format!(
                    "must be one of {}",
                    aigov_core::risk::ChecklistStatus::expected()
                ),
            )])
        })?),
    };
    let patch = ChecklistPatch {
        status,
        justification: b.justification,
        owner_id: b.owner_id,
        notes: b.notes,
    };
    let lib = s.library().await;
    let it = s
        .store
        .update_checklist_item(&p.actor(), &lib, &id, patch, v)
        .await?;
    Ok(versioned(StatusCode::OK, &it, it.version))
}

/// A suggested checklist status.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionView {
    /// The checklist item the suggestion is for.
    pub item_id: String,
    /// Its citation.
    pub item: String,
    /// The suggested status.
    pub suggested_status: String,
    /// The item whose status suggests it.
    pub from_item_id: String,
    /// Its citation.
    pub from: String,
    /// The status recorded there.
    pub from_status: String,
    /// The composed relationship.
    pub relationship: String,
    /// The mapping hops.
    pub path: Vec<String>,
    /// Composed confidence.
    pub confidence: Option<f64>,
}

impl From<Suggestion> for SuggestionView {
    fn from(x: Suggestion) -> Self {
        SuggestionView {
            item_id: x.item_id,
            item: x.item,
            suggested_status: x.suggested_status,
            from_item_id: x.from_item_id,
            from: x.from,
            from_status: x.from_status,
            relationship: x.relationship,
            path: x.path,
            confidence: x.confidence,
        }
    }
}

/// Statuses that recorded items suggest for mapped items of the system's other adopted
/// catalogs, with the mapping path. Suggestions are never applied by themselves.
#[utoipa::path(get, path = "/api/v1/systems/{id}/suggestions", tag = "checklists", params(("id" = String, Path, description = "System id or ref")),
    responses((status = 200, body = Vec<SuggestionView>), (status = 404, body = Problem)))]
pub async fn suggestions(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<SuggestionView>>> {
    p.require(Perm::RiskRead)?;
    let lib = s.library().await;
    Ok(axum::Json(
        s.store
            .suggestions(&lib, &id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

// ---------------------------------------------------------------------------------------
// Identification

/// Run the identification rules over a system; new candidates are added (decided ones are
/// not raised again).
#[utoipa::path(post, path = "/api/v1/systems/{id}/identify", tag = "risks", params(("id" = String, Path, description = "System id or ref")),
    responses((status = 200, body = Vec<Candidate>), (status = 404, body = Problem)))]
pub async fn identify(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<Candidate>>> {
    p.require(Perm::RiskWrite)?;
    let lib = s.library().await;
    Ok(axum::Json(
        s.store.identify(&p.actor(), &lib, &s.rules, &id).await?,
    ))
}

/// Candidate filter.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CandidateParams {
    /// pending, accepted or rejected.
    pub status: Option<String>,
}

/// A system's candidate risks.
#[utoipa::path(get, path = "/api/v1/systems/{id}/candidates", tag = "risks", params(("id" = String, Path, description = "System id or ref"), CandidateParams),
    responses((status = 200, body = Vec<Candidate>), (status = 404, body = Problem)))]
pub async fn list_candidates(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Query(q): Query<CandidateParams>,
) -> ApiResult<axum::Json<Vec<Candidate>>> {
    p.require(Perm::RiskRead)?;
    if let Some(st) = &q.status
        && !matches!(st.as_str(), "pending" | "accepted" | "rejected")
    {
        return Err(ApiError::bad_field(
            "status",
            "must be pending, accepted or rejected",
        ));
    }
    let lib = s.library().await;
    Ok(axum::Json(
        s.store
            .list_candidates(&lib, &id, q.status.as_deref())
            .await?,
    ))
}

/// A decision on a candidate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CandidateDecision {
    /// Accept (registers a risk) or reject.
    pub accept: bool,
    /// Why.
    pub reason: String,
}

/// The outcome of a decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct Decided {
    /// The candidate.
    pub candidate: Candidate,
    /// The risk registered on acceptance.
    pub risk: Option<Risk>,
}

/// Accept (registering a risk) or reject a candidate, with a reason.
#[utoipa::path(post, path = "/api/v1/candidates/{id}/decision", tag = "risks", request_body = CandidateDecision,
    params(("id" = String, Path, description = "Candidate id")),
    responses((status = 200, body = Decided), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn decide_candidate(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Json(b): Json<CandidateDecision>,
) -> ApiResult<axum::Json<Decided>> {
    p.require(Perm::RiskWrite)?;
    let lib = s.library().await;
    let (candidate, risk) = s
        .store
        .decide_candidate(&p.actor(), &lib, &id, b.accept, &b.reason)
        .await?;
    Ok(axum::Json(Decided { candidate, risk }))
}

// ---------------------------------------------------------------------------------------
// Stage gates and settings

/// The stage gates in force.
#[utoipa::path(get, path = "/api/v1/stage-gates", tag = "gates", responses((status = 200, body = Vec<StageGate>)))]
pub async fn stage_gates(
    State(s): State<AppState>,
    p: Principal,
) -> ApiResult<axum::Json<Vec<StageGate>>> {
    p.require(Perm::RiskRead)?;
    Ok(axum::Json(s.store.stage_gates(&s.rules).await?))
}

/// Replace the gate of one stage (a gate with no condition removes it).
#[utoipa::path(put, path = "/api/v1/stage-gates", tag = "gates", request_body = StageGate,
    responses((status = 200, body = Vec<StageGate>), (status = 422, body = Problem)))]
pub async fn set_stage_gate(
    State(s): State<AppState>,
    p: Principal,
    Json(g): Json<StageGate>,
) -> ApiResult<axum::Json<Vec<StageGate>>> {
    p.require(Perm::SettingsManage)?;
    Ok(axum::Json(
        s.store.set_stage_gate(&p.actor(), &s.rules, g).await?,
    ))
}

/// The stage to check.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GateParams {
    /// The stage the system would enter.
    pub to: String,
}

/// What a gate check found.
#[derive(Debug, Serialize, ToSchema)]
pub struct GateCheck {
    /// The stage.
    pub to: String,
    /// Whether the move is allowed.
    pub allowed: bool,
    /// What blocks it.
    pub blockers: Vec<Blocker>,
}

/// Check whether a system may enter a stage, and what blocks it.
#[utoipa::path(get, path = "/api/v1/systems/{id}/gate", tag = "gates", params(("id" = String, Path, description = "System id or ref"), GateParams),
    responses((status = 200, body = GateCheck), (status = 404, body = Problem)))]
pub async fn gate_check(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Query(q): Query<GateParams>,
) -> ApiResult<axum::Json<GateCheck>> {
    p.require(Perm::RiskRead)?;
    let to = Stage::parse(&q.to).ok_or_else(|| {
        ApiError::bad_field("to", format!("must be one of {}", Stage::expected()))
    })?;
    let blockers = s.store.gate_blockers(&s.rules, &id, to).await?;
    Ok(axum::Json(GateCheck {
        to: q.to,
        allowed: blockers.is_empty(),
        blockers,
    }))
}

/// The incident reporting deadlines in force.
#[utoipa::path(get, path = "/api/v1/settings/incident-reporting", tag = "incidents", responses((status = 200, body = Vec<ReportingRule>)))]
pub async fn incident_reporting(
    State(s): State<AppState>,
    p: Principal,
) -> ApiResult<axum::Json<Vec<ReportingRule>>> {
    p.require(Perm::RiskRead)?;
    Ok(axum::Json(s.store.incident_reporting(&s.rules).await?))
}

/// Replace the incident reporting deadlines (hours after detection, per severity).
#[utoipa::path(put, path = "/api/v1/settings/incident-reporting", tag = "incidents", request_body = Vec<ReportingRule>,
    responses((status = 200, body = Vec<ReportingRule>), (status = 422, body = Problem)))]
pub async fn set_incident_reporting(
    State(s): State<AppState>,
    p: Principal,
    Json(r): Json<Vec<ReportingRule>>,
) -> ApiResult<axum::Json<Vec<ReportingRule>>> {
    p.require(Perm::SettingsManage)?;
    Ok(axum::Json(
        s.store.set_incident_reporting(&p.actor(), r).await?,
    ))
}
