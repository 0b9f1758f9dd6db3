//! Send buffering: copies charged per connection, held sends copied once written bytes free
//! room, at the end of a transmit pass (see `connection::buffering`).

use super::util::{Chunking, Pair, big_windows};
use crate::proto::coding::SliceWriter;
use crate::proto::connection::{Config, Connection, Event};
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
    let s = copied_then_held(&mut p, 100, 50);
    p.drive();
    c_reset(&mut p, s);
    let events = p.client.take_events();
    assert_eq!(completions(&events), [1]);
    assert!(events.contains(&Event::SendCanceled { id: s, token: 2 }));
    assert_eq!(p.client.conn.buffered_bytes(), 0);
}

/// On a new stream of the client, with an ideal of 100: a send of `copied` bytes of 1s
/// (token 1; copied, so complete at once) and one of `held` bytes of 2s (token 2; held, as
/// the copy reaches the ideal). Returns the stream.
fn copied_then_held(p: &mut Pair, copied: usize, held: usize) -> StreamId {
    let s = p.client.conn.open(Dir::Bi).unwrap();
    let c = &mut p.client.conn;
    assert_eq!(
        c.send_buffered(s, vec![vec![1u8; copied].into()], 1, 100),
        Ok(true)
    );
    assert_eq!(
        c.send_buffered(s, vec![vec![2u8; held].into()], 2, 100),
        Ok(false)
    );
    s
}

fn c_reset(p: &mut Pair, s: StreamId) {
    p.client.conn.reset(s, 5).unwrap();
    p.drive();
}

/// How the sender produces records: into a buffer as they come (plain TCP), or each of a
/// declared length while a full one's worth of data is ready (TLS, encrypting as written).
#[derive(Clone, Copy, Debug)]
enum Records {
    Plain,
    Padded,
}

/// Produces one record (or, plain, one buffer) of at most `len` bytes, as a runtime's pass
/// does: without taking the events. Returns the bytes.
fn produce(p: &mut Pair, how: Records, len: usize) -> Vec<u8> {
    let c = &mut p.client.conn;
    let mut buf = vec![0u8; len];
    if matches!(how, Records::Padded) && c.bulk_ready(len) {
        let mut w = SliceWriter::new(&mut buf);
        assert!(c.poll_transmit_padded(p.time, &mut w, len));
    } else {
        let n = c.poll_transmit(p.time, &mut buf);
        buf.truncate(n);
    }
    buf
}

fn take_events(c: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// The bytes `wire` carries on `s`, at the server.
fn delivered(p: &mut Pair, s: StreamId, wire: &[u8]) -> Vec<u8> {
    p.server.conn.handle_input(p.time, wire);
    read_all(p, s)
}

#[test]
fn a_held_send_written_within_one_pass_completes_as_written_without_a_copy() {
    for how in [Records::Plain, Records::Padded] {
        let mut p = Pair::connected(big_windows(), big_windows(), Chunking::Whole);
        let s = copied_then_held(&mut p, 150, 3000);
        let mut wire = Vec::new();
        loop {
            let record = produce(&mut p, how, 1000);
            if record.is_empty() {
                break;
            }
            wire.extend(record);
            // The copy is written by the first record, which frees the buffer: the held
            // send's bytes still go from the caller's buffer, uncopied.
            assert_eq!(p.client.conn.buffered_bytes(), 0, "{how:?}");
        }
        assert!(wire.len() > 3150, "{how:?}: several records");
        assert_eq!(completions(&take_events(&mut p.client.conn)), [1, 2]);
        assert_eq!(p.client.conn.buffered_bytes(), 0, "{how:?}");
        let mut want = vec![1u8; 150];
        want.extend([2u8; 3000]);
        assert_eq!(delivered(&mut p, s, &wire), want, "{how:?}");
    }
}

#[test]
fn a_held_send_left_unwritten_is_copied_when_the_pass_ends() {
    for how in [Records::Plain, Records::Padded] {
        let mut p = Pair::connected(big_windows(), big_windows(), Chunking::Whole);
        let s = copied_then_held(&mut p, 150, 5000);
        // One record: the copy written, the held send only begun.
        let mut wire = produce(&mut p, how, 1000);
        assert!(!wire.is_empty());
        assert_eq!(p.client.conn.buffered_bytes(), 0, "{how:?}");
        // The pass ends as its events are taken: the room goes to the held send, which is
        // copied (charged by its length) and completes, before the rest of it is written.
        assert_eq!(completions(&take_events(&mut p.client.conn)), [1, 2]);
        assert_eq!(p.client.conn.buffered_bytes(), 5000, "{how:?}");
        loop {
            let record = produce(&mut p, how, 1000);
            if record.is_empty() {
                break;
            }
            wire.extend(record);
        }
        assert!(completions(&take_events(&mut p.client.conn)).is_empty());
        assert_eq!(p.client.conn.buffered_bytes(), 0, "{how:?}");
        let mut want = vec![1u8; 150];
        want.extend([2u8; 5000]);
        assert_eq!(delivered(&mut p, s, &wire), want, "{how:?}");
    }
}
