//! `aigov` — the AI risk-governance platform's single binary.
//!
//! Thin by design: parses flags, calls the library crates, prints. Module map:
//! - `catalog` — `aigov catalog …` (browse, search, map, import/export, validate, diff).
//! - `datadir` — the data directory's stored catalogs and mapping sets.
//! - `output` — stdout/stderr discipline, tables, broken-pipe handling.
//! - `scan` — `aigov scan corpus|review|lexicon|model` and `aigov bom` (the `aigov-scan` crate).

mod catalog;
mod datadir;
mod output;
mod scan;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

const AFTER_HELP: &str = "\
Areas:
  catalog   framework catalogs (TC260, GB/T 45654, NIST AI RMF, ISO/IEC 42001 …) and crosswalks
  scan      corpus safety scan, review samples, keyword-library audit, model-artifact scan
  bom       CycloneDX 1.6 ML-BOM of models and data (and import)

Examples:
  aigov catalog list
  aigov catalog show tc260-aisgf --kind risk --lang zh
  aigov catalog search 数据泄露
  aigov catalog map 'tc260-aisgf@1.0:3.1.2(d)' --to nist-ai-rmf
  aigov scan corpus data/ --lexicon kw.tsv --out scan1 --sample 4000 --seed 1
  aigov scan model ./my-model/ --format sarif > model.sarif
  aigov bom ./my-model/ --format cyclonedx-json -o bom.json";

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
    /// Scanners: corpus safety scan, review of samples, keyword-library audit, model artifacts.
    #[command(subcommand)]
    Scan(scan::ScanCmd),
    /// A CycloneDX 1.6 ML-BOM of model and data files (`aigov bom import` reads one back).
    Bom(scan::BomArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let dd = datadir::DataDir::new(&cli.data_dir);
    let result = match cli.command {
        Command::Catalog(cmd) => catalog::run(cmd, &dd),
        Command::Scan(cmd) => scan::run(cmd, &dd),
        Command::Bom(args) => scan::bom_cmd(args),
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
