//! The reply to STOP_SENDING held until the application decides (`hold_stop_replies`).

use super::util::{Chunking, Pair};
use crate::proto::connection::{Config, Event};
use crate::proto::stream_id::Dir;

fn config(hold: bool) -> Config {
    Config {
        reset_stream_at: true,
        hold_stop_replies: hold,
        ..Config::default()
    }
}

#[test]
fn held_reply_takes_the_applications_code_and_reliable_size() {
    let mut p = Pair::connected(config(true), config(false), Chunking::Whole);
    let s = p.client.conn.open(Dir::Bi).unwrap();
    p.client.conn.send(s, vec![1u8; 100].into(), None).unwrap();
    p.drive();
    p.server.take_events();
    p.server.conn.stop_sending(s, 9).unwrap();
    p.drive();
    let ce = p.client.take_events();
    assert!(
        ce.contains(&Event::StopSending {
            id: s,
            error_code: 9
        }),
        "{ce:?}"
    );
    // Held: nothing reached the server yet.
    let se = p.server.take_events();
    assert!(
        !se.iter().any(|e| matches!(e, Event::StreamReset { .. })),
        "{se:?}"
    );
    // The application's choice replaces the default, until the release.
    assert_eq!(p.client.conn.reset_at(s, 7, 40), Ok(()));
    p.drive();
    assert!(p.server.take_events().is_empty());
    p.client.conn.release_stop_reply(s);
    p.drive();
    let se = p.server.take_events();
    assert!(
        se.contains(&Event::PeerResetAt {
            id: s,
            reliable_size: 40
        }),
        "{se:?}"
    );
    assert!(
        se.contains(&Event::StreamReset {
            id: s,
            error_code: 7
        }),
        "{se:?}"
    );
    // Released: no more changes.
    assert!(p.client.conn.reset_at(s, 8, 0).is_err());
}

#[test]
fn released_reply_without_a_choice_is_reset_with_no_error() {
    let mut p = Pair::connected(config(true), config(false), Chunking::Whole);
    let s = p.client.conn.open(Dir::Uni).unwrap();
    p.client.conn.send(s, vec![1u8; 10].into(), None).unwrap();
    p.drive();
    p.server.take_events();
    p.server.conn.stop_sending(s, 9).unwrap();
    p.drive();
    p.client.take_events();
    p.client.conn.release_stop_reply(s);
    p.drive();
    let se = p.server.take_events();
    assert!(
        se.contains(&Event::StreamReset {
            id: s,
            error_code: 0
        }),
        "{se:?}"
    );
    assert!(se.contains(&Event::StreamClosed { id: s }), "{se:?}");
}
