//! Reports: the page that lists report kinds with a form (kind, scope, format), and
//! `GET /reports/new`, whose rendering lives in one function, [`render_report`], so that the
//! report engine (`aigov-report`) can be wired in by replacing its body.

use aigov_core::access::Perm;
use aigov_report::{Format, Kind, ReportRequest};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::view::{Ctx, UiResult, render, render_status};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::Principal;

/// Report kinds offered in the UI.
pub const KINDS: &[&str] = &["system-risk", "compliance", "risk-register", "incident"];
/// Formats offered in the UI.
pub const FORMATS: &[&str] = &["html", "pdf", "md", "csv", "json"];

/// What `GET /reports/new` is asked for.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ReportQuery {
    /// Report kind (see [`KINDS`]).
    #[serde(default)]
    pub kind: String,
    /// Format (see [`FORMATS`]).
    #[serde(default)]
    pub format: String,
    /// A system (`SYS-1`): required for the system report, narrows the others.
    #[serde(default)]
    pub system: Option<String>,
    /// A catalog id (compliance report; all adopted catalogs when empty).
    #[serde(default)]
    pub catalog: Option<String>,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsTpl<'a> {
    c: &'a Ctx,
    kinds: Vec<(&'static str, String)>,
    formats: &'static [&'static str],
    notice: String,
}

fn kinds(c: &Ctx) -> Vec<(&'static str, String)> {
    KINDS
        .iter()
        .map(|k| (*k, c.t(&format!("report.kind.{k}")).to_string()))
        .collect()
}

/// `GET /reports`.
pub async fn page(c: Ctx) -> UiResult {
    c.require(Perm::RiskRead)?;
    render(&ReportsTpl {
        kinds: kinds(&c),
        formats: FORMATS,
        notice: String::new(),
        c: &c,
    })
}

/// `GET /reports/new?kind=…&format=…&system=…&catalog=…`: the report as a download, or the
/// form again with what was wrong (an unknown system, a system report without a system …).
pub async fn new(State(s): State<AppState>, c: Ctx, Query(q): Query<ReportQuery>) -> UiResult {
    let p = c.require(Perm::ReportGenerate)?.clone();
    match render_report(&s, &p, &q).await {
        Ok(r) => Ok(r),
        Err(e) if e.status().is_client_error() && e.code() != "forbidden" => render_status(
            e.status(),
            &ReportsTpl {
                kinds: kinds(&c),
                formats: FORMATS,
                notice: e.detail().to_string(),
                c: &c,
            },
        ),
        Err(e) => Err(e.into()),
    }
}

/// Renders one report as a download through the report engine (the same path as
/// `GET /api/v1/reports/{kind}`: built, rendered, recorded in the audit log).
pub async fn render_report(
    state: &AppState,
    principal: &Principal,
    q: &ReportQuery,
) -> Result<Response, ApiError> {
    let kind = match q.kind.as_str() {
        "system-risk" | "system" => Kind::System,
        "compliance" => Kind::Compliance,
        "risk-register" | "register" => Kind::Register,
        "incident" => Kind::Incident,
        other => {
            return Err(ApiError::bad_field(
                "kind",
                format!("no report kind {other:?}"),
            ));
        }
    };
    let format = match q.format.as_str() {
        "" => Format::Html,
        f => Format::parse(f)
            .ok_or_else(|| ApiError::bad_field("format", "expected html, pdf, md, csv or json"))?,
    };
    let nonempty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from)
    };
    let req = ReportRequest {
        kind: Some(kind),
        system: nonempty(&q.system),
        catalog: nonempty(&q.catalog),
        ..Default::default()
    };
    crate::api::reports::respond(state, principal, kind, format, &req).await
}
