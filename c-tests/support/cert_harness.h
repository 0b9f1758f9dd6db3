/* The certificate tests' common parts: a listener that hands each connection the
 * configuration in `current_server_config`, a configuration from certificate files, and one
 * connection attempt to 127.0.0.1 under a given server name (qt_connect_once). The includer
 * defines ALPN. Included by cert_accept.c and cert_oneliners.c only. */
#ifndef CERT_HARNESS_H
#define CERT_HARNESS_H

#include "qmux_test.h"

static const QUIC_API_TABLE* api;
static HQUIC current_server_config; /* what the listener gives the next connection */

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) api->ConnectionClose(conn);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    (void)listener;
    (void)ctx;
    return accept_connection(api, ev, (void*)ServerConnection, NULL, current_server_config);
}

/* A configuration for ALPN with the certificate and key files `cert` and `key` (NULL: no
 * certificate), `flags`, and the CA file `ca` (NULL: none); NULL if the credential does not
 * load. `label` names it in the message. */
static HQUIC cert_config(HQUIC reg, const char* label, const char* cert, const char* key,
                         QUIC_CREDENTIAL_FLAGS flags, const char* ca) {
    QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, NULL, 0, NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CERTIFICATE_FILE files = {key, cert};
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Flags = flags;
    cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    if (cert != NULL) {
        cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
        cred.CertificateFile = &files;
    }
    if (ca != NULL) {
        cred.Flags |= QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
        cred.CaCertificateFile = ca;
    }
    QUIC_STATUS status = api->ConfigurationLoadCredential(cfg, &cred);
    if (QUIC_FAILED(status)) {
        fprintf(stderr, "loading %s: 0x%x\n", label, status);
        api->ConfigurationClose(cfg);
        return NULL;
    }
    return cfg;
}

/* Connects to 127.0.0.1:`port` naming the server `server_name`, the server using
 * `server_cfg`; returns whether CONNECTED came, and the transport's status in `status`. */
static int connect_once(HQUIC reg, HQUIC server_cfg, HQUIC client_cfg, uint16_t port,
                        const char* server_name, QUIC_STATUS* status) {
    if (server_cfg == NULL || client_cfg == NULL) return 0;
    current_server_config = server_cfg;
    QUIC_ADDR addr;
    memset(&addr, 0, sizeof(addr));
    QuicAddrSetFamily(&addr, QUIC_ADDRESS_FAMILY_INET);
    addr.Ipv4.sin_addr.s_addr = htonl(0x7f000001);
    QuicAddrSetPort(&addr, port);
    return qt_connect_once(api, reg, client_cfg, &addr, server_name, port, status);
}

#endif
