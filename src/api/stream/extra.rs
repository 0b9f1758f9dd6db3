//! Per-stream state for reliable reset, immediate shutdown, delayed stream-ID credit and the
//! blocked-time statistics, kept apart from the stream's core state in `mod.rs`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

use crate::api::abi::QUIC_BUFFER;
use crate::api::global::counted::StreamCount;
use crate::api::stream::stats::Timings;
use crate::runtime::counters;

/// How our sending half was abandoned, if it was.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub(crate) enum LocalReset {
    /// Not abandoned.
    #[default]
    None,
    /// RESET_STREAM.
    Plain,
    /// RESET_STREAM_AT with the reliable offset in force.
    Reliable,
}

/// A stream's extra state; see the module comment.
#[derive(Default)]
pub(crate) struct StreamExtra {
    /// Bytes the application handed to StreamSend (MsQuic's queued send offset).
    queued: AtomicU64,
    state: Mutex<ExtraState>,
    /// Blocked-time measurements (`QUIC_PARAM_STREAM_STATISTICS`).
    pub(crate) timings: Mutex<Timings>,
    /// The stream's place in STRM_ACTIVE.
    pub(crate) counted: StreamCount,
    /// The end of the data received in 0-RTT (RECEIVE's 0_RTT flag below it).
    early_received: AtomicU64,
    /// The bytes of ours sent in 0-RTT (`QUIC_PARAM_STREAM_0RTT_LENGTH`).
    early_sent: AtomicU64,
}

/// The lockable part of [`StreamExtra`].
#[derive(Default)]
pub(crate) struct ExtraState {
    /// `QUIC_PARAM_STREAM_RELIABLE_OFFSET`; 0 when unset.
    pub(crate) reliable_offset: u64,
    /// How the sending half was abandoned.
    pub(crate) local_reset: LocalReset,
    /// The reliable size the peer announced in RESET_STREAM_AT.
    pub(crate) peer_reliable: Option<u64>,
    /// SEND_SHUTDOWN_COMPLETE was raised.
    pub(crate) send_shutdown_indicated: bool,
    /// The application aborted the receiving half (we sent STOP_SENDING): the peer's plain
    /// RESET_STREAM then raises no PEER_SEND_ABORTED, as in MsQuic (RESET_STREAM_AT does).
    pub(crate) stopped_receiving: bool,
    /// DELAY_ID_FC_UPDATES: the stream's slot in the peer's stream limit goes back only at
    /// StreamClose.
    pub(crate) delay_id_fc: bool,
}

impl StreamExtra {
    /// Counts the bytes of one StreamSend.
    pub(crate) fn count_send(&self, buffers: &[QUIC_BUFFER]) {
        let n: u64 = buffers.iter().map(|b| u64::from(b.Length)).sum();
        self.queued.fetch_add(n, Ordering::Relaxed);
        counters::add(counters::APP_SEND_BYTES, n as i64);
    }

    /// The stream starts waiting for the peer's stream-count limit.
    pub(crate) fn id_blocked(&self) {
        self.timings.lock().id_blocked(Instant::now());
    }

    /// The stream got its place under the peer's stream-count limit.
    pub(crate) fn id_unblocked(&self) {
        self.timings.lock().id_unblocked(Instant::now);
    }

    /// Notes the end of the data received in 0-RTT.
    pub(crate) fn set_early_received(&self, end: u64) {
        self.early_received.fetch_max(end, Ordering::Relaxed);
    }

    /// The end of the data received in 0-RTT.
    pub(crate) fn early_received(&self) -> u64 {
        self.early_received.load(Ordering::Relaxed)
    }

    /// Notes the bytes of ours sent in 0-RTT.
    pub(crate) fn set_early_sent(&self, n: u64) {
        self.early_sent.store(n, Ordering::Relaxed);
    }

    /// The bytes of ours sent in 0-RTT.
    pub(crate) fn early_sent(&self) -> u64 {
        self.early_sent.load(Ordering::Relaxed)
    }

    /// Bytes queued with StreamSend so far.
    pub(crate) fn queued(&self) -> u64 {
        self.queued.load(Ordering::Relaxed)
    }

    /// The lockable state.
    pub(crate) fn lock(&self) -> parking_lot::MutexGuard<'_, ExtraState> {
        self.state.lock()
    }

    /// Whether SEND_SHUTDOWN_COMPLETE was raised (MsQuic's LocalCloseAcked: the sending
    /// half is over).
    pub(crate) fn send_shutdown_indicated(&self) -> bool {
        self.state.lock().send_shutdown_indicated
    }

    /// Notes that SEND_SHUTDOWN_COMPLETE is being raised; false if it was already.
    pub(crate) fn mark_send_shutdown(&self) -> bool {
        !std::mem::replace(&mut self.state.lock().send_shutdown_indicated, true)
    }
}
