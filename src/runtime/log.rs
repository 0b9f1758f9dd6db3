//! Event logging to stderr, off by default: `MSQUIC_QMUX_LOG=info|debug|trace` turns it on
//! (any case; `off` or an unknown value, with one warning line, leaves it off).
//!
//! `info` logs connection starts, CONNECTED (with the ALPN), shutdowns (status and code) and
//! listener starts and stops; `debug` adds stream events; `trace` adds socket I/O sizes. Each
//! record is one line: a UTC time of day, the level, the handle's address, the message. The
//! variable is read once; afterwards a disabled check is one relaxed atomic load, and stderr
//! is locked only for the write of a line formatted beforehand.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// How much is logged; each level includes the ones before it.
#[derive(Clone, Copy, Debug, Eq, PartialEq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Connection and listener life-cycle events.
    Info = 1,
    /// Also stream events.
    Debug = 2,
    /// Also socket I/O sizes.
    Trace = 3,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }
}

/// The variable that selects the level.
pub const ENV_VAR: &str = "MSQUIC_QMUX_LOG";

/// Not yet read from the environment.
const UNREAD: u8 = u8::MAX;

/// The enabled level (0: off), or [`UNREAD`].
static LEVEL: AtomicU8 = AtomicU8::new(UNREAD);

/// The level a value of [`ENV_VAR`] selects, without regard to case (0: off); `None` for a
/// value that names no level.
fn parse(value: &str) -> Option<u8> {
    match value.trim().to_ascii_lowercase().as_str() {
        "off" | "" => Some(0),
        "info" => Some(Level::Info as u8),
        "debug" => Some(Level::Debug as u8),
        "trace" => Some(Level::Trace as u8),
        _ => None,
    }
}

#[cold]
fn read_env() -> u8 {
    let value = std::env::var(ENV_VAR).ok();
    let parsed = value.as_deref().map_or(Some(0), parse);
    let level = parsed.unwrap_or(0);
    // Two threads may read the variable at once: only the first one stores it and warns.
    match LEVEL.compare_exchange(UNREAD, level, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => {
            if let (None, Some(v)) = (parsed, value) {
                // Said whatever the level (it is off): once, as the variable is read once.
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "msquic-qmux: warning: {ENV_VAR}={v} is not one of off, info, debug, \
                     trace; logging stays off"
                );
            }
            level
        }
        Err(current) => current,
    }
}

/// Whether records of `level` are written.
#[inline]
pub fn enabled(level: Level) -> bool {
    let mut current = LEVEL.load(Ordering::Relaxed);
    if current == UNREAD {
        current = read_env();
    }
    level as u8 <= current
}

/// Writes one record for the object at address `handle` (call after [`enabled`]).
pub fn write(level: Level, handle: usize, args: fmt::Arguments<'_>) {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs() % 86_400;
    let line = format!(
        "{:02}:{:02}:{:02}.{:06} msquic-qmux {} [{:#x}] {}\n",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        since.subsec_micros(),
        level.name(),
        handle,
        args
    );
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Logs a record at a level (`Info`, `Debug`, `Trace`) for a handle address when enabled:
/// `qlog!(Info, addr, "connected alpn={}", alpn)`. The arguments are not evaluated when the
/// level is off.
macro_rules! qlog {
    ($level:ident, $handle:expr, $($arg:tt)+) => {
        if $crate::runtime::log::enabled($crate::runtime::log::Level::$level) {
            $crate::runtime::log::write(
                $crate::runtime::log::Level::$level,
                $handle,
                format_args!($($arg)+),
            );
        }
    };
}
pub(crate) use qlog;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse() {
        assert_eq!(parse("info"), Some(1));
        assert_eq!(parse("DEBUG"), Some(2));
        assert_eq!(parse(" trace\n"), Some(3));
        assert_eq!(parse("OFF"), Some(0));
        assert_eq!(parse(""), Some(0));
        assert_eq!(parse("verbose"), None);
        assert!(Level::Info < Level::Trace);
    }
}
