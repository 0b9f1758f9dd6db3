//! Records of a declared length (`poll_transmit_padded`): what a sender that encrypts a
//! record as it is written uses, and what `bulk_ready` promises of them.

use std::time::Instant;

use super::util::{Chunking, Pair, big_windows};
use crate::proto::coding::SliceWriter;
use crate::proto::connection::Connection;
use crate::proto::stream_id::{Dir, StreamId};

/// A connected client and server, their events taken.
fn connected() -> (Connection, Connection) {
    let p = Pair::connected(big_windows(), big_windows(), Chunking::Whole);
    (p.client.conn, p.server.conn)
}

fn read_all(conn: &mut Connection, id: StreamId) -> (Vec<u8>, bool) {
    let c = conn.peek(id).unwrap();
    (c.slices().flatten().copied().collect(), c.fin)
}

#[test]
fn padded_records_have_the_declared_length_and_carry_the_data() {
    const LEN: usize = 16384;
    let now = Instant::now();
    let (mut client, mut server) = connected();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 13 + i / 7) as u8).collect();
    let id = client.open(Dir::Bi).unwrap();
    assert!(!client.bulk_ready(LEN), "nothing queued yet");
    client.send(id, data.clone().into(), Some(1)).unwrap();
    client.finish(id).unwrap();
    let mut wire = Vec::new();
    let mut padded = 0;
    let mut buf = vec![0u8; LEN];
    while client.bulk_ready(LEN) {
        let mut w = SliceWriter::new(&mut buf);
        assert!(client.poll_transmit_padded(now, &mut w, LEN));
        assert_eq!(w.len(), LEN, "exactly the declared length");
        wire.extend_from_slice(&buf);
        padded += 1;
    }
    assert_eq!(
        padded,
        100_000 / LEN,
        "every full record's worth went padded"
    );
    // The rest (less than a record) goes as ordinary records.
    let mut rest = vec![0u8; 64 << 10];
    loop {
        let n = client.poll_transmit(now, &mut rest);
        if n == 0 {
            break;
        }
        wire.extend_from_slice(&rest[..n]);
    }
    server.handle_input(now, &wire);
    assert_eq!(read_all(&mut server, id), (data, true));
    assert!(server.is_connected(), "no protocol error");
}

#[test]
fn a_record_short_of_data_is_padded_and_the_peer_takes_it() {
    const LEN: usize = 4000;
    let now = Instant::now();
    let (mut client, mut server) = connected();
    // Two streams of 3000 bytes: each frame carries its length, and PADDING fills the rest.
    let a = client.open(Dir::Bi).unwrap();
    let b = client.open(Dir::Bi).unwrap();
    client.send(a, vec![1u8; 3000].into(), None).unwrap();
    client.send(b, vec![2u8; 3000].into(), None).unwrap();
    client.finish(b).unwrap();
    let mut buf = vec![0u8; LEN];
    let mut w = SliceWriter::new(&mut buf);
    assert!(client.poll_transmit_padded(now, &mut w, LEN));
    assert_eq!(w.len(), LEN);
    let mut w2buf = vec![0u8; LEN];
    let mut w2 = SliceWriter::new(&mut w2buf);
    assert!(client.poll_transmit_padded(now, &mut w2, LEN));
    assert!(
        w2buf[LEN - 100..].iter().all(|&b| b == 0),
        "PADDING at the end"
    );
    server.handle_input(now, &buf);
    server.handle_input(now, &w2buf);
    assert!(server.is_connected(), "padding is not an error");
    assert_eq!(read_all(&mut server, a), (vec![1u8; 3000], false));
    assert_eq!(read_all(&mut server, b), (vec![2u8; 3000], true));
    // A buffer too small for the declared length takes nothing.
    let mut small = [0u8; 100];
    assert!(!client.poll_transmit_padded(now, &mut SliceWriter::new(&mut small), LEN));
}
