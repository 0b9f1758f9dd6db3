//! Per-stream state: the send and receive halves of RFC 9000 §3 with QMux's implicit
//! acknowledgement (data counts as acknowledged once written into a record).

mod buffer;
mod recv;
mod send;

pub use buffer::{Chunks, InputPin, SHARE_MIN};
pub use recv::{RecvStream, ResetInfo};
pub use send::{DEFAULT_PRIORITY, SendData, SendPhase, SendStream};

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
