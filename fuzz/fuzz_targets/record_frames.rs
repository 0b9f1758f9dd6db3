//! The record deframer and frame decoder on arbitrary bytes, split at arbitrary points.
//! Every decoded frame must re-encode to something that decodes to the same frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msquic::proto::frame::{self, Frame};
use msquic::proto::record::{Deframed, RecordReader};

fn check_record(payload: &[u8]) {
    for f in frame::Iter::new(payload) {
        let Ok(f) = f else { return };
        let mut bytes = Vec::new();
        f.encode(&mut bytes);
        assert_eq!(bytes.len(), f.encoded_len());
        let again: Vec<Frame<'_>> = frame::Iter::new(&bytes).collect::<Result<_, _>>().unwrap();
        match f {
            // Consecutive PADDING merges, and a no-length frame swallows nothing else here.
            Frame::Padding(_) => {}
            _ => assert_eq!(again, vec![f]),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else {
        return;
    };
    let max = if split & 0x80 != 0 { 65535 } else { 16382 };
    let mut reader = RecordReader::new(max);
    let step = usize::from(split & 0x7f) + 1;
    for piece in data.chunks(step) {
        let mut pos = 0;
        while pos < piece.len() {
            let Ok((used, found)) = reader.next(&piece[pos..]) else {
                return;
            };
            let start = pos;
            pos += used;
            match found {
                Deframed::NeedMore => break,
                Deframed::Input(r) => check_record(&piece[start + r.start..start + r.end]),
                Deframed::Buffered => {
                    let buf = reader.take_buffer();
                    assert!(buf.len() as u64 <= max);
                    check_record(&buf);
                    reader.restore_buffer(buf);
                }
            }
        }
    }
});
