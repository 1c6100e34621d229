//! Ranked full-text search over catalog items, in Chinese and English.
//!
//! Chinese has no spaces, so matching is by substring on normalised text (case-folded,
//! full-width ASCII folded to half-width). A Chinese term that does not occur verbatim still
//! matches when most of its character bigrams occur in the field, so that near variants
//! ("数据泄漏" for "数据泄露") are found with a lower score. Every query term must match
//! somewhere in the item (title, text, ref or tags).

use crate::library::Library;
use crate::model::{Catalog, Item, Kind, Lang};

/// One search hit.
#[derive(Debug, Clone)]
pub struct Hit<'a> {
    /// The catalog.
    pub catalog: &'a Catalog,
    /// The item.
    pub item: &'a Item,
    /// Relevance; higher is better.
    pub score: f64,
    /// Where the query matched (`ref`, `title`, `text`, `tags`).
    pub matched: Vec<&'static str>,
}

/// What to search.
#[derive(Debug, Clone, Default)]
pub struct Query<'q> {
    /// The text typed by the user.
    pub text: &'q str,
    /// Restrict to one catalog id (all its versions unless `version` is given).
    pub catalog: Option<&'q str>,
    /// Restrict to one version of that catalog.
    pub version: Option<&'q str>,
    /// Restrict to one kind.
    pub kind: Option<Kind>,
    /// Search older versions too (by default only the newest version of each catalog).
    pub all_versions: bool,
    /// The most hits to return (0 = no limit).
    pub limit: usize,
}

/// Folds case and full-width forms so that `ＡＩ`, `Ai` and `ai` compare equal.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '“' | '”' | '「' | '」' | '『' | '』' => '"',
            '‘' | '’' => '\'',
            _ => c,
        };
        for l in c.to_lowercase() {
            out.push(l);
        }
    }
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// Splits a query into terms: whitespace separates; quoted phrases stay whole.
fn terms(q: &str) -> Vec<String> {
    let n = normalize(q);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in n.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                if !cur.trim().is_empty() {
                    out.push(cur.trim().to_string());
                }
                cur.clear();
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out.retain(|t| !t.is_empty());
    out
}

/// How well `term` occurs in `field` (0 = not at all, 1 = verbatim).
fn term_match(term: &str, field: &str) -> f64 {
    if field.contains(term) {
        return 1.0;
    }
    let chars: Vec<char> = term.chars().collect();
    if chars.len() >= 3 && chars.iter().all(|&c| is_cjk(c)) {
        let bigrams: Vec<String> = chars.windows(2).map(|w| w.iter().collect()).collect();
        let found = bigrams
            .iter()
            .filter(|b| field.contains(b.as_str()))
            .count();
        let share = found as f64 / bigrams.len() as f64;
        if share >= 0.6 {
            return 0.5 * share;
        }
    }
    0.0
}

struct Fields {
    r#ref: String,
    title: String,
    text: String,
    tags: String,
}

fn fields(it: &Item) -> Fields {
    let join = |a: Option<&str>, b: Option<&str>| {
        let mut s = normalize(a.unwrap_or(""));
        s.push('\n');
        s.push_str(&normalize(b.unwrap_or("")));
        s
    };
    Fields {
        r#ref: normalize(&it.r#ref),
        title: join(it.title.get(Lang::Zh), it.title.get(Lang::En)),
        text: it
            .text
            .as_ref()
            .map(|t| join(t.get(Lang::Zh), t.get(Lang::En)))
            .unwrap_or_default(),
        tags: normalize(&it.tags.join(" ")),
    }
}

fn score_item(terms: &[String], whole: &str, f: &Fields) -> Option<(f64, Vec<&'static str>)> {
    let mut score = 0.0;
    let mut matched = Vec::new();
    let mark = |m: &'static str, matched: &mut Vec<&'static str>| {
        if !matched.contains(&m) {
            matched.push(m);
        }
    };
    if f.r#ref == whole {
        score += 100.0;
        mark("ref", &mut matched);
    } else if !whole.is_empty() && f.r#ref.starts_with(whole) {
        score += 20.0;
        mark("ref", &mut matched);
    }
    for t in terms {
        let in_ref: f64 = if f.r#ref.contains(t.as_str()) {
            1.0
        } else {
            0.0
        };
        let in_title = term_match(t, &f.title);
        let in_text = term_match(t, &f.text);
        let in_tags = if f.tags.contains(t.as_str()) {
            1.0
        } else {
            0.0
        };
        let best = in_ref.max(in_title).max(in_text).max(in_tags);
        if best == 0.0 && score < 100.0 {
            return None;
        }
        if in_ref > 0.0 {
            score += 4.0;
            mark("ref", &mut matched);
        }
        if in_title > 0.0 {
            // Title hits count most; a title that is mostly the term counts more.
            let density =
                (t.chars().count() as f64 / f.title.chars().count().max(1) as f64).min(1.0);
            score += 10.0 * in_title + 5.0 * density;
            mark("title", &mut matched);
        }
        if in_text > 0.0 {
            score += 3.0 * in_text;
            mark("text", &mut matched);
        }
        if in_tags > 0.0 {
            score += 2.0;
            mark("tags", &mut matched);
        }
    }
    (score > 0.0).then_some((score, matched))
}

/// Searches the library. Hits come best first; ties keep catalog and item order.
pub fn search<'a>(lib: &'a Library, q: &Query<'_>) -> Vec<Hit<'a>> {
    let ts = terms(q.text);
    let whole = normalize(q.text.trim());
    if ts.is_empty() {
        return Vec::new();
    }
    let mut hits = Vec::new();
    for c in lib.catalogs() {
        if let Some(id) = q.catalog
            && c.id != id
        {
            continue;
        }
        if let Some(v) = q.version
            && c.version.as_str() != v
        {
            continue;
        }
        if q.version.is_none() && !q.all_versions {
            let newest = lib.get(&c.id, None).map(|n| n.version.as_str());
            if newest != Some(c.version.as_str()) {
                continue;
            }
        }
        for it in &c.items {
            if let Some(k) = q.kind
                && it.kind != k
            {
                continue;
            }
            if let Some((score, matched)) = score_item(&ts, &whole, &fields(it)) {
                hits.push(Hit {
                    catalog: c,
                    item: it,
                    score,
                    matched,
                });
            }
        }
    }
    hits.sort_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if q.limit > 0 {
        hits.truncate(q.limit);
    }
    hits
}
