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
            let headers: &[(&str, &str)] = if method == "PATCH" || uri.ends_with("/stage") {
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
    assert!(checked > 300, "{checked}");
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
