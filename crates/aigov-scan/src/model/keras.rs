//! Keras: the model config (a JSON tree of layers) in `.keras` archives (`config.json`) and in
//! legacy HDF5 files (the `model_config` attribute).
//!
//! Config checks: `Lambda` layers (their function is serialized Python bytecode, run on load
//! unless Keras's safe mode is on) and references to Python functions by module
//! (`{"module": "builtins", "class_name": "function", "config": "exec"}`), which are judged
//! with the pickle allowlist tiers.
//!
//! HDF5 support is deliberately bounded: the HDF5 object model is not parsed. The scanner checks
//! the signature (at 0, 512, 1024 or 2048), then searches the first [`Budgets::hdf5_scan`] bytes
//! (64 MiB by default) for the JSON text of the Keras config attribute (`{"class_name": …`),
//! extracts the balanced JSON object (up to [`Budgets::max_json`]) and checks it like a
//! `.keras` config. A config stored compressed, split across chunks, or beyond the scan limit
//! is not seen; that is reported as `hdf5.config-not-found` (info), and the text
//! `"class_name": "Lambda"` anywhere in the scanned range is still reported as a Lambda layer.
//!
//! [`Budgets::hdf5_scan`]: super::scope::Budgets::hdf5_scan
//! [`Budgets::max_json`]: super::scope::Budgets::max_json

use serde_json::Value;

use super::details::Details;
use super::finding::Severity;
use super::globals::Verdict;
use super::io::Input;
use super::scope::Scope;

/// HDF5's format signature.
pub const HDF5_SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Whether the head holds an HDF5 signature at one of the places the format allows.
pub fn sniff_hdf5(head: &[u8]) -> bool {
    [0usize, 512, 1024, 2048]
        .iter()
        .any(|&o| head.get(o..o + 8) == Some(&HDF5_SIGNATURE[..]))
}

fn is_keras_module(m: &str) -> bool {
    [
        "keras",
        "tensorflow",
        "tf_keras",
        "keras_hub",
        "keras_nlp",
        "keras_cv",
    ]
    .iter()
    .any(|k| m == *k || m.starts_with(&format!("{k}.")))
}

/// Checks a Keras config tree.
pub fn check_config(v: &Value, scope: &mut Scope<'_>, details: &mut Details, offset: Option<u64>) {
    let mut lambdas = 0u32;
    let mut stack: Vec<(&Value, u32)> = vec![(v, 0)];
    while let Some((v, depth)) = stack.pop() {
        if depth > 256 {
            scope.report(
                "keras.malformed",
                Severity::Medium,
                offset,
                "config nested deeper than 256 levels; not fully checked",
                None,
            );
            break;
        }
        match v {
            Value::Object(o) => {
                let class = o.get("class_name").and_then(Value::as_str);
                if class == Some("Lambda") {
                    lambdas += 1;
                    if lambdas <= 20 {
                        let name = o
                            .get("config")
                            .and_then(|c| c.get("name"))
                            .and_then(Value::as_str)
                            .unwrap_or("?");
                        let func = o.get("config").and_then(|c| c.get("function"));
                        let kind = match func {
                            Some(Value::Array(a)) if a.first().is_some_and(Value::is_string) => {
                                "marshalled Python bytecode"
                            }
                            Some(Value::Object(f))
                                if f.get("class_name").and_then(Value::as_str)
                                    == Some("__lambda__") =>
                            {
                                "marshalled Python bytecode"
                            }
                            Some(Value::String(_)) => "a function named by string",
                            _ => "a function",
                        };
                        scope.report(
                            "keras.lambda",
                            Severity::Critical,
                            offset,
                            format!("Lambda layer {name:?} carries {kind}; loading it runs that code unless safe_mode is on"),
                            None,
                        );
                    }
                }
                if let Some(m) = o.get("module").and_then(Value::as_str)
                    && !is_keras_module(m)
                {
                    let fname = match (class, o.get("config")) {
                        (Some("function"), Some(Value::String(f))) => f.clone(),
                        (Some(c), _) => c.to_string(),
                        _ => o
                            .get("registered_name")
                            .and_then(Value::as_str)
                            .unwrap_or("?")
                            .to_string(),
                    };
                    let (sev, reason) = match scope.allow.classify(m, &fname) {
                        Verdict::Allowed => (Severity::Low, "allowed"),
                        Verdict::Flag(s, r) => (s.max(Severity::Medium), r),
                    };
                    if sev >= Severity::Medium {
                        scope.report(
                            "keras.module",
                            sev,
                            offset,
                            format!("config references {m}.{fname} ({reason}); loading imports it"),
                            Some((m.to_string(), fname)),
                        );
                    }
                }
                if depth == 0 {
                    if let Some(kv) = o.get("keras_version").and_then(Value::as_str) {
                        details.meta("keras.version", kv);
                    }
                    if let Some(c) = class {
                        details.meta("keras.model_class", c);
                    }
                }
                for (_, child) in o.iter() {
                    stack.push((child, depth + 1));
                }
            }
            Value::Array(a) => {
                for child in a {
                    stack.push((child, depth + 1));
                }
            }
            _ => {}
        }
    }
    if lambdas > 20 {
        scope.report(
            "keras.lambda",
            Severity::Critical,
            offset,
            format!("{} more Lambda layers", lambdas - 20),
            None,
        );
    }
}

/// Checks a JSON config read from a stream (`config.json` of a `.keras` archive).
pub fn scan_config_json(input: &mut Input<'_>, scope: &mut Scope<'_>, details: &mut Details) {
    let max = scope.budgets.max_json;
    let n = input.remaining().unwrap_or(max + 1).min(max + 1);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1 << 16];
    while (buf.len() as u64) < n {
        match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(e) => {
                scope.report(
                    "scan.io",
                    Severity::Medium,
                    None,
                    format!("read error: {e}"),
                    None,
                );
                return;
            }
        }
        if buf.len() as u64 > max {
            scope.report(
                "keras.malformed",
                Severity::Medium,
                None,
                format!("config larger than {max} bytes; not checked"),
                None,
            );
            return;
        }
    }
    match serde_json::from_slice::<Value>(&buf) {
        Ok(v) => check_config(&v, scope, details, None),
        Err(e) => scope.report(
            "keras.malformed",
            Severity::Medium,
            None,
            format!("config is not valid JSON: {e}"),
            None,
        ),
    }
}

/// Searches an HDF5 stream for the Keras config (see the module docs for the limits).
pub fn scan_hdf5(
    input: &mut Input<'_>,
    scope: &mut Scope<'_>,
    details: &mut Details,
    expect_config: bool,
) {
    const START: &[u8] = b"{\"class_name\"";
    const LAMBDA: &[u8] = b"\"class_name\": \"Lambda\"";
    let limit = scope.budgets.hdf5_scan;
    let max_json = scope.budgets.max_json as usize;
    let mut window: Vec<u8> = Vec::with_capacity(1 << 17);
    let mut window_at: u64 = 0;
    let mut chunk = vec![0u8; 1 << 16];
    let mut scanned: u64 = 0;
    let mut found_config = false;
    let mut lambda_text_at: Option<u64> = None;
    while scanned < limit {
        let k = match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) => {
                scope.report(
                    "scan.io",
                    Severity::Medium,
                    Some(input.pos()),
                    format!("read error: {e}"),
                    None,
                );
                return;
            }
        };
        scanned += k as u64;
        window.extend_from_slice(&chunk[..k]);
        if lambda_text_at.is_none()
            && let Some(p) = memchr::memmem::find(&window, LAMBDA)
        {
            lambda_text_at = Some(window_at + p as u64);
        }
        if !found_config && let Some(p) = memchr::memmem::find(&window, START) {
            // Capture the balanced object from here, reading on as needed.
            let at = window_at + p as u64;
            let mut obj: Vec<u8> = window[p..].to_vec();
            let mut end = balanced_end(&obj);
            while end.is_none() && obj.len() < max_json {
                match input.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => {
                        scanned += k as u64;
                        obj.extend_from_slice(&chunk[..k]);
                        end = balanced_end(&obj);
                    }
                }
            }
            if let Some(e) = end
                && let Ok(v) = serde_json::from_slice::<Value>(&obj[..e])
            {
                found_config = true;
                details.meta("hdf5.keras_config_offset", at.to_string());
                check_config(&v, scope, details, Some(at));
            }
            window.clear();
            window_at = input.pos();
            continue;
        }
        // Keep a tail so a pattern cut by the chunk boundary is still found.
        let keep = START.len().max(LAMBDA.len());
        if window.len() > keep {
            let cut = window.len() - keep;
            window.drain(..cut);
            window_at += cut as u64;
        }
    }
    if !found_config {
        if let Some(at) = lambda_text_at {
            scope.report(
                "keras.lambda",
                Severity::Critical,
                Some(at),
                "the text of a Lambda layer config appears in the HDF5 file",
                None,
            );
        }
        if expect_config {
            scope.report(
                "hdf5.config-not-found",
                Severity::Info,
                None,
                format!("no Keras model config found in the first {} bytes (the HDF5 object model is not parsed)", scanned.min(limit)),
                None,
            );
        }
    }
}

/// The end (exclusive) of the JSON object starting at `b[0] == b'{'`, if complete.
fn balanced_end(b: &[u8]) -> Option<usize> {
    let mut depth = 0i64;
    let mut in_str = false;
    let mut esc = false;
    for (i, &c) in b.iter().enumerate() {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            0 => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced() {
        assert_eq!(balanced_end(b"{\"a\": \"}\", \"b\": [1, {}]}xyz"), Some(24));
        assert_eq!(balanced_end(b"{\"a\": 1"), None);
    }
}
