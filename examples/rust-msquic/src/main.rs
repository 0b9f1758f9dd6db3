//! An echo server and client in one process, written with the safe API of the crates.io `msquic`
//! crate (2.5.1-beta) and run over whichever `libmsquic.so` the linker and loader find: this
//! repository's QMux library when it is installed as README's "Use from Rust" section says.
//!
//! Usage: `rust-msquic-echo CERT.pem KEY.pem`. The certificate (with its key) is the server's, and
//! the client trusts it as its CA file; it must be valid for the IP address 127.0.0.1.
//!
//! The client opens a stream, sends a message with FIN, and the server sends back everything it
//! received when the client's FIN arrives. The program checks the bytes echoed and the events
//! both sides saw, in order, closes everything and prints `echo ok`; any failure panics.

use std::ffi::c_void;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use msquic::{
    Addr, BufferRef, CertificateFile, Configuration, Connection, ConnectionEvent,
    ConnectionShutdownFlags, Credential, CredentialConfig, Listener, ListenerEvent, Registration,
    RegistrationConfig, SendFlags, Settings, Status, Stream, StreamEvent, StreamOpenFlags,
    StreamStartFlags,
};

/// The ALPN both sides offer.
const ALPN: &str = "echo";
/// The size of the message the client sends (several receive events' worth).
const MESSAGE_LEN: usize = 100_000;
/// How long to wait for any one event.
const TIMEOUT: Duration = Duration::from_secs(10);

/// What the callbacks tell the main thread.
enum Report {
    /// An event, named by who saw it ("listener", "server conn", "client stream", ...).
    Event(&'static str, String),
    /// The bytes the client received on its stream, when the server's FIN arrived.
    Echoed(Vec<u8>),
    /// A connection the listener accepted: the main thread owns it and closes it at the end.
    Accepted(Connection),
    /// A stream the client started on the server: the main thread closes it at the end.
    PeerStream(Stream),
}

/// Bytes handed to `Stream::send`, kept alive together with the buffer list that points at them
/// until the send's `SendComplete` event hands them back as its client context.
struct SendBuffer {
    _bytes: Vec<u8>,
    buffers: [BufferRef; 1],
}

/// Sends `bytes` on `stream`; they are freed by [`send_complete`].
fn send(stream: &Stream, bytes: Vec<u8>, flags: SendFlags) -> Result<(), Status> {
    let buffers = [BufferRef::from(bytes.as_slice())];
    let raw = Box::into_raw(Box::new(SendBuffer {
        _bytes: bytes,
        buffers,
    }));
    // SAFETY: `raw` is a live allocation; it and the bytes it owns stay alive until the
    // send's `SendComplete` returns `raw`, or until the call fails.
    let result = unsafe { stream.send(&(*raw).buffers, flags, raw as *const c_void) };
    if result.is_err() {
        // SAFETY: the send failed, so MsQuic keeps no reference to the buffers.
        drop(unsafe { Box::from_raw(raw) });
    }
    result
}

/// Frees what [`send`] handed to MsQuic, when the send completes.
fn send_complete(client_context: *const c_void) {
    // SAFETY: every send on these streams passes a `SendBuffer` from `send` as its context,
    // and MsQuic completes each send exactly once.
    drop(unsafe { Box::from_raw(client_context as *mut SendBuffer) });
}

/// Names a connection event, with the fields this program checks.
fn connection_event(event: &ConnectionEvent) -> String {
    match event {
        ConnectionEvent::Connected {
            session_resumed,
            negotiated_alpn,
        } => format!(
            "Connected alpn={} resumed={session_resumed}",
            String::from_utf8_lossy(negotiated_alpn)
        ),
        ConnectionEvent::ShutdownInitiatedByTransport { status, error_code } => {
            format!("ShutdownInitiatedByTransport status={status} error={error_code}")
        }
        ConnectionEvent::ShutdownInitiatedByPeer { error_code } => {
            format!("ShutdownInitiatedByPeer error={error_code}")
        }
        ConnectionEvent::ShutdownComplete {
            handshake_completed,
            ..
        } => format!("ShutdownComplete handshake_completed={handshake_completed}"),
        ConnectionEvent::PeerStreamStarted { flags, .. } => {
            format!("PeerStreamStarted flags={flags:?}")
        }
        other => format!("{other:?}"),
    }
}

/// Names a stream event, with the fields this program checks.
fn stream_event(event: &StreamEvent) -> String {
    match event {
        StreamEvent::StartComplete { status, id, .. } => {
            format!("StartComplete status={:#x} id={id}", status.0)
        }
        StreamEvent::Receive { .. } => "Receive".to_string(),
        StreamEvent::SendComplete { cancelled, .. } => {
            format!("SendComplete cancelled={cancelled}")
        }
        StreamEvent::SendShutdownComplete { graceful } => {
            format!("SendShutdownComplete graceful={graceful}")
        }
        StreamEvent::ShutdownComplete {
            connection_shutdown,
            ..
        } => format!("ShutdownComplete connection_shutdown={connection_shutdown}"),
        other => format!("{other:?}"),
    }
}

/// The server's stream callback: collects what arrives and echoes it back at the client's FIN.
fn server_stream(
    tx: Sender<Report>,
) -> impl FnMut(msquic::StreamRef, StreamEvent) -> Result<(), Status> {
    let mut received = Vec::new();
    move |stream, event| {
        let _ = tx.send(Report::Event("server stream", stream_event(&event)));
        match event {
            StreamEvent::Receive { buffers, .. } => {
                for buffer in buffers {
                    received.extend_from_slice(buffer.as_bytes());
                }
            }
            StreamEvent::PeerSendShutdown => {
                send(&stream, std::mem::take(&mut received), SendFlags::FIN)?;
            }
            StreamEvent::SendComplete { client_context, .. } => send_complete(client_context),
            _ => {}
        }
        Ok(())
    }
}

/// The client's stream callback: collects the echo and reports it at the server's FIN.
fn client_stream(
    tx: Sender<Report>,
) -> impl FnMut(msquic::StreamRef, StreamEvent) -> Result<(), Status> {
    let mut received = Vec::new();
    move |_stream, event| {
        let _ = tx.send(Report::Event("client stream", stream_event(&event)));
        match event {
            StreamEvent::Receive { buffers, .. } => {
                for buffer in buffers {
                    received.extend_from_slice(buffer.as_bytes());
                }
            }
            StreamEvent::PeerSendShutdown => {
                let _ = tx.send(Report::Echoed(std::mem::take(&mut received)));
            }
            StreamEvent::SendComplete { client_context, .. } => send_complete(client_context),
            _ => {}
        }
        Ok(())
    }
}

/// The reports received so far, and the way to wait for more.
struct Reports {
    rx: Receiver<Report>,
    events: Vec<(&'static str, String)>,
    echoed: Option<Vec<u8>>,
    accepted: Vec<Connection>,
    peer_streams: Vec<Stream>,
}

impl Reports {
    /// Takes in reports until `who` has seen an event starting with `prefix`; panics after
    /// [`TIMEOUT`].
    fn wait_for(&mut self, who: &str, prefix: &str) {
        let deadline = Instant::now() + TIMEOUT;
        while !self.seen(who, prefix) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(Report::Event(source, event)) => {
                    println!("{source}: {event}");
                    self.events.push((source, event));
                }
                Ok(Report::Echoed(bytes)) => self.echoed = Some(bytes),
                Ok(Report::Accepted(connection)) => self.accepted.push(connection),
                Ok(Report::PeerStream(stream)) => self.peer_streams.push(stream),
                Err(_) => panic!("timed out waiting for {who}: {prefix}"),
            }
        }
    }

    fn seen(&self, who: &str, prefix: &str) -> bool {
        self.events
            .iter()
            .any(|(source, event)| *source == who && event.starts_with(prefix))
    }

    /// Checks that `who` saw events starting with `expected`, in this order (other events may
    /// come between them).
    fn check_order(&self, who: &str, expected: &[&str]) {
        let seen: Vec<&str> = self
            .events
            .iter()
            .filter(|(source, _)| *source == who)
            .map(|(_, event)| event.as_str())
            .collect();
        let mut next = expected.iter().peekable();
        for event in &seen {
            if next.peek().is_some_and(|prefix| event.starts_with(*prefix)) {
                next.next();
            }
        }
        assert!(
            next.peek().is_none(),
            "{who} saw {seen:?}, expected in order {expected:?}"
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, cert, key] = args.as_slice() else {
        panic!("usage: rust-msquic-echo CERT.pem KEY.pem");
    };
    let registration =
        Registration::new(&RegistrationConfig::new().set_app_name("rust-msquic-echo".into()))
            .expect("RegistrationOpen");
    // Declared after the registration so that, should a check fail, unwinding closes the
    // handles the reports hold before the registration (whose close waits for its children).
    let (tx, rx) = channel();
    let mut reports = Reports {
        rx,
        events: Vec::new(),
        echoed: None,
        accepted: Vec::new(),
        peer_streams: Vec::new(),
    };
    let alpn = [BufferRef::from(ALPN)];

    // The server: a configuration with the certificate, and a listener on 127.0.0.1.
    let server_settings = Settings::new()
        .set_PeerBidiStreamCount(1)
        .set_IdleTimeoutMs(10_000);
    let server_config = Configuration::open(&registration, &alpn, Some(&server_settings))
        .expect("server ConfigurationOpen");
    server_config
        .load_credential(
            &CredentialConfig::new().set_credential(Credential::CertificateFile(
                CertificateFile::new(key.clone(), cert.clone()),
            )),
        )
        .expect("server ConfigurationLoadCredential");
    let server_config = Arc::new(server_config);

    let listener_tx = tx.clone();
    let listener_config = server_config.clone();
    let listener = Listener::open(&registration, move |_, event| {
        let tx = listener_tx.clone();
        match event {
            ListenerEvent::NewConnection { info, connection } => {
                let _ = tx.send(Report::Event(
                    "listener",
                    format!(
                        "NewConnection alpn={} server_name={}",
                        String::from_utf8_lossy(info.negotiated_alpn),
                        String::from_utf8_lossy(info.server_name)
                    ),
                ));
                let conn_tx = tx.clone();
                connection.set_callback_handler(move |_, event| {
                    let _ = conn_tx.send(Report::Event("server conn", connection_event(&event)));
                    if let ConnectionEvent::PeerStreamStarted { stream, .. } = event {
                        stream.set_callback_handler(server_stream(conn_tx.clone()));
                        // SAFETY: the application owns a peer's stream; the main thread closes it.
                        let owned = unsafe { Stream::from_raw(stream.as_raw()) };
                        let _ = conn_tx.send(Report::PeerStream(owned));
                    }
                    Ok(())
                });
                connection.set_configuration(&listener_config)?;
                // SAFETY: the application owns an accepted connection; the main thread closes it.
                let owned = unsafe { Connection::from_raw(connection.as_raw()) };
                let _ = tx.send(Report::Accepted(owned));
            }
            ListenerEvent::StopComplete { .. } => {
                let _ = tx.send(Report::Event("listener", "StopComplete".to_string()));
            }
        }
        Ok(())
    })
    .expect("ListenerOpen");
    let loopback = Addr::from(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    listener
        .start(&alpn, Some(&loopback))
        .expect("ListenerStart");
    let port = listener.get_local_addr().expect("listener address").port();
    assert_ne!(port, 0, "the listener reports the port it was given");

    // The client: it trusts the server's certificate as its CA.
    let client_config = Configuration::open(
        &registration,
        &alpn,
        Some(&Settings::new().set_IdleTimeoutMs(10_000)),
    )
    .expect("client ConfigurationOpen");
    client_config
        .load_credential(&CredentialConfig::new_client().set_ca_certificate_file(cert.clone()))
        .expect("client ConfigurationLoadCredential");

    let client_tx = tx.clone();
    let client = Connection::open(&registration, move |_, event| {
        let _ = client_tx.send(Report::Event("client conn", connection_event(&event)));
        Ok(())
    })
    .expect("ConnectionOpen");
    client
        .start(&client_config, "127.0.0.1", port)
        .expect("ConnectionStart");
    reports.wait_for("client conn", "Connected");
    let remote = client.get_remote_addr().expect("remote address");
    assert_eq!(
        remote.as_socket(),
        Some(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    );
    assert!(client.get_local_addr().expect("local address").port() != 0);

    // One stream: the whole message with FIN, then wait for the echo.
    let message: Vec<u8> = (0..MESSAGE_LEN).map(|i| (i % 251) as u8).collect();
    let stream = Stream::open(&client, StreamOpenFlags::NONE, client_stream(tx.clone()))
        .expect("StreamOpen");
    stream.start(StreamStartFlags::NONE).expect("StreamStart");
    send(&stream, message.clone(), SendFlags::FIN).expect("StreamSend");
    reports.wait_for("client stream", "ShutdownComplete");
    reports.wait_for("server stream", "ShutdownComplete");
    let echoed = reports
        .echoed
        .take()
        .expect("the client saw the server's FIN");
    assert_eq!(echoed.len(), MESSAGE_LEN, "echoed length");
    assert!(echoed == message, "the echo differs from the message");
    assert_eq!(stream.get_stream_id().expect("stream id"), 0);
    let stats = client.get_stats_v2().expect("connection statistics");
    assert!(stats.RecvTotalStreamBytes >= MESSAGE_LEN as u64);

    // Library-wide parameters through the crate's helpers (its table of 32 counters is a
    // prefix of the library's).
    let perf = msquic::Api::get_perf().expect("performance counters");
    assert!(perf.conn_created >= 2, "connections created: {perf:?}");
    assert_eq!(
        msquic::Api::get_tls_provider().expect("TLS provider"),
        msquic::TlsProvider::Openssl
    );

    // Close the connection from the client; the server sees the peer's shutdown.
    client.shutdown(ConnectionShutdownFlags::NONE, 0);
    reports.wait_for("client conn", "ShutdownComplete");
    reports.wait_for("server conn", "ShutdownComplete");
    listener.stop();
    reports.wait_for("listener", "StopComplete");

    reports.check_order("listener", &["NewConnection alpn=echo", "StopComplete"]);
    reports.check_order(
        "server conn",
        &[
            "Connected alpn=echo resumed=false",
            "PeerStreamStarted",
            "ShutdownInitiatedByPeer error=0",
            "ShutdownComplete handshake_completed=true",
        ],
    );
    reports.check_order(
        "client conn",
        &[
            "Connected alpn=echo resumed=false",
            "ShutdownComplete handshake_completed=true",
        ],
    );
    reports.check_order(
        "server stream",
        &[
            "Receive",
            "PeerSendShutdown",
            "SendComplete cancelled=false",
            "SendShutdownComplete graceful=true",
            "ShutdownComplete connection_shutdown=false",
        ],
    );
    reports.check_order(
        "client stream",
        &[
            "StartComplete status=0x0 id=0",
            "SendComplete cancelled=false",
            "Receive",
            "PeerSendShutdown",
            "ShutdownComplete connection_shutdown=false",
        ],
    );
    assert_eq!(reports.accepted.len(), 1, "one accepted connection");
    assert_eq!(reports.peer_streams.len(), 1, "one peer stream");

    // Close the handles: streams before their connections, the registration last.
    drop(stream);
    reports.peer_streams.clear();
    drop(client);
    reports.accepted.clear();
    drop(listener);
    drop(client_config);
    drop(server_config);
    drop(registration);
    println!("echo ok: {MESSAGE_LEN} bytes");
}
