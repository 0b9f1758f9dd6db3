//! The few socket calls std and mio do not offer, made directly through libc: the only
//! `unsafe` code in the runtime.

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;

/// A `sockaddr_storage` holding `addr`, and its length.
fn raw_sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero bytes are a valid (empty) sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and suitably aligned for sockaddr_in.
            unsafe {
                std::ptr::addr_of_mut!(storage)
                    .cast::<libc::sockaddr_in>()
                    .write(sin)
            };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and suitably aligned for sockaddr_in6.
            unsafe {
                std::ptr::addr_of_mut!(storage)
                    .cast::<libc::sockaddr_in6>()
                    .write(sin6)
            };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// A non-blocking TCP socket bound to `local` with a connect to `addr` in progress.
pub(crate) fn bound_connect(
    local: SocketAddr,
    addr: SocketAddr,
) -> io::Result<std::net::TcpStream> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let domain = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: socket(2) with constant arguments; the result is checked.
    let fd = unsafe {
        libc::socket(
            domain,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new socket that nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let (la, llen) = raw_sockaddr(local);
    // SAFETY: `la` is a valid socket address of `llen` bytes; `owned` is an open socket.
    if unsafe { libc::bind(owned.as_raw_fd(), std::ptr::addr_of!(la).cast(), llen) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let (ra, rlen) = raw_sockaddr(addr);
    // SAFETY: as above, for `ra` and `rlen`.
    if unsafe { libc::connect(owned.as_raw_fd(), std::ptr::addr_of!(ra).cast(), rlen) } != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(e);
        }
    }
    Ok(std::net::TcpStream::from(owned))
}

/// Adds `fd` to the epoll instance `epfd`, level-triggered readable, with `data` as the
/// event's user data (`epoll_event.data`).
pub(crate) fn epoll_add(epfd: RawFd, fd: RawFd, data: u64) -> io::Result<()> {
    let mut event = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: data,
    };
    // SAFETY: `event` is a valid `epoll_event` for the duration of the call; the kernel
    // checks both descriptors.
    let r = unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, &mut event) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Removes `fd` from the epoll instance `epfd`.
pub(crate) fn epoll_del(epfd: RawFd, fd: RawFd) -> io::Result<()> {
    // SAFETY: EPOLL_CTL_DEL ignores the event pointer (NULL is allowed since Linux 2.6.9);
    // the kernel checks both descriptors.
    let r = unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The socket's send-buffer capacity in bytes (`SO_SNDBUF`, as the kernel reports it: on
/// Linux the doubled figure that includes bookkeeping, and growing as autotuning raises it).
pub(crate) fn send_buffer_size(sock: &impl std::os::fd::AsRawFd) -> io::Result<usize> {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for writes and `len` holds the size of `value`;
    // the descriptor is borrowed from a live socket for the duration of the call.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            std::ptr::addr_of_mut!(value).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(usize::try_from(value).unwrap_or(0))
}

/// Sends `slices` in order on a connected stream socket with one `sendmsg` (at most
/// `UIO_MAXIOV` of them; the kernel refuses more), without raising SIGPIPE if the peer is
/// gone (`writev` would, and the application may not ignore it). Returns the bytes taken.
pub(crate) fn send_vectored(
    sock: &impl std::os::fd::AsRawFd,
    slices: &[std::io::IoSlice<'_>],
) -> io::Result<usize> {
    // SAFETY: all-zero bytes are a valid msghdr (no address, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // `IoSlice` is ABI-compatible with `iovec` on Unix; the kernel only reads them.
    msg.msg_iov = slices.as_ptr().cast_mut().cast();
    msg.msg_iovlen = slices.len();
    // SAFETY: `msg` points at `slices.len()` valid iovecs, each naming readable bytes
    // borrowed for the duration of the call; the descriptor is borrowed from a live socket.
    let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// The processor time the calling thread has used.
#[cfg(test)]
pub(crate) fn thread_cpu_time() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write; CLOCK_THREAD_CPUTIME_ID needs nothing else.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Restricts the calling thread to processor `cpu`.
pub(crate) fn pin_current_thread(cpu: usize) -> io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    // SAFETY: all-zero bytes are a valid, empty cpu_set_t.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is below CPU_SETSIZE (checked above), so the bit is inside `set`.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is the calling thread.
    let rc = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets the calling thread's nice value (Linux schedules threads individually).
pub(crate) fn set_current_thread_nice(nice: i32) -> io::Result<()> {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    // SAFETY: setpriority takes plain integers; `tid` names the calling thread.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The number of processors configured on the machine (what processor numbers range over).
pub(crate) fn processor_count() -> usize {
    // SAFETY: sysconf takes a plain integer.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(1)
}

/// The processors the calling thread may run on, in increasing order.
pub(crate) fn allowed_processors() -> Vec<usize> {
    // SAFETY: all-zero bytes are a valid, empty cpu_set_t.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a writable cpu_set_t of the size passed; pid 0 is the calling thread.
    let rc = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) };
    if rc != 0 {
        return Vec::new();
    }
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `i` is below CPU_SETSIZE, so the bit is inside `set`.
        .filter(|&i| unsafe { libc::CPU_ISSET(i, &set) })
        .collect()
}

/// The kernel's `struct tcp_info` up to `tcpi_data_segs_out` (Linux's layout; a kernel that
/// knows fewer fields fills fewer and leaves the rest zero).
#[repr(C)]
#[derive(Default)]
struct RawTcpInfo {
    state: u8,
    ca_state: u8,
    retransmits: u8,
    probes: u8,
    backoff: u8,
    options: u8,
    wscale: u8,
    flags: u8,
    rto: u32,
    ato: u32,
    snd_mss: u32,
    rcv_mss: u32,
    unacked: u32,
    sacked: u32,
    lost: u32,
    retrans: u32,
    fackets: u32,
    last_data_sent: u32,
    last_ack_sent: u32,
    last_data_recv: u32,
    last_ack_recv: u32,
    pmtu: u32,
    rcv_ssthresh: u32,
    rtt: u32,
    rttvar: u32,
    snd_ssthresh: u32,
    snd_cwnd: u32,
    advmss: u32,
    reordering: u32,
    rcv_rtt: u32,
    rcv_space: u32,
    total_retrans: u32,
    pacing_rate: u64,
    max_pacing_rate: u64,
    bytes_acked: u64,
    bytes_received: u64,
    segs_out: u32,
    segs_in: u32,
    notsent_bytes: u32,
    min_rtt: u32,
    data_segs_in: u32,
    data_segs_out: u32,
}

/// TCP_INFO for a connected socket.
pub(crate) fn tcp_info(
    sock: &impl std::os::fd::AsRawFd,
) -> io::Result<crate::runtime::conn::TcpInfo> {
    let mut raw = RawTcpInfo::default();
    let mut len = size_of::<RawTcpInfo>() as libc::socklen_t;
    // SAFETY: `raw` and `len` are valid for writes and `len` holds the size of `raw`; the
    // kernel writes at most `len` bytes. The descriptor is borrowed from a live socket.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            std::ptr::addr_of_mut!(raw).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(crate::runtime::conn::TcpInfo {
        rtt_us: raw.rtt,
        min_rtt_us: raw.min_rtt,
        rtt_var_us: raw.rttvar,
        congestion_window: u64::from(raw.snd_cwnd) * u64::from(raw.snd_mss),
        path_mtu: raw.pmtu,
        total_retransmits: raw.total_retrans,
        unsent_bytes: u64::from(raw.notsent_bytes),
        data_segs_in: raw.data_segs_in,
    })
}

/// Bytes in a TCP socket's send queue not yet acknowledged by the peer, sent or not
/// (SIOCOUTQ).
pub(crate) fn send_queue_bytes(sock: &impl std::os::fd::AsRawFd) -> io::Result<u64> {
    let mut queued: libc::c_int = 0;
    // SAFETY: SIOCOUTQ writes one c_int to the pointer given, which points at `queued`; the
    // descriptor is borrowed from a live socket.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), libc::TIOCOUTQ, &mut queued) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(u64::try_from(queued).unwrap_or(0))
}

/// Sets the DSCP bits of a socket's traffic class (the upper six bits of IP_TOS, or of
/// IPV6_TCLASS for an IPv6 socket).
pub(crate) fn set_dscp(sock: &impl std::os::fd::AsRawFd, dscp: u8, v6: bool) -> io::Result<()> {
    let value: libc::c_int = libc::c_int::from(dscp) << 2;
    let (level, name) = if v6 {
        (libc::IPPROTO_IPV6, libc::IPV6_TCLASS)
    } else {
        (libc::IPPROTO_IP, libc::IP_TOS)
    };
    // SAFETY: `value` is a valid c_int of the length passed; the descriptor is borrowed from
    // a live socket.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            std::ptr::addr_of!(value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The DSCP bits of a socket's IPv4 traffic class (for tests).
#[cfg(test)]
fn dscp_of(sock: &impl std::os::fd::AsRawFd) -> io::Result<u8> {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for writes and `len` holds the size of `value`.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_TOS,
            std::ptr::addr_of_mut!(value).cast(),
            &mut len,
        )
    };
    if r == 0 {
        Ok((value >> 2) as u8)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A non-blocking listening TCP socket on the IPv6 address `addr` that takes IPv6 peers
/// only (`IPV6_V6ONLY`), with `SO_REUSEADDR` as std and mio set it.
pub(crate) fn listen_v6_only(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: socket(2) with constant arguments; the result is checked.
    let fd = unsafe {
        libc::socket(
            libc::AF_INET6,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new socket that nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    for (level, name) in [
        (libc::SOL_SOCKET, libc::SO_REUSEADDR),
        (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY),
    ] {
        // SAFETY: `one` is a valid int of the length passed; `owned` is an open socket.
        let r = unsafe {
            libc::setsockopt(
                owned.as_raw_fd(),
                level,
                name,
                std::ptr::addr_of!(one).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let (a, len) = raw_sockaddr(addr);
    // SAFETY: `a` is a valid socket address of `len` bytes; `owned` is an open socket.
    if unsafe { libc::bind(owned.as_raw_fd(), std::ptr::addr_of!(a).cast(), len) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `owned` is an open, bound socket.
    if unsafe { libc::listen(owned.as_raw_fd(), 1024) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(std::net::TcpListener::from(owned))
}

/// Whether `sock` is in non-blocking mode (O_NONBLOCK); false if that cannot be read.
pub(crate) fn is_nonblocking(sock: &impl std::os::fd::AsRawFd) -> bool {
    // SAFETY: F_GETFL takes no argument and only reads the descriptor's flags; the
    // descriptor is borrowed from a live socket.
    let flags = unsafe { libc::fcntl(sock.as_raw_fd(), libc::F_GETFL) };
    flags >= 0 && flags & libc::O_NONBLOCK != 0
}

/// Sets SO_LINGER to on with a zero timeout: closing the socket then sends a reset.
pub(crate) fn linger_zero(sock: &impl std::os::fd::AsRawFd) -> io::Result<()> {
    let value = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `value` is a valid linger struct of the length passed; the descriptor is
    // borrowed from a live socket.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::addr_of!(value).cast(),
            size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v6_only_listener_refuses_ipv4_peers() {
        let listener = listen_v6_only("[::]:0".parse().unwrap()).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(std::net::TcpStream::connect(("::1", port)).is_ok());
        let v4 = std::net::TcpStream::connect(("127.0.0.1", port));
        assert_eq!(
            v4.unwrap_err().kind(),
            std::io::ErrorKind::ConnectionRefused
        );
    }

    #[test]
    fn tcp_info_reports_a_live_connection() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let sock = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let info = tcp_info(&sock).unwrap();
        assert!(info.path_mtu > 0, "{info:?}");
        assert!(info.congestion_window > 0, "{info:?}");
    }

    #[test]
    fn send_queue_of_an_idle_connection_is_empty() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let sock = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        assert_eq!(send_queue_bytes(&sock).unwrap(), 0);
        assert_eq!(tcp_info(&sock).unwrap().unsent_bytes, 0);
    }

    #[test]
    fn dscp_marks_the_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let sock = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        set_dscp(&sock, 46, false).unwrap();
        assert_eq!(dscp_of(&sock).unwrap(), 46);
    }

    #[test]
    fn vectored_sends_arrive_in_order_and_a_gone_peer_is_an_error_not_a_signal() {
        use std::io::{IoSlice, Read};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let sock = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        let slices = [IoSlice::new(b"ab"), IoSlice::new(b""), IoSlice::new(b"cde")];
        assert_eq!(send_vectored(&sock, &slices).unwrap(), 5);
        let mut got = [0u8; 5];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"abcde");
        drop(peer);
        // The first send after the peer closed draws its RST; a later one fails with EPIPE,
        // which with writev would also raise SIGPIPE and end this test process.
        let mut failed = None;
        for _ in 0..1000 {
            if let Err(e) = send_vectored(&sock, &slices) {
                failed = Some(e);
                break;
            }
            std::thread::yield_now();
        }
        let e = failed.expect("sends to a closed peer kept succeeding");
        assert!(
            matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ),
            "{e}"
        );
    }

    #[test]
    fn send_buffer_size_reports_the_socket_capacity() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let sock = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let size = send_buffer_size(&sock).unwrap();
        assert!(size > 0, "SO_SNDBUF {size}");
    }
}
