//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::*;
use crate::auth;
use crate::error::CODES;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("aigov_<id>_<secret>")
                    .build(),
            ),
        );
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                auth::SESSION_COOKIE,
                "Browser session; state-changing requests also need the x-csrf-token header",
            ))),
        );
        let table: String = CODES
            .iter()
            .map(|(code, status, title)| format!("| `{code}` | {status} | {title} |\n"))
            .collect();
        let desc = format!(
            "aigov's REST API. Authenticate with an API token (`Authorization: Bearer …`) or a session cookie from `POST /api/v1/auth/login`; in a session, send the CSRF token in `x-csrf-token` on every state-changing request.\n\n\
             Lists take `limit` (≤ 500) and `offset`. Single resources carry an `ETag` (their version); changes need `If-Match` with it, and a stale version is answered 412.\n\n\
             Errors are RFC 9457 problem+json with a stable `code`:\n\n| code | status | meaning |\n|---|---|---|\n{table}"
        );
        doc.info.description = Some(desc);
    }
}

/// The API document.
#[derive(OpenApi)]
#[openapi(
    info(title = "aigov API", license(name = "Apache-2.0")),
    modifiers(&Security),
    security(("token" = []), ("session" = [])),
    paths(
        health::healthz,
        auth::login, auth::logout, auth::session, auth::change_password,
        users::list, users::create, users::get, users::update, users::set_password,
        tokens::list, tokens::create, tokens::revoke,
        inventory::systems::list, inventory::systems::create, inventory::systems::get, inventory::systems::update, inventory::systems::delete, inventory::systems::export, inventory::systems::import,
        inventory::change_stage, inventory::stage_history,
        inventory::models::list, inventory::models::create, inventory::models::get, inventory::models::update, inventory::models::delete, inventory::models::export, inventory::models::import,
        inventory::datasets::list, inventory::datasets::create, inventory::datasets::get, inventory::datasets::update, inventory::datasets::delete, inventory::datasets::export, inventory::datasets::import,
        inventory::vendors::list, inventory::vendors::create, inventory::vendors::get, inventory::vendors::update, inventory::vendors::delete, inventory::vendors::export, inventory::vendors::import,
        inventory::endpoints::list, inventory::endpoints::create, inventory::endpoints::get, inventory::endpoints::update, inventory::endpoints::delete, inventory::endpoints::export, inventory::endpoints::import,
        links::list, links::create, links::delete,
        audit::list, audit::verify, audit::export,
        catalogs::list, catalogs::show, catalogs::search_items, catalogs::crosswalk, catalogs::mapping_sets, catalogs::import,
        governance::list_methodologies, governance::get_methodology, governance::create_methodology, governance::import_ciso, governance::system_methodology, governance::set_system_methodology, governance::grade,
        governance::list_adoptions, governance::adopt, governance::unadopt, governance::checklist, governance::coverage, governance::refresh_checklist, governance::get_checklist_item, governance::update_checklist_item, governance::suggestions,
        governance::identify, governance::list_candidates, governance::decide_candidate,
        governance::stage_gates, governance::set_stage_gate, governance::gate_check, governance::incident_reporting, governance::set_incident_reporting,
        risks::list, risks::create, risks::get, risks::update, risks::set_status, risks::assessments, risks::assess, risks::treatment,
        risks::list_controls, risks::create_control, risks::update_control, risks::delete_control, risks::list_actions, risks::create_action, risks::update_action,
        risks::list_acceptances, risks::request_acceptance, risks::get_acceptance, risks::decide_acceptance, risks::withdraw_acceptance, risks::overdue, risks::dashboard,
        incidents::list, incidents::create, incidents::get, incidents::update, incidents::add_timeline, incidents::close, incidents::reopen, incidents::root_cause_risk,
        reports::generate,
        evidence::list, evidence::create_link, evidence::upload, evidence::get, evidence::content, evidence::delete, evidence::attach, evidence::detach,
        crate::openapi_json,
    ),
    tags(
        (name = "auth", description = "Log in and out; who am I"),
        (name = "users", description = "People and roles"),
        (name = "tokens", description = "API tokens"),
        (name = "systems", description = "AI systems (SYS-n)"),
        (name = "models", description = "Models (MDL-n)"),
        (name = "datasets", description = "Datasets (DS-n)"),
        (name = "vendors", description = "Vendors (VND-n)"),
        (name = "endpoints", description = "Endpoints (EP-n); credentials are write-only"),
        (name = "links", description = "Links between inventory objects"),
        (name = "audit", description = "The hash-chained audit log"),
        (name = "catalogs", description = "Framework catalogs and crosswalks"),
        (name = "methodologies", description = "Assessment methodologies, grading questionnaire"),
        (name = "checklists", description = "Framework adoption, checklists, crosswalk suggestions"),
        (name = "risks", description = "Candidate risks and the risk register (RISK-n), assessments"),
        (name = "treatment", description = "Controls and action items"),
        (name = "acceptance", description = "Risk acceptance requests and decisions"),
        (name = "incidents", description = "Incidents (INC-n) and reporting deadlines"),
        (name = "evidence", description = "Evidence files and links (EV-n)"),
        (name = "gates", description = "Lifecycle stage gates"),
        (name = "reports", description = "Reports (HTML, Markdown, CSV, JSON, PDF) recorded in the audit log"),
        (name = "health", description = "Liveness"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

/// The document as pretty JSON.
pub fn document() -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    unique_operation_ids(&mut doc);
    doc.to_pretty_json().unwrap_or_default()
}

/// Handlers in different modules share names (`list`, `get` …); OpenAPI wants operationIds
/// unique across the document, so a shared name gets its tag as a prefix (`users_list`).
fn unique_operation_ids(doc: &mut utoipa::openapi::OpenApi) {
    fn ops(
        item: &mut utoipa::openapi::PathItem,
    ) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ]
        .into_iter()
        .filter_map(Option::as_mut)
    }
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for item in doc.paths.paths.values_mut() {
        for op in ops(item) {
            if let Some(id) = &op.operation_id {
                *seen.entry(id.clone()).or_default() += 1;
            }
        }
    }
    for item in doc.paths.paths.values_mut() {
        for op in ops(item) {
            let (Some(id), Some(tag)) =
                (&op.operation_id, op.tags.as_ref().and_then(|t| t.first()))
            else {
                continue;
            };
            if seen.get(id).copied().unwrap_or(0) > 1 {
                op.operation_id = Some(format!("{tag}_{id}"));
            }
        }
    }
}
