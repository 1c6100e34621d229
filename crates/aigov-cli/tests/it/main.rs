//! Integration tests of the `aigov` binary (one test binary; modules by area).

#![allow(clippy::unwrap_used)] // tests may unwrap, also in helpers

mod admin;
mod catalog;
mod gov;
mod probe;
mod report;
mod scan;

use std::path::Path;
use std::process::{Command, Output};

/// Runs `aigov` with `args` against the data directory `dir`.
pub fn aigov(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aigov"))
        .args(args)
        .env("AIGOV_DATA_DIR", dir)
        .env_remove("AIGOV_LANG")
        .env_remove("AIGOV_CONFIG")
        .env_remove("AIGOV_DATABASE_URL")
        .env("LANG", "C.UTF-8")
        .output()
        .expect("run aigov")
}

/// Runs `aigov`, asserts success, returns stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let o = aigov(dir, args);
    assert!(
        o.status.success(),
        "aigov {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8(o.stdout).expect("utf-8 stdout")
}

/// Runs `aigov`, asserts failure, returns (stdout, stderr).
pub fn fails(dir: &Path, args: &[&str]) -> (String, String) {
    let o = aigov(dir, args);
    assert!(!o.status.success(), "aigov {args:?} should fail");
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Parses JSON output.
pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}
