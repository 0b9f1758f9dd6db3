//! Send buffering: copies charged per connection, held sends copied once written bytes free
//! room (see `connection::buffering`).

use super::util::{Chunking, Pair};
use crate::proto::connection::{Config, Event};
use crate::proto::stream_id::{Dir, StreamId};
use crate::proto::streams::SendData;

fn completions(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::SendComplete { token, .. } => Some(*token),
            _ => None,
        })
        .collect()
}

fn read_all(p: &mut Pair, id: StreamId) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1000];
    while let Ok((n, _)) = p.server.conn.read(id, &mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

#[test]
fn held_send_is_copied_once_written_bytes_free_room() {
    let server = Config {
        initial_max_stream_data_bidi_remote: 100,
        ..Config::default()
    };
    let mut p = Pair::connected(Config::default(), server, Chunking::Whole);
    let ideal = 100;
    let s = p.client.conn.open(Dir::Bi).unwrap();
    let s2 = p.client.conn.open(Dir::Bi).unwrap();
    let c = &mut p.client.conn;
    assert_eq!(
        c.send_buffered(s, vec![vec![1u8; 150].into()], 1, ideal),
        Ok(true)
    );
    assert_eq!(c.buffered_bytes(), 150);
    let parts: Vec<SendData> = vec![vec![2u8; 60].into(), vec![3u8; 60].into()];
    assert_eq!(c.send_buffered(s, parts, 2, ideal), Ok(false));
    // The buffer is the connection's: another stream's send is held too.
    assert_eq!(
        c.send_buffered(s2, vec![vec![4u8; 10].into()], 3, ideal),
        Ok(false)
    );
    p.drive();
    // Send 3 was written whole; send 1 only up to the window, so send 2 stays held.
    assert_eq!(completions(&p.client.take_events()), [1, 3]);
    assert_eq!(p.client.conn.buffered_bytes(), 150);

    // The server reads: send 1 is written, which frees the buffer; send 2 is copied whole
    // (charged by its length) and completes, before all its bytes are written.
    let mut got = read_all(&mut p, s);
    p.drive();
    assert_eq!(completions(&p.client.take_events()), [2]);
    got.extend(read_all(&mut p, s));
    p.drive();
    got.extend(read_all(&mut p, s));
    p.drive();
    got.extend(read_all(&mut p, s));
    let mut want = vec![1u8; 150];
    want.extend([2u8; 60]);
    want.extend([3u8; 60]);
    assert_eq!(got, want);
    assert!(completions(&p.client.take_events()).is_empty());
    assert_eq!(p.client.conn.buffered_bytes(), 0);
}

#[test]
fn reset_releases_copies_and_cancels_held_sends() {
    let server = Config {
        initial_max_stream_data_bidi_remote: 10,
        ..Config::default()
    };
    let mut p = Pair::connected(Config::default(), server, Chunking::Whole);
    let s = p.client.conn.open(Dir::Bi).unwrap();
    let c = &mut p.client.conn;
    assert_eq!(
        c.send_buffered(s, vec![vec![1u8; 100].into()], 1, 100),
        Ok(true)
    );
    assert_eq!(
        c.send_buffered(s, vec![vec![2u8; 50].into()], 2, 100),
        Ok(false)
    );
    p.drive();
    c_reset(&mut p, s);
    let events = p.client.take_events();
    assert_eq!(completions(&events), [1]);
    assert!(events.contains(&Event::SendCanceled { id: s, token: 2 }));
    assert_eq!(p.client.conn.buffered_bytes(), 0);
}

fn c_reset(p: &mut Pair, s: StreamId) {
    p.client.conn.reset(s, 5).unwrap();
    p.drive();
}
