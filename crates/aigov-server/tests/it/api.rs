//! Behaviour of the resources: errors, concurrency, pagination, imports, exports, secrets,
//! audit, catalogs — and one flow on PostgreSQL when configured.

use aigov_core::access::Role;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::{App, app, json_body, pg_app, text_body};

async fn raw(
    a: &App,
    method: &str,
    uri: &str,
    ct: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {}", a.token(Role::Admin)));
    if let Some(ct) = ct {
        b = b.header("content-type", ct);
    }
    let r = a.send(b.body(Body::from(body.to_string())).unwrap()).await;
    let s = r.status();
    (s, json_body(r).await)
}

#[tokio::test]
async fn errors_are_problem_json_with_stable_codes() {
    let a = app().await;
    let (s, e) = raw(
        &a,
        "POST",
        "/api/v1/systems",
        Some("application/json"),
        "{not json",
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad-request"))
    );
    assert_eq!(e["type"], "https://aigov.dev/problems/bad-request");
    let (s, e) = raw(&a, "POST", "/api/v1/systems", Some("text/plain"), "{}").await;
    assert_eq!(
        (s, e["code"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported-media-type")
        )
    );
    // 422 names every field.
    let (s, e) = a.call(Role::Admin, "POST", "/api/v1/systems", Some(json!({"name": "", "system_type": "agent", "registered_users": -3, "sector": "Bad Sector"}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "sector", "registered_users"]);
    let (s, e) = a
        .call(
            Role::Admin,
            "POST",
            "/api/v1/systems",
            Some(json!({"name": "x", "system_type": "agent", "modalities": ["text", 7]})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["errors"][0]["field"], "modalities[1]", "{e}");
    // 404, 405, 413.
    let (s, e) = a
        .call(Role::Admin, "GET", "/api/v1/systems/SYS-999", None)
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found"))
    );
    let (s, e) = a.call(Role::Admin, "PUT", "/api/v1/systems", None).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method-not-allowed"))
    );
    let big = format!(
        "{{\"name\": \"{}\", \"system_type\": \"agent\"}}",
        "x".repeat(70 * 1024)
    );
    let (s, e) = raw(
        &a,
        "POST",
        "/api/v1/systems",
        Some("application/json"),
        &big,
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload-too-large"))
    );
    // Query errors name the parameter.
    let (s, e) = a
        .call(Role::Admin, "GET", "/api/v1/systems?limit=501", None)
        .await;
    assert_eq!(
        (s, e["errors"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("limit"))
    );
    let (s, e) = a
        .call(Role::Admin, "GET", "/api/v1/systems?sort=colour", None)
        .await;
    assert_eq!(
        (s, e["errors"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("sort"))
    );
    let (s, e) = a
        .call(
            Role::Admin,
            "GET",
            "/api/v1/models?lifecycle_stage=deploy",
            None,
        )
        .await;
    assert_eq!(
        (s, e["errors"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("lifecycle_stage"))
    );
    let (s, e) = a
        .call(Role::Admin, "GET", "/api/v1/systems?limit=abc", None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("limit"), "{e}");
}

#[tokio::test]
async fn concurrent_edits_cannot_silently_overwrite() {
    let a = app().await;
    let r = a
        .send(
            Request::post("/api/v1/systems")
                .header(
                    "authorization",
                    format!("Bearer {}", a.token(Role::Contributor)),
                )
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"name": "S", "system_type": "generative"}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["etag"], "\"1\"");
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/api/v1/systems/")
    );
    // Without If-Match: 428. With a stale one: 412. With the current one: 200 and a new ETag.
    let (s, e) = a
        .call(
            Role::Contributor,
            "PATCH",
            "/api/v1/systems/SYS-1",
            Some(json!({"purpose": "p"})),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (
            StatusCode::PRECONDITION_REQUIRED,
            Some("precondition-required")
        )
    );
    let (s, ok) = a
        .call_with(
            Role::Contributor,
            "PATCH",
            "/api/v1/systems/SYS-1",
            Some(json!({"purpose": "mine"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!((s, ok["version"].as_i64()), (StatusCode::OK, Some(2)));
    let (s, e) = a
        .call_with(
            Role::RiskManager,
            "PATCH",
            "/api/v1/systems/SYS-1",
            Some(json!({"purpose": "theirs"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::PRECONDITION_FAILED, Some("version-conflict"))
    );
    let (_, cur) = a
        .call(Role::Viewer, "GET", "/api/v1/systems/SYS-1", None)
        .await;
    assert_eq!(cur["data"]["purpose"], "mine");
    // Stage changes go through their own endpoint, with a reason, also versioned.
    let (s, e) = a
        .call_with(
            Role::Contributor,
            "PATCH",
            "/api/v1/systems/SYS-1",
            Some(json!({"lifecycle_stage": "deploy"})),
            &[("if-match", "\"2\"")],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, r) = a
        .call_with(
            Role::Contributor,
            "POST",
            "/api/v1/systems/SYS-1/stage",
            Some(json!({"to": "verify", "reason": "approved by board"})),
            &[("if-match", "W/\"2\"")],
        )
        .await;
    assert_eq!(
        (s, r["lifecycle_stage"].as_str()),
        (StatusCode::OK, Some("verify"))
    );
    let (_, hist) = a
        .call(Role::Viewer, "GET", "/api/v1/systems/SYS-1/stages", None)
        .await;
    assert_eq!(hist[1]["reason"], "approved by board");
    assert_eq!(
        hist[1]["actor"],
        format!(
            "token:{}/contributor",
            a.token(Role::Contributor).split('_').nth(1).unwrap()
        )
    );
}

#[tokio::test]
async fn lists_paginate_filter_and_sort() {
    let a = app().await;
    for i in 0..12 {
        let body = json!({"name": format!("sys {i:02}"), "system_type": if i % 3 == 0 { "agent" } else { "generative" }, "public_facing": i % 2 == 0});
        assert_eq!(
            a.call(Role::Admin, "POST", "/api/v1/systems", Some(body))
                .await
                .0,
            StatusCode::CREATED
        );
    }
    let (_, p) = a
        .call(
            Role::Viewer,
            "GET",
            "/api/v1/systems?limit=5&offset=10",
            None,
        )
        .await;
    assert_eq!(
        (
            p["total"].as_i64(),
            p["items"].as_array().unwrap().len(),
            p["offset"].as_i64()
        ),
        (Some(12), 2, Some(10))
    );
    let (_, p) = a
        .call(
            Role::Viewer,
            "GET",
            "/api/v1/systems?system_type=agent&sort=-name",
            None,
        )
        .await;
    let names: Vec<&str> = p["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["data"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sys 09", "sys 06", "sys 03", "sys 00"]);
    let (_, p) = a
        .call(
            Role::Viewer,
            "GET",
            "/api/v1/systems?public_facing=true&q=SYS%201",
            None,
        )
        .await;
    assert_eq!(p["total"], 1, "sys 10 is public; sys 11 is not");
}

#[tokio::test]
async fn inventory_imports_are_checked_whole_and_exports_round_trip() {
    let a = app().await;
    let csv_bad = "name,system_type,modalities,public_facing,registered_users\nGood one,generative,text;image,true,100\n,generative,,false,\nThird,robot,,maybe,x\n";
    let (s, e) = raw(
        &a,
        "POST",
        "/api/v1/systems/import",
        Some("text/csv"),
        csv_bad,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let fields: Vec<&str> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["line 4: public_facing", "line 4: registered_users"],
        "{e}"
    );
    let csv_bad2 = "name,system_type\nGood one,generative\n,generative\nThird,robot\n";
    let (s, e) = raw(
        &a,
        "POST",
        "/api/v1/systems/import",
        Some("text/csv"),
        csv_bad2,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["line 3: name", "line 4: system_type"], "{e}");
    assert!(
        e["detail"]
            .as_str()
            .unwrap()
            .contains("nothing was imported")
    );
    let (_, p) = a.call(Role::Viewer, "GET", "/api/v1/systems", None).await;
    assert_eq!(p["total"], 0, "nothing written");
    let (s, e) = raw(
        &a,
        "POST",
        "/api/v1/systems/import",
        Some("text/csv"),
        "name,colour\nx,red\n",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["errors"][0]["field"].as_str().unwrap().contains("colour"));
    // Valid CSV → written; export CSV → import again gives the same data.
    let good = "name,system_type,modalities,tc260_roles,public_facing,registered_users,sector\nChat,generative,text;image,service-provider,true,100,finance\nScorer,decision,tabular,,false,,\n";
    let (s, r) = raw(&a, "POST", "/api/v1/systems/import", Some("text/csv"), good).await;
    assert_eq!(
        (s, r["refs"].clone()),
        (StatusCode::CREATED, json!(["SYS-1", "SYS-2"]))
    );
    let r = a
        .send(
            Request::get("/api/v1/systems/export?format=csv")
                .header("authorization", format!("Bearer {}", a.token(Role::Viewer)))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("aigov-systems.csv")
    );
    let exported = text_body(r).await;
    assert!(
        exported
            .lines()
            .next()
            .unwrap()
            .starts_with("ref,name,description")
    );
    let (s, r2) = raw(
        &a,
        "POST",
        "/api/v1/systems/import",
        Some("text/csv"),
        &exported,
    )
    .await;
    assert_eq!(
        (s, r2["refs"].clone()),
        (StatusCode::CREATED, json!(["SYS-3", "SYS-4"]))
    );
    let (_, one) = a
        .call(Role::Viewer, "GET", "/api/v1/systems/SYS-1", None)
        .await;
    let (_, three) = a
        .call(Role::Viewer, "GET", "/api/v1/systems/SYS-3", None)
        .await;
    assert_eq!(one["data"], three["data"]);
    // JSON arrays report the line where each bad element starts; exported JSON re-imports.
    let json_bad = "[\n  {\"name\": \"a\", \"system_type\": \"agent\"},\n  {\n    \"name\": \"b\",\n    \"system_type\": \"??\"\n  }\n]";
    let (s, e) = raw(
        &a,
        "POST",
        "/api/v1/models/import",
        Some("application/json"),
        "[{\"name\": \"m\", \"color\": 1}]",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["errors"][0]["field"], "line 1: color", "{e}");
    let (s, e) = raw(
        &a,
        "POST",
        "/api/v1/systems/import",
        Some("application/json"),
        json_bad,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["errors"][0]["field"], "line 3: system_type", "{e}");
    let (_, all) = a
        .call(
            Role::Viewer,
            "GET",
            "/api/v1/systems/export?format=json",
            None,
        )
        .await;
    let (s, r3) = raw(
        &a,
        "POST",
        "/api/v1/systems/import",
        Some("application/json"),
        &all.to_string(),
    )
    .await;
    assert_eq!((s, r3["imported"].as_i64()), (StatusCode::CREATED, Some(4)));
    let (s, e) = raw(
        &a,
        "POST",
        "/api/v1/systems/import",
        Some("application/x-ndjson"),
        "{\"name\":\"n\",\"system_type\":\"agent\"}\nnot json\n",
    )
    .await;
    assert_eq!(
        (s, e["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("line 2"))
    );
}

#[tokio::test]
async fn endpoint_credentials_never_leave_the_server() {
    let a = app().await;
    let (s, ep) = a.call(Role::Admin, "POST", "/api/v1/endpoints", Some(json!({"name": "prod", "url": "https://llm.example/v1", "api_style": "openai-chat", "credential": {"kind": "stored", "secret": "sk-top-secret-123"}}))).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(ep["has_secret"], true);
    for uri in [
        "/api/v1/endpoints/EP-1",
        "/api/v1/endpoints",
        "/api/v1/endpoints/export?format=json",
        "/api/v1/endpoints/export?format=csv",
        "/api/v1/audit?limit=500",
        "/api/v1/audit/export",
    ] {
        let r = a
            .send(
                Request::get(uri)
                    .header("authorization", format!("Bearer {}", a.token(Role::Admin)))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        let t = text_body(r).await;
        assert!(!t.contains("sk-top-secret-123"), "{uri} leaks the secret");
    }
    assert_eq!(
        a.state
            .store
            .endpoint_secret("EP-1")
            .await
            .unwrap()
            .as_deref(),
        Some("sk-top-secret-123")
    );
}

#[tokio::test]
async fn links_and_audit_over_the_api() {
    let a = app().await;
    a.call(
        Role::Contributor,
        "POST",
        "/api/v1/systems",
        Some(json!({"name": "S", "system_type": "generative"})),
    )
    .await;
    a.call(
        Role::Contributor,
        "POST",
        "/api/v1/models",
        Some(json!({"name": "M"})),
    )
    .await;
    let (s, l) = a
        .call(
            Role::Contributor,
            "POST",
            "/api/v1/links",
            Some(json!({"from": "SYS-1", "rel": "uses", "to": "MDL-1"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, ls) = a
        .call(Role::Viewer, "GET", "/api/v1/links?object=MDL-1", None)
        .await;
    assert_eq!(ls.as_array().unwrap().len(), 1);
    let (s, e) = a
        .call(Role::RiskManager, "DELETE", "/api/v1/models/MDL-1", None)
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let (s, _) = a
        .call(
            Role::Contributor,
            "DELETE",
            &format!("/api/v1/links/{}", l["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = a
        .call_with(
            Role::RiskManager,
            "DELETE",
            "/api/v1/models/MDL-1",
            None,
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // Auditors read the trail; the chain verifies; export streams JSON lines.
    let (s, page) = a
        .call(
            Role::Auditor,
            "GET",
            "/api/v1/audit?action=link.&order=desc",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let actions: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["link.delete", "link.create"]);
    let (_, v) = a
        .call(Role::Auditor, "GET", "/api/v1/audit/verify", None)
        .await;
    assert_eq!(v["ok"], true);
    let r = a
        .send(
            Request::get("/api/v1/audit/export")
                .header(
                    "authorization",
                    format!("Bearer {}", a.token(Role::Auditor)),
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let lines = text_body(r).await;
    assert_eq!(lines.lines().count() as i64, v["events"].as_i64().unwrap());
    let (s, _) = a
        .call(Role::Auditor, "GET", "/api/v1/audit?since=yesterday", None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn catalogs_over_the_api() {
    let a = app().await;
    let (_, list) = a.call(Role::Viewer, "GET", "/api/v1/catalogs", None).await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "tc260-aisgf" && c["origin"] == "builtin")
    );
    let (_, risks) = a
        .call(
            Role::Viewer,
            "GET",
            "/api/v1/catalogs/tc260-aisgf?kind=risk",
            None,
        )
        .await;
    assert_eq!(risks["items"].as_array().unwrap().len(), 26);
    let (s, _) = a
        .call(
            Role::Viewer,
            "GET",
            "/api/v1/catalogs/tc260-aisgf?kind=riskk",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, hits) = a
        .call(
            Role::Viewer,
            "GET",
            "/api/v1/catalogs/search?q=%E6%95%B0%E6%8D%AE%E6%B3%84%E9%9C%B2",
            None,
        )
        .await;
    assert_eq!(hits[0]["ref"], "3.1.2(d)");
    let (_, m) = a
        .call(
            Role::Viewer,
            "GET",
            "/api/v1/crosswalk?item=gbt-45654%402025%3AA.1%20d%29&to=nist-ai-rmf",
            None,
        )
        .await;
    assert!(!m["mappings"].as_array().unwrap().is_empty());
    let yaml = "aigov_catalog: 1\nid: acme\nversion: \"1.0\"\ntitle: {en: ACME}\nitems:\n  - {ref: a, kind: risk, title: {en: A}}\n";
    let (s, r) = raw(
        &a,
        "POST",
        "/api/v1/catalogs/import",
        Some("application/yaml"),
        yaml,
    )
    .await;
    assert_eq!(
        (s, r["catalogs"].clone()),
        (StatusCode::CREATED, json!(["acme@1.0"]))
    );
    let (_, c) = a
        .call(Role::Viewer, "GET", "/api/v1/catalogs/acme", None)
        .await;
    assert_eq!(c["items"][0]["ref"], "a");
    let (s, e) = raw(
        &a,
        "POST",
        "/api/v1/catalogs/import",
        Some("application/yaml"),
        &yaml.replace("kind: risk", "kind: hazard"),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["errors"][0]["field"]
            .as_str()
            .unwrap()
            .starts_with("line 6"),
        "{e}"
    );
    let (s, _) = raw(
        &a,
        "POST",
        "/api/v1/catalogs/import",
        Some("application/yaml"),
        &yaml.replace("{en: A}", "{en: B}"),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "different content needs replace");
    let (s, _) = raw(
        &a,
        "POST",
        "/api/v1/catalogs/import?replace=true",
        Some("application/yaml"),
        &yaml.replace("{en: A}", "{en: B}"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
}

#[tokio::test]
async fn a_flow_on_postgres_when_configured() {
    let Some(a) = pg_app().await else { return };
    let (s, h) = a.call(Role::Viewer, "GET", "/healthz", None).await;
    assert_eq!(
        (s, h["database"].as_str()),
        (StatusCode::OK, Some("postgres"))
    );
    let (s, _) = a
        .call(
            Role::Contributor,
            "POST",
            "/api/v1/systems",
            Some(json!({"name": "pg", "system_type": "agent"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, r) = a
        .call_with(
            Role::Contributor,
            "POST",
            "/api/v1/systems/SYS-1/stage",
            Some(json!({"to": "train", "reason": "go"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(
        (s, r["lifecycle_stage"].as_str()),
        (StatusCode::OK, Some("train"))
    );
    let (_, v) = a
        .call(Role::Auditor, "GET", "/api/v1/audit/verify", None)
        .await;
    assert_eq!(v["ok"], true);
}
