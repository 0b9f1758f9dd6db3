//! `QUIC_API_TABLE` and the function-pointer types of its 39 slots, in MsQuic 2.7's order
//! (the preview layout: 312 bytes).

use core::ffi::{c_char, c_void};

use super::{
    BOOLEAN, HQUIC, QUIC_ADDR, QUIC_ADDRESS_FAMILY, QUIC_BUFFER, QUIC_CONNECTION_CALLBACK_HANDLER,
    QUIC_CONNECTION_POOL_CONFIG, QUIC_CONNECTION_SHUTDOWN_FLAGS, QUIC_CREDENTIAL_CONFIG,
    QUIC_EXECUTION, QUIC_EXECUTION_CONFIG, QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS,
    QUIC_KEYING_MATERIAL_CONFIG, QUIC_LISTENER_CALLBACK_HANDLER,
    QUIC_REGISTRATION_CLOSE_CALLBACK_HANDLER, QUIC_REGISTRATION_CONFIG, QUIC_SEND_FLAGS,
    QUIC_SEND_RESUMPTION_FLAGS, QUIC_SETTINGS, QUIC_STATUS, QUIC_STREAM_CALLBACK_HANDLER,
    QUIC_STREAM_OPEN_FLAGS, QUIC_STREAM_SHUTDOWN_FLAGS, QUIC_STREAM_START_FLAGS,
    QUIC_TLS_ALERT_CODES, QUIC_UINT62,
};

/// `SetContext`: stores the application context of any handle.
pub type QUIC_SET_CONTEXT_FN = Option<unsafe extern "C" fn(Handle: HQUIC, Context: *mut c_void)>;
/// `GetContext`: reads the application context of any handle.
pub type QUIC_GET_CONTEXT_FN = Option<unsafe extern "C" fn(Handle: HQUIC) -> *mut c_void>;
/// `SetCallbackHandler`: replaces the callback and context of a listener, connection or stream.
pub type QUIC_SET_CALLBACK_HANDLER_FN =
    Option<unsafe extern "C" fn(Handle: HQUIC, Handler: *mut c_void, Context: *mut c_void)>;
/// `SetParam`: writes a parameter of the library (NULL handle) or of a handle.
pub type QUIC_SET_PARAM_FN = Option<
    unsafe extern "C" fn(
        Handle: HQUIC,
        Param: u32,
        BufferLength: u32,
        Buffer: *const c_void,
    ) -> QUIC_STATUS,
>;
/// `GetParam`: reads a parameter, with the BUFFER_TOO_SMALL size-probing convention.
pub type QUIC_GET_PARAM_FN = Option<
    unsafe extern "C" fn(
        Handle: HQUIC,
        Param: u32,
        BufferLength: *mut u32,
        Buffer: *mut c_void,
    ) -> QUIC_STATUS,
>;
/// `RegistrationOpen`.
pub type QUIC_REGISTRATION_OPEN_FN = Option<
    unsafe extern "C" fn(
        Config: *const QUIC_REGISTRATION_CONFIG,
        Registration: *mut HQUIC,
    ) -> QUIC_STATUS,
>;
/// `RegistrationClose`: blocks until every child object is closed.
pub type QUIC_REGISTRATION_CLOSE_FN = Option<unsafe extern "C" fn(Registration: HQUIC)>;
/// `RegistrationShutdown`: shuts down every connection of the registration.
pub type QUIC_REGISTRATION_SHUTDOWN_FN = Option<
    unsafe extern "C" fn(
        Registration: HQUIC,
        Flags: QUIC_CONNECTION_SHUTDOWN_FLAGS,
        ErrorCode: QUIC_UINT62,
    ),
>;
/// `ConfigurationOpen`.
pub type QUIC_CONFIGURATION_OPEN_FN = Option<
    unsafe extern "C" fn(
        Registration: HQUIC,
        AlpnBuffers: *const QUIC_BUFFER,
        AlpnBufferCount: u32,
        Settings: *const QUIC_SETTINGS,
        SettingsSize: u32,
        Context: *mut c_void,
        Configuration: *mut HQUIC,
    ) -> QUIC_STATUS,
>;
/// `ConfigurationClose`.
pub type QUIC_CONFIGURATION_CLOSE_FN = Option<unsafe extern "C" fn(Configuration: HQUIC)>;
/// `ConfigurationLoadCredential`.
pub type QUIC_CONFIGURATION_LOAD_CREDENTIAL_FN = Option<
    unsafe extern "C" fn(
        Configuration: HQUIC,
        CredConfig: *const QUIC_CREDENTIAL_CONFIG,
    ) -> QUIC_STATUS,
>;
/// `ListenerOpen`.
pub type QUIC_LISTENER_OPEN_FN = Option<
    unsafe extern "C" fn(
        Registration: HQUIC,
        Handler: QUIC_LISTENER_CALLBACK_HANDLER,
        Context: *mut c_void,
        Listener: *mut HQUIC,
    ) -> QUIC_STATUS,
>;
/// `ListenerClose`.
pub type QUIC_LISTENER_CLOSE_FN = Option<unsafe extern "C" fn(Listener: HQUIC)>;
/// `ListenerStart`.
pub type QUIC_LISTENER_START_FN = Option<
    unsafe extern "C" fn(
        Listener: HQUIC,
        AlpnBuffers: *const QUIC_BUFFER,
        AlpnBufferCount: u32,
        LocalAddress: *const QUIC_ADDR,
    ) -> QUIC_STATUS,
>;
/// `ListenerStop`.
pub type QUIC_LISTENER_STOP_FN = Option<unsafe extern "C" fn(Listener: HQUIC)>;
/// `ConnectionOpen`.
pub type QUIC_CONNECTION_OPEN_FN = Option<
    unsafe extern "C" fn(
        Registration: HQUIC,
        Handler: QUIC_CONNECTION_CALLBACK_HANDLER,
        Context: *mut c_void,
        Connection: *mut HQUIC,
    ) -> QUIC_STATUS,
>;
/// `ConnectionClose`.
pub type QUIC_CONNECTION_CLOSE_FN = Option<unsafe extern "C" fn(Connection: HQUIC)>;
/// `ConnectionShutdown`.
pub type QUIC_CONNECTION_SHUTDOWN_FN = Option<
    unsafe extern "C" fn(
        Connection: HQUIC,
        Flags: QUIC_CONNECTION_SHUTDOWN_FLAGS,
        ErrorCode: QUIC_UINT62,
    ),
>;
/// `ConnectionStart`.
pub type QUIC_CONNECTION_START_FN = Option<
    unsafe extern "C" fn(
        Connection: HQUIC,
        Configuration: HQUIC,
        Family: QUIC_ADDRESS_FAMILY,
        ServerName: *const c_char,
        ServerPort: u16,
    ) -> QUIC_STATUS,
>;
/// `ConnectionSetConfiguration`.
pub type QUIC_CONNECTION_SET_CONFIGURATION_FN =
    Option<unsafe extern "C" fn(Connection: HQUIC, Configuration: HQUIC) -> QUIC_STATUS>;
/// `ConnectionSendResumptionTicket`.
pub type QUIC_CONNECTION_SEND_RESUMPTION_FN = Option<
    unsafe extern "C" fn(
        Connection: HQUIC,
        Flags: QUIC_SEND_RESUMPTION_FLAGS,
        DataLength: u16,
        ResumptionData: *const u8,
    ) -> QUIC_STATUS,
>;
/// `StreamOpen`.
pub type QUIC_STREAM_OPEN_FN = Option<
    unsafe extern "C" fn(
        Connection: HQUIC,
        Flags: QUIC_STREAM_OPEN_FLAGS,
        Handler: QUIC_STREAM_CALLBACK_HANDLER,
        Context: *mut c_void,
        Stream: *mut HQUIC,
    ) -> QUIC_STATUS,
>;
/// `StreamClose`.
pub type QUIC_STREAM_CLOSE_FN = Option<unsafe extern "C" fn(Stream: HQUIC)>;
/// `StreamStart`.
pub type QUIC_STREAM_START_FN =
    Option<unsafe extern "C" fn(Stream: HQUIC, Flags: QUIC_STREAM_START_FLAGS) -> QUIC_STATUS>;
/// `StreamShutdown`.
pub type QUIC_STREAM_SHUTDOWN_FN = Option<
    unsafe extern "C" fn(
        Stream: HQUIC,
        Flags: QUIC_STREAM_SHUTDOWN_FLAGS,
        ErrorCode: QUIC_UINT62,
    ) -> QUIC_STATUS,
>;
/// `StreamSend`.
pub type QUIC_STREAM_SEND_FN = Option<
    unsafe extern "C" fn(
        Stream: HQUIC,
        Buffers: *const QUIC_BUFFER,
        BufferCount: u32,
        Flags: QUIC_SEND_FLAGS,
        ClientSendContext: *mut c_void,
    ) -> QUIC_STATUS,
>;
/// `StreamReceiveComplete`.
pub type QUIC_STREAM_RECEIVE_COMPLETE_FN =
    Option<unsafe extern "C" fn(Stream: HQUIC, BufferLength: u64)>;
/// `StreamReceiveSetEnabled`.
pub type QUIC_STREAM_RECEIVE_SET_ENABLED_FN =
    Option<unsafe extern "C" fn(Stream: HQUIC, IsEnabled: BOOLEAN) -> QUIC_STATUS>;
/// `DatagramSend`.
pub type QUIC_DATAGRAM_SEND_FN = Option<
    unsafe extern "C" fn(
        Connection: HQUIC,
        Buffers: *const QUIC_BUFFER,
        BufferCount: u32,
        Flags: QUIC_SEND_FLAGS,
        ClientSendContext: *mut c_void,
    ) -> QUIC_STATUS,
>;
/// `ConnectionResumptionTicketValidationComplete`.
pub type QUIC_CONNECTION_COMP_RESUMPTION_FN =
    Option<unsafe extern "C" fn(Connection: HQUIC, Result: BOOLEAN) -> QUIC_STATUS>;
/// `ConnectionCertificateValidationComplete`.
pub type QUIC_CONNECTION_COMP_CERT_FN = Option<
    unsafe extern "C" fn(
        Connection: HQUIC,
        Result: BOOLEAN,
        TlsAlert: QUIC_TLS_ALERT_CODES,
    ) -> QUIC_STATUS,
>;
/// `ConnectionOpenInPartition`.
pub type QUIC_CONNECTION_OPEN_IN_PARTITION_FN = Option<
    unsafe extern "C" fn(
        Registration: HQUIC,
        PartitionIndex: u16,
        Handler: QUIC_CONNECTION_CALLBACK_HANDLER,
        Context: *mut c_void,
        Connection: *mut HQUIC,
    ) -> QUIC_STATUS,
>;
/// `StreamProvideReceiveBuffers` (preview).
#[cfg(msquic_preview)]
pub type QUIC_STREAM_PROVIDE_RECEIVE_BUFFERS_FN = Option<
    unsafe extern "C" fn(
        Stream: HQUIC,
        BufferCount: u32,
        Buffers: *const QUIC_BUFFER,
    ) -> QUIC_STATUS,
>;
/// `ConnectionPoolCreate` (preview).
#[cfg(msquic_preview)]
pub type QUIC_CONN_POOL_CREATE_FN = Option<
    unsafe extern "C" fn(
        Config: *mut QUIC_CONNECTION_POOL_CONFIG,
        ConnectionPool: *mut HQUIC,
    ) -> QUIC_STATUS,
>;
/// `ExecutionCreate` (preview).
#[cfg(msquic_preview)]
pub type QUIC_EXECUTION_CREATE_FN = Option<
    unsafe extern "C" fn(
        Flags: QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS,
        PollingIdleTimeoutUs: u32,
        Count: u32,
        Configs: *mut QUIC_EXECUTION_CONFIG,
        Executions: *mut *mut QUIC_EXECUTION,
    ) -> QUIC_STATUS,
>;
/// `ExecutionDelete` (preview).
#[cfg(msquic_preview)]
pub type QUIC_EXECUTION_DELETE_FN =
    Option<unsafe extern "C" fn(Count: u32, Executions: *mut *mut QUIC_EXECUTION)>;
/// `ExecutionPoll` (preview): milliseconds until the next timer.
#[cfg(msquic_preview)]
pub type QUIC_EXECUTION_POLL_FN =
    Option<unsafe extern "C" fn(Execution: *mut QUIC_EXECUTION) -> u32>;
/// `RegistrationClose2` (preview): the non-blocking close with a completion callback.
#[cfg(msquic_preview)]
pub type QUIC_REGISTRATION_CLOSE2_FN = Option<
    unsafe extern "C" fn(
        Registration: HQUIC,
        Handler: QUIC_REGISTRATION_CLOSE_CALLBACK_HANDLER,
        Context: *mut c_void,
    ),
>;
/// `ConnectionExportKeyingMaterial` (preview).
#[cfg(msquic_preview)]
pub type QUIC_CONNECTION_EXPORT_KEYING_MATERIAL_FN = Option<
    unsafe extern "C" fn(
        Connection: HQUIC,
        Config: *const QUIC_KEYING_MATERIAL_CONFIG,
        Output: *mut u8,
    ) -> QUIC_STATUS,
>;

/// Short name of `QUIC_CONNECTION_EXPORT_KEYING_MATERIAL_FN`, kept for this crate's code.
/// cbindgen:ignore
#[cfg(msquic_preview)]
pub type QUIC_CONN_EXPORT_KEYING_MATERIAL_FN = QUIC_CONNECTION_EXPORT_KEYING_MATERIAL_FN;

/// The function table `MsQuicOpenVersion(2, ..)` hands out. Slots are only ever appended.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct QUIC_API_TABLE {
    /// Slot 0.
    pub SetContext: QUIC_SET_CONTEXT_FN,
    /// Slot 1.
    pub GetContext: QUIC_GET_CONTEXT_FN,
    /// Slot 2.
    pub SetCallbackHandler: QUIC_SET_CALLBACK_HANDLER_FN,
    /// Slot 3.
    pub SetParam: QUIC_SET_PARAM_FN,
    /// Slot 4.
    pub GetParam: QUIC_GET_PARAM_FN,
    /// Slot 5.
    pub RegistrationOpen: QUIC_REGISTRATION_OPEN_FN,
    /// Slot 6.
    pub RegistrationClose: QUIC_REGISTRATION_CLOSE_FN,
    /// Slot 7.
    pub RegistrationShutdown: QUIC_REGISTRATION_SHUTDOWN_FN,
    /// Slot 8.
    pub ConfigurationOpen: QUIC_CONFIGURATION_OPEN_FN,
    /// Slot 9.
    pub ConfigurationClose: QUIC_CONFIGURATION_CLOSE_FN,
    /// Slot 10.
    pub ConfigurationLoadCredential: QUIC_CONFIGURATION_LOAD_CREDENTIAL_FN,
    /// Slot 11.
    pub ListenerOpen: QUIC_LISTENER_OPEN_FN,
    /// Slot 12.
    pub ListenerClose: QUIC_LISTENER_CLOSE_FN,
    /// Slot 13.
    pub ListenerStart: QUIC_LISTENER_START_FN,
    /// Slot 14.
    pub ListenerStop: QUIC_LISTENER_STOP_FN,
    /// Slot 15.
    pub ConnectionOpen: QUIC_CONNECTION_OPEN_FN,
    /// Slot 16.
    pub ConnectionClose: QUIC_CONNECTION_CLOSE_FN,
    /// Slot 17.
    pub ConnectionShutdown: QUIC_CONNECTION_SHUTDOWN_FN,
    /// Slot 18.
    pub ConnectionStart: QUIC_CONNECTION_START_FN,
    /// Slot 19.
    pub ConnectionSetConfiguration: QUIC_CONNECTION_SET_CONFIGURATION_FN,
    /// Slot 20.
    pub ConnectionSendResumptionTicket: QUIC_CONNECTION_SEND_RESUMPTION_FN,
    /// Slot 21.
    pub StreamOpen: QUIC_STREAM_OPEN_FN,
    /// Slot 22.
    pub StreamClose: QUIC_STREAM_CLOSE_FN,
    /// Slot 23.
    pub StreamStart: QUIC_STREAM_START_FN,
    /// Slot 24.
    pub StreamShutdown: QUIC_STREAM_SHUTDOWN_FN,
    /// Slot 25.
    pub StreamSend: QUIC_STREAM_SEND_FN,
    /// Slot 26.
    pub StreamReceiveComplete: QUIC_STREAM_RECEIVE_COMPLETE_FN,
    /// Slot 27.
    pub StreamReceiveSetEnabled: QUIC_STREAM_RECEIVE_SET_ENABLED_FN,
    /// Slot 28.
    pub DatagramSend: QUIC_DATAGRAM_SEND_FN,
    /// Slot 29.
    pub ConnectionResumptionTicketValidationComplete: QUIC_CONNECTION_COMP_RESUMPTION_FN,
    /// Slot 30.
    pub ConnectionCertificateValidationComplete: QUIC_CONNECTION_COMP_CERT_FN,
    /// Slot 31.
    pub ConnectionOpenInPartition: QUIC_CONNECTION_OPEN_IN_PARTITION_FN,
    /// Slot 32 (preview).
    #[cfg(msquic_preview)]
    pub StreamProvideReceiveBuffers: QUIC_STREAM_PROVIDE_RECEIVE_BUFFERS_FN,
    /// Slot 33 (preview).
    #[cfg(msquic_preview)]
    pub ConnectionPoolCreate: QUIC_CONN_POOL_CREATE_FN,
    /// Slot 34 (preview).
    #[cfg(msquic_preview)]
    pub ExecutionCreate: QUIC_EXECUTION_CREATE_FN,
    /// Slot 35 (preview).
    #[cfg(msquic_preview)]
    pub ExecutionDelete: QUIC_EXECUTION_DELETE_FN,
    /// Slot 36 (preview).
    #[cfg(msquic_preview)]
    pub ExecutionPoll: QUIC_EXECUTION_POLL_FN,
    /// Slot 37 (preview).
    #[cfg(msquic_preview)]
    pub RegistrationClose2: QUIC_REGISTRATION_CLOSE2_FN,
    /// Slot 38 (preview).
    #[cfg(msquic_preview)]
    pub ConnectionExportKeyingMaterial: QUIC_CONNECTION_EXPORT_KEYING_MATERIAL_FN,
}

/// `QUIC_API_VERSION_1`: no longer supported by MsQuic 2.x.
pub const QUIC_API_VERSION_1: u32 = 1;
/// `QUIC_API_VERSION_2`: the only version `MsQuicOpenVersion` accepts.
pub const QUIC_API_VERSION_2: u32 = 2;

const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(size_of::<QUIC_API_TABLE>() == 312);
    assert!(offset_of!(QUIC_API_TABLE, SetContext) == 0);
    assert!(offset_of!(QUIC_API_TABLE, GetParam) == 4 * 8);
    assert!(offset_of!(QUIC_API_TABLE, ConnectionStart) == 18 * 8);
    assert!(offset_of!(QUIC_API_TABLE, StreamSend) == 25 * 8);
    assert!(offset_of!(QUIC_API_TABLE, ConnectionOpenInPartition) == 31 * 8);
    assert!(offset_of!(QUIC_API_TABLE, StreamProvideReceiveBuffers) == 32 * 8);
    assert!(offset_of!(QUIC_API_TABLE, ExecutionPoll) == 36 * 8);
    assert!(offset_of!(QUIC_API_TABLE, RegistrationClose2) == 37 * 8);
    assert!(offset_of!(QUIC_API_TABLE, ConnectionExportKeyingMaterial) == 38 * 8);
};
