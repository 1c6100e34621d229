//! The model scanner on arbitrary bytes, under each name a format can claim (names only feed
//! the format-mismatch check; the format is decided by content).
//! Run: `cd fuzz && cargo +nightly fuzz run model_scan`.
#![no_main]

use aigov_scan::model::ModelScanner;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = ModelScanner::default();
    let name = match data.first().map(|b| b % 4) {
        Some(0) => "model.safetensors",
        Some(1) => "model.pt",
        Some(2) => "model.gguf",
        _ => "model.bin",
    };
    let _ = s.scan_bytes(name, data);
});
