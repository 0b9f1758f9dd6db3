//! Runs `examples/rust-msquic`, an echo server and client written with the safe API of the
//! crates.io `msquic` crate (2.5.1-beta), over this library.
//!
//! The library beside this test (the debug build) is installed with `scripts/install.sh` into a
//! scratch prefix (`--libdir lib`). The example is built as README's "Use from Rust" section
//! says: the crate without default features (so it does not build MsQuic from source), linked
//! with `-L native=<prefix>/lib` and run through an rpath to that directory. Its build has a
//! target directory of its own (`target/rust-msquic`), so later runs only relink it. The program
//! checks the bytes echoed and the events both sides saw; this test checks that it exits 0,
//! says `echo ok`, and that the library reported no panic.
//!
//! The example has its own `Cargo.lock` and is built with `--locked`: its dependencies do not
//! enter this crate's dependency graph.

mod common;

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Limit for installing the library into the scratch prefix.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(120);
/// Limit for building the example (its dependencies are fetched and compiled on a first run).
const BUILD_TIMEOUT: Duration = Duration::from_secs(600);
/// Limit for running the example.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The repository root.
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `cmd` with no input, in a process group of its own, and waits at most `timeout` for it;
/// on timeout the group is killed and the test fails, showing what the command printed.
fn run(cmd: &mut Command, timeout: Duration) -> Output {
    let desc = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {desc}: {e}"));
    let deadline = Instant::now() + timeout;
    let (tx, rx) = mpsc::channel();
    drain(child.stdout.take().expect("stdout is piped"), 0, tx.clone());
    drain(child.stderr.take().expect("stderr is piped"), 1, tx);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => panic!("waiting for {desc}: {e}"),
        }
        if Instant::now() >= deadline {
            kill_group(&mut child);
            let (out, err) = collect(&rx, Instant::now() + Duration::from_secs(5));
            panic!(
                "timed out after {timeout:?}, killed: {desc}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&err),
            );
        }
        // Not a blind sleep: the child is polled every few milliseconds until the deadline.
        std::thread::sleep(Duration::from_millis(5));
    };
    let (stdout, stderr) = collect(&rx, Instant::now() + Duration::from_secs(5));
    let output = Output {
        status,
        stdout,
        stderr,
    };
    assert!(
        output.status.success(),
        "{desc} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    output
}

/// Reads `pipe` to its end on a thread of its own, then sends `(which, bytes)` on `tx`.
fn drain(mut pipe: impl Read + Send + 'static, which: u8, tx: mpsc::Sender<(u8, Vec<u8>)>) {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = tx.send((which, bytes));
    });
}

/// Waits until `deadline` for both pipes read by [`drain`]: (stdout, stderr).
fn collect(rx: &mpsc::Receiver<(u8, Vec<u8>)>, deadline: Instant) -> (Vec<u8>, Vec<u8>) {
    let (mut out, mut err) = (None, None);
    while out.is_none() || err.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((0, bytes)) => out = Some(bytes),
            Ok((_, bytes)) => err = Some(bytes),
            Err(_) => break,
        }
    }
    (out.unwrap_or_default(), err.unwrap_or_default())
}

/// Kills the process group led by `child`, which has not been reaped, and reaps it.
fn kill_group(child: &mut Child) {
    let pgid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
    // SAFETY: kill(2) takes plain integers and touches no memory of ours. The child leads its
    // own process group and is not yet reaped, so `-pgid` names exactly that group.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    let _ = child.wait();
}

/// Writes a self-signed certificate for `localhost` and 127.0.0.1 into `dir`: (cert, key).
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let made = rcgen::generate_simple_self_signed(names).expect("generate a certificate");
    std::fs::create_dir_all(dir).expect("certificate directory");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).expect("write the certificate");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("write the key");
    (cert, key)
}

#[test]
fn msquic_crate_echo() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rust-crate");
    let prefix = work.join("prefix");
    let libdir = prefix.join("lib");
    run(
        Command::new("sh")
            .arg(repo().join("scripts/install.sh"))
            .arg("--lib-file")
            .arg(common::built_library())
            .arg("--prefix")
            .arg(&prefix)
            .args(["--libdir", "lib", "--no-ldconfig"]),
        INSTALL_TIMEOUT,
    );

    // As README says: no default features, `-L native=<libdir>`, an rpath to find it at run
    // time. The encoded form keeps a path with spaces in one argument, and takes precedence
    // over any RUSTFLAGS of the environment.
    let libdir_str = libdir.to_str().expect("a UTF-8 path");
    let rustflags = [
        "-L".to_string(),
        format!("native={libdir_str}"),
        "-C".to_string(),
        format!("link-arg=-Wl,-rpath,{libdir_str}"),
    ]
    .join("\x1f");
    let target_dir = repo().join("target/rust-msquic");
    let manifest = repo().join("examples/rust-msquic/Cargo.toml");
    let started = Instant::now();
    run(
        Command::new(env!("CARGO"))
            .args(["build", "--locked", "--manifest-path"])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", &target_dir)
            .env("CARGO_ENCODED_RUSTFLAGS", rustflags)
            .env_remove("RUSTFLAGS"),
        BUILD_TIMEOUT,
    );
    println!("built the example in {:?}", started.elapsed());

    let (cert, key) = certificate(&work.join("cert"));
    let output = run(
        Command::new(target_dir.join("debug/rust-msquic-echo"))
            .arg(&cert)
            .arg(&key)
            .env_remove("LD_LIBRARY_PATH")
            .env("RUST_BACKTRACE", "1"),
        RUN_TIMEOUT,
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stdout.contains("echo ok: 100000 bytes"),
        "no `echo ok` line:\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "a panic was reported:\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    );
}
