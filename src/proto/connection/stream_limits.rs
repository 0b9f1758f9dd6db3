//! The peer's stream-count limits as the application steers them: raising or lowering how
//! many streams the peer may have open at once after the handshake, and holding a finished
//! stream's slot until the application lets it go (MsQuic's DELAY_ID_FC_UPDATES); and taking
//! a stream's pending send completions ahead of the event queue.

use super::{Connection, di};
use crate::proto::stream_id::{Dir, StreamId};

impl Connection {
    /// Sets how many streams of `dir` the peer may have open at once. A raise takes effect at
    /// once (MAX_STREAMS grows by the difference); a cut applies as streams finish: their
    /// slots are not given back while the peer has at least `count` streams open. The
    /// announced limit never goes down (RFC 9000 §4.6).
    pub fn set_peer_stream_allowance(&mut self, dir: Dir, count: u64) {
        let d = di(dir);
        let old = self.peer_allowance[d];
        self.peer_allowance[d] = count;
        if count > old {
            self.max_remote[d] += count - old;
            self.max_streams_pending[d] = true;
        }
    }

    /// How many streams of `dir` the peer may have open at once (the configured count, or
    /// the last [`Connection::set_peer_stream_allowance`]).
    pub fn peer_stream_allowance(&self, dir: Dir) -> u64 {
        self.peer_allowance[di(dir)]
    }

    /// Keeps a peer stream's slot in the stream limit taken after the stream finishes, until
    /// [`Connection::release_stream_slot`]. No effect on our own streams or forgotten ones.
    pub fn hold_stream_slot(&mut self, id: StreamId) {
        if id.initiator() != self.side && self.streams.contains_key(&id) {
            self.held_slots.insert(id);
        }
    }

    /// Gives back a slot kept by [`Connection::hold_stream_slot`]: at once if the stream has
    /// finished, else when it does.
    pub fn release_stream_slot(&mut self, id: StreamId) {
        if self.held_slots.remove(&id) && self.owed_slots.remove(&id) {
            self.top_up_peer_streams(id.dir());
        }
    }

    /// A finished peer stream leaves the engine: its slot goes back to the peer unless held.
    pub(super) fn peer_stream_finished(&mut self, id: StreamId) {
        if self.held_slots.contains(&id) {
            self.owed_slots.insert(id);
        } else {
            self.top_up_peer_streams(id.dir());
        }
    }

    /// One peer stream of `dir` no longer counts as open: MAX_STREAMS grows by one while the
    /// peer has fewer open than its allowance.
    fn top_up_peer_streams(&mut self, dir: Dir) {
        let d = di(dir);
        self.released[d] += 1;
        let open = self.next_remote[d].saturating_sub(self.released[d]);
        if open < self.peer_allowance[d] {
            self.max_remote[d] += 1;
            self.max_streams_pending[d] = true;
        }
    }
}

impl Connection {
    /// Takes the send completions of `id` not yet polled (`SendComplete` and `SendCanceled`,
    /// in order, as `(token, canceled)`), for a caller that must report them before it ends
    /// the stream itself (MsQuic's immediate shutdown).
    pub fn take_send_events(&mut self, id: StreamId) -> Vec<(u64, bool)> {
        self.events.take_sends(id)
    }
}
