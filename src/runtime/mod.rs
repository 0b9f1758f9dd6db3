//! Worker threads, sockets, TLS, timers, the operation queue and callback delivery. Knows
//! nothing of C types. Only `sys` (a few libc socket calls) and `tls::pkcs12` (AWS-LC's
//! PKCS#12 reader) may use `unsafe`.
#![deny(unsafe_code)]

pub mod conn;
pub mod counters;
pub mod listener;
pub mod log;
pub mod resolver;
#[allow(unsafe_code)]
mod sys;
pub mod timers;
pub mod tls;
pub mod worker;
