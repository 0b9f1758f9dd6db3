//! The C ABI: MsQuic's types, the handle layer, the panic boundary, the function table and
//! parameters. This is the only module that touches raw pointers.

pub mod abi;
mod boundary;
mod callbacks;
mod configuration;
mod conn_worker;
mod connection;
mod context;
mod credentials;
pub mod entry;
mod execution;
mod handle;
mod library;
mod listener;
mod param;
mod registration;
pub mod settings;
mod slots;
mod sockaddr;
mod stream;
mod stream_recv;
#[cfg(test)]
mod tests;
