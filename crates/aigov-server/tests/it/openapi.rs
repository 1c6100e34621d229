//! The OpenAPI document: structurally valid 3.1, served, and equal to the committed snapshot
//! (`crates/aigov-server/openapi.json`; regenerate with `UPDATE_SNAPSHOTS=1 cargo test`).

use std::collections::BTreeSet;

use aigov_core::access::Role;
use axum::http::StatusCode;
use serde_json::Value;

use crate::app;

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref"
                    && let Some(s) = x.as_str()
                {
                    out.push(s.to_string());
                }
                refs(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let doc: Value = serde_json::from_str(&aigov_server::openapi::document()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "aigov API");
    assert!(
        doc["info"]["description"]
            .as_str()
            .unwrap()
            .contains("`version-conflict` | 412")
    );
    // Every $ref resolves.
    let mut rs = Vec::new();
    refs(&doc, &mut rs);
    assert!(!rs.is_empty());
    for r in &rs {
        let ptr = r.strip_prefix('#').expect("local refs only");
        assert!(doc.pointer(ptr).is_some(), "dangling $ref {r}");
    }
    // Every operation has an operationId unique across the document and at least one response;
    // path parameters are declared.
    let mut ids = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (m, op) in ops.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{m} {path} has no operationId"));
            assert!(
                ids.insert(id.to_string()),
                "duplicate operationId {id} ({m} {path})"
            );
            assert!(
                !op["responses"].as_object().unwrap().is_empty(),
                "{m} {path}"
            );
            for seg in path.split('/').filter(|s| s.starts_with('{')) {
                let name = seg.trim_matches(['{', '}']);
                let declared = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["name"] == name && p["in"] == "path");
                assert!(
                    declared,
                    "{m} {path} does not declare path parameter {name}"
                );
            }
        }
    }
    assert!(doc["components"]["securitySchemes"]["token"].is_object());
}

#[test]
fn the_document_matches_the_snapshot() {
    let generated = aigov_server::openapi::document();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    if std::env::var("UPDATE_SNAPSHOTS").is_ok() {
        std::fs::write(path, format!("{generated}\n")).unwrap();
    }
    let committed = std::fs::read_to_string(path).expect(
        "openapi.json snapshot (create it with UPDATE_SNAPSHOTS=1 cargo test -p aigov-server)",
    );
    assert_eq!(
        committed.trim_end(),
        generated.trim_end(),
        "the API changed: review and update the snapshot with UPDATE_SNAPSHOTS=1"
    );
}

#[tokio::test]
async fn the_document_is_served_to_authenticated_callers() {
    let a = app().await;
    let (s, doc) = a
        .call(Role::Viewer, "GET", "/api/v1/openapi.json", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
}
