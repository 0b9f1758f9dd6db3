//! Runs `examples/rust-msquic`, written with the safe API of the crates.io `msquic` crate
//! (2.5.1-beta), over this library: `rust-msquic-echo` (an echo server and client in one
//! process, checking the bytes echoed and the events both sides saw, in order) and
//! `echo_client` (README's minimal example, kept identical to it) against the C echo server of
//! `examples/echo_server.c`. A third test compares the layouts the crate's bindings declare with
//! `include/msquic.h`.
//!
//! The library beside this test (the debug build) is installed with `scripts/install.sh` into a
//! scratch prefix (`--libdir lib`). The example is built as README's "Use from Rust" section
//! says: the crate without default features (so it does not build MsQuic from source), linked
//! with `-L native=<prefix>/lib` and run through an rpath to that directory. Its build has a
//! target directory of its own (under `target/tmp/rust-crate`), so later runs only relink it. The
//! programs must exit 0 and the library must report no panic.
//!
//! The example has its own `Cargo.lock` and is built with `--locked`: its dependencies do not
//! enter this crate's dependency graph.

// Shared by several test crates; this one runs commands with `check` only.
#[allow(dead_code)]
#[path = "common/commands.rs"]
mod commands;
mod common;

use commands::{check, kill_group};

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
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

/// The library installed in a scratch prefix, the example built against it, and a certificate.
struct Example {
    /// The directory holding `libmsquic.so.2` (and `libmsquic.so`).
    libdir: PathBuf,
    /// `<prefix>/include`, with `msquic.h`.
    includedir: PathBuf,
    /// Where the example's binaries are.
    bin: PathBuf,
    /// A certificate for `localhost` and 127.0.0.1 and its key.
    cert: PathBuf,
    key: PathBuf,
    /// A scratch directory.
    work: PathBuf,
}

/// Installs the library and builds the example, once per run.
fn example() -> &'static Example {
    static EXAMPLE: OnceLock<Example> = OnceLock::new();
    EXAMPLE.get_or_init(|| {
        let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rust-crate");
        let prefix = work.join("prefix");
        let libdir = prefix.join("lib");
        check(
            Command::new("sh")
                .arg(repo().join("scripts/install.sh"))
                .arg("--lib-file")
                .arg(common::built_library())
                .arg("--prefix")
                .arg(&prefix)
                .args(["--libdir", "lib", "--no-ldconfig"]),
            INSTALL_TIMEOUT,
            "installing the library",
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
        let target_dir = work.join("target");
        let started = Instant::now();
        check(
            Command::new(env!("CARGO"))
                .args(["build", "--locked", "--manifest-path"])
                .arg(repo().join("examples/rust-msquic/Cargo.toml"))
                .env("CARGO_TARGET_DIR", &target_dir)
                .env("CARGO_ENCODED_RUSTFLAGS", rustflags)
                .env_remove("RUSTFLAGS"),
            BUILD_TIMEOUT,
            "building examples/rust-msquic",
        );
        println!("built the example in {:?}", started.elapsed());

        let (cert, key) = certificate(&work.join("cert"));
        Example {
            libdir,
            includedir: prefix.join("include"),
            bin: target_dir.join("debug"),
            cert,
            key,
            work,
        }
    })
}

/// Fails the test if `output` reports a panic.
fn assert_no_panic(output: &Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("panicked"),
        "a panic was reported:\n--- stdout ---\n{}\n--- stderr ---\n{stderr}",
        String::from_utf8_lossy(&output.stdout),
    );
}

/// The example's server and client in one process: the echo is whole and every event expected
/// came, in order (the program checks both).
#[test]
fn echo_in_one_process() {
    let ex = example();
    let output = check(
        Command::new(ex.bin.join("rust-msquic-echo"))
            .arg(&ex.cert)
            .arg(&ex.key)
            .env_remove("LD_LIBRARY_PATH"),
        RUN_TIMEOUT,
        "rust-msquic-echo",
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("echo ok: 100000 bytes"),
        "no `echo ok` line:\n{stdout}"
    );
    assert_no_panic(&output);
}

/// README's minimal client (`src/bin/echo_client.rs`, shown there verbatim) against the C echo
/// server of `examples/echo_server.c`, both over the installed library.
#[test]
fn readme_client_against_the_c_echo_server() {
    let ex = example();
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let client_src =
        std::fs::read_to_string(repo().join("examples/rust-msquic/src/bin/echo_client.rs"))
            .expect("echo_client.rs");
    assert!(
        readme.contains(&client_src),
        "README's Rust example differs from examples/rust-msquic/src/bin/echo_client.rs"
    );

    let server = ex.work.join("echo_server");
    check(
        Command::new("cc")
            .arg(repo().join("examples/echo_server.c"))
            .arg("-o")
            .arg(&server)
            .arg(format!("-I{}", ex.includedir.display()))
            .arg(format!("-L{}", ex.libdir.display()))
            .arg("-lmsquic")
            .arg(format!("-Wl,-rpath,{}", ex.libdir.display())),
        BUILD_TIMEOUT,
        "compiling echo_server.c",
    );
    // A port free a moment ago; the server takes one connection, then exits.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
        .to_string();
    let mut child = Command::new(&server)
        .args(["-port", &port, "-count", "1", "-cert"])
        .arg(&ex.cert)
        .arg("-key")
        .arg(&ex.key)
        .env_remove("LD_LIBRARY_PATH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("start echo_server");
    // The server's output, line by line; "listening" says it is ready.
    let (line_tx, line_rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout is piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = line_tx.send(line);
        }
    });
    let mut server_lines = Vec::new();
    let deadline = Instant::now() + RUN_TIMEOUT;
    while !server_lines
        .iter()
        .any(|l: &String| l.contains("listening"))
    {
        match line_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => server_lines.push(line),
            Err(_) => {
                kill_group(&mut child);
                panic!("echo_server did not start listening: {server_lines:?}");
            }
        }
    }

    let message = "Hello from the msquic crate, carried over QMux/TLS/TCP";
    let output = check(
        Command::new(ex.bin.join("echo_client"))
            .args(["localhost", &port])
            .arg(&ex.cert)
            .arg(message)
            .env_remove("LD_LIBRARY_PATH"),
        RUN_TIMEOUT,
        "echo_client",
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("echoed: {message}")),
        "no echo:\n{stdout}"
    );
    assert_no_panic(&output);

    // The server ends after its one connection.
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for echo_server") {
            break status;
        }
        if Instant::now() >= deadline {
            kill_group(&mut child);
            panic!("echo_server did not exit: {server_lines:?}");
        }
        // Not a blind sleep: the child is polled every few milliseconds until the deadline.
        std::thread::sleep(Duration::from_millis(5));
    };
    // The rest of its output, up to the end of the pipe.
    while let Ok(line) = line_rx.recv_timeout(Duration::from_secs(5)) {
        server_lines.push(line);
    }
    assert!(
        status.success(),
        "echo_server failed ({status}): {server_lines:?}"
    );
    assert!(
        server_lines
            .iter()
            .any(|l| l.contains(&format!("stream received {} bytes", message.len()))),
        "the server did not see the message: {server_lines:?}"
    );
}

/// The layouts the crate's Linux bindings declare (bindgen's size and field-offset assertions),
/// checked against `msquic.h` with preview features, as README's "Use from Rust" says: all the
/// same except the two that grew after MsQuic 2.5 at their end.
#[test]
fn crate_layouts_match_the_header() {
    let ex = example();
    // Where cargo unpacked the crate: from the example's metadata.
    let metadata = check(
        Command::new(env!("CARGO"))
            .args([
                "metadata",
                "--format-version",
                "1",
                "--locked",
                "--manifest-path",
            ])
            .arg(repo().join("examples/rust-msquic/Cargo.toml")),
        BUILD_TIMEOUT,
        "cargo metadata",
    );
    let metadata = String::from_utf8_lossy(&metadata.stdout);
    let manifest = metadata
        .split("\"manifest_path\":\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|path| path.ends_with("/msquic-2.5.1-beta/Cargo.toml"))
        .expect("the msquic crate's manifest in cargo metadata");
    let bindings_path = Path::new(manifest)
        .parent()
        .expect("the crate's directory")
        .join("src/rs/ffi/linux_bindings.rs");
    let bindings = std::fs::read_to_string(&bindings_path).expect("the crate's bindings");
    let header =
        std::fs::read_to_string(repo().join("include/msquic.h")).expect("include/msquic.h");

    // One C check per assertion whose type the header declares.
    let mut checks = Vec::new();
    let (mut sizes, mut offsets) = (0, 0);
    for (expr, expected) in bindgen_assertions(&bindings, "size_of::<", ">()") {
        if declares(&header, &expr) {
            sizes += 1;
            checks.push(format!(
                "    if (sizeof({expr}) != {expected}) printf(\"sizeof({expr}) %zu, crate {expected}\\n\", sizeof({expr}));"
            ));
        }
    }
    for (expr, expected) in bindgen_assertions(&bindings, "offset_of!(", ")") {
        let Some((ty, field)) = expr.split_once(',') else {
            continue;
        };
        let (ty, field) = (ty.trim(), field.trim());
        if declares(&header, ty) {
            offsets += 1;
            checks.push(format!(
                "    if (offsetof({ty}, {field}) != {expected}) printf(\"offsetof({ty}, {field}) %zu, crate {expected}\\n\", offsetof({ty}, {field}));"
            ));
        }
    }
    assert!(
        sizes >= 25 && offsets >= 200,
        "too few of the crate's layout assertions found ({sizes} sizes, {offsets} offsets) in {}",
        bindings_path.display()
    );
    let source = format!(
        "#define QUIC_API_ENABLE_PREVIEW_FEATURES 1\n#include \"msquic.h\"\n#include <stddef.h>\n#include <stdio.h>\nint main(void) {{\n{}\n    return 0;\n}}\n",
        checks.join("\n")
    );
    let src = ex.work.join("crate_layouts.c");
    let exe = ex.work.join("crate_layouts");
    std::fs::write(&src, source).expect("write crate_layouts.c");
    check(
        Command::new("cc")
            .arg("-w")
            .arg(format!("-I{}", repo().join("include").display()))
            .arg(&src)
            .arg("-o")
            .arg(&exe),
        BUILD_TIMEOUT,
        "compiling crate_layouts.c",
    );
    let output = check(&mut Command::new(&exe), RUN_TIMEOUT, "crate_layouts");
    let differences = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        differences.lines().collect::<Vec<_>>(),
        [
            "sizeof(QUIC_STATISTICS_V2) 232, crate 208",
            "sizeof(QUIC_API_TABLE) 312, crate 296",
        ],
        "layouts that differ from the crate's ({sizes} sizes, {offsets} offsets compared)"
    );
}

/// bindgen's layout assertions in `bindings`: `(expression, expected)` for each
/// `<open>expression<close> - <expected>usize`, leaving out bindgen's own anonymous types.
fn bindgen_assertions(bindings: &str, open: &str, close: &str) -> Vec<(String, u64)> {
    let mut found = Vec::new();
    for rest in bindings.split(open).skip(1) {
        let Some((expr, after)) = rest.split_once(close) else {
            continue;
        };
        let Some(after) = after.trim_start().strip_prefix('-') else {
            continue;
        };
        let Some((number, _)) = after.trim_start().split_once("usize") else {
            continue;
        };
        let expr: String = expr.split_whitespace().collect::<Vec<_>>().join(" ");
        if expr.contains("bindgen") {
            continue;
        }
        if let Ok(expected) = number.trim().parse() {
            found.push((expr, expected));
        }
    }
    found
}

/// Whether `header` names the identifier `name` (as a whole word).
fn declares(header: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    header.match_indices(name).any(|(at, _)| {
        let before = header[..at].chars().next_back();
        let after = header[at + name.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}
