//! MsQuic 2.7's public C types, with MsQuic's exact spellings and Linux x86-64 layouts.
//!
//! Every struct here has compile-time size and offset asserts whose numbers come from
//! `shared/msquic-abi.md`, not from our own header. Values the application hands us are typed
//! as integer newtypes, never Rust enums.
//!
//! `include/msquic.h` is generated from these files by cbindgen (see `cbindgen.toml` and
//! `tests/header.rs`). Items MsQuic gates behind `QUIC_API_ENABLE_PREVIEW_FEATURES` carry
//! `#[cfg(msquic_preview)]` (always on for the library itself); types C declares with
//! anonymous unions or bitfields are marked `cbindgen:ignore` and written by hand in
//! `cbindgen.toml`, and their Rust twins here hold raw integers with accessor methods.
#![allow(non_camel_case_types, non_snake_case)]

mod addr;
mod callbacks;
mod credentials;
mod enums;
mod events;
mod execution;
mod flags;
mod limits;
mod misc;
mod params;
mod scalars;
mod settings;
mod stats;
mod status;
mod table;
mod table_layout;
mod tls;

pub use addr::*;
pub use callbacks::*;
pub use credentials::*;
pub use enums::*;
pub use events::*;
pub use execution::*;
pub use flags::*;
pub use limits::*;
pub use misc::*;
pub use params::*;
pub use scalars::*;
pub use settings::*;
pub use stats::*;
pub use status::*;
pub use table::*;
pub use tls::*;
