//! `/api/v1/{systems,models,datasets,vendors,endpoints}`: the inventory, with pagination,
//! filters, sorting, optimistic concurrency (ETag / If-Match), lifecycle stage changes, and
//! CSV/JSON import and export. The five kinds share one implementation; a macro gives each
//! its own documented routes.

use aigov_core::FieldError;
use aigov_core::access::Perm;
use aigov_core::inventory::*;
use aigov_core::records::{Record, StageChange};
use aigov_store::inventory::{Filter, ListQuery, SortKey};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{IfMatch, Json, OptionalIfMatch, Principal, Query, body_bytes, etag};

/// Largest page.
pub const MAX_LIMIT: i64 = 500;

/// List parameters common to every kind, plus the system filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Case-insensitive substring of the name.
    pub q: Option<String>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
    /// Sort key: ref, name, created_at, updated_at, lifecycle_stage, system_type; prefix `-`
    /// for descending (default `ref`).
    pub sort: Option<String>,
    /// Systems: type.
    pub system_type: Option<String>,
    /// Systems: lifecycle stage.
    pub lifecycle_stage: Option<String>,
    /// Systems: status.
    pub status: Option<String>,
    /// Systems: owner's user id.
    pub owner_id: Option<String>,
    /// Systems: sector.
    pub sector: Option<String>,
    /// Systems: public-facing.
    pub public_facing: Option<bool>,
    /// Systems: used in a key area.
    pub key_area: Option<bool>,
}

/// A page of records.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordPage {
    /// The records.
    pub items: Vec<Record>,
    /// Records matching the filters, on all pages.
    pub total: i64,
    /// Page size.
    pub limit: i64,
    /// Records skipped.
    pub offset: i64,
}

fn enum_param<T>(
    name: &str,
    v: &Option<String>,
    parse: impl Fn(&str) -> Option<T>,
    expected: String,
) -> ApiResult<Option<T>> {
    match v {
        None => Ok(None),
        Some(s) => parse(s).map(Some).ok_or_else(|| {
            ApiError::bad_field(
                name,
                format!("unknown value {s:?} (expected one of {expected})"),
            )
        }),
    }
}

/// Turns list parameters into a store query, refusing what does not apply to `kind`.
pub fn list_query(kind: ObjectKind, p: &ListParams) -> ApiResult<ListQuery> {
    let limit = p.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_field(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let offset = p.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::bad_field("offset", "must not be negative"));
    }
    let (desc, key) = match p.sort.as_deref() {
        None => (false, "ref"),
        Some(s) => match s.strip_prefix('-') {
            Some(k) => (true, k),
            None => (false, s),
        },
    };
    let sort = SortKey::parse(key).ok_or_else(|| {
        ApiError::bad_field(
            "sort",
            format!(
                "unknown sort key {key:?} (expected one of {})",
                SortKey::NAMES.join(", ")
            ),
        )
    })?;
    let mut filters = Vec::new();
    let system_only = [
        ("system_type", p.system_type.is_some()),
        ("lifecycle_stage", p.lifecycle_stage.is_some()),
        ("status", p.status.is_some()),
        ("owner_id", p.owner_id.is_some()),
        ("sector", p.sector.is_some()),
        ("public_facing", p.public_facing.is_some()),
        ("key_area", p.key_area.is_some()),
    ];
    if kind != ObjectKind::System {
        if let Some((name, _)) = system_only.iter().find(|(_, set)| *set) {
            return Err(ApiError::bad_field(
                *name,
                format!("filters systems only, not {}", kind.plural()),
            ));
        }
        if matches!(sort, SortKey::Stage | SortKey::SystemType) {
            return Err(ApiError::bad_field(
                "sort",
                format!("{key} sorts systems only"),
            ));
        }
    }
    if let Some(t) = enum_param(
        "system_type",
        &p.system_type,
        SystemType::parse,
        SystemType::expected(),
    )? {
        filters.push(Filter::SystemType(t));
    }
    if let Some(t) = enum_param(
        "lifecycle_stage",
        &p.lifecycle_stage,
        Stage::parse,
        Stage::expected(),
    )? {
        filters.push(Filter::Stage(t));
    }
    if let Some(t) = enum_param(
        "status",
        &p.status,
        SystemStatus::parse,
        SystemStatus::expected(),
    )? {
        filters.push(Filter::Status(t));
    }
    if let Some(o) = &p.owner_id {
        filters.push(Filter::Owner(o.clone()));
    }
    if let Some(s) = &p.sector {
        filters.push(Filter::Sector(s.clone()));
    }
    if let Some(b) = p.public_facing {
        filters.push(Filter::PublicFacing(b));
    }
    if let Some(b) = p.key_area {
        filters.push(Filter::KeyArea(b));
    }
    Ok(ListQuery {
        q: p.q.clone(),
        filters,
        sort,
        desc,
        limit,
        offset,
    })
}

/// A record response with its ETag.
pub fn record_response(status: StatusCode, r: &Record) -> Response {
    let mut resp = (status, axum::Json(r)).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(r.version)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&format!("/api/v1/{}/{}", r.kind.plural(), r.id))
    {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

pub(crate) async fn do_list(
    s: &AppState,
    p: &Principal,
    kind: ObjectKind,
    params: ListParams,
) -> ApiResult<axum::Json<RecordPage>> {
    p.require(Perm::InventoryRead)?;
    let q = list_query(kind, &params)?;
    let (items, total) = s.store.list_objects(kind, &q).await?;
    Ok(axum::Json(RecordPage {
        items,
        total,
        limit: q.limit,
        offset: q.offset,
    }))
}

pub(crate) async fn do_create(
    s: &AppState,
    p: &Principal,
    kind: ObjectKind,
    body: Value,
) -> ApiResult<Response> {
    let r = create_record(s, p, kind, body).await?;
    Ok(record_response(StatusCode::CREATED, &r))
}

/// Creates an inventory object from its JSON fields (systems may name their first
/// `lifecycle_stage`); shared by the API and the web UI.
pub(crate) async fn create_record(
    s: &AppState,
    p: &Principal,
    kind: ObjectKind,
    mut body: Value,
) -> ApiResult<Record> {
    p.require(Perm::InventoryWrite)?;
    let mut stage = None;
    if kind == ObjectKind::System
        && let Some(obj) = body.as_object_mut()
        && let Some(v) = obj.remove("lifecycle_stage")
    {
        let st = v.as_str().and_then(Stage::parse).ok_or_else(|| {
            ApiError::invalid(vec![FieldError::new(
                "lifecycle_stage",
                format!("must be one of {}", Stage::expected()),
            )])
        })?;
        stage = Some(st);
    }
    Ok(s.store.create_object(&p.actor(), kind, body, stage).await?)
}

pub(crate) async fn do_get(
    s: &AppState,
    p: &Principal,
    kind: ObjectKind,
    id: &str,
) -> ApiResult<Response> {
    p.require(Perm::InventoryRead)?;
    Ok(record_response(
        StatusCode::OK,
        &s.store.get_object(kind, id).await?,
    ))
}

pub(crate) async fn do_update(
    s: &AppState,
    p: &Principal,
    kind: ObjectKind,
    id: &str,
    version: i64,
    patch: Value,
) -> ApiResult<Response> {
    p.require(Perm::InventoryWrite)?;
    Ok(record_response(
        StatusCode::OK,
        &s.store
            .update_object(&p.actor(), kind, id, patch, version)
            .await?,
    ))
}

pub(crate) async fn do_delete(
    s: &AppState,
    p: &Principal,
    kind: ObjectKind,
    id: &str,
    version: Option<i64>,
) -> ApiResult<StatusCode> {
    p.require(Perm::InventoryDelete)?;
    s.store.delete_object(&p.actor(), kind, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Export format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

pub(crate) async fn do_export(
    s: &AppState,
    p: &Principal,
    kind: ObjectKind,
    params: ExportParams,
) -> ApiResult<Response> {
    p.require(Perm::InventoryRead)?;
    let records = s.store.export_objects(kind).await?;
    let (body, ct, ext) = match params.format.as_deref().unwrap_or("json") {
        "json" => (
            serde_json::to_string_pretty(&records).unwrap_or_default(),
            "application/json",
            "json",
        ),
        "csv" => (to_csv(kind, &records), "text/csv; charset=utf-8", "csv"),
        other => {
            return Err(ApiError::bad_field(
                "format",
                format!("unknown format {other:?} (expected json or csv)"),
            ));
        }
    };
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"aigov-{}.{ext}\"",
        kind.plural()
    )) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

/// The outcome of an import.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    /// Records created.
    pub imported: usize,
    /// Their refs, in file order.
    pub refs: Vec<String>,
}

pub(crate) async fn do_import(
    s: &AppState,
    p: &Principal,
    kind: ObjectKind,
    req: Request,
) -> ApiResult<(StatusCode, axum::Json<ImportResult>)> {
    p.require(Perm::InventoryWrite)?;
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
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
    let rows = match ct.as_str() {
        "text/csv" => rows_from_csv(kind, text)?,
        "application/json" => rows_from_json(text)?,
        "application/x-ndjson" | "application/jsonl" => rows_from_jsonl(text)?,
        other => {
            return Err(ApiError::new(
                "unsupported-media-type",
                format!(
                    "send text/csv, application/json (an array) or application/x-ndjson, not {other:?}"
                ),
            ));
        }
    };
    let created = s.store.import_objects(&p.actor(), kind, rows).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ImportResult {
            imported: created.len(),
            refs: created.into_iter().map(|r| r.r#ref).collect(),
        }),
    ))
}

/// A lifecycle stage change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageRequest {
    /// The stage to move to.
    #[schema(value_type = String, example = "deploy")]
    pub to: Stage,
    /// Why (recorded in the history and the audit log).
    pub reason: String,
    /// Move past a blocking stage gate (admins only): why. The gate's blockers are recorded
    /// with the change.
    #[serde(default)]
    pub override_reason: Option<String>,
}

/// Move a system to another lifecycle stage (If-Match required). A stage gate that blocks
/// the move is answered 409 `gate-blocked` listing what blocks it; an admin may override it
/// with `override_reason`.
#[utoipa::path(post, path = "/api/v1/systems/{id}/stage", tag = "systems", request_body = StageRequest,
    params(("id" = String, Path, description = "System id or ref (SYS-n)"), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = Record), (status = 409, body = crate::error::Problem), (status = 412, body = crate::error::Problem), (status = 422, body = crate::error::Problem), (status = 428, body = crate::error::Problem)))]
pub async fn change_stage(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Json(b): Json<StageRequest>,
) -> ApiResult<Response> {
    let r = move_stage(
        &s,
        &p,
        &id,
        b.to,
        &b.reason,
        b.override_reason.as_deref(),
        v,
    )
    .await?;
    Ok(record_response(StatusCode::OK, &r))
}

/// Moves a system to another stage; an override reason (admins: gate override) passes a
/// blocking gate. Shared by the API and the web UI.
pub(crate) async fn move_stage(
    s: &AppState,
    p: &Principal,
    id: &str,
    to: Stage,
    reason: &str,
    override_reason: Option<&str>,
    version: i64,
) -> ApiResult<Record> {
    p.require(Perm::InventoryStage)?;
    let override_reason = override_reason.map(str::trim).filter(|r| !r.is_empty());
    if override_reason.is_some() {
        p.require(Perm::GateOverride)?;
    }
    let m = aigov_store::governance::StageMove {
        to,
        reason,
        expected_version: version,
        override_reason,
    };
    Ok(s.store.move_stage(&p.actor(), &s.rules, id, m).await?)
}

/// A system's lifecycle stage history, oldest first.
#[utoipa::path(get, path = "/api/v1/systems/{id}/stages", tag = "systems",
    params(("id" = String, Path, description = "System id or ref (SYS-n)")),
    responses((status = 200, body = Vec<StageChange>), (status = 404, body = crate::error::Problem)))]
pub async fn stage_history(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Vec<StageChange>>> {
    p.require(Perm::InventoryRead)?;
    Ok(axum::Json(s.store.stage_history(&id).await?))
}

macro_rules! kind_routes {
    ($mod:ident, $kind:expr, $path:literal, $item:literal, $tag:literal, $input:ty) => {
        /// Routes of one inventory kind.
        pub mod $mod {
            use super::*;

            #[doc = concat!("List ", $tag, ".")]
            #[utoipa::path(get, path = $path, tag = $tag, params(ListParams),
                responses((status = 200, body = RecordPage), (status = 400, body = crate::error::Problem)))]
            pub async fn list(State(s): State<AppState>, p: Principal, Query(q): Query<ListParams>) -> ApiResult<axum::Json<RecordPage>> {
                do_list(&s, &p, $kind, q).await
            }

            #[doc = concat!("Create one of the ", $tag, ".")]
            #[utoipa::path(post, path = $path, tag = $tag, request_body = $input,
                responses((status = 201, body = Record), (status = 422, body = crate::error::Problem)))]
            pub async fn create(State(s): State<AppState>, p: Principal, Json(body): Json<Value>) -> ApiResult<Response> {
                do_create(&s, &p, $kind, body).await
            }

            #[doc = concat!("Get one of the ", $tag, " by id or ref.")]
            #[utoipa::path(get, path = $item, tag = $tag, params(("id" = String, Path, description = "Id or human ref")),
                responses((status = 200, body = Record), (status = 404, body = crate::error::Problem)))]
            pub async fn get(State(s): State<AppState>, p: Principal, Path(id): Path<String>) -> ApiResult<Response> {
                do_get(&s, &p, $kind, &id).await
            }

            #[doc = concat!("Change one of the ", $tag, " with a JSON merge patch (RFC 7396); If-Match required.")]
            #[utoipa::path(patch, path = $item, tag = $tag, request_body(content = Object, content_type = "application/merge-patch+json"),
                params(("id" = String, Path, description = "Id or human ref"), ("If-Match" = String, Header, description = "The ETag you read")),
                responses((status = 200, body = Record), (status = 412, body = crate::error::Problem), (status = 422, body = crate::error::Problem), (status = 428, body = crate::error::Problem)))]
            pub async fn update(State(s): State<AppState>, p: Principal, Path(id): Path<String>, IfMatch(v): IfMatch, Json(patch): Json<Value>) -> ApiResult<Response> {
                do_update(&s, &p, $kind, &id, v, patch).await
            }

            #[doc = concat!("Delete one of the ", $tag, " (refused while links point to it); If-Match optional.")]
            #[utoipa::path(delete, path = $item, tag = $tag,
                params(("id" = String, Path, description = "Id or human ref"), ("If-Match" = Option<String>, Header, description = "Only delete this version")),
                responses((status = 204, description = "Deleted"), (status = 409, body = crate::error::Problem), (status = 412, body = crate::error::Problem)))]
            pub async fn delete(State(s): State<AppState>, p: Principal, Path(id): Path<String>, OptionalIfMatch(v): OptionalIfMatch) -> ApiResult<StatusCode> {
                do_delete(&s, &p, $kind, &id, v).await
            }

            #[doc = concat!("Export all ", $tag, " as JSON or CSV.")]
            #[utoipa::path(get, path = concat!($path, "/export"), tag = $tag, params(ExportParams),
                responses((status = 200, description = "The file", content_type = "text/csv")))]
            pub async fn export(State(s): State<AppState>, p: Principal, Query(q): Query<ExportParams>) -> ApiResult<Response> {
                do_export(&s, &p, $kind, q).await
            }

            #[doc = concat!("Import ", $tag, " from CSV, a JSON array or JSON lines: every row is checked first; all are written or none.")]
            #[utoipa::path(post, path = concat!($path, "/import"), tag = $tag, request_body(content = String, content_type = "text/csv"),
                responses((status = 201, body = ImportResult), (status = 422, description = "Row errors with line numbers; nothing written", body = crate::error::Problem)))]
            pub async fn import(State(s): State<AppState>, p: Principal, req: Request) -> ApiResult<(StatusCode, axum::Json<ImportResult>)> {
                do_import(&s, &p, $kind, req).await
            }
        }
    };
}

kind_routes!(
    systems,
    ObjectKind::System,
    "/api/v1/systems",
    "/api/v1/systems/{id}",
    "systems",
    SystemInput
);
kind_routes!(
    models,
    ObjectKind::Model,
    "/api/v1/models",
    "/api/v1/models/{id}",
    "models",
    ModelInput
);
kind_routes!(
    datasets,
    ObjectKind::Dataset,
    "/api/v1/datasets",
    "/api/v1/datasets/{id}",
    "datasets",
    DatasetInput
);
kind_routes!(
    vendors,
    ObjectKind::Vendor,
    "/api/v1/vendors",
    "/api/v1/vendors/{id}",
    "vendors",
    VendorInput
);
kind_routes!(
    endpoints,
    ObjectKind::Endpoint,
    "/api/v1/endpoints",
    "/api/v1/endpoints/{id}",
    "endpoints",
    EndpointInput
);

// ---------------------------------------------------------------------------------------------
// CSV and JSON files.

/// How a column's text becomes JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Text,
    OptText,
    Bool,
    Int,
    List,
    Json,
}

/// The input columns of each kind, in file order.
fn columns(kind: ObjectKind) -> &'static [(&'static str, Col)] {
    use Col::*;
    match kind {
        ObjectKind::System => &[
            ("name", Text),
            ("description", Text),
            ("purpose", Text),
            ("system_type", Text),
            ("modalities", List),
            ("tc260_roles", List),
            ("key_area", Bool),
            ("sector", OptText),
            ("public_facing", Bool),
            ("intended_users", Text),
            ("registered_users", Int),
            ("monthly_users", Int),
            ("owner_id", OptText),
            ("status", Text),
        ],
        ObjectKind::Model => &[
            ("name", Text),
            ("version", Text),
            ("provider", Text),
            ("licence", Text),
            ("provenance", Text),
            ("base_model", Text),
            ("artifact_hashes", Json),
        ],
        ObjectKind::Dataset => &[
            ("name", Text),
            ("source", Text),
            ("licence", Text),
            ("collection_method", Text),
            ("personal_information", Bool),
            ("sensitive_personal_information", Bool),
            ("size_records", Int),
            ("size_bytes", Int),
            ("languages", List),
        ],
        ObjectKind::Vendor => &[
            ("name", Text),
            ("description", Text),
            ("website", OptText),
            ("country", OptText),
            ("contact", Text),
        ],
        ObjectKind::Endpoint => &[
            ("name", Text),
            ("url", Text),
            ("api_style", Text),
            ("model_name", OptText),
            ("credential", Json),
        ],
    }
}

/// Read-only columns that exports add and imports ignore.
const META: [&str; 6] = [
    "ref",
    "id",
    "lifecycle_stage",
    "version",
    "created_at",
    "updated_at",
];

fn cell(v: Option<&Value>, c: Col) -> String {
    match (v, c) {
        (None | Some(Value::Null), _) => String::new(),
        (Some(Value::String(s)), _) => s.clone(),
        (Some(Value::Array(a)), Col::List) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect::<Vec<_>>()
            .join(";"),
        (Some(v), _) => v.to_string(),
    }
}

/// Records as CSV (input columns, then read-only columns).
pub fn to_csv(kind: ObjectKind, records: &[Record]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let cols = columns(kind);
    let mut header: Vec<&str> = vec!["ref"];
    header.extend(cols.iter().map(|c| c.0));
    header.extend(
        META.iter()
            .skip(1)
            .filter(|m| **m != "lifecycle_stage" || kind == ObjectKind::System),
    );
    let _ = w.write_record(&header);
    for r in records {
        let mut row = vec![r.r#ref.clone()];
        row.extend(cols.iter().map(|(name, c)| cell(r.data.get(*name), *c)));
        row.push(r.id.clone());
        if kind == ObjectKind::System {
            row.push(
                r.lifecycle_stage
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            );
        }
        row.push(r.version.to_string());
        row.push(r.created_at.clone());
        row.push(r.updated_at.clone());
        let _ = w.write_record(&row);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// CSV rows as `(line, input JSON)`. Header problems are reported at once; cell problems
/// are left to validation (which names the line).
pub fn rows_from_csv(kind: ObjectKind, text: &str) -> ApiResult<Vec<(u64, Value)>> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::Fields)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| ApiError::new("bad-request", format!("cannot read the CSV header: {e}")))?
        .clone();
    let cols = columns(kind);
    let mut errs = Vec::new();
    let mut mapping = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        match cols.iter().find(|c| c.0 == h) {
            Some((name, c)) => mapping.push((i, *name, *c)),
            None if META.contains(&h) => {}
            None => errs.push(FieldError::new(
                format!("line 1: column {h:?}"),
                format!(
                    "unknown column (expected {})",
                    cols.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errs.push(FieldError::new(
                    format!("line {line}"),
                    format!("malformed CSV row: {e}"),
                ));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let mut obj = Map::new();
        for (i, name, c) in &mapping {
            let raw = rec.get(*i).unwrap_or("");
            if raw.is_empty() {
                continue;
            }
            let v = match c {
                Col::Text | Col::OptText => Value::String(raw.to_string()),
                Col::Bool => match raw.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "y" | "1" => Value::Bool(true),
                    "false" | "no" | "n" | "0" => Value::Bool(false),
                    _ => {
                        errs.push(FieldError::new(
                            format!("line {line}: {name}"),
                            format!("{raw:?} is not true or false"),
                        ));
                        continue;
                    }
                },
                Col::Int => match raw.parse::<i64>() {
                    Ok(n) => json!(n),
                    Err(_) => {
                        errs.push(FieldError::new(
                            format!("line {line}: {name}"),
                            format!("{raw:?} is not a whole number"),
                        ));
                        continue;
                    }
                },
                Col::List => Value::Array(
                    raw.split(';')
                        .map(|x| Value::String(x.trim().to_string()))
                        .filter(|x| x != "")
                        .collect(),
                ),
                Col::Json => match serde_json::from_str(raw) {
                    Ok(v) => v,
                    Err(e) => {
                        errs.push(FieldError::new(
                            format!("line {line}: {name}"),
                            format!("is not JSON: {e}"),
                        ));
                        continue;
                    }
                },
            };
            obj.insert(name.to_string(), v);
        }
        rows.push((line, Value::Object(obj)));
    }
    if errs.is_empty() {
        Ok(rows)
    } else {
        Err(ApiError::invalid(errs))
    }
}

/// The line on which each top-level element of a JSON array starts.
fn element_lines(text: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let (mut line, mut depth, mut in_str, mut esc, mut expect) = (1u64, 0i32, false, false, false);
    for b in text.bytes() {
        if b == b'\n' {
            line += 1;
        }
        if in_str {
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        if expect && !b.is_ascii_whitespace() && b != b']' {
            out.push(line);
            expect = false;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                if depth == 1 && b == b'[' {
                    expect = true;
                }
            }
            b']' | b'}' => depth -= 1,
            b',' if depth == 1 => expect = true,
            _ => {}
        }
    }
    out
}

/// A JSON array of inputs as `(line, input)`.
pub fn rows_from_json(text: &str) -> ApiResult<Vec<(u64, Value)>> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::new("bad-request", format!("the file is not valid JSON: {e}")))?;
    let Value::Array(items) = v else {
        return Err(ApiError::new(
            "bad-request",
            "a JSON import is an array of objects",
        ));
    };
    let lines = element_lines(text);
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, v)| (lines.get(i).copied().unwrap_or(i as u64 + 1), strip_meta(v)))
        .collect())
}

/// JSON lines as `(line, input)`; blank lines are skipped.
pub fn rows_from_jsonl(text: &str) -> ApiResult<Vec<(u64, Value)>> {
    let mut rows = Vec::new();
    let mut errs = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(l) {
            Ok(v) => rows.push((i as u64 + 1, strip_meta(v))),
            Err(e) => errs.push(FieldError::new(
                format!("line {}", i + 1),
                format!("is not JSON: {e}"),
            )),
        }
    }
    if errs.is_empty() {
        Ok(rows)
    } else {
        Err(ApiError::invalid(errs))
    }
}

/// An exported record (`{id, ref, data, …}`) imports as its `data`; plain inputs pass through.
fn strip_meta(v: Value) -> Value {
    match v {
        Value::Object(mut m) if m.contains_key("data") && m.contains_key("ref") => {
            m.remove("data").unwrap_or(Value::Null)
        }
        other => other,
    }
}
