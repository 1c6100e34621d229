//! aigov's domain model: what the governance loop talks about, independent of storage and
//! transport. No IO, no tokio, no SQL, no HTTP; time and randomness come in from outside.
//!
//! Module map:
//! - [`clock`] — the `Clock` trait and timestamps (RFC 3339, UTC, milliseconds).
//! - [`ids`] — UUIDv7 ids and human refs (`SYS-12`).
//! - [`access`] — roles and the permission matrix (the one place that says who may do what).
//! - [`inventory`] — AI systems, models, datasets, vendors, endpoints and links, with validation.
//! - [`audit`] — audit events, canonical JSON and the sha256 hash chain.
//! - [`error`] — field-level validation errors.
//! - [`methodology`] — assessment methodologies as data; the default 5×5 five-grade matrix.
//! - [`grading`] — the four-factor grading questionnaire.
//! - [`rules`] — adoption, applicability, identification, stage-gate and reporting rules.
//! - [`risk`] — checklists, risks, assessments, treatment, controls, acceptances, incidents, evidence.
//! - [`records`] — stored records as the API returns them (users, tokens, inventory, links).

pub mod access;
pub mod audit;
pub mod clock;
pub mod error;
pub mod grading;
pub mod ids;
pub mod inventory;
pub mod methodology;
pub mod records;
pub mod risk;
pub mod rules;

pub use clock::{Clock, SystemClock, Timestamp};
pub use error::{FieldError, Invalid};
