//! Keyword-library parsing and the audit on arbitrary files.
//! Run: `cd fuzz && cargo +nightly fuzz run lexicon_parse`.
#![no_main]

use std::sync::OnceLock;

use aigov_catalog::Library;
use aigov_scan::requirements::Requirements;
use libfuzzer_sys::fuzz_target;

fn ctx() -> &'static (Library, Requirements) {
    static C: OnceLock<(Library, Requirements)> = OnceLock::new();
    C.get_or_init(|| {
        let lib = Library::builtin().unwrap_or_else(|_| unreachable!());
        let req = Requirements::new(&lib).unwrap_or_else(|_| unreachable!());
        (lib, req)
    })
}

fuzz_target!(|data: &[u8]| {
    let (lib, req) = ctx();
    let lex = aigov_scan::lexicon::parse("f", "f", data, req, Some(lib), Default::default());
    let _ = aigov_scan::lexicon_audit::audit(&lex, req, &["classic".to_string(), "可能性".to_string()]);
});
