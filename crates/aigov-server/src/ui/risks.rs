//! The risk register (filters, sort, pagination over the store's keyset-friendly paging, bulk
//! actions, CSV) and a risk's page (assessments over time, treatment, controls, actions,
//! acceptances, evidence, incidents, audit trail) with its forms.

use std::collections::HashMap;

use aigov_core::access::Perm;
use aigov_core::methodology::Methodology;
use aigov_core::records::{Acceptance, Action, Assessment, Control, EvidenceSummary, Risk};
use aigov_core::risk::{AssessmentInput, RiskInput, RiskStatus, Treatment};
use aigov_core::{FieldError, Timestamp};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::systems::{HistoryRow, history};
use super::view::{
    self, Ctx, FieldErrors, Grade, Htmx, Pager, UiResult, csv_response, grade, redirect, render,
    render_status, some, wants_csv,
};
use crate::AppState;
use crate::api::parse_field;
use crate::api::risks::{RiskParams, risk_query};
use crate::error::ApiError;

/// Page size of the register.
pub const PAGE: i64 = 50;

/// A row of a risk table.
#[derive(Debug, Clone)]
pub struct RiskRow {
    /// `RISK-n`.
    pub key: String,
    /// Title.
    pub title: String,
    /// `SYS-n`.
    pub system: String,
    /// Current grade.
    pub grade: Grade,
    /// Status label.
    pub status: String,
    /// Treatment overdue.
    pub overdue: bool,
    /// Owner.
    pub owner: String,
    /// Last change.
    pub updated: String,
}

fn title_of(r: &Risk) -> String {
    r.data
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn owner_of(r: &Risk) -> String {
    r.data
        .get("owner_id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// Table rows for risks graded on `m`.
pub fn risk_rows(c: &Ctx, m: &Methodology, risks: &[Risk]) -> Vec<RiskRow> {
    rows_with(c, std::slice::from_ref(m), risks, &HashMap::new())
}

fn rows_with(
    c: &Ctx,
    ms: &[Methodology],
    risks: &[Risk],
    users: &HashMap<String, String>,
) -> Vec<RiskRow> {
    risks
        .iter()
        .map(|r| {
            let lvl = r.current_level.as_deref();
            let m = ms
                .iter()
                .find(|m| lvl.is_some_and(|l| m.level_by_id(l).is_some()))
                .unwrap_or(&ms[0]);
            let owner = owner_of(r);
            RiskRow {
                key: r.r#ref.clone(),
                title: title_of(r),
                system: r.system_ref.clone(),
                grade: grade(c, m, lvl),
                status: c.w("risk_status", &r.status).to_string(),
                overdue: r.treatment_overdue,
                owner: users.get(&owner).cloned().unwrap_or(owner),
                updated: view::when(&r.updated_at),
            }
        })
        .collect()
}

/// Register filters (the query string; also the htmx filter form).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct RegisterFilters {
    /// System ref.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Level id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// Owner id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    /// Title contains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Taxonomy item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxonomy: Option<String>,
    /// `true`: only overdue treatments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treatment_overdue: Option<String>,
    /// Sort key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    /// Skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    /// `csv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

impl RegisterFilters {
    fn cleaned(&self) -> RegisterFilters {
        RegisterFilters {
            system: some(&self.system),
            status: some(&self.status),
            level: some(&self.level),
            owner_id: some(&self.owner_id),
            q: some(&self.q),
            taxonomy: some(&self.taxonomy),
            treatment_overdue: some(&self.treatment_overdue).filter(|v| v == "true"),
            sort: some(&self.sort),
            offset: self.offset.filter(|o| *o > 0),
            format: None,
        }
    }

    /// This view's URL at another offset or format.
    pub fn href(&self, offset: Option<i64>, format: Option<&str>) -> String {
        let mut f = self.cleaned();
        f.offset = offset.filter(|o| *o > 0);
        f.format = format.map(str::to_string);
        view::list_href("/risks", &f)
    }

    /// The link that sorts by `key`, toggling the direction.
    pub fn sort_href(&self, key: &str) -> String {
        let mut f = self.cleaned();
        f.sort = Some(view::toggle_sort(f.sort.as_deref(), key));
        f.href(None, None)
    }

    /// The sort indicator of a column (`aria-sort`).
    pub fn aria_sort(&self, key: &str) -> &'static str {
        match self.sort.as_deref() {
            Some(s) if s == key => "ascending",
            Some(s) if s.strip_prefix('-') == Some(key) => "descending",
            None if key == "ref" => "ascending",
            _ => "none",
        }
    }

    fn any(&self) -> bool {
        let f = self.cleaned();
        f.system.is_some()
            || f.status.is_some()
            || f.level.is_some()
            || f.owner_id.is_some()
            || f.q.is_some()
            || f.taxonomy.is_some()
            || f.treatment_overdue.is_some()
    }

    fn params(&self, limit: i64, offset: Option<i64>) -> RiskParams {
        let f = self.cleaned();
        RiskParams {
            system: f.system,
            status: f.status,
            level: f.level,
            owner_id: f.owner_id,
            q: f.q,
            taxonomy: f.taxonomy,
            treatment_overdue: f.treatment_overdue.map(|_| true),
            sort: f.sort,
            limit: Some(limit),
            offset,
        }
    }
}

/// The register's table and pager (the htmx fragment).
#[derive(Template, Debug)]
#[template(path = "fragments/register.html")]
pub struct RegisterFragment<'a> {
    /// Context.
    pub c: &'a Ctx,
    /// Filters.
    pub f: RegisterFilters,
    /// Rows.
    pub rows: Vec<RiskRow>,
    /// Whether rows have checkboxes.
    pub bulk: bool,
    /// Pager.
    pub pager: Pager,
    /// CSV link.
    pub csv: String,
    /// Any filter set.
    pub filtered: bool,
}

#[derive(Template)]
#[template(path = "risks.html")]
struct RegisterTpl<'a> {
    c: &'a Ctx,
    f: RegisterFilters,
    rows: Vec<RiskRow>,
    bulk: bool,
    pager: Pager,
    csv: String,
    filtered: bool,
    statuses: Vec<(&'static str, &'a str)>,
    levels: Vec<(String, String)>,
    users: Vec<(String, String)>,
    here: String,
}

async fn user_names(s: &AppState, c: &Ctx) -> HashMap<String, String> {
    if !c.can("user_read") {
        return HashMap::new();
    }
    s.store
        .list_users()
        .await
        .map(|us| us.into_iter().map(|u| (u.id, u.username)).collect())
        .unwrap_or_default()
}

/// `GET /risks` (htmx: the table fragment; `?format=csv`: every matching risk).
pub async fn list(
    State(s): State<AppState>,
    c: Ctx,
    Htmx(htmx): Htmx,
    Query(f): Query<RegisterFilters>,
) -> UiResult {
    c.require(Perm::RiskRead)?;
    if wants_csv(&f.format) {
        return register_csv(&s, &f).await;
    }
    let rq = risk_query(&s, f.params(PAGE, f.offset)).await?;
    let (items, total) = s.store.list_risks(&rq).await?;
    let ms = s.store.list_methodologies().await?;
    let users = user_names(&s, &c).await;
    let rows = rows_with(&c, &ms, &items, &users);
    let pager = Pager::new(&c, rq.offset, rq.limit, rows.len(), total, |o| {
        f.href(Some(o), None)
    });
    let bulk = c.can("risk_write");
    let csv = f.href(None, Some("csv"));
    let filtered = f.any();
    if htmx {
        return render(&RegisterFragment {
            c: &c,
            f: f.cleaned(),
            rows,
            bulk,
            pager,
            csv,
            filtered,
        });
    }
    let default = aigov_core::methodology::default_methodology();
    let t = RegisterTpl {
        statuses: view::options(&c, "risk_status", RiskStatus::ALL, RiskStatus::as_str),
        levels: default
            .levels
            .iter()
            .map(|l| (l.id.clone(), l.label.get(c.lang.code()).to_string()))
            .collect(),
        users: {
            let mut v: Vec<(String, String)> = users.into_iter().collect();
            v.sort_by(|a, b| a.1.cmp(&b.1));
            v
        },
        here: f.href(f.offset, None),
        f: f.cleaned(),
        rows,
        bulk,
        pager,
        csv,
        filtered,
        c: &c,
    };
    render(&t)
}

async fn register_csv(s: &AppState, f: &RegisterFilters) -> UiResult {
    let limit = crate::api::inventory::MAX_LIMIT;
    let mut rq = risk_query(s, f.params(limit, None)).await?;
    let mut rows = Vec::new();
    loop {
        let (items, total) = s.store.list_risks(&rq).await?;
        for r in &items {
            rows.push(vec![
                r.r#ref.clone(),
                title_of(r),
                r.system_ref.clone(),
                r.status.clone(),
                r.current_level.clone().unwrap_or_default(),
                r.inherent_level.clone().unwrap_or_default(),
                r.residual_level.clone().unwrap_or_default(),
                r.treatment.clone().unwrap_or_default(),
                r.treatment_due.clone().unwrap_or_default(),
                owner_of(r),
                r.updated_at.clone(),
            ]);
        }
        rq.offset += rq.limit;
        if items.is_empty() || rq.offset >= total {
            break;
        }
    }
    csv_response(
        "risks",
        &[
            "ref",
            "title",
            "system",
            "status",
            "current_level",
            "inherent_level",
            "residual_level",
            "treatment",
            "treatment_due",
            "owner_id",
            "updated_at",
        ],
        &rows,
    )
}

/// `POST /risks/bulk`: `ids` (repeated), `action` (`assign` with `owner_id`, or `close` with
/// `reason`), `back` (the register URL to return to).
pub async fn bulk(
    State(s): State<AppState>,
    c: Ctx,
    Form(fields): Form<Vec<(String, String)>>,
) -> UiResult {
    let p = c.require(Perm::RiskWrite)?;
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let ids: Vec<&String> = fields
        .iter()
        .filter(|(k, _)| k == "ids")
        .map(|(_, v)| v)
        .collect();
    if ids.is_empty() {
        return Err(ApiError::bad_field("ids", "select at least one risk").into());
    }
    let lib = s.library().await;
    let action = get("action");
    for id in ids {
        let r = s.store.get_risk(id).await?;
        match action.as_str() {
            "assign" => {
                let owner = get("owner_id");
                let v = if owner.is_empty() {
                    Value::Null
                } else {
                    json!(owner)
                };
                s.store
                    .update_risk(&p.actor(), &lib, &r.id, json!({ "owner_id": v }), r.version)
                    .await?;
            }
            "close" => {
                s.store
                    .set_risk_status(
                        &p.actor(),
                        &r.id,
                        RiskStatus::Closed,
                        &get("reason"),
                        r.version,
                    )
                    .await?;
            }
            other => {
                return Err(ApiError::bad_field(
                    "action",
                    format!("unknown bulk action {other:?} (expected assign or close)"),
                )
                .into());
            }
        }
    }
    let back = get("back");
    Ok(redirect(
        if super::login::is_local_path(&back) && back.starts_with("/risks") {
            &back
        } else {
            "/risks"
        },
    ))
}

/// An acceptance request as shown.
#[derive(Debug, Clone)]
pub struct AcceptanceRow {
    /// Id (for the decision form).
    pub id: String,
    /// Status label.
    pub status: String,
    /// Awaiting a decision.
    pub pending: bool,
    /// Why.
    pub rationale: String,
    /// Who asked.
    pub requested_by: String,
    /// Who decided.
    pub decided_by: String,
    /// The decision's note.
    pub note: String,
    /// Until.
    pub expires: String,
    /// The role that must decide.
    pub required_role: String,
}

/// A decision on an acceptance request.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    /// `approve` or `reject`.
    #[serde(default)]
    pub decision: String,
    /// Why (recorded).
    #[serde(default)]
    pub note: String,
    /// The risk page to return to.
    #[serde(default)]
    pub risk: String,
}

/// `POST /acceptances/{id}/decision`: approve or reject (the store checks the decider's role
/// against the level's approver and that nobody decides their own request).
pub async fn decide_acceptance(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> UiResult {
    let p = c.require(Perm::AcceptanceDecide)?.clone();
    let risk = f.risk.clone();
    let run = async {
        let approve = match f.decision.as_str() {
            "approve" => true,
            "reject" => false,
            _ => {
                return Err(ApiError::invalid(vec![FieldError::new(
                    "decision",
                    "must be approve or reject",
                )]));
            }
        };
        s.store
            .decide_acceptance(&p.actor(), p.role, &id, approve, &f.note)
            .await?;
        Ok(s.store.get_risk(&risk).await?)
    };
    act(&s, &c, &risk, run).await
}

/// Which risk page to return to.
#[derive(Debug, Deserialize)]
pub struct WithdrawForm {
    /// The risk (ref).
    #[serde(default)]
    pub risk: String,
}

/// `POST /acceptances/{id}/withdraw`: withdraws a pending acceptance request.
pub async fn withdraw_acceptance(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<WithdrawForm>,
) -> UiResult {
    let p = c.require(Perm::AcceptanceRequest)?.clone();
    let risk = f.risk.clone();
    let run = async {
        s.store.withdraw_acceptance(&p.actor(), &id).await?;
        Ok(s.store.get_risk(&risk).await?)
    };
    act(&s, &c, &risk, run).await
}

/// A new control.
#[derive(Debug, Deserialize)]
pub struct ControlForm {
    /// Catalog measure it comes from (`catalog@version:ref`), optional.
    #[serde(default)]
    pub source: String,
    /// Title (defaults to the measure's).
    #[serde(default)]
    pub title: String,
    /// Due date.
    #[serde(default)]
    pub due_date: String,
}

/// `POST /risks/{ref}/controls`.
pub async fn create_control(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<ControlForm>,
) -> UiResult {
    let p = c.require(Perm::RiskWrite)?.clone();
    let run = async {
        let input: aigov_core::risk::ControlInput = serde_json::from_value(json!({
            "source": some(&Some(f.source.clone())),
            "title": f.title.trim(),
            "due_date": some(&Some(f.due_date.clone())),
        }))
        .map_err(|e| ApiError::invalid(vec![FieldError::new("title", e.to_string())]))?;
        let lib = s.library().await;
        s.store.create_control(&p.actor(), &lib, &id, input).await?;
        Ok(s.store.get_risk(&id).await?)
    };
    act(&s, &c, &id, run).await
}

/// An assessment row.
#[derive(Debug, Clone)]
pub struct AssessmentRow {
    /// When.
    pub at: String,
    /// Kind label.
    pub kind: String,
    /// `L × I`.
    pub score: String,
    /// Grade.
    pub grade: Grade,
    /// Basis label.
    pub basis: String,
    /// Why.
    pub rationale: String,
    /// Who.
    pub actor: String,
}

#[derive(Template)]
#[template(path = "risk.html")]
struct RiskTpl<'a> {
    c: &'a Ctx,
    r: Risk,
    key: String,
    title: String,
    grade: Grade,
    status: String,
    fields: Vec<(&'a str, String)>,
    taxonomy: Vec<String>,
    assessments: Vec<AssessmentRow>,
    likelihood: Vec<(usize, String)>,
    impact: Vec<(usize, String)>,
    treatment: String,
    controls: Vec<(String, String, String)>,
    actions: Vec<(String, String, bool)>,
    acceptances: Vec<AcceptanceRow>,
    evidence: Vec<EvidenceSummary>,
    incidents: Vec<(String, String, String)>,
    history: Vec<HistoryRow>,
    e: FieldErrors,
    closed: bool,
    approver: String,
}

async fn risk_page(
    s: &AppState,
    c: &Ctx,
    id: &str,
    status: StatusCode,
    e: FieldErrors,
) -> UiResult {
    let r = s.store.get_risk(id).await?;
    let m = s.store.system_methodology(&r.system_id).await?;
    let assessments: Vec<Assessment> = s.store.assessments(&r.id).await?;
    let controls: Vec<Control> = s.store.list_controls(&r.id).await?;
    let actions: Vec<Action> = s.store.list_actions(&r.id).await?;
    let acceptances: Vec<Acceptance> = s.store.list_acceptances(&r.id).await?;
    let evidence = s.store.evidence_for("risk", &r.id).await?;
    let incidents = s.store.incidents_of_risk(&r.id).await?;
    let history = history(s, c, "risk", &r.id).await;
    let d = |k: &str| {
        r.data
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let owner = match d("owner_id") {
        o if o.is_empty() || !c.can("user_read") => o,
        o => s
            .store
            .get_user(&o)
            .await
            .map(|u| format!("{} ({})", u.display_name, u.username))
            .unwrap_or(o),
    };
    let fields = vec![
        (c.t("risk.description"), d("description")),
        (c.t("risk.cause"), d("cause")),
        (c.t("risk.consequence"), d("consequence")),
        (c.t("system.stage"), c.w("stage", &d("stage")).to_string()),
        (c.t("col.owner"), owner),
        (
            c.t("risk.inherent"),
            grade_label(c, &m, r.inherent_level.as_deref()),
        ),
        (
            c.t("risk.residual"),
            grade_label(c, &m, r.residual_level.as_deref()),
        ),
        (
            c.t("risk.treatment_due"),
            r.treatment_due
                .as_deref()
                .map(view::when)
                .unwrap_or_default(),
        ),
    ];
    let approver = r
        .current_level
        .as_deref()
        .and_then(|l| m.level_by_id(l))
        .map(|l| c.w("role", l.approver.as_str()).to_string())
        .unwrap_or_default();
    let t = RiskTpl {
        key: r.r#ref.clone(),
        title: d("title"),
        grade: grade(c, &m, r.current_level.as_deref()),
        status: c.w("risk_status", &r.status).to_string(),
        fields,
        taxonomy: r
            .data
            .get("taxonomy")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        assessments: assessments
            .iter()
            .rev()
            .map(|a| AssessmentRow {
                at: view::when(&a.at),
                kind: c.w("assessment_kind", &a.kind).to_string(),
                score: match (a.likelihood, a.impact) {
                    (Some(l), Some(i)) => format!("{l} × {i}"),
                    _ => String::new(),
                },
                grade: grade(c, &m, Some(&a.level)),
                basis: c.w("basis", &a.basis).to_string(),
                rationale: a.rationale.clone(),
                actor: a.actor.clone(),
            })
            .collect(),
        likelihood: m
            .likelihood
            .iter()
            .enumerate()
            .map(|(i, x)| (i + 1, x.label.get(c.lang.code()).to_string()))
            .collect(),
        impact: m
            .impact
            .iter()
            .enumerate()
            .map(|(i, x)| (i + 1, x.label.get(c.lang.code()).to_string()))
            .collect(),
        treatment: r
            .treatment
            .as_deref()
            .map(|t| c.w("treatment", t).to_string())
            .unwrap_or_default(),
        controls: controls
            .iter()
            .map(|x| {
                let g = |k: &str| {
                    x.data
                        .get(k)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                };
                (
                    g("title"),
                    c.w("control_status", &g("status")).to_string(),
                    g("due_date"),
                )
            })
            .collect(),
        actions: actions
            .iter()
            .map(|a| {
                (
                    a.title.clone(),
                    a.due_date.clone().unwrap_or_default(),
                    a.done,
                )
            })
            .collect(),
        acceptances: acceptances
            .iter()
            .map(|a| AcceptanceRow {
                id: a.id.clone(),
                status: c.w("acceptance_status", &a.status).to_string(),
                pending: a.status == "pending",
                rationale: a.rationale.clone(),
                requested_by: a.requested_by.clone(),
                decided_by: a.decided_by.clone().unwrap_or_default(),
                note: a.decision_note.clone().unwrap_or_default(),
                expires: view::when(&a.expires_at),
                required_role: c.w("role", &a.required_role).to_string(),
            })
            .collect(),
        evidence,
        incidents: incidents
            .iter()
            .map(|i| {
                let g = |k: &str| i.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                (
                    g("incident"),
                    g("title"),
                    c.w("incident_status", &g("status")).to_string(),
                )
            })
            .collect(),
        history,
        e,
        closed: r.status == "closed",
        approver,
        r,
        c,
    };
    render_status(status, &t)
}

fn grade_label(c: &Ctx, m: &Methodology, level: Option<&str>) -> String {
    match level {
        None => String::new(),
        Some(l) => grade(c, m, Some(l)).label,
    }
}

/// `GET /risks/{ref}`.
pub async fn detail(State(s): State<AppState>, c: Ctx, Path(id): Path<String>) -> UiResult {
    c.require(Perm::RiskRead)?;
    risk_page(&s, &c, &id, StatusCode::OK, FieldErrors::default()).await
}

/// Runs a form action; a validation error re-shows the risk page with the field errors.
async fn act<F>(s: &AppState, c: &Ctx, id: &str, fut: F) -> UiResult
where
    F: std::future::Future<Output = Result<Risk, ApiError>>,
{
    match fut.await {
        Ok(r) => Ok(redirect(&format!("/risks/{}", r.r#ref))),
        Err(e) => {
            let errors = FieldErrors::from_api(c.lang, e)?;
            risk_page(s, c, id, StatusCode::UNPROCESSABLE_ENTITY, errors).await
        }
    }
}

/// The assessment form.
#[derive(Debug, Deserialize)]
pub struct AssessForm {
    /// inherent, current, residual.
    #[serde(default)]
    pub kind: String,
    /// 1-based.
    #[serde(default)]
    pub likelihood: String,
    /// 1-based.
    #[serde(default)]
    pub impact: String,
    /// Why.
    #[serde(default)]
    pub rationale: String,
}

/// `POST /risks/{ref}/assess`: a likelihood × impact judgement.
pub async fn assess(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<AssessForm>,
) -> UiResult {
    let p = c.require(Perm::RiskAssess)?.clone();
    let num = |v: &str| v.trim().parse::<usize>().ok();
    let run = async {
        let input: AssessmentInput = serde_json::from_value(json!({
            "kind": f.kind, "likelihood": num(&f.likelihood), "impact": num(&f.impact),
            "basis": "judgement", "rationale": f.rationale,
        }))
        .map_err(|e| ApiError::invalid(vec![FieldError::new("kind", e.to_string())]))?;
        Ok(s.store.assess(&p.actor(), &id, input).await?.0)
    };
    act(&s, &c, &id, run).await
}

/// The treatment form.
#[derive(Debug, Deserialize)]
pub struct TreatmentForm {
    /// mitigate, avoid, transfer, accept.
    #[serde(default)]
    pub decision: String,
    /// Why.
    #[serde(default)]
    pub rationale: String,
    /// Version read.
    #[serde(default)]
    pub version: i64,
}

/// `POST /risks/{ref}/treatment`.
pub async fn treatment(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<TreatmentForm>,
) -> UiResult {
    let p = c.require(Perm::RiskWrite)?.clone();
    let run = async {
        let d = parse_field(
            "decision",
            &f.decision,
            Treatment::parse,
            Treatment::expected(),
        )?;
        Ok(s.store
            .set_treatment(&p.actor(), &id, d, &f.rationale, f.version)
            .await?)
    };
    act(&s, &c, &id, run).await
}

/// Close or reopen.
#[derive(Debug, Deserialize)]
pub struct StatusForm {
    /// closed, identified, assessed.
    #[serde(default)]
    pub to: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// Version read.
    #[serde(default)]
    pub version: i64,
}

/// `POST /risks/{ref}/status`.
pub async fn status(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<StatusForm>,
) -> UiResult {
    let p = c.require(Perm::RiskWrite)?.clone();
    let run = async {
        let to = parse_field("to", &f.to, RiskStatus::parse, RiskStatus::expected())?;
        Ok(s.store
            .set_risk_status(&p.actor(), &id, to, &f.reason, f.version)
            .await?)
    };
    act(&s, &c, &id, run).await
}

/// An acceptance request.
#[derive(Debug, Deserialize)]
pub struct AcceptanceForm {
    /// Why.
    #[serde(default)]
    pub rationale: String,
    /// Until (a date).
    #[serde(default)]
    pub expires_on: String,
}

/// `POST /risks/{ref}/acceptance`: asks for acceptance (the approver's role comes from the
/// methodology's appetite).
pub async fn request_acceptance(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<AcceptanceForm>,
) -> UiResult {
    let p = c.require(Perm::AcceptanceRequest)?.clone();
    let run = async {
        let exp =
            Timestamp::parse(&format!("{}T00:00:00Z", f.expires_on.trim())).map_err(|_| {
                ApiError::invalid(vec![FieldError::new(
                    "expires_on",
                    "must be a date such as 2027-06-30",
                )])
            })?;
        s.store
            .request_acceptance(&p.actor(), &id, &f.rationale, exp)
            .await?;
        Ok(s.store.get_risk(&id).await?)
    };
    act(&s, &c, &id, run).await
}

/// The new-risk form.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RiskForm {
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Cause.
    #[serde(default)]
    pub cause: String,
    /// Consequence.
    #[serde(default)]
    pub consequence: String,
    /// Taxonomy items, one per line.
    #[serde(default)]
    pub taxonomy: String,
}

#[derive(Template)]
#[template(path = "risk_new.html")]
struct NewRiskTpl<'a> {
    c: &'a Ctx,
    system: String,
    v: RiskForm,
    e: FieldErrors,
}

/// `GET /systems/{ref}/risks/new`.
pub async fn new_form(State(s): State<AppState>, c: Ctx, Path(id): Path<String>) -> UiResult {
    c.require(Perm::RiskWrite)?;
    let sys = s
        .store
        .get_object(aigov_core::inventory::ObjectKind::System, &id)
        .await?;
    render(&NewRiskTpl {
        c: &c,
        system: sys.r#ref,
        v: RiskForm::default(),
        e: FieldErrors::default(),
    })
}

/// `POST /systems/{ref}/risks/new`.
pub async fn create(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<RiskForm>,
) -> UiResult {
    let p = c.require(Perm::RiskWrite)?;
    let taxonomy: Vec<String> = f
        .taxonomy
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let input = RiskInput {
        title: f.title.trim().to_string(),
        description: f.description.clone(),
        cause: f.cause.clone(),
        consequence: f.consequence.clone(),
        stage: None,
        owner_id: None,
        unmapped: taxonomy.is_empty(),
        taxonomy,
    };
    let lib = s.library().await;
    match s.store.create_risk(&p.actor(), &lib, &id, input).await {
        Ok(r) => Ok(redirect(&format!("/risks/{}", r.r#ref))),
        Err(e) => {
            let errors = FieldErrors::from_api(c.lang, e.into())?;
            render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &NewRiskTpl {
                    c: &c,
                    system: id,
                    v: f,
                    e: errors,
                },
            )
        }
    }
}
