//! Writing results: data to stdout, messages to stderr, tables that line up with CJK text,
//! and a quiet exit on a closed pipe (`aigov catalog show … | head`).

use std::io::Write;

use unicode_width::UnicodeWidthStr;

/// Writes `s` to stdout. A closed pipe ends the process quietly with status 0.
pub fn print(s: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// A message for the user on stderr.
pub fn note(s: &str) {
    let _ = writeln!(std::io::stderr(), "{s}");
}

fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Renders rows as an aligned plain-text table. Cells are single-line (newlines become spaces).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let clean = |s: &str| s.replace(['\n', '\r', '\t'], " ");
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| clean(c)).collect())
        .collect();
    let n = headers.len();
    let mut w: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate().take(n) {
            w[i] = w[i].max(width(c));
        }
    }
    let mut out = String::new();
    let line = |cells: &[&str], out: &mut String| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(w[i].saturating_sub(width(c)) + 2));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(headers, &mut out);
    for r in &rows {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        line(&cells, &mut out);
    }
    out
}

/// Pretty JSON with a trailing newline.
pub fn json(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
