//! The governance loop's objects: checklist statuses, risks (`RISK-n`) and their status
//! machine, assessments with their basis, treatment, controls, action items, acceptances,
//! incidents (`INC-n`) and evidence — as inputs with validation and as records.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::FieldError;
use crate::grading::Answers;

use crate::inventory::kebab_enum as words;

words!(
    /// The status of a checklist item.
    ChecklistStatus {
        /// Not assessed yet.
        NotStarted = "not-started",
        /// Met.
        Compliant = "compliant",
        /// Partly met.
        Partial = "partial",
        /// Not met.
        NonCompliant = "non-compliant",
        /// Does not apply (a justification is required).
        NotApplicable = "not-applicable",
    }
);

words!(
    /// Where a risk is in its life.
    RiskStatus {
        /// Recorded, not assessed yet.
        Identified = "identified",
        /// Assessed.
        Assessed = "assessed",
        /// A treatment (mitigate, avoid, transfer) is under way.
        Treating = "treating",
        /// Accepted by an approver, until the acceptance expires.
        Accepted = "accepted",
        /// Closed, with a reason.
        Closed = "closed",
    }
);

words!(
    /// Which assessment.
    AssessmentKind {
        /// Before any treatment.
        Inherent = "inherent",
        /// Now, with the controls in place.
        Current = "current",
        /// Expected after the planned treatment.
        Residual = "residual",
    }
);

words!(
    /// What an assessment rests on.
    Basis {
        /// A judgement, with its rationale.
        Judgement = "judgement",
        /// Evidence: a probe run, a scan, an incident or an evidence record.
        Evidence = "evidence",
    }
);

words!(
    /// What kind of evidence an assessment cites.
    EvidenceType {
        /// A probe run (its run directory or id).
        ProbeRun = "probe-run",
        /// A corpus or model scan.
        Scan = "scan",
        /// An incident (`INC-n`).
        Incident = "incident",
        /// An evidence record (`EV-n`).
        Evidence = "evidence",
    }
);

words!(
    /// The treatment decision.
    Treatment {
        /// Reduce likelihood or impact with controls.
        Mitigate = "mitigate",
        /// Stop the activity that causes the risk.
        Avoid = "avoid",
        /// Share it (insurance, contract).
        Transfer = "transfer",
        /// Accept it (needs an approved acceptance).
        Accept = "accept",
    }
);

words!(
    /// A control's state.
    ControlStatus {
        /// Planned.
        Planned = "planned",
        /// Being put in place.
        InProgress = "in-progress",
        /// In place.
        Implemented = "implemented",
        /// In place and verified (e.g. by a passing re-test).
        Verified = "verified",
    }
);

words!(
    /// How well a control works.
    Effectiveness {
        /// Not assessed.
        NotAssessed = "not-assessed",
        /// Does not reduce the risk.
        Ineffective = "ineffective",
        /// Reduces it somewhat.
        Partial = "partial",
        /// Works.
        Effective = "effective",
    }
);

words!(
    /// An acceptance request's state.
    AcceptanceStatus {
        /// Waiting for a decision.
        Pending = "pending",
        /// Approved; the risk is accepted until `expires_at`.
        Approved = "approved",
        /// Rejected.
        Rejected = "rejected",
        /// Was approved; its time ran out and the risk reopened.
        Expired = "expired",
        /// Withdrawn by the requester, or revoked.
        Withdrawn = "withdrawn",
    }
);

words!(
    /// Incident severity.
    Severity {
        /// Low.
        Low = "low",
        /// Medium.
        Medium = "medium",
        /// High.
        High = "high",
        /// Critical.
        Critical = "critical",
    }
);

words!(
    /// Incident state.
    IncidentStatus {
        /// Open.
        Open = "open",
        /// Contained.
        Contained = "contained",
        /// Resolved, awaiting the close-out review.
        Resolved = "resolved",
        /// Closed after review.
        Closed = "closed",
    }
);

fn text(e: &mut Vec<FieldError>, field: &str, v: &str, min: usize, max: usize) {
    let n = v.chars().count();
    if n < min || (min > 0 && v.trim().is_empty()) {
        e.push(FieldError::new(field, "must not be empty"));
    } else if n > max {
        e.push(FieldError::new(
            field,
            format!("must have at most {max} characters (has {n})"),
        ));
    }
}

/// Checks a `YYYY-MM-DD` date.
pub fn check_date(e: &mut Vec<FieldError>, field: &str, v: &Option<String>) {
    if let Some(d) = v {
        let ok = d.len() == 10
            && time::Date::parse(
                d,
                &time::macros::format_description!("[year]-[month]-[day]"),
            )
            .is_ok();
        if !ok {
            e.push(FieldError::new(field, "must be a date YYYY-MM-DD"));
        }
    }
}

/// Checks an RFC 3339 time.
pub fn check_time(e: &mut Vec<FieldError>, field: &str, v: &Option<String>) {
    if let Some(t) = v
        && crate::Timestamp::parse(t).is_err()
    {
        e.push(FieldError::new(
            field,
            "must be an RFC 3339 time such as 2026-11-21T10:00:00Z",
        ));
    }
}

/// A risk as a user writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskInput {
    /// Short title.
    pub title: String,
    /// What could happen.
    #[serde(default)]
    pub description: String,
    /// Why it could happen.
    #[serde(default)]
    pub cause: String,
    /// What it would lead to.
    #[serde(default)]
    pub consequence: String,
    /// Lifecycle stage where it arises (kebab-case stage name).
    #[serde(default)]
    pub stage: Option<String>,
    /// The owning user's id.
    #[serde(default)]
    pub owner_id: Option<String>,
    /// Taxonomy items, as `catalog@version:ref`.
    #[serde(default)]
    pub taxonomy: Vec<String>,
    /// Explicitly not mapped to any taxonomy item (required when `taxonomy` is empty).
    #[serde(default)]
    pub unmapped: bool,
}

impl RiskInput {
    /// Field checks that need no store (citations are resolved by the store).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        text(&mut e, "title", &self.title, 1, 300);
        text(&mut e, "description", &self.description, 0, 10_000);
        text(&mut e, "cause", &self.cause, 0, 5_000);
        text(&mut e, "consequence", &self.consequence, 0, 5_000);
        if let Some(s) = &self.stage
            && crate::inventory::Stage::parse(s).is_none()
        {
            e.push(FieldError::new(
                "stage",
                format!("must be one of {}", crate::inventory::Stage::expected()),
            ));
        }
        if self.taxonomy.is_empty() && !self.unmapped {
            e.push(FieldError::new("taxonomy", "map the risk to at least one taxonomy item (catalog@version:ref), or set unmapped: true"));
        }
        if !self.taxonomy.is_empty() && self.unmapped {
            e.push(FieldError::new(
                "unmapped",
                "cannot be true when taxonomy items are given",
            ));
        }
        e
    }
}

/// A piece of evidence an assessment rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceRef {
    /// Kind.
    #[serde(rename = "type")]
    pub kind: EvidenceType,
    /// Its reference: a run directory or id, a scan id, `INC-n`, `EV-n`.
    #[serde(rename = "ref")]
    pub r#ref: String,
    /// What it shows.
    #[serde(default)]
    pub note: Option<String>,
}

/// A new assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssessmentInput {
    /// Which assessment.
    pub kind: AssessmentKind,
    /// Likelihood (1-based on the system's methodology).
    #[serde(default)]
    pub likelihood: Option<usize>,
    /// Impact (1-based).
    #[serde(default)]
    pub impact: Option<usize>,
    /// Instead of likelihood × impact: the grading questionnaire's answers.
    #[serde(default)]
    pub questionnaire: Option<Answers>,
    /// What it rests on.
    pub basis: Basis,
    /// Why (required for a judgement).
    #[serde(default)]
    pub rationale: String,
    /// The evidence (required for an evidence basis).
    #[serde(default)]
    pub evidence: Vec<EvidenceRef>,
}

impl AssessmentInput {
    /// Checks against scales of `nl` × `ni` steps.
    pub fn validate(&self, nl: usize, ni: usize) -> Vec<FieldError> {
        let mut e = Vec::new();
        match (self.likelihood, self.impact, &self.questionnaire) {
            (Some(l), Some(i), None) => {
                if !(1..=nl).contains(&l) {
                    e.push(FieldError::new(
                        "likelihood",
                        format!("must be 1 to {nl} on this methodology"),
                    ));
                }
                if !(1..=ni).contains(&i) {
                    e.push(FieldError::new(
                        "impact",
                        format!("must be 1 to {ni} on this methodology"),
                    ));
                }
            }
            (None, None, Some(_)) => {}
            (_, _, Some(_)) => e.push(FieldError::new(
                "questionnaire",
                "give either likelihood and impact or questionnaire answers, not both",
            )),
            _ => e.push(FieldError::new(
                "likelihood",
                "give likelihood and impact (or questionnaire answers)",
            )),
        }
        text(&mut e, "rationale", &self.rationale, 0, 10_000);
        match self.basis {
            Basis::Judgement if self.rationale.trim().is_empty() => e.push(FieldError::new(
                "rationale",
                "a judgement needs its rationale",
            )),
            Basis::Evidence if self.evidence.is_empty() => e.push(FieldError::new(
                "evidence",
                "an evidence basis cites at least one probe run, scan, incident or evidence record",
            )),
            _ => {}
        }
        for (i, r) in self.evidence.iter().enumerate() {
            if r.r#ref.trim().is_empty() || r.r#ref.len() > 1000 {
                e.push(FieldError::new(
                    format!("evidence[{i}].ref"),
                    "must have 1 to 1000 characters",
                ));
            }
        }
        e
    }
}

/// A control as a user writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ControlInput {
    /// The catalog measure or control it implements (`tc260-aisgf@1.0:4.2.1(a)`); none for
    /// the user's own.
    #[serde(default)]
    pub source: Option<String>,
    /// Title (defaults to the source item's title).
    #[serde(default)]
    pub title: String,
    /// What is done.
    #[serde(default)]
    pub description: String,
    /// Owner's user id.
    #[serde(default)]
    pub owner_id: Option<String>,
    /// State.
    #[serde(default = "planned")]
    pub status: ControlStatus,
    /// Due (YYYY-MM-DD).
    #[serde(default)]
    pub due_date: Option<String>,
    /// Notes.
    #[serde(default)]
    pub notes: String,
    /// How well it works.
    #[serde(default = "not_assessed")]
    pub effectiveness: Effectiveness,
}

fn planned() -> ControlStatus {
    ControlStatus::Planned
}

fn not_assessed() -> Effectiveness {
    Effectiveness::NotAssessed
}

impl ControlInput {
    /// Field checks.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        if self.source.is_none() {
            text(&mut e, "title", &self.title, 1, 300);
        } else {
            text(&mut e, "title", &self.title, 0, 300);
        }
        text(&mut e, "description", &self.description, 0, 10_000);
        text(&mut e, "notes", &self.notes, 0, 10_000);
        check_date(&mut e, "due_date", &self.due_date);
        e
    }
}

/// An action item as a user writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionInput {
    /// What to do.
    pub title: String,
    /// The control it belongs to, if any.
    #[serde(default)]
    pub control_id: Option<String>,
    /// Owner's user id.
    #[serde(default)]
    pub owner_id: Option<String>,
    /// Due (YYYY-MM-DD).
    #[serde(default)]
    pub due_date: Option<String>,
    /// Done.
    #[serde(default)]
    pub done: bool,
}

impl ActionInput {
    /// Field checks.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        text(&mut e, "title", &self.title, 1, 500);
        check_date(&mut e, "due_date", &self.due_date);
        e
    }
}

/// An incident as a user writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentInput {
    /// Short title.
    pub title: String,
    /// What happened.
    #[serde(default)]
    pub description: String,
    /// Severity.
    pub severity: Severity,
    /// When it happened (RFC 3339).
    #[serde(default)]
    pub occurred_at: Option<String>,
    /// When it was detected (RFC 3339); the reporting clock starts here.
    pub detected_at: String,
    /// When it was reported to whom it must be (RFC 3339).
    #[serde(default)]
    pub reported_at: Option<String>,
    /// Affected systems (ids or refs).
    #[serde(default)]
    pub systems: Vec<String>,
    /// Affected risks (ids or refs).
    #[serde(default)]
    pub risks: Vec<String>,
    /// Containment taken.
    #[serde(default)]
    pub containment: String,
    /// Corrective actions.
    #[serde(default)]
    pub corrective_actions: String,
    /// Root cause.
    #[serde(default)]
    pub root_cause: String,
    /// Risks the root cause is linked to (ids or refs).
    #[serde(default)]
    pub root_cause_risks: Vec<String>,
    /// State.
    #[serde(default = "open")]
    pub status: IncidentStatus,
}

fn open() -> IncidentStatus {
    IncidentStatus::Open
}

impl IncidentInput {
    /// Field checks.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        text(&mut e, "title", &self.title, 1, 300);
        text(&mut e, "description", &self.description, 0, 20_000);
        for (f, v) in [
            ("containment", &self.containment),
            ("corrective_actions", &self.corrective_actions),
            ("root_cause", &self.root_cause),
        ] {
            text(&mut e, f, v, 0, 20_000);
        }
        check_time(&mut e, "occurred_at", &self.occurred_at);
        check_time(&mut e, "detected_at", &Some(self.detected_at.clone()));
        check_time(&mut e, "reported_at", &self.reported_at);
        if let (Some(o), Ok(d)) = (
            self.occurred_at
                .as_deref()
                .and_then(|o| crate::Timestamp::parse(o).ok()),
            crate::Timestamp::parse(&self.detected_at),
        ) && o > d
        {
            e.push(FieldError::new("occurred_at", "is after detected_at"));
        }
        if self.status == IncidentStatus::Closed {
            e.push(FieldError::new(
                "status",
                "close an incident with its close-out review (POST …/close)",
            ));
        }
        e
    }
}

/// The close-out review of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CloseOut {
    /// What happened and how it was handled.
    pub summary: String,
    /// What was learned.
    #[serde(default)]
    pub lessons: String,
    /// Whether the reporting obligations were met.
    #[serde(default)]
    pub reporting_met: Option<bool>,
}

/// An evidence link or file description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceInput {
    /// Title.
    pub title: String,
    /// What it shows.
    #[serde(default)]
    pub description: String,
    /// For links: the URL.
    #[serde(default)]
    pub url: Option<String>,
    /// From when it is valid (YYYY-MM-DD; defaults to today).
    #[serde(default)]
    pub effective_date: Option<String>,
    /// Until when (YYYY-MM-DD); expired evidence is flagged wherever it is used.
    #[serde(default)]
    pub expires_on: Option<String>,
}

impl EvidenceInput {
    /// Field checks (`file` says whether the content is an uploaded file).
    pub fn validate(&self, file: bool) -> Vec<FieldError> {
        let mut e = Vec::new();
        text(&mut e, "title", &self.title, 1, 300);
        text(&mut e, "description", &self.description, 0, 10_000);
        match (&self.url, file) {
            (Some(u), false) => crate::inventory::check_url(&mut e, "url", u),
            (None, false) => e.push(FieldError::new(
                "url",
                "a link needs its URL (or upload a file)",
            )),
            (Some(_), true) => e.push(FieldError::new("url", "an uploaded file takes no URL")),
            (None, true) => {}
        }
        check_date(&mut e, "effective_date", &self.effective_date);
        check_date(&mut e, "expires_on", &self.expires_on);
        if let (Some(a), Some(b)) = (&self.effective_date, &self.expires_on)
            && b < a
        {
            e.push(FieldError::new("expires_on", "is before effective_date"));
        }
        e
    }
}

/// Whether a status change is allowed by hand (the loop also moves statuses itself: an
/// assessment makes an identified risk `assessed`, a treatment decision makes it `treating`,
/// an approved acceptance makes it `accepted`, an expired one reopens it).
pub fn manual_transition(from: RiskStatus, to: RiskStatus) -> Result<(), String> {
    use RiskStatus::*;
    match (from, to) {
        (a, b) if a == b => Err(format!("the risk is already {a}")),
        (_, Closed) => Ok(()),
        (Closed, Identified | Assessed) => Ok(()),
        (_, Accepted) => {
            Err("a risk is accepted only through an approved acceptance request".into())
        }
        (_, Treating) => Err(
            "a risk starts treating when a treatment (mitigate, avoid, transfer) is decided".into(),
        ),
        (_, Assessed) => Err("a risk becomes assessed with its first assessment".into()),
        (a, b) => Err(format!("a risk cannot go from {a} to {b} by hand")),
    }
}

/// A loose JSON record helper for stored rows.
pub fn json_list(v: &[String]) -> Value {
    Value::Array(v.iter().map(|s| Value::String(s.clone())).collect())
}
