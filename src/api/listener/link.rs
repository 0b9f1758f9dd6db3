//! The listener's interface for the rooms below it: the one place they reach listeners
//! through.
//!
//! - RegistrationShutdown stops the registration's listeners ([`stop_all_of`]).
//! - ConnectionSetConfiguration on an accepted connection starts its handshake on the socket
//!   the listener accepted ([`configure_accepted`], with [`AcceptConfig`]).

/// What an accepted connection takes from its configuration for the handshake.
pub(crate) use crate::api::listener::AcceptConfig;
/// ConnectionSetConfiguration on an accepted connection: starts TLS and QMux on its socket.
pub(crate) use crate::api::listener::configure_accepted;
/// RegistrationShutdown: stops every started listener of a registration.
pub(crate) use crate::api::listener::stop_all_of;
