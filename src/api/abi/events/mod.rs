//! Listener, connection and stream events, in MsQuic 2.7's preview layout.
//!
//! In C each event is `{ Type; union { struct {...} NAME; ... }; }` with an anonymous union, so
//! C reads `Event->CONNECTED.SessionResumed`. Rust has no anonymous unions: here the union is
//! the named field `payload`, of a `*_PAYLOAD` union type whose members carry MsQuic's names,
//! so Rust reads `event.payload.CONNECTED.SessionResumed`. Payload structs are named
//! `<EVENT TYPE>_PAYLOAD`. The C definitions are written by hand in `cbindgen.toml`.

mod connection;
mod listener;
mod stream;

pub use connection::*;
pub use listener::*;
pub use stream::*;

/// Bit `bit` of a C bitfield byte.
const fn bit(byte: u8, bit: u8) -> bool {
    byte & (1 << bit) != 0
}

/// `byte` with bit `bit` set to `value`.
const fn with_bit(byte: u8, bit: u8, value: bool) -> u8 {
    if value {
        byte | (1 << bit)
    } else {
        byte & !(1 << bit)
    }
}
