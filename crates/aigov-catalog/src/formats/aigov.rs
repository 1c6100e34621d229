//! The aigov interchange shape (JSON and YAML) of catalogs and mapping sets.
//!
//! The JSON shape is documented and stable:
//! `{"aigov_catalog":1,"id","version","title":{"zh","en"},…,"items":[{"ref","kind","parent",
//! "title":{"zh","en"},"text":{"zh","en"},"tags":[…],"links":[{"rel","to","basis"}],
//! "provenance":{"status","confirmed","source","note"},"threshold":…}]}`.
//! Every key is always present (null when empty) so that scripts can rely on it. YAML exports
//! drop the nulls, which gives the authoring format of `catalogs/`.

use serde_json::{Map, Value, json};

use crate::model::*;

fn text(t: &Text) -> Value {
    json!({"zh": t.zh, "en": t.en})
}

fn opt_text(t: &Option<Text>) -> Value {
    match t {
        Some(t) => text(t),
        None => json!({"zh": null, "en": null}),
    }
}

/// One item in the stable JSON shape.
pub fn item_json(it: &Item) -> Value {
    json!({
        "ref": it.r#ref,
        "kind": it.kind.as_str(),
        "parent": it.parent,
        "title": text(&it.title),
        "text": opt_text(&it.text),
        "tags": it.tags,
        "links": it.links.iter().map(|l| json!({
            "rel": l.rel.as_str(),
            "to": l.to,
            "basis": match l.basis { LinkBasis::Stated => "stated", LinkBasis::Inferred => "inferred" },
        })).collect::<Vec<_>>(),
        "provenance": {
            "status": it.provenance.status.as_str(),
            "confirmed": it.provenance.confirmed(),
            "source": it.provenance.source,
            "note": it.provenance.note,
        },
        "threshold": it.threshold.as_ref().map(|t| json!({
            "metric": t.metric,
            "comparison": t.comparison.as_str(),
            "value": t.value,
            "unit": t.unit,
            "scope": t.scope,
            "per": t.per.as_str(),
        })),
    })
}

/// The catalog header fields in the stable JSON shape (no items).
pub fn header_json(c: &Catalog) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("aigov_catalog".into(), json!(1));
    m.insert("id".into(), json!(c.id));
    m.insert("version".into(), json!(c.version.as_str()));
    m.insert("title".into(), text(&c.title));
    m.insert("publisher".into(), opt_text(&c.publisher));
    m.insert("published".into(), json!(c.published));
    m.insert("source_url".into(), json!(c.source_url));
    m.insert(
        "languages".into(),
        json!(c.languages.iter().map(|l| l.code()).collect::<Vec<_>>()),
    );
    m.insert("description".into(), opt_text(&c.description));
    m.insert("notes".into(), opt_text(&c.notes));
    m
}

/// A catalog in the stable JSON shape, with only the items that pass `keep`.
pub fn catalog_json_filtered(c: &Catalog, keep: impl Fn(&Item) -> bool) -> Value {
    let mut m = header_json(c);
    m.insert(
        "items".into(),
        Value::Array(c.items.iter().filter(|i| keep(i)).map(item_json).collect()),
    );
    Value::Object(m)
}

/// A catalog in the stable JSON shape.
pub fn catalog_json(c: &Catalog) -> Value {
    catalog_json_filtered(c, |_| true)
}

/// A mapping set in the aigov JSON shape.
pub fn mapping_set_json(s: &MappingSet) -> Value {
    let mut m = Map::new();
    m.insert("aigov_mapping_set".into(), json!(1));
    m.insert("id".into(), json!(s.id));
    m.insert("title".into(), text(&s.title));
    m.insert("subject".into(), json!(s.subject.to_string()));
    match &s.object {
        MappingTarget::Catalog(k) => {
            m.insert("object".into(), json!(k.to_string()));
        }
        MappingTarget::External(x) => {
            m.insert(
                "object_scheme".into(),
                json!({"id": x.id, "title": text(&x.title), "url_template": x.url_template}),
            );
        }
    }
    m.insert("author".into(), json!(s.author));
    m.insert("date".into(), json!(s.date));
    m.insert("description".into(), opt_text(&s.description));
    m.insert(
        "mappings".into(),
        Value::Array(
            s.mappings
                .iter()
                .map(|r| {
                    json!({
                        "subject": r.subject,
                        "relationship": r.relationship.as_str(),
                        "object": r.object,
                        "object_label": r.object_label,
                        "confidence": r.confidence,
                        "justification": r.justification,
                        "author": r.author,
                    })
                })
                .collect(),
        ),
    );
    Value::Object(m)
}

/// Removes nulls, empty arrays and all-null bilingual maps, for YAML authoring output.
pub fn prune(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let v = prune(v);
                let empty = match &v {
                    Value::Null => true,
                    Value::Array(a) => a.is_empty() && k != "items" && k != "mappings",
                    Value::Object(o) => o.is_empty(),
                    _ => false,
                };
                // `confirmed` is derived from `status`; keep YAML to what authors write.
                if !empty && k != "confirmed" {
                    out.insert(k, v);
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(prune).collect()),
        v => v,
    }
}

/// Serialises a JSON value as YAML.
pub fn to_yaml(v: &Value) -> String {
    serde_saphyr::to_string(v).unwrap_or_else(|e| format!("# cannot render YAML: {e}\n"))
}

/// A catalog as aigov YAML.
pub fn catalog_yaml(c: &Catalog) -> String {
    to_yaml(&prune(catalog_json(c)))
}

/// A mapping set as aigov YAML.
pub fn mapping_set_yaml(s: &MappingSet) -> String {
    to_yaml(&prune(mapping_set_json(s)))
}

/// Pretty JSON with a trailing newline.
pub fn to_json_string(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
