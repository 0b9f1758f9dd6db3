//! Records gathered for a vectored write (`transmit_gathered`): the same bytes as
//! `poll_transmit` writes, large pieces of stream data referred to where they are queued, and
//! never more slices than one write takes.

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use super::util::{Chunking, Pair, big_windows};
use crate::proto::connection::{Config, Connection, MAX_SLICES, REFER_MIN};
use crate::proto::stream_id::{Dir, StreamId};
use crate::proto::streams::SendData;

fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(29) ^ (i >> 10) as u8 ^ salt)
        .collect()
}

/// Reads (and consumes) everything readable on `id`.
fn drain(conn: &mut Connection, id: StreamId, into: &mut Vec<u8>) {
    let Ok(c) = conn.peek(id) else { return };
    let bytes: Vec<u8> = c.slices().flatten().copied().collect();
    let n = bytes.len();
    into.extend_from_slice(&bytes);
    if n > 0 {
        conn.consume(id, n).unwrap();
    }
}

/// Small windows, so that flow control interleaves updates with the data.
fn small_windows() -> Config {
    Config {
        initial_max_data: 150_000,
        initial_max_stream_data_bidi_remote: 40_000,
        initial_max_stream_data_bidi_local: 40_000,
        initial_max_stream_data_uni: 40_000,
        ..Config::default()
    }
}

/// Runs one script of sends, a finish, a reset and reads over a pair taking its output one
/// way or the other; returns the bytes each side wrote, every event, and what the server read.
fn script(gathered: bool, transmit_buf: usize) -> (Vec<u8>, Vec<u8>, String, Vec<Vec<u8>>) {
    let mut p = Pair::connected(small_windows(), small_windows(), Chunking::Whole);
    p.gathered = gathered;
    p.transmit_buf = transmit_buf;
    let c = &mut p.client.conn;
    let s1 = c.open(Dir::Bi).unwrap();
    c.send(s1, pattern(100, 1).into(), Some(1)).unwrap();
    c.send(s1, pattern(70_000, 2).into(), Some(2)).unwrap();
    let shared: Arc<dyn AsRef<[u8]> + Send + Sync> = Arc::new(pattern(200_000, 3));
    c.send(s1, SendData::Shared(shared), Some(3)).unwrap();
    c.finish(s1).unwrap();
    let s2 = c.open(Dir::Uni).unwrap();
    c.send(s2, pattern(5_000, 4).into(), Some(4)).unwrap();
    c.send(s2, pattern(500, 5).into(), Some(5)).unwrap();
    c.finish(s2).unwrap();
    let s3 = c.open(Dir::Bi).unwrap();
    c.send(s3, pattern(30_000, 6).into(), Some(6)).unwrap();
    let mut read = vec![Vec::new(); 3];
    for round in 0..200 {
        p.drive();
        if round == 1 {
            p.client.conn.reset(s3, 77).unwrap();
        }
        for (i, id) in [s1, s2, s3].into_iter().enumerate() {
            drain(&mut p.server.conn, id, &mut read[i]);
        }
        if read[0].len() == 270_100 && read[1].len() == 5_500 {
            break;
        }
    }
    p.drive();
    let events = format!(
        "{:?} / {:?}",
        p.client.take_events(),
        p.server.take_events()
    );
    (p.client.sent.clone(), p.server.sent.clone(), events, read)
}

#[test]
fn gathered_records_are_the_bytes_poll_transmit_writes() {
    for buf in [1_000, 16_400, 64 << 10, 256 << 10] {
        let (c1, s1, e1, r1) = script(false, buf);
        let (c2, s2, e2, r2) = script(true, buf);
        assert_eq!(
            r1[0].len(),
            270_100,
            "buffer {buf}: all of the first stream"
        );
        let mut want = pattern(100, 1);
        want.extend(pattern(70_000, 2));
        want.extend(pattern(200_000, 3));
        assert_eq!(r2[0], want, "buffer {buf}: the first stream's bytes");
        assert_eq!(r2[1].len(), 5_500);
        assert!(c1 == c2, "buffer {buf}: the client's bytes differ");
        assert!(s1 == s2, "buffer {buf}: the server's bytes differ");
        assert_eq!(e1, e2, "buffer {buf}: the events differ");
        assert_eq!(r1, r2);
    }
}

/// Where `slice` lies in `within`, if it does.
fn place(slice: &[u8], within: &[u8]) -> Option<Range<usize>> {
    let (s, w) = (slice.as_ptr() as usize, within.as_ptr() as usize);
    (s >= w && s + slice.len() <= w + within.len()).then(|| s - w..s - w + slice.len())
}

/// Whether `slice` lies in the `len` bytes at address `at`.
fn inside(slice: &[u8], at: usize, len: usize) -> bool {
    let s = slice.as_ptr() as usize;
    s >= at && s + slice.len() <= at + len
}

#[test]
fn large_pieces_are_referred_to_and_small_ones_copied() {
    let now = Instant::now();
    let p = Pair::connected(big_windows(), big_windows(), Chunking::Whole);
    let (mut client, mut server) = (p.client.conn, p.server.conn);
    let shared = Arc::new(pattern(100_000, 7));
    let owned = pattern(50_000, 8);
    let small = pattern(REFER_MIN - 1, 9);
    let (owned_at, small_at) = (owned.as_ptr() as usize, small.as_ptr() as usize);
    let id = client.open(Dir::Bi).unwrap();
    let as_dyn: Arc<dyn AsRef<[u8]> + Send + Sync> = shared.clone();
    client.send(id, SendData::Shared(as_dyn), Some(1)).unwrap();
    client.send(id, owned.into(), Some(2)).unwrap();
    client.send(id, small.into(), Some(3)).unwrap();
    client.finish(id).unwrap();

    let mut wire = Vec::new();
    let (mut from_shared, mut from_owned, mut small_referred) = (0, 0, false);
    while let Some(()) = client.transmit_gathered(now, 256 << 10, |slices| {
        assert!(slices.len() <= MAX_SLICES);
        for s in slices.iter() {
            if let Some(r) = place(s, &shared) {
                from_shared += r.len();
            }
            if inside(s, owned_at, 50_000) {
                from_owned += s.len();
            }
            if inside(s, small_at, REFER_MIN - 1) {
                small_referred = true;
            }
            wire.extend_from_slice(s);
        }
    }) {}
    // Inside a send, each record's data is one piece of a full record; only the pieces at
    // the send's two ends may be short enough to be copied.
    assert!(
        from_shared >= 100_000 - 2 * REFER_MIN,
        "{from_shared} shared bytes went by reference"
    );
    assert!(
        from_owned >= 50_000 - 2 * REFER_MIN,
        "{from_owned} owned bytes were made shareable, not copied"
    );
    assert!(!small_referred, "a piece below REFER_MIN is copied");

    server.handle_input(now, &wire);
    let c = server.peek(id).unwrap();
    let got: Vec<u8> = c.slices().flatten().copied().collect();
    assert!(c.fin);
    let mut want = pattern(100_000, 7);
    want.extend(pattern(50_000, 8));
    want.extend(pattern(REFER_MIN - 1, 9));
    assert_eq!(got, want);
    // The engine let go of the shared bytes once they were written.
    assert_eq!(Arc::strong_count(&shared), 1);
}

#[test]
fn a_long_run_of_referred_pieces_keeps_each_write_within_the_slice_limit() {
    let now = Instant::now();
    let p = Pair::connected(big_windows(), big_windows(), Chunking::Whole);
    let (mut client, mut server) = (p.client.conn, p.server.conn);
    // Sends just large enough to be referred to: about one a record, each with its headers
    // beside it, so a few hundred records take more slices than one write is given.
    let ids: Vec<StreamId> = (0..4u8)
        .map(|i| {
            let id = client.open(Dir::Uni).unwrap();
            for j in 0..120u8 {
                let data = pattern(REFER_MIN, i.wrapping_mul(120).wrapping_add(j));
                client.send(id, data.into(), None).unwrap();
            }
            client.finish(id).unwrap();
            id
        })
        .collect();
    let (mut calls, mut most) = (0, 0);
    let mut wire = Vec::new();
    while let Some(()) = client.transmit_gathered(now, 64 << 20, |slices| {
        most = most.max(slices.len());
        for s in slices.iter() {
            wire.extend_from_slice(s);
        }
    }) {
        calls += 1;
    }
    assert!(calls > 1, "the slice limit split the output");
    assert!(most <= MAX_SLICES && most > MAX_SLICES / 2, "{most} slices");
    server.handle_input(now, &wire);
    for (i, id) in ids.into_iter().enumerate() {
        let c = server.peek(id).unwrap();
        let got: Vec<u8> = c.slices().flatten().copied().collect();
        assert!(c.fin);
        let want: Vec<u8> = (0..120u8)
            .flat_map(|j| pattern(REFER_MIN, (i as u8).wrapping_mul(120).wrapping_add(j)))
            .collect();
        assert!(got == want, "stream {i}");
    }
}

#[test]
fn a_sink_may_gather_another_connections_records() {
    // The thread's gathering storage is in use during the sink; a nested call gets its own.
    let now = Instant::now();
    let (mut outer, mut outer_peer) = {
        let p = Pair::connected(big_windows(), big_windows(), Chunking::Whole);
        (p.client.conn, p.server.conn)
    };
    let (mut inner, mut inner_peer) = {
        let p = Pair::connected(big_windows(), big_windows(), Chunking::Whole);
        (p.client.conn, p.server.conn)
    };
    let (a, b) = (outer.open(Dir::Bi).unwrap(), inner.open(Dir::Bi).unwrap());
    outer.send(a, pattern(40_000, 1).into(), None).unwrap();
    outer.finish(a).unwrap();
    inner.send(b, pattern(30_000, 2).into(), None).unwrap();
    inner.finish(b).unwrap();
    let (mut outer_wire, mut inner_wire) = (Vec::new(), Vec::new());
    outer.transmit_gathered(now, 1 << 20, |slices| {
        inner.transmit_gathered(now, 1 << 20, |nested| {
            nested.iter().for_each(|s| inner_wire.extend_from_slice(s));
        });
        slices.iter().for_each(|s| outer_wire.extend_from_slice(s));
    });
    outer_peer.handle_input(now, &outer_wire);
    inner_peer.handle_input(now, &inner_wire);
    for (conn, id, want) in [
        (&mut outer_peer, a, pattern(40_000, 1)),
        (&mut inner_peer, b, pattern(30_000, 2)),
    ] {
        let c = conn.peek(id).unwrap();
        assert!(c.fin);
        let got: Vec<u8> = c.slices().flatten().copied().collect();
        assert!(got == want);
    }
}
