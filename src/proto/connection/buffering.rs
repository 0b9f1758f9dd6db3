//! Send buffering, as MsQuic's: a send is copied and completes at once while the connection
//! holds less than an ideal number of copied bytes not yet written; otherwise it is held
//! (the caller's bytes, by reference) and completes once written, or once written bytes
//! free room below the ideal, whichever comes first: then its unwritten bytes are copied.
//!
//! The accounting is per connection, as MsQuic's (copied bytes of all streams count against
//! one ideal), and a copy is charged until its last byte is written (QMux's implicit
//! acknowledgement) or dropped. Held sends are copied oldest first, across streams, while
//! room remains; one send may take the buffer past the ideal (MsQuic buffers "at least" the
//! ideal), so at most the ideal plus one send is copied.
//!
//! Room is given to held sends once per transmit pass, when the driver next takes the
//! engine's events (`Connection::poll_event`), not after each record: within a pass a held
//! send's bytes are written from the caller's buffers, a held send written whole completes
//! as written, and only what is still unwritten at the end of the pass is copied. A record
//! sender that encrypts straight from the queued data (TLS) then copies nothing that one
//! pass writes anyway, and the application sees the same completions in the same wake-up
//! (the engine's events are taken right after its output). A new send settles earlier held
//! sends first, so it never takes room before them.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{CommandError, Connection, Event};
use crate::proto::spares::{self, Spares};
use crate::proto::stream_id::StreamId;
use crate::proto::streams::SendData;

/// Held sends beyond which the queue is cleared of those completed otherwise (written or
/// canceled), at least.
const COMPACT_MIN: usize = 16;

/// Copy buffers a thread keeps for the next copies (each connection's engine runs on one
/// thread at a time, and copies are made and dropped there), so that a steady stream of
/// copies reuses memory rather than allocating (and faulting in) each one anew.
const SPARE_MAX: usize = 2;
/// The largest copy buffer kept.
const SPARE_CAP_MAX: usize = 4 << 20;
/// Small copy buffers (a request or a response of a few KiB) a thread keeps besides: one
/// connection may have many such sends in flight on as many streams.
const SMALL_SPARE_MAX: usize = 128;
/// The largest small copy buffer.
const SMALL_CAP_MAX: usize = 16 << 10;

thread_local! {
    static SPARE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    static SMALL: Spares<Vec<u8>> = const { Spares::new() };
}

/// Frees the copy buffers this thread keeps (its caller has been idle a while).
pub fn release_spare_buffers() {
    let _ = SPARE.try_with(|pool| pool.borrow_mut().clear());
    spares::clear(&SMALL);
}

/// An empty buffer with room for `len` bytes: a spare one of about that size if the thread
/// has one, else a new one.
fn copy_buffer(len: usize) -> Vec<u8> {
    if len <= SMALL_CAP_MAX {
        let mut v = spares::take(&SMALL).unwrap_or_default();
        v.reserve(len);
        return v;
    }
    SPARE
        .try_with(|pool| {
            let mut pool = pool.borrow_mut();
            let i = pool
                .iter()
                .position(|b| b.capacity() >= len && b.capacity() / 2 <= len)?;
            Some(pool.swap_remove(i))
        })
        .ok()
        .flatten()
        .unwrap_or_else(|| Vec::with_capacity(len))
}

/// A connection's send buffering state.
#[derive(Debug, Default)]
pub(super) struct SendBuffering {
    /// The ideal number of copied bytes (the last figure given with a buffered send).
    ideal: u64,
    /// Copied bytes not yet written: shared with every copy's charge.
    buffered: Arc<AtomicU64>,
    /// Held sends (stream, token, length), oldest first; some may have completed since
    /// (written or canceled).
    held: VecDeque<(StreamId, u64, u64)>,
    /// The queue length that triggers the next clean-up.
    compact_at: usize,
}

impl SendBuffering {
    fn has_room(&self) -> bool {
        self.buffered.load(Ordering::Relaxed) < self.ideal
    }

    /// `bytes` as queued data charging `charged` bytes to the buffer until dropped.
    fn charge(&self, bytes: Vec<u8>, charged: u64) -> SendData {
        self.buffered.fetch_add(charged, Ordering::Relaxed);
        SendData::Shared(Arc::new(Copied {
            bytes,
            charged,
            total: Arc::clone(&self.buffered),
        }))
    }
}

/// Bytes of a buffered send, charged to its connection's buffer while queued: by the whole
/// send's length (as MsQuic, which copies a held send whole), although a held send copied
/// late holds only its unwritten bytes.
struct Copied {
    bytes: Vec<u8>,
    charged: u64,
    total: Arc<AtomicU64>,
}

impl AsRef<[u8]> for Copied {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for Copied {
    fn drop(&mut self) {
        self.total.fetch_sub(self.charged, Ordering::Relaxed);
        let mut bytes = std::mem::take(&mut self.bytes);
        if bytes.capacity() > 0 && bytes.capacity() <= SMALL_CAP_MAX {
            bytes.clear();
            spares::give(&SMALL, bytes, SMALL_SPARE_MAX);
        } else if bytes.capacity() > 0 && bytes.capacity() <= SPARE_CAP_MAX {
            bytes.clear();
            // Not during the thread's teardown.
            let _ = SPARE.try_with(|pool| {
                let mut pool = pool.borrow_mut();
                if pool.len() < SPARE_MAX {
                    pool.push(bytes);
                }
            });
        }
    }
}

impl Connection {
    /// Queues one send of buffered mode: its `parts`, with `token` reported in
    /// [`Event::SendComplete`] at once if the connection has buffer room (the parts are
    /// copied), else once the bytes are written or copied when room frees (see the module
    /// docs). `ideal` is the ideal number of copied bytes. Returns whether the send was
    /// copied now. Fails as [`Connection::send`] does, queueing nothing.
    pub fn send_buffered(
        &mut self,
        id: StreamId,
        parts: Vec<SendData>,
        token: u64,
        ideal: u64,
    ) -> Result<bool, CommandError> {
        self.check_open()?;
        if !self.send_half(id)?.is_writable() {
            return Err(CommandError::SendClosed);
        }
        self.buffering.ideal = ideal;
        // Earlier held sends take the room first; if any is left, none is held any more.
        self.fill_held();
        let room = self.buffering.has_room();
        if room {
            let mut v = copy_buffer(parts.iter().map(|p| p.as_slice().len()).sum());
            for p in &parts {
                v.extend_from_slice(p.as_slice());
            }
            drop(parts);
            let len = v.len() as u64;
            let data = self.buffering.charge(v, len);
            self.send_half(id)?.push(data, None);
            self.events.push_back(Event::SendComplete { id, token });
        } else {
            let len = parts.iter().map(|p| p.as_slice().len() as u64).sum();
            self.send_half(id)?.push_held(parts, token);
            self.buffering.held.push_back((id, token, len));
        }
        self.schedule(id);
        Ok(room)
    }

    /// Queues `bytes` the caller copied and reported complete already, charged to the buffer
    /// as a buffered send's copy until written.
    pub fn send_copied(&mut self, id: StreamId, bytes: Vec<u8>) -> Result<(), CommandError> {
        let len = bytes.len() as u64;
        let data = self.buffering.charge(bytes, len);
        self.send(id, data, None)
    }

    /// Copied bytes not yet written, of all streams.
    pub fn buffered_bytes(&self) -> u64 {
        self.buffering.buffered.load(Ordering::Relaxed)
    }

    /// Ends a transmit pass for held sends: if written (or dropped) copies left room, held
    /// sends take it (see [`Connection::fill_held`]). Cheap when nothing is held or there is
    /// no room.
    pub(super) fn settle_held(&mut self) {
        if !self.buffering.held.is_empty() && self.buffering.has_room() {
            self.fill_held();
        }
    }

    /// Copies held sends, oldest first, while the buffer has room, and reports each
    /// complete. Called once written bytes may have freed room.
    pub(super) fn fill_held(&mut self) {
        while let Some(&(id, token, len)) = self.buffering.held.front() {
            let room = self.buffering.has_room();
            let buffering = &self.buffering;
            let send = self.streams.get_mut(&id).and_then(|s| s.send.as_mut());
            // Written or canceled already: nothing to copy.
            let live = send.is_some_and(|send| send.has_held(token));
            if live {
                if !room {
                    break;
                }
                let send = self.streams.get_mut(&id).and_then(|s| s.send.as_mut());
                if send.is_some_and(|send| {
                    send.copy_held(token, copy_buffer, |b| buffering.charge(b, len))
                }) {
                    self.events.push_back(Event::SendComplete { id, token });
                }
            }
            self.buffering.held.pop_front();
        }
        let b = &mut self.buffering;
        if b.held.len() > b.compact_at.max(COMPACT_MIN) {
            let streams = &self.streams;
            b.held.retain(|&(id, token, _)| {
                streams
                    .get(&id)
                    .and_then(|s| s.send.as_ref())
                    .is_some_and(|send| send.has_held(token))
            });
            b.compact_at = 2 * b.held.len();
        }
    }
}
