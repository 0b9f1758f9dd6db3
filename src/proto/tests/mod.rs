//! Engine tests: a deterministic pair harness and scenario scripts.

mod negative;
mod scenarios;
mod shared;
mod soak;
mod stream_limits;
mod util;
