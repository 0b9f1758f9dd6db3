//! Table-level tests written in Rust: the table is called the way C calls it.

use core::ffi::c_void;
use core::ptr::{null, null_mut};

use crate::api::abi::*;
use crate::api::door::entry::{MsQuicClose, MsQuicOpenVersion};

/// Opens a table, hands it to `f`, and closes it.
fn with_table(f: impl FnOnce(&QUIC_API_TABLE)) {
    let mut raw: *const c_void = null();
    // SAFETY: `raw` is writable storage for one pointer.
    let status = unsafe { MsQuicOpenVersion(QUIC_API_VERSION_2, &mut raw) };
    assert_eq!(status, QUIC_STATUS_SUCCESS);
    // SAFETY: a successful open returns a valid table that lives until MsQuicClose.
    f(unsafe { &*(raw as *const QUIC_API_TABLE) });
    // SAFETY: `raw` came from MsQuicOpenVersion and is closed once.
    unsafe { MsQuicClose(raw) };
}

#[test]
fn open_rejects_other_versions_and_null() {
    let mut raw: *const c_void = 0x10 as *const c_void;
    for version in [0, 1, 3, u32::MAX] {
        // SAFETY: `raw` is writable storage for one pointer.
        let status = unsafe { MsQuicOpenVersion(version, &mut raw) };
        assert_eq!(status, QUIC_STATUS_NOT_SUPPORTED);
    }
    assert_eq!(
        raw, 0x10 as *const c_void,
        "out-parameter written on failure"
    );
    // SAFETY: NULL is an accepted argument.
    let status = unsafe { MsQuicOpenVersion(2, null_mut()) };
    assert_eq!(status, QUIC_STATUS_INVALID_PARAMETER);
    // SAFETY: NULL and unknown pointers are ignored by MsQuicClose.
    unsafe {
        MsQuicClose(null());
        MsQuicClose(0x1234 as *const c_void);
    }
}

#[test]
fn every_slot_is_filled() {
    with_table(|api| {
        // SAFETY: QUIC_API_TABLE is 39 pointer-sized, pointer-aligned slots.
        let slots: &[usize; 39] = unsafe { &*(api as *const QUIC_API_TABLE).cast() };
        assert!(slots.iter().all(|&s| s != 0));
    });
}

#[test]
fn handles_carry_context_and_reject_wrong_kinds() {
    with_table(|api| {
        let mut reg: HQUIC = null_mut();
        // SAFETY: valid out-pointer; NULL config is allowed.
        unsafe {
            assert_eq!(
                api.RegistrationOpen.unwrap()(null(), &mut reg),
                QUIC_STATUS_SUCCESS
            );
            api.SetContext.unwrap()(reg, 0x42 as *mut c_void);
            assert_eq!(api.GetContext.unwrap()(reg), 0x42 as *mut c_void);
            // A registration is not a connection.
            assert_eq!(
                api.StreamOpen.unwrap()(
                    reg,
                    QUIC_STREAM_OPEN_FLAGS(0),
                    None,
                    null_mut(),
                    &mut null_mut()
                ),
                QUIC_STATUS_INVALID_PARAMETER
            );
            api.RegistrationClose.unwrap()(reg);
            // Closed: ignored and answered with NULL.
            assert!(api.GetContext.unwrap()(reg).is_null());
            api.RegistrationClose.unwrap()(reg);
        }
    });
}

#[test]
fn registration_close_waits_for_children() {
    with_table(|api| {
        let mut reg: HQUIC = null_mut();
        let mut config: HQUIC = null_mut();
        let mut alpn = *b"x";
        let buf = QUIC_BUFFER {
            Length: 1,
            Buffer: alpn.as_mut_ptr(),
        };
        // SAFETY: valid arguments throughout.
        unsafe {
            assert_eq!(
                api.RegistrationOpen.unwrap()(null(), &mut reg),
                QUIC_STATUS_SUCCESS
            );
            assert_eq!(
                api.ConfigurationOpen.unwrap()(reg, &buf, 1, null(), 0, null_mut(), &mut config),
                QUIC_STATUS_SUCCESS
            );
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let reg_addr = reg as usize;
        let close = api.RegistrationClose.unwrap();
        let closer = std::thread::spawn(move || {
            // SAFETY: the registration stays valid until this close returns.
            unsafe { close(reg_addr as HQUIC) };
            tx.send(()).unwrap();
        });
        // The close must still be waiting while the configuration is open.
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(200))
                .is_err()
        );
        // SAFETY: `config` is a live configuration.
        unsafe { api.ConfigurationClose.unwrap()(config) };
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("RegistrationClose returned");
        closer.join().unwrap();
    });
}

#[test]
fn get_param_probes_size_then_fills() {
    with_table(|api| {
        let mut len = 0u32;
        let mut version = [0u32; 4];
        // SAFETY: `len` is valid; the buffer holds 16 bytes.
        unsafe {
            assert_eq!(
                api.GetParam.unwrap()(
                    null_mut(),
                    QUIC_PARAM_GLOBAL_LIBRARY_VERSION,
                    &mut len,
                    null_mut()
                ),
                QUIC_STATUS_BUFFER_TOO_SMALL
            );
            assert_eq!(len, 16);
            assert_eq!(
                api.GetParam.unwrap()(
                    null_mut(),
                    QUIC_PARAM_GLOBAL_LIBRARY_VERSION,
                    &mut len,
                    version.as_mut_ptr().cast()
                ),
                QUIC_STATUS_SUCCESS
            );
        }
        assert_eq!(&version[..3], &[2, 7, 0]);
    });
}
