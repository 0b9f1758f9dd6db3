//! The engine's events waiting for the caller, with a count of the send completions queued
//! per stream: taking one stream's completions out of order
//! ([`super::Connection::take_send_events`], done as every stream ends) costs nothing when it
//! has none queued, instead of a scan of every event waiting.

use std::collections::VecDeque;

use super::Event;
use crate::proto::id_hash::IdMap;
use crate::proto::stream_id::StreamId;

/// Events in the order they happened.
#[derive(Debug, Default)]
pub(super) struct EventQueue {
    events: VecDeque<Event>,
    /// SendComplete and SendCanceled events queued, by stream (absent: none).
    sends: IdMap<StreamId, u32>,
}

/// The stream a send completion is for.
fn send_stream(event: &Event) -> Option<StreamId> {
    match *event {
        Event::SendComplete { id, .. } | Event::SendCanceled { id, .. } => Some(id),
        _ => None,
    }
}

impl EventQueue {
    /// Queues `event` last.
    pub(super) fn push_back(&mut self, event: Event) {
        if let Some(id) = send_stream(&event) {
            *self.sends.entry(id).or_insert(0) += 1;
        }
        self.events.push_back(event);
    }

    /// Queues each event last, in order.
    pub(super) fn extend(&mut self, events: impl IntoIterator<Item = Event>) {
        for event in events {
            self.push_back(event);
        }
    }

    /// Takes the first event.
    pub(super) fn pop_front(&mut self) -> Option<Event> {
        let event = self.events.pop_front()?;
        if let Some(id) = send_stream(&event) {
            if let Some(n) = self.sends.get_mut(&id) {
                *n -= 1;
                if *n == 0 {
                    self.sends.remove(&id);
                }
            }
        }
        Some(event)
    }

    /// Takes the send completions of `id` (`(token, canceled)`, in order), leaving the rest.
    pub(super) fn take_sends(&mut self, id: StreamId) -> Vec<(u64, bool)> {
        if self.sends.remove(&id).is_none() {
            return Vec::new();
        }
        let mut taken = Vec::new();
        self.events.retain(|e| match *e {
            Event::SendComplete { id: i, token } if i == id => {
                taken.push((token, false));
                false
            }
            Event::SendCanceled { id: i, token } if i == id => {
                taken.push((token, true));
                false
            }
            _ => true,
        });
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::stream_id::{Dir, Side};

    #[test]
    fn a_stream_s_completions_are_taken_out_of_order_and_counted() {
        let a = StreamId::new(Side::Client, Dir::Bi, 0);
        let b = StreamId::new(Side::Client, Dir::Bi, 1);
        let mut q = EventQueue::default();
        q.push_back(Event::SendComplete { id: a, token: 1 });
        q.push_back(Event::Connected);
        q.extend([
            Event::SendCanceled { id: b, token: 2 },
            Event::SendCanceled { id: a, token: 3 },
        ]);
        assert_eq!(q.take_sends(a), vec![(1, false), (3, true)]);
        assert!(q.take_sends(a).is_empty());
        assert_eq!(q.pop_front(), Some(Event::Connected));
        assert_eq!(q.pop_front(), Some(Event::SendCanceled { id: b, token: 2 }));
        assert!(q.take_sends(b).is_empty(), "delivered already");
        assert_eq!(q.pop_front(), None);
        assert!(q.sends.is_empty());
    }
}
