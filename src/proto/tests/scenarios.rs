//! Scenario scripts over the pair harness.

use std::collections::HashMap;
use std::time::Duration;

use super::util::{Chunking, End, Pair, Rng, hex, records};
use crate::proto::connection::{CloseCause, CommandError, Config, Event, Scheduling};
use crate::proto::error::TransportErrorCode;
use crate::proto::frame::{self, Frame, FrameType};
use crate::proto::stream_id::{Dir, StreamId};
use crate::proto::streams::SendData;

fn all_chunkings() -> Vec<Chunking> {
    vec![
        Chunking::Whole,
        Chunking::OneByte,
        Chunking::Random(Rng::new(7)),
    ]
}

/// Reads everything readable on `id`; returns whether the stream's end was reached.
fn read_all(end: &mut End, id: StreamId, into: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match end.conn.read(id, &mut buf) {
            Ok((0, fin)) => return fin,
            Ok((n, fin)) => {
                into.extend_from_slice(&buf[..n]);
                if fin {
                    return true;
                }
            }
            Err(_) => return false,
        }
    }
}

/// Frame types found in a byte stream.
fn frame_types(bytes: &[u8]) -> Vec<FrameType> {
    let mut out = Vec::new();
    for rec in records(bytes) {
        for f in frame::Iter::new(&rec) {
            out.push(f.unwrap().ty());
        }
    }
    out
}

#[test]
fn handshake_sends_transport_parameters_first_and_connects() {
    for chunking in all_chunkings() {
        let mut p = Pair::new(Config::default(), Config::default(), chunking);
        p.drive();
        for end in [&mut p.client, &mut p.server] {
            let events = end.take_events();
            assert_eq!(events[0], Event::Connected);
            assert!(events.contains(&Event::StreamsAvailable {
                bidi: 100,
                uni: 100
            }));
            let recs = records(&end.sent);
            assert_eq!(recs.len(), 1);
            assert!(recs[0].starts_with(&hex("ff 51 53 30 0d 0a 0d 0a")));
        }
    }
}

#[test]
fn first_record_matches_spec_example3_byte_for_byte() {
    let cfg = Config {
        max_idle_timeout: Duration::from_millis(30000),
        initial_max_data: 1_048_576,
        initial_max_stream_data_bidi_local: 262_144,
        initial_max_stream_data_bidi_remote: 262_144,
        initial_max_stream_data_uni: 262_144,
        max_streams_bidi: 100,
        max_streams_uni: 100,
        ..Config::default()
    };
    let mut p = Pair::new(cfg, Config::default(), Chunking::Whole);
    p.drive();
    let expected = hex(
        "2f ff 51 53 30 0d 0a 0d 0a 26 01 04 80 00 75 30 04 04 80 10 00 00 05 04 80 04 00 00 \
         06 04 80 04 00 00 07 04 80 04 00 00 08 02 40 64 09 02 40 64",
    );
    assert_eq!(p.client.sent, expected);
}

#[test]
fn first_record_matches_spec_example4_byte_for_byte() {
    let cfg = Config {
        max_idle_timeout: Duration::ZERO,
        initial_max_data: 0,
        initial_max_stream_data_bidi_local: 0,
        initial_max_stream_data_bidi_remote: 0,
        initial_max_stream_data_uni: 0,
        max_streams_bidi: 0,
        max_streams_uni: 0,
        max_record_size: 65535,
        max_datagram_frame_size: Some(65535),
        reset_stream_at: true,
        ..Config::default()
    };
    let mut p = Pair::new(cfg, Config::default(), Chunking::Whole);
    p.drive();
    let expected = hex(
        "1e ff 51 53 30 0d 0a 0d 0a 15 c5 71 c5 94 29 cd 08 45 04 80 00 ff ff 20 04 80 00 ff ff 1d 00",
    );
    assert_eq!(p.client.sent, expected);
}

#[test]
fn hello_on_stream_zero_is_spec_example5() {
    let mut p = Pair::connected(Config::default(), Config::default(), Chunking::Whole);
    let before = p.client.sent.len();
    let id = p.client.conn.open(Dir::Bi).unwrap();
    assert_eq!(id, StreamId(0));
    p.client.conn.send(id, b"hello"[..].into(), None).unwrap();
    p.client.conn.finish(id).unwrap();
    p.drive();
    // §8 item 5 exactly: one record, STREAM with LEN and FIN, no OFF.
    assert_eq!(p.client.sent[before..], hex("08 0b 00 05 68 65 6c 6c 6f"));
    let mut got = Vec::new();
    assert!(read_all(&mut p.server, id, &mut got));
    assert_eq!(got, b"hello");
}

/// Many streams both ways, each carrying a seeded payload, over every chunking.
#[test]
fn many_streams_both_ways() {
    for (n, chunking) in all_chunkings().into_iter().enumerate() {
        let small = matches!(chunking, Chunking::OneByte);
        let cfg = Config {
            initial_max_data: 256 << 10,
            initial_max_stream_data_bidi_local: 32 << 10,
            initial_max_stream_data_bidi_remote: 32 << 10,
            initial_max_stream_data_uni: 32 << 10,
            max_streams_bidi: 8,
            max_streams_uni: 8,
            ..Config::default()
        };
        let mut p = Pair::connected(cfg.clone(), cfg, chunking);
        let mut rng = Rng::new(n as u64 + 1);
        let streams_per_side = if small { 6 } else { 30 };
        let max_len = if small { 3000 } else { 100_000 };
        // What each side expects to receive, by stream.
        let mut expect: [HashMap<StreamId, Vec<u8>>; 2] = [HashMap::new(), HashMap::new()];
        let mut got: [HashMap<StreamId, Vec<u8>>; 2] = [HashMap::new(), HashMap::new()];
        let mut to_open = [streams_per_side, streams_per_side];
        let mut finished: [std::collections::HashSet<StreamId>; 2] = Default::default();
        for _round in 0..10_000 {
            for side in 0..2 {
                let (me, _) = if side == 0 {
                    (&mut p.client, &mut p.server)
                } else {
                    (&mut p.server, &mut p.client)
                };
                while to_open[side] > 0 {
                    let dir = if to_open[side] % 2 == 0 {
                        Dir::Bi
                    } else {
                        Dir::Uni
                    };
                    let Ok(id) = me.conn.open(dir) else { break };
                    to_open[side] -= 1;
                    let len = rng.range(0, max_len);
                    let data = rng.bytes(len);
                    me.conn.send(id, data.clone().into(), Some(id.0)).unwrap();
                    me.conn.finish(id).unwrap();
                    expect[1 - side].insert(id, data);
                }
            }
            p.drive();
            for side in 0..2 {
                let me = if side == 0 {
                    &mut p.client
                } else {
                    &mut p.server
                };
                for e in me.take_events() {
                    match e {
                        Event::StreamReadable { id } | Event::StreamOpened { id } => {
                            let buf = got[side].entry(id).or_default();
                            if read_all(me, id, buf) && id.initiator() != me.conn.side() {
                                finished[side].insert(id);
                            }
                        }
                        _ => {}
                    }
                }
                // Peer bidi streams: finish our (unused) sending half so they can close.
                let ids: Vec<StreamId> = got[side].keys().copied().collect();
                for id in ids {
                    if id.dir() == Dir::Bi && id.initiator() != me.conn.side() {
                        let _ = me.conn.finish(id);
                    }
                }
            }
            p.drive();
            if finished.iter().all(|f| f.len() == streams_per_side) && to_open == [0, 0] {
                break;
            }
        }
        assert_eq!(finished.map(|f| f.len()), [streams_per_side; 2]);
        for side in 0..2 {
            assert_eq!(expect[side].len(), streams_per_side);
            for (id, data) in &expect[side] {
                assert!(got[side][id] == *data, "stream {id:?} corrupted");
            }
        }
    }
}

#[test]
fn stream_window_grows_for_a_reader_that_keeps_up() {
    // A 64 KiB stream window under a 16 MiB connection window: the sender blocks at each
    // limit, says so, and the reader drains at once, so the window keeps doubling and the
    // transfer needs far fewer MAX_STREAM_DATA frames than 4 MiB / 32 KiB = 128.
    let server_cfg = Config {
        initial_max_stream_data_bidi_remote: 64 << 10,
        initial_max_data: 16 << 20,
        ..Config::default()
    };
    let mut p = Pair::connected(Config::default(), server_cfg, Chunking::Whole);
    let id = p.client.conn.open(Dir::Bi).unwrap();
    let payload: Vec<u8> = (0..4u32 << 20).map(|i| (i % 251) as u8).collect();
    p.client
        .conn
        .send(id, payload.clone().into(), None)
        .unwrap();
    p.client.conn.finish(id).unwrap();
    let mut got = Vec::new();
    for _ in 0..10_000 {
        p.drive();
        if read_all(&mut p.server, id, &mut got) {
            break;
        }
    }
    assert!(got == payload);
    let updates = frame_types(&p.server.sent)
        .into_iter()
        .filter(|t| *t == FrameType::MAX_STREAM_DATA)
        .count();
    assert!(updates < 40, "{updates} MAX_STREAM_DATA frames");
}

#[test]
fn flow_control_stalls_and_resumes() {
    for (round, chunking) in all_chunkings().into_iter().enumerate() {
        let server_cfg = Config {
            initial_max_data: 10_000,
            initial_max_stream_data_bidi_remote: 4_000,
            ..Config::default()
        };
        let mut p = Pair::connected(Config::default(), server_cfg, chunking);
        let a = p.client.conn.open(Dir::Bi).unwrap();
        let b = p.client.conn.open(Dir::Bi).unwrap();
        let c = p.client.conn.open(Dir::Bi).unwrap();
        let payload: Vec<u8> = (0..50_000u32).map(|i| i as u8).collect();
        for id in [a, b, c] {
            p.client
                .conn
                .send(id, payload.clone().into(), None)
                .unwrap();
            p.client.conn.finish(id).unwrap();
        }
        p.drive();
        // The server has not read: each stream is stopped at its window, the connection at
        // its own; the client said so with STREAM_DATA_BLOCKED and DATA_BLOCKED.
        assert_eq!(p.client.conn.stats().stream_bytes_sent, 10_000);
        assert_eq!(p.client.conn.unsent_bytes(), 3 * 50_000 - 10_000);
        let types = frame_types(&p.client.sent);
        assert!(
            types.contains(&FrameType::DATA_BLOCKED)
                || types.contains(&FrameType::STREAM_DATA_BLOCKED)
        );
        // Stalling is stable: nothing moves without reads.
        p.drive();
        assert_eq!(p.client.conn.stats().stream_bytes_sent, 10_000);
        // The server reads a little at a time; everything arrives.
        let mut got: HashMap<StreamId, Vec<u8>> = HashMap::new();
        let mut finished = Vec::new();
        let mut done = 0;
        for _ in 0..10_000 {
            for id in [a, b, c] {
                if finished.contains(&id) {
                    continue;
                }
                let mut buf = [0u8; 1000];
                if let Ok((n, fin)) = p.server.conn.read(id, &mut buf) {
                    got.entry(id).or_default().extend_from_slice(&buf[..n]);
                    if fin {
                        finished.push(id);
                        done += 1;
                    }
                }
            }
            p.drive();
            if done == 3 {
                break;
            }
        }
        assert_eq!(done, 3);
        for id in [a, b, c] {
            assert!(got[&id] == payload, "{id:?} in round {round}");
        }
        let server_types = frame_types(&p.server.sent);
        assert!(server_types.contains(&FrameType::MAX_DATA));
        assert!(server_types.contains(&FrameType::MAX_STREAM_DATA));
    }
}

#[test]
fn abort_of_both_halves_writes_reset_stream_first() {
    // MsQuic's order: the peer sees PEER_SEND_ABORTED before PEER_RECEIVE_ABORTED.
    let mut p = Pair::connected(Config::default(), Config::default(), Chunking::Whole);
    let s = p.client.conn.open(Dir::Bi).unwrap();
    p.client.conn.send(s, vec![1u8; 10].into(), None).unwrap();
    p.drive();
    p.client.sent.clear();
    p.client.conn.stop_sending(s, 5).unwrap();
    p.client.conn.reset(s, 5).unwrap();
    p.drive();
    let types = frame_types(&p.client.sent);
    let reset = types.iter().position(|t| *t == FrameType::RESET_STREAM);
    let stop = types.iter().position(|t| *t == FrameType::STOP_SENDING);
    assert!(
        reset.is_some() && stop.is_some() && reset < stop,
        "{types:?}"
    );
}

#[test]
fn reset_and_stop_sending() {
    for chunking in all_chunkings() {
        let mut p = Pair::connected(Config::default(), Config::default(), chunking);
        // Client resets a stream after some data: the server sees the reset with the code.
        let s = p.client.conn.open(Dir::Bi).unwrap();
        p.client
            .conn
            .send(s, vec![1u8; 1000].into(), Some(1))
            .unwrap();
        p.drive();
        p.client
            .conn
            .send(s, vec![2u8; 1000].into(), Some(2))
            .unwrap();
        p.client.conn.reset(s, 77).unwrap();
        p.drive();
        let ce = p.client.take_events();
        assert!(ce.contains(&Event::SendComplete { id: s, token: 1 }));
        assert!(ce.contains(&Event::SendCanceled { id: s, token: 2 }));
        assert!(ce.contains(&Event::SendShutdownComplete {
            id: s,
            graceful: false
        }));
        let se = p.server.take_events();
        assert!(
            se.contains(&Event::StreamReset {
                id: s,
                error_code: 77
            }),
            "{se:?}"
        );
        assert_eq!(p.server.conn.send(s, b"x"[..].into(), None), Ok(()));
        // Sending after a reset is refused.
        assert_eq!(
            p.client.conn.send(s, b"x"[..].into(), None),
            Err(CommandError::SendClosed)
        );

        // Server asks the client to stop on a client uni stream: the client resets in reply,
        // with NO_ERROR as MsQuic does.
        let u = p.client.conn.open(Dir::Uni).unwrap();
        p.client.conn.send(u, vec![3u8; 100].into(), None).unwrap();
        p.drive();
        p.server.take_events();
        p.server.conn.stop_sending(u, 99).unwrap();
        p.drive();
        let ce = p.client.take_events();
        assert!(
            ce.contains(&Event::StopSending {
                id: u,
                error_code: 99
            }),
            "{ce:?}"
        );
        assert!(ce.contains(&Event::SendShutdownComplete {
            id: u,
            graceful: false
        }));
        let se = p.server.take_events();
        assert!(
            se.contains(&Event::StreamReset {
                id: u,
                error_code: 0
            }),
            "{se:?}"
        );
        assert!(se.contains(&Event::StreamClosed { id: u }), "{se:?}");
        assert!(ce.contains(&Event::StreamClosed { id: u }), "{ce:?}");
        assert!(frame_types(&p.server.sent).contains(&FrameType::STOP_SENDING));
        assert!(frame_types(&p.client.sent).contains(&FrameType::RESET_STREAM));
    }
}

#[test]
fn reset_stream_at_delivers_reliable_prefix() {
    let cfg = Config {
        reset_stream_at: true,
        ..Config::default()
    };
    let mut p = Pair::connected(cfg.clone(), cfg, Chunking::OneByte);
    let s = p.client.conn.open(Dir::Uni).unwrap();
    let data: Vec<u8> = (0..200u8).collect();
    p.client.conn.send(s, data.clone().into(), None).unwrap();
    p.client.conn.reset_at(s, 5, 150).unwrap();
    p.drive();
    assert!(frame_types(&p.client.sent).contains(&FrameType::RESET_STREAM_AT));
    let mut got = Vec::new();
    read_all(&mut p.server, s, &mut got);
    assert_eq!(got, data[..150]);
    p.drive();
    let se = p.server.take_events();
    assert!(
        se.contains(&Event::StreamReset {
            id: s,
            error_code: 5
        }),
        "{se:?}"
    );
    // Without negotiation the command is refused.
    let mut q = Pair::connected(Config::default(), Config::default(), Chunking::Whole);
    let s = q.client.conn.open(Dir::Uni).unwrap();
    assert_eq!(
        q.client.conn.reset_at(s, 5, 10),
        Err(CommandError::NotNegotiated)
    );
}

#[test]
fn plain_reset_overrides_a_pending_reset_stream_at() {
    let cfg = Config {
        reset_stream_at: true,
        ..Config::default()
    };
    let mut p = Pair::connected(cfg.clone(), cfg, Chunking::Whole);
    let s = p.client.conn.open(Dir::Uni).unwrap();
    // More than the stream's initial credit: the reliable part cannot all go at once.
    let data = vec![7u8; 1 << 20];
    p.client.conn.send(s, data.into(), Some(1)).unwrap();
    p.drive();
    p.client.take_events();
    // The reliable part waits for credit the server does not give (it reads nothing).
    p.client.conn.reset_at(s, 5, 1 << 20).unwrap();
    p.drive();
    assert!(p.client.take_events().is_empty());
    assert!(!frame_types(&p.client.sent).contains(&FrameType::RESET_STREAM_AT));
    p.client.conn.reset(s, 0).unwrap();
    p.drive();
    let ce = p.client.take_events();
    assert!(
        ce.contains(&Event::SendCanceled { id: s, token: 1 }),
        "{ce:?}"
    );
    assert!(frame_types(&p.client.sent).contains(&FrameType::RESET_STREAM));
    assert!(!frame_types(&p.client.sent).contains(&FrameType::RESET_STREAM_AT));
    let se = p.server.take_events();
    assert!(
        se.contains(&Event::StreamReset {
            id: s,
            error_code: 0
        }),
        "{se:?}"
    );
    // Once written, the reset is final.
    assert!(p.client.conn.reset(s, 1).is_err());
}

#[test]
fn announce_opens_the_stream_on_the_peer_without_data() {
    for chunking in all_chunkings() {
        let mut p = Pair::connected(Config::default(), Config::default(), chunking);
        let id = p.client.conn.open(Dir::Bi).unwrap();
        p.drive();
        assert!(!p.server.take_events().contains(&Event::StreamOpened { id }));
        p.client.conn.announce(id).unwrap();
        p.drive();
        let se = p.server.take_events();
        assert!(se.contains(&Event::StreamOpened { id }), "{se:?}");
        // Data still starts at offset 0, and announcing again sends nothing more.
        p.client.conn.announce(id).unwrap();
        p.client.conn.send(id, b"hi"[..].into(), None).unwrap();
        p.client.conn.finish(id).unwrap();
        p.drive();
        let mut got = Vec::new();
        assert!(read_all(&mut p.server, id, &mut got));
        assert_eq!(got, b"hi");
    }
}

#[test]
fn peer_streams_blocked_is_reported_with_the_limits() {
    let server_cfg = Config {
        max_streams_bidi: 1,
        max_streams_uni: 0,
        ..Config::default()
    };
    let mut p = Pair::connected(Config::default(), server_cfg, Chunking::Whole);
    assert_eq!(p.client.conn.max_streams(Dir::Bi).0, 1);
    assert_eq!(p.server.conn.max_streams(Dir::Bi).1, 1);
    assert_eq!(p.server.conn.max_streams(Dir::Uni).1, 0);
    p.client.conn.open(Dir::Bi).unwrap();
    assert_eq!(p.client.conn.open(Dir::Bi), Err(CommandError::StreamLimit));
    assert_eq!(p.client.conn.open(Dir::Uni), Err(CommandError::StreamLimit));
    p.drive();
    let se = p.server.take_events();
    assert!(
        se.contains(&Event::PeerStreamsBlocked { dir: Dir::Bi }),
        "{se:?}"
    );
    assert!(
        se.contains(&Event::PeerStreamsBlocked { dir: Dir::Uni }),
        "{se:?}"
    );
}

#[test]
fn stream_limits_are_topped_up_with_max_streams() {
    for chunking in all_chunkings() {
        let server_cfg = Config {
            max_streams_bidi: 2,
            max_streams_uni: 1,
            ..Config::default()
        };
        let mut p = Pair::connected(Config::default(), server_cfg, chunking);
        assert_eq!(p.client.conn.streams_available(Dir::Bi), 2);
        let mut opened = 0;
        for _round in 0..10 {
            let mut ids = Vec::new();
            while let Ok(id) = p.client.conn.open(Dir::Bi) {
                ids.push(id);
            }
            assert_eq!(ids.len(), 2, "the server keeps exactly 2 available");
            assert_eq!(p.client.conn.open(Dir::Bi), Err(CommandError::StreamLimit));
            opened += ids.len();
            for &id in &ids {
                p.client.conn.send(id, b"ping"[..].into(), None).unwrap();
                p.client.conn.finish(id).unwrap();
            }
            p.drive();
            for &id in &ids {
                let mut got = Vec::new();
                assert!(read_all(&mut p.server, id, &mut got));
                p.server.conn.send(id, b"pong"[..].into(), None).unwrap();
                p.server.conn.finish(id).unwrap();
            }
            p.drive();
            for &id in &ids {
                let mut got = Vec::new();
                assert!(read_all(&mut p.client, id, &mut got));
                assert_eq!(got, b"pong");
            }
            p.drive();
            let ce = p.client.take_events();
            assert!(
                ce.iter()
                    .any(|e| matches!(e, Event::StreamsAvailable { bidi: 2, .. })),
                "{ce:?}"
            );
        }
        assert_eq!(opened, 20);
        let types = frame_types(&p.client.sent);
        assert!(types.contains(&FrameType::STREAMS_BLOCKED_BIDI));
        assert!(frame_types(&p.server.sent).contains(&FrameType::MAX_STREAMS_BIDI));
    }
}

#[test]
fn idle_timeout_closes_without_frames() {
    let cfg = Config {
        max_idle_timeout: Duration::from_secs(10),
        ..Config::default()
    };
    let server_cfg = Config {
        max_idle_timeout: Duration::from_secs(5),
        ..Config::default()
    };
    let mut p = Pair::connected(cfg, server_cfg, Chunking::Whole);
    assert_eq!(p.client.conn.idle_timeout(), Some(Duration::from_secs(5)));
    let start = p.time;
    let sent_before = (p.client.sent.len(), p.server.sent.len());
    assert!(p.advance());
    assert_eq!(p.time - start, Duration::from_secs(5));
    // Both time out together (same clock); neither sent any frame.
    assert_eq!((p.client.sent.len(), p.server.sent.len()), sent_before);
    for end in [&mut p.client, &mut p.server] {
        let events = end.take_events();
        assert!(
            events.contains(&Event::Closed(CloseCause::IdleTimeout)),
            "{events:?}"
        );
        assert!(events.contains(&Event::Drained));
        assert!(end.conn.is_drained());
    }
}

#[test]
fn activity_and_keep_alive_defer_the_idle_timeout() {
    let cfg = Config {
        max_idle_timeout: Duration::from_secs(5),
        keep_alive_interval: Some(Duration::from_secs(2)),
        ..Config::default()
    };
    let mut p = Pair::connected(cfg, Config::default(), Chunking::Whole);
    p.advance_by(Duration::from_secs(60));
    assert!(!p.client.conn.is_closed() && !p.server.conn.is_closed());
    let types = frame_types(&p.client.sent);
    assert!(types.contains(&FrameType::QX_PING_REQUEST));
    assert!(frame_types(&p.server.sent).contains(&FrameType::QX_PING_RESPONSE));
    // Without keep-alive the same wait ends the connection.
    let cfg = Config {
        max_idle_timeout: Duration::from_secs(5),
        ..Config::default()
    };
    let mut p = Pair::connected(cfg, Config::default(), Chunking::Whole);
    p.advance_by(Duration::from_secs(4));
    assert!(!p.client.conn.is_closed());
    p.advance_by(Duration::from_secs(2));
    assert!(p.client.conn.is_closed());
}

#[test]
fn idle_timeout_and_keep_alive_change_after_the_handshake() {
    // A shorter idle timeout ends the connection sooner.
    let mut p = Pair::connected(Config::default(), Config::default(), Chunking::Whole);
    p.client.conn.set_idle_timeout(Duration::from_secs(2));
    p.advance_by(Duration::from_secs(3));
    assert!(p.client.conn.is_closed());

    // Keep-alive turned on after the handshake keeps a short idle timeout from expiring.
    let short = Config {
        max_idle_timeout: Duration::from_secs(5),
        ..Config::default()
    };
    let mut p = Pair::connected(short, Config::default(), Chunking::Whole);
    p.client
        .conn
        .set_keep_alive_interval(Some(Duration::from_secs(2)));
    p.advance_by(Duration::from_secs(60));
    assert!(!p.client.conn.is_closed() && !p.server.conn.is_closed());
    p.client.conn.set_keep_alive_interval(None);
    p.advance_by(Duration::from_secs(6));
    assert!(p.client.conn.is_closed());
}

#[test]
fn close_from_either_side() {
    for client_closes in [true, false] {
        for chunking in all_chunkings() {
            let mut p = Pair::connected(Config::default(), Config::default(), chunking);
            let s = p.client.conn.open(Dir::Bi).unwrap();
            p.client
                .conn
                .send(s, vec![9u8; 10_000].into(), None)
                .unwrap();
            let (closer, other) = if client_closes {
                (&mut p.client, &mut p.server)
            } else {
                (&mut p.server, &mut p.client)
            };
            let now = p.time;
            closer.conn.close(now, 0x100, b"bye");
            let _ = other;
            p.drive();
            let (closer, other) = if client_closes {
                (&mut p.client, &mut p.server)
            } else {
                (&mut p.server, &mut p.client)
            };
            let ce = closer.take_events();
            assert!(ce.contains(&Event::Closed(CloseCause::LocalClose {
                error_code: 0x100,
                reason: b"bye".to_vec()
            })));
            assert!(ce.contains(&Event::Drained), "{ce:?}");
            let oe = other.take_events();
            assert!(
                oe.contains(&Event::Closed(CloseCause::PeerApplication {
                    error_code: 0x100,
                    reason: b"bye".to_vec()
                })),
                "{oe:?}"
            );
            assert!(oe.contains(&Event::Drained));
            // The closer's last frame is the application close; nothing follows it.
            let types = frame_types(&closer.sent);
            assert_eq!(types.last(), Some(&FrameType::APPLICATION_CLOSE));
            assert!(closer.write_shut && other.write_shut);
            assert_eq!(
                closer.conn.send(s, b"x"[..].into(), None),
                Err(CommandError::ConnectionClosed)
            );
        }
    }
}

#[test]
fn close_wait_is_bounded_when_the_peer_never_ends() {
    let mut p = Pair::connected(Config::default(), Config::default(), Chunking::Whole);
    p.frozen = true; // The peer never sees anything, so never answers.
    let now = p.time;
    p.client.conn.close(now, 1, b"");
    p.drive();
    assert!(!p.client.conn.is_drained());
    assert!(p.advance());
    assert!(p.client.conn.is_drained());
}

#[test]
fn peer_eof_without_close_is_reported() {
    let mut p = Pair::connected(Config::default(), Config::default(), Chunking::Whole);
    let now = p.time;
    p.server.conn.handle_eof(now);
    p.drive();
    let se = p.server.take_events();
    assert!(
        se.contains(&Event::Closed(CloseCause::PeerEof { mid_record: false })),
        "{se:?}"
    );
    assert!(p.server.conn.is_drained());
    // Our write side ends too; the client then sees our EOF.
    let ce = p.client.take_events();
    assert!(
        ce.contains(&Event::Closed(CloseCause::PeerEof { mid_record: false })),
        "{ce:?}"
    );
}

#[test]
fn protocol_error_in_pair_closes_both_with_code() {
    let mut p = Pair::connected(Config::default(), Config::default(), Chunking::Whole);
    // Inject a forbidden PING record into the server's input.
    let now = p.time;
    p.server.conn.handle_input(now, &hex("01 01"));
    p.drive();
    let ce = p.client.take_events();
    assert!(
        ce.iter().any(|e| matches!(e,
        Event::Closed(CloseCause::PeerTransport { error_code, frame_type: 1, .. })
            if *error_code == TransportErrorCode::FRAME_ENCODING_ERROR)),
        "{ce:?}"
    );
}

#[test]
fn datagrams_both_ways() {
    let cfg = Config {
        max_datagram_frame_size: Some(65535),
        ..Config::default()
    };
    let mut p = Pair::connected(cfg.clone(), cfg, Chunking::Random(Rng::new(3)));
    let max = p.client.conn.max_datagram_size().unwrap();
    assert_eq!(max, 16382 - 3);
    p.client.conn.send_datagram(b"abc".to_vec(), 1).unwrap();
    p.client.conn.send_datagram(vec![7; max], 2).unwrap();
    assert_eq!(
        p.client.conn.send_datagram(vec![7; max + 1], 3),
        Err(CommandError::TooLarge)
    );
    p.server.conn.send_datagram(b"xyz".to_vec(), 4).unwrap();
    assert_eq!(p.client.conn.unsent_bytes(), 3 + max as u64);
    p.drive();
    assert_eq!(p.client.conn.unsent_bytes(), 0);
    assert_eq!(p.client.conn.stats().datagram_bytes_sent, 3 + max as u64);
    let se = p.server.take_events();
    assert!(se.contains(&Event::DatagramReceived(b"abc".to_vec())));
    assert!(se.contains(&Event::DatagramReceived(vec![7; max])));
    assert!(se.contains(&Event::DatagramSent { token: 4 }));
    let ce = p.client.take_events();
    assert!(ce.contains(&Event::DatagramReceived(b"xyz".to_vec())));
    assert!(
        ce.contains(&Event::DatagramSent { token: 1 })
            && ce.contains(&Event::DatagramSent { token: 2 })
    );
    // Not negotiated: refused locally.
    let mut q = Pair::connected(Config::default(), Config::default(), Chunking::Whole);
    assert_eq!(
        q.client.conn.send_datagram(b"a".to_vec(), 0),
        Err(CommandError::NotNegotiated)
    );
}

#[test]
fn priority_and_fifo_order_output() {
    for scheduling in [Scheduling::RoundRobin, Scheduling::Fifo] {
        let cfg = Config {
            scheduling,
            ..Config::default()
        };
        let mut p = Pair::connected(cfg, Config::default(), Chunking::Whole);
        let low = p.client.conn.open(Dir::Uni).unwrap();
        let high = p.client.conn.open(Dir::Uni).unwrap();
        p.client.conn.set_priority(high, 0x8000).unwrap();
        p.client
            .conn
            .send(low, vec![1; 40_000].into(), Some(1))
            .unwrap();
        p.client
            .conn
            .send(high, vec![2; 40_000].into(), Some(2))
            .unwrap();
        p.drive();
        let ce = p.client.take_events();
        let pos = |t| {
            ce.iter()
                .position(|e| {
                    *e == Event::SendComplete {
                        id: StreamId(if t == 1 { low.0 } else { high.0 }),
                        token: t,
                    }
                })
                .unwrap()
        };
        assert!(pos(2) < pos(1), "higher priority completes first");
    }
}

#[test]
fn round_robin_interleaves_equal_priority() {
    let mut p = Pair::connected(Config::default(), Config::default(), Chunking::Whole);
    let a = p.client.conn.open(Dir::Uni).unwrap();
    let b = p.client.conn.open(Dir::Uni).unwrap();
    p.client.conn.send(a, vec![1; 60_000].into(), None).unwrap();
    p.client.conn.send(b, vec![2; 60_000].into(), None).unwrap();
    let before = p.client.sent.len();
    p.drive();
    let mut order = Vec::new();
    for rec in records(&p.client.sent[before..]) {
        for f in frame::Iter::new(&rec) {
            if let Ok(Frame::Stream(s)) = f {
                order.push(s.id);
            }
        }
    }
    assert_eq!(&order[..4], &[a, b, a, b]);
}

#[test]
fn records_respect_the_peer_limit_and_use_larger_ones_when_allowed() {
    let server_cfg = Config {
        max_record_size: 65535,
        ..Config::default()
    };
    let mut p = Pair::connected(Config::default(), server_cfg, Chunking::Whole);
    let s = p.client.conn.open(Dir::Uni).unwrap();
    p.client.conn.send(s, vec![0; 60_000].into(), None).unwrap();
    let t = p.server.conn.open(Dir::Uni).unwrap();
    p.server.conn.send(t, vec![0; 60_000].into(), None).unwrap();
    p.transmit_buf = 200_000;
    p.drive();
    let client_max = records(&p.client.sent).iter().map(Vec::len).max().unwrap();
    let server_max = records(&p.server.sent).iter().map(Vec::len).max().unwrap();
    assert!(client_max > 16382 && client_max <= 65535, "{client_max}");
    assert_eq!(server_max, 16382);
}

#[test]
fn send_data_is_copied_from_shared_buffers() {
    struct Shared(std::sync::Arc<Vec<u8>>);
    impl AsRef<[u8]> for Shared {
        fn as_ref(&self) -> &[u8] {
            &self.0
        }
    }
    let mut p = Pair::connected(Config::default(), Config::default(), Chunking::Whole);
    let s = p.client.conn.open(Dir::Uni).unwrap();
    let data = std::sync::Arc::new(vec![5u8; 100]);
    p.client
        .conn
        .send(
            s,
            SendData::Shared(std::sync::Arc::new(Shared(data.clone()))),
            Some(9),
        )
        .unwrap();
    p.client.conn.finish(s).unwrap();
    p.drive();
    let ce = p.client.take_events();
    assert!(ce.contains(&Event::SendComplete { id: s, token: 9 }));
    assert!(ce.contains(&Event::SendShutdownComplete {
        id: s,
        graceful: true
    }));
    assert_eq!(
        std::sync::Arc::strong_count(&data),
        1,
        "the engine released the buffer"
    );
    let mut got = Vec::new();
    assert!(read_all(&mut p.server, s, &mut got));
    assert_eq!(got, *data);
}

#[test]
fn input_is_processed_while_the_application_does_not_read() {
    // Forward progress: unread data on one stream never blocks frames behind it.
    let server_cfg = Config {
        initial_max_stream_data_bidi_remote: 1000,
        ..Config::default()
    };
    let mut p = Pair::connected(
        Config::default(),
        server_cfg,
        Chunking::Random(Rng::new(11)),
    );
    let a = p.client.conn.open(Dir::Bi).unwrap();
    p.client.conn.send(a, vec![1; 5000].into(), None).unwrap();
    p.drive();
    let now = p.time;
    p.client.conn.close(now, 3, b"done");
    p.drive();
    let se = p.server.take_events();
    assert!(se.iter().any(|e| matches!(
        e,
        Event::Closed(CloseCause::PeerApplication { error_code: 3, .. })
    )));
}

#[test]
fn every_output_buffer_size_respects_credit_and_record_bounds() {
    // Small buffers put the STREAM frame's Length field on the edge of the space left.
    for transmit_buf in 32..=200 {
        let server_cfg = Config {
            initial_max_stream_data_bidi_remote: 100,
            ..Config::default()
        };
        let mut p = Pair::connected(Config::default(), server_cfg, Chunking::Whole);
        let sent_before = p.client.sent.len();
        p.transmit_buf = transmit_buf;
        let s = p.client.conn.open(Dir::Bi).unwrap();
        p.client.conn.send(s, vec![7; 1000].into(), None).unwrap();
        p.client.conn.finish(s).unwrap();
        p.drive();
        assert!(!p.server.conn.is_closed(), "buffer {transmit_buf}");
        assert_eq!(
            p.client.conn.stats().stream_bytes_sent,
            100,
            "buffer {transmit_buf}"
        );
        let mut got = Vec::new();
        for _ in 0..100 {
            if read_all(&mut p.server, s, &mut got) {
                break;
            }
            p.drive();
        }
        assert_eq!(got, vec![7; 1000], "buffer {transmit_buf}");
        assert!(
            records(&p.client.sent[sent_before..])
                .iter()
                .all(|r| r.len() < transmit_buf)
        );
    }
}

#[test]
fn close_before_anything_was_sent_sends_parameters_first() {
    let mut p = Pair::new(Config::default(), Config::default(), Chunking::Whole);
    let now = p.time;
    p.client.conn.close(now, 7, b"early");
    p.drive();
    let types = frame_types(&p.client.sent);
    assert_eq!(
        types,
        [
            FrameType::QX_TRANSPORT_PARAMETERS,
            FrameType::APPLICATION_CLOSE
        ]
    );
    let se = p.server.take_events();
    assert!(se.contains(&Event::Closed(CloseCause::PeerApplication {
        error_code: 7,
        reason: b"early".to_vec()
    })));
}

#[test]
fn peer_eof_in_the_middle_of_a_record_is_abrupt() {
    let mut p = Pair::connected(Config::default(), Config::default(), Chunking::Whole);
    let now = p.time;
    p.server.conn.handle_input(now, &hex("05 0a 00"));
    p.server.conn.handle_eof(now);
    p.drive();
    let se = p.server.take_events();
    assert!(
        se.contains(&Event::Closed(CloseCause::PeerEof { mid_record: true })),
        "{se:?}"
    );
    assert!(p.server.conn.is_drained());
}

#[test]
fn nothing_is_sent_after_an_idle_timeout_even_before_the_first_record() {
    let cfg = Config {
        max_idle_timeout: Duration::from_secs(1),
        ..Config::default()
    };
    let mut p = Pair::new(cfg, Config::default(), Chunking::Whole);
    p.frozen = true;
    let later = p.time + Duration::from_secs(2);
    p.client.conn.handle_timeout(later);
    let mut buf = vec![0u8; 4096];
    assert_eq!(p.client.conn.poll_transmit(later, &mut buf), 0);
    assert!(p.client.conn.wants_write_shutdown());
}

#[test]
fn stop_sending_on_a_finished_stream_sends_nothing() {
    let mut p = Pair::connected(Config::default(), Config::default(), Chunking::Whole);
    let s = p.client.conn.open(Dir::Uni).unwrap();
    p.client.conn.send(s, b"abc"[..].into(), None).unwrap();
    p.client.conn.finish(s).unwrap();
    p.drive();
    p.server.conn.stop_sending(s, 1).unwrap();
    p.drive();
    assert!(!frame_types(&p.server.sent).contains(&FrameType::STOP_SENDING));
    let se = p.server.take_events();
    assert!(se.contains(&Event::StreamClosed { id: s }), "{se:?}");
}

#[test]
fn close_with_transport_error_and_silently() {
    let mut p = Pair::connected(Config::default(), Config::default(), Chunking::Whole);
    let now = p.time;
    p.server
        .conn
        .close_with_error(now, crate::proto::TransportError::CONNECTION_REFUSED("no"));
    p.drive();
    let ce = p.client.take_events();
    assert!(
        ce.contains(&Event::Closed(CloseCause::PeerTransport {
            error_code: TransportErrorCode::CONNECTION_REFUSED,
            frame_type: 0,
            reason: b"no".to_vec()
        })),
        "{ce:?}"
    );
    let mut p = Pair::connected(Config::default(), Config::default(), Chunking::Whole);
    let before = p.client.sent.len();
    let now = p.time;
    p.client.conn.close_silently(now, 0);
    p.drive();
    assert_eq!(p.client.sent.len(), before);
    assert!(p.client.conn.is_drained());
    let se = p.server.take_events();
    assert!(
        se.contains(&Event::Closed(CloseCause::PeerEof { mid_record: false })),
        "{se:?}"
    );
}

#[test]
fn zero_rtt_with_remembered_parameters() {
    let server_cfg = Config {
        max_datagram_frame_size: Some(1000),
        ..Config::default()
    };
    let remembered = server_cfg.transport_parameters();
    for chunking in all_chunkings() {
        let mut p = Pair::new(Config::default(), server_cfg.clone(), chunking);
        p.client.conn.use_remembered_params(remembered.clone());
        // Before anything was exchanged: a stream and a datagram in the first flight.
        let s = p.client.conn.open(Dir::Bi).unwrap();
        p.client.conn.send(s, b"early"[..].into(), None).unwrap();
        p.client.conn.finish(s).unwrap();
        p.client.conn.send_datagram(b"dg".to_vec(), 1).unwrap();
        let mut buf = vec![0u8; 65536];
        let n = p.client.conn.poll_transmit(p.time, &mut buf);
        let types = frame_types(&buf[..n]);
        assert_eq!(types[0], FrameType::QX_TRANSPORT_PARAMETERS);
        assert!(types.contains(&FrameType::DATAGRAM_LEN) && types.iter().any(|t| t.is_stream()));
        p.server.inbound.extend(&buf[..n]);
        p.drive();
        let mut got = Vec::new();
        assert!(read_all(&mut p.server, s, &mut got));
        assert_eq!(got, b"early");
        assert!(
            p.server
                .take_events()
                .contains(&Event::DatagramReceived(b"dg".to_vec()))
        );
        assert!(p.client.take_events().contains(&Event::Connected));
    }
    // A server whose limits are now lower: fine while what went early fits them, and its
    // limits rule from then on...
    let lower = Config {
        initial_max_data: 1000,
        ..server_cfg.clone()
    };
    let mut p = Pair::new(Config::default(), lower.clone(), Chunking::Whole);
    p.client.conn.use_remembered_params(remembered.clone());
    let s = p.client.conn.open(Dir::Bi).unwrap();
    p.client.conn.send(s, vec![7u8; 600].into(), None).unwrap();
    p.drive();
    assert!(p.client.take_events().contains(&Event::Connected));
    p.client.conn.send(s, vec![7u8; 3000].into(), None).unwrap();
    p.drive();
    let mut got = Vec::new();
    read_all(&mut p.server, s, &mut got);
    assert_eq!(got.len(), 1000, "held at the server's connection limit");
    assert!(!p.client.conn.is_closed());
    // ...but data already sent beyond them closes the connection.
    let mut p = Pair::new(Config::default(), lower, Chunking::Whole);
    p.client.conn.use_remembered_params(remembered);
    let s = p.client.conn.open(Dir::Bi).unwrap();
    p.client.conn.send(s, vec![7u8; 1500].into(), None).unwrap();
    p.drive();
    let ce = p.client.take_events();
    assert!(
        ce.iter()
            .any(|e| matches!(e, Event::Closed(CloseCause::LocalError(err))
            if err.code == TransportErrorCode::PROTOCOL_VIOLATION)),
        "{ce:?}"
    );
}

#[test]
fn early_output_holds_what_is_not_allowed_in_early_data() {
    let server_cfg = Config {
        max_datagram_frame_size: Some(1000),
        ..Config::default()
    };
    let remembered = server_cfg.transport_parameters();
    let mut p = Pair::new(Config::default(), server_cfg, Chunking::Whole);
    p.client.conn.use_remembered_params(remembered);
    // Stream a: allowed data, then data that is not, then FIN. Stream b: not allowed at
    // all, but its opening frame may go. A datagram waits for the handshake.
    let a = p.client.conn.open(Dir::Bi).unwrap();
    p.client.conn.send(a, b"early"[..].into(), None).unwrap();
    p.client.conn.allow_early(a, 5);
    p.client.conn.send(a, b"-late"[..].into(), None).unwrap();
    p.client
        .conn
        .send(a, b"-never-early"[..].into(), None)
        .unwrap();
    p.client.conn.allow_early(a, 12);
    p.client.conn.finish(a).unwrap();
    let b = p.client.conn.open(Dir::Uni).unwrap();
    p.client.conn.announce(b).unwrap();
    p.client.conn.send(b, b"uni"[..].into(), None).unwrap();
    p.client.conn.send_datagram(b"dg".to_vec(), 1).unwrap();
    p.client.conn.set_early_output(true);
    let mut early = vec![0u8; 65536];
    let n = p.client.conn.poll_transmit(p.time, &mut early);
    early.truncate(n);
    assert_eq!(p.client.conn.poll_transmit(p.time, &mut [0u8; 4096]), 0);
    let types = frame_types(&early);
    assert_eq!(types[0], FrameType::QX_TRANSPORT_PARAMETERS);
    assert!(!types.contains(&FrameType::DATAGRAM_LEN), "{types:?}");
    p.server.conn.handle_input_early(p.time, &early);
    let mut got = Vec::new();
    assert!(!read_all(&mut p.server, a, &mut got));
    assert_eq!(got, b"early");
    assert_eq!(p.server.conn.stream_early(a), (true, 5));
    assert_eq!(p.server.conn.stream_early(b), (true, 0));
    // The rest follows once early output ends.
    p.client.conn.set_early_output(false);
    p.drive();
    assert!(read_all(&mut p.server, a, &mut got));
    assert_eq!(got, b"early-late-never-early");
    assert_eq!(p.server.conn.stream_early(a), (true, 5));
    assert!(
        p.server
            .take_events()
            .contains(&Event::DatagramReceived(b"dg".to_vec()))
    );
}

#[test]
fn early_output_sends_a_fin_after_allowed_data() {
    let server_cfg = Config::default();
    let remembered = server_cfg.transport_parameters();
    let mut p = Pair::new(Config::default(), server_cfg, Chunking::Whole);
    p.client.conn.use_remembered_params(remembered);
    let a = p.client.conn.open(Dir::Bi).unwrap();
    p.client
        .conn
        .send(a, b"all early"[..].into(), None)
        .unwrap();
    p.client.conn.allow_early(a, 9);
    p.client.conn.finish(a).unwrap();
    p.client.conn.set_early_output(true);
    let mut early = vec![0u8; 65536];
    let n = p.client.conn.poll_transmit(p.time, &mut early);
    p.server.conn.handle_input_early(p.time, &early[..n]);
    let mut got = Vec::new();
    assert!(read_all(&mut p.server, a, &mut got));
    assert_eq!(got, b"all early");
}

#[test]
fn closing_cancels_queued_sends() {
    let server_cfg = Config {
        initial_max_stream_data_bidi_remote: 10,
        ..Config::default()
    };
    let mut p = Pair::connected(Config::default(), server_cfg, Chunking::Whole);
    let s = p.client.conn.open(Dir::Bi).unwrap();
    p.client.conn.send(s, vec![1; 5].into(), Some(1)).unwrap();
    p.client.conn.send(s, vec![1; 50].into(), Some(2)).unwrap();
    p.drive();
    assert_eq!(p.client.conn.send_pending(s), Some(45));
    assert_eq!(p.client.conn.stream_ids().collect::<Vec<_>>(), [s]);
    let now = p.time;
    p.client.conn.close(now, 0, b"");
    p.drive();
    let ce = p.client.take_events();
    assert!(ce.contains(&Event::SendComplete { id: s, token: 1 }));
    assert!(
        ce.contains(&Event::SendCanceled { id: s, token: 2 }),
        "{ce:?}"
    );
}

#[test]
fn explicit_stream_limit_and_rearmed_readable() {
    let server_cfg = Config {
        initial_max_stream_data_bidi_remote: 4_000,
        ..Config::default()
    };
    let mut p = Pair::connected(Config::default(), server_cfg, Chunking::Whole);
    let id = p.client.conn.open(Dir::Bi).unwrap();
    let payload: Vec<u8> = (0..20_000u32).map(|i| i as u8).collect();
    p.client
        .conn
        .send(id, payload.clone().into(), None)
        .unwrap();
    p.drive();
    assert_eq!(p.client.conn.stats().stream_bytes_sent, 4_000);
    let readable = |e: &mut End| {
        e.take_events()
            .iter()
            .filter(|ev| matches!(ev, Event::StreamReadable { .. }))
            .count()
    };
    assert_eq!(readable(&mut p.server), 1);
    // The limit no longer follows reads: everything read, nothing more allowed.
    p.server.conn.set_recv_limit(id, 0).unwrap();
    let mut got = Vec::new();
    read_all(&mut p.server, id, &mut got);
    p.drive();
    assert_eq!(p.client.conn.stats().stream_bytes_sent, 4_000);
    // Raised explicitly: exactly that much more comes.
    p.server.conn.set_recv_limit(id, 10_000).unwrap();
    p.drive();
    assert_eq!(p.client.conn.stats().stream_bytes_sent, 10_000);
    assert_eq!(readable(&mut p.server), 1);
    // Nothing consumed: no new readable event for more data unless re-armed.
    p.server.conn.set_recv_limit(id, 12_000).unwrap();
    p.drive();
    assert_eq!(readable(&mut p.server), 0);
    p.server.conn.rearm_readable(id).unwrap();
    p.server.conn.set_recv_limit(id, 14_000).unwrap();
    p.drive();
    assert_eq!(readable(&mut p.server), 1);
    read_all(&mut p.server, id, &mut got);
    assert_eq!(got, payload[..14_000]);
    assert!(!p.server.conn.recv_stopped(id));
    p.server.conn.stop_sending(id, 1).unwrap();
    assert!(p.server.conn.recv_stopped(id));
}
