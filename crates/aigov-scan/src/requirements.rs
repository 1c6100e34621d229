//! What the scanners read from the catalogs: GB/T 45654 thresholds (by stable metric id) and
//! the risks that keyword categories map to. Nothing here hard-codes a number.

use aigov_catalog::{Catalog, Cite, Item, Kind, Library, Threshold};

use crate::ScanError;

/// The catalog of the corpus requirements.
pub const GBT: &str = "gbt-45654";

/// Metric: share of illegal or harmful records in one corpus source (`<=`, percent).
pub const SOURCE_HARMFUL_SHARE: &str = "corpus-source.harmful-share";
/// Metric: qualified rate of the manual corpus sample (`>=`, percent).
pub const SAMPLE_QUALIFIED_RATE: &str = "corpus-sample.qualified-rate";
/// Metric: size of the manual corpus sample (`>=`, samples).
pub const SAMPLE_SIZE: &str = "corpus-sample.size";
/// Metric: total keyword-library size (`>=`, terms).
pub const LEXICON_SIZE: &str = "keyword-library.size";
/// Metric: keywords per risk (`>=`, terms, per risk of a scope).
pub const LEXICON_PER_RISK: &str = "keyword-library.per-risk";

/// A threshold item with its citation.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdRef {
    /// `gbt-45654@2025:TH-…`.
    pub cite: String,
    /// The item's English title (or Chinese when there is no English).
    pub title: String,
    /// The requirement.
    pub threshold: Threshold,
}

impl ThresholdRef {
    /// `<= 5 percent`, `>= 10000 terms`.
    pub fn describe(&self) -> String {
        let t = &self.threshold;
        let unit = if t.unit == "percent" { "%" } else { &t.unit };
        let sep = if t.unit == "percent" { "" } else { " " };
        format!("{} {}{sep}{unit}", t.comparison.as_str(), fmt_num(t.value))
    }
}

impl serde::Serialize for ThresholdRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let t = &self.threshold;
        let mut st = s.serialize_struct("ThresholdRef", 9)?;
        st.serialize_field("cite", &self.cite)?;
        st.serialize_field("title", &self.title)?;
        st.serialize_field("metric", &t.metric)?;
        st.serialize_field("comparison", t.comparison.as_str())?;
        st.serialize_field("value", &t.value)?;
        st.serialize_field("unit", &t.unit)?;
        st.serialize_field("scope", &t.scope)?;
        st.serialize_field("per", t.per.as_str())?;
        st.serialize_field("text", &self.describe())?;
        st.end()
    }
}

/// `5`, `96`, `0.5`: numbers without a trailing `.0`.
pub fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The GB/T 45654 catalog (newest version in the library) and lookups on it.
#[derive(Debug, Clone)]
pub struct Requirements {
    catalog: Catalog,
}

impl Requirements {
    /// From a library (built-in plus imported catalogs).
    pub fn new(lib: &Library) -> Result<Requirements, ScanError> {
        let catalog = lib
            .get(GBT, None)
            .ok_or_else(|| ScanError::Catalog(format!("catalog {GBT} is not loaded")))?
            .clone();
        Ok(Requirements { catalog })
    }

    /// From the built-in catalogs.
    pub fn builtin() -> Result<Requirements, ScanError> {
        let lib = Library::builtin()
            .map_err(|d| ScanError::Catalog(format!("built-in catalogs are invalid: {d}")))?;
        Requirements::new(&lib)
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// `gbt-45654@2025:<ref>`.
    pub fn cite(&self, r: &str) -> String {
        format!("{}@{}:{r}", self.catalog.id, self.catalog.version.as_str())
    }

    /// Every threshold with this metric, in catalog order.
    pub fn thresholds(&self, metric: &str) -> Vec<ThresholdRef> {
        self.catalog
            .items
            .iter()
            .filter_map(|it| {
                let t = it.threshold.as_ref()?;
                (t.metric == metric).then(|| ThresholdRef {
                    cite: self.cite(&it.r#ref),
                    title: it
                        .title
                        .en
                        .clone()
                        .or_else(|| it.title.zh.clone())
                        .unwrap_or_default(),
                    threshold: t.clone(),
                })
            })
            .collect()
    }

    /// The one threshold with this metric; an error names the metric when it is missing.
    pub fn threshold(&self, metric: &str) -> Result<ThresholdRef, ScanError> {
        self.thresholds(metric).into_iter().next().ok_or_else(|| {
            ScanError::Catalog(format!(
                "catalog {} has no threshold with metric {metric}",
                self.catalog.key()
            ))
        })
    }

    /// The risk item with this ref.
    pub fn risk(&self, r: &str) -> Option<&Item> {
        self.catalog.item(r).filter(|it| it.kind == Kind::Risk)
    }

    /// The risks at or below `scope` (e.g. `A.1`), in catalog order.
    pub fn risks_in(&self, scope: &str) -> Vec<&Item> {
        self.catalog
            .of_kind(Kind::Risk)
            .filter(|it| self.catalog.is_within(&it.r#ref, scope))
            .collect()
    }

    /// The item's title in English, else Chinese.
    pub fn title(&self, r: &str) -> Option<(String, String)> {
        let it = self.catalog.item(r)?;
        Some((
            it.title.zh.clone().unwrap_or_default(),
            it.title.en.clone().unwrap_or_default(),
        ))
    }

    /// Resolves a keyword category as written in a library file to a citation.
    ///
    /// Accepts a GB/T 45654 risk in the spellings people use (`A.1 d)`, `A.1d`, `a1d`,
    /// `gbt-45654@2025:A.1 d)`) and, through `lib`, a citation of any catalog item
    /// (`tc260-aisgf@1.0:3.1.2(b)`).
    pub fn resolve_category(&self, lib: Option<&Library>, s: &str) -> Result<String, String> {
        let s = s.trim();
        let local = s
            .strip_prefix(&format!(
                "{}@{}:",
                self.catalog.id,
                self.catalog.version.as_str()
            ))
            .or_else(|| s.strip_prefix(&format!("{}:", self.catalog.id)));
        let bare = local.unwrap_or(s);
        if let Some(it) = self.catalog.item(bare) {
            return match it.kind {
                Kind::Risk => Ok(self.cite(bare)),
                Kind::RiskCategory => Err(format!(
                    "{bare} is a risk category of {}; name one of its risks (e.g. {bare} a))",
                    self.catalog.key()
                )),
                _ => Err(format!("{bare} is not a risk of {}", self.catalog.key())),
            };
        }
        if let Some(r) = parse_appendix_ref(bare) {
            return match self.catalog.item(&r) {
                Some(it) if it.kind == Kind::Risk => Ok(self.cite(&r)),
                Some(_) => Err(format!(
                    "{r} is a risk category of {}; name one of its risks (e.g. {r} a))",
                    self.catalog.key()
                )),
                None => Err(format!("{} has no risk {r}", self.catalog.key())),
            };
        }
        if local.is_some() {
            return Err(format!("{s:?} is not a risk of {}", self.catalog.key()));
        }
        if s.contains(':') {
            let lib = lib.ok_or_else(|| format!("cannot resolve {s:?} without the catalogs"))?;
            let cite = Cite::parse(s)?;
            let (c, it) = lib.cite(&cite).map_err(|e| e.to_string())?;
            return Ok(format!("{}@{}:{}", c.id, c.version.as_str(), it.r#ref));
        }
        Err(format!(
            "unknown category {s:?}: expected a GB/T 45654 risk such as \"A.1 d)\" or a citation such as \"tc260-aisgf@1.0:3.1.2(b)\""
        ))
    }
}

/// `A.1 d)`, `A.1d`, `a1d`, `A.1.d`, `A.1 d` → `A.1 d)`.
pub fn parse_appendix_ref(s: &str) -> Option<String> {
    let b: Vec<char> = s.trim().chars().collect();
    let mut i = 0;
    if !matches!(b.first(), Some('A' | 'a')) {
        return None;
    }
    i += 1;
    if b.get(i) == Some(&'.') {
        i += 1;
    }
    let ds = i;
    while b.get(i).is_some_and(char::is_ascii_digit) {
        i += 1;
    }
    if i == ds {
        return None;
    }
    let num: String = b[ds..i].iter().collect();
    while matches!(b.get(i), Some(' ' | '.' | '\u{3000}')) {
        i += 1;
    }
    let letter = b.get(i)?.to_ascii_lowercase();
    if !letter.is_ascii_lowercase() {
        return None;
    }
    i += 1;
    if matches!(b.get(i), Some(')' | '）')) {
        i += 1;
    }
    (i == b.len()).then(|| format!("A.{num} {letter})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appendix_refs() {
        for s in ["A.1 d)", "A.1d", "a1d", "A.1.d", "A.1 d", "A.1 D）"] {
            assert_eq!(parse_appendix_ref(s).as_deref(), Some("A.1 d)"), "{s}");
        }
        assert_eq!(parse_appendix_ref("A.12 b)").as_deref(), Some("A.12 b)"));
        assert_eq!(parse_appendix_ref("A.1"), None);
        assert_eq!(parse_appendix_ref("B.1 a)"), None);
        assert_eq!(parse_appendix_ref("A.1 dd"), None);
    }

    #[test]
    fn thresholds_and_categories_come_from_the_catalog() {
        let lib = Library::builtin().unwrap();
        let r = Requirements::new(&lib).unwrap();
        let t = r.threshold(SOURCE_HARMFUL_SHARE).unwrap();
        assert_eq!(t.describe(), "<= 5%");
        assert!(t.cite.starts_with("gbt-45654@2025:"));
        assert_eq!(r.thresholds(LEXICON_PER_RISK).len(), 2);
        assert_eq!(r.risks_in("A.1").len(), 8);
        assert_eq!(r.risks_in("A.2").len(), 9);
        assert_eq!(
            r.resolve_category(Some(&lib), "A.1d").unwrap(),
            "gbt-45654@2025:A.1 d)"
        );
        assert_eq!(
            r.resolve_category(Some(&lib), "gbt-45654@2025:A.2 a)")
                .unwrap(),
            "gbt-45654@2025:A.2 a)"
        );
        assert!(
            r.resolve_category(Some(&lib), "A.1")
                .unwrap_err()
                .contains("risk category")
        );
        assert!(
            r.resolve_category(Some(&lib), "A.1 z)")
                .unwrap_err()
                .contains("no risk")
        );
        assert_eq!(
            r.resolve_category(Some(&lib), "tc260-aisgf@1.0:3.1.2(b)")
                .unwrap(),
            "tc260-aisgf@1.0:3.1.2(b)"
        );
        assert!(r.resolve_category(Some(&lib), "violence").is_err());
    }
}
