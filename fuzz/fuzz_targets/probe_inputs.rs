//! Every probe-engine parser of user input on arbitrary bytes: suite files (YAML and JSONL),
//! CSV/JSONL bank import, keyword libraries, refusal lexicons, judge verdicts, and the
//! detectors themselves (which read hostile model output).
//! Run: `cd fuzz && cargo +nightly fuzz run probe_inputs`.
#![no_main]

use std::sync::OnceLock;

use aigov_catalog::{Lang, Library, Text};
use aigov_probe::detect::patterns::{Keywords, PiiDetector, check_contains, find_canary};
use aigov_probe::detect::refusal::RefusalDetector;
use aigov_probe::detect::judge::parse_verdict;
use aigov_probe::suite::import::{ColumnMap, ImportHeader, TableFormat, import_table};
use aigov_probe::suite::{Expect, parse_suite};
use libfuzzer_sys::fuzz_target;

fn lib() -> &'static Library {
    static L: OnceLock<Library> = OnceLock::new();
    L.get_or_init(|| Library::builtin().unwrap_or_default())
}

fn refusal() -> &'static RefusalDetector {
    static R: OnceLock<RefusalDetector> = OnceLock::new();
    R.get_or_init(RefusalDetector::builtin)
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let lib = lib();
    let _ = parse_suite("fuzz.yaml", s, lib);
    let _ = parse_suite(
        "fuzz.jsonl",
        &format!("{{\"aigov_suite\":1,\"id\":\"f\",\"title\":{{\"en\":\"f\"}}}}\n{s}"),
        lib,
    );
    let header = ImportHeader {
        id: "f".into(),
        title: Text::only(Lang::En, "f"),
        lang: None,
        expect: Some(Expect::Refuse),
    };
    let _ = import_table("f.csv", s, TableFormat::Csv, &ColumnMap::default(), &header, lib);
    let _ = import_table("f.jsonl", s, TableFormat::Jsonl, &ColumnMap::default(), &header, lib);
    let _ = Keywords::parse("f", s);
    let _ = parse_verdict(s);
    if s.len() < 4096 {
        let _ = RefusalDetector::with_extra(&[("f", s)]);
    }
    let r = refusal().detect(s);
    if let Some((a, b)) = r.span {
        assert!(a <= b && b <= s.len());
    }
    let _ = PiiDetector::new().find(s);
    let _ = find_canary(s, "AIGOV-CANARY-1");
    let _ = check_contains(s, &["x".to_string()]);
});
