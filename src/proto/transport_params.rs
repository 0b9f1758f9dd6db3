//! Transport parameters as QMux carries them in QX_TRANSPORT_PARAMETERS (qmux-02 §5).

use super::coding::{BufMut, Reader};
use super::error::TransportError;
use super::frame::MAX_STREAM_COUNT;
use super::record::DEFAULT_MAX_RECORD_SIZE;
use super::varint;

/// A transport parameter ID.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct TransportParameterId(pub u64);

macro_rules! param_ids {
    ($($name:ident = $value:expr,)*) => {
        impl TransportParameterId {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                pub const $name: Self = Self($value);
            )*
        }
    };
}

param_ids! {
    ORIGINAL_DESTINATION_CONNECTION_ID = 0x00,
    MAX_IDLE_TIMEOUT = 0x01,
    STATELESS_RESET_TOKEN = 0x02,
    MAX_UDP_PAYLOAD_SIZE = 0x03,
    INITIAL_MAX_DATA = 0x04,
    INITIAL_MAX_STREAM_DATA_BIDI_LOCAL = 0x05,
    INITIAL_MAX_STREAM_DATA_BIDI_REMOTE = 0x06,
    INITIAL_MAX_STREAM_DATA_UNI = 0x07,
    INITIAL_MAX_STREAMS_BIDI = 0x08,
    INITIAL_MAX_STREAMS_UNI = 0x09,
    ACK_DELAY_EXPONENT = 0x0a,
    MAX_ACK_DELAY = 0x0b,
    DISABLE_ACTIVE_MIGRATION = 0x0c,
    PREFERRED_ADDRESS = 0x0d,
    ACTIVE_CONNECTION_ID_LIMIT = 0x0e,
    INITIAL_SOURCE_CONNECTION_ID = 0x0f,
    RETRY_SOURCE_CONNECTION_ID = 0x10,
    RESET_STREAM_AT = 0x1d,
    MAX_DATAGRAM_FRAME_SIZE = 0x20,
    MAX_RECORD_SIZE = 0x0571_c594_29cd_0845,
}

impl TransportParameterId {
    /// Whether QMux forbids this RFC 9000 parameter (qmux-02 §5.1).
    pub fn is_forbidden(self) -> bool {
        matches!(self.0, 0x00 | 0x02 | 0x03 | 0x0a..=0x10)
    }
}

/// The parameters one endpoint declares. Absent parameters take these defaults.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct TransportParameters {
    /// max_idle_timeout in milliseconds; 0 disables it on this side.
    pub max_idle_timeout: u64,
    /// initial_max_data.
    pub initial_max_data: u64,
    /// initial_max_stream_data_bidi_local.
    pub initial_max_stream_data_bidi_local: u64,
    /// initial_max_stream_data_bidi_remote.
    pub initial_max_stream_data_bidi_remote: u64,
    /// initial_max_stream_data_uni.
    pub initial_max_stream_data_uni: u64,
    /// initial_max_streams_bidi.
    pub initial_max_streams_bidi: u64,
    /// initial_max_streams_uni.
    pub initial_max_streams_uni: u64,
    /// max_record_size: the largest record Size the sender accepts.
    pub max_record_size: u64,
    /// max_datagram_frame_size; `None` means DATAGRAM is not accepted.
    pub max_datagram_frame_size: Option<u64>,
    /// Whether reset_stream_at was sent (RESET_STREAM_AT accepted).
    pub reset_stream_at: bool,
}

impl Default for TransportParameters {
    fn default() -> Self {
        Self {
            max_idle_timeout: 0,
            initial_max_data: 0,
            initial_max_stream_data_bidi_local: 0,
            initial_max_stream_data_bidi_remote: 0,
            initial_max_stream_data_uni: 0,
            initial_max_streams_bidi: 0,
            initial_max_streams_uni: 0,
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
            max_datagram_frame_size: None,
            reset_stream_at: false,
        }
    }
}

impl TransportParameters {
    /// The largest DATAGRAM payload these parameters let a sender put in one frame (within
    /// one record); `None` if DATAGRAM is not accepted.
    pub fn max_datagram_payload(&self) -> Option<usize> {
        let frame_max = self.max_datagram_frame_size?.min(self.max_record_size);
        // Type byte plus a Length field sized for the payload.
        let mut payload = frame_max.saturating_sub(1);
        while payload > 0 && 1 + crate::proto::varint::size(payload) as u64 + payload > frame_max {
            payload -= 1;
        }
        usize::try_from(payload).ok()
    }

    /// Appends the encoded list (RFC 9000 §18), omitting parameters at their default value.
    pub fn encode<B: BufMut + ?Sized>(&self, out: &mut B) {
        let int = |out: &mut B, id: TransportParameterId, v: u64, default: u64| {
            if v != default {
                out.put_varint(id.0);
                out.put_varint(varint::size(v) as u64);
                out.put_varint(v);
            }
        };
        use TransportParameterId as Id;
        int(out, Id::MAX_IDLE_TIMEOUT, self.max_idle_timeout, 0);
        int(out, Id::INITIAL_MAX_DATA, self.initial_max_data, 0);
        int(
            out,
            Id::INITIAL_MAX_STREAM_DATA_BIDI_LOCAL,
            self.initial_max_stream_data_bidi_local,
            0,
        );
        int(
            out,
            Id::INITIAL_MAX_STREAM_DATA_BIDI_REMOTE,
            self.initial_max_stream_data_bidi_remote,
            0,
        );
        int(
            out,
            Id::INITIAL_MAX_STREAM_DATA_UNI,
            self.initial_max_stream_data_uni,
            0,
        );
        int(
            out,
            Id::INITIAL_MAX_STREAMS_BIDI,
            self.initial_max_streams_bidi,
            0,
        );
        int(
            out,
            Id::INITIAL_MAX_STREAMS_UNI,
            self.initial_max_streams_uni,
            0,
        );
        int(
            out,
            Id::MAX_RECORD_SIZE,
            self.max_record_size,
            DEFAULT_MAX_RECORD_SIZE,
        );
        if let Some(v) = self.max_datagram_frame_size {
            out.put_varint(Id::MAX_DATAGRAM_FRAME_SIZE.0);
            out.put_varint(varint::size(v) as u64);
            out.put_varint(v);
        }
        if self.reset_stream_at {
            out.put_varint(Id::RESET_STREAM_AT.0);
            out.put_varint(0);
        }
    }

    /// Decodes and validates a peer's list, with every check of qmux-02 §5 and RFC 9000 §7.4;
    /// every failure is TRANSPORT_PARAMETER_ERROR.
    pub fn decode(bytes: &[u8]) -> Result<Self, TransportError> {
        use TransportParameterId as Id;
        let err = TransportError::TRANSPORT_PARAMETER_ERROR;
        let mut p = Self::default();
        let mut seen: Vec<u64> = Vec::new();
        let mut r = Reader::new(bytes);
        while !r.is_empty() {
            let id = Id(r.varint().map_err(|_| err("truncated parameter id"))?);
            let value = r
                .varint_prefixed()
                .map_err(|_| err("truncated parameter value"))?;
            if id.is_forbidden() {
                return Err(err("parameter forbidden in QMux"));
            }
            let known =
                matches!(id.0, 0x01 | 0x04..=0x09 | 0x1d | 0x20) || id == Id::MAX_RECORD_SIZE;
            if !known {
                continue; // Unknown, extension or grease: ignored (qmux-02 §5.2).
            }
            if seen.contains(&id.0) {
                return Err(err("duplicate parameter"));
            }
            seen.push(id.0);
            if id == Id::RESET_STREAM_AT {
                if !value.is_empty() {
                    return Err(err("reset_stream_at must be empty"));
                }
                p.reset_stream_at = true;
                continue;
            }
            let mut vr = Reader::new(value);
            let v = vr
                .varint()
                .map_err(|_| err("malformed integer parameter"))?;
            if !vr.is_empty() {
                return Err(err("malformed integer parameter"));
            }
            match id {
                Id::MAX_IDLE_TIMEOUT => p.max_idle_timeout = v,
                Id::INITIAL_MAX_DATA => p.initial_max_data = v,
                Id::INITIAL_MAX_STREAM_DATA_BIDI_LOCAL => p.initial_max_stream_data_bidi_local = v,
                Id::INITIAL_MAX_STREAM_DATA_BIDI_REMOTE => {
                    p.initial_max_stream_data_bidi_remote = v
                }
                Id::INITIAL_MAX_STREAM_DATA_UNI => p.initial_max_stream_data_uni = v,
                Id::INITIAL_MAX_STREAMS_BIDI | Id::INITIAL_MAX_STREAMS_UNI => {
                    if v > MAX_STREAM_COUNT {
                        return Err(err("stream limit above 2^60"));
                    }
                    if id == Id::INITIAL_MAX_STREAMS_BIDI {
                        p.initial_max_streams_bidi = v;
                    } else {
                        p.initial_max_streams_uni = v;
                    }
                }
                Id::MAX_DATAGRAM_FRAME_SIZE => p.max_datagram_frame_size = Some(v),
                _ => {
                    // MAX_RECORD_SIZE, the only known ID left.
                    if v < DEFAULT_MAX_RECORD_SIZE {
                        return Err(err("max_record_size below 16382"));
                    }
                    p.max_record_size = v;
                }
            }
        }
        Ok(p)
    }
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

    fn enc(p: &TransportParameters) -> Vec<u8> {
        let mut v = Vec::new();
        p.encode(&mut v);
        v
    }

    fn example3() -> TransportParameters {
        TransportParameters {
            max_idle_timeout: 30000,
            initial_max_data: 1_048_576,
            initial_max_stream_data_bidi_local: 262_144,
            initial_max_stream_data_bidi_remote: 262_144,
            initial_max_stream_data_uni: 262_144,
            initial_max_streams_bidi: 100,
            initial_max_streams_uni: 100,
            ..Default::default()
        }
    }

    #[test]
    fn spec_example3_list() {
        let bytes = hex(
            "01 04 80 00 75 30 04 04 80 10 00 00 05 04 80 04 00 00 06 04 80 04 00 00 \
             07 04 80 04 00 00 08 02 40 64 09 02 40 64",
        );
        assert_eq!(enc(&example3()), bytes);
        assert_eq!(TransportParameters::decode(&bytes).unwrap(), example3());
    }

    #[test]
    fn spec_example4_list() {
        let p = TransportParameters {
            max_record_size: 65535,
            max_datagram_frame_size: Some(65535),
            reset_stream_at: true,
            ..Default::default()
        };
        let bytes = hex("c5 71 c5 94 29 cd 08 45 04 80 00 ff ff 20 04 80 00 ff ff 1d 00");
        assert_eq!(enc(&p), bytes);
        assert_eq!(TransportParameters::decode(&bytes).unwrap(), p);
    }

    #[test]
    fn empty_list_is_all_defaults() {
        assert_eq!(enc(&TransportParameters::default()), Vec::<u8>::new());
        assert_eq!(
            TransportParameters::decode(&[]).unwrap(),
            TransportParameters::default()
        );
    }

    #[test]
    fn unknown_and_grease_ignored() {
        // version_information (0x11), grease 31*3+27 = 0x78 (two-byte varint), 0x3d4f... (moq).
        let bytes = hex("11 02 aa bb 40 78 00 c0 00 00 00 00 00 00 7f 01 00 04 01 07");
        let p = TransportParameters::decode(&bytes).unwrap();
        assert_eq!(p.initial_max_data, 7);
    }

    #[test]
    fn invalid_lists_are_transport_parameter_errors() {
        let cases = [
            "03 02 44 b0",                      // max_udp_payload_size (§8 negative case)
            "c5 71 c5 94 29 cd 08 45 02 7f fd", // max_record_size 16381
            "00 00",                            // original_destination_connection_id
            "02 00",                            // stateless_reset_token
            "0a 01 03",                         // ack_delay_exponent
            "0b 01 19",                         // max_ack_delay
            "0c 00",                            // disable_active_migration
            "0d 00",                            // preferred_address
            "0e 01 02",                         // active_connection_id_limit
            "0f 00",                            // initial_source_connection_id
            "10 00",                            // retry_source_connection_id
            "04 01 01 04 01 02",                // duplicate
            "08 08 d0 00 00 00 00 00 00 01",    // streams above 2^60
            "09 08 d0 00 00 00 00 00 00 01",    // streams above 2^60
            "1d 01 00",                         // non-empty reset_stream_at
            "04 02 01 00",                      // value longer than its varint
            "04 00",                            // empty integer
            "04 05 01",                         // length past the end
            "40",                               // truncated id
        ];
        for c in cases {
            let err = TransportParameters::decode(&hex(c)).unwrap_err();
            assert_eq!(
                err.code,
                TransportErrorCode::TRANSPORT_PARAMETER_ERROR,
                "{c}"
            );
        }
        // Exactly 16382 is allowed.
        let p = TransportParameters::decode(&hex("c5 71 c5 94 29 cd 08 45 02 7f fe")).unwrap();
        assert_eq!(p.max_record_size, 16382);
    }
}
