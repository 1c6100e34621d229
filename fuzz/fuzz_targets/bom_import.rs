//! CycloneDX import and validation on arbitrary documents.
//! Run: `cd fuzz && cargo +nightly fuzz run bom_import`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = aigov_scan::bom::import(s);
    }
});
