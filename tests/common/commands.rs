//! Running the tools the integration tests drive (install script, packaging, compilers, cargo,
//! readelf): with a deadline, in a process group of their own, their output kept for the
//! failure message.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Limit for a quick tool: pkg-config, readelf, a `--version` probe.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `cmd` with no input, in a process group of its own, and waits at most `timeout` for it.
///
/// On timeout the whole group is killed and the test fails, showing what the command printed.
/// An error is returned only when the program cannot be started.
pub fn try_run(cmd: &mut Command, timeout: Duration) -> std::io::Result<Output> {
    let desc = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn()?;
    let deadline = Instant::now() + timeout;
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    drain(stdout, 0, tx.clone());
    drain(stderr, 1, tx);
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
                String::from_utf8_lossy(&out.unwrap_or_default()),
                String::from_utf8_lossy(&err.unwrap_or_default()),
            );
        }
        // Not a blind sleep: the child is polled every few milliseconds until the deadline.
        std::thread::sleep(Duration::from_millis(5));
    };
    match collect(&rx, deadline.max(Instant::now() + Duration::from_secs(5))) {
        (Some(stdout), Some(stderr)) => Ok(Output {
            status,
            stdout,
            stderr,
        }),
        _ => panic!("{desc} exited but something it started still holds its output open"),
    }
}

/// [`try_run`], failing the test if the program cannot be started.
pub fn run(cmd: &mut Command, timeout: Duration) -> Output {
    let desc = format!("{cmd:?}");
    try_run(cmd, timeout).unwrap_or_else(|e| {
        panic!("could not start {desc}: {e} (is the program installed and on PATH?)")
    })
}

/// Reads `pipe` to its end on a thread of its own, then sends `(which, bytes)` on `tx`.
fn drain(mut pipe: impl Read + Send + 'static, which: u8, tx: mpsc::Sender<(u8, Vec<u8>)>) {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = tx.send((which, bytes));
    });
}

/// Waits until `deadline` for both pipes read by [`drain`]: (stdout, stderr), `None` if unread.
fn collect(
    rx: &mpsc::Receiver<(u8, Vec<u8>)>,
    deadline: Instant,
) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let (mut out, mut err) = (None, None);
    while out.is_none() || err.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((0, bytes)) => out = Some(bytes),
            Ok((_, bytes)) => err = Some(bytes),
            Err(_) => break,
        }
    }
    (out, err)
}

/// Kills the process group led by `child`, which has not been reaped, and reaps it.
pub fn kill_group(child: &mut Child) {
    let pgid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
    // SAFETY: kill(2) takes plain integers and touches no memory of ours. The child was started
    // as the leader of its own process group and is not yet reaped, so `-pgid` names exactly the
    // group it and its descendants are in.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    let _ = child.wait();
}

/// Runs `cmd` and fails the test, showing its output, unless it exits 0. `what` says why it ran.
pub fn check(cmd: &mut Command, timeout: Duration, what: &str) -> Output {
    let desc = format!("{cmd:?}");
    let output = run(cmd, timeout);
    assert!(
        output.status.success(),
        "{what} failed ({})\ncommand: {desc}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    output
}

/// The section names of the ELF file at `path`, from `readelf -S`.
pub fn sections(path: &Path) -> Vec<String> {
    let output = check(
        Command::new("readelf").args(["-S", "-W"]).arg(path),
        TOOL_TIMEOUT,
        "readelf -S",
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix('[')?;
            let (_, rest) = rest.split_once(']')?;
            rest.split_whitespace().next().map(str::to_owned)
        })
        .collect()
}
