//! Lexicon audit (in progress).
