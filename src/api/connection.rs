//! Connections: open, close, shutdown, start, configuration, resumption, datagrams,
//! certificate validation completion and keying-material export.

use core::ffi::{CStr, c_char, c_void};

use parking_lot::Mutex;

use crate::api::abi::{
    BOOLEAN, HQUIC, QUIC_ADDRESS_FAMILY, QUIC_BUFFER, QUIC_CONNECTION_CALLBACK_HANDLER,
    QUIC_CONNECTION_POOL_CONFIG, QUIC_CONNECTION_SHUTDOWN_FLAGS, QUIC_KEYING_MATERIAL_CONFIG,
    QUIC_SEND_FLAGS, QUIC_SEND_RESUMPTION_FLAGS, QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_NOT_SUPPORTED, QUIC_STATUS_SUCCESS, QUIC_TLS_ALERT_CODES, QUIC_UINT62,
};
use crate::api::boundary;
use crate::api::configuration::Configuration;
use crate::api::handle::{Handle, Kind, Object};
use crate::api::registration::{ChildGuard, Registration};

/// `AF_UNSPEC`, `AF_INET`, `AF_INET6` on Linux.
const FAMILIES: [QUIC_ADDRESS_FAMILY; 3] = [0, 2, 10];
/// `QUIC_MAX_SNI_LENGTH`.
const MAX_SNI_LENGTH: usize = 65535;
/// `QUIC_MAX_RESUMPTION_APP_DATA_LENGTH`.
const MAX_RESUMPTION_APP_DATA_LENGTH: u16 = 1000;
/// `QUIC_SEND_RESUMPTION_FLAG_FINAL`, the only defined flag.
const SEND_RESUMPTION_FLAGS_ALL: u32 = 0x1;
/// Largest TLS alert code.
const TLS_ALERT_MAX: u32 = 255;

/// A connection. Carrying data arrives with the runtime.
pub(crate) struct Connection {
    guard: Mutex<Option<ChildGuard>>,
}

impl Object for Connection {
    const KIND: Kind = Kind::Connection;
}

fn open_in(
    registration: HQUIC,
    partition: Option<u16>,
    handler: QUIC_CONNECTION_CALLBACK_HANDLER,
    context: *mut c_void,
    out: *mut HQUIC,
) -> QUIC_STATUS {
    // SAFETY: `registration` is an application handle; `get` validates it.
    let Some(reg) = (unsafe { Handle::<Registration>::get(registration) }) else {
        return QUIC_STATUS_INVALID_PARAMETER;
    };
    let Some(handler) = handler else {
        return QUIC_STATUS_INVALID_PARAMETER;
    };
    if out.is_null() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    if let Some(p) = partition {
        let partitions = std::thread::available_parallelism().map_or(1, |n| n.get());
        if usize::from(p) >= partitions {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
    }
    let conn = Connection {
        guard: Mutex::new(Some(ChildGuard::new(reg))),
    };
    let h = Handle::into_hquic(Handle::new(conn, context, handler as *mut c_void));
    // SAFETY: `out` is non-NULL and writable by the API contract.
    unsafe { out.write(h) };
    QUIC_STATUS_SUCCESS
}

/// `ConnectionOpen`.
pub(crate) unsafe extern "C" fn open(
    registration: HQUIC,
    handler: QUIC_CONNECTION_CALLBACK_HANDLER,
    context: *mut c_void,
    out: *mut HQUIC,
) -> QUIC_STATUS {
    boundary::status(|| open_in(registration, None, handler, context, out))
}

/// `ConnectionOpenInPartition`: the partition must name one of the machine's processors.
pub(crate) unsafe extern "C" fn open_in_partition(
    registration: HQUIC,
    partition: u16,
    handler: QUIC_CONNECTION_CALLBACK_HANDLER,
    context: *mut c_void,
    out: *mut HQUIC,
) -> QUIC_STATUS {
    boundary::status(|| open_in(registration, Some(partition), handler, context, out))
}

/// `ConnectionClose`.
pub(crate) unsafe extern "C" fn close(h: HQUIC) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `close` validates it.
        if let Some(conn) = unsafe { Handle::<Connection>::close(h) } {
            conn.obj.guard.lock().take();
        }
    });
}

/// `ConnectionShutdown`: a connection that never started has nothing to shut down.
pub(crate) unsafe extern "C" fn shutdown(
    h: HQUIC,
    _flags: QUIC_CONNECTION_SHUTDOWN_FLAGS,
    _error_code: QUIC_UINT62,
) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `borrow` validates it.
        let _ = unsafe { Handle::<Connection>::borrow(h) };
    });
}

/// `ConnectionStart`: arguments are validated; connecting arrives with the runtime.
pub(crate) unsafe extern "C" fn start(
    h: HQUIC,
    configuration: HQUIC,
    family: QUIC_ADDRESS_FAMILY,
    server_name: *const c_char,
    server_port: u16,
) -> QUIC_STATUS {
    boundary::status(|| {
        // SAFETY: both are application handles; `borrow` validates them.
        let (conn, config) = unsafe {
            (
                Handle::<Connection>::borrow(h),
                Handle::<Configuration>::borrow(configuration),
            )
        };
        if conn.is_none() || config.is_none() || server_port == 0 || !FAMILIES.contains(&family) {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        if server_name.is_null() {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        // SAFETY: a non-NULL ServerName is NUL-terminated by the API contract.
        if unsafe { CStr::from_ptr(server_name) }.to_bytes().len() > MAX_SNI_LENGTH {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        QUIC_STATUS_NOT_SUPPORTED
    })
}

/// `ConnectionSetConfiguration`: arguments are validated; the server handshake arrives with
/// the runtime.
pub(crate) unsafe extern "C" fn set_configuration(h: HQUIC, configuration: HQUIC) -> QUIC_STATUS {
    boundary::status(|| {
        // SAFETY: both are application handles; `borrow` validates them.
        let valid = unsafe {
            Handle::<Connection>::borrow(h).is_some()
                && Handle::<Configuration>::borrow(configuration).is_some()
        };
        if valid {
            QUIC_STATUS_NOT_SUPPORTED
        } else {
            QUIC_STATUS_INVALID_PARAMETER
        }
    })
}

/// `ConnectionSendResumptionTicket`: arguments are validated; resumption arrives with TLS.
pub(crate) unsafe extern "C" fn send_resumption_ticket(
    h: HQUIC,
    flags: QUIC_SEND_RESUMPTION_FLAGS,
    data_length: u16,
    data: *const u8,
) -> QUIC_STATUS {
    boundary::status(|| {
        // SAFETY: `h` is an application handle; `borrow` validates it.
        if unsafe { Handle::<Connection>::borrow(h) }.is_none()
            || flags.0 & !SEND_RESUMPTION_FLAGS_ALL != 0
            || data_length > MAX_RESUMPTION_APP_DATA_LENGTH
            || (data_length > 0 && data.is_null())
        {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        QUIC_STATUS_NOT_SUPPORTED
    })
}

/// `DatagramSend`: arguments are validated; datagrams arrive with the runtime.
pub(crate) unsafe extern "C" fn datagram_send(
    h: HQUIC,
    buffers: *const QUIC_BUFFER,
    buffer_count: u32,
    _flags: QUIC_SEND_FLAGS,
    _client_context: *mut c_void,
) -> QUIC_STATUS {
    boundary::status(|| {
        // SAFETY: `h` is an application handle; `borrow` validates it.
        if unsafe { Handle::<Connection>::borrow(h) }.is_none()
            || buffers.is_null()
            || buffer_count == 0
        {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        QUIC_STATUS_NOT_SUPPORTED
    })
}

/// `ConnectionResumptionTicketValidationComplete`.
pub(crate) unsafe extern "C" fn resumption_ticket_validation_complete(
    h: HQUIC,
    _result: BOOLEAN,
) -> QUIC_STATUS {
    boundary::status(|| {
        // SAFETY: `h` is an application handle; `borrow` validates it.
        if unsafe { Handle::<Connection>::borrow(h) }.is_none() {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        QUIC_STATUS_NOT_SUPPORTED
    })
}

/// `ConnectionCertificateValidationComplete`: a rejection needs a real TLS alert code.
pub(crate) unsafe extern "C" fn certificate_validation_complete(
    h: HQUIC,
    result: BOOLEAN,
    alert: QUIC_TLS_ALERT_CODES,
) -> QUIC_STATUS {
    boundary::status(|| {
        // SAFETY: `h` is an application handle; `borrow` validates it.
        if unsafe { Handle::<Connection>::borrow(h) }.is_none()
            || (result == 0 && alert.0 > TLS_ALERT_MAX)
        {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        QUIC_STATUS_NOT_SUPPORTED
    })
}

/// `ConnectionExportKeyingMaterial`.
pub(crate) unsafe extern "C" fn export_keying_material(
    h: HQUIC,
    config: *const QUIC_KEYING_MATERIAL_CONFIG,
    output: *mut u8,
) -> QUIC_STATUS {
    boundary::status(|| {
        // SAFETY: `h` is an application handle; `borrow` validates it.
        if unsafe { Handle::<Connection>::borrow(h) }.is_none()
            || config.is_null()
            || output.is_null()
        {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        QUIC_STATUS_NOT_SUPPORTED
    })
}

/// `ConnectionPoolCreate`.
pub(crate) unsafe extern "C" fn pool_create(
    config: *mut QUIC_CONNECTION_POOL_CONFIG,
    pool: *mut HQUIC,
) -> QUIC_STATUS {
    boundary::status(|| {
        if config.is_null() || pool.is_null() {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        QUIC_STATUS_NOT_SUPPORTED
    })
}
