//! Builds and runs the C programs in `c-tests/` against the library, under AddressSanitizer and
//! UndefinedBehaviorSanitizer, and checks the shared object the way a loader sees it.
//!
//! Every `c-tests/*.c` is a program that includes `include/msquic.h` (and perhaps the helpers in
//! `c-tests/support/`), is linked with `-lmsquic` (programs named `dlopen*` instead load the
//! library with `dlopen` and are linked with `-ldl` only), and must exit 0. Every
//! `c-tests/*.cpp` must compile as C++17.

#[path = "c_suite/chain_certs.rs"]
mod chain_certs;
mod common;
#[path = "c_suite/odd_certs.rs"]
mod odd_certs;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const RUN_TIMEOUT: Duration = Duration::from_secs(120);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding the freshly built `libmsquic.so`, with `libmsquic.so.2` beside it.
fn lib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let built = common::built_library();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c-suite-lib");
        std::fs::create_dir_all(&dir).expect("create lib dir");
        for name in ["libmsquic.so", "libmsquic.so.2"] {
            let link = dir.join(name);
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(built, &link).expect("symlink library");
        }
        dir
    })
}

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c-suite-bin");
    std::fs::create_dir_all(&dir).expect("create bin dir");
    dir
}

/// Runs `cmd` to completion with a deadline, returning its output.
fn run(cmd: &mut Command, timeout: Duration) -> Output {
    let desc = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
    let deadline = Instant::now() + timeout;
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut v);
        v
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("timed out after {timeout:?}: {desc}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out_t.join().expect("stdout"),
        stderr: err_t.join().expect("stderr"),
    }
}

fn check(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Compiles `c-tests/<name>.c` with the sanitizers, linked against the library in `link_dir`.
fn compile_c(name: &str, link_dir: &Path) -> PathBuf {
    compile_c_tagged(name, "", link_dir)
}

/// As [`compile_c`], with `tag` in the executable's name so that tests building the same
/// program at once do not write over each other's executable.
fn compile_c_tagged(name: &str, tag: &str, link_dir: &Path) -> PathBuf {
    let src = root().join("c-tests").join(format!("{name}.c"));
    let exe = out_dir().join(format!(
        "{name}{tag}-{}",
        link_dir.file_name().unwrap().to_string_lossy()
    ));
    let mut cmd = Command::new("gcc");
    cmd.args(["-std=c11", "-g", "-O1", "-Wall", "-Wextra", "-Werror"]);
    // Programs named `memory*` count the heap with mallinfo2(), which ASan's allocator does
    // not feed: they run without the sanitizers.
    if !name.starts_with("memory") {
        cmd.args(["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]);
    }
    cmd.arg("-pthread").arg("-I").arg(root().join("include"));
    if !name.contains("nopreview") {
        cmd.arg("-DQUIC_API_ENABLE_PREVIEW_FEATURES");
    }
    cmd.arg(&src).arg("-o").arg(&exe);
    if name.starts_with("dlopen") {
        // A plugin host: the library is found at run time (LD_LIBRARY_PATH), not linked.
        cmd.arg("-ldl");
    } else {
        cmd.arg("-L").arg(link_dir).arg("-lmsquic");
    }
    check(
        &run(&mut cmd, RUN_TIMEOUT),
        &format!("compiling {}", src.display()),
    );
    exe
}

/// A self-signed certificate for `localhost` and 127.0.0.1, made once per run: (cert, key).
fn test_certificate() -> &'static (PathBuf, PathBuf) {
    static CERT: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    CERT.get_or_init(|| {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let cert = rcgen::generate_simple_self_signed(names).expect("generate a certificate");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c-suite-cert");
        std::fs::create_dir_all(&dir).expect("cert dir");
        let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&c, cert.cert.pem()).expect("write cert");
        std::fs::write(&k, cert.signing_key.serialize_pem()).expect("write key");
        (c, k)
    })
}

/// Runs a compiled test program against our library and returns its output.
fn run_c(exe: &Path) -> Output {
    run_c_with_env(exe, &[])
}

/// As [`run_c`], with extra environment variables for the program.
fn run_c_with_env(exe: &Path, vars: &[(&str, &str)]) -> Output {
    let (cert, key) = test_certificate();
    let output = run(
        Command::new(exe)
            .envs(vars.iter().copied())
            .env("MSQUIC_TEST_CERT", cert)
            .env("MSQUIC_TEST_KEY", key)
            .env("LD_LIBRARY_PATH", lib_dir())
            .env(
                "ASAN_OPTIONS",
                "detect_leaks=1:abort_on_error=0:exitcode=86",
            )
            .env(
                "UBSAN_OPTIONS",
                "halt_on_error=1:print_stacktrace=1:exitcode=87",
            ),
        RUN_TIMEOUT,
    );
    check(&output, &format!("running {}", exe.display()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("Sanitizer"), "sanitizer report:\n{stderr}");
    assert!(
        !stderr.contains("version information"),
        "loader warning:\n{stderr}"
    );
    output
}

fn c_program(name: &str) {
    let exe = compile_c(name, lib_dir());
    run_c(&exe);
}

/// The C programs this suite runs; `every_c_test_is_listed` keeps it complete.
const C_PROGRAMS: &[&str] = &[
    "abi_layout",
    "abi_layout_nopreview",
    "api_exerciser",
    "api_usage",
    "app_owned_buffers",
    "bad_args",
    "blocking_in_callback",
    "buffered_send",
    "cert_accept",
    "cert_chain",
    "cert_client_auth",
    "cert_events",
    "cert_oneliners",
    "close_async_late",
    "close_at_exit",
    "close_graceful",
    "close_held_sends",
    "close_reliable_buffers",
    "close_in_callbacks",
    "conn_options",
    "conn_params",
    "conn_statistics",
    "connect_statuses",
    "connection_pool",
    "cross_pool_call",
    "datagrams",
    "event_order",
    "disconnect_timeout",
    "dlopen_host",
    "dual_stack_addresses",
    "end_releases",
    "execution_config",
    "execution_poll",
    "execution_threads",
    "global_params",
    "handle_kinds",
    "handle_lifetime",
    "held_send_early",
    "happy_eyeballs",
    "handshake_timeout",
    "idle_timeout",
    "immediate_shutdown_send",
    "listener_alpn",
    "listener_alpn_choice",
    "listener_reject",
    "listener_shared_pools",
    "loopback_tcp",
    "loopback_tls",
    "many_connections",
    "memory_held_sends",
    "memory_load",
    "memory_scale",
    "multi_receive",
    "network_statistics",
    "object_params",
    "open_close",
    "peer_stream_count",
    "qmux_version",
    "receive_modes",
    "reliable_reset",
    "reliable_reset_held",
    "registration_close",
    "registration_threads",
    "send_after_shutdown",
    "send_flags",
    "settings",
    "settings_after_start",
    "shutdown_codes",
    "stream_priority",
    "stream_scale",
    "stream_shutdown_flags",
    "stream_start",
    "tls_secrets",
    "transport_mismatch",
    "log_reasons",
    "env_values",
    "resumption",
    "resumption_limits",
    "zero_rtt",
    "stream_statistics",
    "unbuffered_send",
    "xdp_map_config",
    "worker_panic",
];

#[test]
fn every_c_test_is_listed() {
    let mut found: Vec<String> = std::fs::read_dir(root().join("c-tests"))
        .expect("read c-tests")
        .filter_map(|e| {
            let p = e.ok()?.path();
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            (p.extension()? == "c").then_some(stem)
        })
        .collect();
    found.sort();
    let mut listed: Vec<String> = C_PROGRAMS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed, "c-tests/*.c and C_PROGRAMS differ");
}

#[test]
fn abi_layout() {
    c_program("abi_layout");
}

#[test]
fn abi_layout_nopreview() {
    c_program("abi_layout_nopreview");
}

/// The randomized API exerciser: a few short seeds, each in its own process so that a
/// failure names its seed (`c-tests/api_exerciser.c SEED SECONDS THREADS` replays one).
#[test]
fn api_exerciser() {
    let exe = compile_c("api_exerciser", lib_dir());
    for seed in ["1", "2", "3", "4"] {
        run_c_with_env(
            &exe,
            &[
                ("EXERCISER_SEEDS", seed),
                ("EXERCISER_SECONDS", "2"),
                ("EXERCISER_THREADS", "4"),
            ],
        );
    }
}

#[test]
fn api_usage() {
    c_program("api_usage");
}

#[test]
fn bad_args() {
    c_program("bad_args");
}

#[test]
fn buffered_send() {
    c_program("buffered_send");
}

#[test]
fn cert_accept() {
    let exe = compile_c("cert_accept", lib_dir());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cert-accept");
    let env = odd_certs::make(&dir);
    let vars: Vec<(&str, &str)> = env
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_str().expect("utf-8 path")))
        .collect();
    run_c_with_env(&exe, &vars);
}

#[test]
fn cert_chain() {
    let exe = compile_c("cert_chain", lib_dir());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cert-chain");
    let env = chain_certs::make(&dir);
    let vars: Vec<(&str, &str)> = env
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_str().expect("utf-8 path")))
        .collect();
    run_c_with_env(&exe, &vars);
}

#[test]
fn cert_client_auth() {
    c_program("cert_client_auth");
}

#[test]
fn cert_events() {
    c_program("cert_events");
}

/// The one-liner certificates in each client mode; the two commands the program runs
/// (its THROWAWAY_CMD and SERVER_CERT_CMD) must be README.md's, verbatim.
#[test]
fn cert_oneliners() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(root.join("c-tests/cert_oneliners.c")).expect("source");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    for name in ["THROWAWAY_CMD", "SERVER_CERT_CMD"] {
        let command = c_string_macro(&source, name);
        assert!(
            readme.contains(&command),
            "README.md does not give the command the test runs: {command}"
        );
    }
    c_program("cert_oneliners");
}

/// The string a C `#define NAME "a" "b" ...` (continued over lines) gives.
fn c_string_macro(source: &str, name: &str) -> String {
    let start = source
        .find(&format!("#define {name} "))
        .unwrap_or_else(|| panic!("no #define {name}"));
    let mut text = String::new();
    for line in source[start..].lines() {
        text.push_str(line.trim_end_matches('\\'));
        if !line.ends_with('\\') {
            break;
        }
    }
    text.split('"').skip(1).step_by(2).collect()
}

#[test]
fn tls_secrets() {
    c_program("tls_secrets");
}

#[test]
fn resumption() {
    c_program("resumption");
}

#[test]
fn resumption_limits() {
    c_program("resumption_limits");
}

#[test]
fn zero_rtt() {
    c_program("zero_rtt");
}

#[test]
fn loopback_tcp() {
    c_program("loopback_tcp");
}

#[test]
fn loopback_tls() {
    c_program("loopback_tls");
}

#[test]
fn unbuffered_send() {
    c_program("unbuffered_send");
}

#[test]
fn receive_modes() {
    c_program("receive_modes");
}

#[test]
fn held_send_early() {
    c_program("held_send_early");
}

#[test]
fn memory_held_sends() {
    c_program("memory_held_sends");
}

#[test]
fn memory_load() {
    c_program("memory_load");
}

#[test]
fn reliable_reset_held() {
    c_program("reliable_reset_held");
}

#[test]
fn memory_scale() {
    c_program("memory_scale");
}

#[test]
fn multi_receive() {
    c_program("multi_receive");
}

#[test]
fn app_owned_buffers() {
    c_program("app_owned_buffers");
}

#[test]
fn open_close() {
    c_program("open_close");
}

#[test]
fn send_flags() {
    c_program("send_flags");
}

#[test]
fn send_after_shutdown() {
    c_program("send_after_shutdown");
}

#[test]
fn settings() {
    c_program("settings");
}

#[test]
fn close_async_late() {
    c_program("close_async_late");
}

#[test]
fn immediate_shutdown_send() {
    c_program("immediate_shutdown_send");
}

#[test]
fn cross_pool_call() {
    c_program("cross_pool_call");
}

#[test]
fn close_held_sends() {
    c_program("close_held_sends");
}

#[test]
fn close_reliable_buffers() {
    c_program("close_reliable_buffers");
}

#[test]
fn end_releases() {
    c_program("end_releases");
}

#[test]
fn close_graceful() {
    c_program("close_graceful");
}

#[test]
fn event_order() {
    c_program("event_order");
}

#[test]
fn close_in_callbacks() {
    c_program("close_in_callbacks");
}

#[test]
fn handle_lifetime() {
    c_program("handle_lifetime");
}

#[test]
fn handle_kinds() {
    c_program("handle_kinds");
}

#[test]
fn conn_options() {
    c_program("conn_options");
}

#[test]
fn conn_params() {
    c_program("conn_params");
}

#[test]
fn stream_priority() {
    c_program("stream_priority");
}

#[test]
fn stream_scale() {
    c_program("stream_scale");
}

#[test]
fn stream_start() {
    c_program("stream_start");
}

#[test]
fn conn_statistics() {
    c_program("conn_statistics");
}

#[test]
fn network_statistics() {
    c_program("network_statistics");
}

#[test]
fn connect_statuses() {
    c_program("connect_statuses");
}

/// MsQuicClose from an exit handler, after glibc destroyed the thread's thread-locals: the close
/// completes and nothing panics.
#[test]
fn close_at_exit() {
    let exe = compile_c("close_at_exit", lib_dir());
    let out = run_c(&exe);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stdout.contains("closed at exit"),
        "the exit handler did not finish:\n{stdout}"
    );
    assert!(
        !stderr.contains("panicked"),
        "a panic was reported:\n{stderr}"
    );
}

/// Debug builds say on stderr that RegistrationClose was called inside a callback while the
/// registration had open objects (MsQuic forbids it: a deadlock).
#[test]
fn blocking_in_callback() {
    if !cfg!(debug_assertions) {
        return; // The warning is a debug build's.
    }
    let exe = compile_c("blocking_in_callback", lib_dir());
    let out = run_c(&exe);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("msquic-qmux: RegistrationClose called on a worker thread"),
        "no warning:\n{err}"
    );
}

/// Needs the library's debug-build resolver hook.
#[test]
fn happy_eyeballs() {
    if cfg!(debug_assertions) {
        c_program("happy_eyeballs");
    }
}

/// Needs the library's debug-build fault-injection hook.
#[test]
fn worker_panic() {
    if cfg!(debug_assertions) {
        c_program("worker_panic");
    }
}

#[test]
fn dual_stack_addresses() {
    c_program("dual_stack_addresses");
}

#[test]
fn connection_pool() {
    c_program("connection_pool");
}

#[test]
fn datagrams() {
    c_program("datagrams");
}

#[test]
fn peer_stream_count() {
    c_program("peer_stream_count");
}

#[test]
fn stream_statistics() {
    c_program("stream_statistics");
}

#[test]
fn reliable_reset() {
    c_program("reliable_reset");
}

#[test]
fn stream_shutdown_flags() {
    c_program("stream_shutdown_flags");
}

#[test]
fn dlopen_host() {
    c_program("dlopen_host");
}

#[test]
fn execution_config() {
    c_program("execution_config");
}

#[test]
fn execution_poll() {
    c_program("execution_poll");
}

#[test]
fn execution_threads() {
    c_program("execution_threads");
}

#[test]
fn handshake_timeout() {
    c_program("handshake_timeout");
}

#[test]
fn disconnect_timeout() {
    c_program("disconnect_timeout");
}

#[test]
fn idle_timeout() {
    c_program("idle_timeout");
}

#[test]
fn listener_alpn() {
    c_program("listener_alpn");
}

#[test]
fn listener_alpn_choice() {
    c_program("listener_alpn_choice");
}

#[test]
fn listener_reject() {
    c_program("listener_reject");
}

/// Runs `c-tests/<name>.c` with `vars` (and MSQUIC_QMUX_LOG as given there) and returns its
/// stderr, with every `wanted` piece of text checked to be in it.
fn c_program_logs(name: &str, vars: &[(&str, &str)], wanted: &[&str]) -> String {
    let exe = compile_c(name, lib_dir());
    let out = run_c_with_env(&exe, vars);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    for w in wanted {
        assert!(err.contains(w), "{name}: the log lacks {w:?}:\n{err}");
    }
    err
}

#[test]
fn transport_mismatch() {
    c_program_logs(
        "transport_mismatch",
        &[("MSQUIC_QMUX_LOG", "info")],
        &[
            // The TLS client, and the TLS server's listener, meeting a plain end.
            "QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT \
             Status=QUIC_STATUS_VER_NEG_ERROR (0x5d) ErrorCode=0x1: the peer is not speaking \
             QMux over TLS 1.3 (it sent a plain QMux record): both ends must use the same \
             transport (MSQUIC_QMUX_TRANSPORT / QUIC_PARAM_REGISTRATION_TRANSPORT)",
            ": QUIC_STATUS_VER_NEG_ERROR (0x5d): the peer is not speaking QMux over TLS 1.3",
            // The plain server, and the plain client, meeting a TLS end.
            "Status=QUIC_STATUS_VER_NEG_ERROR (0x5d) ErrorCode=0x1: the peer is not speaking \
             QMux over plain TCP (it sent a TLS record)",
        ],
    );
}

#[test]
fn log_reasons() {
    let info = c_program_logs(
        "log_reasons",
        &[("MSQUIC_QMUX_LOG", "info")],
        &[
            // The transport line, when the first registration opens.
            "transport: QMux over TLS 1.3 (the default; MSQUIC_QMUX_TRANSPORT not set)",
            // (a) a missing certificate file, named, with the OS error.
            "ConfigurationLoadCredential failed: QUIC_STATUS_TLS_ERROR (0x7e): cannot read \
             /nonexistent/qmux-test/",
            "No such file or directory",
            // (b) an ALPN mismatch: the status on the client, both lists on the listener.
            "Status=QUIC_STATUS_ALPN_NEG_FAILURE (0x5c)",
            "(no matching ALPN): the client offered [\"other-alpn\"], the listeners on this \
             address take [\"reasons\"]",
            "this end's ALPNs: [\"other-alpn\"]",
            // (c) a server configuration without a credential.
            "ConnectionSetConfiguration failed: QUIC_STATUS_INVALID_PARAMETER (0x16): the \
             configuration has no credential",
            "the NEW_CONNECTION callback returned QUIC_STATUS_INVALID_PARAMETER (0x16) (in the \
             callback, ConnectionSetConfiguration failed",
            "Status=QUIC_STATUS_CONNECTION_REFUSED (0x6f)",
            // (d) certificates refused by the client, in words, and the server's view.
            "the peer's certificate was refused: unknown issuer",
            "the peer's certificate was refused: name mismatch: the certificate is for \
             localhost, 127.0.0.1, connecting to wrong.example",
            "the peer refused this end's certificate",
            // Event names.
            "QUIC_CONNECTION_EVENT_CONNECTED SessionResumed=0 NegotiatedAlpn=reasons",
            "QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER ErrorCode=0x0",
            "QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE HandshakeCompleted=1",
            "QUIC_LISTENER_EVENT_NEW_CONNECTION",
            // The idle timeout, a graceful close.
            "Status=QUIC_STATUS_CONNECTION_IDLE (0x3e) ErrorCode=0x1: idle timeout",
            "(a graceful close)",
        ],
    );
    // Stream events are for `debug`; a graceful close is neither aborted nor an error.
    for unwanted in ["QUIC_STREAM_EVENT", "ABORTED", "stream event"] {
        assert!(
            !info.contains(unwanted),
            "log_reasons: {unwanted:?} at info:\n{info}"
        );
    }
    let debug = c_program_logs(
        "log_reasons",
        &[("MSQUIC_QMUX_LOG", "DEBUG")],
        &[
            "QUIC_STREAM_EVENT_START_COMPLETE Status=QUIC_STATUS_SUCCESS (0x0) ID=0",
            "QUIC_STREAM_EVENT_RECEIVE AbsoluteOffset=0 TotalBufferLength=5 BufferCount=1",
            "QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE Graceful=1",
            "QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE ConnectionShutdown=0",
            "QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED",
        ],
    );
    // No Rust debug output of engine events.
    for unwanted in ["stream event", "StreamData", "{ id:", "ABORTED"] {
        assert!(
            !debug.contains(unwanted),
            "log_reasons: {unwanted:?} at debug:\n{debug}"
        );
    }
}

#[test]
fn env_values() {
    // Values in any case; an unknown one warns once (even with logging off) and the default
    // applies.
    let exe = compile_c("env_values", lib_dir());
    let tcp = run_c_with_env(
        &exe,
        &[
            ("MSQUIC_QMUX_TRANSPORT", "TCP"),
            ("MSQUIC_QMUX_LOG", "Info"),
            ("QMUX_EXPECT_TRANSPORT", "2"),
        ],
    );
    let err = String::from_utf8_lossy(&tcp.stderr);
    assert!(
        err.contains("transport: QMux over plain TCP (from MSQUIC_QMUX_TRANSPORT)"),
        "{err}"
    );
    assert!(!err.contains("warning"), "{err}");
    let odd = run_c_with_env(
        &exe,
        &[
            ("MSQUIC_QMUX_TRANSPORT", "quic"),
            ("MSQUIC_QMUX_LOG", "verbose"),
            ("QMUX_EXPECT_TRANSPORT", "1"),
        ],
    );
    let err = String::from_utf8_lossy(&odd.stderr);
    let mut lines: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "msquic-qmux: warning: MSQUIC_QMUX_LOG=verbose is not one of off, info, debug, \
             trace; logging stays off",
            "msquic-qmux: warning: MSQUIC_QMUX_TRANSPORT=quic is not one of tls, tcp; the \
             transport stays QMux over TLS 1.3 (tls)",
        ],
        "{err}"
    );
    assert!(!err.contains("msquic-qmux INFO"), "{err}");
}

#[test]
fn listener_shared_pools() {
    c_program("listener_shared_pools");
}

#[test]
fn many_connections() {
    c_program("many_connections");
}

#[test]
fn registration_close() {
    c_program("registration_close");
}

#[test]
fn registration_threads() {
    c_program("registration_threads");
}

#[test]
fn shutdown_codes() {
    c_program("shutdown_codes");
}

/// Logging: silent without `MSQUIC_QMUX_LOG`; with `info`, connection and listener events are
/// single timestamped lines on stderr naming the handle, and stream events (debug) are not.
#[test]
fn logging_info() {
    let exe = compile_c_tagged("loopback_tls", "-log", lib_dir());
    let quiet = run_c(&exe);
    let quiet = String::from_utf8_lossy(&quiet.stderr);
    assert!(!quiet.contains("msquic-qmux"), "logged while off:\n{quiet}");
    let logged = run_c_with_env(&exe, &[("MSQUIC_QMUX_LOG", "info")]);
    let err = String::from_utf8_lossy(&logged.stderr);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.contains(" msquic-qmux "))
        .collect();
    let has = |what: &str| {
        lines
            .iter()
            .any(|l| l.contains(" INFO [0x") && l.contains(what))
    };
    assert!(
        has("QUIC_CONNECTION_EVENT_CONNECTED SessionResumed=0 NegotiatedAlpn="),
        "no connected line:\n{err}"
    );
    assert!(has("connection start"), "no start line:\n{err}");
    assert!(has("listener start"), "no listener start line:\n{err}");
    assert!(has("listener stop"), "no listener stop line:\n{err}");
    assert!(
        has("QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE HandshakeCompleted=1"),
        "no shutdown line:\n{err}"
    );
    assert!(
        !err.contains(" DEBUG ") && !err.contains(" TRACE "),
        "{err}"
    );
    // A time of day leads each line: HH:MM:SS.micros.
    assert!(
        lines
            .iter()
            .all(|l| l.as_bytes().get(2) == Some(&b':') && l.as_bytes().get(8) == Some(&b'.')),
        "{err}"
    );
}

#[test]
fn cpp_files_compile() {
    let mut n = 0;
    for entry in std::fs::read_dir(root().join("c-tests")).expect("read c-tests") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_none_or(|e| e != "cpp") {
            continue;
        }
        for preview in [true, false] {
            let mut cmd = Command::new("g++");
            cmd.args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"])
                .arg("-I")
                .arg(root().join("include"));
            if preview {
                cmd.arg("-DQUIC_API_ENABLE_PREVIEW_FEATURES");
            }
            check(
                &run(cmd.arg(&path), RUN_TIMEOUT),
                &format!("g++ {}", path.display()),
            );
        }
        n += 1;
    }
    assert!(n > 0, "no C++ file in c-tests/");
}

fn tool_output(tool: &str, args: &[&str], file: &Path) -> String {
    let output = run(Command::new(tool).args(args).arg(file), RUN_TIMEOUT);
    check(&output, tool);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn soname_is_libmsquic_so_2() {
    let dynamic = tool_output("readelf", &["-d"], &lib_dir().join("libmsquic.so"));
    assert!(
        dynamic.contains("Library soname: [libmsquic.so.2]"),
        "{dynamic}"
    );
}

#[test]
fn the_random_generator_is_seeded_by_the_os_not_jitter_entropy() {
    // `.cargo/config.toml` builds AWS-LC without its CPU jitter entropy source, whose first use
    // in a process costs about 40 ms; were it built in, its `jent_` functions would be there.
    let symbols = tool_output("nm", &[], &lib_dir().join("libmsquic.so"));
    assert!(symbols.lines().count() > 1000, "nm found no symbol table");
    let jitter: Vec<&str> = symbols.lines().filter(|l| l.contains("jent_")).collect();
    assert!(jitter.is_empty(), "jitter entropy built in: {jitter:?}");
}

#[test]
fn exports_exactly_the_two_versioned_functions() {
    let table = tool_output("objdump", &["-T"], &lib_dir().join("libmsquic.so"));
    let mut defined: Vec<(String, String)> = table
        .lines()
        .filter(|l| !l.contains("*UND*"))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // address, binding/flags..., section, size, version, name
            let sect = f.iter().position(|s| s.starts_with('.') || *s == "*ABS*")?;
            let name = f.last()?.to_string();
            let version = f.get(sect + 2)?.to_string();
            Some((name, version))
        })
        .filter(|(name, _)| name != "msquic")
        .collect();
    defined.sort();
    assert_eq!(
        defined,
        vec![
            ("MsQuicClose".to_string(), "msquic".to_string()),
            ("MsQuicOpenVersion".to_string(), "msquic".to_string()),
        ],
        "{table}"
    );
}

/// A program linked against another library that carries the `msquic` version node (as
/// Microsoft's does) records `MsQuicOpenVersion@msquic`; run against ours it must load
/// silently and work.
#[test]
fn binary_linked_against_versioned_msquic_loads_ours() {
    let stub_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c-suite-stub");
    std::fs::create_dir_all(&stub_dir).expect("stub dir");
    let map = stub_dir.join("stub.map");
    std::fs::write(
        &map,
        "msquic { global: MsQuicOpenVersion; MsQuicClose; local: *; };\n",
    )
    .expect("write map");
    let mut cmd = Command::new("gcc");
    cmd.args(["-shared", "-fPIC", "-Wl,-soname,libmsquic.so.2"])
        .arg(format!("-Wl,--version-script={}", map.display()))
        .arg(root().join("c-tests/support/stub_msquic.c"))
        .arg("-o")
        .arg(stub_dir.join("libmsquic.so"));
    check(&run(&mut cmd, RUN_TIMEOUT), "building the stub library");

    let exe = compile_c("open_close", &stub_dir);
    let needs = tool_output("readelf", &["-V"], &exe);
    assert!(
        needs.contains("Name: msquic"),
        "no msquic version need:\n{needs}"
    );
    run_c(&exe);
}

#[test]
fn global_params() {
    c_program("global_params");
}

/// The library's own version (an extension parameter) is Cargo's `version` for this build.
#[test]
fn qmux_version() {
    let exe = compile_c("qmux_version", lib_dir());
    run_c_with_env(
        &exe,
        &[("QMUX_EXPECTED_VERSION", env!("CARGO_PKG_VERSION"))],
    );
}

#[test]
fn settings_after_start() {
    c_program("settings_after_start");
}

#[test]
fn xdp_map_config() {
    c_program("xdp_map_config");
}

#[test]
fn object_params() {
    c_program("object_params");
}
