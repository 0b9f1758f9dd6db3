//! Sequences of API operations on a real loopback connection, driven through the C function
//! table as an application would: the input decodes into operations on either side (open,
//! start, send, shutdown, abort and close streams with any flags; complete pending receives;
//! pause and resume receiving; send datagrams; get and set parameters; shut the connection
//! down), while callbacks on the library's workers consume, pend or partly accept what arrives.
//!
//! Checks: no panic (the library's panic boundary is an abort under libFuzzer), no hang (every
//! wait has a deadline), received stream data is the bytes sent at the offsets reported, no
//! stream event after that stream's SHUTDOWN_COMPLETE, no connection event after the
//! connection's SHUTDOWN_COMPLETE, and once both connections are closed every accepted send
//! and datagram has completed exactly once.
#![no_main]

use core::ffi::{c_char, c_void};
use core::ptr::{null, null_mut};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use msquic::api::abi::*;
use msquic::api::entry::MsQuicOpenVersion;

const ALPN: &[u8] = b"fuzz";
const DEADLINE: Duration = Duration::from_secs(20);

/// The setup shared by every run: table, registration, configurations, listener.
struct Env {
    api: &'static QUIC_API_TABLE,
    reg: usize,
    client_cfg: usize,
    server_cfg: usize,
    port: u16,
}

#[derive(Default)]
struct StreamRec {
    handle: usize,
    side: usize,
    /// Bytes the application accepted (stream offset of the next byte to come).
    consumed: u64,
    /// A RECEIVE answered with PENDING, not completed yet: its length.
    pending: Option<u64>,
    /// 0 consume all, 1 pend, 2 accept half.
    mode: u8,
    shutdown_complete: bool,
    closed: bool,
    /// Bytes given to successful StreamSend calls (the next send's offset).
    send_offset: u64,
}

struct SendRec {
    _bufs: Box<[QUIC_BUFFER]>,
    _data: Vec<Box<[u8]>>,
    completions: u32,
    stream: usize,
}

// SAFETY: the buffers are only read by the library while the send is outstanding.
unsafe impl Send for SendRec {}

#[derive(Default)]
struct State {
    conns: [usize; 2],
    connected: [bool; 2],
    shutdown_complete: [bool; 2],
    streams: Vec<StreamRec>,
    sends: HashMap<u64, SendRec>,
    /// Datagram sends: buffers and the final states reported.
    datagrams: HashMap<u64, (Box<[QUIC_BUFFER]>, Box<[u8]>, u32)>,
    next_send: u64,
    /// A failure seen in a callback, reported by the fuzzing thread.
    failure: Option<String>,
}

// SAFETY: the raw pointers in the datagram records are only buffers owned by the record.
unsafe impl Send for State {}

static STATE: Mutex<Option<State>> = Mutex::new(None);
static CHANGED: Condvar = Condvar::new();

fn state() -> MutexGuard<'static, Option<State>> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

fn fail(st: &mut State, why: String) {
    st.failure.get_or_insert(why);
}

/// Waits until `done` holds for the state, or panics after the deadline.
fn wait_for(what: &str, mut done: impl FnMut(&State) -> bool) {
    let deadline = Instant::now() + DEADLINE;
    let mut guard = state();
    loop {
        let st = guard.as_ref().expect("state");
        if let Some(f) = &st.failure {
            panic!("{f}");
        }
        if done(st) {
            return;
        }
        let now = Instant::now();
        assert!(now < deadline, "hang: {what}");
        guard = CHANGED
            .wait_timeout(guard, deadline - now)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

fn pattern(offset: u64) -> u8 {
    (offset ^ (offset >> 8) ^ (offset >> 16)) as u8
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut raw: *const c_void = null();
        // SAFETY: `raw` is writable storage for one pointer.
        assert_eq!(
            unsafe { MsQuicOpenVersion(2, &mut raw) },
            QUIC_STATUS_SUCCESS
        );
        // SAFETY: a successful open returns a table that lives until MsQuicClose (never here).
        let api: &'static QUIC_API_TABLE = unsafe { &*(raw as *const QUIC_API_TABLE) };
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let dir = std::env::temp_dir().join(format!("msquic-fuzz-api-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let c = std::ffi::CString::new(dir.join("c.pem").to_str().unwrap()).unwrap();
        let k = std::ffi::CString::new(dir.join("k.pem").to_str().unwrap()).unwrap();
        std::fs::write(dir.join("c.pem"), cert.cert.pem()).unwrap();
        std::fs::write(dir.join("k.pem"), cert.signing_key.serialize_pem()).unwrap();
        let alpn = QUIC_BUFFER {
            Length: ALPN.len() as u32,
            Buffer: ALPN.as_ptr() as *mut u8,
        };
        let mut settings = QUIC_SETTINGS::default();
        settings.IsSetFlags = QUIC_SETTINGS::IS_SET_PEER_BIDI_STREAM_COUNT
            | QUIC_SETTINGS::IS_SET_PEER_UNIDI_STREAM_COUNT
            | QUIC_SETTINGS::IS_SET_DATAGRAM_RECEIVE_ENABLED
            | QUIC_SETTINGS::IS_SET_IDLE_TIMEOUT_MS;
        settings.PeerBidiStreamCount = 6;
        settings.PeerUnidiStreamCount = 6;
        settings.IdleTimeoutMs = 30_000;
        settings.set_datagram_receive_enabled(true);
        // SAFETY: every pointer passed is valid for the call; the handles are kept forever.
        unsafe {
            let mut reg: HQUIC = null_mut();
            assert_eq!(api.RegistrationOpen.unwrap()(null(), &mut reg), 0);
            let mut cfgs = [null_mut(); 2];
            for (i, cfg) in cfgs.iter_mut().enumerate() {
                let status = api.ConfigurationOpen.unwrap()(
                    reg,
                    &alpn,
                    1,
                    &settings,
                    size_of::<QUIC_SETTINGS>() as u32,
                    null_mut(),
                    cfg,
                );
                assert_eq!(status, 0);
                let mut files = QUIC_CERTIFICATE_FILE {
                    PrivateKeyFile: k.as_ptr(),
                    CertificateFile: c.as_ptr(),
                };
                let mut cred: QUIC_CREDENTIAL_CONFIG = core::mem::zeroed();
                if i == 0 {
                    cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
                    cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT
                        | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
                } else {
                    cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
                    cred.Certificate.CertificateFile = &mut files;
                }
                assert_eq!(api.ConfigurationLoadCredential.unwrap()(*cfg, &cred), 0);
            }
            let mut listener: HQUIC = null_mut();
            let status =
                api.ListenerOpen.unwrap()(reg, Some(listener_cb), null_mut(), &mut listener);
            assert_eq!(status, 0);
            let mut addr = QUIC_ADDR::zeroed();
            addr.Ipv4.sin_family = QUIC_ADDRESS_FAMILY_INET;
            addr.Ipv4.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
            assert_eq!(api.ListenerStart.unwrap()(listener, &alpn, 1, &addr), 0);
            let mut local = QUIC_ADDR::zeroed();
            let mut len = size_of::<QUIC_ADDR>() as u32;
            let status = api.GetParam.unwrap()(
                listener,
                QUIC_PARAM_LISTENER_LOCAL_ADDRESS,
                &mut len,
                (&mut local as *mut QUIC_ADDR).cast(),
            );
            assert_eq!(status, 0);
            let _ = std::fs::remove_dir_all(&dir);
            Env {
                api,
                reg: reg as usize,
                client_cfg: cfgs[0] as usize,
                server_cfg: cfgs[1] as usize,
                port: local.port(),
            }
        }
    })
}

unsafe extern "C" fn listener_cb(
    _listener: HQUIC,
    _ctx: *mut c_void,
    ev: *mut QUIC_LISTENER_EVENT,
) -> QUIC_STATUS {
    // SAFETY: the library passes a valid event for the call.
    let ev = unsafe { &*ev };
    if ev.Type != QUIC_LISTENER_EVENT_NEW_CONNECTION {
        return QUIC_STATUS_SUCCESS;
    }
    let env = env();
    // SAFETY: NEW_CONNECTION's payload is valid for this event type.
    let conn = unsafe { ev.payload.NEW_CONNECTION.Connection };
    if let Some(st) = state().as_mut() {
        st.conns[1] = conn as usize;
    }
    // SAFETY: `conn` is the new connection, valid in this callback.
    unsafe {
        env.api.SetCallbackHandler.unwrap()(conn, conn_cb as *mut c_void, 1 as *mut c_void);
        env.api.ConnectionSetConfiguration.unwrap()(conn, env.server_cfg as HQUIC)
    }
}

unsafe extern "C" fn conn_cb(
    conn: HQUIC,
    ctx: *mut c_void,
    ev: *mut QUIC_CONNECTION_EVENT,
) -> QUIC_STATUS {
    let side = ctx as usize;
    // SAFETY: the library passes a valid event for the call.
    let ev = unsafe { &*ev };
    let mut guard = state();
    let Some(st) = guard.as_mut() else {
        return QUIC_STATUS_SUCCESS;
    };
    if st.shutdown_complete[side] {
        fail(
            st,
            format!("side {side}: event {:?} after SHUTDOWN_COMPLETE", ev.Type),
        );
    }
    match ev.Type {
        QUIC_CONNECTION_EVENT_CONNECTED => st.connected[side] = true,
        QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE => st.shutdown_complete[side] = true,
        QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED => {
            // SAFETY: the payload matches the event type.
            let stream = unsafe { ev.payload.PEER_STREAM_STARTED.Stream };
            let index = st.streams.len();
            st.streams.push(StreamRec {
                handle: stream as usize,
                side,
                mode: (index % 3) as u8,
                ..StreamRec::default()
            });
            drop(guard);
            // SAFETY: the new stream is valid in this callback.
            unsafe {
                env().api.SetCallbackHandler.unwrap()(
                    stream,
                    stream_cb as *mut c_void,
                    index as *mut c_void,
                );
            }
            CHANGED.notify_all();
            return QUIC_STATUS_SUCCESS;
        }
        QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED => {
            // SAFETY: the payload matches the event type.
            let p = unsafe { ev.payload.DATAGRAM_SEND_STATE_CHANGED };
            let id = p.ClientContext as u64;
            match st.datagrams.get_mut(&id) {
                None => fail(st, format!("datagram state for unknown send {id}")),
                Some(d) if d.2 > 0 => fail(st, format!("datagram {id}: state after final")),
                Some(d) => {
                    if p.State.0 >= QUIC_DATAGRAM_SEND_LOST_DISCARDED.0 {
                        d.2 += 1;
                    }
                }
            }
        }
        _ => {}
    }
    let _ = conn;
    drop(guard);
    CHANGED.notify_all();
    QUIC_STATUS_SUCCESS
}

unsafe extern "C" fn stream_cb(
    _stream: HQUIC,
    ctx: *mut c_void,
    ev: *mut QUIC_STREAM_EVENT,
) -> QUIC_STATUS {
    let index = ctx as usize;
    // SAFETY: the library passes a valid event for the call.
    let ev = unsafe { &mut *ev };
    let mut guard = state();
    let Some(st) = guard.as_mut() else {
        return QUIC_STATUS_SUCCESS;
    };
    let mut status = QUIC_STATUS_SUCCESS;
    let Some(rec) = st.streams.get_mut(index) else {
        fail(st, format!("event for unknown stream {index}"));
        return status;
    };
    if rec.shutdown_complete || rec.closed {
        let why = format!(
            "stream {index}: event {:?} after SHUTDOWN_COMPLETE/close",
            ev.Type
        );
        fail(st, why);
        return status;
    }
    match ev.Type {
        QUIC_STREAM_EVENT_RECEIVE => {
            // SAFETY: the payload matches the event type.
            let r = unsafe { &mut ev.payload.RECEIVE };
            let mut why = None;
            if rec.pending.is_some() {
                why = Some(format!("stream {index}: RECEIVE while one is pending"));
            }
            if r.AbsoluteOffset != rec.consumed {
                why = Some(format!(
                    "stream {index}: RECEIVE at {} but {} consumed",
                    r.AbsoluteOffset, rec.consumed
                ));
            }
            let mut at = r.AbsoluteOffset;
            let mut total = 0u64;
            for i in 0..r.BufferCount as usize {
                // SAFETY: `Buffers` holds `BufferCount` valid buffers during the event.
                let b = unsafe { &*r.Buffers.add(i) };
                // SAFETY: each buffer's bytes are readable during the event.
                let bytes = unsafe { std::slice::from_raw_parts(b.Buffer, b.Length as usize) };
                if let Some(bad) = bytes.iter().position(|&x| {
                    let ok = x == pattern(at);
                    at += 1;
                    !ok
                }) {
                    why = Some(format!("stream {index}: wrong byte {bad} of buffer {i}"));
                    break;
                }
                total += u64::from(b.Length);
            }
            if total != r.TotalBufferLength {
                why = Some(format!(
                    "stream {index}: TotalBufferLength {}",
                    r.TotalBufferLength
                ));
            }
            match rec.mode {
                1 if total > 0 => {
                    rec.pending = Some(total);
                    status = QUIC_STATUS_PENDING;
                }
                2 if total > 1 => {
                    r.TotalBufferLength = total / 2;
                    rec.consumed += total / 2;
                }
                _ => rec.consumed += total,
            }
            if let Some(why) = why {
                fail(st, why);
            }
        }
        QUIC_STREAM_EVENT_SEND_COMPLETE => {
            // SAFETY: the payload matches the event type.
            let id = unsafe { ev.payload.SEND_COMPLETE.ClientContext } as u64;
            match st.sends.get_mut(&id) {
                Some(s) if s.stream == index => s.completions += 1,
                _ => fail(
                    st,
                    format!("stream {index}: SEND_COMPLETE for unknown send {id}"),
                ),
            }
        }
        QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE => rec.shutdown_complete = true,
        _ => {}
    }
    drop(guard);
    CHANGED.notify_all();
    status
}

/// A cursor over the fuzz input; reads past the end give zeros.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
}

/// The `pick`-th stream of `side`, if it has one (closed streams are skipped).
fn stream_of(side: usize, pick: u8) -> Option<(usize, usize)> {
    let guard = state();
    let st = guard.as_ref()?;
    let mine: Vec<usize> = (0..st.streams.len())
        .filter(|&i| st.streams[i].side == side && !st.streams[i].closed)
        .collect();
    let i = *mine.get(usize::from(pick) % mine.len().max(1))?;
    Some((i, st.streams[i].handle))
}

/// Sends `lens` buffers of pattern bytes on stream `index` (or as datagrams on `conn`).
fn send(api: &QUIC_API_TABLE, target: Result<(usize, usize), usize>, lens: &[usize], flags: u32) {
    let mut guard = state();
    let st = guard.as_mut().expect("state");
    st.next_send += 1;
    let id = st.next_send;
    let offset = match target {
        Ok((index, _)) => st.streams[index].send_offset,
        Err(_) => 0,
    };
    let mut data = Vec::new();
    let mut at = offset;
    for &len in lens {
        let bytes: Box<[u8]> = (0..len as u64).map(|i| pattern(at + i)).collect();
        at += len as u64;
        data.push(bytes);
    }
    let bufs: Box<[QUIC_BUFFER]> = data
        .iter()
        .map(|d| QUIC_BUFFER {
            Length: d.len() as u32,
            Buffer: d.as_ptr() as *mut u8,
        })
        .collect();
    let bufs_ptr = if bufs.is_empty() {
        null()
    } else {
        bufs.as_ptr()
    };
    let count = bufs.len() as u32;
    match target {
        Ok((index, _)) => {
            st.sends.insert(
                id,
                SendRec {
                    _bufs: bufs,
                    _data: data,
                    completions: 0,
                    stream: index,
                },
            );
        }
        Err(_) => {
            let flat: Box<[u8]> = data.concat().into();
            let one: Box<[QUIC_BUFFER]> = Box::new([QUIC_BUFFER {
                Length: flat.len() as u32,
                Buffer: flat.as_ptr() as *mut u8,
            }]);
            st.datagrams.insert(id, (one, flat, 0));
        }
    }
    let dgram = match target {
        Err(_) => Some(st.datagrams[&id].0.as_ptr()),
        Ok(_) => None,
    };
    drop(guard);
    // SAFETY: the buffers live in the state until the send completes (or the run ends).
    let status = unsafe {
        match target {
            Ok((_, handle)) => api.StreamSend.unwrap()(
                handle as HQUIC,
                bufs_ptr,
                count,
                QUIC_SEND_FLAGS(flags),
                id as *mut c_void,
            ),
            Err(conn) => api.DatagramSend.unwrap()(
                conn as HQUIC,
                dgram.unwrap(),
                1,
                QUIC_SEND_FLAGS(flags),
                id as *mut c_void,
            ),
        }
    };
    let mut guard = state();
    let st = guard.as_mut().expect("state");
    if QUIC_FAILED(status) {
        // Not accepted: no completion may come.
        match target {
            Ok(_) => {
                if st.sends.get(&id).is_some_and(|s| s.completions > 0) {
                    fail(st, format!("failed send {id} completed"));
                }
                st.sends.remove(&id);
            }
            Err(_) => {
                st.datagrams.remove(&id);
            }
        }
    } else if let Ok((index, _)) = target {
        st.streams[index].send_offset = at;
    }
}

fn run_op(api: &QUIC_API_TABLE, input: &mut Input<'_>) {
    let code = input.u8();
    let side = usize::from(code >> 7);
    let conn = state().as_ref().expect("state").conns[side];
    // SAFETY (all calls below): the handles come from the state and are not closed yet;
    // every pointer passed is valid for the call.
    match code % 12 {
        0 => {
            let flags = u32::from(input.u8()) & 0x5;
            let index = {
                let mut guard = state();
                let st = guard.as_mut().expect("state");
                st.streams.push(StreamRec {
                    side,
                    mode: input.u8() % 3,
                    ..StreamRec::default()
                });
                st.streams.len() - 1
            };
            let mut stream: HQUIC = null_mut();
            let status = unsafe {
                api.StreamOpen.unwrap()(
                    conn as HQUIC,
                    QUIC_STREAM_OPEN_FLAGS(flags),
                    Some(stream_cb),
                    index as *mut c_void,
                    &mut stream,
                )
            };
            let mut guard = state();
            let rec = &mut guard.as_mut().expect("state").streams[index];
            if QUIC_FAILED(status) {
                rec.closed = true;
            } else {
                rec.handle = stream as usize;
            }
        }
        1 => {
            let flags = u32::from(input.u8()) & 0x1f;
            if let Some((_, h)) = stream_of(side, input.u8()) {
                unsafe { api.StreamStart.unwrap()(h as HQUIC, QUIC_STREAM_START_FLAGS(flags)) };
            }
        }
        2 => {
            let pick = input.u8();
            let flags = u32::from(input.u8()) & 0x37;
            let n = usize::from(input.u8() % 4);
            let lens: Vec<usize> = (0..n).map(|_| usize::from(input.u16()) % 70_000).collect();
            if let Some(target) = stream_of(side, pick) {
                send(api, Ok(target), &lens, flags);
            }
        }
        3 => {
            let pick = input.u8();
            let flags = u32::from(input.u8()) & 0x1f;
            let code = u64::from(input.u8());
            if let Some((_, h)) = stream_of(side, pick) {
                unsafe {
                    api.StreamShutdown.unwrap()(h as HQUIC, QUIC_STREAM_SHUTDOWN_FLAGS(flags), code)
                };
            }
        }
        4 => {
            let pick = input.u8();
            let part = input.u8();
            let Some((index, h)) = stream_of(side, pick) else {
                return;
            };
            let amount = {
                let mut guard = state();
                let rec = &mut guard.as_mut().expect("state").streams[index];
                let Some(pending) = rec.pending.take() else {
                    return;
                };
                let amount = pending * u64::from(part) / 255;
                rec.consumed += amount;
                amount
            };
            unsafe { api.StreamReceiveComplete.unwrap()(h as HQUIC, amount) };
        }
        5 => {
            let pick = input.u8();
            let on = input.u8() & 1;
            if let Some((_, h)) = stream_of(side, pick) {
                unsafe { api.StreamReceiveSetEnabled.unwrap()(h as HQUIC, on) };
            }
        }
        6 => {
            let pick = input.u8();
            let mode = input.u8() % 3;
            if let Some((index, _)) = stream_of(side, pick) {
                state().as_mut().expect("state").streams[index].mode = mode;
            }
        }
        7 => {
            let len = usize::from(input.u16()) % 2000;
            let flags = u32::from(input.u8()) & 0x9;
            send(api, Err(conn), &[len], flags);
        }
        8 => {
            let flags = u32::from(input.u8()) & 1;
            let code = u64::from(input.u8());
            unsafe {
                api.ConnectionShutdown.unwrap()(
                    conn as HQUIC,
                    QUIC_CONNECTION_SHUTDOWN_FLAGS(flags),
                    code,
                )
            };
        }
        9 => {
            let pick = input.u8();
            let what = input.u8();
            let mut buf = [0u8; 512];
            let mut len = buf.len() as u32;
            let stream = stream_of(side, pick);
            unsafe {
                match (what % 6, stream) {
                    (0, Some((_, h))) => {
                        let prio = u16::from(what);
                        api.SetParam.unwrap()(
                            h as HQUIC,
                            QUIC_PARAM_STREAM_PRIORITY,
                            2,
                            (&prio as *const u16).cast(),
                        );
                    }
                    (1, Some((_, h))) => {
                        api.GetParam.unwrap()(
                            h as HQUIC,
                            QUIC_PARAM_STREAM_ID,
                            &mut len,
                            buf.as_mut_ptr().cast(),
                        );
                    }
                    (2, _) => {
                        api.GetParam.unwrap()(
                            conn as HQUIC,
                            QUIC_PARAM_CONN_STATISTICS_V2,
                            &mut len,
                            buf.as_mut_ptr().cast(),
                        );
                    }
                    (3, _) => {
                        let on = what & 0x10 != 0;
                        api.SetParam.unwrap()(
                            conn as HQUIC,
                            QUIC_PARAM_CONN_DATAGRAM_RECEIVE_ENABLED,
                            1,
                            (&on as *const bool).cast(),
                        );
                    }
                    (4, _) => {
                        api.GetParam.unwrap()(
                            conn as HQUIC,
                            QUIC_PARAM_CONN_SETTINGS,
                            &mut len,
                            buf.as_mut_ptr().cast(),
                        );
                    }
                    (_, _) => {
                        api.GetParam.unwrap()(
                            conn as HQUIC,
                            QUIC_PARAM_CONN_LOCAL_BIDI_STREAM_COUNT,
                            &mut len,
                            buf.as_mut_ptr().cast(),
                        );
                    }
                }
            }
        }
        10 => {
            let pick = input.u8();
            if let Some((index, h)) = stream_of(side, pick) {
                unsafe { api.StreamClose.unwrap()(h as HQUIC) };
                state().as_mut().expect("state").streams[index].closed = true;
            }
        }
        // Let the workers run until every stream and send settles a little.
        _ => {
            let n = state().as_ref().map_or(0, |s| s.sends.len());
            let deadline = Instant::now() + Duration::from_millis(20);
            let guard = state();
            let _ = CHANGED.wait_timeout_while(guard, deadline - Instant::now(), |st| {
                st.as_ref()
                    .is_some_and(|s| s.sends.values().filter(|x| x.completions == 0).count() == n)
            });
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let env = env();
    let api = env.api;
    *state() = Some(State::default());
    let host = c"localhost";
    let mut conn: HQUIC = null_mut();
    // SAFETY: valid registration and out-pointer; the handler and its context are static.
    unsafe {
        let status =
            api.ConnectionOpen.unwrap()(env.reg as HQUIC, Some(conn_cb), null_mut(), &mut conn);
        assert_eq!(status, 0);
        state().as_mut().unwrap().conns[0] = conn as usize;
        let status = api.ConnectionStart.unwrap()(
            conn,
            env.client_cfg as HQUIC,
            QUIC_ADDRESS_FAMILY_INET,
            host.as_ptr() as *const c_char,
            env.port,
        );
        assert!(!QUIC_FAILED(status), "ConnectionStart: {status:#x}");
    }
    wait_for("both sides connected", |st| {
        st.connected == [true, true] || st.shutdown_complete[0]
    });
    let mut input = Input(data);
    let mut ops = 0;
    while !input.0.is_empty() && ops < 64 {
        ops += 1;
        run_op(api, &mut input);
        if let Some(f) = &state().as_ref().unwrap().failure {
            panic!("{f}");
        }
    }
    // The end: the client closes; both connections must complete their shutdown.
    // SAFETY: the client connection is open.
    unsafe {
        api.ConnectionShutdown.unwrap()(conn, QUIC_CONNECTION_SHUTDOWN_FLAGS(0), 0);
    }
    wait_for("both connections shut down", |st| {
        st.shutdown_complete[0] && (st.conns[1] == 0 || st.shutdown_complete[1])
    });
    let (handles, server) = {
        let guard = state();
        let st = guard.as_ref().unwrap();
        let handles: Vec<usize> = st
            .streams
            .iter()
            .filter(|s| !s.closed && s.handle != 0)
            .map(|s| s.handle)
            .collect();
        (handles, st.conns[1])
    };
    // SAFETY: each handle is open and closed once.
    unsafe {
        for h in handles {
            api.StreamClose.unwrap()(h as HQUIC);
        }
        api.ConnectionClose.unwrap()(conn);
        if server != 0 {
            api.ConnectionClose.unwrap()(server as HQUIC);
        }
    }
    let st = state().take().unwrap();
    if let Some(f) = &st.failure {
        panic!("{f}");
    }
    for (id, s) in &st.sends {
        assert_eq!(
            s.completions, 1,
            "send {id} on stream {} completed {} times",
            s.stream, s.completions
        );
    }
    for (id, d) in &st.datagrams {
        assert_eq!(d.2, 1, "datagram {id} reached a final state {} times", d.2);
    }
});
