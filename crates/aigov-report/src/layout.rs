//! From the report model to a format-neutral document: a cover block, sections of paragraphs,
//! fact lists, tables and charts. HTML, Markdown and Typst render this; CSV takes the main
//! table. Grade cells always carry the grade's name beside its colour.

use aigov_core::methodology::Label;

use crate::model::*;

/// A document.
#[derive(Debug)]
pub(crate) struct Doc {
    pub title: String,
    pub cover: Vec<(String, String)>,
    pub sections: Vec<Section>,
}

/// A section.
#[derive(Debug)]
pub(crate) struct Section {
    pub title: String,
    pub blocks: Vec<Block>,
}

/// A block.
#[derive(Debug)]
pub(crate) enum Block {
    Para(String),
    Facts(Vec<(String, String)>),
    Table(Table),
    Heatmap(HeatView),
    Bars(BarsView),
    Subheading(String),
}

/// A table.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// A table cell.
#[derive(Debug, Clone)]
pub(crate) enum Cell {
    Text(String),
    /// A grade: its name and colour.
    Grade {
        text: String,
        color: String,
    },
}

impl Cell {
    pub fn text(&self) -> &str {
        match self {
            Cell::Text(t) | Cell::Grade { text: t, .. } => t,
        }
    }
}

/// A likelihood × impact heatmap.
#[derive(Debug)]
pub(crate) struct HeatView {
    pub title: String,
    /// Impact labels (columns), lowest first.
    pub impact: Vec<String>,
    /// Likelihood labels (rows), lowest first.
    pub likelihood: Vec<String>,
    /// `cells[l][i]` = (count, colour, grade name).
    pub cells: Vec<Vec<(i64, String, String)>>,
}

/// A bar chart.
#[derive(Debug)]
pub(crate) struct BarsView {
    pub title: String,
    /// (label, count, colour).
    pub bars: Vec<(String, i64, String)>,
}

/// `zh en` (or whichever exists).
pub(crate) fn both(l: &Label) -> String {
    match (l.zh.as_deref(), l.en.as_deref()) {
        (Some(z), Some(e)) if z != e => format!("{z} {e}"),
        (Some(z), _) => z.to_string(),
        (None, Some(e)) => e.to_string(),
        (None, None) => String::new(),
    }
}

fn grade_of(r: &Report, level: &str) -> (String, String) {
    for m in &r.appendix.methodologies {
        if let Some(l) = m.levels.iter().find(|l| l.id == level) {
            return (both(&l.label), l.color.clone());
        }
    }
    (level.to_string(), "#757575".into())
}

fn grade(r: &Report, level: Option<&str>) -> Cell {
    match level {
        Some(l) => {
            let (text, color) = grade_of(r, l);
            Cell::Grade { text, color }
        }
        None => Cell::Text("—".into()),
    }
}

fn t(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn opt(s: &Option<String>) -> Cell {
    t(s.clone().unwrap_or_default())
}

fn yes(b: bool) -> Cell {
    t(if b { "yes" } else { "" })
}

fn table(columns: &[&str], rows: Vec<Vec<Cell>>) -> Block {
    Block::Table(Table {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
    })
}

fn or_empty(b: Block, empty: &str) -> Block {
    match &b {
        Block::Table(tb) if tb.rows.is_empty() => Block::Para(empty.into()),
        _ => b,
    }
}

/// The risk table (the CSV of system and register reports).
pub(crate) fn risk_table(r: &Report, rows: &[RiskRow]) -> Table {
    Table {
        columns: [
            "Ref",
            "Title",
            "System",
            "Status",
            "Inherent",
            "Current",
            "Residual",
            "L×I",
            "Treatment",
            "Treatment due",
            "Overdue",
            "Owner",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows: rows
            .iter()
            .map(|x| {
                vec![
                    t(&x.r#ref),
                    t(&x.title),
                    t(&x.system),
                    t(&x.status),
                    grade(r, x.inherent.as_deref()),
                    grade(r, x.current.as_deref()),
                    grade(r, x.residual.as_deref()),
                    t(match (x.likelihood, x.impact) {
                        (Some(l), Some(i)) => format!("{l}×{i}"),
                        _ => String::new(),
                    }),
                    opt(&x.treatment),
                    opt(&x.treatment_due),
                    yes(x.treatment_overdue),
                    opt(&x.owner),
                ]
            })
            .collect(),
    }
}

/// The gaps table (the CSV of compliance reports; one table over every catalog).
pub(crate) fn gap_table(b: &ComplianceBody, catalog: Option<&str>) -> Table {
    let mut rows = Vec::new();
    for c in b
        .catalogs
        .iter()
        .filter(|c| catalog.is_none_or(|k| k == c.catalog))
    {
        for g in &c.gaps {
            rows.push(vec![
                t(&c.catalog),
                t(&g.system),
                t(&g.item),
                t(both(&g.title)),
                t(&g.status),
                opt(&g.owner),
                t(&g.notes),
            ]);
        }
    }
    Table {
        columns: [
            "Catalog", "System", "Item", "Title", "Status", "Owner", "Notes",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows,
    }
}

/// The incidents table (the CSV of incident reports).
pub(crate) fn incident_table(rows: &[&IncidentRow]) -> Table {
    Table {
        columns: [
            "Ref",
            "Title",
            "Severity",
            "Status",
            "Detected",
            "Report due",
            "Reported",
            "Reporting overdue",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows: rows
            .iter()
            .map(|i| {
                vec![
                    t(&i.r#ref),
                    t(&i.title),
                    t(&i.severity),
                    t(&i.status),
                    t(&i.detected_at),
                    opt(&i.report_due),
                    opt(&i.reported_at),
                    yes(i.reporting_overdue),
                ]
            })
            .collect(),
    }
}

/// The report's main table: risks (system, register), gaps (compliance), incidents.
pub(crate) fn main_table(r: &Report) -> Table {
    match &r.body {
        Body::System(b) => risk_table(r, &b.risks),
        Body::Register(b) => risk_table(r, &b.risks),
        Body::Compliance(b) => gap_table(b, None),
        Body::Incident(b) => {
            incident_table(&b.incidents.iter().map(|d| &d.row).collect::<Vec<_>>())
        }
    }
}

fn coverage_cells(c: &aigov_core::records::Coverage) -> Vec<Cell> {
    vec![
        t(c.applicable.to_string()),
        t(c.compliant.to_string()),
        t(c.partial.to_string()),
        t(c.non_compliant.to_string()),
        t(c.not_applicable.to_string()),
        t(c.not_started.to_string()),
        t(format!("{:.1}%", c.percent)),
    ]
}

const COVERAGE_COLS: [&str; 7] = [
    "Applicable",
    "Compliant",
    "Partial",
    "Non-compliant",
    "Not applicable",
    "Not started",
    "Assessed",
];

/// The cover block's lines.
pub(crate) fn cover(r: &Report) -> Vec<(String, String)> {
    let m = &r.meta;
    let mut c = vec![(
        "Report".to_string(),
        format!("{} ({})", m.kind.as_str(), m.id),
    )];
    if let Some(o) = &m.organisation {
        c.push(("Organisation".into(), o.clone()));
    }
    let systems = if m.scope.systems.is_empty() {
        "all systems".to_string()
    } else {
        m.scope
            .systems
            .iter()
            .map(|s| format!("{} {}", s.r#ref, s.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    c.push(("Systems".into(), systems));
    if !m.scope.catalogs.is_empty() {
        c.push(("Catalogs".into(), m.scope.catalogs.join(", ")));
    }
    if !m.scope.incidents.is_empty() {
        c.push(("Incidents".into(), m.scope.incidents.join(", ")));
    }
    if !m.scope.filters.is_empty() {
        c.push((
            "Filters".into(),
            m.scope
                .filters
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    c.push((
        "Period".into(),
        format!(
            "{} – {}",
            m.period.from.as_deref().unwrap_or("beginning"),
            m.period.to.as_deref().unwrap_or("now")
        ),
    ));
    c.push(("Generated at".into(), m.generated_at.clone()));
    c.push(("Generated by".into(), m.generated_by.clone()));
    c.push((
        "Audit head".into(),
        format!("event {} · {}", m.audit_head.seq, m.audit_head.hash),
    ));
    c.push(("Content digest".into(), format!("sha256:{}", r.digest)));
    c.push(("Verify".into(), "aigov report verify <this file>".into()));
    c
}

fn summary_section(r: &Report) -> Section {
    let s = &r.summary;
    let mut blocks = Vec::new();
    let mut facts = vec![("Risks in scope".to_string(), s.risks_total.to_string())];
    let o = &s.overdue;
    facts.push((
        "Overdue".into(),
        format!(
            "{} treatments, {} controls, {} actions, {} incident reports; {} acceptances expiring within 30 days, {} pending",
            o.treatments, o.controls, o.actions, o.incident_reports, o.acceptances_expiring, o.acceptances_pending
        ),
    ));
    if s.incidents_total > 0 || matches!(r.body, Body::Incident(_) | Body::System(_)) {
        facts.push((
            "Incidents".into(),
            format!("{} ({} open)", s.incidents_total, s.incidents_open),
        ));
    }
    blocks.push(Block::Facts(facts));
    if s.risks_total > 0 {
        blocks.push(Block::Bars(BarsView {
            title: "Open risks by grade".into(),
            bars: s
                .by_grade
                .iter()
                .map(|g| (both(&g.label), g.count, g.color.clone()))
                .collect(),
        }));
        blocks.push(Block::Subheading("Risks by status".into()));
        blocks.push(table(
            &["Status", "Risks"],
            s.by_status
                .iter()
                .map(|k| vec![t(&k.key), t(k.count.to_string())])
                .collect(),
        ));
        blocks.push(Block::Subheading("Top risks".into()));
        blocks.push(or_empty(
            table(
                &["Ref", "Title", "System", "Current", "Status"],
                s.top_risks
                    .iter()
                    .map(|x| {
                        vec![
                            t(&x.r#ref),
                            t(&x.title),
                            t(&x.system),
                            grade(r, x.current.as_deref()),
                            t(&x.status),
                        ]
                    })
                    .collect(),
            ),
            "No assessed open risks.",
        ));
    }
    if !s.coverage.is_empty() {
        blocks.push(Block::Subheading("Checklist coverage".into()));
        let mut cols = vec!["System", "Catalog"];
        cols.extend(COVERAGE_COLS);
        blocks.push(table(
            &cols,
            s.coverage
                .iter()
                .map(|c| {
                    let mut row = vec![t(&c.system), t(&c.catalog)];
                    row.extend(coverage_cells(&c.coverage));
                    row
                })
                .collect(),
        ));
    }
    Section {
        title: "Executive summary".into(),
        blocks,
    }
}

fn system_sections(r: &Report, b: &SystemBody) -> Vec<Section> {
    let mut out = Vec::new();
    let mut facts = vec![
        (
            "System".to_string(),
            format!("{} {}", b.system.r#ref, b.system.name),
        ),
        (
            "Lifecycle stage".into(),
            b.system
                .lifecycle_stage
                .clone()
                .unwrap_or_else(|| "—".into()),
        ),
        ("Methodology".into(), b.system.methodology.clone()),
    ];
    facts.extend(
        b.system
            .fields
            .iter()
            .map(|f| (f.key.clone(), f.value.clone())),
    );
    out.push(Section {
        title: "System".into(),
        blocks: vec![Block::Facts(facts)],
    });
    let h = &b.heatmap;
    let lvl = |id: &str| grade_of(r, id);
    out.push(Section {
        title: "Risks".into(),
        blocks: vec![
            Block::Heatmap(HeatView {
                title: format!("Open risks: likelihood × impact ({})", h.methodology),
                impact: h.impact.iter().map(both).collect(),
                likelihood: h.likelihood.iter().map(both).collect(),
                cells: h
                    .cells
                    .iter()
                    .map(|row| {
                        row.iter()
                            .map(|c| {
                                let (name, color) = lvl(&c.level);
                                (c.count, color, name)
                            })
                            .collect()
                    })
                    .collect(),
            }),
            or_empty(
                Block::Table(risk_table(r, &b.risks)),
                "No risks registered.",
            ),
        ],
    });
    out.push(Section {
        title: "Treatment and controls".into(),
        blocks: vec![
            Block::Subheading("Treatment decisions".into()),
            or_empty(
                table(
                    &["Risk", "Title", "Treatment", "Rationale", "Due", "Overdue"],
                    b.treatments
                        .iter()
                        .map(|x| {
                            vec![
                                t(&x.risk),
                                t(&x.title),
                                opt(&x.treatment),
                                opt(&x.rationale),
                                opt(&x.due),
                                yes(x.overdue),
                            ]
                        })
                        .collect(),
                ),
                "No risks.",
            ),
            Block::Subheading("Controls".into()),
            or_empty(
                table(
                    &[
                        "Risk",
                        "Control",
                        "Status",
                        "Implements",
                        "Due",
                        "Overdue",
                        "Evidence",
                    ],
                    b.controls
                        .iter()
                        .map(|x| {
                            vec![
                                t(&x.risk),
                                t(&x.title),
                                t(&x.status),
                                opt(&x.item),
                                opt(&x.due),
                                yes(x.overdue),
                                t(x.evidence.join(", ")),
                            ]
                        })
                        .collect(),
                ),
                "No controls recorded.",
            ),
        ],
    });
    out.push(Section {
        title: "Acceptances".into(),
        blocks: vec![or_empty(
            table(
                &[
                    "Risk",
                    "Status",
                    "Level",
                    "Approver role",
                    "Requested by",
                    "Decided by",
                    "Expires",
                    "Rationale",
                ],
                b.acceptances
                    .iter()
                    .map(|x| {
                        vec![
                            t(&x.risk),
                            t(&x.status),
                            grade(r, Some(x.level.as_str())),
                            t(&x.required_role),
                            t(&x.requested_by),
                            opt(&x.decided_by),
                            t(&x.expires_at),
                            t(&x.rationale),
                        ]
                    })
                    .collect(),
            ),
            "No acceptances requested.",
        )],
    });
    out.push(Section {
        title: "Overdue items".into(),
        blocks: vec![or_empty(
            table(
                &["Kind", "Subject", "What", "Due"],
                b.overdue
                    .iter()
                    .map(|x| vec![t(&x.kind), t(&x.subject), t(&x.title), opt(&x.due)])
                    .collect(),
            ),
            "Nothing overdue.",
        )],
    });
    out.push(Section {
        title: "Incidents".into(),
        blocks: vec![or_empty(
            Block::Table(incident_table(&b.incidents.iter().collect::<Vec<_>>())),
            "No incidents in the period.",
        )],
    });
    out.push(Section {
        title: "Evidence".into(),
        blocks: vec![or_empty(
            table(
                &[
                    "Ref",
                    "Title",
                    "Kind",
                    "sha256",
                    "Attached to",
                    "Expires",
                    "Expired",
                ],
                b.evidence
                    .iter()
                    .map(|e| {
                        vec![
                            t(&e.r#ref),
                            t(&e.title),
                            t(&e.kind),
                            opt(&e.sha256),
                            t(e.attached_to.join(", ")),
                            opt(&e.expires_on),
                            yes(e.expired),
                        ]
                    })
                    .collect(),
            ),
            "No evidence attached.",
        )],
    });
    out
}

fn compliance_sections(b: &ComplianceBody) -> Vec<Section> {
    let mut out = Vec::new();
    if b.catalogs.is_empty() {
        out.push(Section {
            title: "Compliance".into(),
            blocks: vec![Block::Para(
                "No adopted frameworks in scope. Adopt one first (aigov api POST systems/SYS-n/adoptions -d '{}').".into(),
            )],
        });
    }
    for c in &b.catalogs {
        let mut blocks = vec![Block::Facts(vec![
            (
                "Catalog".into(),
                format!("{} {}", c.catalog, both(&c.title)),
            ),
            ("Systems".into(), c.systems.join(", ")),
            (
                "Coverage".into(),
                format!(
                    "{:.1}% assessed: {} applicable, {} compliant, {} partial, {} non-compliant, {} not applicable, {} not started",
                    c.overall.percent,
                    c.overall.applicable,
                    c.overall.compliant,
                    c.overall.partial,
                    c.overall.non_compliant,
                    c.overall.not_applicable,
                    c.overall.not_started
                ),
            ),
        ])];
        blocks.push(Block::Bars(BarsView {
            title: format!("{}: items by status", c.catalog),
            bars: vec![
                ("compliant".into(), c.overall.compliant, "#2e7d32".into()),
                ("partial".into(), c.overall.partial, "#f9a825".into()),
                (
                    "non-compliant".into(),
                    c.overall.non_compliant,
                    "#c62828".into(),
                ),
                (
                    "not applicable".into(),
                    c.overall.not_applicable,
                    "#757575".into(),
                ),
                (
                    "not started".into(),
                    c.overall.not_started,
                    "#9e9e9e".into(),
                ),
            ],
        }));
        let mut cols = vec!["Section", "Title"];
        cols.extend(COVERAGE_COLS);
        blocks.push(Block::Subheading("By section".into()));
        blocks.push(table(
            &cols,
            c.sections
                .iter()
                .map(|s| {
                    let mut row = vec![t(&s.key), t(both(&s.title))];
                    row.extend(coverage_cells(&s.coverage));
                    row
                })
                .collect(),
        ));
        let mut cols = vec!["Role"];
        cols.extend(COVERAGE_COLS);
        blocks.push(Block::Subheading("By actor role".into()));
        blocks.push(table(
            &cols,
            c.roles
                .iter()
                .map(|s| {
                    let mut row = vec![t(&s.key)];
                    row.extend(coverage_cells(&s.coverage));
                    row
                })
                .collect(),
        ));
        blocks.push(Block::Subheading("Gaps".into()));
        blocks.push(or_empty(
            Block::Table(gap_table(b, Some(&c.catalog))),
            "No gaps: every applicable item is compliant or not applicable.",
        ));
        out.push(Section {
            title: format!("{} {}", c.catalog, both(&c.title)),
            blocks,
        });
    }
    out
}

fn incident_sections(r: &Report, b: &IncidentBody) -> Vec<Section> {
    let mut out = vec![Section {
        title: "Incidents".into(),
        blocks: vec![or_empty(
            Block::Table(incident_table(
                &b.incidents.iter().map(|d| &d.row).collect::<Vec<_>>(),
            )),
            "No incidents in scope.",
        )],
    }];
    for d in &b.incidents {
        let mut facts = vec![
            ("Severity".to_string(), d.row.severity.clone()),
            ("Status".into(), d.row.status.clone()),
            (
                "Occurred".into(),
                d.occurred_at.clone().unwrap_or_else(|| "—".into()),
            ),
            ("Detected".into(), d.row.detected_at.clone()),
            (
                "Reporting deadline".into(),
                format!(
                    "{}{}",
                    d.row.report_due.as_deref().unwrap_or("none"),
                    if d.row.reporting_overdue {
                        " (overdue)"
                    } else {
                        ""
                    }
                ),
            ),
            (
                "Reported".into(),
                d.row
                    .reported_at
                    .clone()
                    .unwrap_or_else(|| "not yet".into()),
            ),
            ("Systems".into(), d.systems.join(", ")),
            ("Risks".into(), d.risks.join(", ")),
            ("Root-cause risks".into(), d.root_cause_risks.join(", ")),
        ];
        for (k, v) in [
            ("Description", &d.description),
            ("Containment", &d.containment),
            ("Corrective actions", &d.corrective_actions),
            ("Root cause", &d.root_cause),
        ] {
            if !v.is_empty() {
                facts.push((k.into(), v.clone()));
            }
        }
        out.push(Section {
            title: format!("{} {}", d.row.r#ref, d.row.title),
            blocks: vec![
                Block::Facts(facts),
                Block::Subheading("Timeline".into()),
                or_empty(
                    table(
                        &["At", "Entry", "By"],
                        d.timeline
                            .iter()
                            .map(|x| vec![t(&x.at), t(&x.entry), t(&x.actor)])
                            .collect(),
                    ),
                    "No timeline entries.",
                ),
                Block::Subheading("Linked risks".into()),
                or_empty(
                    Block::Table(risk_table(r, &d.linked_risks)),
                    "No linked risks.",
                ),
            ],
        });
    }
    out
}

fn appendix_sections(r: &Report) -> Vec<Section> {
    let mut blocks = Vec::new();
    for m in &r.appendix.methodologies {
        blocks.push(Block::Subheading(format!("{} ({})", both(&m.name), m.id)));
        blocks.push(table(
            &[
                "Grade",
                "Id",
                "Acceptance approver",
                "Days to start treatment",
            ],
            m.levels
                .iter()
                .map(|l| {
                    vec![
                        Cell::Grade {
                            text: both(&l.label),
                            color: l.color.clone(),
                        },
                        t(&l.id),
                        t(&l.approver),
                        t(l.treatment_days.to_string()),
                    ]
                })
                .collect(),
        ));
        // The matrix: likelihood rows (highest first), impact columns.
        let mut cols = vec!["Likelihood \\ impact".to_string()];
        cols.extend(m.impact.iter().map(both));
        let rows = m
            .grid
            .iter()
            .enumerate()
            .rev()
            .map(|(li, row)| {
                let mut cells = vec![t(m.likelihood.get(li).map(both).unwrap_or_default())];
                cells.extend(row.iter().map(|id| grade(r, Some(id.as_str()))));
                cells
            })
            .collect();
        blocks.push(Block::Table(Table {
            columns: cols,
            rows,
        }));
    }
    blocks.push(Block::Subheading("Data sources".into()));
    blocks.push(Block::Para(r.appendix.sources.join("; ")));
    vec![Section {
        title: "Appendix: methodology and data sources".into(),
        blocks,
    }]
}

/// The whole document.
pub(crate) fn document(r: &Report) -> Doc {
    let mut sections = vec![summary_section(r)];
    sections.extend(match &r.body {
        Body::System(b) => system_sections(r, b),
        Body::Compliance(b) => compliance_sections(b),
        Body::Register(b) => vec![Section {
            title: format!("Risk register ({} risks)", b.total),
            blocks: vec![or_empty(
                Block::Table(risk_table(r, &b.risks)),
                "No risks match the filters.",
            )],
        }],
        Body::Incident(b) => incident_sections(r, b),
    });
    sections.extend(appendix_sections(r));
    Doc {
        title: r.meta.title.clone(),
        cover: cover(r),
        sections,
    }
}
