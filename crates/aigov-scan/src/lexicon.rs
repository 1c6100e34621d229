//! Keyword libraries: parsing the files, the problems found while parsing, and the unique
//! normalised terms the scanner matches.
//!
//! File format (UTF-8, a BOM is ignored):
//! - one term per line; a line starting with `#` is a comment; blank lines are skipped;
//! - an optional category column after a TAB: a GB/T 45654 risk (`A.1 d)`, `A.1d`,
//!   `gbt-45654@2025:A.1 d)`) or any catalog citation; several categories separated by `;`
//!   or `|`; `-` or nothing means uncategorised. Further TAB columns are ignored;
//! - or CSV with a header row `term,category` (`keyword`, `词`, `关键词` and `类别` also work).

use aigov_catalog::Library;

use crate::requirements::Requirements;
use crate::text::normalize_term;

/// One line of a keyword library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The term as written (trimmed).
    pub text: String,
    /// The normalised form that is matched.
    pub norm: String,
    /// Category citations, e.g. `gbt-45654@2025:A.1 d)`.
    pub categories: Vec<String>,
    /// 1-based line number.
    pub line: usize,
}

/// A problem found in a library file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// 1-based line number.
    pub line: usize,
    /// Stable code: `empty-term`, `whitespace`, `control-char`, `invalid-utf8`,
    /// `unknown-category`, `duplicate`, `category-conflict`, `overlong-term`, `short-term`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

/// A parsed keyword library.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    /// Short name (the file stem), used in rule ids: `lexicon:<name>`.
    pub name: String,
    /// Where it was read from.
    pub path: String,
    /// Every usable term line, in file order (duplicates included).
    pub terms: Vec<Term>,
    /// Whether any line carried a category.
    pub has_categories: bool,
    /// Problems found while parsing.
    pub issues: Vec<Issue>,
}

/// A distinct normalised term with everything the lines that spell it say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueTerm {
    /// The normalised form.
    pub norm: String,
    /// The first spelling in the file.
    pub text: String,
    /// Union of the categories of every line.
    pub categories: Vec<String>,
    /// The lines (1-based).
    pub lines: Vec<usize>,
}

/// Options for parsing.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// Terms longer than this many characters are reported as overlong.
    pub max_term_chars: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions { max_term_chars: 32 }
    }
}

fn is_header(line: &str) -> bool {
    let l = line.trim().to_ascii_lowercase();
    let mut parts = l.split(',').map(str::trim);
    matches!(
        parts.next(),
        Some("term" | "keyword" | "词" | "关键词" | "敏感词")
    ) && matches!(
        parts.next(),
        None | Some("category" | "类别" | "分类" | "risk")
    )
}

/// Parses a library file. Never fails: problems are returned as [`Issue`]s.
pub fn parse(
    name: &str,
    path: &str,
    content: &[u8],
    req: &Requirements,
    lib: Option<&Library>,
    opts: ParseOptions,
) -> Lexicon {
    let mut lex = Lexicon {
        name: name.to_string(),
        path: path.to_string(),
        ..Lexicon::default()
    };
    let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    let mut csv_mode = false;
    let mut first = true;
    for (i, raw) in content.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Ok(line) = std::str::from_utf8(raw) else {
            lex.issues.push(Issue {
                line: line_no,
                code: "invalid-utf8",
                message: "line is not valid UTF-8; skipped".into(),
            });
            continue;
        };
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if first {
            first = false;
            if is_header(line) {
                csv_mode = true;
                continue;
            }
        }
        let (term, cat) = if csv_mode {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(line.as_bytes());
            let mut rec = csv::StringRecord::new();
            match r.read_record(&mut rec) {
                Ok(true) => (
                    rec.get(0).unwrap_or("").to_string(),
                    rec.get(1).unwrap_or("").to_string(),
                ),
                _ => {
                    lex.issues.push(Issue {
                        line: line_no,
                        code: "invalid-csv",
                        message: "line is not a valid CSV row; skipped".into(),
                    });
                    continue;
                }
            }
        } else {
            let mut cols = line.split('\t');
            (
                cols.next().unwrap_or("").to_string(),
                cols.next().unwrap_or("").to_string(),
            )
        };
        add_line(&mut lex, line_no, &term, &cat, req, lib, opts);
    }
    check_duplicates(&mut lex);
    lex
}

fn add_line(
    lex: &mut Lexicon,
    line: usize,
    term: &str,
    cat: &str,
    req: &Requirements,
    lib: Option<&Library>,
    opts: ParseOptions,
) {
    let trimmed = term.trim();
    if trimmed.len() != term.len() {
        lex.issues.push(Issue {
            line,
            code: "whitespace",
            message: format!("term {trimmed:?} has leading or trailing whitespace (trimmed)"),
        });
    }
    if trimmed.is_empty() {
        lex.issues.push(Issue {
            line,
            code: "empty-term",
            message: "empty term; skipped".into(),
        });
        return;
    }
    if trimmed.chars().any(char::is_control) {
        lex.issues.push(Issue {
            line,
            code: "control-char",
            message: format!("term {trimmed:?} contains control characters"),
        });
    }
    let norm = normalize_term(trimmed);
    if norm.trim().is_empty() {
        lex.issues.push(Issue {
            line,
            code: "empty-term",
            message: format!("term {trimmed:?} is empty after normalisation; skipped"),
        });
        return;
    }
    let chars = trimmed.chars().count();
    if chars > opts.max_term_chars {
        lex.issues.push(Issue {
            line,
            code: "overlong-term",
            message: format!(
                "term is {chars} characters long (more than {}): {}…",
                opts.max_term_chars,
                trimmed.chars().take(20).collect::<String>()
            ),
        });
    }
    let cjk = trimmed.chars().any(|c| c as u32 >= 0x2E80);
    if (cjk && chars == 1) || (!cjk && norm.len() <= 2) {
        lex.issues.push(Issue {
            line,
            code: "short-term",
            message: format!("term {trimmed:?} is very short and will match inside many words"),
        });
    }
    let mut categories = Vec::new();
    for c in cat.split([';', '|']).map(str::trim) {
        if c.is_empty() || c == "-" {
            continue;
        }
        lex.has_categories = true;
        match req.resolve_category(lib, c) {
            Ok(cite) => {
                if !categories.contains(&cite) {
                    categories.push(cite);
                }
            }
            Err(e) => lex.issues.push(Issue {
                line,
                code: "unknown-category",
                message: e,
            }),
        }
    }
    lex.terms.push(Term {
        text: trimmed.to_string(),
        norm,
        categories,
        line,
    });
}

fn check_duplicates(lex: &mut Lexicon) {
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut issues = Vec::new();
    for (i, t) in lex.terms.iter().enumerate() {
        match seen.get(t.norm.as_str()) {
            Some(&j) => {
                let first = &lex.terms[j];
                let same = if first.text == t.text {
                    String::new()
                } else {
                    format!(" (as {:?})", first.text)
                };
                issues.push(Issue {
                    line: t.line,
                    code: "duplicate",
                    message: format!("term {:?} duplicates line {}{same}", t.text, first.line),
                });
                if first.categories != t.categories {
                    issues.push(Issue {
                        line: t.line,
                        code: "category-conflict",
                        message: format!(
                            "term {:?} has categories [{}] here but [{}] on line {}",
                            t.text,
                            t.categories.join("; "),
                            first.categories.join("; "),
                            first.line
                        ),
                    });
                }
            }
            None => {
                seen.insert(&t.norm, i);
            }
        }
    }
    lex.issues.extend(issues);
    lex.issues.sort_by_key(|i| i.line);
}

impl Lexicon {
    /// The distinct normalised terms, in order of first appearance.
    pub fn unique(&self) -> Vec<UniqueTerm> {
        let mut idx: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let mut out: Vec<UniqueTerm> = Vec::new();
        for t in &self.terms {
            match idx.get(t.norm.as_str()) {
                Some(&i) => {
                    let u = &mut out[i];
                    u.lines.push(t.line);
                    for c in &t.categories {
                        if !u.categories.contains(c) {
                            u.categories.push(c.clone());
                        }
                    }
                }
                None => {
                    idx.insert(&t.norm, out.len());
                    out.push(UniqueTerm {
                        norm: t.norm.clone(),
                        text: t.text.clone(),
                        categories: t.categories.clone(),
                        lines: vec![t.line],
                    });
                }
            }
        }
        out
    }

    /// Issues that make the library unusable for a scan (unknown categories, unreadable
    /// lines), formatted `file:line: message`.
    pub fn errors(&self) -> Vec<String> {
        self.issues
            .iter()
            .filter(|i| matches!(i.code, "unknown-category" | "invalid-utf8" | "invalid-csv"))
            .map(|i| format!("{}:{}: {}", self.path, i.line, i.message))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> (Library, Requirements) {
        let lib = Library::builtin().unwrap();
        let r = Requirements::new(&lib).unwrap();
        (lib, r)
    }

    #[test]
    fn parses_tsv_with_categories_and_reports_problems() {
        let (lib, r) = req();
        let src = "\u{feff}# comment\n炸药\tA.1 d)\nBomb\tA.1d;A.1 f)\n ＢＯＭＢ \tA.1 d)\n\n\tA.1 d)\nx\tZ.9\n";
        let lex = parse(
            "t",
            "t.tsv",
            src.as_bytes(),
            &r,
            Some(&lib),
            ParseOptions::default(),
        );
        assert_eq!(lex.terms.len(), 4);
        assert!(lex.has_categories);
        assert_eq!(lex.terms[0].categories, vec!["gbt-45654@2025:A.1 d)"]);
        assert_eq!(lex.terms[1].norm, "bomb");
        let codes: Vec<(&str, usize)> = lex.issues.iter().map(|i| (i.code, i.line)).collect();
        assert!(codes.contains(&("whitespace", 4)), "{codes:?}");
        assert!(codes.contains(&("duplicate", 4)), "{codes:?}");
        assert!(codes.contains(&("category-conflict", 4)), "{codes:?}");
        assert!(codes.contains(&("empty-term", 6)), "{codes:?}");
        assert!(codes.contains(&("unknown-category", 7)), "{codes:?}");
        assert!(codes.contains(&("short-term", 7)), "{codes:?}");
        assert_eq!(lex.errors().len(), 1);
        assert!(lex.errors()[0].starts_with("t.tsv:7: "));
        let u = lex.unique();
        assert_eq!(u.len(), 3);
        assert_eq!(u[1].lines, vec![3, 4]);
        assert_eq!(u[1].categories.len(), 2);
    }

    #[test]
    fn parses_csv_with_header() {
        let (lib, r) = req();
        let src = "term,category\n\"a, b\",A.2 a)\nplain,\n";
        let lex = parse(
            "c",
            "c.csv",
            src.as_bytes(),
            &r,
            Some(&lib),
            ParseOptions::default(),
        );
        assert_eq!(lex.terms.len(), 2);
        assert_eq!(lex.terms[0].text, "a, b");
        assert_eq!(lex.terms[0].categories, vec!["gbt-45654@2025:A.2 a)"]);
        assert!(lex.terms[1].categories.is_empty());
    }
}
