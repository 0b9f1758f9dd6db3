//! A panic in a connection's work on its worker (a bug in this library, in engine work or in
//! the delivery of an event) ends only that connection, as MsQuic ends a connection on an
//! internal failure (its QuicConnFatalError with QUIC_STATUS_INTERNAL_ERROR): the peer gets
//! CONNECTION_CLOSE with INTERNAL_ERROR (0x1) if it can still be written, the application
//! SHUTDOWN_INITIATED_BY_TRANSPORT (INTERNAL_ERROR, ErrorCode 1), then, at once, the streams'
//! ends (sends still held completed as canceled) and SHUTDOWN_COMPLETE. The worker and its
//! other connections go on.
//!
//! The panic is caught at the worker's boundary for socket and timer work
//! (`runtime::worker`, which calls the connection's `ConnSink::on_panic`), and around each
//! API operation run on the worker for the connection ([`contain`]).
//!
//! Fault injection for tests (debug builds only; release builds ignore it):
//! `MSQUIC_QMUX_TEST_PANIC=receive:TEXT` makes the delivery of a stream RECEIVE whose data
//! begins with `TEXT` panic, on whichever connection receives it. The variable is read once.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock};

use crate::api::abi::{QUIC_BUFFER, QUIC_STATUS_INTERNAL_ERROR};
use crate::api::connection::Connection;
use crate::api::connection::worker::{self, ConnSlot, STATUS_CLOSE_CODE};
use crate::api::door::handle::Handle;
use crate::runtime::log::qlog;
use crate::runtime::worker::WorkerCx;

/// Ends `slot`'s connection after a panic in its work (see the module's documentation).
pub(crate) fn end(cx: &WorkerCx, slot: &ConnSlot) {
    qlog!(
        Info,
        slot.key(),
        "connection work panicked: ending the connection with INTERNAL_ERROR"
    );
    if let Some(conn) = slot.conn() {
        // The engine may be what failed: if closing it panics too, the socket just ends.
        let _ = catch_unwind(AssertUnwindSafe(|| conn.close_internal_error()));
    }
    // Each is a no-op if the connection is shutting down or over already.
    slot.transport_shutdown(QUIC_STATUS_INTERNAL_ERROR, STATUS_CLOSE_CODE);
    slot.complete(cx, false);
}

/// Runs `f`, an operation for `handle`'s connection on its worker; if it panics, the
/// connection is ended from the worker's queue (never inside the calling API function, which
/// may be running inside one of the application's callbacks).
pub(crate) fn contain(handle: &Arc<Handle<Connection>>, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_ok() {
        return;
    }
    let handle = handle.clone();
    let worker = handle.obj.pool.clone();
    worker
        .worker(handle.obj.worker)
        .post(Box::new(move |cx: &WorkerCx| {
            let slot = worker::slot(handle.as_hquic() as usize)
                .filter(|s| Arc::ptr_eq(&s.handle, &handle));
            if let Some(slot) = slot {
                end(cx, &slot);
            }
        }));
}

/// The fault-injection hook of stream RECEIVE delivery: panics if the test variable asks for
/// it and `bufs` begin with its text.
pub(crate) fn on_receive(bufs: &[QUIC_BUFFER]) {
    let Some(text) = receive_trigger() else {
        return;
    };
    let first = bufs.iter().find(|b| b.Length > 0);
    let Some(b) = first else { return };
    // SAFETY: the buffers of a RECEIVE this library raises point at `Length` readable bytes.
    let data = unsafe { std::slice::from_raw_parts(b.Buffer, b.Length as usize) };
    if data.starts_with(text.as_bytes()) {
        panic!("MSQUIC_QMUX_TEST_PANIC: injected panic in RECEIVE delivery");
    }
}

/// The text `MSQUIC_QMUX_TEST_PANIC=receive:TEXT` names, in debug builds.
fn receive_trigger() -> Option<&'static str> {
    if !cfg!(debug_assertions) {
        return None;
    }
    static TRIGGER: OnceLock<Option<String>> = OnceLock::new();
    TRIGGER
        .get_or_init(|| {
            let value = std::env::var("MSQUIC_QMUX_TEST_PANIC").ok()?;
            let text = value.strip_prefix("receive:")?;
            (!text.is_empty()).then(|| text.to_owned())
        })
        .as_deref()
}
