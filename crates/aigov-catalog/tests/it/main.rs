//! Integration tests of aigov-catalog (one binary; modules by area).

#![allow(clippy::unwrap_used)] // tests may unwrap, also in helpers

mod bad_input;
mod builtin;
mod formats;
mod query;

use std::sync::OnceLock;

use aigov_catalog::Library;

/// The built-in library, loaded once per test binary.
pub fn lib() -> &'static Library {
    static LIB: OnceLock<Library> = OnceLock::new();
    LIB.get_or_init(|| {
        Library::builtin().unwrap_or_else(|d| panic!("built-in catalogs are invalid:\n{d}"))
    })
}
