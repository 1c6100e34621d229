//! Evidence: the list (newest first, expired filter, CSV) and recording a link.

use aigov_core::access::Perm;
use aigov_core::records::EvidenceRecord;
use aigov_core::risk::EvidenceInput;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::view::{
    self, Ctx, FieldErrors, Pager, UiResult, csv_response, redirect, render_status, some, wants_csv,
};
use crate::AppState;

/// Filters.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct EvidenceFilters {
    /// Only expired (`true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired: Option<String>,
    /// Skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    /// `csv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

impl EvidenceFilters {
    fn href(&self, offset: Option<i64>, format: Option<&str>) -> String {
        let f = EvidenceFilters {
            expired: some(&self.expired),
            offset: offset.filter(|o| *o > 0),
            format: format.map(str::to_string),
        };
        view::list_href("/evidence", &f)
    }
}

/// The link form.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct EvidenceForm {
    /// Title.
    #[serde(default)]
    pub title: String,
    /// URL.
    #[serde(default)]
    pub url: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Effective date.
    #[serde(default)]
    pub effective_date: String,
    /// Expiry date.
    #[serde(default)]
    pub expires_on: String,
}

/// A row.
#[derive(Debug, Clone)]
pub struct EvRow {
    /// `EV-n`.
    pub key: String,
    /// Title.
    pub title: String,
    /// Link.
    pub url: Option<String>,
    /// file or link.
    pub kind: String,
    /// Effective.
    pub effective: String,
    /// Expires.
    pub expires: String,
    /// Expired.
    pub expired: bool,
    /// Targets.
    pub attached: String,
}

impl From<&EvidenceRecord> for EvRow {
    fn from(r: &EvidenceRecord) -> Self {
        EvRow {
            key: r.r#ref.clone(),
            title: r.title.clone(),
            url: r
                .url
                .clone()
                .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
            kind: r.kind.clone(),
            effective: r.effective_date.clone(),
            expires: r.expires_on.clone().unwrap_or_default(),
            expired: r.expired,
            attached: r.attached_to.join(", "),
        }
    }
}

#[derive(Template)]
#[template(path = "evidence.html")]
struct ListTpl<'a> {
    c: &'a Ctx,
    f: EvidenceFilters,
    rows: Vec<EvRow>,
    pager: Pager,
    csv: String,
    v: EvidenceForm,
    e: FieldErrors,
}

async fn page(
    s: &AppState,
    c: &Ctx,
    f: EvidenceFilters,
    status: StatusCode,
    v: EvidenceForm,
    e: FieldErrors,
) -> UiResult {
    let expired = some(&f.expired).is_some_and(|x| x == "true");
    if wants_csv(&f.format) {
        let mut rows = Vec::new();
        let mut offset = 0;
        loop {
            let (items, total) = s.store.list_evidence(expired, 500, offset).await?;
            for r in &items {
                rows.push(vec![
                    r.r#ref.clone(),
                    r.title.clone(),
                    r.kind.clone(),
                    r.url.clone().unwrap_or_default(),
                    r.file_name.clone().unwrap_or_default(),
                    r.effective_date.clone(),
                    r.expires_on.clone().unwrap_or_default(),
                    r.expired.to_string(),
                    r.attached_to.join(" "),
                ]);
            }
            offset += 500;
            if items.is_empty() || offset >= total {
                break;
            }
        }
        return csv_response(
            "evidence",
            &[
                "ref",
                "title",
                "kind",
                "url",
                "file_name",
                "effective_date",
                "expires_on",
                "expired",
                "attached_to",
            ],
            &rows,
        );
    }
    let offset = f.offset.unwrap_or(0).max(0);
    let (rows, total) = s.store.list_evidence(expired, 50, offset).await?;
    let pager = Pager::new(c, offset, 50, rows.len(), total, |o| f.href(Some(o), None));
    render_status(
        status,
        &ListTpl {
            c,
            csv: f.href(None, Some("csv")),
            f,
            rows: rows.iter().map(EvRow::from).collect(),
            pager,
            v,
            e,
        },
    )
}

/// `GET /evidence`.
pub async fn list(State(s): State<AppState>, c: Ctx, Query(f): Query<EvidenceFilters>) -> UiResult {
    c.require(Perm::RiskRead)?;
    page(
        &s,
        &c,
        f,
        StatusCode::OK,
        EvidenceForm::default(),
        FieldErrors::default(),
    )
    .await
}

/// `POST /evidence`: records a link.
pub async fn create(State(s): State<AppState>, c: Ctx, Form(f): Form<EvidenceForm>) -> UiResult {
    let p = c.require(Perm::EvidenceWrite)?;
    let input = EvidenceInput {
        title: f.title.trim().to_string(),
        description: f.description.clone(),
        url: some(&Some(f.url.clone())),
        effective_date: some(&Some(f.effective_date.clone())),
        expires_on: some(&Some(f.expires_on.clone())),
    };
    match s.store.create_evidence_link(&p.actor(), input).await {
        Ok(_) => Ok(redirect("/evidence")),
        Err(e) => {
            let errors = FieldErrors::from_api(c.lang, e.into())?;
            page(
                &s,
                &c,
                EvidenceFilters::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
                f,
                errors,
            )
            .await
        }
    }
}
