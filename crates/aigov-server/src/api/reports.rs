//! Reports: `GET /api/v1/reports/{kind}` builds a report, renders it in the requested format,
//! records the `report.generated` audit event and returns the file (the `aigov-report` crate
//! does the work; this module only speaks HTTP).

use aigov_core::access::Perm;
use aigov_report::{Format, Kind, ReportError, ReportRequest};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Principal, Query};

/// What to report on; each kind reads the parameters that apply to it.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// html (default), md, csv, json or pdf.
    pub format: Option<String>,
    /// System (SYS-n or id): required for `system`; narrows compliance, register, incident.
    pub system: Option<String>,
    /// Catalog id (compliance).
    pub catalog: Option<String>,
    /// One incident (INC-n) for `incident`.
    pub incident: Option<String>,
    /// Period start (date or RFC 3339).
    pub from: Option<String>,
    /// Period end, inclusive (date or RFC 3339).
    pub to: Option<String>,
    /// Risk status (register) or incident status (incident).
    pub status: Option<String>,
    /// Current level id (register).
    pub level: Option<String>,
    /// Owner username or id (register).
    pub owner: Option<String>,
    /// Title contains (register).
    pub q: Option<String>,
    /// Taxonomy item `catalog@version:ref` (register).
    pub taxonomy: Option<String>,
    /// Only risks with overdue treatment (register).
    pub treatment_overdue: Option<bool>,
}

fn report_error(e: ReportError) -> ApiError {
    match e {
        ReportError::Store(s) => s.into(),
        ReportError::Invalid(m) => ApiError::bad_field("query", m),
        ReportError::NotFound(m) => ApiError::not_found(m),
        other => ApiError::new("internal", other.to_string()),
    }
}

/// Generate a report (system, compliance, register, incident) as HTML, Markdown, CSV, JSON or
/// PDF. Each call is recorded as a `report.generated` audit event with the sha256 of the
/// returned bytes; `aigov report verify` checks a downloaded file against it.
#[utoipa::path(get, path = "/api/v1/reports/{kind}", tag = "reports",
    params(("kind" = String, Path, description = "system, compliance, register or incident"), ReportParams),
    responses(
        (status = 200, description = "The report file (Content-Disposition: attachment); headers x-aigov-report-id and x-aigov-report-digest", content(
            (String = "text/html"), (String = "text/markdown"), (String = "text/csv"),
            (Object = "application/json"), (Vec<u8> = "application/pdf"))),
        (status = 400, description = "Malformed or missing parameters", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such report kind, system, catalog or incident", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn generate(
    State(s): State<AppState>,
    p: Principal,
    Path(kind): Path<String>,
    Query(q): Query<ReportParams>,
) -> ApiResult<Response> {
    p.require(Perm::ReportGenerate)?;
    let kind = Kind::parse(&kind).ok_or_else(|| {
        ApiError::not_found(format!(
            "no report {kind:?} (expected system, compliance, register or incident)"
        ))
    })?;
    let format = match q.format.as_deref() {
        None => Format::Html,
        Some(f) => Format::parse(f)
            .ok_or_else(|| ApiError::bad_field("format", "expected html, md, csv, json or pdf"))?,
    };
    let req = ReportRequest {
        kind: Some(kind),
        system: q.system,
        catalog: q.catalog,
        incident: q.incident,
        from: q.from,
        to: q.to,
        status: q.status,
        level: q.level,
        owner: q.owner,
        q: q.q,
        taxonomy: q.taxonomy,
        treatment_overdue: q.treatment_overdue.unwrap_or(false),
    };
    respond(&s, &p, kind, format, &req).await
}

/// Builds, renders and records a report and answers it as a download (the API and the UI's
/// report form both end here).
pub async fn respond(
    s: &AppState,
    p: &Principal,
    kind: Kind,
    format: Format,
    req: &ReportRequest,
) -> ApiResult<Response> {
    p.require(Perm::ReportGenerate)?;
    let lib = s.library().await;
    let (report, bytes) = aigov_report::generate(
        s.store.as_ref(),
        &lib,
        req,
        format,
        s.store.now(),
        &p.actor(),
    )
    .await
    .map_err(report_error)?;
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}-{}.{}\"",
        kind.as_str(),
        report.meta.id,
        format.as_str()
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&report.meta.id) {
        h.insert("x-aigov-report-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("sha256:{}", report.digest)) {
        h.insert("x-aigov-report-digest", v);
    }
    Ok(r)
}
