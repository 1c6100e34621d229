//! Runs: planning attempts, executing them against a target, and recording them so that a
//! run can be resumed (also after `kill -9`) and re-scored without calling the target again.
//!
//! A run directory holds `manifest.json` (the run definition, digests, sessions),
//! `attempts.jsonl` (one line per completed attempt, append-only), `errors.jsonl` (failed tries)
//! and snapshots of the suites and detector inputs, so it is self-contained. Attempts are the
//! product `repetitions × chains × suites × items` (transforms apply to adversarial items
//! unless `transform_all`), each with a stable id; a resume skips ids already recorded.
//!
//! Execution: `concurrency` worker tasks pull attempts from one shared plan cursor, call the
//! [`Endpoint`] (limits, retries, breaker), run the detectors and the judge, serialise the
//! record and hand the line to a writer thread, which appends through a buffered writer and
//! flushes whenever it is idle (or every 100 ms under load). Memory stays flat in run size:
//! nothing holds attempts, only the set of finished ids when resuming.

pub mod record;

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aigov_catalog::{Diagnostics, Library};
use tokio::sync::{mpsc, watch};

use crate::detect::patterns::Keywords;
use crate::detect::refusal::RefusalDetector;
use crate::detect::{self, Detection, Detectors, Polarity, judge};
use crate::suite::{Expect, Message, Suite, parse_suite, suite_to_jsonl};
use crate::target::{Endpoint, Exchange, ReplayKey, Request, TargetConfig, TargetError};
use crate::transform::Chain;
use crate::util::{AttemptId, Rng, SharedClock, rfc3339_ms, sha256_hex};
use record::*;

/// Errors of run operations.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// File access.
    #[error("{path}: {err}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        err: std::io::Error,
    },
    /// Run files.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// A suite did not load.
    #[error("{0}")]
    Suite(Diagnostics),
    /// The target or judge is misconfigured.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// Anything else about the run definition.
    #[error("{0}")]
    Config(String),
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> RunError + '_ {
    move |e| RunError::Io {
        path: path.display().to_string(),
        err: e,
    }
}

/// What a new run is made of.
#[derive(Debug, Clone)]
pub struct RunSetup {
    /// The target.
    pub target: TargetConfig,
    /// A judge target.
    pub judge: Option<TargetConfig>,
    /// Judge every item (else only `rubric` items).
    pub judge_all: bool,
    /// Suites, loaded and validated.
    pub suites: Vec<Suite>,
    /// Transform chains (include `none` for the untransformed prompt).
    pub chains: Vec<Chain>,
    /// Apply transforms to every item, not only adversarial ones.
    pub transform_all: bool,
    /// Repetitions of each attempt (≥ 1).
    pub repetitions: u32,
    /// Seed.
    pub seed: u64,
    /// Personal-information patterns.
    pub pii: bool,
    /// Extra refusal lexicons `(file name, content)`.
    pub refusal_lexicons: Vec<(String, String)>,
    /// Keyword libraries `(file name, content)`.
    pub keywords: Vec<(String, String)>,
    /// User regexes.
    pub regexes: Vec<NamedRegex>,
}

/// Shared, immutable data of an executing run.
#[derive(Debug)]
pub struct RunCore {
    /// Run id.
    pub run_id: String,
    /// Suites.
    pub suites: Vec<Suite>,
    /// Chains.
    pub chains: Vec<Chain>,
    chain_names: Vec<String>,
    chain_lists: Vec<Vec<String>>,
    /// Transform all items.
    pub transform_all: bool,
    /// Repetitions.
    pub repetitions: u32,
    /// Seed.
    pub seed: u64,
    /// Target identity.
    pub target_identity: String,
    /// Target label.
    pub target_label: String,
    /// Detectors.
    pub detectors: Detectors,
    /// Judge every item.
    pub judge_all: bool,
}

/// One planned attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    /// Suite index.
    pub s: usize,
    /// Item index.
    pub i: usize,
    /// Chain index.
    pub c: usize,
    /// Repetition.
    pub rep: u32,
    /// Its id.
    pub id: AttemptId,
}

impl RunCore {
    /// Whether a chain applies to an item.
    pub fn applies(&self, expect: Expect, c: usize) -> bool {
        self.chains[c].is_none()
            || self.transform_all
            || expect.is_attack()
            || expect == Expect::Rubric
    }

    /// The id of an attempt.
    pub fn attempt_id(&self, s: usize, i: usize, c: usize, rep: u32) -> AttemptId {
        let suite = &self.suites[s];
        let item = &suite.items[i];
        AttemptId::of(&[
            suite.id.as_bytes(),
            item.id.as_bytes(),
            item.input_digest.as_bytes(),
            self.chain_names[c].as_bytes(),
            &rep.to_le_bytes(),
            self.target_identity.as_bytes(),
        ])
    }

    /// Number of planned attempts.
    pub fn planned(&self) -> u64 {
        let mut n = 0u64;
        for c in 0..self.chains.len() {
            for s in &self.suites {
                n += s
                    .items
                    .iter()
                    .filter(|it| self.applies(it.expect, c))
                    .count() as u64;
            }
        }
        n * u64::from(self.repetitions)
    }

    /// The chain name of index `c`.
    pub fn chain_name(&self, c: usize) -> &str {
        &self.chain_names[c]
    }
}

/// Iterates the plan in order: repetition, chain, suite, item (so an interrupted run has
/// covered every item untransformed before it repeats or transforms).
#[derive(Debug, Clone)]
pub struct PlanIter {
    core: Arc<RunCore>,
    rep: u32,
    c: usize,
    s: usize,
    i: usize,
}

impl PlanIter {
    /// The plan of `core`.
    pub fn new(core: Arc<RunCore>) -> PlanIter {
        PlanIter {
            core,
            rep: 0,
            c: 0,
            s: 0,
            i: 0,
        }
    }
}

impl Iterator for PlanIter {
    type Item = Planned;
    fn next(&mut self) -> Option<Planned> {
        let core = &self.core;
        loop {
            if self.rep >= core.repetitions {
                return None;
            }
            if self.c >= core.chains.len() {
                self.c = 0;
                self.rep += 1;
                continue;
            }
            if self.s >= core.suites.len() {
                self.s = 0;
                self.c += 1;
                continue;
            }
            if self.i >= core.suites[self.s].items.len() {
                self.i = 0;
                self.s += 1;
                continue;
            }
            let (s, i, c, rep) = (self.s, self.i, self.c, self.rep);
            self.i += 1;
            if !core.applies(core.suites[s].items[i].expect, c) {
                continue;
            }
            return Some(Planned {
                s,
                i,
                c,
                rep,
                id: core.attempt_id(s, i, c, rep),
            });
        }
    }
}

/// Live counters for progress display.
#[derive(Debug, Default)]
pub struct Progress {
    /// Attempts planned.
    pub planned: AtomicU64,
    /// Already recorded before this session.
    pub already: AtomicU64,
    /// Completed in this session.
    pub completed: AtomicU64,
    /// Of those, outcome `fail`.
    pub failed: AtomicU64,
    /// Failed tries (errors) in this session.
    pub errors: AtomicU64,
    /// Retries made.
    pub retries: AtomicU64,
}

/// The result of executing a run session.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Run id.
    pub run_id: String,
    /// Status after the session.
    pub status: RunStatus,
    /// Why it stopped, if it did.
    pub stop_reason: Option<String>,
    /// Attempts planned.
    pub planned: u64,
    /// Recorded before this session (skipped).
    pub skipped: u64,
    /// Completed in this session.
    pub completed: u64,
    /// Failed in this session.
    pub errors: u64,
    /// Completed overall.
    pub total_completed: u64,
    /// Seconds this session took.
    pub elapsed_s: f64,
}

/// Options of one session.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Where time comes from.
    pub clock: SharedClock,
    /// Progress counters.
    pub progress: Arc<Progress>,
    /// Becomes true to stop (Ctrl-C).
    pub cancel: Option<watch::Receiver<bool>>,
}

/// A run bound to its directory.
#[derive(Debug)]
pub struct Run {
    /// The directory.
    pub dir: PathBuf,
    /// The manifest as last written.
    pub manifest: Manifest,
    /// The shared run data.
    pub core: Arc<RunCore>,
    target: TargetConfig,
    judge: Option<TargetConfig>,
}

/// SHA-256 of each built-in catalog file whose catalog a suite cites.
fn catalog_refs(suites: &[Suite]) -> Vec<CatalogRef> {
    let mut cited: Vec<(String, String)> = Vec::new();
    for s in suites {
        for it in &s.items {
            for c in &it.cites {
                if let Some((head, _)) = c.split_once(':')
                    && let Some((id, v)) = head.split_once('@')
                    && !cited.iter().any(|(a, b)| a == id && b == v)
                {
                    cited.push((id.to_string(), v.to_string()));
                }
            }
        }
    }
    cited.sort();
    cited
        .into_iter()
        .map(|(id, version)| {
            let file = format!("{id}@{version}.yaml");
            let digest = aigov_catalog::library::builtin_files()
                .iter()
                .find(|(n, _)| *n == file)
                .map(|(_, src)| sha256_hex(src.as_bytes()))
                .unwrap_or_else(|| "imported".into());
            CatalogRef {
                id,
                version,
                digest,
            }
        })
        .collect()
}

fn build_detectors(
    pii: bool,
    lexicons: &[(String, String)],
    keywords: &[(String, String)],
    regexes: &[NamedRegex],
) -> Result<Detectors, RunError> {
    let extra: Vec<(&str, &str)> = lexicons
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_str()))
        .collect();
    let refusal = RefusalDetector::with_extra(&extra).map_err(RunError::Config)?;
    let mut kws = Vec::new();
    for (n, s) in keywords {
        kws.push(Keywords::parse(n, s).map_err(RunError::Suite)?);
    }
    let mut res = Vec::new();
    for r in regexes {
        let re = regex::RegexBuilder::new(&r.pattern)
            .size_limit(4 << 20)
            .build()
            .map_err(|e| RunError::Config(format!("regex {}: {e}", r.name)))?;
        res.push((r.name.clone(), re));
    }
    Ok(Detectors {
        refusal,
        pii: pii.then(crate::detect::patterns::PiiDetector::new),
        keywords: kws,
        regexes: res,
    })
}

fn safe_file_name(name: &str) -> String {
    let base = Path::new(name)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("file");
    base.chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn write_file(path: &Path, content: &str) -> Result<(), RunError> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(io_err(d))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// Writes a manifest atomically (temporary file, then rename).
pub fn write_manifest(dir: &Path, m: &Manifest) -> Result<(), RunError> {
    let s = serde_json::to_string_pretty(m).map_err(|e| RunError::Config(e.to_string()))?;
    write_file(&dir.join(MANIFEST), &(s + "\n"))
}

fn copy_inputs(
    dir: &Path,
    kind: &str,
    files: &[(String, String)],
) -> Result<Vec<FileRef>, RunError> {
    let mut out = Vec::new();
    for (i, (name, content)) in files.iter().enumerate() {
        let rel = format!("{DETECTORS_DIR}/{kind}-{}-{}", i + 1, safe_file_name(name));
        write_file(&dir.join(&rel), content)?;
        out.push(FileRef {
            name: name.clone(),
            file: rel,
            digest: sha256_hex(content.as_bytes()),
        });
    }
    Ok(out)
}

fn new_run_id(clock: &SharedClock, seed: u64, identity: &str) -> String {
    let ms = clock.now_ms();
    let stamp = rfc3339_ms(ms);
    let compact: String = stamp[..19].chars().filter(|c| c.is_ascii_digit()).collect();
    let h = sha256_hex(format!("{ms}\0{seed}\0{identity}\0{}", std::process::id()).as_bytes());
    format!("{}-{}", &compact[..14], &h[..6])
}

impl Run {
    /// Creates a new run in `dir` (which must not hold a run already): writes the manifest,
    /// the suite snapshots and copies of detector inputs.
    pub fn create(dir: &Path, setup: RunSetup, clock: &SharedClock) -> Result<Run, RunError> {
        if dir.join(MANIFEST).exists() {
            return Err(RunError::Config(format!(
                "{} already holds a run; resume it with --resume {0}, or choose another --out",
                dir.display()
            )));
        }
        if setup.suites.is_empty() {
            return Err(RunError::Config("no suites".into()));
        }
        if setup.chains.is_empty() {
            return Err(RunError::Config(
                "no transform chains (use none for the plain prompt)".into(),
            ));
        }
        if setup.repetitions == 0 {
            return Err(RunError::Config("repetitions must be at least 1".into()));
        }
        let mut ids = HashSet::new();
        for s in &setup.suites {
            if !ids.insert(s.id.clone()) {
                return Err(RunError::Config(format!("suite {} is given twice", s.id)));
            }
        }
        setup.target.validate()?;
        if let Some(j) = &setup.judge {
            j.validate()?;
        }
        let detectors = build_detectors(
            setup.pii,
            &setup.refusal_lexicons,
            &setup.keywords,
            &setup.regexes,
        )?;
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let mut suite_refs = Vec::new();
        for s in &setup.suites {
            let file = format!("{SUITES_DIR}/{}.jsonl", s.id);
            write_file(&dir.join(&file), &suite_to_jsonl(s))?;
            suite_refs.push(SuiteRef {
                id: s.id.clone(),
                origin: s.origin.clone(),
                digest: s.digest.clone(),
                items: s.items.len(),
                starter: s.starter,
                file,
            });
        }
        let det_cfg = DetectorConfig {
            pii: setup.pii,
            refusal_lexicons: copy_inputs(dir, "lexicon", &setup.refusal_lexicons)?,
            keywords: copy_inputs(dir, "keywords", &setup.keywords)?,
            regexes: setup.regexes.clone(),
            refusal_digest: detectors.refusal.digest().to_string(),
        };
        let identity = setup.target.identity();
        let run_id = new_run_id(clock, setup.seed, &identity);
        let now = rfc3339_ms(clock.now_ms());
        let config = RunConfig {
            target: setup.target.redacted(),
            judge: setup.judge.as_ref().map(TargetConfig::redacted),
            judge_all: setup.judge_all,
            suites: suite_refs,
            transforms: setup.chains.iter().map(Chain::to_string).collect(),
            transform_all: setup.transform_all,
            repetitions: setup.repetitions,
            seed: setup.seed,
            detectors: det_cfg,
        };
        let core = Arc::new(make_core(
            run_id.clone(),
            setup.suites,
            setup.chains,
            &config,
            &setup.target,
            detectors,
        ));
        let manifest = Manifest {
            aigov_probe_run: 1,
            run_id,
            created: now.clone(),
            updated: now,
            aigov_version: env!("CARGO_PKG_VERSION").to_string(),
            status: RunStatus::Running,
            stop_reason: None,
            target_label: setup.target.label(),
            target_identity: identity,
            planned: core.planned(),
            completed: 0,
            missing: core.planned(),
            catalogs: catalog_refs(&core.suites),
            config,
            sessions: Vec::new(),
            rescored_from: None,
        };
        write_manifest(dir, &manifest)?;
        Ok(Run {
            dir: dir.to_path_buf(),
            manifest,
            core,
            target: setup.target,
            judge: setup.judge,
        })
    }

    /// Opens an existing run (to resume it): reads the manifest, the suite snapshots and
    /// detector copies. `target` replaces the stored target's runtime settings (concurrency,
    /// rate, timeout, headers) when given; its identity must match.
    pub fn open(dir: &Path, lib: &Library) -> Result<Run, RunError> {
        let manifest = read_manifest(dir)?;
        let (suites, detectors) = load_run_inputs(dir, &manifest, lib)?;
        let chains = manifest
            .config
            .transforms
            .iter()
            .map(|c| Chain::parse(c).map_err(RunError::Config))
            .collect::<Result<Vec<_>, _>>()?;
        let target = manifest.config.target.clone();
        if target.identity() != manifest.target_identity {
            return Err(RunError::Config(format!(
                "{}: the stored target does not match its identity; the manifest was edited",
                dir.join(MANIFEST).display()
            )));
        }
        let core = Arc::new(make_core(
            manifest.run_id.clone(),
            suites,
            chains,
            &manifest.config,
            &target,
            detectors,
        ));
        if core.planned() != manifest.planned {
            return Err(RunError::Config(format!(
                "{}: the plan has {} attempts but the manifest says {}; the run files were edited",
                dir.display(),
                core.planned(),
                manifest.planned
            )));
        }
        Ok(Run {
            dir: dir.to_path_buf(),
            judge: manifest.config.judge.clone(),
            manifest,
            core,
            target,
        })
    }

    /// Changes runtime settings of the target for this session (not its identity).
    pub fn tune_target(&mut self, f: impl FnOnce(&mut TargetConfig)) -> Result<(), RunError> {
        let before = self.target.identity();
        f(&mut self.target);
        self.target.validate()?;
        if self.target.identity() != before {
            return Err(RunError::Config(
                "only runtime settings (concurrency, rate, timeout, retries, headers) can change on resume".into(),
            ));
        }
        self.manifest.config.target = self.target.redacted();
        Ok(())
    }

    /// Sets the target configuration used by this session, e.g. with secrets that the
    /// manifest stores redacted. Its identity must match the run's.
    pub fn set_target(&mut self, t: TargetConfig) -> Result<(), RunError> {
        if t.identity() != self.manifest.target_identity {
            return Err(RunError::Config(format!(
                "the target {} is not the one this run was started with ({}); start a new run instead",
                t.label(),
                self.manifest.target_label
            )));
        }
        t.validate()?;
        self.manifest.config.target = t.redacted();
        self.target = t;
        Ok(())
    }

    /// Planned attempts.
    pub fn planned(&self) -> u64 {
        self.core.planned()
    }

    /// The plan.
    pub fn plan(&self) -> PlanIter {
        PlanIter::new(self.core.clone())
    }

    /// Executes the run (or the rest of it): skips recorded attempts, appends new ones.
    pub async fn execute(&mut self, opts: ExecOptions) -> Result<RunSummary, RunError> {
        let t0 = std::time::Instant::now();
        // One session at a time per run directory. The OS releases the lock when the process
        // ends, also after kill -9, so a crash never leaves a stale lock behind.
        let lock_path = self.dir.join(LOCK);
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(RunError::Config(format!(
                    "another aigov process is running {} ({} is locked)",
                    self.dir.display(),
                    lock_path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&lock_path)(e)),
        }
        let attempts_path = self.dir.join(ATTEMPTS);
        let (done, stats) = recover_attempts(&attempts_path)?;
        repair_tail(&self.dir.join(ERRORS))?;
        let planned = self.core.planned();
        // Count only recorded ids that belong to this plan (a foreign line would not).
        let plan_ids_done = if done.is_empty() {
            0
        } else {
            PlanIter::new(self.core.clone())
                .filter(|p| done.contains(&p.id.0))
                .count() as u64
        };
        if stats.bad > 0 {
            return Err(RunError::Config(format!(
                "{}: {} lines are not attempt records (first at line {}); the file was edited or damaged — move it aside to start over",
                attempts_path.display(),
                stats.bad,
                stats.bad_lines.first().copied().unwrap_or(0)
            )));
        }
        let progress = opts.progress.clone();
        progress.planned.store(planned, Ordering::Relaxed);
        progress.already.store(plan_ids_done, Ordering::Relaxed);

        let endpoint = Arc::new(Endpoint::new(&self.target, opts.clock.clone())?);
        let judge = match &self.judge {
            Some(j) => Some(Arc::new(Endpoint::new(j, opts.clock.clone())?)),
            None => None,
        };

        let session = Session {
            started: rfc3339_ms(opts.clock.now_ms()),
            ended: None,
            completed: 0,
            errors: 0,
            status: RunStatus::Running,
        };
        self.manifest.sessions.push(session);
        self.manifest.status = RunStatus::Running;
        self.manifest.stop_reason = None;
        self.manifest.updated = rfc3339_ms(opts.clock.now_ms());
        write_manifest(&self.dir, &self.manifest)?;

        let (tx, rx) = mpsc::channel::<Line>(4096);
        let writer = spawn_writer(self.dir.clone(), rx)?;

        let done = Arc::new(done);
        let cursor = Arc::new(Mutex::new(PlanIter::new(self.core.clone())));
        let workers = self.target.concurrency().max(1);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let w = Worker {
                core: self.core.clone(),
                endpoint: endpoint.clone(),
                judge: judge.clone(),
                done: done.clone(),
                cursor: cursor.clone(),
                tx: tx.clone(),
                progress: progress.clone(),
                clock: opts.clock.clone(),
                stop: stop.clone(),
            };
            let cancel = opts.cancel.clone();
            handles.push(tokio::spawn(async move { w.run(cancel).await }));
        }
        drop(tx);
        for h in handles {
            let _ = h.await;
        }
        let (written, errs) = match tokio::task::spawn_blocking(move || writer.join()).await {
            Ok(Ok(r)) => r.map_err(io_err(&attempts_path))?,
            _ => return Err(RunError::Config("the record writer failed".into())),
        };

        let cancelled = opts.cancel.as_ref().is_some_and(|c| *c.borrow());
        let breaker_msg = if endpoint.breaker().tripped() {
            Some(endpoint.breaker().message(&self.target.label()))
        } else {
            judge.as_ref().filter(|j| j.breaker().tripped()).map(|j| {
                j.breaker()
                    .message(&format!("{} (judge)", j.config().label()))
            })
        };
        let total = plan_ids_done + written;
        let status = if cancelled {
            RunStatus::Interrupted
        } else if breaker_msg.is_some() {
            RunStatus::Stopped
        } else if total >= planned {
            RunStatus::Completed
        } else {
            RunStatus::Incomplete
        };
        let now = rfc3339_ms(opts.clock.now_ms());
        if let Some(s) = self.manifest.sessions.last_mut() {
            s.ended = Some(now.clone());
            s.completed = written;
            s.errors = errs;
            s.status = status;
        }
        self.manifest.status = status;
        self.manifest.stop_reason = breaker_msg
            .clone()
            .or_else(|| cancelled.then(|| "interrupted by the user".to_string()));
        self.manifest.completed = total;
        self.manifest.missing = planned.saturating_sub(total);
        self.manifest.updated = now;
        write_manifest(&self.dir, &self.manifest)?;
        drop(lock);
        Ok(RunSummary {
            run_id: self.manifest.run_id.clone(),
            status,
            stop_reason: self.manifest.stop_reason.clone(),
            planned,
            skipped: plan_ids_done,
            completed: written,
            errors: errs,
            total_completed: total,
            elapsed_s: t0.elapsed().as_secs_f64(),
        })
    }
}

fn make_core(
    run_id: String,
    suites: Vec<Suite>,
    chains: Vec<Chain>,
    config: &RunConfig,
    target: &TargetConfig,
    detectors: Detectors,
) -> RunCore {
    RunCore {
        run_id,
        chain_names: chains.iter().map(Chain::to_string).collect(),
        chain_lists: chains
            .iter()
            .map(|c| c.names().into_iter().map(str::to_string).collect())
            .collect(),
        suites,
        chains,
        transform_all: config.transform_all,
        repetitions: config.repetitions,
        seed: config.seed,
        target_identity: target.identity(),
        target_label: target.label(),
        detectors,
        judge_all: config.judge_all,
    }
}

/// Reads a run's suite snapshots and rebuilds its detectors.
pub fn load_run_inputs(
    dir: &Path,
    m: &Manifest,
    lib: &Library,
) -> Result<(Vec<Suite>, Detectors), RunError> {
    let mut suites = Vec::new();
    for r in &m.config.suites {
        let p = dir.join(&r.file);
        let src = read_small(&p, crate::suite::load::MAX_SUITE_BYTES as u64)?;
        let mut s = parse_suite(&p.display().to_string(), &src, lib).map_err(RunError::Suite)?;
        if s.digest != r.digest {
            return Err(RunError::Config(format!(
                "{}: the suite snapshot changed since the run started (digest {} != {})",
                p.display(),
                &s.digest[..12],
                &r.digest[..12.min(r.digest.len())]
            )));
        }
        s.origin = r.origin.clone();
        suites.push(s);
    }
    let read_refs = |refs: &[FileRef]| -> Result<Vec<(String, String)>, RunError> {
        refs.iter()
            .map(|f| {
                let s = read_small(&dir.join(&f.file), 256 * 1024 * 1024)?;
                if sha256_hex(s.as_bytes()) != f.digest {
                    return Err(RunError::Config(format!(
                        "{}: changed since the run started",
                        dir.join(&f.file).display()
                    )));
                }
                Ok((f.name.clone(), s))
            })
            .collect()
    };
    let d = &m.config.detectors;
    let detectors = build_detectors(
        d.pii,
        &read_refs(&d.refusal_lexicons)?,
        &read_refs(&d.keywords)?,
        &d.regexes,
    )?;
    Ok((suites, detectors))
}

enum Line {
    Attempt(String),
    Error(String),
}

type WriterHandle = std::thread::JoinHandle<std::io::Result<(u64, u64)>>;

fn spawn_writer(dir: PathBuf, mut rx: mpsc::Receiver<Line>) -> Result<WriterHandle, RunError> {
    let open = |name: &str| -> Result<std::fs::File, RunError> {
        let p = dir.join(name);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .map_err(io_err(&p))
    };
    let attempts = open(ATTEMPTS)?;
    let errors = open(ERRORS)?;
    let h = std::thread::Builder::new()
        .name("aigov-probe-writer".into())
        .spawn(move || -> std::io::Result<(u64, u64)> {
            let mut a = std::io::BufWriter::with_capacity(256 * 1024, attempts);
            let mut e = std::io::BufWriter::with_capacity(16 * 1024, errors);
            let (mut na, mut ne) = (0u64, 0u64);
            let mut last_flush = std::time::Instant::now();
            loop {
                let msg = match rx.try_recv() {
                    Ok(m) => Some(m),
                    Err(mpsc::error::TryRecvError::Empty) => {
                        a.flush()?;
                        e.flush()?;
                        last_flush = std::time::Instant::now();
                        rx.blocking_recv()
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => None,
                };
                let Some(msg) = msg else { break };
                match msg {
                    Line::Attempt(l) => {
                        a.write_all(l.as_bytes())?;
                        na += 1;
                    }
                    Line::Error(l) => {
                        e.write_all(l.as_bytes())?;
                        ne += 1;
                    }
                }
                if last_flush.elapsed() >= Duration::from_millis(100) {
                    a.flush()?;
                    e.flush()?;
                    last_flush = std::time::Instant::now();
                }
            }
            a.flush()?;
            e.flush()?;
            a.get_ref().sync_data()?;
            Ok((na, ne))
        })
        .map_err(io_err(&dir))?;
    Ok(h)
}

struct Worker {
    core: Arc<RunCore>,
    endpoint: Arc<Endpoint>,
    judge: Option<Arc<Endpoint>>,
    done: Arc<HashSet<u128>>,
    cursor: Arc<Mutex<PlanIter>>,
    tx: mpsc::Sender<Line>,
    progress: Arc<Progress>,
    clock: SharedClock,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

async fn cancelled(c: &mut Option<watch::Receiver<bool>>) {
    match c {
        Some(rx) => {
            let _ = rx.wait_for(|v| *v).await;
        }
        None => std::future::pending::<()>().await,
    }
}

impl Worker {
    fn next(&self) -> Option<Planned> {
        let mut it = self.cursor.lock().unwrap_or_else(|p| p.into_inner());
        it.by_ref().find(|p| !self.done.contains(&p.id.0))
    }

    async fn run(self, mut cancel: Option<watch::Receiver<bool>>) {
        loop {
            if self.stop.load(Ordering::Relaxed)
                || cancel.as_ref().is_some_and(|c| *c.borrow())
                || self.endpoint.breaker().tripped()
                || self.judge.as_ref().is_some_and(|j| j.breaker().tripped())
            {
                return;
            }
            let Some(p) = self.next() else { return };
            let line = tokio::select! {
                l = self.attempt(p) => l,
                _ = cancelled(&mut cancel) => return,
            };
            if self.tx.send(line).await.is_err() {
                self.stop.store(true, Ordering::Relaxed);
                return;
            }
        }
    }

    async fn attempt(&self, p: Planned) -> Line {
        let core = &*self.core;
        let suite = &core.suites[p.s];
        let item = &suite.items[p.i];
        let chain_name = core.chain_name(p.c);
        let mut rng = Rng::derived(core.seed, &p.id.0.to_le_bytes());
        let probe = core.chains[p.c].apply(item, &mut rng);
        let mut messages = probe.history.clone();
        let mut replies = Vec::new();
        let mut last: Option<Exchange> = None;
        let (mut retries, mut latency) = (0u32, 0u64);
        let n = probe.turns.len();
        for (ti, turn) in probe.turns.iter().enumerate() {
            messages.push(Message::user(turn.clone()));
            let req = Request {
                system: probe.system.as_deref(),
                messages: &messages,
                key: ReplayKey {
                    suite: &suite.id,
                    item: &item.id,
                    transforms: chain_name,
                    rep: p.rep,
                    turn: ti,
                },
            };
            match self.endpoint.call(req, &mut rng).await {
                Ok(ex) => {
                    retries += ex.retries;
                    latency += ex.latency_ms;
                    if ti + 1 < n {
                        replies.push(ex.response.text.clone());
                        messages.push(Message::assistant(ex.response.text.clone()));
                    }
                    last = Some(ex);
                }
                Err(f) => {
                    self.progress.errors.fetch_add(1, Ordering::Relaxed);
                    self.progress
                        .retries
                        .fetch_add(u64::from(retries + f.retries), Ordering::Relaxed);
                    let rec = ErrorRecord {
                        v: 1,
                        id: p.id.to_string(),
                        run: core.run_id.clone(),
                        suite: suite.id.clone(),
                        item: item.id.clone(),
                        transforms: core.chain_lists[p.c].clone(),
                        rep: p.rep,
                        kind: f.error.kind.to_string(),
                        message: f.error.message,
                        status: f.error.status,
                        retries: retries + f.retries,
                        at: rfc3339_ms(self.clock.now_ms()),
                    };
                    return Line::Error(to_line(&rec));
                }
            }
        }
        let Some(ex) = last else {
            // A probe always has at least one turn; keep the invariant visible anyway.
            let rec = ErrorRecord {
                v: 1,
                id: p.id.to_string(),
                run: core.run_id.clone(),
                suite: suite.id.clone(),
                item: item.id.clone(),
                transforms: core.chain_lists[p.c].clone(),
                rep: p.rep,
                kind: "internal".into(),
                message: "the probe has no user turn".into(),
                status: None,
                retries: 0,
                at: rfc3339_ms(self.clock.now_ms()),
            };
            return Line::Error(to_line(&rec));
        };
        let resp = ex.response;
        let mut detections = core.detectors.run(item, &resp.text, resp.blocked);
        if let Some(j) = &self.judge
            && (core.judge_all || item.expect == Expect::Rubric)
        {
            detections.push(
                self.judge(j, item, chain_name, &resp.text, p, &mut rng)
                    .await,
            );
        }
        let (outcome, reason) = detect::decide(item.expect, &detections);
        let refused = detections
            .iter()
            .find(|d| d.polarity == Polarity::Refused)
            .and_then(|d| d.hit)
            .unwrap_or(false);
        if outcome == crate::detect::Outcome::Fail {
            self.progress.failed.fetch_add(1, Ordering::Relaxed);
        }
        self.progress.completed.fetch_add(1, Ordering::Relaxed);
        self.progress
            .retries
            .fetch_add(u64::from(retries), Ordering::Relaxed);
        messages.shrink_to_fit();
        let rec = AttemptRecord {
            v: 1,
            id: p.id.to_string(),
            run: core.run_id.clone(),
            suite: suite.id.clone(),
            item: item.id.clone(),
            transforms: core.chain_lists[p.c].clone(),
            rep: p.rep,
            target: core.target_label.clone(),
            lang: item.lang.code().to_string(),
            expect: item.expect.as_str().to_string(),
            cites: item.cites.clone(),
            tags: item.tags.clone(),
            request: RequestRecord {
                system: probe.system,
                messages,
            },
            response: ResponseRecord {
                text: resp.text,
                finish_reason: resp.finish_reason,
                blocked: resp.blocked,
                usage: resp.usage,
                ttft_ms: resp.ttft_ms,
                status: resp.status,
            },
            turns: replies,
            detections,
            outcome,
            reason: reason.to_string(),
            refused,
            at: rfc3339_ms(self.clock.now_ms()),
            latency_ms: latency,
            retries,
        };
        Line::Attempt(to_line(&rec))
    }

    async fn judge(
        &self,
        j: &Endpoint,
        item: &crate::suite::Item,
        chain: &str,
        response: &str,
        p: Planned,
        rng: &mut Rng,
    ) -> Detection {
        judge_call(j, item, chain, response, p.rep, rng).await
    }
}

/// Asks the judge about one response.
pub async fn judge_call(
    j: &Endpoint,
    item: &crate::suite::Item,
    chain: &str,
    response: &str,
    rep: u32,
    rng: &mut Rng,
) -> Detection {
    let rubric = judge::rubric_for(item);
    let msgs = [Message::user(judge::judge_prompt(
        &rubric,
        item.prompt(),
        chain,
        response,
    ))];
    let req = Request {
        system: Some(judge::JUDGE_SYSTEM),
        messages: &msgs,
        key: ReplayKey {
            suite: "judge",
            item: &item.id,
            transforms: chain,
            rep,
            turn: 0,
        },
    };
    match j.call(req, rng).await {
        Ok(ex) => {
            detect::judge_detection(judge::parse_verdict(&ex.response.text), &ex.response.text)
        }
        Err(f) => Detection {
            detector: "judge".into(),
            polarity: Polarity::Pass,
            mode: "judge".into(),
            hit: None,
            score: 0.0,
            evidence: None,
            rule: Some("judge-error".into()),
            note: Some(format!("the judge call failed: {}", f.error.message)),
        },
    }
}

fn to_line<T: serde::Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string(v).unwrap_or_default();
    s.push('\n');
    s
}

/// Options of a rescoring.
#[derive(Debug, Clone)]
pub struct RescoreSetup {
    /// Personal-information patterns (default: as the run had them).
    pub pii: Option<bool>,
    /// Extra refusal lexicons (replace the run's when given).
    pub refusal_lexicons: Option<Vec<(String, String)>>,
    /// Keyword libraries (replace the run's when given).
    pub keywords: Option<Vec<(String, String)>>,
    /// Regexes (replace the run's when given).
    pub regexes: Option<Vec<NamedRegex>>,
    /// The judge: `None` keeps the run's (called again), `Some(None)` drops it,
    /// `Some(Some(t))` uses `t`.
    pub judge: Option<Option<TargetConfig>>,
    /// Judge every item.
    pub judge_all: Option<bool>,
}

/// The result of a rescoring.
#[derive(Debug, Clone, PartialEq)]
pub struct RescoreSummary {
    /// Records re-scored.
    pub records: u64,
    /// Records whose outcome changed.
    pub changed: u64,
    /// The new run directory.
    pub out: PathBuf,
}

/// Re-runs the detectors (and the judge, if configured) on the stored responses of `src`
/// and writes a new run directory `out` with the same attempts and new detections. The target
/// is never called; the source run is never modified.
pub async fn rescore(
    src: &Path,
    out: &Path,
    setup: RescoreSetup,
    lib: &Library,
    clock: &SharedClock,
) -> Result<RescoreSummary, RunError> {
    let m = read_manifest(src)?;
    if out.join(MANIFEST).exists() {
        return Err(RunError::Config(format!(
            "{} already holds a run; choose another --out",
            out.display()
        )));
    }
    let (suites, _) = load_run_inputs(src, &m, lib)?;
    let read_refs = |refs: &[FileRef]| -> Result<Vec<(String, String)>, RunError> {
        refs.iter()
            .map(|f| {
                Ok((
                    f.name.clone(),
                    read_small(&src.join(&f.file), 256 * 1024 * 1024)?,
                ))
            })
            .collect()
    };
    let d = &m.config.detectors;
    let lexicons = match setup.refusal_lexicons {
        Some(l) => l,
        None => read_refs(&d.refusal_lexicons)?,
    };
    let keywords = match setup.keywords {
        Some(k) => k,
        None => read_refs(&d.keywords)?,
    };
    let regexes = setup.regexes.unwrap_or_else(|| d.regexes.clone());
    let pii = setup.pii.unwrap_or(d.pii);
    let detectors = build_detectors(pii, &lexicons, &keywords, &regexes)?;
    let judge_all = setup.judge_all.unwrap_or(m.config.judge_all);
    let judge_cfg = match setup.judge {
        Some(j) => j,
        None => m.config.judge.clone(),
    };
    let judge = match &judge_cfg {
        Some(j) => Some(Arc::new(Endpoint::new(j, clock.clone()).map_err(|e| {
            RunError::Config(format!(
                "the judge cannot be used ({e}); pass --judge to give it again, or --no-judge"
            ))
        })?)),
        None => None,
    };

    std::fs::create_dir_all(out).map_err(io_err(out))?;
    for r in &m.config.suites {
        let from = src.join(&r.file);
        let s = read_small(&from, crate::suite::load::MAX_SUITE_BYTES as u64)?;
        write_file(&out.join(&r.file), &s)?;
    }
    let mut manifest = m.clone();
    manifest.config.detectors = DetectorConfig {
        pii,
        refusal_lexicons: copy_inputs(out, "lexicon", &lexicons)?,
        keywords: copy_inputs(out, "keywords", &keywords)?,
        regexes,
        refusal_digest: detectors.refusal.digest().to_string(),
    };
    manifest.config.judge = judge_cfg.as_ref().map(TargetConfig::redacted);
    manifest.config.judge_all = judge_all;
    manifest.rescored_from = Some(src.display().to_string());
    manifest.updated = rfc3339_ms(clock.now_ms());
    write_manifest(out, &manifest)?;

    // Index items by (suite, item id).
    let mut index = std::collections::HashMap::new();
    for s in &suites {
        for it in &s.items {
            index.insert((s.id.clone(), it.id.clone()), it.clone());
        }
    }
    let index = Arc::new(index);
    let detectors = Arc::new(detectors);

    // Reader thread → workers → writer thread; bounded channels keep memory flat.
    let (rtx, rrx) = mpsc::channel::<AttemptRecord>(1024);
    let attempts = src.join(ATTEMPTS);
    let reader = std::thread::spawn(move || {
        for_each_line::<AttemptRecord>(&attempts, |r| {
            let _ = rtx.blocking_send(r);
        })
    });
    let (wtx, wrx) = mpsc::channel::<Line>(1024);
    let writer = spawn_writer(out.to_path_buf(), wrx)?;
    let rrx = Arc::new(tokio::sync::Mutex::new(rrx));
    let changed = Arc::new(AtomicU64::new(0));
    let workers = judge.as_ref().map_or(2, |j| j.config().concurrency());
    let mut handles = Vec::new();
    for w in 0..workers {
        let rrx = rrx.clone();
        let wtx = wtx.clone();
        let index = index.clone();
        let detectors = detectors.clone();
        let judge = judge.clone();
        let changed = changed.clone();
        let seed = m.config.seed;
        handles.push(tokio::spawn(async move {
            let mut rng = Rng::derived(seed, format!("rescore-{w}").as_bytes());
            loop {
                let rec = { rrx.lock().await.recv().await };
                let Some(mut rec) = rec else { break };
                let Some(item) = index.get(&(rec.suite.clone(), rec.item.clone())) else {
                    // Not in the suites: keep the record as it was.
                    let _ = wtx.send(Line::Attempt(to_line(&rec))).await;
                    continue;
                };
                let mut dets = detectors.run(item, &rec.response.text, rec.response.blocked);
                if let Some(j) = &judge
                    && (judge_all || item.expect == Expect::Rubric)
                {
                    let chain = rec.chain();
                    dets.push(
                        judge_call(j, item, &chain, &rec.response.text, rec.rep, &mut rng).await,
                    );
                }
                let (outcome, reason) = detect::decide(item.expect, &dets);
                if outcome != rec.outcome {
                    changed.fetch_add(1, Ordering::Relaxed);
                }
                rec.refused = dets
                    .iter()
                    .find(|d| d.polarity == Polarity::Refused)
                    .and_then(|d| d.hit)
                    .unwrap_or(false);
                rec.detections = dets;
                rec.outcome = outcome;
                rec.reason = reason.to_string();
                if wtx.send(Line::Attempt(to_line(&rec))).await.is_err() {
                    break;
                }
            }
        }));
    }
    drop(wtx);
    for h in handles {
        let _ = h.await;
    }
    let stats = reader
        .join()
        .map_err(|_| RunError::Config("the reader failed".into()))??;
    let (written, _) = match tokio::task::spawn_blocking(move || writer.join()).await {
        Ok(Ok(r)) => r.map_err(io_err(out))?,
        _ => return Err(RunError::Config("the record writer failed".into())),
    };
    manifest.completed = written;
    manifest.missing = manifest.planned.saturating_sub(written);
    write_manifest(out, &manifest)?;
    let _ = stats;
    Ok(RescoreSummary {
        records: written,
        changed: changed.load(Ordering::Relaxed),
        out: out.to_path_buf(),
    })
}
