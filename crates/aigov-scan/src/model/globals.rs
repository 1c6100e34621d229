//! Pickle globals: a default-deny allowlist with severity tiers.
//!
//! Every `(module, name)` a pickle (or a Keras config) imports is classified:
//! - **critical** — code execution: `os`, `posix`, `nt`, `subprocess`, `pty`, `runpy`,
//!   `importlib`, `code`, `ctypes`, `pickle`/`marshal`/`dill` (nested loaders), `types`,
//!   `timeit`, `pdb` …, `builtins.eval/exec/compile/__import__/getattr/setattr/globals`,
//!   `operator.attrgetter/methodcaller` (getattr chains), `torch.load`-style nested loaders,
//!   `torch.fx` graph rebuilding (runs generated code);
//! - **high** — file or network access: `builtins.open`, `io`, `shutil`, `pathlib`,
//!   `tempfile`, `socket`, `http`, `urllib`, `requests`, `webbrowser` …;
//! - **medium** — anything not on the allowlist (default deny);
//! - allowed (no finding) — the containers, numpy array and dtype reconstruction, PyTorch tensor
//!   and storage rebuilding, `collections.OrderedDict` and a few more, listed below.
//!
//! Dotted names (protocol 4 resolves `find_class("torch", "serialization.os.system")` by
//! walking attributes) are never allowed implicitly; each component is checked against the
//! dangerous names, so an allowed module cannot be used as a stepping stone.

use std::collections::HashSet;

use super::finding::Severity;

/// Modules whose every global executes code (or loads more code).
const CRITICAL_MODULES: &[&str] = &[
    "os",
    "posix",
    "nt",
    "subprocess",
    "_posixsubprocess",
    "pty",
    "runpy",
    "importlib",
    "imp",
    "zipimport",
    "pkgutil",
    "code",
    "codeop",
    "commands",
    "popen2",
    "ctypes",
    "_ctypes",
    "cffi",
    "multiprocessing",
    "pickle",
    "_pickle",
    "cPickle",
    "pickletools",
    "shelve",
    "marshal",
    "dill",
    "cloudpickle",
    "types",
    "timeit",
    "cProfile",
    "profile",
    "trace",
    "pdb",
    "bdb",
    "doctest",
    "idlelib",
    "venv",
    "ensurepip",
    "pip",
    "setuptools",
    "distutils",
    "sys",
    "gc",
    "inspect",
    "asyncio.subprocess",
    "_thread",
    "threading",
    "signal",
    "builtins.__dict__",
];

/// Names that execute code wherever they live (also checked in dotted names).
const CRITICAL_NAMES: &[&str] = &[
    "eval",
    "exec",
    "execfile",
    "compile",
    "__import__",
    "getattr",
    "setattr",
    "delattr",
    "globals",
    "locals",
    "vars",
    "apply",
    "system",
    "popen",
    "spawn",
    "spawnl",
    "spawnv",
    "execl",
    "execv",
    "execve",
    "execvp",
    "fork",
    "forkpty",
    "run_path",
    "run_module",
    "import_module",
    "reload",
    "breakpoint",
    "input",
    "__builtins__",
    "__globals__",
    "__subclasses__",
    "__getattribute__",
    "attrgetter",
    "methodcaller",
    "load",
    "loads",
    "runstring",
    "_run_code",
];

/// Exact globals that execute code.
const CRITICAL_GLOBALS: &[(&str, &str)] = &[
    ("operator", "attrgetter"),
    ("operator", "methodcaller"),
    ("_operator", "attrgetter"),
    ("_operator", "methodcaller"),
    ("numpy.testing._private.utils", "runstring"),
    ("torch.fx.graph_module", "reduce_graph_module"),
    ("torch.fx.graph_module", "reduce_package_graph_module"),
    ("torch.fx.graph_module", "reduce_deploy_graph_module"),
    ("torch.fx.graph_module", "_deserialize_graph_module"),
    ("torch.serialization", "load"),
    ("torch", "load"),
    ("torch.jit", "load"),
    ("torch.hub", "load"),
    ("torch.package", "PackageImporter"),
    ("numpy", "load"),
    ("numpy.lib.npyio", "load"),
    ("pandas", "read_pickle"),
    ("pandas.io.pickle", "read_pickle"),
    ("joblib", "load"),
    ("joblib.numpy_pickle", "load"),
    ("keras.models", "load_model"),
    ("tensorflow.keras.models", "load_model"),
    ("torch.storage", "_load_from_bytes"),
];

/// Modules with file-system or network access.
const HIGH_MODULES: &[&str] = &[
    "io",
    "_io",
    "shutil",
    "pathlib",
    "tempfile",
    "glob",
    "fileinput",
    "filecmp",
    "zipfile",
    "tarfile",
    "gzip",
    "bz2",
    "lzma",
    "sqlite3",
    "mmap",
    "socket",
    "_socket",
    "ssl",
    "http",
    "urllib",
    "urllib2",
    "urllib3",
    "httplib",
    "requests",
    "httpx",
    "aiohttp",
    "ftplib",
    "smtplib",
    "poplib",
    "imaplib",
    "telnetlib",
    "xmlrpc",
    "socketserver",
    "asyncore",
    "asyncio",
    "webbrowser",
    "torch.hub",
    "huggingface_hub",
    "posixpath",
    "ntpath",
    "os.path",
];

/// Exact globals with file or network access.
const HIGH_GLOBALS: &[(&str, &str)] = &[
    ("builtins", "open"),
    ("__builtin__", "open"),
    ("__builtin__", "file"),
    ("torch.hub", "load_state_dict_from_url"),
    ("torch.hub", "download_url_to_file"),
];

/// Globals that rebuild data and nothing else.
const ALLOWED: &[(&str, &str)] = &[
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "slice"),
    ("builtins", "range"),
    ("builtins", "complex"),
    ("builtins", "bytearray"),
    ("builtins", "bytes"),
    ("builtins", "str"),
    ("builtins", "int"),
    ("builtins", "float"),
    ("builtins", "bool"),
    ("builtins", "dict"),
    ("builtins", "list"),
    ("builtins", "tuple"),
    ("builtins", "object"),
    ("builtins", "Ellipsis"),
    ("builtins", "NotImplemented"),
    ("__builtin__", "set"),
    ("__builtin__", "frozenset"),
    ("__builtin__", "slice"),
    ("__builtin__", "complex"),
    ("__builtin__", "bytearray"),
    ("__builtin__", "object"),
    ("__builtin__", "long"),
    ("__builtin__", "unicode"),
    ("copyreg", "_reconstructor"),
    ("copy_reg", "_reconstructor"),
    ("copyreg", "__newobj__"),
    ("copyreg", "__newobj_ex__"),
    ("_codecs", "encode"),
    ("collections", "OrderedDict"),
    ("collections", "defaultdict"),
    ("collections", "deque"),
    ("collections", "Counter"),
    ("datetime", "datetime"),
    ("datetime", "date"),
    ("datetime", "time"),
    ("datetime", "timedelta"),
    ("datetime", "timezone"),
    ("decimal", "Decimal"),
    ("fractions", "Fraction"),
    ("uuid", "UUID"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy", "matrix"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.ma.core", "_mareconstruct"),
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pickle", "__generator_ctor"),
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("torch", "Size"),
    ("torch", "device"),
    ("torch", "dtype"),
    ("torch", "strided"),
    ("torch", "sparse_coo"),
    ("torch", "contiguous_format"),
    ("torch", "channels_last"),
    ("torch", "preserve_format"),
    ("torch", "per_tensor_affine"),
    ("torch", "per_channel_affine"),
    ("torch._utils", "_rebuild_tensor"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor_v3"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch._utils", "_rebuild_sparse_tensor"),
    ("torch._utils", "_rebuild_qtensor"),
    ("torch._utils", "_rebuild_meta_tensor_no_storage"),
    ("torch._utils", "_rebuild_wrapper_subclass"),
    ("torch._utils", "_rebuild_nested_tensor"),
    ("torch._utils", "_rebuild_device_tensor_from_numpy"),
    ("torch._utils", "_rebuild_device_tensor_from_cpu_tensor"),
    ("torch._tensor", "_rebuild_from_type"),
    ("torch._tensor", "_rebuild_from_type_v2"),
    ("torch.nn.parameter", "Parameter"),
    ("torch.storage", "TypedStorage"),
    ("torch.storage", "UntypedStorage"),
];

/// PyTorch dtype and storage names pickled as `torch.<name>`.
const TORCH_NAMES: &[&str] = &[
    "float32",
    "float",
    "float16",
    "half",
    "bfloat16",
    "float64",
    "double",
    "int64",
    "long",
    "int32",
    "int",
    "int16",
    "short",
    "int8",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool",
    "complex64",
    "complex128",
    "float8_e4m3fn",
    "float8_e5m2",
    "float8_e4m3fnuz",
    "float8_e5m2fnuz",
    "quint8",
    "qint8",
    "qint32",
    "quint4x2",
    "FloatStorage",
    "HalfStorage",
    "BFloat16Storage",
    "DoubleStorage",
    "LongStorage",
    "IntStorage",
    "ShortStorage",
    "CharStorage",
    "ByteStorage",
    "BoolStorage",
    "ComplexFloatStorage",
    "ComplexDoubleStorage",
    "QInt8Storage",
    "QUInt8Storage",
    "QInt32Storage",
    "QUInt4x2Storage",
    "QUInt2x4Storage",
    "UntypedStorage",
    "TypedStorage",
];

/// How a global is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// On the allowlist.
    Allowed,
    /// A finding of this severity, with the reason.
    Flag(Severity, &'static str),
}

/// The allowlist, extendable with user patterns (`module.name` or `module.*`).
#[derive(Debug, Clone)]
pub struct Allowlist {
    exact: HashSet<(String, String)>,
    modules: Vec<String>,
}

impl Default for Allowlist {
    fn default() -> Self {
        Allowlist {
            exact: ALLOWED
                .iter()
                .map(|(m, n)| (m.to_string(), n.to_string()))
                .chain(
                    TORCH_NAMES
                        .iter()
                        .map(|n| ("torch".to_string(), n.to_string())),
                )
                .collect(),
            modules: Vec::new(),
        }
    }
}

fn module_in(module: &str, list: &[&str]) -> bool {
    list.iter().any(|m| {
        module == *m || (module.starts_with(m) && module.as_bytes().get(m.len()) == Some(&b'.'))
    })
}

fn is_class_name(name: &str) -> bool {
    name.chars().next().is_some_and(char::is_uppercase)
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Allowlist {
    /// Adds a user pattern: `module.name` (the last dot splits) or `module.*`.
    pub fn allow(&mut self, pattern: &str) -> Result<(), String> {
        if let Some(m) = pattern.strip_suffix(".*") {
            if m.is_empty() {
                return Err("`.*` needs a module before it".into());
            }
            self.modules.push(m.to_string());
            return Ok(());
        }
        let (m, n) = pattern
            .rsplit_once('.')
            .ok_or_else(|| format!("{pattern:?}: expected module.name or module.*"))?;
        if m.is_empty() || n.is_empty() {
            return Err(format!("{pattern:?}: expected module.name or module.*"));
        }
        self.exact.insert((m.to_string(), n.to_string()));
        Ok(())
    }

    /// Judges `(module, name)`. Dangerous tiers win over the allowlist, so a user pattern
    /// such as `os.*` cannot silence `os.system`.
    pub fn classify(&self, module: &str, name: &str) -> Verdict {
        let parts: Vec<&str> = module.split('.').chain(name.split('.')).collect();
        let full = format!("{module}.{name}");
        if CRITICAL_GLOBALS
            .iter()
            .any(|(m, n)| *m == module && *n == name)
            || module_in(module, CRITICAL_MODULES)
            || module_in(&full, CRITICAL_MODULES)
        {
            return Verdict::Flag(Severity::Critical, "executes code");
        }
        if module == "builtins" || module == "__builtin__" || module == "__builtins__" {
            if CRITICAL_NAMES.contains(&name) {
                return Verdict::Flag(Severity::Critical, "executes code");
            }
        } else if parts.iter().skip(1).any(|p| CRITICAL_NAMES.contains(p)) && name.contains('.') {
            return Verdict::Flag(
                Severity::Critical,
                "dotted name reaching a code-executing attribute",
            );
        }
        if name.contains('.') {
            let steps: Vec<&str> = name.split('.').collect();
            for k in 1..steps.len() {
                let m = format!("{module}.{}", steps[..k].join("."));
                if module_in(&m, CRITICAL_MODULES) {
                    return Verdict::Flag(
                        Severity::Critical,
                        "dotted name reaching a dangerous module",
                    );
                }
            }
        }
        if HIGH_GLOBALS.iter().any(|(m, n)| *m == module && *n == name)
            || module_in(module, HIGH_MODULES)
        {
            return Verdict::Flag(Severity::High, "file or network access");
        }
        if !name.contains('.') {
            if self.exact.contains(&(module.to_string(), name.to_string())) {
                return Verdict::Allowed;
            }
            if (module.starts_with("torch.nn.modules.") || module == "torch.nn")
                && is_class_name(name)
            {
                return Verdict::Allowed;
            }
            if module == "numpy.dtypes" && name.ends_with("DType") && is_class_name(name) {
                return Verdict::Allowed;
            }
        }
        if self.modules.iter().any(|m| {
            module == m
                || (module.starts_with(m.as_str()) && module.as_bytes().get(m.len()) == Some(&b'.'))
        }) && !name.contains('.')
        {
            return Verdict::Allowed;
        }
        Verdict::Flag(Severity::Medium, "not on the allowlist")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sev(m: &str, n: &str) -> Option<Severity> {
        match Allowlist::default().classify(m, n) {
            Verdict::Allowed => None,
            Verdict::Flag(s, _) => Some(s),
        }
    }

    #[test]
    fn tiers() {
        assert_eq!(sev("os", "system"), Some(Severity::Critical));
        assert_eq!(sev("posix", "system"), Some(Severity::Critical));
        assert_eq!(sev("subprocess", "Popen"), Some(Severity::Critical));
        assert_eq!(sev("builtins", "eval"), Some(Severity::Critical));
        assert_eq!(sev("__builtin__", "getattr"), Some(Severity::Critical));
        assert_eq!(sev("runpy", "_run_code"), Some(Severity::Critical));
        assert_eq!(
            sev("importlib.util", "spec_from_file_location"),
            Some(Severity::Critical)
        );
        assert_eq!(sev("operator", "attrgetter"), Some(Severity::Critical));
        assert_eq!(sev("torch", "load"), Some(Severity::Critical));
        assert_eq!(sev("builtins", "open"), Some(Severity::High));
        assert_eq!(sev("shutil", "rmtree"), Some(Severity::High));
        assert_eq!(sev("urllib.request", "urlopen"), Some(Severity::High));
        assert_eq!(sev("__main__", "MyModel"), Some(Severity::Medium));
        assert_eq!(sev("builtins", "type"), Some(Severity::Medium));
        assert_eq!(sev("collections", "OrderedDict"), None);
        assert_eq!(sev("torch._utils", "_rebuild_tensor_v2"), None);
        assert_eq!(sev("torch", "FloatStorage"), None);
        assert_eq!(sev("torch.nn.modules.linear", "Linear"), None);
        assert_eq!(sev("numpy.core.multiarray", "_reconstruct"), None);
    }

    #[test]
    fn dotted_names_cannot_hide_behind_allowed_modules() {
        assert_eq!(
            sev("torch", "serialization.os.system"),
            Some(Severity::Critical)
        );
        assert_eq!(
            sev("collections", "OrderedDict.__globals__"),
            Some(Severity::Critical)
        );
        assert_eq!(
            sev("torch._utils", "_rebuild_tensor_v2.x"),
            Some(Severity::Medium)
        );
        assert_eq!(sev("builtins", "__dict__.x"), Some(Severity::Critical));
    }

    #[test]
    fn user_patterns_extend_but_cannot_silence() {
        let mut a = Allowlist::default();
        a.allow("sklearn.*").unwrap();
        a.allow("__main__.MyModel").unwrap();
        a.allow("os.*").unwrap();
        assert_eq!(
            a.classify("sklearn.linear_model._base", "LinearRegression"),
            Verdict::Allowed
        );
        assert_eq!(a.classify("__main__", "MyModel"), Verdict::Allowed);
        assert!(matches!(
            a.classify("os", "system"),
            Verdict::Flag(Severity::Critical, _)
        ));
        assert!(a.allow("nodot").is_err());
    }
}
