//! `ConnectionPoolCreate` (preview): opens and starts a set of client connections to one
//! server, spread over the registration's workers (MsQuic spreads them over its receive
//! queues; here each connection's partition picks its worker, so they run on different
//! threads). Each gets the pool's handler and its own context, and the handles go into the
//! application's array. On a failure the connections made so far are closed when the
//! CLOSE_ON_FAILURE flag asks for it, and left to the application otherwise.
//! CIBIR ids have no meaning over TCP (there are no connection IDs to encode them in): a pool
//! that asks for them is refused with NOT_SUPPORTED.

use core::ffi::c_void;

use crate::api::abi::*;
use crate::api::configuration::Configuration;
use crate::api::connection::{self, MAX_SNI_LENGTH, params};
use crate::api::door::boundary;
use crate::api::door::handle::Handle;
use crate::api::registration::Registration;
use crate::runtime::worker::processor_count;

/// Creates the pool described by `config`; `out` has room for `NumberOfConnections` handles.
pub(crate) unsafe extern "C" fn create(
    config: *mut QUIC_CONNECTION_POOL_CONFIG,
    out: *mut HQUIC,
) -> QUIC_STATUS {
    boundary::call("ConnectionPoolCreate", || {
        if config.is_null() || out.is_null() {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        // SAFETY: non-NULL, and by the API contract a QUIC_CONNECTION_POOL_CONFIG.
        let c = unsafe { &*config };
        if c.Registration.is_null()
            || c.Configuration.is_null()
            || c.Handler.is_none()
            || c.ServerName.is_null()
            || c.ServerPort == 0
            || c.NumberOfConnections == 0
            || ![
                QUIC_ADDRESS_FAMILY_UNSPEC,
                QUIC_ADDRESS_FAMILY_INET,
                QUIC_ADDRESS_FAMILY_INET6,
            ]
            .contains(&c.Family)
        {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        // As MsQuic: a configuration without credentials is refused before anything opens.
        // SAFETY: both are application handles; `get` validates them.
        let (registration, configuration) = unsafe {
            (
                Handle::<Registration>::get(c.Registration),
                Handle::<Configuration>::get(c.Configuration),
            )
        };
        let (Some(registration), Some(configuration)) = (registration, configuration) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        if *registration.obj.transport.lock() != QUIC_TRANSPORT_QMUX_TCP
            && configuration.obj.tls.lock().is_none()
        {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        // As MsQuic: ids without a length, or a length without ids, are invalid.
        if c.CibirIds.is_null() != (c.CibirIdLength == 0) {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        if !c.CibirIds.is_null() {
            return QUIC_STATUS_NOT_SUPPORTED;
        }
        // SAFETY: ServerName is non-NULL and NUL-terminated by the API contract.
        if unsafe { core::ffi::CStr::from_ptr(c.ServerName) }.count_bytes() > MAX_SNI_LENGTH {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        let count = usize::from(c.NumberOfConnections);
        // SAFETY: the API contract gives `out` room for `NumberOfConnections` handles.
        let handles = unsafe { core::slice::from_raw_parts_mut(out, count) };
        let partitions = processor_count().max(1);
        handles.fill(core::ptr::null_mut());
        for i in 0..count {
            let context = if c.Context.is_null() {
                core::ptr::null_mut()
            } else {
                // SAFETY: a non-NULL Context holds one pointer per connection.
                unsafe { *c.Context.add(i) }
            };
            // SAFETY: every pointer handed on is the application's, as the API contract
            // describes them; `handles[i]` is writable.
            let status = unsafe { open_one(c, (i % partitions) as u16, context, &mut handles[i]) };
            if QUIC_FAILED(status) {
                if c.Flags.0 & QUIC_CONNECTION_POOL_FLAG_CLOSE_ON_FAILURE.0 != 0 {
                    // This one too, if it was opened before its start failed.
                    for h in handles[..=i].iter_mut().filter(|h| !h.is_null()) {
                        // SAFETY: a handle opened above and not closed since.
                        unsafe { connection::close(*h) };
                        *h = core::ptr::null_mut();
                    }
                }
                return status;
            }
        }
        QUIC_STATUS_SUCCESS
    })
}

/// Opens connection `partition` of the pool and starts it; the handle goes to `out` once
/// it is open (so a failed start still leaves it for the caller to close).
///
/// # Safety
/// The pointers in `c` are as `ConnectionPoolCreate`'s contract says.
unsafe fn open_one(
    c: &QUIC_CONNECTION_POOL_CONFIG,
    partition: u16,
    context: *mut c_void,
    out: &mut HQUIC,
) -> QUIC_STATUS {
    let mut conn: HQUIC = core::ptr::null_mut();
    // SAFETY: the registration and handler are the application's.
    let status = unsafe {
        connection::open_in_partition(c.Registration, partition, c.Handler, context, &mut conn)
    };
    if QUIC_FAILED(status) {
        return status;
    }
    *out = conn;
    if !c.ServerAddress.is_null() {
        // As SetParam(CONN_REMOTE_ADDRESS) on the new connection, failure logged as SetParam's.
        let status = boundary::call("SetParam", || {
            // SAFETY: `conn` is the connection just opened; a non-NULL ServerAddress is a
            // QUIC_ADDR.
            let status = unsafe {
                params::set(
                    conn,
                    QUIC_PARAM_CONN_REMOTE_ADDRESS,
                    size_of::<QUIC_ADDR>() as u32,
                    c.ServerAddress.cast(),
                )
            };
            status.unwrap_or(QUIC_STATUS_NOT_SUPPORTED)
        });
        if QUIC_FAILED(status) {
            return status;
        }
    }
    // SAFETY: the configuration and server name are the application's.
    unsafe { connection::start(conn, c.Configuration, c.Family, c.ServerName, c.ServerPort) }
}
