//! Every catalog parser on arbitrary bytes: aigov YAML/JSON, CSV, SSSOM, OSCAL, CISO Assistant.
//! Run: `cd fuzz && cargo +nightly fuzz run catalog_import`.
#![no_main]

use aigov_catalog::formats::{ImportOverrides, import_file};
use aigov_catalog::load::{LoadOptions, parse_document};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = parse_document("fuzz", s, LoadOptions { strict: true });
        let _ = import_file("fuzz", s, &ImportOverrides::default());
    }
});
