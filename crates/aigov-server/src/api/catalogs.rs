//! `/api/v1/catalogs`, `/api/v1/mapping-sets`, `/api/v1/crosswalk`: framework catalogs,
//! search and crosswalks, read from the store (built-ins plus imports).

use aigov_catalog::crosswalk::{Crosswalk, Node};
use aigov_catalog::formats::{self, ImportOverrides, aigov as af};
use aigov_catalog::search::{Query as SearchQuery, search};
use aigov_catalog::{Cite, Kind, MappingTarget};
use aigov_core::access::Perm;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Principal, Query, body_bytes};

/// A catalog in a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogSummary {
    /// Id.
    pub id: String,
    /// Version.
    pub version: String,
    /// Title.
    #[schema(value_type = Object)]
    pub title: Value,
    /// Items.
    pub items: usize,
    /// `builtin` or `imported`.
    pub origin: String,
    /// Publication date.
    pub published: Option<String>,
    /// Whether this is the newest version of its id.
    pub newest: bool,
}

/// List catalogs.
#[utoipa::path(get, path = "/api/v1/catalogs", tag = "catalogs", responses((status = 200, body = Vec<CatalogSummary>)))]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
) -> ApiResult<axum::Json<Vec<CatalogSummary>>> {
    p.require(Perm::CatalogRead)?;
    let lib = s.library().await;
    let out = lib
        .catalogs_with_origin()
        .map(|(c, o)| CatalogSummary {
            id: c.id.clone(),
            version: c.version.to_string(),
            title: json!({"zh": c.title.zh, "en": c.title.en}),
            items: c.items.len(),
            origin: o.label().into(),
            published: c.published.clone(),
            newest: lib
                .get(&c.id, None)
                .map(|n| n.version == c.version)
                .unwrap_or(false),
        })
        .collect();
    Ok(axum::Json(out))
}

/// Which version and kind.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ShowParams {
    /// Version (default: the newest).
    pub version: Option<String>,
    /// Only items of this kind.
    pub kind: Option<String>,
}

/// A catalog in the stable JSON shape.
#[utoipa::path(get, path = "/api/v1/catalogs/{id}", tag = "catalogs", params(("id" = String, Path, description = "Catalog id"), ShowParams),
    responses((status = 200, description = "The catalog", body = Object), (status = 404, body = Problem)))]
pub async fn show(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Query(q): Query<ShowParams>,
) -> ApiResult<axum::Json<Value>> {
    p.require(Perm::CatalogRead)?;
    let kind = match &q.kind {
        Some(k) => Some(
            k.parse::<Kind>()
                .map_err(|m| ApiError::bad_field("kind", m))?,
        ),
        None => None,
    };
    let lib = s.library().await;
    let c = lib.get(&id, q.version.as_deref()).ok_or_else(|| {
        ApiError::not_found(format!(
            "no catalog {id}{}",
            q.version
                .as_ref()
                .map(|v| format!("@{v}"))
                .unwrap_or_default()
        ))
    })?;
    Ok(axum::Json(af::catalog_json_filtered(c, |it| {
        kind.is_none_or(|k| it.kind == k)
    })))
}

/// Search parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The text (zh or en).
    pub q: String,
    /// Only this catalog id.
    pub catalog: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// At most this many hits (1–500, default 20).
    pub limit: Option<usize>,
}

/// Search catalog items, best first.
#[utoipa::path(get, path = "/api/v1/catalogs/search", tag = "catalogs", params(SearchParams), responses((status = 200, body = Vec<Object>)))]
pub async fn search_items(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Query<SearchParams>,
) -> ApiResult<axum::Json<Vec<Value>>> {
    p.require(Perm::CatalogRead)?;
    let kind = match &q.kind {
        Some(k) => Some(
            k.parse::<Kind>()
                .map_err(|m| ApiError::bad_field("kind", m))?,
        ),
        None => None,
    };
    let limit = q.limit.unwrap_or(20);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_field("limit", "must be between 1 and 500"));
    }
    let lib = s.library().await;
    let hits = search(
        &lib,
        &SearchQuery {
            text: &q.q,
            catalog: q.catalog.as_deref(),
            kind,
            limit,
            ..Default::default()
        },
    );
    Ok(axum::Json(
        hits.iter()
            .map(|h| json!({"catalog": h.catalog.key().to_string(), "ref": h.item.r#ref, "kind": h.item.kind.as_str(), "title": {"zh": h.item.title.zh, "en": h.item.title.en}, "score": (h.score * 100.0).round() / 100.0, "matched": h.matched}))
            .collect(),
    ))
}

/// Crosswalk parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MapParams {
    /// The item: `catalog[@version]:ref`.
    pub item: String,
    /// Only targets in this catalog id or external scheme.
    pub to: Option<String>,
    /// Longest chain, 1–4 (default 2).
    pub max_hops: Option<usize>,
}

/// Items mapped from one item, directly and through hub catalogs, with paths.
#[utoipa::path(get, path = "/api/v1/crosswalk", tag = "catalogs", params(MapParams), responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn crosswalk(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Query<MapParams>,
) -> ApiResult<axum::Json<Value>> {
    p.require(Perm::CatalogRead)?;
    let hops = q.max_hops.unwrap_or(2);
    if !(1..=4).contains(&hops) {
        return Err(ApiError::bad_field("max_hops", "must be between 1 and 4"));
    }
    let lib = s.library().await;
    let (start, found) = crosswalk_of(&lib, &q.item, q.to.as_deref(), hops)?;
    let mappings: Vec<Value> = found
        .iter()
        .map(|m| {
            json!({
                "target": {"catalog": m.target.space(), "ref": m.target.local()},
                "relationship": m.relationship.as_str(), "confidence": m.confidence, "direct": m.is_direct(),
                "path": m.path.iter().map(|h| json!({"set": h.set, "from": h.from.to_string(), "to": h.to.to_string(), "relationship": h.relationship.as_str(), "confidence": h.confidence, "justification": h.justification})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(axum::Json(
        json!({"item": start.to_string(), "mappings": mappings}),
    ))
}

/// The items mapped from `item` (`catalog[@version]:ref`), directly and through hub
/// catalogs; shared by the API and the web UI's crosswalk view.
pub(crate) fn crosswalk_of(
    lib: &aigov_catalog::Library,
    item: &str,
    to: Option<&str>,
    hops: usize,
) -> ApiResult<(Node, Vec<aigov_catalog::crosswalk::MappedItem>)> {
    let cite = Cite::parse(item).map_err(|m| ApiError::bad_field("item", m))?;
    let (c, it) = lib
        .cite(&cite)
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    let start = Node::Item(c.key(), it.r#ref.clone());
    let found = Crosswalk::new(lib).map(&start, to, hops);
    Ok((start, found))
}

/// List mapping sets.
#[utoipa::path(get, path = "/api/v1/mapping-sets", tag = "catalogs", responses((status = 200, body = Vec<Object>)))]
pub async fn mapping_sets(
    State(s): State<AppState>,
    p: Principal,
) -> ApiResult<axum::Json<Vec<Value>>> {
    p.require(Perm::CatalogRead)?;
    let lib = s.library().await;
    Ok(axum::Json(
        lib.mapping_sets_with_origin()
            .map(|(m, o)| {
                let object = match &m.object {
                    MappingTarget::Catalog(k) => k.to_string(),
                    MappingTarget::External(x) => format!("ext:{}", x.id),
                };
                json!({"id": m.id, "subject": m.subject.to_string(), "object": object, "mappings": m.mappings.len(), "origin": o.label()})
            })
            .collect(),
    ))
}

/// Import options.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Replace an imported catalog or mapping set with the same key.
    #[serde(default)]
    pub replace: bool,
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogImportResult {
    /// The format detected.
    pub format: String,
    /// Catalogs stored (`id@version`), with `unchanged` ones left out.
    pub catalogs: Vec<String>,
    /// Mapping sets stored.
    pub mapping_sets: Vec<String>,
    /// What the file held that was not imported.
    pub skipped: Vec<String>,
}

/// Import a catalog or mapping set (aigov YAML/JSON/CSV, SSSOM, OSCAL, CISO Assistant).
#[utoipa::path(post, path = "/api/v1/catalogs/import", tag = "catalogs", params(ImportParams), request_body(content = String, content_type = "application/yaml"),
    responses((status = 201, body = CatalogImportResult), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn import(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Query<ImportParams>,
    req: Request,
) -> ApiResult<(StatusCode, axum::Json<CatalogImportResult>)> {
    p.require(Perm::CatalogImport)?;
    let bytes = body_bytes(req, s.config.max_import_bytes).await?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        ApiError::new(
            "bad-request",
            format!(
                "the file is not UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    let lib = s.library().await;
    let urns: std::collections::HashMap<String, (aigov_catalog::CatalogKey, String)> = lib
        .catalogs_with_origin()
        .filter(|(_, o)| matches!(o, aigov_catalog::Source::Imported(_)))
        .flat_map(|(c, _)| {
            c.items.iter().filter_map(|it| {
                formats::ciso::urn_of(it).map(|u| (u.to_string(), (c.key(), it.r#ref.clone())))
            })
        })
        .collect();
    let imported = formats::import_file_with("upload", text, &ImportOverrides::default(), &|u| {
        urns.get(u).cloned()
    })
    .map_err(diag_error)?;
    // Check mapping sets against the catalogs they will sit beside before writing anything.
    let mut scratch = (*lib).clone();
    for c in &imported.catalogs {
        scratch
            .add_catalog(c.clone(), aigov_catalog::Source::Imported("upload".into()))
            .map_err(|e| ApiError::new("conflict", e.to_string()))?;
    }
    for m in &imported.mapping_sets {
        scratch.check_mapping_set(m).map_err(diag_error)?;
    }
    let actor = p.actor();
    let mut out = CatalogImportResult {
        format: imported.format.to_string(),
        catalogs: Vec::new(),
        mapping_sets: Vec::new(),
        skipped: imported.skipped.clone(),
    };
    for c in &imported.catalogs {
        if s.store.import_catalog(&actor, c, q.replace).await? {
            out.catalogs.push(c.key().to_string());
        }
    }
    for m in &imported.mapping_sets {
        if s.store.import_mapping_set(&actor, m, q.replace).await? {
            out.mapping_sets.push(m.id.clone());
        }
    }
    s.reload_library().await?;
    Ok((StatusCode::CREATED, axum::Json(out)))
}

fn diag_error(d: aigov_catalog::Diagnostics) -> ApiError {
    ApiError::invalid(
        d.0.iter()
            .map(|x| {
                let at = match (x.line, &x.item) {
                    (Some(l), Some(i)) => format!("line {l}: {i}"),
                    (Some(l), None) => format!("line {l}"),
                    (None, Some(i)) => i.clone(),
                    (None, None) => "file".into(),
                };
                aigov_core::FieldError::new(at, format!("{} [{}]", x.message, x.code))
            })
            .collect(),
    )
}
