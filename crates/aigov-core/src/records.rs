//! Stored records as the API and the CLI return them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::access::Role;
use crate::inventory::{LinkRel, ObjectKind, Stage};

/// A user (never with the password hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// Id.
    pub id: String,
    /// Login name (lowercase).
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Role.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "risk_manager"))]
    pub role: Role,
    /// Disabled users cannot log in; their sessions and tokens stop working.
    pub disabled: bool,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Created.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
}

/// An API token's metadata (the secret is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiToken {
    /// Id (also the token's public prefix).
    pub id: String,
    /// What it is for.
    pub name: String,
    /// The role it acts with.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "viewer"))]
    pub role: Role,
    /// The owning user.
    pub user_id: String,
    /// The owning user's name.
    pub username: String,
    /// Created.
    pub created_at: String,
    /// Expires.
    pub expires_at: String,
    /// Revoked, if it was.
    pub revoked_at: Option<String>,
    /// Last used (updated at most once a minute).
    pub last_used_at: Option<String>,
}

/// An inventory object: system, model, dataset, vendor or endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Record {
    /// Id.
    pub id: String,
    /// Human ref (`SYS-12`).
    #[serde(rename = "ref")]
    pub r#ref: String,
    /// Kind.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "system"))]
    pub kind: ObjectKind,
    /// Optimistic-concurrency version (also the ETag).
    pub version: i64,
    /// The fields as written (see the kind's input schema).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: Value,
    /// Systems only: the lifecycle stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "deploy"))]
    pub lifecycle_stage: Option<Stage>,
    /// Endpoints only: whether a stored secret exists (the secret is never returned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_secret: Option<bool>,
    /// Created.
    pub created_at: String,
    /// Creator.
    pub created_by: String,
    /// Last changed.
    pub updated_at: String,
    /// Last changed by.
    pub updated_by: String,
}

/// A recorded lifecycle stage change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageChange {
    /// Id.
    pub id: String,
    /// The system.
    pub system_id: String,
    /// From (None when the system was created).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub from_stage: Option<Stage>,
    /// To.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub to_stage: Stage,
    /// Why.
    pub reason: String,
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
}

/// A link between two inventory objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Link {
    /// Id.
    pub id: String,
    /// From kind.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub from_kind: ObjectKind,
    /// From id.
    pub from_id: String,
    /// Relation.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "uses"))]
    pub rel: LinkRel,
    /// To kind.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub to_kind: ObjectKind,
    /// To id.
    pub to_id: String,
    /// Created.
    pub created_at: String,
    /// Creator.
    pub created_by: String,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Items matching the filters, on all pages.
    pub total: i64,
    /// Page size.
    pub limit: i64,
    /// Items skipped.
    pub offset: i64,
}

/// A checklist's progress.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Coverage {
    /// Items that apply.
    pub applicable: i64,
    /// Of those: not started.
    pub not_started: i64,
    /// Compliant.
    pub compliant: i64,
    /// Partial.
    pub partial: i64,
    /// Non-compliant.
    pub non_compliant: i64,
    /// Marked not applicable (with a justification).
    pub not_applicable: i64,
    /// Percent of applicable items with a status other than not-started.
    pub percent: f64,
}

impl Coverage {
    /// Adds one item's status.
    pub fn add(&mut self, status: &str) {
        self.applicable += 1;
        match status {
            "compliant" => self.compliant += 1,
            "partial" => self.partial += 1,
            "non-compliant" => self.non_compliant += 1,
            "not-applicable" => self.not_applicable += 1,
            _ => self.not_started += 1,
        }
        self.percent = if self.applicable == 0 {
            0.0
        } else {
            ((self.applicable - self.not_started) as f64 * 1000.0 / self.applicable as f64).round()
                / 10.0
        };
    }
}

/// Coverage of one group of checklist items (a section of the catalog, or an actor role).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupCoverage {
    /// The section's ref (its top-level item) or the role (`model-developer`, …).
    pub key: String,
    /// The section's title (`{zh, en}`); null for roles.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub title: Value,
    /// Progress of the group's applicable items.
    pub coverage: Coverage,
}

/// Checklist coverage of one adopted catalog: overall, per top-level section and per actor
/// role (`role:` tags on an item or its ancestors; items with none count under `all`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoverageBreakdown {
    /// `catalog@version`.
    pub catalog: String,
    /// All applicable items.
    pub overall: Coverage,
    /// Per top-level section, in catalog order.
    pub by_section: Vec<GroupCoverage>,
    /// Per actor role, by name.
    pub by_role: Vec<GroupCoverage>,
}

/// A catalog adopted by a system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Adoption {
    /// Id.
    pub id: String,
    /// The system.
    pub system_id: String,
    /// `catalog@version`.
    pub catalog: String,
    /// Why it was adopted (`{zh, en}`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub reason: Value,
    /// When.
    pub created_at: String,
    /// By whom.
    pub created_by: String,
    /// Progress of its checklist.
    pub coverage: Coverage,
}

/// Evidence as shown where it is used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceSummary {
    /// Id.
    pub id: String,
    /// `EV-n`.
    #[serde(rename = "ref")]
    pub r#ref: String,
    /// Title.
    pub title: String,
    /// Past its expiry date.
    pub expired: bool,
}

/// One item of a checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChecklistItem {
    /// Id.
    pub id: String,
    /// The adoption.
    pub adoption_id: String,
    /// `catalog@version`.
    pub catalog: String,
    /// The item's ref.
    pub item_ref: String,
    /// The item's kind.
    pub kind: String,
    /// The item's title.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub title: Value,
    /// Whether it applies to the system.
    pub applies: bool,
    /// Why it applies or not (`{zh, en, facts}`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub reason: Value,
    /// Status.
    pub status: String,
    /// Why it is not applicable, when so marked.
    pub justification: String,
    /// Owner.
    pub owner_id: Option<String>,
    /// Notes.
    pub notes: String,
    /// Evidence attached.
    pub evidence: Vec<EvidenceSummary>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Last changed.
    pub updated_at: String,
    /// By.
    pub updated_by: String,
}

/// A candidate risk raised by a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Candidate {
    /// Id.
    pub id: String,
    /// The system.
    pub system_id: String,
    /// The rule that raised it.
    pub rule_id: String,
    /// The taxonomy item (`catalog@version:ref`).
    pub item: String,
    /// Its title.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub item_title: Value,
    /// The rule's reason (`{zh, en}`).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub reason: Value,
    /// The facts that made the rule hold.
    pub facts: Vec<String>,
    /// `pending`, `accepted` or `rejected`.
    pub status: String,
    /// Why it was accepted or rejected.
    pub decision_reason: Option<String>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<String>,
    /// The risk created on acceptance.
    pub risk_id: Option<String>,
    /// When raised.
    pub created_at: String,
}

/// A risk in the register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Risk {
    /// Id.
    pub id: String,
    /// `RISK-n`.
    #[serde(rename = "ref")]
    pub r#ref: String,
    /// The system.
    pub system_id: String,
    /// The system's ref.
    pub system_ref: String,
    /// The fields as written (title, description, cause, consequence, stage, owner, taxonomy).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: Value,
    /// Status.
    pub status: String,
    /// Treatment decision.
    pub treatment: Option<String>,
    /// Why.
    pub treatment_rationale: Option<String>,
    /// Level of the latest inherent assessment.
    pub inherent_level: Option<String>,
    /// Level of the latest current assessment.
    pub current_level: Option<String>,
    /// Level of the latest residual assessment.
    pub residual_level: Option<String>,
    /// Likelihood of the latest current assessment.
    pub current_likelihood: Option<i64>,
    /// Impact of the latest current assessment.
    pub current_impact: Option<i64>,
    /// When it was last assessed.
    pub assessed_at: Option<String>,
    /// Treatment must start by (from the level's appetite).
    pub treatment_due: Option<String>,
    /// Past `treatment_due` without a treatment decision.
    pub treatment_overdue: bool,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Created.
    pub created_at: String,
    /// By.
    pub created_by: String,
    /// Changed.
    pub updated_at: String,
    /// By.
    pub updated_by: String,
}

/// One assessment (the history keeps them all).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assessment {
    /// Id.
    pub id: String,
    /// The risk.
    pub risk_id: String,
    /// inherent, current or residual.
    pub kind: String,
    /// Likelihood.
    pub likelihood: Option<i64>,
    /// Impact.
    pub impact: Option<i64>,
    /// Level id.
    pub level: String,
    /// Methodology used.
    pub methodology_id: String,
    /// judgement or evidence (or regrade).
    pub basis: String,
    /// Why.
    pub rationale: String,
    /// Evidence cited.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub evidence: Value,
    /// Questionnaire answers and the grade's reasons, if used.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub questionnaire: Option<Value>,
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
}

/// A control on a risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Control {
    /// Id.
    pub id: String,
    /// The risk.
    pub risk_id: String,
    /// The fields as written.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: Value,
    /// Past due and not implemented.
    pub overdue: bool,
    /// Evidence attached.
    pub evidence: Vec<EvidenceSummary>,
    /// Version.
    pub version: i64,
    /// Created.
    pub created_at: String,
    /// By.
    pub created_by: String,
    /// Changed.
    pub updated_at: String,
    /// By.
    pub updated_by: String,
}

/// An action item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Action {
    /// Id.
    pub id: String,
    /// The risk.
    pub risk_id: String,
    /// The control, if any.
    pub control_id: Option<String>,
    /// What.
    pub title: String,
    /// Owner.
    pub owner_id: Option<String>,
    /// Due.
    pub due_date: Option<String>,
    /// Done.
    pub done: bool,
    /// Past due and not done.
    pub overdue: bool,
    /// Version.
    pub version: i64,
    /// Changed.
    pub updated_at: String,
}

/// A risk-acceptance request and its decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Acceptance {
    /// Id.
    pub id: String,
    /// The risk.
    pub risk_id: String,
    /// pending, approved, rejected, expired, withdrawn.
    pub status: String,
    /// Why accept.
    pub rationale: String,
    /// The risk's level when requested.
    pub level: String,
    /// The role that must approve.
    pub required_role: String,
    /// Requested by.
    pub requested_by: String,
    /// When.
    pub requested_at: String,
    /// The acceptance lapses then (the risk reopens).
    pub expires_at: String,
    /// Decided by.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<String>,
    /// Decision note.
    pub decision_note: Option<String>,
    /// The risk and its assessments frozen at the decision.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub snapshot: Option<Value>,
}

/// An incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Incident {
    /// Id.
    pub id: String,
    /// `INC-n`.
    #[serde(rename = "ref")]
    pub r#ref: String,
    /// The fields as written.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: Value,
    /// Reporting deadline (from the severity's rule), if any.
    pub report_due: Option<String>,
    /// Not reported and past the deadline.
    pub reporting_overdue: bool,
    /// The close-out review.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub review: Option<Value>,
    /// Timeline entries, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// Evidence attached.
    pub evidence: Vec<EvidenceSummary>,
    /// Version.
    pub version: i64,
    /// Created.
    pub created_at: String,
    /// By.
    pub created_by: String,
    /// Changed.
    pub updated_at: String,
    /// By.
    pub updated_by: String,
}

/// A timeline entry of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    /// Id.
    pub id: String,
    /// When it happened.
    pub at: String,
    /// What.
    pub entry: String,
    /// Recorded by.
    pub actor: String,
}

/// An evidence record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvidenceRecord {
    /// Id.
    pub id: String,
    /// `EV-n`.
    #[serde(rename = "ref")]
    pub r#ref: String,
    /// `file` or `link`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// What it shows.
    pub description: String,
    /// sha256 of the file.
    pub sha256: Option<String>,
    /// Size in bytes.
    pub size: Option<i64>,
    /// Media type.
    pub media_type: Option<String>,
    /// Original file name.
    pub file_name: Option<String>,
    /// URL of a link.
    pub url: Option<String>,
    /// Valid from.
    pub effective_date: String,
    /// Valid until.
    pub expires_on: Option<String>,
    /// Past `expires_on`.
    pub expired: bool,
    /// Where it is attached: `type:id`.
    pub attached_to: Vec<String>,
    /// Created.
    pub created_at: String,
    /// By.
    pub created_by: String,
}

/// Why a stage change is blocked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Blocker {
    /// The gate condition.
    pub condition: String,
    /// What fails it.
    pub message: String,
}
