//! Floods of peer input that changes nothing: redundant frames raise no event and change no
//! state, and past the flood guard's allowance the connection closes with PROTOCOL_VIOLATION
//! naming the flood; normal traffic (keep-alive pings, many small STREAM frames, the odd
//! stale credit frame) never trips it.

use std::time::{Duration, Instant};

use super::negative::{client_start, server_config};
use super::util::{close_code, records};
use crate::proto::connection::{CloseCause, Connection, Event, NOISE_BURST, NOISE_RATE, Noise};
use crate::proto::error::TransportErrorCode as Code;
use crate::proto::frame::{Frame, StreamFrame};
use crate::proto::record;
use crate::proto::stream_id::{Dir, Side, StreamId};

/// A server that has processed the client's transport parameters, with a clock.
struct Server {
    conn: Connection,
    now: Instant,
    events: Vec<Event>,
}

impl Server {
    fn new() -> Self {
        let now = Instant::now();
        let mut conn = Connection::new(Side::Server, server_config(), now);
        conn.handle_input(now, &client_start());
        let mut s = Self {
            conn,
            now,
            events: Vec::new(),
        };
        s.take_events();
        s.events.clear();
        s
    }

    /// Feeds each frame in a record of its own, all in one input.
    fn feed(&mut self, frames: &[Frame<'_>]) {
        self.conn.handle_input(self.now, &encode_records(frames));
    }

    /// Feeds `n` copies of `frame`, each in its own record, in inputs of 1000 records.
    fn feed_n(&mut self, frame: Frame<'_>, n: usize) {
        let mut left = n;
        while left > 0 && !self.conn.is_closed() {
            let k = left.min(1000);
            self.feed(&vec![frame.clone(); k]);
            left -= k;
        }
    }

    fn take_events(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        while let Some(e) = self.conn.poll_event() {
            out.push(e);
        }
        self.events.extend(out.iter().cloned());
        out
    }

    /// The reason the connection closed with, checking the code on the event and the wire.
    fn closed(&mut self) -> Option<&'static str> {
        self.take_events();
        let reason = self.events.iter().find_map(|e| match e {
            Event::Closed(CloseCause::LocalError(err)) => {
                assert_eq!(err.code, Code::PROTOCOL_VIOLATION, "{err}");
                Some(err.reason)
            }
            Event::Closed(other) => panic!("closed otherwise: {other:?}"),
            _ => None,
        })?;
        let mut out = vec![0u8; 65536];
        let mut wire = Vec::new();
        loop {
            let n = self.conn.poll_transmit(self.now, &mut out);
            if n == 0 {
                break;
            }
            wire.extend_from_slice(&out[..n]);
        }
        assert_eq!(close_code(&wire), Some(Code::PROTOCOL_VIOLATION));
        let close = records(&wire).concat();
        assert!(
            close.windows(reason.len()).any(|w| w == reason.as_bytes()),
            "the reason phrase is on the wire"
        );
        Some(reason)
    }
}

/// Each frame in a record of its own.
fn encode_records(frames: &[Frame<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        let mut body = Vec::new();
        f.encode(&mut body);
        record::encode(&body, &mut out);
    }
    out
}

const FLOOD: usize = NOISE_BURST as usize * 3;

fn bidi(index: u64) -> StreamId {
    StreamId::new(Side::Client, Dir::Bi, index)
}

#[test]
fn streams_blocked_flood_raises_one_event_and_closes() {
    let mut s = Server::new();
    // Our bidi limit is 2: the first report at it is news.
    s.feed(&[Frame::StreamsBlocked {
        dir: Dir::Bi,
        limit: 2,
    }]);
    assert_eq!(
        s.take_events(),
        [Event::PeerStreamsBlocked { dir: Dir::Bi }]
    );
    // Repeats, stale reports and the other direction's repeats raise nothing more.
    s.feed(&[
        Frame::StreamsBlocked {
            dir: Dir::Bi,
            limit: 2,
        },
        Frame::StreamsBlocked {
            dir: Dir::Bi,
            limit: 1,
        },
        Frame::StreamsBlocked {
            dir: Dir::Uni,
            limit: 2,
        },
        Frame::StreamsBlocked {
            dir: Dir::Uni,
            limit: 2,
        },
    ]);
    assert_eq!(
        s.take_events(),
        [Event::PeerStreamsBlocked { dir: Dir::Uni }]
    );
    s.feed_n(
        Frame::StreamsBlocked {
            dir: Dir::Bi,
            limit: 2,
        },
        FLOOD,
    );
    assert!(
        !s.events[2..]
            .iter()
            .any(|e| matches!(e, Event::PeerStreamsBlocked { .. })),
        "no more PeerStreamsBlocked"
    );
    assert_eq!(s.closed(), Some(Noise::RedundantBlocked.reason()));
}

#[test]
fn peer_streams_blocked_is_raised_again_once_our_limit_rose() {
    let mut s = Server::new();
    let blocked = |limit| Frame::StreamsBlocked {
        dir: Dir::Bi,
        limit,
    };
    s.feed(&[blocked(2), blocked(2)]);
    assert_eq!(
        s.take_events(),
        [Event::PeerStreamsBlocked { dir: Dir::Bi }]
    );
    // The peer opens and finishes its two streams: the limit rises to 4.
    for i in 0..2 {
        s.feed(&[Frame::Stream(StreamFrame {
            id: bidi(i),
            offset: 0,
            fin: true,
            has_len: true,
            data: b"x",
        })]);
        s.conn.read(bidi(i), &mut [0u8; 8]).unwrap();
        s.conn.finish(bidi(i)).unwrap();
        let mut out = vec![0u8; 4096];
        while s.conn.poll_transmit(s.now, &mut out) > 0 {}
    }
    assert_eq!(s.conn.max_streams(Dir::Bi).1, 4);
    s.take_events();
    s.feed(&[blocked(2), blocked(4), blocked(4)]);
    assert_eq!(
        s.take_events(),
        [Event::PeerStreamsBlocked { dir: Dir::Bi }],
        "once for the new limit, never for the old one"
    );
    assert_eq!(s.closed(), None);
}

#[test]
fn streams_available_of_the_parameters_is_not_merged_with_a_raise_behind_it() {
    let now = Instant::now();
    let mut conn = Connection::new(Side::Server, server_config(), now);
    let mut input = client_start();
    input.extend(encode_records(&[
        Frame::MaxStreams {
            dir: Dir::Bi,
            count: 20,
        },
        Frame::MaxStreams {
            dir: Dir::Bi,
            count: 30,
        },
    ]));
    conn.handle_input(now, &input);
    let mut events = Vec::new();
    while let Some(e) = conn.poll_event() {
        events.push(e);
    }
    assert_eq!(
        events,
        [
            Event::Connected,
            Event::StreamsAvailable { bidi: 30, uni: 10 },
            Event::StreamsAvailable { bidi: 30, uni: 10 },
        ]
    );
}

#[test]
fn redundant_credit_frames_change_nothing_and_a_flood_closes() {
    let mut s = Server::new();
    // MAX_STREAMS raising: one StreamsAvailable carrying the latest counts.
    s.feed(&[
        Frame::MaxStreams {
            dir: Dir::Bi,
            count: 20,
        },
        Frame::MaxStreams {
            dir: Dir::Bi,
            count: 30,
        },
        Frame::MaxStreams {
            dir: Dir::Uni,
            count: 40,
        },
    ]);
    assert_eq!(
        s.take_events(),
        [Event::StreamsAvailable { bidi: 30, uni: 40 }]
    );
    // Not raising: no event at all.
    s.feed(&[
        Frame::MaxStreams {
            dir: Dir::Bi,
            count: 30,
        },
        Frame::MaxStreams {
            dir: Dir::Uni,
            count: 5,
        },
        Frame::MaxData(1),
        Frame::MaxStreamData {
            id: bidi(0),
            max: 1,
        },
    ]);
    assert_eq!(s.take_events(), [Event::StreamOpened { id: bidi(0) }]);
    assert_eq!(s.closed(), None);
    for frame in [
        Frame::MaxData(1 << 20),
        Frame::MaxStreamData {
            id: bidi(0),
            max: 1 << 16,
        },
        Frame::MaxStreams {
            dir: Dir::Uni,
            count: 40,
        },
    ] {
        let mut s = Server::new();
        s.feed(&[Frame::Stream(StreamFrame {
            id: bidi(0),
            offset: 0,
            fin: false,
            has_len: true,
            data: b"x",
        })]);
        s.feed(&[Frame::MaxStreams {
            dir: Dir::Uni,
            count: 40,
        }]);
        s.feed_n(frame, FLOOD);
        assert_eq!(s.closed(), Some(Noise::RedundantCredit.reason()));
        assert!(
            s.events
                .iter()
                .filter(|e| matches!(e, Event::StreamsAvailable { .. }))
                .count()
                <= 1
        );
    }
}

#[test]
fn repeated_data_blocked_frames_close() {
    let mut s = Server::new();
    // Our connection limit is 1500: the first report is news, repeats and stale ones not.
    s.feed(&[Frame::DataBlocked(1500)]);
    s.feed_n(Frame::DataBlocked(1500), FLOOD);
    assert_eq!(s.closed(), Some(Noise::RedundantBlocked.reason()));

    let mut s = Server::new();
    s.feed(&[Frame::StreamDataBlocked {
        id: bidi(0),
        limit: 1000,
    }]);
    s.feed_n(
        Frame::StreamDataBlocked {
            id: bidi(0),
            limit: 1000,
        },
        FLOOD,
    );
    assert_eq!(s.closed(), Some(Noise::RedundantBlocked.reason()));
}

#[test]
fn padding_only_and_empty_records_close() {
    let mut s = Server::new();
    s.feed_n(Frame::Padding(1), FLOOD);
    assert_eq!(s.closed(), Some(Noise::EmptyRecord.reason()));
    // (A record of size 0 is a FRAME_ENCODING_ERROR at once.)
}

#[test]
fn empty_stream_frames_on_an_open_stream_close() {
    let mut s = Server::new();
    let empty = Frame::Stream(StreamFrame {
        id: bidi(0),
        offset: 0,
        fin: false,
        has_len: true,
        data: b"",
    });
    // The first opens the stream: that is not noise.
    s.feed(std::slice::from_ref(&empty));
    assert_eq!(s.take_events(), [Event::StreamOpened { id: bidi(0) }]);
    s.feed_n(empty, FLOOD);
    assert_eq!(s.closed(), Some(Noise::EmptyStreamFrame.reason()));
}

#[test]
fn ping_request_storm_closes() {
    let mut s = Server::new();
    let mut input = Vec::new();
    for seq in 0..FLOOD as u64 {
        let mut body = Vec::new();
        Frame::PingRequest(seq).encode(&mut body);
        record::encode(&body, &mut input);
    }
    s.conn.handle_input(s.now, &input);
    assert_eq!(s.closed(), Some(Noise::PingRequest.reason()));
}

#[test]
fn noise_reported_from_outside_closes_with_its_reason() {
    for noise in [Noise::KeyUpdate, Noise::EmptyTlsRecord] {
        let mut s = Server::new();
        s.conn.note_peer_noise(s.now, noise, NOISE_BURST as usize);
        assert_eq!(s.closed(), None, "the burst is allowed");
        s.now += Duration::from_secs(1);
        s.conn.note_peer_noise(s.now, noise, NOISE_RATE as usize);
        assert_eq!(s.closed(), None, "and the rate after it");
        s.conn.note_peer_noise(s.now, noise, 1);
        assert_eq!(s.closed(), Some(noise.reason()));
    }
}

#[test]
fn keep_alive_pings_and_small_stream_frames_never_trip_it() {
    let mut s = Server::new();
    // A ping every millisecond for a minute (far more often than any keep-alive), with a
    // stale MAX_DATA and a repeated BLOCKED frame every 10 ms on top.
    for i in 0..60_000u64 {
        s.now += Duration::from_millis(1);
        let mut frames = vec![Frame::PingRequest(i)];
        if i % 10 == 0 {
            frames.push(Frame::MaxData(1));
            frames.push(Frame::DataBlocked(1500));
        }
        s.feed(&frames);
    }
    assert_eq!(s.closed(), None);
    // Many small STREAM frames carrying data, as fast as they come, on many streams: the
    // application reads as they arrive.
    let mut s = Server::new();
    let mut offsets = [0u64; 2];
    let mut buf = [0u8; 64];
    for round in 0..200_000u64 {
        let i = round % 2;
        s.feed(&[Frame::Stream(StreamFrame {
            id: bidi(i),
            offset: offsets[i as usize],
            fin: false,
            has_len: true,
            data: b"ab",
        })]);
        offsets[i as usize] += 2;
        s.conn.read(bidi(i), &mut buf).unwrap();
        s.conn.rearm_readable(bidi(i)).unwrap();
        if round % 100 == 0 {
            let mut out = vec![0u8; 4096];
            while s.conn.poll_transmit(s.now, &mut out) > 0 {}
            s.take_events();
        }
    }
    assert_eq!(s.closed(), None);
    // A burst of PADDING-only records well under the allowance, then quiet.
    let mut s = Server::new();
    s.feed_n(Frame::Padding(1), NOISE_BURST as usize / 2);
    s.now += Duration::from_secs(10);
    s.feed_n(Frame::Padding(1), NOISE_BURST as usize / 2);
    assert_eq!(s.closed(), None);
}

#[test]
fn a_record_budget_holds_input_and_its_end_until_resumed() {
    let mut s = Server::new();
    let mut input = Vec::new();
    for i in 0..10u64 {
        let mut body = Vec::new();
        Frame::Stream(StreamFrame {
            id: bidi(0),
            offset: i,
            fin: i == 9,
            has_len: true,
            data: &[b'a' + i as u8],
        })
        .encode(&mut body);
        record::encode(&body, &mut input);
    }
    s.conn.set_record_budget(Some(3));
    // Split in two inputs, the second arriving while the first is held, then the end.
    let (a, b) = input.split_at(input.len() / 2 + 1);
    s.conn
        .handle_input_shared(s.now, crate::proto::SharedBytes::from_vec(a.to_vec()));
    s.conn.handle_input(s.now, b);
    s.conn.handle_eof(s.now);
    assert!(s.conn.has_held_input());
    assert!(!s.conn.peer_ended(), "the end waits behind the held input");
    let mut got = Vec::new();
    let mut buf = [0u8; 16];
    let mut turns = 0;
    loop {
        let (n, fin) = s.conn.read(bidi(0), &mut buf).unwrap_or((0, false));
        got.extend_from_slice(&buf[..n]);
        if !s.conn.has_held_input() {
            break;
        }
        assert_eq!(got.len(), 3 * (turns + 1), "three records a turn");
        assert!(!fin);
        turns += 1;
        s.conn.set_record_budget(Some(3));
        s.conn.resume_input(s.now);
    }
    assert_eq!(turns, 3);
    assert_eq!(got, b"abcdefghij");
    assert!(s.conn.peer_ended());
    assert_eq!(
        s.conn.stats().bytes_received as usize,
        client_start().len() + input.len()
    );
}

#[test]
fn repeated_resets_and_stop_sending_raise_nothing_and_a_flood_closes() {
    let mut s = Server::new();
    let reset = Frame::ResetStream(crate::proto::frame::ResetStream {
        id: bidi(0),
        error_code: 7,
        final_size: 0,
    });
    let stop = Frame::StopSending {
        id: bidi(0),
        error_code: 8,
    };
    s.feed(&[reset.clone(), stop.clone()]);
    let first = s.take_events();
    assert!(first.contains(&Event::StreamReset {
        id: bidi(0),
        error_code: 7
    }));
    assert!(first.contains(&Event::StopSending {
        id: bidi(0),
        error_code: 8
    }));
    s.feed(&[reset.clone(), stop.clone(), reset.clone(), stop.clone()]);
    assert_eq!(s.take_events(), [], "repeats raise nothing");
    s.feed_n(reset, FLOOD / 2);
    s.feed_n(stop, FLOOD / 2);
    assert_eq!(s.closed(), Some(Noise::Repeated.reason()));
}

#[test]
fn input_after_a_close_is_not_held() {
    let mut s = Server::new();
    s.conn.set_record_budget(Some(1));
    let padding = encode_records(&[Frame::Padding(1), Frame::Padding(1), Frame::Padding(1)]);
    s.conn.handle_input(s.now, &padding);
    assert!(s.conn.has_held_input());
    s.conn.close(s.now, 0, b"");
    assert!(!s.conn.has_held_input());
    for _ in 0..1000 {
        s.conn.handle_input(s.now, &padding);
    }
    assert!(!s.conn.has_held_input());
    assert_eq!(s.conn.held_pieces(), 0, "nothing piles up");
}
