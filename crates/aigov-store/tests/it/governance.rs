//! The governance loop in the store: methodologies, adoption and checklists, identification,
//! the register, assessments, acceptances, incidents, evidence and stage gates.

use aigov_catalog::Library;
use aigov_core::access::Role;
use aigov_core::inventory::{LinkRel, ObjectKind, Stage};
use aigov_core::methodology::{Label, Level, Methodology, ScaleStep};
use aigov_core::risk::*;
use aigov_core::rules::{ReportingRule, Rules, StageGate};
use aigov_store::StoreError;
use aigov_store::evidence::Upload;
use aigov_store::governance::{ChecklistPatch, StageMove};
use aigov_store::incidents::IncidentQuery;
use aigov_store::users::NewUser;
use serde_json::{Value, json};

use crate::{Harness, backends};

async fn lib(h: &Harness) -> Library {
    h.store
        .sync_builtin_catalogs(&Library::builtin().unwrap())
        .await
        .unwrap();
    h.store.load_library().await.unwrap()
}

fn rules() -> Rules {
    Rules::builtin().unwrap()
}

async fn user(h: &Harness, name: &str, role: Role) -> aigov_core::records::User {
    h.store
        .create_user(
            "cli:test",
            NewUser {
                username: name.into(),
                display_name: None,
                role,
                password: "correct horse battery".into(),
            },
        )
        .await
        .unwrap()
}

fn invalid_fields(e: StoreError) -> Vec<String> {
    match e {
        StoreError::Invalid(i) => i.0.into_iter().map(|f| f.field).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn risk_input(title: &str, taxonomy: &[&str]) -> RiskInput {
    RiskInput {
        title: title.into(),
        description: String::new(),
        cause: String::new(),
        consequence: String::new(),
        stage: None,
        owner_id: None,
        taxonomy: taxonomy.iter().map(|s| s.to_string()).collect(),
        unmapped: taxonomy.is_empty(),
    }
}

fn judged(kind: AssessmentKind, l: usize, i: usize) -> AssessmentInput {
    AssessmentInput {
        kind,
        likelihood: Some(l),
        impact: Some(i),
        questionnaire: None,
        basis: Basis::Judgement,
        rationale: "expert judgement".into(),
        evidence: vec![],
    }
}

async fn audit_actions(h: &Harness) -> Vec<String> {
    let q = aigov_store::audit_log::AuditQuery {
        limit: 10_000,
        ..Default::default()
    };
    h.store
        .audit_list(&q)
        .await
        .unwrap()
        .0
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn adoption_builds_checklists_with_reasons_and_suggests_through_crosswalks() {
    for h in backends().await {
        let (s, lib, rules) = (&h.store, lib(&h).await, rules());
        let sys = s.create_object("user:admin", ObjectKind::System, json!({"name": "Chat", "system_type": "generative", "public_facing": true, "tc260_roles": ["service-provider"]}), None).await.unwrap();
        let adopted = s
            .adopt_defaults("user:admin", &lib, &rules, &sys.r#ref)
            .await
            .unwrap();
        let keys: Vec<&str> = adopted.iter().map(|a| a.catalog.as_str()).collect();
        assert_eq!(
            keys,
            ["tc260-aisgf@1.0", "gbt-45654@2025", "gb-45438@2025"],
            "{}",
            h.name
        );
        assert!(
            adopted[1].reason["en"]
                .as_str()
                .unwrap()
                .contains("public-facing generative")
        );
        // Adopting the defaults again adds nothing; adopting one twice is refused.
        assert!(
            s.adopt_defaults("user:admin", &lib, &rules, &sys.r#ref)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            s.adopt(
                "user:admin",
                &lib,
                &rules,
                &sys.r#ref,
                "tc260-aisgf",
                json!({"en": "again"})
            )
            .await,
            Err(StoreError::Duplicate(_))
        ));

        // 6.2 (service providers) applies with its reason; 6.1 (developers) and section 5 do not.
        let cl = s
            .checklist(&lib, &sys.r#ref, "tc260-aisgf", false)
            .await
            .unwrap();
        assert!(cl.iter().any(|c| c.item_ref == "6.2(a)"), "{}", h.name);
        assert!(
            !cl.iter()
                .any(|c| c.item_ref.starts_with("6.1") || c.item_ref.starts_with("5."))
        );
        let item = cl.iter().find(|c| c.item_ref == "6.2(a)").unwrap();
        assert!(
            item.applies
                && item.reason["en"]
                    .as_str()
                    .unwrap()
                    .contains("service-provider")
        );
        assert_eq!(
            item.reason["facts"][0],
            "system.tc260_roles is [\"service-provider\"]"
        );
        let all = s
            .checklist(&lib, &sys.r#ref, "tc260-aisgf", true)
            .await
            .unwrap();
        let dev = all.iter().find(|c| c.item_ref == "6.1(a)").unwrap();
        assert!(
            !dev.applies
                && dev.reason["en"]
                    .as_str()
                    .unwrap()
                    .contains("does not list the model-developer role"),
            "{:?}",
            dev.reason
        );
        let five = all.iter().find(|c| c.item_ref.starts_with("5.")).unwrap();
        assert!(!five.applies);

        // Statuses: not-applicable needs a justification; versions guard edits.
        let e = s
            .update_checklist_item(
                "user:admin",
                &lib,
                &item.id,
                ChecklistPatch {
                    status: Some(ChecklistStatus::NotApplicable),
                    ..Default::default()
                },
                1,
            )
            .await
            .unwrap_err();
        assert_eq!(invalid_fields(e), ["justification"]);
        let done = s
            .update_checklist_item(
                "user:admin",
                &lib,
                &item.id,
                ChecklistPatch {
                    status: Some(ChecklistStatus::Compliant),
                    notes: Some("reviewed".into()),
                    ..Default::default()
                },
                1,
            )
            .await
            .unwrap();
        assert_eq!((done.status.as_str(), done.version), ("compliant", 2));
        assert!(matches!(
            s.update_checklist_item("user:admin", &lib, &item.id, ChecklistPatch::default(), 1)
                .await,
            Err(StoreError::VersionConflict { .. })
        ));
        let adoptions = s.list_adoptions(&sys.id).await.unwrap();
        let cov = &adoptions
            .iter()
            .find(|a| a.catalog == "tc260-aisgf@1.0")
            .unwrap()
            .coverage;
        assert_eq!((cov.applicable as usize, cov.compliant), (cl.len(), 1));
        // The same figures broken down per top-level section and per actor role.
        let b = s
            .checklist_coverage(&lib, &sys.r#ref, "tc260-aisgf")
            .await
            .unwrap();
        assert_eq!((b.catalog.as_str(), &b.overall), ("tc260-aisgf@1.0", cov));
        assert_eq!(
            b.by_section
                .iter()
                .map(|g| g.coverage.applicable)
                .sum::<i64>(),
            cov.applicable
        );
        let six = b.by_section.iter().find(|g| g.key == "6").unwrap();
        assert_eq!(
            (six.coverage.compliant, six.title["en"].as_str()),
            (
                1,
                Some("Safety guidelines for AI development and application")
            )
        );
        assert!(
            b.by_section
                .iter()
                .all(|g| g.key == "6" || g.coverage.compliant == 0)
        );
        let sp = b
            .by_role
            .iter()
            .find(|g| g.key == "service-provider")
            .unwrap();
        let provider_items = cl.iter().filter(|c| c.item_ref.starts_with("6.2(")).count();
        assert_eq!(
            (sp.coverage.applicable as usize, sp.coverage.compliant),
            (provider_items, 1),
            "{}",
            h.name
        );
        assert!(provider_items >= 10);
        assert!(!b.by_role.iter().any(|g| g.key == "model-developer"));
        // Technical measures carry no role: they count under `all`, as in the compliance report.
        let all_roles = b.by_role.iter().find(|g| g.key == "all").unwrap();
        assert_eq!(
            all_roles.coverage.applicable,
            cl.iter().filter(|c| c.item_ref.starts_with("4.")).count() as i64
        );
        assert!(matches!(
            s.checklist_coverage(&lib, &sys.r#ref, "owasp-llm").await,
            Err(StoreError::NotFound { .. })
        ));

        // Crosswalk suggestions: a compliant TC260 measure that intersects an ISO/IEC 42001
        // control suggests `partial` there, with the path; nothing is applied.
        s.adopt(
            "user:admin",
            &lib,
            &rules,
            &sys.r#ref,
            "iso-42001",
            json!({"en": "certification"}),
        )
        .await
        .unwrap();
        let m = s
            .checklist(&lib, &sys.r#ref, "tc260-aisgf", false)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.item_ref == "4.1.1(b)")
            .unwrap();
        s.update_checklist_item(
            "user:admin",
            &lib,
            &m.id,
            ChecklistPatch {
                status: Some(ChecklistStatus::Compliant),
                ..Default::default()
            },
            m.version,
        )
        .await
        .unwrap();
        let sug = s.suggestions(&lib, &sys.r#ref).await.unwrap();
        let x = sug
            .iter()
            .find(|x| x.item == "iso-42001@2023:A.6.1.3")
            .unwrap_or_else(|| panic!("{sug:?}"));
        assert_eq!(
            (
                x.suggested_status.as_str(),
                x.relationship.as_str(),
                x.from.as_str()
            ),
            ("partial", "intersect", "tc260-aisgf@1.0:4.1.1(b)")
        );
        assert!(!x.path.is_empty());
        let iso = s
            .checklist(&lib, &sys.r#ref, "iso-42001", false)
            .await
            .unwrap();
        assert!(
            iso.iter().all(|c| c.status == "not-started"),
            "suggestions are never applied"
        );

        // The system changes: a refresh puts 6.1 on the checklist and keeps statuses.
        let sys2 = s
            .update_object(
                "user:admin",
                ObjectKind::System,
                &sys.id,
                json!({"tc260_roles": ["service-provider", "model-developer"]}),
                sys.version,
            )
            .await
            .unwrap();
        assert!(sys2.version > sys.version);
        let changed = s
            .refresh_checklist("user:admin", &lib, &rules, &sys.r#ref, "tc260-aisgf")
            .await
            .unwrap();
        assert!(changed >= 10, "{changed}");
        let cl2 = s
            .checklist(&lib, &sys.r#ref, "tc260-aisgf", false)
            .await
            .unwrap();
        assert!(cl2.iter().any(|c| c.item_ref == "6.1(a)"));
        assert_eq!(
            cl2.iter().find(|c| c.item_ref == "6.2(a)").unwrap().status,
            "compliant"
        );

        let acts = audit_actions(&h).await;
        for a in ["system.adopt", "checklist.update", "checklist.refresh"] {
            assert!(acts.iter().any(|x| x == a), "{a} not audited: {acts:?}");
        }
        s.unadopt("user:admin", &sys.r#ref, "iso-42001")
            .await
            .unwrap();
        assert!(matches!(
            s.checklist(&lib, &sys.r#ref, "iso-42001", false).await,
            Err(StoreError::NotFound { .. })
        ));
    }
}

#[tokio::test]
async fn identification_raises_candidates_from_rules_and_people_decide() {
    for h in backends().await {
        let (s, lib, rules) = (&h.store, lib(&h).await, rules());
        let sys = s
            .create_object(
                "user:admin",
                ObjectKind::System,
                json!({"name": "Assistant", "system_type": "generative", "public_facing": true}),
                None,
            )
            .await
            .unwrap();
        let m = s
            .create_object(
                "user:admin",
                ObjectKind::Model,
                json!({"name": "tuned", "base_model": "Qwen2.5-7B"}),
                None,
            )
            .await
            .unwrap();
        let d = s
            .create_object(
                "user:admin",
                ObjectKind::Dataset,
                json!({"name": "chats", "personal_information": true}),
                None,
            )
            .await
            .unwrap();
        s.create_link("user:admin", &sys.r#ref, LinkRel::Uses, &m.r#ref)
            .await
            .unwrap();
        s.create_link("user:admin", &m.r#ref, LinkRel::TrainedOn, &d.r#ref)
            .await
            .unwrap();
        let c = s
            .identify("user:admin", &lib, &rules, &sys.r#ref)
            .await
            .unwrap();
        let rules_hit: std::collections::BTreeSet<&str> =
            c.iter().map(|c| c.rule_id.as_str()).collect();
        assert_eq!(
            rules_hit.into_iter().collect::<Vec<_>>(),
            [
                "builds-on-third-party-model",
                "processes-personal-information",
                "public-generative-content"
            ],
            "{}",
            h.name
        );
        let leak = c
            .iter()
            .find(|c| c.item == "tc260-aisgf@1.0:3.1.2(d)")
            .unwrap();
        assert!(
            leak.facts
                .iter()
                .any(|f| f.contains("datasets.personal_information")),
            "{:?}",
            leak.facts
        );
        assert!(leak.item_title["en"].as_str().is_some());
        // Running it again raises nothing new (it answers with every candidate).
        assert_eq!(
            s.identify("user:admin", &lib, &rules, &sys.r#ref)
                .await
                .unwrap()
                .len(),
            c.len()
        );

        // Decisions need a reason; an accepted candidate becomes a mapped risk.
        assert_eq!(
            invalid_fields(
                s.decide_candidate("user:admin", &lib, &leak.id, true, " ")
                    .await
                    .unwrap_err()
            ),
            ["reason"]
        );
        let (cand, risk) = s
            .decide_candidate(
                "user:admin",
                &lib,
                &leak.id,
                true,
                "chat logs hold personal data",
            )
            .await
            .unwrap();
        let risk = risk.unwrap();
        assert_eq!(
            (cand.status.as_str(), risk.status.as_str()),
            ("accepted", "identified")
        );
        assert_eq!(risk.data["taxonomy"], json!(["tc260-aisgf@1.0:3.1.2(d)"]));
        assert_eq!(cand.risk_id.as_deref(), Some(risk.id.as_str()));
        assert!(matches!(
            s.decide_candidate("user:admin", &lib, &leak.id, false, "changed my mind")
                .await,
            Err(StoreError::Conflict(_))
        ));
        let other = c
            .iter()
            .find(|c| c.rule_id == "builds-on-third-party-model")
            .unwrap();
        let (rej, none) = s
            .decide_candidate(
                "user:admin",
                &lib,
                &other.id,
                false,
                "the base model is audited in-house",
            )
            .await
            .unwrap();
        assert!(none.is_none() && rej.status == "rejected");
        let pending = s
            .list_candidates(&lib, &sys.r#ref, Some("pending"))
            .await
            .unwrap();
        assert_eq!(pending.len(), c.len() - 2);

        // Own risks: mapped to a real item, or explicitly unmapped.
        let e = s
            .create_risk(
                "user:admin",
                &lib,
                &sys.r#ref,
                RiskInput {
                    unmapped: false,
                    ..risk_input("own", &[])
                },
            )
            .await
            .unwrap_err();
        assert_eq!(invalid_fields(e), ["taxonomy"]);
        let e = s
            .create_risk(
                "user:admin",
                &lib,
                &sys.r#ref,
                risk_input("own", &["tc260-aisgf@1.0:9.9(z)"]),
            )
            .await
            .unwrap_err();
        assert_eq!(invalid_fields(e), ["taxonomy[0]"]);
        let own = s
            .create_risk(
                "user:admin",
                &lib,
                &sys.r#ref,
                risk_input("Vendor lock-in", &[]),
            )
            .await
            .unwrap();
        assert_eq!(
            (own.r#ref.as_str(), own.data["unmapped"].as_bool()),
            ("RISK-2", Some(true))
        );
    }
}

#[tokio::test]
async fn assessment_treatment_and_acceptance_with_snapshot_and_expiry() {
    for h in backends().await {
        let (s, lib) = (&h.store, lib(&h).await);
        let _alice = user(&h, "alice", Role::Assessor).await;
        let _boss = user(&h, "boss", Role::Admin).await;
        let sys = s
            .create_object(
                "user:alice",
                ObjectKind::System,
                json!({"name": "Scorer", "system_type": "decision"}),
                None,
            )
            .await
            .unwrap();
        let r = s
            .create_risk(
                "user:alice",
                &lib,
                &sys.r#ref,
                risk_input("Biased scores", &["tc260-aisgf@1.0:3.1.1(b)"]),
            )
            .await
            .unwrap();

        // Judgements need a rationale; evidence must exist; scales are bounded.
        let e = s
            .assess(
                "user:alice",
                &r.r#ref,
                AssessmentInput {
                    rationale: String::new(),
                    ..judged(AssessmentKind::Inherent, 5, 5)
                },
            )
            .await
            .unwrap_err();
        assert_eq!(invalid_fields(e), ["rationale"]);
        let e = s
            .assess(
                "user:alice",
                &r.r#ref,
                judged(AssessmentKind::Inherent, 6, 1),
            )
            .await
            .unwrap_err();
        assert_eq!(invalid_fields(e), ["likelihood"]);
        let ev = AssessmentInput {
            basis: Basis::Evidence,
            evidence: vec![EvidenceRef {
                kind: EvidenceType::Evidence,
                r#ref: "EV-9".into(),
                note: None,
            }],
            ..judged(AssessmentKind::Inherent, 5, 5)
        };
        assert_eq!(
            invalid_fields(s.assess("user:alice", &r.r#ref, ev).await.unwrap_err()),
            ["evidence[0].ref"]
        );

        let (risk, a) = s
            .assess(
                "user:alice",
                &r.r#ref,
                judged(AssessmentKind::Inherent, 5, 5),
            )
            .await
            .unwrap();
        assert_eq!(
            (a.level.as_str(), a.methodology_id.as_str()),
            ("extremely-severe", "aigov-5x5"),
            "{}",
            h.name
        );
        assert_eq!(
            (risk.status.as_str(), risk.inherent_level.as_deref()),
            ("assessed", Some("extremely-severe"))
        );
        // Appetite: extremely severe → treatment within 7 days.
        assert_eq!(
            risk.treatment_due.as_deref(),
            Some("2026-11-28T09:00:00.000Z")
        );
        h.clock.advance(8 * 86_400);
        assert!(s.get_risk(&r.id).await.unwrap().treatment_overdue);
        assert_eq!(s.overdue().await.unwrap().treatments.len(), 1);

        // The questionnaire grades with its reasons.
        let q = aigov_core::grading::Answers {
            object_category: aigov_core::grading::ObjectCategory::IndividualsOrOrganisations,
            degree: aigov_core::grading::Degree::Serious,
            scope: aigov_core::grading::Scope::Group,
            recoverability: aigov_core::grading::Recoverability::WithEffort,
        };
        let (risk, a) = s
            .assess(
                "user:alice",
                &r.r#ref,
                AssessmentInput {
                    likelihood: None,
                    impact: None,
                    questionnaire: Some(q),
                    ..judged(AssessmentKind::Current, 1, 1)
                },
            )
            .await
            .unwrap();
        assert_eq!(
            a.questionnaire.as_ref().unwrap()["grade"]["grade"],
            "significant"
        );
        assert_eq!(
            (a.level.as_str(), risk.current_level.as_deref()),
            ("significant", Some("significant"))
        );

        // Treatment and controls from catalog measures.
        let risk = s
            .set_treatment(
                "user:alice",
                &r.r#ref,
                Treatment::Mitigate,
                "debias the features",
                risk.version,
            )
            .await
            .unwrap();
        assert_eq!(
            (risk.status.as_str(), risk.treatment_overdue),
            ("treating", false)
        );
        let e = s
            .create_control(
                "user:alice",
                &lib,
                &r.r#ref,
                ControlInput {
                    source: Some("tc260-aisgf@1.0:3.1.1(b)".into()),
                    ..control("")
                },
            )
            .await
            .unwrap_err();
        assert_eq!(invalid_fields(e), ["source"]);
        let c = s
            .create_control(
                "user:alice",
                &lib,
                &r.r#ref,
                ControlInput {
                    source: Some("tc260-aisgf:4.1.1(b)".into()),
                    due_date: Some("2026-12-01".into()),
                    ..control("")
                },
            )
            .await
            .unwrap();
        assert_eq!(c.data["source"], "tc260-aisgf@1.0:4.1.1(b)");
        assert!(
            !c.data["title"].as_str().unwrap().is_empty(),
            "title from the measure"
        );
        let act = s
            .create_action(
                "user:alice",
                &r.r#ref,
                ActionInput {
                    title: "retrain".into(),
                    control_id: Some(c.id.clone()),
                    owner_id: None,
                    due_date: Some("2026-12-02".into()),
                    done: false,
                },
            )
            .await
            .unwrap();
        h.clock.advance(12 * 86_400);
        let od = s.overdue().await.unwrap();
        assert_eq!((od.controls.len(), od.actions.len()), (1, 1));
        s.update_action("user:alice", &act.id, json!({"done": true}), act.version)
            .await
            .unwrap();
        assert_eq!(s.overdue().await.unwrap().actions.len(), 0);

        // Acceptance at `major` needs an admin; nobody decides their own request.
        let (risk, _) = s
            .assess(
                "user:alice",
                &r.r#ref,
                judged(AssessmentKind::Residual, 4, 4),
            )
            .await
            .unwrap();
        assert_eq!(risk.residual_level.as_deref(), Some("major"));
        assert!(matches!(
            s.set_risk_status(
                "user:alice",
                &r.r#ref,
                RiskStatus::Accepted,
                "x",
                risk.version
            )
            .await,
            Err(StoreError::Invalid(_))
        ));
        let exp = h.clock_now().plus_seconds(90 * 86_400);
        let req = s
            .request_acceptance(
                "user:alice",
                &r.r#ref,
                "residual risk is tolerable with monitoring",
                exp,
            )
            .await
            .unwrap();
        assert_eq!(
            (req.required_role.as_str(), req.level.as_str()),
            ("admin", "major")
        );
        assert!(matches!(
            s.request_acceptance("user:alice", &r.r#ref, "again", exp)
                .await,
            Err(StoreError::Conflict(_))
        ));
        let e = s
            .decide_acceptance("user:rm", Role::RiskManager, &req.id, true, "ok")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("needs the admin role"), "{e}");
        let e = s
            .decide_acceptance("user:alice", Role::Admin, &req.id, true, "ok")
            .await
            .unwrap_err();
        assert_eq!(invalid_fields(e), ["decided_by"]);
        let ok = s
            .decide_acceptance(
                "user:boss",
                Role::Admin,
                &req.id,
                true,
                "accepted for one quarter",
            )
            .await
            .unwrap();
        let snap = ok.snapshot.unwrap();
        assert_eq!(snap["risk"]["ref"], r.r#ref);
        assert_eq!(snap["assessments"]["residual"]["level"], "major");
        assert_eq!(snap["controls"].as_array().unwrap().len(), 1);
        assert_eq!(s.get_risk(&r.id).await.unwrap().status, "accepted");
        // Later edits do not touch the frozen snapshot.
        s.assess(
            "user:alice",
            &r.r#ref,
            judged(AssessmentKind::Residual, 1, 1),
        )
        .await
        .unwrap();
        assert_eq!(
            s.get_acceptance(&req.id).await.unwrap().snapshot.unwrap()["assessments"]["residual"]["level"],
            "major"
        );
        // Expiry reopens the risk.
        assert_eq!(s.expire_acceptances().await.unwrap(), 0);
        h.clock.advance(91 * 86_400);
        assert_eq!(s.expire_acceptances().await.unwrap(), 1);
        assert_eq!(s.get_acceptance(&req.id).await.unwrap().status, "expired");
        let reopened = s.get_risk(&r.id).await.unwrap();
        assert_eq!(
            (reopened.status.as_str(), reopened.treatment.as_deref()),
            ("assessed", None)
        );

        // Switching the methodology re-grades, audited.
        let m3 = three_by_three();
        s.create_methodology("user:boss", &m3).await.unwrap();
        let n = s
            .set_system_methodology("user:boss", &sys.r#ref, "org-3x3", "group policy")
            .await
            .unwrap();
        assert_eq!(
            n, 3,
            "the latest inherent, current and residual assessments"
        );
        let after = s.get_risk(&r.id).await.unwrap();
        assert_eq!(
            after.inherent_level.as_deref(),
            Some("high"),
            "5×5 → 3×3 keeps the top corner on top"
        );
        let hist = s.assessments(&r.id).await.unwrap();
        assert!(
            hist.iter()
                .any(|a| a.basis == "regrade" && a.rationale.contains("group policy"))
        );
        assert!(
            audit_actions(&h)
                .await
                .iter()
                .any(|a| a == "system.methodology")
        );

        // Closing and reopening by hand need reasons; closed risks are not assessed.
        let cur = s.get_risk(&r.id).await.unwrap();
        let closed = s
            .set_risk_status(
                "user:alice",
                &r.r#ref,
                RiskStatus::Closed,
                "system retired",
                cur.version,
            )
            .await
            .unwrap();
        assert!(matches!(
            s.assess(
                "user:alice",
                &r.r#ref,
                judged(AssessmentKind::Current, 1, 1)
            )
            .await,
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            s.set_risk_status(
                "user:alice",
                &r.r#ref,
                RiskStatus::Identified,
                " ",
                closed.version
            )
            .await,
            Err(StoreError::Invalid(_))
        ));
    }
}

fn control(title: &str) -> ControlInput {
    ControlInput {
        source: None,
        title: title.into(),
        description: String::new(),
        owner_id: None,
        status: ControlStatus::Planned,
        due_date: None,
        notes: String::new(),
        effectiveness: Effectiveness::NotAssessed,
    }
}

fn three_by_three() -> Methodology {
    let step = |en: &str| ScaleStep {
        label: Label {
            zh: None,
            en: Some(en.into()),
        },
        description: None,
    };
    let level = |id: &str, c: &str| Level {
        id: id.into(),
        label: Label {
            zh: None,
            en: Some(id.into()),
        },
        color: c.into(),
        approver: Role::RiskManager,
        treatment_days: 30,
    };
    Methodology {
        id: "org-3x3".into(),
        name: Label {
            zh: None,
            en: Some("Org 3×3".into()),
        },
        description: None,
        likelihood: vec![step("low"), step("medium"), step("high")],
        impact: vec![step("low"), step("medium"), step("high")],
        levels: vec![
            level("low", "#2e7d32"),
            level("medium", "#f9a825"),
            level("high", "#c62828"),
        ],
        grid: vec![vec![0, 0, 1], vec![0, 1, 2], vec![1, 2, 2]],
    }
}

fn incident(title: &str, sev: Severity, systems: &[&str]) -> IncidentInput {
    IncidentInput {
        title: title.into(),
        description: "details".into(),
        severity: sev,
        occurred_at: Some("2026-11-21T08:00:00Z".into()),
        detected_at: "2026-11-21T09:00:00Z".into(),
        reported_at: None,
        systems: systems.iter().map(|s| s.to_string()).collect(),
        risks: vec![],
        containment: String::new(),
        corrective_actions: String::new(),
        root_cause: String::new(),
        root_cause_risks: vec![],
        status: IncidentStatus::Open,
    }
}

#[tokio::test]
async fn incidents_have_reporting_deadlines_timelines_root_causes_and_close_out() {
    for h in backends().await {
        let (s, lib, rules) = (&h.store, lib(&h).await, rules());
        let sys = s
            .create_object(
                "user:admin",
                ObjectKind::System,
                json!({"name": "Chat", "system_type": "generative"}),
                None,
            )
            .await
            .unwrap();
        let e = s
            .create_incident(
                "user:admin",
                &rules,
                incident("x", Severity::High, &["SYS-99"]),
            )
            .await
            .unwrap_err();
        assert_eq!(invalid_fields(e), ["systems[0]"]);
        let e = s
            .create_incident(
                "user:admin",
                &rules,
                IncidentInput {
                    occurred_at: Some("2026-11-22T00:00:00Z".into()),
                    ..incident("x", Severity::High, &[])
                },
            )
            .await
            .unwrap_err();
        assert_eq!(invalid_fields(e), ["occurred_at"]);

        let i = s
            .create_incident(
                "user:admin",
                &rules,
                incident("Prompt leak", Severity::High, &[&sys.id]),
            )
            .await
            .unwrap();
        assert_eq!(
            (
                i.r#ref.as_str(),
                i.report_due.as_deref(),
                i.reporting_overdue
            ),
            ("INC-1", Some("2026-11-24T09:00:00.000Z"), false),
            "{}",
            h.name
        );
        assert_eq!(i.data["systems"], json!([sys.r#ref]), "refs are normalised");
        h.clock.advance(73 * 3600);
        let q = IncidentQuery {
            reporting_overdue: true,
            ..Default::default()
        };
        let (over, n) = s.list_incidents(&q).await.unwrap();
        assert_eq!((n, over[0].reporting_overdue), (1, true));
        let i = s
            .update_incident(
                "user:admin",
                &rules,
                "INC-1",
                json!({"reported_at": "2026-11-24T10:00:00Z", "status": "contained"}),
                i.version,
            )
            .await
            .unwrap();
        assert!(!i.reporting_overdue);
        assert_eq!(i.data["status"], "contained");
        // Severity changes recompute the deadline; configured rules replace the defaults.
        s.set_incident_reporting(
            "user:admin",
            vec![ReportingRule {
                severity: "critical".into(),
                report_within_hours: Some(4),
            }],
        )
        .await
        .unwrap();
        let i = s
            .update_incident(
                "user:admin",
                &rules,
                "INC-1",
                json!({"severity": "critical"}),
                i.version,
            )
            .await
            .unwrap();
        assert_eq!(i.report_due.as_deref(), Some("2026-11-21T13:00:00.000Z"));
        assert!(matches!(
            s.set_incident_reporting(
                "user:admin",
                vec![ReportingRule {
                    severity: "dire".into(),
                    report_within_hours: Some(0)
                }]
            )
            .await,
            Err(StoreError::Invalid(_))
        ));

        let i = s
            .add_timeline(
                "user:admin",
                "INC-1",
                Some("2026-11-21T09:30:00Z"),
                "rotated the system prompt",
            )
            .await
            .unwrap();
        assert_eq!(i.timeline.len(), 1);
        assert_eq!(i.timeline[0].at, "2026-11-21T09:30:00.000Z");
        let (i, risk) = s
            .root_cause_new_risk(
                "user:admin",
                &lib,
                "INC-1",
                &sys.r#ref,
                risk_input("System prompt holds secrets", &["owasp-llm@2025:LLM07"]),
            )
            .await
            .unwrap();
        assert_eq!(i.data["root_cause_risks"], json!([risk.r#ref]));
        assert_eq!(
            i.report_due.as_deref(),
            Some("2026-11-21T13:00:00.000Z"),
            "linking keeps the deadline"
        );
        let linked = s.incidents_of_risk(&risk.id).await.unwrap();
        assert_eq!(
            (linked[0]["incident"].as_str(), linked[0]["role"].as_str()),
            (Some("INC-1"), Some("root-cause"))
        );

        let e = s
            .close_incident(
                "user:admin",
                "INC-1",
                CloseOut {
                    summary: " ".into(),
                    lessons: String::new(),
                    reporting_met: None,
                },
                i.version,
            )
            .await
            .unwrap_err();
        assert_eq!(invalid_fields(e), ["summary"]);
        let closed = s
            .close_incident(
                "user:admin",
                "INC-1",
                CloseOut {
                    summary: "contained in an hour".into(),
                    lessons: "keep secrets out of prompts".into(),
                    reporting_met: None,
                },
                i.version,
            )
            .await
            .unwrap();
        assert_eq!(closed.data["status"], "closed");
        assert_eq!(
            closed.review.as_ref().unwrap()["reporting_met"],
            false,
            "reported after the 4-hour deadline"
        );
        assert!(matches!(
            s.update_incident(
                "user:admin",
                &rules,
                "INC-1",
                json!({"title": "x"}),
                closed.version
            )
            .await,
            Err(StoreError::Conflict(_))
        ));
        let re = s
            .reopen_incident("user:admin", "INC-1", "recurred", closed.version)
            .await
            .unwrap();
        assert_eq!(
            (re.data["status"].as_str(), re.review.is_none()),
            (Some("open"), true)
        );
        let acts = audit_actions(&h).await;
        for a in [
            "incident.create",
            "incident.update",
            "incident.timeline",
            "incident.close",
            "incident.reopen",
        ] {
            assert!(acts.iter().any(|x| x == a), "{a}");
        }
    }
}

#[tokio::test]
async fn evidence_is_content_addressed_attached_and_flagged_when_expired() {
    for h in backends().await {
        let (s, lib, rules) = (&h.store, lib(&h).await, rules());
        let sys = s
            .create_object(
                "user:admin",
                ObjectKind::System,
                json!({"name": "Chat", "system_type": "generative", "public_facing": true}),
                None,
            )
            .await
            .unwrap();
        let r = s
            .create_risk("user:admin", &lib, &sys.r#ref, risk_input("r", &[]))
            .await
            .unwrap();
        let input = |t: &str| EvidenceInput {
            title: t.into(),
            description: String::new(),
            url: None,
            effective_date: None,
            expires_on: Some("2026-12-31".into()),
        };
        let body = b"red-team report v1";
        let up = |b: &'static [u8]| Upload {
            file_name: "../../etc/report.pdf",
            media_type: Some("application/pdf"),
            bytes: b,
        };
        let ev = s
            .create_evidence_file("user:admin", input("Red-team report"), up(body), 1024)
            .await
            .unwrap();
        let sha = aigov_core::audit::sha256_hex(body);
        assert_eq!(
            (
                ev.r#ref.as_str(),
                ev.sha256.as_deref(),
                ev.size,
                ev.file_name.as_deref()
            ),
            (
                "EV-1",
                Some(sha.as_str()),
                Some(body.len() as i64),
                Some("report.pdf")
            ),
            "{}",
            h.name
        );
        let path = s.blob_path(&sha);
        assert_eq!(std::fs::read(&path).unwrap(), body);
        assert!(path.starts_with(h.dir.path().join("blobs")));
        let (_, got) = s.evidence_content("EV-1").await.unwrap();
        assert_eq!(got, body);
        // The same content shares the blob; limits and inputs are checked.
        let twin = s
            .create_evidence_file("user:admin", input("Copy"), up(body), 1024)
            .await
            .unwrap();
        assert_eq!(twin.sha256, ev.sha256);
        assert_eq!(
            invalid_fields(
                s.create_evidence_file("user:admin", input("big"), up(&[0u8; 2048]), 1024)
                    .await
                    .unwrap_err()
            ),
            ["file"]
        );
        assert_eq!(
            invalid_fields(
                s.create_evidence_link("user:admin", input("no url"))
                    .await
                    .unwrap_err()
            ),
            ["url"]
        );
        let link = s
            .create_evidence_link(
                "user:admin",
                EvidenceInput {
                    url: Some("https://wiki.example.com/dpia".into()),
                    expires_on: None,
                    ..input("DPIA")
                },
            )
            .await
            .unwrap();
        assert_eq!(link.kind, "link");

        // Attach to a risk, a control, a checklist item and an incident.
        let c = s
            .create_control("user:admin", &lib, &r.r#ref, control("filter"))
            .await
            .unwrap();
        s.adopt_defaults("user:admin", &lib, &rules, &sys.r#ref)
            .await
            .unwrap();
        let item = s
            .checklist(&lib, &sys.r#ref, "gbt-45654", false)
            .await
            .unwrap()
            .remove(0);
        let inc = s
            .create_incident("user:admin", &rules, incident("i", Severity::Low, &[]))
            .await
            .unwrap();
        for (t, id) in [
            ("risk", r.r#ref.as_str()),
            ("control", c.id.as_str()),
            ("checklist-item", item.id.as_str()),
            ("incident", inc.r#ref.as_str()),
        ] {
            s.attach_evidence("user:admin", "EV-1", t, id)
                .await
                .unwrap();
        }
        assert_eq!(s.get_evidence("EV-1").await.unwrap().attached_to.len(), 4);
        assert!(matches!(
            s.attach_evidence("user:admin", "EV-1", "risk", &r.id).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            invalid_fields(
                s.attach_evidence("user:admin", "EV-1", "system", &sys.id)
                    .await
                    .unwrap_err()
            ),
            ["target_type"]
        );
        assert_eq!(
            invalid_fields(
                s.attach_evidence("user:admin", "EV-1", "risk", "RISK-77")
                    .await
                    .unwrap_err()
            ),
            ["target"]
        );
        assert_eq!(
            s.get_control(&c.id).await.unwrap().evidence[0].r#ref,
            "EV-1"
        );
        assert!(!s.get_incident("INC-1").await.unwrap().evidence[0].expired);
        // Expiry is flagged wherever the evidence is used.
        h.clock.advance(45 * 86_400);
        assert!(s.get_evidence("EV-1").await.unwrap().expired);
        assert!(s.get_control(&c.id).await.unwrap().evidence[0].expired);
        assert!(s.get_checklist_item(&lib, &item.id).await.unwrap().evidence[0].expired);
        assert!(
            !s.get_evidence(&link.id).await.unwrap().expired,
            "no expiry, never expired"
        );
        assert_eq!(s.list_evidence(true, 50, 0).await.unwrap().1, 2);

        // Deleting: refused while attached; the blob stays while another record shares it.
        assert!(matches!(
            s.delete_evidence("user:admin", "EV-1").await,
            Err(StoreError::Conflict(_))
        ));
        for (t, id) in [
            ("risk", r.id.as_str()),
            ("control", c.id.as_str()),
            ("checklist-item", item.id.as_str()),
            ("incident", inc.id.as_str()),
        ] {
            s.detach_evidence("user:admin", "EV-1", t, id)
                .await
                .unwrap();
        }
        s.delete_evidence("user:admin", "EV-1").await.unwrap();
        assert!(path.exists(), "EV-2 still uses the blob");
        s.delete_evidence("user:admin", &twin.id).await.unwrap();
        assert!(!path.exists());
        // A tampered blob is detected on read.
        let ev3 = s
            .create_evidence_file("user:admin", input("again"), up(body), 1024)
            .await
            .unwrap();
        std::fs::write(s.blob_path(ev3.sha256.as_deref().unwrap()), b"tampered").unwrap();
        let e = s.evidence_content(&ev3.r#ref).await.unwrap_err();
        assert!(e.to_string().contains("does not match its sha256"), "{e}");
    }
}

#[tokio::test]
async fn stage_gates_list_blockers_and_admin_overrides_are_recorded() {
    for h in backends().await {
        let (s, lib, rules) = (&h.store, lib(&h).await, rules());
        let sys = s.create_object("user:admin", ObjectKind::System, json!({"name": "Chat", "system_type": "generative", "public_facing": true, "tc260_roles": ["service-provider"]}), Some(Stage::Verify)).await.unwrap();
        let r = s
            .create_risk(
                "user:admin",
                &lib,
                &sys.r#ref,
                risk_input("leak", &["tc260-aisgf@1.0:3.1.2(d)"]),
            )
            .await
            .unwrap();
        let _unassessed = s
            .create_risk("user:admin", &lib, &sys.r#ref, risk_input("other", &[]))
            .await
            .unwrap();
        s.assess(
            "user:admin",
            &r.r#ref,
            judged(AssessmentKind::Current, 4, 4),
        )
        .await
        .unwrap();
        let inc = s
            .create_incident(
                "user:admin",
                &rules,
                incident("outage", Severity::Critical, &[&sys.r#ref]),
            )
            .await
            .unwrap();
        let b = s
            .gate_blockers(&rules, &sys.r#ref, Stage::Deploy)
            .await
            .unwrap();
        let conds: Vec<&str> = b.iter().map(|b| b.condition.as_str()).collect();
        assert_eq!(
            conds,
            [
                "max_unaccepted_level",
                "require_assessed",
                "min_checklist_coverage",
                "max_open_incident_severity"
            ],
            "{}: {b:?}",
            h.name
        );
        assert!(b[0].message.contains(&r.r#ref) && b[0].message.contains("major"));
        assert!(b[3].message.contains("INC-1"));
        let mv = |v: i64, o: Option<&'static str>| StageMove {
            to: Stage::Deploy,
            reason: "go live",
            expected_version: v,
            override_reason: o,
        };
        match s
            .move_stage("user:admin", &rules, &sys.r#ref, mv(sys.version, None))
            .await
        {
            Err(StoreError::GateBlocked(x)) => assert_eq!(x.len(), 4),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            s.get_object(ObjectKind::System, &sys.id)
                .await
                .unwrap()
                .lifecycle_stage,
            Some(Stage::Verify),
            "nothing moved"
        );
        // Stages without a gate are free.
        assert!(
            s.gate_blockers(&rules, &sys.r#ref, Stage::Retire)
                .await
                .unwrap()
                .is_empty()
        );
        // An override moves it and records what it overrode.
        let moved = s
            .move_stage(
                "user:admin",
                &rules,
                &sys.r#ref,
                mv(sys.version, Some("regulator-approved pilot")),
            )
            .await
            .unwrap();
        assert_eq!(moved.lifecycle_stage, Some(Stage::Deploy));
        let q = aigov_store::audit_log::AuditQuery {
            limit: 10_000,
            ..Default::default()
        };
        let ev = h
            .store
            .audit_list(&q)
            .await
            .unwrap()
            .0
            .into_iter()
            .find(|e| e.action == "system.stage")
            .unwrap();
        assert_eq!(
            ev.details["gate_override"]["reason"],
            "regulator-approved pilot"
        );
        assert_eq!(
            ev.details["gate_override"]["blockers"]
                .as_array()
                .unwrap()
                .len(),
            4
        );

        // Gates are configurable; bad ones are refused.
        let g = StageGate {
            to: "operate".into(),
            max_unaccepted_level: None,
            min_checklist_coverage: None,
            require_assessed: false,
            max_open_incident_severity: Some("high".into()),
        };
        let gates = s.set_stage_gate("user:admin", &rules, g).await.unwrap();
        assert_eq!(
            gates
                .iter()
                .find(|g| g.to == "operate")
                .unwrap()
                .max_unaccepted_level,
            None
        );
        let b = s
            .gate_blockers(&rules, &sys.r#ref, Stage::Operate)
            .await
            .unwrap();
        assert_eq!(b.len(), 1);
        let bad = StageGate {
            to: "launch".into(),
            max_unaccepted_level: None,
            min_checklist_coverage: Some(120.0),
            require_assessed: false,
            max_open_incident_severity: None,
        };
        assert_eq!(
            invalid_fields(
                s.set_stage_gate("user:admin", &rules, bad)
                    .await
                    .unwrap_err()
            ),
            ["to", "min_checklist_coverage"]
        );
        // Closing the incident clears that blocker.
        s.close_incident(
            "user:admin",
            &inc.r#ref,
            CloseOut {
                summary: "fixed".into(),
                lessons: String::new(),
                reporting_met: Some(true),
            },
            inc.version,
        )
        .await
        .unwrap();
        assert!(
            s.gate_blockers(&rules, &sys.r#ref, Stage::Operate)
                .await
                .unwrap()
                .is_empty()
        );
        let _ = Value::Null;
    }
}

#[tokio::test]
async fn a_write_landing_during_a_gate_check_is_never_missed() {
    for h in backends().await {
        let (s, rules) = (&h.store, rules());
        let sys = s
            .create_object(
                "user:admin",
                ObjectKind::System,
                json!({"name": "Chat", "system_type": "generative"}),
                Some(Stage::Verify),
            )
            .await
            .unwrap();
        let gate = StageGate {
            to: "operate".into(),
            max_unaccepted_level: None,
            min_checklist_coverage: None,
            require_assessed: false,
            max_open_incident_severity: Some("high".into()),
        };
        s.set_stage_gate("user:admin", &rules, gate).await.unwrap();
        let mv = StageMove {
            to: Stage::Operate,
            reason: "go live",
            expected_version: sys.version,
            override_reason: None,
        };
        // The gate is clear when checked; a critical incident lands before the move.
        let check = s
            .check_gate(&rules, &sys.r#ref, Stage::Operate)
            .await
            .unwrap();
        assert!(check.blockers.is_empty(), "{}: {check:?}", h.name);
        s.create_incident(
            "user:admin",
            &rules,
            incident("outage", Severity::Critical, &[&sys.r#ref]),
        )
        .await
        .unwrap();
        assert!(
            s.move_stage_checked("user:admin", &sys.r#ref, mv, &check)
                .await
                .unwrap()
                .is_none(),
            "{}: a stale check moves nothing",
            h.name
        );
        assert_eq!(
            s.get_object(ObjectKind::System, &sys.id)
                .await
                .unwrap()
                .lifecycle_stage,
            Some(Stage::Verify)
        );
        // move_stage checks again and sees the incident.
        match s.move_stage("user:admin", &rules, &sys.r#ref, mv).await {
            Err(StoreError::GateBlocked(b)) => {
                assert_eq!(b[0].condition, "max_open_incident_severity")
            }
            other => panic!("{}: {other:?}", h.name),
        }
        // A check with nothing written since moves (here by override).
        let check = s
            .check_gate(&rules, &sys.r#ref, Stage::Operate)
            .await
            .unwrap();
        let over = StageMove {
            override_reason: Some("incident contained"),
            ..mv
        };
        let moved = s
            .move_stage_checked("user:admin", &sys.r#ref, over, &check)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(moved.lifecycle_stage, Some(Stage::Operate));
    }
}

#[test]
fn the_built_in_rules_name_only_what_exists() {
    let lib = Library::builtin().unwrap();
    let r = rules();
    assert_eq!(
        aigov_store::governance::check_rules_against(&r, &lib),
        Vec::<String>::new()
    );
    let mut bad = r.clone();
    bad.identification[0]
        .raises
        .push("tc260-aisgf@1.0:9.9(z)".into());
    bad.adoption[0].catalog = "no-such-catalog@1".into();
    bad.applicability[0].rules[0].select.under = Some("99".into());
    let p = aigov_store::governance::check_rules_against(&bad, &lib);
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(
        p[0].contains("no-such-catalog") && p[1].contains("99") && p[2].contains("9.9(z)"),
        "{p:?}"
    );
}

#[tokio::test]
async fn the_register_filters_and_searches_titles_in_both_scripts() {
    for h in backends().await {
        let (s, lib) = (&h.store, lib(&h).await);
        let sys = s
            .create_object(
                "user:admin",
                ObjectKind::System,
                json!({"name": "Chat", "system_type": "generative"}),
                None,
            )
            .await
            .unwrap();
        for t in [
            "训练数据泄露",
            "Prompt injection via tools",
            "输出内容不安全",
            "Data leakage in logs",
        ] {
            s.create_risk(
                "user:admin",
                &lib,
                &sys.r#ref,
                risk_input(t, &["tc260-aisgf@1.0:3.1.2(d)"]),
            )
            .await
            .unwrap();
        }
        let q = |x: &str| aigov_store::risks::RiskQuery {
            q: Some(x.into()),
            limit: 50,
            ..Default::default()
        };
        let titles = |v: (Vec<aigov_core::records::Risk>, i64)| {
            v.0.into_iter()
                .map(|r| r.data["title"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            titles(s.list_risks(&q("LEAK")).await.unwrap()),
            ["Data leakage in logs"],
            "{}",
            h.name
        );
        assert_eq!(
            titles(s.list_risks(&q("数据泄")).await.unwrap()),
            ["训练数据泄露"]
        );
        assert_eq!(
            titles(s.list_risks(&q("数据")).await.unwrap()),
            ["训练数据泄露"],
            "two characters fall back to a scan"
        );
        assert_eq!(s.list_risks(&q("in")).await.unwrap().1, 2);
        assert_eq!(s.list_risks(&q("100%")).await.unwrap().1, 0);
        // A renamed risk is found by its new title only.
        let r = s.get_risk("RISK-2").await.unwrap();
        s.update_risk(
            "user:admin",
            &lib,
            "RISK-2",
            json!({"title": "Indirect prompt attacks"}),
            r.version,
        )
        .await
        .unwrap();
        assert_eq!(
            titles(s.list_risks(&q("injection")).await.unwrap()),
            Vec::<String>::new()
        );
        assert_eq!(
            titles(s.list_risks(&q("indirect")).await.unwrap()),
            ["Indirect prompt attacks"]
        );
        let tax = aigov_store::risks::RiskQuery {
            taxonomy: Some("tc260-aisgf@1.0:3.1.2(d)".into()),
            limit: 2,
            offset: 1,
            ..Default::default()
        };
        let (page, total) = s.list_risks(&tax).await.unwrap();
        assert_eq!(
            (
                total,
                page.iter().map(|r| r.r#ref.as_str()).collect::<Vec<_>>()
            ),
            (4, vec!["RISK-2", "RISK-3"])
        );
    }
}
