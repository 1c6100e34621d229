//! `aigov report`: generate reports (system, compliance, register, incident) as HTML,
//! Markdown, CSV, JSON or PDF, and verify report files against the audit log.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aigov_report::{Format, Kind, ReportRequest, Verdict, Verification};
use aigov_server::AppState;
use aigov_server::config::FileConfig;
use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};
use serde_json::json;

use crate::catalog::ListFormat;
use crate::output::{self, note, print};
use crate::settings::{self, Global};

const VERIFY_HELP: &str = "\
Checks, in order:
  1. offline, for HTML, Markdown and JSON: the data the file embeds matches its content digest,
     and renders back to exactly these bytes (CSV and PDF embed no data);
  2. with the store (--data-dir or --database-url, as for other commands): a report.generated
     audit event for this report id (or, for CSV, for this file's sha256) records exactly this
     file's sha256; the audit chain verifies; the chain head the report names is in it.

Verdicts and exit status:
  verified      0  recorded in the audit log with this content; the chain verifies
  intact        0  (--offline, or no database) matches its embedded data; log not consulted
  modified      3  a report aigov generated, changed since
  unknown       4  not a report this audit log recorded (a changed CSV is unknown too)
  chain-broken  5  recorded, but the audit chain does not verify
  (1: the command failed: unreadable file, no database …)";

const REPORT_HELP: &str = "\
Kinds:
  system      a system's risk assessment: facts, risks by grade (inherent/current/residual),
              heatmap, treatment and controls, acceptances, overdue items, incidents, evidence
  compliance  coverage per adopted framework, section and actor role, and the gaps
  register    the risk register, filtered like GET /api/v1/risks
  incident    one incident (--incident) or the incidents of a period: timeline, deadlines

Every report has a cover block (scope, period, generated at and by, the audit chain head and
a content digest), an executive summary, the detail, and an appendix with the methodology.
Generating one writes a report.generated audit event; `aigov report verify FILE` checks a file.
CSV holds the main table only: risks (system, register), gaps (compliance), incidents.

Examples:
  aigov report system --system SYS-1 --format pdf -o sys1.pdf
  aigov report compliance --catalog tc260-aisgf --format html -o tc260.html
  aigov report register --level major --status assessed --format csv > major.csv
  aigov report incident --from 2026-01-01 --to 2026-03-31 --format md
  aigov report verify sys1.pdf";

/// `aigov report …`.
#[derive(Debug, Subcommand)]
pub enum ReportCmd {
    /// A system's risk-assessment report (needs --system).
    System(ReportArgs),
    /// Framework compliance: coverage per catalog, section and role, and the gaps.
    Compliance(ReportArgs),
    /// The risk register with filters.
    Register(ReportArgs),
    /// One incident (--incident INC-n) or the incidents of a period.
    Incident(ReportArgs),
    /// Check a report file against its embedded data and the audit log.
    #[command(after_help = VERIFY_HELP)]
    Verify(VerifyArgs),
}

/// Output formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutFormat {
    /// Self-contained HTML (inline CSS and SVG charts; printable).
    Html,
    /// Markdown.
    Md,
    /// The main table as CSV.
    Csv,
    /// The full report model.
    Json,
    /// PDF (A4; CJK font embedded).
    Pdf,
}

impl OutFormat {
    fn format(self) -> Format {
        match self {
            OutFormat::Html => Format::Html,
            OutFormat::Md => Format::Markdown,
            OutFormat::Csv => Format::Csv,
            OutFormat::Json => Format::Json,
            OutFormat::Pdf => Format::Pdf,
        }
    }
}

/// Flags of the report kinds (each kind reads the ones that apply to it).
#[derive(Debug, clap::Args)]
#[command(after_help = REPORT_HELP)]
pub struct ReportArgs {
    /// The system (SYS-n or id); required for `system`, narrows the others.
    #[arg(long, value_name = "SYS")]
    system: Option<String>,
    /// A catalog id (compliance: only this framework).
    #[arg(long, value_name = "ID")]
    catalog: Option<String>,
    /// One incident (INC-n), for `incident`.
    #[arg(long, value_name = "INC")]
    incident: Option<String>,
    /// Period start: a date (2026-01-01) or RFC 3339 time. Incidents by detection time,
    /// register risks by creation time.
    #[arg(long, value_name = "WHEN")]
    from: Option<String>,
    /// Period end, inclusive (a date means the whole day).
    #[arg(long, value_name = "WHEN")]
    to: Option<String>,
    /// Register: risk status; incident: incident status.
    #[arg(long)]
    status: Option<String>,
    /// Register: current level id (low, general, significant, major, extremely-severe).
    #[arg(long)]
    level: Option<String>,
    /// Register: owner (username).
    #[arg(long, value_name = "USER")]
    owner: Option<String>,
    /// Register: title contains.
    #[arg(long, value_name = "TEXT")]
    search: Option<String>,
    /// Register: mapped to this taxonomy item (catalog@version:ref).
    #[arg(long, value_name = "CITE")]
    taxonomy: Option<String>,
    /// Register: only risks whose treatment is overdue.
    #[arg(long)]
    treatment_overdue: bool,
    /// Output format [default: from the -o extension, else md].
    #[arg(long, short = 'f', value_enum)]
    format: Option<OutFormat>,
    /// Write to FILE instead of stdout (PDF is never written to a terminal).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

/// `aigov report verify` flags.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The report file.
    file: PathBuf,
    /// Check only what the file itself carries; do not open the store.
    #[arg(long)]
    offline: bool,
    /// Output: table (text) or json.
    #[arg(long, value_enum, default_value = "table")]
    format: ListFormat,
}

fn format_for(a: &ReportArgs) -> Result<Format> {
    if let Some(f) = a.format {
        return Ok(f.format());
    }
    let ext = a
        .output
        .as_deref()
        .and_then(Path::extension)
        .and_then(|e| e.to_str());
    match ext {
        None => Ok(Format::Markdown),
        Some(e) => Format::parse(e).with_context(|| {
            format!("cannot tell the format from .{e}; pass --format html|md|csv|json|pdf")
        }),
    }
}

/// `aigov report <kind>|verify`.
pub fn run(cmd: ReportCmd, g: &Global) -> Result<ExitCode> {
    let (kind, a) = match cmd {
        ReportCmd::System(a) => (Kind::System, a),
        ReportCmd::Compliance(a) => (Kind::Compliance, a),
        ReportCmd::Register(a) => (Kind::Register, a),
        ReportCmd::Incident(a) => (Kind::Incident, a),
        ReportCmd::Verify(v) => return verify(v, g),
    };
    let format = format_for(&a)?;
    if a.output.is_none() && !format.is_text() && std::io::stdout().is_terminal() {
        bail!("refusing to write a PDF to the terminal; use -o FILE or redirect stdout");
    }
    let req = ReportRequest {
        kind: Some(kind),
        system: a.system,
        catalog: a.catalog,
        incident: a.incident,
        from: a.from,
        to: a.to,
        status: a.status,
        level: a.level,
        owner: a.owner,
        q: a.search,
        taxonomy: a.taxonomy,
        treatment_overdue: a.treatment_overdue,
    };
    let cfg = settings::resolve(g, FileConfig::default())?;
    let rt = settings::runtime()?;
    rt.block_on(async {
        let store = settings::open_existing(&cfg).await?.with_context(|| {
            format!(
                "no database in {}; run `aigov serve` once first",
                cfg.data_dir.display()
            )
        })?;
        let state = AppState::new(store.clone(), cfg.clone()).await?;
        let lib = state.library().await;
        let actor = settings::cli_actor();
        let (report, bytes) =
            aigov_report::generate(store.as_ref(), &lib, &req, format, store.now(), &actor).await?;
        match &a.output {
            Some(p) => crate::datadir::write_atomic(p, &bytes)?,
            None => {
                let mut out = std::io::stdout().lock();
                if let Err(e) = out.write_all(&bytes).and_then(|_| out.flush())
                    && e.kind() != std::io::ErrorKind::BrokenPipe
                {
                    return Err(anyhow::Error::new(e).context("cannot write to stdout"));
                }
            }
        }
        note(&format!(
            "report {} ({}, {}){}; content digest sha256:{}",
            report.meta.id,
            kind.as_str(),
            format.as_str(),
            a.output
                .as_ref()
                .map(|p| format!(" written to {}", p.display()))
                .unwrap_or_default(),
            report.digest
        ));
        Ok(ExitCode::SUCCESS)
    })
}

fn verify(a: VerifyArgs, g: &Global) -> Result<ExitCode> {
    let bytes =
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let cfg = settings::resolve(g, FileConfig::default())?;
    let rt = settings::runtime()?;
    let v = rt.block_on(async {
        let store = if a.offline {
            None
        } else {
            let s = settings::open_existing(&cfg).await?;
            if s.is_none() {
                note(&format!(
                    "no database in {}; checking the file offline only",
                    cfg.data_dir.display()
                ));
            }
            s
        };
        Ok::<_, anyhow::Error>(aigov_report::verify(&bytes, store.as_deref()).await?)
    })?;
    match a.format {
        ListFormat::Json => print(&output::json(&json!(v))),
        ListFormat::Table => print(&describe(&a.file, &v)),
    }
    Ok(ExitCode::from(v.verdict.exit_code()))
}

fn describe(file: &Path, v: &Verification) -> String {
    let mut s = format!("{}: {}", v.verdict.as_str(), file.display());
    if let Some(id) = &v.report_id {
        s.push_str(&format!(
            " is report {id}{}",
            v.kind
                .as_deref()
                .map(|k| format!(" ({k})"))
                .unwrap_or_default()
        ));
    }
    s.push('\n');
    let f = v.format.map(|f| f.as_str()).unwrap_or("unknown");
    s.push_str(&format!(
        "  format          {f}\n  file sha256     {}\n",
        v.sha256
    ));
    if let Some(d) = &v.content_digest {
        s.push_str(&format!("  content digest  sha256:{d}\n"));
    }
    match v.embedded_ok {
        Some(true) => s.push_str("  embedded data   matches the file\n"),
        Some(false) => s.push_str("  embedded data   does NOT match the file\n"),
        None => {}
    }
    if let Some(e) = &v.event {
        s.push_str(&format!(
            "  audit event     {} at {} by {} ({})\n",
            e.seq, e.at, e.actor, e.format
        ));
    }
    if let Some(c) = &v.chain {
        s.push_str(&format!(
            "  audit chain     {} ({} events, head {})\n",
            if c.ok { "verifies" } else { "BROKEN" },
            c.events,
            c.head_seq
        ));
    }
    for n in &v.notes {
        s.push_str(&format!("  note: {n}\n"));
    }
    if v.verdict == Verdict::Unknown && v.chain.is_none() && v.event.is_none() {
        s.push_str("  (not checked against an audit log, or not found in it)\n");
    }
    s
}
