//! Per-stream state: the send and receive halves of RFC 9000 §3 with QMux's implicit
//! acknowledgement (data counts as acknowledged once written into a record).

mod buffer;
mod recv;
mod send;

pub use buffer::{Chunks, InputPin, SHARE_MIN};
pub use recv::{RecvStream, ResetInfo};
pub use send::{DEFAULT_PRIORITY, SendData, SendPhase, SendStream};

use crate::proto::spares::{self, Spares};

/// Boxes of ended streams a thread keeps for its next streams.
const SPARE_BOXES: usize = 256;

thread_local! {
    static BOXES: Spares<Box<Stream>> = const { Spares::new() };
}

/// `stream` in a box: a spare one of this thread's if it has one.
pub(crate) fn boxed(stream: Stream) -> Box<Stream> {
    match spares::take(&BOXES) {
        Some(mut b) => {
            *b = stream;
            b
        }
        None => Box::new(stream),
    }
}

/// Drops what `stream` holds and keeps its box for [`boxed`].
pub(crate) fn unbox(mut stream: Box<Stream>) {
    stream.send = None;
    stream.recv = None;
    spares::give(&BOXES, stream, SPARE_BOXES);
}

/// Frees this thread's spare streams, stream queues and copy buffers.
pub(crate) fn release_spares() {
    spares::clear(&BOXES);
    buffer::release_spares();
    send::release_spares();
}

/// One stream: a send half, a receive half, or both.
#[derive(Debug)]
pub struct Stream {
    /// Present when we may send on the stream.
    pub send: Option<SendStream>,
    /// Present when we may receive on the stream.
    pub recv: Option<RecvStream>,
}

impl Stream {
    /// Whether both halves have reached a terminal state and the application has been told
    /// everything, so the stream can be forgotten.
    pub fn is_closed(&self) -> bool {
        self.send.as_ref().is_none_or(SendStream::is_terminal)
            && self.recv.as_ref().is_none_or(RecvStream::is_terminal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ended_streams_box_and_queues_serve_the_next_stream() {
        release_spares();
        let mut s = boxed(Stream {
            send: Some(SendStream::new(1 << 20)),
            recv: Some(RecvStream::new(1 << 20)),
        });
        s.send
            .as_mut()
            .unwrap()
            .push(b"request"[..].into(), Some(1));
        let addr = &*s as *const Stream;
        unbox(s);
        let next = boxed(Stream {
            send: Some(SendStream::new(1 << 20)),
            recv: None,
        });
        assert_eq!(&*next as *const Stream, addr, "the box is reused");
        let send = next.send.as_ref().unwrap();
        assert!(
            send.queue_room() > 0,
            "the send queue comes back with its room"
        );
        assert_eq!(send.pending(), 0);
        release_spares();
        let fresh = boxed(Stream {
            send: None,
            recv: None,
        });
        drop(fresh);
    }
}
