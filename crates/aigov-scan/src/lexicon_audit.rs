//! `aigov scan lexicon`: a keyword library checked against GB/T 45654.
//!
//! Reads the requirements from the catalog (`keyword-library.size` over its scope and
//! `keyword-library.per-risk` for each risk of each scope, e.g. A.1 and A.2), counts distinct
//! normalised terms per GB/T 45654 risk, and reports the file's problems: duplicates (also after
//! width and case folding), empty, overlong and very short terms, unknown categories, and terms
//! that occur inside common words (they will match everyday text).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::lexicon::{Issue, Lexicon};
use crate::requirements::{LEXICON_PER_RISK, LEXICON_SIZE, Requirements, ThresholdRef};
use crate::text::normalize_term;

/// The built-in list of common Chinese and English words.
pub const COMMON_WORDS: &str = include_str!("../data/common-words.txt");

/// Words of a common-words file (whitespace separated; `#` starts a comment line).
pub fn parse_words(s: &str) -> Vec<String> {
    s.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.split_whitespace().map(str::to_string))
        .collect()
}

/// The count of one risk against its minimum.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskCount {
    /// `gbt-45654@2025:A.1 d)`.
    pub cite: String,
    /// Chinese title.
    pub title_zh: String,
    /// English title.
    pub title_en: String,
    /// Distinct terms in this category.
    pub terms: u64,
    /// The minimum.
    pub minimum: f64,
    /// The requirement it comes from.
    pub requirement: String,
    /// Whether the count meets it.
    pub met: bool,
}

/// A term that occurs inside common words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InsideCommon {
    /// The term.
    pub term: String,
    /// First line.
    pub line: usize,
    /// Some of the words that contain it.
    pub words: Vec<String>,
}

/// The audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Audit {
    /// The file.
    pub file: String,
    /// Usable term lines.
    pub lines: u64,
    /// Distinct normalised terms.
    pub distinct: u64,
    /// Distinct terms with at least one category.
    pub categorized: u64,
    /// Whether the file has a category column at all.
    pub has_categories: bool,
    /// The total-size requirement.
    pub size_requirement: ThresholdRef,
    /// The count checked against it.
    pub size_counted: u64,
    /// How it was counted.
    pub size_note: String,
    /// Whether the size is met.
    pub size_met: bool,
    /// Per-risk counts.
    pub per_risk: Vec<RiskCount>,
    /// Risks below their minimum.
    pub risks_below: u64,
    /// Terms per category outside the per-risk scopes (other catalogs, A.3–A.5).
    pub other_categories: BTreeMap<String, u64>,
    /// Problems by code.
    pub issue_counts: BTreeMap<String, u64>,
    /// The problems (first 500).
    pub issues: Vec<IssueJson>,
    /// Terms inside common words.
    pub inside_common: Vec<InsideCommon>,
    /// Overall: size and every per-risk minimum met, no unknown categories.
    pub met: bool,
}

/// An issue, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssueJson {
    /// Line.
    pub line: usize,
    /// Code.
    pub code: String,
    /// Message.
    pub message: String,
}

impl From<&Issue> for IssueJson {
    fn from(i: &Issue) -> Self {
        IssueJson {
            line: i.line,
            code: i.code.to_string(),
            message: i.message.clone(),
        }
    }
}

/// Audits a parsed library. `common` are the words to look for terms in (normalised here).
pub fn audit(
    lex: &Lexicon,
    req: &Requirements,
    common: &[String],
) -> Result<Audit, crate::ScanError> {
    let unique = lex.unique();
    let size = req.threshold(LEXICON_SIZE)?;
    let per = req.thresholds(LEXICON_PER_RISK);
    let in_scope = |cite: &str, scope: &[String]| {
        cite.strip_prefix(&req.cite(""))
            .is_some_and(|r| scope.iter().any(|s| req.catalog().is_within(r, s)))
    };
    let (size_counted, size_note) = if !lex.has_categories {
        (
            unique.len() as u64,
            "the library has no category column: all distinct terms are counted".to_string(),
        )
    } else if size.threshold.scope.is_empty() {
        (unique.len() as u64, "all distinct terms".to_string())
    } else {
        let n = unique
            .iter()
            .filter(|u| {
                u.categories
                    .iter()
                    .any(|c| in_scope(c, &size.threshold.scope))
            })
            .count() as u64;
        (
            n,
            format!(
                "distinct terms with a category in {} ({} uncategorised or out-of-scope terms not counted)",
                size.threshold.scope.join(", "),
                unique.len() as u64 - n
            ),
        )
    };
    let size_met = size.threshold.holds(size_counted as f64);
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for u in &unique {
        for c in &u.categories {
            *counts.entry(c.as_str()).or_default() += 1;
        }
    }
    let mut per_risk = Vec::new();
    let mut covered = std::collections::HashSet::new();
    for t in &per {
        for scope in &t.threshold.scope {
            for risk in req.risks_in(scope) {
                let cite = req.cite(&risk.r#ref);
                let n = counts.get(cite.as_str()).copied().unwrap_or(0);
                covered.insert(cite.clone());
                per_risk.push(RiskCount {
                    title_zh: risk.title.zh.clone().unwrap_or_default(),
                    title_en: risk.title.en.clone().unwrap_or_default(),
                    terms: n,
                    minimum: t.threshold.value,
                    requirement: t.cite.clone(),
                    met: t.threshold.holds(n as f64),
                    cite,
                });
            }
        }
    }
    let other_categories: BTreeMap<String, u64> = counts
        .iter()
        .filter(|(c, _)| !covered.contains(**c))
        .map(|(c, n)| (c.to_string(), *n))
        .collect();
    let mut issue_counts: BTreeMap<String, u64> = BTreeMap::new();
    for i in &lex.issues {
        *issue_counts.entry(i.code.to_string()).or_default() += 1;
    }
    let inside_common = inside_common_words(&unique, common);
    if !inside_common.is_empty() {
        issue_counts.insert("inside-common-word".into(), inside_common.len() as u64);
    }
    let risks_below = per_risk.iter().filter(|r| !r.met).count() as u64;
    let unknown = issue_counts.contains_key("unknown-category");
    Ok(Audit {
        file: lex.path.clone(),
        lines: lex.terms.len() as u64,
        distinct: unique.len() as u64,
        categorized: unique.iter().filter(|u| !u.categories.is_empty()).count() as u64,
        has_categories: lex.has_categories,
        size_requirement: size,
        size_counted,
        size_note,
        size_met,
        met: size_met && risks_below == 0 && !unknown,
        per_risk,
        risks_below,
        other_categories,
        issue_counts,
        issues: lex.issues.iter().take(500).map(IssueJson::from).collect(),
        inside_common,
    })
}

fn inside_common_words(
    unique: &[crate::lexicon::UniqueTerm],
    common: &[String],
) -> Vec<InsideCommon> {
    if unique.is_empty() || common.is_empty() {
        return Vec::new();
    }
    let Ok(ac) = daachorse::CharwiseDoubleArrayAhoCorasickBuilder::new().build_with_values(
        unique
            .iter()
            .enumerate()
            .map(|(i, u)| (u.norm.as_str(), i as u32)),
    ) else {
        return Vec::new();
    };
    let mut found: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for w in common {
        let n = normalize_term(w);
        for m in ac.find_overlapping_iter(&n) {
            if m.end() - m.start() < n.len() {
                let e = found.entry(m.value()).or_default();
                if e.len() < 5 && !e.contains(w) {
                    e.push(w.clone());
                }
            }
        }
    }
    let mut out: Vec<InsideCommon> = found
        .into_iter()
        .map(|(i, words)| {
            let u = &unique[i as usize];
            InsideCommon {
                term: u.text.clone(),
                line: u.lines[0],
                words,
            }
        })
        .collect();
    out.sort_by_key(|x| x.line);
    out
}

/// The audit as Markdown.
pub fn markdown(a: &Audit) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let mark = |b: bool| if b { "met" } else { "**not met**" };
    let _ = writeln!(o, "# Keyword library audit: `{}`\n", a.file);
    let _ = writeln!(
        o,
        "{} term lines, {} distinct after normalisation, {} with a category. Overall: {}.\n",
        a.lines,
        a.distinct,
        a.categorized,
        mark(a.met)
    );
    let _ = writeln!(o, "## Size\n");
    let _ = writeln!(
        o,
        "`{}` ({}): {} — counted {} ({}): {}.\n",
        a.size_requirement.cite,
        a.size_requirement.title,
        a.size_requirement.describe(),
        a.size_counted,
        a.size_note,
        mark(a.size_met)
    );
    let _ = writeln!(o, "## Per risk\n");
    let _ = writeln!(o, "| risk | title | terms | minimum | verdict |");
    let _ = writeln!(o, "|---|---|---:|---:|---|");
    for r in &a.per_risk {
        let _ = writeln!(
            o,
            "| `{}` | {} | {} | {} | {} |",
            r.cite,
            r.title_zh,
            r.terms,
            crate::requirements::fmt_num(r.minimum),
            mark(r.met)
        );
    }
    if !a.other_categories.is_empty() {
        let _ = writeln!(
            o,
            "\nOther categories: {}",
            a.other_categories
                .iter()
                .map(|(c, n)| format!("`{c}` {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !a.issue_counts.is_empty() {
        let _ = writeln!(o, "\n## Problems\n");
        for (c, n) in &a.issue_counts {
            let _ = writeln!(o, "- `{c}`: {n}");
        }
        let _ = writeln!(o);
        for i in a.issues.iter().take(100) {
            let _ = writeln!(
                o,
                "- line {}: `{}` {}",
                i.line,
                i.code,
                i.message.replace('|', "\\|")
            );
        }
    }
    if !a.inside_common.is_empty() {
        let _ = writeln!(o, "\n## Terms inside common words\n");
        for t in &a.inside_common {
            let _ = writeln!(
                o,
                "- line {}: {:?} in {}",
                t.line,
                t.term,
                t.words.join(", ")
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_risk_and_finds_terms_in_common_words() {
        let lib = aigov_catalog::Library::builtin().unwrap();
        let req = Requirements::new(&lib).unwrap();
        let src = "炸弹\tA.1 d)\nbomb\tA.1 d)\nBOMB\tA.1 d)\nass\tA.1 f)\n性\tA.2 e)\nx\ttc260-aisgf@1.0:3.1.2(b)\n";
        let lex = crate::lexicon::parse(
            "k",
            "k.tsv",
            src.as_bytes(),
            &req,
            Some(&lib),
            Default::default(),
        );
        let a = audit(&lex, &req, &parse_words(COMMON_WORDS)).unwrap();
        assert_eq!(a.distinct, 5);
        assert!(!a.met && !a.size_met);
        assert_eq!(a.size_counted, 4);
        assert_eq!(a.per_risk.len(), 17);
        let d = a
            .per_risk
            .iter()
            .find(|r| r.cite.ends_with("A.1 d)"))
            .unwrap();
        assert_eq!((d.terms, d.minimum, d.met), (2, 200.0, false));
        assert_eq!(a.other_categories.get("tc260-aisgf@1.0:3.1.2(b)"), Some(&1));
        assert_eq!(a.issue_counts.get("duplicate"), Some(&1));
        let terms: Vec<&str> = a.inside_common.iter().map(|t| t.term.as_str()).collect();
        assert!(
            terms.contains(&"ass") && terms.contains(&"性") && terms.contains(&"bomb"),
            "{terms:?}"
        );
        assert!(markdown(&a).contains("**not met**"));
    }
}
