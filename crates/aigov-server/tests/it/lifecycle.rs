//! The governance loop end to end over HTTP, on SQLite and (when configured) PostgreSQL:
//! register a system, adopt frameworks, identify, assess, treat, accept, record an incident,
//! re-assess, pass a stage gate.

use aigov_core::access::Role;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::{App, app, pg_app};

async fn ok(a: &App, role: Role, method: &str, uri: &str, body: Option<Value>) -> Value {
    let (s, v) = a.call(role, method, uri, body).await;
    assert!(s.is_success(), "{role} {method} {uri}: {s} {v}");
    v
}

async fn ok_v(a: &App, role: Role, method: &str, uri: &str, version: i64, body: Value) -> Value {
    let etag = format!("\"{version}\"");
    let (s, v) = a
        .call_with(role, method, uri, Some(body), &[("if-match", &etag)])
        .await;
    assert!(s.is_success(), "{role} {method} {uri}: {s} {v}");
    v
}

fn assess(kind: &str, l: i64, i: i64, why: &str) -> Value {
    json!({"kind": kind, "likelihood": l, "impact": i, "basis": "judgement", "rationale": why})
}

#[tokio::test]
async fn the_loop_on_sqlite() {
    scenario(app().await).await;
}

#[tokio::test]
async fn the_loop_on_postgres() {
    match pg_app().await {
        Some(a) => scenario(a).await,
        None => eprintln!("AIGOV_TEST_DATABASE_URL is not set; skipping the PostgreSQL run"),
    }
}

async fn scenario(a: App) {
    use Role::*;
    // Register: a public-facing generative service on a fine-tuned base model trained on chats.
    let sys = ok(&a, Contributor, "POST", "/api/v1/systems", Some(json!({"name": "Customer assistant", "system_type": "generative", "public_facing": true, "tc260_roles": ["service-provider"], "lifecycle_stage": "verify"}))).await;
    assert_eq!(sys["ref"], "SYS-1");
    ok(
        &a,
        Contributor,
        "POST",
        "/api/v1/models",
        Some(json!({"name": "assistant-7b", "base_model": "Qwen2.5-7B"})),
    )
    .await;
    ok(
        &a,
        Contributor,
        "POST",
        "/api/v1/datasets",
        Some(json!({"name": "support chats", "personal_information": true})),
    )
    .await;
    ok(
        &a,
        Contributor,
        "POST",
        "/api/v1/links",
        Some(json!({"from": "SYS-1", "rel": "uses", "to": "MDL-1"})),
    )
    .await;
    ok(
        &a,
        Contributor,
        "POST",
        "/api/v1/links",
        Some(json!({"from": "MDL-1", "rel": "trained-on", "to": "DS-1"})),
    )
    .await;

    // Govern: adopt the default frameworks; checklists carry the reason each item applies.
    let adopted = ok(
        &a,
        Contributor,
        "POST",
        "/api/v1/systems/SYS-1/adoptions",
        Some(json!({})),
    )
    .await;
    let cats: Vec<&str> = adopted
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["catalog"].as_str().unwrap())
        .collect();
    assert_eq!(cats, ["tc260-aisgf@1.0", "gbt-45654@2025", "gb-45438@2025"]);
    let cl = ok(
        &a,
        Viewer,
        "GET",
        "/api/v1/systems/SYS-1/checklists/tc260-aisgf",
        None,
    )
    .await;
    let sp = cl
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["item_ref"] == "6.2(a)")
        .unwrap();
    assert!(
        sp["reason"]["en"]
            .as_str()
            .unwrap()
            .contains("service-provider")
    );

    // Identify: candidates from the rules, decided with reasons.
    let cands = ok(&a, Assessor, "POST", "/api/v1/systems/SYS-1/identify", None).await;
    let cands = cands.as_array().unwrap().clone();
    assert!(cands.len() >= 10, "{}", cands.len());
    let mut risks = Vec::new();
    for c in &cands {
        let keep = ["tc260-aisgf@1.0:3.1.2(d)", "tc260-aisgf@1.0:3.2.1(a)"]
            .contains(&c["item"].as_str().unwrap());
        let reason = if keep {
            "applies: real user data and open-ended output"
        } else {
            "covered by the two risks we keep"
        };
        let d = ok(
            &a,
            Assessor,
            "POST",
            &format!("/api/v1/candidates/{}/decision", c["id"].as_str().unwrap()),
            Some(json!({"accept": keep, "reason": reason})),
        )
        .await;
        if keep {
            risks.push(d["risk"]["ref"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(risks.len(), 2);
    let (leak, content) = (risks[0].clone(), risks[1].clone());
    let own = ok(&a, Assessor, "POST", "/api/v1/systems/SYS-1/risks", Some(json!({"title": "Support staff over-trust the drafts", "unmapped": true, "cause": "automation bias"}))).await;
    let own = own["ref"].as_str().unwrap().to_string();

    // Assess: inherent and current, on the default 5×5.
    for r in [&leak, &content] {
        ok(
            &a,
            Assessor,
            "POST",
            &format!("/api/v1/risks/{r}/assessments"),
            Some(assess("inherent", 4, 5, "chats hold personal data")),
        )
        .await;
        let x = ok(
            &a,
            Assessor,
            "POST",
            &format!("/api/v1/risks/{r}/assessments"),
            Some(assess("current", 4, 4, "filters are basic")),
        )
        .await;
        assert_eq!(x["risk"]["current_level"], "major");
        assert_eq!(x["risk"]["status"], "assessed");
    }

    // The deploy gate blocks, and says why.
    let g = ok(
        &a,
        Viewer,
        "GET",
        "/api/v1/systems/SYS-1/gate?to=deploy",
        None,
    )
    .await;
    assert_eq!(g["allowed"], false);
    let conds: Vec<&str> = g["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["condition"].as_str().unwrap())
        .collect();
    assert_eq!(
        conds,
        [
            "max_unaccepted_level",
            "require_assessed",
            "min_checklist_coverage",
            "min_checklist_coverage",
            "min_checklist_coverage"
        ]
    );
    let (s, e) = a
        .call_with(
            Contributor,
            "POST",
            "/api/v1/systems/SYS-1/stage",
            Some(json!({"to": "deploy", "reason": "launch"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("gate-blocked")),
        "{e}"
    );
    assert_eq!(e["errors"].as_array().unwrap().len(), 5);
    assert!(e["detail"].as_str().unwrap().contains(&leak));
    // Overriding needs the admin's permission.
    let (s, _) = a
        .call_with(
            Contributor,
            "POST",
            "/api/v1/systems/SYS-1/stage",
            Some(json!({"to": "deploy", "reason": "launch", "override_reason": "trust me"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Respond: mitigate the leak with a catalog measure and evidence.
    let r = ok(&a, Viewer, "GET", &format!("/api/v1/risks/{leak}"), None).await;
    ok_v(
        &a,
        Assessor,
        "POST",
        &format!("/api/v1/risks/{leak}/treatment"),
        r["version"].as_i64().unwrap(),
        json!({"decision": "mitigate", "rationale": "redact before training and in logs"}),
    )
    .await;
    let ctl = ok(&a, Assessor, "POST", &format!("/api/v1/risks/{leak}/controls"), Some(json!({"source": "tc260-aisgf@1.0:4.1.2(a)", "status": "implemented", "owner_id": null, "due_date": "2026-12-15"}))).await;
    assert!(ctl["data"]["title"].as_str().is_some_and(|t| !t.is_empty()));
    ok(&a, Assessor, "POST", &format!("/api/v1/risks/{leak}/actions"), Some(json!({"title": "run the PII scanner on the chat corpus", "control_id": ctl["id"], "due_date": "2026-12-01"}))).await;
    let report = b"PII scan: 0 residual identifiers in 1.2M chats".to_vec();
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/api/v1/evidence/files?title=PII%20scan%20report&file_name=pii-scan.txt&expires_on=2027-06-30")
        .header("authorization", format!("Bearer {}", a.token(Contributor)))
        .header("content-type", "text/plain")
        .body(axum::body::Body::from(report.clone()))
        .unwrap();
    let r = a.send(req).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let ev = crate::json_body(r).await;
    assert_eq!(ev["sha256"], aigov_core::audit::sha256_hex(&report));
    ok(
        &a,
        Contributor,
        "POST",
        "/api/v1/evidence/EV-1/attachments",
        Some(json!({"target_type": "control", "target": ctl["id"]})),
    )
    .await;
    let got = a
        .send(
            axum::http::Request::builder()
                .uri("/api/v1/evidence/EV-1/content")
                .header("authorization", format!("Bearer {}", a.token(Auditor)))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        got.headers()["x-content-sha256"],
        aigov_core::audit::sha256_hex(&report).as_str()
    );
    assert_eq!(crate::text_body(got).await.into_bytes(), report);

    // Fill in the checklists (owners record statuses; not-applicable needs a justification).
    for cat in ["tc260-aisgf", "gbt-45654", "gb-45438"] {
        let items = ok(
            &a,
            Viewer,
            "GET",
            &format!("/api/v1/systems/SYS-1/checklists/{cat}"),
            None,
        )
        .await;
        for (n, it) in items.as_array().unwrap().iter().enumerate() {
            let body = match n % 3 {
                0 => json!({"status": "compliant"}),
                1 => json!({"status": "partial", "notes": "monitoring being built"}),
                _ => {
                    json!({"status": "not-applicable", "justification": "no such feature in this service"})
                }
            };
            ok_v(
                &a,
                Contributor,
                "PATCH",
                &format!("/api/v1/checklist-items/{}", it["id"].as_str().unwrap()),
                it["version"].as_i64().unwrap(),
                body,
            )
            .await;
        }
    }
    let (s, e) = a
        .call_with(
            Contributor,
            "PATCH",
            &format!("/api/v1/checklist-items/{}", sp["id"].as_str().unwrap()),
            Some(json!({"status": "not-applicable"})),
            &[("if-match", "\"2\"")],
        )
        .await;
    assert_eq!(
        (s, e["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("justification")),
        "{e}"
    );

    // Accept the content risk: the assessor asks, a risk manager may not decide a major risk,
    // an admin does; the decision freezes a snapshot.
    let acc = ok(&a, Assessor, "POST", &format!("/api/v1/risks/{content}/acceptances"), Some(json!({"rationale": "human review of flagged output; residual risk tolerable", "expires_at": "2027-05-21T00:00:00Z"}))).await;
    assert_eq!(acc["required_role"], "admin");
    let id = acc["id"].as_str().unwrap();
    let (s, e) = a
        .call(
            RiskManager,
            "POST",
            &format!("/api/v1/acceptances/{id}/decision"),
            Some(json!({"approve": true, "note": "ok"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("admin"), "{e}");
    let dec = ok(
        &a,
        Admin,
        "POST",
        &format!("/api/v1/acceptances/{id}/decision"),
        Some(json!({"approve": true, "note": "accepted until the classifier ships"})),
    )
    .await;
    assert_eq!(
        dec["snapshot"]["risk"]["ref"].as_str(),
        Some(content.as_str())
    );
    let (s, e) = a
        .call(
            Admin,
            "POST",
            &format!("/api/v1/acceptances/{id}/decision"),
            Some(json!({"approve": false, "note": "again"})),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    assert_eq!(
        ok(&a, Viewer, "GET", &format!("/api/v1/risks/{content}"), None).await["status"],
        "accepted"
    );
    let r = ok(&a, Viewer, "GET", &format!("/api/v1/risks/{content}"), None).await;
    let (s, e) = a
        .call_with(
            Assessor,
            "POST",
            &format!("/api/v1/risks/{content}/status"),
            Some(json!({"to": "treating", "reason": "x"})),
            &[("if-match", &format!("\"{}\"", r["version"]))],
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid transitions are refused: {e}"
    );
    assert!(e["detail"].as_str().unwrap().contains("treatment"), "{e}");

    // An incident: high severity, reported within the deadline, root cause the leak risk.
    let inc = ok(&a, Contributor, "POST", "/api/v1/incidents", Some(json!({"title": "Assistant echoed another user's phone number", "severity": "high", "detected_at": "2026-11-21T08:30:00Z", "systems": ["SYS-1"], "risks": [leak]}))).await;
    assert_eq!(
        (inc["ref"].as_str(), inc["report_due"].as_str()),
        (Some("INC-1"), Some("2026-11-24T08:30:00.000Z"))
    );
    ok(
        &a,
        Contributor,
        "POST",
        "/api/v1/incidents/INC-1/timeline",
        Some(json!({"entry": "conversation memory disabled", "at": "2026-11-21T09:00:00Z"})),
    )
    .await;
    let inc = ok(&a, Viewer, "GET", "/api/v1/incidents/INC-1", None).await;
    let inc = ok_v(&a, Contributor, "PATCH", "/api/v1/incidents/INC-1", inc["version"].as_i64().unwrap(), json!({"status": "resolved", "reported_at": "2026-11-22T10:00:00Z", "root_cause": "cross-session cache", "root_cause_risks": [leak], "containment": "memory off"})).await;
    let inc = ok_v(&a, Contributor, "POST", "/api/v1/incidents/INC-1/close", inc["version"].as_i64().unwrap(), json!({"summary": "cache keyed by tenant only; fixed", "lessons": "test isolation per user"})).await;
    assert_eq!(
        (
            inc["data"]["status"].as_str(),
            inc["review"]["reporting_met"].as_bool()
        ),
        (Some("closed"), Some(true))
    );

    // Re-assess with the incident as evidence, and the residual after the fix.
    let x = ok(&a, Assessor, "POST", &format!("/api/v1/risks/{leak}/assessments"), Some(json!({"kind": "current", "likelihood": 2, "impact": 4, "basis": "evidence", "evidence": [{"type": "incident", "ref": "INC-1", "note": "root cause fixed"}, {"type": "evidence", "ref": "EV-1"}]}))).await;
    assert_eq!(x["risk"]["current_level"], "significant");
    ok(
        &a,
        Assessor,
        "POST",
        &format!("/api/v1/risks/{leak}/assessments"),
        Some(assess("residual", 2, 3, "after redaction")),
    )
    .await;
    ok(
        &a,
        Assessor,
        "POST",
        &format!("/api/v1/risks/{own}/assessments"),
        Some(assess("current", 2, 2, "drafts are reviewed")),
    )
    .await;
    let hist = ok(
        &a,
        Viewer,
        "GET",
        &format!("/api/v1/risks/{leak}/assessments"),
        None,
    )
    .await;
    assert_eq!(hist.as_array().unwrap().len(), 4, "the history is kept");

    // The gate passes now; the move goes through.
    let g = ok(
        &a,
        Viewer,
        "GET",
        "/api/v1/systems/SYS-1/gate?to=deploy",
        None,
    )
    .await;
    assert_eq!(g["allowed"], true, "{g}");
    let sys = ok(&a, Viewer, "GET", "/api/v1/systems/SYS-1", None).await;
    let moved = ok_v(
        &a,
        Contributor,
        "POST",
        "/api/v1/systems/SYS-1/stage",
        sys["version"].as_i64().unwrap(),
        json!({"to": "deploy", "reason": "gate passed"}),
    )
    .await;
    assert_eq!(moved["lifecycle_stage"], "deploy");

    // The dashboard and the audit log reflect it all.
    let d = ok(&a, Viewer, "GET", "/api/v1/dashboard", None).await;
    let by_status: Vec<(String, i64)> = d["risks_by_status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["key"].as_str().unwrap().to_string(),
                x["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(by_status.contains(&("accepted".into(), 1)), "{by_status:?}");
    // The heat map counts the open assessed risks on the default grid; the overdue counts
    // and per-framework coverage are all there.
    let heat: i64 = d["heatmap"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_i64().unwrap())
        .sum();
    assert!(heat >= 1, "{d}");
    for k in [
        "treatments",
        "controls",
        "actions",
        "acceptances_expiring_30d",
        "acceptances_pending",
    ] {
        assert!(d["overdue"][k].is_i64(), "{k}: {d}");
    }
    assert!(
        d["coverage"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["catalog"] == "tc260-aisgf@1.0"),
        "{d}"
    );
    let v = ok(&a, Auditor, "GET", "/api/v1/audit/verify", None).await;
    assert_eq!(v["ok"], true);
    assert!(v["events"].as_i64().unwrap() > 150, "{v}");
    let log = ok(
        &a,
        Auditor,
        "GET",
        "/api/v1/audit?action=acceptance.&limit=10",
        None,
    )
    .await;
    let acts: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(acts, ["acceptance.request", "acceptance.approve"]);
}
