//! Data and model scanners for aigov.
//!
//! The technical side of TC260's data risks (illegal collection, improper content and
//! poisoning in training data, leakage) and system risks (defects and backdoors, supply chain),
//! and the corpus requirements of GB/T 45654. Thresholds and risk ids come from the catalogs
//! (`aigov-catalog`); nothing numeric is hard-coded.
//!
//! Module map:
//! - [`text`] — normalisation for matching (width and case folding, invisible characters) with
//!   offsets mapped back to the original.
//! - [`requirements`] — the GB/T 45654 thresholds and risks the scanners read from the catalog.
//! - [`lexicon`] — keyword-library files: parsing, categories, problems.
//! - [`lexicon_audit`] — `aigov scan lexicon`: a library checked against GB/T 45654.
//! - [`corpus`] — `aigov scan corpus`: streaming readers, the detector engine, shards, reports,
//!   sampling for human review and the review verdict.
//! - [`model`] — `aigov scan model`: model artifacts by content (pickle, PyTorch, numpy,
//!   joblib, safetensors, GGUF, Keras, HDF5, ONNX, archives) with findings and SARIF output.
//! - [`bom`] — CycloneDX 1.6 ML-BOM export and import.
//! - [`rng`] — the seeded generator behind sampling (SplitMix64, stable across versions).

pub mod bom;
pub mod corpus;
pub mod lexicon;
pub mod lexicon_audit;
pub mod model;
pub mod requirements;
pub mod rng;
pub mod text;

/// Errors of the scanners. Findings in hostile input are not errors: they are reported.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A keyword library is unusable.
    #[error("{0}")]
    Lexicon(String),
    /// Bad settings (rules, fields, options).
    #[error("{0}")]
    Config(String),
    /// The catalogs lack something the scanner needs.
    #[error("{0}")]
    Catalog(String),
    /// An input could not be read as the format it claims.
    #[error("{path}: {message}")]
    Input {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A previous scan in the output directory does not match this one.
    #[error("{0}")]
    Resume(String),
}

impl ScanError {
    /// An IO error on `path`.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> ScanError {
        ScanError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}
