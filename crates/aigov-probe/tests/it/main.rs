//! Integration tests of the probe engine (one test binary; modules by area).

// Test helpers outside `#[test]` functions panic on failure by design.
#![allow(clippy::unwrap_used)]

mod engine;
mod plan;
mod refusal;
mod smollm2;
mod suites;
