//! The function table: every slot wired to its implementation, named by its room (and file,
//! where the room is a folder and the function is not in its `mod.rs`). No slot is ever NULL.

use crate::api::abi::QUIC_API_TABLE;
use crate::api::door::context;
use crate::api::global::execution;
use crate::api::{configuration, connection, listener, param, registration, stream};

/// The table copied into each `MsQuicOpenVersion` result.
pub(crate) const TABLE: QUIC_API_TABLE = QUIC_API_TABLE {
    SetContext: Some(context::set_context),
    GetContext: Some(context::get_context),
    SetCallbackHandler: Some(context::set_callback_handler),
    SetParam: Some(param::set_param),
    GetParam: Some(param::get_param),
    RegistrationOpen: Some(registration::open),
    RegistrationClose: Some(registration::close),
    RegistrationShutdown: Some(registration::shutdown),
    ConfigurationOpen: Some(configuration::open),
    ConfigurationClose: Some(configuration::close),
    ConfigurationLoadCredential: Some(configuration::load_credential),
    ListenerOpen: Some(listener::open),
    ListenerClose: Some(listener::close),
    ListenerStart: Some(listener::start),
    ListenerStop: Some(listener::stop),
    ConnectionOpen: Some(connection::open),
    ConnectionClose: Some(connection::close),
    ConnectionShutdown: Some(connection::shutdown),
    ConnectionStart: Some(connection::start),
    ConnectionSetConfiguration: Some(connection::set_configuration),
    ConnectionSendResumptionTicket: Some(connection::send_resumption_ticket),
    StreamOpen: Some(stream::open),
    StreamClose: Some(stream::close),
    StreamStart: Some(stream::start),
    StreamShutdown: Some(stream::shutdown),
    StreamSend: Some(stream::send),
    StreamReceiveComplete: Some(stream::recv::receive_complete),
    StreamReceiveSetEnabled: Some(stream::recv::receive_set_enabled),
    DatagramSend: Some(connection::datagram::send),
    ConnectionResumptionTicketValidationComplete: Some(
        connection::resumption_ticket_validation_complete,
    ),
    ConnectionCertificateValidationComplete: Some(connection::cert_events::validation_complete),
    ConnectionOpenInPartition: Some(connection::open_in_partition),
    StreamProvideReceiveBuffers: Some(stream::recv::provide_receive_buffers),
    ConnectionPoolCreate: Some(connection::pool::create),
    ExecutionCreate: Some(execution::create),
    ExecutionDelete: Some(execution::delete),
    ExecutionPoll: Some(execution::poll),
    RegistrationClose2: Some(registration::close2),
    ConnectionExportKeyingMaterial: Some(connection::tls_secrets::export_keying_material),
};
