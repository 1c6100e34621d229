//! The AI-system inventory: systems (`SYS-n`), models (`MDL-n`), datasets (`DS-n`), vendors
//! (`VND-n`), endpoints (`EP-n`) and the links between them.
//!
//! Each kind has an *input* type — the fields a user writes — with validation that names every
//! bad field. Enumerated values use the same kebab-case words as catalog tags (`stage:deploy`,
//! `role:service-provider`), so applicability can be computed by matching the two.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::FieldError;
use crate::ids::RefKind;

macro_rules! kebab_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:tt),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $v),+ }
        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            /// The value as written in the API.
            pub fn as_str(self) -> &'static str { match self { $($name::$v => $s),+ } }
            /// Parses a value.
            pub fn parse(s: &str) -> Option<$name> { $name::ALL.iter().copied().find(|x| x.as_str() == s) }
            /// The accepted values, comma-separated, for error messages.
            pub fn expected() -> String { $name::ALL.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ") }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}
pub(crate) use kebab_enum;

kebab_enum!(
    /// What kind of AI system it is.
    SystemType {
        /// Generates content (LLM chat, image generation …).
        Generative = "generative",
        /// Decides or classifies (discriminative models, scoring).
        Decision = "decision",
        /// Recommends or ranks.
        Recommendation = "recommendation",
        /// Acts autonomously with tools.
        Agent = "agent",
        /// Acts in the physical world.
        Embodied = "embodied",
        /// Anything else.
        Other = "other",
    }
);

kebab_enum!(
    /// A data modality the system handles.
    Modality {
        /// Text.
        Text = "text",
        /// Images.
        Image = "image",
        /// Audio and speech.
        Audio = "audio",
        /// Video.
        Video = "video",
        /// Source code.
        Code = "code",
        /// Tables and structured records.
        Tabular = "tabular",
        /// Time series and sensor streams.
        TimeSeries = "time-series",
        /// Other.
        Other = "other",
    }
);

kebab_enum!(
    /// A role the organisation plays for the system under TC260's framework.
    Tc260Role {
        /// Model/algorithm developer (guidelines 6.1).
        ModelDeveloper = "model-developer",
        /// Service provider (6.2).
        ServiceProvider = "service-provider",
        /// User in a key area (6.3).
        KeyAreaUser = "key-area-user",
        /// General user (6.4).
        GeneralUser = "general-user",
    }
);

kebab_enum!(
    /// A lifecycle stage.
    Stage {
        /// Planning.
        Plan = "plan",
        /// Design and development.
        DesignDevelop = "design-develop",
        /// Training.
        Train = "train",
        /// Verification and validation.
        Verify = "verify",
        /// Deployment.
        Deploy = "deploy",
        /// Operation.
        Operate = "operate",
        /// Retirement.
        Retire = "retire",
    }
);

kebab_enum!(
    /// Whether the record is in use.
    SystemStatus {
        /// In use.
        Active = "active",
        /// Temporarily stopped.
        Suspended = "suspended",
        /// Kept for the record only.
        Archived = "archived",
    }
);

kebab_enum!(
    /// How an endpoint is called.
    ApiStyle {
        /// OpenAI-compatible chat completions.
        OpenaiChat = "openai-chat",
        /// A generic HTTP JSON API.
        HttpJson = "http-json",
        /// Something else.
        Other = "other",
    }
);

kebab_enum!(
    /// Where an endpoint's credential comes from.
    CredentialKind {
        /// No credential.
        None = "none",
        /// The named environment variable of the process that calls the endpoint.
        Env = "env",
        /// A secret stored encrypted at rest by aigov.
        Stored = "stored",
    }
);

kebab_enum!(
    /// The kind of an inventory object.
    ObjectKind {
        /// An AI system.
        System = "system",
        /// A model.
        Model = "model",
        /// A dataset.
        Dataset = "dataset",
        /// A vendor.
        Vendor = "vendor",
        /// An endpoint.
        Endpoint = "endpoint",
    }
);

impl ObjectKind {
    /// The human-ref kind.
    pub fn ref_kind(self) -> RefKind {
        match self {
            ObjectKind::System => RefKind::System,
            ObjectKind::Model => RefKind::Model,
            ObjectKind::Dataset => RefKind::Dataset,
            ObjectKind::Vendor => RefKind::Vendor,
            ObjectKind::Endpoint => RefKind::Endpoint,
        }
    }

    /// The collection name in URLs and files (`systems`).
    pub fn plural(self) -> &'static str {
        match self {
            ObjectKind::System => "systems",
            ObjectKind::Model => "models",
            ObjectKind::Dataset => "datasets",
            ObjectKind::Vendor => "vendors",
            ObjectKind::Endpoint => "endpoints",
        }
    }
}

kebab_enum!(
    /// The relation of a link between inventory objects.
    LinkRel {
        /// A system uses a model or a dataset (e.g. a knowledge base).
        Uses = "uses",
        /// A model was trained on a dataset.
        TrainedOn = "trained-on",
        /// A model was fine-tuned from (built on) another model.
        FineTunedFrom = "fine-tuned-from",
        /// A system, model or dataset is supplied by a vendor.
        SuppliedBy = "supplied-by",
        /// A system exposes an endpoint.
        Exposes = "exposes",
        /// An endpoint serves a model.
        Serves = "serves",
    }
);

/// Which `(from, rel, to)` kinds a link may join.
pub fn link_allowed(from: ObjectKind, rel: LinkRel, to: ObjectKind) -> bool {
    use LinkRel::*;
    use ObjectKind::*;
    matches!(
        (from, rel, to),
        (System, Uses, Model)
            | (System, Uses, Dataset)
            | (Model, TrainedOn, Dataset)
            | (Model, FineTunedFrom, Model)
            | (System | Model | Dataset, SuppliedBy, Vendor)
            | (System, Exposes, Endpoint)
            | (Endpoint, Serves, Model)
    )
}

fn text(errs: &mut Vec<FieldError>, field: &str, v: &str, min: usize, max: usize) {
    let n = v.chars().count();
    if n < min || v.trim().len() < min {
        errs.push(FieldError::new(
            field,
            if min == 1 {
                "must not be empty".to_string()
            } else {
                format!("must have at least {min} characters")
            },
        ));
    } else if n > max {
        errs.push(FieldError::new(
            field,
            format!("must have at most {max} characters (has {n})"),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        errs.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
}

fn opt_text(errs: &mut Vec<FieldError>, field: &str, v: &Option<String>, max: usize) {
    if let Some(v) = v {
        text(errs, field, v, 0, max);
    }
}

fn kebab(errs: &mut Vec<FieldError>, field: &str, v: &str) {
    if v.is_empty()
        || v.len() > 60
        || !v
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        errs.push(FieldError::new(field, "must be lowercase letters, digits and '-', at most 60 characters (e.g. finance, healthcare)"));
    }
}

fn non_negative(errs: &mut Vec<FieldError>, field: &str, v: Option<i64>) {
    if let Some(n) = v
        && n < 0
    {
        errs.push(FieldError::new(field, "must not be negative"));
    }
}

fn unique<T: PartialEq + std::fmt::Display>(errs: &mut Vec<FieldError>, field: &str, v: &[T]) {
    for (i, x) in v.iter().enumerate() {
        if v[..i].contains(x) {
            errs.push(FieldError::new(
                format!("{field}[{i}]"),
                format!("{x} is listed twice"),
            ));
        }
    }
}

/// Checks an http(s) URL without resolving it.
pub fn check_url(errs: &mut Vec<FieldError>, field: &str, url: &str) {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r)
            if !r.is_empty()
                && !r.starts_with('/')
                && !url.chars().any(|c| c.is_whitespace() || c.is_control())
                && url.len() <= 2000 => {}
        _ => errs.push(FieldError::new(
            field,
            "must be an http:// or https:// URL with a host",
        )),
    }
}

/// An AI system as a user writes it. The lifecycle stage is changed only through a stage
/// change (with a reason), never by editing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SystemInput {
    /// Name.
    pub name: String,
    /// What it is.
    #[serde(default)]
    pub description: String,
    /// What it is for.
    #[serde(default)]
    pub purpose: String,
    /// Type.
    pub system_type: SystemType,
    /// Data modalities.
    #[serde(default)]
    pub modalities: Vec<Modality>,
    /// Roles under TC260 (several allowed).
    #[serde(default)]
    pub tc260_roles: Vec<Tc260Role>,
    /// Used in a key area (government, critical information infrastructure, public safety
    /// and health).
    #[serde(default)]
    pub key_area: bool,
    /// Sector (kebab-case, e.g. `finance`).
    #[serde(default)]
    pub sector: Option<String>,
    /// Offered to the public.
    #[serde(default)]
    pub public_facing: bool,
    /// Who it is for.
    #[serde(default)]
    pub intended_users: String,
    /// Registered users.
    #[serde(default)]
    pub registered_users: Option<i64>,
    /// Monthly active users.
    #[serde(default)]
    pub monthly_users: Option<i64>,
    /// The owning user's id.
    #[serde(default)]
    pub owner_id: Option<String>,
    /// Status.
    #[serde(default = "default_status")]
    pub status: SystemStatus,
}

fn default_status() -> SystemStatus {
    SystemStatus::Active
}

impl SystemInput {
    /// Every problem, by field.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        text(&mut e, "name", &self.name, 1, 200);
        text(&mut e, "description", &self.description, 0, 10_000);
        text(&mut e, "purpose", &self.purpose, 0, 2_000);
        text(&mut e, "intended_users", &self.intended_users, 0, 2_000);
        unique(&mut e, "modalities", &self.modalities);
        unique(&mut e, "tc260_roles", &self.tc260_roles);
        if let Some(s) = &self.sector {
            kebab(&mut e, "sector", s);
        }
        non_negative(&mut e, "registered_users", self.registered_users);
        non_negative(&mut e, "monthly_users", self.monthly_users);
        if let Some(o) = &self.owner_id
            && !crate::ids::is_uuid(o)
        {
            e.push(FieldError::new("owner_id", "must be a user id"));
        }
        e
    }
}

/// A hash of a model artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArtifactHash {
    /// The file, when the model has several.
    #[serde(default)]
    pub file: Option<String>,
    /// `sha256` (the only algorithm accepted).
    pub algorithm: String,
    /// Lowercase hex digest.
    pub value: String,
}

/// A model as a user writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelInput {
    /// Name.
    pub name: String,
    /// Version.
    #[serde(default)]
    pub version: String,
    /// Who provides it (organisation or project).
    #[serde(default)]
    pub provider: String,
    /// Licence (SPDX id or text).
    #[serde(default)]
    pub licence: String,
    /// Where it comes from and how it was obtained.
    #[serde(default)]
    pub provenance: String,
    /// The base model it builds on (free text; link `fine-tuned-from` for an inventory model).
    #[serde(default)]
    pub base_model: String,
    /// Hashes of its artifacts.
    #[serde(default)]
    pub artifact_hashes: Vec<ArtifactHash>,
}

impl ModelInput {
    /// Every problem, by field.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        text(&mut e, "name", &self.name, 1, 200);
        text(&mut e, "version", &self.version, 0, 100);
        text(&mut e, "provider", &self.provider, 0, 200);
        text(&mut e, "licence", &self.licence, 0, 200);
        text(&mut e, "provenance", &self.provenance, 0, 5_000);
        text(&mut e, "base_model", &self.base_model, 0, 200);
        for (i, h) in self.artifact_hashes.iter().enumerate() {
            if h.algorithm != "sha256" {
                e.push(FieldError::new(
                    format!("artifact_hashes[{i}].algorithm"),
                    "must be sha256",
                ));
            }
            if h.value.len() != 64
                || !h
                    .value
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                e.push(FieldError::new(
                    format!("artifact_hashes[{i}].value"),
                    "must be 64 lowercase hex digits",
                ));
            }
            opt_text(&mut e, &format!("artifact_hashes[{i}].file"), &h.file, 500);
        }
        e
    }
}

/// A dataset as a user writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetInput {
    /// Name.
    pub name: String,
    /// Where the data comes from.
    #[serde(default)]
    pub source: String,
    /// Licence.
    #[serde(default)]
    pub licence: String,
    /// How it was collected (crawl, purchase, user input …).
    #[serde(default)]
    pub collection_method: String,
    /// Holds personal information.
    #[serde(default)]
    pub personal_information: bool,
    /// Holds sensitive personal information.
    #[serde(default)]
    pub sensitive_personal_information: bool,
    /// Number of records.
    #[serde(default)]
    pub size_records: Option<i64>,
    /// Size in bytes.
    #[serde(default)]
    pub size_bytes: Option<i64>,
    /// Languages (BCP 47 tags such as `zh`, `en`).
    #[serde(default)]
    pub languages: Vec<String>,
}

impl DatasetInput {
    /// Every problem, by field.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        text(&mut e, "name", &self.name, 1, 200);
        text(&mut e, "source", &self.source, 0, 2_000);
        text(&mut e, "licence", &self.licence, 0, 200);
        text(
            &mut e,
            "collection_method",
            &self.collection_method,
            0,
            2_000,
        );
        non_negative(&mut e, "size_records", self.size_records);
        non_negative(&mut e, "size_bytes", self.size_bytes);
        if self.sensitive_personal_information && !self.personal_information {
            e.push(FieldError::new(
                "personal_information",
                "must be true when sensitive_personal_information is true",
            ));
        }
        for (i, l) in self.languages.iter().enumerate() {
            let ok = !l.is_empty()
                && l.len() <= 35
                && l.split('-').all(|p| {
                    !p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_alphanumeric())
                });
            if !ok {
                e.push(FieldError::new(
                    format!("languages[{i}]"),
                    format!("{l:?} is not a language tag (e.g. zh, en, zh-Hans)"),
                ));
            }
        }
        unique(&mut e, "languages", &self.languages);
        e
    }
}

/// A vendor as a user writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VendorInput {
    /// Name.
    pub name: String,
    /// What they supply.
    #[serde(default)]
    pub description: String,
    /// Website.
    #[serde(default)]
    pub website: Option<String>,
    /// Country (ISO 3166 alpha-2, e.g. CN).
    #[serde(default)]
    pub country: Option<String>,
    /// Contact.
    #[serde(default)]
    pub contact: String,
}

impl VendorInput {
    /// Every problem, by field.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        text(&mut e, "name", &self.name, 1, 200);
        text(&mut e, "description", &self.description, 0, 5_000);
        text(&mut e, "contact", &self.contact, 0, 500);
        if let Some(w) = &self.website {
            check_url(&mut e, "website", w);
        }
        if let Some(c) = &self.country
            && (c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            e.push(FieldError::new(
                "country",
                "must be an ISO 3166 alpha-2 code such as CN or DE",
            ));
        }
        e
    }
}

/// An endpoint's credential as a user writes it. `secret` is write-only: it is encrypted at
/// rest and never returned or logged.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialInput {
    /// Where the credential comes from.
    pub kind: CredentialKind,
    /// For `env`: the environment variable's name.
    #[serde(default)]
    pub env_var: Option<String>,
    /// For `stored`: the secret (write-only).
    #[serde(default, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(write_only))]
    pub secret: Option<String>,
}

impl std::fmt::Debug for CredentialInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialInput")
            .field("kind", &self.kind)
            .field("env_var", &self.env_var)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Default for CredentialInput {
    fn default() -> Self {
        CredentialInput {
            kind: CredentialKind::None,
            env_var: None,
            secret: None,
        }
    }
}

/// An endpoint as a user writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndpointInput {
    /// Name.
    pub name: String,
    /// Base URL.
    pub url: String,
    /// How it is called.
    pub api_style: ApiStyle,
    /// The model name sent in requests, when the API needs one.
    #[serde(default)]
    pub model_name: Option<String>,
    /// The credential.
    #[serde(default)]
    pub credential: CredentialInput,
}

impl EndpointInput {
    /// Every problem, by field. `has_stored_secret` says whether a secret is already stored
    /// (an edit may keep it without resending it).
    pub fn validate(&self, has_stored_secret: bool) -> Vec<FieldError> {
        let mut e = Vec::new();
        text(&mut e, "name", &self.name, 1, 200);
        check_url(&mut e, "url", &self.url);
        opt_text(&mut e, "model_name", &self.model_name, 200);
        let c = &self.credential;
        match c.kind {
            CredentialKind::None => {
                if c.env_var.is_some() || c.secret.is_some() {
                    e.push(FieldError::new(
                        "credential",
                        "kind none takes neither env_var nor secret",
                    ));
                }
            }
            CredentialKind::Env => {
                match &c.env_var {
                    Some(v)
                        if !v.is_empty()
                            && v.len() <= 100
                            && v.bytes().all(|b| {
                                b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'
                            })
                            && !v.as_bytes()[0].is_ascii_digit() => {}
                    _ => e.push(FieldError::new(
                        "credential.env_var",
                        "must be an environment variable name such as OPENAI_API_KEY",
                    )),
                }
                if c.secret.is_some() {
                    e.push(FieldError::new(
                        "credential.secret",
                        "kind env takes no secret",
                    ));
                }
            }
            CredentialKind::Stored => {
                if c.env_var.is_some() {
                    e.push(FieldError::new(
                        "credential.env_var",
                        "kind stored takes no env_var",
                    ));
                }
                match &c.secret {
                    Some(s) if s.is_empty() || s.len() > 4096 => e.push(FieldError::new(
                        "credential.secret",
                        "must have 1 to 4096 characters",
                    )),
                    None if !has_stored_secret => e.push(FieldError::new(
                        "credential.secret",
                        "is required for kind stored",
                    )),
                    _ => {}
                }
            }
        }
        e
    }
}

/// Converts any input to its stored JSON (the write-only secret is never serialised).
pub fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// RFC 7396 JSON merge patch: `patch` applied to `target`.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, Value::Object(_)) => {
            *t = Value::Object(serde_json::Map::new());
            merge_patch(t, patch);
        }
        (t, p) => *t = p.clone(),
    }
}
