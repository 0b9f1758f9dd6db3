//! The application's controls over the peer's stream limit (allowance changes, held slots),
//! RESET_STREAM_AT's event on the receiver, and the blocked-time figures.

use std::time::Duration;

use super::util::{Chunking, Pair};
use crate::proto::connection::{Config, Event};
use crate::proto::stream_id::{Dir, StreamId};

fn one_bidi() -> Config {
    Config {
        max_streams_bidi: 1,
        max_streams_uni: 0,
        ..Config::default()
    }
}

/// Opens a client stream, sends a byte with FIN both ways and reads both ends.
fn exchange(p: &mut Pair) -> StreamId {
    let id = p.client.conn.open(Dir::Bi).unwrap();
    p.client.conn.send(id, b"a"[..].into(), None).unwrap();
    p.client.conn.finish(id).unwrap();
    p.drive();
    let mut buf = [0u8; 8];
    assert_eq!(p.server.conn.read(id, &mut buf).unwrap(), (1, true));
    p.server.conn.finish(id).unwrap();
    p.drive();
    assert_eq!(p.client.conn.read(id, &mut buf).unwrap(), (0, true));
    p.drive();
    id
}

#[test]
fn a_held_slot_returns_only_on_release() {
    let mut p = Pair::connected(Config::default(), one_bidi(), Chunking::Whole);
    let first = exchange(&mut p);
    // Topped up as the stream finished.
    assert_eq!(p.client.conn.streams_available(Dir::Bi), 1);
    let second = p.client.conn.open(Dir::Bi).unwrap();
    p.client.conn.send(second, b"b"[..].into(), None).unwrap();
    p.client.conn.finish(second).unwrap();
    p.drive();
    p.server.conn.hold_stream_slot(second);
    let mut buf = [0u8; 8];
    assert_eq!(p.server.conn.read(second, &mut buf).unwrap(), (1, true));
    p.server.conn.finish(second).unwrap();
    p.drive();
    assert_eq!(p.client.conn.read(second, &mut buf).unwrap(), (0, true));
    p.drive();
    assert!(
        p.server
            .take_events()
            .contains(&Event::StreamClosed { id: second })
    );
    assert_eq!(p.client.conn.streams_available(Dir::Bi), 0, "slot held");
    p.server.conn.release_stream_slot(second);
    p.server.conn.release_stream_slot(second); // a second release changes nothing
    p.drive();
    assert_eq!(p.client.conn.streams_available(Dir::Bi), 1);
    assert_ne!(first, second);
}

#[test]
fn a_slot_released_before_the_stream_ends_returns_when_it_does() {
    let mut p = Pair::connected(Config::default(), one_bidi(), Chunking::Whole);
    let id = p.client.conn.open(Dir::Bi).unwrap();
    p.client.conn.send(id, b"a"[..].into(), None).unwrap();
    p.drive();
    p.server.conn.hold_stream_slot(id);
    p.server.conn.release_stream_slot(id);
    p.client.conn.finish(id).unwrap();
    p.drive();
    let mut buf = [0u8; 8];
    assert_eq!(p.server.conn.read(id, &mut buf).unwrap(), (1, true));
    p.server.conn.finish(id).unwrap();
    p.drive();
    assert_eq!(p.client.conn.read(id, &mut buf).unwrap(), (0, true));
    p.drive();
    assert_eq!(p.client.conn.streams_available(Dir::Bi), 1);
}

#[test]
fn allowance_raise_is_immediate_and_a_cut_applies_as_streams_finish() {
    let mut p = Pair::connected(Config::default(), one_bidi(), Chunking::Whole);
    let _open = p.client.conn.open(Dir::Bi).unwrap();
    assert_eq!(p.client.conn.streams_available(Dir::Bi), 0);
    p.server.conn.set_peer_stream_allowance(Dir::Bi, 3);
    p.server.conn.set_peer_stream_allowance(Dir::Uni, 1);
    p.drive();
    assert_eq!(p.client.conn.streams_available(Dir::Bi), 2);
    assert_eq!(p.client.conn.streams_available(Dir::Uni), 1);
    assert_eq!(p.server.conn.peer_stream_allowance(Dir::Bi), 3);
    // Cut to 1 with three open: finishing two gives nothing back, the third does.
    p.server.conn.set_peer_stream_allowance(Dir::Bi, 1);
    let a = exchange(&mut p);
    let b = exchange(&mut p);
    assert_eq!(p.client.conn.streams_available(Dir::Bi), 0, "{a:?} {b:?}");
}

#[test]
fn reset_stream_at_is_announced_to_the_receiver() {
    let cfg = Config {
        reset_stream_at: true,
        ..Config::default()
    };
    let mut p = Pair::connected(cfg.clone(), cfg, Chunking::Whole);
    let id = p.client.conn.open(Dir::Bi).unwrap();
    p.client.conn.send(id, vec![7u8; 100].into(), None).unwrap();
    p.client.conn.reset_at(id, 9, 40).unwrap();
    p.drive();
    let ev = p.server.take_events();
    assert!(
        ev.contains(&Event::PeerResetAt {
            id,
            reliable_size: 40
        }),
        "{ev:?}"
    );
}

#[test]
fn blocked_times_follow_flow_control_and_the_application() {
    let server = Config {
        initial_max_stream_data_bidi_remote: 1000,
        ..Config::default()
    };
    let mut p = Pair::connected(Config::default(), server, Chunking::Whole);
    let id = p.client.conn.open(Dir::Bi).unwrap();
    p.advance_by(Duration::from_millis(30));
    let t = p.client.conn.blocked_times(id, p.time).unwrap();
    assert_eq!(t.app, Duration::from_millis(30), "nothing queued yet");
    p.client
        .conn
        .send(id, vec![1u8; 3000].into(), None)
        .unwrap();
    p.drive();
    p.advance_by(Duration::from_millis(50));
    let t = p.client.conn.blocked_times(id, p.time).unwrap();
    assert_eq!(t.app, Duration::from_millis(30));
    assert_eq!(t.stream_flow_control, Duration::from_millis(50));
    assert_eq!(t.conn_flow_control, Duration::ZERO);
    // The server reads: credit returns, the rest goes, the stream waits for the app again.
    let mut buf = [0u8; 4096];
    while p.server.conn.read(id, &mut buf).unwrap().0 > 0 {
        p.drive();
    }
    p.drive();
    p.advance_by(Duration::from_millis(10));
    let t = p.client.conn.blocked_times(id, p.time).unwrap();
    assert_eq!(t.stream_flow_control, Duration::from_millis(50));
    assert_eq!(t.app, Duration::from_millis(40));
    // Figures outlive the stream until forgotten.
    p.client.conn.finish(id).unwrap();
    p.drive();
    let _ = p.server.conn.read(id, &mut buf);
    p.server.conn.finish(id).unwrap();
    p.drive();
    let _ = p.client.conn.read(id, &mut buf);
    p.drive();
    assert!(p.client.conn.stream_ids().all(|s| s != id));
    let kept = p.client.conn.blocked_times(id, p.time).unwrap();
    assert_eq!(kept.stream_flow_control, Duration::from_millis(50));
    p.client.conn.forget_blocked_times(id);
    assert!(p.client.conn.blocked_times(id, p.time).is_none());
}

#[test]
fn send_events_of_one_stream_can_be_taken_ahead_of_the_queue() {
    let mut p = Pair::connected(Config::default(), Config::default(), Chunking::Whole);
    let a = p.client.conn.open(Dir::Bi).unwrap();
    let b = p.client.conn.open(Dir::Bi).unwrap();
    p.client.conn.send(a, b"x"[..].into(), Some(1)).unwrap();
    p.client.conn.send(b, b"y"[..].into(), Some(2)).unwrap();
    p.client.conn.send(a, b"z"[..].into(), Some(3)).unwrap();
    p.client.conn.reset(a, 0).unwrap();
    p.client.conn.reset(b, 0).unwrap();
    assert_eq!(
        p.client.conn.take_send_events(a),
        vec![(1, true), (3, true)]
    );
    assert_eq!(p.client.conn.take_send_events(a), vec![]);
    let rest: Vec<Event> = std::iter::from_fn(|| p.client.conn.poll_event()).collect();
    assert_eq!(rest, vec![Event::SendCanceled { id: b, token: 2 }]);
}
