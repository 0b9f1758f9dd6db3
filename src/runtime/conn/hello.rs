//! Reading a server connection's ClientHello before the application chooses its
//! configuration: the listener's NEW_CONNECTION carries the SNI and ALPN list from it.

use std::cell::{Cell, RefCell};
use std::io::{self, Read};
use std::rc::Rc;
use std::time::Instant;

use mio::Interest;
use mio::net::TcpStream;

use crate::runtime::conn::first_bytes;
use crate::runtime::timers::SourceKey;
use crate::runtime::tls::{ClientHello, MISMATCH_TLS_END, RecvBuffer, client_hello};
use crate::runtime::worker::{Source, WorkerCx};

/// Called with the socket, the bytes read so far (the ClientHello still in them) and what
/// the ClientHello says.
pub type OnHello = Box<dyn FnOnce(&WorkerCx, std::net::TcpStream, RecvBuffer, ClientHello)>;

/// Called, when the bytes are not a ClientHello, with why (in words) and whether the peer
/// speaks plain QMux (it was sent a TLS `protocol_version` alert, which a plain QMux peer
/// recognises as TLS).
pub type OnRefused = Box<dyn FnOnce(&str, bool)>;

/// TLS alert record `protocol_version` (fatal), sent before any handshake keys.
const PROTOCOL_VERSION_ALERT: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 70];

/// Size of one read while waiting for the ClientHello.
const READ_SIZE: usize = 16 << 10;

/// A socket on a worker whose ClientHello is being read.
pub struct HelloReader {
    sock: RefCell<Option<TcpStream>>,
    buf: RefCell<RecvBuffer>,
    key: Cell<Option<SourceKey>>,
    on_hello: RefCell<Option<OnHello>>,
    on_refused: RefCell<Option<OnRefused>>,
}

impl HelloReader {
    /// Starts reading `sock` (non-blocking, as a [`crate::runtime::listener::Listener`]
    /// accepts it) on the calling worker; gives up (closing the socket) at `deadline` (if
    /// any) or on bytes that are not a ClientHello.
    pub fn start(
        cx: &WorkerCx,
        sock: std::net::TcpStream,
        deadline: Option<Instant>,
        on_hello: OnHello,
        on_refused: OnRefused,
    ) -> io::Result<()> {
        debug_assert!(crate::runtime::sys::is_nonblocking(&sock));
        let reader = Rc::new(Self {
            sock: RefCell::new(Some(TcpStream::from_std(sock))),
            buf: RefCell::new(RecvBuffer::with_capacity(READ_SIZE)),
            key: Cell::new(None),
            on_hello: RefCell::new(Some(on_hello)),
            on_refused: RefCell::new(Some(on_refused)),
        });
        let key = cx.insert(reader.clone());
        reader.key.set(Some(key));
        let registered = match reader.sock.borrow_mut().as_mut() {
            Some(s) => cx.registry().register(s, cx.token(key), Interest::READABLE),
            None => Ok(()),
        };
        if let Err(e) = registered {
            cx.remove(key);
            return Err(e);
        }
        cx.set_timer(key, deadline);
        Ok(())
    }

    /// Leaves the worker; returns the socket as a std stream.
    fn leave(&self, cx: &WorkerCx) -> Option<std::net::TcpStream> {
        let mut sock = self.sock.borrow_mut().take()?;
        let _ = cx.registry().deregister(&mut sock);
        if let Some(key) = self.key.take() {
            cx.remove(key);
        }
        Some(std::net::TcpStream::from(std::os::fd::OwnedFd::from(sock)))
    }
}

impl Source for HelloReader {
    fn on_ready(self: Rc<Self>, cx: &WorkerCx, _key: SourceKey, readable: bool, _: bool) {
        if !readable {
            return;
        }
        // Reads until the ClientHello is whole (or refused), so a peer cannot make the
        // buffer grow past one ClientHello; what follows it stays in the socket for the
        // connection.
        loop {
            if !matches!(client_hello::parse(self.buf.borrow().data()), Ok(None)) {
                break;
            }
            let read = {
                let mut sock = self.sock.borrow_mut();
                let Some(sock) = sock.as_mut() else { return };
                let mut buf = self.buf.borrow_mut();
                let space = buf.space(READ_SIZE);
                match sock.read(space) {
                    Ok(n) => {
                        buf.commit(n);
                        Ok(n)
                    }
                    Err(e) => Err(e),
                }
            };
            match read {
                Ok(0) => {
                    self.leave(cx);
                    return;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.leave(cx);
                    return;
                }
            }
        }
        let parsed = client_hello::parse(self.buf.borrow().data());
        match parsed {
            Ok(None) => {}
            Ok(Some(hello)) => {
                let Some(sock) = self.leave(cx) else { return };
                let buf =
                    std::mem::replace(&mut *self.buf.borrow_mut(), RecvBuffer::with_capacity(0));
                if let Some(on_hello) = self.on_hello.borrow_mut().take() {
                    on_hello(cx, sock, buf, hello);
                }
            }
            Err(_) => {
                let plain = first_bytes::classify(self.buf.borrow().data())
                    == first_bytes::FirstBytes::PlainQmux;
                let sock = self.leave(cx);
                let why = if plain {
                    if let Some(mut sock) = sock {
                        // The plain peer sees a TLS record where it expects QMux, and says so.
                        let _ = std::io::Write::write_all(&mut sock, &PROTOCOL_VERSION_ALERT);
                        let _ = sock.shutdown(std::net::Shutdown::Write);
                    }
                    MISMATCH_TLS_END
                } else {
                    "its first bytes are not a TLS ClientHello"
                };
                if let Some(on_refused) = self.on_refused.borrow_mut().take() {
                    on_refused(why, plain);
                }
            }
        }
    }

    fn on_timer(self: Rc<Self>, cx: &WorkerCx, _key: SourceKey, _now: Instant) {
        self.leave(cx);
        if let Some(on_refused) = self.on_refused.borrow_mut().take() {
            on_refused(
                "no ClientHello came within the handshake idle timeout",
                false,
            );
        }
    }
}
