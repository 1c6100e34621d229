//! Request extractors that turn every malformed request into a problem+json answer that
//! names what is wrong: bodies, queries, `If-Match`, and the authenticated principal.

use aigov_core::access::{Perm, Role, allowed};
use aigov_core::records::User;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

/// How the caller authenticated.
#[derive(Debug, Clone)]
pub enum Via {
    /// A browser session (state-changing requests carry its CSRF token).
    Session {
        /// The raw session token (to end the session).
        raw: String,
        /// The session's CSRF token.
        csrf: String,
    },
    /// An API token.
    Token {
        /// The token id.
        id: String,
    },
    /// The local operator, in process (`aigov api`): someone with access to the data directory,
    /// who could change the database directly anyway. Never reachable over the network.
    Local,
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user.
    pub user: User,
    /// The role in effect (a token's own role, or the user's).
    pub role: Role,
    /// How they authenticated.
    pub via: Via,
}

impl Principal {
    /// The actor recorded in the audit log.
    pub fn actor(&self) -> String {
        match &self.via {
            Via::Session { .. } => format!("user:{}", self.user.username),
            Via::Token { id } => format!("token:{id}/{}", self.user.username),
            Via::Local => format!("cli:{}", self.user.username),
        }
    }

    /// The local operator (`aigov api`), acting as an admin under their OS user name.
    pub fn local(os_user: &str) -> Principal {
        Principal {
            user: User {
                id: format!("local:{os_user}"),
                username: os_user.to_string(),
                display_name: os_user.to_string(),
                role: Role::Admin,
                disabled: false,
                version: 1,
                created_at: String::new(),
                updated_at: String::new(),
            },
            role: Role::Admin,
            via: Via::Local,
        }
    }

    /// Fails with 403 unless the role holds `perm`.
    pub fn require(&self, perm: Perm) -> Result<(), ApiError> {
        if allowed(self.role, perm) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "the role {} does not have the {} permission",
                self.role,
                perm.as_str()
            )))
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| {
            ApiError::new(
                "unauthenticated",
                "authentication is required: log in or send Authorization: Bearer <token>",
            )
        })
    }
}

/// A JSON body, limited in size, with errors that name the offending field.
#[derive(Debug)]
pub struct Json<T>(pub T);

/// Reads the body of `req` up to `limit` bytes.
pub async fn body_bytes(req: Request, limit: usize) -> Result<bytes::Bytes, ApiError> {
    match axum::body::to_bytes(req.into_body(), limit).await {
        Ok(b) => Ok(b),
        Err(e) => {
            let too_large = std::error::Error::source(&e)
                .map(|s| s.to_string().contains("length limit"))
                .unwrap_or(false)
                || e.to_string().contains("length limit");
            if too_large {
                Err(ApiError::new(
                    "payload-too-large",
                    format!("the request body is larger than {limit} bytes"),
                ))
            } else {
                Err(ApiError::new(
                    "bad-request",
                    format!("cannot read the request body: {e}"),
                ))
            }
        }
    }
}

/// Parses JSON, naming the field of a type error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let inner = e.inner();
            if inner.is_syntax() || inner.is_eof() {
                Err(ApiError::new(
                    "bad-request",
                    format!("the body is not valid JSON: {inner}"),
                ))
            } else {
                let path = e.path().to_string();
                let field = if path == "." {
                    "body".to_string()
                } else {
                    path
                };
                Err(ApiError::invalid(vec![aigov_core::FieldError::new(
                    field,
                    strip_pos(&inner.to_string()),
                )]))
            }
        }
    }
}

fn strip_pos(m: &str) -> String {
    match m.rfind(" at line ") {
        Some(i) => m[..i].to_string(),
        None => m.to_string(),
    }
}

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| {
            let ct = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            ct == "application/json"
                || ct == "application/merge-patch+json"
                || (ct.starts_with("application/") && ct.ends_with("+json"))
        })
        .unwrap_or(false)
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(ApiError::new(
                "unsupported-media-type",
                "send the body as application/json",
            ));
        }
        let b = body_bytes(req, state.config.max_body_bytes).await?;
        parse_json(&b).map(Json)
    }
}

/// Query parameters, with errors that name the parameter.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded_de(q);
        match de {
            Ok(v) => Ok(Query(v)),
            Err(e) => Err(e),
        }
    }
}

fn serde_urlencoded_de<T: DeserializeOwned>(q: &str) -> Result<T, ApiError> {
    match axum::extract::Query::<T>::try_from_uri(
        &format!("/?{q}")
            .parse()
            .map_err(|_| ApiError::new("bad-request", "malformed query string"))?,
    ) {
        Ok(axum::extract::Query(v)) => Ok(v),
        Err(e) => {
            let msg = e.body_text();
            let msg = msg
                .trim_start_matches("Failed to deserialize query string: ")
                .to_string();
            Err(ApiError::new("bad-request", format!("query string: {msg}")))
        }
    }
}

/// The version named by `If-Match` (`"3"` or `W/"3"`).
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub i64);

impl FromRequestParts<AppState> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(v) = parts.headers.get(header::IF_MATCH) else {
            return Err(ApiError::new(
                "precondition-required",
                "send If-Match with the ETag (version) you read, so that concurrent edits are not silently overwritten",
            ));
        };
        parse_etag(v.to_str().unwrap_or(""))
            .map(IfMatch)
            .ok_or_else(|| ApiError::bad_field("If-Match", "must be an ETag such as \"3\""))
    }
}

/// `If-Match` when present.
#[derive(Debug, Clone, Copy)]
pub struct OptionalIfMatch(pub Option<i64>);

impl FromRequestParts<AppState> for OptionalIfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if parts.headers.get(header::IF_MATCH).is_none() {
            return Ok(OptionalIfMatch(None));
        }
        IfMatch::from_request_parts(parts, state)
            .await
            .map(|m| OptionalIfMatch(Some(m.0)))
    }
}

/// Parses `"3"` / `W/"3"` / `3`.
pub fn parse_etag(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = s.strip_prefix("W/").unwrap_or(s);
    s.trim_matches('"').parse().ok()
}

/// The ETag header value for a version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}
