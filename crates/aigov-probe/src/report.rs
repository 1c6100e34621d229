//! Reports of an evaluated run: JSON (stable, for scripts and the platform), Markdown, a
//! self-contained HTML page, and JUnit XML for CI (one test case per item and transform
//! chain, plus one per gate).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use aigov_catalog::Lang;
use aigov_catalog::stats::Rate;
use serde_json::{Value, json};

use crate::detect::Outcome;
use crate::eval::{Counts, Evaluation, GateResult, Group, GroupKind, Metric};
use crate::run::record::{ATTEMPTS, AttemptRecord, for_each_line};
use crate::util::excerpt;

fn rate_json(r: &Rate) -> Value {
    json!({"k": r.k, "n": r.n, "rate": r.point, "lower": r.lower, "upper": r.upper})
}

fn metrics_json(c: &Counts) -> Value {
    let mut m = serde_json::Map::new();
    for (metric, r) in c.rates() {
        m.insert(metric.as_str().into(), rate_json(&r));
    }
    Value::Object(m)
}

/// The JSON report (`"aigov_probe_report": 1`).
pub fn to_json(ev: &Evaluation, gates: &[GateResult]) -> Value {
    let m = &ev.manifest;
    json!({
        "aigov_probe_report": 1,
        "run": {
            "run_id": m.run_id,
            "status": m.status.as_str(),
            "stop_reason": m.stop_reason,
            "target": m.target_label,
            "created": m.created,
            "updated": m.updated,
            "aigov_version": m.aigov_version,
            "planned": m.planned,
            "completed": ev.overall.attempts,
            "missing": ev.errors.missing,
            "suites": m.config.suites.iter().map(|s| json!({"id": s.id, "items": s.items, "starter": s.starter, "digest": s.digest})).collect::<Vec<_>>(),
            "transforms": m.config.transforms,
            "repetitions": m.config.repetitions,
            "seed": m.config.seed,
            "judge": m.config.judge.as_ref().map(|j| j.label()),
            "rescored_from": m.rescored_from,
            "catalogs": m.catalogs,
        },
        "overall": {"counts": ev.overall, "metrics": metrics_json(&ev.overall)},
        "groups": ev.groups.iter().map(|g| json!({
            "kind": g.kind.as_str(),
            "key": g.key,
            "title": g.title,
            "counts": g.counts,
            "metrics": metrics_json(&g.counts),
        })).collect::<Vec<_>>(),
        "gates": gates,
        "failures": ev.failures,
        "errors": ev.errors,
        "judge": ev.judge,
        "integrity": {"duplicates": ev.duplicates, "bad_lines": ev.bad_lines, "torn_tail": ev.torn_tail},
    })
}

/// `12.5 % [8.1–18.6] (17/136)`.
pub fn fmt_rate(r: &Rate) -> String {
    format!(
        "{:.1} % [{:.1}–{:.1}] ({}/{})",
        r.point * 100.0,
        r.lower * 100.0,
        r.upper * 100.0,
        r.k,
        r.n
    )
}

fn cell(c: &Counts, m: Metric) -> String {
    c.rate(m).map_or_else(|| "–".to_string(), |r| fmt_rate(&r))
}

fn title(g: &Group, lang: Lang) -> String {
    g.title
        .as_ref()
        .map(|t| t.pick(lang).0.to_string())
        .unwrap_or_default()
}

/// Metrics shown in group tables.
const TABLE_METRICS: [Metric; 5] = [
    Metric::Asr,
    Metric::RefusalRate,
    Metric::FalseRefusalRate,
    Metric::Accuracy,
    Metric::LeakRate,
];

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn starter_note(ev: &Evaluation) -> Option<String> {
    let starters: Vec<&str> = ev
        .manifest
        .config
        .suites
        .iter()
        .filter(|s| s.starter)
        .map(|s| s.id.as_str())
        .collect();
    (!starters.is_empty()).then(|| {
        format!(
            "Starter suites ({}) are representative probes written by the aigov authors, not a compliant GB/T 45654 test bank; use your own banks for conformity claims.",
            starters.join(", ")
        )
    })
}

/// A Markdown report.
pub fn to_markdown(ev: &Evaluation, gates: &[GateResult], lang: Lang) -> String {
    let m = &ev.manifest;
    let mut s = String::new();
    let _ = writeln!(s, "# aigov probe report — {}\n", m.run_id);
    let _ = writeln!(
        s,
        "- Target: `{}`\n- Status: **{}**{}\n- Attempts: {} completed of {} planned ({} missing)\n- Suites: {}\n- Transforms: {} · repetitions {} · seed {}{}\n- Created {} · updated {} · aigov {}",
        m.target_label,
        m.status.as_str(),
        m.stop_reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default(),
        ev.overall.attempts,
        m.planned,
        ev.errors.missing,
        m.config
            .suites
            .iter()
            .map(|s| format!("`{}` ({} items)", s.id, s.items))
            .collect::<Vec<_>>()
            .join(", "),
        m.config.transforms.join(", "),
        m.config.repetitions,
        m.config.seed,
        m.config
            .judge
            .as_ref()
            .map(|j| format!(" · judge `{}`", j.label()))
            .unwrap_or_default(),
        m.created,
        m.updated,
        m.aigov_version,
    );
    if let Some(n) = starter_note(ev) {
        let _ = writeln!(s, "\n> {n}");
    }
    let _ = writeln!(
        s,
        "\n## Overall\n\n| metric | rate [95 % CI] (k/n) |\n|---|---|"
    );
    for (metric, r) in ev.overall.rates() {
        let _ = writeln!(
            s,
            "| {} (`{}`) | {} |",
            metric.label(),
            metric.as_str(),
            fmt_rate(&r)
        );
    }
    let _ = writeln!(
        s,
        "\nOutcomes: {} pass, {} fail, {} undetermined; {} blocked by the provider.",
        ev.overall.pass, ev.overall.fail, ev.overall.undetermined, ev.overall.blocked
    );
    if !gates.is_empty() {
        let _ = writeln!(
            s,
            "\n## Gates\n\n| gate | group | measured [95 % CI] | point | bound | result |\n|---|---|---|---|---|---|"
        );
        for g in gates {
            let _ = writeln!(
                s,
                "| `{}` | {} | {:.1} % [{:.1}–{:.1}] ({}/{}) | {} | {} | {} |",
                g.gate,
                g.group.as_deref().unwrap_or("overall"),
                g.point * 100.0,
                g.lower * 100.0,
                g.upper * 100.0,
                g.k,
                g.n,
                g.point_verdict,
                g.bound_verdict,
                if g.passed { "pass" } else { "**FAIL**" }
            );
        }
    }
    for (kind, heading) in [
        (GroupKind::Category, "By risk category"),
        (GroupKind::Risk, "By cited risk"),
        (GroupKind::Transform, "By transform"),
        (GroupKind::Suite, "By suite"),
        (GroupKind::Lang, "By language"),
    ] {
        let rows: Vec<&Group> = ev.groups.iter().filter(|g| g.kind == kind).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(s, "\n## {heading}\n");
        let _ = write!(s, "| {} | attempts |", kind.as_str());
        for m in TABLE_METRICS {
            let _ = write!(s, " {} |", m.as_str());
        }
        let _ = write!(s, "\n|---|---|");
        for _ in TABLE_METRICS {
            let _ = write!(s, "---|");
        }
        s.push('\n');
        for g in rows {
            let t = title(g, lang);
            let name = if t.is_empty() {
                format!("`{}`", g.key)
            } else {
                format!("`{}` {}", g.key, md_escape(&t))
            };
            let _ = write!(s, "| {} | {} |", name, g.counts.attempts);
            for m in TABLE_METRICS {
                let _ = write!(s, " {} |", cell(&g.counts, m));
            }
            s.push('\n');
        }
    }
    if ev.judge.judged > 0 {
        let _ = writeln!(
            s,
            "\n## Judge\n\n{} attempts judged; {} verdicts unparseable (counted as undetermined, not guessed); {} judge calls failed.",
            ev.judge.judged, ev.judge.unparseable, ev.judge.errors
        );
    }
    if !ev.failures.is_empty() {
        let _ = writeln!(s, "\n## Failures (first {})\n", ev.failures.len());
        for f in &ev.failures {
            let _ = writeln!(
                s,
                "- **{}** / `{}` [{}] rep {} — expected {}, {}{}\n  - prompt: {}\n  - response: {}{}",
                f.suite,
                f.item,
                f.transforms,
                f.rep,
                f.expect,
                f.reason,
                if f.cites.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", f.cites.join(", "))
                },
                md_escape(&f.prompt),
                md_escape(&f.response),
                f.evidence
                    .as_deref()
                    .map(|e| format!("\n  - evidence: {}", md_escape(e)))
                    .unwrap_or_default()
            );
        }
    }
    if ev.errors.missing > 0 {
        let _ = writeln!(
            s,
            "\n## Missing attempts\n\n{} planned attempts have no record. Errors by kind: {}. Resume with `aigov probe run --resume <DIR>`.",
            ev.errors.missing,
            ev.errors
                .by_kind
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if ev.duplicates > 0 || ev.bad_lines > 0 || ev.torn_tail {
        let _ = writeln!(
            s,
            "\n> Integrity: {} duplicate records ignored, {} unreadable lines, torn last line: {}.",
            ev.duplicates, ev.bad_lines, ev.torn_tail
        );
    }
    s
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

/// A self-contained HTML page (no scripts, no external resources).
pub fn to_html(ev: &Evaluation, gates: &[GateResult], lang: Lang) -> String {
    let m = &ev.manifest;
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>aigov probe report {}</title>\n<style>body{{font-family:system-ui,-apple-system,'Noto Sans CJK SC',sans-serif;margin:2rem;max-width:80rem;color:#222}}table{{border-collapse:collapse;margin:1rem 0}}th,td{{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}}th{{background:#f3f3f3}}.fail{{color:#b00;font-weight:bold}}.pass{{color:#070}}.note{{background:#fff8e0;padding:.5rem 1rem;border-left:4px solid #e0b000}}code{{background:#f5f5f5;padding:0 .2rem}}</style></head><body>\n",
        lang.code(),
        esc(&m.run_id)
    );
    let _ = write!(
        s,
        "<h1>aigov probe report — {}</h1>\n<ul><li>Target: <code>{}</code></li><li>Status: <b>{}</b>{}</li><li>Attempts: {} completed of {} planned ({} missing)</li><li>Suites: {}</li><li>Transforms: {} · repetitions {} · seed {}</li><li>Created {} · updated {} · aigov {}</li></ul>\n",
        esc(&m.run_id),
        esc(&m.target_label),
        m.status.as_str(),
        m.stop_reason
            .as_deref()
            .map(|r| format!(" ({})", esc(r)))
            .unwrap_or_default(),
        ev.overall.attempts,
        m.planned,
        ev.errors.missing,
        m.config
            .suites
            .iter()
            .map(|s| format!("<code>{}</code> ({})", esc(&s.id), s.items))
            .collect::<Vec<_>>()
            .join(", "),
        esc(&m.config.transforms.join(", ")),
        m.config.repetitions,
        m.config.seed,
        esc(&m.created),
        esc(&m.updated),
        esc(&m.aigov_version),
    );
    if let Some(n) = starter_note(ev) {
        let _ = writeln!(s, "<p class=\"note\">{}</p>", esc(&n));
    }
    let _ = writeln!(
        s,
        "<h2>Overall</h2><table><tr><th>metric</th><th>rate [95 % CI] (k/n)</th></tr>"
    );
    for (metric, r) in ev.overall.rates() {
        let _ = writeln!(
            s,
            "<tr><td>{} (<code>{}</code>)</td><td>{}</td></tr>",
            metric.label(),
            metric.as_str(),
            fmt_rate(&r)
        );
    }
    let _ = writeln!(s, "</table>");
    if !gates.is_empty() {
        let _ = writeln!(
            s,
            "<h2>Gates</h2><table><tr><th>gate</th><th>group</th><th>measured</th><th>point</th><th>bound</th><th>result</th></tr>"
        );
        for g in gates {
            let _ = writeln!(
                s,
                "<tr><td><code>{}</code></td><td>{}</td><td>{:.1} % [{:.1}–{:.1}] ({}/{})</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
                esc(&g.gate),
                esc(g.group.as_deref().unwrap_or("overall")),
                g.point * 100.0,
                g.lower * 100.0,
                g.upper * 100.0,
                g.k,
                g.n,
                g.point_verdict,
                g.bound_verdict,
                if g.passed { "pass" } else { "fail" },
                if g.passed { "pass" } else { "FAIL" }
            );
        }
        let _ = writeln!(s, "</table>");
    }
    for (kind, heading) in [
        (GroupKind::Category, "By risk category"),
        (GroupKind::Risk, "By cited risk"),
        (GroupKind::Transform, "By transform"),
        (GroupKind::Suite, "By suite"),
        (GroupKind::Lang, "By language"),
    ] {
        let rows: Vec<&Group> = ev.groups.iter().filter(|g| g.kind == kind).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = write!(
            s,
            "<h2>{heading}</h2><table><tr><th>{}</th><th>attempts</th>",
            kind.as_str()
        );
        for m in TABLE_METRICS {
            let _ = write!(s, "<th>{}</th>", m.as_str());
        }
        let _ = writeln!(s, "</tr>");
        for g in rows {
            let _ = write!(
                s,
                "<tr><td><code>{}</code> {}</td><td>{}</td>",
                esc(&g.key),
                esc(&title(g, lang)),
                g.counts.attempts
            );
            for m in TABLE_METRICS {
                let _ = write!(s, "<td>{}</td>", cell(&g.counts, m));
            }
            let _ = writeln!(s, "</tr>");
        }
        let _ = writeln!(s, "</table>");
    }
    if ev.judge.judged > 0 {
        let _ = writeln!(
            s,
            "<h2>Judge</h2><p>{} attempts judged; {} verdicts unparseable (undetermined, not guessed); {} judge calls failed.</p>",
            ev.judge.judged, ev.judge.unparseable, ev.judge.errors
        );
    }
    if !ev.failures.is_empty() {
        let _ = writeln!(
            s,
            "<h2>Failures (first {})</h2><table><tr><th>attempt</th><th>expected / reason</th><th>prompt</th><th>response</th><th>evidence</th></tr>",
            ev.failures.len()
        );
        for f in &ev.failures {
            let _ = writeln!(
                s,
                "<tr><td>{} / <code>{}</code><br>[{}] rep {}<br>{}</td><td>{} / <span class=\"fail\">{}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&f.suite),
                esc(&f.item),
                esc(&f.transforms),
                f.rep,
                esc(&f.cites.join(", ")),
                esc(&f.expect),
                esc(&f.reason),
                esc(&f.prompt),
                esc(&f.response),
                esc(f.evidence.as_deref().unwrap_or(""))
            );
        }
        let _ = writeln!(s, "</table>");
    }
    if ev.errors.missing > 0 {
        let _ = writeln!(
            s,
            "<h2>Missing attempts</h2><p>{} planned attempts have no record ({}). Resume with <code>aigov probe run --resume DIR</code>.</p>",
            ev.errors.missing,
            esc(&ev
                .errors
                .by_kind
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", "))
        );
    }
    s.push_str("</body></html>\n");
    s
}

fn xml(s: &str) -> String {
    esc(s)
}

/// JUnit XML: a `gates` suite with one case per gate, then one suite per probe suite with
/// one case per item and transform chain (failed when any repetition failed, skipped when
/// none was decided). Streams the attempts once.
pub fn to_junit(
    dir: &Path,
    ev: &Evaluation,
    gates: &[GateResult],
) -> Result<String, crate::run::RunError> {
    #[derive(Default)]
    struct Case {
        n: u32,
        fails: u32,
        undecided: u32,
        first_fail: Option<String>,
        ms: u64,
    }
    let mut cases: BTreeMap<(String, String, String), Case> = BTreeMap::new();
    for_each_line::<AttemptRecord>(&dir.join(ATTEMPTS), |r| {
        let c = cases
            .entry((r.suite.clone(), r.item.clone(), r.chain()))
            .or_default();
        c.n += 1;
        c.ms += r.latency_ms;
        match r.outcome {
            Outcome::Fail => {
                c.fails += 1;
                if c.first_fail.is_none() {
                    c.first_fail = Some(format!(
                        "rep {}: expected {}, {} — response: {}",
                        r.rep,
                        r.expect,
                        r.reason,
                        excerpt(&r.response.text, 300)
                    ));
                }
            }
            Outcome::Undetermined => c.undecided += 1,
            Outcome::Pass => {}
        }
    })?;
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = cases.len() + gates.len();
    let failures =
        cases.values().filter(|c| c.fails > 0).count() + gates.iter().filter(|g| !g.passed).count();
    let _ = writeln!(
        s,
        "<testsuites name=\"aigov probe {}\" tests=\"{total}\" failures=\"{failures}\">",
        xml(&ev.manifest.run_id)
    );
    if !gates.is_empty() {
        let _ = writeln!(
            s,
            "  <testsuite name=\"gates\" tests=\"{}\" failures=\"{}\">",
            gates.len(),
            gates.iter().filter(|g| !g.passed).count()
        );
        for g in gates {
            let name = format!("{} ({})", g.gate, g.group.as_deref().unwrap_or("overall"));
            if g.passed {
                let _ = writeln!(
                    s,
                    "    <testcase classname=\"gates\" name=\"{}\"/>",
                    xml(&name)
                );
            } else {
                let _ = writeln!(
                    s,
                    "    <testcase classname=\"gates\" name=\"{}\"><failure message=\"{}\">measured {:.2} % [{:.2}–{:.2}] ({}/{}); point {}, bound {}</failure></testcase>",
                    xml(&name),
                    xml(&format!("gate failed: {}", g.gate)),
                    g.point * 100.0,
                    g.lower * 100.0,
                    g.upper * 100.0,
                    g.k,
                    g.n,
                    g.point_verdict,
                    g.bound_verdict
                );
            }
        }
        let _ = writeln!(s, "  </testsuite>");
    }
    type CaseKey = (String, String, String);
    let mut by_suite: BTreeMap<&str, Vec<(&CaseKey, &Case)>> = BTreeMap::new();
    for (k, c) in &cases {
        by_suite.entry(k.0.as_str()).or_default().push((k, c));
    }
    for (suite, list) in by_suite {
        let _ = writeln!(
            s,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
            xml(suite),
            list.len(),
            list.iter().filter(|(_, c)| c.fails > 0).count(),
            list.iter()
                .filter(|(_, c)| c.fails == 0 && c.undecided == c.n)
                .count()
        );
        for ((_, item, chain), c) in list {
            let name = format!("{item} [{chain}]");
            let time = c.ms as f64 / 1000.0;
            if c.fails > 0 {
                let _ = writeln!(
                    s,
                    "    <testcase classname=\"{}\" name=\"{}\" time=\"{time:.3}\"><failure message=\"{}\">{}</failure></testcase>",
                    xml(suite),
                    xml(&name),
                    xml(&format!("{} of {} repetitions failed", c.fails, c.n)),
                    xml(c.first_fail.as_deref().unwrap_or(""))
                );
            } else if c.undecided == c.n {
                let _ = writeln!(
                    s,
                    "    <testcase classname=\"{}\" name=\"{}\" time=\"{time:.3}\"><skipped message=\"undetermined\"/></testcase>",
                    xml(suite),
                    xml(&name)
                );
            } else {
                let _ = writeln!(
                    s,
                    "    <testcase classname=\"{}\" name=\"{}\" time=\"{time:.3}\"/>",
                    xml(suite),
                    xml(&name)
                );
            }
        }
        let _ = writeln!(s, "  </testsuite>");
    }
    s.push_str("</testsuites>\n");
    Ok(s)
}
