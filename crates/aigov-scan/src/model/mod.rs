//! Model scanner (in progress).
