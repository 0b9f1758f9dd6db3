//! Handles: every `HQUIC` points at a [`Handle`], whose `#[repr(C)]` header carries a magic
//! value, the object's kind, and the application's context and callback.
//!
//! Validation order is NULL, alignment, magic, kind. A handle is live, closing or closed:
//! - live: every call that takes its kind accepts it;
//! - closing: the application called ConnectionClose, StreamClose or ListenerClose and the
//!   handle's final event (SHUTDOWN_COMPLETE, or STOP_COMPLETE with AppCloseInProgress) has not
//!   returned yet. As in MsQuic, which frees the object only after that event, the
//!   kind-independent calls (GetContext, SetContext, SetCallbackHandler, GetParam, SetParam)
//!   still work;
//!   they run inside [`closing_accepted`]. Every other call refuses it as a closed handle;
//! - closed: the magic is overwritten and the memory kept in a bounded quarantine for a while,
//!   so a call on a recently closed handle is answered with `QUIC_STATUS_INVALID_PARAMETER`
//!   instead of reading freed memory.

use core::ffi::c_void;
use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};

use parking_lot::Mutex;

use crate::api::abi::{HQUIC, QUIC_HANDLE};

/// Magic value of a live handle ("QMXh").
const MAGIC_LIVE: u32 = 0x684d_5851;
/// Magic value of a handle the application closed whose final event has not returned ("QMXc").
const MAGIC_CLOSING: u32 = 0x634d_5851;
/// Magic value of a closed handle ("QMXx").
const MAGIC_CLOSED: u32 = 0x784d_5851;
/// How many bytes of closed handles keep their memory so that late calls on them are caught
/// (a few hundred handles: a stream's is about 530 bytes, a connection's about 1 KiB). The
/// bound keeps the quarantine within a core's cache: its memory is reused in the order it was
/// closed, so a quarantine larger than the cache makes every new handle, and every freed one,
/// a cache miss (with 4096 handles, requests with a new stream each cost 12% more CPU).
const QUARANTINE_BYTES: usize = 256 * 1024;

/// The kinds of object an `HQUIC` can name. We write these; values read back from memory are
/// compared as integers.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Registration = 1,
    Configuration = 2,
    Listener = 3,
    Connection = 4,
    Stream = 5,
}

/// A Rust object that can sit behind an `HQUIC`.
pub(crate) trait Object: Send + Sync + 'static {
    /// The kind recorded in the handle header.
    const KIND: Kind;
    /// Whether a new object has no final event to wait for before its close completes (a
    /// listener: it has one only while stopping).
    const FINAL_DONE_AT_OPEN: bool = false;
}

thread_local! {
    /// Set while a kind-independent call runs: closing handles are accepted.
    static ACCEPT_CLOSING: Cell<bool> = const { Cell::new(false) };
}

/// While alive, validation on this thread accepts closing handles (the body of GetContext,
/// SetContext, SetCallbackHandler or GetParam).
pub(crate) struct ClosingAccepted(bool);

impl ClosingAccepted {
    /// Accepts closing handles until the guard is dropped.
    pub(crate) fn enter() -> Self {
        Self(ACCEPT_CLOSING.with(|c| c.replace(true)))
    }
}

impl Drop for ClosingAccepted {
    fn drop(&mut self) {
        ACCEPT_CLOSING.with(|c| c.set(self.0));
    }
}

/// Runs `f` with closing handles accepted by validation on this thread.
pub(crate) fn closing_accepted<R>(f: impl FnOnce() -> R) -> R {
    let _accepting = ClosingAccepted::enter();
    f()
}

/// Whether validation on this thread takes a handle whose magic is `magic`.
fn accepted(magic: u32) -> bool {
    magic == MAGIC_LIVE || (magic == MAGIC_CLOSING && ACCEPT_CLOSING.with(Cell::get))
}

/// The part of every handle that the kind-independent calls use.
#[repr(C)]
pub(crate) struct Header {
    magic: AtomicU32,
    kind: u32,
    context: AtomicPtr<c_void>,
    handler: AtomicPtr<c_void>,
    /// No final event is due or running: a close may complete.
    final_done: AtomicBool,
}

impl Header {
    /// The application context (`SetContext`/`GetContext`).
    pub(crate) fn context(&self) -> *mut c_void {
        self.context.load(Ordering::Acquire)
    }

    /// Stores the application context.
    pub(crate) fn set_context(&self, context: *mut c_void) {
        self.context.store(context, Ordering::Release);
    }

    /// The application callback, as an untyped pointer (NULL if none).
    pub(crate) fn handler(&self) -> *mut c_void {
        self.handler.load(Ordering::Acquire)
    }

    /// Stores the application callback.
    pub(crate) fn set_handler(&self, handler: *mut c_void) {
        self.handler.store(handler, Ordering::Release);
    }

    /// The kind of this handle, if it is one we know.
    pub(crate) fn kind(&self) -> Option<Kind> {
        [
            Kind::Registration,
            Kind::Configuration,
            Kind::Listener,
            Kind::Connection,
            Kind::Stream,
        ]
        .into_iter()
        .find(|k| *k as u32 == self.kind)
    }
}

/// An object behind an `HQUIC`: the header first, then the Rust object.
#[repr(C)]
pub(crate) struct Handle<T> {
    header: Header,
    /// The object itself.
    pub(crate) obj: T,
}

impl<T: Object> Handle<T> {
    /// Allocates a handle for `obj` with the given context and callback.
    pub(crate) fn new(obj: T, context: *mut c_void, handler: *mut c_void) -> Arc<Self> {
        Arc::new(Self {
            header: Header {
                magic: AtomicU32::new(MAGIC_LIVE),
                kind: T::KIND as u32,
                context: AtomicPtr::new(context),
                handler: AtomicPtr::new(handler),
                final_done: AtomicBool::new(T::FINAL_DONE_AT_OPEN),
            },
            obj,
        })
    }

    /// Hands one reference to the application as an `HQUIC`.
    pub(crate) fn into_hquic(this: Arc<Self>) -> HQUIC {
        Arc::into_raw(this) as HQUIC
    }

    /// The `HQUIC` for this handle (without transferring a reference).
    pub(crate) fn as_hquic(&self) -> HQUIC {
        self as *const Self as HQUIC
    }

    /// The header.
    pub(crate) fn header(&self) -> &Header {
        &self.header
    }

    /// Whether the application has closed this handle (the close may be in progress).
    pub(crate) fn is_closed_by_app(&self) -> bool {
        self.header.magic.load(Ordering::Acquire) != MAGIC_LIVE
    }

    /// Whether the application's close of this handle has completed: no event is delivered.
    pub(crate) fn is_closed(&self) -> bool {
        self.header.magic.load(Ordering::Acquire) == MAGIC_CLOSED
    }

    /// Borrows the live handle of kind `T` that `h` names (or closing, inside
    /// [`closing_accepted`]).
    ///
    /// # Safety
    /// `h` must be NULL or a pointer this library handed out (live, or closed within the
    /// quarantine window); the application must not close it while the borrow is in use.
    pub(crate) unsafe fn borrow<'a>(h: HQUIC) -> Option<&'a Self> {
        // SAFETY: the caller's contract is ours.
        let header = unsafe { header(h) }?;
        if header.kind != T::KIND as u32 {
            return None;
        }
        // SAFETY: the kind tag says `h` was produced by `Handle::<T>::into_hquic`, and the
        // header is live or closing (the application's reference not yet taken back), so the
        // whole `Handle<T>` is still allocated.
        Some(unsafe { &*(h as *const Self) })
    }

    /// Takes a new strong reference to the live handle of kind `T` that `h` names.
    ///
    /// # Safety
    /// As for [`Handle::borrow`].
    pub(crate) unsafe fn get(h: HQUIC) -> Option<Arc<Self>> {
        // SAFETY: the caller's contract is ours.
        let this = unsafe { Self::borrow(h) }?;
        Some(this.arc())
    }

    /// A new strong reference to this handle.
    pub(crate) fn arc(&self) -> Arc<Self> {
        let ptr = self as *const Self;
        // SAFETY: every `Handle<T>` lives in an `Arc` (see `new`), and `self` proves a strong
        // reference is alive, so the count can be raised and a new `Arc` made from it.
        unsafe {
            Arc::increment_strong_count(ptr);
            Arc::from_raw(ptr)
        }
    }

    /// Closes a handle that has no final event (registration, configuration, a connection the
    /// listener's callback refused): marks it closed and takes back the application's
    /// reference, keeping the memory in quarantine. Returns `None` if `h` is not a live handle
    /// of kind `T`.
    ///
    /// # Safety
    /// As for [`Handle::borrow`]; `h` is invalid for the application afterwards.
    pub(crate) unsafe fn close(h: HQUIC) -> Option<Arc<Self>> {
        // SAFETY: the caller's contract is ours.
        let this = unsafe { Self::begin_close(h) }?;
        this.finish_close();
        Some(this)
    }

    /// Starts the application's close of a handle that has a final event: marks it closing.
    /// Returns `None` if `h` is not a live handle of kind `T` (closed, or closing already).
    /// The close completes with [`Handle::end_close`] or [`Handle::final_event_returned`],
    /// whichever sees the other's step.
    ///
    /// # Safety
    /// As for [`Handle::borrow`].
    pub(crate) unsafe fn begin_close(h: HQUIC) -> Option<Arc<Self>> {
        // SAFETY: `h` is NULL or one of ours by the caller's contract.
        let header = unsafe { raw_header(h) }?;
        if header.kind != T::KIND as u32 {
            return None;
        }
        header
            .magic
            .compare_exchange(
                MAGIC_LIVE,
                MAGIC_CLOSING,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .ok()?;
        // SAFETY: the kind tag says `h` was produced by `Handle::<T>::into_hquic`; the
        // application's reference is not taken back before the close completes, so the
        // whole `Handle<T>` is allocated.
        Some(unsafe { &*(h as *const Self) }.arc())
    }

    /// A final event is about to be raised (a listener's STOP_COMPLETE): a close waits for it.
    pub(crate) fn final_event_started(&self) {
        self.header.final_done.store(false, Ordering::SeqCst);
    }

    /// The final event has returned: a close in progress completes now. True if this call
    /// completed the close (exactly one of it and [`Handle::end_close`] does).
    pub(crate) fn final_event_returned(&self) -> bool {
        self.header.final_done.store(true, Ordering::SeqCst);
        self.header.magic.load(Ordering::SeqCst) == MAGIC_CLOSING && self.finish_close()
    }

    /// The close call's own work is done: the close completes now unless the final event has
    /// yet to return (then [`Handle::final_event_returned`] completes it). True if this call
    /// completed the close.
    pub(crate) fn end_close(&self) -> bool {
        self.header.final_done.load(Ordering::SeqCst) && self.finish_close()
    }

    /// Closing to closed, once: takes back the application's reference and quarantines it.
    /// True if this call did it.
    fn finish_close(&self) -> bool {
        if self
            .header
            .magic
            .compare_exchange(
                MAGIC_CLOSING,
                MAGIC_CLOSED,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_err()
        {
            return false;
        }
        // SAFETY: `self` is the handle `into_hquic` leaked one strong reference of to the
        // application; the magic swap above makes sure it is taken back only once.
        let app_ref = unsafe { Arc::from_raw(self as *const Self) };
        quarantine(app_ref);
        true
    }
}

/// Reads the header of a live handle of any kind (or closing, inside [`closing_accepted`]).
///
/// # Safety
/// `h` must be NULL or a pointer this library handed out, live or closed within the quarantine
/// window.
pub(crate) unsafe fn header<'a>(h: HQUIC) -> Option<&'a Header> {
    // SAFETY: the caller's contract is ours.
    let header = unsafe { raw_header(h) }?;
    accepted(header.magic.load(Ordering::Acquire)).then_some(header)
}

/// The header `h` points at, whatever its state.
///
/// # Safety
/// As for [`header`].
unsafe fn raw_header<'a>(h: HQUIC) -> Option<&'a Header> {
    if h.is_null() || (h as usize) % align_of::<Header>() != 0 {
        return None;
    }
    // SAFETY: non-NULL and aligned; by the caller's contract it points at a `Header` that is
    // still allocated. Only atomics and an immutable integer are read through it.
    Some(unsafe { &*(h as *const QUIC_HANDLE as *const Header) })
}

/// Closed handles whose memory is kept so a late call on them finds `MAGIC_CLOSED`, oldest
/// first, and the bytes they occupy.
struct Quarantine {
    handles: VecDeque<Arc<dyn Send + Sync>>,
    bytes: usize,
}

static QUARANTINE: Mutex<Quarantine> = Mutex::new(Quarantine {
    handles: VecDeque::new(),
    bytes: 0,
});

fn quarantine(obj: Arc<dyn Send + Sync>) {
    let mut incoming = Some(obj);
    loop {
        let evicted = {
            let mut q = QUARANTINE.lock();
            if let Some(obj) = incoming.take() {
                q.bytes += size_of_val(&*obj);
                q.handles.push_back(obj);
            }
            // The newest handle always stays, whatever its size.
            if q.bytes <= QUARANTINE_BYTES || q.handles.len() <= 1 {
                return;
            }
            let old = q.handles.pop_front().expect("more than one handle");
            q.bytes -= size_of_val(&*old);
            old
        };
        // Dropped outside the lock: an object's destructor may close other handles.
        drop(evicted);
    }
}

/// Frees every quarantined handle (at library teardown).
pub(crate) fn drain_quarantine() {
    let all = {
        let mut q = QUARANTINE.lock();
        q.bytes = 0;
        std::mem::take(&mut q.handles)
    };
    drop(all);
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    struct Thing;
    impl Object for Thing {
        const KIND: Kind = Kind::Stream;
    }

    #[test]
    fn closing_handle_answers_kind_independent_calls_until_final_event_returns() {
        let h = Handle::into_hquic(Handle::new(
            Thing,
            0x50 as *mut c_void,
            core::ptr::null_mut(),
        ));
        // SAFETY: `h` is one of ours, kept allocated by the quarantine after the close.
        unsafe {
            let this = Handle::<Thing>::begin_close(h).expect("live");
            assert!(Handle::<Thing>::begin_close(h).is_none(), "closed twice");
            assert!(header(h).is_none());
            assert!(Handle::<Thing>::borrow(h).is_none());
            let context = closing_accepted(|| header(h).map(Header::context));
            assert_eq!(context, Some(0x50 as *mut c_void));
            assert!(closing_accepted(|| Handle::<Thing>::borrow(h)).is_some());
            this.end_close();
            assert!(!this.is_closed(), "closed before its final event");
            this.final_event_returned();
            assert!(this.is_closed());
            assert!(closing_accepted(|| header(h)).is_none());
        }
    }

    /// A 4 KiB object that counts its drops.
    struct Big {
        drops: std::sync::Arc<AtomicUsize>,
        _bytes: [u8; 4096],
    }
    impl Object for Big {
        const KIND: Kind = Kind::Configuration;
    }
    impl Drop for Big {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_quarantine_keeps_recent_handles_within_its_byte_bound() {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let count = 200;
        let mut last = None;
        for _ in 0..count {
            let big = Big {
                drops: drops.clone(),
                _bytes: [0; 4096],
            };
            let h = Handle::into_hquic(Handle::new(
                big,
                core::ptr::null_mut(),
                core::ptr::null_mut(),
            ));
            // SAFETY: `h` is one of ours and live.
            let this = unsafe { Handle::<Big>::close(h) }.expect("live");
            assert!(this.is_closed());
            last = Some(std::sync::Arc::downgrade(&this));
        }
        // The newest handle is still allocated (only the quarantine holds it now); of the
        // 800 KiB closed, all but what the bound admits were freed.
        assert!(last.expect("closed some").upgrade().is_some());
        let freed = drops.load(Ordering::SeqCst);
        let size = size_of::<Handle<Big>>();
        assert!(freed < count);
        assert!(
            freed >= count - QUARANTINE_BYTES.div_ceil(size),
            "{freed} of {count} handles of {size} bytes freed"
        );
    }

    #[test]
    fn close_after_final_event_completes_in_the_call() {
        let h = Handle::into_hquic(Handle::new(
            Thing,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
        ));
        // SAFETY: as above.
        unsafe {
            Handle::<Thing>::borrow(h)
                .expect("live")
                .final_event_returned();
            let this = Handle::<Thing>::begin_close(h).expect("live");
            this.end_close();
            assert!(this.is_closed());
            assert!(header(h).is_none());
        }
    }
}
