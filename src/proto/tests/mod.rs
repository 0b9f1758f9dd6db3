//! Engine tests: a deterministic pair harness and scenario scripts.

mod buffering;
mod flood;
mod gathered;
mod long_path;
mod negative;
mod padded;
mod scenarios;
mod shared;
mod soak;
mod stop_replies;
mod stream_limits;
mod util;
