//! `aigov` — the AI risk-governance platform's single binary.
//!
//! Thin by design: parses flags, calls the library crates, prints. Module map:
//! - `catalog` — `aigov catalog …` (browse, search, map, import/export, validate, diff).
//! - `serve` — `aigov serve` (web UI and REST API).
//! - `admin` — `aigov user|token|audit|backup|restore`.
//! - `gov` — the governance loop: `aigov api` (any endpoint, in process), `risk`, `checklist`,
//!   `gate`, `evidence`, `dashboard`.
//! - `probe` — `aigov probe …` (run suites against model endpoints, resume, rescore, report
//!   with gates, compare, the GB/T 45654 plan).
//! - `settings` — configuration layering and opening the store.
//! - `datadir` — atomic file writes.
//! - `output` — stdout/stderr discipline, tables, broken-pipe handling.
//! - `scan` — `aigov scan corpus|review|lexicon|model` and `aigov bom` (the `aigov-scan` crate).
//! - `report` — `aigov report system|compliance|register|incident|verify` (the `aigov-report`
//!   crate).

mod admin;
mod catalog;
mod datadir;
mod gov;
mod output;
mod probe;
mod report;
mod scan;
mod serve;
mod settings;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

const AFTER_HELP: &str = "\
Areas:
  serve     the web UI and the REST API (OpenAPI at /api/v1/openapi.json)
  catalog   framework catalogs (TC260, GB/T 45654, NIST AI RMF, ISO/IEC 42001 …) and crosswalks
  user      users and roles           token   API tokens
  audit     verify and export the tamper-evident audit log
  backup    consistent snapshot       restore into an empty data directory
  api       any REST endpoint, in process, as the local admin (risks, checklists,
            incidents, evidence, methodologies, gates …)
  risk      the register; identify    checklist  adoptions, coverage, items
  gate      what blocks a stage move  evidence   upload a file as evidence
  dashboard risks by level and status, overdue work, open incidents
  probe     test model endpoints against the risk taxonomy (zh/en refusal detection, attacks,
            resumable runs, reports with CI gates, the GB/T 45654 test plan)
  scan      corpus safety scan, review samples, keyword-library audit, model-artifact scan
  bom       CycloneDX 1.6 ML-BOM of models and data (and import)
  report    system, compliance, register and incident reports (HTML, Markdown, CSV, JSON,
            PDF) with a digest tied to the audit log; `report verify FILE` checks one

Configuration: flags > AIGOV_* environment > config file (--config or ./aigov.toml) > defaults;
see aigov.example.toml.

Examples:
  aigov serve
  aigov catalog show tc260-aisgf --kind risk --lang zh
  aigov catalog search 数据泄露
  aigov catalog map 'tc260-aisgf@1.0:3.1.2(d)' --to nist-ai-rmf
  aigov user create alice --role risk_manager
  aigov api POST systems/SYS-1/adoptions -d '{}'
  aigov risk identify SYS-1
  aigov gate SYS-1 --to deploy
  aigov probe run --target openai:http://127.0.0.1:8080/v1,model=qwen --suite starter
  aigov probe report probe-runs/<run> --fail-above asr=0.05
  aigov scan corpus data/ --lexicon kw.tsv --out scan1 --sample 4000 --seed 1
  aigov scan model ./my-model/ --format sarif > model.sarif
  aigov bom ./my-model/ --format cyclonedx-json -o bom.json
  aigov report system --system SYS-1 -o sys1.pdf
  aigov report verify sys1.pdf
  aigov audit verify";

/// aigov: AI risk governance — TC260 / GB/T 45654 / CAICT catalogs with crosswalks to NIST AI
/// RMF, ISO/IEC 42001, the EU AI Act and OWASP; inventory, audit log, REST API.
#[derive(Debug, Parser)]
#[command(name = "aigov", version, about, long_about = None, after_help = AFTER_HELP, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: settings::Global,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: the web UI under / and the REST API under /api/v1.
    Serve(serve::ServeArgs),
    /// Framework catalogs and crosswalks: list, show, search, map, import, export, validate, diff.
    #[command(subcommand)]
    Catalog(catalog::CatalogCmd),
    /// Users: create, list, passwd, disable, enable.
    #[command(subcommand)]
    User(admin::UserCmd),
    /// API tokens: create, list, revoke.
    #[command(subcommand)]
    Token(admin::TokenCmd),
    /// The audit log: verify, export.
    #[command(subcommand)]
    Audit(admin::AuditCmd),
    /// Write a consistent snapshot of the database to FILE while it is in use (SQLite).
    Backup {
        /// The backup file (must not exist).
        file: PathBuf,
    },
    /// Restore a backup into an empty data directory (SQLite).
    Restore {
        /// The backup file.
        file: PathBuf,
    },
    /// Call any REST endpoint in process as the local admin: `aigov api GET risks`.
    Api(gov::ApiArgs),
    /// The risk register: list, show, identify.
    #[command(subcommand)]
    Risk(gov::RiskCmd),
    /// A system's adopted frameworks with coverage, or one checklist with reasons.
    Checklist(gov::ChecklistArgs),
    /// What blocks a system from entering a lifecycle stage (exit status 3 when blocked).
    Gate(gov::GateArgs),
    /// Evidence: `aigov evidence add FILE --title … [--attach risk:RISK-1]`.
    #[command(subcommand)]
    Evidence(EvidenceCmd),
    /// Open risks by level and status, overdue work, open incidents.
    Dashboard,
    /// Probe model endpoints: run suites and attacks, resume, rescore, report, compare, plan.
    #[command(subcommand)]
    Probe(probe::ProbeCmd),
    /// Scanners: corpus safety scan, review of samples, keyword-library audit, model artifacts.
    #[command(subcommand)]
    Scan(scan::ScanCmd),
    /// A CycloneDX 1.6 ML-BOM of model and data files (`aigov bom import` reads one back).
    Bom(scan::BomArgs),
    /// Reports: system, compliance, register, incident (HTML, Markdown, CSV, JSON, PDF); verify.
    #[command(subcommand)]
    Report(report::ReportCmd),
}

#[derive(Debug, Subcommand)]
enum EvidenceCmd {
    /// Upload a file as evidence (content-addressed, sha256 shown), optionally attaching it.
    Add(gov::EvidenceArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let g = &cli.global;
    let result = match cli.command {
        Command::Serve(a) => serve::run(a, g),
        Command::Catalog(cmd) => catalog::run(cmd, g),
        Command::User(cmd) => admin::user(cmd, g),
        Command::Token(cmd) => admin::token(cmd, g),
        Command::Audit(cmd) => admin::audit(cmd, g),
        Command::Backup { file } => admin::backup(&file, g),
        Command::Restore { file } => admin::restore(&file, g),
        Command::Api(a) => gov::api(a, g),
        Command::Risk(cmd) => gov::risk(cmd, g),
        Command::Checklist(a) => gov::checklist(a, g),
        Command::Gate(a) => gov::gate(a, g),
        Command::Evidence(EvidenceCmd::Add(a)) => gov::evidence(a, g),
        Command::Dashboard => gov::dashboard(g),
        Command::Probe(cmd) => catalog::DataDir::new(g).and_then(|dd| probe::run(cmd, &dd)),
        Command::Scan(cmd) => catalog::DataDir::new(g).and_then(|dd| scan::run(cmd, &dd)),
        Command::Bom(args) => scan::bom_cmd(args),
        Command::Report(cmd) => report::run(cmd, g),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // Walk the chain like ripgrep: `error: outer: inner`.
            let mut msg = format!("error: {e}");
            for cause in e.chain().skip(1) {
                msg.push_str(&format!(": {cause}"));
            }
            output::note(&msg);
            ExitCode::from(1)
        }
    }
}
