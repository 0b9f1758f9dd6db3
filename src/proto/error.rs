//! QUIC transport errors (RFC 9000 §20.1) as QMux uses them.

use std::fmt;

use super::frame::FrameType;

/// A QUIC transport error code.
#[derive(Clone, Copy, Eq, Hash, PartialEq)]
pub struct TransportErrorCode(pub u64);

macro_rules! codes {
    ($($name:ident = $value:expr,)*) => {
        impl TransportErrorCode {
            $(
                #[doc = concat!("`", stringify!($name), "` (RFC 9000 §20.1).")]
                pub const $name: Self = Self($value);
            )*

            /// The RFC 9000 name of this code, if it has one.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $(Self::$name => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }

        impl TransportError {
            $(
                #[doc = concat!("A `", stringify!($name), "` error with the given reason.")]
                #[allow(non_snake_case)]
                pub fn $name(reason: &'static str) -> Self {
                    Self { code: TransportErrorCode::$name, frame_type: None, reason }
                }
            )*
        }
    };
}

codes! {
    NO_ERROR = 0x00,
    INTERNAL_ERROR = 0x01,
    CONNECTION_REFUSED = 0x02,
    FLOW_CONTROL_ERROR = 0x03,
    STREAM_LIMIT_ERROR = 0x04,
    STREAM_STATE_ERROR = 0x05,
    FINAL_SIZE_ERROR = 0x06,
    FRAME_ENCODING_ERROR = 0x07,
    TRANSPORT_PARAMETER_ERROR = 0x08,
    CONNECTION_ID_LIMIT_ERROR = 0x09,
    PROTOCOL_VIOLATION = 0x0a,
    INVALID_TOKEN = 0x0b,
    APPLICATION_ERROR = 0x0c,
    CRYPTO_BUFFER_EXCEEDED = 0x0d,
    KEY_UPDATE_ERROR = 0x0e,
    AEAD_LIMIT_REACHED = 0x0f,
    NO_VIABLE_PATH = 0x10,
}

impl fmt::Debug for TransportErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "TransportErrorCode({:#x})", self.0),
        }
    }
}

impl fmt::Display for TransportErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A connection error detected locally: what goes into our CONNECTION_CLOSE (type 0x1c).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct TransportError {
    /// The error code.
    pub code: TransportErrorCode,
    /// The type of the frame that caused it, if one did.
    pub frame_type: Option<FrameType>,
    /// A human-readable reason, sent in the frame.
    pub reason: &'static str,
}

impl TransportError {
    /// The same error, attributed to a frame of type `ty`.
    pub fn with_frame(mut self, ty: FrameType) -> Self {
        self.frame_type = Some(ty);
        self
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(ty) = self.frame_type {
            write!(f, " in {ty:?}")?;
        }
        if !self.reason.is_empty() {
            write!(f, ": {}", self.reason)?;
        }
        Ok(())
    }
}

impl std::error::Error for TransportError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_constructors() {
        let e = TransportError::FLOW_CONTROL_ERROR("too much").with_frame(FrameType::MAX_DATA);
        assert_eq!(e.code, TransportErrorCode(0x03));
        assert_eq!(e.to_string(), "FLOW_CONTROL_ERROR in MAX_DATA: too much");
        assert_eq!(TransportErrorCode::PROTOCOL_VIOLATION.0, 0x0a);
        assert_eq!(
            format!("{:?}", TransportErrorCode(0x1234)),
            "TransportErrorCode(0x1234)"
        );
    }
}
