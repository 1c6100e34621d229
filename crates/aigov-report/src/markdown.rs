//! Markdown (GitHub-flavoured tables). The model is embedded in a trailing HTML comment
//! (`<!-- aigov-report {…} -->`), so the file verifies offline like the HTML.

use std::fmt::Write;

use crate::html::embed_json;
use crate::layout::{Block, Cell, Doc, Table};
use crate::model::Report;

/// Escapes text for Markdown: characters that are syntax anywhere in a line (emphasis, code,
/// links, inline HTML, tables, maths, strikethrough, headings) get a backslash, and line breaks
/// become spaces, so a value never leaves its table cell or list item.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '<' | '>' | '|' | '&' | '$' | '~'
            | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\r' => {}
            '\n' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// [`escape`] for text that starts a line (a paragraph): a leading character that would
/// start a list, quote or rule, and the `.` or `)` of a leading number, are escaped too.
pub fn escape_line(s: &str) -> String {
    let e = escape(s);
    let digits = e.bytes().take_while(u8::is_ascii_digit).count();
    match e.as_bytes().get(digits) {
        Some(b'.' | b')') if digits > 0 => format!("{}\\{}", &e[..digits], &e[digits..]),
        Some(b'-' | b'+' | b'=') if digits == 0 => format!("\\{e}"),
        _ => e,
    }
}

fn cell(c: &Cell) -> String {
    match c {
        Cell::Text(t) => escape(t),
        // Colour cannot be shown; the grade's name carries the meaning.
        Cell::Grade { text, .. } => format!("**{}**", escape(text)),
    }
}

fn table(o: &mut String, t: &Table) {
    o.push('|');
    for c in &t.columns {
        let _ = write!(o, " {} |", escape(c));
    }
    o.push_str("\n|");
    for _ in &t.columns {
        o.push_str(" --- |");
    }
    o.push('\n');
    for r in &t.rows {
        o.push('|');
        for c in r {
            let _ = write!(o, " {} |", cell(c));
        }
        o.push('\n');
    }
    o.push('\n');
}

/// Renders the document with the model embedded.
pub(crate) fn render(r: &Report, d: &Doc) -> String {
    let mut o = String::new();
    let _ = write!(o, "# {}\n\n", escape(&d.title));
    for (k, v) in &d.cover {
        let _ = writeln!(o, "- **{}**: {}", escape(k), escape(v));
    }
    o.push('\n');
    for s in &d.sections {
        let _ = write!(o, "## {}\n\n", escape(&s.title));
        for b in &s.blocks {
            match b {
                Block::Para(p) => {
                    let _ = write!(o, "{}\n\n", escape_line(p));
                }
                Block::Subheading(h) => {
                    let _ = write!(o, "### {}\n\n", escape(h));
                }
                Block::Facts(f) => {
                    for (k, v) in f {
                        let _ = writeln!(o, "- **{}**: {}", escape(k), escape(v));
                    }
                    o.push('\n');
                }
                Block::Table(t) => table(&mut o, t),
                Block::Bars(b) => {
                    let _ = write!(o, "### {}\n\n", escape(&b.title));
                    table(
                        &mut o,
                        &Table {
                            columns: vec!["".into(), "Count".into()],
                            rows: b
                                .bars
                                .iter()
                                .map(|(l, n, _)| {
                                    vec![Cell::Text(l.clone()), Cell::Text(n.to_string())]
                                })
                                .collect(),
                        },
                    );
                }
                Block::Heatmap(h) => {
                    let _ = write!(o, "### {}\n\n", escape(&h.title));
                    let mut columns = vec!["Likelihood \\ impact".to_string()];
                    columns.extend(h.impact.iter().cloned());
                    let rows = h
                        .cells
                        .iter()
                        .enumerate()
                        .rev()
                        .map(|(li, row)| {
                            let mut cells = vec![Cell::Text(
                                h.likelihood.get(li).cloned().unwrap_or_default(),
                            )];
                            cells.extend(
                                row.iter()
                                    .map(|(n, _, name)| Cell::Text(format!("{n} ({name})"))),
                            );
                            cells
                        })
                        .collect();
                    table(&mut o, &Table { columns, rows });
                }
            }
        }
    }
    let _ = write!(
        o,
        "---\n\n{} · {} · sha256:{}\n\n<!-- aigov-report {} -->\n",
        escape(&d.title),
        escape(&r.meta.id),
        r.digest,
        embed_json(&serde_json::to_string(r).unwrap_or_default())
    );
    o
}

/// The embedded model of a Markdown report, if any.
pub(crate) fn extract(text: &str) -> Option<&str> {
    let start = text.rfind("<!-- aigov-report ")? + "<!-- aigov-report ".len();
    let end = text[start..].find(" -->")? + start;
    text.get(start..end)
}
