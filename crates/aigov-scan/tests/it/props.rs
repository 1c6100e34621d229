//! Property tests: every parser on arbitrary and mutated input, and the invariants of the
//! validators and the normaliser.

use aigov_scan::corpus::json::{Captures, Pointer, Selection};
use aigov_scan::corpus::pi;
use aigov_scan::model::ModelScanner;
use aigov_scan::text::Normalized;
use proptest::prelude::*;

use crate::corpus::req;
use crate::fixtures;

fn cfg() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Magic prefixes of every format the model scanner recognises, so random tails reach each
/// parser, not only the "unknown format" path.
const PREFIXES: &[&[u8]] = &[
    b"",
    b"\x80\x02",
    b"\x80\x04\x95",
    b"(dp0\n",
    b"cos\n",
    b"PK\x03\x04",
    b"\x93NUMPY\x01\x00",
    b"GGUF\x03\x00\x00\x00",
    b"\x10\x00\x00\x00\x00\x00\x00\x00{",
    b"\x89HDF\r\n\x1a\n",
    b"\x1f\x8b\x08\x00",
    b"\x28\xb5\x2f\xfd",
    b"\x78\x9c",
    b"\x08\x07\x12",
    b"{\"chat_template\": ",
];

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn model_scanner_never_panics(prefix in 0..PREFIXES.len(), tail in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut data = PREFIXES[prefix].to_vec();
        data.extend(tail);
        let r = ModelScanner::default().scan_bytes("x.bin", &data);
        prop_assert!(r.findings.len() <= 1000);
    }

    #[test]
    fn mutated_fixtures_never_panic(which in 0..6usize, flips in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..8)) {
        let base = match which {
            0 => fixtures::torch_zip(&fixtures::torch_state_dict_pickle()),
            1 => fixtures::npy("<f4", "(2, 3)", &[0u8; 24]),
            2 => fixtures::safetensors(r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, &[0u8; 8]),
            3 => fixtures::Gguf::default().kv_str("general.name", "x").tensor("w", &[4], 0, 0).build(),
            4 => fixtures::onnx_external("w.bin"),
            _ => fixtures::joblib(fixtures::P(Vec::new()).str("t")),
        };
        let mut d = base;
        for (i, b) in flips {
            let n = d.len();
            d[i as usize % n] = b;
        }
        let _ = ModelScanner::default().scan_bytes("m", &d);
    }

    #[test]
    fn json_extractor_agrees_with_serde(texts in proptest::collection::vec("\\PC{0,20}", 1..4), other in "\\PC{0,10}") {
        let mut obj = serde_json::Map::new();
        obj.insert("other".into(), serde_json::json!({"x": [1, 2, other]}));
        obj.insert("messages".into(), serde_json::json!(texts.iter().map(|t| serde_json::json!({"content": t})).collect::<Vec<_>>()));
        let line = serde_json::to_string(&serde_json::Value::Object(obj)).unwrap();
        let sel = Selection { text: vec![Pointer::parse("/messages/*/content").unwrap()], ..Selection::default() };
        let mut got = Vec::new();
        let mut scratch = Vec::new();
        let mut caps = Captures::default();
        sel.extract(line.as_bytes(), &mut scratch, &mut caps, &mut |_, t| got.push(t.to_string())).unwrap();
        let want: Vec<String> = texts.into_iter().filter(|t| !t.is_empty()).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn json_extractor_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let sel = Selection { text: vec![Pointer::parse("/a/*/b").unwrap()], ..Selection::default() };
        let mut scratch = Vec::new();
        let mut caps = Captures::default();
        let _ = sel.extract(&data, &mut scratch, &mut caps, &mut |_, _| {});
    }

    #[test]
    fn resident_ids_with_a_computed_check_digit_pass_and_others_fail(
        prov in prop::sample::select(vec!["11", "31", "44", "65"]),
        area in 0u32..10_000,
        y in 1950u32..2020, m in 1u32..13, day in 1u32..29, seq in 0u32..1000,
    ) {
        let first = format!("{prov}{area:04}{y:04}{m:02}{day:02}{seq:03}");
        let c = pi::gb11643_check_char(first.as_bytes()).unwrap();
        let good = format!("{first}{}", c as char);
        prop_assert!(pi::cn_resident_id_18(good.as_bytes()));
        for wrong in b"0123456789X" {
            if *wrong != c {
                let bad = format!("{first}{}", *wrong as char);
                prop_assert!(!pi::cn_resident_id_18(bad.as_bytes()));
            }
        }
    }

    #[test]
    fn luhn_detects_every_single_digit_change(digits in proptest::collection::vec(0u8..10, 12..18), pos in any::<usize>(), delta in 1u8..10) {
        // Complete with a Luhn digit.
        let mut d: Vec<u8> = digits.iter().map(|x| b'0' + x).collect();
        d.push(b'0');
        let bad = (0..10u8).find(|c| { let mut t = d.clone(); *t.last_mut().unwrap() = b'0' + c; pi::luhn(&t) }).unwrap();
        *d.last_mut().unwrap() = b'0' + bad;
        prop_assert!(pi::luhn(&d));
        let i = pos % d.len();
        d[i] = b'0' + (d[i] - b'0' + delta) % 10;
        prop_assert!(!pi::luhn(&d));
    }

    #[test]
    fn normalised_spans_map_back_inside_the_original(s in "[a-zA-Zａ-ｚＡ-Ｚ０-９\u{200b}\u{3000} 炸药中文]{0,40}") {
        let mut n = Normalized::new();
        n.set(&s);
        let t = n.as_str().to_string();
        let idx: Vec<usize> = t.char_indices().map(|(i, _)| i).chain(std::iter::once(t.len())).collect();
        for w in idx.windows(2) {
            let (a, b) = n.span_to_original(&s, w[0], w[1]);
            prop_assert!(a <= b && b <= s.len() && s.is_char_boundary(a) && s.is_char_boundary(b));
        }
    }

    #[test]
    fn lexicon_parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let (lib, r) = req();
        let lex = aigov_scan::lexicon::parse("p", "p", &data, &r, Some(&lib), Default::default());
        prop_assert!(lex.terms.len() <= data.len());
    }

    #[test]
    fn bom_import_never_panics(data in "\\PC{0,200}") {
        let _ = aigov_scan::bom::import(&data);
        let doc = format!(r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{{"type":"data","name":{}}}]}}"#, serde_json::to_string(&data).unwrap());
        let _ = aigov_scan::bom::import(&doc);
    }

    #[test]
    fn review_sheet_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let (_, r) = req();
        let _ = aigov_scan::corpus::sample::review(&data, "s", &r);
    }

    #[test]
    fn npy_literal_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = aigov_scan::model::numpy::parse_literal(&data);
    }
}
