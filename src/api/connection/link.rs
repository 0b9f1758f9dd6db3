//! What the stream room (and other rooms below the connection) may call on a connection.

/// A configuration's CONFIGURATION_TICKET_KEYS (SetParam): the keys live with the server's
/// resumption state, in the connection room; the configuration room answers the id.
pub(crate) use crate::api::connection::resumption::set_ticket_keys;

/// GetParam(GLOBAL_STATISTICS_V2_SIZES), answered by the global room: the sizes are those of
/// a connection's statistics.
pub(crate) use crate::api::connection::stats::get_v2_sizes;
