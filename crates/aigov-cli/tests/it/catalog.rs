//! `aigov catalog …` end to end.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::{aigov, fails, json, ok};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn help_and_version() {
    let d = tmp();
    let h = ok(d.path(), &["--help"]);
    assert!(h.contains("catalog") && h.contains("Areas:"), "{h}");
    let v = ok(d.path(), &["--version"]);
    assert!(v.starts_with("aigov "), "{v}");
    let h = ok(d.path(), &["catalog", "show", "--help"]);
    assert!(
        h.contains("--kind") && h.contains("--lang") && h.contains("markdown"),
        "{h}"
    );
    let (_, err) = fails(
        d.path(),
        &["catalog", "show", "tc260-aisgf", "--kind", "riskk"],
    );
    assert!(err.contains("unknown kind \"riskk\""), "{err}");
}

#[test]
fn list_shows_builtins_and_mapping_sets() {
    let d = tmp();
    let v = json(&ok(d.path(), &["catalog", "list", "--format", "json"]));
    let cats = v["catalogs"].as_array().unwrap();
    assert_eq!(cats.len(), 9);
    assert!(
        cats.iter()
            .all(|c| c["origin"] == "builtin" && c["newest"] == true)
    );
    let tc = cats.iter().find(|c| c["id"] == "tc260-aisgf").unwrap();
    assert_eq!(tc["version"], "1.0");
    assert_eq!(tc["title"]["zh"], "人工智能安全治理框架 1.0版");
    assert_eq!(v["mapping_sets"].as_array().unwrap().len(), 6);
    let t = ok(d.path(), &["catalog", "list"]);
    assert!(
        t.lines().next().unwrap().starts_with("ID") && t.contains("Mapping sets:"),
        "{t}"
    );
}

#[test]
fn show_json_has_the_documented_shape() {
    let d = tmp();
    let v = json(&ok(
        d.path(),
        &["catalog", "show", "tc260-aisgf@1.0", "--format", "json"],
    ));
    for k in ["id", "version", "title", "items"] {
        assert!(v.get(k).is_some(), "{k}");
    }
    assert_eq!(
        (v["id"].as_str(), v["version"].as_str()),
        (Some("tc260-aisgf"), Some("1.0"))
    );
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 128);
    for it in items {
        let keys: Vec<&str> = it.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "ref",
                "kind",
                "parent",
                "title",
                "text",
                "tags",
                "links",
                "provenance",
                "threshold"
            ]
        );
        assert!(it["title"].get("zh").is_some() && it["title"].get("en").is_some());
        assert!(it["text"].get("zh").is_some() && it["text"].get("en").is_some());
    }
    let top = items.iter().find(|i| i["ref"] == "1").unwrap();
    assert!(top["parent"].is_null());
    let m = items.iter().find(|i| i["ref"] == "4.1.3(c)").unwrap();
    assert_eq!(m["kind"], "measure");
    assert_eq!(m["parent"], "4.1.3");
    assert!(
        m["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "addresses" && l["to"] == "3.1.3(b)" && l["basis"] == "stated")
    );
    assert_eq!(m["provenance"]["confirmed"], true);
    // Kinds are from the closed set.
    let kinds = [
        "principle",
        "section",
        "risk-category",
        "risk",
        "measure",
        "guideline",
        "requirement",
        "control",
        "threshold",
    ];
    assert!(
        items
            .iter()
            .all(|i| kinds.contains(&i["kind"].as_str().unwrap()))
    );
    // --kind filters.
    let risks = json(&ok(
        d.path(),
        &[
            "catalog",
            "show",
            "tc260-aisgf",
            "--kind",
            "risk",
            "--format",
            "json",
        ],
    ));
    assert_eq!(risks["items"].as_array().unwrap().len(), 26);
    let th = json(&ok(
        d.path(),
        &[
            "catalog",
            "show",
            "gbt-45654",
            "--kind",
            "threshold",
            "--format",
            "json",
        ],
    ));
    let t = th["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["threshold"]["metric"] == "refusal-sample.refusal-rate")
        .unwrap();
    assert_eq!(
        (
            t["threshold"]["comparison"].as_str(),
            t["threshold"]["value"].as_f64()
        ),
        (Some(">="), Some(95.0))
    );
}

#[test]
fn show_in_every_format_and_language() {
    let d = tmp();
    let zh = ok(
        d.path(),
        &[
            "catalog",
            "show",
            "tc260-aisgf",
            "--kind",
            "risk",
            "--lang",
            "zh",
        ],
    );
    assert!(
        zh.contains("可解释性差的风险") && zh.contains("26 items"),
        "{zh}"
    );
    let en = ok(
        d.path(),
        &[
            "catalog",
            "show",
            "tc260-aisgf",
            "--kind",
            "risk",
            "--lang",
            "en",
        ],
    );
    assert!(en.contains("Risks of explainability"));
    // AIGOV_LANG picks the default language.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_aigov"))
        .args(["catalog", "show", "owasp-llm"])
        .env("AIGOV_DATA_DIR", d.path())
        .env("AIGOV_LANG", "zh")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("提示词注入")
            || String::from_utf8_lossy(&o.stdout).contains("提示注入")
    );
    let md = ok(
        d.path(),
        &[
            "catalog",
            "show",
            "gbt-45654",
            "--format",
            "markdown",
            "--kind",
            "threshold",
        ],
    );
    assert!(
        md.starts_with("# ") && md.contains("`refusal-sample.refusal-rate >= 95 percent`"),
        "{}",
        &md[..md.len().min(1500)]
    );
    let csv = ok(
        d.path(),
        &["catalog", "show", "owasp-llm", "--format", "csv"],
    );
    let rows = csv
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let n = rows.split("\nLLM").count() - 1;
    assert_eq!(n, 10, "10 item rows");
    assert!(csv.starts_with("# aigov-catalog-csv: 1"));
    let yaml = ok(
        d.path(),
        &["catalog", "show", "owasp-llm", "--format", "yaml"],
    );
    assert!(yaml.contains("aigov_catalog: 1") && yaml.contains("LLM01"));
    let (_, err) = fails(d.path(), &["catalog", "show", "no-such-catalog"]);
    assert!(
        err.contains("no catalog no-such-catalog") && err.contains("aigov catalog list"),
        "{err}"
    );
}

#[test]
fn search_ranks_and_filters() {
    let d = tmp();
    let v = json(&ok(
        d.path(),
        &["catalog", "search", "数据泄露", "--format", "json"],
    ));
    assert_eq!(v[0]["catalog"], "tc260-aisgf@1.0");
    assert_eq!(v[0]["ref"], "3.1.2(d)");
    let v = json(&ok(
        d.path(),
        &[
            "catalog",
            "search",
            "injection",
            "--catalog",
            "owasp-llm",
            "--format",
            "json",
        ],
    ));
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|h| h["catalog"] == "owasp-llm@2025")
    );
    let v = json(&ok(
        d.path(),
        &[
            "catalog",
            "search",
            "risk",
            "--kind",
            "guideline",
            "--limit",
            "3",
            "--format",
            "json",
        ],
    ));
    assert!(
        v.as_array().unwrap().len() <= 3
            && v.as_array()
                .unwrap()
                .iter()
                .all(|h| h["kind"] == "guideline")
    );
    let t = ok(d.path(), &["catalog", "search", "adversarial"]);
    assert!(t.contains("tc260-aisgf@1.0:3.1.1(f)"), "{t}");
    let (_, err) = fails(d.path(), &["catalog", "search", "x", "--catalog", "nope"]);
    assert!(err.contains("no catalog nope"), "{err}");
}

#[test]
fn map_shows_direct_and_chained_paths() {
    let d = tmp();
    let v = json(&ok(
        d.path(),
        &[
            "catalog",
            "map",
            "gbt-45654@2025:A.1 d)",
            "--format",
            "json",
        ],
    ));
    let maps = v["mappings"].as_array().unwrap();
    assert!(
        maps.iter()
            .any(|m| m["direct"] == true && m["target"]["catalog"] == "tc260-aisgf@1.0")
    );
    let chained: Vec<_> = maps.iter().filter(|m| m["direct"] == false).collect();
    assert!(!chained.is_empty());
    for m in &chained {
        let path = m["path"].as_array().unwrap();
        assert_eq!(path.len(), 2);
        assert_eq!(path[0]["to"], path[1]["from"]);
        assert!(
            path[1]["justification"]
                .as_str()
                .is_some_and(|j| !j.is_empty())
        );
    }
    // --to restricts; --max-hops 1 leaves only direct mappings.
    let v = json(&ok(
        d.path(),
        &[
            "catalog",
            "map",
            "gbt-45654@2025:A.1 d)",
            "--to",
            "nist-ai-rmf",
            "--format",
            "json",
        ],
    ));
    assert!(
        v["mappings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["target"]["catalog"] == "nist-ai-rmf@1.0")
    );
    let v = json(&ok(
        d.path(),
        &[
            "catalog",
            "map",
            "tc260-aisgf:3.1.2(d)",
            "--max-hops",
            "1",
            "--format",
            "json",
        ],
    ));
    assert!(
        v["mappings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["direct"] == true)
    );
    let t = ok(
        d.path(),
        &[
            "catalog",
            "map",
            "tc260-aisgf@1.0:3.1.1(a)",
            "--to",
            "mit-airi",
        ],
    );
    assert!(
        t.contains("ext:mit-airi:45.01.01") && t.contains("equal"),
        "{t}"
    );
    let (_, err) = fails(d.path(), &["catalog", "map", "tc260-aisgf@1.0:9.9"]);
    assert!(err.contains("has no item \"9.9\""), "{err}");
    let (_, err) = fails(d.path(), &["catalog", "map", "just-a-word"]);
    assert!(err.contains("not a citation"), "{err}");
}

/// A small user catalog.
const DEMO: &str = "aigov_catalog: 1\nid: acme-ai\nversion: \"1.0\"\ntitle: {en: ACME AI policy, zh: ACME 人工智能政策}\nlanguages: [en, zh]\nitems:\n  - {ref: \"1\", kind: section, title: {en: Governance}}\n  - {ref: \"1.1\", parent: \"1\", kind: requirement, title: {en: Register every AI system}}\n  - {ref: R1, kind: risk, title: {en: Unlabelled output, zh: 未标识输出}}\n";

#[test]
fn import_export_round_trip_through_the_data_dir() {
    let d = tmp();
    let f = d.path().join("acme.yaml");
    std::fs::write(&f, DEMO).unwrap();
    let data = d.path().join("data");
    let dd = data.to_str().unwrap();
    ok(
        d.path(),
        &["--data-dir", dd, "catalog", "import", f.to_str().unwrap()],
    );
    assert!(data.join("aigov.db").is_file(), "imports go into the store");
    let v = json(&ok(
        d.path(),
        &["--data-dir", dd, "catalog", "list", "--format", "json"],
    ));
    let acme = v["catalogs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "acme-ai")
        .unwrap()
        .clone();
    assert_eq!(
        (acme["origin"].as_str(), acme["items"].as_u64()),
        (Some("imported"), Some(3))
    );
    // Every export format comes back identical through import into a second directory.
    for fmt in ["yaml", "json", "csv", "oscal"] {
        let out = d.path().join(format!("acme.{fmt}"));
        ok(
            d.path(),
            &[
                "--data-dir",
                dd,
                "catalog",
                "export",
                "acme-ai",
                "--format",
                fmt,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        let other = d.path().join(format!("data-{fmt}"));
        ok(
            d.path(),
            &[
                "--data-dir",
                other.to_str().unwrap(),
                "catalog",
                "import",
                out.to_str().unwrap(),
            ],
        );
        let a = ok(
            d.path(),
            &[
                "--data-dir",
                dd,
                "catalog",
                "show",
                "acme-ai",
                "--format",
                "json",
            ],
        );
        let b = ok(
            d.path(),
            &[
                "--data-dir",
                other.to_str().unwrap(),
                "catalog",
                "show",
                "acme-ai",
                "--format",
                "json",
            ],
        );
        assert_eq!(a, b, "round trip via {fmt}");
    }
    // Re-importing the same content is a no-op; different content needs --replace.
    let e = aigov(
        d.path(),
        &["--data-dir", dd, "catalog", "import", f.to_str().unwrap()],
    );
    assert!(e.status.success() && String::from_utf8_lossy(&e.stderr).contains("unchanged"));
    std::fs::write(
        &f,
        DEMO.replace("Register every AI system", "Register all AI systems"),
    )
    .unwrap();
    let (_, err) = fails(
        d.path(),
        &["--data-dir", dd, "catalog", "import", f.to_str().unwrap()],
    );
    assert!(err.contains("--replace"), "{err}");
    ok(
        d.path(),
        &[
            "--data-dir",
            dd,
            "catalog",
            "import",
            f.to_str().unwrap(),
            "--replace",
        ],
    );
    let v = json(&ok(
        d.path(),
        &[
            "--data-dir",
            dd,
            "catalog",
            "show",
            "acme-ai@1.0",
            "--format",
            "json",
        ],
    ));
    assert_eq!(v["items"][1]["title"]["en"], "Register all AI systems");
    // A newer version keeps the older one; show defaults to the newest; diff compares them.
    std::fs::write(
        &f,
        DEMO.replace("\"1.0\"", "\"2.0\"")
            .replace("Register every AI system", "Register all AI systems")
            .replace(
                "  - {ref: R1, kind: risk, title: {en: Unlabelled output, zh: 未标识输出}}\n",
                "  - {ref: R2, kind: risk, title: {en: Deepfake misuse}}\n",
            ),
    )
    .unwrap();
    let o = aigov(
        d.path(),
        &["--data-dir", dd, "catalog", "import", f.to_str().unwrap()],
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("kept version(s) 1.0"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&ok(
        d.path(),
        &[
            "--data-dir",
            dd,
            "catalog",
            "show",
            "acme-ai",
            "--format",
            "json",
        ],
    ));
    assert_eq!(v["version"], "2.0");
    let v = json(&ok(
        d.path(),
        &[
            "--data-dir",
            dd,
            "catalog",
            "show",
            "acme-ai@1.0",
            "--format",
            "json",
        ],
    ));
    assert_eq!(v["version"], "1.0");
    let diff = json(&ok(
        d.path(),
        &[
            "--data-dir",
            dd,
            "catalog",
            "diff",
            "acme-ai@1.0",
            "acme-ai@2.0",
            "--format",
            "json",
        ],
    ));
    let changes: Vec<(String, String)> = diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["change"].as_str().unwrap().into(),
                c["ref"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("removed".into(), "R1".into()),
            ("added".into(), "R2".into())
        ]
    );
    let t = ok(
        d.path(),
        &[
            "--data-dir",
            dd,
            "catalog",
            "diff",
            "acme-ai@1.0",
            "acme-ai@2.0",
        ],
    );
    assert!(t.contains("1 added, 1 removed, 0 changed"), "{t}");
    // Every import is in the audit log.
    let v = json(&ok(
        d.path(),
        &["--data-dir", dd, "audit", "verify", "--format", "json"],
    ));
    assert_eq!(v["ok"], true);
}

#[test]
fn builtins_cannot_be_replaced_and_bad_files_write_nothing() {
    let d = tmp();
    let dd = d.path().join("data");
    let f = d.path().join("x.yaml");
    std::fs::write(&f, DEMO.replace("id: acme-ai", "id: tc260-aisgf")).unwrap();
    let (_, err) = fails(
        d.path(),
        &[
            "--data-dir",
            dd.to_str().unwrap(),
            "catalog",
            "import",
            f.to_str().unwrap(),
        ],
    );
    assert!(err.contains("built-in catalog"), "{err}");
    std::fs::write(&f, DEMO.replace("kind: risk", "kind: hazard")).unwrap();
    let (out, err) = fails(
        d.path(),
        &[
            "--data-dir",
            dd.to_str().unwrap(),
            "catalog",
            "import",
            f.to_str().unwrap(),
        ],
    );
    assert!(
        out.contains("x.yaml:9: item \"R1\": unknown kind \"hazard\""),
        "{out}"
    );
    assert!(err.contains("was not imported"), "{err}");
    assert!(
        !dd.join("aigov.db").exists(),
        "nothing written, not even a database"
    );
    // --dry-run writes nothing either.
    std::fs::write(&f, DEMO).unwrap();
    let o = aigov(
        d.path(),
        &[
            "--data-dir",
            dd.to_str().unwrap(),
            "catalog",
            "import",
            f.to_str().unwrap(),
            "--dry-run",
        ],
    );
    assert!(
        o.status.success()
            && String::from_utf8_lossy(&o.stderr)
                .contains("would import acme-ai@1.0: new (3 items)")
    );
    assert!(!dd.join("aigov.db").exists());
}

#[test]
fn validate_reports_file_line_and_item() {
    let d = tmp();
    let good = d.path().join("good.yaml");
    std::fs::write(&good, DEMO).unwrap();
    let t = ok(d.path(), &["catalog", "validate", good.to_str().unwrap()]);
    assert!(
        t.contains("ok: ") && t.contains("catalog acme-ai@1.0 (3 items)"),
        "{t}"
    );
    // Strict (built-in) rules need zh titles and provenance.
    let o = aigov(
        d.path(),
        &["catalog", "validate", "--strict", good.to_str().unwrap()],
    );
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stdout).contains("bad-provenance"));
    let bad = d.path().join("bad.yaml");
    std::fs::write(
        &bad,
        DEMO.replace("parent: \"1\"", "parent: \"9\"")
            .replace("{ref: R1, kind: risk", "{ref: \"1\", kind: risk"),
    )
    .unwrap();
    let (out, _) = fails(
        d.path(),
        &[
            "catalog",
            "validate",
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
    );
    assert!(out.contains("bad.yaml:8: item \"1.1\": parent \"9\" is not an item of this catalog [dangling-parent]"), "{out}");
    assert!(
        out.contains(
            "bad.yaml:9: item \"1\": duplicate ref (first defined at line 7) [duplicate-ref]"
        ),
        "{out}"
    );
    assert!(out.contains("invalid: ") && out.contains("2 problem(s)"));
    let v = json(
        &fails(
            d.path(),
            &[
                "catalog",
                "validate",
                "--format",
                "json",
                bad.to_str().unwrap(),
            ],
        )
        .0,
    );
    assert_eq!(v[0]["valid"], false);
    assert_eq!(v[0]["problems"].as_array().unwrap().len(), 2);
    // Every built-in file validates strictly from its source.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../catalogs");
    let mut files: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.display().to_string())
        .collect();
    files.extend(
        std::fs::read_dir(format!("{root}/mappings"))
            .unwrap()
            .flatten()
            .map(|e| e.path().display().to_string()),
    );
    let mut args = vec!["catalog", "validate", "--strict"];
    args.extend(files.iter().map(String::as_str));
    let t = ok(d.path(), &args);
    assert_eq!(
        t.lines().filter(|l| l.starts_with("ok: ")).count(),
        files.len()
    );
    // A missing file is named.
    let (out, _) = fails(d.path(), &["catalog", "validate", "/nonexistent/file.yaml"]);
    assert!(out.contains("/nonexistent/file.yaml"), "{out}");
}

#[test]
fn sssom_export_of_a_catalog_and_import_of_a_set() {
    let d = tmp();
    let dir = d.path().join("sssom");
    let (_, err) = fails(
        d.path(),
        &["catalog", "export", "tc260-aisgf", "--format", "sssom"],
    );
    assert!(err.contains("--out DIR"), "{err}");
    ok(
        d.path(),
        &[
            "catalog",
            "export",
            "tc260-aisgf",
            "--format",
            "sssom",
            "--out",
            dir.to_str().unwrap(),
        ],
    );
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(files.len(), 6);
    let one = ok(
        d.path(),
        &["catalog", "export", "gbt-45654", "--format", "sssom"],
    );
    assert!(one.contains("subject_id\t"));
    // A built-in set cannot be replaced; under a new id it imports and maps.
    let f = dir.join("gbt-45654--tc260-aisgf.sssom.tsv");
    let (_, err) = fails(d.path(), &["catalog", "import", f.to_str().unwrap()]);
    assert!(err.contains("built in"), "{err}");
    let renamed = std::fs::read_to_string(&f)
        .unwrap()
        .replace("mapping-set:gbt-45654--tc260-aisgf", "mapping-set:my-copy");
    std::fs::write(&f, renamed).unwrap();
    let dd = d.path().join("data");
    ok(
        d.path(),
        &[
            "--data-dir",
            dd.to_str().unwrap(),
            "catalog",
            "import",
            f.to_str().unwrap(),
        ],
    );
    let v = json(&ok(
        d.path(),
        &[
            "--data-dir",
            dd.to_str().unwrap(),
            "catalog",
            "list",
            "--format",
            "json",
        ],
    ));
    assert!(
        v["mapping_sets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == "my-copy" && s["origin"] == "imported" && s["mappings"] == 74)
    );
    // An output path below a regular file cannot be created.
    let file = d.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let target = file.join("y.csv");
    let (_, err) = fails(
        d.path(),
        &[
            "catalog",
            "export",
            "owasp-llm",
            "--format",
            "csv",
            "--out",
            target.to_str().unwrap(),
        ],
    );
    assert!(err.contains("cannot create"), "{err}");
}

#[test]
fn ciso_assistant_libraries_import_in_order() {
    let d = tmp();
    let dd = d.path().join("data");
    let fx = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../aigov-catalog/tests/fixtures/ciso"
    );
    let map = format!("{fx}/mapping-demo-ai-to-demo-policy.yaml");
    let (_, err) = fails(
        d.path(),
        &[
            "--data-dir",
            dd.to_str().unwrap(),
            "catalog",
            "import",
            &map,
        ],
    );
    assert!(err.contains("not imported"), "{err}");
    ok(
        d.path(),
        &[
            "--data-dir",
            dd.to_str().unwrap(),
            "catalog",
            "import",
            &format!("{fx}/demo-ai-governance.yaml"),
        ],
    );
    ok(
        d.path(),
        &[
            "--data-dir",
            dd.to_str().unwrap(),
            "catalog",
            "import",
            &format!("{fx}/demo-policy.yaml"),
        ],
    );
    let o = aigov(
        d.path(),
        &[
            "--data-dir",
            dd.to_str().unwrap(),
            "catalog",
            "import",
            &map,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("left out:"));
    let v = json(&ok(
        d.path(),
        &[
            "--data-dir",
            dd.to_str().unwrap(),
            "catalog",
            "map",
            "demo-ai@3:1.1",
            "--format",
            "json",
        ],
    ));
    let m = &v["mappings"][0];
    assert_eq!(
        (
            m["target"]["catalog"].as_str(),
            m["target"]["ref"].as_str(),
            m["relationship"].as_str()
        ),
        (Some("demo-policy@1"), Some("P1"), Some("equal"))
    );
}

#[test]
fn closed_pipe_exits_quietly() {
    let d = tmp();
    let mut child = Command::new(env!("CARGO_BIN_EXE_aigov"))
        .args(["catalog", "show", "nist-ai-rmf", "--format", "markdown"])
        .env("AIGOV_DATA_DIR", d.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here, closing the pipe while aigov still writes.
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with("# "));
    assert!(
        out.status.success(),
        "status {:?}, stderr {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
