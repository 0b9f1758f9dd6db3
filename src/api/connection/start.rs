//! A client connection's start on its worker (the second half of ConnectionStart): the
//! server's name is resolved off the worker (`runtime::resolver`), its addresses are raced
//! Happy Eyeballs style (`runtime::conn::race`), and the runtime connection takes the winning
//! socket. The application may shut the connection down or close it at any point: the race
//! is then canceled (`ConnSlot::complete`) and a late resolver answer finds no slot, or
//! another slot, and is dropped.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::abi::{
    QUIC_ADDRESS_FAMILY, QUIC_ADDRESS_FAMILY_INET, QUIC_ADDRESS_FAMILY_INET6, QUIC_STATUS,
    QUIC_STATUS_ADDRESS_NOT_AVAILABLE, QUIC_STATUS_CONNECTION_IDLE, QUIC_STATUS_CONNECTION_REFUSED,
    QUIC_STATUS_INVALID_PARAMETER, QUIC_STATUS_UNREACHABLE,
};
use crate::api::connection::Connection;
use crate::api::connection::sockaddr;
use crate::api::connection::tls_secrets;
use crate::api::connection::worker::{self, ConnSlot, STATUS_CLOSE_CODE};
use crate::api::door::handle::Handle;
use crate::proto;
use crate::runtime::conn::race::{self, Outcome, Race, RaceFailure};
use crate::runtime::conn::{Conn, Wire};
use crate::runtime::resolver;
use crate::runtime::tls::{TlsClientConfig, TlsSession};
use crate::runtime::worker::WorkerCx;

/// What ConnectionStart decided, for the worker to carry out.
pub(crate) struct StartPlan {
    /// The server name (empty when CONN_REMOTE_ADDRESS stands for it).
    pub(crate) name: String,
    /// The server port.
    pub(crate) port: u16,
    /// The family ConnectionStart was given.
    pub(crate) family: QUIC_ADDRESS_FAMILY,
    /// CONN_REMOTE_ADDRESS, which wins over the name.
    pub(crate) remote: Option<SocketAddr>,
    /// CONN_LOCAL_ADDRESS.
    pub(crate) bind: Option<SocketAddr>,
    /// The client credentials, for TLS.
    pub(crate) tls: Option<TlsClientConfig>,
    /// The engine's configuration.
    pub(crate) engine: proto::Config,
    /// When the handshake (resolution and connect included) must be over.
    pub(crate) handshake_deadline: Option<Instant>,
    /// DisconnectTimeoutMs.
    pub(crate) disconnect_timeout: Duration,
}

/// Starts `slot`'s connection as `plan` says.
pub(crate) fn begin(cx: &WorkerCx, slot: &Rc<ConnSlot>, plan: StartPlan) {
    let StartPlan {
        name,
        port,
        family,
        remote,
        bind,
        tls,
        engine,
        handshake_deadline,
        disconnect_timeout,
    } = plan;
    let wire = match &tls {
        None => Wire::Plain,
        Some(tls) => {
            // The name the server's certificate must match: the server name, else the
            // address.
            let sni = match remote {
                Some(addr) if name.is_empty() => addr.ip().to_string(),
                _ => name.clone(),
            };
            let ticket = slot.handle.obj.resumption.ticket();
            match TlsSession::client_resuming(tls, &sni, ticket) {
                Ok(mut session) => {
                    if let Some(sink) = tls_secrets::take_sink(&slot.handle) {
                        session.set_secret_sink(sink);
                    }
                    Wire::Tls(Box::new(session))
                }
                Err(_) => return fail(cx, slot, QUIC_STATUS_INVALID_PARAMETER),
            }
        }
    };
    let handle = slot.handle.clone();
    let done = Box::new(move |cx: &WorkerCx, outcome: Outcome| {
        let connect = Connect {
            wire,
            engine,
            handshake_deadline,
            disconnect_timeout,
        };
        raced(cx, &handle, outcome, connect);
    });
    let race = Race::start(cx, bind, handshake_deadline, done);
    *slot.race.borrow_mut() = Some(race.clone());
    if let Some(addr) = remote {
        return resolved(cx, slot, &race, Ok(vec![addr]), port, None);
    }
    if let Some(addrs) = resolver::literal(&name, port) {
        return resolved(cx, slot, &race, Ok(addrs), port, Some(family));
    }
    // Weak: a lookup under way keeps no closed connection (nor its workers) alive.
    let handle = Arc::downgrade(&slot.handle);
    slot.handle.obj.lookup.begin();
    resolver::lookup(
        name,
        port,
        Box::new(move |result| {
            let Some(handle) = handle.upgrade() else {
                return;
            };
            let pool = handle.obj.pool.clone();
            pool.worker(handle.obj.worker).post(Box::new(move |cx| {
                // The connection may have ended, and its handle been closed, meanwhile.
                if let Some(slot) = own_slot(&handle) {
                    let race = slot.race.borrow().clone();
                    if let Some(race) = race {
                        resolved(cx, &slot, &race, result, port, Some(family));
                    }
                }
                handle.obj.lookup.end();
            }));
        }),
    );
}

/// Whether a client's name lookup is under way. MsQuic resolves the name inside its start
/// operation, so a GetParam of an address made after ConnectionStart returns once the name is
/// resolved; [`LookupGate::wait`] gives the same to reads from other threads.
#[derive(Default)]
pub(crate) struct LookupGate {
    pending: parking_lot::Mutex<bool>,
    done: parking_lot::Condvar,
}

impl LookupGate {
    /// A lookup starts.
    fn begin(&self) {
        *self.pending.lock() = true;
    }

    /// The lookup's outcome has been applied (or the connection is gone).
    fn end(&self) {
        *self.pending.lock() = false;
        self.done.notify_all();
    }

    /// Waits, at most `limit`, for a lookup under way to end. Not to be called on the
    /// connection's worker, which applies the outcome.
    pub(crate) fn wait(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut pending = self.pending.lock();
        while *pending {
            if self.done.wait_until(&mut pending, deadline).timed_out() {
                return;
            }
        }
    }
}

/// `handle`'s slot on this worker, if the connection is still there.
fn own_slot(handle: &Arc<Handle<Connection>>) -> Option<Rc<ConnSlot>> {
    // The handle is held, so its address names no other connection.
    worker::slot(handle.as_hquic() as usize).filter(|s| Arc::ptr_eq(&s.handle, handle))
}

/// The name's addresses are known: the race starts over those `family` admits (`None`: the
/// address the application set, taken as it is).
fn resolved(
    cx: &WorkerCx,
    slot: &Rc<ConnSlot>,
    race: &Race,
    result: io::Result<Vec<SocketAddr>>,
    port: u16,
    family: Option<QUIC_ADDRESS_FAMILY>,
) {
    let addrs = result.unwrap_or_default();
    let addrs = match family {
        Some(family) => in_family(addrs, family),
        None => addrs,
    };
    // MsQuic on Linux: a name that does not resolve (in the family asked for) leaves the
    // wildcard address, which the start refuses with INVALID_PARAMETER, reported as a
    // transport shutdown; so does a name that resolves to the wildcard.
    let addrs: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| !a.ip().is_unspecified())
        .map(|a| SocketAddr::new(a.ip(), port))
        .collect();
    let candidates = race::interleave(&addrs);
    let Some(first) = candidates.first() else {
        return fail(cx, slot, QUIC_STATUS_INVALID_PARAMETER);
    };
    // As MsQuic, whose start resolves the name and makes the socket: the remote address is
    // known from here (the first to be tried; the one connected once connected), the local
    // one once the connect is under way.
    *slot.handle.obj.remote_address.lock() = Some(sockaddr::unmapped(*first));
    race.resolved(cx, candidates);
    if let Some(local) = race.local_addr() {
        slot.handle.obj.info.lock().local_address = Some(sockaddr::unmapped(local));
    }
}

/// `addrs` in `family` (UNSPEC takes any, and an IPv4-mapped IPv6 address as the IPv4
/// address, as MsQuic's resolver does).
fn in_family(addrs: Vec<SocketAddr>, family: QUIC_ADDRESS_FAMILY) -> Vec<SocketAddr> {
    addrs
        .into_iter()
        .map(|a| match family {
            QUIC_ADDRESS_FAMILY_INET6 => a,
            _ => sockaddr::unmapped(a),
        })
        .filter(|a| match family {
            QUIC_ADDRESS_FAMILY_INET => a.is_ipv4(),
            QUIC_ADDRESS_FAMILY_INET6 => a.is_ipv6(),
            _ => true,
        })
        .collect()
}

/// What the runtime connection is made of once a socket has connected.
struct Connect {
    wire: Wire,
    engine: proto::Config,
    handshake_deadline: Option<Instant>,
    disconnect_timeout: Duration,
}

/// The race ended: the runtime connection takes the winner, or the connection fails.
fn raced(cx: &WorkerCx, handle: &Arc<Handle<Connection>>, outcome: Outcome, connect: Connect) {
    let Some(slot) = own_slot(handle) else { return };
    slot.race.borrow_mut().take();
    if slot.is_shutting_down() {
        return;
    }
    match outcome {
        Outcome::Connected(sock, peer) => {
            match Conn::connected(cx, sock, peer, connect.wire, connect.engine, slot.sink()) {
                Ok(c) => {
                    slot.handle.obj.info.lock().local_address =
                        c.local_addr().ok().map(sockaddr::unmapped);
                    if let Some(deadline) = connect.handshake_deadline {
                        c.set_handshake_deadline(cx, deadline);
                    }
                    c.set_disconnect_timeout(cx, connect.disconnect_timeout);
                    *slot.conn.borrow_mut() = Some(c.clone());
                    crate::api::connection::zero_rtt::on_transport(cx, &slot, &c);
                }
                Err(e) => fail_connect(cx, &slot, e.kind()),
            }
        }
        // MsQuic reports handshake idle expiry as CONNECTION_IDLE.
        Outcome::Lost(RaceFailure::TimedOut) => fail(cx, &slot, QUIC_STATUS_CONNECTION_IDLE),
        Outcome::Lost(RaceFailure::Failed(kind)) => fail_connect(cx, &slot, kind),
    }
}

/// The connection ends before it reached the network: SHUTDOWN_INITIATED_BY_TRANSPORT with
/// `status`, then SHUTDOWN_COMPLETE (a failed start is a silent close in MsQuic:
/// PeerAcknowledgedShutdown).
fn fail(cx: &WorkerCx, slot: &Rc<ConnSlot>, status: QUIC_STATUS) {
    slot.transport_shutdown(status, STATUS_CLOSE_CODE);
    slot.complete(cx, true);
}

/// The connection ends because its connect failed with `kind`, as [`fail`] does.
fn fail_connect(cx: &WorkerCx, slot: &Rc<ConnSlot>, kind: io::ErrorKind) {
    let (status, code) = connect_status(kind);
    slot.note_why(format!("the connect failed: {}", io::Error::from(kind)));
    slot.transport_shutdown(status, code);
    slot.complete(cx, true);
}

/// The status and error code of a TCP connect that failed: nothing listening (ECONNREFUSED)
/// is UNREACHABLE, as MsQuic reports the ICMP port unreachable its datagram draws. A reset
/// seen as the connect completes means the server accepted and then refused the connection
/// (see the listener): CONNECTION_REFUSED with the code 0x2, as once connected.
fn connect_status(kind: io::ErrorKind) -> (QUIC_STATUS, u64) {
    match kind {
        io::ErrorKind::AddrNotAvailable => (QUIC_STATUS_ADDRESS_NOT_AVAILABLE, STATUS_CLOSE_CODE),
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => (QUIC_STATUS_CONNECTION_REFUSED, 0x2),
        _ => (QUIC_STATUS_UNREACHABLE, STATUS_CLOSE_CODE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn families_filter_and_unmap() {
        let addrs = vec![a("[::ffff:10.0.0.1]:1"), a("[::1]:1"), a("10.0.0.2:1")];
        assert_eq!(
            in_family(addrs.clone(), QUIC_ADDRESS_FAMILY_INET),
            vec![a("10.0.0.1:1"), a("10.0.0.2:1")]
        );
        assert_eq!(
            in_family(addrs.clone(), QUIC_ADDRESS_FAMILY_INET6),
            vec![a("[::ffff:10.0.0.1]:1"), a("[::1]:1")]
        );
        assert_eq!(
            in_family(addrs, 0),
            vec![a("10.0.0.1:1"), a("[::1]:1"), a("10.0.0.2:1")]
        );
    }

    #[test]
    fn a_reset_connect_is_a_refusal_and_nothing_listening_unreachable() {
        assert_eq!(
            connect_status(io::ErrorKind::ConnectionReset),
            (QUIC_STATUS_CONNECTION_REFUSED, 0x2)
        );
        assert_eq!(
            connect_status(io::ErrorKind::ConnectionRefused),
            (QUIC_STATUS_UNREACHABLE, STATUS_CLOSE_CODE)
        );
    }

    #[test]
    fn a_connect_reset_before_the_race_checks_it_fails_with_that_kind() {
        use std::os::fd::AsRawFd;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let pool = crate::runtime::worker::Pool::new(1).unwrap();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let (go_tx, go_rx) = crossbeam_channel::bounded::<()>(1);
        pool.worker(0).post(Box::new(move |cx| {
            let done: race::OnOutcome = Box::new(move |_, outcome| {
                let _ = tx.send(match outcome {
                    Outcome::Connected(_, addr) => Ok(addr),
                    Outcome::Lost(f) => Err(f),
                });
            });
            Race::start(cx, None, None, done).resolved(cx, vec![addr]);
            // The worker looks at the attempt only after the server accepted and reset it.
            let _ = go_rx.recv_timeout(Duration::from_secs(10));
        }));
        let (sock, _) = listener.accept().unwrap();
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: `sock` is an open socket and `linger` lives across the call, which reads
        // exactly its size.
        let rc = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0);
        drop(sock); // RST
        go_tx.send(()).unwrap();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(10)).unwrap(),
            Err(RaceFailure::Failed(io::ErrorKind::ConnectionReset))
        );
    }
}
