//! What the stream room (and other rooms below the connection) may call on a connection.

/// A configuration's CONFIGURATION_TICKET_KEYS (SetParam): the keys live with the server's
/// resumption state, in the connection room; the configuration room answers the id.
pub(crate) use crate::api::connection::resumption::set_ticket_keys;
