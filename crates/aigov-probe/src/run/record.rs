//! The run directory's files: the attempt record, the error record and the manifest, and
//! streaming readers that tolerate a torn last line.
//!
//! These shapes are a stable, versioned format (`"v": 1`, `"aigov_probe_run": 1`) documented
//! in `suites/README.md`; the platform ingests them. Add fields, never rename or remove them.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::detect::{Detection, Outcome};
use crate::suite::Message;
use crate::target::{TargetConfig, Usage};

/// File names inside a run directory.
pub const MANIFEST: &str = "manifest.json";
/// Completed attempts, one JSON object per line, append-only.
pub const ATTEMPTS: &str = "attempts.jsonl";
/// Failed tries (after retries), one per line, append-only; a later success supersedes them.
pub const ERRORS: &str = "errors.jsonl";
/// Normalised suite snapshots.
pub const SUITES_DIR: &str = "suites";
/// Copies of detector inputs (keyword libraries, extra lexicons).
pub const DETECTORS_DIR: &str = "detectors";
/// Held (advisory lock) by the process executing the run.
pub const LOCK: &str = ".lock";

/// What was sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RequestRecord {
    /// System prompt (the item's; a target-level system prompt is in the manifest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The conversation of the final turn, ending with the user message.
    pub messages: Vec<Message>,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ResponseRecord {
    /// The answer text.
    pub text: String,
    /// Why generation stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Blocked by the provider's content filter.
    #[serde(default)]
    pub blocked: bool,
    /// Token usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Time to first token (streaming), ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<u64>,
    /// HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

/// One completed attempt (a line of `attempts.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// Format version (1).
    pub v: u32,
    /// Stable attempt id: 32 hex digits of SHA-256 over suite, item (and its input digest),
    /// transform chain, repetition and target identity.
    pub id: String,
    /// The run.
    pub run: String,
    /// Suite id.
    pub suite: String,
    /// Item id.
    pub item: String,
    /// Transforms applied, in order (empty: none).
    pub transforms: Vec<String>,
    /// Repetition (0-based).
    pub rep: u32,
    /// Target label.
    pub target: String,
    /// Item language.
    pub lang: String,
    /// Expected behaviour.
    pub expect: String,
    /// Catalog citations of the item.
    pub cites: Vec<String>,
    /// Item tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// What was sent (final turn).
    pub request: RequestRecord,
    /// What came back (final turn).
    pub response: ResponseRecord,
    /// Replies to earlier turns of a multi-turn script.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<String>,
    /// Every detector's finding.
    pub detections: Vec<Detection>,
    /// The verdict.
    pub outcome: Outcome,
    /// Why (`refused`, `complied`, `false refusal`, `canary leaked` …).
    pub reason: String,
    /// The refusal detector's verdict (also inside `detections`).
    pub refused: bool,
    /// When the attempt finished (RFC 3339, UTC).
    pub at: String,
    /// Milliseconds of the successful request(s).
    pub latency_ms: u64,
    /// Retries it took.
    pub retries: u32,
}

impl AttemptRecord {
    /// The transform chain as written in specs (`none`, `base64+roleplay`).
    pub fn chain(&self) -> String {
        if self.transforms.is_empty() {
            "none".into()
        } else {
            self.transforms.join("+")
        }
    }
}

/// One failed attempt (a line of `errors.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// Format version (1).
    pub v: u32,
    /// Attempt id.
    pub id: String,
    /// The run.
    pub run: String,
    /// Suite id.
    pub suite: String,
    /// Item id.
    pub item: String,
    /// Transforms.
    pub transforms: Vec<String>,
    /// Repetition.
    pub rep: u32,
    /// `timeout`, `connect`, `status`, `bad-response`, `command`, `not-found`, `io`.
    pub kind: String,
    /// What happened.
    pub message: String,
    /// HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Retries made.
    pub retries: u32,
    /// When (RFC 3339).
    pub at: String,
}

/// A suite used by a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteRef {
    /// Suite id.
    pub id: String,
    /// Where it was loaded from (`builtin:refusal-zh.yaml` or a path).
    pub origin: String,
    /// SHA-256 of the normalised snapshot.
    pub digest: String,
    /// Number of items.
    pub items: usize,
    /// A starter suite (not a compliant bank).
    pub starter: bool,
    /// The snapshot, relative to the run directory.
    pub file: String,
}

/// A detector input file copied into the run directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRef {
    /// Name (the original file name).
    pub name: String,
    /// Path relative to the run directory.
    pub file: String,
    /// SHA-256 of the content.
    pub digest: String,
}

/// A user regex detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedRegex {
    /// Name.
    pub name: String,
    /// Rust regex syntax.
    pub pattern: String,
}

/// Detector settings of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorConfig {
    /// Personal-information patterns on.
    pub pii: bool,
    /// Extra refusal lexicons.
    #[serde(default)]
    pub refusal_lexicons: Vec<FileRef>,
    /// Keyword libraries.
    #[serde(default)]
    pub keywords: Vec<FileRef>,
    /// User regexes.
    #[serde(default)]
    pub regexes: Vec<NamedRegex>,
    /// SHA-256 of the refusal lexicon used (built-in plus extras).
    #[serde(default)]
    pub refusal_digest: String,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            pii: true,
            refusal_lexicons: Vec::new(),
            keywords: Vec::new(),
            regexes: Vec::new(),
            refusal_digest: String::new(),
        }
    }
}

/// Everything that defines a run; resuming reads it back from the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// The target (secret-looking literal headers redacted).
    pub target: TargetConfig,
    /// The judge target, if any.
    #[serde(default)]
    pub judge: Option<TargetConfig>,
    /// Judge every item, not only `rubric` items.
    #[serde(default)]
    pub judge_all: bool,
    /// Suites.
    pub suites: Vec<SuiteRef>,
    /// Transform chains (`none` is the untransformed prompt).
    pub transforms: Vec<String>,
    /// Apply transforms to every item, not only adversarial ones.
    #[serde(default)]
    pub transform_all: bool,
    /// Repetitions of each attempt.
    pub repetitions: u32,
    /// Seed of every random choice.
    pub seed: u64,
    /// Detectors.
    pub detectors: DetectorConfig,
}

/// A catalog the run's suites were validated against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogRef {
    /// Catalog id.
    pub id: String,
    /// Version.
    pub version: String,
    /// SHA-256 of its source file.
    pub digest: String,
}

/// One run or resume of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Start (RFC 3339).
    pub started: String,
    /// End, once it ended normally.
    #[serde(default)]
    pub ended: Option<String>,
    /// Attempts completed in this session.
    #[serde(default)]
    pub completed: u64,
    /// Attempts that failed in this session.
    #[serde(default)]
    pub errors: u64,
    /// How the session ended.
    pub status: RunStatus,
}

/// The state of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Running, or killed while running.
    Running,
    /// Every planned attempt completed.
    Completed,
    /// The plan ran through but some attempts failed (resume retries them).
    Incomplete,
    /// Stopped by the user (Ctrl-C).
    Interrupted,
    /// Stopped by the circuit breaker.
    Stopped,
}

impl RunStatus {
    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Incomplete => "incomplete",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Stopped => "stopped",
        }
    }
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version (1).
    pub aigov_probe_run: u32,
    /// Run id.
    pub run_id: String,
    /// Created (RFC 3339).
    pub created: String,
    /// Last written (RFC 3339).
    pub updated: String,
    /// Version of aigov that wrote it.
    pub aigov_version: String,
    /// State.
    pub status: RunStatus,
    /// Why it stopped, if it did.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// Target label.
    pub target_label: String,
    /// Target identity (part of attempt ids).
    pub target_identity: String,
    /// Attempts planned.
    pub planned: u64,
    /// Attempts completed (lines of `attempts.jsonl`), as of `updated`.
    pub completed: u64,
    /// Planned attempts without a completed record, as of `updated`.
    pub missing: u64,
    /// Catalogs the suites cite.
    pub catalogs: Vec<CatalogRef>,
    /// The run definition.
    pub config: RunConfig,
    /// Sessions (the first run, then each resume).
    pub sessions: Vec<Session>,
    /// For a rescored run: the run whose responses it re-scored.
    #[serde(default)]
    pub rescored_from: Option<String>,
}

/// Errors reading run files.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// IO.
    #[error("{path}: {err}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        err: std::io::Error,
    },
    /// Bad content.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Reads a manifest.
pub fn read_manifest(dir: &Path) -> Result<Manifest, RecordError> {
    let p = dir.join(MANIFEST);
    let s = std::fs::read_to_string(&p).map_err(|e| RecordError::Io {
        path: p.display().to_string(),
        err: e,
    })?;
    let m: Manifest = serde_json::from_str(&s).map_err(|e| RecordError::Format {
        path: p.display().to_string(),
        message: format!("not a run manifest: {e}"),
    })?;
    if m.aigov_probe_run != 1 {
        return Err(RecordError::Format {
            path: p.display().to_string(),
            message: format!(
                "run format {} is newer than this aigov reads (1)",
                m.aigov_probe_run
            ),
        });
    }
    Ok(m)
}

/// What a streaming read found besides the records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Lines read as records.
    pub records: u64,
    /// An unterminated (torn) last line, ignored.
    pub torn_tail: bool,
    /// Complete lines that did not parse (1-based line numbers, first ten).
    pub bad_lines: Vec<u64>,
    /// Count of such lines.
    pub bad: u64,
}

/// Streams the records of a JSONL file to `f`, line by line, in constant memory. A last line
/// without a newline is a torn write from a killed process and is skipped; other lines that do
/// not parse are counted in the stats and skipped.
pub fn for_each_line<T: for<'de> Deserialize<'de>>(
    path: &Path,
    mut f: impl FnMut(T),
) -> Result<ReadStats, RecordError> {
    let mut stats = ReadStats::default();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(stats),
        Err(e) => {
            return Err(RecordError::Io {
                path: path.display().to_string(),
                err: e,
            });
        }
    };
    let mut r = BufReader::with_capacity(256 * 1024, file);
    let mut buf = Vec::with_capacity(4096);
    let mut n = 0u64;
    loop {
        buf.clear();
        let got = r.read_until(b'\n', &mut buf).map_err(|e| RecordError::Io {
            path: path.display().to_string(),
            err: e,
        })?;
        if got == 0 {
            break;
        }
        n += 1;
        if buf.last() != Some(&b'\n') {
            stats.torn_tail = true;
            break;
        }
        let line = &buf[..buf.len() - 1];
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<T>(line) {
            Ok(v) => {
                stats.records += 1;
                f(v)
            }
            Err(_) => {
                stats.bad += 1;
                if stats.bad_lines.len() < 10 {
                    stats.bad_lines.push(n);
                }
            }
        }
    }
    Ok(stats)
}

/// The attempt id at the start of a record line, read without parsing the whole line when the
/// line has the shape the writer produces (`{"v":1,"id":"<32 hex>"`).
pub fn fast_id(line: &[u8]) -> Option<u128> {
    const HEAD: &[u8] = b"{\"v\":1,\"id\":\"";
    if line.len() >= HEAD.len() + 33 && line.starts_with(HEAD) && line[HEAD.len() + 32] == b'"' {
        let hex = std::str::from_utf8(&line[HEAD.len()..HEAD.len() + 32]).ok()?;
        return u128::from_str_radix(hex, 16).ok();
    }
    #[derive(Deserialize)]
    struct IdOnly {
        id: String,
    }
    let r: IdOnly = serde_json::from_slice(line).ok()?;
    u128::from_str_radix(&r.id, 16).ok()
}

/// Prepares `attempts.jsonl` for appending after a crash: truncates a torn last line, and
/// returns the ids already recorded (duplicates and unparseable lines are reported).
pub fn recover_attempts(
    path: &Path,
) -> Result<(std::collections::HashSet<u128>, ReadStats), RecordError> {
    let io = |e: std::io::Error| RecordError::Io {
        path: path.display().to_string(),
        err: e,
    };
    let mut done = std::collections::HashSet::new();
    let mut stats = ReadStats::default();
    let mut file = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((done, stats)),
        Err(e) => return Err(io(e)),
    };
    let mut good_end: u64 = 0;
    {
        let mut r = BufReader::with_capacity(256 * 1024, &mut file);
        let mut buf = Vec::with_capacity(4096);
        let mut n = 0u64;
        loop {
            buf.clear();
            let got = r.read_until(b'\n', &mut buf).map_err(io)?;
            if got == 0 {
                break;
            }
            n += 1;
            if buf.last() != Some(&b'\n') {
                stats.torn_tail = true;
                break;
            }
            good_end += got as u64;
            let line = &buf[..buf.len() - 1];
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match fast_id(line) {
                Some(id) => {
                    stats.records += 1;
                    done.insert(id);
                }
                None => {
                    stats.bad += 1;
                    if stats.bad_lines.len() < 10 {
                        stats.bad_lines.push(n);
                    }
                }
            }
        }
    }
    if stats.torn_tail {
        file.set_len(good_end).map_err(io)?;
        file.seek(SeekFrom::End(0)).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    Ok((done, stats))
}

/// Truncates an unterminated (torn) last line of a JSONL file so that appending continues on a
/// line boundary. Returns whether it truncated.
pub fn repair_tail(path: &Path) -> Result<bool, RecordError> {
    let io = |e: std::io::Error| RecordError::Io {
        path: path.display().to_string(),
        err: e,
    };
    let mut f = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io(e)),
    };
    let len = f.metadata().map_err(io)?.len();
    if len == 0 {
        return Ok(false);
    }
    // Scan back from the end for the last newline, a block at a time.
    let mut end = len;
    let mut buf = vec![0u8; 64 * 1024];
    let mut last_nl: Option<u64> = None;
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let n = (end - start) as usize;
        f.seek(SeekFrom::Start(start)).map_err(io)?;
        f.read_exact(&mut buf[..n]).map_err(io)?;
        if let Some(i) = buf[..n].iter().rposition(|&b| b == b'\n') {
            last_nl = Some(start + i as u64);
            break;
        }
        end = start;
    }
    let keep = last_nl.map_or(0, |i| i + 1);
    if keep == len {
        return Ok(false);
    }
    f.set_len(keep).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(true)
}

/// Reads a whole small file (suite snapshots, detector copies) with a size limit.
pub fn read_small(path: &Path, limit: u64) -> Result<String, RecordError> {
    let f = File::open(path).map_err(|e| RecordError::Io {
        path: path.display().to_string(),
        err: e,
    })?;
    let mut s = String::new();
    f.take(limit + 1)
        .read_to_string(&mut s)
        .map_err(|e| RecordError::Io {
            path: path.display().to_string(),
            err: e,
        })?;
    if s.len() as u64 > limit {
        return Err(RecordError::Format {
            path: path.display().to_string(),
            message: format!("larger than {limit} bytes"),
        });
    }
    Ok(s)
}
