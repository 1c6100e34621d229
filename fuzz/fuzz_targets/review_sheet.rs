//! Review sheets (CSV) on arbitrary bytes.
//! Run: `cd fuzz && cargo +nightly fuzz run review_sheet`.
#![no_main]

use std::sync::OnceLock;

use aigov_scan::requirements::Requirements;
use libfuzzer_sys::fuzz_target;

fn req() -> &'static Requirements {
    static R: OnceLock<Requirements> = OnceLock::new();
    R.get_or_init(|| Requirements::builtin().unwrap_or_else(|_| unreachable!()))
}

fuzz_target!(|data: &[u8]| {
    let _ = aigov_scan::corpus::sample::review(data, "fuzz", req());
});
