//! Per-thread spares: containers a finished stream emptied, kept for the next stream on the
//! same thread, so that a connection opening a stream per request does not allocate and free
//! the same few buffers each time.
//!
//! A connection's engine runs on one thread at a time, and its streams are created and
//! dropped there, so each thread keeps its own small pool: no locking, and bounded (a pool
//! holds at most its `max` items, each no larger than the caller allows). The pools are
//! emptied by [`release_all`] when their thread has been idle a while.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::thread::LocalKey;

/// One kind of spare container, kept per thread.
pub struct Spares<T> {
    items: RefCell<Vec<T>>,
}

impl<T> Spares<T> {
    /// An empty pool (for a `thread_local!` initializer).
    pub const fn new() -> Self {
        Self {
            items: RefCell::new(Vec::new()),
        }
    }
}

impl<T> Default for Spares<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A spare from `pool`, if the thread has one (never during the thread's teardown).
pub fn take<T: 'static>(pool: &'static LocalKey<Spares<T>>) -> Option<T> {
    pool.try_with(|s| s.items.borrow_mut().pop()).ok().flatten()
}

/// Keeps `item` (already emptied by the caller) in `pool` if the pool holds fewer than
/// `max`; otherwise it is dropped.
pub fn give<T: 'static>(pool: &'static LocalKey<Spares<T>>, item: T, max: usize) {
    let kept = pool.try_with(|s| {
        let mut items = s.items.borrow_mut();
        if items.len() < max {
            items.push(item);
            None
        } else {
            Some(item)
        }
    });
    // Dropped outside the borrow (or here, during teardown).
    drop(kept);
}

/// How many emptied queues a pool keeps, and the largest kept (in entries): a stream's queues
/// stay small unless it was busy, and a busy stream's large queue is not worth keeping.
const QUEUES_KEPT: usize = 256;
const QUEUE_CAP_KEPT: usize = 16;

/// Empties `queue` and keeps it in `pool` if it has room for a few entries (it was used, and
/// not grown large), while the pool holds fewer than its bound.
pub fn give_queue<T: 'static>(
    pool: &'static LocalKey<Spares<VecDeque<T>>>,
    mut queue: VecDeque<T>,
) {
    queue.clear();
    if queue.capacity() > 0 && queue.capacity() <= QUEUE_CAP_KEPT {
        give(pool, queue, QUEUES_KEPT);
    }
}

/// Empties `pool` on this thread.
pub fn clear<T: 'static>(pool: &'static LocalKey<Spares<T>>) {
    let items = pool
        .try_with(|s| std::mem::take(&mut *s.items.borrow_mut()))
        .unwrap_or_default();
    drop(items);
}

/// Every pool the engine keeps, emptied on this thread (its caller has been idle a while).
pub fn release_all() {
    crate::proto::streams::release_spares();
    crate::proto::connection::release_spare_buffers();
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static POOL: Spares<Vec<u8>> = const { Spares::new() };
    }

    #[test]
    fn pools_are_bounded_and_cleared() {
        for _ in 0..5 {
            give(&POOL, Vec::with_capacity(8), 3);
        }
        assert_eq!(POOL.with(|s| s.items.borrow().len()), 3);
        assert!(take(&POOL).is_some_and(|v| v.capacity() >= 8));
        clear(&POOL);
        assert!(take(&POOL).is_none());
    }
}
