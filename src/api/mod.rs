//! The C ABI: MsQuic's types, the handle layer, the panic boundary, the function table and
//! parameters. This is the only module that touches raw pointers.

pub mod abi;
mod configuration;
mod connection;
mod door;
mod global;
mod listener;
mod param;
mod registration;
pub mod settings;
mod stream;
#[cfg(test)]
mod tests;

pub use door::entry;
