//! `/api/v1/tokens`: API tokens, shown once, stored hashed, scoped to a role, expiring.

use aigov_core::access::{Perm, Role};
use aigov_core::records::ApiToken;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Json, Principal, Query};

/// A new token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What it is for.
    pub name: String,
    /// The role it acts with (default: yours); your role must cover it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    /// Days until it expires (1–366, default 90).
    #[serde(default)]
    pub expires_in_days: Option<i64>,
    /// Admins only: create the token for this user (id or username).
    #[serde(default)]
    pub user: Option<String>,
}

/// A created token with its secret, shown only now.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    /// The token's metadata.
    pub token: ApiToken,
    /// Send as `Authorization: Bearer <secret>`. Shown once; only a hash is stored.
    pub secret: String,
}

/// Which tokens to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TokenQuery {
    /// Admins: every user's tokens.
    #[serde(default)]
    pub all: bool,
}

/// List your tokens (admins: `?all=true` for everyone's).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", params(TokenQuery), responses((status = 200, body = Vec<ApiToken>)))]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Query<TokenQuery>,
) -> ApiResult<axum::Json<Vec<ApiToken>>> {
    if q.all {
        p.require(Perm::TokenManage)?;
        return Ok(axum::Json(s.store.list_tokens(None).await?));
    }
    p.require(Perm::TokenOwn)?;
    Ok(axum::Json(s.store.list_tokens(Some(&p.user.id)).await?))
}

/// Create a token.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<AppState>,
    p: Principal,
    Json(b): Json<CreateToken>,
) -> ApiResult<(StatusCode, axum::Json<CreatedToken>)> {
    p.require(Perm::TokenOwn)?;
    if matches!(p.via, crate::extract::Via::Local) {
        return Err(ApiError::forbidden(
            "the local operator owns no tokens; use `aigov token create --user <name>`",
        ));
    }
    let owner = match &b.user {
        Some(u) if u != &p.user.username && u != &p.user.id => {
            p.require(Perm::TokenManage)?;
            s.store.get_user(u).await?
        }
        _ => p.user.clone(),
    };
    let days = b.expires_in_days.unwrap_or(90);
    if !(1..=366).contains(&days) {
        return Err(ApiError::invalid(vec![aigov_core::FieldError::new(
            "expires_in_days",
            "must be between 1 and 366",
        )]));
    }
    // Default: the caller's role in effect for their own token, the owner's role otherwise.
    let role = b.role.unwrap_or(if owner.id == p.user.id {
        p.role
    } else {
        owner.role
    });
    // A token minted through a token may not exceed that token's own scope.
    if !p.role.covers(role) {
        return Err(ApiError::invalid(vec![aigov_core::FieldError::new(
            "role",
            format!("your current role {} does not cover {role}", p.role),
        )]));
    }
    let expires = s.store.now().plus_seconds(days * 86_400);
    let (token, secret) = s
        .store
        .create_token(&p.actor(), &owner, &b.name, role, expires)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken { token, secret }),
    ))
}

/// Revoke a token (yours, or anyone's for admins).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path, description = "Token id")),
    responses((status = 200, body = ApiToken), (status = 404, body = Problem)))]
pub async fn revoke(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ApiToken>> {
    Ok(axum::Json(revoke_checked(&s, &p, &id).await?))
}

/// Revokes a token: your own, or anyone's with `token_manage` (others' tokens are hidden from
/// everyone else). Shared by the API and the web UI.
pub(crate) async fn revoke_checked(s: &AppState, p: &Principal, id: &str) -> ApiResult<ApiToken> {
    p.require(Perm::TokenOwn)
        .or_else(|_| p.require(Perm::TokenManage))?;
    let t = s.store.get_token(id).await?;
    if t.user_id != p.user.id {
        // Hide others' tokens from non-admins.
        p.require(Perm::TokenManage)
            .map_err(|_| ApiError::not_found(format!("token {id} not found")))?;
    }
    Ok(s.store.revoke_token(&p.actor(), id).await?)
}
