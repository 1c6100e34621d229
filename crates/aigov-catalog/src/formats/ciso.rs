//! CISO Assistant library YAML (intuitem/ciso-assistant-community, `backend/library/libraries`).
//!
//! A library holds `urn, locale, ref_id, name, version` and `objects` with `frameworks` (or the
//! older single `framework`), `requirement_mapping_sets` (or `requirement_mapping_set`),
//! `threats` and `reference_controls`. Each framework becomes a catalog (assessable nodes are
//! `requirement`s, the others `section`s); threats and reference controls become one catalog
//! each (`<ref_id>-threats`, `<ref_id>-controls`); mapping sets between frameworks of the same
//! library become mapping sets, with `strength_of_relationship` (0–10) as confidence / 10 and
//! `not_related` rows left out. Text in the library's locale and in `translations` is kept for
//! zh and en; other languages are not kept.

use std::collections::HashMap;

use serde_json::Value;

use crate::formats::oscal::slug;
use crate::load::{Diagnostic, Diagnostics, validate_built};
use crate::model::*;

/// Whether `v` looks like a CISO Assistant library.
pub fn is_ciso_library(v: &Value) -> bool {
    v.get("urn").is_some() && v.get("objects").is_some()
}

/// What a library yields.
#[derive(Debug, Default)]
pub struct CisoImport {
    /// Catalogs (frameworks, threats, reference controls).
    pub catalogs: Vec<Catalog>,
    /// Mapping sets.
    pub mapping_sets: Vec<MappingSet>,
    /// Rows and objects left out, with the reason.
    pub skipped: Vec<String>,
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

fn lang_of(locale: &str) -> Option<Lang> {
    let l = locale.to_ascii_lowercase();
    if l == "en" || l.starts_with("en-") || l.starts_with("en_") {
        Some(Lang::En)
    } else if l == "zh" || l.starts_with("zh-") || l.starts_with("zh_") {
        Some(Lang::Zh)
    } else {
        None
    }
}

/// The `field` of an object in zh and en, from its locale text and its translations.
fn bilingual(v: &Value, field: &str, locale: Option<Lang>) -> Text {
    let mut t = Text::default();
    if let (Some(l), Some(x)) = (locale, s(v, field)) {
        match l {
            Lang::Zh => t.zh = Some(x.to_string()),
            Lang::En => t.en = Some(x.to_string()),
        }
    }
    if let Some(tr) = v.get("translations").and_then(Value::as_object) {
        for (loc, body) in tr {
            if let (Some(l), Some(x)) = (lang_of(loc), s(body, field)) {
                let slot = match l {
                    Lang::Zh => &mut t.zh,
                    Lang::En => &mut t.en,
                };
                if slot.is_none() {
                    *slot = Some(x.to_string());
                }
            }
        }
    }
    t.normalized()
}

fn as_list<'a>(objects: &'a Value, plural: &str, singular: &str) -> Vec<&'a Value> {
    match (objects.get(plural), objects.get(singular)) {
        (Some(Value::Array(a)), _) => a.iter().collect(),
        (_, Some(Value::Array(a))) => a.iter().collect(),
        (_, Some(v @ Value::Object(_))) => vec![v],
        _ => Vec::new(),
    }
}

fn version_of(lib: &Value) -> String {
    match lib.get("version") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => "1".to_string(),
    }
}

/// The prefix of the provenance source of items imported from CISO Assistant; the node's URN
/// is the last word, which lets later mapping libraries resolve it.
pub const SOURCE_PREFIX: &str = "CISO Assistant library";

/// The URN recorded in an imported item's provenance source, if any.
pub fn urn_of(it: &Item) -> Option<&str> {
    let s = it.provenance.source.strip_prefix(SOURCE_PREFIX)?;
    s.rsplit(' ').next().filter(|u| u.starts_with("urn:"))
}

/// Converts a parsed CISO Assistant library. `resolve` finds requirement URNs of frameworks
/// imported earlier (mapping libraries name frameworks from other library files).
pub fn parse_ciso(
    file: &str,
    lib: &Value,
    resolve: &dyn Fn(&str) -> Option<(CatalogKey, String)>,
) -> Result<CisoImport, Diagnostics> {
    let err = |code: &'static str, message: String| Diagnostic {
        file: file.to_string(),
        line: None,
        item: None,
        code,
        message,
    };
    let mut diags = Vec::new();
    let locale_s = s(lib, "locale").unwrap_or("en");
    let locale = lang_of(locale_s);
    let lib_ref = s(lib, "ref_id")
        .map(slug)
        .unwrap_or_else(|| slug(s(lib, "urn").unwrap_or("library")));
    let version_s = version_of(lib);
    let version = match Version::parse(&version_s) {
        Ok(v) => v,
        Err(m) => {
            return Err(Diagnostics(vec![err(
                "bad-version",
                format!("library version: {m}"),
            )]));
        }
    };
    let published = s(lib, "publication_date").map(str::to_string);
    let publisher = s(lib, "provider").map(|p| Text::only(Lang::En, p));
    let objects = lib.get("objects").cloned().unwrap_or(Value::Null);
    let lib_urn = s(lib, "urn").unwrap_or("");
    let mut out = CisoImport::default();
    let mut urn_index: HashMap<String, (CatalogKey, String)> = HashMap::new();
    let source = |urn: &str| format!("{SOURCE_PREFIX} {lib_urn}: {urn}");
    let missing_lang = |what: &str| {
        err(
            "no-language",
            format!(
                "{what} has no zh or en text: the library's locale is {locale_s:?} and its translations give neither; aigov catalogs are written in zh and/or en"
            ),
        )
    };

    for fw in as_list(&objects, "frameworks", "framework") {
        let fw_urn = s(fw, "urn").unwrap_or("");
        let id = s(fw, "ref_id")
            .map(slug)
            .filter(|x| !x.is_empty())
            .unwrap_or_else(|| lib_ref.clone());
        let title = {
            let t = bilingual(fw, "name", locale);
            if t.is_empty() {
                bilingual(lib, "name", locale)
            } else {
                t
            }
        };
        if title.is_empty() {
            diags.push(missing_lang(&format!("framework {fw_urn}")));
            continue;
        }
        let key = CatalogKey {
            id: id.clone(),
            version: version.as_str().to_string(),
        };
        let nodes = fw
            .get("requirement_nodes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        // First pass: a unique ref per node.
        let mut refs: HashMap<String, String> = HashMap::new();
        let mut used: HashMap<String, usize> = HashMap::new();
        for n in &nodes {
            let Some(urn) = s(n, "urn") else { continue };
            let base = s(n, "ref_id")
                .map(str::to_string)
                .unwrap_or_else(|| urn.rsplit(':').next().unwrap_or(urn).to_string());
            let count = used.entry(base.clone()).or_insert(0);
            *count += 1;
            let r = if *count == 1 {
                base
            } else {
                format!("{base} #{count}")
            };
            refs.insert(urn.to_string(), r);
        }
        let mut items = Vec::new();
        for n in &nodes {
            let Some(urn) = s(n, "urn") else {
                diags.push(err(
                    "empty-ref",
                    format!("a requirement node of {fw_urn} has no urn"),
                ));
                continue;
            };
            let r = refs.get(urn).cloned().unwrap_or_default();
            let mut title = bilingual(n, "name", locale);
            let text = bilingual(n, "description", locale);
            if title.is_empty() {
                // Many CISO Assistant nodes have a ref_id and a description but no name.
                if let Some(rid) = s(n, "ref_id") {
                    title = Text {
                        zh: text.zh.as_ref().map(|_| rid.to_string()),
                        en: text.en.as_ref().map(|_| rid.to_string()),
                    }
                    .normalized();
                    if title.is_empty() && locale.is_some() {
                        title = Text::only(locale.unwrap_or(Lang::En), rid);
                    }
                }
            }
            if title.is_empty() {
                diags.push(missing_lang(&format!("requirement node {urn}")));
                continue;
            }
            let parent = s(n, "parent_urn").and_then(|p| refs.get(p)).cloned();
            if let Some(p) = s(n, "parent_urn")
                && parent.is_none()
            {
                diags.push(Diagnostic {
                    file: file.to_string(),
                    line: None,
                    item: Some(r.clone()),
                    code: "dangling-parent",
                    message: format!("parent_urn {p} is not a node of {fw_urn}"),
                });
            }
            let assessable = n
                .get("assessable")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let dup_note = r
                .contains(" #")
                .then(|| "ref_id repeats in the library; aigov added a #n suffix".to_string());
            urn_index.insert(urn.to_string(), (key.clone(), r.clone()));
            items.push(Item {
                r#ref: r,
                parent,
                kind: if assessable {
                    Kind::Requirement
                } else {
                    Kind::Section
                },
                title,
                text: (!text.is_empty()).then_some(text),
                tags: Vec::new(),
                links: Vec::new(),
                provenance: Provenance {
                    status: ProvenanceStatus::Secondary,
                    source: source(urn),
                    note: dup_note,
                },
                threshold: None,
            });
        }
        let header = CatalogHeader {
            id,
            version: version.clone(),
            title,
            publisher: publisher.clone(),
            published: published.clone(),
            source_url: None,
            languages: lang_list(locale),
            description: Some(bilingual(fw, "description", locale)).filter(|t| !t.is_empty()),
            notes: Some(Text::only(
                Lang::En,
                format!("imported from CISO Assistant library {lib_urn}"),
            )),
        };
        match validate_built(file, header, items) {
            Ok(c) => {
                out.catalogs.push(c);
            }
            Err(d) => diags.extend(d.0),
        }
    }

    for (plural, singular, suffix, kind) in [
        ("threats", "threat", "threats", Kind::Risk),
        (
            "reference_controls",
            "reference_control",
            "controls",
            Kind::Control,
        ),
    ] {
        let list = as_list(&objects, plural, singular);
        if list.is_empty() {
            continue;
        }
        let mut items = Vec::new();
        let mut used: HashMap<String, usize> = HashMap::new();
        for o in list {
            let urn = s(o, "urn").unwrap_or("");
            let base = s(o, "ref_id")
                .map(str::to_string)
                .unwrap_or_else(|| urn.rsplit(':').next().unwrap_or(urn).to_string());
            let count = used.entry(base.clone()).or_insert(0);
            *count += 1;
            let r = if *count == 1 {
                base
            } else {
                format!("{base} #{count}")
            };
            let title = bilingual(o, "name", locale);
            if title.is_empty() {
                diags.push(missing_lang(&format!("{singular} {urn}")));
                continue;
            }
            let text = bilingual(o, "description", locale);
            let mut tags = Vec::new();
            if let Some(cat) = s(o, "category") {
                let t = format!("topic:{}", slug(cat));
                if crate::load::check_tag(&t).is_ok() {
                    tags.push(t);
                }
            }
            items.push(Item {
                r#ref: r,
                parent: None,
                kind,
                title,
                text: (!text.is_empty()).then_some(text),
                tags,
                links: Vec::new(),
                provenance: Provenance {
                    status: ProvenanceStatus::Secondary,
                    source: source(urn),
                    note: None,
                },
                threshold: None,
            });
        }
        let lib_name = bilingual(lib, "name", locale);
        let what = if kind == Kind::Risk {
            ("威胁", "threats")
        } else {
            ("参考控制", "reference controls")
        };
        let header = CatalogHeader {
            id: format!("{lib_ref}-{suffix}"),
            version: version.clone(),
            title: Text {
                zh: lib_name.get(Lang::Zh).map(|n| format!("{n}：{}", what.0)),
                en: Some(format!(
                    "{}: {}",
                    lib_name.get(Lang::En).unwrap_or(&lib_ref),
                    what.1
                )),
            },
            publisher: publisher.clone(),
            published: published.clone(),
            source_url: None,
            languages: lang_list(locale),
            description: None,
            notes: Some(Text::only(
                Lang::En,
                format!("imported from CISO Assistant library {lib_urn}"),
            )),
        };
        match validate_built(file, header, items) {
            Ok(c) => out.catalogs.push(c),
            Err(d) => diags.extend(d.0),
        }
    }

    if let Some(obj) = objects.as_object() {
        for k in obj.keys() {
            let known = [
                "framework",
                "frameworks",
                "threats",
                "threat",
                "reference_controls",
                "reference_control",
                "requirement_mapping_sets",
                "requirement_mapping_set",
            ];
            if !known.contains(&k.as_str()) {
                out.skipped
                    .push(format!("objects.{k}: not catalog content, not imported"));
            }
        }
    }
    let lookup = |urn: &str| urn_index.get(urn).cloned().or_else(|| resolve(urn));
    for ms in as_list(
        &objects,
        "requirement_mapping_sets",
        "requirement_mapping_set",
    ) {
        let ms_urn = s(ms, "urn").unwrap_or("");
        let mut mappings = Vec::new();
        let mut sides: Option<(CatalogKey, CatalogKey)> = None;
        let mut unresolved = Vec::new();
        for row in ms
            .get("requirement_mappings")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            let su = s(&row, "source_requirement_urn").unwrap_or("");
            let tu = s(&row, "target_requirement_urn").unwrap_or("");
            let rel_s = s(&row, "relationship").unwrap_or("");
            if rel_s == "not_related" {
                out.skipped.push(format!("{su} -> {tu}: not_related"));
                continue;
            }
            let Some(rel) = Relationship::parse(rel_s) else {
                diags.push(Diagnostic {
                    file: file.to_string(),
                    line: None,
                    item: Some(format!("{su} -> {tu}")),
                    code: "bad-relationship",
                    message: format!("unknown relationship {rel_s:?}"),
                });
                continue;
            };
            let (Some((sk, sr)), Some((tk, tr))) = (lookup(su), lookup(tu)) else {
                for u in [su, tu] {
                    if lookup(u).is_none() && !unresolved.contains(&u.to_string()) {
                        unresolved.push(u.to_string());
                    }
                }
                continue;
            };
            match &sides {
                None => sides = Some((sk.clone(), tk.clone())),
                Some((a, b)) if *a != sk || *b != tk => {
                    diags.push(Diagnostic {
                        file: file.to_string(),
                        line: None,
                        item: Some(format!("{su} -> {tu}")),
                        code: "bad-header",
                        message: format!(
                            "mapping set {ms_urn} mixes frameworks ({a} -> {b} and {sk} -> {tk})"
                        ),
                    });
                    continue;
                }
                Some(_) => {}
            }
            let confidence = row
                .get("strength_of_relationship")
                .and_then(Value::as_f64)
                .map(|x| (x / 10.0).clamp(0.0, 1.0));
            let rationale = s(&row, "rationale").unwrap_or("");
            mappings.push(Mapping {
                subject: sr,
                relationship: rel,
                object: tr,
                object_label: None,
                confidence,
                justification: if rationale.is_empty() {
                    format!("from {ms_urn}")
                } else {
                    format!("{rationale} (from {ms_urn})")
                },
                author: None,
            });
        }
        if !unresolved.is_empty() {
            let shown: Vec<&str> = unresolved.iter().take(5).map(String::as_str).collect();
            diags.push(err(
                "unknown-catalog",
                format!(
                    "mapping set {ms_urn}: {} requirement URN(s) belong to no framework in this file or imported before (e.g. {}); import the framework libraries first",
                    unresolved.len(),
                    shown.join(", ")
                ),
            ));
            continue;
        }
        let Some((sk, tk)) = sides else {
            out.skipped.push(format!("mapping set {ms_urn}: no rows"));
            continue;
        };
        let id = s(ms, "ref_id")
            .map(slug)
            .filter(|x| !x.is_empty())
            .unwrap_or_else(|| slug(ms_urn.rsplit(':').next().unwrap_or(ms_urn)));
        let title = {
            let t = bilingual(ms, "name", locale);
            if t.is_empty() {
                Text::only(Lang::En, id.clone())
            } else {
                t
            }
        };
        out.mapping_sets.push(MappingSet {
            id,
            title,
            subject: sk,
            object: MappingTarget::Catalog(tk),
            author: s(lib, "packager")
                .or(s(lib, "provider"))
                .unwrap_or("CISO Assistant library")
                .to_string(),
            date: published.clone(),
            description: Some(bilingual(ms, "description", locale)).filter(|t| !t.is_empty()),
            mappings,
            origin: Origin {
                file: file.to_string(),
                lines: Vec::new(),
            },
        });
    }

    if !diags.is_empty() {
        return Err(Diagnostics(diags));
    }
    if out.catalogs.is_empty() && out.mapping_sets.is_empty() {
        return Err(Diagnostics(vec![err(
            "empty-catalog",
            "the library has no frameworks, threats, reference controls or mapping sets".into(),
        )]));
    }
    Ok(out)
}

fn lang_list(l: Option<Lang>) -> Vec<Lang> {
    match l {
        Some(l) => vec![l],
        None => vec![Lang::En],
    }
}
