/* The chain of a portable PEER_CERTIFICATE_RECEIVED (USE_PORTABLE_CERTIFICATES): a PKCS#7
 * SignedData holding the chain OpenSSL builds, leaf first, then the intermediate the peer sent,
 * then the root from the trust store when the chain reaches it. The peer presents a leaf and
 * an intermediate (QMUX_CHAIN_CERT, QMUX_CHAIN_KEY) under a root (QMUX_CHAIN_ROOT; DER copies
 * in QMUX_CHAIN_ROOT_DER and QMUX_CHAIN_MID_DER):
 * 1. A client trusting the root, INDICATE | PORTABLE: leaf, intermediate, root; SUCCESS.
 * 2. A client trusting something else, DEFER: leaf, intermediate; the validation failure
 *    (the issuer is not found: TLS_ERROR, as MsQuic maps X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY).
 * 3. A server requiring client authentication, trusting the root: leaf, intermediate, root.
 * 4. A server deferring validation, trusting nothing of it: leaf, intermediate; TLS_ERROR.
 * 5. An expired leaf (QMUX_CHAIN_EXPIRED_CERT, QMUX_CHAIN_EXPIRED_KEY), the client deferring
 *    and trusting the root: CERT_EXPIRED, and the whole chain. */
#include "support/qmux_test.h"

#define ALPN "cert-chain"
#define MAX_CERTS 4

static const QUIC_API_TABLE* api;

typedef struct {
    uint8_t* der;
    size_t len;
} Blob;

typedef struct {
    Counter events, connected, done;
    QUIC_STATUS deferred;
    Blob leaf;
    Blob certs[MAX_CERTS];
    int count, well_formed;
    HQUIC conn;
} Side;

static Side server_side, client_side;
static HQUIC server_config;

static Blob copy(const uint8_t* p, size_t n) {
    Blob b = {malloc(n > 0 ? n : 1), n};
    if (n > 0) memcpy(b.der, p, n);
    return b;
}

static int same(Blob a, Blob b) { return a.len == b.len && memcmp(a.der, b.der, a.len) == 0; }

static Blob read_file(const char* path) {
    Blob b = {NULL, 0};
    FILE* f = path != NULL ? fopen(path, "rb") : NULL;
    if (f == NULL) return b;
    uint8_t buf[8192];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return copy(buf, n);
}

/* One DER element at *p (before end); *p moves past it. */
static int der_next(const uint8_t** p, const uint8_t* end, uint8_t* tag, const uint8_t** body,
                    size_t* len) {
    if (end - *p < 2) return 0;
    *tag = (*p)[0];
    size_t n = (*p)[1];
    const uint8_t* q = *p + 2;
    if (n & 0x80) {
        size_t k = n & 0x7f;
        if (k == 0 || k > 3 || (size_t)(end - q) < k) return 0;
        n = 0;
        for (size_t i = 0; i < k; i++) n = (n << 8) | q[i];
        q += k;
    }
    if ((size_t)(end - q) < n) return 0;
    *body = q;
    *len = n;
    *p = q + n;
    return 1;
}

/* ContentInfo { signedData, [0] SignedData { version, digests, content, [0] certs, signers } }:
 * copies the certificates. */
static void walk_pkcs7(Side* s, const uint8_t* der, size_t der_len) {
    const uint8_t *p = der, *end = der + der_len, *body;
    size_t len;
    uint8_t tag;
    if (!der_next(&p, end, &tag, &body, &len) || tag != 0x30 || p != end) return;
    p = body;
    end = body + len;
    if (!der_next(&p, end, &tag, &body, &len) || tag != 0x06) return; /* signedData */
    if (!der_next(&p, end, &tag, &body, &len) || tag != 0xa0 || p != end) return;
    p = body;
    end = body + len;
    if (!der_next(&p, end, &tag, &body, &len) || tag != 0x30 || p != end) return;
    p = body;
    end = body + len;
    if (!der_next(&p, end, &tag, &body, &len) || tag != 0x02) return; /* version */
    if (!der_next(&p, end, &tag, &body, &len) || tag != 0x31) return; /* digests */
    if (!der_next(&p, end, &tag, &body, &len) || tag != 0x30) return; /* content */
    if (!der_next(&p, end, &tag, &body, &len) || tag != 0xa0) return; /* certificates */
    const uint8_t* cert = body;
    const uint8_t* certs_end = body + len;
    while (cert < certs_end) {
        const uint8_t* start = cert;
        const uint8_t* inner;
        size_t inner_len;
        if (!der_next(&cert, certs_end, &tag, &inner, &inner_len) || tag != 0x30) return;
        if (s->count == MAX_CERTS) return;
        s->certs[s->count++] = copy(start, (size_t)(cert - start));
    }
    if (!der_next(&p, end, &tag, &body, &len) || tag != 0x31 || p != end) return; /* signers */
    s->well_formed = 1;
}

static QUIC_STATUS on_event(Side* s, HQUIC conn, QUIC_CONNECTION_EVENT* ev, int server) {
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED: {
        s->deferred = ev->PEER_CERTIFICATE_RECEIVED.DeferredStatus;
        const QUIC_BUFFER* leaf = (const QUIC_BUFFER*)ev->PEER_CERTIFICATE_RECEIVED.Certificate;
        const QUIC_BUFFER* chain = (const QUIC_BUFFER*)ev->PEER_CERTIFICATE_RECEIVED.Chain;
        if (leaf != NULL) s->leaf = copy(leaf->Buffer, leaf->Length);
        if (chain != NULL && chain->Buffer != NULL) walk_pkcs7(s, chain->Buffer, chain->Length);
        counter_add(&s->events, 1);
        return QUIC_STATUS_SUCCESS;
    }
    case QUIC_CONNECTION_EVENT_CONNECTED:
        counter_add(&s->connected, 1);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        if (server) api->ConnectionClose(conn);
        counter_add(&s->done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    return on_event(ctx, conn, ev, 1);
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    return on_event(ctx, conn, ev, 0);
}

static QUIC_STATUS QUIC_API Listener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    return accept_connection(api, ev, (void*)ServerConnection, &server_side, server_config);
}

/* A configuration presenting the chain `name` (QMUX_CHAIN_<name>_CERT and _KEY, or with no
 * name QMUX_CHAIN_CERT and _KEY), with `flags`, trusting the CA file `ca` (NULL: the
 * system's roots only). */
static HQUIC config_named(HQUIC reg, const char* name, QUIC_CREDENTIAL_FLAGS flags,
                          const char* ca) {
    QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, NULL, 0, NULL, &cfg) == QUIC_STATUS_SUCCESS);
    char key[64], cert[64];
    snprintf(key, sizeof(key), "QMUX_CHAIN_%s%sKEY", name, *name ? "_" : "");
    snprintf(cert, sizeof(cert), "QMUX_CHAIN_%s%sCERT", name, *name ? "_" : "");
    QUIC_CERTIFICATE_FILE files = {getenv(key), getenv(cert)};
    CHECK(files.PrivateKeyFile != NULL && files.CertificateFile != NULL);
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    cred.CertificateFile = &files;
    cred.Flags = flags;
    if (ca != NULL) {
        cred.Flags |= QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
        cred.CaCertificateFile = ca;
    }
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    return cfg;
}

static HQUIC config_with(HQUIC reg, QUIC_CREDENTIAL_FLAGS flags, const char* ca) {
    return config_named(reg, "", flags, ca);
}

static void reset_side(Side* s) {
    for (int i = 0; i < s->count; i++) free(s->certs[i].der);
    free(s->leaf.der);
    memset(s, 0, sizeof(*s));
    counter_init(&s->events);
    counter_init(&s->connected);
    counter_init(&s->done);
}

static void run(HQUIC reg, HQUIC client_cfg, uint16_t port) {
    reset_side(&server_side);
    reset_side(&client_side);
    CHECK(api->ConnectionOpen(reg, ClientConnection, &client_side, &client_side.conn) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(client_side.conn, client_cfg,
                                              QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&client_side.connected, 1, 10000));
    CHECK(counter_wait(&server_side.connected, 1, 10000));
    api->ConnectionShutdown(client_side.conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&client_side.done, 1, 10000));
    CHECK(counter_wait(&server_side.done, 1, 10000));
    api->ConnectionClose(client_side.conn);
}

/* The chain `s` saw: the leaf, the intermediate, and the root when `with_root`. */
static void check_chain(Side* s, Blob mid, Blob root, int with_root, int line) {
    int ok = counter_get(&s->events) == 1 && s->well_formed && s->leaf.len > 100 &&
             s->count == (with_root ? 3 : 2) && same(s->certs[0], s->leaf) &&
             same(s->certs[1], mid) && (!with_root || same(s->certs[2], root));
    if (!ok)
        fprintf(stderr, "line %d: events %d, well formed %d, %d certificates\n", line,
                counter_get(&s->events), s->well_formed, s->count);
    CHECK(ok);
}

int main(void) {
    const char* root_file = getenv("QMUX_CHAIN_ROOT");
    Blob root = read_file(getenv("QMUX_CHAIN_ROOT_DER"));
    Blob mid = read_file(getenv("QMUX_CHAIN_MID_DER"));
    if (!have_test_cert() || root_file == NULL || root.len == 0 || mid.len == 0 ||
        getenv("QMUX_CHAIN_CERT") == NULL || getenv("QMUX_CHAIN_KEY") == NULL) {
        fprintf(stderr, "QMUX_CHAIN_* not set\n");
        return 1;
    }
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, Listener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    const QUIC_CREDENTIAL_FLAGS client = QUIC_CREDENTIAL_FLAG_CLIENT;
    const QUIC_CREDENTIAL_FLAGS portable = QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED |
                                           QUIC_CREDENTIAL_FLAG_USE_PORTABLE_CERTIFICATES;
    const QUIC_CREDENTIAL_FLAGS defer = QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION;
    const QUIC_CREDENTIAL_FLAGS require = QUIC_CREDENTIAL_FLAG_REQUIRE_CLIENT_AUTHENTICATION;

    /* 1. and 2.: the client's view; the server asks for nothing. */
    server_config = config_with(reg, QUIC_CREDENTIAL_FLAG_NONE, NULL);
    HQUIC trusting = config_with(reg, client | portable, root_file);
    run(reg, trusting, port);
    CHECK(client_side.deferred == QUIC_STATUS_SUCCESS);
    check_chain(&client_side, mid, root, 1, __LINE__);
    HQUIC deferring = config_with(reg, client | portable | defer, test_cert());
    run(reg, deferring, port);
    CHECK(client_side.deferred == QUIC_STATUS_TLS_ERROR);
    check_chain(&client_side, mid, root, 0, __LINE__);
    api->ConfigurationClose(server_config);

    /* 3. and 4.: the server's view of the client's chain. */
    server_config = config_with(reg, require | portable, root_file);
    HQUIC plain = config_with(reg, client, root_file);
    run(reg, plain, port);
    CHECK(server_side.deferred == QUIC_STATUS_SUCCESS);
    check_chain(&server_side, mid, root, 1, __LINE__);
    api->ConfigurationClose(server_config);
    server_config = config_with(reg, require | portable | defer, test_cert());
    run(reg, plain, port);
    CHECK(server_side.deferred == QUIC_STATUS_TLS_ERROR);
    check_chain(&server_side, mid, root, 0, __LINE__);
    api->ConfigurationClose(server_config);

    /* 5. An expired leaf under a trusted root. */
    server_config = config_named(reg, "EXPIRED", QUIC_CREDENTIAL_FLAG_NONE, NULL);
    HQUIC deferring_trusting = config_with(reg, client | portable | defer, root_file);
    run(reg, deferring_trusting, port);
    CHECK(client_side.deferred == QUIC_STATUS_CERT_EXPIRED);
    check_chain(&client_side, mid, root, 1, __LINE__);
    api->ConfigurationClose(server_config);
    api->ConfigurationClose(deferring_trusting);

    reset_side(&server_side);
    reset_side(&client_side);
    free(root.der);
    free(mid.der);
    api->ListenerClose(listener);
    api->ConfigurationClose(trusting);
    api->ConfigurationClose(deferring);
    api->ConfigurationClose(plain);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("cert_chain");
}
