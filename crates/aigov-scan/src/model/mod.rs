//! `aigov scan model`: model artifacts judged by their content.
//!
//! The format of every file — and of every archive member — is decided from its bytes, never
//! from its name: zip (`PK`), `.npy` (`\x93NUMPY`), GGUF, safetensors (header length + `{`),
//! HDF5 (signature at 0/512/1024/2048), gzip/zlib/zstd (decompressed and judged again), tar
//! (`ustar`), pickle (`\x80` + protocol, or protocol-0/1 opcodes that parse), ONNX (protobuf
//! `ModelProto` shape), JSON (Keras and tokenizer configs). A name that promises another format
//! than the content is itself a finding.
//!
//! - [`finding`] — severities, findings and the rule table.
//! - [`globals`] — the default-deny allowlist of pickle globals with severity tiers.
//! - [`pickle`] — the streaming opcode machine.
//! - [`archive`] — zip (PyTorch, TorchScript, npz, Keras) and tar, nested, with budgets.
//! - [`numpy`], [`safetensors`], [`gguf`], [`keras`] (and HDF5), [`onnx`], [`template`].
//! - [`report`] — text, JSON and SARIF 2.1.0 output.
//!
//! Memory is bounded by the budgets, never by the file size: parsers read headers and skip
//! payloads (seeking in files), and nested archives are spooled to temporary files.

pub mod archive;
pub mod details;
pub mod finding;
pub mod gguf;
pub mod globals;
pub mod io;
pub mod keras;
pub mod numpy;
pub mod onnx;
pub mod pickle;
pub mod report;
pub mod safetensors;
pub mod scope;
pub mod template;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use details::Details;
pub use finding::{Finding, RULES, Severity};
pub use globals::Allowlist;
pub use scope::{Budgets, Scope};

use crate::ScanError;
use io::Input;

/// What the caller knows about a stream beyond its bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hint {
    /// An HDF5 file here should hold a Keras model config (false for the weights file inside
    /// a `.keras` archive).
    pub hdf5_config_expected: bool,
}

impl Default for Hint {
    fn default() -> Self {
        Hint {
            hdf5_config_expected: true,
        }
    }
}

/// Where bytes come from.
pub(crate) enum Source<'a> {
    /// A file on disk (seekable).
    Path(&'a Path, u64),
    /// A stream (archive member, decompressed data) and its length when known.
    Stream(Box<dyn Read + 'a>, Option<u64>),
}

const HEAD: usize = 4096;

fn read_head(r: &mut dyn Read) -> std::io::Result<Vec<u8>> {
    let mut head = vec![0u8; HEAD];
    let mut got = 0;
    while got < HEAD {
        let k = r.read(&mut head[got..])?;
        if k == 0 {
            break;
        }
        got += k;
    }
    head.truncate(got);
    Ok(head)
}

/// Formats a name promises, for the mismatch check (`None`: no promise).
fn promised(name: &str) -> Option<&'static [&'static str]> {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e)?;
    Some(match ext {
        "safetensors" => &["safetensors"],
        "gguf" => &["gguf"],
        "onnx" => &["onnx"],
        "npy" => &["numpy"],
        "npz" => &["npz", "zip"],
        "pt" | "pth" | "ckpt" => &[
            "pytorch-zip",
            "pytorch-legacy",
            "torchscript",
            "pickle",
            "zip",
        ],
        "pkl" | "pickle" | "joblib" | "sav" => {
            &["pickle", "joblib", "pytorch-legacy", "gzip", "zlib", "zstd"]
        }
        "h5" | "hdf5" => &["hdf5"],
        "keras" => &["keras"],
        _ => return None,
    })
}

fn spool(mut r: Box<dyn Read + '_>, max: u64) -> std::io::Result<File> {
    let mut f = tempfile::tempfile()?;
    let n = std::io::copy(&mut r.by_ref().take(max + 1), &mut f)?;
    if n > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "nested archive larger than the member budget",
        ));
    }
    f.seek(SeekFrom::Start(0))?;
    Ok(f)
}

/// Probes whether the head is the start of a pickle: it runs at least three opcodes, or
/// imports a global, before it fails.
fn probe_pickle(head: &[u8], scope: &Scope<'_>) -> bool {
    if head.first() == Some(&0x80) && head.get(1).is_some_and(|p| *p <= 5) {
        return true;
    }
    if !pickle::looks_like_pickle(head) {
        return false;
    }
    let mut findings = Vec::new();
    let (mut dropped, mut spent) = (0, 0);
    let mut s = Scope {
        file: scope.file,
        member: None,
        budgets: scope.budgets,
        allow: scope.allow,
        findings: &mut findings,
        dropped: &mut dropped,
        spent: &mut spent,
        depth: scope.budgets.max_depth,
        base: 0,
    };
    let mut input = Input::bytes(head);
    let infos = pickle::scan_pickles(&mut input, &mut s);
    infos
        .first()
        .is_some_and(|i| i.complete || i.opcodes >= 3 || !i.globals.is_empty())
}

/// Scans one source: decides its format by content and runs the matching parser. Returns the
/// format name.
pub(crate) fn scan_source(
    src: Source<'_>,
    name: &str,
    scope: &mut Scope<'_>,
    details: &mut Details,
    hint: Hint,
) -> String {
    let (head, mut input, path) = match src {
        Source::Path(p, len) => {
            let head = match File::open(p).and_then(|mut f| read_head(&mut f)) {
                Ok(h) => h,
                Err(e) => {
                    scope.report(
                        "scan.io",
                        Severity::Medium,
                        None,
                        format!("cannot read: {e}"),
                        None,
                    );
                    return "unreadable".into();
                }
            };
            match File::open(p) {
                Ok(f) => (head, Input::file(f, len), Some(p)),
                Err(e) => {
                    scope.report(
                        "scan.io",
                        Severity::Medium,
                        None,
                        format!("cannot read: {e}"),
                        None,
                    );
                    return "unreadable".into();
                }
            }
        }
        Source::Stream(mut r, len) => {
            let head = match read_head(&mut r) {
                Ok(h) => h,
                Err(e) => {
                    scope.report(
                        "scan.io",
                        Severity::Medium,
                        None,
                        format!("cannot read: {e}"),
                        None,
                    );
                    return "unreadable".into();
                }
            };
            let chained: Box<dyn Read + '_> = Box::new(std::io::Cursor::new(head.clone()).chain(r));
            (head, Input::reader(chained, len), None)
        }
    };
    let fmt = detect_and_scan(&head, &mut input, path, name, scope, details, hint);
    if let Some(p) = promised(name)
        && !p.contains(&fmt.as_str())
        && !fmt.ends_with("+zip")
    {
        scope.report(
            "scan.format-mismatch",
            Severity::Medium,
            Some(0),
            format!(
                "the name {name:?} suggests {} but the content is {fmt}",
                p[0]
            ),
            None,
        );
    }
    fmt
}

#[allow(clippy::too_many_arguments)]
fn detect_and_scan(
    head: &[u8],
    input: &mut Input<'_>,
    path: Option<&Path>,
    name: &str,
    scope: &mut Scope<'_>,
    details: &mut Details,
    hint: Hint,
) -> String {
    let nested_ok = |scope: &mut Scope<'_>, what: &str| {
        if scope.depth >= scope.budgets.max_depth {
            scope.report(
                "zip.budget",
                Severity::Medium,
                Some(0),
                format!(
                    "{what} nested deeper than {} levels; not scanned",
                    scope.budgets.max_depth
                ),
                None,
            );
            false
        } else {
            true
        }
    };
    // Zip.
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        let kind = match path {
            Some(p) => match File::open(p) {
                Ok(f) => archive::scan_zip(f, scope, details),
                Err(e) => {
                    scope.report(
                        "scan.io",
                        Severity::Medium,
                        None,
                        format!("cannot read: {e}"),
                        None,
                    );
                    "zip"
                }
            },
            None => {
                if !nested_ok(scope, "archive") {
                    return "zip".into();
                }
                let max = scope.budgets.max_member_bytes;
                let stream: Box<dyn Read + '_> = Box::new(InputReader(input));
                match spool(stream, max) {
                    Ok(f) => archive::scan_zip(f, scope, details),
                    Err(e) => {
                        scope.report(
                            "zip.budget",
                            Severity::Medium,
                            None,
                            format!("nested archive not scanned: {e}"),
                            None,
                        );
                        "zip"
                    }
                }
            }
        };
        return kind.into();
    }
    if head.starts_with(b"\x93NUMPY") {
        numpy::scan(input, scope, details, name);
        return "numpy".into();
    }
    if gguf::sniff(head) {
        gguf::scan(input, scope, details);
        return "gguf".into();
    }
    if safetensors::sniff(head, input.total_len()) {
        safetensors::scan(input, scope, details);
        return "safetensors".into();
    }
    if keras::sniff_hdf5(head) {
        keras::scan_hdf5(input, scope, details, hint.hdf5_config_expected);
        return "hdf5".into();
    }
    // Compressed streams: decompress and judge again.
    let zlib = head.len() >= 2
        && head[0] == 0x78
        && matches!(head[1], 0x01 | 0x5e | 0x9c | 0xda)
        && (u16::from(head[0]) * 256 + u16::from(head[1])) % 31 == 0;
    if head.starts_with(&[0x1f, 0x8b]) || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) || zlib {
        let codec = if head[0] == 0x1f {
            "gzip"
        } else if zlib {
            "zlib"
        } else {
            "zstd"
        };
        if !nested_ok(scope, "compressed stream") {
            return codec.into();
        }
        let raw: Box<dyn Read + '_> = Box::new(InputReader(input));
        let dec: Box<dyn Read + '_> = match codec {
            "gzip" => Box::new(flate2::read::MultiGzDecoder::new(raw)),
            "zlib" => Box::new(flate2::read::ZlibDecoder::new(raw)),
            _ => Box::new(crate::corpus::input::zstd_decoder(std::io::BufReader::new(
                raw,
            ))),
        };
        let max = scope.budgets.max_member_bytes;
        let limited: Box<dyn Read + '_> = Box::new(dec.take(max));
        let inner_name = format!("({codec})");
        let mut child = scope.child(Some(&inner_name), 0);
        let inner = scan_source(
            Source::Stream(limited, None),
            &inner_name,
            &mut child,
            details,
            hint,
        );
        return if inner == "unknown" {
            codec.into()
        } else {
            inner
        };
    }
    let other_codec = if head.starts_with(b"BZh") {
        Some("bzip2")
    } else if head.starts_with(b"\xfd7zXZ\x00") {
        Some("xz")
    } else if head.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
        Some("lz4")
    } else if head.starts_with(b"7z\xbc\xaf\x27\x1c") {
        Some("7z")
    } else if head.starts_with(b"Rar!") {
        Some("rar")
    } else {
        None
    };
    if let Some(c) = other_codec {
        scope.report(
            "container.compressed",
            Severity::Medium,
            Some(0),
            format!("{c} data is not read by the scanner; it was not scanned"),
            None,
        );
        return c.into();
    }
    if archive::sniff_tar(head) {
        if nested_ok(scope, "tar archive") {
            archive::scan_tar(input, scope, details);
        }
        return "tar".into();
    }
    if probe_pickle(head, scope) {
        let infos = pickle::scan_pickles(input, scope);
        let mut fmt = "pickle";
        for i in &infos {
            details.pickle().add(i);
            if i.torch_magic {
                fmt = "pytorch-legacy";
            }
            if i.joblib_arrays > 0 || i.globals.iter().any(|g| g.name == "NumpyArrayWrapper") {
                fmt = if fmt == "pickle" { "joblib" } else { fmt };
            }
        }
        let mut fmt = fmt.to_string();
        if let Some(p) = path
            && let Some(z) = polyglot_zip(p)
        {
            scope.report(
                "container.polyglot",
                Severity::High,
                Some(0),
                format!("the file is a {fmt} and also a zip archive ({z} members); loaders disagree on what it is"),
                None,
            );
            if let Ok(f) = File::open(p) {
                let mut child = scope.child(Some("(appended zip)"), 0);
                archive::scan_zip(f, &mut child, details);
            }
            fmt.push_str("+zip");
        }
        return fmt;
    }
    if onnx::sniff(head) {
        onnx::scan(input, scope, details, path);
        return "onnx".into();
    }
    let first = head.iter().copied().find(|b| !b.is_ascii_whitespace());
    if first == Some(b'{') {
        return scan_json(input, scope, details).into();
    }
    if head.starts_with(b"lmgg")
        || head.starts_with(b"tjgg")
        || head.starts_with(b"algg")
        || head.starts_with(b"fmgg")
    {
        scope.report(
            "scan.unknown-format",
            Severity::Info,
            Some(0),
            "legacy GGML file (before GGUF); not analysed",
            None,
        );
        return "ggml".into();
    }
    if promised(name).is_some() {
        scope.report(
            "scan.unknown-format",
            Severity::Info,
            Some(0),
            "content is not a recognised model format",
            None,
        );
    }
    "unknown".into()
}

/// Reads an [`Input`] as a plain reader.
struct InputReader<'x, 'y>(&'x mut Input<'y>);

impl Read for InputReader<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

/// A zip archive appended to a file that does not start as one.
fn polyglot_zip(p: &Path) -> Option<usize> {
    let mut f = File::open(p).ok()?;
    let len = f.metadata().ok()?.len();
    let tail = len.min(65_557);
    f.seek(SeekFrom::Start(len - tail)).ok()?;
    let mut buf = vec![0u8; tail as usize];
    f.read_exact(&mut buf).ok()?;
    memchr::memmem::rfind(&buf, b"PK\x05\x06")?;
    f.seek(SeekFrom::Start(0)).ok()?;
    let z = zip::ZipArchive::new(f).ok()?;
    (!z.is_empty()).then(|| z.len())
}

/// JSON files: Hugging Face tokenizer configs (chat templates) and Keras configs.
fn scan_json(input: &mut Input<'_>, scope: &mut Scope<'_>, details: &mut Details) -> &'static str {
    let max = scope.budgets.max_json;
    if input.remaining().is_some_and(|r| r > max) {
        return "json";
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1 << 16];
    loop {
        match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(_) => return "json",
        }
        if buf.len() as u64 > max {
            return "json";
        }
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&buf) else {
        return "json";
    };
    let mut kind = "json";
    match v.get("chat_template") {
        Some(serde_json::Value::String(t)) => {
            template::check("chat_template", t, scope, details, None);
            kind = "tokenizer-config";
        }
        Some(serde_json::Value::Array(list)) => {
            for (i, t) in list.iter().enumerate() {
                if let Some(s) = t.get("template").and_then(serde_json::Value::as_str) {
                    let name = t
                        .get("name")
                        .and_then(serde_json::Value::as_str)
                        .map_or_else(
                            || format!("chat_template[{i}]"),
                            |n| format!("chat_template.{n}"),
                        );
                    template::check(&name, s, scope, details, None);
                }
            }
            kind = "tokenizer-config";
        }
        _ => {}
    }
    if v.get("class_name").is_some() && v.get("config").is_some() {
        keras::check_config(&v, scope, details, None);
        kind = "keras-config";
    }
    if let Some(a) = v
        .get("architectures")
        .and_then(|a| a.get(0))
        .and_then(serde_json::Value::as_str)
    {
        details.meta("architecture", a);
        if kind == "json" {
            kind = "model-config";
        }
    }
    if let Some(m) = v.get("model_type").and_then(serde_json::Value::as_str) {
        details.meta("model_type", m);
    }
    kind
}

/// Everything found about one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileReport {
    /// The path as scanned.
    pub path: String,
    /// Size on disk.
    pub size: u64,
    /// Format by content.
    pub format: String,
    /// SHA-256 of the file, when requested.
    pub sha256: Option<String>,
    /// Findings, worst first.
    pub findings: Vec<Finding>,
    /// Findings not kept because of the per-file budget.
    pub findings_dropped: u64,
    /// Tensors, metadata, templates, members.
    pub details: Details,
}

impl FileReport {
    /// The worst severity, if any finding.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// A model scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelReport {
    /// Always `model`.
    pub aigov_scan: String,
    /// Files.
    pub files: Vec<FileReport>,
    /// Findings per severity over all files.
    pub counts: std::collections::BTreeMap<Severity, u64>,
    /// The worst severity.
    pub worst: Option<Severity>,
}

/// Settings of a model scan.
#[derive(Debug, Clone, Default)]
pub struct ModelScanner {
    /// Limits.
    pub budgets: Budgets,
    /// Pickle globals allowlist.
    pub allow: Allowlist,
    /// Compute SHA-256 of each file (needed for the ML-BOM; reads whole files).
    pub hash: bool,
}

/// The SHA-256 of a file, streamed.
pub fn sha256_file(p: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut f = File::open(p)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Lists the files under `paths` (directories walked in name order). Hidden files are
/// included — a payload can hide in `.cache/x.pkl` — but version-control directories
/// (`.git`, `.hg`, `.svn`) and symlinked directories are skipped.
pub fn list_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ScanError> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| ScanError::io(p, e))?;
        if !meta.is_dir() {
            out.push(p.clone());
            continue;
        }
        let mut stack = vec![p.clone()];
        let mut found = Vec::new();
        while let Some(d) = stack.pop() {
            let rd = std::fs::read_dir(&d).map_err(|e| ScanError::io(&d, e))?;
            for e in rd.flatten() {
                let name = e.file_name();
                let path = e.path();
                match e.file_type() {
                    Ok(t)
                        if t.is_dir()
                            && !matches!(name.to_str(), Some(".git" | ".hg" | ".svn")) =>
                    {
                        stack.push(path)
                    }
                    Ok(t) if t.is_file() => found.push(path),
                    Ok(t) if t.is_symlink() && path.is_file() => found.push(path),
                    _ => {}
                }
            }
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

impl ModelScanner {
    /// Scans one file.
    pub fn scan_file(&self, path: &Path) -> FileReport {
        let display = path.display().to_string();
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let mut findings = Vec::new();
        let mut details = Details::default();
        let (mut dropped, mut spent) = (0u64, 0u64);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let format = {
            let mut scope = Scope {
                file: &display,
                member: None,
                budgets: &self.budgets,
                allow: &self.allow,
                findings: &mut findings,
                dropped: &mut dropped,
                spent: &mut spent,
                depth: 0,
                base: 0,
            };
            scan_source(
                Source::Path(path, size),
                &name,
                &mut scope,
                &mut details,
                Hint::default(),
            )
        };
        let sha256 = if self.hash {
            match sha256_file(path) {
                Ok(h) => Some(h),
                Err(e) => {
                    findings.push(Finding {
                        rule: "scan.io".into(),
                        severity: Severity::Medium,
                        file: display.clone(),
                        member: None,
                        offset: None,
                        global: None,
                        message: format!("cannot hash: {e}"),
                    });
                    None
                }
            }
        } else {
            None
        };
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.member.cmp(&b.member))
                .then_with(|| a.offset.cmp(&b.offset))
        });
        FileReport {
            path: display,
            size,
            format,
            sha256,
            findings,
            findings_dropped: dropped,
            details,
        }
    }

    /// Scans bytes held in memory as if they were a file called `name` (tests, fuzzing, and
    /// callers that already hold the data).
    pub fn scan_bytes(&self, name: &str, data: &[u8]) -> FileReport {
        let mut findings = Vec::new();
        let mut details = Details::default();
        let (mut dropped, mut spent) = (0u64, 0u64);
        let format = {
            let mut scope = Scope {
                file: name,
                member: None,
                budgets: &self.budgets,
                allow: &self.allow,
                findings: &mut findings,
                dropped: &mut dropped,
                spent: &mut spent,
                depth: 0,
                base: 0,
            };
            let src = Source::Stream(Box::new(data), Some(data.len() as u64));
            scan_source(src, name, &mut scope, &mut details, Hint::default())
        };
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.offset.cmp(&b.offset))
        });
        FileReport {
            path: name.to_string(),
            size: data.len() as u64,
            format,
            sha256: None,
            findings,
            findings_dropped: dropped,
            details,
        }
    }

    /// Scans files and directories (files in parallel on the current rayon pool).
    pub fn scan_paths(&self, paths: &[PathBuf]) -> Result<ModelReport, ScanError> {
        use rayon::prelude::*;
        let files = list_files(paths)?;
        let reports: Vec<FileReport> = files.par_iter().map(|p| self.scan_file(p)).collect();
        Ok(ModelReport::new(reports))
    }
}

impl ModelReport {
    /// Builds the report with its counts.
    pub fn new(files: Vec<FileReport>) -> ModelReport {
        let mut counts = std::collections::BTreeMap::new();
        for f in &files {
            for x in &f.findings {
                *counts.entry(x.severity).or_insert(0) += 1;
            }
        }
        let worst = counts.keys().max().copied();
        ModelReport {
            aigov_scan: "model".into(),
            files,
            counts,
            worst,
        }
    }
}
