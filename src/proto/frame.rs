//! QUIC v1 frames as QMux carries them (qmux-02 §4), plus the QMux-only frames.
//!
//! Every frame type code point used anywhere in the engine is a constant on [`FrameType`].

use std::fmt;

use super::coding::{BufMut, Reader, UnexpectedEnd};
use super::error::TransportError;
use super::stream_id::{Dir, StreamId};
use super::varint::{self, VarInt};

/// A frame type code point.
#[derive(Clone, Copy, Eq, Hash, PartialEq)]
pub struct FrameType(pub u64);

macro_rules! frame_types {
    ($($name:ident = $value:expr,)*) => {
        impl FrameType {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                pub const $name: Self = Self($value);
            )*

            fn name(self) -> Option<&'static str> {
                match self {
                    $(Self::$name => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

frame_types! {
    PADDING = 0x00,
    PING = 0x01,
    ACK = 0x02,
    ACK_ECN = 0x03,
    RESET_STREAM = 0x04,
    STOP_SENDING = 0x05,
    CRYPTO = 0x06,
    NEW_TOKEN = 0x07,
    STREAM = 0x08,
    MAX_DATA = 0x10,
    MAX_STREAM_DATA = 0x11,
    MAX_STREAMS_BIDI = 0x12,
    MAX_STREAMS_UNI = 0x13,
    DATA_BLOCKED = 0x14,
    STREAM_DATA_BLOCKED = 0x15,
    STREAMS_BLOCKED_BIDI = 0x16,
    STREAMS_BLOCKED_UNI = 0x17,
    NEW_CONNECTION_ID = 0x18,
    RETIRE_CONNECTION_ID = 0x19,
    PATH_CHALLENGE = 0x1a,
    PATH_RESPONSE = 0x1b,
    CONNECTION_CLOSE = 0x1c,
    APPLICATION_CLOSE = 0x1d,
    HANDSHAKE_DONE = 0x1e,
    RESET_STREAM_AT = 0x24,
    DATAGRAM = 0x30,
    DATAGRAM_LEN = 0x31,
    QX_TRANSPORT_PARAMETERS = 0x3f51_5330_0d0a_0d0a,
    QX_TRANSPORT_PARAMETERS_QMX = 0x3f51_4d58_0d0a_0d0a,
    QX_PING_REQUEST = 0x348c_6752_9ef8_c7bd,
    QX_PING_RESPONSE = 0x348c_6752_9ef8_c7be,
}

impl FrameType {
    /// STREAM type bit: the frame ends the stream.
    pub const STREAM_FIN: u64 = 0x01;
    /// STREAM type bit: a Length field is present.
    pub const STREAM_LEN: u64 = 0x02;
    /// STREAM type bit: an Offset field is present.
    pub const STREAM_OFF: u64 = 0x04;

    /// Whether this is one of the eight STREAM types.
    pub fn is_stream(self) -> bool {
        (0x08..=0x0f).contains(&self.0)
    }

    /// Whether this type may never appear in QMux (qmux-02 §4).
    pub fn is_forbidden(self) -> bool {
        matches!(
            self,
            Self::PING
                | Self::ACK
                | Self::ACK_ECN
                | Self::CRYPTO
                | Self::NEW_TOKEN
                | Self::NEW_CONNECTION_ID
                | Self::RETIRE_CONNECTION_ID
                | Self::PATH_CHALLENGE
                | Self::PATH_RESPONSE
                | Self::HANDSHAKE_DONE
        )
    }

    /// Whether this is a QX_TRANSPORT_PARAMETERS type (the -02 value or the proposed -03 one).
    pub fn is_transport_parameters(self) -> bool {
        self == Self::QX_TRANSPORT_PARAMETERS || self == Self::QX_TRANSPORT_PARAMETERS_QMX
    }
}

impl fmt::Debug for FrameType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None if self.is_stream() => write!(f, "STREAM({:#x})", self.0),
            None => write!(f, "FrameType({:#x})", self.0),
        }
    }
}

/// The largest value MAX_STREAMS and STREAMS_BLOCKED may carry (RFC 9000 §19.11).
pub const MAX_STREAM_COUNT: u64 = 1 << 60;

/// A decoded frame, borrowing its payload from the record it came in.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Frame<'a> {
    /// One or more PADDING bytes in a row.
    Padding(usize),
    /// RESET_STREAM.
    ResetStream(ResetStream),
    /// STOP_SENDING.
    StopSending {
        /// The stream.
        id: StreamId,
        /// The application's error code.
        error_code: u64,
    },
    /// STREAM, any of the eight variants.
    Stream(StreamFrame<'a>),
    /// MAX_DATA.
    MaxData(u64),
    /// MAX_STREAM_DATA.
    MaxStreamData {
        /// The stream.
        id: StreamId,
        /// The new limit.
        max: u64,
    },
    /// MAX_STREAMS (bidi or uni).
    MaxStreams {
        /// Which kind of stream.
        dir: Dir,
        /// The new cumulative count.
        count: u64,
    },
    /// DATA_BLOCKED.
    DataBlocked(u64),
    /// STREAM_DATA_BLOCKED.
    StreamDataBlocked {
        /// The stream.
        id: StreamId,
        /// The limit the sender is blocked at.
        limit: u64,
    },
    /// STREAMS_BLOCKED (bidi or uni).
    StreamsBlocked {
        /// Which kind of stream.
        dir: Dir,
        /// The limit the sender is blocked at.
        limit: u64,
    },
    /// CONNECTION_CLOSE with a transport error code (type 0x1c).
    ConnectionClose {
        /// The transport error code.
        error_code: u64,
        /// The frame type that caused the error, 0 if unknown.
        frame_type: u64,
        /// The reason phrase.
        reason: &'a [u8],
    },
    /// CONNECTION_CLOSE with an application error code (type 0x1d).
    ApplicationClose {
        /// The application's error code.
        error_code: u64,
        /// The reason phrase.
        reason: &'a [u8],
    },
    /// RESET_STREAM_AT.
    ResetStreamAt {
        /// The fields it shares with RESET_STREAM.
        reset: ResetStream,
        /// Bytes the receiver must still deliver.
        reliable_size: u64,
    },
    /// DATAGRAM (0x30 or 0x31).
    Datagram {
        /// The payload.
        data: &'a [u8],
        /// Whether a Length field is (to be) present; without it the frame ends the record.
        has_len: bool,
    },
    /// QX_TRANSPORT_PARAMETERS.
    TransportParameters {
        /// Which of the two accepted code points was used.
        ty: FrameType,
        /// The encoded parameter list.
        params: &'a [u8],
    },
    /// QX_PING request.
    PingRequest(u64),
    /// QX_PING response.
    PingResponse(u64),
}

/// The fields of RESET_STREAM.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct ResetStream {
    /// The stream.
    pub id: StreamId,
    /// The application's error code.
    pub error_code: u64,
    /// The stream's final size.
    pub final_size: u64,
}

/// A STREAM frame.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct StreamFrame<'a> {
    /// The stream.
    pub id: StreamId,
    /// Offset of the first byte (0 when the OFF bit is clear).
    pub offset: u64,
    /// Whether this frame ends the stream.
    pub fin: bool,
    /// Whether a Length field is (to be) present; without it the frame ends the record.
    pub has_len: bool,
    /// The payload.
    pub data: &'a [u8],
}

impl Frame<'_> {
    /// The frame's type code point as it is (to be) encoded.
    pub fn ty(&self) -> FrameType {
        match self {
            Self::Padding(_) => FrameType::PADDING,
            Self::ResetStream(_) => FrameType::RESET_STREAM,
            Self::StopSending { .. } => FrameType::STOP_SENDING,
            Self::Stream(s) => FrameType(stream_type(s.offset, s.has_len, s.fin)),
            Self::MaxData(_) => FrameType::MAX_DATA,
            Self::MaxStreamData { .. } => FrameType::MAX_STREAM_DATA,
            Self::MaxStreams { dir: Dir::Bi, .. } => FrameType::MAX_STREAMS_BIDI,
            Self::MaxStreams { dir: Dir::Uni, .. } => FrameType::MAX_STREAMS_UNI,
            Self::DataBlocked(_) => FrameType::DATA_BLOCKED,
            Self::StreamDataBlocked { .. } => FrameType::STREAM_DATA_BLOCKED,
            Self::StreamsBlocked { dir: Dir::Bi, .. } => FrameType::STREAMS_BLOCKED_BIDI,
            Self::StreamsBlocked { dir: Dir::Uni, .. } => FrameType::STREAMS_BLOCKED_UNI,
            Self::ConnectionClose { .. } => FrameType::CONNECTION_CLOSE,
            Self::ApplicationClose { .. } => FrameType::APPLICATION_CLOSE,
            Self::ResetStreamAt { .. } => FrameType::RESET_STREAM_AT,
            Self::Datagram { has_len: false, .. } => FrameType::DATAGRAM,
            Self::Datagram { has_len: true, .. } => FrameType::DATAGRAM_LEN,
            Self::TransportParameters { ty, .. } => *ty,
            Self::PingRequest(_) => FrameType::QX_PING_REQUEST,
            Self::PingResponse(_) => FrameType::QX_PING_RESPONSE,
        }
    }

    /// The number of bytes [`Frame::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        let vs = varint::size;
        let body = match self {
            Self::Padding(n) => return *n,
            Self::ResetStream(r) => reset_len(r),
            Self::StopSending { id, error_code } => vs(id.0) + vs(*error_code),
            Self::Stream(s) => {
                return stream_header_len(s.id, s.offset, s.has_len.then_some(s.data.len()))
                    + s.data.len();
            }
            Self::MaxData(v) | Self::DataBlocked(v) => vs(*v),
            Self::MaxStreams { count: v, .. } | Self::StreamsBlocked { limit: v, .. } => vs(*v),
            Self::MaxStreamData { id, max: v } | Self::StreamDataBlocked { id, limit: v } => {
                vs(id.0) + vs(*v)
            }
            Self::ConnectionClose {
                error_code,
                frame_type,
                reason,
            } => vs(*error_code) + vs(*frame_type) + vs(reason.len() as u64) + reason.len(),
            Self::ApplicationClose { error_code, reason } => {
                vs(*error_code) + vs(reason.len() as u64) + reason.len()
            }
            Self::ResetStreamAt {
                reset,
                reliable_size,
            } => reset_len(reset) + vs(*reliable_size),
            Self::Datagram { data, has_len } => {
                data.len() + if *has_len { vs(data.len() as u64) } else { 0 }
            }
            Self::TransportParameters { params, .. } => vs(params.len() as u64) + params.len(),
            Self::PingRequest(v) | Self::PingResponse(v) => vs(*v),
        };
        vs(self.ty().0) + body
    }

    /// Appends the frame's QUIC v1 encoding to `out`.
    pub fn encode<B: BufMut + ?Sized>(&self, out: &mut B) {
        if let Self::Padding(n) = self {
            for _ in 0..*n {
                out.put_u8(0);
            }
            return;
        }
        if let Self::Stream(s) = self {
            encode_stream_header(
                out,
                s.id,
                s.offset,
                s.has_len.then_some(s.data.len()),
                s.fin,
            );
            out.put_slice(s.data);
            return;
        }
        out.put_varint(self.ty().0);
        match self {
            Self::Padding(_) | Self::Stream(_) => {}
            Self::ResetStream(r) => encode_reset(out, r),
            Self::StopSending { id, error_code } => {
                out.put_varint(id.0);
                out.put_varint(*error_code);
            }
            Self::MaxData(v) | Self::DataBlocked(v) => out.put_varint(*v),
            Self::MaxStreams { count: v, .. } | Self::StreamsBlocked { limit: v, .. } => {
                out.put_varint(*v)
            }
            Self::MaxStreamData { id, max: v } | Self::StreamDataBlocked { id, limit: v } => {
                out.put_varint(id.0);
                out.put_varint(*v);
            }
            Self::ConnectionClose {
                error_code,
                frame_type,
                reason,
            } => {
                out.put_varint(*error_code);
                out.put_varint(*frame_type);
                out.put_varint(reason.len() as u64);
                out.put_slice(reason);
            }
            Self::ApplicationClose { error_code, reason } => {
                out.put_varint(*error_code);
                out.put_varint(reason.len() as u64);
                out.put_slice(reason);
            }
            Self::ResetStreamAt {
                reset,
                reliable_size,
            } => {
                encode_reset(out, reset);
                out.put_varint(*reliable_size);
            }
            Self::Datagram { data, has_len } => {
                if *has_len {
                    out.put_varint(data.len() as u64);
                }
                out.put_slice(data);
            }
            Self::TransportParameters { params, .. } => {
                out.put_varint(params.len() as u64);
                out.put_slice(params);
            }
            Self::PingRequest(v) | Self::PingResponse(v) => out.put_varint(*v),
        }
    }
}

fn reset_len(r: &ResetStream) -> usize {
    varint::size(r.id.0) + varint::size(r.error_code) + varint::size(r.final_size)
}

fn encode_reset<B: BufMut + ?Sized>(out: &mut B, r: &ResetStream) {
    out.put_varint(r.id.0);
    out.put_varint(r.error_code);
    out.put_varint(r.final_size);
}

/// The STREAM type byte for a frame at `offset`: OFF is set only for a non-zero offset.
pub fn stream_type(offset: u64, has_len: bool, fin: bool) -> u64 {
    let mut ty = FrameType::STREAM.0;
    if offset != 0 {
        ty |= FrameType::STREAM_OFF;
    }
    if has_len {
        ty |= FrameType::STREAM_LEN;
    }
    if fin {
        ty |= FrameType::STREAM_FIN;
    }
    ty
}

/// The size of a STREAM frame's header; `len` is `Some` when a Length field is written.
pub fn stream_header_len(id: StreamId, offset: u64, len: Option<usize>) -> usize {
    1 + varint::size(id.0)
        + if offset != 0 { varint::size(offset) } else { 0 }
        + len.map_or(0, |l| varint::size(l as u64))
}

/// Writes a STREAM frame header; the caller writes the payload right after it.
pub fn encode_stream_header<B: BufMut + ?Sized>(
    out: &mut B,
    id: StreamId,
    offset: u64,
    len: Option<usize>,
    fin: bool,
) {
    out.put_u8(stream_type(offset, len.is_some(), fin) as u8);
    out.put_varint(id.0);
    if offset != 0 {
        out.put_varint(offset);
    }
    if let Some(len) = len {
        out.put_varint(len as u64);
    }
}

/// Iterates over the frames of one record's payload.
///
/// After the first error the iterator is exhausted.
#[derive(Debug)]
pub struct Iter<'a> {
    reader: Reader<'a>,
}

impl<'a> Iter<'a> {
    /// Iterates over `payload`, the Frames of one record.
    pub fn new(payload: &'a [u8]) -> Self {
        Self {
            reader: Reader::new(payload),
        }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = Result<Frame<'a>, TransportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.reader.is_empty() {
            return None;
        }
        let result = decode(&mut self.reader);
        if result.is_err() {
            self.reader = Reader::new(&[]);
        }
        Some(result)
    }
}

/// Decodes one frame from the front of `r`, which holds the rest of a record's payload.
///
/// Errors are those the connection closes with: a truncated frame, a forbidden or unknown
/// type, or an invalid value is FRAME_ENCODING_ERROR; a frame type that is not minimally
/// encoded is PROTOCOL_VIOLATION (RFC 9000 §12.4 allows either).
pub fn decode<'a>(r: &mut Reader<'a>) -> Result<Frame<'a>, TransportError> {
    let (ty, minimal) = r.varint_minimal().map_err(|_| truncated(None))?;
    let ty = FrameType(ty);
    if !minimal {
        return Err(
            TransportError::PROTOCOL_VIOLATION("frame type not minimally encoded").with_frame(ty),
        );
    }
    decode_body(ty, r).map_err(|e| e.with_frame(ty))
}

fn truncated(_: Option<UnexpectedEnd>) -> TransportError {
    TransportError::FRAME_ENCODING_ERROR("frame truncated at end of record")
}

impl From<UnexpectedEnd> for TransportError {
    fn from(e: UnexpectedEnd) -> Self {
        truncated(Some(e))
    }
}

fn decode_body<'a>(ty: FrameType, r: &mut Reader<'a>) -> Result<Frame<'a>, TransportError> {
    Ok(match ty {
        FrameType::PADDING => {
            let mut n = 1;
            while r.rest().first() == Some(&0) {
                r.u8()?;
                n += 1;
            }
            Frame::Padding(n)
        }
        FrameType::RESET_STREAM => Frame::ResetStream(decode_reset(r)?),
        FrameType::STOP_SENDING => Frame::StopSending {
            id: StreamId(r.varint()?),
            error_code: r.varint()?,
        },
        t if t.is_stream() => {
            let id = StreamId(r.varint()?);
            let offset = if t.0 & FrameType::STREAM_OFF != 0 {
                r.varint()?
            } else {
                0
            };
            let has_len = t.0 & FrameType::STREAM_LEN != 0;
            let data = if has_len {
                r.varint_prefixed()?
            } else {
                r.take_rest()
            };
            if offset + data.len() as u64 > VarInt::MAX.into_inner() {
                return Err(TransportError::FRAME_ENCODING_ERROR(
                    "stream data beyond 2^62",
                ));
            }
            Frame::Stream(StreamFrame {
                id,
                offset,
                fin: t.0 & FrameType::STREAM_FIN != 0,
                has_len,
                data,
            })
        }
        FrameType::MAX_DATA => Frame::MaxData(r.varint()?),
        FrameType::MAX_STREAM_DATA => Frame::MaxStreamData {
            id: StreamId(r.varint()?),
            max: r.varint()?,
        },
        FrameType::MAX_STREAMS_BIDI | FrameType::MAX_STREAMS_UNI => {
            let count = stream_count(r)?;
            Frame::MaxStreams {
                dir: dir_of(ty, FrameType::MAX_STREAMS_BIDI),
                count,
            }
        }
        FrameType::DATA_BLOCKED => Frame::DataBlocked(r.varint()?),
        FrameType::STREAM_DATA_BLOCKED => Frame::StreamDataBlocked {
            id: StreamId(r.varint()?),
            limit: r.varint()?,
        },
        FrameType::STREAMS_BLOCKED_BIDI | FrameType::STREAMS_BLOCKED_UNI => {
            let limit = stream_count(r)?;
            Frame::StreamsBlocked {
                dir: dir_of(ty, FrameType::STREAMS_BLOCKED_BIDI),
                limit,
            }
        }
        FrameType::CONNECTION_CLOSE => Frame::ConnectionClose {
            error_code: r.varint()?,
            frame_type: r.varint()?,
            reason: r.varint_prefixed()?,
        },
        FrameType::APPLICATION_CLOSE => Frame::ApplicationClose {
            error_code: r.varint()?,
            reason: r.varint_prefixed()?,
        },
        FrameType::RESET_STREAM_AT => {
            let reset = decode_reset(r)?;
            let reliable_size = r.varint()?;
            if reliable_size > reset.final_size {
                return Err(TransportError::FRAME_ENCODING_ERROR(
                    "reliable size > final size",
                ));
            }
            Frame::ResetStreamAt {
                reset,
                reliable_size,
            }
        }
        FrameType::DATAGRAM => Frame::Datagram {
            data: r.take_rest(),
            has_len: false,
        },
        FrameType::DATAGRAM_LEN => Frame::Datagram {
            data: r.varint_prefixed()?,
            has_len: true,
        },
        t if t.is_transport_parameters() => Frame::TransportParameters {
            ty: t,
            params: r.varint_prefixed()?,
        },
        FrameType::QX_PING_REQUEST => Frame::PingRequest(r.varint()?),
        FrameType::QX_PING_RESPONSE => Frame::PingResponse(r.varint()?),
        t if t.is_forbidden() => {
            return Err(TransportError::FRAME_ENCODING_ERROR(
                "frame type forbidden in QMux",
            ));
        }
        _ => return Err(TransportError::FRAME_ENCODING_ERROR("unknown frame type")),
    })
}

fn decode_reset(r: &mut Reader<'_>) -> Result<ResetStream, TransportError> {
    Ok(ResetStream {
        id: StreamId(r.varint()?),
        error_code: r.varint()?,
        final_size: r.varint()?,
    })
}

fn stream_count(r: &mut Reader<'_>) -> Result<u64, TransportError> {
    let v = r.varint()?;
    if v > MAX_STREAM_COUNT {
        return Err(TransportError::FRAME_ENCODING_ERROR(
            "stream count above 2^60",
        ));
    }
    Ok(v)
}

fn dir_of(ty: FrameType, bidi: FrameType) -> Dir {
    if ty == bidi { Dir::Bi } else { Dir::Uni }
}

#[cfg(test)]
mod tests {
    use super::super::error::TransportErrorCode;
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    fn enc(f: &Frame<'_>) -> Vec<u8> {
        let mut v = Vec::new();
        f.encode(&mut v);
        assert_eq!(v.len(), f.encoded_len(), "encoded_len of {f:?}");
        v
    }

    fn dec(bytes: &[u8]) -> Result<Vec<Frame<'_>>, TransportError> {
        Iter::new(bytes).collect()
    }

    fn all_frames() -> Vec<Frame<'static>> {
        let id = StreamId(4);
        let reset = ResetStream {
            id,
            error_code: 7,
            final_size: 100,
        };
        let mut v = vec![
            Frame::Padding(3),
            Frame::ResetStream(reset),
            Frame::StopSending {
                id,
                error_code: 0x3fff_ffff,
            },
            Frame::MaxData(2_097_152),
            Frame::MaxStreamData { id, max: 1 << 40 },
            Frame::MaxStreams {
                dir: Dir::Bi,
                count: 100,
            },
            Frame::MaxStreams {
                dir: Dir::Uni,
                count: MAX_STREAM_COUNT,
            },
            Frame::DataBlocked(0),
            Frame::StreamDataBlocked { id, limit: 65 },
            Frame::StreamsBlocked {
                dir: Dir::Bi,
                limit: 3,
            },
            Frame::StreamsBlocked {
                dir: Dir::Uni,
                limit: 4,
            },
            Frame::ConnectionClose {
                error_code: 0x0a,
                frame_type: 0x08,
                reason: b"bad",
            },
            Frame::ApplicationClose {
                error_code: 0x100,
                reason: b"",
            },
            Frame::ResetStreamAt {
                reset,
                reliable_size: 10,
            },
            Frame::Datagram {
                data: b"abc",
                has_len: true,
            },
            Frame::TransportParameters {
                ty: FrameType::QX_TRANSPORT_PARAMETERS,
                params: b"",
            },
            Frame::TransportParameters {
                ty: FrameType::QX_TRANSPORT_PARAMETERS_QMX,
                params: &[0x01, 0x01, 0x05],
            },
            Frame::PingRequest(1),
            Frame::PingResponse(1 << 40),
        ];
        for offset in [0, 5, 1 << 20] {
            for has_len in [false, true] {
                for fin in [false, true] {
                    v.push(Frame::Stream(StreamFrame {
                        id: StreamId(1 << 30),
                        offset,
                        fin,
                        has_len,
                        data: b"payload",
                    }));
                }
            }
        }
        v
    }

    #[test]
    fn every_frame_round_trips_alone_and_last() {
        for f in all_frames() {
            let bytes = enc(&f);
            assert_eq!(dec(&bytes).unwrap(), vec![f.clone()], "{f:?}");
            // Every truncation is a FRAME_ENCODING_ERROR (or, for no-length frames, a shorter
            // but valid frame), never a panic.
            for cut in 0..bytes.len() {
                if let Err(e) = dec(&bytes[..cut]) {
                    assert_eq!(
                        e.code,
                        TransportErrorCode::FRAME_ENCODING_ERROR,
                        "{f:?} at {cut}"
                    );
                }
            }
        }
    }

    #[test]
    fn frames_with_length_concatenate() {
        let frames: Vec<_> = all_frames()
            .into_iter()
            .filter(|f| match f {
                Frame::Stream(s) => s.has_len,
                Frame::Datagram { has_len, .. } => *has_len,
                Frame::Padding(_) => false,
                _ => true,
            })
            .collect();
        let mut bytes = Vec::new();
        for f in &frames {
            f.encode(&mut bytes);
        }
        assert_eq!(dec(&bytes).unwrap(), frames);
    }

    #[test]
    fn spec_section8_frame_bytes() {
        // §8 items 5-15 (without the record Size byte, which record.rs tests).
        let s = |offset, has_len, fin, data| {
            Frame::Stream(StreamFrame {
                id: StreamId(0),
                offset,
                fin,
                has_len,
                data,
            })
        };
        assert_eq!(
            enc(&s(0, true, true, b"hello")),
            hex("0b 00 05 68 65 6c 6c 6f")
        );
        let mut two = enc(&s(0, true, false, b"hello"));
        two.extend(enc(&s(5, true, true, b" world")));
        assert_eq!(
            two,
            hex("0a 00 05 68 65 6c 6c 6f 0f 00 05 06 20 77 6f 72 6c 64")
        );
        let s4 = Frame::Stream(StreamFrame {
            id: StreamId(4),
            offset: 5,
            fin: false,
            has_len: false,
            data: b"xyz",
        });
        assert_eq!(enc(&s4), hex("0c 04 05 78 79 7a"));
        assert_eq!(
            enc(&Frame::PingRequest(1)),
            hex("f4 8c 67 52 9e f8 c7 bd 01")
        );
        assert_eq!(
            enc(&Frame::PingResponse(1)),
            hex("f4 8c 67 52 9e f8 c7 be 01")
        );
        let close = Frame::ConnectionClose {
            error_code: 0,
            frame_type: 0,
            reason: b"",
        };
        assert_eq!(enc(&close), hex("1c 00 00 00"));
        let close = Frame::ConnectionClose {
            error_code: 0x0a,
            frame_type: 0x08,
            reason: b"bad",
        };
        assert_eq!(enc(&close), hex("1c 0a 08 03 62 61 64"));
        let app = Frame::ApplicationClose {
            error_code: 0x100,
            reason: b"",
        };
        assert_eq!(enc(&app), hex("1d 41 00 00"));
        assert_eq!(enc(&Frame::MaxData(2_097_152)), hex("10 80 20 00 00"));
        let dgram = Frame::Datagram {
            data: b"abc",
            has_len: false,
        };
        assert_eq!(enc(&dgram), hex("30 61 62 63"));
        let rsa = Frame::ResetStreamAt {
            reset: ResetStream {
                id: StreamId(4),
                error_code: 7,
                final_size: 100,
            },
            reliable_size: 10,
        };
        assert_eq!(enc(&rsa), hex("24 04 07 40 64 0a"));
        assert_eq!(enc(&Frame::Padding(3)), hex("00 00 00"));
        let tp = Frame::TransportParameters {
            ty: FrameType::QX_TRANSPORT_PARAMETERS,
            params: b"",
        };
        assert_eq!(enc(&tp), hex("ff 51 53 30 0d 0a 0d 0a 00"));
        let tp = Frame::TransportParameters {
            ty: FrameType::QX_TRANSPORT_PARAMETERS_QMX,
            params: b"",
        };
        assert_eq!(enc(&tp), hex("ff 51 4d 58 0d 0a 0d 0a 00"));
        // Each decodes back to itself.
        for bytes in [
            hex("0b 00 05 68 65 6c 6c 6f"),
            hex("24 04 07 40 64 0a"),
            hex("30 61 62 63"),
        ] {
            let frames = dec(&bytes).unwrap();
            assert_eq!(frames.len(), 1);
            assert_eq!(enc(&frames[0]), bytes);
        }
    }

    /// §8 items 2 and 5-15 as whole records (Size byte included), built from frames.
    #[test]
    fn spec_section8_whole_records() {
        let rec = |frames: &[Frame<'_>]| {
            let mut body = Vec::new();
            for f in frames {
                f.encode(&mut body);
            }
            let mut out = Vec::new();
            super::super::record::encode(&body, &mut out);
            out
        };
        let stream = |id, offset, has_len, fin, data| {
            Frame::Stream(StreamFrame {
                id: StreamId(id),
                offset,
                fin,
                has_len,
                data,
            })
        };
        let cases: Vec<(Vec<Frame<'_>>, &str)> = vec![
            (
                vec![Frame::TransportParameters {
                    ty: FrameType::QX_TRANSPORT_PARAMETERS,
                    params: b"",
                }],
                "09 ff 51 53 30 0d 0a 0d 0a 00",
            ),
            (
                vec![stream(0, 0, true, true, b"hello")],
                "08 0b 00 05 68 65 6c 6c 6f",
            ),
            (
                vec![
                    stream(0, 0, true, false, b"hello"),
                    stream(0, 5, true, true, b" world"),
                ],
                "12 0a 00 05 68 65 6c 6c 6f 0f 00 05 06 20 77 6f 72 6c 64",
            ),
            (
                vec![stream(4, 5, false, false, b"xyz")],
                "06 0c 04 05 78 79 7a",
            ),
            (vec![Frame::PingRequest(1)], "09 f4 8c 67 52 9e f8 c7 bd 01"),
            (
                vec![Frame::PingResponse(1)],
                "09 f4 8c 67 52 9e f8 c7 be 01",
            ),
            (
                vec![Frame::ConnectionClose {
                    error_code: 0,
                    frame_type: 0,
                    reason: b"",
                }],
                "04 1c 00 00 00",
            ),
            (
                vec![Frame::ConnectionClose {
                    error_code: 0x0a,
                    frame_type: 0x08,
                    reason: b"bad",
                }],
                "07 1c 0a 08 03 62 61 64",
            ),
            (
                vec![Frame::ApplicationClose {
                    error_code: 0x100,
                    reason: b"",
                }],
                "04 1d 41 00 00",
            ),
            (vec![Frame::MaxData(2_097_152)], "05 10 80 20 00 00"),
            (
                vec![Frame::Datagram {
                    data: b"abc",
                    has_len: false,
                }],
                "04 30 61 62 63",
            ),
            (
                vec![Frame::ResetStreamAt {
                    reset: ResetStream {
                        id: StreamId(4),
                        error_code: 7,
                        final_size: 100,
                    },
                    reliable_size: 10,
                }],
                "06 24 04 07 40 64 0a",
            ),
            (vec![Frame::Padding(3)], "03 00 00 00"),
        ];
        for (frames, expected) in cases {
            let bytes = rec(&frames);
            assert_eq!(bytes, hex(expected), "{frames:?}");
            // And back: the Size is one byte here, the frames decode to what we built.
            assert_eq!(dec(&bytes[1..]).unwrap(), frames);
        }
    }

    #[test]
    fn padding_run_is_one_frame() {
        assert_eq!(
            dec(&[0, 0, 0, 0x10, 0x01]).unwrap(),
            vec![Frame::Padding(3), Frame::MaxData(1)]
        );
    }

    #[test]
    fn stream_without_len_runs_to_end_and_may_be_empty() {
        let bytes = hex("0a 00 01 61 09 00");
        let frames = dec(&bytes).unwrap();
        assert_eq!(frames.len(), 2);
        let Frame::Stream(last) = frames[1] else {
            panic!()
        };
        assert!(last.fin && last.data.is_empty() && !last.has_len);
    }

    #[test]
    fn forbidden_and_unknown_types_are_frame_encoding_errors() {
        for ty in [
            0x01u8, 0x02, 0x03, 0x06, 0x07, 0x18, 0x19, 0x1a, 0x1b, 0x1e, 0x1f, 0x20, 0x3f,
        ] {
            let err = dec(&[ty, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap_err();
            assert_eq!(
                err.code,
                TransportErrorCode::FRAME_ENCODING_ERROR,
                "type {ty:#x}"
            );
            assert_eq!(err.frame_type, Some(FrameType(u64::from(ty))));
        }
        // ACK_FREQUENCY (0xaf) is an unknown extension to us.
        let err = dec(&hex("40 af 00")).unwrap_err();
        assert_eq!(err.code, TransportErrorCode::FRAME_ENCODING_ERROR);
    }

    #[test]
    fn non_minimal_frame_type_is_protocol_violation() {
        let err = dec(&hex("40 10 01")).unwrap_err();
        assert_eq!(err.code, TransportErrorCode::PROTOCOL_VIOLATION);
    }

    #[test]
    fn invalid_values() {
        let code = |b: &str| dec(&hex(b)).unwrap_err().code;
        // MAX_STREAMS / STREAMS_BLOCKED above 2^60.
        assert_eq!(
            code("12 d0 00 00 00 00 00 00 01"),
            TransportErrorCode::FRAME_ENCODING_ERROR
        );
        assert_eq!(
            code("17 d0 00 00 00 00 00 00 01"),
            TransportErrorCode::FRAME_ENCODING_ERROR
        );
        // RESET_STREAM_AT with reliable > final.
        assert_eq!(
            code("24 04 07 0a 0b"),
            TransportErrorCode::FRAME_ENCODING_ERROR
        );
        // STREAM whose end would pass 2^62 - 1.
        assert_eq!(
            code("0e 00 ff ff ff ff ff ff ff ff 01 61"),
            TransportErrorCode::FRAME_ENCODING_ERROR
        );
        // STREAM claiming more bytes than the record holds (§8 negative case).
        assert_eq!(
            code("0b 00 05 68 65"),
            TransportErrorCode::FRAME_ENCODING_ERROR
        );
        // CONNECTION_CLOSE reason running past the end.
        assert_eq!(
            code("1c 00 00 05 61"),
            TransportErrorCode::FRAME_ENCODING_ERROR
        );
        // Truncated TP frame.
        assert_eq!(
            code("ff 51 53 30 0d 0a 0d 0a 05 01"),
            TransportErrorCode::FRAME_ENCODING_ERROR
        );
    }
}
