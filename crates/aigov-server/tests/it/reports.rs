//! `GET /api/v1/reports/{kind}`: the file with its headers, the audit event, and errors.

use aigov_core::access::Role;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use crate::{app, text_body};

#[tokio::test]
async fn a_report_downloads_with_its_id_and_digest_and_is_audited() {
    let a = app().await;
    let (s, _) = a
        .call(
            Role::RiskManager,
            "POST",
            "/api/v1/systems",
            Some(json!({"name": "Chat", "system_type": "generative"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let req = Request::builder()
        .uri("/api/v1/reports/system?system=SYS-1&format=md")
        .header("authorization", format!("Bearer {}", a.token(Role::Viewer)))
        .body(Body::empty())
        .unwrap();
    let r = a.send(req).await;
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "text/markdown; charset=utf-8");
    let id = h["x-aigov-report-id"].to_str().unwrap().to_string();
    assert!(id.starts_with("rep-"));
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("system-{id}.md"))
    );
    assert!(
        h["x-aigov-report-digest"]
            .to_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let md = text_body(r).await;
    assert!(
        md.starts_with("# System risk assessment: SYS-1 Chat"),
        "{md}"
    );

    // Recorded as the viewer who asked.
    let (s, ev) = a
        .call(
            Role::Auditor,
            "GET",
            "/api/v1/audit?action=report.generated",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ev["items"][0]["object_id"], id.as_str());
    assert!(
        ev["items"][0]["actor"]
            .as_str()
            .unwrap()
            .ends_with("/viewer")
    );

    // Errors: unknown kind, bad format, missing system.
    let (s, p) = a
        .call(Role::Viewer, "GET", "/api/v1/reports/nope", None)
        .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found"))
    );
    let (s, p) = a
        .call(
            Role::Viewer,
            "GET",
            "/api/v1/reports/register?format=docx",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
    assert_eq!(p["errors"][0]["field"], "format");
    let (s, p) = a
        .call(Role::Viewer, "GET", "/api/v1/reports/system", None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
    let (s, _) = a
        .call(
            Role::Viewer,
            "GET",
            "/api/v1/reports/register?bogus=1",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, j) = a
        .call(
            Role::Viewer,
            "GET",
            "/api/v1/reports/register?format=json",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(j["meta"]["kind"], "register");
}
