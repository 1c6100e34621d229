//! `/api/v1/evidence`: evidence files (content-addressed, sha256 shown) and links, with
//! effective and expiry dates, attached to checklist items, controls, risks and incidents.

use aigov_core::access::Perm;
use aigov_core::records::EvidenceRecord;
use aigov_core::risk::EvidenceInput;
use aigov_store::evidence::Upload;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::extract::{Json, Principal, Query, body_bytes};

/// Evidence filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EvidenceParams {
    /// Only expired evidence.
    pub expired: Option<bool>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// Skipped.
    pub offset: Option<i64>,
}

/// A page of evidence.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidencePage {
    /// The records, newest first.
    pub items: Vec<EvidenceRecord>,
    /// Matching records on all pages.
    pub total: i64,
    /// Page size.
    pub limit: i64,
    /// Skipped.
    pub offset: i64,
}

/// Evidence records, newest first.
#[utoipa::path(get, path = "/api/v1/evidence", tag = "evidence", params(EvidenceParams), responses((status = 200, body = EvidencePage)))]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Query<EvidenceParams>,
) -> ApiResult<axum::Json<EvidencePage>> {
    p.require(Perm::RiskRead)?;
    let (limit, offset) = super::page(q.limit, q.offset)?;
    let (items, total) = s
        .store
        .list_evidence(q.expired.unwrap_or(false), limit, offset)
        .await?;
    Ok(axum::Json(EvidencePage {
        items,
        total,
        limit,
        offset,
    }))
}

/// Record a link (a document in another system, a ticket, a report) as evidence.
#[utoipa::path(post, path = "/api/v1/evidence", tag = "evidence", request_body = EvidenceInput,
    responses((status = 201, body = EvidenceRecord), (status = 422, body = Problem)))]
pub async fn create_link(
    State(s): State<AppState>,
    p: Principal,
    Json(b): Json<EvidenceInput>,
) -> ApiResult<(StatusCode, axum::Json<EvidenceRecord>)> {
    p.require(Perm::EvidenceWrite)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(s.store.create_evidence_link(&p.actor(), b).await?),
    ))
}

/// Metadata of an uploaded file.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// Title.
    pub title: String,
    /// The original file name.
    pub file_name: String,
    /// What it shows.
    pub description: Option<String>,
    /// Valid from (YYYY-MM-DD; default today).
    pub effective_date: Option<String>,
    /// Valid until (YYYY-MM-DD).
    pub expires_on: Option<String>,
}

/// Upload a file as evidence: the request body is the file itself (any content type; it is
/// stored as given, never interpreted), metadata in the query string. The size limit is
/// `max_evidence_bytes`.
#[utoipa::path(post, path = "/api/v1/evidence/files", tag = "evidence", params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file"),
    responses((status = 201, body = EvidenceRecord), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn upload(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Query<UploadParams>,
    req: Request,
) -> ApiResult<(StatusCode, axum::Json<EvidenceRecord>)> {
    p.require(Perm::EvidenceWrite)?;
    let media = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = body_bytes(req, s.config.max_evidence_bytes).await?;
    let input = EvidenceInput {
        title: q.title,
        description: q.description.unwrap_or_default(),
        url: None,
        effective_date: q.effective_date,
        expires_on: q.expires_on,
    };
    let up = Upload {
        file_name: &q.file_name,
        media_type: media.as_deref(),
        bytes: &bytes,
    };
    let rec = s
        .store
        .create_evidence_file(&p.actor(), input, up, s.config.max_evidence_bytes as u64)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(rec)))
}

/// One evidence record with where it is attached.
#[utoipa::path(get, path = "/api/v1/evidence/{id}", tag = "evidence", params(("id" = String, Path, description = "Evidence id or ref (EV-n)")),
    responses((status = 200, body = EvidenceRecord), (status = 404, body = Problem)))]
pub async fn get(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<EvidenceRecord>> {
    p.require(Perm::RiskRead)?;
    Ok(axum::Json(s.store.get_evidence(&id).await?))
}

/// Download an evidence file (checked against its sha256 first; sent as an attachment).
#[utoipa::path(get, path = "/api/v1/evidence/{id}/content", tag = "evidence", params(("id" = String, Path, description = "Evidence id or ref")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn content(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    p.require(Perm::RiskRead)?;
    let (ev, bytes) = s.store.evidence_content(&id).await?;
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    // Always a download, never rendered: the content is whatever was uploaded.
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    let name: String = ev
        .file_name
        .unwrap_or_else(|| "evidence".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(sha) = ev.sha256
        && let Ok(v) = HeaderValue::from_str(&sha)
    {
        h.insert("x-content-sha256", v);
    }
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(r)
}

/// Delete evidence that is attached nowhere and cited by no assessment.
#[utoipa::path(delete, path = "/api/v1/evidence/{id}", tag = "evidence", params(("id" = String, Path, description = "Evidence id or ref")),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    p.require(Perm::EvidenceWrite)?;
    s.store.delete_evidence(&p.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Where to attach evidence.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// checklist-item, control, risk or incident.
    pub target_type: String,
    /// Its id (or ref for risks and incidents).
    pub target: String,
}

/// Attach evidence to a checklist item, control, risk or incident.
#[utoipa::path(post, path = "/api/v1/evidence/{id}/attachments", tag = "evidence", request_body = Attachment, params(("id" = String, Path, description = "Evidence id or ref")),
    responses((status = 201, body = EvidenceRecord), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn attach(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Json(b): Json<Attachment>,
) -> ApiResult<(StatusCode, axum::Json<EvidenceRecord>)> {
    p.require(Perm::EvidenceWrite)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(
            s.store
                .attach_evidence(&p.actor(), &id, &b.target_type, &b.target)
                .await?,
        ),
    ))
}

/// Detach evidence from an object.
#[utoipa::path(delete, path = "/api/v1/evidence/{id}/attachments/{target_type}/{target}", tag = "evidence",
    params(("id" = String, Path, description = "Evidence id or ref"), ("target_type" = String, Path, description = "checklist-item, control, risk or incident"), ("target" = String, Path, description = "Its id or ref")),
    responses((status = 200, body = EvidenceRecord), (status = 404, body = Problem)))]
pub async fn detach(
    State(s): State<AppState>,
    p: Principal,
    Path((id, target_type, target)): Path<(String, String, String)>,
) -> ApiResult<axum::Json<EvidenceRecord>> {
    p.require(Perm::EvidenceWrite)?;
    Ok(axum::Json(
        s.store
            .detach_evidence(&p.actor(), &id, &target_type, &target)
            .await?,
    ))
}
