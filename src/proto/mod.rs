//! The QMux protocol (draft-ietf-quic-qmux-02) as a sans-IO state machine: bytes in, bytes
//! and events out.
//!
//! ```text
//!   transport bytes ──► handle_input(_shared) ─────► records ──► frames ──► streams
//!                                                                             │
//!   application ◄── poll_event / read / peek+consume ◄────────────────────────┘
//!   application ──► open / send / finish / reset / stop_sending / send_datagram / close
//!                                                                             │
//!   transport ◄── Connection::poll_transmit(now, buf) ◄── records ◄── scheduler ◄┘
//! ```
//!
//! Nothing here touches sockets, threads, TLS or a clock: time is a [`std::time::Instant`]
//! passed in by the caller (`handle_input`, `handle_timeout`, `poll_transmit`, `close`), and
//! [`Connection::poll_timeout`] says when to call back. Every QUIC and QMux code point is a
//! named constant: frame types on [`frame::FrameType`], transport parameter IDs on
//! [`transport_params::TransportParameterId`], error codes on [`error::TransportErrorCode`].
//!
//! Wire choices (docs/decisions §3): QX_TRANSPORT_PARAMETERS is sent as 0x3f5153300d0a0d0a;
//! that value and 0x3f514d580d0a0d0a (proposed for -03) are accepted.
#![forbid(unsafe_code)]

pub mod coding;
pub mod connection;
pub mod error;
pub mod flow_control;
pub mod frame;
pub mod id_hash;
pub mod record;
pub mod shared;
pub mod spares;
pub mod stream_id;
pub mod streams;
pub mod transport_params;
pub mod varint;

pub use connection::{
    BlockedTimes, CloseCause, CommandError, Config, Connection, Event, NOISE_BURST, NOISE_RATE,
    Noise, Scheduling, Stats, release_spare_buffers,
};
pub use error::{TransportError, TransportErrorCode};
pub use shared::SharedBytes;
pub use stream_id::{Dir, Side, StreamId};
pub use streams::{Chunks, SendData};

#[cfg(test)]
mod tests;
