//! Input handed over with `handle_input_shared`: stream data referenced in place, records
//! straddling buffers, buffers released as data is consumed, and memory bounded whatever the
//! peer packs into a buffer.

use std::sync::Arc;
use std::time::Instant;

use super::util::{Chunking, Pair, big_windows};
use crate::proto::connection::{Config, Connection, Event};
use crate::proto::frame::{Frame, FrameType, StreamFrame};
use crate::proto::record;
use crate::proto::shared::SharedBytes;
use crate::proto::stream_id::{Dir, Side, StreamId};
use crate::proto::streams::SHARE_MIN;

fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ (i >> 9) as u8 ^ salt)
        .collect()
}

/// Everything readable on `id`, in place.
fn peek_all(conn: &mut Connection, id: StreamId) -> (Vec<u8>, bool) {
    let c = conn.peek(id).unwrap();
    (c.slices().flatten().copied().collect(), c.fin)
}

/// A connected client/server pair by hand; returns the client's bytes after it sent `data`
/// with FIN on a new bidi stream, with the stream.
fn client_wire(config: Config, data: &[u8], transmit: usize) -> (Connection, Vec<u8>, StreamId) {
    let now = Instant::now();
    let mut client = Connection::new(Side::Client, config.clone(), now);
    let mut server = Connection::new(Side::Server, config, now);
    let mut buf = vec![0u8; transmit];
    for _ in 0..2 {
        let n = client.poll_transmit(now, &mut buf);
        server.handle_input(now, &buf[..n]);
        let n = server.poll_transmit(now, &mut buf);
        client.handle_input(now, &buf[..n]);
    }
    assert!(client.is_connected() && server.is_connected());
    while server.poll_event().is_some() {}
    let id = client.open(Dir::Bi).unwrap();
    client.send(id, data.into(), None).unwrap();
    client.finish(id).unwrap();
    let mut wire = Vec::new();
    loop {
        let n = client.poll_transmit(now, &mut buf);
        if n == 0 {
            break;
        }
        wire.extend_from_slice(&buf[..n]);
    }
    (server, wire, id)
}

/// Whether any chunk of `id` points into one of `inputs`, and whether any does not.
fn referenced(conn: &mut Connection, id: StreamId, inputs: &[Arc<Vec<u8>>]) -> (bool, bool) {
    let c = conn.peek(id).unwrap();
    let in_input = |s: &SharedBytes| inputs.iter().any(|b| Arc::ptr_eq(s.owner(), b));
    (c.shared().any(in_input), c.shared().any(|s| !in_input(s)))
}

#[test]
fn one_byte_input_buffers() {
    let mut p = Pair::connected(big_windows(), big_windows(), Chunking::OneByte);
    p.shared_input = true;
    let data = pattern(40_000, 1);
    let id = p.client.conn.open(Dir::Bi).unwrap();
    p.client.conn.send(id, data.clone().into(), None).unwrap();
    p.client.conn.finish(id).unwrap();
    p.drive();
    // No record lies whole in a one-byte buffer: each was assembled, and its stream data is
    // referenced in the assembled record (pinned like an input buffer), not copied again.
    assert!(p.server.conn.pinned_input_bytes() > 0);
    assert_eq!(peek_all(&mut p.server.conn, id), (data.clone(), true));
    let mut out = vec![0u8; 50_000];
    assert_eq!(p.server.conn.read(id, &mut out), Ok((40_000, true)));
    assert_eq!(&out[..40_000], &data[..]);
    assert_eq!(p.server.conn.pinned_input_bytes(), 0);
    // And back the other way, through the client's one-byte shared input.
    p.server.conn.send(id, data.clone().into(), None).unwrap();
    p.server.conn.finish(id).unwrap();
    p.drive();
    assert_eq!(peek_all(&mut p.client.conn, id), (data, true));
}

#[test]
fn records_straddling_input_buffers() {
    let data = pattern(300_000, 2);
    let (mut server, wire, id) = client_wire(big_windows(), &data, 64 << 10);
    let now = Instant::now();
    let sizes = [16_390, 5, 40_000, 16_383, 1, 33_000, 70_000, 2, 3];
    let mut inputs = Vec::new();
    let mut pos = 0;
    for n in sizes.iter().cycle() {
        if pos == wire.len() {
            break;
        }
        let n = (*n).min(wire.len() - pos);
        let buf = Arc::new(wire[pos..pos + n].to_vec());
        server.handle_input_shared(now, SharedBytes::new(Arc::clone(&buf), 0..n));
        inputs.push(buf);
        pos += n;
    }
    assert!(!server.is_closed());
    // Records that lay whole in a buffer are referenced there; the straddling ones in the
    // record they were assembled into.
    assert_eq!(referenced(&mut server, id, &inputs), (true, true));
    assert!(server.pinned_input_bytes() > 0);
    assert_eq!(peek_all(&mut server, id), (data.clone(), true));
    // Consume in odd steps, checking the first chunk each time.
    let mut at = 0;
    while at < data.len() {
        let first = server.peek(id).unwrap().first().to_vec();
        assert_eq!(&first[..], &data[at..at + first.len()]);
        let step = 7777.min(first.len());
        assert_eq!(server.consume(id, step), Ok(step));
        at += step;
    }
    assert!(server.peek(id).unwrap().is_empty());
    assert_eq!(server.pinned_input_bytes(), 0);
    assert!(inputs.iter().all(|b| Arc::strong_count(b) == 1));
}

#[test]
fn consume_and_read_release_input_buffers() {
    let data = pattern(100_000, 3);
    let (mut server, wire, id) = client_wire(big_windows(), &data, 256 << 10);
    let now = Instant::now();
    let buf = Arc::new(wire);
    server.handle_input_shared(now, SharedBytes::new(Arc::clone(&buf), 0..buf.len()));
    let chunks = server.peek(id).unwrap().slices().len();
    assert!(chunks >= 6, "{chunks} chunks");
    // One reference per chunk, all into our buffer; its size is what is pinned.
    assert_eq!(Arc::strong_count(&buf), 1 + chunks);
    assert_eq!(
        referenced(&mut server, id, std::slice::from_ref(&buf)),
        (true, false)
    );
    assert_eq!(server.pinned_input_bytes(), buf.capacity());
    // Consuming part of a chunk keeps it; consuming it whole drops its reference.
    let first = server.peek(id).unwrap().first().len();
    server.consume(id, first - 1).unwrap();
    assert_eq!(Arc::strong_count(&buf), 1 + chunks);
    server.consume(id, 1).unwrap();
    assert_eq!(Arc::strong_count(&buf), chunks);
    // An application clone outlives consumption, and is not the engine's to count.
    let kept = server.peek(id).unwrap().shared().next().unwrap().clone();
    let mut out = vec![0u8; 200_000];
    let (n, fin) = server.read(id, &mut out).unwrap();
    assert_eq!((n, fin), (data.len() - first, true));
    assert_eq!(&out[..n], &data[first..]);
    assert_eq!(Arc::strong_count(&buf), 2);
    assert_eq!(server.pinned_input_bytes(), 0);
    assert_eq!(&kept[..], &data[first..first + kept.len()]);
    drop(kept);
    assert_eq!(Arc::strong_count(&buf), 1);
    // The buffer can be taken back whole for reuse.
    assert!(SharedBytes::new(buf, 0..0).into_vec().is_ok());
}

#[test]
fn stop_sending_and_reset_release_input_buffers() {
    let data = pattern(50_000, 4);
    let (mut server, wire, id) = client_wire(big_windows(), &data, 256 << 10);
    let now = Instant::now();
    let buf = Arc::new(wire);
    server.handle_input_shared(now, SharedBytes::new(Arc::clone(&buf), 0..buf.len()));
    assert!(Arc::strong_count(&buf) > 1);
    server.stop_sending(id, 9).unwrap();
    assert_eq!(Arc::strong_count(&buf), 1);
    assert_eq!(server.pinned_input_bytes(), 0);

    // A reset arriving in the same buffer as the data discards it at once.
    let now = Instant::now();
    let mut client = Connection::new(Side::Client, big_windows(), now);
    let mut server = Connection::new(Side::Server, big_windows(), now);
    let mut out = vec![0u8; 256 << 10];
    for _ in 0..2 {
        let n = client.poll_transmit(now, &mut out);
        server.handle_input(now, &out[..n]);
        let n = server.poll_transmit(now, &mut out);
        client.handle_input(now, &out[..n]);
    }
    let id = client.open(Dir::Uni).unwrap();
    client.send(id, data.clone().into(), None).unwrap();
    let n = client.poll_transmit(now, &mut out);
    client.reset(id, 5).unwrap();
    let m = client.poll_transmit(now, &mut out[n..]);
    let buf = Arc::new(out[..n + m].to_vec());
    server.handle_input_shared(now, SharedBytes::new(Arc::clone(&buf), 0..buf.len()));
    assert_eq!(Arc::strong_count(&buf), 1);
    assert_eq!(server.pinned_input_bytes(), 0);
    let events: Vec<Event> = std::iter::from_fn(|| server.poll_event()).collect();
    assert!(events.contains(&Event::StreamReset { id, error_code: 5 }));
}

/// The peer's first record (its transport parameters), from `config`.
fn tp_record(config: &Config) -> Vec<u8> {
    let mut params = Vec::new();
    config.transport_parameters().encode(&mut params);
    let mut body = Vec::new();
    Frame::TransportParameters {
        ty: FrameType::QX_TRANSPORT_PARAMETERS,
        params: &params,
    }
    .encode(&mut body);
    let mut out = Vec::new();
    record::encode(&body, &mut out);
    out
}

fn stream_frame(out: &mut Vec<u8>, id: StreamId, offset: u64, data: &[u8]) {
    Frame::Stream(StreamFrame {
        id,
        offset,
        fin: false,
        has_len: true,
        data,
    })
    .encode(out);
}

/// Appends `frames` as records of at most `max` bytes of frames, never splitting a frame.
fn pack(out: &mut Vec<u8>, frames: &[Vec<u8>], max: usize) {
    let mut body = Vec::new();
    for f in frames {
        if body.len() + f.len() > max {
            record::encode(&body, out);
            body.clear();
        }
        body.extend_from_slice(f);
    }
    if !body.is_empty() {
        record::encode(&body, out);
    }
}

#[test]
fn many_tiny_frames_in_one_big_buffer_are_copied() {
    let config = Config {
        initial_max_data: 1 << 20,
        initial_max_stream_data_bidi_remote: 256 << 10,
        max_streams_bidi: 10,
        ..Config::default()
    };
    let now = Instant::now();
    let mut server = Connection::new(Side::Server, config, now);
    let ids: Vec<StreamId> = (0..3)
        .map(|i| StreamId::new(Side::Client, Dir::Bi, i))
        .collect();
    let per_stream = 40_000;
    let mut frames = Vec::new();
    for off in 0..per_stream {
        for (k, &id) in ids.iter().enumerate() {
            let mut f = Vec::new();
            stream_frame(&mut f, id, off as u64, &[(off as u8) ^ k as u8]);
            frames.push(f);
        }
    }
    let mut input = Vec::with_capacity(8 << 20);
    input.extend(tp_record(&Config::default()));
    pack(&mut input, &frames, 16_382);
    let buf = Arc::new(input);
    server.handle_input_shared(now, SharedBytes::new(Arc::clone(&buf), 0..buf.len()));
    assert!(!server.is_closed());
    // 120 000 one-byte frames: none pins the 8 MiB buffer, and each stream's bytes were
    // copied into one buffer rather than kept as 40 000 chunks.
    assert_eq!(Arc::strong_count(&buf), 1);
    assert_eq!(server.pinned_input_bytes(), 0);
    for (k, &id) in ids.iter().enumerate() {
        let c = server.peek(id).unwrap();
        assert_eq!(c.slices().len(), 1);
        let want: Vec<u8> = (0..per_stream).map(|o| (o as u8) ^ k as u8).collect();
        assert_eq!(c.first(), &want[..]);
    }
}

#[test]
fn pinned_input_stays_within_the_window() {
    // A peer putting one modest frame in each large buffer: referencing them all would hold
    // 64 KiB per 2000 bytes of data. Only a window's worth of buffers is kept.
    let window = 256 << 10;
    let config = Config {
        initial_max_data: window,
        initial_max_stream_data_bidi_remote: window,
        max_streams_bidi: 10,
        ..Config::default()
    };
    let now = Instant::now();
    let mut server = Connection::new(Side::Server, config, now);
    server.handle_input(now, &tp_record(&Config::default()));
    let ids: Vec<StreamId> = (0..10)
        .map(|i| StreamId::new(Side::Client, Dir::Bi, i))
        .collect();
    let frame_len = 2000;
    assert!(frame_len >= SHARE_MIN);
    let mut inputs = Vec::new();
    for i in 0..40 {
        let id = ids[i % 10];
        let offset = (i / 10 * frame_len) as u64;
        let mut input = Vec::with_capacity(64 << 10);
        let mut f = Vec::new();
        stream_frame(&mut f, id, offset, &pattern(frame_len, i as u8));
        pack(&mut input, &[f], 16_382);
        while input.capacity() - input.len() > 16_400 {
            pack(&mut input, &[vec![0; 16_382]], 16_382);
        }
        let buf = Arc::new(input);
        server.handle_input_shared(now, SharedBytes::new(Arc::clone(&buf), 0..buf.len()));
        inputs.push(buf);
        assert!(server.pinned_input_bytes() <= window as usize);
    }
    assert!(!server.is_closed());
    let held = |inputs: &[Arc<Vec<u8>>]| inputs.iter().filter(|b| Arc::strong_count(b) > 1).count();
    assert_eq!(held(&inputs), 4);
    assert_eq!(server.pinned_input_bytes(), 4 * (64 << 10));
    for (k, &id) in ids.iter().enumerate() {
        let mut want = Vec::new();
        for round in 0..4 {
            want.extend(pattern(frame_len, (round * 10 + k) as u8));
        }
        assert_eq!(peek_all(&mut server, id), (want, false));
    }
    // Reading the first stream releases the first buffer: the next one is referenced again.
    assert_eq!(server.consume(ids[0], 4 * frame_len), Ok(4 * frame_len));
    assert_eq!(held(&inputs), 3);
    let mut input = Vec::with_capacity(64 << 10);
    let mut f = Vec::new();
    stream_frame(
        &mut f,
        ids[0],
        4 * frame_len as u64,
        &pattern(frame_len, 99),
    );
    pack(&mut input, &[f], 16_382);
    let buf = Arc::new(input);
    server.handle_input_shared(now, SharedBytes::new(Arc::clone(&buf), 0..buf.len()));
    assert_eq!(Arc::strong_count(&buf), 2);
    for id in ids {
        let n = server.peek(id).unwrap().len();
        server.consume(id, n).unwrap();
    }
    assert_eq!(server.pinned_input_bytes(), 0);
    assert_eq!(Arc::strong_count(&buf), 1);
    assert_eq!(held(&inputs), 0);
}

#[test]
fn alternating_large_and_tiny_frames() {
    // Each tiny frame follows a referenced one, so it cannot join a copy buffer: the stream
    // alternates chunks, and every byte still arrives in order.
    let config = Config {
        initial_max_data: 1 << 20,
        initial_max_stream_data_bidi_remote: 1 << 20,
        ..Config::default()
    };
    let now = Instant::now();
    let mut server = Connection::new(Side::Server, config, now);
    let id = StreamId::new(Side::Client, Dir::Bi, 0);
    let mut frames = Vec::new();
    let mut want = Vec::new();
    let mut offset = 0u64;
    for i in 0..50 {
        let big = pattern(SHARE_MIN + i, i as u8);
        let mut f = Vec::new();
        stream_frame(&mut f, id, offset, &big);
        offset += big.len() as u64;
        want.extend(big);
        frames.push(f);
        let mut f = Vec::new();
        stream_frame(&mut f, id, offset, &[i as u8]);
        offset += 1;
        want.push(i as u8);
        frames.push(f);
    }
    let mut input = tp_record(&Config::default());
    pack(&mut input, &frames, 16_382);
    let buf = Arc::new(input);
    server.handle_input_shared(now, SharedBytes::new(Arc::clone(&buf), 0..buf.len()));
    assert_eq!(Arc::strong_count(&buf), 1 + 50);
    assert_eq!(server.peek(id).unwrap().slices().len(), 100);
    assert_eq!(peek_all(&mut server, id), (want.clone(), false));
    // Read it back in uneven pieces.
    let mut got = Vec::new();
    let mut out = [0u8; 777];
    while got.len() < want.len() {
        let (n, _) = server.read(id, &mut out).unwrap();
        got.extend_from_slice(&out[..n]);
    }
    assert_eq!(got, want);
    assert_eq!(Arc::strong_count(&buf), 1);
    assert_eq!(server.pinned_input_bytes(), 0);
}
