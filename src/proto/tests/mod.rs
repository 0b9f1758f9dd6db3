//! Engine tests: a deterministic pair harness and scenario scripts.

mod negative;
mod scenarios;
mod soak;
mod util;
