//! A listening TCP socket on a worker: accepts every pending connection when readable and
//! hands each to the layer above.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use mio::Interest;
use mio::net::TcpListener;

use crate::runtime::timers::SourceKey;
use crate::runtime::worker::{Source, WorkerCx};

/// Called on the listener's worker for each accepted socket (a std socket, already in
/// non-blocking mode).
pub type OnAccept = Box<dyn Fn(&WorkerCx, std::net::TcpStream, SocketAddr)>;

/// A listening socket registered on a worker.
pub struct Listener {
    sock: RefCell<TcpListener>,
    key: Cell<Option<SourceKey>>,
    on_accept: OnAccept,
}

impl Listener {
    /// Binds `addr` and starts accepting on the calling worker. An IPv6 address accepts IPv4
    /// peers too unless `v6_only`.
    pub fn bind(
        cx: &WorkerCx,
        addr: SocketAddr,
        v6_only: bool,
        on_accept: OnAccept,
    ) -> io::Result<Rc<Self>> {
        let sock = if v6_only && addr.is_ipv6() {
            TcpListener::from_std(crate::runtime::sys::listen_v6_only(addr)?)
        } else {
            TcpListener::bind(addr)?
        };
        let listener = Rc::new(Self {
            sock: RefCell::new(sock),
            key: Cell::new(None),
            on_accept,
        });
        let key = cx.insert(listener.clone());
        listener.key.set(Some(key));
        let registered = cx.registry().register(
            &mut *listener.sock.borrow_mut(),
            cx.token(key),
            Interest::READABLE,
        );
        if let Err(e) = registered {
            cx.remove(key);
            return Err(e);
        }
        Ok(listener)
    }

    /// The bound address (with the port the OS picked for port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.borrow().local_addr()
    }

    /// Stops listening: the socket is closed and leaves the worker.
    pub fn stop(&self, cx: &WorkerCx) {
        let _ = cx.registry().deregister(&mut *self.sock.borrow_mut());
        if let Some(key) = self.key.take() {
            cx.remove(key);
        }
    }
}

impl Source for Listener {
    fn on_ready(self: Rc<Self>, cx: &WorkerCx, _key: SourceKey, readable: bool, _: bool) {
        if !readable {
            return;
        }
        loop {
            let accepted = self.sock.borrow().accept();
            match accepted {
                Ok((sock, peer)) => {
                    let std = std::net::TcpStream::from(std::os::fd::OwnedFd::from(sock));
                    (self.on_accept)(cx, std, peer);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // Per-connection failures (aborted before accept, fd limits) skip one socket.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    fn on_timer(self: Rc<Self>, _: &WorkerCx, _: SourceKey, _: Instant) {}
}
