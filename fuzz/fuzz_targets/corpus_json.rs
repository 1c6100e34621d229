//! The JSON Lines field extractor on arbitrary records.
//! Run: `cd fuzz && cargo +nightly fuzz run corpus_json`.
#![no_main]

use aigov_scan::corpus::json::{Captures, Pointer, Selection};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let sel = Selection {
        text: vec![
            Pointer::parse("text").unwrap_or_else(|_| unreachable!()),
            Pointer::parse("/messages/*/content").unwrap_or_else(|_| unreachable!()),
        ],
        id: Pointer::parse("/meta/id").ok(),
        source: Pointer::parse("src").ok(),
    };
    let mut scratch = Vec::new();
    let mut caps = Captures::default();
    let _ = sel.extract(data, &mut scratch, &mut caps, &mut |_, _| {});
});
