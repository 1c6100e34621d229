//! The dashboard: the heat map, risks by grade and status, overdue work, open incidents with
//! their reporting deadlines and checklist coverage per framework — from the same store
//! aggregates as `GET /api/v1/dashboard` and `GET /api/v1/overdue`.

use aigov_core::access::Perm;
use aigov_core::methodology::{Methodology, default_methodology};
use askama::Template;
use axum::extract::State;
use serde_json::Value;

use super::view::{self, Bars, Ctx, Heatmap, UiResult, group, render};
use crate::AppState;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashTpl<'a> {
    c: &'a Ctx,
    open_risks: String,
    overdue_treatments: String,
    pending_acceptances: String,
    open_incidents: String,
    h: Heatmap,
    heat_empty: bool,
    by_grade: Bars,
    by_status: Bars,
    /// (kind, risk ref, title, due)
    overdue: Vec<(String, String, String, String)>,
    /// (ref, title, severity, due, overdue)
    incidents: Vec<(String, String, String, String, bool)>,
    coverage: Bars,
}

/// The likelihood × impact heat map fragment (also used by the snapshot tests).
#[derive(Template, Debug)]
#[template(path = "fragments/heatmap.html")]
pub struct HeatTpl {
    /// The chart.
    pub h: Heatmap,
}

/// The heat map as SVG for `(likelihood, impact, count)` on `m`.
pub fn heatmap_svg(
    c: &Ctx,
    m: &Methodology,
    counts: &[(i64, i64, i64)],
) -> Result<String, askama::Error> {
    HeatTpl {
        h: view::heatmap(c, m, counts),
    }
    .render()
}

fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Null) | None => String::new(),
        Some(x) => x.to_string(),
    }
}

fn n(v: &Value, k: &str) -> i64 {
    v.get(k).and_then(Value::as_i64).unwrap_or(0)
}

/// The heat map from the dashboard aggregate.
pub fn heat_of(c: &Ctx, m: &Methodology, d: &Value) -> Heatmap {
    let counts: Vec<(i64, i64, i64)> = d["heatmap"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| (n(x, "likelihood"), n(x, "impact"), n(x, "count")))
                .collect()
        })
        .unwrap_or_default();
    view::heatmap(c, m, &counts)
}

/// `GET /`.
pub async fn page(State(st): State<AppState>, c: Ctx) -> UiResult {
    c.require(Perm::RiskRead)?;
    // The two aggregates are independent reads: run them side by side (the dashboard's
    // server time is then the slower of the two, not their sum).
    let (d, o) = tokio::join!(st.store.dashboard(), st.store.overdue());
    let (d, o) = (d?, o?);
    let m = default_methodology();
    let h = heat_of(&c, &m, &d);
    let heat_empty = d["heatmap"].as_array().is_none_or(|a| a.is_empty());
    let levels = d["risks_by_level"].as_array().cloned().unwrap_or_default();
    let mut grade_items = Vec::new();
    for l in m.levels.iter().rev() {
        let count = levels
            .iter()
            .find(|x| x["key"].as_str() == Some(l.id.as_str()))
            .map(|x| n(x, "count"))
            .unwrap_or(0);
        grade_items.push((
            l.label.get(c.lang.code()).to_string(),
            count as f64,
            group(count),
            l.color.clone(),
            format!("/risks?level={}", l.id),
        ));
    }
    let unassessed = levels
        .iter()
        .filter(|x| x["key"].is_null())
        .map(|x| n(x, "count"))
        .sum::<i64>();
    grade_items.push((
        c.t("risk.unassessed").to_string(),
        unassessed as f64,
        group(unassessed),
        "#9e9e9e".into(),
        "/risks?status=identified".into(),
    ));
    let open_risks: i64 = levels.iter().map(|x| n(x, "count")).sum();
    let statuses = d["risks_by_status"].as_array().cloned().unwrap_or_default();
    let status_items = aigov_core::risk::RiskStatus::ALL
        .iter()
        .map(|st| {
            let count = statuses
                .iter()
                .find(|x| x["key"].as_str() == Some(st.as_str()))
                .map(|x| n(x, "count"))
                .unwrap_or(0);
            (
                c.w("risk_status", st.as_str()).to_string(),
                count as f64,
                group(count),
                "#3b5bdb".to_string(),
                format!("/risks?status={}", st.as_str()),
            )
        })
        .collect();
    let mut overdue = Vec::new();
    for t in o.treatments.iter().take(10) {
        overdue.push((
            c.t("dash.kind_treatment").to_string(),
            s(t, "risk"),
            s(t, "title"),
            view::when(&s(t, "due")),
        ));
    }
    for a in o.acceptances_expiring.iter().take(10) {
        overdue.push((
            c.t("dash.kind_acceptance").to_string(),
            s(a, "risk"),
            c.w("acceptance_status", "approved").to_string(),
            view::when(&s(a, "expires_at")),
        ));
    }
    for a in o.actions.iter().take(10) {
        overdue.push((
            c.t("dash.kind_action").to_string(),
            s(a, "risk"),
            s(a, "title"),
            s(a, "due"),
        ));
    }
    let incidents: Vec<_> = d["open_incidents"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| {
                    (
                        s(i, "incident"),
                        s(i, "title"),
                        s(i, "severity"),
                        view::when(&s(i, "report_due")),
                        i["reporting_overdue"].as_bool().unwrap_or(false),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let coverage = d["coverage"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    let pct = x["percent"].as_f64().unwrap_or(0.0);
                    (
                        s(x, "catalog"),
                        pct,
                        format!(
                            "{pct}% · {}/{}",
                            group(n(x, "assessed")),
                            group(n(x, "applicable"))
                        ),
                        "#3b5bdb".to_string(),
                        "/systems".to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let od = &d["overdue"];
    let t = DashTpl {
        open_risks: group(open_risks),
        overdue_treatments: group(n(od, "treatments")),
        pending_acceptances: group(n(od, "acceptances_pending")),
        open_incidents: group(incidents.len() as i64),
        h,
        heat_empty,
        by_grade: view::bars(c.t("dash.by_grade").into(), "by-grade", grade_items, None),
        by_status: view::bars(
            c.t("dash.by_status").into(),
            "by-status",
            status_items,
            None,
        ),
        overdue,
        incidents,
        coverage: view::bars(
            c.t("dash.coverage").into(),
            "coverage",
            coverage,
            Some(100.0),
        ),
        c: &c,
    };
    render(&t)
}
