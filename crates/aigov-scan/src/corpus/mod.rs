//! `aigov scan corpus`: the training-corpus safety scan.
//!
//! - [`input`] — files, formats (JSON Lines, CSV/TSV, Parquet, text), gzip/zstd, shards.
//! - [`json`] — the JSONL field extractor (names, JSON pointers, `*`).
//! - [`detect`] — the detector engine: keyword automata, the personal-information and secret
//!   regex pass with validators, custom rules.
//! - [`terms`] — the keyword-library matcher (hashed keys of the first characters, exact
//!   comparison).
//! - [`pi`] — validators: GB 11643 check character, Luhn, number plans, HK/TW check digits.
//! - [`scan`] — running a scan: parallel shards, resume, merge.
//! - [`report`] — the summary with the GB/T 45654 per-source check; Markdown and HTML.
//! - [`sample`] — bottom-k review samples, the review sheet and `aigov scan review`.
//! - [`redact`] — redacted copies.

pub mod detect;
pub mod input;
pub mod json;
#[cfg(feature = "parquet")]
pub mod parquet_input;
pub mod pi;
pub mod redact;
pub mod report;
pub mod sample;
pub mod scan;
pub mod terms;

pub use detect::{CustomRule, Detector, DetectorConfig, Hit, Rule, RuleKind};
pub use input::{Format, TextRecords};
pub use report::Summary;
pub use scan::{CorpusConfig, Progress, RedactConfig, SampleConfig, SourceBy, run};
