//! Model scan output: plain text for people, SARIF 2.1.0 for code-scanning tools (JSON is the
//! serde form of [`ModelReport`]).

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::finding::{RULES, Severity, rule};
use super::{FileReport, ModelReport};

fn human(n: u64) -> String {
    const U: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < U.len() {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

fn count(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}K", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.2}B", n as f64 / 1e9),
    }
}

/// A readable report; `min` hides findings below that severity.
pub fn text(r: &ModelReport, min: Severity) -> String {
    let mut o = String::new();
    for f in &r.files {
        file_text(&mut o, f, min);
    }
    let total: u64 = r.counts.values().sum();
    let parts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|s| r.counts.get(s).map(|n| format!("{n} {}", s.as_str())))
        .collect();
    let _ = writeln!(
        o,
        "{} file{}, {} finding{}{}{}",
        r.files.len(),
        if r.files.len() == 1 { "" } else { "s" },
        total,
        if total == 1 { "" } else { "s" },
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        },
        match r.worst {
            Some(w) => format!("; worst: {}", w.as_str()),
            None => String::new(),
        }
    );
    o
}

fn file_text(o: &mut String, f: &FileReport, min: Severity) {
    let worst = f
        .worst()
        .map_or("clean".to_string(), |w| w.as_str().to_uppercase());
    let _ = writeln!(o, "{}  [{}, {}]  {worst}", f.path, f.format, human(f.size));
    for x in f.findings.iter().filter(|x| x.severity >= min) {
        let place = match (&x.member, x.offset) {
            (Some(m), Some(off)) => format!("{m} @{off}"),
            (Some(m), None) => m.clone(),
            (None, Some(off)) => format!("@{off}"),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            o,
            "  {:<8}  {}  {}{}",
            x.severity.as_str(),
            x.rule,
            if place.is_empty() {
                String::new()
            } else {
                format!("{place}  ")
            },
            x.message
        );
    }
    let hidden = f.findings.iter().filter(|x| x.severity < min).count();
    if hidden > 0 {
        let _ = writeln!(o, "  ({hidden} findings below {} not shown)", min.as_str());
    }
    if f.findings_dropped > 0 {
        let _ = writeln!(
            o,
            "  ({} more findings over the per-file budget)",
            f.findings_dropped
        );
    }
    if let Some(t) = &f.details.tensors {
        let dt: Vec<String> = t.dtypes.iter().map(|(k, v)| format!("{k}×{v}")).collect();
        let _ = writeln!(
            o,
            "  tensors: {} ({} parameters, {}; {})",
            t.count,
            count(t.parameters),
            human(t.bytes),
            dt.join(", ")
        );
    }
    if let Some(p) = &f.details.pickle {
        let _ = writeln!(
            o,
            "  pickle: {} stream{}, protocol {}, {} opcodes, {} globals",
            p.pickles,
            if p.pickles == 1 { "" } else { "s" },
            p.protocol.map_or("0/1".into(), |x| x.to_string()),
            p.opcodes,
            p.globals.len()
        );
    }
    for t in &f.details.templates {
        let _ = writeln!(o, "  chat template {} ({} characters)", t.key, t.length);
    }
    if let Some(h) = &f.sha256 {
        let _ = writeln!(o, "  sha256: {h}");
    }
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.0",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// Percent-encodes a path for a SARIF `uri` (keeps `/`); absolute paths become `file://` URIs.
fn uri(p: &str) -> String {
    let mut o = String::new();
    if p.starts_with('/') {
        o.push_str("file://");
    }
    for b in p.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            o.push(b as char);
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

/// The report as a SARIF 2.1.0 log. Archive members are artifacts whose `parentIndex` is the
/// containing file or member.
pub fn sarif(r: &ModelReport, tool_version: &str) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|x| {
            json!({
                "id": x.id,
                "name": x.id.replace(['.', '-'], "_"),
                "shortDescription": {"text": x.description},
                "defaultConfiguration": {"level": level(x.severity)},
                "properties": {"security-severity": security_severity(x.severity), "tags": ["security", "ai-supply-chain"]},
            })
        })
        .collect();
    let mut artifacts: Vec<Value> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut results = Vec::new();
    for f in &r.files {
        let fi = artifacts.len();
        let mut a = json!({"location": {"uri": uri(&f.path)}, "length": f.size});
        if let Some(h) = &f.sha256 {
            a["hashes"] = json!({"sha-256": h});
        }
        artifacts.push(a);
        for x in &f.findings {
            let mut ai = fi;
            let mut uri_s = uri(&f.path);
            if let Some(m) = &x.member {
                let mut chain = String::new();
                for part in m.split(" > ") {
                    if !chain.is_empty() {
                        chain.push_str(" > ");
                    }
                    chain.push_str(part);
                    let key = format!("{}\u{0}{chain}", f.path);
                    ai = match index.get(&key) {
                        Some(&i) => i,
                        None => {
                            let i = artifacts.len();
                            artifacts
                                .push(json!({"location": {"uri": uri(part)}, "parentIndex": ai}));
                            index.insert(key, i);
                            i
                        }
                    };
                    uri_s = uri(part);
                }
            }
            let rule_index = RULES.iter().position(|r| r.id == x.rule);
            let mut loc =
                json!({"physicalLocation": {"artifactLocation": {"uri": uri_s, "index": ai}}});
            if let Some(off) = x.offset {
                loc["physicalLocation"]["region"] = json!({"byteOffset": off});
            }
            let mut props = json!({"severity": x.severity.as_str(), "file": f.path});
            if let Some((m, n)) = &x.global {
                props["global"] = json!(format!("{m}.{n}"));
            }
            if let Some(m) = &x.member {
                props["member"] = json!(m);
            }
            let mut res = json!({
                "ruleId": x.rule,
                "level": level(x.severity),
                "message": {"text": x.message},
                "locations": [loc],
                "properties": props,
            });
            if let Some(i) = rule_index {
                res["ruleIndex"] = json!(i);
            }
            results.push(res);
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "aigov",
                "version": tool_version,
                "informationUri": "https://example.invalid/aigov",
                "rules": rules,
            }},
            "artifacts": artifacts,
            "results": results,
        }],
    })
}

/// The description of a rule id (for help output).
pub fn describe(id: &str) -> Option<&'static str> {
    rule(id).map(|r| r.description)
}
