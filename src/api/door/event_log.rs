//! Log lines for the events delivered to the application, with MsQuic's event names and
//! their key fields: connection and listener life-cycle events at `info`, the other
//! connection events and every stream event at `debug`.

use crate::api::abi::*;
use crate::api::door::status_names::StatusName;
use crate::runtime::log::{Level, enabled, qlog};

/// Logs a connection event about to be delivered (SHUTDOWN_INITIATED_BY_TRANSPORT is logged
/// where it is raised, with its reason).
pub(crate) fn connection(h: usize, event: &QUIC_CONNECTION_EVENT) {
    let t = event.Type;
    let life = t == QUIC_CONNECTION_EVENT_CONNECTED
        || t == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER
        || t == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE
        || t == QUIC_CONNECTION_EVENT_RESUMED
        || t == QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED;
    if t == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT
        || !enabled(if life { Level::Info } else { Level::Debug })
    {
        return;
    }
    let p = &event.payload;
    // SAFETY: each union member read below is the one `Type` names, and the pointers in it
    // are the library's own, valid while the event is delivered.
    let fields = unsafe {
        match t {
            QUIC_CONNECTION_EVENT_CONNECTED => {
                let c = p.CONNECTED;
                let alpn = if c.NegotiatedAlpn.is_null() {
                    &[][..]
                } else {
                    core::slice::from_raw_parts(c.NegotiatedAlpn, c.NegotiatedAlpnLength.into())
                };
                format!(
                    "SessionResumed={} NegotiatedAlpn={}",
                    c.SessionResumed,
                    String::from_utf8_lossy(alpn)
                )
            }
            QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER => {
                let code = p.SHUTDOWN_INITIATED_BY_PEER.ErrorCode;
                format!("ErrorCode={code:#x} (the peer's application closed the connection)")
            }
            QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE => {
                let c = p.SHUTDOWN_COMPLETE;
                format!(
                    "HandshakeCompleted={} PeerAcknowledgedShutdown={} AppCloseInProgress={}",
                    u8::from(c.handshake_completed()),
                    u8::from(c.peer_acknowledged_shutdown()),
                    u8::from(c.app_close_in_progress())
                )
            }
            QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED => {
                let s = p.PEER_STREAM_STARTED;
                format!("Stream={:p} Flags={:#x}", s.Stream, s.Flags.0)
            }
            QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE => {
                let s = p.STREAMS_AVAILABLE;
                format!(
                    "BidirectionalCount={} UnidirectionalCount={}",
                    s.BidirectionalCount, s.UnidirectionalCount
                )
            }
            QUIC_CONNECTION_EVENT_PEER_NEEDS_STREAMS => {
                format!("Bidirectional={}", p.PEER_NEEDS_STREAMS.Bidirectional)
            }
            QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED => {
                let s = p.IDEAL_PROCESSOR_CHANGED;
                format!(
                    "IdealProcessor={} PartitionIndex={}",
                    s.IdealProcessor, s.PartitionIndex
                )
            }
            QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED => {
                let s = p.DATAGRAM_STATE_CHANGED;
                format!(
                    "SendEnabled={} MaxSendLength={}",
                    s.SendEnabled, s.MaxSendLength
                )
            }
            QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED => {
                let s = p.DATAGRAM_RECEIVED;
                let len = if s.Buffer.is_null() {
                    0
                } else {
                    (*s.Buffer).Length
                };
                format!("Length={len} Flags={:#x}", s.Flags.0)
            }
            QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED => {
                let s = p.DATAGRAM_SEND_STATE_CHANGED;
                format!("State={}", s.State.0)
            }
            QUIC_CONNECTION_EVENT_RESUMED => {
                format!("ResumptionStateLength={}", p.RESUMED.ResumptionStateLength)
            }
            QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED => format!(
                "ResumptionTicketLength={}",
                p.RESUMPTION_TICKET_RECEIVED.ResumptionTicketLength
            ),
            QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED => {
                let s = p.PEER_CERTIFICATE_RECEIVED;
                format!(
                    "DeferredErrorFlags={:#x} DeferredStatus={}",
                    s.DeferredErrorFlags,
                    StatusName(s.DeferredStatus)
                )
            }
            QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED => {
                format!("IsNegotiated={}", p.RELIABLE_RESET_NEGOTIATED.IsNegotiated)
            }
            QUIC_CONNECTION_EVENT_ONE_WAY_DELAY_NEGOTIATED => {
                let s = p.ONE_WAY_DELAY_NEGOTIATED;
                format!(
                    "SendNegotiated={} ReceiveNegotiated={}",
                    s.SendNegotiated, s.ReceiveNegotiated
                )
            }
            _ => String::new(),
        }
    };
    let name = connection_event_name(t);
    if life {
        qlog!(Info, h, "{name} {fields}");
    } else {
        qlog!(Debug, h, "{name} {fields}");
    }
}

/// MsQuic's name of a connection event type.
pub(crate) fn connection_event_name(t: QUIC_CONNECTION_EVENT_TYPE) -> &'static str {
    const NAMES: &[(QUIC_CONNECTION_EVENT_TYPE, &str)] = &[
        (
            QUIC_CONNECTION_EVENT_CONNECTED,
            "QUIC_CONNECTION_EVENT_CONNECTED",
        ),
        (
            QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT,
            "QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT",
        ),
        (
            QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER,
            "QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER",
        ),
        (
            QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE,
            "QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE",
        ),
        (
            QUIC_CONNECTION_EVENT_LOCAL_ADDRESS_CHANGED,
            "QUIC_CONNECTION_EVENT_LOCAL_ADDRESS_CHANGED",
        ),
        (
            QUIC_CONNECTION_EVENT_PEER_ADDRESS_CHANGED,
            "QUIC_CONNECTION_EVENT_PEER_ADDRESS_CHANGED",
        ),
        (
            QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED,
            "QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED",
        ),
        (
            QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE,
            "QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE",
        ),
        (
            QUIC_CONNECTION_EVENT_PEER_NEEDS_STREAMS,
            "QUIC_CONNECTION_EVENT_PEER_NEEDS_STREAMS",
        ),
        (
            QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED,
            "QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED",
        ),
        (
            QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED,
            "QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED",
        ),
        (
            QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED,
            "QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED",
        ),
        (
            QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED,
            "QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED",
        ),
        (
            QUIC_CONNECTION_EVENT_RESUMED,
            "QUIC_CONNECTION_EVENT_RESUMED",
        ),
        (
            QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED,
            "QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED",
        ),
        (
            QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED,
            "QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED",
        ),
        (
            QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED,
            "QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED",
        ),
        (
            QUIC_CONNECTION_EVENT_ONE_WAY_DELAY_NEGOTIATED,
            "QUIC_CONNECTION_EVENT_ONE_WAY_DELAY_NEGOTIATED",
        ),
        (
            QUIC_CONNECTION_EVENT_NETWORK_STATISTICS,
            "QUIC_CONNECTION_EVENT_NETWORK_STATISTICS",
        ),
    ];
    NAMES
        .iter()
        .find(|(a, _)| *a == t)
        .map_or("QUIC_CONNECTION_EVENT_(unknown)", |(_, n)| *n)
}

/// Logs a stream event about to be delivered (at `debug`).
pub(crate) fn stream(h: usize, event: &QUIC_STREAM_EVENT) {
    if !enabled(Level::Debug) {
        return;
    }
    let t = event.Type;
    let p = &event.payload;
    // SAFETY: each union member read below is the one `Type` names, and the pointers in it
    // are the library's own, valid while the event is delivered.
    let (name, fields) = unsafe {
        match t {
            QUIC_STREAM_EVENT_START_COMPLETE => {
                let s = p.START_COMPLETE;
                (
                    "QUIC_STREAM_EVENT_START_COMPLETE",
                    format!(
                        "Status={} ID={} PeerAccepted={}",
                        StatusName(s.Status),
                        s.ID,
                        u8::from(s.peer_accepted())
                    ),
                )
            }
            QUIC_STREAM_EVENT_RECEIVE => {
                let s = p.RECEIVE;
                (
                    "QUIC_STREAM_EVENT_RECEIVE",
                    format!(
                        "AbsoluteOffset={} TotalBufferLength={} BufferCount={} Flags={:#x}",
                        s.AbsoluteOffset, s.TotalBufferLength, s.BufferCount, s.Flags.0
                    ),
                )
            }
            QUIC_STREAM_EVENT_SEND_COMPLETE => (
                "QUIC_STREAM_EVENT_SEND_COMPLETE",
                format!("Canceled={}", p.SEND_COMPLETE.Canceled),
            ),
            QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN => {
                ("QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN", String::new())
            }
            QUIC_STREAM_EVENT_PEER_SEND_ABORTED => (
                "QUIC_STREAM_EVENT_PEER_SEND_ABORTED",
                format!("ErrorCode={:#x}", p.PEER_SEND_ABORTED.ErrorCode),
            ),
            QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED => (
                "QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED",
                format!("ErrorCode={:#x}", p.PEER_RECEIVE_ABORTED.ErrorCode),
            ),
            QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE => (
                "QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE",
                format!("Graceful={}", p.SEND_SHUTDOWN_COMPLETE.Graceful),
            ),
            QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE => {
                let s = p.SHUTDOWN_COMPLETE;
                let conn = if s.ConnectionShutdown != 0 {
                    format!(
                        " ConnectionShutdownByApp={} ConnectionClosedRemotely={} \
                         ConnectionErrorCode={:#x} ConnectionCloseStatus={}",
                        u8::from(s.connection_shutdown_by_app()),
                        u8::from(s.connection_closed_remotely()),
                        s.ConnectionErrorCode,
                        StatusName(s.ConnectionCloseStatus)
                    )
                } else {
                    String::new()
                };
                (
                    "QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE",
                    format!(
                        "ConnectionShutdown={} AppCloseInProgress={}{conn}",
                        s.ConnectionShutdown,
                        u8::from(s.app_close_in_progress())
                    ),
                )
            }
            QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE => (
                "QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE",
                format!("ByteCount={}", p.IDEAL_SEND_BUFFER_SIZE.ByteCount),
            ),
            QUIC_STREAM_EVENT_PEER_ACCEPTED => ("QUIC_STREAM_EVENT_PEER_ACCEPTED", String::new()),
            QUIC_STREAM_EVENT_CANCEL_ON_LOSS => ("QUIC_STREAM_EVENT_CANCEL_ON_LOSS", String::new()),
            QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED => (
                "QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED",
                format!(
                    "BufferLengthNeeded={}",
                    p.RECEIVE_BUFFER_NEEDED.BufferLengthNeeded
                ),
            ),
            _ => ("QUIC_STREAM_EVENT_(unknown)", format!("Type={}", t.0)),
        }
    };
    qlog!(Debug, h, "{name} {fields}");
}

/// Logs a listener event about to be delivered (at `info`).
pub(crate) fn listener(h: usize, event: &QUIC_LISTENER_EVENT) {
    if !enabled(Level::Info) {
        return;
    }
    let t = event.Type;
    // SAFETY: each union member read below is the one `Type` names, and the pointers in it
    // are the library's own, valid while the event is delivered.
    unsafe {
        match t {
            QUIC_LISTENER_EVENT_NEW_CONNECTION => {
                let c = event.payload.NEW_CONNECTION;
                let info = &*c.Info;
                let alpn = core::slice::from_raw_parts(
                    info.NegotiatedAlpn,
                    info.NegotiatedAlpnLength.into(),
                );
                qlog!(
                    Info,
                    h,
                    "QUIC_LISTENER_EVENT_NEW_CONNECTION Connection={:p} NegotiatedAlpn={} \
                     ServerNameLength={}",
                    c.Connection,
                    String::from_utf8_lossy(alpn),
                    info.ServerNameLength
                );
            }
            QUIC_LISTENER_EVENT_STOP_COMPLETE => qlog!(
                Info,
                h,
                "QUIC_LISTENER_EVENT_STOP_COMPLETE AppCloseInProgress={}",
                u8::from(event.payload.STOP_COMPLETE.app_close_in_progress())
            ),
            QUIC_LISTENER_EVENT_DOS_MODE_CHANGED => qlog!(
                Info,
                h,
                "QUIC_LISTENER_EVENT_DOS_MODE_CHANGED DosModeEnabled={}",
                u8::from(event.payload.DOS_MODE_CHANGED.dos_mode_enabled())
            ),
            _ => qlog!(Info, h, "QUIC_LISTENER_EVENT_(unknown) Type={}", t.0),
        }
    }
}
