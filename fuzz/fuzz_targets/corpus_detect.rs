//! The detector engine (normalisation, keyword automaton, personal-information regex pass and
//! validators, span mapping) on arbitrary text; every span must lie on char boundaries.
//! Run: `cd fuzz && cargo +nightly fuzz run corpus_detect`.
#![no_main]

use std::sync::OnceLock;

use aigov_scan::corpus::{Detector, DetectorConfig};
use libfuzzer_sys::fuzz_target;

fn detector() -> &'static Detector {
    static D: OnceLock<Detector> = OnceLock::new();
    D.get_or_init(|| {
        let lib = aigov_catalog::Library::builtin().unwrap_or_else(|_| unreachable!());
        let req = aigov_scan::requirements::Requirements::new(&lib).unwrap_or_else(|_| unreachable!());
        let lex = aigov_scan::lexicon::parse(
            "f",
            "f",
            "炸药\tA.1 d)\nbomb\nＡＢ\n".as_bytes(),
            &req,
            Some(&lib),
            Default::default(),
        );
        Detector::new(&DetectorConfig {
            lexicons: vec![lex],
            builtins: true,
            enable: vec!["pi.cn-resident-id-15".into()],
            ..Default::default()
        })
        .unwrap_or_else(|_| unreachable!())
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let d = detector();
    let mut s = d.scratch();
    let mut hits = Vec::new();
    d.scan(text, &mut s, &mut hits);
    for h in hits {
        assert!(h.start <= h.end && h.end <= text.len());
        assert!(text.is_char_boundary(h.start) && text.is_char_boundary(h.end));
    }
});
