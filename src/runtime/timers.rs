//! A worker's timers: a min-heap of deadlines, each owned by a source and cancelled by
//! re-arming (a newer generation supersedes older entries for the same source).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use crate::proto::id_hash::IdMap;

/// Identifies the source a timer belongs to (its slab key on the worker).
pub type SourceKey = usize;

/// The timers of one worker.
#[derive(Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u64, SourceKey)>>,
    /// The live generation per source; heap entries of older generations are stale.
    live: IdMap<SourceKey, u64>,
    next_generation: u64,
}

impl Timers {
    /// Arms (or re-arms) the timer of `key` for `deadline`; `None` cancels it.
    pub fn set(&mut self, key: SourceKey, deadline: Option<Instant>) {
        match deadline {
            Some(at) => {
                self.next_generation += 1;
                let generation = self.next_generation;
                self.live.insert(key, generation);
                self.heap.push(Reverse((at, generation, key)));
            }
            None => {
                self.live.remove(&key);
            }
        }
        self.compact();
    }

    /// The earliest live deadline.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        self.drop_stale_head();
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Removes and returns the sources whose deadline is at or before `now`.
    pub fn expired(&mut self, now: Instant) -> Vec<SourceKey> {
        let mut due = Vec::new();
        loop {
            self.drop_stale_head();
            match self.heap.peek() {
                Some(Reverse((at, _, key))) if *at <= now => {
                    let key = *key;
                    self.heap.pop();
                    self.live.remove(&key);
                    due.push(key);
                }
                _ => return due,
            }
        }
    }

    fn is_live(&self, generation: u64, key: SourceKey) -> bool {
        self.live.get(&key) == Some(&generation)
    }

    fn drop_stale_head(&mut self) {
        while let Some(Reverse((_, generation, key))) = self.heap.peek() {
            if self.is_live(*generation, *key) {
                return;
            }
            self.heap.pop();
        }
    }

    /// Keeps the heap from growing without bound when timers are re-armed often.
    fn compact(&mut self) {
        if self.heap.len() > 64 && self.heap.len() > 4 * self.live.len() {
            let live = &self.live;
            self.heap
                .retain(|Reverse((_, generation, key))| live.get(key) == Some(generation));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn fires_in_order_and_rearming_supersedes() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        t.set(1, Some(t0 + Duration::from_millis(30)));
        t.set(2, Some(t0 + Duration::from_millis(10)));
        t.set(3, Some(t0 + Duration::from_millis(20)));
        t.set(2, Some(t0 + Duration::from_millis(40))); // re-armed later
        t.set(3, None); // cancelled
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_millis(30)));
        assert!(t.expired(t0 + Duration::from_millis(25)).is_empty());
        assert_eq!(t.expired(t0 + Duration::from_millis(100)), vec![1, 2]);
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn heap_stays_bounded_under_rearming() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        for i in 0..10_000u64 {
            t.set(7, Some(t0 + Duration::from_micros(i)));
        }
        assert!(t.heap.len() <= 65);
        assert_eq!(t.expired(t0 + Duration::from_secs(1)), vec![7]);
    }
}
