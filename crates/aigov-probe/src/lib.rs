//! The aigov probe engine: test model endpoints against the risk taxonomy.
//!
//! Suite → transform chain → target → detectors → evaluator, with an append-only record per
//! attempt keyed by a stable id, so runs resume after a crash and re-score without calling the
//! target again. Module map:
//! - [`suite`] — suite files (YAML/JSONL), validation with catalog citations, CSV/JSONL bank
//!   import, the embedded starter suites.
//! - [`transform`] — attack transforms (templates, encodings, language switch, payload split,
//!   multi-turn escalation), composable as chains.
//! - [`target`] — OpenAI-compatible, HTTP JSON, command and replay targets with concurrency,
//!   rate and token limits, timeouts, retries honouring `Retry-After`, a circuit breaker.
//! - [`detect`] — zh/en refusal detection with false-positive guards, keyword libraries,
//!   regexes, personal information, canaries, answer checks, the LLM judge; outcomes.
//! - [`run`] — planning, execution, the run directory format, resume, rescoring.
//! - [`eval`] — rates with Wilson intervals per category, gates, comparisons of runs.
//! - [`report`] — Markdown, HTML, JSON and JUnit renderings.
//! - [`plan`] — the GB/T 45654 test plan: bank checks and samples against the catalog's
//!   `threshold` items.
//! - [`util`] — digests, attempt ids, the seeded RNG, the clock.

pub mod detect;
pub mod eval;
pub mod plan;
pub mod report;
pub mod run;
pub mod suite;
pub mod target;
pub mod transform;
pub mod util;
