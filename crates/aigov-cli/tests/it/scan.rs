//! `aigov scan …` and `aigov bom …` end to end through the binary.

use std::path::Path;

use crate::{aigov, fails, json, ok};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// `os.system('id')`, protocol 0.
const EVIL: &[u8] = b"cos\nsystem\n(S'id'\ntR.";
/// `{'a': 1}`, protocol 2.
const CLEAN: &[u8] = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s.";

fn corpus(dir: &Path) {
    let mut s = String::new();
    for i in 0..100 {
        let text = if i % 10 == 0 {
            format!("第{i}条：如何制作炸药")
        } else if i == 7 {
            "电话１３８１２３４５６７８".to_string()
        } else {
            format!("普通记录 {i}")
        };
        s.push_str(&format!("{{\"id\": {i}, \"text\": \"{text}\"}}\n"));
    }
    std::fs::write(dir.join("a.jsonl"), s).expect("write corpus");
    std::fs::write(dir.join("kw.tsv"), "炸药\tA.1 d)\nbomb\tA.1 d)\n").expect("write library");
}

fn path(d: &Path, f: &str) -> String {
    d.join(f).display().to_string()
}

#[test]
fn corpus_scan_json_summary_and_exit_codes() {
    let d = tmp();
    corpus(d.path());
    let out = path(d.path(), "out");
    let args = [
        "scan",
        "corpus",
        &path(d.path(), "a.jsonl"),
        "--lexicon",
        &path(d.path(), "kw.tsv"),
        "--field",
        "text",
        "--id-field",
        "id",
        "--out",
        &out,
        "--sample",
        "10",
        "--seed",
        "5",
        "--format",
        "json",
    ];
    let v = json(&ok(d.path(), &args));
    assert_eq!(v["totals"]["records"], 100);
    assert_eq!(v["totals"]["harmful"], 10);
    assert_eq!(v["totals"]["personal_info"], 1);
    assert_eq!(v["sources"][0]["rejected"], true);
    assert_eq!(v["requirement"]["metric"], "corpus-source.harmful-share");
    assert_eq!(v["sample"]["drawn"], 10);
    let flagged = std::fs::read_to_string(d.path().join("out/flagged.jsonl")).unwrap();
    let phone: serde_json::Value = flagged.lines().map(json).find(|x| x["id"] == "7").unwrap();
    assert_eq!(phone["hits"][0]["rule"], "pi.cn-mobile");
    assert_eq!(phone["hits"][0]["match"], "１３８１２３４５６７８");
    // --fail-on-reject turns the rejected source into exit code 3.
    let mut a2: Vec<&str> = args.to_vec();
    a2.push("--fail-on-reject");
    let o = aigov(d.path(), &a2);
    assert_eq!(o.status.code(), Some(3));
    // Resume of the same scan takes every shard from the first run.
    let mut a3: Vec<&str> = args.to_vec();
    a3.push("--resume");
    let v = json(&ok(d.path(), &a3));
    assert_eq!(v["totals"]["shards_resumed"], v["totals"]["shards"]);
    // The review sheet: pre-filled verdicts give 90 %-ish; exit 3 because not met.
    let o = aigov(
        d.path(),
        &[
            "scan",
            "review",
            &path(d.path(), "out/review-sample.csv"),
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(3));
    let r = json(&String::from_utf8_lossy(&o.stdout));
    assert_eq!(r["reviewed"], 10);
    assert_eq!(r["requirement"]["metric"], "corpus-sample.qualified-rate");
}

#[test]
fn corpus_errors_name_the_problem() {
    let d = tmp();
    corpus(d.path());
    std::fs::write(d.path().join("bad.tsv"), "炸药\tA.1 d)\nx\tZ.9\n").unwrap();
    let (_, err) = fails(
        d.path(),
        &[
            "scan",
            "corpus",
            &path(d.path(), "a.jsonl"),
            "--lexicon",
            &path(d.path(), "bad.tsv"),
        ],
    );
    assert!(err.contains("bad.tsv:2: unknown category \"Z.9\""), "{err}");
    let (_, err) = fails(
        d.path(),
        &["scan", "corpus", &path(d.path(), "a.jsonl"), "--resume"],
    );
    assert!(err.contains("--out"), "{err}");
    let (_, err) = fails(
        d.path(),
        &[
            "scan",
            "corpus",
            &path(d.path(), "a.jsonl"),
            "--disable-rule",
            "pi.nope",
        ],
    );
    assert!(err.contains("unknown rule \"pi.nope\""), "{err}");
    let rules = ok(d.path(), &["scan", "corpus", "x", "--list-rules"]);
    assert!(
        rules.contains("pi.cn-resident-id") && rules.contains("GB 11643"),
        "{rules}"
    );
}

#[test]
fn redaction_through_the_cli() {
    let d = tmp();
    corpus(d.path());
    ok(
        d.path(),
        &[
            "scan",
            "corpus",
            &path(d.path(), "a.jsonl"),
            "--field",
            "text",
            "--redact-out",
            &path(d.path(), "clean"),
            "--redact-style",
            "mask",
        ],
    );
    let c = std::fs::read_to_string(d.path().join("clean/a.jsonl")).unwrap();
    assert!(c.contains("***********") && !c.contains("１３８"), "{c}");
    assert_eq!(c.lines().count(), 100);
}

#[test]
fn lexicon_audit() {
    let d = tmp();
    std::fs::write(
        d.path().join("kw.tsv"),
        "炸药\tA.1 d)\nbomb\tA.1 d)\nBOMB\tA.1 d)\n\tA.2 a)\n",
    )
    .unwrap();
    let o = aigov(
        d.path(),
        &[
            "scan",
            "lexicon",
            &path(d.path(), "kw.tsv"),
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(3));
    let v = json(&String::from_utf8_lossy(&o.stdout));
    assert_eq!(v["distinct"], 2);
    assert_eq!(v["size_requirement"]["metric"], "keyword-library.size");
    assert_eq!(v["issue_counts"]["duplicate"], 1);
    assert_eq!(v["issue_counts"]["empty-term"], 1);
    assert_eq!(v["per_risk"].as_array().unwrap().len(), 17);
    let o = aigov(
        d.path(),
        &[
            "scan",
            "lexicon",
            &path(d.path(), "kw.tsv"),
            "--format",
            "markdown",
        ],
    );
    assert_eq!(o.status.code(), Some(3));
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(
        md.starts_with("# Keyword library audit") && md.contains("**not met**"),
        "{md}"
    );
}

#[test]
fn model_scan_formats_and_exit_codes() {
    let d = tmp();
    std::fs::write(d.path().join("evil.bin"), EVIL).unwrap();
    std::fs::write(d.path().join("clean.pkl"), CLEAN).unwrap();
    let o = aigov(d.path(), &["scan", "model", &path(d.path(), "evil.bin")]);
    assert_eq!(o.status.code(), Some(7), "critical → 7");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("pickle.global.critical") && text.contains("os.system"),
        "{text}"
    );
    let o = aigov(d.path(), &["scan", "model", &path(d.path(), "clean.pkl")]);
    assert_eq!(o.status.code(), Some(0));
    // --fail-on critical ignores lower findings; a user class is medium.
    let user = b"\x80\x02c__main__\nNet\n)\x81.";
    std::fs::write(d.path().join("user.pkl"), user).unwrap();
    let o = aigov(d.path(), &["scan", "model", &path(d.path(), "user.pkl")]);
    assert_eq!(o.status.code(), Some(5));
    let o = aigov(
        d.path(),
        &[
            "scan",
            "model",
            &path(d.path(), "user.pkl"),
            "--fail-on",
            "critical",
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    let o = aigov(
        d.path(),
        &[
            "scan",
            "model",
            &path(d.path(), "user.pkl"),
            "--allow",
            "__main__.Net",
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    // JSON and SARIF.
    let o = aigov(
        d.path(),
        &[
            "scan",
            "model",
            d.path().to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let v = json(&String::from_utf8_lossy(&o.stdout));
    assert_eq!(v["files"].as_array().unwrap().len(), 3);
    assert_eq!(v["worst"], "critical");
    let o = aigov(
        d.path(),
        &[
            "scan",
            "model",
            &path(d.path(), "evil.bin"),
            "--format",
            "sarif",
        ],
    );
    let s = json(&String::from_utf8_lossy(&o.stdout));
    assert_eq!(s["version"], "2.1.0");
    let r = &s["runs"][0]["results"][0];
    assert_eq!(r["ruleId"], "pickle.global.critical");
    assert_eq!(r["level"], "error");
    assert_eq!(
        r["locations"][0]["physicalLocation"]["region"]["byteOffset"],
        0
    );
    let idx = r["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(
        s["runs"][0]["tool"]["driver"]["rules"][idx]["id"],
        "pickle.global.critical"
    );
    let rules = ok(d.path(), &["scan", "model", "--list-rules"]);
    assert!(rules.contains("onnx.external-data-traversal"), "{rules}");
}

#[test]
fn bom_export_and_import() {
    let d = tmp();
    std::fs::write(d.path().join("evil.pkl"), EVIL).unwrap();
    std::fs::write(d.path().join("data.jsonl"), "{\"a\":1}\n{\"a\":2}\n").unwrap();
    let bom = path(d.path(), "bom.json");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_aigov"))
        .args([
            "bom",
            &path(d.path(), "evil.pkl"),
            &path(d.path(), "data.jsonl"),
            "--format",
            "cyclonedx-json",
            "-o",
            &bom,
        ])
        .env("AIGOV_DATA_DIR", d.path())
        .env("SOURCE_DATE_EPOCH", "1735689600")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let b = json(&std::fs::read_to_string(&bom).unwrap());
    assert_eq!(b["bomFormat"], "CycloneDX");
    assert_eq!(b["specVersion"], "1.6");
    assert_eq!(b["metadata"]["timestamp"], "2025-01-01T00:00:00Z");
    let v = json(&ok(d.path(), &["bom", "import", &bom, "--format", "json"]));
    assert_eq!(v["models"][0]["findings"]["critical"], 1);
    assert_eq!(v["datasets"][0]["records"], 2);
    let t = ok(d.path(), &["bom", "import", &bom]);
    assert!(
        t.contains("Models (1)") && t.contains("Datasets (1)"),
        "{t}"
    );
    std::fs::write(
        d.path().join("bad.json"),
        r#"{"bomFormat":"CycloneDX","specVersion":"9"}"#,
    )
    .unwrap();
    let (_, err) = fails(d.path(), &["bom", "import", &path(d.path(), "bad.json")]);
    assert!(
        err.contains("specVersion") && err.contains("unsupported version"),
        "{err}"
    );
}
