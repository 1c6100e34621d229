//! The governance loop from the command line: `aigov api`, `risk`, `checklist`, `gate`,
//! `evidence`, `dashboard`.

use crate::{aigov, fails, json, ok};

#[test]
fn the_loop_from_the_command_line() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // No database yet: a clear message.
    let (_, err) = fails(dir, &["risk", "list"]);
    assert!(
        err.contains("no database") && err.contains("aigov serve"),
        "{err}"
    );
    ok(dir, &["user", "create", "alice", "--role", "admin"]);

    let sys = json(&ok(
        dir,
        &[
            "api",
            "POST",
            "systems",
            "-d",
            r#"{"name": "Chat", "system_type": "generative", "public_facing": true, "tc260_roles": ["service-provider"]}"#,
        ],
    ));
    assert_eq!(sys["ref"], "SYS-1");
    let adopted = json(&ok(
        dir,
        &["api", "POST", "systems/SYS-1/adoptions", "-d", "{}"],
    ));
    assert_eq!(adopted.as_array().unwrap().len(), 3);
    let cov = ok(dir, &["checklist", "SYS-1"]);
    assert!(
        cov.contains("tc260-aisgf@1.0") && cov.contains("0%"),
        "{cov}"
    );
    let by = ok(dir, &["checklist", "SYS-1", "tc260-aisgf", "--coverage"]);
    assert!(
        by.contains("overall")
            && by.contains("Safety guidelines for AI development and application")
            && by.contains("service-provider"),
        "{by}"
    );
    let by = json(&ok(
        dir,
        &[
            "checklist",
            "SYS-1",
            "tc260-aisgf",
            "--coverage",
            "--format",
            "json",
        ],
    ));
    assert_eq!(by["overall"]["compliant"], 0);
    assert!(
        by["by_role"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["key"] == "service-provider")
    );
    let items = ok(dir, &["checklist", "SYS-1", "tc260-aisgf", "--all"]);
    assert!(
        items.contains("6.2(a)") && items.contains("does not apply"),
        "{items}"
    );

    let cands = ok(dir, &["risk", "identify", "SYS-1"]);
    assert!(
        cands.contains("pending") && cands.contains("public-generative-content"),
        "{cands}"
    );
    ok(
        dir,
        &[
            "api",
            "POST",
            "systems/SYS-1/risks",
            "-d",
            r#"{"title": "Staff over-trust drafts", "unmapped": true}"#,
        ],
    );
    let list = json(&ok(dir, &["risk", "list", "--format", "json"]));
    assert_eq!(list["total"], 1);
    let table = ok(dir, &["risk", "list"]);
    assert!(
        table.contains("RISK-1") && table.contains("identified"),
        "{table}"
    );

    // Errors name the problem and the field; exit status 1.
    let (_, err) = fails(
        dir,
        &[
            "api",
            "POST",
            "systems/SYS-1/risks",
            "-d",
            r#"{"title": ""}"#,
        ],
    );
    assert!(
        err.contains("validation-failed (422)") && err.contains("- title:"),
        "{err}"
    );
    let (_, err) = fails(dir, &["api", "PATCH", "risks/RISK-1", "-d", "{}"]);
    assert!(err.contains("If-Match"), "{err}");
    let patched = json(&ok(
        dir,
        &[
            "api",
            "PATCH",
            "risks/RISK-1",
            "--if-match",
            "1",
            "-d",
            r#"{"cause": "automation bias"}"#,
        ],
    ));
    assert_eq!(patched["version"], 2);
    let (_, err) = fails(dir, &["api", "POST", "risks", "-d", "not json"]);
    assert!(err.contains("--data is not JSON"), "{err}");

    // The gate says what blocks the move, with exit status 3.
    let o = aigov(dir, &["gate", "SYS-1", "--to", "deploy"]);
    assert_eq!(o.status.code(), Some(3));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("require_assessed") && out.contains("min_checklist_coverage"),
        "{out}"
    );
    assert!(ok(dir, &["gate", "SYS-1", "--to", "retire"]).contains("the gate holds"));

    // Evidence: stored by content, attached, downloadable byte for byte.
    let f = dir.join("red-team.txt");
    std::fs::write(&f, "红队测试报告: 0 findings\n").unwrap();
    let o = aigov(
        dir,
        &[
            "evidence",
            "add",
            f.to_str().unwrap(),
            "--title",
            "Red-team report",
            "--expires-on",
            "2027-06-30",
            "--attach",
            "risk:RISK-1",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "EV-1");
    assert!(String::from_utf8_lossy(&o.stderr).contains("sha256"));
    let got = ok(dir, &["api", "GET", "evidence/EV-1/content"]);
    assert_eq!(got, "红队测试报告: 0 findings\n");
    let ev = json(&ok(dir, &["api", "GET", "evidence/EV-1"]));
    assert_eq!(ev["attached_to"].as_array().unwrap().len(), 1);

    assert!(ok(dir, &["dashboard"]).contains("risks by status:      identified 1"));
    // Everything above is in the audit log, as the local operator.
    ok(dir, &["audit", "verify"]);
    let log = ok(dir, &["audit", "export"]);
    let create = log
        .lines()
        .map(json)
        .find(|e| e["action"] == "risk.create")
        .unwrap();
    assert!(
        create["actor"].as_str().unwrap().starts_with("cli:"),
        "{create}"
    );
}
