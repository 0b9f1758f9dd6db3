//! Application-driven execution (`ExecutionCreate`, `ExecutionDelete`, `ExecutionPoll`):
//! not supported; our workers always own their threads.

use crate::api::abi::{
    QUIC_EXECUTION, QUIC_EXECUTION_CONFIG, QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS, QUIC_STATUS,
    QUIC_STATUS_INVALID_PARAMETER, QUIC_STATUS_NOT_SUPPORTED,
};
use crate::api::boundary;

/// `ExecutionCreate`: validates its arguments, then reports NOT_SUPPORTED.
pub(crate) unsafe extern "C" fn create(
    _flags: QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS,
    _polling_idle_timeout_us: u32,
    count: u32,
    configs: *mut QUIC_EXECUTION_CONFIG,
    executions: *mut *mut QUIC_EXECUTION,
) -> QUIC_STATUS {
    boundary::status(|| {
        if count == 0 || configs.is_null() || executions.is_null() {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        QUIC_STATUS_NOT_SUPPORTED
    })
}

/// `ExecutionDelete`: no execution can exist, so there is nothing to delete.
pub(crate) unsafe extern "C" fn delete(_count: u32, _executions: *mut *mut QUIC_EXECUTION) {
    boundary::unit(|| {});
}

/// `ExecutionPoll`: no execution can exist; answers "no timer" (`UINT32_MAX`).
pub(crate) unsafe extern "C" fn poll(_execution: *mut QUIC_EXECUTION) -> u32 {
    boundary::value(u32::MAX, || u32::MAX)
}
