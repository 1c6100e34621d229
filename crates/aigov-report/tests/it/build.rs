//! Building each kind of report from the seeded store, on every backend.

use aigov_report::model::Body;
use aigov_report::{Format, Kind, Report, ReportError, ReportRequest, build, record, render};

use crate::{Harness, backends, seed};

fn req(kind: Kind) -> ReportRequest {
    ReportRequest::new(kind)
}

async fn make(h: &Harness, rq: ReportRequest) -> Result<Report, ReportError> {
    build(h.store(), &h.lib, &rq, h.now(), "user:admin").await
}

#[tokio::test]
async fn a_system_report_has_grades_heatmap_treatment_acceptances_overdue_incidents_and_evidence() {
    for h in backends().await {
        seed(&h).await;
        let before = h.store.audit_head().await.unwrap();
        let r = make(
            &h,
            ReportRequest {
                system: Some("SYS-1".into()),
                ..req(Kind::System)
            },
        )
        .await
        .unwrap();
        // Reading changes nothing; the cover names the head it read.
        assert_eq!(h.store.audit_head().await.unwrap(), before, "{}", h.name);
        assert_eq!(
            (r.meta.audit_head.seq, &r.meta.audit_head.hash),
            (before.0, &before.1)
        );
        assert_eq!(r.meta.kind, Kind::System);
        assert!(r.meta.id.starts_with("rep-"), "{}", r.meta.id);
        assert_eq!(r.meta.generated_at, "2026-12-31T09:00:00.000Z");
        assert_eq!(r.meta.generated_by, "user:admin");
        assert!(r.meta.title.contains("Customer chatbot 客服机器人"));
        assert_eq!(r.meta.scope.systems.len(), 1);
        assert_eq!(
            r.meta.scope.catalogs.len(),
            3,
            "{:?}",
            r.meta.scope.catalogs
        );
        assert_eq!(r.digest, r.compute_digest());

        let s = &r.summary;
        assert_eq!(s.risks_total, 3);
        let count = |lvl: &str| s.by_grade.iter().find(|g| g.level == lvl).unwrap().count;
        assert_eq!(
            (count("major"), count("significant"), count("low")),
            (2, 1, 0)
        );
        let top: Vec<&str> = s.top_risks.iter().map(|t| t.r#ref.as_str()).collect();
        assert_eq!(top, ["RISK-1", "RISK-3", "RISK-2"]);
        assert_eq!(s.overdue.treatments, 1, "{:?}", s.overdue);
        assert_eq!(s.overdue.controls, 1);
        assert_eq!((s.incidents_total, s.incidents_open), (1, 1));
        assert_eq!(s.coverage.len(), 3);

        let Body::System(b) = &r.body else {
            panic!("system body")
        };
        let r1 = &b.risks[0];
        assert_eq!(
            (
                r1.inherent.as_deref(),
                r1.current.as_deref(),
                r1.residual.as_deref()
            ),
            (Some("extremely-severe"), Some("major"), Some("general"))
        );
        assert_eq!(r1.owner.as_deref(), Some("alice"));
        assert_eq!(b.heatmap.cells[3][3].count, 1);
        assert_eq!(b.heatmap.cells[2][2].count, 1);
        assert_eq!(b.heatmap.cells[2][3].count, 1);
        assert_eq!(b.heatmap.cells[3][3].level, "major");
        assert_eq!(
            b.heatmap
                .cells
                .iter()
                .flatten()
                .map(|c| c.count)
                .sum::<i64>(),
            3
        );
        assert_eq!(b.treatments[0].treatment.as_deref(), Some("mitigate"));
        assert_eq!(b.controls.len(), 1);
        assert_eq!(
            b.controls[0].item.as_deref(),
            Some("tc260-aisgf@1.0:4.1.1(b)")
        );
        assert_eq!(b.controls[0].evidence, ["EV-1"]);
        assert_eq!(b.acceptances.len(), 1);
        assert_eq!(
            (
                b.acceptances[0].risk.as_str(),
                b.acceptances[0].status.as_str()
            ),
            ("RISK-2", "approved")
        );
        let kinds: Vec<&str> = b.overdue.iter().map(|o| o.kind.as_str()).collect();
        assert!(
            kinds.contains(&"treatment") && kinds.contains(&"control"),
            "{kinds:?}"
        );
        assert_eq!(b.incidents[0].r#ref, "INC-1");
        assert_eq!(b.evidence.len(), 1);
        assert_eq!(b.evidence[0].attached_to.len(), 2);
        assert_eq!(r.appendix.methodologies[0].id, "aigov-5x5");
        assert_eq!(r.appendix.methodologies[0].grid[4][4], "extremely-severe");
    }
}

#[tokio::test]
async fn recording_a_report_appends_one_event_with_the_digests() {
    for h in backends().await {
        seed(&h).await;
        let r = make(
            &h,
            ReportRequest {
                system: Some("SYS-1".into()),
                ..req(Kind::System)
            },
        )
        .await
        .unwrap();
        let bytes = render(&r, Format::Markdown).unwrap();
        let (seq, _) = h.store.audit_head().await.unwrap();
        let ev = record(h.store(), &r, Format::Markdown, &bytes, "user:admin")
            .await
            .unwrap();
        assert_eq!(ev.seq, seq + 1);
        assert_eq!(
            (
                ev.action.as_str(),
                ev.object_type.as_str(),
                ev.object_id.as_str()
            ),
            ("report.generated", "report", r.meta.id.as_str())
        );
        assert_eq!(ev.details["content_digest"], r.digest.as_str());
        assert_eq!(
            ev.details["output_sha256"],
            aigov_core::audit::sha256_hex(&bytes).as_str()
        );
        assert_eq!(ev.details["format"], "md");
        assert_eq!(ev.details["kind"], "system");
        assert_eq!(ev.details["scope"]["systems"][0]["ref"], "SYS-1");
        assert!(h.store.audit_verify().await.unwrap().broken.is_none());
        assert_eq!(h.store.report_events(&r.meta.id).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_compliance_report_gives_coverage_per_catalog_section_and_role_and_the_gaps() {
    for h in backends().await {
        seed(&h).await;
        let r = make(
            &h,
            ReportRequest {
                system: Some("SYS-1".into()),
                ..req(Kind::Compliance)
            },
        )
        .await
        .unwrap();
        let Body::Compliance(b) = &r.body else {
            panic!("compliance body")
        };
        assert_eq!(b.catalogs.len(), 3, "{}", h.name);
        let tc = b
            .catalogs
            .iter()
            .find(|c| c.catalog == "tc260-aisgf@1.0")
            .unwrap();
        assert_eq!(
            (
                tc.overall.compliant,
                tc.overall.partial,
                tc.overall.non_compliant
            ),
            (1, 1, 1)
        );
        let sum: i64 = tc.sections.iter().map(|s| s.coverage.applicable).sum();
        assert_eq!(sum, tc.overall.applicable);
        assert!(
            tc.roles.iter().any(|x| x.key == "service-provider"),
            "{:?}",
            tc.roles
        );
        let nc = tc
            .gaps
            .iter()
            .find(|g| g.status == "non-compliant")
            .unwrap();
        assert_eq!(
            (nc.owner.as_deref(), nc.notes.as_str()),
            (Some("alice"), "no filter yet")
        );
        assert!(tc.gaps.iter().all(|g| g.status != "compliant"));
        assert_eq!(
            tc.gaps.len() as i64,
            tc.overall.partial + tc.overall.non_compliant + tc.overall.not_started
        );

        // One catalog across all systems; an unadopted catalog is an error.
        let r = make(
            &h,
            ReportRequest {
                catalog: Some("tc260-aisgf".into()),
                ..req(Kind::Compliance)
            },
        )
        .await
        .unwrap();
        assert_eq!(r.meta.scope.catalogs, ["tc260-aisgf@1.0"]);
        assert_eq!(r.meta.scope.systems.len(), 2);
        let e = make(
            &h,
            ReportRequest {
                catalog: Some("nist-ai-rmf".into()),
                ..req(Kind::Compliance)
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(e, ReportError::NotFound(_)), "{e}");
    }
}

#[tokio::test]
async fn a_register_report_filters_like_the_api() {
    for h in backends().await {
        seed(&h).await;
        let run = |rq: ReportRequest| make(&h, rq);
        let all = run(req(Kind::Register)).await.unwrap();
        let Body::Register(b) = &all.body else {
            panic!()
        };
        assert_eq!(b.total, 4, "{}", h.name);
        assert!(all.meta.scope.systems.is_empty());
        let major = run(ReportRequest {
            level: Some("major".into()),
            system: Some("SYS-1".into()),
            ..req(Kind::Register)
        })
        .await
        .unwrap();
        let Body::Register(b) = &major.body else {
            panic!()
        };
        let refs: Vec<&str> = b.risks.iter().map(|r| r.r#ref.as_str()).collect();
        assert_eq!(refs, ["RISK-1", "RISK-3"]);
        assert_eq!(major.meta.scope.filters["level"], "major");
        let accepted = run(ReportRequest {
            status: Some("accepted".into()),
            ..req(Kind::Register)
        })
        .await
        .unwrap();
        let Body::Register(b) = &accepted.body else {
            panic!()
        };
        assert_eq!(b.risks[0].r#ref, "RISK-2");
        let overdue = run(ReportRequest {
            treatment_overdue: true,
            ..req(Kind::Register)
        })
        .await
        .unwrap();
        let Body::Register(b) = &overdue.body else {
            panic!()
        };
        assert_eq!(b.risks.len(), 1);
        // Created before the period: nothing.
        let later = run(ReportRequest {
            from: Some("2026-12-01".into()),
            ..req(Kind::Register)
        })
        .await
        .unwrap();
        let Body::Register(b) = &later.body else {
            panic!()
        };
        assert_eq!(b.total, 0);
        assert_eq!(
            later.meta.period.from.as_deref(),
            Some("2026-12-01T00:00:00Z")
        );
        assert!(matches!(
            run(ReportRequest {
                status: Some("nonsense".into()),
                ..req(Kind::Register)
            })
            .await,
            Err(ReportError::Invalid(_))
        ));
        assert!(matches!(
            run(ReportRequest {
                from: Some("yesterday".into()),
                ..req(Kind::Register)
            })
            .await,
            Err(ReportError::Invalid(_))
        ));
    }
}

#[tokio::test]
async fn an_incident_report_has_the_timeline_deadlines_and_linked_risks() {
    for h in backends().await {
        seed(&h).await;
        let one = make(
            &h,
            ReportRequest {
                incident: Some("INC-1".into()),
                ..req(Kind::Incident)
            },
        )
        .await
        .unwrap();
        let Body::Incident(b) = &one.body else {
            panic!()
        };
        let d = &b.incidents[0];
        assert_eq!(d.row.severity, "high", "{}", h.name);
        assert!(d.row.report_due.is_some());
        assert!(d.row.reporting_overdue);
        assert_eq!(d.timeline.len(), 1);
        assert_eq!(d.timeline[0].entry, "prompt rotated; filter tightened");
        assert_eq!(d.systems, ["SYS-1"]);
        assert_eq!(d.linked_risks.len(), 1);
        assert_eq!(d.linked_risks[0].current.as_deref(), Some("major"));
        assert_eq!(one.summary.overdue.incident_reports, 1);
        assert_eq!(one.meta.scope.incidents, ["INC-1"]);

        // A period without incidents.
        let none = make(
            &h,
            ReportRequest {
                from: Some("2025-01-01".into()),
                to: Some("2025-12-31".into()),
                ..req(Kind::Incident)
            },
        )
        .await
        .unwrap();
        let Body::Incident(b) = &none.body else {
            panic!()
        };
        assert!(b.incidents.is_empty());
        assert_eq!(
            none.meta.period.to.as_deref(),
            Some("2025-12-31T23:59:59.999Z")
        );
    }
}

#[tokio::test]
async fn requests_missing_what_they_need_are_refused() {
    let h = crate::sqlite().await;
    seed(&h).await;
    let e = make(&h, req(Kind::System)).await.unwrap_err();
    assert!(e.to_string().contains("needs a system"), "{e}");
    let e = make(
        &h,
        ReportRequest {
            system: Some("SYS-99".into()),
            ..req(Kind::System)
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            ReportError::Store(aigov_store::StoreError::NotFound { .. })
        ),
        "{e}"
    );
    let e = build(h.store(), &h.lib, &ReportRequest::default(), h.now(), "x")
        .await
        .unwrap_err();
    assert!(matches!(e, ReportError::Invalid(_)));
}
