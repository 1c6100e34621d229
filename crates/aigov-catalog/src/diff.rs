//! Differences between two catalogs (usually two versions of one framework), item by item.

use crate::model::*;

/// What changed in one item.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Only in the newer catalog.
    Added(String),
    /// Only in the older catalog.
    Removed(String),
    /// In both, with these fields different: `(field, old, new)`.
    Changed(String, Vec<(&'static str, String, String)>),
}

impl Change {
    /// The item ref concerned.
    pub fn r#ref(&self) -> &str {
        match self {
            Change::Added(r) | Change::Removed(r) | Change::Changed(r, _) => r,
        }
    }
}

fn show_text(t: &Option<Text>, l: Lang) -> String {
    t.as_ref().and_then(|t| t.get(l)).unwrap_or("").to_string()
}

fn show_links(it: &Item) -> String {
    it.links
        .iter()
        .map(|l| {
            format!(
                "{} {}{}",
                l.rel.as_str(),
                l.to,
                if l.basis == LinkBasis::Stated {
                    " (stated)"
                } else {
                    ""
                }
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn show_threshold(it: &Item) -> String {
    it.threshold
        .as_ref()
        .map(|t| {
            format!(
                "{} {} {} {} [{}] per {}",
                t.metric,
                t.comparison.as_str(),
                t.value,
                t.unit,
                t.scope.join(", "),
                t.per.as_str()
            )
        })
        .unwrap_or_default()
}

/// Item-level differences from `old` to `new`, in the order of `old` then added items.
pub fn diff(old: &Catalog, new: &Catalog) -> Vec<Change> {
    let mut out = Vec::new();
    for a in &old.items {
        match new.item(&a.r#ref) {
            None => out.push(Change::Removed(a.r#ref.clone())),
            Some(b) => {
                let mut f = Vec::new();
                let mut cmp = |name: &'static str, x: String, y: String| {
                    if x != y {
                        f.push((name, x, y));
                    }
                };
                cmp("kind", a.kind.to_string(), b.kind.to_string());
                cmp(
                    "parent",
                    a.parent.clone().unwrap_or_default(),
                    b.parent.clone().unwrap_or_default(),
                );
                cmp(
                    "title.zh",
                    show_text(&Some(a.title.clone()), Lang::Zh),
                    show_text(&Some(b.title.clone()), Lang::Zh),
                );
                cmp(
                    "title.en",
                    show_text(&Some(a.title.clone()), Lang::En),
                    show_text(&Some(b.title.clone()), Lang::En),
                );
                cmp(
                    "text.zh",
                    show_text(&a.text, Lang::Zh),
                    show_text(&b.text, Lang::Zh),
                );
                cmp(
                    "text.en",
                    show_text(&a.text, Lang::En),
                    show_text(&b.text, Lang::En),
                );
                cmp("tags", a.tags.join(", "), b.tags.join(", "));
                cmp("links", show_links(a), show_links(b));
                cmp(
                    "provenance.status",
                    a.provenance.status.as_str().into(),
                    b.provenance.status.as_str().into(),
                );
                cmp("threshold", show_threshold(a), show_threshold(b));
                if !f.is_empty() {
                    out.push(Change::Changed(a.r#ref.clone(), f));
                }
            }
        }
    }
    for b in &new.items {
        if old.item(&b.r#ref).is_none() {
            out.push(Change::Added(b.r#ref.clone()));
        }
    }
    out
}
