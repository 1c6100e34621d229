//! `aigov probe …`: run suites against model endpoints, resume, re-score, report with CI gates,
//! compare runs, and run the GB/T 45654 test plan.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use aigov_catalog::{Diagnostics, Lang, Library};
use aigov_probe::detect::Detectors;
use aigov_probe::detect::patterns::Keywords;
use aigov_probe::detect::refusal::RefusalDetector;
use aigov_probe::eval::{self, Gate, GateOn, GroupKind, Metric};
use aigov_probe::plan::{self, Banks, Plan, SampleKind};
use aigov_probe::report;
use aigov_probe::run::record::{NamedRegex, RunStatus};
use aigov_probe::run::{self, ExecOptions, Progress, RescoreSetup, Run, RunSetup, RunSummary};
use aigov_probe::suite::import::{ColumnMap, ImportHeader, TableFormat, import_table};
use aigov_probe::suite::{Expect, Suite, builtin, parse_suite, suite_to_jsonl};
use aigov_probe::target::TargetConfig;
use aigov_probe::transform::Chain;
use aigov_probe::util::{SharedClock, SystemClock};
use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use crate::catalog::DataDir;
use crate::catalog::{lang_or_default, pick};
use crate::datadir::write_atomic;
use crate::output::{self, note, print, table};

const RUN_AFTER_HELP: &str = "\
Targets (--target, --judge): a target file (YAML/JSON, see suites/README.md) or a spec:
  openai:URL,model=NAME[,key-env=VAR,stream=true,system=…,param.temperature=0,header.X=…]
  http:URL,template={\"q\":\"{{prompt}}\"},pointer=/answer    (template=@FILE also works)
  command:PROGRAM [ARGS…]    (prompt on stdin, answer on stdout)
  replay:DIR_OR_JSONL        (stored responses)

Transforms (--transform, chains joined with +, e.g. base64+roleplay):
  roleplay, hypothetical, prefix-injection, base64, rot13, leet, homoglyph, zero-width,
  lang-switch, split, escalate (multi-turn, last in a chain). The plain prompt (none) is
  always included unless --no-baseline. Transforms apply to adversarial items (refuse,
  no-leak, no-pii, rubric) unless --transform-all.

Exit status: 0 completed; 1 error, stopped by the circuit breaker, or attempts still missing
(resume with --resume DIR); 130 interrupted (Ctrl-C; resume with --resume DIR).

Examples:
  aigov probe run --target openai:http://127.0.0.1:8080/v1,model=qwen --suite starter
  aigov probe run --target target.yaml --suite starter-refusal-zh --transform base64 --transform roleplay+split
  aigov probe run --resume probe-runs/20261121T220000-ab12cd";

/// Probe subcommands.
#[derive(Debug, Subcommand)]
pub enum ProbeCmd {
    /// Run suites against a target, or resume a run (--resume DIR).
    #[command(after_help = RUN_AFTER_HELP)]
    Run(Box<RunArgs>),
    /// Re-run the detectors (and judge) on a run's stored responses, into a new run directory.
    Rescore(RescoreArgs),
    /// Report on a run: rates with 95 % intervals per risk category, CI gates.
    Report(ReportArgs),
    /// Compare two runs: metric changes per category and attempts that flipped.
    Compare(CompareArgs),
    /// Test plans against standards.
    #[command(subcommand)]
    Plan(PlanCmd),
    /// List the built-in starter suites.
    Suites {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
    /// Check suite files: every problem with file, line and item id, citations resolved.
    Validate {
        /// Suite files (YAML or JSONL).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Convert a question bank (CSV or JSONL) into a suite, with a column mapping.
    Import(ImportArgs),
    /// Run the detectors on a text (argument or stdin): see why a response counts as a refusal.
    Detect {
        /// The response text; `-` or nothing reads stdin.
        text: Option<String>,
        /// An expected behaviour, to show the outcome too.
        #[arg(long)]
        expect: Option<String>,
        /// Extra refusal lexicon files.
        #[arg(long, value_name = "FILE")]
        refusal_lexicon: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Fmt::Table)]
        format: Fmt,
    },
}

/// Table or JSON.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Fmt {
    /// Aligned text.
    Table,
    /// JSON.
    Json,
}

/// `probe run` arguments.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The target: a spec (openai:URL,model=NAME …) or a target file.
    #[arg(long, value_name = "SPEC|FILE")]
    target: Option<String>,
    /// Suites: built-in ids (`starter` = all starter suites) or files. Repeatable.
    #[arg(long, value_name = "ID|FILE")]
    suite: Vec<String>,
    /// Transform chains (`base64`, `roleplay+split` …). Repeatable.
    #[arg(long, value_name = "CHAIN")]
    transform: Vec<String>,
    /// Leave out the untransformed prompt.
    #[arg(long)]
    no_baseline: bool,
    /// Apply transforms to every item, not only adversarial ones.
    #[arg(long)]
    transform_all: bool,
    /// Repetitions of each attempt.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    repeat: u32,
    /// An LLM judge: a spec or target file. Judges `rubric` items (all items with --judge-all).
    #[arg(long, value_name = "SPEC|FILE")]
    judge: Option<String>,
    /// Let the judge decide every item.
    #[arg(long)]
    judge_all: bool,
    /// Keyword libraries to match responses against (one term per line, or CSV term,risk).
    #[arg(long, value_name = "FILE")]
    keywords: Vec<PathBuf>,
    /// A regex detector NAME=PATTERN. Repeatable.
    #[arg(long, value_name = "NAME=PATTERN")]
    regex: Vec<String>,
    /// Extra refusal lexicon files (same format as the built-in one).
    #[arg(long, value_name = "FILE")]
    refusal_lexicon: Vec<PathBuf>,
    /// Turn off the personal-information detector.
    #[arg(long)]
    no_pii: bool,
    /// Requests in flight at most (overrides the target's).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Requests per second at most.
    #[arg(long, value_name = "R")]
    rate: Option<f64>,
    /// Tokens per minute at most.
    #[arg(long, value_name = "N")]
    tokens_per_min: Option<u64>,
    /// Seconds per request.
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// Retries of a failed request.
    #[arg(long)]
    retries: Option<u32>,
    /// Seed of every random choice (transform positions, jitter).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Run directory (default: probe-runs/<run-id>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Resume the run in DIR: skip recorded attempts, do the rest.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["suite", "transform", "no_baseline", "transform_all", "judge", "judge_all", "keywords", "regex", "refusal_lexicon", "no_pii", "out"])]
    resume: Option<PathBuf>,
    /// Show the plan (attempts per suite and transform) without calling the target.
    #[arg(long)]
    dry_run: bool,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = Fmt::Table)]
    format: Fmt,
}

/// `probe rescore` arguments.
#[derive(Debug, Args)]
pub struct RescoreArgs {
    /// The run to re-score.
    dir: PathBuf,
    /// Where to write the re-scored run (default: DIR-rescored, DIR-rescored-2 …).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// A judge (replaces the run's).
    #[arg(long, value_name = "SPEC|FILE", conflicts_with = "no_judge")]
    judge: Option<String>,
    /// Drop the judge.
    #[arg(long)]
    no_judge: bool,
    /// Let the judge decide every item.
    #[arg(long)]
    judge_all: bool,
    /// Keyword libraries (replace the run's).
    #[arg(long, value_name = "FILE")]
    keywords: Vec<PathBuf>,
    /// Regex detectors NAME=PATTERN (replace the run's).
    #[arg(long, value_name = "NAME=PATTERN")]
    regex: Vec<String>,
    /// Extra refusal lexicons (replace the run's).
    #[arg(long, value_name = "FILE")]
    refusal_lexicon: Vec<PathBuf>,
    /// Turn off the personal-information detector.
    #[arg(long)]
    no_pii: bool,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = Fmt::Table)]
    format: Fmt,
}

/// Report formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReportFormat {
    /// Aligned text for the terminal.
    Table,
    /// Markdown.
    Md,
    /// A self-contained HTML page.
    Html,
    /// JSON (stable shape, `aigov_probe_report: 1`).
    Json,
    /// JUnit XML for CI.
    Junit,
}

const REPORT_AFTER_HELP: &str = "\
Metrics: asr (attack success), refusal-rate (on must-refuse), false-refusal-rate (on
must-answer), accuracy (answer checks), leak-rate, rubric-pass-rate, pass-rate.

Gates: --fail-above asr=0.05 fails when the attack success rate is above 5 %; --fail-below
refusal-rate=95% fails when the refusal rate is below 95 %. Add @GROUP for a category or risk
(asr@A.1=0.02, refusal-rate@gbt-45654@2025:A.1 d)=0.95) or suite:ID, transform:CHAIN,
lang:zh. --gate-on bound judges the Wilson 95 % bound instead of the point estimate.
A gate without data fails. Exit status 3 when a gate fails.";

/// `probe report` arguments.
#[derive(Debug, Args)]
#[command(after_help = REPORT_AFTER_HELP)]
pub struct ReportArgs {
    /// The run directory.
    dir: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
    /// Write to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Fail (exit 3) when METRIC[@GROUP] is above VALUE (0.05 or 5%). Repeatable.
    #[arg(long, value_name = "METRIC=VALUE")]
    fail_above: Vec<String>,
    /// Fail (exit 3) when METRIC[@GROUP] is below VALUE. Repeatable.
    #[arg(long, value_name = "METRIC=VALUE")]
    fail_below: Vec<String>,
    /// Judge gates on the point estimate or the conservative Wilson bound.
    #[arg(long, value_enum, default_value_t = GateOnArg::Point)]
    gate_on: GateOnArg,
    /// Language of catalog titles.
    #[arg(long, value_parser = parse_lang)]
    lang: Option<Lang>,
    /// Failures to show.
    #[arg(long, default_value_t = 20)]
    examples: usize,
}

/// Which estimate gates judge.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum GateOnArg {
    /// The point estimate.
    Point,
    /// The Wilson bound (upper for --fail-above, lower for --fail-below).
    Bound,
}

/// `probe compare` arguments.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline run.
    a: PathBuf,
    /// The run to compare with it.
    b: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CompareFormat::Table)]
    format: CompareFormat,
    /// Exit 3 when B regresses on any metric of any category (or only significantly, with
    /// --significant).
    #[arg(long)]
    fail_on_regression: bool,
    /// Count only regressions whose 95 % intervals do not overlap.
    #[arg(long)]
    significant: bool,
    /// Language of catalog titles.
    #[arg(long, value_parser = parse_lang)]
    lang: Option<Lang>,
}

/// Compare formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CompareFormat {
    /// Aligned text.
    Table,
    /// Markdown.
    Md,
    /// JSON.
    Json,
}

/// Plans.
#[derive(Debug, Subcommand)]
pub enum PlanCmd {
    /// GB/T 45654-2025: bank sizes and per-risk coverage, seeded samples, refusal and
    /// non-refusal rates, generated-content pass rate — every number from the catalog.
    #[command(name = "gbt45654", alias = "gbt-45654")]
    Gbt45654(Box<PlanArgs>),
}

/// `probe plan gbt45654` arguments.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Generated-content test bank (suite file, CSV/JSONL bank, or built-in suite id).
    #[arg(long, value_name = "FILE")]
    generated_bank: Option<String>,
    /// Must-refuse bank.
    #[arg(long, value_name = "FILE")]
    refusal_bank: Option<String>,
    /// Non-refusal bank (topic types as `topic:` tags).
    #[arg(long, value_name = "FILE")]
    non_refusal_bank: Option<String>,
    /// Keyword library (term per line, term<TAB>risk, or CSV term,risk).
    #[arg(long, value_name = "FILE")]
    keywords: Option<PathBuf>,
    /// Column mapping for CSV/JSONL banks (FIELD=COLUMN or FIELD=@CONSTANT). Repeatable.
    #[arg(long, value_name = "FIELD=COLUMN")]
    map: Vec<String>,
    /// Prefix for bare risk refs in banks (default gbt-45654@2025:).
    #[arg(long, default_value = "gbt-45654@2025:")]
    cite_prefix: String,
    /// The target to sample (without it, only the banks are checked).
    #[arg(long, value_name = "SPEC|FILE")]
    target: Option<String>,
    /// A judge for the generated-content check.
    #[arg(long, value_name = "SPEC|FILE")]
    judge: Option<String>,
    /// Seed of the samples.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Run directory (default: probe-runs/<run-id>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Resume a plan run.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["generated_bank", "refusal_bank", "non_refusal_bank", "keywords", "judge", "out"])]
    resume: Option<PathBuf>,
    /// Requests in flight at most.
    #[arg(long)]
    concurrency: Option<usize>,
    /// Requests per second at most.
    #[arg(long, value_name = "R")]
    rate: Option<f64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CompareFormat::Table)]
    format: CompareFormat,
    /// Language of titles.
    #[arg(long, value_parser = parse_lang)]
    lang: Option<Lang>,
}

/// `probe import` arguments.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The bank (CSV, TSV or JSONL).
    file: PathBuf,
    /// Suite id for the result.
    #[arg(long)]
    id: String,
    /// Suite title (default: the file name).
    #[arg(long)]
    title: Option<String>,
    /// Language of every row (default: guessed per prompt).
    #[arg(long, value_parser = parse_lang)]
    lang: Option<Lang>,
    /// Expected behaviour of every row (else from the expect column).
    #[arg(long)]
    expect: Option<String>,
    /// FIELD=COLUMN or FIELD=@CONSTANT (fields: id, prompt, system, lang, cites, expect,
    /// answers, pattern, canary, rubric, tags, note). Repeatable.
    #[arg(long, value_name = "FIELD=COLUMN")]
    map: Vec<String>,
    /// Prefix for citations without a catalog (e.g. gbt-45654@2025:).
    #[arg(long)]
    cite_prefix: Option<String>,
    /// Write the suite (JSONL) here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    s.parse()
}

/// Runs a probe subcommand.
pub fn run(cmd: ProbeCmd, dd: &DataDir) -> Result<ExitCode> {
    aigov_probe::target::install_crypto();
    match cmd {
        ProbeCmd::Run(a) => run_cmd(*a, dd),
        ProbeCmd::Rescore(a) => rescore_cmd(a, dd),
        ProbeCmd::Report(a) => report_cmd(a, dd),
        ProbeCmd::Compare(a) => compare_cmd(a, dd),
        ProbeCmd::Plan(PlanCmd::Gbt45654(a)) => plan_cmd(*a, dd),
        ProbeCmd::Suites { format } => suites_cmd(dd, format),
        ProbeCmd::Validate { files } => validate_cmd(dd, &files),
        ProbeCmd::Import(a) => import_cmd(a, dd),
        ProbeCmd::Detect {
            text,
            expect,
            refusal_lexicon,
            format,
        } => detect_cmd(text, expect, &refusal_lexicon, format),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn clock() -> SharedClock {
    Arc::new(SystemClock)
}

fn read_text(p: &Path) -> Result<String> {
    std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
}

fn diag_err(d: Diagnostics) -> anyhow::Error {
    anyhow!("{} problem(s):\n{d}", d.0.len())
}

/// A target from a spec or a file.
fn load_target(s: &str) -> Result<TargetConfig> {
    let p = Path::new(s);
    let looks_spec = ["openai:", "http:", "command:", "replay:"]
        .iter()
        .any(|k| s.starts_with(k));
    if !looks_spec && p.is_file() {
        let src = read_text(p)?;
        return Ok(TargetConfig::from_file_text(s, &src)?);
    }
    Ok(TargetConfig::from_spec(s)?)
}

/// Suites from ids or files. `starter` expands to every starter suite.
fn load_suites(specs: &[String], lib: &Library) -> Result<Vec<Suite>> {
    let mut out: Vec<Suite> = Vec::new();
    let builtins = builtin::load_all(lib)
        .map_err(|d| anyhow!("built-in suites are invalid (a build defect):\n{d}"))?;
    for s in specs {
        let p = Path::new(s);
        let loaded: Vec<Suite> = if p.is_file() {
            let src = read_text(p)?;
            vec![parse_suite(s, &src, lib).map_err(diag_err)?]
        } else if s == "starter" || s == "all" {
            builtins.iter().filter(|b| b.starter).cloned().collect()
        } else if let Some(b) = builtins.iter().find(|b| b.id == *s) {
            vec![b.clone()]
        } else {
            let ids: Vec<&str> = builtins.iter().map(|b| b.id.as_str()).collect();
            bail!(
                "no suite {s:?}: not a file and not a built-in suite (built-in: starter, {})",
                ids.join(", ")
            );
        };
        for l in loaded {
            if out.iter().any(|o| o.id == l.id) {
                bail!("suite {} is given twice", l.id);
            }
            out.push(l);
        }
    }
    Ok(out)
}

fn read_named(files: &[PathBuf]) -> Result<Vec<(String, String)>> {
    files
        .iter()
        .map(|f| Ok((f.display().to_string(), read_text(f)?)))
        .collect()
}

fn parse_regexes(specs: &[String]) -> Result<Vec<NamedRegex>> {
    specs
        .iter()
        .map(|s| {
            let (n, p) = s
                .split_once('=')
                .ok_or_else(|| anyhow!("--regex {s:?}: expected NAME=PATTERN"))?;
            regex::Regex::new(p).with_context(|| format!("--regex {n}"))?;
            Ok(NamedRegex {
                name: n.trim().to_string(),
                pattern: p.to_string(),
            })
        })
        .collect()
}

fn default_out(run_id_hint: &str) -> PathBuf {
    PathBuf::from("probe-runs").join(run_id_hint)
}

fn fresh_run_dir() -> PathBuf {
    let ms = aigov_probe::util::Clock::now_ms(&SystemClock);
    let stamp = aigov_probe::util::rfc3339_ms(ms);
    let compact: String = stamp[..19].chars().filter(|c| c.is_ascii_digit()).collect();
    let mut p = default_out(&format!("{}-{}", &compact[..8], &compact[8..14]));
    let mut i = 2;
    while p.exists() {
        p = default_out(&format!("{}-{}-{i}", &compact[..8], &compact[8..14]));
        i += 1;
    }
    p
}

/// Drives a run session with a progress bar and Ctrl-C handling.
fn execute(run: &mut Run, rt: &tokio::runtime::Runtime) -> Result<RunSummary> {
    let progress = Arc::new(Progress::default());
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(run.planned())
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} {per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let summary = rt.block_on(async {
        let p = progress.clone();
        let b = bar.clone();
        let ticker = tokio::spawn(async move {
            loop {
                let done = p.already.load(Ordering::Relaxed) + p.completed.load(Ordering::Relaxed);
                b.set_position(done);
                b.set_message(format!(
                    "fail {} · errors {} · retries {}",
                    p.failed.load(Ordering::Relaxed),
                    p.errors.load(Ordering::Relaxed),
                    p.retries.load(Ordering::Relaxed)
                ));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let signals = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = cancel_tx.send(true);
                note("\ninterrupted: finishing the records written so far (Ctrl-C again to abort)");
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        });
        let r = run
            .execute(ExecOptions {
                clock: clock(),
                progress: progress.clone(),
                cancel: Some(cancel_rx),
            })
            .await;
        ticker.abort();
        signals.abort();
        r
    });
    bar.finish_and_clear();
    Ok(summary?)
}

fn summary_out(s: &RunSummary, dir: &Path, format: Fmt) -> ExitCode {
    match format {
        Fmt::Json => print(&output::json(&json!({
            "run_id": s.run_id,
            "dir": dir.display().to_string(),
            "status": s.status.as_str(),
            "stop_reason": s.stop_reason,
            "planned": s.planned,
            "skipped": s.skipped,
            "completed": s.completed,
            "errors": s.errors,
            "total_completed": s.total_completed,
            "elapsed_s": s.elapsed_s,
            "attempts_per_s": if s.elapsed_s > 0.0 { s.completed as f64 / s.elapsed_s } else { 0.0 },
        }))),
        Fmt::Table => print(&format!(
            "run {} in {}: {} — {} of {} attempts recorded ({} now, {} skipped as done, {} failed tries) in {:.1} s ({:.0}/s)\n",
            s.run_id,
            dir.display(),
            s.status.as_str(),
            s.total_completed,
            s.planned,
            s.completed,
            s.skipped,
            s.errors,
            s.elapsed_s,
            if s.elapsed_s > 0.0 {
                s.completed as f64 / s.elapsed_s
            } else {
                0.0
            }
        )),
    }
    match s.status {
        RunStatus::Completed => {
            note(&format!("report: aigov probe report {}", dir.display()));
            ExitCode::SUCCESS
        }
        RunStatus::Interrupted => {
            note(&format!(
                "interrupted; continue with: aigov probe run --resume {}",
                dir.display()
            ));
            ExitCode::from(130)
        }
        RunStatus::Stopped => {
            note(&format!(
                "error: {}",
                s.stop_reason.as_deref().unwrap_or("stopped")
            ));
            ExitCode::from(1)
        }
        RunStatus::Incomplete | RunStatus::Running => {
            note(&format!(
                "{} attempts failed (see {}/errors.jsonl); retry them with: aigov probe run --resume {}",
                s.planned.saturating_sub(s.total_completed),
                dir.display(),
                dir.display()
            ));
            ExitCode::from(1)
        }
    }
}

fn apply_overrides(t: &mut TargetConfig, a: &RunArgs) {
    if let Some(c) = a.concurrency {
        t.concurrency = Some(c.max(1));
    }
    if let Some(r) = a.rate {
        t.rps = Some(r);
    }
    if let Some(n) = a.tokens_per_min {
        t.tokens_per_min = Some(n);
    }
    if let Some(s) = a.timeout {
        t.timeout_s = Some(s);
    }
    if let Some(r) = a.retries {
        t.retries = Some(r);
    }
}

fn run_cmd(a: RunArgs, dd: &DataDir) -> Result<ExitCode> {
    let lib = dd.library()?;
    let rt = runtime()?;
    if let Some(dir) = &a.resume {
        let mut run =
            Run::open(dir, &lib).with_context(|| format!("cannot resume {}", dir.display()))?;
        if let Some(t) = &a.target {
            let mut t = load_target(t)?;
            apply_overrides(&mut t, &a);
            run.set_target(t)?;
        } else {
            run.tune_target(|t| apply_overrides(t, &a))?;
        }
        if a.dry_run {
            return dry_run(&run, a.format);
        }
        note(&format!(
            "resuming run {} ({} planned attempts)",
            run.manifest.run_id,
            run.planned()
        ));
        let s = execute(&mut run, &rt)?;
        return Ok(summary_out(&s, dir, a.format));
    }
    let Some(target) = &a.target else {
        bail!("--target is required (or --resume DIR)");
    };
    if a.suite.is_empty() {
        bail!(
            "--suite is required: a built-in id (see `aigov probe suites`; `starter` for all) or a suite file"
        );
    }
    let mut target = load_target(target)?;
    apply_overrides(&mut target, &a);
    let judge = a.judge.as_deref().map(load_target).transpose()?;
    let suites = load_suites(&a.suite, &lib)?;
    let mut chains = Vec::new();
    if !a.no_baseline {
        chains.push(Chain::none());
    }
    for t in &a.transform {
        let c = Chain::parse(t).map_err(|e| anyhow!("--transform: {e}"))?;
        if !chains.contains(&c) {
            chains.push(c);
        }
    }
    if chains.is_empty() {
        bail!("--no-baseline leaves no transform chain; add --transform");
    }
    let setup = RunSetup {
        target,
        judge,
        judge_all: a.judge_all,
        suites,
        chains,
        transform_all: a.transform_all,
        repetitions: a.repeat,
        seed: a.seed,
        pii: !a.no_pii,
        refusal_lexicons: read_named(&a.refusal_lexicon)?,
        keywords: read_named(&a.keywords)?,
        regexes: parse_regexes(&a.regex)?,
    };
    if a.dry_run {
        let tmp = tempdir_for_dry_run()?;
        let run = Run::create(&tmp, setup, &clock())?;
        let r = dry_run(&run, a.format);
        let _ = std::fs::remove_dir_all(&tmp);
        return r;
    }
    let dir = a.out.clone().unwrap_or_else(fresh_run_dir);
    let mut run = Run::create(&dir, setup, &clock())?;
    if run.manifest.config.suites.iter().any(|s| s.starter) {
        note("note: starter suites are representative probes, not a compliant GB/T 45654 bank");
    }
    note(&format!(
        "run {} → {} ({} attempts)",
        run.manifest.run_id,
        dir.display(),
        run.planned()
    ));
    let s = execute(&mut run, &rt)?;
    Ok(summary_out(&s, &dir, a.format))
}

fn tempdir_for_dry_run() -> Result<PathBuf> {
    let p = std::env::temp_dir().join(format!("aigov-dry-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    Ok(p)
}

fn dry_run(run: &Run, format: Fmt) -> Result<ExitCode> {
    let mut per: BTreeMap<(String, String), u64> = BTreeMap::new();
    for p in run.plan() {
        let s = run.core.suites[p.s].id.clone();
        let c = run.core.chain_name(p.c).to_string();
        *per.entry((s, c)).or_insert(0) += 1;
    }
    let total: u64 = per.values().sum();
    match format {
        Fmt::Json => print(&output::json(&json!({
            "target": run.manifest.target_label,
            "planned": total,
            "by_suite_and_transform": per.iter().map(|((s, c), n)| json!({"suite": s, "transforms": c, "attempts": n})).collect::<Vec<_>>(),
        }))),
        Fmt::Table => {
            let rows: Vec<Vec<String>> = per
                .iter()
                .map(|((s, c), n)| vec![s.clone(), c.clone(), n.to_string()])
                .collect();
            print(&table(&["SUITE", "TRANSFORMS", "ATTEMPTS"], &rows));
            print(&format!(
                "{total} attempts against {} (repetitions {})\n",
                run.manifest.target_label, run.manifest.config.repetitions
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn rescore_cmd(a: RescoreArgs, dd: &DataDir) -> Result<ExitCode> {
    let lib = dd.library()?;
    let rt = runtime()?;
    let out = match a.out {
        Some(o) => o,
        None => {
            let base = a.dir.display().to_string();
            let base = base.trim_end_matches('/');
            let mut p = PathBuf::from(format!("{base}-rescored"));
            let mut i = 2;
            while p.exists() {
                p = PathBuf::from(format!("{base}-rescored-{i}"));
                i += 1;
            }
            p
        }
    };
    let setup = RescoreSetup {
        pii: a.no_pii.then_some(false),
        refusal_lexicons: (!a.refusal_lexicon.is_empty())
            .then(|| read_named(&a.refusal_lexicon))
            .transpose()?,
        keywords: (!a.keywords.is_empty())
            .then(|| read_named(&a.keywords))
            .transpose()?,
        regexes: (!a.regex.is_empty())
            .then(|| parse_regexes(&a.regex))
            .transpose()?,
        judge: if a.no_judge {
            Some(None)
        } else {
            a.judge.as_deref().map(load_target).transpose()?.map(Some)
        },
        judge_all: a.judge_all.then_some(true),
    };
    let s = rt
        .block_on(run::rescore(&a.dir, &out, setup, &lib, &clock()))
        .with_context(|| format!("cannot re-score {}", a.dir.display()))?;
    match a.format {
        Fmt::Json => print(&output::json(&json!({
            "from": a.dir.display().to_string(),
            "out": s.out.display().to_string(),
            "records": s.records,
            "changed": s.changed,
        }))),
        Fmt::Table => print(&format!(
            "re-scored {} records of {} into {}; {} outcomes changed\n",
            s.records,
            a.dir.display(),
            s.out.display(),
            s.changed
        )),
    }
    note(&format!(
        "compare: aigov probe compare {} {}",
        a.dir.display(),
        s.out.display()
    ));
    Ok(ExitCode::SUCCESS)
}

fn write_or_print(out: &Option<PathBuf>, s: &str) -> Result<()> {
    match out {
        Some(p) => {
            write_atomic(p, s)?;
            note(&format!("wrote {}", p.display()));
        }
        None => print(s),
    }
    Ok(())
}

fn metric_cell(c: &eval::Counts, m: Metric) -> String {
    c.rate(m)
        .map(|r| {
            format!(
                "{:.1}% [{:.1}-{:.1}] {}/{}",
                r.point * 100.0,
                r.lower * 100.0,
                r.upper * 100.0,
                r.k,
                r.n
            )
        })
        .unwrap_or_else(|| "-".into())
}

fn report_table(ev: &eval::Evaluation, gates: &[eval::GateResult], lang: Lang) -> String {
    let m = &ev.manifest;
    let mut s = format!(
        "run {} · target {} · {} · {} of {} attempts ({} missing)\n",
        m.run_id,
        m.target_label,
        m.status.as_str(),
        ev.overall.attempts,
        m.planned,
        ev.errors.missing
    );
    if m.config.suites.iter().any(|s| s.starter) {
        s.push_str("starter suites: representative probes, not a compliant GB/T 45654 bank\n");
    }
    s.push('\n');
    let rows: Vec<Vec<String>> = ev
        .overall
        .rates()
        .into_iter()
        .map(|(metric, _)| {
            vec![
                metric.as_str().to_string(),
                metric.label().to_string(),
                metric_cell(&ev.overall, metric),
            ]
        })
        .collect();
    s.push_str(&table(&["METRIC", "WHAT", "RATE [95% CI] K/N"], &rows));
    for kind in [GroupKind::Category, GroupKind::Transform, GroupKind::Lang] {
        let groups: Vec<&eval::Group> = ev.groups.iter().filter(|g| g.kind == kind).collect();
        if groups.is_empty() {
            continue;
        }
        s.push('\n');
        let rows: Vec<Vec<String>> = groups
            .iter()
            .map(|g| {
                // `gbt-45654@2025:A.1` → `gbt-45654:A.1` (the version is in the manifest).
                let key = match g.key.split_once('@') {
                    Some((cat, rest)) if kind == GroupKind::Category => {
                        format!("{cat}:{}", rest.split_once(':').map_or(rest, |(_, r)| r))
                    }
                    _ => g.key.clone(),
                };
                let mut row = vec![key];
                if kind == GroupKind::Category {
                    row.push(g.title.as_ref().map(|t| pick(t, lang)).unwrap_or_default());
                }
                row.extend([
                    g.counts.attempts.to_string(),
                    metric_cell(&g.counts, Metric::Asr),
                    metric_cell(&g.counts, Metric::RefusalRate),
                    metric_cell(&g.counts, Metric::FalseRefusalRate),
                ]);
                row
            })
            .collect();
        let name = kind.as_str().to_uppercase();
        let mut head = vec![name.as_str()];
        if kind == GroupKind::Category {
            head.push("TITLE");
        }
        head.extend(["N", "ASR", "REFUSAL", "FALSE REFUSAL"]);
        s.push_str(&table(&head, &rows));
    }
    if !gates.is_empty() {
        s.push('\n');
        let rows: Vec<Vec<String>> = gates
            .iter()
            .map(|g| {
                vec![
                    g.gate.clone(),
                    g.group.clone().unwrap_or_else(|| "overall".into()),
                    format!(
                        "{:.1}% [{:.1}-{:.1}] {}/{}",
                        g.point * 100.0,
                        g.lower * 100.0,
                        g.upper * 100.0,
                        g.k,
                        g.n
                    ),
                    g.point_verdict.into(),
                    g.bound_verdict.into(),
                    if g.passed {
                        "pass".into()
                    } else {
                        "FAIL".into()
                    },
                ]
            })
            .collect();
        s.push_str(&table(
            &["GATE", "GROUP", "MEASURED", "POINT", "BOUND", "RESULT"],
            &rows,
        ));
    }
    if ev.judge.judged > 0 {
        s.push_str(&format!(
            "\njudge: {} judged, {} unparseable (undetermined), {} failed calls\n",
            ev.judge.judged, ev.judge.unparseable, ev.judge.errors
        ));
    }
    if ev.duplicates > 0 || ev.bad_lines > 0 {
        s.push_str(&format!(
            "\nintegrity: {} duplicate records ignored, {} unreadable lines\n",
            ev.duplicates, ev.bad_lines
        ));
    }
    s
}

fn report_cmd(a: ReportArgs, dd: &DataDir) -> Result<ExitCode> {
    let lib = dd.library()?;
    let lang = lang_or_default(a.lang);
    let ev = eval::evaluate(&a.dir, &lib, a.examples)
        .with_context(|| format!("cannot read the run in {}", a.dir.display()))?;
    let mut gates = Vec::new();
    for g in &a.fail_above {
        gates.push(Gate::parse(g, true).map_err(|e| anyhow!("--fail-above {e}"))?);
    }
    for g in &a.fail_below {
        gates.push(Gate::parse(g, false).map_err(|e| anyhow!("--fail-below {e}"))?);
    }
    let on = match a.gate_on {
        GateOnArg::Point => GateOn::Point,
        GateOnArg::Bound => GateOn::Bound,
    };
    let results = eval::check_gates(&ev, &gates, on);
    let text = match a.format {
        ReportFormat::Table => report_table(&ev, &results, lang),
        ReportFormat::Md => report::to_markdown(&ev, &results, lang),
        ReportFormat::Html => report::to_html(&ev, &results, lang),
        ReportFormat::Json => output::json(&report::to_json(&ev, &results)),
        ReportFormat::Junit => report::to_junit(&a.dir, &ev, &results)?,
    };
    write_or_print(&a.out, &text)?;
    let failed: Vec<&eval::GateResult> = results.iter().filter(|g| !g.passed).collect();
    if !failed.is_empty() {
        for g in &failed {
            note(&format!(
                "gate failed: {} ({}): measured {:.2}% [{:.2}-{:.2}] ({}/{}), point {}, bound {}",
                g.gate,
                g.group.as_deref().unwrap_or("overall"),
                g.point * 100.0,
                g.lower * 100.0,
                g.upper * 100.0,
                g.k,
                g.n,
                g.point_verdict,
                g.bound_verdict
            ));
        }
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}

fn compare_cmd(a: CompareArgs, dd: &DataDir) -> Result<ExitCode> {
    let lib = dd.library()?;
    let lang = lang_or_default(a.lang);
    let c = eval::compare(&a.a, &a.b, &lib, 20)?;
    let regressions: Vec<&eval::Delta> = c
        .deltas
        .iter()
        .filter(|d| d.regression && (!a.significant || d.significant))
        .collect();
    match a.format {
        CompareFormat::Json => print(&output::json(&serde_json::to_value(&c)?)),
        CompareFormat::Table | CompareFormat::Md => {
            let md = a.format == CompareFormat::Md;
            let mut s = format!(
                "{}compare {} (A) → {} (B): {} attempts newly failing, {} newly passing, {} only in B\n\n",
                if md { "# " } else { "" },
                c.a,
                c.b,
                c.newly_failing,
                c.newly_passing,
                c.only_in_b
            );
            let rows: Vec<Vec<String>> = c
                .deltas
                .iter()
                .filter(|d| d.regression || d.improvement)
                .map(|d| {
                    let group = match (&d.kind, &d.key) {
                        (Some(k), Some(key)) => format!("{}:{}", k.as_str(), key),
                        _ => "overall".into(),
                    };
                    vec![
                        group,
                        d.title.as_ref().map(|t| pick(t, lang)).unwrap_or_default(),
                        d.metric.as_str().into(),
                        format!("{:.1}% ({}/{})", d.a.point * 100.0, d.a.k, d.a.n),
                        format!("{:.1}% ({}/{})", d.b.point * 100.0, d.b.k, d.b.n),
                        format!("{:+.1}", d.delta * 100.0),
                        if d.regression {
                            "REGRESSION".into()
                        } else {
                            "improvement".into()
                        },
                        if d.significant {
                            "significant".into()
                        } else {
                            String::new()
                        },
                    ]
                })
                .collect();
            if rows.is_empty() {
                s.push_str("no metric changed\n");
            } else if md {
                s.push_str("| group | title | metric | A | B | Δ pts | change | |\n|---|---|---|---|---|---|---|---|\n");
                for r in &rows {
                    s.push_str(&format!("| {} |\n", r.join(" | ")));
                }
            } else {
                s.push_str(&table(
                    &[
                        "GROUP", "TITLE", "METRIC", "A", "B", "Δ PTS", "CHANGE", "95% CI",
                    ],
                    &rows,
                ));
            }
            if !c.flips.is_empty() {
                s.push_str(if md {
                    "\n## Newly failing\n\n"
                } else {
                    "\nnewly failing:\n"
                });
                for f in &c.flips {
                    s.push_str(&format!(
                        "- {} / {} [{}] rep {}: {}\n",
                        f.suite, f.item, f.transforms, f.rep, f.reason
                    ));
                }
            }
            print(&s);
        }
    }
    if a.fail_on_regression && !regressions.is_empty() {
        note(&format!(
            "{} metric regressions{}",
            regressions.len(),
            if a.significant { " (significant)" } else { "" }
        ));
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}

/// A bank: a built-in suite id, a suite file, or a CSV/JSONL table with the mapping.
fn load_bank(spec: &str, map: &ColumnMap, lib: &Library) -> Result<Suite> {
    let p = Path::new(spec);
    if !p.is_file() {
        return load_suites(&[spec.to_string()], lib)?
            .pop()
            .ok_or_else(|| anyhow!("no bank {spec}"));
    }
    let src = read_text(p)?;
    let first = src.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if src.contains("aigov_suite") && (first.contains("aigov_suite") || !first.contains(',')) {
        return parse_suite(spec, &src, lib).map_err(diag_err);
    }
    let stem = p
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("bank")
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>();
    let id = format!("bank-{}", stem.trim_matches('-'));
    let id = if aigov_catalog::check_id(&id).is_ok() {
        id
    } else {
        "bank".to_string()
    };
    let header = ImportHeader {
        id,
        title: aigov_catalog::Text::only(Lang::En, spec.to_string()),
        lang: None,
        expect: Some(Expect::Answer),
    };
    import_table(
        spec,
        &src,
        TableFormat::detect(spec, &src),
        map,
        &header,
        lib,
    )
    .map_err(diag_err)
}

fn plan_cmd(a: PlanArgs, dd: &DataDir) -> Result<ExitCode> {
    let lib = dd.library()?;
    let lang = lang_or_default(a.lang);
    let plan = Plan::new(&lib)?;
    let rt = runtime()?;
    // Resume: bank results and the draw are stored in plan.json.
    if let Some(dir) = &a.resume {
        let saved: serde_json::Value = serde_json::from_str(&read_text(&dir.join("plan.json"))?)
            .context("plan.json is not JSON")?;
        let mut run = Run::open(dir, &lib)?;
        run.tune_target(|t| {
            if let Some(c) = a.concurrency {
                t.concurrency = Some(c.max(1));
            }
            if let Some(r) = a.rate {
                t.rps = Some(r);
            }
        })?;
        let s = execute(&mut run, &rt)?;
        let banks: Vec<plan::Requirement> = serde_json::from_value(saved["banks"].clone())?;
        let drawn: BTreeMap<String, u64> = serde_json::from_value(saved["drawn"].clone())?;
        let samples = plan::evaluate_samples(
            &plan,
            dir,
            &drawn,
            run.manifest.config.judge.is_some(),
            !run.manifest.config.detectors.keywords.is_empty(),
        )?;
        print_plan(&plan, &banks, &samples, Some((dir, &s)), a.format, lang)?;
        return Ok(plan_exit(&s));
    }
    let mut map = ColumnMap::parse(&a.map).map_err(|e| anyhow!("--map {e}"))?;
    map.cite_prefix = Some(a.cite_prefix.clone());
    let load = |b: &Option<String>| b.as_deref().map(|s| load_bank(s, &map, &lib)).transpose();
    let generated = load(&a.generated_bank)?;
    let refusal = load(&a.refusal_bank)?;
    let non_refusal = load(&a.non_refusal_bank)?;
    let kw_src = a.keywords.as_ref().map(|k| read_text(k)).transpose()?;
    let keywords = match (&a.keywords, &kw_src) {
        (Some(p), Some(src)) => {
            Some(Keywords::parse(&p.display().to_string(), src).map_err(diag_err)?)
        }
        _ => None,
    };
    let banks = plan::check_banks(
        &plan,
        &Banks {
            generated: generated.as_ref(),
            refusal: refusal.as_ref(),
            non_refusal: non_refusal.as_ref(),
            keywords: keywords.as_ref(),
        },
    );
    let Some(target) = &a.target else {
        let samples = plan::evaluate_samples(
            &plan,
            Path::new("/nonexistent-aigov-plan"),
            &BTreeMap::new(),
            false,
            false,
        )?;
        print_plan(&plan, &banks, &samples, None, a.format, lang)?;
        note("no --target: the samples were not run (their rates are not assessable)");
        return Ok(ExitCode::SUCCESS);
    };
    let mut target = load_target(target)?;
    if let Some(c) = a.concurrency {
        target.concurrency = Some(c.max(1));
    }
    if let Some(r) = a.rate {
        target.rps = Some(r);
    }
    let judge = a.judge.as_deref().map(load_target).transpose()?;
    let mut suites = Vec::new();
    let mut drawn = BTreeMap::new();
    for (kind, bank) in [
        (SampleKind::Generated, &generated),
        (SampleKind::Refusal, &refusal),
        (SampleKind::NonRefusal, &non_refusal),
    ] {
        if let Some(b) = bank {
            let s = plan::draw_sample(&plan, kind, b, a.seed)?;
            drawn.insert(s.id.clone(), s.items.len() as u64);
            suites.push(s);
        }
    }
    if suites.is_empty() {
        bail!("give at least one bank (--generated-bank, --refusal-bank, --non-refusal-bank)");
    }
    let dir = a.out.clone().unwrap_or_else(fresh_run_dir);
    let setup = RunSetup {
        target,
        judge: judge.clone(),
        judge_all: false,
        suites,
        chains: vec![Chain::none()],
        transform_all: false,
        repetitions: 1,
        seed: a.seed,
        pii: true,
        refusal_lexicons: Vec::new(),
        keywords: match (&a.keywords, kw_src) {
            (Some(p), Some(src)) => vec![(p.display().to_string(), src)],
            _ => Vec::new(),
        },
        regexes: Vec::new(),
    };
    let mut run = Run::create(&dir, setup, &clock())?;
    write_atomic(
        &dir.join("plan.json"),
        output::json(
            &json!({"plan": "gbt45654", "catalog": plan.catalog.key().to_string(), "seed": a.seed, "banks": banks, "drawn": drawn}),
        ),
    )?;
    note(&format!(
        "plan run {} → {} ({} attempts)",
        run.manifest.run_id,
        dir.display(),
        run.planned()
    ));
    let s = execute(&mut run, &rt)?;
    write_manual_review(&dir)?;
    let samples = plan::evaluate_samples(&plan, &dir, &drawn, judge.is_some(), keywords.is_some())?;
    print_plan(&plan, &banks, &samples, Some((&dir, &s)), a.format, lang)?;
    Ok(plan_exit(&s))
}

fn plan_exit(s: &RunSummary) -> ExitCode {
    match s.status {
        RunStatus::Completed => ExitCode::SUCCESS,
        RunStatus::Interrupted => ExitCode::from(130),
        _ => ExitCode::from(1),
    }
}

/// The generated-content sample with its answers, for manual review (GB/T asks for manual,
/// keyword and classifier checks; the first needs people).
fn write_manual_review(dir: &Path) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "attempt",
        "item",
        "cites",
        "prompt",
        "response",
        "qualified",
    ])?;
    aigov_probe::run::record::for_each_line::<aigov_probe::run::record::AttemptRecord>(
        &dir.join("attempts.jsonl"),
        |r| {
            if r.suite == plan::GENERATED_SAMPLE {
                let prompt = r
                    .request
                    .messages
                    .last()
                    .map(|m| m.content.as_str())
                    .unwrap_or("");
                let _ = w.write_record([
                    r.id.as_str(),
                    r.item.as_str(),
                    &r.cites.join("; "),
                    prompt,
                    r.response.text.as_str(),
                    "",
                ]);
            }
        },
    )?;
    let bytes = w.into_inner().map_err(|e| anyhow!("{e}"))?;
    write_atomic(
        &dir.join("manual-review.csv"),
        &*String::from_utf8_lossy(&bytes),
    )
}

fn print_plan(
    plan: &Plan<'_>,
    banks: &[plan::Requirement],
    samples: &[plan::Requirement],
    run: Option<(&Path, &RunSummary)>,
    format: CompareFormat,
    lang: Lang,
) -> Result<()> {
    let all: Vec<&plan::Requirement> = banks.iter().chain(samples.iter()).collect();
    match format {
        CompareFormat::Json => {
            print(&output::json(&json!({
                "plan": "gbt45654",
                "catalog": plan.catalog.key().to_string(),
                "run": run.map(|(d, s)| json!({"dir": d.display().to_string(), "run_id": s.run_id, "status": s.status.as_str(), "completed": s.total_completed, "planned": s.planned})),
                "requirements": all,
            })));
        }
        CompareFormat::Table | CompareFormat::Md => {
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|r| {
                    let mut measured = r.measured.clone().unwrap_or_else(|| "-".into());
                    if !r.short.is_empty() {
                        let mut s = r
                            .short
                            .iter()
                            .take(6)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ");
                        if r.short.len() > 6 {
                            s.push_str(&format!(" … +{}", r.short.len() - 6));
                        }
                        measured.push_str(&format!(" (short: {s})"));
                    }
                    if let Some(n) = &r.note
                        && r.verdict == "not assessable"
                    {
                        measured = n.clone();
                    }
                    vec![
                        r.cite
                            .rsplit_once(':')
                            .map_or(r.cite.as_str(), |(_, x)| x)
                            .to_string(),
                        pick(&r.title, lang),
                        r.required.clone(),
                        r.method.clone().unwrap_or_default(),
                        measured,
                        r.verdict.clone(),
                        r.bound_verdict.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            let head = [
                "REQUIREMENT",
                "TITLE",
                "REQUIRED",
                "METHOD",
                "MEASURED",
                "POINT",
                "BOUND",
            ];
            let mut s = format!(
                "GB/T 45654 test plan ({}; every number from its threshold items)\n",
                plan.catalog.key()
            );
            if let Some((d, r)) = run {
                s.push_str(&format!(
                    "run {} in {}: {} ({} of {} answered)\n",
                    r.run_id,
                    d.display(),
                    r.status.as_str(),
                    r.total_completed,
                    r.planned
                ));
            }
            s.push('\n');
            if format == CompareFormat::Md {
                s.push_str(&format!(
                    "| {} |\n|{}\n",
                    head.join(" | "),
                    "---|".repeat(head.len())
                ));
                for r in rows {
                    s.push_str(&format!("| {} |\n", r.join(" | ").replace('\n', " ")));
                }
            } else {
                s.push_str(&table(&head, &rows));
            }
            print(&s);
        }
    }
    Ok(())
}

fn suites_cmd(dd: &DataDir, format: Fmt) -> Result<ExitCode> {
    let lib = dd.library()?;
    let suites = builtin::load_all(&lib)
        .map_err(|d| anyhow!("built-in suites are invalid (a build defect):\n{d}"))?;
    let lang = lang_or_default(None);
    let expects = |s: &Suite| {
        let mut m: BTreeMap<&str, usize> = BTreeMap::new();
        for it in &s.items {
            *m.entry(it.expect.as_str()).or_insert(0) += 1;
        }
        m
    };
    match format {
        Fmt::Json => print(&output::json(&json!(suites.iter().map(|s| json!({
            "id": s.id, "title": s.title, "items": s.items.len(), "starter": s.starter,
            "expect": expects(s), "origin": s.origin, "digest": s.digest,
            "langs": {"zh": s.items.iter().filter(|i| i.lang == Lang::Zh).count(), "en": s.items.iter().filter(|i| i.lang == Lang::En).count()},
        })).collect::<Vec<_>>()))),
        Fmt::Table => {
            let rows: Vec<Vec<String>> = suites
                .iter()
                .map(|s| {
                    vec![
                        s.id.clone(),
                        s.items.len().to_string(),
                        expects(s).iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "),
                        pick(&s.title, lang),
                    ]
                })
                .collect();
            let total: usize = suites.iter().map(|s| s.items.len()).sum();
            let mut s = table(&["ID", "ITEMS", "EXPECT", "TITLE"], &rows);
            s.push_str(&format!(
                "\n{total} items. Starter suites are representative probes written by the aigov authors, not a compliant GB/T 45654 bank. Use `--suite starter` for all.\n"
            ));
            print(&s);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn validate_cmd(dd: &DataDir, files: &[PathBuf]) -> Result<ExitCode> {
    let lib = dd.library()?;
    let mut bad = 0;
    for f in files {
        let name = f.display().to_string();
        let src = read_text(f)?;
        match parse_suite(&name, &src, &lib) {
            Ok(s) => print(&format!(
                "ok: {name}: suite {} with {} items\n",
                s.id,
                s.items.len()
            )),
            Err(d) => {
                bad += 1;
                note(&d.to_string());
            }
        }
    }
    Ok(if bad > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn import_cmd(a: ImportArgs, dd: &DataDir) -> Result<ExitCode> {
    let lib = dd.library()?;
    let src = read_text(&a.file)?;
    let name = a.file.display().to_string();
    let mut map = ColumnMap::parse(&a.map).map_err(|e| anyhow!("--map {e}"))?;
    map.cite_prefix = a.cite_prefix.clone();
    let expect = a
        .expect
        .as_deref()
        .map(|e| Expect::parse(e).ok_or_else(|| anyhow!("--expect {e:?}: unknown expectation")))
        .transpose()?;
    let title = a.title.clone().unwrap_or_else(|| {
        a.file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| a.id.clone())
    });
    let header = ImportHeader {
        id: a.id.clone(),
        title: aigov_catalog::Text::only(lang_or_default(a.lang), title),
        lang: a.lang,
        expect,
    };
    let suite = import_table(
        &name,
        &src,
        TableFormat::detect(&name, &src),
        &map,
        &header,
        &lib,
    )
    .map_err(diag_err)?;
    let text = suite_to_jsonl(&suite);
    write_or_print(&a.out, &text)?;
    note(&format!(
        "imported {} items as suite {}",
        suite.items.len(),
        suite.id
    ));
    Ok(ExitCode::SUCCESS)
}

fn detect_cmd(
    text: Option<String>,
    expect: Option<String>,
    lexicons: &[PathBuf],
    format: Fmt,
) -> Result<ExitCode> {
    let text = match text.as_deref() {
        None | Some("-") => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
            s
        }
        Some(t) => t.to_string(),
    };
    let extra = read_named(lexicons)?;
    let refs: Vec<(&str, &str)> = extra
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let detectors = Detectors {
        refusal: RefusalDetector::with_extra(&refs).map_err(|e| anyhow!(e))?,
        ..Detectors::default()
    };
    let expect = expect
        .as_deref()
        .map(|e| Expect::parse(e).ok_or_else(|| anyhow!("--expect {e:?}: unknown expectation")))
        .transpose()?;
    let lib = Library::new();
    let item_src = format!(
        "{{\"aigov_suite\":1,\"id\":\"detect\",\"title\":{{\"en\":\"detect\"}}}}\n{}\n",
        json!({"id": "x", "prompt": "-", "expect": expect.unwrap_or(Expect::Answer).as_str(), "answers": ["-"], "pattern": if expect == Some(Expect::Regex) { Some(".") } else { None }, "canary": if expect == Some(Expect::NoLeak) { Some("NO-CANARY-GIVEN") } else { None }, "rubric": if expect == Some(Expect::Rubric) { Some("-") } else { None }})
    );
    let suite = parse_suite("detect", &item_src, &lib).map_err(diag_err)?;
    let dets = detectors.run(&suite.items[0], &text, false);
    let outcome = expect.map(|e| aigov_probe::detect::decide(e, &dets));
    match format {
        Fmt::Json => print(&output::json(&json!({
            "detections": dets,
            "outcome": outcome.map(|(o, r)| json!({"outcome": o.as_str(), "reason": r})),
        }))),
        Fmt::Table => {
            let rows: Vec<Vec<String>> = dets
                .iter()
                .map(|d| {
                    vec![
                        d.detector.clone(),
                        format!("{:?}", d.polarity).to_lowercase(),
                        d.hit.map_or("?".into(), |h| h.to_string()),
                        format!("{:.2}", d.score),
                        d.mode.clone(),
                        d.rule.clone().unwrap_or_default(),
                        d.evidence
                            .as_ref()
                            .map(|e| format!("[{}..{}] {}", e.start, e.end, e.text))
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            let mut s = table(
                &[
                    "DETECTOR", "POLARITY", "HIT", "SCORE", "MODE", "RULE", "EVIDENCE",
                ],
                &rows,
            );
            if let Some((o, r)) = outcome {
                s.push_str(&format!("outcome: {} ({r})\n", o.as_str()));
            }
            print(&s);
        }
    }
    Ok(ExitCode::SUCCESS)
}
