//! `aigov` — the AI risk-governance platform's single binary.
//!
//! Thin by design: parses flags, calls the library crates, prints. Module map:
//! - `catalog` — `aigov catalog …` (browse, search, map, import/export, validate, diff).
//! - `probe` — `aigov probe …` (run suites against model endpoints, resume, rescore, report
//!   with gates, compare, the GB/T 45654 plan).
//! - `datadir` — the data directory's stored catalogs and mapping sets.
//! - `output` — stdout/stderr discipline, tables, broken-pipe handling.

mod catalog;
mod datadir;
mod output;
mod probe;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

const AFTER_HELP: &str = "\
Areas:
  catalog   framework catalogs (TC260, GB/T 45654, NIST AI RMF, ISO/IEC 42001 …) and crosswalks
  probe     test model endpoints against the risk taxonomy (zh/en refusal detection, attacks,
            resumable runs, reports with CI gates, the GB/T 45654 test plan)

Examples:
  aigov catalog list
  aigov catalog show tc260-aisgf --kind risk --lang zh
  aigov catalog search 数据泄露
  aigov catalog map 'tc260-aisgf@1.0:3.1.2(d)' --to nist-ai-rmf
  aigov probe run --target openai:http://127.0.0.1:8080/v1,model=qwen --suite starter
  aigov probe report probe-runs/<run> --fail-above asr=0.05";

/// aigov: AI risk governance — TC260 / GB/T 45654 / CAICT catalogs with crosswalks to NIST AI
/// RMF, ISO/IEC 42001, the EU AI Act and OWASP.
#[derive(Debug, Parser)]
#[command(name = "aigov", version, about, long_about = None, after_help = AFTER_HELP, propagate_version = true)]
struct Cli {
    /// Data directory for imported catalogs (and, later, the database).
    #[arg(
        long,
        global = true,
        env = "AIGOV_DATA_DIR",
        default_value = "./aigov-data",
        value_name = "DIR"
    )]
    data_dir: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Framework catalogs and crosswalks: list, show, search, map, import, export, validate, diff.
    #[command(subcommand)]
    Catalog(catalog::CatalogCmd),
    /// Probe model endpoints: run suites and attacks, resume, rescore, report, compare, plan.
    #[command(subcommand)]
    Probe(probe::ProbeCmd),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let dd = datadir::DataDir::new(&cli.data_dir);
    let result = match cli.command {
        Command::Catalog(cmd) => catalog::run(cmd, &dd),
        Command::Probe(cmd) => probe::run(cmd, &dd),
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
