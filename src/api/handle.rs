//! Handles: every `HQUIC` points at a [`Handle`], whose `#[repr(C)]` header carries a magic
//! value, the object's kind, and the application's context and callback.
//!
//! Validation order is NULL, alignment, magic, kind. A closed handle has its magic overwritten
//! and its memory kept in a bounded quarantine for a while, so a call on a recently closed handle
//! is answered with `QUIC_STATUS_INVALID_PARAMETER` instead of reading freed memory.

use core::ffi::c_void;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

use parking_lot::Mutex;

use crate::api::abi::{HQUIC, QUIC_HANDLE};

/// Magic value of a live handle ("QMXh").
const MAGIC_LIVE: u32 = 0x684d_5851;
/// Magic value of a closed handle ("QMXx").
const MAGIC_CLOSED: u32 = 0x784d_5851;
/// How many closed handles keep their memory so that late calls on them are caught.
const QUARANTINE_LEN: usize = 4096;

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
}

/// The part of every handle that the kind-independent calls use.
#[repr(C)]
pub(crate) struct Header {
    magic: AtomicU32,
    kind: u32,
    context: AtomicPtr<c_void>,
    handler: AtomicPtr<c_void>,
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

    /// Whether the application has closed this handle.
    pub(crate) fn is_closed_by_app(&self) -> bool {
        self.header.magic.load(Ordering::Acquire) != MAGIC_LIVE
    }

    /// Borrows the live handle of kind `T` that `h` names.
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
        // header is live, so the whole `Handle<T>` is still allocated.
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

    /// Marks the handle closed and takes back the application's reference, keeping the memory
    /// in quarantine. Returns `None` if `h` is not a live handle of kind `T`.
    ///
    /// # Safety
    /// As for [`Handle::borrow`]; `h` is invalid for the application afterwards.
    pub(crate) unsafe fn close(h: HQUIC) -> Option<Arc<Self>> {
        // SAFETY: the caller's contract is ours.
        let this = unsafe { Self::borrow(h) }?;
        if this
            .header
            .magic
            .compare_exchange(
                MAGIC_LIVE,
                MAGIC_CLOSED,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            return None;
        }
        // SAFETY: `h` came from `into_hquic`, which leaked exactly one strong reference for
        // the application; the magic swap above makes sure it is taken back only once.
        let app_ref = unsafe { Arc::from_raw(h as *const Self) };
        let ours = app_ref.clone();
        quarantine(app_ref);
        Some(ours)
    }
}

/// Reads the header of a live handle of any kind.
///
/// # Safety
/// `h` must be NULL or a pointer this library handed out, live or closed within the quarantine
/// window.
pub(crate) unsafe fn header<'a>(h: HQUIC) -> Option<&'a Header> {
    if h.is_null() || (h as usize) % align_of::<Header>() != 0 {
        return None;
    }
    // SAFETY: non-NULL and aligned; by the caller's contract it points at a `Header` that is
    // still allocated. Only atomics and an immutable integer are read through it.
    let header = unsafe { &*(h as *const QUIC_HANDLE as *const Header) };
    (header.magic.load(Ordering::Acquire) == MAGIC_LIVE).then_some(header)
}

/// Closed handles whose memory is kept so a late call on them finds `MAGIC_CLOSED`.
static QUARANTINE: Mutex<VecDeque<Arc<dyn Send + Sync>>> = Mutex::new(VecDeque::new());

fn quarantine(obj: Arc<dyn Send + Sync>) {
    let evicted = {
        let mut q = QUARANTINE.lock();
        q.push_back(obj);
        if q.len() > QUARANTINE_LEN {
            q.pop_front()
        } else {
            None
        }
    };
    // Dropped outside the lock: an object's destructor may close other handles.
    drop(evicted);
}

/// Frees every quarantined handle (at library teardown).
pub(crate) fn drain_quarantine() {
    let all = std::mem::take(&mut *QUARANTINE.lock());
    drop(all);
}
