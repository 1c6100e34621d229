//! `aigov scan …` (corpus, review, lexicon, model) and `aigov bom …`.
//!
//! Exit codes: 0 success; 1 error; 2 usage; 3 a requirement is not met (`scan review`,
//! `scan lexicon`, `scan corpus --fail-on-reject`); `scan model`: 4 low, 5 medium, 6 high,
//! 7 critical — the worst finding at or above `--fail-on` (default `low`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aigov_scan::bom;
use aigov_scan::corpus::redact::RedactStyle;
use aigov_scan::corpus::{
    self, CorpusConfig, CustomRule, Detector, DetectorConfig, Format, Progress, RedactConfig,
    SampleConfig, SourceBy, TextRecords,
};
use aigov_scan::lexicon;
use aigov_scan::lexicon_audit;
use aigov_scan::model::{self, ModelScanner, Severity};
use aigov_scan::requirements::{Requirements, fmt_num};
use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::catalog::DataDir;
use crate::datadir::write_atomic;
use crate::output::{self, note, print, table};

const SCAN_AFTER: &str = "\
Exit codes:
  0  success          1  error          2  usage error
  3  a requirement is not met (scan review, scan lexicon, scan corpus --fail-on-reject)
  4-7  scan model: worst finding low / medium / high / critical (at or above --fail-on)";

/// Scanner subcommands.
#[derive(Debug, Subcommand)]
pub enum ScanCmd {
    /// Scan a training corpus: keyword libraries, personal information, secrets, custom rules;
    /// per-source harmful share against GB/T 45654; flagged records; review sample; redaction.
    #[command(after_help = CORPUS_AFTER)]
    Corpus(Box<CorpusArgs>),
    /// Compute the qualified rate of a filled-in review sheet (from `scan corpus --sample`)
    /// with a Wilson interval, against the catalog's requirement.
    #[command(after_help = SCAN_AFTER)]
    Review {
        /// The review sheet (CSV).
        sheet: PathBuf,
        /// Require the Wilson lower bound, not only the point estimate, to meet the rate.
        #[arg(long)]
        strict: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TableJson::Table)]
        format: TableJson,
    },
    /// Audit a keyword library against GB/T 45654: total size, per-risk counts for A.1 and
    /// A.2, duplicates, empty/overlong terms, terms inside common words.
    #[command(after_help = SCAN_AFTER)]
    Lexicon {
        /// The library (a term per line, optional TAB + category; or CSV with a header).
        file: PathBuf,
        /// More common words to test terms against (whitespace separated).
        #[arg(long, value_name = "FILE")]
        common_words: Vec<PathBuf>,
        /// Do not use the built-in list of common words.
        #[arg(long)]
        no_builtin_common: bool,
        /// Terms longer than this many characters are reported.
        #[arg(long, default_value_t = 32)]
        max_term_chars: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
        format: AuditFormat,
    },
    /// Scan model artifacts (pickle, PyTorch, numpy, joblib, safetensors, GGUF, Keras, HDF5,
    /// ONNX, archives) — format by content, never by extension.
    #[command(after_help = MODEL_AFTER)]
    Model(ModelArgs),
}

const CORPUS_AFTER: &str = "\
Inputs: JSON Lines (--field name or JSON pointer, `*` for every element), CSV/TSV (--column),
Parquet, plain text; directories are walked; gzip and zstd are read transparently.

Library files: a term per line, optional TAB and a GB/T 45654 risk (`A.1 d)`) or a catalog
citation; `#` starts a comment.

Outputs in --out: summary.json, report.md, report.html, flagged.jsonl, review-sample.csv,
scan.json and shards/ (what --resume continues).

Examples:
  aigov scan corpus data/ --lexicon kw.tsv --field text --out scan1 --sample 4000 --seed 7
  aigov scan corpus big.jsonl.zst --lexicon kw.tsv --out scan1 --resume --jobs 8
  aigov scan corpus chats.jsonl --field '/messages/*/content' --no-keywords --redact-out clean/

Exit codes: 0 success, 1 error, 2 usage, 3 a source is rejected (with --fail-on-reject).";

const MODEL_AFTER: &str = "\
Severity: critical = code execution on load; high = file/network access or structures that
crash or mislead loaders; medium = globals not on the allowlist, things that could not be
verified; low, info.

Exit codes: 0 nothing at or above --fail-on; 1 error; 2 usage;
4 low, 5 medium, 6 high, 7 critical (the worst finding).

Examples:
  aigov scan model ./my-model/
  aigov scan model model.pt --format sarif > model.sarif
  aigov scan model sk.joblib --allow 'sklearn.*' --fail-on high";

/// Table or JSON.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TableJson {
    /// Readable text.
    Table,
    /// JSON for scripts.
    Json,
}

/// Formats of `scan lexicon`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum AuditFormat {
    /// Readable text.
    Table,
    /// JSON for scripts.
    Json,
    /// A Markdown report.
    Markdown,
}

/// Formats of `scan model`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ModelFormat {
    /// Readable text.
    Text,
    /// The full report as JSON.
    Json,
    /// SARIF 2.1.0 for code-scanning tools.
    Sarif,
}

/// Where a record's source comes from.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SourceByArg {
    /// Each file is a source.
    File,
    /// Each path argument (a directory counts as one) is a source.
    Input,
}

/// Arguments of `scan corpus`.
#[derive(Debug, Args)]
pub struct CorpusArgs {
    /// Files and directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Keyword library files (repeatable).
    #[arg(long, short = 'l', value_name = "FILE")]
    pub lexicon: Vec<PathBuf>,
    /// JSON Lines field to scan: a name or a JSON pointer (repeatable; default: every string).
    #[arg(long, value_name = "FIELD")]
    pub field: Vec<String>,
    /// CSV/TSV/Parquet column to scan (repeatable; default: every column).
    #[arg(long, value_name = "COLUMN")]
    pub column: Vec<String>,
    /// Record format for every input (default: by name, then by content).
    #[arg(long, value_parser = parse_format)]
    pub input_format: Option<Format>,
    /// How plain text becomes records.
    #[arg(long, value_enum, default_value_t = TextRecordsArg::Line)]
    pub text_records: TextRecordsArg,
    /// A record id to carry into flagged records (field or column).
    #[arg(long, value_name = "FIELD")]
    pub id_field: Option<String>,
    /// What a source is, for the per-source harmful share.
    #[arg(long, value_enum, default_value_t = SourceByArg::File)]
    pub source_by: SourceByArg,
    /// Take each record's source from this field or column instead.
    #[arg(long, value_name = "FIELD", conflicts_with = "source_by")]
    pub source_field: Option<String>,
    /// Skip the built-in personal-information and secret rules.
    #[arg(long)]
    pub no_builtin_rules: bool,
    /// Switch on a built-in rule that is off by default (e.g. pi.cn-resident-id-15).
    #[arg(long, value_name = "RULE")]
    pub enable_rule: Vec<String>,
    /// Switch off a built-in rule (e.g. pi.ipv4).
    #[arg(long, value_name = "RULE")]
    pub disable_rule: Vec<String>,
    /// A custom regex rule NAME=PATTERN, matched on the original text (repeatable).
    #[arg(long, value_name = "NAME=PATTERN")]
    pub regex: Vec<String>,
    /// A file of custom rules: `name<TAB>pattern` or `name<TAB>category<TAB>pattern` per line.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Count personal information and secrets as harmful for the per-source share.
    #[arg(long)]
    pub harmful_includes_pi: bool,
    /// Output directory (summary, reports, flagged records, review sheet, shard state).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Continue the scan recorded in --out, skipping finished shards.
    #[arg(long, requires = "out")]
    pub resume: bool,
    /// Worker threads (0 = all cores).
    #[arg(long, short = 'j', default_value_t = 0)]
    pub jobs: usize,
    /// Shard size in MiB for splitting large uncompressed JSONL and text files.
    #[arg(long, default_value_t = 64, value_name = "MIB")]
    pub shard_mib: u64,
    /// Records longer than this many MiB are skipped and counted as errors.
    #[arg(long, default_value_t = 64, value_name = "MIB")]
    pub max_record_mib: usize,
    /// Write redacted copies of the inputs into this directory.
    #[arg(long, value_name = "DIR")]
    pub redact_out: Option<PathBuf>,
    /// How redacted spans are written.
    #[arg(long, value_enum, default_value_t = RedactStyleArg::Tag)]
    pub redact_style: RedactStyleArg,
    /// Also redact keyword-library hits.
    #[arg(long)]
    pub redact_keywords: bool,
    /// Draw a uniform random sample of this many records for human review.
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
    /// Seed of the sample (the same seed gives the same sample).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Leave the matched text out of flagged records.
    #[arg(long)]
    pub no_match_text: bool,
    /// Exit with 3 when a source breaks the harmful-share requirement.
    #[arg(long)]
    pub fail_on_reject: bool,
    /// List the detector rules and exit.
    #[arg(long)]
    pub list_rules: bool,
    /// Output format of the summary on stdout.
    #[arg(long, value_enum, default_value_t = TableJson::Table)]
    pub format: TableJson,
}

/// How plain text becomes records.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TextRecordsArg {
    /// Each line.
    Line,
    /// Each blank-line-separated paragraph.
    Paragraph,
    /// The whole file.
    File,
}

/// Redaction styles.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum RedactStyleArg {
    /// `[pi.cn-mobile]`.
    Tag,
    /// `***********`.
    Mask,
    /// `138****5678`.
    Partial,
}

/// Arguments of `scan model`.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Files and directories.
    #[arg(required_unless_present = "list_rules")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ModelFormat::Text)]
    pub format: ModelFormat,
    /// Allow a pickle global: `module.name` or `module.*` (repeatable). Dangerous globals
    /// stay flagged whatever is allowed.
    #[arg(long, value_name = "PATTERN")]
    pub allow: Vec<String>,
    /// A file of allow patterns, one per line.
    #[arg(long, value_name = "FILE")]
    pub allowlist: Option<PathBuf>,
    /// The lowest severity that makes the exit code non-zero.
    #[arg(long, value_parser = parse_severity, default_value = "low")]
    pub fail_on: Severity,
    /// Hide findings below this severity in text output.
    #[arg(long, value_parser = parse_severity, default_value = "info")]
    pub min_severity: Severity,
    /// Compute each file's SHA-256 (reads whole files).
    #[arg(long)]
    pub hash: bool,
    /// Files scanned in parallel (0 = all cores).
    #[arg(long, short = 'j', default_value_t = 0)]
    pub jobs: usize,
    /// Write the report to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// List the rules and exit.
    #[arg(long)]
    pub list_rules: bool,
}

/// `aigov bom`: a CycloneDX 1.6 ML-BOM of models and data, or `aigov bom import`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, after_help = BOM_AFTER)]
pub struct BomArgs {
    /// Import (parse and validate) a CycloneDX BOM.
    #[command(subcommand)]
    pub cmd: Option<BomCmd>,
    /// Model and data files or directories.
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = BomFormat::CyclonedxJson)]
    pub format: BomFormat,
    /// Write the BOM to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Allow pickle globals (as for `scan model`).
    #[arg(long, value_name = "PATTERN")]
    pub allow: Vec<String>,
}

const BOM_AFTER: &str = "\
Every model file (by content) becomes a machine-learning-model component with SHA-256, format,
size, tensor summary, metadata, licence and model card; corpus files become data components;
scan findings are attached as vulnerabilities. The timestamp is now, or SOURCE_DATE_EPOCH.

Examples:
  aigov bom ./my-model/ data/train.jsonl --format cyclonedx-json -o bom.json
  aigov bom import bom.json --format json";

/// BOM formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum BomFormat {
    /// CycloneDX 1.6 JSON.
    CyclonedxJson,
}

/// `aigov bom` subcommands.
#[derive(Debug, Subcommand)]
pub enum BomCmd {
    /// Parse and validate a CycloneDX BOM into a summary of models and datasets.
    Import {
        /// The BOM (JSON).
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TableJson::Table)]
        format: TableJson,
    },
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse(s)
        .ok_or_else(|| format!("unknown input format {s:?} (jsonl, csv, tsv, parquet, text)"))
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s)
        .ok_or_else(|| format!("unknown severity {s:?} (info, low, medium, high, critical)"))
}

/// Runs a scan subcommand.
pub fn run(cmd: ScanCmd, dd: &DataDir) -> Result<ExitCode> {
    match cmd {
        ScanCmd::Corpus(a) => corpus_cmd(*a, dd),
        ScanCmd::Review {
            sheet,
            strict,
            format,
        } => review_cmd(&sheet, strict, format, dd),
        ScanCmd::Lexicon {
            file,
            common_words,
            no_builtin_common,
            max_term_chars,
            format,
        } => lexicon_cmd(
            &file,
            &common_words,
            no_builtin_common,
            max_term_chars,
            format,
            dd,
        ),
        ScanCmd::Model(a) => model_cmd(a),
    }
}

fn requirements(dd: &DataDir) -> Result<(aigov_catalog::Library, Requirements)> {
    let lib = dd.library()?;
    let req = Requirements::new(&lib)?;
    Ok((lib, req))
}

fn load_lexicons(
    files: &[PathBuf],
    lib: &aigov_catalog::Library,
    req: &Requirements,
) -> Result<Vec<lexicon::Lexicon>> {
    let mut out = Vec::new();
    for f in files {
        let data = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
        let name = f
            .file_stem()
            .map_or_else(|| "lexicon".into(), |s| s.to_string_lossy().into_owned());
        let lex = lexicon::parse(
            &name,
            &f.display().to_string(),
            &data,
            req,
            Some(lib),
            Default::default(),
        );
        let errors = lex.errors();
        if !errors.is_empty() {
            bail!(
                "the keyword library {} has problems (run `aigov scan lexicon` for a full audit):\n  {}",
                f.display(),
                errors.join("\n  ")
            );
        }
        if lex.terms.is_empty() {
            bail!("the keyword library {} has no terms", f.display());
        }
        out.push(lex);
    }
    Ok(out)
}

fn custom_rules(
    a: &CorpusArgs,
    lib: &aigov_catalog::Library,
    req: &Requirements,
) -> Result<Vec<CustomRule>> {
    let mut rules = Vec::new();
    for r in &a.regex {
        let (name, pattern) = r
            .split_once('=')
            .ok_or_else(|| anyhow!("--regex {r:?}: expected NAME=PATTERN"))?;
        rules.push(CustomRule {
            name: name.trim().to_string(),
            category: None,
            pattern: pattern.to_string(),
        });
    }
    if let Some(f) = &a.rules {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let (name, cat, pattern) = match cols.as_slice() {
                [n, p] => (*n, None, *p),
                [n, c, p] => (*n, Some(*c), *p),
                _ => bail!(
                    "{}:{}: expected name<TAB>pattern or name<TAB>category<TAB>pattern",
                    f.display(),
                    i + 1
                ),
            };
            let category = match cat.filter(|c| !c.trim().is_empty() && c.trim() != "-") {
                Some(c) => Some(
                    req.resolve_category(Some(lib), c)
                        .map_err(|e| anyhow!("{}:{}: {e}", f.display(), i + 1))?,
                ),
                None => None,
            };
            rules.push(CustomRule {
                name: name.trim().to_string(),
                category,
                pattern: pattern.to_string(),
            });
        }
    }
    Ok(rules)
}

fn stderr_is_tty() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

fn mb(n: u64) -> String {
    format!("{:.1} MB", n as f64 / 1e6)
}

fn corpus_cmd(a: CorpusArgs, dd: &DataDir) -> Result<ExitCode> {
    let (lib, req) = requirements(dd)?;
    let lexicons = load_lexicons(&a.lexicon, &lib, &req)?;
    let det = Detector::new(&DetectorConfig {
        lexicons,
        builtins: !a.no_builtin_rules,
        enable: a.enable_rule.clone(),
        disable: a.disable_rule.clone(),
        custom: custom_rules(&a, &lib, &req)?,
    });
    if a.list_rules {
        let rows: Vec<Vec<String>> = corpus::detect::BUILTINS
            .iter()
            .map(|b| {
                vec![
                    b.id.to_string(),
                    b.kind.as_str().to_string(),
                    if b.default_on { "on" } else { "off" }.to_string(),
                    b.validation.to_string(),
                    b.description.to_string(),
                ]
            })
            .collect();
        print(&table(
            &["RULE", "KIND", "DEFAULT", "VALIDATION", "FINDS"],
            &rows,
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let det = det?;
    let cfg = CorpusConfig {
        inputs: a.paths.clone(),
        input_format: a.input_format,
        text_records: match a.text_records {
            TextRecordsArg::Line => TextRecords::Line,
            TextRecordsArg::Paragraph => TextRecords::Paragraph,
            TextRecordsArg::File => TextRecords::File,
        },
        fields: a.field.clone(),
        columns: a.column.clone(),
        id_field: a.id_field.clone(),
        source_by: match (&a.source_field, a.source_by) {
            (Some(f), _) => SourceBy::Field(f.clone()),
            (None, SourceByArg::File) => SourceBy::File,
            (None, SourceByArg::Input) => SourceBy::Argument,
        },
        jobs: a.jobs,
        shard_bytes: a.shard_mib.max(1) << 20,
        max_record_bytes: a.max_record_mib.max(1) << 20,
        out: a.out.clone(),
        resume: a.resume,
        redact: a.redact_out.clone().map(|dir| RedactConfig {
            dir,
            style: match a.redact_style {
                RedactStyleArg::Tag => RedactStyle::Tag,
                RedactStyleArg::Mask => RedactStyle::Mask,
                RedactStyleArg::Partial => RedactStyle::Partial,
            },
            keywords: a.redact_keywords,
        }),
        sample: a.sample.map(|size| SampleConfig { size, seed: a.seed }),
        harmful_includes_pi: a.harmful_includes_pi,
        match_text: !a.no_match_text,
    };
    if let Some(n) = a.sample
        && let Ok(t) = req.threshold(aigov_scan::requirements::SAMPLE_SIZE)
        && !t.threshold.holds(n as f64)
    {
        note(&format!(
            "warning: a sample of {n} records does not meet {} ({}), which needs {}",
            t.cite,
            t.title,
            t.describe()
        ));
    }
    let progress = Progress::default();
    let started = Instant::now();
    let done = std::sync::atomic::AtomicBool::new(false);
    let summary = std::thread::scope(|s| {
        let pbar = s.spawn(|| {
            if !stderr_is_tty() {
                return;
            }
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            while !done.load(Ordering::Relaxed) {
                bar.set_length(progress.total.load(Ordering::Relaxed));
                bar.set_position(progress.done.load(Ordering::Relaxed));
                bar.set_message(format!(
                    "shards {}/{}",
                    progress.shards_done.load(Ordering::Relaxed),
                    progress.shards.load(Ordering::Relaxed)
                ));
                std::thread::sleep(Duration::from_millis(150));
            }
            bar.finish_and_clear();
        });
        let r = corpus::run(&cfg, &det, &req, &progress);
        done.store(true, Ordering::Relaxed);
        let _ = pbar.join();
        r
    })?;
    let t = &summary.totals;
    note(&format!(
        "scanned {} in {:.1} s ({:.1} MB/s), {} records, {} shards{}",
        mb(summary.inputs.iter().map(|f| f.size).sum()),
        started.elapsed().as_secs_f64(),
        t.mb_per_s,
        t.records,
        t.shards,
        if t.shards_resumed > 0 {
            format!(" ({} resumed)", t.shards_resumed)
        } else {
            String::new()
        }
    ));
    match a.format {
        TableJson::Json => print(&output::json(&serde_json::to_value(&summary)?)),
        TableJson::Table => print(&corpus_table(&summary)),
    }
    if a.fail_on_reject && summary.rejected_sources > 0 {
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}

fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

fn corpus_table(s: &corpus::Summary) -> String {
    let t = &s.totals;
    let mut o = format!(
        "{} records ({}), {} flagged, {} harmful, {} with personal information or secrets, {} unreadable\n\n",
        t.records,
        mb(t.bytes),
        t.flagged,
        t.harmful,
        t.personal_info,
        t.errors
    );
    o.push_str(&format!(
        "Sources — {} ({}): harmful share {}\n",
        s.requirement.cite,
        s.requirement.title,
        s.requirement.describe()
    ));
    let rows: Vec<Vec<String>> = s
        .sources
        .iter()
        .map(|x| {
            vec![
                x.source.clone(),
                x.counts.records.to_string(),
                x.counts.harmful.to_string(),
                pct(x.harmful_share.point),
                format!(
                    "{}–{}",
                    pct(x.harmful_share.lower),
                    pct(x.harmful_share.upper)
                ),
                if x.rejected {
                    "REJECTED".into()
                } else {
                    "accepted".into()
                },
            ]
        })
        .collect();
    o.push_str(&table(
        &["SOURCE", "RECORDS", "HARMFUL", "SHARE", "95% CI", "VERDICT"],
        &rows,
    ));
    o.push('\n');
    let rows: Vec<Vec<String>> = s
        .rules
        .iter()
        .filter(|r| r.hits > 0)
        .map(|r| {
            vec![
                r.id.clone(),
                r.kind.as_str().into(),
                r.hits.to_string(),
                r.records.to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        o.push_str("No hits.\n");
    } else {
        o.push_str(&table(&["RULE", "KIND", "HITS", "RECORDS"], &rows));
    }
    if !s.categories.is_empty() {
        o.push('\n');
        let rows: Vec<Vec<String>> = s
            .categories
            .iter()
            .map(|c| {
                vec![
                    c.cite.clone(),
                    c.title_zh
                        .clone()
                        .or_else(|| c.title_en.clone())
                        .unwrap_or_default(),
                    c.hits.to_string(),
                    c.records.to_string(),
                ]
            })
            .collect();
        o.push_str(&table(&["CATEGORY", "TITLE", "HITS", "RECORDS"], &rows));
    }
    let out = &s.outputs;
    let mut files = Vec::new();
    if let Some(f) = &out.flagged {
        files.push(format!("flagged records: {f}"));
    }
    if let Some(f) = &out.sample_sheet {
        files.push(format!("review sheet: {f} ({} records)", out.sample_drawn));
    }
    for f in &out.redacted {
        files.push(format!("redacted: {f}"));
    }
    if !files.is_empty() {
        o.push('\n');
        o.push_str(&files.join("\n"));
        o.push('\n');
    }
    if !s.errors.is_empty() {
        o.push_str(&format!(
            "\n{} unreadable records; first: {} at {}: {}\n",
            t.errors, s.errors[0].file, s.errors[0].offset, s.errors[0].message
        ));
    }
    o
}

fn review_cmd(sheet: &Path, strict: bool, format: TableJson, dd: &DataDir) -> Result<ExitCode> {
    let (_, req) = requirements(dd)?;
    let data = std::fs::read(sheet).with_context(|| format!("cannot read {}", sheet.display()))?;
    let r = corpus::sample::review(&data, &sheet.display().to_string(), &req)?;
    let met = r.reviewed > 0
        && r.verdict_point == "met"
        && (!strict || r.verdict_bound == "met")
        && r.size_met != Some(false);
    match format {
        TableJson::Json => {
            let mut v = serde_json::to_value(&r)?;
            v["met"] = serde_json::json!(met);
            print(&output::json(&v));
        }
        TableJson::Table => {
            let mut o = format!(
                "{} rows, {} reviewed, {} left blank; {} qualified\n",
                r.rows, r.reviewed, r.unreviewed, r.qualified
            );
            o.push_str(&format!(
                "qualified rate {} (95% Wilson interval {} – {})\n",
                pct(r.rate.point),
                pct(r.rate.lower),
                pct(r.rate.upper)
            ));
            o.push_str(&format!(
                "{} ({}): {} — point estimate: {}, lower bound: {}\n",
                r.requirement.cite,
                r.requirement.title,
                r.requirement.describe(),
                r.verdict_point,
                r.verdict_bound
            ));
            if let (Some(t), Some(m)) = (&r.size_requirement, r.size_met) {
                o.push_str(&format!(
                    "{} ({}): {} — {} reviewed: {}\n",
                    t.cite,
                    t.title,
                    t.describe(),
                    r.reviewed,
                    if m { "met" } else { "not met" }
                ));
            }
            if let Some(ag) = &r.agreement {
                o.push_str(&format!(
                    "detectors vs reviewers: both unqualified {}, detector only {}, reviewer only {}, both qualified {}; precision {}, recall {}\n",
                    ag.both_unqualified,
                    ag.detector_only,
                    ag.reviewer_only,
                    ag.both_qualified,
                    ag.precision.map_or("-".into(), pct),
                    ag.recall.map_or("-".into(), pct)
                ));
            }
            o.push_str(if met {
                "RESULT: met\n"
            } else {
                "RESULT: not met\n"
            });
            print(&o);
        }
    }
    Ok(if met {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

fn lexicon_cmd(
    file: &Path,
    extra: &[PathBuf],
    no_builtin: bool,
    max_term_chars: usize,
    format: AuditFormat,
    dd: &DataDir,
) -> Result<ExitCode> {
    let (lib, req) = requirements(dd)?;
    let data = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file
        .file_stem()
        .map_or_else(|| "lexicon".into(), |s| s.to_string_lossy().into_owned());
    let lex = lexicon::parse(
        &name,
        &file.display().to_string(),
        &data,
        &req,
        Some(&lib),
        lexicon::ParseOptions { max_term_chars },
    );
    let mut words = if no_builtin {
        Vec::new()
    } else {
        lexicon_audit::parse_words(lexicon_audit::COMMON_WORDS)
    };
    for f in extra {
        let t =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        words.extend(lexicon_audit::parse_words(&t));
    }
    let a = lexicon_audit::audit(&lex, &req, &words)?;
    match format {
        AuditFormat::Json => print(&output::json(&serde_json::to_value(&a)?)),
        AuditFormat::Markdown => print(&lexicon_audit::markdown(&a)),
        AuditFormat::Table => {
            let mut o = format!(
                "{}: {} term lines, {} distinct, {} with a category\n",
                a.file, a.lines, a.distinct, a.categorized
            );
            o.push_str(&format!(
                "size — {} ({}): {}; counted {} ({}): {}\n\n",
                a.size_requirement.cite,
                a.size_requirement.title,
                a.size_requirement.describe(),
                a.size_counted,
                a.size_note,
                if a.size_met { "met" } else { "NOT MET" }
            ));
            let rows: Vec<Vec<String>> = a
                .per_risk
                .iter()
                .map(|r| {
                    vec![
                        r.cite.clone(),
                        r.title_zh.clone(),
                        r.terms.to_string(),
                        fmt_num(r.minimum),
                        if r.met {
                            "met".into()
                        } else {
                            "NOT MET".into()
                        },
                    ]
                })
                .collect();
            o.push_str(&table(&["RISK", "TITLE", "TERMS", "MIN", "VERDICT"], &rows));
            if !a.issue_counts.is_empty() {
                o.push_str("\nproblems: ");
                o.push_str(
                    &a.issue_counts
                        .iter()
                        .map(|(c, n)| format!("{c} {n}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                );
                o.push('\n');
                for i in a.issues.iter().take(20) {
                    o.push_str(&format!("  line {}: {} — {}\n", i.line, i.code, i.message));
                }
                if a.issues.len() > 20 {
                    o.push_str(&format!(
                        "  … {} more (--format json or markdown lists them)\n",
                        a.issues.len() - 20
                    ));
                }
            }
            if !a.inside_common.is_empty() {
                o.push_str("\nterms inside common words (false-positive risk):\n");
                for t in a.inside_common.iter().take(20) {
                    o.push_str(&format!(
                        "  line {}: {:?} in {}\n",
                        t.line,
                        t.term,
                        t.words.join(", ")
                    ));
                }
                if a.inside_common.len() > 20 {
                    o.push_str(&format!("  … {} more\n", a.inside_common.len() - 20));
                }
            }
            o.push_str(if a.met {
                "\nRESULT: met\n"
            } else {
                "\nRESULT: not met\n"
            });
            print(&o);
        }
    }
    Ok(if a.met {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

fn scanner(allow: &[String], allowlist: Option<&Path>) -> Result<ModelScanner> {
    let mut s = ModelScanner::default();
    for p in allow {
        s.allow.allow(p).map_err(|e| anyhow!("--allow {e}"))?;
    }
    if let Some(f) = allowlist {
        let t =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        for (i, l) in t.lines().enumerate() {
            let l = l.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            s.allow
                .allow(l)
                .map_err(|e| anyhow!("{}:{}: {e}", f.display(), i + 1))?;
        }
    }
    Ok(s)
}

fn model_cmd(a: ModelArgs) -> Result<ExitCode> {
    if a.list_rules {
        let rows: Vec<Vec<String>> = model::RULES
            .iter()
            .map(|r| {
                vec![
                    r.id.to_string(),
                    r.severity.as_str().to_string(),
                    r.description.to_string(),
                ]
            })
            .collect();
        print(&table(&["RULE", "SEVERITY", "FINDS"], &rows));
        return Ok(ExitCode::SUCCESS);
    }
    let mut s = scanner(&a.allow, a.allowlist.as_deref())?;
    s.hash = a.hash;
    let files = model::list_files(&a.paths)?;
    if files.is_empty() {
        bail!("no files to scan");
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.jobs)
        .build()
        .map_err(|e| anyhow!("cannot start worker threads: {e}"))?;
    let bar = if stderr_is_tty() && files.len() > 1 {
        let b =
            ProgressBar::with_draw_target(Some(files.len() as u64), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} files",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let reports = pool.install(|| {
        use rayon::prelude::*;
        files
            .par_iter()
            .map(|p| {
                let r = s.scan_file(p);
                bar.inc(1);
                r
            })
            .collect::<Vec<_>>()
    });
    bar.finish_and_clear();
    let report = model::ModelReport::new(reports);
    let text = match a.format {
        ModelFormat::Text => model::report::text(&report, a.min_severity),
        ModelFormat::Json => output::json(&serde_json::to_value(&report)?),
        ModelFormat::Sarif => {
            output::json(&model::report::sarif(&report, env!("CARGO_PKG_VERSION")))
        }
    };
    match &a.out {
        Some(p) => {
            write_atomic(p, &text)?;
            note(&format!("wrote {}", p.display()));
        }
        None => print(&text),
    }
    Ok(model_exit(report.worst, a.fail_on))
}

/// The exit code of `scan model` for the worst severity.
pub fn model_exit(worst: Option<Severity>, fail_on: Severity) -> ExitCode {
    match worst {
        Some(w) if w >= fail_on && w > Severity::Info => ExitCode::from(match w {
            Severity::Low => 4,
            Severity::Medium => 5,
            Severity::High => 6,
            Severity::Critical => 7,
            Severity::Info => 0,
        }),
        _ => ExitCode::SUCCESS,
    }
}

/// RFC 3339 UTC for seconds since the epoch.
fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

fn now_secs() -> i64 {
    if let Ok(v) = std::env::var("SOURCE_DATE_EPOCH")
        && let Ok(s) = v.trim().parse::<i64>()
    {
        return s;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Runs `aigov bom …`.
pub fn bom_cmd(a: BomArgs) -> Result<ExitCode> {
    if let Some(BomCmd::Import { file, format }) = a.cmd {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let s = match bom::import(&text) {
            Ok(s) => s,
            Err(problems) => {
                let list: Vec<String> = problems
                    .iter()
                    .map(|p| {
                        format!(
                            "{} {}: {}",
                            p.level,
                            if p.path.is_empty() {
                                "(document)"
                            } else {
                                &p.path
                            },
                            p.message
                        )
                    })
                    .collect();
                bail!(
                    "{} is not a valid CycloneDX BOM:\n  {}",
                    file.display(),
                    list.join("\n  ")
                );
            }
        };
        match format {
            TableJson::Json => print(&output::json(&serde_json::to_value(&s)?)),
            TableJson::Table => {
                let mut o = format!(
                    "CycloneDX {} {} (version {}), {}{}\n\n",
                    s.spec_version,
                    s.serial_number.as_deref().unwrap_or("(no serial number)"),
                    s.version.map_or("-".into(), |v| v.to_string()),
                    s.timestamp.as_deref().unwrap_or("(no timestamp)"),
                    if s.tools.is_empty() {
                        String::new()
                    } else {
                        format!(", by {}", s.tools.join(", "))
                    }
                );
                let rows: Vec<Vec<String>> = s
                    .models
                    .iter()
                    .map(|m| {
                        vec![
                            m.name.clone(),
                            m.format.clone().unwrap_or_default(),
                            m.size.map_or(String::new(), mb),
                            m.licenses.join(", "),
                            m.parameters.map_or(String::new(), |p| p.to_string()),
                            m.findings
                                .iter()
                                .map(|(k, v)| format!("{k} {v}"))
                                .collect::<Vec<_>>()
                                .join(", "),
                            m.sha256
                                .as_deref()
                                .map_or(String::new(), |h| h[..h.len().min(16)].to_string()),
                        ]
                    })
                    .collect();
                o.push_str(&format!("Models ({}):\n", s.models.len()));
                o.push_str(&table(
                    &[
                        "NAME",
                        "FORMAT",
                        "SIZE",
                        "LICENCE",
                        "PARAMETERS",
                        "FINDINGS",
                        "SHA-256",
                    ],
                    &rows,
                ));
                if !s.datasets.is_empty() {
                    let rows: Vec<Vec<String>> = s
                        .datasets
                        .iter()
                        .map(|d| {
                            vec![
                                d.name.clone(),
                                d.format.clone().unwrap_or_default(),
                                d.size.map_or(String::new(), mb),
                                d.records.map_or(String::new(), |r| r.to_string()),
                            ]
                        })
                        .collect();
                    o.push_str(&format!("\nDatasets ({}):\n", s.datasets.len()));
                    o.push_str(&table(&["NAME", "FORMAT", "SIZE", "RECORDS"], &rows));
                }
                if s.other_components > 0 {
                    o.push_str(&format!("\n{} other components\n", s.other_components));
                }
                for w in &s.warnings {
                    o.push_str(&format!("warning {}: {}\n", w.path, w.message));
                }
                print(&o);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if a.paths.is_empty() {
        bail!("give model or data paths, or `aigov bom import <file>`");
    }
    let s = scanner(&a.allow, None)?;
    let input = bom::collect(&a.paths, &s)?;
    let b = match a.format {
        BomFormat::CyclonedxJson => {
            bom::export(&input, &rfc3339(now_secs()), env!("CARGO_PKG_VERSION"))
        }
    };
    let text = output::json(&b);
    match &a.out {
        Some(p) => {
            write_atomic(p, &text)?;
            note(&format!(
                "wrote {} ({} models, {} datasets, {} other files)",
                p.display(),
                input
                    .files
                    .iter()
                    .filter(|f| bom::MODEL_FORMATS.contains(&f.format.as_str()))
                    .count(),
                input.data.len(),
                input
                    .files
                    .iter()
                    .filter(|f| !bom::MODEL_FORMATS.contains(&f.format.as_str()))
                    .count()
            ));
        }
        None => print(&text),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_735_689_600), "2025-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
