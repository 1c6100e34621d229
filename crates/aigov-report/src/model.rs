//! The report model: what a report says, independent of its format. Serialised as the JSON
//! format (field names are stable; `format_version` says which shape), embedded in HTML and
//! Markdown, and hashed for the content digest.

use std::collections::BTreeMap;

use aigov_core::audit::{canonical_json, sha256_hex};
use aigov_core::methodology::Label;
use aigov_core::records::Coverage;
use serde::{Deserialize, Serialize};

/// The shape version of the report model (bumped when a field changes meaning).
pub const FORMAT_VERSION: u32 = 1;

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A system's risk-assessment report.
    System,
    /// Framework compliance per adopted catalog: coverage and gaps.
    Compliance,
    /// The risk register, filtered.
    Register,
    /// One incident, or the incidents of a period.
    Incident,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 4] = [
        Kind::System,
        Kind::Compliance,
        Kind::Register,
        Kind::Incident,
    ];

    /// `system`, `compliance`, `register`, `incident`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::System => "system",
            Kind::Compliance => "compliance",
            Kind::Register => "register",
            Kind::Incident => "incident",
        }
    }

    /// Parses a kind name.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The cover block: what, about what, when, by whom, tied to which audit head.
    pub meta: Meta,
    /// The executive summary.
    pub summary: Summary,
    /// The kind-specific detail.
    pub body: Body,
    /// Methodology and data sources.
    pub appendix: Appendix,
    /// sha256 of the canonical JSON of this report without the `digest` field.
    pub digest: String,
}

impl Report {
    /// Computes the content digest (the model's canonical JSON without `digest`).
    pub fn compute_digest(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("digest");
        }
        sha256_hex(canonical_json(&v).as_bytes())
    }

    /// Sets [`Report::digest`].
    pub fn seal(mut self) -> Report {
        self.digest = self.compute_digest();
        self
    }
}

/// The cover block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// Report id (`rep-` + UUIDv7).
    pub id: String,
    /// Which report.
    pub kind: Kind,
    /// Title.
    pub title: String,
    /// The organisation (setting `organisation`), when set.
    pub organisation: Option<String>,
    /// What the report covers.
    pub scope: Scope,
    /// The period it covers.
    pub period: Period,
    /// When it was generated (RFC 3339, from the clock).
    pub generated_at: String,
    /// Who generated it (audit actor label).
    pub generated_by: String,
    /// The audit chain head when it was generated.
    pub audit_head: AuditHead,
    /// The program that generated it.
    pub generator: String,
}

/// What a report covers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Scope {
    /// Systems (all systems in the store when the request named none).
    pub systems: Vec<SystemRef>,
    /// Catalogs (`id@version`).
    pub catalogs: Vec<String>,
    /// Incidents (`INC-n`), for incident reports.
    pub incidents: Vec<String>,
    /// Filters as given (`status`, `level`, `owner` …).
    pub filters: BTreeMap<String, String>,
}

/// A system named in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemRef {
    /// `SYS-n`.
    #[serde(rename = "ref")]
    pub r#ref: String,
    /// Name.
    pub name: String,
}

/// A time range (RFC 3339 or dates, inclusive; open ends are `None`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Period {
    /// From.
    pub from: Option<String>,
    /// To.
    pub to: Option<String>,
}

/// The audit chain head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditHead {
    /// Last sequence number.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
}

/// The executive summary.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Risks in scope.
    pub risks_total: i64,
    /// Open (not closed) risks per current grade, in grade order; `unassessed` last.
    pub by_grade: Vec<GradeCount>,
    /// Risks per status.
    pub by_status: Vec<KeyCount>,
    /// The highest open risks (up to five).
    pub top_risks: Vec<RiskRow>,
    /// Overdue work in scope.
    pub overdue: OverdueCounts,
    /// Checklist coverage per system and adopted catalog.
    pub coverage: Vec<CoverageRow>,
    /// Incidents in scope.
    pub incidents_total: i64,
    /// Of which not closed.
    pub incidents_open: i64,
}

/// A count per grade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradeCount {
    /// Level id (`significant`), or `unassessed`.
    pub level: String,
    /// Its label.
    pub label: Label,
    /// Its colour (`#rrggbb`).
    pub color: String,
    /// How many.
    pub count: i64,
}

/// A count per key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyCount {
    /// Key.
    pub key: String,
    /// How many.
    pub count: i64,
}

/// Overdue counts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OverdueCounts {
    /// Treatments not started by their deadline.
    pub treatments: i64,
    /// Controls past due.
    pub controls: i64,
    /// Action items past due.
    pub actions: i64,
    /// Approved acceptances expiring within 30 days.
    pub acceptances_expiring: i64,
    /// Acceptance requests awaiting a decision.
    pub acceptances_pending: i64,
    /// Incidents not reported by their reporting deadline.
    pub incident_reports: i64,
}

/// Coverage of one adopted catalog on one system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageRow {
    /// `SYS-n`.
    pub system: String,
    /// `id@version`.
    pub catalog: String,
    /// Counts and percent assessed.
    pub coverage: Coverage,
}

/// A risk as reports list it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskRow {
    /// `RISK-n`.
    #[serde(rename = "ref")]
    pub r#ref: String,
    /// Title.
    pub title: String,
    /// `SYS-n`.
    pub system: String,
    /// Status.
    pub status: String,
    /// Inherent level id.
    pub inherent: Option<String>,
    /// Current level id.
    pub current: Option<String>,
    /// Residual level id.
    pub residual: Option<String>,
    /// Current likelihood (1-based).
    pub likelihood: Option<i64>,
    /// Current impact (1-based).
    pub impact: Option<i64>,
    /// Treatment decision.
    pub treatment: Option<String>,
    /// Treatment deadline.
    pub treatment_due: Option<String>,
    /// Whether treatment is overdue.
    pub treatment_overdue: bool,
    /// Owner (username).
    pub owner: Option<String>,
    /// Taxonomy items.
    pub taxonomy: Vec<String>,
}

/// The kind-specific detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// System risk assessment.
    System(Box<SystemBody>),
    /// Framework compliance.
    Compliance(ComplianceBody),
    /// Risk register.
    Register(RegisterBody),
    /// Incidents.
    Incident(IncidentBody),
}

/// A system risk-assessment report's detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemBody {
    /// The system's facts.
    pub system: SystemFacts,
    /// Open risks on the likelihood × impact grid of the system's methodology.
    pub heatmap: Heatmap,
    /// The risks with inherent, current and residual grades.
    pub risks: Vec<RiskRow>,
    /// Treatment decisions.
    pub treatments: Vec<TreatmentRow>,
    /// Controls.
    pub controls: Vec<ControlRow>,
    /// Acceptances.
    pub acceptances: Vec<AcceptanceRow>,
    /// Overdue items.
    pub overdue: Vec<OverdueRow>,
    /// Incidents affecting the system.
    pub incidents: Vec<IncidentRow>,
    /// Evidence attached to its risks, controls, checklist items and incidents.
    pub evidence: Vec<EvidenceRow>,
}

/// Facts about a system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemFacts {
    /// `SYS-n`.
    #[serde(rename = "ref")]
    pub r#ref: String,
    /// Name.
    pub name: String,
    /// Lifecycle stage.
    pub lifecycle_stage: Option<String>,
    /// Methodology id.
    pub methodology: String,
    /// Inventory fields (`key`, value as text), in field order.
    pub fields: Vec<Fact>,
}

/// A key and its value as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// A likelihood × impact grid with counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heatmap {
    /// Methodology id.
    pub methodology: String,
    /// Likelihood steps, lowest first.
    pub likelihood: Vec<Label>,
    /// Impact steps, lowest first.
    pub impact: Vec<Label>,
    /// `cells[l][i]`: likelihood `l + 1`, impact `i + 1`.
    pub cells: Vec<Vec<HeatCell>>,
}

/// One heatmap cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeatCell {
    /// The level the grid gives.
    pub level: String,
    /// Open risks currently here.
    pub count: i64,
}

/// A treatment decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreatmentRow {
    /// `RISK-n`.
    pub risk: String,
    /// Risk title.
    pub title: String,
    /// Decision (none yet when `None`).
    pub treatment: Option<String>,
    /// Rationale.
    pub rationale: Option<String>,
    /// Deadline to start.
    pub due: Option<String>,
    /// Past the deadline without a decision.
    pub overdue: bool,
}

/// A control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlRow {
    /// `RISK-n`.
    pub risk: String,
    /// Title.
    pub title: String,
    /// Status.
    pub status: String,
    /// Catalog item it implements, if any.
    pub item: Option<String>,
    /// Due date.
    pub due: Option<String>,
    /// Past due and not in place.
    pub overdue: bool,
    /// Evidence refs.
    pub evidence: Vec<String>,
}

/// An acceptance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptanceRow {
    /// `RISK-n`.
    pub risk: String,
    /// pending, approved, rejected, withdrawn, expired.
    pub status: String,
    /// The level accepted.
    pub level: String,
    /// Role whose approval it needs.
    pub required_role: String,
    /// Requested by.
    pub requested_by: String,
    /// Decided by.
    pub decided_by: Option<String>,
    /// Expiry.
    pub expires_at: String,
    /// Rationale.
    pub rationale: String,
}

/// An overdue item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverdueRow {
    /// treatment, control, action, acceptance-expiring, acceptance-pending, incident-report.
    pub kind: String,
    /// The risk (or incident) it belongs to.
    pub subject: String,
    /// What.
    pub title: String,
    /// Since when (due date, expiry or request time).
    pub due: Option<String>,
}

/// An incident in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRow {
    /// `INC-n`.
    #[serde(rename = "ref")]
    pub r#ref: String,
    /// Title.
    pub title: String,
    /// Severity.
    pub severity: String,
    /// Status.
    pub status: String,
    /// Detected at.
    pub detected_at: String,
    /// Reporting deadline.
    pub report_due: Option<String>,
    /// Reported at.
    pub reported_at: Option<String>,
    /// Not reported by its deadline.
    pub reporting_overdue: bool,
}

/// An evidence record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceRow {
    /// `EV-n`.
    #[serde(rename = "ref")]
    pub r#ref: String,
    /// Title.
    pub title: String,
    /// file or link.
    pub kind: String,
    /// sha256 of a file.
    pub sha256: Option<String>,
    /// What it is attached to.
    pub attached_to: Vec<String>,
    /// Expiry date.
    pub expires_on: Option<String>,
    /// Expired.
    pub expired: bool,
}

/// A framework compliance report's detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceBody {
    /// One entry per adopted catalog in scope.
    pub catalogs: Vec<CatalogCompliance>,
}

/// Compliance with one catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogCompliance {
    /// `id@version`.
    pub catalog: String,
    /// Catalog title.
    pub title: Label,
    /// Systems that adopted it.
    pub systems: Vec<String>,
    /// Coverage over every applicable item of those systems.
    pub overall: Coverage,
    /// Coverage per top-level section.
    pub sections: Vec<Bucket>,
    /// Coverage per actor role (`role:` tags on the item or its ancestors; `all` when none).
    pub roles: Vec<Bucket>,
    /// Items not compliant, partly compliant or not started.
    pub gaps: Vec<GapRow>,
}

/// Coverage of a group of items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Section ref or role name.
    pub key: String,
    /// Section title (empty for roles).
    pub title: Label,
    /// Counts.
    pub coverage: Coverage,
}

/// A compliance gap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GapRow {
    /// `SYS-n`.
    pub system: String,
    /// Item ref.
    pub item: String,
    /// Item title.
    pub title: Label,
    /// not-started, partial or non-compliant.
    pub status: String,
    /// Owner (username).
    pub owner: Option<String>,
    /// Notes.
    pub notes: String,
}

/// A register report's detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterBody {
    /// Risks matching the filters.
    pub total: i64,
    /// The risks, by ref.
    pub risks: Vec<RiskRow>,
}

/// An incident report's detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentBody {
    /// The incidents, newest detection first.
    pub incidents: Vec<IncidentDetail>,
}

/// One incident in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentDetail {
    /// The row.
    #[serde(flatten)]
    pub row: IncidentRow,
    /// Occurred at.
    pub occurred_at: Option<String>,
    /// Description.
    pub description: String,
    /// Affected systems.
    pub systems: Vec<String>,
    /// Linked risks.
    pub risks: Vec<String>,
    /// Root-cause risks.
    pub root_cause_risks: Vec<String>,
    /// Containment.
    pub containment: String,
    /// Corrective actions.
    pub corrective_actions: String,
    /// Root cause.
    pub root_cause: String,
    /// Timeline, oldest first.
    pub timeline: Vec<TimelineRow>,
    /// The linked and root-cause risks with their grades.
    pub linked_risks: Vec<RiskRow>,
}

/// A timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineRow {
    /// When.
    pub at: String,
    /// What.
    pub entry: String,
    /// Who recorded it.
    pub actor: String,
}

/// Methodology and data sources.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Appendix {
    /// The methodologies the report's grades come from.
    pub methodologies: Vec<MethodologyAppendix>,
    /// Where the data came from.
    pub sources: Vec<String>,
}

/// A methodology: scales, grid and grade definitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodologyAppendix {
    /// Id.
    pub id: String,
    /// Name.
    pub name: Label,
    /// Likelihood steps.
    pub likelihood: Vec<Label>,
    /// Impact steps.
    pub impact: Vec<Label>,
    /// `grid[l][i]` = level id.
    pub grid: Vec<Vec<String>>,
    /// The grades.
    pub levels: Vec<LevelDef>,
}

/// A grade definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelDef {
    /// Id.
    pub id: String,
    /// Label.
    pub label: Label,
    /// Colour.
    pub color: String,
    /// Role that approves an acceptance at this level.
    pub approver: String,
    /// Days to start treatment.
    pub treatment_days: i64,
}
