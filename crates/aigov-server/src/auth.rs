//! Authentication: API tokens (`Authorization: Bearer aigov_…`) and browser sessions (an
//! HttpOnly, SameSite=Strict cookie), CSRF protection on every state-changing session request,
//! and the login/logout/session endpoints.

use std::net::SocketAddr;

use aigov_core::records::User;
use aigov_store::crypto::constant_time_eq;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Principal, Via};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "aigov_session";
/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Paths that need no authentication.
pub fn is_public(method: &Method, path: &str) -> bool {
    (method == Method::GET && path == "/healthz")
        || (method == Method::POST && path == "/api/v1/auth/login")
}

pub(crate) fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

pub(crate) fn is_unsafe(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses cross-site requests: `Sec-Fetch-Site: cross-site`, or an `Origin` that is not this
/// server (or the configured public URL).
pub(crate) fn check_origin(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return Err(ApiError::new(
            "csrf-failed",
            "cross-site requests are refused",
        ));
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    if origin == "null" {
        return Err(ApiError::new(
            "csrf-failed",
            "requests from an opaque origin are refused",
        ));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
    let public_ok = state
        .config
        .public_url
        .as_deref()
        .map(|u| u.trim_end_matches('/') == origin)
        .unwrap_or(false);
    if origin_host == host || public_ok {
        Ok(())
    } else {
        Err(ApiError::new(
            "csrf-failed",
            format!("origin {origin} is not this server"),
        ))
    }
}

/// Authenticates every request except the public ones, and enforces CSRF for sessions.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    match resolve(&state, &mut req).await {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

async fn resolve(state: &AppState, req: &mut Request) -> ApiResult<()> {
    // In-process calls (`aigov api`) carry their principal already; a request from the
    // network cannot set request extensions.
    if req
        .extensions()
        .get::<Principal>()
        .is_some_and(|p| matches!(p.via, Via::Local))
    {
        return Ok(());
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if is_public(&method, &path) {
        if is_unsafe(&method) {
            check_origin(state, req.headers())?;
        }
        return Ok(());
    }
    let headers = req.headers();
    let Some(principal) = identify(state, headers).await? else {
        return Err(ApiError::new(
            "unauthenticated",
            "authentication is required: log in or send Authorization: Bearer <token>",
        ));
    };
    if let Via::Session { csrf, .. } = &principal.via
        && is_unsafe(&method)
    {
        let sent = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        check_origin(state, headers)?;
        if sent.is_empty() || !constant_time_eq(sent, csrf) {
            return Err(ApiError::new(
                "csrf-failed",
                format!(
                    "state-changing requests in a session need the {CSRF_HEADER} header with the token from login or GET /api/v1/auth/session"
                ),
            ));
        }
    }
    req.extensions_mut().insert(principal);
    Ok(())
}

/// The caller named by the request's credentials: an API token (`Authorization: Bearer`) or
/// the session cookie. `None` when the request carries neither; an error when the one it
/// carries is invalid or expired. The web UI shares this with the API.
pub(crate) async fn identify(
    state: &AppState,
    headers: &HeaderMap,
) -> ApiResult<Option<Principal>> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let v = auth.to_str().unwrap_or("");
        let Some(tok) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
        else {
            return Err(ApiError::new(
                "unauthenticated",
                "Authorization must be `Bearer <token>`",
            ));
        };
        return match state.store.token_user(tok.trim()).await? {
            Some((t, u)) => Ok(Some(Principal {
                role: t.role,
                user: u,
                via: Via::Token { id: t.id },
            })),
            None => Err(ApiError::new(
                "unauthenticated",
                "the API token is invalid, expired or revoked",
            )),
        };
    }
    let Some(raw) = cookie_value(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let idle = state.config.session_idle_minutes * 60;
    match state.store.session_user(raw, idle).await? {
        Some((u, csrf)) => Ok(Some(Principal {
            role: u.role,
            user: u,
            via: Via::Session {
                raw: raw.to_string(),
                csrf,
            },
        })),
        None => Err(ApiError::new(
            "unauthenticated",
            "the session has expired; log in again",
        )),
    }
}

/// Checks a state-changing session request: same origin, and `sent` equals the session's
/// CSRF token (compared in constant time).
pub(crate) fn check_csrf(
    state: &AppState,
    headers: &HeaderMap,
    sent: &str,
    csrf: &str,
) -> ApiResult<()> {
    check_origin(state, headers)?;
    if sent.is_empty() || !constant_time_eq(sent, csrf) {
        return Err(ApiError::new(
            "csrf-failed",
            "the CSRF token is missing or wrong",
        ));
    }
    Ok(())
}

/// Checks a username and password (with the store's login throttling, keyed by user and
/// client address) and opens a session: `(user, CSRF token, Set-Cookie value)`.
pub(crate) async fn open_session(
    state: &AppState,
    addr: &str,
    username: &str,
    password: &str,
) -> ApiResult<(User, String, HeaderValue)> {
    let key = format!("{}|{addr}", username.trim().to_lowercase());
    let user = state.store.verify_login(username, password, &key).await?;
    let abs = state.config.session_absolute_hours * 3600;
    let (raw, csrf) = state.store.create_session(&user, abs).await?;
    Ok((user, csrf, session_cookie(state, &raw, abs)))
}

/// Login credentials.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Who is logged in.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// The user.
    pub user: User,
    /// The role in effect.
    pub role: String,
    /// `session` or `token`.
    pub via: String,
    /// For sessions: send this in `x-csrf-token` on state-changing requests.
    pub csrf_token: Option<String>,
    /// For sessions: idle timeout, minutes.
    pub idle_timeout_minutes: Option<i64>,
}

pub(crate) fn session_cookie(state: &AppState, raw: &str, max_age: i64) -> HeaderValue {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={raw}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or(HeaderValue::from_static(""))
}

/// The client's IP address (for login throttling), or `local` when not served over TCP
/// (in-process tests).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "local".into()),
        ))
    }
}

/// Log in with a username and password; sets the session cookie and returns the CSRF token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    security(()),
    responses(
        (status = 200, description = "Logged in; the session cookie is set", body = SessionInfo),
        (status = 401, description = "Wrong username or password", body = crate::error::Problem),
        (status = 429, description = "Too many failed logins", body = crate::error::Problem),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Response> {
    let (user, csrf, cookie) = open_session(&state, &addr, &body.username, &body.password).await?;
    let info = SessionInfo {
        role: user.role.to_string(),
        user,
        via: "session".into(),
        csrf_token: Some(csrf),
        idle_timeout_minutes: Some(state.config.session_idle_minutes),
    };
    let mut r = (StatusCode::OK, axum::Json(info)).into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(r)
}

/// End the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Logged out; the cookie is cleared")))]
pub async fn logout(State(state): State<AppState>, p: Principal) -> ApiResult<Response> {
    if let Via::Session { raw, .. } = &p.via {
        state.store.end_session(raw, &p.user).await?;
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(r)
}

/// Who is calling, with the CSRF token for sessions.
#[utoipa::path(get, path = "/api/v1/auth/session", tag = "auth",
    responses((status = 200, body = SessionInfo), (status = 401, body = crate::error::Problem)))]
pub async fn session(
    State(state): State<AppState>,
    p: Principal,
) -> ApiResult<axum::Json<SessionInfo>> {
    let (via, csrf, idle) = match &p.via {
        Via::Session { csrf, .. } => (
            "session",
            Some(csrf.clone()),
            Some(state.config.session_idle_minutes),
        ),
        Via::Token { .. } => ("token", None, None),
        Via::Local => ("local", None, None),
    };
    Ok(axum::Json(SessionInfo {
        role: p.role.to_string(),
        user: p.user,
        via: via.into(),
        csrf_token: csrf,
        idle_timeout_minutes: idle,
    }))
}

/// A password change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current_password: String,
    /// The new password (at least 12 characters).
    pub new_password: String,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChange { <redacted> }")
    }
}

/// Change your own password (ends your other sessions).
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204, description = "Changed"), (status = 401, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn change_password(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    p: Principal,
    Json(body): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    if !matches!(p.via, Via::Session { .. }) {
        return Err(ApiError::forbidden(
            "passwords are changed in a session, not with an API token (locally: `aigov user passwd`)",
        ));
    }
    let key = format!("{}|{addr}", p.user.username);
    state
        .store
        .verify_login(&p.user.username, &body.current_password, &key)
        .await
        .map_err(|e| match e {
            aigov_store::StoreError::BadCredentials => {
                ApiError::invalid(vec![aigov_core::FieldError::new(
                    "current_password",
                    "is wrong",
                )])
            }
            other => other.into(),
        })?;
    state
        .store
        .set_password(&p.actor(), &p.user.id, &body.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
