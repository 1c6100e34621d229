//! safetensors: an 8-byte header length, a JSON header, then the data section. Only the header
//! is read; every check is arithmetic on it and the file size, so a multi-gigabyte file is
//! checked in microseconds.
//!
//! Checks: header length within the budget and the file; the header is a JSON object whose
//! entries are `{dtype, shape, data_offsets}` (plus an optional `__metadata__` map of strings);
//! no duplicate names; known dtype; `end - begin == elements × dtype size`; ranges inside the
//! data section; no overlaps; no gaps and no unused bytes after the last tensor.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use super::details::Details;
use super::finding::Severity;
use super::io::Input;
use super::scope::Scope;

/// Bits per element of a safetensors dtype.
pub fn dtype_bits(d: &str) -> Option<u64> {
    Some(match d {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" => 8,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "I64" | "U64" | "F64" | "C64" => 64,
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        _ => return None,
    })
}

/// A JSON object kept as a list so duplicate keys are visible.
struct Entries(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Entries, A::Error> {
                let mut v = Vec::new();
                while let Some((k, val)) = m.next_entry::<String, serde_json::Value>()? {
                    v.push((k, val));
                }
                Ok(Entries(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// Whether `head` starts like a safetensors file of `len` bytes.
pub fn sniff(head: &[u8], len: Option<u64>) -> bool {
    if head.len() < 10 {
        return false;
    }
    let n = u64::from_le_bytes([
        head[0], head[1], head[2], head[3], head[4], head[5], head[6], head[7],
    ]);
    let fits = len.is_none_or(|l| n <= l.saturating_sub(8));
    n >= 2 && fits && n < (1 << 32) && head[8] == b'{'
}

/// Scans a safetensors stream positioned at its start.
pub fn scan(input: &mut Input<'_>, scope: &mut Scope<'_>, details: &mut Details) {
    let total = input.remaining();
    let n = match input.u64_le() {
        Ok(n) => n,
        Err(_) => {
            scope.report(
                "safetensors.malformed-header",
                Severity::High,
                Some(0),
                "file shorter than the 8-byte header length",
                None,
            );
            return;
        }
    };
    if n > scope.budgets.max_header || total.is_some_and(|t| n > t.saturating_sub(8)) {
        scope.report(
            "safetensors.header-too-large",
            Severity::High,
            Some(0),
            format!(
                "header length {n} exceeds {}",
                if n > scope.budgets.max_header {
                    format!("the budget of {} bytes", scope.budgets.max_header)
                } else {
                    "the file".to_string()
                }
            ),
            None,
        );
        return;
    }
    let header = match input.take_vec(n, scope.budgets.max_header) {
        Ok(h) => h,
        Err(e) => {
            scope.report(
                "safetensors.malformed-header",
                Severity::High,
                Some(8),
                format!("header cannot be read: {e}"),
                None,
            );
            return;
        }
    };
    let data_len = total.map(|t| t - 8 - n);
    let entries: Entries = match serde_json::from_slice(&header) {
        Ok(e) => e,
        Err(e) => {
            scope.report(
                "safetensors.malformed-header",
                Severity::High,
                Some(8),
                format!("header is not a JSON object: {e}"),
                None,
            );
            return;
        }
    };
    let mut seen = std::collections::HashSet::new();
    let mut ranges: Vec<(u64, u64, String)> = Vec::new();
    for (name, v) in &entries.0 {
        if !seen.insert(name.as_str()) {
            scope.report(
                "safetensors.duplicate",
                Severity::Medium,
                Some(8),
                format!("tensor {name:?} appears twice in the header"),
                None,
            );
            continue;
        }
        if name == "__metadata__" {
            match v.as_object() {
                Some(m) => {
                    for (k, val) in m {
                        match val.as_str() {
                            Some(s) => details.meta(k.clone(), s),
                            None => scope.report(
                                "safetensors.metadata",
                                Severity::Medium,
                                Some(8),
                                format!("__metadata__ value {k:?} is not a string"),
                                None,
                            ),
                        }
                    }
                }
                None => scope.report(
                    "safetensors.metadata",
                    Severity::Medium,
                    Some(8),
                    "__metadata__ is not an object",
                    None,
                ),
            }
            continue;
        }
        let bad = |scope: &mut Scope<'_>, m: String| {
            scope.report(
                "safetensors.malformed-header",
                Severity::High,
                Some(8),
                format!("tensor {name:?}: {m}"),
                None,
            )
        };
        let Some(o) = v.as_object() else {
            bad(scope, "entry is not an object".into());
            continue;
        };
        let dtype = o.get("dtype").and_then(|d| d.as_str()).unwrap_or("");
        let shape: Option<Vec<u64>> = o
            .get("shape")
            .and_then(|s| s.as_array())
            .and_then(|a| a.iter().map(serde_json::Value::as_u64).collect());
        let offsets: Option<Vec<u64>> = o
            .get("data_offsets")
            .and_then(|s| s.as_array())
            .and_then(|a| a.iter().map(serde_json::Value::as_u64).collect());
        let (Some(shape), Some(offsets)) = (shape, offsets) else {
            bad(
                scope,
                "shape or data_offsets is missing or not a list of non-negative integers".into(),
            );
            continue;
        };
        if offsets.len() != 2 || offsets[0] > offsets[1] {
            bad(
                scope,
                format!("data_offsets {offsets:?} is not [begin, end] with begin <= end"),
            );
            continue;
        }
        let (b, e) = (offsets[0], offsets[1]);
        let elements = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
        match (dtype_bits(dtype), elements) {
            (None, _) => scope.report(
                "safetensors.dtype",
                Severity::Medium,
                Some(8),
                format!("tensor {name:?} has unknown dtype {dtype:?}"),
                None,
            ),
            (_, None) => bad(scope, format!("shape {shape:?} overflows")),
            (Some(bits), Some(el)) => {
                let nbits = el.checked_mul(bits);
                let want = nbits.filter(|x| x % 8 == 0).map(|x| x / 8);
                if want != Some(e - b) {
                    scope.report(
                        "safetensors.shape-mismatch",
                        Severity::High,
                        Some(8),
                        format!(
                            "tensor {name:?}: {dtype} × {shape:?} needs {} bytes, the range has {}",
                            want.map_or("an impossible number of".to_string(), |w| w.to_string()),
                            e - b
                        ),
                        None,
                    );
                }
                details.tensors().add(dtype, el, e - b);
            }
        }
        if let Some(dl) = data_len
            && e > dl
        {
            scope.report(
                "safetensors.out-of-bounds",
                Severity::High,
                Some(8),
                format!("tensor {name:?} ends at {e}, beyond the data section of {dl} bytes"),
                None,
            );
        }
        ranges.push((b, e, name.clone()));
    }
    ranges.sort();
    let mut end = 0u64;
    let mut last = String::new();
    for (b, e, name) in &ranges {
        if *b < end {
            scope.report(
                "safetensors.overlap",
                Severity::High,
                Some(8),
                format!("tensor {name:?} [{b}, {e}) overlaps {last:?} (ends at {end})"),
                None,
            );
        } else if *b > end {
            scope.report(
                "safetensors.gap",
                Severity::Medium,
                Some(8 + n + end),
                format!(
                    "{} bytes before tensor {name:?} belong to no tensor",
                    b - end
                ),
                None,
            );
        }
        if *e >= end {
            end = *e;
            last = name.clone();
        }
    }
    if let Some(dl) = data_len
        && dl > end
    {
        scope.report(
            "safetensors.gap",
            Severity::Medium,
            Some(8 + n + end),
            format!(
                "{} bytes after the last tensor belong to no tensor",
                dl - end
            ),
            None,
        );
    }
}
