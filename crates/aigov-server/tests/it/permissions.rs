//! The permission matrix, role by role, against every endpoint of the API document.

use std::collections::BTreeSet;

use aigov_core::access::{Perm, Role, allowed};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::app;

/// `(method, concrete URI, permission, OpenAPI path template, body)`.
type Endpoint = (
    &'static str,
    String,
    Option<Perm>,
    &'static str,
    Option<Value>,
);

/// Every operation: method, concrete URI, the permission it needs (None: any authenticated
/// caller), the OpenAPI path template, and a body that passes the extractors.
fn endpoints() -> Vec<Endpoint> {
    use Perm::*;
    let sys = json!({"name": "perm test", "system_type": "other"});
    let mut v: Vec<Endpoint> = vec![
        (
            "GET",
            "/api/v1/auth/session".into(),
            None,
            "/api/v1/auth/session",
            None,
        ),
        (
            "GET",
            "/api/v1/openapi.json".into(),
            None,
            "/api/v1/openapi.json",
            None,
        ),
        (
            "GET",
            "/api/v1/users".into(),
            Some(UserRead),
            "/api/v1/users",
            None,
        ),
        (
            "POST",
            "/api/v1/users".into(),
            Some(UserManage),
            "/api/v1/users",
            Some(
                json!({"username": "newbie", "role": "viewer", "password": "a long enough password"}),
            ),
        ),
        (
            "GET",
            "/api/v1/users/viewer".into(),
            Some(UserRead),
            "/api/v1/users/{id}",
            None,
        ),
        (
            "PATCH",
            "/api/v1/users/viewer".into(),
            Some(UserManage),
            "/api/v1/users/{id}",
            Some(json!({"display_name": "V"})),
        ),
        (
            "POST",
            "/api/v1/users/viewer/password".into(),
            Some(UserManage),
            "/api/v1/users/{id}/password",
            Some(json!({"password": "another long password"})),
        ),
        (
            "GET",
            "/api/v1/tokens".into(),
            Some(TokenOwn),
            "/api/v1/tokens",
            None,
        ),
        (
            "POST",
            "/api/v1/tokens".into(),
            Some(TokenOwn),
            "/api/v1/tokens",
            Some(json!({"name": "t", "role": "viewer"})),
        ),
        (
            "DELETE",
            "/api/v1/tokens/tknotthere00".into(),
            Some(TokenOwn),
            "/api/v1/tokens/{id}",
            None,
        ),
        (
            "POST",
            "/api/v1/systems/SYS-1/stage".into(),
            Some(InventoryStage),
            "/api/v1/systems/{id}/stage",
            Some(json!({"to": "design-develop", "reason": "r"})),
        ),
        (
            "GET",
            "/api/v1/systems/SYS-1/stages".into(),
            Some(InventoryRead),
            "/api/v1/systems/{id}/stages",
            None,
        ),
        (
            "GET",
            "/api/v1/links".into(),
            Some(InventoryRead),
            "/api/v1/links",
            None,
        ),
        (
            "POST",
            "/api/v1/links".into(),
            Some(InventoryWrite),
            "/api/v1/links",
            Some(json!({"from": "SYS-1", "rel": "uses", "to": "MDL-1"})),
        ),
        (
            "DELETE",
            "/api/v1/links/no-such-link".into(),
            Some(InventoryWrite),
            "/api/v1/links/{id}",
            None,
        ),
        (
            "GET",
            "/api/v1/audit".into(),
            Some(AuditRead),
            "/api/v1/audit",
            None,
        ),
        (
            "GET",
            "/api/v1/audit/verify".into(),
            Some(AuditRead),
            "/api/v1/audit/verify",
            None,
        ),
        (
            "GET",
            "/api/v1/audit/export".into(),
            Some(AuditRead),
            "/api/v1/audit/export",
            None,
        ),
        (
            "GET",
            "/api/v1/catalogs".into(),
            Some(CatalogRead),
            "/api/v1/catalogs",
            None,
        ),
        (
            "GET",
            "/api/v1/catalogs/owasp-llm".into(),
            Some(CatalogRead),
            "/api/v1/catalogs/{id}",
            None,
        ),
        (
            "GET",
            "/api/v1/catalogs/search?q=injection".into(),
            Some(CatalogRead),
            "/api/v1/catalogs/search",
            None,
        ),
        (
            "GET",
            "/api/v1/crosswalk?item=tc260-aisgf:3.1.1(a)".into(),
            Some(CatalogRead),
            "/api/v1/crosswalk",
            None,
        ),
        (
            "GET",
            "/api/v1/mapping-sets".into(),
            Some(CatalogRead),
            "/api/v1/mapping-sets",
            None,
        ),
        (
            "POST",
            "/api/v1/catalogs/import".into(),
            Some(CatalogImport),
            "/api/v1/catalogs/import",
            Some(json!({"not": "a catalog"})),
        ),
    ];
    let meth = json!({"id": "perm-2x2", "name": {"en": "2x2"}, "likelihood": [{"label": {"en": "lo"}}, {"label": {"en": "hi"}}], "impact": [{"label": {"en": "lo"}}, {"label": {"en": "hi"}}],
        "levels": [{"id": "low", "label": {"en": "low"}, "color": "#00aa00", "approver": "risk_manager", "treatment_days": 30}, {"id": "high", "label": {"en": "high"}, "color": "#aa0000", "approver": "admin", "treatment_days": 7}],
        "grid": [[0, 0], [0, 1]]});
    let answers = json!({"object_category": "public-interest", "degree": "serious", "scope": "group", "recoverability": "with-effort"});
    let judged = json!({"kind": "current", "likelihood": 2, "impact": 2, "basis": "judgement", "rationale": "r"});
    let incident = json!({"title": "i", "severity": "low", "detected_at": "2026-11-21T08:00:00Z"});
    #[rustfmt::skip]
    let governance: Vec<(&'static str, &'static str, Perm, &'static str, Option<Value>)> = vec![
        ("GET", "/api/v1/methodologies", RiskRead, "/api/v1/methodologies", None),
        ("POST", "/api/v1/methodologies", MethodologyManage, "/api/v1/methodologies", Some(meth)),
        ("POST", "/api/v1/methodologies/import-ciso", MethodologyManage, "/api/v1/methodologies/import-ciso", Some(json!({"id": "ciso-x", "matrix": {}}))),
        ("GET", "/api/v1/methodologies/aigov-5x5", RiskRead, "/api/v1/methodologies/{id}", None),
        ("GET", "/api/v1/systems/SYS-1/methodology", RiskRead, "/api/v1/systems/{id}/methodology", None),
        ("PUT", "/api/v1/systems/SYS-1/methodology", MethodologyManage, "/api/v1/systems/{id}/methodology", Some(json!({"methodology_id": "aigov-5x5", "reason": "r"}))),
        ("POST", "/api/v1/grading", RiskRead, "/api/v1/grading", Some(answers)),
        ("GET", "/api/v1/systems/SYS-1/adoptions", RiskRead, "/api/v1/systems/{id}/adoptions", None),
        ("POST", "/api/v1/systems/SYS-1/adoptions", ChecklistWrite, "/api/v1/systems/{id}/adoptions", Some(json!({}))),
        ("DELETE", "/api/v1/systems/SYS-1/adoptions/iso-42001", ChecklistWrite, "/api/v1/systems/{id}/adoptions/{catalog}", None),
        ("GET", "/api/v1/systems/SYS-1/checklists/tc260-aisgf", RiskRead, "/api/v1/systems/{id}/checklists/{catalog}", None),
        ("GET", "/api/v1/systems/SYS-1/checklists/tc260-aisgf/coverage", RiskRead, "/api/v1/systems/{id}/checklists/{catalog}/coverage", None),
        ("POST", "/api/v1/systems/SYS-1/checklists/tc260-aisgf/refresh", ChecklistWrite, "/api/v1/systems/{id}/checklists/{catalog}/refresh", None),
        ("GET", "/api/v1/checklist-items/nope", RiskRead, "/api/v1/checklist-items/{id}", None),
        ("PATCH", "/api/v1/checklist-items/nope", ChecklistWrite, "/api/v1/checklist-items/{id}", Some(json!({}))),
        ("GET", "/api/v1/systems/SYS-1/suggestions", RiskRead, "/api/v1/systems/{id}/suggestions", None),
        ("POST", "/api/v1/systems/SYS-1/identify", RiskWrite, "/api/v1/systems/{id}/identify", None),
        ("GET", "/api/v1/systems/SYS-1/candidates", RiskRead, "/api/v1/systems/{id}/candidates", None),
        ("POST", "/api/v1/candidates/nope/decision", RiskWrite, "/api/v1/candidates/{id}/decision", Some(json!({"accept": false, "reason": "r"}))),
        ("POST", "/api/v1/systems/SYS-1/risks", RiskWrite, "/api/v1/systems/{id}/risks", Some(json!({"title": "t", "unmapped": true}))),
        ("GET", "/api/v1/risks", RiskRead, "/api/v1/risks", None),
        ("GET", "/api/v1/risks/RISK-1", RiskRead, "/api/v1/risks/{id}", None),
        ("PATCH", "/api/v1/risks/RISK-1", RiskWrite, "/api/v1/risks/{id}", Some(json!({}))),
        ("POST", "/api/v1/risks/RISK-1/status", RiskWrite, "/api/v1/risks/{id}/status", Some(json!({"to": "closed", "reason": "r"}))),
        ("GET", "/api/v1/risks/RISK-1/assessments", RiskRead, "/api/v1/risks/{id}/assessments", None),
        ("POST", "/api/v1/risks/RISK-1/assessments", RiskAssess, "/api/v1/risks/{id}/assessments", Some(judged)),
        ("POST", "/api/v1/risks/RISK-1/treatment", RiskWrite, "/api/v1/risks/{id}/treatment", Some(json!({"decision": "mitigate", "rationale": "r"}))),
        ("GET", "/api/v1/risks/RISK-1/controls", RiskRead, "/api/v1/risks/{id}/controls", None),
        ("POST", "/api/v1/risks/RISK-1/controls", RiskWrite, "/api/v1/risks/{id}/controls", Some(json!({"title": "c"}))),
        ("PATCH", "/api/v1/controls/nope", RiskWrite, "/api/v1/controls/{id}", Some(json!({}))),
        ("DELETE", "/api/v1/controls/nope", RiskWrite, "/api/v1/controls/{id}", None),
        ("GET", "/api/v1/risks/RISK-1/actions", RiskRead, "/api/v1/risks/{id}/actions", None),
        ("POST", "/api/v1/risks/RISK-1/actions", RiskWrite, "/api/v1/risks/{id}/actions", Some(json!({"title": "a"}))),
        ("PATCH", "/api/v1/actions/nope", RiskWrite, "/api/v1/actions/{id}", Some(json!({}))),
        ("GET", "/api/v1/risks/RISK-1/acceptances", RiskRead, "/api/v1/risks/{id}/acceptances", None),
        ("POST", "/api/v1/risks/RISK-1/acceptances", AcceptanceRequest, "/api/v1/risks/{id}/acceptances", Some(json!({"rationale": "r", "expires_at": "2027-01-01T00:00:00Z"}))),
        ("GET", "/api/v1/acceptances/nope", RiskRead, "/api/v1/acceptances/{id}", None),
        ("POST", "/api/v1/acceptances/nope/decision", AcceptanceDecide, "/api/v1/acceptances/{id}/decision", Some(json!({"approve": true, "note": "n"}))),
        ("POST", "/api/v1/acceptances/nope/withdraw", AcceptanceRequest, "/api/v1/acceptances/{id}/withdraw", None),
        ("GET", "/api/v1/overdue", RiskRead, "/api/v1/overdue", None),
        ("GET", "/api/v1/dashboard", RiskRead, "/api/v1/dashboard", None),
        ("GET", "/api/v1/reports/register?format=json", ReportGenerate, "/api/v1/reports/{kind}", None),
        ("GET", "/api/v1/incidents", RiskRead, "/api/v1/incidents", None),
        ("POST", "/api/v1/incidents", IncidentWrite, "/api/v1/incidents", Some(incident)),
        ("GET", "/api/v1/incidents/INC-1", RiskRead, "/api/v1/incidents/{id}", None),
        ("PATCH", "/api/v1/incidents/INC-1", IncidentWrite, "/api/v1/incidents/{id}", Some(json!({}))),
        ("POST", "/api/v1/incidents/INC-1/timeline", IncidentWrite, "/api/v1/incidents/{id}/timeline", Some(json!({"entry": "e"}))),
        ("POST", "/api/v1/incidents/INC-1/close", IncidentWrite, "/api/v1/incidents/{id}/close", Some(json!({"summary": "s"}))),
        ("POST", "/api/v1/incidents/INC-1/reopen", IncidentWrite, "/api/v1/incidents/{id}/reopen", Some(json!({"reason": "r"}))),
        ("POST", "/api/v1/incidents/INC-1/root-cause-risk", RiskWrite, "/api/v1/incidents/{id}/root-cause-risk", Some(json!({"system": "SYS-1", "risk": {"title": "t", "unmapped": true}}))),
        ("GET", "/api/v1/settings/incident-reporting", RiskRead, "/api/v1/settings/incident-reporting", None),
        ("PUT", "/api/v1/settings/incident-reporting", SettingsManage, "/api/v1/settings/incident-reporting", Some(json!([]))),
        ("GET", "/api/v1/evidence", RiskRead, "/api/v1/evidence", None),
        ("POST", "/api/v1/evidence", EvidenceWrite, "/api/v1/evidence", Some(json!({"title": "l", "url": "https://wiki.example.com/x"}))),
        ("POST", "/api/v1/evidence/files?title=t&file_name=f.txt", EvidenceWrite, "/api/v1/evidence/files", Some(json!({"any": "bytes"}))),
        ("GET", "/api/v1/evidence/EV-1", RiskRead, "/api/v1/evidence/{id}", None),
        ("GET", "/api/v1/evidence/EV-1/content", RiskRead, "/api/v1/evidence/{id}/content", None),
        ("DELETE", "/api/v1/evidence/nope", EvidenceWrite, "/api/v1/evidence/{id}", None),
        ("POST", "/api/v1/evidence/EV-1/attachments", EvidenceWrite, "/api/v1/evidence/{id}/attachments", Some(json!({"target_type": "risk", "target": "RISK-1"}))),
        ("DELETE", "/api/v1/evidence/nope/attachments/risk/RISK-1", EvidenceWrite, "/api/v1/evidence/{id}/attachments/{target_type}/{target}", None),
        ("GET", "/api/v1/stage-gates", RiskRead, "/api/v1/stage-gates", None),
        ("PUT", "/api/v1/stage-gates", SettingsManage, "/api/v1/stage-gates", Some(json!({"to": "operate", "require_assessed": true}))),
        ("GET", "/api/v1/systems/SYS-1/gate?to=deploy", RiskRead, "/api/v1/systems/{id}/gate", None),
    ];
    for (m, uri, perm, tpl, body) in governance {
        v.push((m, uri.into(), Some(perm), tpl, body));
    }
    for (kind, body) in [
        ("systems", sys.clone()),
        ("models", json!({"name": "m"})),
        ("datasets", json!({"name": "d"})),
        ("vendors", json!({"name": "v"})),
        (
            "endpoints",
            json!({"name": "e", "url": "http://h", "api_style": "other"}),
        ),
    ] {
        let base: &'static str = Box::leak(format!("/api/v1/{kind}").into_boxed_str());
        let item: &'static str = Box::leak(format!("/api/v1/{kind}/{{id}}").into_boxed_str());
        let export: &'static str = Box::leak(format!("/api/v1/{kind}/export").into_boxed_str());
        let import: &'static str = Box::leak(format!("/api/v1/{kind}/import").into_boxed_str());
        v.push(("GET", base.into(), Some(InventoryRead), base, None));
        v.push((
            "POST",
            base.into(),
            Some(InventoryWrite),
            base,
            Some(body.clone()),
        ));
        v.push((
            "GET",
            format!("{base}/no-such-id"),
            Some(InventoryRead),
            item,
            None,
        ));
        v.push((
            "PATCH",
            format!("{base}/no-such-id"),
            Some(InventoryWrite),
            item,
            Some(json!({})),
        ));
        v.push((
            "DELETE",
            format!("{base}/no-such-id"),
            Some(InventoryDelete),
            item,
            None,
        ));
        v.push((
            "GET",
            format!("{export}?format=csv"),
            Some(InventoryRead),
            export,
            None,
        ));
        v.push((
            "POST",
            import.into(),
            Some(InventoryWrite),
            import,
            Some(json!([body])),
        ));
    }
    v
}

#[tokio::test]
async fn every_endpoint_enforces_the_matrix_for_every_role() {
    let a = app().await;
    // Objects for the endpoints that need one.
    let (s, _) = a
        .call(
            Role::Admin,
            "POST",
            "/api/v1/systems",
            Some(json!({"name": "target", "system_type": "generative"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = a
        .call(
            Role::Admin,
            "POST",
            "/api/v1/models",
            Some(json!({"name": "target model"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut checked = 0;
    for (method, uri, perm, _, body) in endpoints() {
        for role in Role::ALL {
            // Every write carries If-Match so that no endpoint answers 428 before 403.
            let headers: &[(&str, &str)] = if method != "GET" {
                &[("if-match", "\"1\"")]
            } else {
                &[]
            };
            let (status, resp) = a.call_with(role, method, &uri, body.clone(), headers).await;
            let expect_allowed = perm.is_none_or(|p| allowed(role, p));
            if expect_allowed {
                assert!(
                    status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                    "{role} {method} {uri}: {status} {resp}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role} {method} {uri} must be refused: {resp}"
                );
                assert_eq!(resp["code"], "forbidden");
            }
            checked += 1;
        }
    }
    assert!(checked > 700, "{checked}");
}

#[tokio::test]
async fn the_table_covers_every_operation_in_the_api_document() {
    let doc: Value = serde_json::from_str(&aigov_server::openapi::document()).unwrap();
    let mut in_doc = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for m in ops.as_object().unwrap().keys() {
            in_doc.insert((m.to_uppercase(), path.clone()));
        }
    }
    let mut tested: BTreeSet<(String, String)> = endpoints()
        .into_iter()
        .map(|(m, _, _, tpl, _)| (m.to_string(), tpl.to_string()))
        .collect();
    // Public endpoints and session-only ones are covered in auth.rs.
    for (m, p) in [
        ("GET", "/healthz"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/auth/password"),
    ] {
        tested.insert((m.into(), p.into()));
    }
    let missing: Vec<_> = in_doc.difference(&tested).collect();
    assert!(
        missing.is_empty(),
        "operations without a permission check in this test: {missing:?}"
    );
    let extra: Vec<_> = tested.difference(&in_doc).collect();
    assert!(
        extra.is_empty(),
        "tested operations missing from the API document: {extra:?}"
    );
}

#[tokio::test]
async fn token_scope_limits_a_stronger_user() {
    let a = app().await;
    // An admin's viewer-scoped token reads but cannot write or read the audit log.
    let (s, t) = a
        .call(
            Role::Admin,
            "POST",
            "/api/v1/tokens",
            Some(json!({"name": "ro", "role": "viewer"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let secret = t["secret"].as_str().unwrap().to_string();
    let req = |m: &str, u: &str, b: Option<Value>| {
        let mut r = axum::http::Request::builder()
            .method(m)
            .uri(u)
            .header("authorization", format!("Bearer {secret}"));
        if b.is_some() {
            r = r.header("content-type", "application/json");
        }
        r.body(axum::body::Body::from(
            b.map(|b| b.to_string()).unwrap_or_default(),
        ))
        .unwrap()
    };
    assert_eq!(
        a.send(req("GET", "/api/v1/systems", None)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        a.send(req(
            "POST",
            "/api/v1/systems",
            Some(json!({"name": "x", "system_type": "other"}))
        ))
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        a.send(req("GET", "/api/v1/audit", None)).await.status(),
        StatusCode::FORBIDDEN
    );
    // … and cannot mint a stronger token than itself.
    let r = a
        .send(req(
            "POST",
            "/api/v1/tokens",
            Some(json!({"name": "up", "role": "admin"})),
        ))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Revoking works immediately.
    let id = t["token"]["id"].as_str().unwrap();
    let (s, _) = a
        .call(Role::Admin, "DELETE", &format!("/api/v1/tokens/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        a.send(req("GET", "/api/v1/systems", None)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
