//! Bad input: every problem is reported with its file, line and item ref, and nothing panics.

use aigov_catalog::load::{LoadOptions, parse_catalog, parse_document, parse_mapping_set};
use aigov_catalog::*;
use proptest::prelude::*;

const HEAD: &str = "aigov_catalog: 1\nid: demo\nversion: \"1.0\"\ntitle: {zh: 演示, en: Demo}\nlanguages: [zh, en]\nitems:\n";

/// Parses `HEAD + items` and returns the diagnostics (the parse must fail).
fn errs(items: &str) -> Vec<Diagnostic> {
    errs_src(&format!("{HEAD}{items}"))
}

fn errs_src(src: &str) -> Vec<Diagnostic> {
    match parse_catalog("demo.yaml", src, LoadOptions::default()) {
        Ok(c) => panic!(
            "expected diagnostics, got a catalog with {} items",
            c.items.len()
        ),
        Err(d) => d.0,
    }
}

/// The one diagnostic with `code`; checks its line and item.
fn expect(d: &[Diagnostic], code: &str, line: Option<u64>, item: Option<&str>) {
    let hit = d
        .iter()
        .find(|x| x.code == code)
        .unwrap_or_else(|| panic!("no {code} among {d:#?}"));
    assert_eq!(hit.file, "demo.yaml");
    assert_eq!(hit.line, line, "line of {code}: {hit}");
    assert_eq!(hit.item.as_deref(), item, "item of {code}: {hit}");
    let shown = hit.to_string();
    assert!(shown.starts_with("demo.yaml"), "{shown}");
    if let Some(l) = line {
        assert!(shown.contains(&format!(":{l}:")), "{shown}");
    }
}

// Items start on line 7 (HEAD has 6 lines).
const A: &str = "  - {ref: a, kind: section, title: {en: A}}\n";

#[test]
fn duplicate_ref() {
    let d = errs(&format!(
        "{A}  - {{ref: a, kind: risk, title: {{en: Again}}}}\n"
    ));
    expect(&d, "duplicate-ref", Some(8), Some("a"));
    assert!(d[0].message.contains("first defined at line 7"), "{}", d[0]);
}

#[test]
fn dangling_parent_and_link() {
    let d = errs(&format!(
        "{A}  - {{ref: b, parent: zz, kind: risk, title: {{en: B}}, links: [{{rel: related, to: nowhere}}]}}\n"
    ));
    expect(&d, "dangling-parent", Some(8), Some("b"));
    expect(&d, "dangling-link", Some(8), Some("b"));
}

#[test]
fn unknown_kind() {
    let d = errs("  - {ref: a, kind: riskk, title: {en: A}}\n");
    expect(&d, "unknown-kind", Some(7), Some("a"));
    assert!(
        d[0].message.contains("riskk") && d[0].message.contains("risk-category"),
        "the message lists the kinds: {}",
        d[0]
    );
}

#[test]
fn item_with_neither_language() {
    let d = errs(&format!(
        "{A}  - {{ref: b, kind: risk, title: {{zh: '', en: '  '}}}}\n"
    ));
    expect(&d, "no-language", Some(8), Some("b"));
    let d = errs("  - {ref: a, kind: risk}\n");
    expect(&d, "no-language", Some(7), Some("a"));
}

#[test]
fn link_cycle() {
    let d = errs(
        "  - {ref: a, parent: b, kind: section, title: {en: A}}\n  - {ref: b, parent: c, kind: section, title: {en: B}}\n  - {ref: c, kind: section, title: {en: C}, links: [{rel: part_of, to: a}]}\n",
    );
    let c = d
        .iter()
        .find(|x| x.code == "cycle")
        .expect("cycle reported");
    assert!(
        c.message.contains("a -> b -> c -> a")
            || c.message.contains("b -> c -> a -> b")
            || c.message.contains("c -> a -> b -> c"),
        "{c}"
    );
    assert_eq!(
        d.iter().filter(|x| x.code == "cycle").count(),
        1,
        "one cycle, reported once"
    );
}

#[test]
fn malformed_versions() {
    for v in ["1..0", "v1", "1.0-", "", "1.0-a b", "abc"] {
        let src = HEAD.replace("\"1.0\"", &format!("{v:?}")) + A;
        let d = errs_src(&src);
        expect(&d, "bad-version", Some(3), None);
    }
}

#[test]
fn unknown_field_is_located() {
    let d = errs(&format!(
        "{A}  - ref: b\n    kind: risk\n    titel: {{en: B}}\n"
    ));
    let hit = d
        .iter()
        .find(|x| x.code == "unknown-field")
        .expect("unknown field");
    assert!(hit.message.contains("titel"), "{hit}");
    assert_eq!(hit.line, Some(10));
}

#[test]
fn yaml_syntax_error_is_located() {
    let d = errs(&format!(
        "{A}  - {{ref: b, kind: risk, title: {{en: B}}\n  - oops: [\n"
    ));
    let hit = &d[0];
    assert!(hit.line.is_some_and(|l| l >= 8), "{hit}");
}

#[test]
fn bad_tags() {
    let d = errs(
        "  - {ref: a, kind: risk, title: {en: A}, tags: [stage:deplyo, role:admin, colour:red, sector:Bad_Case, notag]}\n",
    );
    let tags: Vec<&Diagnostic> = d.iter().filter(|x| x.code == "bad-tag").collect();
    assert_eq!(tags.len(), 5, "{d:#?}");
    assert!(tags[0].message.contains("deplyo"));
    expect(&d, "bad-tag", Some(7), Some("a"));
}

#[test]
fn addresses_must_point_at_a_risk() {
    let d = errs(&format!(
        "{A}  - {{ref: m, kind: measure, title: {{en: M}}, links: [{{rel: addresses, to: a}}]}}\n"
    ));
    expect(&d, "bad-link-target", Some(8), Some("m"));
}

#[test]
fn self_link_and_unknown_rel() {
    let d = errs(
        "  - {ref: a, kind: risk, title: {en: A}, links: [{rel: related, to: a}, {rel: mitigates, to: a}]}\n",
    );
    expect(&d, "self-link", Some(7), Some("a"));
    expect(&d, "unknown-rel", Some(7), Some("a"));
}

#[test]
fn threshold_rules() {
    let d = errs(
        "  - {ref: t, kind: threshold, title: {en: T}}\n  - {ref: u, kind: risk, title: {en: U}, threshold: {metric: x, comparison: '>=', value: 1, unit: n}}\n  - {ref: v, kind: threshold, title: {en: V}, threshold: {metric: x, comparison: '=>', value: 1, unit: n, scope: [nope]}}\n  - {ref: w, kind: threshold, title: {en: W}, threshold: {metric: x, comparison: '>=', value: 120, unit: percent}}\n",
    );
    expect(&d, "bad-threshold", Some(7), Some("t"));
    assert!(
        d.iter()
            .any(|x| x.code == "bad-threshold" && x.item.as_deref() == Some("u"))
    );
    assert!(d.iter().any(|x| x.code == "bad-threshold"
        && x.item.as_deref() == Some("v")
        && x.message.contains("=>")));
    assert!(d.iter().any(|x| x.code == "bad-threshold"
        && x.item.as_deref() == Some("w")
        && x.message.contains("0..100")));
}

#[test]
fn empty_catalog_empty_ref_bad_id_bad_provenance() {
    let d = errs_src(
        &HEAD
            .replace("id: demo", "id: Demo_Cat")
            .replace("items:\n", "items: []\n"),
    );
    expect(&d, "bad-id", Some(2), None);
    assert!(d.iter().any(|x| x.code == "empty-catalog"));
    let d = errs(
        "  - {kind: risk, title: {en: A}}\n  - {ref: b, kind: risk, title: {en: B}, provenance: {status: certain, source: x}}\n",
    );
    expect(&d, "empty-ref", Some(7), None);
    expect(&d, "bad-provenance", Some(8), Some("b"));
}

#[test]
fn strict_rules_for_builtins() {
    let src = format!(
        "{HEAD}  - {{ref: a, kind: risk, title: {{en: only English}}, text: {{zh: 中文}}}}\n"
    );
    assert!(
        parse_catalog("demo.yaml", &src, LoadOptions::default()).is_ok(),
        "user files may be monolingual"
    );
    let d = match parse_catalog("demo.yaml", &src, LoadOptions { strict: true }) {
        Ok(_) => panic!("strict must fail"),
        Err(d) => d.0,
    };
    assert!(
        d.iter()
            .any(|x| x.code == "missing-language" && x.message.contains("title lacks zh"))
    );
    assert!(
        d.iter()
            .any(|x| x.code == "missing-language" && x.message.contains("text lacks en"))
    );
    assert!(d.iter().any(|x| x.code == "bad-provenance"));
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let d = errs(
        "  - {ref: a, kind: nope, title: {en: A}}\n  - {ref: a, kind: risk, title: {en: B}, parent: ghost}\n  - {ref: c, kind: risk, title: {en: C}, tags: [bad]}\n",
    );
    let codes: Vec<&str> = d.iter().map(|x| x.code).collect();
    for c in [
        "unknown-kind",
        "duplicate-ref",
        "dangling-parent",
        "bad-tag",
    ] {
        assert!(codes.contains(&c), "{c} missing from {codes:?}");
    }
}

#[test]
fn not_a_catalog() {
    let d = parse_document("x.yaml", "hello: world\n", LoadOptions::default())
        .unwrap_err()
        .0;
    assert_eq!(d[0].code, "bad-header");
    let d = parse_document("x.yaml", "- 1\n- 2\n", LoadOptions::default())
        .unwrap_err()
        .0;
    assert_eq!(d.len(), 1);
    let d = parse_catalog(
        "x.yaml",
        &format!(
            "{}{A}",
            HEAD.replace("aigov_catalog: 1", "aigov_catalog: 7")
        ),
        LoadOptions::default(),
    )
    .unwrap_err()
    .0;
    assert!(d.iter().any(|x| x.code == "bad-format-version"));
}

const MS: &str = "aigov_mapping_set: 1\nid: demo-map\ntitle: {en: Demo}\nsubject: tc260-aisgf@1.0\nobject: nist-ai-rmf@1.0\nmappings:\n";

#[test]
fn mapping_set_problems() {
    let src = format!(
        "{MS}  - {{subject: '3.1.1(a)', relationship: sameas, object: 'GOVERN 1.1', confidence: 0.5, justification: x}}\n  - {{subject: '3.1.1(a)', relationship: related, object: 'GOVERN 1.1', confidence: 1.5, justification: x}}\n  - {{subject: '3.1.1(a)', relationship: related, object: 'GOVERN 1.1', confidence: 0.5, justification: x}}\n"
    );
    let d = parse_mapping_set("m.yaml", &src, LoadOptions { strict: true })
        .unwrap_err()
        .0;
    let at = |code: &str| {
        d.iter()
            .find(|x| x.code == code)
            .unwrap_or_else(|| panic!("{code} in {d:#?}"))
            .line
    };
    assert_eq!(at("bad-relationship"), Some(7));
    assert_eq!(at("bad-confidence"), Some(8));
    assert_eq!(at("duplicate-mapping"), Some(9));
    // Dangling refs are found against the catalogs.
    let src = format!(
        "{MS}  - {{subject: '3.1.1(z)', relationship: related, object: 'GOVERN 9.9', confidence: 0.5, justification: x}}\n"
    );
    let s = parse_mapping_set("m.yaml", &src, LoadOptions { strict: true }).expect("well-formed");
    let d = crate::lib().check_mapping_set(&s).unwrap_err().0;
    assert_eq!(
        d.iter()
            .filter(|x| x.code == "dangling-mapping" && x.line == Some(7))
            .count(),
        2,
        "{d:#?}"
    );
    // An unknown catalog.
    let src = MS.replace("nist-ai-rmf@1.0", "nist-ai-rmf@9.9")
        + "  - {subject: '3.1.1(a)', relationship: related, object: x, confidence: 0.5, justification: y}\n";
    let s = parse_mapping_set("m.yaml", &src, LoadOptions::default()).expect("well-formed");
    let d = crate::lib().check_mapping_set(&s).unwrap_err().0;
    assert!(
        d.iter()
            .any(|x| x.code == "unknown-catalog" && x.message.contains("nist-ai-rmf@9.9"))
    );
}

#[test]
fn oversized_input_is_refused() {
    let big = "#".repeat(aigov_catalog::load::MAX_FILE_BYTES + 1);
    let d = parse_document("big.yaml", &big, LoadOptions::default())
        .unwrap_err()
        .0;
    assert_eq!(d[0].code, "too-large");
}

#[test]
fn json_input_reports_lines() {
    let src = "{\n  \"aigov_catalog\": 1,\n  \"id\": \"demo\",\n  \"version\": \"1.0\",\n  \"title\": {\"en\": \"Demo\"},\n  \"items\": [\n    {\"ref\": \"a\", \"kind\": \"risk\", \"title\": {\"en\": \"A\"}},\n    {\"ref\": \"a\", \"kind\": \"risk\", \"title\": {\"en\": \"A2\"}}\n  ]\n}\n";
    let d = parse_catalog("demo.json", src, LoadOptions::default())
        .unwrap_err()
        .0;
    assert_eq!(d[0].code, "duplicate-ref");
    assert_eq!(d[0].line, Some(8));
}

fn valid_catalog() -> String {
    format!(
        "{HEAD}{A}  - {{ref: r, parent: a, kind: risk, title: {{zh: 风险, en: Risk}}, tags: [stage:train]}}\n  - {{ref: m, parent: a, kind: measure, title: {{en: M}}, links: [{{rel: addresses, to: r, basis: stated}}]}}\n"
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Arbitrary text never panics any parser.
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        let _ = parse_document("fuzz.yaml", &s, LoadOptions::default());
        let _ = aigov_catalog::formats::import_file("fuzz", &s, &Default::default());
    }

    /// A valid catalog with bytes cut, duplicated or replaced never panics, and when it still
    /// parses the result is internally consistent.
    #[test]
    fn mutated_catalog_never_panics(cut in 0usize..400, len in 0usize..40, ins in "[\\[\\]{}:,'\"\\- a-z0-9\\n]{0,8}") {
        let src = valid_catalog();
        let cut = cut.min(src.len());
        let end = (cut + len).min(src.len());
        if src.is_char_boundary(cut) && src.is_char_boundary(end) {
            let mutated = format!("{}{}{}", &src[..cut], ins, &src[end..]);
            if let Ok(c) = parse_catalog("m.yaml", &mutated, LoadOptions::default()) {
                for it in &c.items {
                    if let Some(p) = &it.parent { prop_assert!(c.item(p).is_some()); }
                    for l in &it.links { prop_assert!(c.item(&l.to).is_some()); }
                }
            }
        }
    }
}

#[test]
fn versions_order_numerically() {
    let v = |s: &str| Version::parse(s).unwrap();
    assert!(v("1.10") > v("1.9"));
    assert!(v("2.0") > v("1.0"));
    assert!(v("1.0") > v("1.0-draft"));
    assert!(v("2025") > v("2024.12"));
    assert_eq!(v("1.0").cmp(&v("1.0")), std::cmp::Ordering::Equal);
}
