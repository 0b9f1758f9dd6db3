//! A minimal echo client written with the `msquic` crate: it connects to HOST:PORT with the ALPN
//! "echo" (the protocol of examples/echo_server.c), trusting the certificates in CA_FILE, sends
//! MESSAGE on one stream with FIN, prints what comes back and closes the connection.
//!
//! Usage: echo_client HOST PORT CA_FILE MESSAGE

use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use msquic::{
    BufferRef, Configuration, Connection, ConnectionEvent, ConnectionShutdownFlags,
    CredentialConfig, Registration, RegistrationConfig, SendFlags, Settings, Stream, StreamEvent,
    StreamOpenFlags, StreamStartFlags,
};

/// What the callbacks tell the main thread.
#[derive(Debug)]
enum Note {
    Connected,
    Echo(Vec<u8>),
    StreamDone,
    ConnectionDone,
}

fn next(rx: &Receiver<Note>) -> Note {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("an event within 10 s")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, host, port, ca_file, message] = args.as_slice() else {
        panic!("usage: echo_client HOST PORT CA_FILE MESSAGE");
    };
    let port: u16 = port.parse().expect("a port number");

    let registration = Registration::new(&RegistrationConfig::default()).expect("registration");
    let alpn = [BufferRef::from("echo")];
    let settings = Settings::new().set_IdleTimeoutMs(5000);
    let config = Configuration::open(&registration, &alpn, Some(&settings)).expect("configuration");
    let credential = CredentialConfig::new_client().set_ca_certificate_file(ca_file.clone());
    config
        .load_credential(&credential)
        .expect("client credential");

    let (tx, rx) = channel();
    let conn_tx = tx.clone();
    let connection = Connection::open(&registration, move |_, event| {
        match event {
            ConnectionEvent::Connected { .. } => conn_tx.send(Note::Connected).unwrap(),
            ConnectionEvent::ShutdownInitiatedByTransport { status, .. } => {
                eprintln!("connection closed by the transport: {status}")
            }
            ConnectionEvent::ShutdownComplete { .. } => conn_tx.send(Note::ConnectionDone).unwrap(),
            _ => {}
        }
        Ok(())
    })
    .expect("connection");
    connection.start(&config, host, port).expect("start");
    match next(&rx) {
        Note::Connected => {}
        other => panic!("not connected: {other:?}"),
    }

    let mut received = Vec::new();
    let stream = Stream::open(&connection, StreamOpenFlags::NONE, move |_, event| {
        match event {
            StreamEvent::Receive { buffers, .. } => {
                for buffer in buffers {
                    received.extend_from_slice(buffer.as_bytes());
                }
            }
            StreamEvent::PeerSendShutdown => {
                tx.send(Note::Echo(std::mem::take(&mut received))).unwrap()
            }
            StreamEvent::ShutdownComplete { .. } => tx.send(Note::StreamDone).unwrap(),
            _ => {}
        }
        Ok(())
    })
    .expect("stream");
    stream.start(StreamStartFlags::NONE).expect("stream start");
    // `message` and `buffers` outlive the send: the stream is done before they are dropped.
    let buffers = [BufferRef::from(message.as_str())];
    // SAFETY: the buffers stay valid until the send completes (before StreamDone below).
    unsafe { stream.send(&buffers, SendFlags::FIN, std::ptr::null()) }.expect("send");

    match next(&rx) {
        Note::Echo(bytes) => println!("echoed: {}", String::from_utf8_lossy(&bytes)),
        other => panic!("no echo: {other:?}"),
    }
    assert!(matches!(next(&rx), Note::StreamDone));
    connection.shutdown(ConnectionShutdownFlags::NONE, 0);
    assert!(matches!(next(&rx), Note::ConnectionDone));
    // Handles close when dropped: the stream, then the connection, configuration, registration.
    drop(stream);
    drop(connection);
    drop(config);
    drop(registration);
}
