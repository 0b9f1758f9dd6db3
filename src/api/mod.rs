//! The C ABI: MsQuic's types, the handle layer, the panic boundary, the function table and
//! parameters. This is the only module that touches raw pointers.

pub mod abi;
mod alpn_choice;
mod boundary;
mod callbacks;
mod cert_events;
mod configuration;
mod conn_options;
mod conn_panic;
mod conn_pool;
mod conn_start;
mod conn_worker;
mod connection;
mod context;
mod counted;
mod credentials;
mod datagram;
pub mod entry;
mod event_log;
mod execution;
mod handle;
mod library;
mod listener;
mod network_statistics;
mod param;
mod registration;
mod resumption;
pub mod settings;
mod slots;
mod sockaddr;
mod started_settings;
mod status_names;
mod stream;
mod stream_extra;
mod stream_ids;
mod stream_recv;
mod stream_reset;
#[cfg(test)]
mod tests;
mod tls_secrets;
mod workers;
mod zero_rtt;
