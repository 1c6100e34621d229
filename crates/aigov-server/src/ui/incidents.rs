//! Incidents: the list (open ones first by reporting deadline in the dashboard; here newest
//! first, with filters and CSV), recording one, and an incident's page with its timeline.

use aigov_core::access::Perm;
use aigov_core::records::Incident;
use aigov_core::risk::{CloseOut, IncidentInput, IncidentStatus, Severity};
use aigov_store::incidents::IncidentQuery;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::systems::{HistoryRow, history};
use super::view::{
    self, Ctx, FieldErrors, Pager, UiResult, csv_response, redirect, render_status, some, wants_csv,
};
use crate::AppState;
use crate::error::ApiError;

/// Filters.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct IncidentFilters {
    /// Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Only open (`true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<String>,
    /// Skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    /// `csv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

impl IncidentFilters {
    fn href(&self, offset: Option<i64>, format: Option<&str>) -> String {
        let f = IncidentFilters {
            status: some(&self.status),
            open: some(&self.open),
            offset: offset.filter(|o| *o > 0),
            format: format.map(str::to_string),
        };
        view::list_href("/incidents", &f)
    }
}

/// A row.
#[derive(Debug, Clone)]
pub struct IncidentRow {
    /// `INC-n`.
    pub key: String,
    /// Title.
    pub title: String,
    /// Severity label.
    pub severity: String,
    /// Status label.
    pub status: String,
    /// Detected.
    pub detected: String,
    /// Reporting deadline.
    pub due: String,
    /// Reporting overdue.
    pub overdue: bool,
}

fn d(i: &Incident, k: &str) -> String {
    match i.data.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

fn row(c: &Ctx, i: &Incident) -> IncidentRow {
    IncidentRow {
        key: i.r#ref.clone(),
        title: d(i, "title"),
        severity: c.w("severity", &d(i, "severity")).to_string(),
        status: c.w("incident_status", &d(i, "status")).to_string(),
        detected: view::when(&d(i, "detected_at")),
        due: i.report_due.as_deref().map(view::when).unwrap_or_default(),
        overdue: i.reporting_overdue,
    }
}

/// The new-incident form.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct IncidentForm {
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Severity.
    #[serde(default)]
    pub severity: String,
    /// Detected (datetime-local).
    #[serde(default)]
    pub detected_at: String,
    /// Affected systems.
    #[serde(default)]
    pub systems: String,
    /// Description.
    #[serde(default)]
    pub description: String,
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct ListTpl<'a> {
    c: &'a Ctx,
    f: IncidentFilters,
    rows: Vec<IncidentRow>,
    pager: Pager,
    csv: String,
    statuses: Vec<(&'static str, &'a str)>,
    severities: Vec<(&'static str, &'a str)>,
    v: IncidentForm,
    e: FieldErrors,
}

async fn list_page(
    s: &AppState,
    c: &Ctx,
    f: IncidentFilters,
    status: StatusCode,
    v: IncidentForm,
    e: FieldErrors,
) -> UiResult {
    let csv = wants_csv(&f.format);
    let st = match some(&f.status) {
        None => None,
        Some(x) => Some(IncidentStatus::parse(&x).ok_or_else(|| {
            ApiError::bad_field(
                "status",
                format!("must be one of {}", IncidentStatus::expected()),
            )
        })?),
    };
    let mut q = IncidentQuery {
        status: st,
        open: some(&f.open).is_some_and(|x| x == "true"),
        limit: if csv { 500 } else { 50 },
        offset: if csv { 0 } else { f.offset.unwrap_or(0).max(0) },
        ..Default::default()
    };
    if csv {
        let mut rows = Vec::new();
        loop {
            let (items, total) = s.store.list_incidents(&q).await?;
            for i in &items {
                rows.push(vec![
                    i.r#ref.clone(),
                    d(i, "title"),
                    d(i, "severity"),
                    d(i, "status"),
                    d(i, "detected_at"),
                    i.report_due.clone().unwrap_or_default(),
                    i.reporting_overdue.to_string(),
                    d(i, "systems"),
                ]);
            }
            q.offset += q.limit;
            if items.is_empty() || q.offset >= total {
                break;
            }
        }
        return csv_response(
            "incidents",
            &[
                "ref",
                "title",
                "severity",
                "status",
                "detected_at",
                "report_due",
                "reporting_overdue",
                "systems",
            ],
            &rows,
        );
    }
    let (items, total) = s.store.list_incidents(&q).await?;
    let rows: Vec<IncidentRow> = items.iter().map(|i| row(c, i)).collect();
    let pager = Pager::new(c, q.offset, q.limit, rows.len(), total, |o| {
        f.href(Some(o), None)
    });
    render_status(
        status,
        &ListTpl {
            c,
            csv: f.href(None, Some("csv")),
            statuses: view::options(
                c,
                "incident_status",
                IncidentStatus::ALL,
                IncidentStatus::as_str,
            ),
            severities: view::options(c, "severity", Severity::ALL, Severity::as_str),
            f,
            rows,
            pager,
            v,
            e,
        },
    )
}

/// `GET /incidents`.
pub async fn list(State(s): State<AppState>, c: Ctx, Query(f): Query<IncidentFilters>) -> UiResult {
    c.require(Perm::RiskRead)?;
    let v = IncidentForm {
        severity: "medium".into(),
        ..Default::default()
    };
    list_page(&s, &c, f, StatusCode::OK, v, FieldErrors::default()).await
}

/// `POST /incidents`.
pub async fn create(State(s): State<AppState>, c: Ctx, Form(f): Form<IncidentForm>) -> UiResult {
    let p = c.require(Perm::IncidentWrite)?;
    let detected = if f.detected_at.len() == 16 {
        format!("{}:00Z", f.detected_at)
    } else {
        f.detected_at.clone()
    };
    let systems: Vec<String> = f
        .systems
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect();
    let input: Result<IncidentInput, _> = serde_json::from_value(json!({
        "title": f.title.trim(), "severity": f.severity, "detected_at": detected,
        "systems": systems, "description": f.description,
    }));
    let r = match input {
        Ok(i) => s
            .store
            .create_incident(&p.actor(), &s.rules, i)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(ApiError::invalid(vec![aigov_core::FieldError::new(
            "severity",
            e.to_string(),
        )])),
    };
    match r {
        Ok(i) => Ok(redirect(&format!("/incidents/{}", i.r#ref))),
        Err(e) => {
            let errors = FieldErrors::from_api(c.lang, e)?;
            list_page(
                &s,
                &c,
                IncidentFilters::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
                f,
                errors,
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "incident.html")]
struct DetailTpl<'a> {
    c: &'a Ctx,
    i: IncidentRow,
    version: i64,
    closed: bool,
    /// The root-cause risks, comma-separated (the link form's value).
    roots: String,
    /// The first affected system (where a new root-cause risk goes by default).
    system: String,
    e: FieldErrors,
    fields: Vec<(&'a str, String)>,
    timeline: Vec<(String, String, String)>,
    evidence: Vec<String>,
    history: Vec<HistoryRow>,
}

/// `GET /incidents/{ref}`.
pub async fn detail(State(s): State<AppState>, c: Ctx, Path(id): Path<String>) -> UiResult {
    c.require(Perm::RiskRead)?;
    detail_page(&s, &c, &id, StatusCode::OK, FieldErrors::default()).await
}

/// The incident page, with `e` shown on the close or reopen form.
async fn detail_page(
    s: &AppState,
    c: &Ctx,
    id: &str,
    status: StatusCode,
    e: FieldErrors,
) -> UiResult {
    let inc = s.store.get_incident(id).await?;
    let history = history(s, c, "incident", &inc.id).await;
    let review = |k: &str| match inc.review.as_ref().and_then(|r| r.get(k)) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => c.t(if *b { "common.yes" } else { "common.no" }).to_string(),
        _ => String::new(),
    };
    let fields = vec![
        (c.t("incident.description"), d(&inc, "description")),
        (
            c.t("incident.detected"),
            view::when(&d(&inc, "detected_at")),
        ),
        (c.t("col.system"), d(&inc, "systems")),
        (c.t("col.risk"), d(&inc, "risks")),
        (c.t("incident.root_cause"), d(&inc, "root_cause_risks")),
        (c.t("incident.summary"), review("summary")),
        (c.t("incident.lessons"), review("lessons")),
        (c.t("incident.reporting_met"), review("reporting_met")),
        (c.t("incident.closed_at"), view::when(&review("closed_at"))),
    ];
    render_status(
        status,
        &DetailTpl {
            i: row(c, &inc),
            version: inc.version,
            closed: d(&inc, "status") == "closed",
            roots: d(&inc, "root_cause_risks"),
            system: inc
                .data
                .get("systems")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            e,
            fields,
            timeline: inc
                .timeline
                .iter()
                .map(|t| (view::when(&t.at), t.entry.clone(), t.actor.clone()))
                .collect(),
            evidence: inc.evidence.iter().map(|e| e.title.clone()).collect(),
            history,
            c,
        },
    )
}

/// The close-out review.
#[derive(Debug, Deserialize)]
pub struct CloseForm {
    /// What happened and how it was handled.
    #[serde(default)]
    pub summary: String,
    /// What was learned.
    #[serde(default)]
    pub lessons: String,
    /// `yes`, `no`, or empty (worked out from the reporting deadline).
    #[serde(default)]
    pub reporting_met: String,
    /// Version read.
    #[serde(default)]
    pub version: i64,
}

/// `POST /incidents/{ref}/close`.
pub async fn close(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<CloseForm>,
) -> UiResult {
    let p = c.require(Perm::IncidentWrite)?.clone();
    let run = async {
        let reporting_met = match f.reporting_met.trim() {
            "" => None,
            "yes" => Some(true),
            "no" => Some(false),
            other => {
                return Err(ApiError::invalid(vec![aigov_core::FieldError::new(
                    "reporting_met",
                    format!("{other:?} is not one of: yes, no, or empty"),
                )]));
            }
        };
        let review = CloseOut {
            summary: f.summary.clone(),
            lessons: f.lessons.clone(),
            reporting_met,
        };
        Ok(s.store
            .close_incident(&p.actor(), &id, review, f.version)
            .await?)
    };
    act(&s, &c, &id, run).await
}

/// Why an incident is reopened.
#[derive(Debug, Deserialize)]
pub struct ReopenForm {
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// Version read.
    #[serde(default)]
    pub version: i64,
}

/// `POST /incidents/{ref}/reopen`.
pub async fn reopen(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<ReopenForm>,
) -> UiResult {
    let p = c.require(Perm::IncidentWrite)?.clone();
    let run = async {
        Ok(s.store
            .reopen_incident(&p.actor(), &id, &f.reason, f.version)
            .await?)
    };
    act(&s, &c, &id, run).await
}

/// The risks behind an incident: the whole list of existing ones, or a new one.
#[derive(Debug, Deserialize)]
pub struct RootCauseForm {
    /// Existing risks (refs, separated by commas or spaces): replaces the list.
    #[serde(default)]
    pub risks: String,
    /// A new risk's title; when given, the risk is registered on `system` and linked.
    #[serde(default)]
    pub title: String,
    /// The system of the new risk.
    #[serde(default)]
    pub system: String,
    /// Version read (for the list).
    #[serde(default)]
    pub version: i64,
}

/// `POST /incidents/{ref}/root-cause`: sets the root-cause risks, or registers a new risk as
/// a root cause (which needs the right to write risks too).
pub async fn root_cause(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<RootCauseForm>,
) -> UiResult {
    let p = c.require(Perm::IncidentWrite)?.clone();
    if !f.title.trim().is_empty() {
        c.require(Perm::RiskWrite)?;
        let input = aigov_core::risk::RiskInput {
            title: f.title.trim().to_string(),
            description: String::new(),
            cause: String::new(),
            consequence: String::new(),
            stage: None,
            owner_id: None,
            unmapped: true,
            taxonomy: Vec::new(),
        };
        let lib = s.library().await;
        let run = async {
            Ok(s.store
                .root_cause_new_risk(&p.actor(), &lib, &id, f.system.trim(), input)
                .await?
                .0)
        };
        return act(&s, &c, &id, run).await;
    }
    let refs: Vec<&str> = f
        .risks
        .split(|ch: char| ch == ',' || ch == '，' || ch.is_whitespace())
        .filter(|r| !r.is_empty())
        .collect();
    let run = async {
        Ok(s.store
            .update_incident(
                &p.actor(),
                &s.rules,
                &id,
                json!({ "root_cause_risks": refs }),
                f.version,
            )
            .await?)
    };
    act(&s, &c, &id, run).await
}

/// Back to the incident after a change, or its page again with the problems on the form.
async fn act<F>(s: &AppState, c: &Ctx, id: &str, fut: F) -> UiResult
where
    F: std::future::Future<Output = Result<Incident, ApiError>>,
{
    match fut.await {
        Ok(i) => Ok(redirect(&format!("/incidents/{}", i.r#ref))),
        Err(e) => {
            let errors = FieldErrors::from_api(c.lang, e)?;
            detail_page(s, c, id, StatusCode::UNPROCESSABLE_ENTITY, errors).await
        }
    }
}

/// A timeline entry.
#[derive(Debug, Deserialize)]
pub struct TimelineForm {
    /// What happened.
    #[serde(default)]
    pub entry: String,
}

/// `POST /incidents/{ref}/timeline`.
pub async fn add_timeline(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<TimelineForm>,
) -> UiResult {
    let p = c.require(Perm::IncidentWrite)?;
    let inc = s
        .store
        .add_timeline(&p.actor(), &id, None, &f.entry)
        .await?;
    Ok(redirect(&format!("/incidents/{}", inc.r#ref)))
}
