//! Mapping sets as SSSOM TSV (Simple Standard for Sharing Ontological Mappings).
//!
//! Relationships become SKOS predicates: equal → `skos:exactMatch`, subset → `skos:broadMatch`
//! (the object is broader), superset → `skos:narrowMatch`, intersect → `skos:closeMatch`,
//! related → `skos:relatedMatch`. The mapping is one-to-one, so import restores the
//! relationship. Item refs are percent-encoded into CURIEs under a prefix per catalog, whose
//! expansion is `urn:aigov:catalog:<id>@<version>:`. The curator's justification is the row
//! `comment`; `mapping_justification` is `semapv:ManualMappingCuration`.

use std::collections::BTreeMap;

use crate::load::{Diagnostic, Diagnostics};
use crate::model::*;

fn predicate(r: Relationship) -> &'static str {
    match r {
        Relationship::Equal => "skos:exactMatch",
        Relationship::Subset => "skos:broadMatch",
        Relationship::Superset => "skos:narrowMatch",
        Relationship::Intersect => "skos:closeMatch",
        Relationship::Related => "skos:relatedMatch",
    }
}

fn relationship(p: &str) -> Option<Relationship> {
    Some(match p {
        "skos:exactMatch" | "owl:equivalentClass" => Relationship::Equal,
        "skos:broadMatch" | "rdfs:subClassOf" => Relationship::Subset,
        "skos:narrowMatch" => Relationship::Superset,
        "skos:closeMatch" => Relationship::Intersect,
        "skos:relatedMatch" => Relationship::Related,
        _ => return None,
    })
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn prefix_for(k: &CatalogKey) -> String {
    format!("{}.{}", k.id, k.version.replace(['.', '-'], "_"))
}

fn tsv_cell(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// A mapping set as SSSOM TSV. `label` gives item titles for the label columns.
pub fn mapping_set_sssom(
    s: &MappingSet,
    label: &dyn Fn(&MappingTarget, &str) -> Option<String>,
) -> String {
    let sp = prefix_for(&s.subject);
    let (op, oexp) = match &s.object {
        MappingTarget::Catalog(k) => (prefix_for(k), format!("urn:aigov:catalog:{k}:")),
        MappingTarget::External(x) => (
            x.id.clone(),
            x.url_template
                .as_deref()
                .map(|u| u.replace("{id}", ""))
                .unwrap_or_else(|| format!("urn:aigov:external:{}:", x.id)),
        ),
    };
    let mut out = String::new();
    out.push_str("#curie_map:\n");
    out.push_str("#  semapv: https://w3id.org/semapv/vocab/\n");
    out.push_str("#  skos: http://www.w3.org/2004/02/skos/core#\n");
    out.push_str(&format!(
        "#  {sp}: {}\n",
        yaml_str(&format!("urn:aigov:catalog:{}:", s.subject))
    ));
    out.push_str(&format!("#  {op}: {}\n", yaml_str(&oexp)));
    out.push_str(&format!(
        "#mapping_set_id: {}\n",
        yaml_str(&format!("urn:aigov:mapping-set:{}", s.id))
    ));
    if let Some(en) = s.title.get(Lang::En) {
        out.push_str(&format!("#mapping_set_title: {}\n", yaml_str(en)));
    }
    if let Some(d) = s.description.as_ref().and_then(|d| d.get(Lang::En)) {
        out.push_str(&format!("#mapping_set_description: {}\n", yaml_str(d)));
    }
    out.push_str("#license: https://creativecommons.org/licenses/by/4.0/\n");
    if let Some(d) = &s.date {
        out.push_str(&format!("#mapping_date: {}\n", yaml_str(d)));
    }
    out.push_str(&format!("#creator_label: [{}]\n", yaml_str(&s.author)));
    out.push_str(&format!(
        "#subject_source: {}\n",
        yaml_str(&format!("urn:aigov:catalog:{}", s.subject))
    ));
    match &s.object {
        MappingTarget::Catalog(k) => out.push_str(&format!(
            "#object_source: {}\n",
            yaml_str(&format!("urn:aigov:catalog:{k}"))
        )),
        MappingTarget::External(x) => {
            out.push_str(&format!(
                "#object_source: {}\n",
                yaml_str(&format!("urn:aigov:external:{}", x.id))
            ));
        }
    }
    // aigov extension slots (declared, as SSSOM requires).
    out.push_str("#extension_definitions:\n");
    out.push_str("#  - slot_name: aigov_title_zh\n#    property: https://aigov.dev/ns/sssom#title_zh\n#    type_hint: xsd:string\n");
    out.push_str("#  - slot_name: aigov_description_zh\n#    property: https://aigov.dev/ns/sssom#description_zh\n#    type_hint: xsd:string\n");
    out.push_str("#  - slot_name: aigov_object_scheme_title\n#    property: https://aigov.dev/ns/sssom#object_scheme_title\n#    type_hint: xsd:string\n");
    out.push_str("#  - slot_name: aigov_object_scheme_title_zh\n#    property: https://aigov.dev/ns/sssom#object_scheme_title_zh\n#    type_hint: xsd:string\n");
    if let Some(zh) = s.title.get(Lang::Zh) {
        out.push_str(&format!("#aigov_title_zh: {}\n", yaml_str(zh)));
    }
    if let Some(zh) = s.description.as_ref().and_then(|d| d.get(Lang::Zh)) {
        out.push_str(&format!("#aigov_description_zh: {}\n", yaml_str(zh)));
    }
    if let MappingTarget::External(x) = &s.object {
        if let Some(t) = x.title.get(Lang::En) {
            out.push_str(&format!("#aigov_object_scheme_title: {}\n", yaml_str(t)));
        }
        if let Some(t) = x.title.get(Lang::Zh) {
            out.push_str(&format!("#aigov_object_scheme_title_zh: {}\n", yaml_str(t)));
        }
    }
    out.push_str("subject_id\tsubject_label\tpredicate_id\tobject_id\tobject_label\tmapping_justification\tconfidence\tauthor_label\tcomment\n");
    let subj_target = MappingTarget::Catalog(s.subject.clone());
    for m in &s.mappings {
        let sl = label(&subj_target, &m.subject).unwrap_or_default();
        let ol = m
            .object_label
            .clone()
            .or_else(|| label(&s.object, &m.object))
            .unwrap_or_default();
        let row = [
            format!("{sp}:{}", encode(&m.subject)),
            tsv_cell(&sl),
            predicate(m.relationship).to_string(),
            format!("{op}:{}", encode(&m.object)),
            tsv_cell(&ol),
            "semapv:ManualMappingCuration".to_string(),
            m.confidence.map(|c| c.to_string()).unwrap_or_default(),
            tsv_cell(m.author.as_deref().unwrap_or("")),
            tsv_cell(&m.justification),
        ];
        out.push_str(&row.join("\t"));
        out.push('\n');
    }
    out
}

/// Whether `src` looks like SSSOM TSV.
pub fn is_sssom(src: &str) -> bool {
    let first_data = src
        .lines()
        .find(|l| !l.starts_with('#') && !l.trim().is_empty());
    first_data.is_some_and(|l| {
        l.split('\t').any(|c| c == "subject_id") && l.split('\t').any(|c| c == "object_id")
    })
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.starts_with('"') {
        serde_json::from_str::<String>(v).unwrap_or_else(|_| v.trim_matches('"').to_string())
    } else if v.starts_with('\'') && v.ends_with('\'') && v.len() >= 2 {
        v[1..v.len() - 1].replace("''", "'")
    } else {
        v.to_string()
    }
}

/// Reads SSSOM TSV into a mapping set. Subject and object catalogs come from
/// `subject_source` / `object_source` (`urn:aigov:catalog:<id>@<version>`), or from the CURIE
/// map. Refs are checked later against the library.
pub fn parse_sssom(file: &str, src: &str) -> Result<MappingSet, Diagnostics> {
    let mut diags = Vec::new();
    let d =
        |line: Option<u64>, item: Option<String>, code: &'static str, message: String| Diagnostic {
            file: file.to_string(),
            line,
            item,
            code,
            message,
        };
    let mut meta: BTreeMap<String, String> = BTreeMap::new();
    let mut curie: BTreeMap<String, String> = BTreeMap::new();
    let mut section = "";
    let mut header_end = 0;
    for (i, line) in src.lines().enumerate() {
        let Some(rest) = line.strip_prefix('#') else {
            header_end = i;
            break;
        };
        if rest.starts_with("  ") || rest.starts_with('\t') {
            if section == "curie_map"
                && let Some((k, v)) = rest.trim().split_once(':')
            {
                curie.insert(k.trim().to_string(), unquote(v));
            }
            continue;
        }
        match rest.split_once(':') {
            Some((k, v)) => {
                section = if v.trim().is_empty() {
                    if k == "curie_map" {
                        "curie_map"
                    } else {
                        "other"
                    }
                } else {
                    ""
                };
                if !v.trim().is_empty() {
                    meta.insert(k.trim().to_string(), unquote(v));
                }
            }
            None => diags.push(d(
                Some(i as u64 + 1),
                None,
                "syntax",
                "metadata line is not `#key: value`".into(),
            )),
        }
    }
    let source_key = |k: &str| -> Option<String> {
        meta.get(k)
            .and_then(|v| v.strip_prefix("urn:aigov:catalog:").map(str::to_string))
    };
    let subject = match source_key("subject_source").map(|s| CatalogKey::parse(&s)) {
        Some(Ok(k)) => Some(k),
        Some(Err(m)) => {
            diags.push(d(None, None, "bad-header", format!("subject_source: {m}")));
            None
        }
        None => {
            diags.push(d(None, None, "bad-header", "SSSOM metadata needs subject_source: urn:aigov:catalog:<id>@<version> (the aigov catalog the subjects belong to)".into()));
            None
        }
    };
    let object = match source_key("object_source") {
        Some(s) => match CatalogKey::parse(&s) {
            Ok(k) => Some(MappingTarget::Catalog(k)),
            Err(m) => {
                diags.push(d(None, None, "bad-header", format!("object_source: {m}")));
                None
            }
        },
        None => match meta
            .get("object_source")
            .and_then(|v| v.strip_prefix("urn:aigov:external:"))
        {
            Some(x) => Some(MappingTarget::External(ExternalScheme {
                id: x.to_string(),
                title: Text {
                    zh: meta.get("aigov_object_scheme_title_zh").cloned(),
                    en: meta.get("aigov_object_scheme_title").cloned(),
                }
                .normalized(),
                url_template: curie
                    .get(x)
                    .filter(|u| u.starts_with("http"))
                    .map(|u| format!("{u}{{id}}")),
            })),
            None => {
                diags.push(d(None, None, "bad-header", "SSSOM metadata needs object_source: urn:aigov:catalog:<id>@<version> or urn:aigov:external:<scheme>".into()));
                None
            }
        },
    };
    let id = meta
        .get("mapping_set_id")
        .map(|v| v.rsplit(':').next().unwrap_or(v).to_string())
        .unwrap_or_else(|| "imported-sssom".into());
    if let Err(m) = check_id(&id) {
        diags.push(d(None, None, "bad-id", format!("mapping_set_id: {m}")));
    }
    let body: String = src.lines().skip(header_end).collect::<Vec<_>>().join("\n");
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .quoting(false)
        .flexible(true)
        .from_reader(body.as_bytes());
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(Diagnostics(vec![d(
                None,
                None,
                "syntax",
                format!("cannot read the TSV header row: {e}"),
            )]));
        }
    };
    let col = |n: &str| headers.iter().position(|h| h == n);
    for req in ["subject_id", "predicate_id", "object_id"] {
        if col(req).is_none() {
            diags.push(d(
                None,
                None,
                "missing-field",
                format!("SSSOM TSV has no {req:?} column"),
            ));
        }
    }
    if !diags.is_empty() {
        return Err(Diagnostics(diags));
    }
    let local = |curie_s: &str| -> String {
        match curie_s.split_once(':') {
            Some((_, l)) => decode(l),
            None => decode(curie_s),
        }
    };
    let mut mappings = Vec::new();
    let mut lines = Vec::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                diags.push(d(None, None, "syntax", format!("bad TSV row: {e}")));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line() + header_end as u64);
        let cell = |n: &str| {
            col(n)
                .and_then(|i| rec.get(i))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let subj = local(&cell("subject_id"));
        let obj = local(&cell("object_id"));
        let row = Some(format!("{subj} -> {obj}"));
        let Some(rel) = relationship(&cell("predicate_id")) else {
            diags.push(d(
                line,
                row,
                "bad-relationship",
                format!(
                    "predicate {:?} has no aigov relationship (use a skos:*Match predicate)",
                    cell("predicate_id")
                ),
            ));
            continue;
        };
        let confidence = match cell("confidence") {
            c if c.is_empty() => None,
            c => match c.parse::<f64>() {
                Ok(v) if (0.0..=1.0).contains(&v) => Some(v),
                _ => {
                    diags.push(d(
                        line,
                        row.clone(),
                        "bad-confidence",
                        format!("confidence {c:?} is not a number in 0..1"),
                    ));
                    None
                }
            },
        };
        let ol = cell("object_label");
        mappings.push(Mapping {
            subject: subj,
            relationship: rel,
            object: obj,
            object_label: (matches!(object, Some(MappingTarget::External(_))) && !ol.is_empty())
                .then_some(ol),
            confidence,
            justification: cell("comment"),
            author: Some(cell("author_label")).filter(|a| !a.is_empty()),
        });
        lines.push(line);
    }
    if !diags.is_empty() {
        return Err(Diagnostics(diags));
    }
    let (Some(subject), Some(object)) = (subject, object) else {
        return Err(Diagnostics(diags));
    };
    let title = Text {
        zh: meta.get("aigov_title_zh").cloned(),
        en: meta.get("mapping_set_title").cloned(),
    }
    .normalized();
    let description = Text {
        zh: meta.get("aigov_description_zh").cloned(),
        en: meta.get("mapping_set_description").cloned(),
    }
    .normalized();
    let author = meta
        .get("creator_label")
        .map(|c| {
            c.trim_matches(['[', ']'])
                .split(',')
                .map(unquote)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|| "unknown".into());
    Ok(MappingSet {
        id: id.clone(),
        title: if title.is_empty() {
            Text::only(Lang::En, id)
        } else {
            title
        },
        subject,
        object,
        author,
        date: meta.get("mapping_date").cloned(),
        description: (!description.is_empty()).then_some(description),
        mappings,
        origin: Origin {
            file: file.to_string(),
            lines,
        },
    })
}
