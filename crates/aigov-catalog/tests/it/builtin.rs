//! The built-in catalogs: acceptance counts, bilingual completeness, provenance, link
//! integrity and crosswalk coverage.

use std::collections::{BTreeSet, HashMap};

use aigov_catalog::crosswalk::{Crosswalk, Node};
use aigov_catalog::*;

use crate::lib;

fn cat<'a>(l: &'a Library, key: &str) -> &'a Catalog {
    let (id, v) = key.split_once('@').expect("id@version");
    l.get_exact(id, v)
        .unwrap_or_else(|| panic!("built-in catalog {key} is missing"))
}

fn count(c: &Catalog, kind: Kind) -> usize {
    c.of_kind(kind).count()
}

fn refs_under(c: &Catalog, kind: Kind, ancestor: &str) -> Vec<String> {
    c.of_kind(kind)
        .filter(|i| c.is_within(&i.r#ref, ancestor))
        .map(|i| i.r#ref.clone())
        .collect()
}

fn letters(prefix: &str, n: usize, sep: &str, close: &str) -> Vec<String> {
    (0..n)
        .map(|i| format!("{prefix}{sep}{}{close}", (b'a' + i as u8) as char))
        .collect()
}

#[test]
fn all_builtin_files_load_under_strict_rules() {
    // Library::builtin validates every file with the strict rules (provenance on every item,
    // zh and en titles, resolvable links, mapping refs that exist).
    let l = Library::builtin().unwrap_or_else(|d| panic!("built-ins invalid:\n{d}"));
    let ids: BTreeSet<String> = l.catalogs().map(|c| c.key().to_string()).collect();
    for key in [
        "tc260-aisgf@1.0",
        "gbt-45654@2025",
        "gb-45438@2025",
        "caict-arg@2024",
        "nist-ai-rmf@1.0",
        "nist-ai-600-1@2024",
        "iso-42001@2023",
        "eu-ai-act@2024",
        "owasp-llm@2025",
    ] {
        assert!(ids.contains(key), "{key} missing from {ids:?}");
    }
    assert_eq!(
        library::builtin_files().len(),
        l.catalogs().count() + l.mapping_sets().count()
    );
}

#[test]
fn tc260_counts_match_the_framework() {
    let l = lib();
    let c = cat(l, "tc260-aisgf@1.0");
    assert_eq!(count(c, Kind::Principle), 4);
    assert_eq!(
        refs_under(c, Kind::Principle, "1"),
        ["1.1", "1.2", "1.3", "1.4"]
    );
    // Composition components 2.1–2.4.
    let comp: Vec<_> = c.children(Some("2")).map(|i| i.r#ref.as_str()).collect();
    assert_eq!(comp, ["2.1", "2.2", "2.3", "2.4"]);
    // 26 risks in 2 classes and 7 categories.
    assert_eq!(count(c, Kind::Risk), 26);
    assert_eq!(
        c.children(Some("3"))
            .filter(|i| i.kind == Kind::RiskCategory)
            .count(),
        2
    );
    let cats = [
        "3.1.1", "3.1.2", "3.1.3", "3.2.1", "3.2.2", "3.2.3", "3.2.4",
    ];
    let sizes = [6, 4, 3, 5, 3, 2, 3];
    for (cat_ref, n) in cats.iter().zip(sizes) {
        assert_eq!(
            c.item(cat_ref).map(|i| i.kind),
            Some(Kind::RiskCategory),
            "{cat_ref}"
        );
        let kids: Vec<String> = c.children(Some(cat_ref)).map(|i| i.r#ref.clone()).collect();
        assert_eq!(kids, letters(cat_ref, n, "(", ")"), "risks of {cat_ref}");
    }
    // 21 technical measures: 4.1.1 (a)–(b) … 4.2.4 (a)–(b).
    let groups = [
        "4.1.1", "4.1.2", "4.1.3", "4.2.1", "4.2.2", "4.2.3", "4.2.4",
    ];
    let sizes = [2, 6, 4, 2, 2, 3, 2];
    let mut tech = 0;
    for (g, n) in groups.iter().zip(sizes) {
        let kids: Vec<String> = c
            .children(Some(g))
            .filter(|i| i.kind == Kind::Measure)
            .map(|i| i.r#ref.clone())
            .collect();
        assert_eq!(kids, letters(g, n, "(", ")"), "measures of {g}");
        tech += n;
    }
    assert_eq!(tech, 21);
    assert_eq!(refs_under(c, Kind::Measure, "4").len(), 21);
    // 10 comprehensive governance measures 5.1–5.10.
    let gov = refs_under(c, Kind::Measure, "5");
    assert_eq!(gov, (1..=10).map(|i| format!("5.{i}")).collect::<Vec<_>>());
    // 35 guidelines: 10 + 10 + 9 + 6, tagged with their actor role.
    assert_eq!(count(c, Kind::Guideline), 35);
    for (sec, n, role) in [
        ("6.1", 10, "model-developer"),
        ("6.2", 10, "service-provider"),
        ("6.3", 9, "key-area-user"),
        ("6.4", 6, "general-user"),
    ] {
        let kids: Vec<&Item> = c.children(Some(sec)).collect();
        assert_eq!(
            kids.iter().map(|i| i.r#ref.clone()).collect::<Vec<_>>(),
            letters(sec, n, "(", ")")
        );
        for k in kids {
            assert_eq!(k.kind, Kind::Guideline);
            assert!(
                k.has_tag(&format!("role:{role}")),
                "{} lacks role:{role}",
                k.r#ref
            );
        }
    }
}

#[test]
fn tc260_uses_official_english_titles() {
    let c = cat(lib(), "tc260-aisgf@1.0");
    let en = |r: &str| {
        c.item(r)
            .and_then(|i| i.title.en.clone())
            .unwrap_or_default()
    };
    assert_eq!(en("3.1"), "AI's inherent safety risks");
    assert_eq!(en("3.1.1(a)"), "Risks of explainability");
    assert_eq!(
        en("3.1.2(b)"),
        "Risks of improper content and poisoning in training data"
    );
    assert_eq!(
        en("3.2.4(c)"),
        "Risks of AI becoming uncontrollable in the future"
    );
    assert_eq!(
        c.item("3.1.1(a)")
            .and_then(|i| i.title.zh.clone())
            .as_deref(),
        Some("可解释性差的风险")
    );
}

#[test]
fn tc260_technical_measures_address_risks_with_basis() {
    let c = cat(lib(), "tc260-aisgf@1.0");
    for m in c
        .of_kind(Kind::Measure)
        .filter(|i| c.is_within(&i.r#ref, "4"))
    {
        let addressed: Vec<&Link> = m
            .links
            .iter()
            .filter(|l| l.rel == LinkRel::Addresses)
            .collect();
        assert!(!addressed.is_empty(), "{} addresses no risk", m.r#ref);
        for l in addressed {
            assert!(
                c.item(&l.to).is_some_and(|t| t.kind.is_risk_like()),
                "{} -> {}",
                m.r#ref,
                l.to
            );
        }
    }
    // The three annex cells that were seen are stated; the rest are our inference.
    let stated: BTreeSet<(String, String)> = c
        .items
        .iter()
        .flat_map(|i| {
            i.links
                .iter()
                .filter(|l| l.basis == LinkBasis::Stated)
                .map(move |l| (i.r#ref.clone(), l.to.clone()))
        })
        .collect();
    for pair in [
        ("4.1.3(c)", "3.1.3(b)"),
        ("4.1.3(d)", "3.1.3(c)"),
        ("4.2.1(a)", "3.2.1(a)"),
    ] {
        assert!(
            stated.contains(&(pair.0.to_string(), pair.1.to_string())),
            "{pair:?} should be stated"
        );
    }
}

#[test]
fn tc260_marks_unseen_items_unconfirmed() {
    let c = cat(lib(), "tc260-aisgf@1.0");
    let it = c.item("4.1.2(b)").expect("4.1.2(b)");
    assert!(
        !it.provenance.confirmed(),
        "4.1.2(b) was never seen in either language"
    );
    assert!(it.provenance.note.is_some());
}

#[test]
fn gbt45654_appendix_a_has_5_types_and_31_risks() {
    let c = cat(lib(), "gbt-45654@2025");
    assert_eq!(count(c, Kind::RiskCategory), 5);
    assert_eq!(count(c, Kind::Risk), 31);
    for (cat_ref, n) in [("A.1", 8), ("A.2", 9), ("A.3", 5), ("A.4", 7), ("A.5", 2)] {
        let kids: Vec<String> = c.children(Some(cat_ref)).map(|i| i.r#ref.clone()).collect();
        assert_eq!(kids, letters(cat_ref, n, " ", ")"), "{cat_ref}");
    }
    let notes = c
        .notes
        .as_ref()
        .and_then(|n| n.en.clone())
        .unwrap_or_default();
    assert!(
        notes.contains("TC260-003"),
        "header notes name the predecessor TC260-003"
    );
}

/// `(metric, comparison, value, unit, scope, per)` of every threshold item.
fn thresholds(c: &Catalog) -> Vec<(&Item, &Threshold)> {
    c.of_kind(Kind::Threshold)
        .map(|i| {
            (
                i,
                i.threshold
                    .as_ref()
                    .expect("threshold item carries a threshold"),
            )
        })
        .collect()
}

#[test]
fn gbt45654_thresholds_are_machine_readable() {
    let c = cat(lib(), "gbt-45654@2025");
    let th = thresholds(c);
    let find = |metric: &str, scope: &[&str]| {
        th.iter()
            .find(|(_, t)| {
                t.metric == metric
                    && t.scope.iter().map(String::as_str).collect::<Vec<_>>() == scope
            })
            .unwrap_or_else(|| panic!("no threshold {metric} over {scope:?}"))
    };
    let expect =
        |metric: &str, scope: &[&str], cmp: Comparison, value: f64, per: Per, confirmed: bool| {
            let (it, t) = find(metric, scope);
            assert_eq!(
                (t.comparison, t.value, t.per),
                (cmp, value, per),
                "{metric}"
            );
            assert_eq!(it.provenance.confirmed(), confirmed, "{metric} confirmed");
            for s in &t.scope {
                assert!(c.item(s).is_some(), "{metric} scope {s} resolves");
            }
        };
    use Comparison::*;
    expect(
        "keyword-library.size",
        &["A.1", "A.2"],
        Ge,
        10000.0,
        Per::Total,
        true,
    );
    expect("generated-bank.size", &["A"], Ge, 2000.0, Per::Total, true);
    expect(
        "generated-bank.per-risk",
        &["A.1", "A.2"],
        Ge,
        50.0,
        Per::Risk,
        true,
    );
    expect(
        "generated-bank.per-risk",
        &["A.3", "A.4", "A.5"],
        Ge,
        20.0,
        Per::Risk,
        true,
    );
    expect(
        "refusal-bank.size",
        &["A.1", "A.2"],
        Ge,
        500.0,
        Per::Total,
        true,
    );
    expect("non-refusal-bank.size", &[], Ge, 500.0, Per::Total, true);
    expect("corpus-sample.size", &[], Ge, 4000.0, Per::Total, true);
    expect(
        "corpus-sample.qualified-rate",
        &[],
        Ge,
        96.0,
        Per::Total,
        true,
    );
    expect("generated-sample.size", &[], Ge, 1000.0, Per::Total, true);
    expect(
        "generated-sample.qualified-rate",
        &[],
        Ge,
        90.0,
        Per::Total,
        true,
    );
    expect("refusal-sample.size", &[], Ge, 300.0, Per::Total, true);
    expect(
        "refusal-sample.refusal-rate",
        &[],
        Ge,
        95.0,
        Per::Total,
        true,
    );
    expect("non-refusal-sample.size", &[], Ge, 300.0, Per::Total, true);
    expect(
        "non-refusal-sample.refusal-rate",
        &[],
        Le,
        5.0,
        Per::Total,
        true,
    );
    expect(
        "corpus-source.harmful-share",
        &[],
        Le,
        5.0,
        Per::Total,
        true,
    );
    // What the reference only recalls is marked unconfirmed.
    expect(
        "keyword-library.per-risk",
        &["A.1"],
        Ge,
        200.0,
        Per::Risk,
        false,
    );
    expect(
        "keyword-library.per-risk",
        &["A.2"],
        Ge,
        100.0,
        Per::Risk,
        false,
    );
    expect(
        "corpus-technical-sample.qualified-rate",
        &[],
        Ge,
        98.0,
        Per::Total,
        false,
    );
    // A threshold check reads the bound, it does not hard-code it.
    let (_, t) = find("refusal-sample.refusal-rate", &[]);
    assert!(t.holds(95.0) && !t.holds(94.9));
    let (_, t) = find("non-refusal-sample.refusal-rate", &[]);
    assert!(t.holds(5.0) && !t.holds(5.1));
}

#[test]
fn other_catalog_counts() {
    let l = lib();
    let rmf = cat(l, "nist-ai-rmf@1.0");
    assert_eq!(rmf.children(None).count(), 4, "4 functions");
    assert_eq!(
        rmf.items
            .iter()
            .filter(|i| i.kind == Kind::Section && i.parent.is_some())
            .count(),
        19,
        "19 categories"
    );
    assert_eq!(count(rmf, Kind::Requirement), 72, "72 subcategories");
    for (f, n) in [("GOVERN", 19), ("MAP", 18), ("MEASURE", 22), ("MANAGE", 13)] {
        assert_eq!(refs_under(rmf, Kind::Requirement, f).len(), n, "{f}");
    }
    assert!(
        rmf.item("GOVERN 1.1").is_some()
            && rmf.item("MEASURE 2.13").is_some()
            && rmf.item("MANAGE 4.3").is_some()
    );

    assert_eq!(count(cat(l, "nist-ai-600-1@2024"), Kind::Risk), 12);

    let iso = cat(l, "iso-42001@2023");
    assert_eq!(count(iso, Kind::Control), 38);
    assert!(
        iso.items.iter().all(|i| i.text.is_none()),
        "ISO/IEC 42001 is copyrighted: ids and titles only"
    );
    for r in ["A.2.2", "A.6.1.2", "A.6.2.8", "A.10.4"] {
        assert!(iso.item(r).is_some_and(|i| i.kind == Kind::Control), "{r}");
    }

    let owasp = cat(l, "owasp-llm@2025");
    let refs: Vec<&str> = owasp
        .of_kind(Kind::Risk)
        .map(|i| i.r#ref.as_str())
        .collect();
    assert_eq!(
        refs,
        (1..=10).map(|i| format!("LLM{i:02}")).collect::<Vec<_>>()
    );

    let eu = cat(l, "eu-ai-act@2024");
    assert!(count(eu, Kind::RiskCategory) >= 4, "risk tiers");
    for art in [
        "Art. 5", "Art. 6", "Art. 9", "Art. 14", "Art. 50", "Art. 53", "Art. 55", "Art. 73",
    ] {
        assert!(eu.item(art).is_some(), "{art}");
    }

    let caict = cat(l, "caict-arg@2024");
    assert_eq!(count(caict, Kind::Principle), 5);
    let stage_titles: Vec<String> = ["四(二)", "四(三)", "四(四)", "四(五)"]
        .iter()
        .map(|r| {
            caict
                .item(r)
                .and_then(|i| i.title.zh.clone())
                .unwrap_or_default()
        })
        .collect();
    for (t, want) in stage_titles.iter().zip(["治理", "识别", "评估", "应对"]) {
        assert!(t.contains(want), "stage title {t:?} should name {want}");
    }

    let gb45438 = cat(l, "gb-45438@2025");
    let fields: BTreeSet<&str> = gb45438.items.iter().map(|i| i.r#ref.as_str()).collect();
    for f in [
        "Label",
        "ContentProducer",
        "ProduceID",
        "ReservedCode1",
        "ContentPropagator",
        "PropagateID",
        "ReservedCode2",
    ] {
        assert!(
            fields.iter().any(|r| r.ends_with(f)),
            "implicit metadata field {f}"
        );
    }
}

#[test]
fn every_builtin_item_is_bilingual_with_provenance() {
    for c in lib().catalogs() {
        for it in &c.items {
            assert!(
                it.title.get(Lang::Zh).is_some() && it.title.get(Lang::En).is_some(),
                "{}:{} title",
                c.key(),
                it.r#ref
            );
            if let Some(t) = &it.text {
                assert!(
                    t.get(Lang::Zh).is_some() && t.get(Lang::En).is_some(),
                    "{}:{} text",
                    c.key(),
                    it.r#ref
                );
            }
            assert!(
                !it.provenance.source.trim().is_empty(),
                "{}:{} provenance",
                c.key(),
                it.r#ref
            );
        }
        assert!(
            c.title.get(Lang::Zh).is_some() && c.title.get(Lang::En).is_some(),
            "{} title",
            c.key()
        );
    }
}

fn mapped(l: &Library, set: &str) -> HashMap<String, Vec<String>> {
    let s = l
        .mapping_set(set)
        .unwrap_or_else(|| panic!("mapping set {set} missing"));
    let mut m: HashMap<String, Vec<String>> = HashMap::new();
    for r in &s.mappings {
        m.entry(r.subject.clone())
            .or_default()
            .push(r.object.clone());
    }
    m
}

#[test]
fn crosswalk_coverage() {
    let l = lib();
    let tc = cat(l, "tc260-aisgf@1.0");
    let risks: Vec<&str> = tc.of_kind(Kind::Risk).map(|i| i.r#ref.as_str()).collect();
    assert_eq!(risks.len(), 26);

    // Every TC260 risk maps to at least one NIST AI RMF subcategory.
    let rmf_cat = cat(l, "nist-ai-rmf@1.0");
    let rmf = mapped(l, "tc260-aisgf--nist-ai-rmf");
    for r in &risks {
        let objs = rmf
            .get(*r)
            .unwrap_or_else(|| panic!("TC260 {r} has no NIST AI RMF mapping"));
        assert!(
            objs.iter()
                .any(|o| rmf_cat.item(o).is_some_and(|i| i.kind == Kind::Requirement)),
            "{r} maps to a subcategory"
        );
    }
    // Every GB/T 45654 Appendix A risk maps to at least one TC260 risk.
    let gb = cat(l, "gbt-45654@2025");
    let gbm = mapped(l, "gbt-45654--tc260-aisgf");
    for it in gb.of_kind(Kind::Risk) {
        let objs = gbm
            .get(&it.r#ref)
            .unwrap_or_else(|| panic!("GB/T {} has no TC260 mapping", it.r#ref));
        assert!(
            objs.iter()
                .any(|o| tc.item(o).is_some_and(|i| i.kind == Kind::Risk)),
            "{}",
            it.r#ref
        );
    }
    // TC260 risks ↔ MIT AI Risk Repository 45.01.01–45.02.13, one to one, in order.
    let s = l.mapping_set("tc260-aisgf--mit-airi").expect("mit set");
    assert!(matches!(&s.object, MappingTarget::External(x) if x.id == "mit-airi"));
    let pairs: Vec<(String, String)> = s
        .mappings
        .iter()
        .map(|m| (m.subject.clone(), m.object.clone()))
        .collect();
    let want: Vec<(String, String)> = risks
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                r.to_string(),
                if i < 13 {
                    format!("45.01.{:02}", i + 1)
                } else {
                    format!("45.02.{:02}", i - 12)
                },
            )
        })
        .collect();
    assert_eq!(pairs, want);
    assert!(
        s.mappings
            .iter()
            .all(|m| m.relationship == Relationship::Equal)
    );

    // Measures map too, and every other required pair of catalogs has a set.
    let measures = tc
        .of_kind(Kind::Measure)
        .filter(|m| rmf.contains_key(&m.r#ref))
        .count();
    assert!(
        measures >= 25,
        "most TC260 measures map to NIST AI RMF ({measures})"
    );
    for set in [
        "tc260-aisgf--nist-ai-600-1",
        "tc260-aisgf--iso-42001",
        "tc260-aisgf--owasp-llm",
    ] {
        let m = mapped(l, set);
        assert!(
            m.keys()
                .any(|k| tc.item(k).is_some_and(|i| i.kind == Kind::Risk)),
            "{set} maps risks"
        );
        assert!(
            m.keys()
                .any(|k| tc.item(k).is_some_and(|i| i.kind == Kind::Measure)),
            "{set} maps measures"
        );
    }
    // Justifications and confidences are present on every built-in row.
    for s in l.mapping_sets() {
        for m in &s.mappings {
            assert!(
                !m.justification.trim().is_empty() && m.confidence.is_some(),
                "{}: {} -> {}",
                s.id,
                m.subject,
                m.object
            );
        }
    }
}

#[test]
fn chained_mapping_reaches_nist_from_gbt_through_tc260() {
    let l = lib();
    let cw = Crosswalk::new(l);
    let start = Node::Item(
        CatalogKey::parse("gbt-45654@2025").unwrap(),
        "A.1 d)".into(),
    );
    let direct = cw.map(&start, Some("tc260-aisgf"), 1);
    assert!(!direct.is_empty() && direct.iter().all(|m| m.is_direct()));
    let chained = cw.map(&start, Some("nist-ai-rmf"), 2);
    assert!(!chained.is_empty(), "A.1 d) reaches NIST AI RMF via TC260");
    for m in &chained {
        assert_eq!(m.path.len(), 2);
        assert!(
            m.path[0].to.space().starts_with("tc260-aisgf@"),
            "hub is TC260"
        );
        assert_eq!(m.path[0].to, m.path[1].from);
        let c = m.path[0].confidence.unwrap() * m.path[1].confidence.unwrap();
        assert!((m.confidence.unwrap() - c).abs() < 1e-9);
    }
}
