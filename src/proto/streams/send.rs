//! The sending half of a stream.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use crate::proto::coding::BufMut;
use crate::proto::flow_control::SendCredit;
use crate::proto::spares::{self, Spares};

/// Application data queued on a stream, owned by the engine until it is written into a
/// record (the only copy the engine makes of it), or, for a writer that gathers records
/// ([`crate::proto::Connection::transmit_gathered`]), referenced by the records until they
/// are handed to the transport.
pub enum SendData {
    /// A byte vector.
    Owned(Vec<u8>),
    /// Any other owner of the bytes, e.g. a buffer the application keeps until it is told the
    /// data was sent. Shared, so that gathered records can refer to it while the stream moves
    /// on.
    Shared(Arc<dyn AsRef<[u8]> + Send + Sync>),
}

impl SendData {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Self::Owned(v) => v,
            Self::Shared(b) => (**b).as_ref(),
        }
    }
}

impl fmt::Debug for SendData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SendData({} bytes)", self.as_slice().len())
    }
}

impl From<Vec<u8>> for SendData {
    fn from(v: Vec<u8>) -> Self {
        Self::Owned(v)
    }
}

impl From<&[u8]> for SendData {
    fn from(v: &[u8]) -> Self {
        Self::Owned(v.to_vec())
    }
}

/// Where the sending half is in RFC 9000 §3.1's state machine.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum SendPhase {
    /// Accepting data ("Ready"/"Send").
    Open,
    /// The application finished; the FIN is queued ("Send" with FIN pending).
    Finishing,
    /// Everything including the FIN was written ("Data Recvd", by implicit acknowledgement).
    DataSent,
    /// A reset is queued; for RESET_STREAM_AT, data below `reliable_size` still goes first.
    ResetPending {
        /// The application's error code.
        error_code: u64,
        /// Bytes to send before the reset (0 for RESET_STREAM).
        reliable_size: u64,
    },
    /// The reset was written ("Reset Recvd", by implicit acknowledgement).
    ResetSent,
}

#[derive(Debug)]
struct Chunk {
    data: SendData,
    pos: usize,
    token: Option<u64>,
    /// The token of the held send this chunk belongs to (see [`SendStream::push_held`]),
    /// until its bytes are copied.
    held: Option<u64>,
}

thread_local! {
    /// Send queues of ended streams, for the thread's next streams.
    static QUEUES: Spares<VecDeque<Chunk>> = const { Spares::new() };
}

/// Frees this thread's spare send queues.
pub(crate) fn release_spares() {
    spares::clear(&QUEUES);
}

/// A stream's priority until set (MsQuic's default, 0x7FFF).
pub const DEFAULT_PRIORITY: u16 = 0x7fff;

/// The sending half of a stream.
#[derive(Debug)]
pub struct SendStream {
    queue: VecDeque<Chunk>,
    /// Bytes queued and not yet written.
    pending: u64,
    /// Bytes written so far: the offset of the next byte.
    offset: u64,
    /// State machine position.
    pub phase: SendPhase,
    /// The peer's limit on this stream.
    pub credit: SendCredit,
    /// Scheduling priority; higher goes first.
    pub priority: u16,
    /// Whether the stream sits in the connection's send queue.
    pub queued: bool,
    /// An empty STREAM frame at offset 0 is due, to open the stream on the peer before any
    /// data (see [`crate::proto::Connection::announce`]).
    pub announce: bool,
    /// Blocked-time clocks (see [`crate::proto::Connection::blocked_times`]).
    pub blocked: crate::proto::connection::StreamBlocked,
    /// Bytes from the start of the stream that may go in TLS early data (0-RTT): the data
    /// of the sends allowed there, as long as every send before them was.
    early_limit: u64,
    /// A frame of this stream went out in TLS early data.
    pub early_opened: bool,
}

impl Drop for SendStream {
    fn drop(&mut self) {
        spares::give_queue(&QUEUES, std::mem::take(&mut self.queue));
    }
}

impl SendStream {
    /// Room for chunks the queue has without allocating (tests of the spares).
    #[cfg(test)]
    pub(super) fn queue_room(&self) -> usize {
        self.queue.capacity() - self.queue.len()
    }

    /// A new sending half with the peer's initial limit `max_data`.
    pub fn new(max_data: u64) -> Self {
        Self {
            queue: spares::take(&QUEUES).unwrap_or_default(),
            pending: 0,
            offset: 0,
            phase: SendPhase::Open,
            credit: SendCredit::new(max_data),
            priority: DEFAULT_PRIORITY,
            queued: false,
            announce: false,
            blocked: Default::default(),
            early_limit: 0,
            early_opened: false,
        }
    }

    /// Marks the data queued last (`len` bytes) as allowed in TLS early data, if all data
    /// queued before it was.
    pub fn allow_early(&mut self, len: u64) {
        let end = self.offset + self.pending;
        if self.early_limit == end.saturating_sub(len) {
            self.early_limit = end;
        }
    }

    /// Whether an announcing frame is due while output is restricted to TLS early data: the
    /// stream opens on the peer even when none of its queued data may go yet (a stream
    /// with only such data waits, as in MsQuic).
    pub fn early_announce(&self) -> bool {
        !self.early_opened && self.announce && self.offset == 0 && self.phase == SendPhase::Open
    }

    /// Bytes that may still go in TLS early data.
    pub fn early_room(&self) -> u64 {
        self.early_limit.saturating_sub(self.offset)
    }

    /// Whether this stream has anything that may go in TLS early data: an announcing
    /// frame, data allowed there, or a FIN after data all allowed there.
    pub fn early_ready(&self) -> bool {
        match self.phase {
            SendPhase::Open => self.early_announce() || (self.pending > 0 && self.early_room() > 0),
            SendPhase::Finishing => {
                (self.pending > 0 && self.early_room() > 0) || self.early_room() >= self.pending
            }
            SendPhase::ResetPending { .. } => self.pending > 0 && self.early_room() > 0,
            SendPhase::DataSent | SendPhase::ResetSent => false,
        }
    }

    /// The same with blocked-time clocks already running.
    pub fn with_blocked(mut self, blocked: crate::proto::connection::StreamBlocked) -> Self {
        self.blocked = blocked;
        self
    }

    /// Bytes written so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes queued and not yet written.
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// Whether the application may still write.
    pub fn is_writable(&self) -> bool {
        self.phase == SendPhase::Open
    }

    /// Whether nothing more will ever be sent.
    pub fn is_terminal(&self) -> bool {
        matches!(self.phase, SendPhase::DataSent | SendPhase::ResetSent)
    }

    /// Whether queued data still waits to report a token (some send is not complete yet).
    pub fn has_waiting_token(&self) -> bool {
        self.queue.iter().any(|c| c.token.is_some())
    }

    /// Queues data; `token` is reported back once it has all been written.
    pub fn push(&mut self, data: SendData, token: Option<u64>) {
        self.pending += data.as_slice().len() as u64;
        self.queue.push_back(Chunk {
            data,
            pos: 0,
            token,
            held: None,
        });
    }

    /// Queues the parts of one held send: the caller's bytes, kept until they are written
    /// (`token` is reported then, on the last part) or copied by [`SendStream::copy_held`].
    pub fn push_held(&mut self, parts: Vec<SendData>, token: u64) {
        let last = parts.len().saturating_sub(1);
        for (i, data) in parts.into_iter().enumerate() {
            self.pending += data.as_slice().len() as u64;
            self.queue.push_back(Chunk {
                data,
                pos: 0,
                token: (i == last).then_some(token),
                held: Some(token),
            });
        }
    }

    /// Whether the held send `token` still has bytes queued that were neither written nor
    /// copied.
    pub fn has_held(&self, token: u64) -> bool {
        self.queue.iter().any(|c| c.held == Some(token))
    }

    /// Copies the unwritten bytes of the held send `token` into one buffer (from `buffer`,
    /// given their length), queued through
    /// `own` in place of the caller's, and drops its token: the caller reports it complete.
    /// Returns whether anything of that send was still queued.
    pub fn copy_held(
        &mut self,
        token: u64,
        buffer: impl FnOnce(usize) -> Vec<u8>,
        own: impl FnOnce(Vec<u8>) -> SendData,
    ) -> bool {
        let Some(first) = self.queue.iter().position(|c| c.held == Some(token)) else {
            return false;
        };
        // A held send's parts are queued together.
        let end = first
            + self
                .queue
                .range(first..)
                .take_while(|c| c.held == Some(token))
                .count();
        let len = self
            .queue
            .range(first..end)
            .map(|c| c.data.as_slice().len() - c.pos)
            .sum();
        let mut bytes = buffer(len);
        for c in self.queue.range(first..end) {
            bytes.extend_from_slice(&c.data.as_slice()[c.pos..]);
        }
        self.queue.drain(first + 1..end);
        let c = &mut self.queue[first];
        c.data = own(bytes);
        c.pos = 0;
        c.held = None;
        c.token = None;
        true
    }

    /// Whether a STREAM frame is due: data to send, or a FIN with nothing before it.
    pub fn wants_frame(&self) -> bool {
        match self.phase {
            SendPhase::Open => self.pending > 0 || self.announce_due(),
            SendPhase::Finishing => true,
            SendPhase::ResetPending { reliable_size, .. } => self.offset < reliable_size,
            SendPhase::DataSent | SendPhase::ResetSent => false,
        }
    }

    /// Whether only an announcing empty frame is due: nothing written or queued yet.
    pub fn announce_due(&self) -> bool {
        self.announce && self.offset == 0 && self.pending == 0 && self.phase == SendPhase::Open
    }

    /// The most data that may go in the next frame, ignoring connection credit.
    pub fn sendable(&self) -> u64 {
        let mut n = self.pending.min(self.credit.available());
        if let SendPhase::ResetPending { reliable_size, .. } = self.phase {
            n = n.min(reliable_size.saturating_sub(self.offset));
        }
        n
    }

    /// Whether a frame carrying `n` bytes would end the stream.
    pub fn fin_after(&self, n: u64) -> bool {
        self.phase == SendPhase::Finishing && n == self.pending
    }

    /// Copies the next `n` queued bytes into `out`, charging stream credit; tokens of chunks
    /// now fully written are passed to `done`.
    pub fn write_data<B: BufMut + ?Sized>(
        &mut self,
        out: &mut B,
        n: u64,
        mut done: impl FnMut(u64),
    ) {
        let mut left = n as usize;
        while left > 0 {
            let Some(chunk) = self.queue.front_mut() else {
                break;
            };
            let take = (chunk.data.as_slice().len() - chunk.pos).min(left);
            out.put_chunk(&mut chunk.data, chunk.pos..chunk.pos + take);
            chunk.pos += take;
            left -= take;
            if chunk.pos == chunk.data.as_slice().len() {
                if let Some(t) = chunk.token {
                    done(t);
                }
                self.queue.pop_front();
            }
        }
        // Empty chunks at the front complete at once.
        while self
            .queue
            .front()
            .is_some_and(|c| c.pos == c.data.as_slice().len())
        {
            if let Some(Chunk { token: Some(t), .. }) = self.queue.pop_front() {
                done(t);
            }
        }
        self.pending -= n;
        self.offset += n;
        self.credit.consume(n);
    }

    /// Drops all queued data (on reset), returning the tokens that will never complete.
    pub fn discard(&mut self) -> Vec<u64> {
        self.pending = 0;
        self.queue.drain(..).filter_map(|c| c.token).collect()
    }

    /// Drops queued data past `limit` bytes from the start of the stream (RESET_STREAM_AT),
    /// returning tokens of chunks that will not be fully sent.
    pub fn truncate_to(&mut self, limit: u64) -> Vec<u64> {
        let keep = limit.saturating_sub(self.offset);
        if keep >= self.pending {
            return Vec::new();
        }
        let mut tokens = Vec::new();
        let mut seen = 0u64;
        let mut kept = VecDeque::new();
        for mut c in self.queue.drain(..) {
            let len = (c.data.as_slice().len() - c.pos) as u64;
            if seen + len <= keep {
                seen += len;
                kept.push_back(c);
            } else {
                if let Some(t) = c.token.take() {
                    tokens.push(t);
                }
                if seen < keep {
                    // Keep the head of this chunk; it completes with no token.
                    let head = (keep - seen) as usize;
                    let bytes = c.data.as_slice()[c.pos..c.pos + head].to_vec();
                    kept.push_back(Chunk {
                        data: SendData::Owned(bytes),
                        pos: 0,
                        token: None,
                        held: None,
                    });
                    seen = keep;
                }
            }
        }
        // Kept chunks after the last kept token belong to a send whose token was just
        // returned: the caller releases that send's memory on the token, so shared bytes it
        // still has to write are copied first (and, of a held send, are no longer held).
        for c in kept.iter_mut().rev() {
            if c.token.is_some() {
                break;
            }
            c.held = None;
            if let SendData::Shared(b) = &c.data {
                c.data = SendData::Owned((**b).as_ref()[c.pos..].to_vec());
                c.pos = 0;
            }
        }
        self.queue = kept;
        self.pending = seen;
        tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_tokens_are_seen_until_written() {
        let mut s = SendStream::new(100);
        s.push(b"abc"[..].into(), None);
        assert!(!s.has_waiting_token());
        s.push(b"de"[..].into(), Some(7));
        assert!(s.has_waiting_token());
        let mut out = Vec::new();
        let mut done = Vec::new();
        s.write_data(&mut out, 5, |t| done.push(t));
        assert_eq!(done, vec![7]);
        assert!(!s.has_waiting_token());
    }

    #[test]
    fn writes_across_chunks_and_reports_tokens() {
        let mut s = SendStream::new(100);
        s.push(b"abc"[..].into(), Some(1));
        s.push(Vec::new().into(), Some(2));
        s.push(b"defg"[..].into(), Some(3));
        let mut out = Vec::new();
        let mut done = Vec::new();
        s.write_data(&mut out, 5, |t| done.push(t));
        assert_eq!(out, b"abcde");
        assert_eq!(done, [1, 2]);
        assert_eq!((s.offset(), s.pending(), s.credit.available()), (5, 2, 95));
        s.write_data(&mut out, 2, |t| done.push(t));
        assert_eq!(done, [1, 2, 3]);
    }

    #[test]
    fn truncate_copies_shared_bytes_of_a_send_whose_token_is_returned() {
        struct Shared(Vec<u8>);
        impl AsRef<[u8]> for Shared {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }
        let mut s = SendStream::new(100);
        s.push(SendData::Shared(Arc::new(Shared(b"ab".to_vec()))), Some(1));
        s.push(SendData::Shared(Arc::new(Shared(b"cd".to_vec()))), None);
        s.push(SendData::Shared(Arc::new(Shared(b"ef".to_vec()))), Some(2));
        assert_eq!(s.truncate_to(5), vec![2]);
        let kinds: Vec<bool> = s
            .queue
            .iter()
            .map(|c| matches!(c.data, SendData::Owned(_)))
            .collect();
        assert_eq!(kinds, [false, true, true]);
        let mut out = Vec::new();
        s.write_data(&mut out, 5, |_| {});
        assert_eq!(out, b"abcde");
    }

    #[test]
    fn held_sends_are_copied_whole_and_truncation_unholds_a_cut_send() {
        let mut s = SendStream::new(100);
        s.push_held(vec![b"ab"[..].into(), b"cd"[..].into()], 1);
        s.push_held(vec![b"ef"[..].into(), b"gh"[..].into()], 2);
        let mut out = Vec::new();
        let mut done = Vec::new();
        s.write_data(&mut out, 1, |t| done.push(t));
        // Send 2 is cut by a reliable size inside it: its token goes, its head is no longer
        // held (nothing may complete it again).
        assert_eq!(s.truncate_to(6), vec![2]);
        assert!(s.has_held(1) && !s.has_held(2));
        assert!(!s.copy_held(2, Vec::with_capacity, SendData::Owned));
        // Send 1's unwritten bytes become one copy; its token is dropped.
        assert!(s.copy_held(1, Vec::with_capacity, SendData::Owned));
        assert!(!s.has_held(1) && !s.has_waiting_token());
        assert_eq!(s.queue.len(), 2);
        s.write_data(&mut out, 5, |t| done.push(t));
        assert_eq!(out, b"abcdef");
        assert!(done.is_empty());
    }

    #[test]
    fn truncate_keeps_reliable_prefix() {
        let mut s = SendStream::new(100);
        s.push(b"abc"[..].into(), Some(1));
        s.push(b"defg"[..].into(), Some(2));
        s.push(b"hi"[..].into(), Some(3));
        assert_eq!(s.truncate_to(5), vec![2, 3]);
        assert_eq!(s.pending(), 5);
        let mut out = Vec::new();
        s.write_data(&mut out, 5, |_| {});
        assert_eq!(out, b"abcde");
    }
}
