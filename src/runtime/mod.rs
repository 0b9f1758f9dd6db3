//! Worker threads, sockets, TLS, timers, the operation queue and callback delivery.
