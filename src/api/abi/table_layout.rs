//! Slot-by-slot layout of `QUIC_API_TABLE` (msquic-abi.md §2: slot `n` at byte `n * 8`;
//! 256 bytes without preview features, 312 with).

use super::QUIC_API_TABLE;

const _: () = {
    use core::mem::{offset_of, size_of};
    type T = QUIC_API_TABLE;
    assert!(size_of::<T>() == 312);
    // The non-preview table ends after slot 31.
    assert!(offset_of!(T, ConnectionOpenInPartition) + 8 == 256);
    assert!(offset_of!(T, SetContext) == 0);
    assert!(offset_of!(T, GetContext) == 8);
    assert!(offset_of!(T, SetCallbackHandler) == 16);
    assert!(offset_of!(T, SetParam) == 24);
    assert!(offset_of!(T, GetParam) == 32);
    assert!(offset_of!(T, RegistrationOpen) == 40);
    assert!(offset_of!(T, RegistrationClose) == 48);
    assert!(offset_of!(T, RegistrationShutdown) == 56);
    assert!(offset_of!(T, ConfigurationOpen) == 64);
    assert!(offset_of!(T, ConfigurationClose) == 72);
    assert!(offset_of!(T, ConfigurationLoadCredential) == 80);
    assert!(offset_of!(T, ListenerOpen) == 88);
    assert!(offset_of!(T, ListenerClose) == 96);
    assert!(offset_of!(T, ListenerStart) == 104);
    assert!(offset_of!(T, ListenerStop) == 112);
    assert!(offset_of!(T, ConnectionOpen) == 120);
    assert!(offset_of!(T, ConnectionClose) == 128);
    assert!(offset_of!(T, ConnectionShutdown) == 136);
    assert!(offset_of!(T, ConnectionStart) == 144);
    assert!(offset_of!(T, ConnectionSetConfiguration) == 152);
    assert!(offset_of!(T, ConnectionSendResumptionTicket) == 160);
    assert!(offset_of!(T, StreamOpen) == 168);
    assert!(offset_of!(T, StreamClose) == 176);
    assert!(offset_of!(T, StreamStart) == 184);
    assert!(offset_of!(T, StreamShutdown) == 192);
    assert!(offset_of!(T, StreamSend) == 200);
    assert!(offset_of!(T, StreamReceiveComplete) == 208);
    assert!(offset_of!(T, StreamReceiveSetEnabled) == 216);
    assert!(offset_of!(T, DatagramSend) == 224);
    assert!(offset_of!(T, ConnectionResumptionTicketValidationComplete) == 232);
    assert!(offset_of!(T, ConnectionCertificateValidationComplete) == 240);
    assert!(offset_of!(T, ConnectionOpenInPartition) == 248);
    assert!(offset_of!(T, StreamProvideReceiveBuffers) == 256);
    assert!(offset_of!(T, ConnectionPoolCreate) == 264);
    assert!(offset_of!(T, ExecutionCreate) == 272);
    assert!(offset_of!(T, ExecutionDelete) == 280);
    assert!(offset_of!(T, ExecutionPoll) == 288);
    assert!(offset_of!(T, RegistrationClose2) == 296);
    assert!(offset_of!(T, ConnectionExportKeyingMaterial) == 304);
};
