//! Export → import round trips for every format and every built-in catalog, and imports of
//! CISO Assistant libraries and OSCAL catalogs from elsewhere.

use std::collections::HashMap;

use aigov_catalog::formats::{self, ExportFormat, ImportOverrides, Imported};
use aigov_catalog::*;

use crate::lib;

fn fixture(name: &str) -> String {
    let p = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn import(name: &str, src: &str) -> Imported {
    formats::import_file(name, src, &ImportOverrides::default())
        .unwrap_or_else(|d| panic!("{name}:\n{d}"))
}

/// Asserts two catalogs hold the same data (header and every item field).
fn assert_same(a: &Catalog, b: &Catalog, what: &str) {
    assert_eq!(a.header(), b.header(), "{what}: header");
    assert_eq!(a.items.len(), b.items.len(), "{what}: item count");
    for (x, y) in a.items.iter().zip(&b.items) {
        assert_eq!(x, y, "{what}: item {}", x.r#ref);
    }
}

#[test]
fn every_builtin_catalog_round_trips_in_every_catalog_format() {
    for c in lib().catalogs() {
        for f in [
            ExportFormat::Yaml,
            ExportFormat::Json,
            ExportFormat::Csv,
            ExportFormat::Oscal,
        ] {
            let out = formats::export_catalog(c, f).unwrap();
            let back = import(&format!("{}.{f:?}", c.id), &out);
            assert_eq!(back.catalogs.len(), 1, "{} {f:?}", c.key());
            assert_same(c, &back.catalogs[0], &format!("{} via {f:?}", c.key()));
        }
        assert!(
            formats::export_catalog(c, ExportFormat::Sssom).is_err(),
            "SSSOM is for mapping sets"
        );
    }
}

#[test]
fn every_builtin_mapping_set_round_trips() {
    let l = lib();
    let label = |t: &MappingTarget, r: &str| match t {
        MappingTarget::Catalog(k) => l
            .get_exact(&k.id, &k.version)?
            .item(r)
            .and_then(|i| i.title.en.clone()),
        MappingTarget::External(_) => None,
    };
    for s in l.mapping_sets() {
        for f in [ExportFormat::Sssom, ExportFormat::Yaml, ExportFormat::Json] {
            let out = formats::export_mapping_set(s, f, &label).unwrap();
            let back = import(&format!("{}.{f:?}", s.id), &out);
            assert_eq!(back.mapping_sets.len(), 1);
            let b = &back.mapping_sets[0];
            assert_eq!(
                (&b.id, &b.subject, &b.object, &b.author, &b.date),
                (&s.id, &s.subject, &s.object, &s.author, &s.date),
                "{} via {f:?}",
                s.id
            );
            assert_eq!(b.title, s.title, "{} via {f:?}: title", s.id);
            assert_eq!(
                b.description, s.description,
                "{} via {f:?}: description",
                s.id
            );
            assert_eq!(b.mappings, s.mappings, "{} via {f:?}: rows", s.id);
            l.check_mapping_set(b).unwrap_or_else(|d| panic!("{d}"));
        }
    }
}

#[test]
fn sssom_uses_skos_predicates_and_curies() {
    let l = lib();
    let s = l.mapping_set("gbt-45654--tc260-aisgf").unwrap();
    let out = formats::export_mapping_set(s, ExportFormat::Sssom, &|_, _| None).unwrap();
    assert!(out.contains("#mapping_set_id: \"urn:aigov:mapping-set:gbt-45654--tc260-aisgf\""));
    assert!(out.contains("#subject_source: \"urn:aigov:catalog:gbt-45654@2025\""));
    let header = out.lines().find(|l| !l.starts_with('#')).unwrap();
    assert_eq!(
        header.split('\t').take(4).collect::<Vec<_>>(),
        ["subject_id", "subject_label", "predicate_id", "object_id"]
    );
    // Refs with spaces and parentheses are percent-encoded in CURIEs.
    assert!(
        out.contains("gbt-45654.2025:A.1%20a%29\t"),
        "{}",
        &out[..out.len().min(2000)]
    );
    let preds: std::collections::BTreeSet<&str> = out
        .lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .filter_map(|l| l.split('\t').nth(2))
        .collect();
    assert!(preds.iter().all(|p| p.starts_with("skos:")), "{preds:?}");
}

#[test]
fn csv_is_readable_and_escapes_multiline_cells() {
    let c = lib().get("tc260-aisgf", None).unwrap();
    let out = formats::export_catalog(c, ExportFormat::Csv).unwrap();
    assert!(out.starts_with("# aigov-catalog-csv: 1\n# id: \"tc260-aisgf\"\n"));
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_reader(out.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(headers.iter().collect::<Vec<_>>(), formats::csv::COLUMNS);
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), c.items.len());
    let row = rows.iter().find(|r| &r[0] == "4.1.3(c)").unwrap();
    assert!(
        row[8].contains("addresses 3.1.3(b) (stated)"),
        "{:?}",
        &row[8]
    );
}

#[test]
fn oscal_export_has_valid_structure() {
    let c = lib().get("tc260-aisgf", None).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&formats::export_catalog(c, ExportFormat::Oscal).unwrap()).unwrap();
    let cat = &v["catalog"];
    assert_eq!(cat["metadata"]["oscal-version"], "1.1.2");
    assert_eq!(cat["metadata"]["version"], "1.0");
    let uuid = cat["uuid"].as_str().unwrap();
    assert_eq!(uuid.len(), 36);
    assert_eq!(&uuid[14..15], "8", "version-8 UUID");
    // Every id is an OSCAL token and unique; every label is the aigov ref.
    let mut ids = Vec::new();
    fn walk(v: &serde_json::Value, ids: &mut Vec<String>) {
        for key in ["groups", "controls"] {
            for x in v[key].as_array().into_iter().flatten() {
                ids.push(x["id"].as_str().unwrap().to_string());
                walk(x, ids);
            }
        }
    }
    walk(cat, &mut ids);
    assert_eq!(ids.len(), c.items.len());
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    for id in &ids {
        assert!(
            id.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch))
                && id.starts_with('i'),
            "{id}"
        );
    }
}

#[test]
fn ciso_assistant_library_imports_frameworks_threats_and_controls() {
    let src = fixture("ciso/demo-ai-governance.yaml");
    let imp = import("demo-ai-governance.yaml", &src);
    assert_eq!(imp.format, "ciso-assistant");
    let by_id: HashMap<&str, &Catalog> = imp.catalogs.iter().map(|c| (c.id.as_str(), c)).collect();
    let fw = by_id["demo-ai"];
    assert_eq!(fw.version.as_str(), "3");
    assert_eq!(fw.title.en.as_deref(), Some("Demo AI framework"));
    assert_eq!(fw.title.zh.as_deref(), Some("演示人工智能框架"));
    assert_eq!(fw.published.as_deref(), Some("2026-01-15"));
    let refs: Vec<&str> = fw.items.iter().map(|i| i.r#ref.as_str()).collect();
    assert_eq!(refs, ["node1", "1.1", "1.2", "node2", "2.1"]);
    let it = fw.item("1.1").unwrap();
    assert_eq!(
        (it.kind, it.parent.as_deref()),
        (Kind::Requirement, Some("node1"))
    );
    assert_eq!(it.title.zh.as_deref(), Some("人工智能清单"));
    assert_eq!(
        it.text.as_ref().and_then(|t| t.zh.as_deref()),
        Some("是否每个人工智能系统都已登记并指定负责人？")
    );
    assert_eq!(fw.item("node1").unwrap().kind, Kind::Section);
    // A node without a name takes its ref_id as title.
    assert_eq!(fw.item("1.2").unwrap().title.en.as_deref(), Some("1.2"));
    assert_eq!(
        formats::ciso::urn_of(it),
        Some("urn:acme:risk:req_node:demo-ai:1.1")
    );
    let threats = by_id["demo-ai-governance-threats"];
    assert_eq!(threats.of_kind(Kind::Risk).count(), 1);
    let controls = by_id["demo-ai-governance-controls"];
    assert_eq!(controls.of_kind(Kind::Control).count(), 2);
    assert!(controls.item("RC-1").unwrap().has_tag("topic:process"));
    assert!(
        imp.skipped.iter().any(|s| s.contains("risk_matrix")),
        "{:?}",
        imp.skipped
    );
}

#[test]
fn ciso_assistant_mapping_library_resolves_earlier_imports() {
    let a = import("a.yaml", &fixture("ciso/demo-ai-governance.yaml"));
    let b = import("b.yaml", &fixture("ciso/demo-policy.yaml"));
    let mut urns = HashMap::new();
    for c in a.catalogs.iter().chain(&b.catalogs) {
        for it in &c.items {
            if let Some(u) = formats::ciso::urn_of(it) {
                urns.insert(u.to_string(), (c.key(), it.r#ref.clone()));
            }
        }
    }
    let src = fixture("ciso/mapping-demo-ai-to-demo-policy.yaml");
    // Without the frameworks imported first, the error says what to do.
    let d = formats::import_file("m.yaml", &src, &ImportOverrides::default()).unwrap_err();
    assert!(
        d.to_string()
            .contains("import the framework libraries first"),
        "{d}"
    );
    let m = formats::import_file_with("m.yaml", &src, &ImportOverrides::default(), &|u| {
        urns.get(u).cloned()
    })
    .unwrap();
    assert_eq!(m.mapping_sets.len(), 1);
    let s = &m.mapping_sets[0];
    assert_eq!(s.subject.to_string(), "demo-ai@3");
    assert_eq!(
        s.object,
        MappingTarget::Catalog(CatalogKey::parse("demo-policy@1").unwrap())
    );
    assert_eq!(s.mappings.len(), 2, "not_related rows are left out");
    assert_eq!(
        (
            s.mappings[0].subject.as_str(),
            s.mappings[0].relationship,
            s.mappings[0].object.as_str()
        ),
        ("1.1", Relationship::Equal, "P1")
    );
    assert_eq!(s.mappings[0].confidence, Some(0.9));
    assert_eq!(
        s.mappings[1].confidence, None,
        "no strength given: no invented confidence"
    );
    assert!(m.skipped.iter().any(|x| x.contains("not_related")));
}

#[test]
fn ciso_library_without_zh_or_en_is_refused_clearly() {
    let src = fixture("ciso/demo-policy.yaml").replace("locale: en", "locale: fr");
    let d = formats::import_file("fr.yaml", &src, &ImportOverrides::default()).unwrap_err();
    assert!(
        d.0.iter()
            .any(|x| x.code == "no-language" && x.message.contains("\"fr\"")),
        "{d}"
    );
}

#[test]
fn oscal_catalog_from_elsewhere_imports() {
    let src = fixture("oscal-sp800-53-excerpt.json");
    let imp = import("800-53.json", &src);
    assert_eq!(imp.format, "oscal");
    let c = &imp.catalogs[0];
    assert_eq!(c.key().to_string(), "demo-sp-800-53-excerpt@5.1.1");
    let refs: Vec<&str> = c.items.iter().map(|i| i.r#ref.as_str()).collect();
    assert_eq!(refs, ["ac", "AC-1", "AC-2", "AC-2(1)"]);
    let ac1 = c.item("AC-1").unwrap();
    assert_eq!(ac1.kind, Kind::Control);
    assert_eq!(ac1.parent.as_deref(), Some("ac"));
    let text = ac1.text.as_ref().and_then(|t| t.en.clone()).unwrap();
    assert!(text.contains("Develop and document") && text.contains("Review the policy"));
    assert!(!text.contains("Guidance"), "guidance is not statement text");
    assert_eq!(
        ac1.links,
        vec![Link {
            rel: LinkRel::Related,
            to: "AC-2".into(),
            basis: LinkBasis::Inferred
        }]
    );
    assert_eq!(c.item("AC-2(1)").unwrap().parent.as_deref(), Some("AC-2"));
    assert_eq!(c.item("ac").unwrap().kind, Kind::Section);
    // An unusable version needs an override, and the override works.
    let bad = src.replace("\"version\": \"5.1.1\"", "\"version\": \"Rev 5\"");
    let d = formats::import_file("x.json", &bad, &ImportOverrides::default()).unwrap_err();
    assert!(d.to_string().contains("--version"), "{d}");
    let ok = formats::import_file(
        "x.json",
        &bad,
        &ImportOverrides {
            id: Some("sp800-53".into()),
            version: Some("5".into()),
        },
    )
    .unwrap();
    assert_eq!(ok.catalogs[0].key().to_string(), "sp800-53@5");
}

#[test]
fn unknown_formats_are_named() {
    let d = formats::import_file("x.txt", "just some words\n", &ImportOverrides::default())
        .unwrap_err();
    assert_eq!(d.0[0].code, "unknown-format");
    let d =
        formats::import_file("x.json", "{\"a\": [1, 2", &ImportOverrides::default()).unwrap_err();
    assert_eq!(d.0[0].code, "syntax");
}
