//! Reading catalog and mapping-set files (aigov YAML or JSON) into validated models.
//!
//! Parsing never panics and never stops at the first problem it can recover from: a file comes
//! back as a model or as a list of [`Diagnostic`]s, each naming the file, the line and the item.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::model::*;

/// The largest file the loader accepts.
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

/// One problem found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file (as the caller named it).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// The item ref (or mapping row) concerned, when there is one.
    pub item: Option<String>,
    /// A stable code, e.g. `duplicate-ref`.
    pub code: &'static str,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        write!(f, ": ")?;
        if let Some(i) = &self.item {
            write!(f, "item {i:?}: ")?;
        }
        write!(f, "{} [{}]", self.message, self.code)
    }
}

/// A list of diagnostics, as an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// How strict validation is.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Built-in rules: every item needs explicit provenance and a title in both languages, and
    /// any `text` must be in both languages.
    pub strict: bool,
}

/// A parsed file: a catalog or a mapping set.
#[derive(Debug, Clone)]
pub enum Document {
    /// A catalog.
    Catalog(Catalog),
    /// A crosswalk.
    MappingSet(MappingSet),
}

struct Ctx<'a> {
    file: &'a str,
    diags: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn push(&mut self, line: Option<u64>, item: Option<&str>, code: &'static str, message: String) {
        self.diags.push(Diagnostic {
            file: self.file.to_string(),
            line,
            item: item.map(str::to_string),
            code,
            message,
        });
    }
}

fn line_of<T>(s: &Spanned<T>) -> Option<u64> {
    let l = s.referenced.line();
    (l > 0).then_some(l)
}

// ---------------------------------------------------------------------------------------------
// Raw (file) shapes. Lenient about types the validator checks itself, strict about field names.

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawText {
    zh: Option<String>,
    en: Option<String>,
}

impl RawText {
    fn into_text(self) -> Text {
        Text {
            zh: self.zh,
            en: self.en,
        }
        .normalized()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    aigov_catalog: u32,
    id: Spanned<String>,
    version: Spanned<String>,
    title: Option<RawText>,
    publisher: Option<RawText>,
    published: Option<String>,
    source_url: Option<String>,
    #[serde(default)]
    languages: Vec<String>,
    description: Option<RawText>,
    notes: Option<RawText>,
    #[serde(default)]
    items: Vec<Spanned<RawItem>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    #[serde(rename = "ref")]
    r#ref: Option<String>,
    parent: Option<String>,
    kind: Option<String>,
    title: Option<RawText>,
    text: Option<RawText>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    links: Vec<RawLink>,
    provenance: Option<RawProvenance>,
    threshold: Option<RawThreshold>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLink {
    rel: String,
    to: String,
    basis: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvenance {
    status: String,
    #[serde(default)]
    source: String,
    note: Option<String>,
    /// Derived in exports; ignored on input.
    #[allow(dead_code)]
    confirmed: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThreshold {
    metric: String,
    comparison: String,
    value: f64,
    unit: String,
    #[serde(default)]
    scope: Vec<String>,
    per: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMappingSet {
    aigov_mapping_set: u32,
    id: Spanned<String>,
    title: Option<RawText>,
    subject: Spanned<String>,
    object: Option<Spanned<String>>,
    object_scheme: Option<RawScheme>,
    author: Option<String>,
    date: Option<String>,
    description: Option<RawText>,
    #[serde(default)]
    mappings: Vec<Spanned<RawMapping>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScheme {
    id: String,
    title: Option<RawText>,
    url_template: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    subject: String,
    relationship: String,
    object: String,
    object_label: Option<String>,
    confidence: Option<f64>,
    #[serde(default)]
    justification: String,
    author: Option<String>,
}

/// Which top-level marker a document carries.
#[derive(Debug, Deserialize)]
struct Probe {
    aigov_catalog: Option<serde::de::IgnoredAny>,
    aigov_mapping_set: Option<serde::de::IgnoredAny>,
}

// ---------------------------------------------------------------------------------------------
// Parsing

fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::Options::default()
}

/// Deserializes YAML (or JSON, which YAML reads) with line information, falling back to
/// serde_json for JSON that YAML rejects (e.g. tab indentation).
fn deserialize<T: for<'de> Deserialize<'de>>(file: &str, src: &str) -> Result<T, Diagnostic> {
    if src.len() > MAX_FILE_BYTES {
        return Err(Diagnostic {
            file: file.to_string(),
            line: None,
            item: None,
            code: "too-large",
            message: format!("file is {} bytes; the limit is {MAX_FILE_BYTES}", src.len()),
        });
    }
    match serde_saphyr::from_str_with_options::<T>(src, yaml_options()) {
        Ok(v) => Ok(v),
        Err(yaml_err) => {
            let looks_json = src.trim_start().starts_with('{');
            if looks_json {
                match serde_json::from_str::<T>(src) {
                    Ok(v) => return Ok(v),
                    Err(e) => {
                        return Err(Diagnostic {
                            file: file.to_string(),
                            line: Some(e.line() as u64).filter(|&l| l > 0),
                            item: None,
                            code: if e.is_syntax() || e.is_eof() {
                                "syntax"
                            } else {
                                "schema"
                            },
                            message: strip_position(&e.to_string()),
                        });
                    }
                }
            }
            Err(yaml_diagnostic(file, &yaml_err))
        }
    }
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn yaml_diagnostic(file: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let line = e.location().map(|l| l.line()).filter(|&l| l > 0);
    // The crate's Display renders a source snippet; keep the first line, which is the message.
    let full = e.to_string();
    let first = full
        .lines()
        .next()
        .unwrap_or("invalid document")
        .trim()
        .to_string();
    let lower = first.to_lowercase();
    let code = if lower.contains("unknown field") {
        "unknown-field"
    } else if lower.contains("missing field") {
        "missing-field"
    } else if lower.contains("invalid type") || lower.contains("expected") {
        "schema"
    } else {
        "syntax"
    };
    Diagnostic {
        file: file.to_string(),
        line,
        item: None,
        code,
        message: first,
    }
}

/// Reads a catalog or a mapping set, deciding by its top-level marker.
///
/// Mapping sets are checked for their own consistency only; whether their refs exist in the
/// catalogs they name is checked by [`crate::Library`].
pub fn parse_document(file: &str, src: &str, opts: LoadOptions) -> Result<Document, Diagnostics> {
    let probe: Probe = deserialize(file, src).map_err(|d| Diagnostics(vec![d]))?;
    match (probe.aigov_catalog.is_some(), probe.aigov_mapping_set.is_some()) {
        (true, false) => parse_catalog(file, src, opts).map(Document::Catalog),
        (false, true) => parse_mapping_set(file, src, opts).map(Document::MappingSet),
        (true, true) => Err(Diagnostics(vec![Diagnostic {
            file: file.to_string(),
            line: None,
            item: None,
            code: "bad-header",
            message: "a file is either a catalog (aigov_catalog) or a mapping set (aigov_mapping_set), not both".into(),
        }])),
        (false, false) => Err(Diagnostics(vec![Diagnostic {
            file: file.to_string(),
            line: None,
            item: None,
            code: "bad-header",
            message: "not an aigov catalog or mapping set: the top level needs `aigov_catalog: 1` or `aigov_mapping_set: 1`".into(),
        }])),
    }
}

/// Reads and validates a catalog file.
pub fn parse_catalog(file: &str, src: &str, opts: LoadOptions) -> Result<Catalog, Diagnostics> {
    let raw: RawCatalog = deserialize(file, src).map_err(|d| Diagnostics(vec![d]))?;
    let mut cx = Ctx {
        file,
        diags: Vec::new(),
    };
    let cat = validate_catalog(&mut cx, raw, opts);
    if cx.diags.is_empty() {
        cat.ok_or_else(|| Diagnostics(Vec::new()))
    } else {
        Err(Diagnostics(cx.diags))
    }
}

/// Validates a catalog built in memory (e.g. by an importer), with the same rules as files.
pub fn validate_built(
    file: &str,
    header: CatalogHeader,
    items: Vec<Item>,
) -> Result<Catalog, Diagnostics> {
    let mut cx = Ctx {
        file,
        diags: Vec::new(),
    };
    check_header_text(&mut cx, &header);
    if items.is_empty() {
        cx.push(
            None,
            None,
            "empty-catalog",
            "the catalog has no items".into(),
        );
    }
    for it in &items {
        check_item_fields(&mut cx, it);
    }
    check_items(&mut cx, &items, &vec![None; items.len()]);
    if cx.diags.is_empty() {
        Ok(Catalog::assemble(header, items))
    } else {
        Err(Diagnostics(cx.diags))
    }
}

/// Per-item checks for items built in memory (files get them during conversion).
fn check_item_fields(cx: &mut Ctx<'_>, it: &Item) {
    let rf = Some(it.r#ref.as_str());
    if it.r#ref.trim().is_empty() {
        cx.push(None, None, "empty-ref", "item has no ref".into());
    }
    if it.title.is_empty() {
        cx.push(
            None,
            rf,
            "no-language",
            "item title has neither zh nor en".into(),
        );
    }
    for t in &it.tags {
        if let Err(m) = check_tag(t) {
            cx.push(None, rf, "bad-tag", m);
        }
    }
    if it.provenance.source.trim().is_empty() {
        cx.push(
            None,
            rf,
            "bad-provenance",
            "provenance has no source".into(),
        );
    }
    match (&it.threshold, it.kind) {
        (Some(t), Kind::Threshold) => {
            if !t.value.is_finite() || t.metric.trim().is_empty() || t.unit.trim().is_empty() {
                cx.push(
                    None,
                    rf,
                    "bad-threshold",
                    "threshold needs a metric, a finite value and a unit".into(),
                );
            }
        }
        (None, Kind::Threshold) => cx.push(
            None,
            rf,
            "bad-threshold",
            "a threshold item needs a `threshold`".into(),
        ),
        (Some(_), k) => cx.push(
            None,
            rf,
            "bad-threshold",
            format!("only threshold items carry `threshold`; this item is a {k}"),
        ),
        (None, _) => {}
    }
}

fn check_header_text(cx: &mut Ctx<'_>, h: &CatalogHeader) {
    if let Err(m) = check_id(&h.id) {
        cx.push(None, None, "bad-id", m);
    }
    if h.title.is_empty() {
        cx.push(
            None,
            None,
            "no-language",
            "catalog title has neither zh nor en".into(),
        );
    }
}

const STAGES: [&str; 7] = [
    "plan",
    "design-develop",
    "train",
    "verify",
    "deploy",
    "operate",
    "retire",
];
const ROLES: [&str; 9] = [
    "model-developer",
    "service-provider",
    "key-area-user",
    "general-user",
    "provider",
    "deployer",
    "importer",
    "distributor",
    "gpai-provider",
];

/// Checks one tag against the vocabulary of `catalogs/README.md`.
pub fn check_tag(tag: &str) -> Result<(), String> {
    let Some((ns, val)) = tag.split_once(':') else {
        return Err(format!("tag {tag:?} is not of the form namespace:value"));
    };
    let kebab = !val.is_empty()
        && val
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    match ns {
        "stage" if STAGES.contains(&val) => Ok(()),
        "stage" => Err(format!(
            "unknown lifecycle stage {val:?} in tag {tag:?} (expected one of {})",
            STAGES.join(", ")
        )),
        "role" if ROLES.contains(&val) => Ok(()),
        "role" => Err(format!(
            "unknown actor role {val:?} in tag {tag:?} (expected one of {})",
            ROLES.join(", ")
        )),
        "sector" | "topic" if kebab => Ok(()),
        "sector" | "topic" => Err(format!(
            "tag {tag:?}: the value must be lowercase kebab-case"
        )),
        _ => Err(format!(
            "unknown tag namespace {ns:?} in {tag:?} (expected stage, role, sector or topic)"
        )),
    }
}

fn validate_catalog(cx: &mut Ctx<'_>, raw: RawCatalog, opts: LoadOptions) -> Option<Catalog> {
    if raw.aigov_catalog != 1 {
        cx.push(
            None,
            None,
            "bad-format-version",
            format!(
                "aigov_catalog: {} is not supported (this build reads format 1)",
                raw.aigov_catalog
            ),
        );
    }
    let id_line = line_of(&raw.id);
    if let Err(m) = check_id(&raw.id.value) {
        cx.push(id_line, None, "bad-id", m);
    }
    let version = match Version::parse(&raw.version.value) {
        Ok(v) => Some(v),
        Err(m) => {
            cx.push(line_of(&raw.version), None, "bad-version", m);
            None
        }
    };
    let title = raw.title.map(RawText::into_text).unwrap_or_default();
    if title.is_empty() {
        cx.push(
            id_line,
            None,
            "no-language",
            "catalog title has neither zh nor en".into(),
        );
    }
    let mut languages = Vec::new();
    for l in &raw.languages {
        match l.parse::<Lang>() {
            Ok(l) => languages.push(l),
            Err(m) => cx.push(None, None, "bad-language", m),
        }
    }
    if let Some(p) = &raw.published
        && !valid_date(p)
    {
        cx.push(
            None,
            None,
            "bad-date",
            format!("published {p:?} is not a date (YYYY-MM-DD, YYYY-MM or YYYY)"),
        );
    }
    if raw.items.is_empty() {
        cx.push(
            id_line,
            None,
            "empty-catalog",
            "the catalog has no items".into(),
        );
    }

    let mut items = Vec::with_capacity(raw.items.len());
    let mut lines = Vec::with_capacity(raw.items.len());
    for sp in raw.items {
        let line = line_of(&sp);
        if let Some(it) = convert_item(cx, line, sp.value, opts) {
            items.push(it);
            lines.push(line);
        }
    }
    check_items(cx, &items, &lines);

    let header = CatalogHeader {
        id: raw.id.value,
        version: version?,
        title,
        publisher: raw
            .publisher
            .map(RawText::into_text)
            .filter(|t| !t.is_empty()),
        published: raw.published,
        source_url: raw.source_url.filter(|s| !s.trim().is_empty()),
        languages,
        description: raw
            .description
            .map(RawText::into_text)
            .filter(|t| !t.is_empty()),
        notes: raw.notes.map(RawText::into_text).filter(|t| !t.is_empty()),
    };
    Some(Catalog::assemble(header, items))
}

fn valid_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [y] => num(y, 4),
        [y, m] => num(y, 4) && num(m, 2) && (1..=12).contains(&m.parse::<u32>().unwrap_or(0)),
        [y, m, d] => {
            num(y, 4)
                && num(m, 2)
                && num(d, 2)
                && (1..=12).contains(&m.parse::<u32>().unwrap_or(0))
                && (1..=31).contains(&d.parse::<u32>().unwrap_or(0))
        }
        _ => false,
    }
}

fn convert_item(
    cx: &mut Ctx<'_>,
    line: Option<u64>,
    raw: RawItem,
    opts: LoadOptions,
) -> Option<Item> {
    let r = match raw.r#ref {
        Some(r) if !r.trim().is_empty() => {
            if r.trim() != r {
                cx.push(
                    line,
                    Some(&r),
                    "bad-ref",
                    "ref has leading or trailing spaces".into(),
                );
            }
            r
        }
        _ => {
            cx.push(line, None, "empty-ref", "item has no ref".into());
            return None;
        }
    };
    let rf = Some(r.as_str());
    let kind = match raw.kind.as_deref() {
        None => {
            cx.push(line, rf, "unknown-kind", "item has no kind".into());
            Kind::Section
        }
        Some(k) => match k.parse::<Kind>() {
            Ok(k) => k,
            Err(m) => {
                cx.push(line, rf, "unknown-kind", m);
                Kind::Section
            }
        },
    };
    let title = raw.title.map(RawText::into_text).unwrap_or_default();
    if title.is_empty() {
        cx.push(
            line,
            rf,
            "no-language",
            "item title has neither zh nor en".into(),
        );
    } else if opts.strict {
        for lang in [Lang::Zh, Lang::En] {
            if title.get(lang).is_none() {
                cx.push(
                    line,
                    rf,
                    "missing-language",
                    format!("built-in item title lacks {}", lang.code()),
                );
            }
        }
    }
    let text = match raw.text.map(RawText::into_text) {
        Some(t) if t.is_empty() => None,
        Some(t) => {
            if opts.strict {
                for lang in [Lang::Zh, Lang::En] {
                    if t.get(lang).is_none() {
                        cx.push(
                            line,
                            rf,
                            "missing-language",
                            format!("built-in item text lacks {}", lang.code()),
                        );
                    }
                }
            }
            Some(t)
        }
        None => None,
    };
    for t in &raw.tags {
        if let Err(m) = check_tag(t) {
            cx.push(line, rf, "bad-tag", m);
        }
    }
    let mut links = Vec::with_capacity(raw.links.len());
    for l in raw.links {
        let Some(rel) = LinkRel::parse(&l.rel) else {
            cx.push(
                line,
                rf,
                "unknown-rel",
                format!(
                    "unknown link relation {:?} (expected addresses, part_of or related)",
                    l.rel
                ),
            );
            continue;
        };
        let basis = match l.basis.as_deref() {
            None | Some("inferred") => LinkBasis::Inferred,
            Some("stated") => LinkBasis::Stated,
            Some(b) => {
                cx.push(
                    line,
                    rf,
                    "bad-link",
                    format!("unknown link basis {b:?} (expected stated or inferred)"),
                );
                LinkBasis::Inferred
            }
        };
        links.push(Link {
            rel,
            to: l.to,
            basis,
        });
    }
    let provenance = match raw.provenance {
        Some(p) => {
            let status = ProvenanceStatus::parse(&p.status).unwrap_or_else(|| {
                cx.push(line, rf, "bad-provenance", format!("unknown provenance status {:?} (expected verified, secondary, recalled or inferred)", p.status));
                ProvenanceStatus::Inferred
            });
            if p.source.trim().is_empty() {
                cx.push(
                    line,
                    rf,
                    "bad-provenance",
                    "provenance has no source".into(),
                );
            }
            Provenance {
                status,
                source: p.source,
                note: p.note.filter(|n| !n.trim().is_empty()),
            }
        }
        None => {
            if opts.strict {
                cx.push(
                    line,
                    rf,
                    "bad-provenance",
                    "built-in item has no provenance".into(),
                );
            }
            Provenance {
                status: ProvenanceStatus::Inferred,
                source: "not stated in the file".into(),
                note: None,
            }
        }
    };
    let threshold = match (kind, raw.threshold) {
        (Kind::Threshold, Some(t)) => convert_threshold(cx, line, rf, t),
        (Kind::Threshold, None) => {
            cx.push(
                line,
                rf,
                "bad-threshold",
                "a threshold item needs a `threshold` (metric, comparison, value, unit)".into(),
            );
            None
        }
        (_, Some(_)) => {
            cx.push(
                line,
                rf,
                "bad-threshold",
                format!("only threshold items carry `threshold`; this item is a {kind}"),
            );
            None
        }
        (_, None) => None,
    };
    Some(Item {
        r#ref: r,
        parent: raw.parent.filter(|p| !p.is_empty()),
        kind,
        title,
        text,
        tags: raw.tags,
        links,
        provenance,
        threshold,
    })
}

fn convert_threshold(
    cx: &mut Ctx<'_>,
    line: Option<u64>,
    rf: Option<&str>,
    t: RawThreshold,
) -> Option<Threshold> {
    let mut ok = true;
    let comparison = Comparison::parse(&t.comparison).unwrap_or_else(|| {
        cx.push(
            line,
            rf,
            "bad-threshold",
            format!(
                "unknown comparison {:?} (expected >=, >, <=, < or ==)",
                t.comparison
            ),
        );
        ok = false;
        Comparison::Ge
    });
    if !t.value.is_finite() {
        cx.push(
            line,
            rf,
            "bad-threshold",
            "threshold value must be a finite number".into(),
        );
        ok = false;
    }
    if t.metric.trim().is_empty() || t.unit.trim().is_empty() {
        cx.push(
            line,
            rf,
            "bad-threshold",
            "threshold needs a metric and a unit".into(),
        );
        ok = false;
    }
    if t.unit == "percent" && !(0.0..=100.0).contains(&t.value) {
        cx.push(
            line,
            rf,
            "bad-threshold",
            format!("a percentage must lie in 0..100, got {}", t.value),
        );
        ok = false;
    }
    let per = match t.per.as_deref() {
        None | Some("total") => Per::Total,
        Some("risk") => Per::Risk,
        Some(p) => {
            cx.push(
                line,
                rf,
                "bad-threshold",
                format!("unknown `per` {p:?} (expected total or risk)"),
            );
            ok = false;
            Per::Total
        }
    };
    ok.then_some(Threshold {
        metric: t.metric,
        comparison,
        value: t.value,
        unit: t.unit,
        scope: t.scope,
        per,
    })
}

/// Cross-item checks: unique refs, resolvable parents and links, link targets, cycles.
fn check_items(cx: &mut Ctx<'_>, items: &[Item], lines: &[Option<u64>]) {
    let line = |i: usize| lines.get(i).copied().flatten();
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        if let Some(&first) = index.get(it.r#ref.as_str()) {
            let at = line(first)
                .map(|l| format!(" (first defined at line {l})"))
                .unwrap_or_default();
            cx.push(
                line(i),
                Some(&it.r#ref),
                "duplicate-ref",
                format!("duplicate ref{at}"),
            );
        } else {
            index.insert(&it.r#ref, i);
        }
    }
    for (i, it) in items.iter().enumerate() {
        let rf = Some(it.r#ref.as_str());
        if let Some(p) = &it.parent {
            if p == &it.r#ref {
                cx.push(line(i), rf, "self-link", "item is its own parent".into());
            } else if !index.contains_key(p.as_str()) {
                cx.push(
                    line(i),
                    rf,
                    "dangling-parent",
                    format!("parent {p:?} is not an item of this catalog"),
                );
            }
        }
        let mut seen = HashSet::new();
        for l in &it.links {
            if l.to == it.r#ref {
                cx.push(
                    line(i),
                    rf,
                    "self-link",
                    format!("{} link points to the item itself", l.rel.as_str()),
                );
                continue;
            }
            if !seen.insert((l.rel, l.to.as_str())) {
                cx.push(
                    line(i),
                    rf,
                    "duplicate-link",
                    format!("{} link to {:?} appears twice", l.rel.as_str(), l.to),
                );
            }
            match index.get(l.to.as_str()) {
                None => cx.push(
                    line(i),
                    rf,
                    "dangling-link",
                    format!(
                        "{} link to {:?}, which is not an item of this catalog",
                        l.rel.as_str(),
                        l.to
                    ),
                ),
                Some(&t) => {
                    if l.rel == LinkRel::Addresses && !items[t].kind.is_risk_like() {
                        cx.push(line(i), rf, "bad-link-target", format!("addresses {:?}, a {}; `addresses` must point to a risk or risk-category", l.to, items[t].kind));
                    }
                }
            }
        }
        if let Some(th) = &it.threshold {
            for s in &th.scope {
                if !index.contains_key(s.as_str()) {
                    cx.push(
                        line(i),
                        rf,
                        "dangling-link",
                        format!("threshold scope {s:?} is not an item of this catalog"),
                    );
                }
            }
        }
    }
    // Cycles over parent and part_of edges.
    let edges: Vec<Vec<usize>> = items
        .iter()
        .map(|it| {
            let mut e = Vec::new();
            if let Some(p) = it.parent.as_deref().and_then(|p| index.get(p)) {
                e.push(*p);
            }
            for l in &it.links {
                if l.rel == LinkRel::PartOf
                    && let Some(&t) = index.get(l.to.as_str())
                {
                    e.push(t);
                }
            }
            e
        })
        .collect();
    for cycle in find_cycles(&edges) {
        let refs: Vec<&str> = cycle.iter().map(|&i| items[i].r#ref.as_str()).collect();
        let first = cycle[0];
        cx.push(
            line(first),
            Some(&items[first].r#ref),
            "cycle",
            format!("parent/part_of cycle: {} -> {}", refs.join(" -> "), refs[0]),
        );
    }
}

/// Finds cycles in a directed graph (iterative DFS); each cycle reported once.
fn find_cycles(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum C {
        White,
        Grey,
        Black,
    }
    let n = edges.len();
    let mut color = vec![C::White; n];
    let mut out = Vec::new();
    for start in 0..n {
        if color[start] != C::White {
            continue;
        }
        // Stack of (node, next edge index); `path` mirrors the grey nodes.
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        let mut path: Vec<usize> = vec![start];
        color[start] = C::Grey;
        while let Some((node, ei)) = stack.last_mut() {
            let node = *node;
            if let Some(&next) = edges[node].get(*ei) {
                *ei += 1;
                match color[next] {
                    C::White => {
                        color[next] = C::Grey;
                        stack.push((next, 0));
                        path.push(next);
                    }
                    C::Grey => {
                        if let Some(pos) = path.iter().position(|&p| p == next) {
                            out.push(path[pos..].to_vec());
                        }
                    }
                    C::Black => {}
                }
            } else {
                color[node] = C::Black;
                stack.pop();
                path.pop();
            }
        }
    }
    out
}

/// Reads and checks a mapping-set file on its own (refs are checked against catalogs later).
pub fn parse_mapping_set(
    file: &str,
    src: &str,
    opts: LoadOptions,
) -> Result<MappingSet, Diagnostics> {
    let raw: RawMappingSet = deserialize(file, src).map_err(|d| Diagnostics(vec![d]))?;
    let mut cx = Ctx {
        file,
        diags: Vec::new(),
    };
    if raw.aigov_mapping_set != 1 {
        cx.push(
            None,
            None,
            "bad-format-version",
            format!(
                "aigov_mapping_set: {} is not supported (this build reads format 1)",
                raw.aigov_mapping_set
            ),
        );
    }
    if let Err(m) = check_id(&raw.id.value) {
        cx.push(line_of(&raw.id), None, "bad-id", m);
    }
    let title = raw.title.map(RawText::into_text).unwrap_or_default();
    if title.is_empty() {
        cx.push(
            line_of(&raw.id),
            None,
            "no-language",
            "mapping set title has neither zh nor en".into(),
        );
    }
    let subject = CatalogKey::parse(&raw.subject.value)
        .map_err(|m| {
            cx.push(
                line_of(&raw.subject),
                None,
                "bad-header",
                format!("subject: {m}"),
            )
        })
        .ok();
    let object = match (raw.object, raw.object_scheme) {
        (Some(o), None) => CatalogKey::parse(&o.value)
            .map(MappingTarget::Catalog)
            .map_err(|m| cx.push(line_of(&o), None, "bad-header", format!("object: {m}")))
            .ok(),
        (None, Some(s)) => {
            if let Err(m) = check_id(&s.id) {
                cx.push(None, None, "bad-id", format!("object_scheme: {m}"));
            }
            Some(MappingTarget::External(ExternalScheme {
                id: s.id,
                title: s.title.map(RawText::into_text).unwrap_or_default(),
                url_template: s.url_template,
            }))
        }
        (Some(o), Some(_)) => {
            cx.push(
                line_of(&o),
                None,
                "bad-header",
                "give either `object` or `object_scheme`, not both".into(),
            );
            None
        }
        (None, None) => {
            cx.push(
                None,
                None,
                "bad-header",
                "a mapping set needs `object` (catalog@version) or `object_scheme`".into(),
            );
            None
        }
    };
    let mut mappings = Vec::with_capacity(raw.mappings.len());
    let mut seen: HashMap<(String, String), Option<u64>> = HashMap::new();
    for sp in raw.mappings {
        let line = line_of(&sp);
        let m = sp.value;
        let row = format!("{} -> {}", m.subject, m.object);
        let rf = Some(row.as_str());
        let Some(relationship) = Relationship::parse(&m.relationship) else {
            cx.push(line, rf, "bad-relationship", format!("unknown relationship {:?} (expected equal, subset, superset, intersect or related)", m.relationship));
            continue;
        };
        match m.confidence {
            None if opts.strict => cx.push(
                line,
                rf,
                "bad-confidence",
                "every built-in mapping needs a confidence (0..1)".into(),
            ),
            None => {}
            Some(c) if !(0.0..=1.0).contains(&c) => cx.push(
                line,
                rf,
                "bad-confidence",
                format!("confidence {c} is outside 0..1"),
            ),
            Some(_) => {}
        }
        if opts.strict && m.justification.trim().is_empty() {
            cx.push(
                line,
                rf,
                "missing-justification",
                "every built-in mapping needs a justification".into(),
            );
        }
        if m.subject.trim().is_empty() || m.object.trim().is_empty() {
            cx.push(
                line,
                rf,
                "empty-ref",
                "mapping subject and object must not be empty".into(),
            );
        }
        if let Some(first) = seen.insert((m.subject.clone(), m.object.clone()), line) {
            let at = first
                .map(|l| format!(" (first at line {l})"))
                .unwrap_or_default();
            cx.push(
                line,
                rf,
                "duplicate-mapping",
                format!("the same subject and object appear twice{at}"),
            );
        }
        mappings.push((
            line,
            Mapping {
                subject: m.subject,
                relationship,
                object: m.object,
                object_label: m.object_label,
                confidence: m.confidence,
                justification: m.justification,
                author: m.author,
            },
        ));
    }
    if !cx.diags.is_empty() {
        return Err(Diagnostics(cx.diags));
    }
    let (Some(subject), Some(object)) = (subject, object) else {
        return Err(Diagnostics(cx.diags));
    };
    let lines: Vec<Option<u64>> = mappings.iter().map(|(l, _)| *l).collect();
    Ok(MappingSet {
        id: raw.id.value,
        title,
        subject,
        object,
        author: raw.author.unwrap_or_else(|| "unknown".into()),
        date: raw.date,
        description: raw
            .description
            .map(RawText::into_text)
            .filter(|t| !t.is_empty()),
        mappings: mappings.into_iter().map(|(_, m)| m).collect(),
        origin: Origin {
            file: file.to_string(),
            lines,
        },
    })
}
