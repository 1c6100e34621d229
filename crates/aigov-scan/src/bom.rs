//! CycloneDX (in progress).
