//! Hooks for the fuzz targets in `fuzz/` (feature `fuzzing`), not part of the library's
//! interface: ways to put records on the wire that the session never sends by itself.

use crate::runtime::tls::{TlsError, TlsSession};

/// Seals `content` (truncated to 2^14 bytes) as one protected record of inner content type
/// `content_type` with `session`'s current sending key, appended to `out`. Returns false
/// (and writes nothing) before the session protects records itself (handshake not over).
pub fn seal_record(
    session: &mut TlsSession,
    content_type: u8,
    content: &[u8],
    out: &mut Vec<u8>,
) -> Result<bool, TlsError> {
    session.seal_raw(content_type, content, out)
}

/// Sends a KeyUpdate whose request field is `request` (any byte, valid or not) and moves
/// `session` to its next sending key, as a real KeyUpdate does. Returns false before the
/// session protects records itself.
pub fn send_key_update(
    session: &mut TlsSession,
    request: u8,
    out: &mut Vec<u8>,
) -> Result<bool, TlsError> {
    session.key_update_raw(request, out)
}
