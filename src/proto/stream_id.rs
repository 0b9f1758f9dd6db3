//! Stream identifiers (RFC 9000 §2.1): the initiator and direction are in the low two bits.

use std::fmt;

/// Which end of the connection an endpoint is.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Side {
    /// The endpoint that opened the underlying transport.
    Client,
    /// The endpoint that accepted the underlying transport.
    Server,
}

impl Side {
    /// The other side.
    pub fn peer(self) -> Self {
        match self {
            Self::Client => Self::Server,
            Self::Server => Self::Client,
        }
    }

    /// Whether this is the client.
    pub fn is_client(self) -> bool {
        self == Self::Client
    }
}

/// The direction of a stream.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Dir {
    /// Data flows both ways.
    Bi,
    /// Data flows only from the initiator.
    Uni,
}

/// A 62-bit QUIC stream ID.
#[derive(Clone, Copy, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct StreamId(pub u64);

impl StreamId {
    /// The `index`-th stream of the given initiator and direction.
    pub fn new(initiator: Side, dir: Dir, index: u64) -> Self {
        let init = match initiator {
            Side::Client => 0,
            Side::Server => 1,
        };
        let dir = match dir {
            Dir::Bi => 0,
            Dir::Uni => 2,
        };
        Self((index << 2) | init | dir)
    }

    /// The side that opened the stream.
    pub fn initiator(self) -> Side {
        if self.0 & 1 == 0 {
            Side::Client
        } else {
            Side::Server
        }
    }

    /// The stream's direction.
    pub fn dir(self) -> Dir {
        if self.0 & 2 == 0 { Dir::Bi } else { Dir::Uni }
    }

    /// The position of the stream among those of the same initiator and direction.
    pub fn index(self) -> u64 {
        self.0 >> 2
    }

    /// Whether the endpoint on `side` may send data on this stream.
    pub fn can_send(self, side: Side) -> bool {
        self.dir() == Dir::Bi || self.initiator() == side
    }

    /// Whether the endpoint on `side` may receive data on this stream.
    pub fn can_recv(self, side: Side) -> bool {
        self.dir() == Dir::Bi || self.initiator() != side
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let init = match self.initiator() {
            Side::Client => "client",
            Side::Server => "server",
        };
        let dir = match self.dir() {
            Dir::Bi => "bi",
            Dir::Uni => "uni",
        };
        write!(f, "StreamId({} {init} {dir} #{})", self.0, self.index())
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_types() {
        assert_eq!(StreamId::new(Side::Client, Dir::Bi, 0).0, 0);
        assert_eq!(StreamId::new(Side::Server, Dir::Bi, 0).0, 1);
        assert_eq!(StreamId::new(Side::Client, Dir::Uni, 0).0, 2);
        assert_eq!(StreamId::new(Side::Server, Dir::Uni, 3).0, 15);
        let id = StreamId(15);
        assert_eq!(
            (id.initiator(), id.dir(), id.index()),
            (Side::Server, Dir::Uni, 3)
        );
        assert!(id.can_send(Side::Server) && !id.can_recv(Side::Server));
        assert!(!id.can_send(Side::Client) && id.can_recv(Side::Client));
        assert!(StreamId(4).can_send(Side::Server) && StreamId(4).can_recv(Side::Server));
    }
}
