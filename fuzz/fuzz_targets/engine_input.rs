//! Arbitrary peer input to an engine after a valid start: the peer's transport parameters
//! arrive first, then the fuzz bytes in arbitrary pieces, while the application reads every
//! stream and the engine keeps producing output. Nothing may panic, and everything the engine
//! writes must be well-formed records.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use msquic::proto::frame::{self, Frame, FrameType};
use msquic::proto::record::{self, Deframed, RecordReader};
use msquic::proto::{Config, Connection, Dir, Event, Side};

fn valid_start() -> Vec<u8> {
    let params = [
        0x04, 0x04, 0x80, 0x10, 0x00, 0x00, // initial_max_data 1 MiB
        0x05, 0x02, 0x44, 0x00, 0x06, 0x02, 0x44, 0x00, 0x07, 0x02, 0x44,
        0x00, // 1 KiB windows
        0x08, 0x01, 0x04, 0x09, 0x01, 0x04, // 4 streams each
        0x20, 0x02, 0x44, 0x00, 0x1d, 0x00, // datagrams, reset_stream_at
    ];
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

fn check_output(reader: &mut RecordReader, bytes: &[u8]) {
    let mut pos = 0;
    while pos < bytes.len() {
        let (used, found) = reader
            .next(&bytes[pos..])
            .expect("our output is valid records");
        let start = pos;
        pos += used;
        let payload = match found {
            Deframed::NeedMore => panic!("poll_transmit wrote a partial record"),
            Deframed::Input(r) => bytes[start + r.start..start + r.end].to_vec(),
            Deframed::Buffered => reader.take_buffer(),
        };
        for f in frame::Iter::new(&payload) {
            f.expect("our frames decode");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let side = if mode & 1 == 0 {
        Side::Server
    } else {
        Side::Client
    };
    let config = Config {
        initial_max_data: 4096,
        initial_max_stream_data_bidi_local: 1024,
        initial_max_stream_data_bidi_remote: 1024,
        initial_max_stream_data_uni: 1024,
        max_streams_bidi: 4,
        max_streams_uni: 4,
        max_datagram_frame_size: Some(1200),
        reset_stream_at: mode & 2 != 0,
        keep_alive_interval: Some(Duration::from_millis(100)),
        ..Config::default()
    };
    let mut now = Instant::now();
    let mut conn = Connection::new(side, config, now);
    let mut out_reader = RecordReader::new(16382);
    let mut out = vec![0u8; 40_000];
    conn.handle_input(now, &valid_start());
    // Our side uses the connection too, so peer frames meet live send state.
    if let Ok(id) = conn.open(Dir::Bi) {
        let _ = conn.send(id, vec![1; 3000].into(), Some(1));
    }
    if let Ok(id) = conn.open(Dir::Uni) {
        let _ = conn.send(id, vec![2; 100].into(), None);
        let _ = conn.finish(id);
    }
    let step = usize::from(mode >> 2) + 1;
    let mut read_buf = [0u8; 512];
    for piece in data.chunks(step) {
        conn.handle_input(now, piece);
        while let Some(e) = conn.poll_event() {
            if let Event::StreamReadable { id } | Event::StreamOpened { id } = e {
                let _ = conn.read(id, &mut read_buf);
            }
        }
        loop {
            let n = conn.poll_transmit(now, &mut out);
            if n == 0 {
                break;
            }
            check_output(&mut out_reader, &out[..n]);
        }
        now += Duration::from_millis(10);
        if conn.poll_timeout().is_some_and(|t| t <= now) {
            conn.handle_timeout(now);
        }
    }
    conn.handle_eof(now);
    while conn.poll_event().is_some() {}
});
