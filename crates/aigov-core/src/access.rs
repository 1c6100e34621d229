//! Roles and the permission matrix: the one place that says who may do what.
//!
//! The server maps every endpoint to a [`Perm`] and asks [`allowed`]; tests walk every
//! endpoint with every role against this table. Token scoping derives from it too: a role
//! *covers* another when it holds every permission the other holds.

use serde::{Deserialize, Serialize};

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users and tokens of others.
    Admin,
    /// Runs the risk programme: inventory, catalogs, risks, methodologies, gates, approvals.
    RiskManager,
    /// Identifies and assesses risks, fills in checklists, records incidents; reads the
    /// inventory.
    Assessor,
    /// Registers and maintains AI systems and their components; fills in checklists, records
    /// incidents and evidence, asks for acceptance.
    Contributor,
    /// Reads (not the audit log).
    Viewer,
    /// Reads everything including the audit log; changes nothing.
    Auditor,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::RiskManager,
        Role::Assessor,
        Role::Contributor,
        Role::Viewer,
        Role::Auditor,
    ];

    /// The name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::RiskManager => "risk_manager",
            Role::Assessor => "assessor",
            Role::Contributor => "contributor",
            Role::Viewer => "viewer",
            Role::Auditor => "auditor",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role holds every permission of `other`.
    pub fn covers(self, other: Role) -> bool {
        Perm::ALL
            .iter()
            .all(|&p| !allowed(other, p) || allowed(self, p))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::parse(s).ok_or_else(|| {
            format!(
                "unknown role {s:?} (expected one of {})",
                Role::ALL.map(|r| r.as_str()).join(", ")
            )
        })
    }
}

/// A permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Perm {
    /// Read catalogs and crosswalks.
    CatalogRead,
    /// Import catalogs and mapping sets.
    CatalogImport,
    /// Read AI systems, models, datasets, vendors, endpoints and links.
    InventoryRead,
    /// Create and edit inventory objects and links; import inventory.
    InventoryWrite,
    /// Delete inventory objects.
    InventoryDelete,
    /// Move a system between lifecycle stages.
    InventoryStage,
    /// See users (names and roles).
    UserRead,
    /// Create users, change roles, disable, reset others' passwords.
    UserManage,
    /// Create and revoke one's own API tokens.
    TokenOwn,
    /// See and revoke everyone's tokens.
    TokenManage,
    /// Read, verify and export the audit log.
    AuditRead,
    /// Read risks, checklists, methodologies, incidents, evidence, gates and the dashboard.
    RiskRead,
    /// Register and edit risks; run identification and decide candidates; decide treatment;
    /// manage controls and action items; change a risk's status by hand.
    RiskWrite,
    /// Record assessments (inherent, current, residual).
    RiskAssess,
    /// Adopt frameworks and fill in checklists.
    ChecklistWrite,
    /// Ask for a risk to be accepted, or withdraw the request.
    AcceptanceRequest,
    /// Decide acceptance requests (the risk's level may require a higher role still).
    AcceptanceDecide,
    /// Record and edit incidents.
    IncidentWrite,
    /// Upload, link, attach and delete evidence.
    EvidenceWrite,
    /// Create and import methodologies; switch a system's methodology.
    MethodologyManage,
    /// Change stage gates and incident reporting rules.
    SettingsManage,
    /// Move a system past a blocking stage gate, with a reason.
    GateOverride,
    /// Generate reports (read-only views; each generation is recorded in the audit log).
    ReportGenerate,
}

impl Perm {
    /// Every permission.
    pub const ALL: [Perm; 23] = [
        Perm::CatalogRead,
        Perm::CatalogImport,
        Perm::InventoryRead,
        Perm::InventoryWrite,
        Perm::InventoryDelete,
        Perm::InventoryStage,
        Perm::UserRead,
        Perm::UserManage,
        Perm::TokenOwn,
        Perm::TokenManage,
        Perm::AuditRead,
        Perm::RiskRead,
        Perm::RiskWrite,
        Perm::RiskAssess,
        Perm::ChecklistWrite,
        Perm::AcceptanceRequest,
        Perm::AcceptanceDecide,
        Perm::IncidentWrite,
        Perm::EvidenceWrite,
        Perm::MethodologyManage,
        Perm::SettingsManage,
        Perm::GateOverride,
        Perm::ReportGenerate,
    ];

    /// The name (`inventory_write`).
    pub fn as_str(self) -> &'static str {
        match self {
            Perm::CatalogRead => "catalog_read",
            Perm::CatalogImport => "catalog_import",
            Perm::InventoryRead => "inventory_read",
            Perm::InventoryWrite => "inventory_write",
            Perm::InventoryDelete => "inventory_delete",
            Perm::InventoryStage => "inventory_stage",
            Perm::UserRead => "user_read",
            Perm::UserManage => "user_manage",
            Perm::TokenOwn => "token_own",
            Perm::TokenManage => "token_manage",
            Perm::AuditRead => "audit_read",
            Perm::RiskRead => "risk_read",
            Perm::RiskWrite => "risk_write",
            Perm::RiskAssess => "risk_assess",
            Perm::ChecklistWrite => "checklist_write",
            Perm::AcceptanceRequest => "acceptance_request",
            Perm::AcceptanceDecide => "acceptance_decide",
            Perm::IncidentWrite => "incident_write",
            Perm::EvidenceWrite => "evidence_write",
            Perm::MethodologyManage => "methodology_manage",
            Perm::SettingsManage => "settings_manage",
            Perm::GateOverride => "gate_override",
            Perm::ReportGenerate => "report_generate",
        }
    }

    /// Whether the permission changes state (auditors never hold one).
    pub fn is_write(self) -> bool {
        !matches!(
            self,
            Perm::CatalogRead
                | Perm::InventoryRead
                | Perm::UserRead
                | Perm::AuditRead
                | Perm::RiskRead
                | Perm::ReportGenerate
        )
    }
}

use Role::*;

/// The matrix: for each permission, the roles that hold it.
pub const MATRIX: &[(Perm, &[Role])] = &[
    (
        Perm::CatalogRead,
        &[Admin, RiskManager, Assessor, Contributor, Viewer, Auditor],
    ),
    (Perm::CatalogImport, &[Admin, RiskManager]),
    (
        Perm::InventoryRead,
        &[Admin, RiskManager, Assessor, Contributor, Viewer, Auditor],
    ),
    (Perm::InventoryWrite, &[Admin, RiskManager, Contributor]),
    (Perm::InventoryDelete, &[Admin, RiskManager]),
    (Perm::InventoryStage, &[Admin, RiskManager, Contributor]),
    (
        Perm::UserRead,
        &[Admin, RiskManager, Assessor, Contributor, Viewer, Auditor],
    ),
    (Perm::UserManage, &[Admin]),
    (
        Perm::TokenOwn,
        &[Admin, RiskManager, Assessor, Contributor, Viewer],
    ),
    (Perm::TokenManage, &[Admin]),
    (Perm::AuditRead, &[Admin, Auditor]),
    (
        Perm::RiskRead,
        &[Admin, RiskManager, Assessor, Contributor, Viewer, Auditor],
    ),
    (Perm::RiskWrite, &[Admin, RiskManager, Assessor]),
    (Perm::RiskAssess, &[Admin, RiskManager, Assessor]),
    (
        Perm::ChecklistWrite,
        &[Admin, RiskManager, Assessor, Contributor],
    ),
    (
        Perm::AcceptanceRequest,
        &[Admin, RiskManager, Assessor, Contributor],
    ),
    (Perm::AcceptanceDecide, &[Admin, RiskManager]),
    (
        Perm::IncidentWrite,
        &[Admin, RiskManager, Assessor, Contributor],
    ),
    (
        Perm::EvidenceWrite,
        &[Admin, RiskManager, Assessor, Contributor],
    ),
    (Perm::MethodologyManage, &[Admin, RiskManager]),
    (Perm::SettingsManage, &[Admin, RiskManager]),
    (Perm::GateOverride, &[Admin]),
    (
        Perm::ReportGenerate,
        &[Admin, RiskManager, Assessor, Contributor, Viewer, Auditor],
    ),
];

/// Whether `role` holds `perm`.
pub fn allowed(role: Role, perm: Perm) -> bool {
    MATRIX
        .iter()
        .any(|(p, roles)| *p == perm && roles.contains(&role))
}
