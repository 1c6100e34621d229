//! Integration tests of aigov-scan (one test binary; modules by area).

// Helpers outside `#[test]` functions panic on failure by design.
#![allow(clippy::unwrap_used)]

mod bom;
mod corpus;
mod fixtures;
mod model;
mod props;
