//! The web UI: server-rendered pages (askama templates under `templates/`) with htmx for
//! partial updates, under `/` beside the API. Pages call the same store and domain functions
//! as the API handlers (shared helpers live in [`crate::api`]), with the same permissions.
//!
//! Module map:
//! - [`i18n`] — the zh-CN and en string tables and the one lookup, `t(lang, key)`.
//! - [`assets`] — CSS, JS and htmx embedded in the binary, served under content-hashed names.
//! - [`guard`](fn@guard) — authentication for pages (redirect to `/login`), CSRF on every
//!   state-changing request (form field or htmx header), the CSP, and error pages.
//! - [`view`] — the page context, formatting, pagination, CSV and the chart models.
//! - one module per area: [`login`], [`dashboard`], [`systems`], [`risks`], [`catalogs`],
//!   [`incidents`], [`evidence`], [`admin`], [`audit`], [`reports`].

pub mod admin;
pub mod assets;
pub mod audit;
pub mod catalogs;
pub mod dashboard;
pub mod evidence;
pub mod i18n;
pub mod incidents;
pub mod login;
pub mod reports;
pub mod risks;
pub mod systems;
pub mod view;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::AppState;
use crate::auth::{CSRF_HEADER, check_csrf, identify, is_unsafe};
use crate::error::ApiError;
use crate::extract::{Principal, Via};
pub use i18n::Lang;
pub use view::{Ctx, UiError, UiResult};

/// The Content-Security-Policy of every UI response: no inline scripts or styles.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The hidden form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";

/// Whether a path belongs to the UI (everything but the API and `/healthz`).
pub fn is_ui_path(path: &str) -> bool {
    !(path == "/api" || path.starts_with("/api/") || path == "/healthz")
}

/// Paths served without a session: the login form, the language switch and the assets.
fn is_public(path: &str) -> bool {
    path == "/login" || path.starts_with("/lang/") || path.starts_with("/assets/")
}

/// The UI routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::page))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/lang/{lang}", get(login::switch_lang))
        .route("/assets/{file}", get(assets::serve))
        .route("/systems", get(systems::list).post(systems::create))
        .route("/systems/new", get(systems::new_form))
        .route("/systems/{id}", get(systems::detail))
        .route("/systems/{id}/stage", post(systems::stage))
        .route("/systems/{id}/adopt", post(systems::adopt))
        .route("/systems/{id}/identify", post(systems::identify))
        .route("/candidates/{id}/decision", post(systems::decide_candidate))
        .route(
            "/systems/{id}/risks/new",
            get(risks::new_form).post(risks::create),
        )
        .route(
            "/checklist-items/{id}/status",
            post(systems::checklist_status),
        )
        .route("/risks", get(risks::list))
        .route("/risks/bulk", post(risks::bulk))
        .route("/risks/{id}", get(risks::detail))
        .route("/risks/{id}/assess", post(risks::assess))
        .route("/risks/{id}/treatment", post(risks::treatment))
        .route("/risks/{id}/status", post(risks::status))
        .route("/risks/{id}/controls", post(risks::create_control))
        .route("/risks/{id}/acceptance", post(risks::request_acceptance))
        .route("/acceptances/{id}/decision", post(risks::decide_acceptance))
        .route(
            "/acceptances/{id}/withdraw",
            post(risks::withdraw_acceptance),
        )
        .route("/catalogs", get(catalogs::list))
        .route("/catalogs/{id}", get(catalogs::detail))
        .route("/crosswalk", get(catalogs::crosswalk))
        .route("/incidents", get(incidents::list).post(incidents::create))
        .route("/incidents/{id}", get(incidents::detail))
        .route("/incidents/{id}/timeline", post(incidents::add_timeline))
        .route("/incidents/{id}/close", post(incidents::close))
        .route("/incidents/{id}/reopen", post(incidents::reopen))
        .route("/incidents/{id}/root-cause", post(incidents::root_cause))
        .route("/evidence", get(evidence::list).post(evidence::create))
        .route("/admin/users", get(admin::users).post(admin::create_user))
        .route("/admin/users/{id}", post(admin::update_user))
        .route("/admin/tokens", get(admin::tokens))
        .route("/admin/tokens/{id}/revoke", post(admin::revoke_token))
        .route(
            "/admin/methodologies",
            get(admin::methodologies).post(admin::save_methodology),
        )
        .route(
            "/admin/methodologies/preview",
            post(admin::methodology_preview),
        )
        .route("/audit", get(audit::list))
        .route("/audit/verify", get(audit::verify))
        .route("/reports", get(reports::page))
        .route("/reports/new", get(reports::new))
}

/// The language of a request: the `aigov_lang` cookie, else Accept-Language, else zh.
pub fn request_lang(headers: &HeaderMap) -> Lang {
    if let Some(l) = crate::auth::cookie_value(headers, i18n::LANG_COOKIE).and_then(Lang::parse) {
        return l;
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .map(|t| {
                    t.split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase()
                })
                .find_map(|t| {
                    if t.starts_with("zh") {
                        Some(Lang::Zh)
                    } else if t.starts_with("en") {
                        Some(Lang::En)
                    } else {
                        None
                    }
                })
        })
        .unwrap_or(Lang::Zh)
}

/// A marker a handler's error response carries; [`guard`] renders it as a page.
#[derive(Debug, Clone)]
pub(crate) struct ErrorPage(pub ApiError);

/// Authentication, CSRF, CSP and error pages for every UI request.
pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let lang = request_lang(req.headers());
    req.extensions_mut().insert(lang);
    let path = req.uri().path().to_string();
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let htmx = req.headers().contains_key("hx-request");
    let principal = match identify(&state, req.headers()).await {
        Ok(p) => p,
        Err(e) if e.code() == "unauthenticated" => None,
        Err(e) => return finish(&state, lang, None, &target, UiError(e).into_response()),
    };
    let principal = match principal {
        Some(p) => p,
        None if is_public(&path) => {
            let r = next.run(req).await;
            return finish(&state, lang, None, &target, r);
        }
        None => return finish(&state, lang, None, &target, to_login(&target, htmx)),
    };
    if let Via::Session { csrf, .. } = &principal.via
        && is_unsafe(req.method())
    {
        let (checked, sent) = csrf_sent(&state, req).await;
        req = checked;
        if let Err(e) = check_csrf(&state, req.headers(), &sent, csrf) {
            let r = UiError(e).into_response();
            return finish(&state, lang, Some(&principal), &target, r);
        }
    }
    req.extensions_mut().insert(principal.clone());
    let r = next.run(req).await;
    finish(&state, lang, Some(&principal), &target, r)
}

/// The CSRF token a request sends: the `x-csrf-token` header (htmx), else the `_csrf` field
/// of a form body (read here and put back for the handler).
async fn csrf_sent(state: &AppState, req: Request) -> (Request, String) {
    if let Some(v) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        let v = v.to_string();
        return (req, v);
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return (req, String::new());
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, state.config.max_body_bytes)
        .await
        .unwrap_or_default();
    let sent = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|v| v.into_iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v))
        .unwrap_or_default();
    (Request::from_parts(parts, Body::from(bytes)), sent)
}

/// Anonymous: a page request goes to the login form (and comes back after), an htmx request
/// is told to go there.
fn to_login(target: &str, htmx: bool) -> Response {
    let url = format!(
        "/login?next={}",
        view::urlencode(if login::is_local_path(target) {
            target
        } else {
            "/"
        })
    );
    if htmx {
        let mut r = StatusCode::UNAUTHORIZED.into_response();
        if let Ok(v) = HeaderValue::from_str(&url) {
            r.headers_mut().insert("hx-redirect", v);
        }
        r
    } else {
        view::redirect(&url)
    }
}

fn finish(
    state: &AppState,
    lang: Lang,
    principal: Option<&Principal>,
    target: &str,
    mut r: Response,
) -> Response {
    if let Some(ErrorPage(e)) = r.extensions_mut().remove::<ErrorPage>() {
        let c = Ctx::new(state, lang, principal.cloned(), target);
        r = view::error_page(&c, &e);
    }
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    // Not `no-referrer` (the API's): with it, browsers send `Origin: null` on form posts,
    // which the same-origin check must refuse. `same-origin` sends nothing to other sites.
    r.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// The UI's 404 (unknown paths under `/`).
pub async fn not_found() -> Response {
    UiError(ApiError::not_found("no such page")).into_response()
}

/// The UI's 405.
pub async fn method_not_allowed(m: Method) -> Response {
    UiError(ApiError::new(
        "method-not-allowed",
        format!("this page does not accept {m}"),
    ))
    .into_response()
}
