//! Reports: the page that lists report kinds with a form (kind, scope, format), and
//! `GET /reports/new`, whose rendering lives in one function, [`render_report`], so that the
//! report engine (`aigov-report`) can be wired in by replacing its body.

use aigov_core::access::Perm;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::view::{Ctx, UiResult, render, render_status};
use crate::AppState;
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
    /// Scope: a system ref (`SYS-1`) or a catalog id, when the kind takes one.
    #[serde(default)]
    pub system: Option<String>,
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

/// `GET /reports/new?kind=…&format=…&system=…`.
pub async fn new(State(s): State<AppState>, c: Ctx, Query(q): Query<ReportQuery>) -> UiResult {
    let p = c.require(Perm::RiskRead)?.clone();
    let r = render_report(&s, &p, &q).await;
    if r.status() == StatusCode::NOT_IMPLEMENTED {
        return render_status(
            StatusCode::NOT_IMPLEMENTED,
            &ReportsTpl {
                kinds: kinds(&c),
                formats: FORMATS,
                notice: c.t("report.not_yet").to_string(),
                c: &c,
            },
        );
    }
    Ok(r)
}

/// Renders one report as a download. Not wired yet: answers 501 (the page says so and points
/// to the CLI). The report engine replaces this body.
pub async fn render_report(
    _state: &AppState,
    _principal: &Principal,
    _q: &ReportQuery,
) -> Response {
    StatusCode::NOT_IMPLEMENTED.into_response()
}
