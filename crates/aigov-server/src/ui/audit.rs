//! The audit log viewer (filters, newest first, CSV) with a button that verifies the hash
//! chain (htmx fragment; a plain link shows the same page with the result).

use aigov_core::access::Perm;
use aigov_store::audit_log::AuditQuery;
use askama::Template;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use super::view::{self, Ctx, Htmx, Pager, UiResult, csv_response, render, some, wants_csv};
use crate::AppState;

/// Filters.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct AuditFilters {
    /// Exact actor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Action or prefix ending in `.`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Object id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// Skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    /// `csv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

impl AuditFilters {
    fn href(&self, offset: Option<i64>, format: Option<&str>) -> String {
        let f = AuditFilters {
            actor: some(&self.actor),
            action: some(&self.action),
            object_id: some(&self.object_id),
            offset: offset.filter(|o| *o > 0),
            format: format.map(str::to_string),
        };
        view::list_href("/audit", &f)
    }

    fn query(&self, limit: i64, offset: i64) -> AuditQuery {
        AuditQuery {
            actor: some(&self.actor),
            action: some(&self.action),
            object_id: some(&self.object_id),
            desc: true,
            limit,
            offset,
            ..Default::default()
        }
    }
}

/// A row.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// Sequence number.
    pub seq: i64,
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// On what.
    pub object: String,
    /// Hash prefix.
    pub hash: String,
}

/// The verification result fragment.
#[derive(Template, Debug)]
#[template(path = "fragments/verify.html")]
pub struct VerifyTpl<'a> {
    /// Context.
    pub c: &'a Ctx,
    /// Intact.
    pub ok: bool,
    /// The message.
    pub message: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct ListTpl<'a> {
    c: &'a Ctx,
    f: AuditFilters,
    rows: Vec<EventRow>,
    pager: Pager,
    csv: String,
    verify: Option<VerifyTpl<'a>>,
}

async fn page(s: &AppState, c: &Ctx, f: AuditFilters, verify: Option<VerifyTpl<'_>>) -> UiResult {
    if wants_csv(&f.format) {
        let mut rows = Vec::new();
        let mut offset = 0;
        loop {
            let (items, total) = s.store.audit_list(&f.query(500, offset)).await?;
            for e in &items {
                rows.push(vec![
                    e.seq.to_string(),
                    e.at.clone(),
                    e.actor.clone(),
                    e.action.clone(),
                    e.object_type.clone(),
                    e.object_id.clone(),
                    e.hash.clone(),
                ]);
            }
            offset += 500;
            if items.is_empty() || offset >= total {
                break;
            }
        }
        return csv_response(
            "audit",
            &[
                "seq",
                "at",
                "actor",
                "action",
                "object_type",
                "object_id",
                "hash",
            ],
            &rows,
        );
    }
    let offset = f.offset.unwrap_or(0).max(0);
    let (items, total) = s.store.audit_list(&f.query(50, offset)).await?;
    let rows: Vec<EventRow> = items
        .iter()
        .map(|e| EventRow {
            seq: e.seq,
            at: view::when(&e.at),
            actor: e.actor.clone(),
            action: e.action.clone(),
            object: format!("{} {}", e.object_type, e.object_id),
            hash: e.hash.chars().take(12).collect(),
        })
        .collect();
    let pager = Pager::new(c, offset, 50, rows.len(), total, |o| f.href(Some(o), None));
    render(&ListTpl {
        c,
        csv: f.href(None, Some("csv")),
        f,
        rows,
        pager,
        verify,
    })
}

/// `GET /audit`.
pub async fn list(State(s): State<AppState>, c: Ctx, Query(f): Query<AuditFilters>) -> UiResult {
    c.require(Perm::AuditRead)?;
    page(&s, &c, f, None).await
}

/// `GET /audit/verify`: recomputes the chain (the same check as `GET /api/v1/audit/verify`).
pub async fn verify(State(s): State<AppState>, c: Ctx, Htmx(htmx): Htmx) -> UiResult {
    c.require(Perm::AuditRead)?;
    let r = s.store.audit_verify().await?;
    let v = VerifyTpl {
        c: &c,
        ok: r.broken.is_none(),
        message: match &r.broken {
            None => c.t1("audit.verify_ok", "count", view::group(r.events as i64)),
            Some(b) => c.tf(
                "audit.verify_bad",
                &[("seq", &b.seq.to_string()), ("reason", &b.reason)],
            ),
        },
    };
    if htmx {
        return render(&v);
    }
    page(&s, &c, AuditFilters::default(), Some(v)).await
}
