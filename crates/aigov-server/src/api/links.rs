//! `/api/v1/links`: relations between inventory objects.

use aigov_core::access::Perm;
use aigov_core::inventory::LinkRel;
use aigov_core::records::Link;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::extract::{Json, Principal, Query};

/// A new link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLink {
    /// From: id or ref (`SYS-1`).
    pub from: String,
    /// Relation: uses, trained-on, fine-tuned-from, supplied-by, exposes, serves.
    #[schema(value_type = String, example = "uses")]
    pub rel: LinkRel,
    /// To: id or ref (`MDL-3`).
    pub to: String,
}

/// Which links.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// Links from or to this object (id or ref); all links when absent.
    pub object: Option<String>,
}

/// List links.
#[utoipa::path(get, path = "/api/v1/links", tag = "links", params(LinkQuery), responses((status = 200, body = Vec<Link>)))]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Query<LinkQuery>,
) -> ApiResult<axum::Json<Vec<Link>>> {
    p.require(Perm::InventoryRead)?;
    Ok(axum::Json(s.store.list_links(q.object.as_deref()).await?))
}

/// Link two objects.
#[utoipa::path(post, path = "/api/v1/links", tag = "links", request_body = CreateLink,
    responses((status = 201, body = Link), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<AppState>,
    p: Principal,
    Json(b): Json<CreateLink>,
) -> ApiResult<(StatusCode, axum::Json<Link>)> {
    p.require(Perm::InventoryWrite)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(
            s.store
                .create_link(&p.actor(), &b.from, b.rel, &b.to)
                .await?,
        ),
    ))
}

/// Remove a link.
#[utoipa::path(delete, path = "/api/v1/links/{id}", tag = "links", params(("id" = String, Path, description = "Link id")),
    responses((status = 204, description = "Removed"), (status = 404, body = Problem)))]
pub async fn delete(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    p.require(Perm::InventoryWrite)?;
    s.store.delete_link(&p.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
