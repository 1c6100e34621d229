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
