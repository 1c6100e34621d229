//! The catalog data model: catalogs, items, links, provenance, thresholds and mapping sets.
//!
//! These are the validated types. Files are read into the raw types of [`crate::load`] first and
//! become these only when they pass validation, so code holding a [`Catalog`] can rely on unique
//! refs, resolvable parents and links, and at least one language per title.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A language of catalog text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Chinese (simplified).
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The other language, used for fallback.
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// The code as written in files (`zh`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "zh" | "zh-CN" | "zh-cn" => Ok(Lang::Zh),
            "en" => Ok(Lang::En),
            other => Err(format!("unknown language {other:?} (expected zh or en)")),
        }
    }
}

/// Text in Chinese and/or English. At least one is present wherever the model holds a `Text`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    /// Chinese text.
    pub zh: Option<String>,
    /// English text.
    pub en: Option<String>,
}

impl Text {
    /// Text in both languages.
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Text {
        Text {
            zh: Some(zh.into()),
            en: Some(en.into()),
        }
    }

    /// Text in one language only.
    pub fn only(lang: Lang, s: impl Into<String>) -> Text {
        let mut t = Text::default();
        *t.slot_mut(lang) = Some(s.into());
        t
    }

    /// The text in `lang`, if present and not blank.
    pub fn get(&self, lang: Lang) -> Option<&str> {
        let s = match lang {
            Lang::Zh => self.zh.as_deref(),
            Lang::En => self.en.as_deref(),
        };
        s.filter(|s| !s.trim().is_empty())
    }

    fn slot_mut(&mut self, lang: Lang) -> &mut Option<String> {
        match lang {
            Lang::Zh => &mut self.zh,
            Lang::En => &mut self.en,
        }
    }

    /// The text in `lang`, else in the other language; `(text, fell_back)`.
    pub fn pick(&self, lang: Lang) -> (&str, bool) {
        match self.get(lang) {
            Some(s) => (s, false),
            None => (self.get(lang.other()).unwrap_or(""), true),
        }
    }

    /// True when neither language has non-blank text.
    pub fn is_empty(&self) -> bool {
        self.get(Lang::Zh).is_none() && self.get(Lang::En).is_none()
    }

    /// Drops blank strings so that "present" always means "non-blank".
    pub(crate) fn normalized(self) -> Text {
        let keep = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        Text {
            zh: keep(self.zh),
            en: keep(self.en),
        }
    }
}

/// What an item is. The set is closed: see `catalogs/README.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A guiding principle.
    Principle,
    /// A heading that groups other items.
    Section,
    /// A class or category of risks.
    RiskCategory,
    /// A risk.
    Risk,
    /// A technical or governance measure.
    Measure,
    /// A guideline addressed to an actor.
    Guideline,
    /// A requirement or expected outcome.
    Requirement,
    /// A control (e.g. ISO/IEC 42001 Annex A).
    Control,
    /// A machine-readable numeric requirement.
    Threshold,
}

impl Kind {
    /// Every kind, in documentation order.
    pub const ALL: [Kind; 9] = [
        Kind::Principle,
        Kind::Section,
        Kind::RiskCategory,
        Kind::Risk,
        Kind::Measure,
        Kind::Guideline,
        Kind::Requirement,
        Kind::Control,
        Kind::Threshold,
    ];

    /// The name as written in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Principle => "principle",
            Kind::Section => "section",
            Kind::RiskCategory => "risk-category",
            Kind::Risk => "risk",
            Kind::Measure => "measure",
            Kind::Guideline => "guideline",
            Kind::Requirement => "requirement",
            Kind::Control => "control",
            Kind::Threshold => "threshold",
        }
    }

    /// Parses a kind name.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// True for kinds an `addresses` link may point to.
    pub fn is_risk_like(self) -> bool {
        matches!(self, Kind::Risk | Kind::RiskCategory)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::parse(s).ok_or_else(|| {
            let names: Vec<_> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            format!("unknown kind {s:?} (expected one of {})", names.join(", "))
        })
    }
}

/// The relation of an intra-catalog link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkRel {
    /// The item treats the target risk.
    Addresses,
    /// Membership outside the parent tree.
    PartOf,
    /// See also.
    Related,
}

impl LinkRel {
    /// The name as written in files.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkRel::Addresses => "addresses",
            LinkRel::PartOf => "part_of",
            LinkRel::Related => "related",
        }
    }

    /// Parses a relation name.
    pub fn parse(s: &str) -> Option<LinkRel> {
        [LinkRel::Addresses, LinkRel::PartOf, LinkRel::Related]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// Where a link comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkBasis {
    /// The source document states it (e.g. an annex table).
    Stated,
    /// Our own reading.
    #[default]
    Inferred,
}

/// A link from one item to another item of the same catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The relation.
    pub rel: LinkRel,
    /// The target item's ref.
    pub to: String,
    /// Where the link comes from.
    pub basis: LinkBasis,
}

/// How sure we are of an item's wording and substance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProvenanceStatus {
    /// Checked against the document's own text.
    Verified,
    /// From a careful secondary source.
    Secondary,
    /// Recalled, not seen in any source.
    Recalled,
    /// Our own inference or structuring.
    Inferred,
}

impl ProvenanceStatus {
    /// The name as written in files.
    pub fn as_str(self) -> &'static str {
        match self {
            ProvenanceStatus::Verified => "verified",
            ProvenanceStatus::Secondary => "secondary",
            ProvenanceStatus::Recalled => "recalled",
            ProvenanceStatus::Inferred => "inferred",
        }
    }

    /// Parses a status name.
    pub fn parse(s: &str) -> Option<ProvenanceStatus> {
        use ProvenanceStatus::*;
        [Verified, Secondary, Recalled, Inferred]
            .into_iter()
            .find(|p| p.as_str() == s)
    }

    /// Verified or secondary.
    pub fn is_confirmed(self) -> bool {
        matches!(
            self,
            ProvenanceStatus::Verified | ProvenanceStatus::Secondary
        )
    }
}

/// Where an item's wording was checked, and whether it is confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// How sure we are.
    pub status: ProvenanceStatus,
    /// Where the wording was checked.
    pub source: String,
    /// What is not confirmed, or other remarks.
    pub note: Option<String>,
}

impl Provenance {
    /// Verified or secondary.
    pub fn confirmed(&self) -> bool {
        self.status.is_confirmed()
    }
}

/// A comparison operator of a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `<`
    Lt,
    /// `==`
    Eq,
}

impl Comparison {
    /// The operator as written in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Ge => ">=",
            Comparison::Gt => ">",
            Comparison::Le => "<=",
            Comparison::Lt => "<",
            Comparison::Eq => "==",
        }
    }

    /// Parses an operator.
    pub fn parse(s: &str) -> Option<Comparison> {
        use Comparison::*;
        [Ge, Gt, Le, Lt, Eq].into_iter().find(|c| c.as_str() == s)
    }

    /// Whether `actual` satisfies `actual <op> bound`.
    pub fn holds(self, actual: f64, bound: f64) -> bool {
        match self {
            Comparison::Ge => actual >= bound,
            Comparison::Gt => actual > bound,
            Comparison::Le => actual <= bound,
            Comparison::Lt => actual < bound,
            Comparison::Eq => (actual - bound).abs() < f64::EPSILON,
        }
    }
}

/// What a threshold's bound applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Per {
    /// The bound applies to the total over the scope.
    #[default]
    Total,
    /// The bound applies to each risk in the scope.
    Risk,
}

impl Per {
    /// The name as written in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Per::Total => "total",
            Per::Risk => "risk",
        }
    }
}

/// A machine-readable numeric requirement.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// Stable metric id, e.g. `refusal-sample.refusal-rate`.
    pub metric: String,
    /// The comparison the measured value must satisfy.
    pub comparison: Comparison,
    /// The bound.
    pub value: f64,
    /// The unit (`percent` means the value is in percent).
    pub unit: String,
    /// Refs in the same catalog the requirement covers.
    pub scope: Vec<String>,
    /// Whether the bound is on the total or per risk.
    pub per: Per,
}

impl Threshold {
    /// Whether `actual` satisfies the threshold.
    pub fn holds(&self, actual: f64) -> bool {
        self.comparison.holds(actual, self.value)
    }
}

/// One item of a catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The ref as the source numbers it.
    pub r#ref: String,
    /// The parent item's ref.
    pub parent: Option<String>,
    /// What the item is.
    pub kind: Kind,
    /// The title (at least one language).
    pub title: Text,
    /// Our paraphrase of the item's text.
    pub text: Option<Text>,
    /// Namespaced tags (`role:service-provider`, `stage:train`, …).
    pub tags: Vec<String>,
    /// Links to other items of the same catalog.
    pub links: Vec<Link>,
    /// Where the wording was checked.
    pub provenance: Provenance,
    /// The numeric requirement, for `threshold` items.
    pub threshold: Option<Threshold>,
}

impl Item {
    /// Whether the item carries the tag.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

/// A catalog version: dot-separated numbers with an optional `-suffix`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    raw: String,
    parts: Vec<u64>,
    suffix: Option<String>,
}

impl Version {
    /// Parses a version such as `1.0`, `2025` or `2024.1-draft`.
    pub fn parse(s: &str) -> Result<Version, String> {
        let bad = || {
            format!(
                "malformed version {s:?} (expected numbers separated by dots, optionally followed by -suffix, e.g. 1.0 or 2025)"
            )
        };
        let (num, suffix) = match s.split_once('-') {
            Some((n, suf)) => {
                if suf.is_empty() || !suf.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
                    return Err(bad());
                }
                (n, Some(suf.to_string()))
            }
            None => (s, None),
        };
        let mut parts = Vec::new();
        for p in num.split('.') {
            if p.is_empty() || p.len() > 18 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            parts.push(p.parse::<u64>().map_err(|_| bad())?);
        }
        Ok(Version {
            raw: s.to_string(),
            parts,
            suffix,
        })
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let n = self.parts.len().max(other.parts.len());
        for i in 0..n {
            let a = self.parts.get(i).copied().unwrap_or(0);
            let b = other.parts.get(i).copied().unwrap_or(0);
            match a.cmp(&b) {
                std::cmp::Ordering::Equal => {}
                o => return o,
            }
        }
        // A release sorts after its pre-releases: 1.0-draft < 1.0.
        match (&self.suffix, &other.suffix) {
            (None, None) => self.raw.cmp(&other.raw),
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (Some(a), Some(b)) => a.cmp(b).then_with(|| self.raw.cmp(&other.raw)),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// `id@version`, the key of a catalog.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CatalogKey {
    /// The catalog id.
    pub id: String,
    /// The version.
    pub version: String,
}

impl CatalogKey {
    /// Parses `id@version`.
    pub fn parse(s: &str) -> Result<CatalogKey, String> {
        let (id, version) = s
            .split_once('@')
            .ok_or_else(|| format!("{s:?} is not of the form <id>@<version>"))?;
        check_id(id)?;
        Version::parse(version)?;
        Ok(CatalogKey {
            id: id.to_string(),
            version: version.to_string(),
        })
    }
}

impl fmt::Display for CatalogKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.id, self.version)
    }
}

/// Checks a catalog or mapping-set id: lowercase kebab-case.
pub fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid id {id:?} (expected lowercase letters, digits and '-', e.g. tc260-aisgf)"
        ))
    }
}

/// A validated catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// The id (`tc260-aisgf`).
    pub id: String,
    /// The version.
    pub version: Version,
    /// The title.
    pub title: Text,
    /// Who published the source document.
    pub publisher: Option<Text>,
    /// Publication date (`YYYY-MM-DD`, `YYYY-MM` or `YYYY`).
    pub published: Option<String>,
    /// Where the source document is.
    pub source_url: Option<String>,
    /// Languages the catalog text is written in.
    pub languages: Vec<Lang>,
    /// What the document is.
    pub description: Option<Text>,
    /// Caveats, predecessors and successors.
    pub notes: Option<Text>,
    /// The items, in file order.
    pub items: Vec<Item>,
    index: HashMap<String, usize>,
}

impl Catalog {
    /// Builds a catalog from validated parts. Callers must have checked ref uniqueness.
    pub(crate) fn assemble(mut header: CatalogHeader, items: Vec<Item>) -> Catalog {
        let index = items
            .iter()
            .enumerate()
            .map(|(i, it)| (it.r#ref.clone(), i))
            .collect();
        header.languages.dedup();
        Catalog {
            id: header.id,
            version: header.version,
            title: header.title,
            publisher: header.publisher,
            published: header.published,
            source_url: header.source_url,
            languages: header.languages,
            description: header.description,
            notes: header.notes,
            items,
            index,
        }
    }

    /// `id@version`.
    pub fn key(&self) -> CatalogKey {
        CatalogKey {
            id: self.id.clone(),
            version: self.version.as_str().to_string(),
        }
    }

    /// The item with this ref.
    pub fn item(&self, r: &str) -> Option<&Item> {
        self.index.get(r).map(|&i| &self.items[i])
    }

    /// The children of `parent` (or the top-level items for `None`), in file order.
    pub fn children<'a>(&'a self, parent: Option<&'a str>) -> impl Iterator<Item = &'a Item> + 'a {
        self.items
            .iter()
            .filter(move |it| it.parent.as_deref() == parent)
    }

    /// Whether `item` is `ancestor` or lies below it in the parent tree.
    pub fn is_within(&self, item: &str, ancestor: &str) -> bool {
        let mut cur = Some(item);
        let mut steps = 0;
        while let Some(r) = cur {
            if r == ancestor {
                return true;
            }
            steps += 1;
            if steps > self.items.len() {
                return false;
            }
            cur = self.item(r).and_then(|it| it.parent.as_deref());
        }
        false
    }

    /// Items of `kind`.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(move |it| it.kind == kind)
    }

    /// A copy holding only the items that pass `keep` (parents may then be missing).
    pub fn filtered(&self, keep: impl Fn(&Item) -> bool) -> Catalog {
        let items: Vec<Item> = self.items.iter().filter(|i| keep(i)).cloned().collect();
        Catalog::assemble(self.header(), items)
    }

    /// The header fields as a separate value.
    pub fn header(&self) -> CatalogHeader {
        CatalogHeader {
            id: self.id.clone(),
            version: self.version.clone(),
            title: self.title.clone(),
            publisher: self.publisher.clone(),
            published: self.published.clone(),
            source_url: self.source_url.clone(),
            languages: self.languages.clone(),
            description: self.description.clone(),
            notes: self.notes.clone(),
        }
    }
}

/// The header of a catalog: everything but the items.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogHeader {
    /// The id.
    pub id: String,
    /// The version.
    pub version: Version,
    /// The title.
    pub title: Text,
    /// Who published the source.
    pub publisher: Option<Text>,
    /// Publication date.
    pub published: Option<String>,
    /// Where the source is.
    pub source_url: Option<String>,
    /// Languages of the text.
    pub languages: Vec<Lang>,
    /// What the document is.
    pub description: Option<Text>,
    /// Caveats.
    pub notes: Option<Text>,
}

/// The relationship of a mapping: "subject REL object" (NIST IR 8278 OLIR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Relationship {
    /// Same scope.
    Equal,
    /// The subject is narrower than the object.
    Subset,
    /// The subject is broader than the object.
    Superset,
    /// They overlap; neither contains the other.
    Intersect,
    /// Associated, without overlapping content.
    Related,
}

impl Relationship {
    /// Every relationship.
    pub const ALL: [Relationship; 5] = [
        Relationship::Equal,
        Relationship::Subset,
        Relationship::Superset,
        Relationship::Intersect,
        Relationship::Related,
    ];

    /// The name as written in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Relationship::Equal => "equal",
            Relationship::Subset => "subset",
            Relationship::Superset => "superset",
            Relationship::Intersect => "intersect",
            Relationship::Related => "related",
        }
    }

    /// Parses a relationship name.
    pub fn parse(s: &str) -> Option<Relationship> {
        Relationship::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The relationship read from the object's side.
    pub fn inverse(self) -> Relationship {
        match self {
            Relationship::Subset => Relationship::Superset,
            Relationship::Superset => Relationship::Subset,
            r => r,
        }
    }

    /// The relationship of a chain `a self b, b next c` as `a ? c`.
    ///
    /// Equal is neutral; subset chains stay subset and superset chains stay superset; any
    /// mix of narrowing and widening, or a hop through `intersect`, only says the two ends
    /// overlap somewhere, which we report as `related` (the weakest claim), since overlap of
    /// the ends is not guaranteed.
    pub fn compose(self, next: Relationship) -> Relationship {
        use Relationship::*;
        match (self, next) {
            (Equal, r) | (r, Equal) => r,
            (Subset, Subset) => Subset,
            (Superset, Superset) => Superset,
            (Superset, Intersect) | (Intersect, Subset) => Intersect,
            _ => Related,
        }
    }
}

impl fmt::Display for Relationship {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An external id scheme a mapping set may point into instead of a catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalScheme {
    /// Scheme id, e.g. `mit-airi`.
    pub id: String,
    /// Display title.
    pub title: Text,
    /// URL template with `{id}`.
    pub url_template: Option<String>,
}

/// The object side of a mapping set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingTarget {
    /// Another catalog.
    Catalog(CatalogKey),
    /// An external id scheme.
    External(ExternalScheme),
}

impl fmt::Display for MappingTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MappingTarget::Catalog(k) => write!(f, "{k}"),
            MappingTarget::External(s) => write!(f, "ext:{}", s.id),
        }
    }
}

/// One row of a mapping set.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// Subject item ref.
    pub subject: String,
    /// How subject relates to object.
    pub relationship: Relationship,
    /// Object item ref (or external id).
    pub object: String,
    /// Label of the object, for external ids.
    pub object_label: Option<String>,
    /// Curator's confidence, 0..1; `None` when an imported source gives none.
    pub confidence: Option<f64>,
    /// Why.
    pub justification: String,
    /// Who curated this row, when it differs from the set's author.
    pub author: Option<String>,
}

/// A crosswalk between two catalogs (or a catalog and an external scheme).
#[derive(Debug, Clone)]
pub struct MappingSet {
    /// The set's id.
    pub id: String,
    /// Display title.
    pub title: Text,
    /// The subject catalog.
    pub subject: CatalogKey,
    /// The object catalog or scheme.
    pub object: MappingTarget,
    /// Who curated it.
    pub author: String,
    /// When.
    pub date: Option<String>,
    /// Method and caveats.
    pub description: Option<Text>,
    /// The rows.
    pub mappings: Vec<Mapping>,
    /// Where the set was read from, for diagnostics (empty for sets built in memory).
    pub origin: Origin,
}

/// The file and per-row lines a mapping set was read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The file name as the loader was given it.
    pub file: String,
    /// The line of each row, aligned with `mappings`.
    pub lines: Vec<Option<u64>>,
}

impl Origin {
    /// The line of row `i`, when known.
    pub fn line(&self, i: usize) -> Option<u64> {
        self.lines.get(i).copied().flatten()
    }
}
