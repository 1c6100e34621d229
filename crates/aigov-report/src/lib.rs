//! Reports: read-only views of the store, rendered for people and machines, each tied to the
//! audit log by one `report.generated` event.
//!
//! The entry points, in the order a caller uses them:
//! - [`build`] gathers a [`Report`] (the model) from the store for a [`ReportRequest`];
//! - [`render`] turns it into bytes in a [`Format`] (HTML, Markdown, CSV, JSON, PDF);
//! - [`record`] appends the `report.generated` audit event for those bytes;
//! - [`verify`] checks a file: offline against the data it embeds, and with a store against
//!   the audit event and the chain.
//!
//! [`generate`] does the first three in one call.
//!
//! Module map:
//! - [`model`] — the report model (the JSON format; the content digest is over it).
//! - `gather` — reading the store for each kind (system, compliance, register, incident).
//! - `layout` — the model as a format-neutral document (cover, sections, tables, charts).
//! - [`html`], [`markdown`], `csv_out`, [`pdf`] (feature `pdf`) — the renderers.
//! - `verify` — file verification.
//!
//! # Digest design
//! Every report has an id (`rep-` + UUIDv7) and a content digest: sha256 of the canonical
//! JSON (keys sorted, no whitespace, as the audit chain uses) of the model without its
//! `digest` field. The model also records the audit chain head (sequence number and hash)
//! read before gathering. The cover shows all three; HTML and Markdown embed the whole model
//! (a JSON script block; a trailing HTML comment), JSON is the model, PDF carries id and
//! digest in its keywords, and CSV carries nothing (it stays plain data; it is found by the
//! sha256 of its bytes). Rendering is deterministic, so a file whose embedded model renders
//! back to the same bytes is exactly what aigov wrote. The `report.generated` event stores
//! id, kind, scope, format, content digest and the sha256 of the output bytes.

pub mod html;
pub mod markdown;
pub mod model;
#[cfg(feature = "pdf")]
pub mod pdf;

mod csv_out;
mod gather;
mod layout;
mod verify;

use aigov_catalog::Library;
use aigov_core::Timestamp;
use aigov_core::audit::{AuditEvent, sha256_hex};
use aigov_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub use model::{Kind, Report};
pub use verify::{ChainCheck, EventRef, Verdict, Verification, verify};

/// Errors of building, rendering and recording reports.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The store failed (not found, IO …).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request is incomplete or malformed.
    #[error("{0}")]
    Invalid(String),
    /// Something named in the request does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Rendering failed (PDF compilation).
    #[error("cannot render the report: {0}")]
    Render(String),
    /// The format is not available in this build.
    #[error("{0} output is not available in this build (feature `pdf` is off)")]
    Unsupported(&'static str),
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Self-contained HTML (inline CSS and SVG, printable).
    Html,
    /// Markdown with GitHub tables.
    #[serde(rename = "md")]
    Markdown,
    /// The main table as CSV.
    Csv,
    /// The full model.
    Json,
    /// PDF (Typst, feature `pdf`).
    Pdf,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 5] = [
        Format::Html,
        Format::Markdown,
        Format::Csv,
        Format::Json,
        Format::Pdf,
    ];

    /// `html`, `md`, `csv`, `json`, `pdf` (also the file extension).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Markdown => "md",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Pdf => "pdf",
        }
    }

    /// Parses a format name (`markdown` is accepted for `md`).
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "markdown" => Some(Format::Markdown),
            s => Format::ALL.into_iter().find(|f| f.as_str() == s),
        }
    }

    /// The media type for HTTP responses.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Pdf => "application/pdf",
        }
    }

    /// Whether the output is text (safe to print to a terminal).
    pub fn is_text(self) -> bool {
        self != Format::Pdf
    }
}

/// What to report on. Which fields matter depends on the kind:
/// - `system`: `system` (required), `from`/`to` (incidents by detection time);
/// - `compliance`: `system` and/or `catalog` (catalog id), all systems when no system;
/// - `register`: `system`, `status`, `level`, `owner`, `q`, `taxonomy`, `treatment_overdue`
///   (as the register API filters), `from`/`to` (risks by creation time);
/// - `incident`: `incident` (one), or `system`, `status`, `from`/`to` (detection time).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportRequest {
    /// Which report.
    pub kind: Option<Kind>,
    /// A system (`SYS-n` or id).
    pub system: Option<String>,
    /// A catalog id.
    pub catalog: Option<String>,
    /// An incident (`INC-n` or id).
    pub incident: Option<String>,
    /// Period start (RFC 3339 or a date).
    pub from: Option<String>,
    /// Period end (RFC 3339 or a date, inclusive).
    pub to: Option<String>,
    /// Risk (or incident) status.
    pub status: Option<String>,
    /// Current risk level id.
    pub level: Option<String>,
    /// Owner (username or id).
    pub owner: Option<String>,
    /// Title substring.
    pub q: Option<String>,
    /// Taxonomy item (`catalog@version:ref`).
    pub taxonomy: Option<String>,
    /// Only risks whose treatment is overdue.
    pub treatment_overdue: bool,
}

impl ReportRequest {
    /// A request for `kind` with no filters.
    pub fn new(kind: Kind) -> ReportRequest {
        ReportRequest {
            kind: Some(kind),
            ..Default::default()
        }
    }
}

/// The program name and version written into reports.
pub const GENERATOR: &str = concat!("aigov ", env!("CARGO_PKG_VERSION"));

/// A new report id: `rep-` + UUIDv7 (time-ordered).
fn new_id(now: Timestamp) -> String {
    let mut r = [0u8; 10];
    aigov_store::crypto::fill_random(&mut r);
    format!("rep-{}", aigov_core::ids::uuid_v7(now, r))
}

/// Gathers a report. Reads only; `now` is the generation time (from the caller's clock) and
/// `actor` the audit actor label of whoever asked (`user:alice`, `cli:bob`).
pub async fn build(
    store: &dyn Store,
    lib: &Library,
    req: &ReportRequest,
    now: Timestamp,
    actor: &str,
) -> Result<Report, ReportError> {
    let kind = req.kind.ok_or_else(|| {
        ReportError::Invalid("which report? (system, compliance, register, incident)".into())
    })?;
    let period = model::Period {
        from: req
            .from
            .as_deref()
            .map(|s| gather::bound(s, false))
            .transpose()?,
        to: req
            .to
            .as_deref()
            .map(|s| gather::bound(s, true))
            .transpose()?,
    };
    // The head first: the report reflects at least this state of the log.
    let (seq, hash) = store.core().audit_head().await?;
    let g = gather::gather(store, lib, req, &period).await?;
    let organisation = store
        .core()
        .setting("organisation")
        .await?
        .and_then(|v| v.as_str().map(str::to_string));
    Ok(Report {
        format_version: model::FORMAT_VERSION,
        meta: model::Meta {
            id: new_id(now),
            kind,
            title: g.title,
            organisation,
            scope: g.scope,
            period,
            generated_at: now.to_rfc3339(),
            generated_by: actor.to_string(),
            audit_head: model::AuditHead { seq, hash },
            generator: GENERATOR.into(),
        },
        summary: g.summary,
        body: g.body,
        appendix: g.appendix,
        digest: String::new(),
    }
    .seal())
}

/// Renders a report. Deterministic: the same model gives the same bytes.
pub fn render(report: &Report, format: Format) -> Result<Vec<u8>, ReportError> {
    Ok(match format {
        Format::Html => html::render(report, &layout::document(report)).into_bytes(),
        Format::Markdown => markdown::render(report, &layout::document(report)).into_bytes(),
        Format::Csv => csv_out::render(report)?,
        Format::Json => {
            let mut s = serde_json::to_string_pretty(report)
                .map_err(|e| ReportError::Render(e.to_string()))?;
            s.push('\n');
            s.into_bytes()
        }
        #[cfg(feature = "pdf")]
        Format::Pdf => {
            pdf::render(report, &layout::document(report)).map_err(ReportError::Render)?
        }
        #[cfg(not(feature = "pdf"))]
        Format::Pdf => return Err(ReportError::Unsupported("PDF")),
    })
}

/// Appends the `report.generated` audit event for `bytes`, the rendering of `report` in
/// `format`. Call it once per file handed out.
pub async fn record(
    store: &dyn Store,
    report: &Report,
    format: Format,
    bytes: &[u8],
    actor: &str,
) -> Result<AuditEvent, ReportError> {
    let m = &report.meta;
    let details = json!({
        "report_id": m.id,
        "kind": m.kind,
        "title": m.title,
        "scope": m.scope,
        "period": m.period,
        "format": format.as_str(),
        "content_digest": report.digest,
        "output_sha256": sha256_hex(bytes),
        "audit_head": m.audit_head,
    });
    Ok(store.core().record_report(actor, &m.id, details).await?)
}

/// Builds, renders and records a report in one call.
pub async fn generate(
    store: &dyn Store,
    lib: &Library,
    req: &ReportRequest,
    format: Format,
    now: Timestamp,
    actor: &str,
) -> Result<(Report, Vec<u8>), ReportError> {
    let report = build(store, lib, req, now, actor).await?;
    let bytes = render(&report, format)?;
    record(store, &report, format, &bytes, actor).await?;
    Ok((report, bytes))
}
