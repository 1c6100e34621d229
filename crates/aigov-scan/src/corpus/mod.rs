//! Corpus scanner.

pub mod detect;
pub mod pi;
