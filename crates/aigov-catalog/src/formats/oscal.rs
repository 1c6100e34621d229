//! NIST OSCAL 1.1 catalog JSON: export of aigov catalogs, import of any OSCAL catalog.
//!
//! Export: items of kind `section` and `risk-category` become `groups` where OSCAL allows it
//! (groups nest in groups, controls nest in controls), everything else `controls`. The aigov
//! ref is the standard `label` prop; kind, Chinese title, tags, provenance and thresholds are
//! props in the aigov namespace; text is a `statement` part per language; intra-catalog links
//! are OSCAL links to `#id` with the relation as `rel` and the basis as `text`.
//!
//! Import reads the same props back, so export → import is lossless; for catalogs from
//! elsewhere (NIST SP 800-53, community AI catalogs) it maps groups to sections, controls to
//! controls, `label` (or the id) to the ref, and statement prose to English text.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::load::{Diagnostic, Diagnostics, validate_built};
use crate::model::*;

/// The namespace of aigov's OSCAL props.
pub const NS: &str = "https://aigov.dev/ns/oscal";
const OSCAL_VERSION: &str = "1.1.2";

/// A deterministic UUID (RFC 9562 version 8, derived from SHA-256) for `name`.
pub fn uuid_for(name: &str) -> String {
    let d = Sha256::digest(name.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn prop(name: &str, value: &str) -> Value {
    json!({"name": name, "ns": NS, "value": value})
}

/// OSCAL ids are tokens; refs like `3.1.1(a)` or `GOVERN 1.1` are not. Map each ref to a
/// unique token; the ref itself travels in the `label` prop.
fn oscal_ids(c: &Catalog) -> HashMap<&str, String> {
    let mut used = HashSet::new();
    let mut out = HashMap::new();
    for it in &c.items {
        let mut base: String = it
            .r#ref
            .chars()
            .map(|ch| {
                if ch.is_ascii_alphanumeric() || ch == '.' || ch == '-' {
                    ch.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        base = base.trim_matches('_').to_string();
        let mut id = format!("i-{base}");
        let mut n = 2;
        while !used.insert(id.clone()) {
            id = format!("i-{base}-{n}");
            n += 1;
        }
        out.insert(it.r#ref.as_str(), id);
    }
    out
}

fn element(c: &Catalog, it: &Item, ids: &HashMap<&str, String>, as_group: bool) -> Value {
    // OSCAL separates groups from controls, so the file order of mixed siblings is kept in
    // an aigov `sort-id` prop (the item's position in the catalog).
    let pos = c
        .items
        .iter()
        .position(|x| x.r#ref == it.r#ref)
        .unwrap_or(0);
    let mut props = vec![
        json!({"name": "label", "value": it.r#ref}),
        prop("kind", it.kind.as_str()),
        prop("sort-id", &format!("{pos:06}")),
    ];
    let title = match (it.title.get(Lang::En), it.title.get(Lang::Zh)) {
        (Some(en), zh) => {
            if let Some(zh) = zh {
                props.push(prop("title-zh", zh));
            }
            en.to_string()
        }
        (None, Some(zh)) => {
            props.push(prop("title-lang", "zh"));
            zh.to_string()
        }
        (None, None) => String::new(),
    };
    for t in &it.tags {
        props.push(prop("tag", t));
    }
    props.push(prop("provenance-status", it.provenance.status.as_str()));
    props.push(prop("provenance-source", &it.provenance.source));
    if let Some(n) = &it.provenance.note {
        props.push(prop("provenance-note", n));
    }
    if let Some(t) = &it.threshold {
        props.push(prop("threshold-metric", &t.metric));
        props.push(prop("threshold-comparison", t.comparison.as_str()));
        props.push(prop("threshold-value", &t.value.to_string()));
        props.push(prop("threshold-unit", &t.unit));
        props.push(prop("threshold-per", t.per.as_str()));
        for s in &t.scope {
            props.push(prop("threshold-scope", s));
        }
    }
    let id = ids.get(it.r#ref.as_str()).cloned().unwrap_or_default();
    let mut obj = serde_json::Map::new();
    obj.insert("id".into(), json!(id));
    if !as_group {
        obj.insert("class".into(), json!(it.kind.as_str()));
    }
    obj.insert("title".into(), json!(title));
    obj.insert("props".into(), Value::Array(props));
    if !it.links.is_empty() {
        obj.insert(
            "links".into(),
            Value::Array(
                it.links
                    .iter()
                    .map(|l| {
                        let basis = match l.basis {
                            LinkBasis::Stated => "stated",
                            LinkBasis::Inferred => "inferred",
                        };
                        let target = ids
                            .get(l.to.as_str())
                            .cloned()
                            .unwrap_or_else(|| l.to.clone());
                        json!({"href": format!("#{target}"), "rel": l.rel.as_str(), "text": basis})
                    })
                    .collect(),
            ),
        );
    }
    if let Some(tx) = &it.text {
        let mut parts = Vec::new();
        if let Some(en) = tx.get(Lang::En) {
            parts.push(json!({"id": format!("{id}_smt"), "name": "statement", "prose": en}));
        }
        if let Some(zh) = tx.get(Lang::Zh) {
            parts.push(json!({"id": format!("{id}_smt-zh"), "name": "statement", "ns": NS, "props": [prop("lang", "zh")], "prose": zh}));
        }
        obj.insert("parts".into(), Value::Array(parts));
    }
    let children: Vec<&Item> = c.children(Some(&it.r#ref)).collect();
    if as_group {
        let groups: Vec<Value> = children
            .iter()
            .filter(|ch| is_groupish(ch))
            .map(|ch| element(c, ch, ids, true))
            .collect();
        let controls: Vec<Value> = children
            .iter()
            .filter(|ch| !is_groupish(ch))
            .map(|ch| element(c, ch, ids, false))
            .collect();
        if !groups.is_empty() {
            obj.insert("groups".into(), Value::Array(groups));
        }
        if !controls.is_empty() {
            obj.insert("controls".into(), Value::Array(controls));
        }
    } else if !children.is_empty() {
        obj.insert(
            "controls".into(),
            Value::Array(
                children
                    .iter()
                    .map(|ch| element(c, ch, ids, false))
                    .collect(),
            ),
        );
    }
    Value::Object(obj)
}

fn is_groupish(it: &Item) -> bool {
    matches!(it.kind, Kind::Section | Kind::RiskCategory)
}

/// A catalog as OSCAL catalog JSON.
pub fn catalog_oscal(c: &Catalog) -> Value {
    let ids = oscal_ids(c);
    let top: Vec<&Item> = c.children(None).collect();
    let groups: Vec<Value> = top
        .iter()
        .filter(|i| is_groupish(i))
        .map(|i| element(c, i, &ids, true))
        .collect();
    let controls: Vec<Value> = top
        .iter()
        .filter(|i| !is_groupish(i))
        .map(|i| element(c, i, &ids, false))
        .collect();
    let mut props = vec![prop("catalog-id", &c.id)];
    let mut title = c.title.get(Lang::En).map(str::to_string);
    if let Some(zh) = c.title.get(Lang::Zh) {
        props.push(prop("title-zh", zh));
    }
    if title.is_none() {
        title = c.title.get(Lang::Zh).map(str::to_string);
        props.push(prop("title-lang", "zh"));
    }
    for (k, t) in [
        ("publisher", &c.publisher),
        ("description", &c.description),
        ("notes", &c.notes),
    ] {
        if let Some(t) = t {
            for l in [Lang::Zh, Lang::En] {
                if let Some(s) = t.get(l) {
                    props.push(prop(&format!("{k}-{}", l.code()), s));
                }
            }
        }
    }
    if let Some(p) = &c.published {
        props.push(prop("published", p));
    }
    for l in &c.languages {
        props.push(prop("language", l.code()));
    }
    let last_modified = match c.published.as_deref() {
        Some(p) if p.len() == 10 => format!("{p}T00:00:00Z"),
        Some(p) if p.len() == 7 => format!("{p}-01T00:00:00Z"),
        Some(p) if p.len() == 4 => format!("{p}-01-01T00:00:00Z"),
        _ => "1970-01-01T00:00:00Z".to_string(),
    };
    let mut metadata = json!({
        "title": title.unwrap_or_default(),
        "last-modified": last_modified,
        "version": c.version.as_str(),
        "oscal-version": OSCAL_VERSION,
        "props": props,
    });
    if let Some(u) = &c.source_url {
        metadata["links"] = json!([{"href": u, "rel": "source"}]);
    }
    let mut cat = json!({"uuid": uuid_for(&c.key().to_string()), "metadata": metadata});
    if !groups.is_empty() {
        cat["groups"] = Value::Array(groups);
    }
    if !controls.is_empty() {
        cat["controls"] = Value::Array(controls);
    }
    json!({"catalog": cat})
}

/// Whether `v` is an OSCAL catalog document.
pub fn is_oscal_catalog(v: &Value) -> bool {
    v.get("catalog").and_then(|c| c.get("metadata")).is_some()
}

/// Overrides for catalogs whose metadata does not give an aigov id or a valid version.
#[derive(Debug, Clone, Default)]
pub struct ImportOverrides {
    /// Catalog id to use.
    pub id: Option<String>,
    /// Version to use.
    pub version: Option<String>,
}

fn props_of(v: &Value) -> Vec<(&str, Option<&str>, &str)> {
    v.get("props")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    Some((
                        p.get("name")?.as_str()?,
                        p.get("ns").and_then(Value::as_str),
                        p.get("value")?.as_str()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn our<'a>(props: &[(&'a str, Option<&'a str>, &'a str)], name: &str) -> Vec<&'a str> {
    props
        .iter()
        .filter(|(n, ns, _)| *n == name && *ns == Some(NS))
        .map(|(_, _, v)| *v)
        .collect()
}

fn first<'a>(props: &[(&'a str, Option<&'a str>, &'a str)], name: &str) -> Option<&'a str> {
    our(props, name).into_iter().next()
}

/// Slug for an id derived from a title.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_matches('-')
        .chars()
        .take(60)
        .collect::<String>()
        .trim_matches('-')
        .to_string()
}

fn collect_prose(parts: &Value, out: &mut Vec<String>, zh: &mut Vec<String>) {
    let Some(a) = parts.as_array() else { return };
    for p in a {
        let is_zh = props_of(p)
            .iter()
            .any(|(n, ns, v)| *n == "lang" && *ns == Some(NS) && *v == "zh");
        if let Some(pr) = p.get("prose").and_then(Value::as_str) {
            let name = p.get("name").and_then(Value::as_str).unwrap_or("");
            // Guidance and other non-normative parts are left out of the item text.
            if matches!(name, "statement" | "item" | "objective" | "overview" | "") {
                if is_zh {
                    zh.push(pr.to_string())
                } else {
                    out.push(pr.to_string())
                }
            }
        }
        if let Some(sub) = p.get("parts") {
            collect_prose(sub, out, zh);
        }
    }
}

/// An OSCAL link read but not yet resolved: `(href id, rel, text)`.
type PendingLink<'a> = (&'a str, &'a str, Option<&'a str>);

struct Walk<'a> {
    items: Vec<Item>,
    order: Vec<Option<usize>>,
    id_to_ref: HashMap<String, String>,
    pending_links: Vec<(usize, Vec<PendingLink<'a>>)>,
    source: String,
    depth_budget: usize,
}

fn walk<'a>(w: &mut Walk<'a>, v: &'a Value, parent: Option<&str>, is_group: bool, depth: usize) {
    if depth > w.depth_budget {
        return;
    }
    let props = props_of(v);
    let oid = v.get("id").and_then(Value::as_str).unwrap_or("");
    let label = props
        .iter()
        .find(|(n, ns, _)| *n == "label" && ns.is_none_or(|ns| ns.contains("nist.gov") || ns == NS))
        .map(|(_, _, v)| *v);
    let r = label
        .map(str::to_string)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| oid.to_string());
    let kind = first(&props, "kind")
        .and_then(Kind::parse)
        .unwrap_or(if is_group {
            Kind::Section
        } else {
            Kind::Control
        });
    let title_s = v
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let title = if first(&props, "title-lang") == Some("zh") {
        Text {
            zh: Some(title_s),
            en: None,
        }
    } else {
        Text {
            zh: first(&props, "title-zh").map(str::to_string),
            en: Some(title_s),
        }
    }
    .normalized();
    let mut en = Vec::new();
    let mut zh = Vec::new();
    if let Some(p) = v.get("parts") {
        collect_prose(p, &mut en, &mut zh);
    }
    let text = Text {
        zh: (!zh.is_empty()).then(|| zh.join("\n")),
        en: (!en.is_empty()).then(|| en.join("\n")),
    }
    .normalized();
    let status = first(&props, "provenance-status")
        .and_then(ProvenanceStatus::parse)
        .unwrap_or(ProvenanceStatus::Inferred);
    let threshold = first(&props, "threshold-metric").map(|metric| Threshold {
        metric: metric.to_string(),
        comparison: first(&props, "threshold-comparison")
            .and_then(Comparison::parse)
            .unwrap_or(Comparison::Ge),
        value: first(&props, "threshold-value")
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN),
        unit: first(&props, "threshold-unit").unwrap_or("").to_string(),
        scope: our(&props, "threshold-scope")
            .into_iter()
            .map(str::to_string)
            .collect(),
        per: if first(&props, "threshold-per") == Some("risk") {
            Per::Risk
        } else {
            Per::Total
        },
    });
    let idx = w.items.len();
    w.order
        .push(first(&props, "sort-id").and_then(|v| v.parse::<usize>().ok()));
    w.items.push(Item {
        r#ref: r.clone(),
        parent: parent.map(str::to_string),
        kind,
        title,
        text: (!text.is_empty()).then_some(text),
        tags: our(&props, "tag").into_iter().map(str::to_string).collect(),
        links: Vec::new(),
        provenance: Provenance {
            status,
            source: first(&props, "provenance-source")
                .map(str::to_string)
                .unwrap_or_else(|| w.source.clone()),
            note: first(&props, "provenance-note").map(str::to_string),
        },
        threshold,
    });
    if !oid.is_empty() {
        w.id_to_ref.insert(oid.to_string(), r.clone());
    }
    if let Some(links) = v.get("links").and_then(Value::as_array) {
        let ls: Vec<_> = links
            .iter()
            .filter_map(|l| {
                let href = l.get("href")?.as_str()?.strip_prefix('#')?;
                let rel = l.get("rel")?.as_str()?;
                Some((href, rel, l.get("text").and_then(Value::as_str)))
            })
            .collect();
        if !ls.is_empty() {
            w.pending_links.push((idx, ls));
        }
    }
    for (key, group) in [("groups", true), ("controls", false)] {
        if let Some(a) = v.get(key).and_then(Value::as_array) {
            for ch in a {
                walk(w, ch, Some(&r), group, depth + 1);
            }
        }
    }
}

/// Reads an OSCAL catalog into an aigov catalog.
pub fn parse_oscal(file: &str, v: &Value, ov: &ImportOverrides) -> Result<Catalog, Diagnostics> {
    let d = |code: &'static str, message: String| {
        Diagnostics(vec![Diagnostic {
            file: file.to_string(),
            line: None,
            item: None,
            code,
            message,
        }])
    };
    let cat = v.get("catalog").ok_or_else(|| {
        d(
            "bad-header",
            "not an OSCAL catalog: no top-level `catalog`".into(),
        )
    })?;
    let meta = cat
        .get("metadata")
        .ok_or_else(|| d("bad-header", "OSCAL catalog has no metadata".into()))?;
    let mprops = props_of(meta);
    let title_s = meta
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let id = ov
        .id
        .clone()
        .or_else(|| first(&mprops, "catalog-id").map(str::to_string))
        .unwrap_or_else(|| slug(&title_s));
    let version_s = ov.version.clone().unwrap_or_else(|| {
        meta.get("version")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    });
    let version = Version::parse(&version_s)
        .map_err(|m| d("bad-version", format!("{m}; pass --version to choose one")))?;
    let title = if first(&mprops, "title-lang") == Some("zh") {
        Text {
            zh: Some(title_s.clone()),
            en: None,
        }
    } else {
        Text {
            zh: first(&mprops, "title-zh").map(str::to_string),
            en: Some(title_s.clone()),
        }
    }
    .normalized();
    let ttext = |k: &str| {
        let t = Text {
            zh: first(&mprops, &format!("{k}-zh")).map(str::to_string),
            en: first(&mprops, &format!("{k}-en")).map(str::to_string),
        }
        .normalized();
        (!t.is_empty()).then_some(t)
    };
    let languages: Vec<Lang> = {
        let l: Vec<Lang> = our(&mprops, "language")
            .into_iter()
            .filter_map(|l| l.parse().ok())
            .collect();
        if l.is_empty() { vec![Lang::En] } else { l }
    };
    let source_url = meta
        .get("links")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .find(|l| l.get("rel").and_then(Value::as_str) == Some("source"))
        })
        .and_then(|l| l.get("href")?.as_str())
        .map(str::to_string);
    let mut w = Walk {
        items: Vec::new(),
        order: Vec::new(),
        id_to_ref: HashMap::new(),
        pending_links: Vec::new(),
        source: format!("imported from OSCAL catalog {title_s:?}"),
        depth_budget: 64,
    };
    for (key, group) in [("groups", true), ("controls", false)] {
        if let Some(a) = cat.get(key).and_then(Value::as_array) {
            for ch in a {
                walk(&mut w, ch, None, group, 0);
            }
        }
    }
    let pending = std::mem::take(&mut w.pending_links);
    for (idx, links) in pending {
        for (href, rel, text) in links {
            // Links outside the aigov relations (e.g. OSCAL `reference`) are not kept.
            let Some(rel) = LinkRel::parse(rel) else {
                continue;
            };
            let to = w
                .id_to_ref
                .get(href)
                .cloned()
                .unwrap_or_else(|| href.to_string());
            let basis = if text == Some("stated") {
                LinkBasis::Stated
            } else {
                LinkBasis::Inferred
            };
            w.items[idx].links.push(Link { rel, to, basis });
        }
    }
    // Restore aigov's file order when every element carries its sort-id.
    if w.order.iter().all(Option::is_some) {
        let mut paired: Vec<(usize, Item)> = w
            .order
            .iter()
            .map(|o| o.unwrap_or(0))
            .zip(std::mem::take(&mut w.items))
            .collect();
        paired.sort_by_key(|(o, _)| *o);
        w.items = paired.into_iter().map(|(_, i)| i).collect();
    }
    let header = CatalogHeader {
        id,
        version,
        title,
        publisher: ttext("publisher"),
        published: first(&mprops, "published").map(str::to_string),
        source_url,
        languages,
        description: ttext("description"),
        notes: ttext("notes"),
    };
    validate_built(file, header, w.items)
}
