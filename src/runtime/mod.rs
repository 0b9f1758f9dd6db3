//! Worker threads, sockets, TLS, timers, the operation queue and callback delivery. Knows
//! nothing of C types.

pub mod conn;
pub mod listener;
pub mod timers;
pub mod tls;
pub mod worker;
