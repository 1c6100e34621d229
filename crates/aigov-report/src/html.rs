//! Self-contained HTML: inline CSS (screen and print), inline SVG charts, the report model
//! embedded as a JSON script block (`<script type="application/json" id="aigov-report">`)
//! and its id and digest in `<meta>` tags. No scripts run; nothing is fetched.

use std::fmt::Write;

use crate::layout::{BarsView, Block, Cell, Doc, HeatView, Table};
use crate::model::Report;

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg-alt: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { font-family: -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
  font-size: 14px; line-height: 1.5; color: var(--fg); margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 12px; }
h2 { font-size: 18px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.cover { border: 1px solid var(--line); border-radius: 6px; padding: 16px 20px; background: var(--bg-alt); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; white-space: pre-wrap; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 8px 0 16px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
thead th { background: var(--bg-alt); }
.grade { display: inline-flex; align-items: center; gap: 6px; white-space: nowrap; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; }
svg text { font-family: inherit; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
@media print {
  @page { size: A4; margin: 16mm 14mm; }
  body { max-width: none; padding: 0; font-size: 11px; }
  h2 { break-after: avoid; }
  table { font-size: 10px; }
  thead { display: table-header-group; }
  tr, .chart { break-inside: avoid; }
  .cover { break-after: page; }
  .swatch { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

/// Makes JSON safe inside `<script>` and `<!-- -->`: `<`, `>` and `&` inside strings become
/// `\u` escapes, so neither `</script>`, `<!--` nor `-->` can occur (outside strings JSON
/// has none of these characters). The result parses to the same value.
pub fn embed_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_str, mut esc) = (false, false);
    for c in json.chars() {
        if in_str {
            if esc {
                esc = false;
                out.push(c);
                continue;
            }
            match c {
                '\\' => {
                    esc = true;
                    out.push(c);
                }
                '"' => {
                    in_str = false;
                    out.push(c);
                }
                '<' => out.push_str("\\u003c"),
                '>' => out.push_str("\\u003e"),
                '&' => out.push_str("\\u0026"),
                c => out.push(c),
            }
        } else {
            if c == '"' {
                in_str = true;
            }
            out.push(c);
        }
    }
    out
}

fn cell(c: &Cell) -> String {
    match c {
        Cell::Text(t) => escape(t),
        Cell::Grade { text, color } => format!(
            r#"<span class="grade"><span class="swatch" style="background:{}"></span>{}</span>"#,
            escape(color),
            escape(text)
        ),
    }
}

fn table(out: &mut String, t: &Table) {
    out.push_str("<table>\n<thead><tr>");
    for c in &t.columns {
        let _ = write!(out, "<th>{}</th>", escape(c));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in &t.rows {
        out.push_str("<tr>");
        for c in r {
            let _ = write!(out, "<td>{}</td>", cell(c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// The likelihood × impact heatmap as SVG: grade colour per cell, the count in it, axis
/// labels, and a legend naming each grade.
pub(crate) fn heatmap_svg(h: &HeatView) -> String {
    let (cw, ch, left, top) = (84.0, 40.0, 150.0, 10.0);
    let cols = h.impact.len() as f64;
    let rows = h.likelihood.len() as f64;
    let width = left + cols * cw + 10.0;
    let height = top + rows * ch + 60.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" role="img" aria-labelledby="hm-title" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"><title id="hm-title">{}</title>"#,
        escape(&h.title)
    );
    // Highest likelihood at the top.
    for (li, row) in h.cells.iter().enumerate() {
        let y = top + (rows - 1.0 - li as f64) * ch;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end" font-size="11">{}</text>"#,
            left - 6.0,
            y + ch / 2.0 + 4.0,
            escape(h.likelihood.get(li).map(String::as_str).unwrap_or(""))
        );
        for (ii, (count, color, name)) in row.iter().enumerate() {
            let x = left + ii as f64 * cw;
            let opacity = if *count > 0 { "0.95" } else { "0.25" };
            let _ = write!(
                s,
                r##"<g><title>{}: {count}</title><rect x="{x}" y="{y}" width="{cw}" height="{ch}" fill="{}" fill-opacity="{opacity}" stroke="#ffffff"/><text x="{}" y="{}" text-anchor="middle" font-size="14" font-weight="600" fill="{}">{count}</text></g>"##,
                escape(name),
                escape(color),
                x + cw / 2.0,
                y + ch / 2.0 + 5.0,
                if *count > 0 { "#ffffff" } else { "#1f2328" }
            );
        }
    }
    for (ii, l) in h.impact.iter().enumerate() {
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="11">{}</text>"#,
            left + ii as f64 * cw + cw / 2.0,
            top + rows * ch + 16.0,
            escape(l)
        );
    }
    let _ = write!(
        s,
        r##"<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="#59636e">impact →  (rows: likelihood ↑)</text></svg>"##,
        left + cols * cw / 2.0,
        top + rows * ch + 36.0
    );
    // Legend as text beside colour, never colour alone.
    let mut legend: Vec<(&str, &str)> = Vec::new();
    for row in &h.cells {
        for (_, color, name) in row {
            if !legend.iter().any(|(n, _)| *n == name.as_str()) {
                legend.push((name, color));
            }
        }
    }
    s.push_str("<p>");
    for (n, c) in legend {
        let _ = write!(
            s,
            r#"<span class="grade" style="margin-right:12px"><span class="swatch" style="background:{}"></span>{}</span>"#,
            escape(c),
            escape(n)
        );
    }
    s.push_str("</p>");
    s
}

/// A horizontal bar chart as SVG with the label and count beside every bar.
pub(crate) fn bars_svg(b: &BarsView) -> String {
    let max = b.bars.iter().map(|x| x.1).max().unwrap_or(0).max(1) as f64;
    let (left, bar_w, row_h) = (180.0, 360.0, 24.0);
    let height = b.bars.len() as f64 * row_h + 10.0;
    let width = left + bar_w + 60.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"><title>{}</title>"#,
        escape(&b.title),
        escape(&b.title)
    );
    for (i, (label, count, color)) in b.bars.iter().enumerate() {
        let y = 5.0 + i as f64 * row_h;
        let w = (*count as f64 / max * bar_w).max(if *count > 0 { 2.0 } else { 0.0 });
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end" font-size="12">{}</text><rect x="{left}" y="{}" width="{w:.1}" height="16" fill="{}"/><text x="{}" y="{}" font-size="12">{count}</text>"#,
            left - 8.0,
            y + 13.0,
            escape(label),
            y + 2.0,
            escape(color),
            left + w + 6.0,
            y + 13.0
        );
    }
    s.push_str("</svg>");
    s
}

/// Renders the document with the model embedded.
pub(crate) fn render(r: &Report, d: &Doc) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"{}\">\n<meta name=\"aigov-report-id\" content=\"{}\">\n<meta name=\"aigov-report-digest\" content=\"sha256:{}\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        escape(&r.meta.generator),
        escape(&r.meta.id),
        escape(&r.digest),
        escape(&d.title)
    );
    let _ = write!(
        o,
        "<header class=\"cover\">\n<h1>{}</h1>\n<dl>\n",
        escape(&d.title)
    );
    for (k, v) in &d.cover {
        let _ = writeln!(o, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(v));
    }
    o.push_str("</dl>\n</header>\n<main>\n");
    for s in &d.sections {
        let _ = write!(o, "<section>\n<h2>{}</h2>\n", escape(&s.title));
        for b in &s.blocks {
            match b {
                Block::Para(p) => {
                    let _ = writeln!(o, "<p>{}</p>", escape(p));
                }
                Block::Subheading(h) => {
                    let _ = writeln!(o, "<h3>{}</h3>", escape(h));
                }
                Block::Facts(f) => {
                    o.push_str("<dl>\n");
                    for (k, v) in f {
                        let _ = writeln!(o, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(v));
                    }
                    o.push_str("</dl>\n");
                }
                Block::Table(t) => table(&mut o, t),
                Block::Heatmap(h) => {
                    let _ = write!(o, "<figure>\n{}\n</figure>\n", heatmap_svg(h));
                }
                Block::Bars(b) => {
                    let _ = write!(
                        o,
                        "<figure>\n<h3>{}</h3>\n{}\n</figure>\n",
                        escape(&b.title),
                        bars_svg(b)
                    );
                }
            }
        }
        o.push_str("</section>\n");
    }
    let _ = write!(
        o,
        "</main>\n<footer>{} · {} · sha256:{}</footer>\n<script type=\"application/json\" id=\"aigov-report\">{}</script>\n</body>\n</html>\n",
        escape(&d.title),
        escape(&r.meta.id),
        escape(&r.digest),
        embed_json(&serde_json::to_string(r).unwrap_or_default())
    );
    o
}

/// The embedded model of an HTML report, if any.
pub(crate) fn extract(text: &str) -> Option<&str> {
    let start = text.find("<script type=\"application/json\" id=\"aigov-report\">")?;
    let rest = &text[start..];
    let open = rest.find('>')? + 1;
    let end = rest.find("</script>")?;
    rest.get(open..end)
}
