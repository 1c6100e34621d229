//! Integration tests of aigov-core.

#![allow(clippy::unwrap_used)] // tests may unwrap, also in helpers

mod access;
mod audit;
mod governance;
mod inventory;
