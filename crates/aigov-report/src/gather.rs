//! Reading a report's data from the store. Only reads: the one write a report causes is the
//! audit event [`crate::record`] appends.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aigov_catalog::Library;
use aigov_core::Timestamp;
use aigov_core::inventory::ObjectKind;
use aigov_core::methodology::{Label, Methodology};
use aigov_core::records::{Coverage, Incident, Risk};
use aigov_core::risk::{IncidentStatus, RiskStatus};
use aigov_store::Store;
use aigov_store::incidents::IncidentQuery;
use aigov_store::inventory::ListQuery;
use aigov_store::risks::RiskQuery;
use serde_json::Value;

use crate::model::*;
use crate::{ReportError, ReportRequest};

/// Rows read per page from paged store lists.
const PAGE: i64 = 500;

/// The gap statuses of a checklist item.
const GAP_STATUSES: [&str; 3] = ["non-compliant", "partial", "not-started"];

/// Lookups shared while one report is gathered.
pub(crate) struct Ctx<'a> {
    pub store: &'a dyn Store,
    pub lib: &'a Library,
    users: HashMap<String, Option<String>>,
    methodologies: BTreeMap<String, Methodology>,
    system_methodology: HashMap<String, String>,
}

impl<'a> Ctx<'a> {
    pub fn new(store: &'a dyn Store, lib: &'a Library) -> Ctx<'a> {
        Ctx {
            store,
            lib,
            users: HashMap::new(),
            methodologies: BTreeMap::new(),
            system_methodology: HashMap::new(),
        }
    }

    /// A user's name for an id (the id itself when the user is gone).
    async fn username(&mut self, id: Option<&str>) -> Result<Option<String>, ReportError> {
        let Some(id) = id.filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        if let Some(u) = self.users.get(id) {
            return Ok(u.clone());
        }
        let name = match self.store.core().get_user(id).await {
            Ok(u) => Some(u.username),
            Err(aigov_store::StoreError::NotFound { .. }) => Some(id.to_string()),
            Err(e) => return Err(e.into()),
        };
        self.users.insert(id.to_string(), name.clone());
        Ok(name)
    }

    /// The methodology of a system (by id), remembered for the appendix.
    async fn methodology_of(&mut self, system_id: &str) -> Result<&Methodology, ReportError> {
        if !self.system_methodology.contains_key(system_id) {
            let m = self.store.core().system_methodology(system_id).await?;
            self.system_methodology
                .insert(system_id.to_string(), m.id.clone());
            self.methodologies.entry(m.id.clone()).or_insert(m);
        }
        let id = &self.system_methodology[system_id];
        Ok(&self.methodologies[id])
    }

    async fn risk_row(&mut self, r: &Risk) -> Result<RiskRow, ReportError> {
        self.methodology_of(&r.system_id).await?;
        let owner = self.username(r.data["owner_id"].as_str()).await?;
        Ok(RiskRow {
            r#ref: r.r#ref.clone(),
            title: text(&r.data["title"]),
            system: r.system_ref.clone(),
            status: r.status.clone(),
            inherent: r.inherent_level.clone(),
            current: r.current_level.clone(),
            residual: r.residual_level.clone(),
            likelihood: r.current_likelihood,
            impact: r.current_impact,
            treatment: r.treatment.clone(),
            treatment_due: r.treatment_due.clone(),
            treatment_overdue: r.treatment_overdue,
            owner,
            taxonomy: strings(&r.data["taxonomy"]),
        })
    }

    /// Every risk matching `q`, by ref.
    async fn risks(&mut self, mut q: RiskQuery) -> Result<(Vec<Risk>, i64), ReportError> {
        q.limit = PAGE;
        q.offset = 0;
        q.sort = "ref".into();
        let mut out = Vec::new();
        loop {
            let (page, total) = self.store.core().list_risks(&q).await?;
            let n = page.len() as i64;
            out.extend(page);
            if n < PAGE {
                return Ok((out, total));
            }
            q.offset += n;
        }
    }

    /// Grade order: levels of the methodologies in use, lowest first, deduplicated by id.
    fn levels(&self) -> Vec<(String, Label, String)> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        let default = aigov_core::methodology::default_methodology();
        let ms: Vec<&Methodology> = if self.methodologies.is_empty() {
            vec![&default]
        } else {
            self.methodologies.values().collect()
        };
        for m in ms {
            for l in &m.levels {
                if seen.insert(l.id.clone()) {
                    out.push((l.id.clone(), l.label.clone(), l.color.clone()));
                }
            }
        }
        out
    }

    fn rank(&self, level: Option<&str>) -> usize {
        let Some(level) = level else { return 0 };
        self.methodologies
            .values()
            .find_map(|m| m.rank(level))
            .map_or(0, |r| r + 1)
    }

    /// The summary's risk figures over `rows`.
    fn risk_summary(&self, rows: &[RiskRow], s: &mut Summary) {
        s.risks_total = rows.len() as i64;
        let open: Vec<&RiskRow> = rows.iter().filter(|r| r.status != "closed").collect();
        let mut by_grade: Vec<GradeCount> = self
            .levels()
            .into_iter()
            .map(|(id, label, color)| GradeCount {
                count: open
                    .iter()
                    .filter(|r| r.current.as_deref() == Some(&id))
                    .count() as i64,
                level: id,
                label,
                color,
            })
            .collect();
        let unassessed = open.iter().filter(|r| r.current.is_none()).count() as i64;
        by_grade.push(GradeCount {
            level: "unassessed".into(),
            label: Label::new("未评估", "Unassessed"),
            color: "#757575".into(),
            count: unassessed,
        });
        s.by_grade = by_grade;
        let mut by_status: BTreeMap<&str, i64> = BTreeMap::new();
        for r in rows {
            *by_status.entry(r.status.as_str()).or_default() += 1;
        }
        s.by_status = RiskStatus::ALL
            .iter()
            .map(|st| KeyCount {
                key: st.as_str().into(),
                count: by_status.get(st.as_str()).copied().unwrap_or(0),
            })
            .collect();
        let mut top: Vec<&RiskRow> = open
            .iter()
            .copied()
            .filter(|r| r.current.is_some())
            .collect();
        top.sort_by(|a, b| {
            self.rank(b.current.as_deref())
                .cmp(&self.rank(a.current.as_deref()))
                .then_with(|| ref_num(&a.r#ref).cmp(&ref_num(&b.r#ref)))
        });
        s.top_risks = top.into_iter().take(5).cloned().collect();
        s.overdue.treatments = open.iter().filter(|r| r.treatment_overdue).count() as i64;
    }

    /// The appendix: the methodologies in use (the default one when no risk or system named
    /// one), and the data sources.
    fn appendix(&self, sources: Vec<String>) -> Appendix {
        let mut methodologies: Vec<MethodologyAppendix> =
            self.methodologies.values().map(appendix_of).collect();
        if methodologies.is_empty() {
            methodologies.push(appendix_of(&aigov_core::methodology::default_methodology()));
        }
        Appendix {
            methodologies,
            sources,
        }
    }
}

fn appendix_of(m: &Methodology) -> MethodologyAppendix {
    MethodologyAppendix {
        id: m.id.clone(),
        name: m.name.clone(),
        likelihood: m.likelihood.iter().map(|s| s.label.clone()).collect(),
        impact: m.impact.iter().map(|s| s.label.clone()).collect(),
        grid: m
            .grid
            .iter()
            .map(|row| {
                row.iter()
                    .map(|i| m.levels.get(*i).map(|l| l.id.clone()).unwrap_or_default())
                    .collect()
            })
            .collect(),
        levels: m
            .levels
            .iter()
            .map(|l| LevelDef {
                id: l.id.clone(),
                label: l.label.clone(),
                color: l.color.clone(),
                approver: l.approver.as_str().into(),
                treatment_days: l.treatment_days,
            })
            .collect(),
    }
}

/// A JSON value as display text (strings as they are, `null` as empty).
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(text).collect())
        .unwrap_or_default()
}

/// The number of a ref (`RISK-12` → 12), for ordering.
pub(crate) fn ref_num(r: &str) -> i64 {
    r.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Normalises a period bound: a date becomes the start (or end) of that day in UTC.
pub(crate) fn bound(s: &str, end: bool) -> Result<String, ReportError> {
    let s = s.trim();
    if s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' {
        let t = format!("{s}T00:00:00Z");
        Timestamp::parse(&t).map_err(|e| ReportError::Invalid(format!("{s}: {e}")))?;
        return Ok(if end { format!("{s}T23:59:59.999Z") } else { t });
    }
    Timestamp::parse(s)
        .map(|t| t.to_rfc3339())
        .map_err(|e| ReportError::Invalid(format!("{s}: {e}")))
}

/// Whether an RFC 3339 instant lies in the period (bounds already normalised).
fn in_period(at: &str, p: &Period) -> bool {
    let Ok(t) = Timestamp::parse(at) else {
        return true;
    };
    let after = |b: &Option<String>, f: fn(Timestamp, Timestamp) -> bool| {
        b.as_deref()
            .and_then(|b| Timestamp::parse(b).ok())
            .is_none_or(|b| f(t, b))
    };
    after(&p.from, |t, b| t >= b) && after(&p.to, |t, b| t <= b)
}

/// What [`crate::build`] gathers, before the cover block is filled in.
pub(crate) struct Gathered {
    pub title: String,
    pub scope: Scope,
    pub summary: Summary,
    pub body: Body,
    pub appendix: Appendix,
}

pub(crate) async fn gather(
    store: &dyn Store,
    lib: &Library,
    req: &ReportRequest,
    period: &Period,
) -> Result<Gathered, ReportError> {
    let mut ctx = Ctx::new(store, lib);
    let mut sources = vec![format!(
        "store: {} (schema version {})",
        store.backend().as_str(),
        store.core().schema_version().await?
    )];
    let g = match req.kind.unwrap_or(Kind::Register) {
        Kind::System => system(&mut ctx, req, period).await?,
        Kind::Compliance => compliance(&mut ctx, req).await?,
        Kind::Register => register(&mut ctx, req, period).await?,
        Kind::Incident => incidents(&mut ctx, req, period).await?,
    };
    let (title, scope, summary, body) = g;
    for c in &scope.catalogs {
        sources.push(format!("catalog: {c}"));
    }
    sources.push("audit log: the chain head on the cover".into());
    Ok(Gathered {
        title,
        scope,
        summary,
        appendix: ctx.appendix(sources),
        body,
    })
}

type Parts = (String, Scope, Summary, Body);

async fn system_record(
    ctx: &Ctx<'_>,
    key: Option<&str>,
) -> Result<aigov_core::records::Record, ReportError> {
    let key = key.ok_or_else(|| {
        ReportError::Invalid("a system report needs a system (--system SYS-n)".into())
    })?;
    Ok(ctx.store.core().get_object(ObjectKind::System, key).await?)
}

fn system_ref(r: &aigov_core::records::Record) -> SystemRef {
    SystemRef {
        r#ref: r.r#ref.clone(),
        name: text(&r.data["name"]),
    }
}

async fn coverage_rows(
    ctx: &Ctx<'_>,
    system: &aigov_core::records::Record,
    catalog: Option<&str>,
) -> Result<Vec<CoverageRow>, ReportError> {
    Ok(ctx
        .store
        .core()
        .list_adoptions(&system.id)
        .await?
        .into_iter()
        .filter(|a| catalog.is_none_or(|c| a.catalog.split('@').next() == Some(c)))
        .map(|a| CoverageRow {
            system: system.r#ref.clone(),
            catalog: a.catalog,
            coverage: a.coverage,
        })
        .collect())
}

fn incident_row(i: &Incident) -> IncidentRow {
    IncidentRow {
        r#ref: i.r#ref.clone(),
        title: text(&i.data["title"]),
        severity: text(&i.data["severity"]),
        status: text(&i.data["status"]),
        detected_at: text(&i.data["detected_at"]),
        report_due: i.report_due.clone(),
        reported_at: i.data["reported_at"].as_str().map(str::to_string),
        reporting_overdue: i.reporting_overdue,
    }
}

async fn system(
    ctx: &mut Ctx<'_>,
    req: &ReportRequest,
    period: &Period,
) -> Result<Parts, ReportError> {
    let sys = system_record(ctx, req.system.as_deref()).await?;
    let m = ctx.methodology_of(&sys.id).await?.clone();
    let (risks, _) = ctx
        .risks(RiskQuery {
            system_id: Some(sys.id.clone()),
            ..Default::default()
        })
        .await?;
    let mut rows = Vec::with_capacity(risks.len());
    for r in &risks {
        rows.push(ctx.risk_row(r).await?);
    }
    let mut summary = Summary::default();
    ctx.risk_summary(&rows, &mut summary);

    // Heatmap of open risks on the system's grid.
    let mut cells: Vec<Vec<HeatCell>> = m
        .grid
        .iter()
        .map(|row| {
            row.iter()
                .map(|i| HeatCell {
                    level: m.levels.get(*i).map(|l| l.id.clone()).unwrap_or_default(),
                    count: 0,
                })
                .collect()
        })
        .collect();
    for r in rows.iter().filter(|r| r.status != "closed") {
        if let (Some(l), Some(i)) = (r.likelihood, r.impact)
            && let Some(c) = cells
                .get_mut((l - 1).max(0) as usize)
                .and_then(|row| row.get_mut((i - 1).max(0) as usize))
        {
            c.count += 1;
        }
    }
    let heatmap = Heatmap {
        methodology: m.id.clone(),
        likelihood: m.likelihood.iter().map(|s| s.label.clone()).collect(),
        impact: m.impact.iter().map(|s| s.label.clone()).collect(),
        cells,
    };

    let mut treatments = Vec::new();
    let mut controls = Vec::new();
    let mut acceptances = Vec::new();
    let mut evidence_refs: BTreeSet<String> = BTreeSet::new();
    // What evidence is attached to, by internal id, as people read it.
    let mut labels: HashMap<String, String> = HashMap::new();
    for r in &risks {
        labels.insert(r.id.clone(), r.r#ref.clone());
        treatments.push(TreatmentRow {
            risk: r.r#ref.clone(),
            title: text(&r.data["title"]),
            treatment: r.treatment.clone(),
            rationale: r.treatment_rationale.clone(),
            due: r.treatment_due.clone(),
            overdue: r.treatment_overdue,
        });
        for c in ctx.store.core().list_controls(&r.id).await? {
            evidence_refs.extend(c.evidence.iter().map(|e| e.r#ref.clone()));
            labels.insert(
                c.id.clone(),
                format!("{} ({})", text(&c.data["title"]), r.r#ref),
            );
            controls.push(ControlRow {
                risk: r.r#ref.clone(),
                title: text(&c.data["title"]),
                status: text(&c.data["status"]),
                item: c.data["source"].as_str().map(str::to_string),
                due: c.data["due_date"].as_str().map(str::to_string),
                overdue: c.overdue,
                evidence: c.evidence.iter().map(|e| e.r#ref.clone()).collect(),
            });
        }
        for a in ctx.store.core().list_acceptances(&r.id).await? {
            acceptances.push(AcceptanceRow {
                risk: r.r#ref.clone(),
                status: a.status,
                level: a.level,
                required_role: a.required_role,
                requested_by: a.requested_by,
                decided_by: a.decided_by,
                expires_at: a.expires_at,
                rationale: a.rationale,
            });
        }
        for e in ctx.store.core().evidence_for("risk", &r.id).await? {
            evidence_refs.insert(e.r#ref);
        }
    }

    // Overdue work of this system's risks.
    let refs: BTreeSet<&str> = risks.iter().map(|r| r.r#ref.as_str()).collect();
    let o = ctx.store.core().overdue().await?;
    let mut overdue = Vec::new();
    let pick = |list: &[Value], kind: &str, title: &str, due: &str, out: &mut Vec<OverdueRow>| {
        for v in list {
            let risk = text(&v["risk"]);
            if refs.contains(risk.as_str()) {
                out.push(OverdueRow {
                    kind: kind.into(),
                    subject: risk,
                    title: text(&v[title]),
                    due: v[due].as_str().map(str::to_string),
                });
            }
        }
    };
    pick(&o.treatments, "treatment", "title", "due", &mut overdue);
    pick(&o.controls, "control", "title", "due", &mut overdue);
    pick(&o.actions, "action", "title", "due", &mut overdue);
    pick(
        &o.acceptances_expiring,
        "acceptance-expiring",
        "level",
        "expires_at",
        &mut overdue,
    );
    pick(
        &o.acceptances_pending,
        "acceptance-pending",
        "level",
        "requested_at",
        &mut overdue,
    );
    let count = |k: &str| overdue.iter().filter(|r| r.kind == k).count() as i64;
    summary.overdue.treatments = count("treatment");
    summary.overdue.controls = count("control");
    summary.overdue.actions = count("action");
    summary.overdue.acceptances_expiring = count("acceptance-expiring");
    summary.overdue.acceptances_pending = count("acceptance-pending");

    // Incidents affecting the system in the period.
    let (list, _) = ctx
        .store
        .core()
        .list_incidents(&IncidentQuery {
            system: Some(sys.id.clone()),
            limit: PAGE,
            ..Default::default()
        })
        .await?;
    let mut incidents = Vec::new();
    for i in list
        .iter()
        .filter(|i| in_period(&text(&i.data["detected_at"]), period))
    {
        evidence_refs.extend(i.evidence.iter().map(|e| e.r#ref.clone()));
        labels.insert(i.id.clone(), i.r#ref.clone());
        let row = incident_row(i);
        if row.reporting_overdue {
            overdue.push(OverdueRow {
                kind: "incident-report".into(),
                subject: row.r#ref.clone(),
                title: row.title.clone(),
                due: row.report_due.clone(),
            });
        }
        incidents.push(row);
    }
    summary.overdue.incident_reports =
        incidents.iter().filter(|i| i.reporting_overdue).count() as i64;
    summary.incidents_total = incidents.len() as i64;
    summary.incidents_open = incidents.iter().filter(|i| i.status != "closed").count() as i64;

    // Coverage, and evidence on checklist items.
    summary.coverage = coverage_rows(ctx, &sys, None).await?;
    let mut catalogs = Vec::new();
    for c in &summary.coverage {
        catalogs.push(c.catalog.clone());
        let id = c.catalog.split('@').next().unwrap_or_default();
        for it in ctx
            .store
            .core()
            .checklist(ctx.lib, &sys.id, id, false)
            .await?
        {
            evidence_refs.extend(it.evidence.iter().map(|e| e.r#ref.clone()));
            labels.insert(it.id.clone(), format!("{}:{}", it.catalog, it.item_ref));
        }
    }
    let mut evidence = Vec::new();
    let mut ev_sorted: Vec<String> = evidence_refs.into_iter().collect();
    ev_sorted.sort_by_key(|r| ref_num(r));
    for r in ev_sorted {
        let e = ctx.store.core().get_evidence(&r).await?;
        evidence.push(EvidenceRow {
            r#ref: e.r#ref,
            title: e.title,
            kind: e.kind,
            sha256: e.sha256,
            attached_to: e
                .attached_to
                .iter()
                .map(|a| {
                    let (ty, id) = a.split_once(':').unwrap_or(("", a));
                    match labels.get(id) {
                        Some(l) => format!("{ty} {l}"),
                        None => a.clone(),
                    }
                })
                .collect(),
            expires_on: e.expires_on,
            expired: e.expired,
        });
    }

    let facts = SystemFacts {
        r#ref: sys.r#ref.clone(),
        name: text(&sys.data["name"]),
        lifecycle_stage: sys.lifecycle_stage.map(|s| s.as_str().to_string()),
        methodology: m.id.clone(),
        fields: sys
            .data
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, v)| k.as_str() != "name" && !text(v).is_empty())
                    .map(|(k, v)| Fact {
                        key: k.clone(),
                        value: text(v),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    let title = format!("System risk assessment: {} {}", sys.r#ref, facts.name);
    let scope = Scope {
        systems: vec![system_ref(&sys)],
        catalogs,
        ..Default::default()
    };
    let body = Body::System(Box::new(SystemBody {
        system: facts,
        heatmap,
        risks: rows,
        treatments,
        controls,
        acceptances,
        overdue,
        incidents,
        evidence,
    }));
    Ok((title, scope, summary, body))
}

/// Systems in scope: the one named, or every system.
async fn systems_in_scope(
    ctx: &Ctx<'_>,
    key: Option<&str>,
) -> Result<Vec<aigov_core::records::Record>, ReportError> {
    if let Some(k) = key {
        return Ok(vec![system_record(ctx, Some(k)).await?]);
    }
    let mut out = Vec::new();
    let mut q = ListQuery {
        limit: PAGE,
        ..Default::default()
    };
    loop {
        let (page, _) = ctx
            .store
            .core()
            .list_objects(ObjectKind::System, &q)
            .await?;
        let n = page.len() as i64;
        out.extend(page);
        if n < PAGE {
            return Ok(out);
        }
        q.offset += n;
    }
}

async fn compliance(ctx: &mut Ctx<'_>, req: &ReportRequest) -> Result<Parts, ReportError> {
    let systems = systems_in_scope(ctx, req.system.as_deref()).await?;
    // catalog key -> (systems, overall, sections, roles, gaps)
    struct Acc {
        systems: Vec<String>,
        overall: Coverage,
        sections: BTreeMap<String, (Label, Coverage, usize)>,
        roles: BTreeMap<String, Coverage>,
        gaps: Vec<GapRow>,
    }
    let mut accs: BTreeMap<String, Acc> = BTreeMap::new();
    let mut summary = Summary::default();
    for sys in &systems {
        ctx.methodology_of(&sys.id).await?;
        for row in coverage_rows(ctx, sys, req.catalog.as_deref()).await? {
            let (cid, cver) = row.catalog.split_once('@').unwrap_or((&row.catalog, ""));
            let cat = ctx.lib.get_exact(cid, cver);
            let pos: HashMap<&str, usize> = cat
                .map(|c| {
                    c.items
                        .iter()
                        .enumerate()
                        .map(|(i, it)| (it.r#ref.as_str(), i))
                        .collect()
                })
                .unwrap_or_default();
            let items = ctx
                .store
                .core()
                .checklist(ctx.lib, &sys.id, cid, false)
                .await?;
            let acc = accs.entry(row.catalog.clone()).or_insert_with(|| Acc {
                systems: Vec::new(),
                overall: Coverage::default(),
                sections: BTreeMap::new(),
                roles: BTreeMap::new(),
                gaps: Vec::new(),
            });
            acc.systems.push(sys.r#ref.clone());
            for it in items {
                acc.overall.add(&it.status);
                let (sec, sec_title, roles) =
                    aigov_store::governance::section_and_roles(cat, &it.item_ref);
                let order = pos.get(sec.as_str()).copied().unwrap_or(usize::MAX);
                acc.sections
                    .entry(sec)
                    .or_insert_with(|| (sec_title, Coverage::default(), order))
                    .1
                    .add(&it.status);
                for r in roles {
                    acc.roles.entry(r).or_default().add(&it.status);
                }
                if GAP_STATUSES.contains(&it.status.as_str()) {
                    let owner = ctx.username(it.owner_id.as_deref()).await?;
                    acc.gaps.push(GapRow {
                        system: sys.r#ref.clone(),
                        item: it.item_ref.clone(),
                        title: Label {
                            zh: it.title["zh"].as_str().map(str::to_string),
                            en: it.title["en"].as_str().map(str::to_string),
                        },
                        status: it.status.clone(),
                        owner,
                        notes: it.notes.clone(),
                    });
                }
            }
            summary.coverage.push(row);
        }
    }
    if let Some(c) = &req.catalog
        && accs.is_empty()
    {
        return Err(ReportError::NotFound(format!(
            "no system in scope has adopted {c}"
        )));
    }
    let catalogs: Vec<CatalogCompliance> = accs
        .into_iter()
        .map(|(k, a)| {
            let (cid, cver) = k.split_once('@').unwrap_or((&k, ""));
            let title = ctx
                .lib
                .get_exact(cid, cver)
                .map(|c| Label {
                    zh: c.title.zh.clone(),
                    en: c.title.en.clone(),
                })
                .unwrap_or_default();
            let mut sections: Vec<(String, (Label, Coverage, usize))> =
                a.sections.into_iter().collect();
            sections.sort_by_key(|(_, (_, _, o))| *o);
            CatalogCompliance {
                catalog: k,
                title,
                systems: a.systems,
                overall: a.overall,
                sections: sections
                    .into_iter()
                    .map(|(key, (title, coverage, _))| Bucket {
                        key,
                        title,
                        coverage,
                    })
                    .collect(),
                roles: a
                    .roles
                    .into_iter()
                    .map(|(key, coverage)| Bucket {
                        key,
                        title: Label::default(),
                        coverage,
                    })
                    .collect(),
                gaps: a.gaps,
            }
        })
        .collect();
    let title = match (&req.system, &req.catalog) {
        (Some(_), _) => format!(
            "Framework compliance: {} {}",
            systems[0].r#ref,
            text(&systems[0].data["name"])
        ),
        (None, Some(c)) => format!("Framework compliance: {c}"),
        (None, None) => "Framework compliance".to_string(),
    };
    let scope = Scope {
        systems: systems.iter().map(system_ref).collect(),
        catalogs: catalogs.iter().map(|c| c.catalog.clone()).collect(),
        ..Default::default()
    };
    Ok((
        title,
        scope,
        summary,
        Body::Compliance(ComplianceBody { catalogs }),
    ))
}

async fn register(
    ctx: &mut Ctx<'_>,
    req: &ReportRequest,
    period: &Period,
) -> Result<Parts, ReportError> {
    let mut scope = Scope::default();
    let mut q = RiskQuery::default();
    if let Some(s) = &req.system {
        let sys = system_record(ctx, Some(s)).await?;
        q.system_id = Some(sys.id.clone());
        scope.systems.push(system_ref(&sys));
    }
    if let Some(s) = &req.status {
        q.status = Some(RiskStatus::parse(s).ok_or_else(|| {
            ReportError::Invalid(format!(
                "unknown status {s:?} (expected one of {})",
                RiskStatus::expected()
            ))
        })?);
        scope.filters.insert("status".into(), s.clone());
    }
    if let Some(l) = &req.level {
        q.level = Some(l.clone());
        scope.filters.insert("level".into(), l.clone());
    }
    if let Some(o) = &req.owner {
        let u = ctx.store.core().get_user(o).await?;
        q.owner_id = Some(u.id);
        scope.filters.insert("owner".into(), u.username);
    }
    if let Some(t) = &req.q {
        q.q = Some(t.clone());
        scope.filters.insert("q".into(), t.clone());
    }
    if let Some(t) = &req.taxonomy {
        q.taxonomy = Some(t.clone());
        scope.filters.insert("taxonomy".into(), t.clone());
    }
    if req.treatment_overdue {
        q.treatment_overdue = true;
        scope
            .filters
            .insert("treatment_overdue".into(), "true".into());
    }
    let (risks, _) = ctx.risks(q).await?;
    let mut rows = Vec::with_capacity(risks.len());
    for r in risks.iter().filter(|r| in_period(&r.created_at, period)) {
        rows.push(ctx.risk_row(r).await?);
    }
    let mut summary = Summary::default();
    ctx.risk_summary(&rows, &mut summary);
    let title = match scope.systems.first() {
        Some(s) => format!("Risk register: {} {}", s.r#ref, s.name),
        None => "Risk register".to_string(),
    };
    let total = rows.len() as i64;
    Ok((
        title,
        scope,
        summary,
        Body::Register(RegisterBody { total, risks: rows }),
    ))
}

async fn incidents(
    ctx: &mut Ctx<'_>,
    req: &ReportRequest,
    period: &Period,
) -> Result<Parts, ReportError> {
    let mut scope = Scope::default();
    let mut list: Vec<Incident> = Vec::new();
    if let Some(k) = &req.incident {
        list.push(ctx.store.core().get_incident(k).await?);
    } else {
        let mut q = IncidentQuery {
            limit: PAGE,
            ..Default::default()
        };
        if let Some(s) = &req.system {
            let sys = system_record(ctx, Some(s)).await?;
            q.system = Some(sys.id.clone());
            scope.systems.push(system_ref(&sys));
        }
        if let Some(s) = &req.status {
            q.status = Some(IncidentStatus::parse(s).ok_or_else(|| {
                ReportError::Invalid(format!(
                    "unknown incident status {s:?} (expected one of {})",
                    IncidentStatus::expected()
                ))
            })?);
            scope.filters.insert("status".into(), s.clone());
        }
        loop {
            let (page, _) = ctx.store.core().list_incidents(&q).await?;
            let n = page.len() as i64;
            for i in page {
                if in_period(&text(&i.data["detected_at"]), period) {
                    // The list has no timeline; read each incident whole.
                    list.push(ctx.store.core().get_incident(&i.id).await?);
                }
            }
            if n < PAGE {
                break;
            }
            q.offset += n;
        }
    }
    let mut details = Vec::new();
    let mut all_risks: BTreeMap<String, RiskRow> = BTreeMap::new();
    for i in &list {
        let systems = strings(&i.data["systems"]);
        let risks = strings(&i.data["risks"]);
        let root = strings(&i.data["root_cause_risks"]);
        let mut linked = Vec::new();
        let mut seen = BTreeSet::new();
        for k in risks.iter().chain(&root) {
            if !seen.insert(k.clone()) {
                continue;
            }
            match ctx.store.core().get_risk(k).await {
                Ok(r) => {
                    let row = ctx.risk_row(&r).await?;
                    all_risks.insert(row.r#ref.clone(), row.clone());
                    linked.push(row);
                }
                Err(aigov_store::StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        details.push(IncidentDetail {
            row: incident_row(i),
            occurred_at: i.data["occurred_at"].as_str().map(str::to_string),
            description: text(&i.data["description"]),
            systems,
            risks,
            root_cause_risks: root,
            containment: text(&i.data["containment"]),
            corrective_actions: text(&i.data["corrective_actions"]),
            root_cause: text(&i.data["root_cause"]),
            timeline: i
                .timeline
                .iter()
                .map(|t| TimelineRow {
                    at: t.at.clone(),
                    entry: t.entry.clone(),
                    actor: t.actor.clone(),
                })
                .collect(),
            linked_risks: linked,
        });
    }
    let mut summary = Summary::default();
    let rows: Vec<RiskRow> = all_risks.into_values().collect();
    ctx.risk_summary(&rows, &mut summary);
    summary.incidents_total = details.len() as i64;
    summary.incidents_open = details.iter().filter(|d| d.row.status != "closed").count() as i64;
    summary.overdue.incident_reports =
        details.iter().filter(|d| d.row.reporting_overdue).count() as i64;
    scope.incidents = details.iter().map(|d| d.row.r#ref.clone()).collect();
    let title = match (&req.incident, details.first()) {
        (Some(_), Some(d)) => format!("Incident report: {} {}", d.row.r#ref, d.row.title),
        _ => "Incident report".to_string(),
    };
    Ok((
        title,
        scope,
        summary,
        Body::Incident(IncidentBody { incidents: details }),
    ))
}
