//! Every negative case of qmux-spec §6.1 and §12: bad peer input closes the connection with
//! the stated error code (checked on the event and on the CONNECTION_CLOSE on the wire).

use std::time::Instant;

use super::util::{close_code, hex, records};
use crate::proto::connection::{CloseCause, Config, Connection, Event};
use crate::proto::error::TransportErrorCode as Code;
use crate::proto::frame::{Frame, FrameType};
use crate::proto::record;
use crate::proto::shared::SharedBytes;
use crate::proto::stream_id::Side;

/// A record holding a QX_TRANSPORT_PARAMETERS frame with `params`, then `more` frames.
fn tp_record(params: &[u8], more: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    Frame::TransportParameters {
        ty: FrameType::QX_TRANSPORT_PARAMETERS,
        params,
    }
    .encode(&mut body);
    body.extend_from_slice(more);
    let mut out = Vec::new();
    record::encode(&body, &mut out);
    out
}

/// The client's start: TPs granting the server plenty, allowing datagrams (not reset_at).
pub(super) fn client_start() -> Vec<u8> {
    // initial_max_data 1 MiB, all stream windows 64 KiB, 10 streams each way.
    tp_record(
        &hex(
            "04 04 80 10 00 00 05 04 80 01 00 00 06 04 80 01 00 00 07 04 80 01 00 00 08 01 0a 09 01 0a",
        ),
        &[],
    )
}

pub(super) fn server_config() -> Config {
    Config {
        initial_max_stream_data_bidi_remote: 1000,
        initial_max_stream_data_uni: 1000,
        initial_max_data: 1500,
        max_streams_bidi: 2,
        max_streams_uni: 2,
        ..Config::default()
    }
}

/// Feeds `input` to a fresh server (whole, one byte at a time, and whole as a shared buffer)
/// and returns what it closed with, checking the event and the wire agree.
fn run(input: &[u8], config: Config) -> Option<Code> {
    let mut results = Vec::new();
    for mode in 0..3 {
        let now = Instant::now();
        let mut s = Connection::new(Side::Server, config.clone(), now);
        match mode {
            0 => s.handle_input(now, input),
            1 => {
                for b in input {
                    s.handle_input(now, std::slice::from_ref(b));
                }
            }
            _ => s.handle_input_shared(now, SharedBytes::from_vec(input.to_vec())),
        }
        let mut out = vec![0u8; 65536];
        let mut wire = Vec::new();
        loop {
            let n = s.poll_transmit(now, &mut out);
            if n == 0 {
                break;
            }
            wire.extend_from_slice(&out[..n]);
        }
        let mut event_code = None;
        while let Some(e) = s.poll_event() {
            if let Event::Closed(CloseCause::LocalError(err)) = e {
                event_code = Some(err.code);
            }
        }
        let wire_code = close_code(&wire);
        assert_eq!(event_code, wire_code, "event and wire disagree");
        if wire_code.is_some() {
            // Our TP frame still went first, then CONNECTION_CLOSE, then the end.
            let recs = records(&wire);
            assert!(recs[0].starts_with(&hex("ff 51 53 30 0d 0a 0d 0a")));
            assert!(s.wants_write_shutdown());
        }
        results.push(wire_code);
    }
    assert_eq!(results[0], results[1], "chunking changed the outcome");
    assert_eq!(results[0], results[2], "shared input changed the outcome");
    results[0]
}

fn after_start(records_hex: &str) -> Vec<u8> {
    let mut v = client_start();
    v.extend(hex(records_hex));
    v
}

#[test]
fn valid_start_and_spec_stream_examples_are_accepted() {
    // §8 items 5-7: "hello" FIN on stream 0; two frames on stream 0... use stream 4 for the
    // continuation example.
    let input =
        after_start("08 0a 04 05 68 65 6c 6c 6f 06 0c 04 05 78 79 7a 08 0b 00 05 68 65 6c 6c 6f");
    assert_eq!(run(&input, server_config()), None);
    // §8 item 6 on its own.
    let input = after_start("12 0a 00 05 68 65 6c 6c 6f 0f 00 05 06 20 77 6f 72 6c 64");
    assert_eq!(run(&input, server_config()), None);
    // Padding, pings, MAX_DATA, close of nothing: all fine.
    let input = after_start("03 00 00 00 09 f4 8c 67 52 9e f8 c7 bd 01 05 10 80 20 00 00");
    assert_eq!(run(&input, server_config()), None);
}

#[test]
fn the_proposed_qmx_magic_is_accepted() {
    let input = hex("09 ff 51 4d 58 0d 0a 0d 0a 00");
    assert_eq!(run(&input, server_config()), None);
    // §8 item 2 with the -02 magic too.
    assert_eq!(
        run(&hex("09 ff 51 53 30 0d 0a 0d 0a 00"), server_config()),
        None
    );
}

#[test]
fn first_frame_must_be_transport_parameters() {
    assert_eq!(
        run(&hex("02 01 01"), server_config()),
        Some(Code::PROTOCOL_VIOLATION)
    );
    assert_eq!(
        run(&hex("01 01"), server_config()),
        Some(Code::PROTOCOL_VIOLATION)
    );
    assert_eq!(
        run(&hex("01 00"), server_config()),
        Some(Code::PROTOCOL_VIOLATION)
    );
    // PADDING then TP in one record is still a violation: "first" is literal.
    let input = hex("0a 00 ff 51 53 30 0d 0a 0d 0a 00");
    assert_eq!(run(&input, server_config()), Some(Code::PROTOCOL_VIOLATION));
}

#[test]
fn second_transport_parameters_frame() {
    let input = after_start("09 ff 51 53 30 0d 0a 0d 0a 00");
    assert_eq!(run(&input, server_config()), Some(Code::PROTOCOL_VIOLATION));
    // Also within the first record.
    let input = hex("12 ff 51 53 30 0d 0a 0d 0a 00 ff 51 4d 58 0d 0a 0d 0a 00");
    assert_eq!(run(&input, server_config()), Some(Code::PROTOCOL_VIOLATION));
}

#[test]
fn forbidden_frames_after_start() {
    // PING, ACK, ACK_ECN, CRYPTO, NEW_TOKEN, NEW/RETIRE_CONNECTION_ID, PATH_*, HANDSHAKE_DONE.
    for ty in [
        "01",
        "02 00 00 00 00",
        "03 00 00 00 00 00 00 00",
        "06 00 00",
        "07 00",
        "18 00 00 00",
        "19 00",
        "1a 00 00 00 00 00 00 00 00",
        "1b 00 00 00 00 00 00 00 00",
        "1e",
        "1f",
        "40 af 00 00",
    ] {
        let body = hex(ty);
        let mut rec = vec![body.len() as u8];
        rec.extend(body);
        let mut input = client_start();
        input.extend(rec);
        assert_eq!(
            run(&input, server_config()),
            Some(Code::FRAME_ENCODING_ERROR),
            "{ty}"
        );
    }
}

#[test]
fn bad_transport_parameters() {
    let input = tp_record(&hex("03 02 44 b0"), &[]);
    assert_eq!(
        run(&input, server_config()),
        Some(Code::TRANSPORT_PARAMETER_ERROR)
    );
    let input = tp_record(&hex("c5 71 c5 94 29 cd 08 45 02 7f fd"), &[]);
    assert_eq!(
        run(&input, server_config()),
        Some(Code::TRANSPORT_PARAMETER_ERROR)
    );
    let input = tp_record(&hex("04 01 01 04 01 01"), &[]);
    assert_eq!(
        run(&input, server_config()),
        Some(Code::TRANSPORT_PARAMETER_ERROR)
    );
    // TP frame whose Length runs past the record.
    let input = hex("09 ff 51 53 30 0d 0a 0d 0a 05");
    assert_eq!(
        run(&input, server_config()),
        Some(Code::FRAME_ENCODING_ERROR)
    );
}

#[test]
fn record_level_errors() {
    // Truncated last frame (§8).
    assert_eq!(
        run(&after_start("05 0b 00 05 68 65"), server_config()),
        Some(Code::FRAME_ENCODING_ERROR)
    );
    // Size 16383 when we advertised the default; also as the very first record.
    assert_eq!(
        run(&after_start("7f ff"), server_config()),
        Some(Code::FRAME_ENCODING_ERROR)
    );
    assert_eq!(
        run(&hex("7f ff"), server_config()),
        Some(Code::FRAME_ENCODING_ERROR)
    );
    // Empty record.
    assert_eq!(
        run(&after_start("00"), server_config()),
        Some(Code::FRAME_ENCODING_ERROR)
    );
    // A larger advertised limit admits 16383.
    let big = Config {
        max_record_size: 20000,
        ..server_config()
    };
    let mut input = client_start();
    input.extend(hex("7f ff"));
    input.extend(vec![0u8; 16383]);
    assert_eq!(run(&input, big), None);
}

#[test]
fn qx_ping_sequence_rules() {
    let req = |n: &str| format!("09 f4 8c 67 52 9e f8 c7 bd {n} ");
    let input = after_start(&(req("05") + &req("05")));
    assert_eq!(run(&input, server_config()), Some(Code::PROTOCOL_VIOLATION));
    let input = after_start(&(req("05") + &req("04")));
    assert_eq!(run(&input, server_config()), Some(Code::PROTOCOL_VIOLATION));
    let input = after_start(&(req("00") + &req("01")));
    assert_eq!(run(&input, server_config()), None);
    // A response to a request we never sent.
    let input = after_start("09 f4 8c 67 52 9e f8 c7 be 00");
    assert_eq!(run(&input, server_config()), Some(Code::PROTOCOL_VIOLATION));
}

#[test]
fn stream_rules() {
    let cfg = server_config;
    // Stream 4 starting at offset 5 (§8 item 7 without its predecessor).
    assert_eq!(
        run(&after_start("06 0c 04 05 78 79 7a"), cfg()),
        Some(Code::PROTOCOL_VIOLATION)
    );
    // A gap, and an overlap.
    assert_eq!(
        run(&after_start("04 0a 00 01 61 05 0e 00 02 01 62"), cfg()),
        Some(Code::PROTOCOL_VIOLATION)
    );
    assert_eq!(
        run(&after_start("05 0a 00 02 61 62 05 0e 00 01 01 62"), cfg()),
        Some(Code::PROTOCOL_VIOLATION)
    );
    // Stream limit: the server allows 2 client bidi streams (ids 0 and 4); id 8 is the third.
    assert_eq!(
        run(&after_start("03 08 08 00"), cfg()),
        Some(Code::STREAM_LIMIT_ERROR)
    );
    assert_eq!(run(&after_start("03 08 04 00"), cfg()), None);
    assert_eq!(
        run(&after_start("03 08 0a 00"), cfg()),
        Some(Code::STREAM_LIMIT_ERROR)
    );
    // The server's own stream 1 was never opened; stream 3 is the server's uni (send-only).
    assert_eq!(
        run(&after_start("03 08 01 00"), cfg()),
        Some(Code::STREAM_STATE_ERROR)
    );
    assert_eq!(
        run(&after_start("03 08 03 00"), cfg()),
        Some(Code::STREAM_STATE_ERROR)
    );
    // MAX_STREAM_DATA / STOP_SENDING on the client's uni stream 2 (receive-only for us).
    assert_eq!(
        run(&after_start("03 11 02 05"), cfg()),
        Some(Code::STREAM_STATE_ERROR)
    );
    assert_eq!(
        run(&after_start("03 05 02 05"), cfg()),
        Some(Code::STREAM_STATE_ERROR)
    );
    // RESET_STREAM / STREAM_DATA_BLOCKED on the server's unopened uni stream 3.
    assert_eq!(
        run(&after_start("04 04 03 00 00"), cfg()),
        Some(Code::STREAM_STATE_ERROR)
    );
    // MAX_STREAMS above 2^60.
    assert_eq!(
        run(&after_start("09 12 d0 00 00 00 00 00 00 01"), cfg()),
        Some(Code::FRAME_ENCODING_ERROR)
    );
}

#[test]
fn flow_control_violations() {
    // 1001 bytes on a stream with a 1000-byte window.
    let mut input = client_start();
    let mut body = hex("0a 00 43 e9");
    body.extend(vec![0x61; 1001]);
    record::encode(&body, &mut input);
    assert_eq!(run(&input, server_config()), Some(Code::FLOW_CONTROL_ERROR));
    // 1000 bytes each on streams 0 and 4 passes the 1500-byte connection window.
    let mut input = client_start();
    for id in [0u8, 4] {
        let mut body = vec![0x0a, id, 0x43, 0xe8];
        body.extend(vec![0x61; 1000]);
        record::encode(&body, &mut input);
    }
    assert_eq!(run(&input, server_config()), Some(Code::FLOW_CONTROL_ERROR));
    // A RESET_STREAM whose final size passes the stream window.
    assert_eq!(
        run(&after_start("05 04 00 00 43 e9"), server_config()),
        Some(Code::FLOW_CONTROL_ERROR)
    );
}

#[test]
fn final_size_violations() {
    let cfg = server_config;
    // FIN at 5, then RESET_STREAM claiming 3.
    let input = after_start("08 0b 00 05 68 65 6c 6c 6f 04 04 00 00 03");
    assert_eq!(run(&input, cfg()), Some(Code::FINAL_SIZE_ERROR));
    // FIN at 5, then more data.
    let input = after_start("08 0b 00 05 68 65 6c 6c 6f 05 0e 00 05 01 61");
    assert_eq!(run(&input, cfg()), Some(Code::FINAL_SIZE_ERROR));
    // Data to 5, then RESET_STREAM with final size 2.
    let input = after_start("08 0a 00 05 68 65 6c 6c 6f 04 04 00 00 02");
    assert_eq!(run(&input, cfg()), Some(Code::FINAL_SIZE_ERROR));
    // Two resets with different final sizes.
    let input = after_start("04 04 00 00 02 04 04 00 00 03");
    assert_eq!(run(&input, cfg()), Some(Code::FINAL_SIZE_ERROR));
}

#[test]
fn extensions_only_when_negotiated() {
    // DATAGRAM without our max_datagram_frame_size.
    assert_eq!(
        run(&after_start("04 30 61 62 63"), server_config()),
        Some(Code::PROTOCOL_VIOLATION)
    );
    // With it: fine up to the limit, PROTOCOL_VIOLATION above.
    let dg = Config {
        max_datagram_frame_size: Some(4),
        ..server_config()
    };
    assert_eq!(run(&after_start("04 30 61 62 63"), dg.clone()), None);
    assert_eq!(
        run(&after_start("05 30 61 62 63 64"), dg),
        Some(Code::PROTOCOL_VIOLATION)
    );
    // RESET_STREAM_AT without reset_stream_at.
    let rsa = "06 24 04 07 40 64 0a";
    assert_eq!(
        run(&after_start(rsa), server_config()),
        Some(Code::FRAME_ENCODING_ERROR)
    );
    let neg = Config {
        reset_stream_at: true,
        initial_max_stream_data_bidi_remote: 1000,
        ..server_config()
    };
    assert_eq!(run(&after_start(rsa), neg.clone()), None);
    // Reliable size above final size.
    assert_eq!(
        run(&after_start("05 24 04 07 0a 0b"), neg),
        Some(Code::FRAME_ENCODING_ERROR)
    );
}

#[test]
fn peer_close_frames_are_reported() {
    for (rec, want) in [
        (
            "04 1c 00 00 00",
            CloseCause::PeerTransport {
                error_code: Code::NO_ERROR,
                frame_type: 0,
                reason: vec![],
            },
        ),
        (
            "07 1c 0a 08 03 62 61 64",
            CloseCause::PeerTransport {
                error_code: Code::PROTOCOL_VIOLATION,
                frame_type: 8,
                reason: b"bad".to_vec(),
            },
        ),
        (
            "04 1d 41 00 00",
            CloseCause::PeerApplication {
                error_code: 0x100,
                reason: vec![],
            },
        ),
    ] {
        let now = Instant::now();
        let mut s = Connection::new(Side::Server, server_config(), now);
        s.handle_input(now, &after_start(rec));
        let events: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
        assert!(events.contains(&Event::Closed(want.clone())), "{events:?}");
        assert!(s.wants_write_shutdown());
        assert!(!s.is_drained());
        s.handle_eof(now);
        assert!(s.is_drained());
    }
}
