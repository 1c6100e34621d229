//! `/api/v1/users`: people and their roles.

use aigov_core::access::{Perm, Role};
use aigov_core::records::User;
use aigov_store::users::{NewUser, UserPatch};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::extract::{IfMatch, Json, Principal, etag};

/// A new user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login name: 2–64 of a-z 0-9 . _ -
    pub username: String,
    /// Shown name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Role: admin, risk_manager, assessor, contributor, viewer or auditor.
    #[schema(value_type = String, example = "assessor")]
    pub role: Role,
    /// Initial password (at least 12 characters).
    pub password: String,
}

impl std::fmt::Debug for CreateUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateUser")
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// Changes to a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// New shown name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// New role.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    /// Disable (true) or enable (false). Disabling ends the user's sessions and tokens.
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// A password reset by an admin.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// The new password.
    pub password: String,
}

impl std::fmt::Debug for SetPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SetPassword { <redacted> }")
    }
}

fn with_etag(status: StatusCode, u: User) -> Response {
    let mut r = (status, axum::Json(&u)).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(u.version)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

/// List users.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = Vec<User>), (status = 403, body = Problem)))]
pub async fn list(State(s): State<AppState>, p: Principal) -> ApiResult<axum::Json<Vec<User>>> {
    p.require(Perm::UserRead)?;
    Ok(axum::Json(s.store.list_users().await?))
}

/// Create a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = User), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<AppState>,
    p: Principal,
    Json(b): Json<CreateUser>,
) -> ApiResult<Response> {
    p.require(Perm::UserManage)?;
    let u = s
        .store
        .create_user(
            &p.actor(),
            NewUser {
                username: b.username,
                display_name: b.display_name,
                role: b.role,
                password: b.password,
            },
        )
        .await?;
    Ok(with_etag(StatusCode::CREATED, u))
}

/// Get a user by id or username.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path, description = "User id or username")),
    responses((status = 200, body = User), (status = 404, body = Problem)))]
pub async fn get(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    p.require(Perm::UserRead)?;
    Ok(with_etag(StatusCode::OK, s.store.get_user(&id).await?))
}

/// Change a user's name, role or disabled flag (If-Match required).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UpdateUser,
    params(("id" = String, Path, description = "User id or username"), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = User), (status = 412, body = Problem), (status = 428, body = Problem)))]
pub async fn update(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    IfMatch(v): IfMatch,
    Json(b): Json<UpdateUser>,
) -> ApiResult<Response> {
    p.require(Perm::UserManage)?;
    let u = s
        .store
        .update_user(
            &p.actor(),
            &id,
            UserPatch {
                display_name: b.display_name,
                role: b.role,
                disabled: b.disabled,
            },
            v,
        )
        .await?;
    Ok(with_etag(StatusCode::OK, u))
}

/// Set a user's password (ends their sessions).
#[utoipa::path(post, path = "/api/v1/users/{id}/password", tag = "users", request_body = SetPassword,
    params(("id" = String, Path, description = "User id or username")),
    responses((status = 204, description = "Set"), (status = 422, body = Problem)))]
pub async fn set_password(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
    Json(b): Json<SetPassword>,
) -> ApiResult<StatusCode> {
    p.require(Perm::UserManage)?;
    s.store.set_password(&p.actor(), &id, &b.password).await?;
    Ok(StatusCode::NO_CONTENT)
}
