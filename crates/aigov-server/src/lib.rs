//! aigov's HTTP server: the REST API under `/api/v1` (OpenAPI 3.1 at
//! `/api/v1/openapi.json`), `/healthz`, and the web UI under `/`. The only crate that knows HTTP.
//!
//! Module map:
//! - [`config`] — the typed configuration and its layering.
//! - [`auth`] — sessions, tokens, CSRF, login/logout.
//! - [`extract`] — extractors with problem+json errors; `If-Match`; the principal.
//! - [`error`] — the error-code table and problem+json.
//! - [`api`] — one module per resource.
//! - [`openapi`] — the generated API document.
//! - [`ui`] — the server-rendered web UI under `/` (askama + htmx), one module per area.

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod ui;

use std::net::SocketAddr;
use std::sync::Arc;

use aigov_catalog::Library;
use aigov_core::rules::Rules;
use aigov_store::Store;
use axum::Router;
use axum::http::{HeaderValue, Method, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use tokio::sync::RwLock;
use tower_http::trace::TraceLayer;

use crate::api::*;
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::extract::Principal;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The configuration.
    pub config: Arc<Config>,
    /// The governance rules (built-in, or from `rules_dir`).
    pub rules: Arc<Rules>,
    library: Arc<RwLock<Arc<Library>>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store.location())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over `store`, recording the built-in catalogs in it.
    pub async fn new(
        store: Arc<dyn Store>,
        config: Config,
    ) -> Result<AppState, aigov_store::StoreError> {
        let builtin = Library::builtin().map_err(|d| {
            aigov_store::StoreError::Internal(format!("built-in catalogs are invalid:\n{d}"))
        })?;
        store.sync_builtin_catalogs(&builtin).await?;
        let lib = store.load_library().await?;
        let rules = match &config.rules_dir {
            None => Rules::builtin().map_err(|e| {
                aigov_store::StoreError::Internal(format!("built-in rules are invalid: {e}"))
            })?,
            Some(d) => Rules::load_dir(d)
                .map_err(|e| aigov_store::StoreError::Config(format!("rules: {e}")))?,
        };
        let problems = aigov_store::governance::check_rules_against(&rules, &lib);
        if !problems.is_empty() {
            return Err(aigov_store::StoreError::Config(format!(
                "rules name what does not exist:\n  {}",
                problems.join("\n  ")
            )));
        }
        Ok(AppState {
            store,
            config: Arc::new(config),
            rules: Arc::new(rules),
            library: Arc::new(RwLock::new(Arc::new(lib))),
        })
    }

    /// The catalog library (built-ins plus imports).
    pub async fn library(&self) -> Arc<Library> {
        self.library.read().await.clone()
    }

    /// Re-reads imported catalogs after a change.
    pub async fn reload_library(&self) -> ApiResult<()> {
        let lib = self.store.load_library().await?;
        *self.library.write().await = Arc::new(lib);
        Ok(())
    }
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "health", responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
pub async fn openapi_json(_p: Principal) -> Response {
    let mut r = openapi::document().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

async fn not_found(uri: axum::http::Uri) -> Response {
    if ui::is_ui_path(uri.path()) {
        return ui::not_found().await;
    }
    ApiError::not_found("no such endpoint; the API document is at /api/v1/openapi.json")
        .into_response()
}

async fn method_not_allowed(m: Method, uri: axum::http::Uri) -> Response {
    if ui::is_ui_path(uri.path()) {
        return ui::method_not_allowed(m).await;
    }
    ApiError::new(
        "method-not-allowed",
        "this endpoint does not accept that method",
    )
    .into_response()
}

/// The API authenticates with tokens or sessions (problem+json errors); the UI with the
/// session (redirects to the login page, CSRF from a form field or header, error pages).
async fn authenticate(
    state: axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    if ui::is_ui_path(req.uri().path()) {
        ui::guard(state, req, next).await
    } else {
        auth::authenticate(state, req, next).await
    }
}

async fn security_headers(req: axum::extract::Request, next: middleware::Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.entry("referrer-policy")
        .or_insert(HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    r
}

macro_rules! kind_router {
    ($r:expr, $m:ident, $p:literal) => {
        $r.route($p, get(inventory::$m::list).post(inventory::$m::create))
            .route(concat!($p, "/export"), get(inventory::$m::export))
            .route(concat!($p, "/import"), post(inventory::$m::import))
            .route(
                concat!($p, "/{id}"),
                get(inventory::$m::get)
                    .patch(inventory::$m::update)
                    .delete(inventory::$m::delete),
            )
    };
}

/// The application router.
pub fn router(state: AppState) -> Router {
    let r = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/auth/session", get(auth::session))
        .route("/api/v1/auth/password", post(auth::change_password))
        .route("/api/v1/users", get(users::list).post(users::create))
        .route("/api/v1/users/{id}", get(users::get).patch(users::update))
        .route("/api/v1/users/{id}/password", post(users::set_password))
        .route("/api/v1/tokens", get(tokens::list).post(tokens::create))
        .route("/api/v1/tokens/{id}", delete(tokens::revoke))
        .route("/api/v1/systems/{id}/stage", post(inventory::change_stage))
        .route("/api/v1/systems/{id}/stages", get(inventory::stage_history))
        .route("/api/v1/links", get(links::list).post(links::create))
        .route("/api/v1/links/{id}", delete(links::delete))
        .route("/api/v1/audit", get(audit::list))
        .route("/api/v1/audit/verify", get(audit::verify))
        .route("/api/v1/audit/export", get(audit::export))
        .route("/api/v1/catalogs", get(catalogs::list))
        .route("/api/v1/catalogs/search", get(catalogs::search_items))
        .route("/api/v1/catalogs/import", post(catalogs::import))
        .route("/api/v1/catalogs/{id}", get(catalogs::show))
        .route("/api/v1/mapping-sets", get(catalogs::mapping_sets))
        .route("/api/v1/crosswalk", get(catalogs::crosswalk))
        // Methodologies and grading
        .route(
            "/api/v1/methodologies",
            get(governance::list_methodologies).post(governance::create_methodology),
        )
        .route(
            "/api/v1/methodologies/import-ciso",
            post(governance::import_ciso),
        )
        .route(
            "/api/v1/methodologies/{id}",
            get(governance::get_methodology),
        )
        .route(
            "/api/v1/systems/{id}/methodology",
            get(governance::system_methodology).put(governance::set_system_methodology),
        )
        .route("/api/v1/grading", post(governance::grade))
        // Adoption and checklists
        .route(
            "/api/v1/systems/{id}/adoptions",
            get(governance::list_adoptions).post(governance::adopt),
        )
        .route(
            "/api/v1/systems/{id}/adoptions/{catalog}",
            delete(governance::unadopt),
        )
        .route(
            "/api/v1/systems/{id}/checklists/{catalog}",
            get(governance::checklist),
        )
        .route(
            "/api/v1/systems/{id}/checklists/{catalog}/coverage",
            get(governance::coverage),
        )
        .route(
            "/api/v1/systems/{id}/checklists/{catalog}/refresh",
            post(governance::refresh_checklist),
        )
        .route(
            "/api/v1/checklist-items/{id}",
            get(governance::get_checklist_item).patch(governance::update_checklist_item),
        )
        .route(
            "/api/v1/systems/{id}/suggestions",
            get(governance::suggestions),
        )
        // Identification and the register
        .route("/api/v1/systems/{id}/identify", post(governance::identify))
        .route(
            "/api/v1/systems/{id}/candidates",
            get(governance::list_candidates),
        )
        .route(
            "/api/v1/candidates/{id}/decision",
            post(governance::decide_candidate),
        )
        .route("/api/v1/systems/{id}/risks", post(risks::create))
        .route("/api/v1/risks", get(risks::list))
        .route("/api/v1/risks/{id}", get(risks::get).patch(risks::update))
        .route("/api/v1/risks/{id}/status", post(risks::set_status))
        .route(
            "/api/v1/risks/{id}/assessments",
            get(risks::assessments).post(risks::assess),
        )
        .route("/api/v1/risks/{id}/treatment", post(risks::treatment))
        .route(
            "/api/v1/risks/{id}/controls",
            get(risks::list_controls).post(risks::create_control),
        )
        .route(
            "/api/v1/controls/{id}",
            patch(risks::update_control).delete(risks::delete_control),
        )
        .route(
            "/api/v1/risks/{id}/actions",
            get(risks::list_actions).post(risks::create_action),
        )
        .route("/api/v1/actions/{id}", patch(risks::update_action))
        .route(
            "/api/v1/risks/{id}/acceptances",
            get(risks::list_acceptances).post(risks::request_acceptance),
        )
        .route("/api/v1/acceptances/{id}", get(risks::get_acceptance))
        .route(
            "/api/v1/acceptances/{id}/decision",
            post(risks::decide_acceptance),
        )
        .route(
            "/api/v1/acceptances/{id}/withdraw",
            post(risks::withdraw_acceptance),
        )
        .route("/api/v1/overdue", get(risks::overdue))
        .route("/api/v1/dashboard", get(risks::dashboard))
        .route("/api/v1/reports/{kind}", get(reports::generate))
        // Incidents
        .route(
            "/api/v1/incidents",
            get(incidents::list).post(incidents::create),
        )
        .route(
            "/api/v1/incidents/{id}",
            get(incidents::get).patch(incidents::update),
        )
        .route(
            "/api/v1/incidents/{id}/timeline",
            post(incidents::add_timeline),
        )
        .route("/api/v1/incidents/{id}/close", post(incidents::close))
        .route("/api/v1/incidents/{id}/reopen", post(incidents::reopen))
        .route(
            "/api/v1/incidents/{id}/root-cause-risk",
            post(incidents::root_cause_risk),
        )
        .route(
            "/api/v1/settings/incident-reporting",
            get(governance::incident_reporting).put(governance::set_incident_reporting),
        )
        // Evidence
        .route(
            "/api/v1/evidence",
            get(evidence::list).post(evidence::create_link),
        )
        .route("/api/v1/evidence/files", post(evidence::upload))
        .route(
            "/api/v1/evidence/{id}",
            get(evidence::get).delete(evidence::delete),
        )
        .route("/api/v1/evidence/{id}/content", get(evidence::content))
        .route("/api/v1/evidence/{id}/attachments", post(evidence::attach))
        .route(
            "/api/v1/evidence/{id}/attachments/{target_type}/{target}",
            delete(evidence::detach),
        )
        // Stage gates
        .route(
            "/api/v1/stage-gates",
            get(governance::stage_gates).put(governance::set_stage_gate),
        )
        .route("/api/v1/systems/{id}/gate", get(governance::gate_check));
    let r = kind_router!(r, systems, "/api/v1/systems");
    let r = kind_router!(r, models, "/api/v1/models");
    let r = kind_router!(r, datasets, "/api/v1/datasets");
    let r = kind_router!(r, vendors, "/api/v1/vendors");
    let r = kind_router!(r, endpoints, "/api/v1/endpoints");
    r.merge(ui::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn(security_headers))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::extract::Request| tracing::info_span!("request", method = %req.method(), path = %req.uri().path()))
                .on_request(())
                .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .with_state(state)
}

/// Whether a method changes state.
pub fn is_write(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Serves until SIGINT or SIGTERM, then finishes in-flight requests. `ready` is called with
/// the bound address (the CLI prints it).
pub async fn serve(state: AppState, ready: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(&state.config.bind).await?;
    let addr = listener.local_addr()?;
    ready(addr);
    let housekeeping = tokio::spawn(housekeeping(state.clone()));
    let app = router(state);
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await;
    housekeeping.abort();
    served
}

/// Periodic work while serving: lapse expired risk acceptances (their risks reopen) every
/// minute; refresh the query planner's statistics every hour.
async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    let mut minutes = 0u64;
    loop {
        tick.tick().await;
        minutes += 1;
        if minutes.is_multiple_of(60)
            && let Err(e) = state.store.optimize().await
        {
            tracing::warn!(error = %e, "cannot refresh planner statistics");
        }
        match state.store.expire_acceptances().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(lapsed = n, "risk acceptances expired; their risks reopened"),
            Err(e) => tracing::warn!(error = %e, "cannot expire risk acceptances"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
