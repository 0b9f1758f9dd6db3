//! Worker threads, sockets, TLS, timers, the operation queue and callback delivery. Knows
//! nothing of C types. Only `sys` may use `unsafe` (a few libc socket calls).
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
