//! Framework catalogs for aigov.
//!
//! A catalog is versioned, bilingual (zh/en) data describing one framework — TC260's AI Safety
//! Governance Framework, GB/T 45654, NIST AI RMF … — as a tree of items with kinds, tags,
//! intra-catalog links and provenance. Mapping sets (crosswalks) relate items of two catalogs.
//! This crate is pure: it reads and writes strings, never the file system or the network.
//!
//! Module map:
//! - [`model`] — the validated types: [`Catalog`], [`Item`], [`MappingSet`], [`Version`] …
//! - [`load`] — parsing aigov YAML/JSON with validation that reports file, line and item.
//! - [`library`] — the built-in catalogs (embedded at build time from `catalogs/`) plus
//!   imported ones; lookup by `id@version` and citation `id@version:ref`.
//! - [`search`] — ranked zh/en full-text search.
//! - [`crosswalk`] — direct and chained mappings between catalogs, with paths.
//! - [`diff`] — item-level differences between two catalogs.
//! - [`formats`] — import/export: CSV, OSCAL, SSSOM, CISO Assistant libraries.
//! - [`stats`] — rates with Wilson intervals, checked against `threshold` items.

pub mod crosswalk;
pub mod diff;
pub mod formats;
pub mod library;
pub mod load;
pub mod model;
pub mod search;
pub mod stats;

pub use library::{Cite, Library, LibraryError, Source};
pub use load::{Diagnostic, Diagnostics, Document, LoadOptions};
pub use model::*;
