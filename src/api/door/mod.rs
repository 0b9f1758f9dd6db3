//! The door every C call comes through: the two exported symbols, the function table, the
//! panic boundary, handle validation, the calls that work on any handle, and the delivery of
//! events to the application's callbacks.

pub(crate) mod boundary;
pub(crate) mod callbacks;
pub(crate) mod context;
pub mod entry;
pub(crate) mod event_log;
pub(crate) mod handle;
pub(crate) mod library;
pub(crate) mod status_names;
pub(crate) mod table;
