//! Search ranking, crosswalk queries and diffs.

use aigov_catalog::crosswalk::{Crosswalk, Node};
use aigov_catalog::diff::{Change, diff};
use aigov_catalog::load::{LoadOptions, parse_catalog};
use aigov_catalog::search::{Query, normalize, search};
use aigov_catalog::*;

use crate::lib;

fn top(text: &str, catalog: Option<&str>, kind: Option<Kind>) -> Vec<String> {
    search(
        lib(),
        &Query {
            text,
            catalog,
            kind,
            limit: 5,
            ..Default::default()
        },
    )
    .iter()
    .map(|h| format!("{}:{}", h.catalog.id, h.item.r#ref))
    .collect()
}

#[test]
fn chinese_search_finds_titles_first() {
    let hits = top("数据泄露", None, None);
    assert_eq!(
        hits.first().map(String::as_str),
        Some("tc260-aisgf:3.1.2(d)"),
        "{hits:?}"
    );
    let hits = top("对抗攻击", Some("tc260-aisgf"), Some(Kind::Risk));
    assert_eq!(
        hits.first().map(String::as_str),
        Some("tc260-aisgf:3.1.1(f)"),
        "{hits:?}"
    );
}

#[test]
fn english_search_is_case_insensitive_and_ranked() {
    let hits = top("PROMPT injection", None, None);
    assert_eq!(
        hits.first().map(String::as_str),
        Some("owasp-llm:LLM01"),
        "{hits:?}"
    );
    let hits = top("supply chain", None, Some(Kind::Risk));
    assert!(
        hits.contains(&"tc260-aisgf:3.1.3(c)".to_string())
            && hits.contains(&"owasp-llm:LLM03".to_string()),
        "{hits:?}"
    );
}

#[test]
fn search_by_ref_and_filters() {
    let hits = top("GOVERN 1.1", Some("nist-ai-rmf"), None);
    assert_eq!(
        hits.first().map(String::as_str),
        Some("nist-ai-rmf:GOVERN 1.1")
    );
    for h in search(
        lib(),
        &Query {
            text: "risk",
            kind: Some(Kind::Guideline),
            limit: 0,
            ..Default::default()
        },
    ) {
        assert_eq!(h.item.kind, Kind::Guideline);
    }
    assert!(top("zzzz-not-a-word", None, None).is_empty());
    assert!(top("   ", None, None).is_empty());
}

#[test]
fn full_width_text_matches_half_width() {
    assert_eq!(normalize("ＡＩ　Ｓａｆｅｔｙ"), "ai safety");
    let a = top("ＬＬＭ０１", None, None);
    assert_eq!(
        a.first().map(String::as_str),
        Some("owasp-llm:LLM01"),
        "{a:?}"
    );
}

#[test]
fn near_variant_chinese_terms_still_match() {
    // 数据泄漏 is a common variant of 数据泄露; bigram overlap finds the item, ranked lower
    // than an exact hit would be.
    let hits = search(
        lib(),
        &Query {
            text: "训练数据投毒",
            limit: 10,
            ..Default::default()
        },
    );
    assert!(
        hits.iter().any(|h| h.item.r#ref == "3.1.2(b)"),
        "{:?}",
        hits.iter().map(|h| &h.item.r#ref).collect::<Vec<_>>()
    );
}

#[test]
fn crosswalk_reads_sets_in_both_directions() {
    let cw = Crosswalk::new(lib());
    // From NIST's side, a TC260 mapping appears with the inverse relationship.
    let tc = CatalogKey::parse("tc260-aisgf@1.0").unwrap();
    let fwd = cw
        .direct(&Node::Item(tc.clone(), "3.1.1(e)".into()))
        .to_vec();
    let conf = fwd
        .iter()
        .find(|h| h.to.local() == "2.2")
        .expect("3.1.1(e) maps to 600-1 2.2 (confabulation)");
    let back = cw.direct(&conf.to);
    let rev = back
        .iter()
        .find(|h| h.to == Node::Item(tc.clone(), "3.1.1(e)".into()))
        .unwrap();
    assert!(rev.reversed);
    assert_eq!(rev.relationship, conf.relationship.inverse());
}

#[test]
fn crosswalk_chains_never_return_to_the_start_catalog() {
    let cw = Crosswalk::new(lib());
    let start = Node::Item(
        CatalogKey::parse("tc260-aisgf@1.0").unwrap(),
        "3.2.1(a)".into(),
    );
    let all = cw.map(&start, None, 3);
    assert!(!all.is_empty());
    for m in &all {
        assert!(!m.target.space().starts_with("tc260-aisgf"), "{}", m.target);
        let spaces: Vec<String> = m.path.iter().map(|h| h.to.space()).collect();
        let mut dedup = spaces.clone();
        dedup.dedup();
        assert_eq!(spaces.len(), dedup.len());
    }
    // External ids are reachable but not chained through.
    let mit = cw.map(&start, Some("mit-airi"), 3);
    assert_eq!(mit.len(), 1);
    assert_eq!(
        mit[0].target,
        Node::External("mit-airi".into(), "45.02.01".into())
    );
    assert_eq!(mit[0].relationship, Relationship::Equal);
}

#[test]
fn relationship_composition() {
    use Relationship::*;
    assert_eq!(Subset.compose(Subset), Subset);
    assert_eq!(Equal.compose(Superset), Superset);
    assert_eq!(Subset.compose(Superset), Related);
    assert_eq!(Intersect.compose(Subset), Intersect);
    assert_eq!(Related.compose(Equal), Related);
    for r in Relationship::ALL {
        assert_eq!(r.inverse().inverse(), r);
    }
}

const V1: &str = "aigov_catalog: 1\nid: demo\nversion: \"1.0\"\ntitle: {en: Demo}\nitems:\n  - {ref: a, kind: section, title: {en: A}}\n  - {ref: b, parent: a, kind: risk, title: {en: B}}\n  - {ref: c, parent: a, kind: risk, title: {en: C}}\n";

#[test]
fn diff_reports_added_removed_changed() {
    let v1 = parse_catalog("v1", V1, LoadOptions::default()).unwrap();
    let v2src = V1
        .replace("\"1.0\"", "\"2.0\"")
        .replace("title: {en: B}", "title: {en: B renamed, zh: 乙}")
        .replace(
            "  - {ref: c, parent: a, kind: risk, title: {en: C}}\n",
            "  - {ref: d, parent: a, kind: risk, title: {en: D}}\n",
        );
    let v2 = parse_catalog("v2", &v2src, LoadOptions::default()).unwrap();
    let d = diff(&v1, &v2);
    assert_eq!(d.len(), 3, "{d:?}");
    assert!(d.contains(&Change::Removed("c".into())));
    assert!(d.contains(&Change::Added("d".into())));
    let Some(Change::Changed(r, fields)) = d.iter().find(|c| matches!(c, Change::Changed(..)))
    else {
        panic!()
    };
    assert_eq!(r, "b");
    let names: Vec<&str> = fields.iter().map(|f| f.0).collect();
    assert_eq!(names, ["title.zh", "title.en"]);
    assert!(diff(&v1, &v1).is_empty());
}

#[test]
fn newest_version_is_the_default_and_old_ones_stay() {
    let mut l = lib().clone();
    let v2 = parse_catalog(
        "v2",
        &V1.replace("id: demo", "id: tc260-aisgf")
            .replace("\"1.0\"", "\"2.0\""),
        LoadOptions::default(),
    )
    .unwrap();
    l.add_catalog(v2, Source::Imported("x".into())).unwrap();
    assert_eq!(l.get("tc260-aisgf", None).unwrap().version.as_str(), "2.0");
    assert_eq!(l.versions("tc260-aisgf").count(), 2);
    assert!(l.get("tc260-aisgf", Some("1.0")).unwrap().items.len() > 100);
    // Mapping sets keep pointing at the version they were made for.
    assert!(
        l.check_mapping_set(l.mapping_set("tc260-aisgf--nist-ai-rmf").unwrap())
            .is_ok()
    );
    // A built-in cannot be replaced.
    let again = parse_catalog(
        "v",
        &V1.replace("id: demo", "id: tc260-aisgf"),
        LoadOptions::default(),
    )
    .unwrap();
    assert!(matches!(
        l.add_catalog(again, Source::Imported("y".into())),
        Err(LibraryError::BuiltinConflict(_))
    ));
    // Citations resolve with and without a version.
    let (c, it) = l
        .cite(&Cite::parse("tc260-aisgf@1.0:3.1.1(a)").unwrap())
        .unwrap();
    assert_eq!((c.version.as_str(), it.kind), ("1.0", Kind::Risk));
    assert!(
        matches!(
            l.cite(&Cite::parse("tc260-aisgf:3.1.1(a)").unwrap()),
            Err(LibraryError::UnknownItem { .. })
        ),
        "newest (2.0) has no 3.1.1(a)"
    );
    assert!(Cite::parse("nist-ai-rmf@1.0:GOVERN 1.1").is_ok());
    assert!(Cite::parse("no-colon").is_err() && Cite::parse("Bad_Id:x").is_err());
}
