//! Catalogs as CSV, for spreadsheets, losslessly.
//!
//! The file starts with `#` lines carrying the catalog header as JSON values
//! (`# id: "tc260-aisgf"`), then one row per item. Multi-valued cells use one entry per line:
//! `links` holds `rel ref` or `rel ref (stated)`; `tags` and `threshold_scope` hold one value per
//! line. Spreadsheet programs show those as wrapped cells.

use crate::load::{Diagnostic, Diagnostics, validate_built};
use crate::model::*;

/// The CSV columns, in order.
pub const COLUMNS: [&str; 19] = [
    "ref",
    "kind",
    "parent",
    "title_zh",
    "title_en",
    "text_zh",
    "text_en",
    "tags",
    "links",
    "provenance_status",
    "provenance_source",
    "provenance_note",
    "threshold_metric",
    "threshold_comparison",
    "threshold_value",
    "threshold_unit",
    "threshold_scope",
    "threshold_per",
    "confirmed",
];

const MARKER: &str = "# aigov-catalog-csv: 1";

fn header_lines(c: &Catalog) -> String {
    let mut s = String::from(MARKER);
    s.push('\n');
    let mut put = |k: &str, v: serde_json::Value| {
        if !v.is_null() {
            s.push_str(&format!("# {k}: {v}\n"));
        }
    };
    let tx = |t: &Option<Text>, l: Lang| serde_json::json!(t.as_ref().and_then(|t| t.get(l)));
    put("id", serde_json::json!(c.id));
    put("version", serde_json::json!(c.version.as_str()));
    put("title.zh", serde_json::json!(c.title.zh));
    put("title.en", serde_json::json!(c.title.en));
    put("publisher.zh", tx(&c.publisher, Lang::Zh));
    put("publisher.en", tx(&c.publisher, Lang::En));
    put("published", serde_json::json!(c.published));
    put("source_url", serde_json::json!(c.source_url));
    put(
        "languages",
        serde_json::json!(c.languages.iter().map(|l| l.code()).collect::<Vec<_>>()),
    );
    put("description.zh", tx(&c.description, Lang::Zh));
    put("description.en", tx(&c.description, Lang::En));
    put("notes.zh", tx(&c.notes, Lang::Zh));
    put("notes.en", tx(&c.notes, Lang::En));
    s
}

/// A catalog as CSV.
pub fn catalog_csv(c: &Catalog) -> String {
    let mut out = header_lines(c);
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let _ = w.write_record(COLUMNS);
    for it in &c.items {
        let th = it.threshold.as_ref();
        let links = it
            .links
            .iter()
            .map(|l| match l.basis {
                LinkBasis::Stated => format!("{} {} (stated)", l.rel.as_str(), l.to),
                LinkBasis::Inferred => format!("{} {}", l.rel.as_str(), l.to),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let t =
            |x: &Option<Text>, l: Lang| x.as_ref().and_then(|x| x.get(l)).unwrap_or("").to_string();
        let row = [
            it.r#ref.clone(),
            it.kind.as_str().to_string(),
            it.parent.clone().unwrap_or_default(),
            it.title.get(Lang::Zh).unwrap_or("").to_string(),
            it.title.get(Lang::En).unwrap_or("").to_string(),
            t(&it.text, Lang::Zh),
            t(&it.text, Lang::En),
            it.tags.join("\n"),
            links,
            it.provenance.status.as_str().to_string(),
            it.provenance.source.clone(),
            it.provenance.note.clone().unwrap_or_default(),
            th.map(|t| t.metric.clone()).unwrap_or_default(),
            th.map(|t| t.comparison.as_str().to_string())
                .unwrap_or_default(),
            th.map(|t| t.value.to_string()).unwrap_or_default(),
            th.map(|t| t.unit.clone()).unwrap_or_default(),
            th.map(|t| t.scope.join("\n")).unwrap_or_default(),
            th.map(|t| t.per.as_str().to_string()).unwrap_or_default(),
            if it.provenance.confirmed() {
                "yes".into()
            } else {
                "no".into()
            },
        ];
        let _ = w.write_record(&row);
    }
    let body = w.into_inner().unwrap_or_default();
    out.push_str(&String::from_utf8_lossy(&body));
    out
}

/// Whether `src` looks like an aigov catalog CSV.
pub fn is_catalog_csv(src: &str) -> bool {
    src.trim_start_matches('\u{feff}').starts_with(MARKER)
}

fn diag(
    file: &str,
    line: Option<u64>,
    item: Option<&str>,
    code: &'static str,
    message: String,
) -> Diagnostic {
    Diagnostic {
        file: file.to_string(),
        line,
        item: item.map(str::to_string),
        code,
        message,
    }
}

/// Reads an aigov catalog CSV.
pub fn parse_catalog_csv(file: &str, src: &str) -> Result<Catalog, Diagnostics> {
    let src = src.trim_start_matches('\u{feff}');
    let mut diags = Vec::new();
    let mut meta = serde_json::Map::new();
    for (i, line) in src.lines().enumerate() {
        let Some(rest) = line.strip_prefix('#') else {
            break;
        };
        let rest = rest.trim();
        if i == 0 || rest.is_empty() {
            continue;
        }
        match rest.split_once(':') {
            Some((k, v)) => match serde_json::from_str::<serde_json::Value>(v.trim()) {
                Ok(v) => {
                    meta.insert(k.trim().to_string(), v);
                }
                Err(e) => diags.push(diag(
                    file,
                    Some(i as u64 + 1),
                    None,
                    "syntax",
                    format!("header value of {:?} is not JSON: {e}", k.trim()),
                )),
            },
            None => diags.push(diag(
                file,
                Some(i as u64 + 1),
                None,
                "syntax",
                "header line is not `# key: value`".into(),
            )),
        }
    }
    let get = |k: &str| meta.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let text = |k: &str| {
        let t = Text {
            zh: get(&format!("{k}.zh")),
            en: get(&format!("{k}.en")),
        }
        .normalized();
        (!t.is_empty()).then_some(t)
    };
    let id = get("id").unwrap_or_default();
    let version = match Version::parse(&get("version").unwrap_or_default()) {
        Ok(v) => Some(v),
        Err(m) => {
            diags.push(diag(file, None, None, "bad-version", m));
            None
        }
    };
    let languages = meta
        .get("languages")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|l| l.as_str()?.parse::<Lang>().ok())
                .collect()
        })
        .unwrap_or_default();

    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .flexible(false)
        .from_reader(src.as_bytes());
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(Diagnostics(vec![diag(
                file,
                None,
                None,
                "syntax",
                format!("cannot read the CSV header row: {e}"),
            )]));
        }
    };
    let col = |name: &str| headers.iter().position(|h| h == name);
    for required in ["ref", "kind", "title_zh", "title_en"] {
        if col(required).is_none() {
            diags.push(diag(
                file,
                None,
                None,
                "missing-field",
                format!("CSV has no {required:?} column"),
            ));
        }
    }
    if !diags.is_empty() {
        return Err(Diagnostics(diags));
    }
    let mut items = Vec::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line());
                diags.push(diag(
                    file,
                    line,
                    None,
                    "syntax",
                    format!("bad CSV row: {e}"),
                ));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line());
        let cell = |name: &str| col(name).and_then(|i| rec.get(i)).unwrap_or("").to_string();
        let opt = |name: &str| Some(cell(name)).filter(|s| !s.is_empty());
        let r = cell("ref");
        let rf = Some(r.as_str());
        let kind = match cell("kind").parse::<Kind>() {
            Ok(k) => k,
            Err(m) => {
                diags.push(diag(file, line, rf, "unknown-kind", m));
                continue;
            }
        };
        let mut links = Vec::new();
        for l in cell("links").lines().filter(|l| !l.trim().is_empty()) {
            let (body, basis) = match l.strip_suffix(" (stated)") {
                Some(b) => (b, LinkBasis::Stated),
                None => (
                    l.strip_suffix(" (inferred)").unwrap_or(l),
                    LinkBasis::Inferred,
                ),
            };
            match body
                .split_once(' ')
                .and_then(|(rel, to)| Some((LinkRel::parse(rel)?, to)))
            {
                Some((rel, to)) => links.push(Link {
                    rel,
                    to: to.to_string(),
                    basis,
                }),
                None => diags.push(diag(
                    file,
                    line,
                    rf,
                    "unknown-rel",
                    format!("link {l:?} is not `<addresses|part_of|related> <ref>`"),
                )),
            }
        }
        let status = match ProvenanceStatus::parse(&cell("provenance_status")) {
            Some(s) => s,
            None if cell("provenance_status").is_empty() => ProvenanceStatus::Inferred,
            None => {
                diags.push(diag(
                    file,
                    line,
                    rf,
                    "bad-provenance",
                    format!("unknown provenance status {:?}", cell("provenance_status")),
                ));
                ProvenanceStatus::Inferred
            }
        };
        let threshold = if kind == Kind::Threshold {
            let value = cell("threshold_value").parse::<f64>();
            let cmp = Comparison::parse(&cell("threshold_comparison"));
            match (value, cmp) {
                (Ok(value), Some(comparison)) => Some(Threshold {
                    metric: cell("threshold_metric"),
                    comparison,
                    value,
                    unit: cell("threshold_unit"),
                    scope: cell("threshold_scope")
                        .lines()
                        .map(str::to_string)
                        .filter(|s| !s.is_empty())
                        .collect(),
                    per: if cell("threshold_per") == "risk" {
                        Per::Risk
                    } else {
                        Per::Total
                    },
                }),
                _ => {
                    diags.push(diag(
                        file,
                        line,
                        rf,
                        "bad-threshold",
                        "threshold rows need threshold_value (a number) and threshold_comparison"
                            .into(),
                    ));
                    None
                }
            }
        } else {
            None
        };
        let text = Text {
            zh: opt("text_zh"),
            en: opt("text_en"),
        }
        .normalized();
        items.push(Item {
            r#ref: r,
            parent: opt("parent"),
            kind,
            title: Text {
                zh: opt("title_zh"),
                en: opt("title_en"),
            }
            .normalized(),
            text: (!text.is_empty()).then_some(text),
            tags: cell("tags")
                .lines()
                .map(str::to_string)
                .filter(|s| !s.is_empty())
                .collect(),
            links,
            provenance: Provenance {
                status,
                source: opt("provenance_source").unwrap_or_else(|| format!("imported from {file}")),
                note: opt("provenance_note"),
            },
            threshold,
        });
    }
    if !diags.is_empty() {
        return Err(Diagnostics(diags));
    }
    let Some(version) = version else {
        return Err(Diagnostics(diags));
    };
    let header = CatalogHeader {
        id,
        version,
        title: Text {
            zh: get("title.zh"),
            en: get("title.en"),
        }
        .normalized(),
        publisher: text("publisher"),
        published: get("published"),
        source_url: get("source_url"),
        languages,
        description: text("description"),
        notes: text("notes"),
    };
    validate_built(file, header, items)
}
