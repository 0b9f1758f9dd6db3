//! Which worker threads run what: `QUIC_PARAM_GLOBAL_EXECUTION_CONFIG` shapes the library's
//! shared workers, and a registration's `QUIC_EXECUTION_PROFILE` picks the shared workers or
//! threads of its own.
//!
//! - No config: one shared worker per available core.
//! - A config with a processor list: one shared worker per listed processor, pinned to it with
//!   `AFFINITIZE`, at raised priority with `HIGH_PRIORITY`; `PollingIdleTimeoutUs` keeps an idle
//!   worker polling that long before it sleeps. `NO_IDEAL_PROC` has no meaning on Linux.
//! - LOW_LATENCY and MAX_THROUGHPUT registrations share those workers.
//! - SCAVENGER: one dedicated worker at the lowest priority (nice 19), so the registration's
//!   work yields to everything else, as MsQuic's single low-priority scavenger worker does.
//! - REAL_TIME: dedicated workers, one per processor the process may use, each pinned to its
//!   processor at raised priority, so the registration shares no thread with anyone.

use core::ffi::c_void;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::api::abi::{
    QUIC_EXECUTION_PROFILE_TYPE_REAL_TIME, QUIC_EXECUTION_PROFILE_TYPE_SCAVENGER,
    QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_AFFINITIZE, QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_HIGH_PRIORITY,
    QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE, QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_INVALID_STATE, QUIC_STATUS_SUCCESS,
};
use crate::api::param::buffer::answer;
use crate::runtime::worker::{Pool, WorkerOptions, allowed_processors, processor_count};

/// Nice value of SCAVENGER workers.
const SCAVENGER_NICE: i32 = 19;
/// Nice value of high-priority workers (needs CAP_SYS_NICE; refused quietly otherwise).
const HIGH_PRIORITY_NICE: i32 = -10;

/// A validated `QUIC_GLOBAL_EXECUTION_CONFIG`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ExecutionConfig {
    flags: u32,
    polling_idle_timeout_us: u32,
    processors: Vec<u16>,
}

impl ExecutionConfig {
    /// The bytes GetParam returns: the C struct with its processor list.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + 2 * self.processors.len());
        out.extend_from_slice(&self.flags.to_ne_bytes());
        out.extend_from_slice(&self.polling_idle_timeout_us.to_ne_bytes());
        out.extend_from_slice(&(self.processors.len() as u32).to_ne_bytes());
        for p in &self.processors {
            out.extend_from_slice(&p.to_ne_bytes());
        }
        out
    }

    /// Parses and validates the C struct, as MsQuic does: at least the fixed part, room for
    /// every listed processor, and every processor number below the machine's count.
    fn parse(bytes: &[u8]) -> Option<Self> {
        let min = QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE as usize;
        if bytes.len() < min {
            return None;
        }
        let word = |at: usize| u32::from_ne_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let count = usize::try_from(word(8)).ok()?;
        let list = bytes.get(min..min.checked_add(count.checked_mul(2)?)?)?;
        let processors: Vec<u16> = list
            .chunks_exact(2)
            .map(|c| u16::from_ne_bytes([c[0], c[1]]))
            .collect();
        let available = processor_count();
        if processors.iter().any(|&p| usize::from(p) >= available) {
            return None;
        }
        Some(Self {
            flags: word(0),
            polling_idle_timeout_us: word(4),
            processors,
        })
    }

    fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}

/// The global execution config, until the last `MsQuicClose`.
static CONFIG: Mutex<Option<ExecutionConfig>> = Mutex::new(None);

/// `SetParam(QUIC_PARAM_GLOBAL_EXECUTION_CONFIG)`: only before the shared workers exist
/// (`started`), else INVALID_STATE; a zero length clears the config.
///
/// # Safety
/// `buf` must be NULL or readable for `len` bytes.
pub(crate) unsafe fn set_param(started: bool, len: u32, buf: *const c_void) -> QUIC_STATUS {
    if started {
        return QUIC_STATUS_INVALID_STATE;
    }
    if len == 0 {
        *CONFIG.lock() = None;
        return QUIC_STATUS_SUCCESS;
    }
    if buf.is_null() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: non-NULL and readable for `len` bytes by the caller's contract.
    let bytes = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len as usize) };
    match ExecutionConfig::parse(bytes) {
        Some(config) => {
            *CONFIG.lock() = Some(config);
            QUIC_STATUS_SUCCESS
        }
        None => QUIC_STATUS_INVALID_PARAMETER,
    }
}

/// `GetParam(QUIC_PARAM_GLOBAL_EXECUTION_CONFIG)`: the config as set, or a zero length when
/// none is.
///
/// # Safety
/// As for [`answer`].
pub(crate) unsafe fn get_param(len: *mut u32, buf: *mut c_void) -> QUIC_STATUS {
    let bytes = CONFIG
        .lock()
        .as_ref()
        .map(ExecutionConfig::to_bytes)
        .unwrap_or_default();
    if bytes.is_empty() {
        // Nothing set: MsQuic answers length 0 whatever the buffer.
        // SAFETY: `len` is valid for writes by the caller's contract.
        unsafe { len.write(0) };
        return QUIC_STATUS_SUCCESS;
    }
    // SAFETY: the caller's contract is `answer`'s.
    unsafe { answer(len, buf, &bytes) }
}

/// Forgets the config and the executions (the last `MsQuicClose`).
pub(crate) fn reset() {
    *CONFIG.lock() = None;
    *EXECUTIONS.lock() = None;
}

/// How long an idle shared worker keeps polling its sockets before it sleeps, unless the
/// application set GLOBAL_EXECUTION_CONFIG (whose PollingIdleTimeoutUs then rules, 0 by
/// default as in MsQuic). Waking a sleeping thread costs tens of microseconds (about 50 on a
/// small VM), more than a loopback or LAN round trip: a worker still polling when the answer
/// comes serves it at once. The cost is at most this much CPU after each burst of work.
const DEFAULT_BUSY_POLL: Duration = Duration::from_micros(50);

/// How many workers a pool spread over every core has.
fn per_core() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The options of the shared workers under the current config.
fn shared_options(config: Option<&ExecutionConfig>) -> Vec<WorkerOptions> {
    let Some(config) = config else {
        let template = WorkerOptions {
            busy_poll: DEFAULT_BUSY_POLL,
            ..WorkerOptions::default()
        };
        return vec![template; per_core()];
    };
    let template = WorkerOptions {
        cpu: None,
        nice: config
            .has(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_HIGH_PRIORITY.0)
            .then_some(HIGH_PRIORITY_NICE),
        busy_poll: Duration::from_micros(config.polling_idle_timeout_us.into()),
    };
    if config.processors.is_empty() {
        return vec![template; per_core()];
    }
    let pin = config.has(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_AFFINITIZE.0);
    config
        .processors
        .iter()
        .map(|&p| WorkerOptions {
            cpu: pin.then_some(usize::from(p)),
            ..template.clone()
        })
        .collect()
}

/// Application-driven workers made by `ExecutionCreate` and not yet the shared ones.
static EXECUTIONS: Mutex<Option<Arc<Pool>>> = Mutex::new(None);

/// Makes `pool` (the application's executions) the shared workers the first
/// `RegistrationOpen` starts with, or with `None` forgets them.
pub(crate) fn set_executions(pool: Option<Arc<Pool>>) {
    *EXECUTIONS.lock() = pool;
}

/// Starts the shared workers: the application's executions if it made some, else threads
/// as the current config says.
pub(crate) fn start_shared() -> std::io::Result<Arc<Pool>> {
    if let Some(pool) = EXECUTIONS.lock().clone() {
        return Ok(pool);
    }
    Ok(Arc::new(Pool::with_options(shared_options(
        CONFIG.lock().as_ref(),
    ))?))
}

/// The workers of a registration with `profile` (validated), given the shared ones. When the
/// shared workers are the application's executions, every profile runs on them.
pub(crate) fn for_profile(profile: u32, shared: Arc<Pool>) -> std::io::Result<Arc<Pool>> {
    if shared.is_external() {
        return Ok(shared);
    }
    let options = match profile {
        p if p == QUIC_EXECUTION_PROFILE_TYPE_SCAVENGER.0 => vec![WorkerOptions {
            nice: Some(SCAVENGER_NICE),
            ..WorkerOptions::default()
        }],
        p if p == QUIC_EXECUTION_PROFILE_TYPE_REAL_TIME.0 => allowed_processors()
            .into_iter()
            .map(|cpu| WorkerOptions {
                cpu: Some(cpu),
                nice: Some(HIGH_PRIORITY_NICE),
                ..WorkerOptions::default()
            })
            .collect(),
        _ => return Ok(shared),
    };
    Ok(Arc::new(Pool::with_options(options)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(flags: u32, idle: u32, count: u32, list: &[u16]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&idle.to_ne_bytes());
        v.extend_from_slice(&count.to_ne_bytes());
        for p in list {
            v.extend_from_slice(&p.to_ne_bytes());
        }
        v
    }

    #[test]
    fn parse_checks_sizes_and_processor_numbers() {
        assert_eq!(ExecutionConfig::parse(&raw(0, 0, 0, &[])[..11]), None);
        assert_eq!(ExecutionConfig::parse(&raw(0, 0, 2, &[0])), None);
        assert_eq!(ExecutionConfig::parse(&raw(0, 0, u32::MAX, &[0])), None);
        let too_high = u16::try_from(processor_count()).unwrap();
        assert_eq!(ExecutionConfig::parse(&raw(0, 0, 1, &[too_high])), None);
        let ok = ExecutionConfig::parse(&raw(0x20, 5, 1, &[0])).unwrap();
        assert_eq!(ok.processors, vec![0]);
        assert_eq!(ok.to_bytes(), raw(0x20, 5, 1, &[0]));
    }

    #[test]
    fn options_follow_the_config() {
        assert_eq!(shared_options(None).len(), per_core());
        assert_eq!(shared_options(None)[0].busy_poll, DEFAULT_BUSY_POLL);
        let config = ExecutionConfig::parse(&raw(0x30, 100, 1, &[0])).unwrap();
        let opts = shared_options(Some(&config));
        assert_eq!(
            opts,
            vec![WorkerOptions {
                cpu: Some(0),
                nice: Some(HIGH_PRIORITY_NICE),
                busy_poll: Duration::from_micros(100),
            }]
        );
        let unpinned = ExecutionConfig::parse(&raw(0, 0, 1, &[0])).unwrap();
        assert_eq!(shared_options(Some(&unpinned))[0].cpu, None);
    }
}
