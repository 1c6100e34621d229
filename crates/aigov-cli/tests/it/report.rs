//! `aigov report <kind>` and `aigov report verify`.

use crate::{aigov, fails, json, ok};

fn setup(dir: &std::path::Path) {
    ok(dir, &["user", "create", "alice", "--role", "admin"]);
    ok(
        dir,
        &[
            "api",
            "POST",
            "systems",
            "-d",
            r#"{"name": "Chat 客服", "system_type": "generative", "public_facing": true}"#,
        ],
    );
    ok(dir, &["api", "POST", "systems/SYS-1/adoptions", "-d", "{}"]);
    ok(
        dir,
        &[
            "api",
            "POST",
            "systems/SYS-1/risks",
            "-d",
            r#"{"title": "Prompt leak", "unmapped": true}"#,
        ],
    );
    ok(
        dir,
        &[
            "api",
            "POST",
            "risks/RISK-1/assessments",
            "-d",
            r#"{"kind": "current", "likelihood": 3, "impact": 3, "basis": "judgement", "rationale": "r"}"#,
        ],
    );
}

#[test]
fn reports_are_generated_recorded_and_verified() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // No database: a clear message.
    let (_, err) = fails(dir, &["report", "register"]);
    assert!(err.contains("no database"), "{err}");
    setup(dir);

    // Markdown to stdout by default; the note goes to stderr.
    let o = aigov(dir, &["report", "system", "--system", "SYS-1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = String::from_utf8(o.stdout).unwrap();
    assert!(
        md.starts_with("# System risk assessment: SYS-1 Chat 客服"),
        "{md}"
    );
    assert!(md.contains("较大 Significant"), "grade names");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("report rep-") && err.contains("content digest sha256:"),
        "{err}"
    );

    // Files by extension; every format verifies against the store.
    for ext in ["html", "md", "json", "csv", "pdf"] {
        let f = dir.join(format!("sys1.{ext}"));
        let path = f.to_str().unwrap();
        ok(dir, &["report", "system", "--system", "SYS-1", "-o", path]);
        let out = ok(dir, &["report", "verify", path]);
        assert!(out.starts_with("verified: "), "{ext}: {out}");
        let v = json(&ok(dir, &["report", "verify", path, "--format", "json"]));
        assert_eq!(v["verdict"], "verified", "{ext}");
        assert_eq!(v["chain"]["ok"], true);
    }
    let audit = json(&ok(
        dir,
        &["api", "GET", "audit?action=report.generated&limit=100"],
    ));
    assert_eq!(audit["total"], 6, "one event per generated file: {audit}");

    // A one-byte change: modified (exit 3); offline: modified too.
    let f = dir.join("sys1.html");
    let mut bytes = std::fs::read(&f).unwrap();
    let at = bytes.windows(4).position(|w| w == b"Chat").unwrap();
    bytes[at] = b'K';
    let bad = dir.join("bad.html");
    std::fs::write(&bad, &bytes).unwrap();
    let o = aigov(dir, &["report", "verify", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("modified: "));
    let o = aigov(dir, &["report", "verify", "--offline", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("intact: "));

    // A file this log never recorded: unknown (exit 4).
    let other = tempfile::tempdir().unwrap();
    setup(other.path());
    let foreign = other.path().join("r.md");
    ok(
        other.path(),
        &["report", "register", "-o", foreign.to_str().unwrap()],
    );
    let o = aigov(dir, &["report", "verify", foreign.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("unknown: "));

    // Filters, other kinds, formats.
    let csv = ok(
        dir,
        &[
            "report",
            "register",
            "--level",
            "significant",
            "--format",
            "csv",
        ],
    );
    assert!(csv.starts_with("Ref,Title,System"), "{csv}");
    assert_eq!(csv.lines().count(), 2, "{csv}");
    let j = json(&ok(
        dir,
        &["report", "compliance", "--system", "SYS-1", "-f", "json"],
    ));
    assert_eq!(j["meta"]["kind"], "compliance");
    assert_eq!(
        j["body"]["compliance"]["catalogs"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    ok(
        dir,
        &["report", "incident", "--from", "2020-01-01", "-f", "md"],
    );

    // Usage errors.
    let (_, err) = fails(dir, &["report", "system"]);
    assert!(err.contains("needs a system"), "{err}");
    let (_, err) = fails(dir, &["report", "register", "-o", "x.docx"]);
    assert!(err.contains("cannot tell the format"), "{err}");
    let (_, err) = fails(dir, &["report", "register", "--status", "bogus"]);
    assert!(err.contains("unknown status"), "{err}");
}

#[test]
fn report_help_explains_kinds_formats_and_verdicts() {
    let d = tempfile::tempdir().unwrap();
    let help = ok(d.path(), &["report", "system", "--help"]);
    assert!(help.contains("--format") && help.contains("compliance") && help.contains("verify"));
    let help = ok(d.path(), &["report", "verify", "--help"]);
    assert!(
        help.contains("chain-broken") && help.contains("modified      3"),
        "{help}"
    );
}
