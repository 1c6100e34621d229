//! Renderings: snapshots (ids and hashes redacted, embedded data elided), CSV, determinism,
//! and hostile text printing literally in every format.

use aigov_report::model::Report;
use aigov_report::{Format, Kind, ReportRequest, build, render};

use crate::{HOSTILE, Harness, redact, seed, snapshot, sqlite};

async fn report(h: &Harness, r: ReportRequest) -> Report {
    build(h.store(), &h.lib, &r, h.now(), "cli:tester")
        .await
        .unwrap()
}

fn system_req() -> ReportRequest {
    ReportRequest {
        system: Some("SYS-1".into()),
        ..ReportRequest::new(Kind::System)
    }
}

fn text(r: &Report, f: Format) -> String {
    String::from_utf8(render(r, f).unwrap()).unwrap()
}

/// The rendering with the embedded model elided (it repeats the JSON snapshot).
fn elide(s: &str) -> String {
    let re = regex::Regex::new(r#"(?s)(<script type="application/json" id="aigov-report">).*?(</script>)|(<!-- aigov-report ).*?( -->)"#).unwrap();
    re.replace_all(s, "$1$3…$2$4").into_owned()
}

#[tokio::test]
async fn renderings_match_their_snapshots() {
    let h = sqlite().await;
    seed(&h).await;
    let sys = report(&h, system_req()).await;
    snapshot("system.md", &redact(&elide(&text(&sys, Format::Markdown))));
    snapshot("system.html", &redact(&elide(&text(&sys, Format::Html))));
    snapshot("system.json", &redact(&text(&sys, Format::Json)));
    snapshot("system.csv", &redact(&text(&sys, Format::Csv)));
    for (name, rq) in [
        (
            "compliance.md",
            ReportRequest {
                system: Some("SYS-1".into()),
                catalog: Some("tc260-aisgf".into()),
                ..ReportRequest::new(Kind::Compliance)
            },
        ),
        ("register.md", ReportRequest::new(Kind::Register)),
        ("incident.md", ReportRequest::new(Kind::Incident)),
    ] {
        let r = report(&h, rq).await;
        snapshot(name, &redact(&elide(&text(&r, Format::Markdown))));
    }
}

#[tokio::test]
async fn rendering_is_deterministic_and_the_json_is_the_model() {
    let h = sqlite().await;
    seed(&h).await;
    let r = report(&h, system_req()).await;
    for f in [Format::Html, Format::Markdown, Format::Csv, Format::Json] {
        assert_eq!(render(&r, f).unwrap(), render(&r, f).unwrap(), "{f:?}");
    }
    let back: Report = serde_json::from_slice(&render(&r, Format::Json).unwrap()).unwrap();
    assert_eq!(back, r);
    assert_eq!(back.compute_digest(), r.digest);
    // Any change to the content changes the digest.
    let mut changed = r.clone();
    changed.summary.risks_total += 1;
    assert_ne!(changed.compute_digest(), r.digest);
}

#[tokio::test]
async fn csv_is_the_main_table_with_a_header_and_grade_names() {
    let h = sqlite().await;
    seed(&h).await;
    let r = report(&h, system_req()).await;
    let bytes = render(&r, Format::Csv).unwrap();
    let mut rd = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = rd.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header[..4], ["Ref", "Title", "System", "Status"]);
    let rows: Vec<csv::StringRecord> = rd.records().map(|x| x.unwrap()).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[0][0], "RISK-1");
    assert_eq!(&rows[0][5], "重大 Major");
    // The hostile title survives as one field, unchanged.
    assert_eq!(&rows[2][1], HOSTILE);

    // Compliance: the gaps; incidents: the incident list.
    let c = report(
        &h,
        ReportRequest {
            system: Some("SYS-1".into()),
            ..ReportRequest::new(Kind::Compliance)
        },
    )
    .await;
    let bytes = render(&c, Format::Csv).unwrap();
    let mut rd = csv::Reader::from_reader(bytes.as_slice());
    assert_eq!(&rd.headers().unwrap()[0], "Catalog");
    assert!(rd.records().any(|x| &x.unwrap()[4] == "non-compliant"));
    let i = report(&h, ReportRequest::new(Kind::Incident)).await;
    let bytes = render(&i, Format::Csv).unwrap();
    let mut rd = csv::Reader::from_reader(bytes.as_slice());
    assert_eq!(&rd.records().next().unwrap().unwrap()[0], "INC-1");
}

#[test]
fn csv_defuses_spreadsheet_formulas() {
    let r = tiny_report("=HYPERLINK(\"http://evil\")");
    let out = String::from_utf8(render(&r, Format::Csv).unwrap()).unwrap();
    assert!(out.contains("'=HYPERLINK"), "{out}");
}

/// A minimal register report with one risk titled `title`, built without a store.
fn tiny_report(title: &str) -> Report {
    let v = serde_json::json!({
        "format_version": 1,
        "meta": {"id": "rep-x", "kind": "register", "title": title, "organisation": null,
            "scope": {"systems": [], "catalogs": [], "incidents": [], "filters": {}},
            "period": {"from": null, "to": null}, "generated_at": "2026-01-01T00:00:00Z",
            "generated_by": "cli:t", "audit_head": {"seq": 0, "hash": "0"}, "generator": "aigov"},
        "summary": {"risks_total": 1, "by_grade": [], "by_status": [], "top_risks": [],
            "overdue": {"treatments": 0, "controls": 0, "actions": 0, "acceptances_expiring": 0, "acceptances_pending": 0, "incident_reports": 0},
            "coverage": [], "incidents_total": 0, "incidents_open": 0},
        "body": {"register": {"total": 1, "risks": [{"ref": "RISK-1", "title": title, "system": "SYS-1",
            "status": "identified", "inherent": null, "current": null, "residual": null, "likelihood": null,
            "impact": null, "treatment": null, "treatment_due": null, "treatment_overdue": false,
            "owner": null, "taxonomy": []}]}},
        "appendix": {"methodologies": [], "sources": []},
        "digest": ""
    });
    serde_json::from_value::<Report>(v).unwrap().seal()
}

#[test]
fn hostile_text_prints_literally_in_html_and_markdown() {
    let r = tiny_report(HOSTILE);
    let html = String::from_utf8(render(&r, Format::Html).unwrap()).unwrap();
    assert!(!html.contains("<script>alert"), "raw script in HTML");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("#import &quot;x.typ&quot;: * ] $x$ *bold*"));
    // The embedded model cannot close its script block, and parses back.
    let embedded = &html[html.find("id=\"aigov-report\">").unwrap()..];
    assert_eq!(embedded.matches("</script>").count(), 1);

    let md = String::from_utf8(render(&r, Format::Markdown).unwrap()).unwrap();
    assert!(!md.contains("<script>"), "raw script in Markdown");
    let title_line = md.lines().next().unwrap();
    assert_eq!(
        title_line,
        r#"# \#import "x.typ": \* \] \$x\$ \*bold\* \<script\>alert(1)\</script\> \| \`code\` \\ \{\{\}\} \[link\](http://x)"#
    );
    // Text that starts a line cannot start a list, quote or rule.
    use aigov_report::markdown::escape_line;
    assert_eq!(escape_line("- x"), r"\- x");
    assert_eq!(escape_line("12. x"), r"12\. x");
    assert_eq!(escape_line("> x"), r"\> x");
    assert_eq!(escape_line("2026-12-31 x.y"), "2026-12-31 x.y");
    // Table cells cannot be split by `|` nor broken by newlines.
    let r2 = tiny_report("a|b\nc");
    let md = String::from_utf8(render(&r2, Format::Markdown).unwrap()).unwrap();
    assert!(
        md.contains(r"| RISK\-1 | a\|b c |") || md.contains(r"| RISK-1 | a\|b c |"),
        "{md}"
    );
    // The trailing comment holds the model and nothing closes it early.
    let tail = &md[md.rfind("<!-- aigov-report ").unwrap()..];
    assert_eq!(tail.matches("-->").count(), 1);
}

#[cfg(feature = "pdf")]
#[test]
fn hostile_text_is_a_typst_string_never_markup() {
    let lit = aigov_report::pdf::string(HOSTILE);
    assert_eq!(
        lit,
        r##""#import \"x.typ\": * ] $x$ *bold* <script>alert(1)</script> | `code` \\ {{}} [link](http://x)""##
    );
    assert_eq!(aigov_report::pdf::string("a\nb\"\\"), r##""a\nb\"\\""##);
}
