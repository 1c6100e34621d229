//! Integration tests of aigov-scan.
