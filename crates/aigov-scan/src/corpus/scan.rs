//! Running a corpus scan: shards in parallel, per-shard results recorded for `--resume`, then
//! the merge into the summary, the flagged records, the redacted copies and the review sheet.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::detect::{Detector, Hit, RuleKind, Scratch};
use super::input::{
    self, Compression, Format, InputFile, Line, LineReader, Range, Shard, TextRecords,
};
use super::json::{Captures, PathEl, Pointer, Selection, render_path_into};
use super::redact::{self, RedactStyle, Span};
use super::report::{self, Summary};
use super::sample::{BottomK, SampleItem};
use crate::ScanError;
use crate::requirements::Requirements;
use crate::rng::record_key;

/// Where a record's source (for the per-source harmful share) comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceBy {
    /// Each input file is a source.
    #[default]
    File,
    /// Each path argument (a file, or a whole directory) is a source.
    Argument,
    /// A field of the record (JSON pointer or column name) names the source.
    Field(String),
}

/// Redacted copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactConfig {
    /// Directory for the copies (input names below it).
    pub dir: PathBuf,
    /// How spans are written.
    pub style: RedactStyle,
    /// Also redact keyword-library hits (personal information, secrets and custom rules are
    /// always redacted).
    pub keywords: bool,
}

/// Sampling for human review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleConfig {
    /// Records to draw.
    pub size: usize,
    /// Seed.
    pub seed: u64,
}

/// Everything a corpus scan needs besides the detectors.
#[derive(Debug, Clone)]
pub struct CorpusConfig {
    /// Files and directories.
    pub inputs: Vec<PathBuf>,
    /// Force a record format instead of deciding by name and content.
    pub input_format: Option<Format>,
    /// How plain text becomes records.
    pub text_records: TextRecords,
    /// JSON Lines: text fields (names or pointers); empty means every string.
    pub fields: Vec<String>,
    /// CSV/TSV/Parquet: columns; empty means every column.
    pub columns: Vec<String>,
    /// A record id carried into the flagged output (pointer or column).
    pub id_field: Option<String>,
    /// Where the source of a record comes from.
    pub source_by: SourceBy,
    /// Worker threads (0 = all cores).
    pub jobs: usize,
    /// Target shard size for splittable files.
    pub shard_bytes: u64,
    /// Records longer than this are skipped and counted as errors.
    pub max_record_bytes: usize,
    /// Output directory: summary, reports, flagged records, shard state. `None` keeps only the
    /// summary (work files go to a temporary directory).
    pub out: Option<PathBuf>,
    /// Continue the scan recorded in `out`.
    pub resume: bool,
    /// Redacted copies.
    pub redact: Option<RedactConfig>,
    /// Review sample.
    pub sample: Option<SampleConfig>,
    /// Count personal information and secrets as harmful for the per-source share.
    pub harmful_includes_pi: bool,
    /// Write the matched text of each hit into the flagged records.
    pub match_text: bool,
}

impl Default for CorpusConfig {
    fn default() -> Self {
        CorpusConfig {
            inputs: Vec::new(),
            input_format: None,
            text_records: TextRecords::Line,
            fields: Vec::new(),
            columns: Vec::new(),
            id_field: None,
            source_by: SourceBy::File,
            jobs: 0,
            shard_bytes: 64 << 20,
            max_record_bytes: 64 << 20,
            out: None,
            resume: false,
            redact: None,
            sample: None,
            harmful_includes_pi: false,
            match_text: true,
        }
    }
}

/// Live progress, read by the caller's progress display.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes on disk to scan in this run (known after planning).
    pub total: AtomicU64,
    /// Bytes on disk scanned so far in this run.
    pub done: Arc<AtomicU64>,
    /// Shards in the scan.
    pub shards: AtomicU64,
    /// Shards finished (including those recorded by an earlier run).
    pub shards_done: AtomicU64,
}

/// Hit and record counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Hits.
    pub hits: u64,
    /// Records with at least one hit.
    pub records: u64,
}

/// Per-source counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCounts {
    /// Records.
    pub records: u64,
    /// Bytes of record text.
    pub bytes: u64,
    /// Records with any hit.
    pub flagged: u64,
    /// Records counted as illegal or harmful.
    pub harmful: u64,
    /// Records with personal information or secrets.
    pub pi: u64,
}

/// A record that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordError {
    /// The input file.
    pub file: String,
    /// Byte offset (row for Parquet, line for CSV).
    pub offset: u64,
    /// What is wrong.
    pub message: String,
}

/// What one shard found; written as `shards/<id>.json` when the shard is complete, which
/// is what `--resume` looks for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShardResult {
    /// Shard id.
    pub id: String,
    /// The scan fingerprint it belongs to.
    pub fingerprint: String,
    /// Input file index.
    pub file: usize,
    /// Records scanned.
    pub records: u64,
    /// Lines read (line formats), for record numbering.
    pub lines: u64,
    /// Bytes of record text.
    pub bytes: u64,
    /// Records with any hit.
    pub flagged: u64,
    /// Records counted as harmful.
    pub harmful: u64,
    /// Records with personal information or secrets.
    pub pi: u64,
    /// Unreadable records.
    pub errors: u64,
    /// The first unreadable records.
    pub error_samples: Vec<RecordError>,
    /// Per rule id.
    pub rules: BTreeMap<String, Counts>,
    /// Per category citation.
    pub categories: BTreeMap<String, Counts>,
    /// Hits per library term: rule id → term → hits.
    pub terms: BTreeMap<String, BTreeMap<String, u64>>,
    /// Per source.
    pub sources: BTreeMap<String, SourceCounts>,
    /// Sample candidates.
    pub sample: Vec<SampleItem>,
    /// Seconds spent.
    pub elapsed_s: f64,
}

/// The manifest of a scan, `scan.json` in the output directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    aigov_scan: String,
    fingerprint: String,
    files: Vec<InputFile>,
    shards: Vec<Shard>,
}

const MAX_ERROR_SAMPLES: usize = 20;
const SAMPLE_TEXT_CHARS: usize = 4000;

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ScanError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| ScanError::io(dir, e))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).map_err(|e| ScanError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| ScanError::io(path, e))
}

fn fingerprint(
    cfg: &CorpusConfig,
    det: &Detector,
    files: &[InputFile],
    shards: &[Shard],
) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let settings = json!({
        "detector": det.fingerprint(),
        "text_records": cfg.text_records,
        "fields": cfg.fields,
        "columns": cfg.columns,
        "id": cfg.id_field,
        "source_by": cfg.source_by,
        "max_record": cfg.max_record_bytes,
        "redact": cfg.redact.as_ref().map(|r| json!({"style": r.style, "keywords": r.keywords})),
        "sample": cfg.sample.as_ref().map(|s| json!({"size": s.size, "seed": s.seed})),
        "harmful_includes_pi": cfg.harmful_includes_pi,
        "match_text": cfg.match_text,
        "files": files,
        "shards": shards,
    });
    h.update(settings.to_string().as_bytes());
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs a corpus scan.
pub fn run(
    cfg: &CorpusConfig,
    det: &Detector,
    req: &Requirements,
    progress: &Progress,
) -> Result<Summary, ScanError> {
    let started = Instant::now();
    let threshold = req.threshold(crate::requirements::SOURCE_HARMFUL_SHARE)?;
    let mut exclude: Vec<PathBuf> = cfg.out.iter().cloned().collect();
    if let Some(r) = &cfg.redact {
        exclude.push(r.dir.clone());
    }
    let files = input::discover(&cfg.inputs, cfg.input_format, &exclude)?;
    let shards = input::plan(&files, cfg.shard_bytes, cfg.text_records)?;
    let fp = fingerprint(cfg, det, &files, &shards);

    // The work directory: the output directory, or a temporary one.
    let tmp_dir;
    let work: PathBuf = match &cfg.out {
        Some(o) => o.clone(),
        None => {
            if cfg.resume {
                return Err(ScanError::Config("--resume needs --out".into()));
            }
            tmp_dir = tempfile::tempdir().map_err(|e| ScanError::io("temporary directory", e))?;
            tmp_dir.path().to_path_buf()
        }
    };
    let shard_dir = work.join("shards");
    let manifest_path = work.join("scan.json");
    if cfg.resume {
        let old = std::fs::read(&manifest_path).map_err(|e| {
            ScanError::Resume(format!(
                "cannot resume: {} has no scan to continue ({e})",
                work.display()
            ))
        })?;
        let old: Manifest = serde_json::from_slice(&old).map_err(|e| {
            ScanError::Resume(format!(
                "cannot resume: {} is damaged: {e}",
                manifest_path.display()
            ))
        })?;
        if old.fingerprint != fp {
            return Err(ScanError::Resume(format!(
                "cannot resume: the scan recorded in {} used other inputs or settings (inputs, sizes and modification times, libraries, rules, fields, sampling and redaction must all match); start a new scan without --resume",
                work.display()
            )));
        }
    } else if shard_dir.exists() {
        std::fs::remove_dir_all(&shard_dir).map_err(|e| ScanError::io(&shard_dir, e))?;
    }
    std::fs::create_dir_all(&shard_dir).map_err(|e| ScanError::io(&shard_dir, e))?;
    let manifest = Manifest {
        aigov_scan: "corpus".into(),
        fingerprint: fp.clone(),
        files: files.clone(),
        shards: shards.clone(),
    };
    write_atomic(
        &manifest_path,
        serde_json::to_string_pretty(&manifest)
            .unwrap_or_default()
            .as_bytes(),
    )?;

    // Which shards are already done?
    let mut results: Vec<Option<ShardResult>> = vec![None; shards.len()];
    let mut resumed = 0;
    if cfg.resume {
        for (i, s) in shards.iter().enumerate() {
            let p = shard_dir.join(format!("{}.json", s.id));
            if let Ok(b) = std::fs::read(&p)
                && let Ok(r) = serde_json::from_slice::<ShardResult>(&b)
                && r.fingerprint == fp
            {
                results[i] = Some(r);
                resumed += 1;
            }
        }
    }
    let pending: Vec<usize> = (0..shards.len())
        .filter(|&i| results[i].is_none())
        .collect();
    progress
        .shards
        .store(shards.len() as u64, Ordering::Relaxed);
    progress
        .shards_done
        .store(resumed as u64, Ordering::Relaxed);
    progress.total.store(
        pending.iter().map(|&i| shards[i].disk_bytes).sum(),
        Ordering::Relaxed,
    );

    let ctx = Ctx {
        cfg,
        det,
        files: &files,
        shard_dir: &shard_dir,
        fp: &fp,
        selection: selection(cfg)?,
        progress,
        scratches: std::sync::Mutex::new(Vec::new()),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs)
        .build()
        .map_err(|e| ScanError::Config(format!("cannot start worker threads: {e}")))?;
    let outcomes: Vec<(usize, Result<ShardResult, ScanError>)> = pool.install(|| {
        use rayon::prelude::*;
        pending
            .par_iter()
            .map(|&i| {
                let r = ctx.run_shard(&shards[i]);
                progress.shards_done.fetch_add(1, Ordering::Relaxed);
                (i, r)
            })
            .collect()
    });
    let mut first_err = None;
    for (i, r) in outcomes {
        match r {
            Ok(r) => results[i] = Some(r),
            Err(e) => {
                if first_err.is_none() {
                    first_err = Some(e);
                }
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let results: Vec<ShardResult> = results.into_iter().flatten().collect();
    let scan_bytes: u64 = pending.iter().map(|&i| shards[i].disk_bytes).sum();
    let outputs = merge(cfg, &files, &shards, &results, &work, &shard_dir)?;
    let elapsed = started.elapsed().as_secs_f64();
    let summary = report::summarize(report::SummaryInput {
        det,
        req,
        threshold,
        files: &files,
        shards: &shards,
        results: &results,
        resumed,
        fingerprint: &fp,
        elapsed_s: elapsed,
        scanned_disk_bytes: scan_bytes,
        outputs,
        cfg,
    });
    if let Some(o) = &cfg.out {
        write_atomic(
            &o.join("summary.json"),
            (serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n").as_bytes(),
        )?;
        write_atomic(&o.join("report.md"), report::markdown(&summary).as_bytes())?;
        write_atomic(&o.join("report.html"), report::html(&summary).as_bytes())?;
    }
    Ok(summary)
}

fn selection(cfg: &CorpusConfig) -> Result<Selection, ScanError> {
    let p = |s: &str| {
        Pointer::parse(s).map_err(|e| ScanError::Config(format!("invalid field pointer: {e}")))
    };
    Ok(Selection {
        text: cfg.fields.iter().map(|f| p(f)).collect::<Result<_, _>>()?,
        id: cfg.id_field.as_deref().map(p).transpose()?,
        source: match &cfg.source_by {
            SourceBy::Field(f) => Some(p(f)?),
            _ => None,
        },
    })
}

/// Files written by the merge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// Flagged records.
    pub flagged: Option<String>,
    /// Redacted copies.
    pub redacted: Vec<String>,
    /// The review sheet.
    pub sample_sheet: Option<String>,
    /// Records drawn.
    pub sample_drawn: usize,
}

/// Shared, read-only state of a scan.
struct Ctx<'a> {
    cfg: &'a CorpusConfig,
    det: &'a Detector,
    files: &'a [InputFile],
    shard_dir: &'a Path,
    fp: &'a str,
    selection: Selection,
    progress: &'a Progress,
    /// Scratch spaces of finished shards, reused by the next ones: a fresh one starts with cold
    /// regex caches, which cost ~2 % of a scan to warm again.
    scratches: std::sync::Mutex<Vec<Scratch>>,
}

/// A hit with the field it was found in.
#[derive(Debug, Clone, Copy)]
struct FieldHit {
    field: u32,
    hit: Hit,
    /// The matched text: `matched[m.0..m.1]` of the record.
    m: (u32, u32),
}

/// Per-record state, reused across records without reallocating.
#[derive(Debug, Default)]
struct Rec {
    /// Field names (JSON pointers, columns); only the first `nfields` are live.
    fields: Vec<String>,
    nfields: usize,
    hits: Vec<FieldHit>,
    /// Matched texts of the hits, back to back.
    matched: String,
    sample_text: Option<String>,
}

impl Rec {
    fn clear(&mut self) {
        self.nfields = 0;
        self.hits.clear();
        self.matched.clear();
        self.sample_text = None;
    }

    fn field(&self, i: u32) -> &str {
        &self.fields[i as usize]
    }

    fn matched(&self, h: &FieldHit) -> &str {
        self.matched
            .get(h.m.0 as usize..h.m.1 as usize)
            .unwrap_or("")
    }
}

/// Where a record came from, for reports.
struct RecMeta<'r> {
    offset: u64,
    line: u64,
    caps: &'r Captures,
}

/// The raw record, for the redacted copy.
enum Raw<'r> {
    Json(&'r [u8]),
    Text(&'r [u8]),
    Csv(&'r csv::ByteRecord, &'r [String]),
    Rows(&'r [(String, String)]),
}

enum RedactSink {
    Lines(BufWriter<File>),
    Csv(Box<csv::Writer<BufWriter<File>>>),
}

/// Detects in one text and keeps the hits of the current record.
fn scan_text(
    det: &Detector,
    scratch: &mut Scratch,
    buf: &mut Vec<Hit>,
    rec: &mut Rec,
    match_text: bool,
    field: &dyn Fn(&mut String),
    text: &str,
) {
    if let Some(s) = rec.sample_text.as_mut()
        && s.len() < SAMPLE_TEXT_CHARS * 3
    {
        if !s.is_empty() {
            s.push('\n');
        }
        s.push_str(text);
    }
    buf.clear();
    det.scan(text, scratch, buf);
    if buf.is_empty() {
        return;
    }
    let fi = rec.nfields;
    if fi == rec.fields.len() {
        rec.fields.push(String::new());
    }
    rec.fields[fi].clear();
    field(&mut rec.fields[fi]);
    rec.nfields += 1;
    for h in buf.iter() {
        let a = rec.matched.len() as u32;
        if match_text {
            rec.matched.push_str(text.get(h.start..h.end).unwrap_or(""));
        }
        rec.hits.push(FieldHit {
            field: fi as u32,
            hit: *h,
            m: (a, rec.matched.len() as u32),
        });
    }
}

struct Worker<'a> {
    ctx: &'a Ctx<'a>,
    file: &'a InputFile,
    shard: &'a Shard,
    scratch: Scratch,
    buf: Vec<Hit>,
    rec: Rec,
    res: ShardResult,
    rule_hits: Vec<u64>,
    rule_records: Vec<u64>,
    cat_hits: Vec<u64>,
    cat_records: Vec<u64>,
    term_hits: Vec<Vec<u64>>,
    seen_rule: Vec<bool>,
    seen_cat: Vec<bool>,
    flagged: BufWriter<File>,
    redacted: Option<RedactSink>,
    sample: Option<BottomK>,
    sources: HashMap<String, SourceCounts>,
    local_record: u64,
    line_buf: Vec<u8>,
}

impl Ctx<'_> {
    fn run_shard(&self, shard: &Shard) -> Result<ShardResult, ScanError> {
        let t0 = Instant::now();
        let file = &self.files[shard.file];
        let flagged_path = self.shard_dir.join(format!("{}.flagged.jsonl", shard.id));
        let flagged = BufWriter::with_capacity(
            1 << 16,
            File::create(&flagged_path).map_err(|e| ScanError::io(&flagged_path, e))?,
        );
        let redacted = match &self.cfg.redact {
            None => None,
            Some(_) => {
                let p = self.shard_dir.join(format!("{}.redacted", shard.id));
                let w = BufWriter::with_capacity(
                    1 << 16,
                    File::create(&p).map_err(|e| ScanError::io(&p, e))?,
                );
                Some(match file.format {
                    Format::Csv | Format::Tsv => RedactSink::Csv(Box::new(
                        csv::WriterBuilder::new()
                            .delimiter(if file.format == Format::Tsv {
                                b'\t'
                            } else {
                                b','
                            })
                            .quote_style(if file.format == Format::Tsv {
                                csv::QuoteStyle::Never
                            } else {
                                csv::QuoteStyle::Necessary
                            })
                            .from_writer(w),
                    )),
                    _ => RedactSink::Lines(w),
                })
            }
        };
        let nrules = self.det.rules().len();
        let ncats = self.det.categories().len();
        let mut w = Worker {
            ctx: self,
            file,
            shard,
            scratch: self
                .scratches
                .lock()
                .ok()
                .and_then(|mut v| v.pop())
                .unwrap_or_else(|| self.det.scratch()),
            buf: Vec::new(),
            rec: Rec::default(),
            res: ShardResult {
                id: shard.id.clone(),
                fingerprint: self.fp.to_string(),
                file: shard.file,
                ..ShardResult::default()
            },
            rule_hits: vec![0; nrules],
            rule_records: vec![0; nrules],
            cat_hits: vec![0; ncats],
            cat_records: vec![0; ncats],
            term_hits: (0..nrules)
                .map(|r| vec![0; self.det.terms(r as u32).len()])
                .collect(),
            seen_rule: vec![false; nrules],
            seen_cat: vec![false; ncats],
            flagged,
            redacted,
            sample: self.cfg.sample.as_ref().map(|s| BottomK::new(s.size)),
            sources: HashMap::new(),
            local_record: 0,
            line_buf: Vec::with_capacity(4096),
        };
        let counter = Some(self.progress.done.clone());
        match file.format {
            Format::Jsonl | Format::Text => w.read_lines(counter)?,
            Format::Csv | Format::Tsv => w.read_csv(counter)?,
            Format::Parquet => w.read_parquet()?,
        }
        if let Ok(mut v) = self.scratches.lock() {
            v.push(std::mem::take(&mut w.scratch));
        }
        w.finish(t0)
    }
}

impl Worker<'_> {
    fn io(&self, e: std::io::Error) -> ScanError {
        ScanError::io(&self.file.path, e)
    }

    fn error(&mut self, offset: u64, message: String) {
        self.res.errors += 1;
        if self.res.error_samples.len() < MAX_ERROR_SAMPLES {
            self.res.error_samples.push(RecordError {
                file: self.file.name.clone(),
                offset,
                message,
            });
        }
    }

    fn begin(&mut self, offset: u64) -> Option<u64> {
        self.rec.clear();
        let cfg = self.ctx.cfg.sample.as_ref()?;
        let key = record_key(cfg.seed, &self.file.name, offset);
        let sample = self.sample.as_ref()?;
        if sample.wants(key) {
            self.rec.sample_text = Some(String::new());
            Some(key)
        } else {
            None
        }
    }

    fn read_lines(&mut self, counter: Option<Arc<AtomicU64>>) -> Result<(), ScanError> {
        let (reader, start, end) = match self.shard.range {
            Range::Bytes { start, end } => {
                let (r, at) =
                    input::open_at_record(self.file, start, counter).map_err(|e| self.io(e))?;
                (r, at, end)
            }
            _ => (
                input::open_stream(&self.file.path, self.file.compression, counter, 0)
                    .map_err(|e| self.io(e))?,
                0,
                u64::MAX,
            ),
        };
        let max = self.ctx.cfg.max_record_bytes;
        if self.file.format == Format::Text && self.ctx.cfg.text_records != TextRecords::Line {
            return self.read_text_blocks(reader, max);
        }
        let mut lr = LineReader::new(reader, start, max);
        let mut json_scratch = Vec::new();
        let mut caps = Captures::default();
        let mut line_no = 0u64;
        let is_json = self.file.format == Format::Jsonl;
        loop {
            if lr.position() >= end {
                break;
            }
            let next = lr
                .next_line()
                .map_err(|e| ScanError::io(&self.file.path, e))?;
            let Some(line) = next else { break };
            line_no += 1;
            match line {
                Line::TooLong { offset, len } => {
                    let msg = format!("record of {len} bytes is longer than the limit; skipped");
                    self.error(offset, msg);
                }
                Line::Ok { offset, bytes } => {
                    if bytes.iter().all(u8::is_ascii_whitespace) {
                        if let Some(RedactSink::Lines(w)) = self.redacted.as_mut() {
                            w.write_all(bytes)
                                .and_then(|_| w.write_all(b"\n"))
                                .map_err(|e| ScanError::io("redacted copy", e))?;
                        }
                        continue;
                    }
                    let key = self.begin(offset);
                    let det = self.ctx.det;
                    let match_text = self.ctx.cfg.match_text;
                    let (scratch, buf, rec) = (&mut self.scratch, &mut self.buf, &mut self.rec);
                    if is_json {
                        let r = self.ctx.selection.extract(
                            bytes,
                            &mut json_scratch,
                            &mut caps,
                            &mut |path: &[PathEl<'_>], text: &str| {
                                scan_text(
                                    det,
                                    scratch,
                                    buf,
                                    rec,
                                    match_text,
                                    &|out: &mut String| render_path_into(path, out),
                                    text,
                                )
                            },
                        );
                        if let Err(e) = r {
                            self.error(offset, e.to_string());
                            if let Some(RedactSink::Lines(w)) = self.redacted.as_mut() {
                                w.write_all(bytes)
                                    .and_then(|_| w.write_all(b"\n"))
                                    .map_err(|e| ScanError::io("redacted copy", e))?;
                            }
                            continue;
                        }
                        let raw = Raw::Json(bytes);
                        let meta = RecMeta {
                            offset,
                            line: line_no,
                            caps: &caps,
                        };
                        self.end(key, meta, raw, bytes.len())?;
                    } else {
                        let text = String::from_utf8_lossy(bytes);
                        scan_text(det, scratch, buf, rec, match_text, &|_| {}, &text);
                        let caps0 = Captures::default();
                        let meta = RecMeta {
                            offset,
                            line: line_no,
                            caps: &caps0,
                        };
                        self.end(key, meta, Raw::Text(bytes), bytes.len())?;
                    }
                }
            }
        }
        self.res.lines = line_no;
        Ok(())
    }

    /// Plain text as paragraphs or whole files.
    fn read_text_blocks(
        &mut self,
        reader: Box<dyn Read + Send>,
        max: usize,
    ) -> Result<(), ScanError> {
        let mut lr = LineReader::new(reader, 0, max);
        let whole = self.ctx.cfg.text_records == TextRecords::File;
        let mut block: Vec<u8> = Vec::new();
        let mut block_start = 0u64;
        let mut block_line = 0u64;
        let mut line_no = 0u64;
        let mut too_long = false;
        loop {
            let next = lr
                .next_line()
                .map_err(|e| ScanError::io(&self.file.path, e))?;
            let (end, blank) = match &next {
                None => (true, false),
                Some(Line::Ok { bytes, .. }) => (false, bytes.iter().all(u8::is_ascii_whitespace)),
                Some(Line::TooLong { .. }) => (false, false),
            };
            if end || (blank && !whole) {
                if !block.is_empty() || too_long {
                    if too_long || block.len() > max {
                        self.error(
                            block_start,
                            format!("record longer than {max} bytes; skipped"),
                        );
                    } else {
                        let key = self.begin(block_start);
                        let text = String::from_utf8_lossy(&block).into_owned();
                        let det = self.ctx.det;
                        let match_text = self.ctx.cfg.match_text;
                        scan_text(
                            det,
                            &mut self.scratch,
                            &mut self.buf,
                            &mut self.rec,
                            match_text,
                            &|_| {},
                            &text,
                        );
                        let caps0 = Captures::default();
                        let meta = RecMeta {
                            offset: block_start,
                            line: block_line,
                            caps: &caps0,
                        };
                        let raw = std::mem::take(&mut block);
                        let r = self.end(key, meta, Raw::Text(&raw), raw.len());
                        block = raw;
                        r?;
                        if !whole && let Some(RedactSink::Lines(w)) = self.redacted.as_mut() {
                            w.write_all(b"\n")
                                .map_err(|e| ScanError::io("redacted copy", e))?;
                        }
                    }
                    block.clear();
                    too_long = false;
                }
                if end {
                    break;
                }
                line_no += 1;
                continue;
            }
            line_no += 1;
            match next {
                Some(Line::Ok { offset, bytes }) => {
                    if block.is_empty() {
                        block_start = offset;
                        block_line = line_no;
                    } else {
                        block.push(b'\n');
                    }
                    if block.len() + bytes.len() <= max {
                        block.extend_from_slice(bytes);
                    } else {
                        too_long = true;
                    }
                }
                Some(Line::TooLong { offset, .. }) => {
                    if block.is_empty() {
                        block_start = offset;
                        block_line = line_no;
                    }
                    too_long = true;
                }
                None => {}
            }
        }
        self.res.lines = line_no;
        Ok(())
    }

    fn read_csv(&mut self, counter: Option<Arc<AtomicU64>>) -> Result<(), ScanError> {
        let reader = input::open_stream(&self.file.path, self.file.compression, counter, 0)
            .map_err(|e| self.io(e))?;
        let tsv = self.file.format == Format::Tsv;
        let mut r = csv::ReaderBuilder::new()
            .delimiter(if tsv { b'\t' } else { b',' })
            .quoting(!tsv)
            .flexible(true)
            .has_headers(true)
            .buffer_capacity(1 << 20)
            .from_reader(reader);
        let headers: Vec<String> = r
            .byte_headers()
            .map_err(|e| ScanError::Input {
                path: self.file.name.clone(),
                message: format!("cannot read the header row: {e}"),
            })?
            .iter()
            .map(|h| {
                String::from_utf8_lossy(h)
                    .trim_start_matches('\u{feff}')
                    .to_string()
            })
            .collect();
        let find = |name: &str| -> Result<usize, ScanError> {
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| ScanError::Input {
                    path: self.file.name.clone(),
                    message: format!("no column {name:?}; columns: {}", headers.join(", ")),
                })
        };
        let cols: Vec<usize> = if self.ctx.cfg.columns.is_empty() {
            (0..headers.len()).collect()
        } else {
            self.ctx
                .cfg
                .columns
                .iter()
                .map(|c| find(c))
                .collect::<Result<_, _>>()?
        };
        let id_col = self.ctx.cfg.id_field.as_deref().map(find).transpose()?;
        let source_col = match &self.ctx.cfg.source_by {
            SourceBy::Field(f) => Some(find(f)?),
            _ => None,
        };
        if let Some(RedactSink::Csv(w)) = self.redacted.as_mut() {
            w.write_record(&headers)
                .map_err(|e| ScanError::io("redacted copy", e.into()))?;
        }
        let mut rec = csv::ByteRecord::new();
        loop {
            match r.read_byte_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let off = e.position().map_or(0, |p| p.byte());
                    self.error(off, format!("invalid CSV: {e}"));
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        break;
                    }
                    continue;
                }
            }
            let pos = rec.position().cloned();
            let offset = pos.as_ref().map_or(0, |p| p.byte());
            let line = pos.as_ref().map_or(0, |p| p.line());
            let key = self.begin(offset);
            let det = self.ctx.det;
            let match_text = self.ctx.cfg.match_text;
            let mut len = 0;
            for &c in &cols {
                let Some(v) = rec.get(c) else { continue };
                len += v.len();
                if v.is_empty() {
                    continue;
                }
                let text = String::from_utf8_lossy(v);
                let name = &headers[c];
                scan_text(
                    det,
                    &mut self.scratch,
                    &mut self.buf,
                    &mut self.rec,
                    match_text,
                    &|out: &mut String| out.push_str(name),
                    &text,
                );
            }
            let caps = Captures {
                id: id_col
                    .and_then(|c| rec.get(c))
                    .map(|v| String::from_utf8_lossy(v).into_owned()),
                source: source_col
                    .and_then(|c| rec.get(c))
                    .map(|v| String::from_utf8_lossy(v).into_owned()),
            };
            let meta = RecMeta {
                offset,
                line,
                caps: &caps,
            };
            self.end(key, meta, Raw::Csv(&rec, &headers), len)?;
        }
        self.res.lines = 0;
        Ok(())
    }

    #[cfg(feature = "parquet")]
    fn read_parquet(&mut self) -> Result<(), ScanError> {
        let Range::RowGroups { start, end } = self.shard.range else {
            return Ok(());
        };
        let counter = self.ctx.progress.done.clone();
        let path = self.file.path.clone();
        let columns = self.ctx.cfg.columns.clone();
        let name = self.file.name.clone();
        let source_field = match &self.ctx.cfg.source_by {
            SourceBy::Field(f) => Some(f.clone()),
            _ => None,
        };
        let id_field = self.ctx.cfg.id_field.clone();
        let mut failure: Option<ScanError> = None;
        let r = crate::corpus::parquet_input::for_each_row(
            &path,
            start,
            end,
            &columns,
            &mut |bytes| {
                counter.fetch_add(bytes, Ordering::Relaxed);
            },
            &mut |row, texts| {
                let key = self.begin(row);
                let det = self.ctx.det;
                let match_text = self.ctx.cfg.match_text;
                let mut len = 0;
                for (field, text) in texts {
                    len += text.len();
                    scan_text(
                        det,
                        &mut self.scratch,
                        &mut self.buf,
                        &mut self.rec,
                        match_text,
                        &|out: &mut String| {
                            out.push('/');
                            out.push_str(field);
                        },
                        text,
                    );
                }
                let find = |f: &Option<String>| {
                    f.as_ref()
                        .and_then(|f| texts.iter().find(|(p, _)| p == f).map(|(_, t)| t.clone()))
                };
                let caps = Captures {
                    id: find(&id_field),
                    source: find(&source_field),
                };
                let meta = RecMeta {
                    offset: row,
                    line: 0,
                    caps: &caps,
                };
                if let Err(e) = self.end(key, meta, Raw::Rows(texts), len) {
                    failure = Some(e);
                    return Err("write failed".into());
                }
                Ok(())
            },
        );
        if let Some(e) = failure {
            return Err(e);
        }
        r.map_err(|m| ScanError::Input {
            path: name,
            message: m,
        })
    }

    #[cfg(not(feature = "parquet"))]
    fn read_parquet(&mut self) -> Result<(), ScanError> {
        Err(ScanError::Input {
            path: self.file.name.clone(),
            message: "this build of aigov has no Parquet support (feature `parquet`)".into(),
        })
    }

    /// Accounts for a finished record: statistics, flagged output, sample, redacted copy.
    fn end(
        &mut self,
        key: Option<u64>,
        meta: RecMeta<'_>,
        raw: Raw<'_>,
        len: usize,
    ) -> Result<(), ScanError> {
        let det = self.ctx.det;
        let cfg = self.ctx.cfg;
        let local_record = self.local_record;
        self.local_record += 1;
        self.res.records += 1;
        self.res.bytes += len as u64;
        let (mut harmful, mut pi) = (false, false);
        for fh in &self.rec.hits {
            let r = fh.hit.rule as usize;
            self.rule_hits[r] += 1;
            if !self.seen_rule[r] {
                self.seen_rule[r] = true;
                self.rule_records[r] += 1;
            }
            if let Some(t) = fh.hit.term {
                self.term_hits[r][t as usize] += 1;
            }
            for &c in det.hit_categories(&fh.hit) {
                self.cat_hits[c as usize] += 1;
                if !self.seen_cat[c as usize] {
                    self.seen_cat[c as usize] = true;
                    self.cat_records[c as usize] += 1;
                }
            }
            match det.rules()[r].kind {
                RuleKind::Lexicon | RuleKind::Custom => harmful = true,
                RuleKind::PersonalInfo | RuleKind::Secret => {
                    pi = true;
                    if cfg.harmful_includes_pi {
                        harmful = true;
                    }
                }
            }
        }
        for fh in &self.rec.hits {
            self.seen_rule[fh.hit.rule as usize] = false;
            for &c in det.hit_categories(&fh.hit) {
                self.seen_cat[c as usize] = false;
            }
        }
        let flagged = !self.rec.hits.is_empty();
        self.res.flagged += u64::from(flagged);
        self.res.harmful += u64::from(harmful);
        self.res.pi += u64::from(pi);
        let source: &str = match &cfg.source_by {
            SourceBy::File => &self.file.name,
            SourceBy::Argument => &self.file.argument,
            SourceBy::Field(_) => meta.caps.source.as_deref().unwrap_or("(no source field)"),
        };
        let sc = match self.sources.get_mut(source) {
            Some(s) => s,
            None => self.sources.entry(source.to_string()).or_default(),
        };
        sc.records += 1;
        sc.bytes += len as u64;
        sc.flagged += u64::from(flagged);
        sc.harmful += u64::from(harmful);
        sc.pi += u64::from(pi);
        // Owned only when it is written somewhere (most records are neither flagged nor drawn).
        let source = if flagged || key.is_some() {
            source.to_string()
        } else {
            String::new()
        };

        if flagged {
            self.write_flagged(&source, local_record, &meta, harmful)?;
        }

        if let (Some(key), Some(sample)) = (key, self.sample.as_mut()) {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for fh in &self.rec.hits {
                *counts
                    .entry(det.rules()[fh.hit.rule as usize].id.as_str())
                    .or_default() += 1;
            }
            let rules = counts
                .iter()
                .map(|(r, n)| {
                    if *n > 1 {
                        format!("{r}×{n}")
                    } else {
                        r.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("; ");
            let mut text = self.rec.sample_text.take().unwrap_or_default();
            if text.chars().count() > SAMPLE_TEXT_CHARS {
                text = text.chars().take(SAMPLE_TEXT_CHARS).collect::<String>() + "…[truncated]";
            }
            sample.offer(SampleItem {
                key,
                source,
                file: self.file.name.clone(),
                file_index: self.shard.file,
                shard: self.shard.id.clone(),
                record: local_record,
                line: meta.line,
                offset: meta.offset,
                id: meta.caps.id.clone(),
                detector_unqualified: harmful,
                rules,
                text,
            });
        }

        if self.redacted.is_some() {
            self.write_redacted(raw)?;
        }
        Ok(())
    }

    /// Writes one flagged record to the shard's part file. The first shard of a file writes the
    /// final JSON; later shards write `<record>\t<line>\t{json}` without `record` and `line`,
    /// which the merge adds once the shard's place in the file is known.
    fn write_flagged(
        &mut self,
        source: &str,
        local_record: u64,
        meta: &RecMeta<'_>,
        harmful: bool,
    ) -> Result<(), ScanError> {
        use std::io::Write as _;
        let det = self.ctx.det;
        let b = &mut self.line_buf;
        b.clear();
        let js = |b: &mut Vec<u8>, s: &str| {
            let _ = serde_json::to_writer(&mut *b, s);
        };
        if self.shard.part == 0 {
            // The first shard of a file knows its record numbers: write the final form.
            let line = if meta.line > 0 {
                meta.line.to_string()
            } else {
                "null".into()
            };
            let _ = write!(b, "{{\"record\":{local_record},\"line\":{line},\"source\":");
        } else {
            let _ = write!(b, "{local_record}\t{}\t{{\"source\":", meta.line);
        }
        js(b, source);
        b.extend_from_slice(b",\"file\":");
        js(b, &self.file.name);
        let _ = write!(b, ",\"offset\":{},\"id\":", meta.offset);
        match &meta.caps.id {
            Some(id) => js(b, id),
            None => b.extend_from_slice(b"null"),
        }
        let _ = write!(b, ",\"harmful\":{harmful},\"hits\":[");
        for (k, fh) in self.rec.hits.iter().enumerate() {
            if k > 0 {
                b.push(b',');
            }
            let rule = &det.rules()[fh.hit.rule as usize];
            b.extend_from_slice(b"{\"rule\":");
            js(b, &rule.id);
            let _ = write!(b, ",\"kind\":\"{}\",\"categories\":[", rule.kind.as_str());
            for (j, &c) in det.hit_categories(&fh.hit).iter().enumerate() {
                if j > 0 {
                    b.push(b',');
                }
                js(b, &det.categories()[c as usize]);
            }
            b.extend_from_slice(b"],\"field\":");
            let field = self.rec.field(fh.field);
            if field.is_empty() {
                b.extend_from_slice(b"null");
            } else {
                js(b, field);
            }
            let _ = write!(b, ",\"start\":{},\"end\":{}", fh.hit.start, fh.hit.end);
            if self.ctx.cfg.match_text {
                b.extend_from_slice(b",\"match\":");
                js(b, self.rec.matched(fh));
            }
            if let Some(t) = fh
                .hit
                .term
                .and_then(|t| det.terms(fh.hit.rule).get(t as usize))
            {
                b.extend_from_slice(b",\"term\":");
                js(b, &t.text);
            }
            if let Some(d) = fh.hit.detail {
                b.extend_from_slice(b",\"detail\":");
                js(b, d);
            }
            b.push(b'}');
        }
        b.extend_from_slice(b"]}\n");
        self.flagged
            .write_all(b)
            .map_err(|e| ScanError::io("flagged records", e))
    }

    fn redact_spans(&self) -> Vec<(u32, Vec<Span<'_>>)> {
        let det = self.ctx.det;
        let keywords = self.ctx.cfg.redact.as_ref().is_some_and(|r| r.keywords);
        let mut by_field: Vec<(u32, Vec<Span<'_>>)> = Vec::new();
        for fh in &self.rec.hits {
            let rule = &det.rules()[fh.hit.rule as usize];
            if rule.kind == RuleKind::Lexicon && !keywords {
                continue;
            }
            let span = Span {
                start: fh.hit.start,
                end: fh.hit.end,
                rule: &rule.id,
            };
            match by_field.iter_mut().find(|(f, _)| *f == fh.field) {
                Some((_, v)) => v.push(span),
                None => by_field.push((fh.field, vec![span])),
            }
        }
        by_field
    }

    fn write_redacted(&mut self, raw: Raw<'_>) -> Result<(), ScanError> {
        let style = self
            .ctx
            .cfg
            .redact
            .as_ref()
            .map_or(RedactStyle::Tag, |r| r.style);
        let spans = self.redact_spans();
        let err = |e: std::io::Error| ScanError::io("redacted copy", e);
        let out: Vec<u8> = match raw {
            Raw::Json(line) => {
                if spans.is_empty() {
                    line.to_vec()
                } else {
                    let fields: Vec<(String, Vec<Span<'_>>)> = spans
                        .into_iter()
                        .map(|(f, s)| (self.rec.fields[f as usize].clone(), s))
                        .collect();
                    redact::json_record(line, &fields, style)
                        .map(String::into_bytes)
                        .unwrap_or_else(|| line.to_vec())
                }
            }
            Raw::Text(bytes) => {
                if spans.is_empty() {
                    bytes.to_vec()
                } else {
                    let text = String::from_utf8_lossy(bytes).into_owned();
                    let mut s = spans.into_iter().next().map(|(_, s)| s).unwrap_or_default();
                    redact::apply(&text, &mut s, style).into_bytes()
                }
            }
            Raw::Csv(rec, headers) => {
                let mut fields: Vec<Vec<u8>> = rec.iter().map(<[u8]>::to_vec).collect();
                for (f, mut s) in spans {
                    // Hit fields of CSV records are column names.
                    let name = &self.rec.fields[f as usize];
                    if let Some(c) = headers.iter().position(|h| h == name)
                        && let Some(v) = fields.get_mut(c)
                    {
                        let text = String::from_utf8_lossy(v).into_owned();
                        *v = redact::apply(&text, &mut s, style).into_bytes();
                    }
                }
                if let Some(RedactSink::Csv(w)) = self.redacted.as_mut() {
                    w.write_record(&fields).map_err(|e| err(e.into()))?;
                }
                return Ok(());
            }
            Raw::Rows(texts) => {
                let mut obj = serde_json::Map::new();
                for (path, text) in texts {
                    let field = format!("/{path}");
                    let mut value = text.clone();
                    for (f, s) in &spans {
                        if self.rec.fields[*f as usize] == field {
                            let mut s = s.clone();
                            value = redact::apply(text, &mut s, style);
                        }
                    }
                    obj.insert(path.clone(), serde_json::Value::String(value));
                }
                serde_json::to_vec(&obj).unwrap_or_default()
            }
        };
        if let Some(RedactSink::Lines(w)) = self.redacted.as_mut() {
            w.write_all(&out)
                .and_then(|_| w.write_all(b"\n"))
                .map_err(err)?;
        }
        Ok(())
    }

    fn finish(mut self, t0: Instant) -> Result<ShardResult, ScanError> {
        let det = self.ctx.det;
        for (i, r) in det.rules().iter().enumerate() {
            if self.rule_hits[i] > 0 {
                self.res.rules.insert(
                    r.id.clone(),
                    Counts {
                        hits: self.rule_hits[i],
                        records: self.rule_records[i],
                    },
                );
            }
            let terms = det.terms(i as u32);
            let mut m = BTreeMap::new();
            for (t, &n) in self.term_hits[i].iter().enumerate() {
                if n > 0 {
                    m.insert(terms[t].text.clone(), n);
                }
            }
            if !m.is_empty() {
                self.res.terms.insert(r.id.clone(), m);
            }
        }
        for (i, c) in det.categories().iter().enumerate() {
            if self.cat_hits[i] > 0 {
                self.res.categories.insert(
                    c.clone(),
                    Counts {
                        hits: self.cat_hits[i],
                        records: self.cat_records[i],
                    },
                );
            }
        }
        self.res.sources = self.sources.drain().collect();
        if let Some(s) = self.sample.take() {
            self.res.sample = s.into_sorted();
        }
        self.flagged
            .flush()
            .map_err(|e| ScanError::io("flagged records", e))?;
        match self.redacted.take() {
            Some(RedactSink::Lines(mut w)) => {
                w.flush().map_err(|e| ScanError::io("redacted copy", e))?
            }
            Some(RedactSink::Csv(mut w)) => {
                w.flush().map_err(|e| ScanError::io("redacted copy", e))?
            }
            None => {}
        }
        self.res.elapsed_s = t0.elapsed().as_secs_f64();
        let p = self.ctx.shard_dir.join(format!("{}.json", self.shard.id));
        write_atomic(
            &p,
            serde_json::to_string(&self.res)
                .unwrap_or_default()
                .as_bytes(),
        )?;
        Ok(self.res)
    }
}

/// The name of a redacted copy: the input name below the directory, without a compression
/// suffix; Parquet becomes JSON Lines.
fn redacted_name(f: &InputFile) -> PathBuf {
    let mut name = f.rel.trim_start_matches('/').replace("..", "_");
    if f.compression != Compression::None {
        for suf in [".gz", ".gzip", ".zst", ".zstd"] {
            if let Some(s) = name.strip_suffix(suf) {
                name = s.to_string();
                break;
            }
        }
    }
    if f.format == Format::Parquet {
        name.push_str(".jsonl");
    }
    PathBuf::from(name)
}

/// Joins the shard outputs: renumbered flagged records, redacted copies, the review sheet.
fn merge(
    cfg: &CorpusConfig,
    files: &[InputFile],
    shards: &[Shard],
    results: &[ShardResult],
    work: &Path,
    shard_dir: &Path,
) -> Result<Outputs, ScanError> {
    let mut outputs = Outputs::default();
    // Record and line bases per shard.
    let mut base: HashMap<&str, (u64, u64)> = HashMap::new();
    let mut acc: HashMap<usize, (u64, u64)> = HashMap::new();
    for (s, r) in shards.iter().zip(results) {
        let a = acc.entry(s.file).or_default();
        base.insert(&s.id, *a);
        a.0 += r.records;
        a.1 += r.lines;
    }
    if cfg.out.is_some() {
        let path = work.join("flagged.jsonl");
        let tmp = work.join(".flagged.jsonl.tmp");
        let mut w = BufWriter::new(File::create(&tmp).map_err(|e| ScanError::io(&tmp, e))?);
        for s in shards {
            let p = shard_dir.join(format!("{}.flagged.jsonl", s.id));
            if s.part == 0 {
                // Already in its final form.
                let mut f = File::open(&p).map_err(|e| ScanError::io(&p, e))?;
                std::io::copy(&mut f, &mut w).map_err(|e| ScanError::io(&tmp, e))?;
                continue;
            }
            let data = std::fs::read(&p).map_err(|e| ScanError::io(&p, e))?;
            let (rb, lb) = base.get(s.id.as_str()).copied().unwrap_or_default();
            for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                // `<record>\t<line>\t{json}` → `{"record":R,"line":L,json…}`.
                let mut parts = line.splitn(3, |&b| b == b'\t');
                let num = |p: Option<&[u8]>| {
                    p.and_then(|x| std::str::from_utf8(x).ok())
                        .and_then(|x| x.parse::<u64>().ok())
                };
                let (Some(r), Some(l), Some(rest)) =
                    (num(parts.next()), num(parts.next()), parts.next())
                else {
                    continue;
                };
                let Some(body) = rest.strip_prefix(b"{") else {
                    continue;
                };
                let line_json = if l > 0 {
                    (lb + l).to_string()
                } else {
                    "null".to_string()
                };
                write!(w, "{{\"record\":{},\"line\":{line_json},", rb + r)
                    .and_then(|_| w.write_all(body))
                    .and_then(|_| w.write_all(b"\n"))
                    .map_err(|e| ScanError::io(&tmp, e))?;
            }
        }
        w.flush().map_err(|e| ScanError::io(&tmp, e))?;
        drop(w);
        std::fs::rename(&tmp, &path).map_err(|e| ScanError::io(&path, e))?;
        outputs.flagged = Some(path.display().to_string());
    }
    if let Some(rc) = &cfg.redact {
        let mut used = std::collections::HashSet::new();
        for (fi, f) in files.iter().enumerate() {
            let mut dest = rc.dir.join(redacted_name(f));
            let mut k = 2;
            while !used.insert(dest.clone()) {
                dest = rc.dir.join(format!("{}-{k}", redacted_name(f).display()));
                k += 1;
            }
            if let Some(d) = dest.parent() {
                std::fs::create_dir_all(d).map_err(|e| ScanError::io(d, e))?;
            }
            let tmp = dest.with_extension("aigov-tmp");
            let mut out = File::create(&tmp).map_err(|e| ScanError::io(&tmp, e))?;
            // CSV is never split, so the one part carries the header.
            for s in shards.iter().filter(|s| s.file == fi) {
                let p = shard_dir.join(format!("{}.redacted", s.id));
                let mut part = File::open(&p).map_err(|e| ScanError::io(&p, e))?;
                std::io::copy(&mut part, &mut out).map_err(|e| ScanError::io(&dest, e))?;
            }
            drop(out);
            std::fs::rename(&tmp, &dest).map_err(|e| ScanError::io(&dest, e))?;
            outputs.redacted.push(dest.display().to_string());
        }
    }
    if let Some(sc) = &cfg.sample {
        let mut all: Vec<SampleItem> = results.iter().flat_map(|r| r.sample.clone()).collect();
        all.sort_by(|a, b| {
            a.key
                .cmp(&b.key)
                .then_with(|| a.file.cmp(&b.file))
                .then(a.offset.cmp(&b.offset))
        });
        all.truncate(sc.size);
        for it in &mut all {
            let (rb, lb) = base.get(it.shard.as_str()).copied().unwrap_or_default();
            it.record += rb;
            if it.line > 0 {
                it.line += lb;
            }
        }
        // Sheet rows in corpus order, which is easier to review than key order.
        all.sort_by(|a, b| {
            a.file_index
                .cmp(&b.file_index)
                .then(a.record.cmp(&b.record))
        });
        let path = match &cfg.out {
            Some(o) => o.join("review-sample.csv"),
            None => PathBuf::from("review-sample.csv"),
        };
        let mut buf = Vec::new();
        super::sample::write_sheet(&all, &mut buf).map_err(|e| ScanError::io(&path, e))?;
        write_atomic(&path, &buf)?;
        outputs.sample_sheet = Some(path.display().to_string());
        outputs.sample_drawn = all.len();
    }
    Ok(outputs)
}
