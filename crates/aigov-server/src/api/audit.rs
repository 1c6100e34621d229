//! `/api/v1/audit`: the tamper-evident log, for auditors and admins.

use std::pin::Pin;
use std::task::{Context, Poll};

use aigov_core::access::Perm;
use aigov_core::audit::AuditEvent;
use aigov_store::audit_log::AuditQuery;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::inventory::MAX_LIMIT;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Principal, Query};

/// Which events.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Exact actor (`user:alice`).
    pub actor: Option<String>,
    /// Action, or a prefix ending in `.` (`system.`).
    pub action: Option<String>,
    /// Object type.
    pub object_type: Option<String>,
    /// Object id.
    pub object_id: Option<String>,
    /// At or after (RFC 3339).
    pub since: Option<String>,
    /// Before (RFC 3339).
    pub until: Option<String>,
    /// `asc` (default) or `desc`.
    pub order: Option<String>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// Items to skip.
    pub offset: Option<i64>,
}

/// A page of events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// Events.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<AuditEvent>,
    /// Matching events on all pages.
    pub total: i64,
    /// Page size.
    pub limit: i64,
    /// Skipped.
    pub offset: i64,
}

/// The result of recomputing the chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResult {
    /// Whether the chain holds.
    pub ok: bool,
    /// Events checked.
    pub events: u64,
    /// The recorded head.
    pub head_seq: i64,
    /// The head hash (record it elsewhere to detect a rewritten chain).
    pub head_hash: String,
    /// The first broken event.
    pub broken_at: Option<i64>,
    /// Why it breaks there.
    pub reason: Option<String>,
}

fn check_time(name: &str, v: &Option<String>) -> ApiResult<Option<String>> {
    match v {
        None => Ok(None),
        Some(s) => aigov_core::Timestamp::parse(s)
            .map(|t| Some(t.to_rfc3339()))
            .map_err(|m| ApiError::bad_field(name, m)),
    }
}

/// List audit events.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams), responses((status = 200, body = EventPage), (status = 403, body = crate::error::Problem)))]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Query<AuditParams>,
) -> ApiResult<axum::Json<EventPage>> {
    p.require(Perm::AuditRead)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_field(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::bad_field("offset", "must not be negative"));
    }
    let desc = match q.order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(o) => {
            return Err(ApiError::bad_field(
                "order",
                format!("{o:?} is not asc or desc"),
            ));
        }
    };
    let aq = AuditQuery {
        actor: q.actor,
        action: q.action,
        object_type: q.object_type,
        object_id: q.object_id,
        since: check_time("since", &q.since)?,
        until: check_time("until", &q.until)?,
        desc,
        limit,
        offset,
    };
    let (items, total) = s.store.audit_list(&aq).await?;
    Ok(axum::Json(EventPage {
        items,
        total,
        limit,
        offset,
    }))
}

/// Recompute the hash chain and name the first broken link.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", responses((status = 200, body = VerifyResult)))]
pub async fn verify(
    State(s): State<AppState>,
    p: Principal,
) -> ApiResult<axum::Json<VerifyResult>> {
    p.require(Perm::AuditRead)?;
    let r = s.store.audit_verify().await?;
    Ok(axum::Json(VerifyResult {
        ok: r.broken.is_none(),
        events: r.events,
        head_seq: r.head_seq,
        head_hash: r.head_hash,
        broken_at: r.broken.as_ref().map(|b| b.seq),
        reason: r.broken.map(|b| b.reason),
    }))
}

/// Lines from a channel, as a body stream.
struct Lines(tokio::sync::mpsc::Receiver<Result<bytes::Bytes, std::io::Error>>);

impl futures_core::Stream for Lines {
    type Item = Result<bytes::Bytes, std::io::Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// Export the whole log as JSON lines, streamed.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", responses((status = 200, description = "One event per line", content_type = "application/x-ndjson")))]
pub async fn export(State(s): State<AppState>, p: Principal) -> ApiResult<Response> {
    p.require(Perm::AuditRead)?;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let store = s.store.clone();
    tokio::spawn(async move {
        let mut after = 0i64;
        loop {
            match store.audit_page(after, 2_000).await {
                Ok(page) if page.is_empty() => break,
                Ok(page) => {
                    let mut buf = String::with_capacity(page.len() * 400);
                    for e in &page {
                        buf.push_str(&serde_json::to_string(e).unwrap_or_default());
                        buf.push('\n');
                    }
                    after = page.last().map(|e| e.seq).unwrap_or(after);
                    if tx.send(Ok(bytes::Bytes::from(buf))).await.is_err() {
                        break; // the client went away
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    break;
                }
            }
        }
    });
    let mut r = Body::from_stream(Lines(rx)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"aigov-audit.jsonl\""),
    );
    Ok(r)
}
