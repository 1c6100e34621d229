//! Findings of the model scanner, their severities and the rule table (ids, levels,
//! descriptions) that reports and SARIF cite.

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; not a problem.
    Info,
    /// A weakness without a known exploit path.
    Low,
    /// Something the scanner could not verify (fail closed), or a global that is not on the
    /// allowlist.
    Medium,
    /// File or network access, or a malformed structure known to crash or mislead loaders.
    High,
    /// Code execution on load.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// `info`, `low`, `medium`, `high`, `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Rule id (see [`RULES`]).
    pub rule: String,
    /// Severity.
    pub severity: Severity,
    /// The file on disk.
    pub file: String,
    /// The archive member, nested members joined with ` > ` (`outer.zip > inner/data.pkl`).
    pub member: Option<String>,
    /// Byte offset within the member (or the file when there is no member).
    pub offset: Option<u64>,
    /// The Python global involved: `(module, name)`.
    pub global: Option<(String, String)>,
    /// What was found.
    pub message: String,
}

/// A rule of the model scanner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    /// Stable id.
    pub id: &'static str,
    /// Usual severity (some rules report at several; the finding carries its own).
    pub severity: Severity,
    /// What the rule finds.
    pub description: &'static str,
}

const fn r(id: &'static str, severity: Severity, description: &'static str) -> RuleInfo {
    RuleInfo {
        id,
        severity,
        description,
    }
}

use Severity::*;

/// Every rule of the model scanner.
pub const RULES: &[RuleInfo] = &[
    r(
        "pickle.global.critical",
        Critical,
        "a pickle imports a global that executes code (os, subprocess, builtins.eval/exec/compile/getattr, runpy, pty, importlib …)",
    ),
    r(
        "pickle.global.high",
        High,
        "a pickle imports a global with file-system or network access",
    ),
    r(
        "pickle.global.unknown",
        Medium,
        "a pickle imports a global that is not on the allowlist (default deny)",
    ),
    r(
        "pickle.global.unresolved",
        Critical,
        "STACK_GLOBAL operands are not strings known to the scanner: the import cannot be determined",
    ),
    r(
        "pickle.call-computed",
        High,
        "a pickle calls a value it computed (getattr chains and other gadget chains)",
    ),
    r(
        "pickle.extension",
        Medium,
        "a pickle uses the copyreg extension registry (EXT1/2/4), which hides the global",
    ),
    r(
        "pickle.malformed",
        Medium,
        "the pickle is malformed or truncated; it was analysed up to the error",
    ),
    r(
        "pickle.budget",
        Medium,
        "analysis stopped at a budget (opcodes, stack, memo, nesting)",
    ),
    r(
        "pickle.protocol",
        Low,
        "the pickle declares an unknown protocol",
    ),
    r("pickle.trailing-data", Info, "data follows the last pickle"),
    r(
        "pickle.persistent-id",
        Info,
        "the pickle loads persistent ids (tensor storages in PyTorch files)",
    ),
    r(
        "torch.legacy",
        Info,
        "legacy (pre-1.6) PyTorch serialization: a sequence of pickles followed by storages",
    ),
    r(
        "torch.torchscript",
        Info,
        "TorchScript code is present in the archive",
    ),
    r(
        "joblib.array",
        Info,
        "joblib array data follows a NumpyArrayWrapper",
    ),
    r(
        "joblib.unparsed-array",
        Medium,
        "a joblib array could not be sized, so the rest of the pickle was not analysed",
    ),
    r(
        "numpy.object-array",
        Medium,
        "a .npy array holds Python objects (a pickle; loading needs allow_pickle=True)",
    ),
    r("numpy.malformed", Medium, "the .npy header is malformed"),
    r(
        "numpy.size-mismatch",
        Low,
        "the .npy data size does not match its header",
    ),
    r(
        "safetensors.malformed-header",
        High,
        "the safetensors header is not a valid JSON object of tensor entries",
    ),
    r(
        "safetensors.header-too-large",
        High,
        "the safetensors header length exceeds the budget or the file",
    ),
    r("safetensors.dtype", Medium, "a tensor has an unknown dtype"),
    r(
        "safetensors.shape-mismatch",
        High,
        "a tensor's byte range does not match dtype × shape",
    ),
    r(
        "safetensors.out-of-bounds",
        High,
        "a tensor's byte range lies outside the data section",
    ),
    r("safetensors.overlap", High, "tensors overlap"),
    r(
        "safetensors.gap",
        Medium,
        "the data section has bytes no tensor covers (loaders reject it; data can hide there)",
    ),
    r(
        "safetensors.duplicate",
        Medium,
        "a tensor name appears twice in the header",
    ),
    r(
        "safetensors.metadata",
        Medium,
        "__metadata__ is not a map of strings",
    ),
    r(
        "gguf.malformed",
        High,
        "the GGUF header is malformed or truncated",
    ),
    r("gguf.version", Medium, "unsupported GGUF version"),
    r(
        "gguf.budget",
        Medium,
        "a GGUF count or length exceeds the budget",
    ),
    r(
        "gguf.tensor-type",
        Medium,
        "a tensor has an unknown ggml type",
    ),
    r("gguf.tensor-dims", High, "a tensor has invalid dimensions"),
    r(
        "gguf.tensor-out-of-bounds",
        High,
        "a tensor lies outside the file",
    ),
    r("gguf.tensor-overlap", High, "tensors overlap"),
    r(
        "gguf.tensor-alignment",
        Medium,
        "a tensor offset is not aligned",
    ),
    r(
        "template.ssti",
        Critical,
        "a chat template reaches Python internals (sandbox escape: __class__, __globals__, __subclasses__ …)",
    ),
    r(
        "template.suspicious",
        Medium,
        "a chat template uses constructs unusual in chat formatting",
    ),
    r(
        "template.malformed",
        Low,
        "a chat template could not be read",
    ),
    r(
        "keras.lambda",
        Critical,
        "a Keras Lambda layer carries serialized Python code",
    ),
    r(
        "keras.module",
        High,
        "a Keras config references a Python module function that is not Keras's own",
    ),
    r(
        "keras.malformed",
        Medium,
        "a Keras config could not be parsed",
    ),
    r(
        "hdf5.config-not-found",
        Info,
        "no Keras model config was found within the HDF5 scan limit",
    ),
    r(
        "onnx.external-data-traversal",
        High,
        "an ONNX tensor's external data path escapes the model directory (absolute, `..`, or a link outside)",
    ),
    r(
        "onnx.external-data-missing",
        Low,
        "an ONNX external data file is missing",
    ),
    r(
        "onnx.external-data-bounds",
        Medium,
        "an ONNX external data range lies outside its file",
    ),
    r("onnx.malformed", Medium, "the ONNX protobuf is malformed"),
    r(
        "onnx.custom-domain",
        Info,
        "an ONNX node uses a custom operator domain",
    ),
    r(
        "zip.bomb",
        High,
        "an archive member's compression ratio or size exceeds the budget",
    ),
    r(
        "zip.budget",
        Medium,
        "the archive exceeds the entry, size or nesting budget",
    ),
    r(
        "zip.path",
        Medium,
        "an archive member name is absolute or contains `..`",
    ),
    r(
        "zip.encrypted",
        Medium,
        "an archive member is encrypted and was not scanned",
    ),
    r(
        "zip.unsupported",
        Medium,
        "an archive member uses an unsupported compression method and was not scanned",
    ),
    r(
        "zip.duplicate",
        Medium,
        "an archive has two members with the same name",
    ),
    r("zip.malformed", Medium, "the archive is malformed"),
    r(
        "container.polyglot",
        High,
        "the file is valid as two formats at once (e.g. a pickle with a zip appended)",
    ),
    r(
        "container.compressed",
        Medium,
        "the file is compressed with a codec the scanner does not read",
    ),
    r(
        "scan.format-mismatch",
        Medium,
        "the content's format differs from what the file name claims",
    ),
    r(
        "scan.unknown-format",
        Info,
        "the content is not a recognised model format",
    ),
    r("scan.io", Medium, "the file could not be read completely"),
];

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|r| r.id == id)
}
