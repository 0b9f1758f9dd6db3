//! MsQuic 2.7's public C types, with MsQuic's exact spellings and Linux x86-64 layouts.
//!
//! Every struct here has compile-time size and offset asserts whose numbers come from
//! `shared/msquic-abi.md`, not from our own header. Values the application hands us are typed
//! as integer newtypes, never Rust enums.
#![allow(non_camel_case_types, non_snake_case)]

mod placeholder;
mod scalars;
mod status;
mod table;

pub use placeholder::*;
pub use scalars::*;
pub use status::*;
pub use table::*;
