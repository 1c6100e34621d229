//! The starter suites, embedded at build time from `suites/` at the workspace root.
//!
//! They are written by the aigov authors in Chinese and English, cite GB/T 45654 and TC260
//! items, and are labelled `starter: true`: representative probes, not a compliant bank.

use aigov_catalog::{Diagnostics, Library};

use super::{Suite, parse_suite};

include!(concat!(env!("OUT_DIR"), "/builtin_suites.rs"));

/// The embedded files: `(path relative to suites/, content)`.
pub fn files() -> &'static [(&'static str, &'static str)] {
    BUILTIN_SUITES
}

/// Parses every built-in suite. A suite that fails is a build defect (the test suite checks).
pub fn load_all(lib: &Library) -> Result<Vec<Suite>, Diagnostics> {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for (name, src) in BUILTIN_SUITES {
        match parse_suite(&format!("suites/{name}"), src, lib) {
            Ok(mut s) => {
                s.origin = format!("builtin:{name}");
                out.push(s);
            }
            Err(d) => diags.extend(d.0),
        }
    }
    if diags.is_empty() {
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    } else {
        Err(Diagnostics(diags))
    }
}

/// The built-in suite with this id.
pub fn find(id: &str, lib: &Library) -> Result<Option<Suite>, Diagnostics> {
    Ok(load_all(lib)?.into_iter().find(|s| s.id == id))
}
