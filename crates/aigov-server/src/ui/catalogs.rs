//! The catalog browser (catalogs, an item tree with bilingual text, search) and the crosswalk
//! view (pick an item, see what other frameworks map to it, with relationship and path).

use aigov_catalog::search::{Query as SearchQuery, search};
use aigov_catalog::{Catalog, Item, Library};
use aigov_core::access::Perm;
use askama::Template;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use super::view::{Ctx, UiResult, csv_response, render, some, wants_csv};
use super::{Lang, view};
use crate::AppState;
use crate::api::catalogs::crosswalk_of;
use crate::error::ApiError;

/// Bilingual text in the UI language: (text, fell back to the other language).
fn text(lang: Lang, t: &aigov_catalog::Text) -> (String, bool) {
    view::pick(lang, t.zh.as_deref(), t.en.as_deref())
}

/// A catalog row.
#[derive(Debug, Clone)]
pub struct CatalogRow {
    /// `id`.
    pub id: String,
    /// `id@version`.
    pub key: String,
    /// Title.
    pub title: (String, bool),
    /// Publisher.
    pub publisher: String,
    /// Items.
    pub items: usize,
}

/// A search hit.
#[derive(Debug, Clone)]
pub struct HitRow {
    /// Catalog id.
    pub catalog: String,
    /// `id@version`.
    pub key: String,
    /// Item ref.
    pub item: String,
    /// Kind.
    pub kind: String,
    /// Title.
    pub title: (String, bool),
}

#[derive(Template)]
#[template(path = "catalogs.html")]
struct ListTpl<'a> {
    c: &'a Ctx,
    q: String,
    rows: Vec<CatalogRow>,
    hits: Vec<HitRow>,
}

/// Catalog list parameters.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    /// Search text.
    #[serde(default)]
    pub q: Option<String>,
    /// `csv`.
    #[serde(default)]
    pub format: Option<String>,
    /// Version (detail).
    #[serde(default)]
    pub version: Option<String>,
}

fn hit_rows(lang: Lang, lib: &Library, q: &str, catalog: Option<&str>) -> Vec<HitRow> {
    search(
        lib,
        &SearchQuery {
            text: q,
            catalog,
            limit: 100,
            ..Default::default()
        },
    )
    .iter()
    .map(|h| HitRow {
        catalog: h.catalog.id.clone(),
        key: h.catalog.key().to_string(),
        item: h.item.r#ref.clone(),
        kind: h.item.kind.as_str().to_string(),
        title: text(lang, &h.item.title),
    })
    .collect()
}

/// `GET /catalogs` (`?q=` searches every catalog; `?format=csv`).
pub async fn list(State(s): State<AppState>, c: Ctx, Query(p): Query<ListParams>) -> UiResult {
    c.require(Perm::CatalogRead)?;
    let lib = s.library().await;
    let rows: Vec<CatalogRow> = lib
        .catalogs()
        .map(|cat| CatalogRow {
            id: cat.id.clone(),
            key: cat.key().to_string(),
            title: text(c.lang, &cat.title),
            publisher: cat
                .publisher
                .as_ref()
                .map(|p| text(c.lang, p).0)
                .unwrap_or_default(),
            items: cat.items.len(),
        })
        .collect();
    let q = some(&p.q).unwrap_or_default();
    let hits = if q.is_empty() {
        Vec::new()
    } else {
        hit_rows(c.lang, &lib, &q, None)
    };
    if wants_csv(&p.format) {
        return csv_response(
            "catalogs",
            &["catalog", "title", "publisher", "items"],
            &rows
                .iter()
                .map(|r| {
                    vec![
                        r.key.clone(),
                        r.title.0.clone(),
                        r.publisher.clone(),
                        r.items.to_string(),
                    ]
                })
                .collect::<Vec<_>>(),
        );
    }
    render(&ListTpl {
        c: &c,
        q,
        rows,
        hits,
    })
}

/// An item in the tree.
#[derive(Debug, Clone)]
pub struct TreeRow {
    /// Depth (0 = top), capped at 5 for indentation.
    pub depth: usize,
    /// Ref.
    pub item: String,
    /// Kind.
    pub kind: String,
    /// Title.
    pub title: (String, bool),
    /// Text.
    pub body: (String, bool),
    /// Its citation (`id@version:ref`).
    pub cite: String,
}

#[derive(Template)]
#[template(path = "catalog.html")]
struct DetailTpl<'a> {
    c: &'a Ctx,
    key: String,
    id: String,
    title: (String, bool),
    description: (String, bool),
    q: String,
    tree: Vec<TreeRow>,
    hits: Vec<HitRow>,
    csv: String,
}

fn tree(lang: Lang, cat: &Catalog) -> Vec<TreeRow> {
    let depth_of = |it: &Item| {
        let mut d = 0;
        let mut p = it.parent.clone();
        while let Some(pr) = p {
            d += 1;
            if d > 8 {
                break;
            }
            p = cat
                .items
                .iter()
                .find(|x| x.r#ref == pr)
                .and_then(|x| x.parent.clone());
        }
        d
    };
    cat.items
        .iter()
        .map(|it| TreeRow {
            depth: depth_of(it).min(5),
            item: it.r#ref.clone(),
            kind: it.kind.as_str().to_string(),
            title: text(lang, &it.title),
            body: it.text.as_ref().map(|t| text(lang, t)).unwrap_or_default(),
            cite: format!("{}:{}", cat.key(), it.r#ref),
        })
        .collect()
}

/// `GET /catalogs/{id}` (`?version=`, `?q=` searches this catalog, `?format=csv`).
pub async fn detail(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Query(p): Query<ListParams>,
) -> UiResult {
    c.require(Perm::CatalogRead)?;
    let lib = s.library().await;
    let cat = lib
        .get(&id, p.version.as_deref())
        .ok_or_else(|| ApiError::not_found(format!("no catalog {id}")))?;
    let rows = tree(c.lang, cat);
    if wants_csv(&p.format) {
        return csv_response(
            &cat.id,
            &["ref", "kind", "title", "text"],
            &rows
                .iter()
                .map(|r| {
                    vec![
                        r.item.clone(),
                        r.kind.clone(),
                        r.title.0.clone(),
                        r.body.0.clone(),
                    ]
                })
                .collect::<Vec<_>>(),
        );
    }
    let q = some(&p.q).unwrap_or_default();
    let hits = if q.is_empty() {
        Vec::new()
    } else {
        hit_rows(c.lang, &lib, &q, Some(&cat.id))
    };
    render(&DetailTpl {
        key: cat.key().to_string(),
        id: cat.id.clone(),
        title: text(c.lang, &cat.title),
        description: cat
            .description
            .as_ref()
            .map(|d| text(c.lang, d))
            .unwrap_or_default(),
        csv: format!("/catalogs/{}?format=csv", cat.id),
        q,
        tree: rows,
        hits,
        c: &c,
    })
}

/// Crosswalk parameters.
#[derive(Debug, Default, Deserialize)]
pub struct MapParams {
    /// `catalog[@version]:ref`.
    #[serde(default)]
    pub item: Option<String>,
    /// Longest chain (1–4).
    #[serde(default)]
    pub max_hops: Option<usize>,
    /// `csv`.
    #[serde(default)]
    pub format: Option<String>,
}

/// A mapped item.
#[derive(Debug, Clone)]
pub struct MapRow {
    /// Target catalog (or `ext:scheme`).
    pub catalog: String,
    /// Target ref.
    pub item: String,
    /// Target title, when it is a catalog item.
    pub title: (String, bool),
    /// Relationship.
    pub relationship: String,
    /// Confidence.
    pub confidence: String,
    /// Direct or through a hub.
    pub direct: bool,
    /// The path, hop by hop.
    pub path: String,
}

#[derive(Template)]
#[template(path = "crosswalk.html")]
struct MapTpl<'a> {
    c: &'a Ctx,
    item: String,
    hops: usize,
    start: String,
    rows: Vec<MapRow>,
    searched: bool,
}

/// `GET /crosswalk?item=…`.
pub async fn crosswalk(State(s): State<AppState>, c: Ctx, Query(p): Query<MapParams>) -> UiResult {
    c.require(Perm::CatalogRead)?;
    let hops = p.max_hops.unwrap_or(2).clamp(1, 4);
    let item = some(&p.item).unwrap_or_default();
    let lib = s.library().await;
    let (start, rows) = if item.is_empty() {
        (String::new(), Vec::new())
    } else {
        let (start, found) = crosswalk_of(&lib, &item, None, hops)?;
        let rows: Vec<MapRow> = found
            .iter()
            .map(|m| {
                let title = match &m.target {
                    aigov_catalog::crosswalk::Node::Item(k, r) => lib
                        .get_exact(&k.id, &k.version.to_string())
                        .and_then(|cat| cat.items.iter().find(|i| &i.r#ref == r))
                        .map(|i| text(c.lang, &i.title))
                        .unwrap_or_default(),
                    _ => (String::new(), false),
                };
                MapRow {
                    catalog: m.target.space(),
                    item: m.target.local().to_string(),
                    title,
                    relationship: m.relationship.as_str().to_string(),
                    confidence: m.confidence.map(|x| format!("{x:.2}")).unwrap_or_default(),
                    direct: m.is_direct(),
                    path: m
                        .path
                        .iter()
                        .map(|h| {
                            format!(
                                "{} → {} ({}, {})",
                                h.from,
                                h.to,
                                h.relationship.as_str(),
                                h.set
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" ⇒ "),
                }
            })
            .collect();
        (start.to_string(), rows)
    };
    if wants_csv(&p.format) {
        return csv_response(
            "crosswalk",
            &[
                "from",
                "catalog",
                "ref",
                "title",
                "relationship",
                "confidence",
                "path",
            ],
            &rows
                .iter()
                .map(|r| {
                    vec![
                        start.clone(),
                        r.catalog.clone(),
                        r.item.clone(),
                        r.title.0.clone(),
                        r.relationship.clone(),
                        r.confidence.clone(),
                        r.path.clone(),
                    ]
                })
                .collect::<Vec<_>>(),
        );
    }
    render(&MapTpl {
        c: &c,
        searched: !item.is_empty(),
        item,
        hops,
        start,
        rows,
    })
}
