//! Login, logout and the language switch.
//!
//! Login CSRF: the form carries a random token that is also set, before any session exists,
//! as an HttpOnly SameSite=Strict cookie scoped to `/login` (double submit); the POST must
//! present both, equal, from this origin. Failed logins go through the store's throttling.

use aigov_store::crypto::{constant_time_eq, random_token};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::i18n::{LANG_COOKIE, Lang};
use super::view::{Ctx, UiResult, redirect};
use crate::AppState;
use crate::auth::{ClientAddr, check_origin, cookie_value, session_cookie};
use crate::extract::Via;

const LOGIN_COOKIE: &str = "aigov_login";

/// Whether `next` is a path on this server (not `//host`, not a scheme, no backslashes).
pub fn is_local_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control())
        && !next.starts_with("/login")
        && !next.starts_with("/logout")
}

fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_local_path(n) => n.to_string(),
        _ => "/".into(),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginTpl<'a> {
    c: &'a Ctx,
    login_token: String,
    next: String,
    username: String,
    error: String,
}

/// Query of the login form.
#[derive(Debug, Deserialize)]
pub struct NextParam {
    /// Where to go after.
    pub next: Option<String>,
}

fn login_page(
    state: &AppState,
    c: &Ctx,
    status: StatusCode,
    next: String,
    username: String,
    error: String,
) -> UiResult {
    let token = random_token(24);
    let t = LoginTpl {
        c,
        login_token: token.clone(),
        next,
        username,
        error,
    };
    let mut r = (status, axum::response::Html(t.render()?)).into_response();
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600{secure}"
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

/// `GET /login`.
pub async fn form(State(s): State<AppState>, c: Ctx, Query(q): Query<NextParam>) -> UiResult {
    let next = safe_next(q.next.as_deref());
    if c.principal.is_some() {
        return Ok(redirect(&next));
    }
    login_page(&s, &c, StatusCode::OK, next, String::new(), String::new())
}

/// The login form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    _login: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// `POST /login`.
pub async fn submit(
    State(s): State<AppState>,
    c: Ctx,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> UiResult {
    let next = safe_next(Some(&f.next));
    let cookie = cookie_value(&headers, LOGIN_COOKIE).unwrap_or("");
    if check_origin(&s, &headers).is_err()
        || cookie.is_empty()
        || !constant_time_eq(cookie, &f._login)
    {
        return login_page(
            &s,
            &c,
            StatusCode::FORBIDDEN,
            next,
            f.username,
            c.t("login.csrf").to_string(),
        );
    }
    match crate::auth::open_session(&s, &addr, &f.username, &f.password).await {
        Ok((_, _, cookie)) => {
            let mut r = redirect(&next);
            r.headers_mut().append(header::SET_COOKIE, cookie);
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{LOGIN_COOKIE}=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0"
            )) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            Ok(r)
        }
        Err(e) => {
            let (status, msg) = match e.code() {
                "login-locked" => (StatusCode::TOO_MANY_REQUESTS, c.t("login.locked")),
                "unauthenticated" => (StatusCode::UNAUTHORIZED, c.t("login.failed")),
                _ => return Err(e.into()),
            };
            login_page(&s, &c, status, next, f.username, msg.to_string())
        }
    }
}

/// `POST /logout` (CSRF-checked by the guard).
pub async fn logout(State(s): State<AppState>, c: Ctx) -> UiResult {
    if let Some(p) = &c.principal
        && let Via::Session { raw, .. } = &p.via
    {
        s.store.end_session(raw, &p.user).await?;
    }
    let mut r = redirect("/login");
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&s, "", 0));
    Ok(r)
}

/// `GET /lang/{zh|en}?next=…`: remembers the language for a year and goes back.
pub async fn switch_lang(Path(lang): Path<String>, Query(q): Query<NextParam>) -> Response {
    // The login page itself is a fine place to come back to here.
    let next = match q.next.as_deref() {
        Some(n) if is_local_path(n) || is_local_path(&n.replacen("/login", "/x", 1)) => {
            n.to_string()
        }
        _ => "/".into(),
    };
    let mut r = redirect(&next);
    if let Some(l) = Lang::parse(&lang)
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
            l.code()
        ))
    {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
