/* The heap returns to its starting level after the scale runs of stream_scale.c (10,000
 * streams one after another, 1,000 open at once, 100 MB through one stream buffered and
 * unbuffered). Built without ASan: live heap bytes come from glibc's mallinfo2() (in-use
 * bytes of every arena plus mmapped blocks), which counts the library's allocations too.
 *
 * The baseline is taken after a warm-up that runs every phase once, smaller: it fills the
 * caches that legitimately outlive a connection to their steady size, chiefly the handle
 * quarantine (the last 256 KiB of closed handles, a few hundred, keep their memory so late
 * calls on them are caught; a closed stream's receive buffers are released at StreamClose,
 * but the handle stays) and the TLS client's resumption-ticket store. Workers let go of their pooled
 * socket buffers once idle for a second, before each measure is taken. After the measured runs, with every
 * connection closed, live bytes must be back within SLACK of the baseline: the quarantine
 * then holds handles of the last connections instead of the warm-up's (a few KiB each), and
 * the allocator's own bookkeeping may shift a little. A leak of a few bytes per stream
 * (10,000+ streams) or of any buffer of the 100 MB runs would exceed it. */
#define STREAM_SCALE_NO_MAIN
#include "stream_scale.c"

#include <malloc.h>

#define SLACK (256 * 1024)

static long long live_bytes(void) {
    struct mallinfo2 m = mallinfo2();
    return (long long)(m.uordblks + m.hblkhd);
}

/* Waits (up to `ms`) for the heap to come down to `limit`: connections finish tearing down
 * on the library's workers after ConnectionClose returns on the server's side. */
static long long wait_heap_below(long long limit, int ms) {
    long long deadline = now_ms() + ms;
    long long now = live_bytes();
    while (now > limit && now_ms() < deadline) {
        struct timespec t = {0, 10 * 1000 * 1000};
        nanosleep(&t, NULL);
        now = live_bytes();
    }
    return now;
}

/* Live bytes once the last teardown on the workers is over and idle workers have let go of
 * their pooled buffers (1 s after their last work): the count is read every 50 ms until it
 * has not changed for 1.5 s (at most 6 s). */
static long long settled_heap(void) {
    long long deadline = now_ms() + 6000;
    long long last = live_bytes();
    long long since = now_ms();
    for (;;) {
        struct timespec t = {0, 50 * 1000 * 1000};
        nanosleep(&t, NULL);
        long long now = live_bytes();
        if (now != last) {
            last = now;
            since = now_ms();
        }
        if (now_ms() - since >= 1500 || now_ms() > deadline) return now;
    }
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    counter_init(&connected);
    counter_init(&conn_done);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config_100 = server_configuration(api, reg, "scale", 100, 0);
    server_config_1000 = server_configuration(api, reg, "scale", 1000, 0);
    server_config = server_config_100;
    HQUIC cfg = client_configuration(api, reg, "scale", 0);
    HQUIC cfg_unbuffered = client_configuration(api, reg, "scale", 0);
    QUIC_SETTINGS unbuffered;
    memset(&unbuffered, 0, sizeof(unbuffered));
    unbuffered.IsSet.SendBufferingEnabled = TRUE;
    unbuffered.SendBufferingEnabled = FALSE;
    CHECK(api->SetParam(cfg_unbuffered, QUIC_PARAM_CONFIGURATION_SETTINGS, sizeof(unbuffered),
                        &unbuffered) == QUIC_STATUS_SUCCESS);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "scale");

    /* Warm-up: every phase once, smaller; its thousands of streams fill the quarantine. */
    sequential(reg, cfg, port, 5000);
    if (failures == 0) concurrent(reg, cfg, port, 1000);
    if (failures == 0) bulk(reg, cfg, port, 32 * 1024 * 1024, 0);
    if (failures == 0) bulk(reg, cfg_unbuffered, port, 32 * 1024 * 1024, 1);
    long long baseline = settled_heap();

    if (failures == 0) sequential(reg, cfg, port, 10000);
    if (failures == 0) concurrent(reg, cfg, port, 1000);
    if (failures == 0) bulk(reg, cfg, port, 100ull * 1024 * 1024, 0);
    if (failures == 0) bulk(reg, cfg_unbuffered, port, 100ull * 1024 * 1024, 1);
    long long after = settled_heap();
    if (after > baseline + SLACK) after = wait_heap_below(baseline + SLACK, 10000);
    printf("memory_scale: live heap %lld bytes before, %lld after (%+lld)\n", baseline, after,
           after - baseline);
    CHECK(after <= baseline + SLACK);

    api->ListenerClose(listener);
    api->ConfigurationClose(cfg);
    api->ConfigurationClose(cfg_unbuffered);
    api->ConfigurationClose(server_config_100);
    api->ConfigurationClose(server_config_1000);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("memory_scale");
}
