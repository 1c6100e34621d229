//! `aigov report verify`: is this file a report aigov generated, unchanged?
//!
//! Offline, a file that embeds its model (HTML, Markdown, JSON) is checked twice: the model's
//! content digest is recomputed, and the model is rendered again and compared byte for byte
//! with the file (rendering is deterministic). With a store, the `report.generated` events of
//! the report id (or, for files without an id — CSV, and PDF when the id cannot be read — of
//! the file's sha256) must include one whose `output_sha256` is the file's; the audit chain
//! must verify; and the chain head the report names must be the event at that sequence.

use aigov_core::audit::sha256_hex;
use aigov_store::Store;
use serde::Serialize;

use crate::model::Report;
use crate::{Format, ReportError, html, markdown, render};

/// The overall outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Recorded in the audit log with this exact content; the chain verifies.
    Verified,
    /// Matches its embedded data, but was not checked against an audit log.
    Intact,
    /// A report aigov generated, changed since.
    Modified,
    /// Not a report this audit log knows (or, offline, one that cannot be checked).
    Unknown,
    /// The report is recorded, but the audit chain does not verify or does not contain the
    /// head the report names.
    ChainBroken,
}

impl Verdict {
    /// The word printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::Intact => "intact",
            Verdict::Modified => "modified",
            Verdict::Unknown => "unknown",
            Verdict::ChainBroken => "chain-broken",
        }
    }

    /// The CLI's exit status: 0 verified or intact, 3 modified, 4 unknown, 5 chain broken.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Verified | Verdict::Intact => 0,
            Verdict::Modified => 3,
            Verdict::Unknown => 4,
            Verdict::ChainBroken => 5,
        }
    }
}

/// The audit event a file was matched to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRef {
    /// Sequence number.
    pub seq: i64,
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// The format recorded.
    pub format: String,
}

/// The audit chain check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainCheck {
    /// The whole chain verifies.
    pub ok: bool,
    /// Events read.
    pub events: u64,
    /// The head now.
    pub head_seq: i64,
    /// The first broken link.
    pub broken_at: Option<i64>,
    /// The head the report names is in the chain.
    pub report_head_found: bool,
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// The verdict.
    pub verdict: Verdict,
    /// The format the file looks like.
    pub format: Option<Format>,
    /// sha256 of the file.
    pub sha256: String,
    /// The report id, when the file carries one.
    pub report_id: Option<String>,
    /// The report kind, when known.
    pub kind: Option<String>,
    /// The content digest the file states (or the event records).
    pub content_digest: Option<String>,
    /// Offline check: `Some(true)` when the embedded model matches its digest and renders to
    /// these bytes, `Some(false)` when not, `None` when the format embeds no model.
    pub embedded_ok: Option<bool>,
    /// The matching audit event.
    pub event: Option<EventRef>,
    /// The chain check (with a store).
    pub chain: Option<ChainCheck>,
    /// Human-readable findings, in order.
    pub notes: Vec<String>,
}

/// Guesses the format from the content.
fn sniff(bytes: &[u8]) -> Option<Format> {
    let t = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if t.starts_with(b"%PDF-") {
        return Some(Format::Pdf);
    }
    let s = std::str::from_utf8(t).ok()?;
    let s = s.trim_start();
    if s.starts_with("<!DOCTYPE html") || s.starts_with("<html") {
        Some(Format::Html)
    } else if s.starts_with('{') {
        Some(Format::Json)
    } else if s.contains("<!-- aigov-report ") {
        Some(Format::Markdown)
    } else {
        Some(Format::Csv)
    }
}

/// The id a PDF states in its keywords, when it can be read from the raw bytes.
fn pdf_id(bytes: &[u8]) -> Option<String> {
    let marker = b"aigov-report-id:";
    let at = bytes.windows(marker.len()).position(|w| w == marker)? + marker.len();
    let id: String = bytes[at..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
        .map(|b| *b as char)
        .collect();
    (id.starts_with("rep-") && id.len() > 8).then_some(id)
}

/// Checks a report file; with `store`, against the audit log too.
pub async fn verify(bytes: &[u8], store: Option<&dyn Store>) -> Result<Verification, ReportError> {
    let format = sniff(bytes);
    let mut v = Verification {
        verdict: Verdict::Unknown,
        format,
        sha256: sha256_hex(bytes),
        report_id: None,
        kind: None,
        content_digest: None,
        embedded_ok: None,
        event: None,
        chain: None,
        notes: Vec::new(),
    };
    // Offline: the embedded model.
    let text = std::str::from_utf8(bytes).ok();
    let embedded = match (format, text) {
        (Some(Format::Html), Some(t)) => html::extract(t),
        (Some(Format::Markdown), Some(t)) => markdown::extract(t),
        (Some(Format::Json), Some(t)) => Some(t),
        _ => None,
    };
    let mut model: Option<Report> = None;
    if let Some(json) = embedded {
        match serde_json::from_str::<Report>(json) {
            Ok(r) => {
                v.report_id = Some(r.meta.id.clone());
                v.kind = Some(r.meta.kind.as_str().into());
                v.content_digest = Some(r.digest.clone());
                let digest_ok = r.compute_digest() == r.digest;
                if !digest_ok {
                    v.notes
                        .push("the embedded data does not match its content digest".into());
                }
                let same = format
                    .and_then(|f| render(&r, f).ok())
                    .is_some_and(|again| again == bytes);
                if digest_ok && !same {
                    v.notes
                        .push("the file differs from what its embedded data renders to".into());
                }
                v.embedded_ok = Some(digest_ok && same);
                model = Some(r);
            }
            Err(e) => {
                v.embedded_ok = Some(false);
                v.notes
                    .push(format!("the embedded report data cannot be read: {e}"));
            }
        }
    } else if format == Some(Format::Pdf) {
        v.report_id = pdf_id(bytes);
    } else if matches!(format, Some(Format::Html | Format::Markdown)) {
        v.notes.push("no embedded report data found".into());
    }

    let Some(store) = store else {
        v.verdict = match v.embedded_ok {
            Some(true) => {
                v.notes
                    .push("matches its embedded data; not checked against an audit log".into());
                Verdict::Intact
            }
            Some(false) => Verdict::Modified,
            None => {
                v.notes.push(
                    "this format embeds no data to check offline; verify it against the store"
                        .into(),
                );
                Verdict::Unknown
            }
        };
        return Ok(v);
    };

    // With the store: the report's events.
    let events = match &v.report_id {
        Some(id) => store.core().report_events(id).await?,
        None => Vec::new(),
    };
    let events = if events.is_empty() {
        store.core().report_events_by_output(&v.sha256).await?
    } else {
        events
    };
    let matching = events
        .iter()
        .find(|e| e.details["output_sha256"].as_str() == Some(v.sha256.as_str()));
    match matching {
        None if events.is_empty() => {
            v.verdict = if v.embedded_ok == Some(false) {
                Verdict::Modified
            } else {
                Verdict::Unknown
            };
            v.notes.push(match &v.report_id {
                Some(id) => format!("the audit log has no report {id}"),
                None => "the audit log records no report with this content".into(),
            });
            return Ok(v);
        }
        None => {
            v.verdict = Verdict::Modified;
            v.notes.push(format!(
                "report {} was generated ({} time(s)), but never with this content",
                v.report_id.as_deref().unwrap_or("?"),
                events.len()
            ));
            return Ok(v);
        }
        Some(e) => {
            v.report_id = Some(e.object_id.clone());
            v.kind = e.details["kind"].as_str().map(str::to_string);
            v.content_digest = e.details["content_digest"].as_str().map(str::to_string);
            v.event = Some(EventRef {
                seq: e.seq,
                at: e.at.clone(),
                actor: e.actor.clone(),
                format: e.details["format"].as_str().unwrap_or_default().into(),
            });
        }
    }
    // The chain, and the head the report names.
    let r = store.core().audit_verify().await?;
    let head = model
        .as_ref()
        .map(|m| (m.meta.audit_head.seq, m.meta.audit_head.hash.clone()))
        .or_else(|| {
            matching.and_then(|e| {
                Some((
                    e.details["audit_head"]["seq"].as_i64()?,
                    e.details["audit_head"]["hash"].as_str()?.to_string(),
                ))
            })
        });
    let report_head_found = match head {
        Some((0, _)) => true,
        Some((seq, hash)) => store
            .core()
            .audit_get(seq)
            .await
            .is_ok_and(|ev| ev.hash == hash),
        None => false,
    };
    let ok = r.broken.is_none();
    v.chain = Some(ChainCheck {
        ok,
        events: r.events,
        head_seq: r.head_seq,
        broken_at: r.broken.as_ref().map(|b| b.seq),
        report_head_found,
    });
    v.verdict = if !ok || !report_head_found {
        if let Some(b) = &r.broken {
            v.notes.push(format!("the audit chain is broken: {b}"));
        }
        if !report_head_found {
            v.notes
                .push("the audit head the report names is not in the log".into());
        }
        Verdict::ChainBroken
    } else if v.embedded_ok == Some(false) {
        // Recorded bytes but inconsistent embedded data cannot happen for files aigov wrote.
        Verdict::Modified
    } else {
        v.notes.push(format!(
            "recorded as audit event {} ({}, by {})",
            v.event.as_ref().map_or(0, |e| e.seq),
            v.event.as_ref().map_or("", |e| e.at.as_str()),
            v.event.as_ref().map_or("", |e| e.actor.as_str()),
        ));
        Verdict::Verified
    };
    Ok(v)
}
