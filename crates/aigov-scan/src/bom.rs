//! CycloneDX 1.6 ML-BOM: export from scan results, and import (parse + validate) into a typed
//! summary for the inventory.
//!
//! Export: every model file (format by content) becomes a `machine-learning-model` component
//! with its SHA-256, size, format, tensor summary, format metadata (GGUF `general.*`,
//! safetensors `__metadata__`, ONNX producer …), chat-template digest, licence (GGUF
//! `general.license`, or the `license:` of a Hugging Face model card `README.md` next to it)
//! and a `modelCard`; every corpus file (JSON Lines, CSV/TSV, Parquet, text) becomes a `data`
//! component with its SHA-256, size, format and record count; other files become `file`
//! components. Scan findings are attached as `vulnerabilities` whose `affects` point at the
//! component.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};

use crate::ScanError;
use crate::model::{FileReport, ModelScanner, Severity};

/// Content formats that are models.
pub const MODEL_FORMATS: &[&str] = &[
    "pickle",
    "pytorch-zip",
    "pytorch-legacy",
    "torchscript",
    "joblib",
    "numpy",
    "npz",
    "safetensors",
    "gguf",
    "onnx",
    "keras",
    "hdf5",
    "ggml",
];

/// A data file for the BOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataFile {
    /// Path.
    pub path: String,
    /// Size.
    pub size: u64,
    /// SHA-256.
    pub sha256: String,
    /// `jsonl`, `csv`, `tsv`, `parquet`, `text` (+ compression).
    pub format: String,
    /// Records (lines for line formats, rows for Parquet), when counted.
    pub records: Option<u64>,
}

/// What goes into a BOM.
#[derive(Debug, Clone, Default)]
pub struct BomInput {
    /// Scanned model (and other) files, with hashes.
    pub files: Vec<FileReport>,
    /// Data files.
    pub data: Vec<DataFile>,
    /// Model cards found next to the files: directory → front matter.
    pub cards: BTreeMap<PathBuf, ModelCard>,
}

/// The parts of a Hugging Face model card's YAML front matter the BOM uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelCard {
    /// `license:`.
    pub license: Option<String>,
    /// `base_model:`.
    pub base_model: Vec<String>,
    /// `datasets:`.
    pub datasets: Vec<String>,
    /// `pipeline_tag:`.
    pub pipeline_tag: Option<String>,
}

/// Reads the front matter of a model card (`---` YAML `---` at the top of README.md): simple
/// `key: value` and `key:` + `- item` lists only.
pub fn parse_card(text: &str) -> Option<ModelCard> {
    let rest = text.strip_prefix("---")?;
    let end = rest.find("\n---")?;
    let mut card = ModelCard::default();
    let mut list_key: Option<String> = None;
    for line in rest[..end].lines() {
        if let Some(item) = line.trim_start().strip_prefix("- ") {
            let v = item.trim().trim_matches(['"', '\'']).to_string();
            match list_key.as_deref() {
                Some("base_model") => card.base_model.push(v),
                Some("datasets") => card.datasets.push(v),
                Some("license") => card.license = card.license.or(Some(v)),
                _ => {}
            }
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim().trim_matches(['"', '\'']));
        list_key = if v.is_empty() {
            Some(k.to_string())
        } else {
            None
        };
        if v.is_empty() {
            continue;
        }
        match k {
            "license" => card.license = Some(v.to_string()),
            "base_model" => card.base_model.push(v.to_string()),
            "datasets" => card.datasets.push(v.to_string()),
            "pipeline_tag" => card.pipeline_tag = Some(v.to_string()),
            _ => {}
        }
    }
    Some(card)
}

/// SPDX ids for the licence names model hubs use.
fn spdx(l: &str) -> Option<&'static str> {
    Some(match l.to_ascii_lowercase().as_str() {
        "apache-2.0" | "apache 2.0" | "apache2" => "Apache-2.0",
        "mit" => "MIT",
        "bsd-3-clause" => "BSD-3-Clause",
        "bsd-2-clause" => "BSD-2-Clause",
        "gpl-3.0" => "GPL-3.0-only",
        "lgpl-3.0" => "LGPL-3.0-only",
        "agpl-3.0" => "AGPL-3.0-only",
        "cc-by-4.0" => "CC-BY-4.0",
        "cc-by-sa-4.0" => "CC-BY-SA-4.0",
        "cc-by-nc-4.0" => "CC-BY-NC-4.0",
        "cc-by-nc-sa-4.0" => "CC-BY-NC-SA-4.0",
        "cc0-1.0" => "CC0-1.0",
        "openrail" => "OpenRAIL",
        "mpl-2.0" => "MPL-2.0",
        "unlicense" => "Unlicense",
        _ => return None,
    })
}

fn license_json(l: &str) -> Value {
    match spdx(l) {
        Some(id) => json!({"license": {"id": id}}),
        None => json!({"license": {"name": l}}),
    }
}

fn uuid_from(seed: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(seed);
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x: String = b.iter().map(|v| format!("{v:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..]
    )
}

fn prop(name: &str, value: impl ToString) -> Value {
    json!({"name": name, "value": value.to_string()})
}

fn file_name(p: &str) -> String {
    Path::new(p)
        .file_name()
        .map_or_else(|| p.to_string(), |n| n.to_string_lossy().into_owned())
}

/// Builds the BOM. `timestamp` (RFC 3339) and `version` come from the caller, so output is
/// reproducible.
pub fn export(input: &BomInput, timestamp: &str, tool_version: &str) -> Value {
    let mut components = Vec::new();
    let mut vulns = Vec::new();
    let mut seed = Vec::new();
    for (i, f) in input.files.iter().enumerate() {
        let model = MODEL_FORMATS.contains(&f.format.as_str());
        let sha = f.sha256.clone().unwrap_or_default();
        seed.extend_from_slice(sha.as_bytes());
        let bom_ref = format!("component-{}-{}", i + 1, &sha.get(..12).unwrap_or("nohash"));
        let mut props = vec![
            prop("aigov:format", &f.format),
            prop("aigov:size", f.size),
            prop("aigov:path", &f.path),
        ];
        let mut counts: BTreeMap<Severity, u64> = BTreeMap::new();
        for x in &f.findings {
            *counts.entry(x.severity).or_default() += 1;
        }
        for (s, n) in &counts {
            props.push(prop(&format!("aigov:findings.{}", s.as_str()), n));
        }
        if let Some(w) = f.worst() {
            props.push(prop("aigov:scan.worst", w.as_str()));
        }
        let d = &f.details;
        if let Some(t) = &d.tensors {
            props.push(prop("aigov:tensors.count", t.count));
            props.push(prop("aigov:tensors.parameters", t.parameters));
            props.push(prop("aigov:tensors.bytes", t.bytes));
            let dt: Vec<String> = t.dtypes.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            props.push(prop("aigov:tensors.dtypes", dt.join(",")));
        }
        for (k, v) in &d.metadata {
            props.push(prop(&format!("aigov:meta.{k}"), v));
        }
        for t in &d.templates {
            use sha2::{Digest, Sha256};
            let h: String = Sha256::digest(t.text.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            props.push(prop(&format!("aigov:chat_template.{}.sha256", t.key), h));
            props.push(prop(
                &format!("aigov:chat_template.{}.length", t.key),
                t.length,
            ));
        }
        if let Some(p) = &d.pickle {
            let globals: Vec<String> = p
                .globals
                .iter()
                .map(|g| format!("{}.{}", g.module, g.name))
                .collect();
            props.push(prop("aigov:pickle.globals", globals.join(",")));
        }
        let dir = Path::new(&f.path)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let card = input.cards.get(&dir);
        let license = d
            .metadata
            .get("general.license")
            .cloned()
            .or_else(|| card.and_then(|c| c.license.clone()));
        let mut c = json!({
            "type": if model { "machine-learning-model" } else { "file" },
            "bom-ref": bom_ref,
            "name": file_name(&f.path),
            "hashes": if sha.is_empty() { json!([]) } else { json!([{"alg": "SHA-256", "content": sha}]) },
            "properties": props,
        });
        if let Some(v) = d.metadata.get("general.version") {
            c["version"] = json!(v);
        }
        if let Some(l) = &license {
            c["licenses"] = json!([license_json(l)]);
        }
        if model {
            let mut params = serde_json::Map::new();
            if let Some(a) = d
                .metadata
                .get("general.architecture")
                .or_else(|| d.metadata.get("model_type"))
            {
                params.insert("architectureFamily".into(), json!(a));
            }
            if let Some(a) = d.metadata.get("architecture") {
                params.insert("modelArchitecture".into(), json!(a));
            }
            if let Some(card) = card {
                if let Some(t) = &card.pipeline_tag {
                    params.insert("task".into(), json!(t));
                }
                if !card.datasets.is_empty() {
                    params.insert(
                        "datasets".into(),
                        json!(
                            card.datasets
                                .iter()
                                .map(|n| json!({"type": "dataset", "name": n}))
                                .collect::<Vec<_>>()
                        ),
                    );
                }
            }
            let mut mc = json!({"modelParameters": Value::Object(params)});
            let mut considerations = Vec::new();
            if let Some(w) = f.worst()
                && w >= Severity::Medium
            {
                considerations.push(
                    json!({"description": format!("aigov scan: worst finding {}", w.as_str())}),
                );
            }
            if !considerations.is_empty() {
                mc["considerations"] = json!({"technicalLimitations": considerations.iter().map(|c| c["description"].clone()).collect::<Vec<_>>()});
            }
            c["modelCard"] = mc;
            if let Some(card) = card
                && !card.base_model.is_empty()
            {
                c["pedigree"] = json!({"ancestors": card.base_model.iter().map(|b| json!({"type": "machine-learning-model", "name": b})).collect::<Vec<_>>()});
            }
        }
        for x in &f.findings {
            if x.severity == Severity::Info {
                continue;
            }
            let mut vp = vec![prop("aigov:file", &x.file)];
            if let Some(m) = &x.member {
                vp.push(prop("aigov:member", m));
            }
            if let Some(o) = x.offset {
                vp.push(prop("aigov:offset", o));
            }
            if let Some((m, n)) = &x.global {
                vp.push(prop("aigov:global", format!("{m}.{n}")));
            }
            vulns.push(json!({
                "bom-ref": format!("finding-{}", vulns.len() + 1),
                "id": x.rule,
                "source": {"name": "aigov"},
                "ratings": [{"source": {"name": "aigov"}, "severity": x.severity.as_str(), "method": "other"}],
                "description": x.message,
                "affects": [{"ref": c["bom-ref"].clone()}],
                "properties": vp,
            }));
        }
        components.push(c);
    }
    for (i, d) in input.data.iter().enumerate() {
        seed.extend_from_slice(d.sha256.as_bytes());
        let mut props = vec![
            prop("aigov:format", &d.format),
            prop("aigov:size", d.size),
            prop("aigov:path", &d.path),
        ];
        if let Some(r) = d.records {
            props.push(prop("aigov:records", r));
        }
        components.push(json!({
            "type": "data",
            "bom-ref": format!("data-{}-{}", i + 1, d.sha256.get(..12).unwrap_or("nohash")),
            "name": file_name(&d.path),
            "hashes": [{"alg": "SHA-256", "content": d.sha256}],
            "data": [{"type": "dataset", "name": file_name(&d.path), "description": format!("{} file, {} bytes", d.format, d.size)}],
            "properties": props,
        }));
    }
    let mut bom = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", uuid_from(&seed)),
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {"components": [{"type": "application", "name": "aigov", "version": tool_version}]},
        },
        "components": components,
    });
    if !vulns.is_empty() {
        bom["vulnerabilities"] = json!(vulns);
    }
    bom
}

/// Counts the records of a data file while hashing it (one read).
pub fn hash_data_file(path: &Path) -> Result<(String, Option<u64>), ScanError> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let f = crate::corpus::input::discover(&[path.to_path_buf()], None, &[])?
        .into_iter()
        .next()
        .ok_or_else(|| ScanError::Config(format!("{}: not a data file", path.display())))?;
    let mut h = Sha256::new();
    let mut raw = std::fs::File::open(path).map_err(|e| ScanError::io(path, e))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = raw.read(&mut buf).map_err(|e| ScanError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let sha = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let records = match f.format {
        crate::corpus::Format::Parquet => {
            #[cfg(feature = "parquet")]
            {
                crate::corpus::parquet_input::num_rows(path).ok()
            }
            #[cfg(not(feature = "parquet"))]
            {
                None
            }
        }
        _ => {
            let mut r = crate::corpus::input::open_stream(path, f.compression, None, 0)
                .map_err(|e| ScanError::io(path, e))?;
            let mut lines = 0u64;
            let mut last = b'\n';
            loop {
                let n = r.read(&mut buf).map_err(|e| ScanError::io(path, e))?;
                if n == 0 {
                    break;
                }
                lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
                last = buf[n - 1];
            }
            if last != b'\n' {
                lines += 1;
            }
            let header = matches!(
                f.format,
                crate::corpus::Format::Csv | crate::corpus::Format::Tsv
            );
            Some(if header {
                lines.saturating_sub(1)
            } else {
                lines
            })
        }
    };
    Ok((sha, records))
}

/// Builds the BOM input from paths: models are scanned (with hashes), data files hashed and
/// counted, model cards read.
pub fn collect(paths: &[PathBuf], scanner: &ModelScanner) -> Result<BomInput, ScanError> {
    let files = crate::model::list_files(paths)?;
    let mut scanner = scanner.clone();
    scanner.hash = true;
    let mut input = BomInput::default();
    for p in &files {
        let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
        if !input.cards.contains_key(&dir)
            && let Ok(t) = std::fs::read_to_string(dir.join("README.md"))
            && let Some(card) = parse_card(&t)
        {
            input.cards.insert(dir.clone(), card);
        }
        let r = scanner.scan_file(p);
        if MODEL_FORMATS.contains(&r.format.as_str()) {
            input.files.push(r);
            continue;
        }
        let data = crate::corpus::input::discover(std::slice::from_ref(p), None, &[])
            .ok()
            .and_then(|v| v.into_iter().next());
        let is_data = data.as_ref().is_some_and(|d| {
            let name = p.to_string_lossy().to_ascii_lowercase();
            matches!(
                d.format,
                crate::corpus::Format::Parquet
                    | crate::corpus::Format::Csv
                    | crate::corpus::Format::Tsv
            ) || (d.format == crate::corpus::Format::Jsonl && !name.ends_with(".json"))
                || name.ends_with(".txt")
                || name.ends_with(".txt.gz")
                || name.ends_with(".txt.zst")
        });
        if is_data && let Some(d) = data {
            let (sha256, records) = hash_data_file(p)?;
            let format = match d.compression {
                crate::corpus::input::Compression::None => d.format.as_str().to_string(),
                crate::corpus::input::Compression::Gzip => format!("{}+gzip", d.format.as_str()),
                crate::corpus::input::Compression::Zstd => format!("{}+zstd", d.format.as_str()),
            };
            input.data.push(DataFile {
                path: p.display().to_string(),
                size: d.size,
                sha256,
                format,
                records,
            });
        } else {
            input.files.push(r);
        }
    }
    Ok(input)
}

/// A problem found while importing a BOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `error` (the BOM is rejected) or `warning`.
    pub level: &'static str,
    /// JSON path of the problem (`components[2].hashes[0]`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// A model in an imported BOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelEntry {
    /// bom-ref.
    pub bom_ref: Option<String>,
    /// Name.
    pub name: String,
    /// Version.
    pub version: Option<String>,
    /// Format (aigov property or none).
    pub format: Option<String>,
    /// SHA-256.
    pub sha256: Option<String>,
    /// Size.
    pub size: Option<u64>,
    /// Licences (SPDX ids or names).
    pub licenses: Vec<String>,
    /// Architecture family.
    pub architecture: Option<String>,
    /// Parameters (aigov property).
    pub parameters: Option<u64>,
    /// Vulnerabilities affecting it, by severity.
    pub findings: BTreeMap<String, u64>,
}

/// A dataset in an imported BOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataEntry {
    /// bom-ref.
    pub bom_ref: Option<String>,
    /// Name.
    pub name: String,
    /// SHA-256.
    pub sha256: Option<String>,
    /// Size.
    pub size: Option<u64>,
    /// Format.
    pub format: Option<String>,
    /// Records.
    pub records: Option<u64>,
}

/// The typed summary of an imported BOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BomSummary {
    /// `1.6`.
    pub spec_version: String,
    /// `urn:uuid:…`.
    pub serial_number: Option<String>,
    /// BOM version.
    pub version: Option<u64>,
    /// Creation time.
    pub timestamp: Option<String>,
    /// Tools that made it.
    pub tools: Vec<String>,
    /// Models.
    pub models: Vec<ModelEntry>,
    /// Datasets.
    pub datasets: Vec<DataEntry>,
    /// Other components.
    pub other_components: u64,
    /// Vulnerabilities by severity.
    pub vulnerabilities: BTreeMap<String, u64>,
    /// Warnings (errors reject the BOM).
    pub warnings: Vec<Problem>,
}

const TYPES: &[&str] = &[
    "application",
    "framework",
    "library",
    "container",
    "platform",
    "operating-system",
    "device",
    "device-driver",
    "firmware",
    "file",
    "machine-learning-model",
    "data",
    "cryptographic-asset",
];

fn hash_len(alg: &str) -> Option<usize> {
    Some(match alg {
        "MD5" => 32,
        "SHA-1" => 40,
        "SHA-256" | "SHA3-256" | "BLAKE2b-256" | "BLAKE3" => 64,
        "SHA-384" | "SHA3-384" | "BLAKE2b-384" => 96,
        "SHA-512" | "SHA3-512" | "BLAKE2b-512" => 128,
        "Streebog-256" => 64,
        "Streebog-512" => 128,
        _ => return None,
    })
}

/// Parses and validates a CycloneDX JSON BOM (1.4–1.7). Errors (wrong `bomFormat`, missing
/// component types or names, malformed hashes, dangling references, duplicate bom-refs) reject
/// it with every problem listed; warnings come back in the summary.
pub fn import(text: &str) -> Result<BomSummary, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut err = |level: &'static str, path: String, message: String| {
        problems.push(Problem {
            level,
            path,
            message,
        })
    };
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return Err(vec![Problem {
                level: "error",
                path: String::new(),
                message: format!("not JSON: {e}"),
            }]);
        }
    };
    if v.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        err("error", "bomFormat".into(), "must be \"CycloneDX\"".into());
    }
    let spec = v
        .get("specVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match spec.as_str() {
        "1.6" => {}
        "1.4" | "1.5" | "1.7" => err(
            "warning",
            "specVersion".into(),
            format!("{spec} read as 1.6"),
        ),
        "" => err("error", "specVersion".into(), "missing".into()),
        s => err(
            "error",
            "specVersion".into(),
            format!("unsupported version {s:?}"),
        ),
    }
    let serial = v
        .get("serialNumber")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(s) = &serial {
        let ok = s.strip_prefix("urn:uuid:").is_some_and(|u| {
            u.len() == 36
                && u.chars().enumerate().all(|(i, c)| {
                    if matches!(i, 8 | 13 | 18 | 23) {
                        c == '-'
                    } else {
                        c.is_ascii_hexdigit()
                    }
                })
        });
        if !ok {
            err("warning", "serialNumber".into(), "not a urn:uuid".into());
        }
    }
    let mut refs: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut models = Vec::new();
    let mut datasets = Vec::new();
    let mut other = 0u64;
    let mut stack: Vec<(String, &Value)> = Vec::new();
    if let Some(cs) = v.get("components") {
        match cs.as_array() {
            Some(a) => {
                for (i, c) in a.iter().enumerate().rev() {
                    stack.push((format!("components[{i}]"), c));
                }
            }
            None => err("error", "components".into(), "must be an array".into()),
        }
    }
    if let Some(c) = v.get("metadata").and_then(|m| m.get("component")) {
        stack.push(("metadata.component".into(), c));
    }
    let mut affected: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut vuln_counts: BTreeMap<String, u64> = BTreeMap::new();
    if let Some(vs) = v.get("vulnerabilities").and_then(Value::as_array) {
        for (i, x) in vs.iter().enumerate() {
            let sev = x
                .get("ratings")
                .and_then(|r| r.get(0))
                .and_then(|r| r.get("severity"))
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string();
            *vuln_counts.entry(sev.clone()).or_default() += 1;
            for (j, a) in x
                .get("affects")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                match a.get("ref").and_then(Value::as_str) {
                    Some(r) => {
                        *affected
                            .entry(r.to_string())
                            .or_default()
                            .entry(sev.clone())
                            .or_default() += 1
                    }
                    None => err(
                        "error",
                        format!("vulnerabilities[{i}].affects[{j}]"),
                        "missing ref".into(),
                    ),
                }
            }
        }
    }
    let mut depth_guard = 0usize;
    while let Some((path, c)) = stack.pop() {
        depth_guard += 1;
        if depth_guard > 1_000_000 {
            err("error", path, "too many components".into());
            break;
        }
        let ty = c.get("type").and_then(Value::as_str).unwrap_or("");
        if !TYPES.contains(&ty) {
            err(
                "error",
                format!("{path}.type"),
                format!("{ty:?} is not a CycloneDX component type"),
            );
        }
        let name = c.get("name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            err("error", format!("{path}.name"), "missing".into());
        }
        let bom_ref = c.get("bom-ref").and_then(Value::as_str).map(str::to_string);
        if let Some(r) = &bom_ref
            && !refs.insert(r.clone())
        {
            err(
                "error",
                format!("{path}.bom-ref"),
                format!("{r:?} is used twice"),
            );
        }
        let mut sha256 = None;
        for (j, h) in c
            .get("hashes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let alg = h.get("alg").and_then(Value::as_str).unwrap_or("");
            let content = h.get("content").and_then(Value::as_str).unwrap_or("");
            match hash_len(alg) {
                None => err(
                    "error",
                    format!("{path}.hashes[{j}].alg"),
                    format!("unknown algorithm {alg:?}"),
                ),
                Some(n)
                    if content.len() != n || !content.chars().all(|c| c.is_ascii_hexdigit()) =>
                {
                    err(
                        "error",
                        format!("{path}.hashes[{j}].content"),
                        format!("not a {alg} digest ({n} hex digits)"),
                    )
                }
                Some(_) => {
                    if alg == "SHA-256" {
                        sha256 = Some(content.to_ascii_lowercase());
                    }
                }
            }
        }
        let props: BTreeMap<&str, &str> = c
            .get("properties")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p.get("name")?.as_str()?, p.get("value")?.as_str()?)))
            .collect();
        let licenses: Vec<String> = c
            .get("licenses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|l| {
                l.get("license")
                    .and_then(|x| x.get("id").or_else(|| x.get("name")))
                    .or_else(|| l.get("expression"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect();
        let size = props.get("aigov:size").and_then(|s| s.parse().ok());
        match ty {
            "machine-learning-model" => models.push(ModelEntry {
                findings: bom_ref
                    .as_ref()
                    .and_then(|r| affected.get(r).cloned())
                    .unwrap_or_default(),
                bom_ref: bom_ref.clone(),
                name: name.to_string(),
                version: c.get("version").and_then(Value::as_str).map(str::to_string),
                format: props.get("aigov:format").map(|s| s.to_string()),
                sha256,
                size,
                licenses,
                architecture: c
                    .get("modelCard")
                    .and_then(|m| m.get("modelParameters"))
                    .and_then(|p| {
                        p.get("architectureFamily")
                            .or_else(|| p.get("modelArchitecture"))
                    })
                    .and_then(Value::as_str)
                    .map(str::to_string),
                parameters: props
                    .get("aigov:tensors.parameters")
                    .and_then(|s| s.parse().ok()),
            }),
            "data" => datasets.push(DataEntry {
                bom_ref: bom_ref.clone(),
                name: name.to_string(),
                sha256,
                size,
                format: props.get("aigov:format").map(|s| s.to_string()),
                records: props.get("aigov:records").and_then(|s| s.parse().ok()),
            }),
            _ => other += 1,
        }
        if let Some(sub) = c.get("components").and_then(Value::as_array) {
            for (i, s) in sub.iter().enumerate().rev() {
                stack.push((format!("{path}.components[{i}]"), s));
            }
        }
    }
    for r in affected.keys() {
        if !refs.contains(r) {
            err(
                "error",
                "vulnerabilities".into(),
                format!("affects {r:?}, which no component has as bom-ref"),
            );
        }
    }
    for (i, d) in v
        .get("dependencies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let r = d.get("ref").and_then(Value::as_str).unwrap_or("");
        if !refs.contains(r) {
            err(
                "error",
                format!("dependencies[{i}].ref"),
                format!("{r:?} is not a component"),
            );
        }
        for (j, x) in d
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(x) = x.as_str()
                && !refs.contains(x)
            {
                err(
                    "error",
                    format!("dependencies[{i}].dependsOn[{j}]"),
                    format!("{x:?} is not a component"),
                );
            }
        }
    }
    if problems.iter().any(|p| p.level == "error") {
        return Err(problems);
    }
    let meta = v.get("metadata");
    let tools = meta
        .and_then(|m| m.get("tools"))
        .map(|t| {
            let list = t
                .get("components")
                .and_then(Value::as_array)
                .or_else(|| t.as_array());
            list.into_iter()
                .flatten()
                .filter_map(|x| {
                    let n = x.get("name")?.as_str()?;
                    Some(match x.get("version").and_then(Value::as_str) {
                        Some(v) => format!("{n} {v}"),
                        None => n.to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(BomSummary {
        spec_version: spec,
        serial_number: serial,
        version: v.get("version").and_then(Value::as_u64),
        timestamp: meta
            .and_then(|m| m.get("timestamp"))
            .and_then(Value::as_str)
            .map(str::to_string),
        tools,
        models,
        datasets,
        other_components: other,
        vulnerabilities: vuln_counts,
        warnings: problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_cards() {
        let c = parse_card("---\nlicense: apache-2.0\nbase_model:\n  - meta-llama/Llama-3\ndatasets:\n- a/b\npipeline_tag: text-generation\n---\n# Title\n").unwrap();
        assert_eq!(c.license.as_deref(), Some("apache-2.0"));
        assert_eq!(c.base_model, vec!["meta-llama/Llama-3"]);
        assert_eq!(c.datasets, vec!["a/b"]);
        assert_eq!(c.pipeline_tag.as_deref(), Some("text-generation"));
        assert!(parse_card("# no front matter").is_none());
        assert_eq!(spdx("Apache-2.0"), Some("Apache-2.0"));
    }

    #[test]
    fn import_rejects_broken_boms_with_every_problem() {
        let bad = r#"{"bomFormat": "SPDX", "specVersion": "1.6", "components": [
            {"type": "machine-learning-model", "name": "m", "bom-ref": "a", "hashes": [{"alg": "SHA-256", "content": "xyz"}]},
            {"type": "robot", "name": "", "bom-ref": "a"}],
            "vulnerabilities": [{"id": "x", "affects": [{"ref": "nope"}]}]}"#;
        let p = import(bad).unwrap_err();
        let paths: Vec<&str> = p.iter().map(|x| x.path.as_str()).collect();
        for want in [
            "bomFormat",
            "components[0].hashes[0].content",
            "components[1].type",
            "components[1].name",
            "components[1].bom-ref",
            "vulnerabilities",
        ] {
            assert!(paths.contains(&want), "{want}: {p:?}");
        }
        assert!(import("nope").is_err());
    }
}
