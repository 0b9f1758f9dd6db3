/* tcp_baseline: plain TCP over loopback, the ceiling for perf's upload and download. The same
 * request header as perf (16 bytes: "PERF", op, size); 1 MiB writes, 64 KiB reads.
 *
 *   tcp_baseline -server -port P
 *   tcp_baseline -client [-target 127.0.0.1] -port P -scenario upload|download [-bytes N] [-json]
 *
 * upload: the client writes the header and N bytes, then shuts down its side; the server reads
 * until EOF and answers with the 8-byte count; the time runs until that answer.
 * download: the server writes N bytes and closes; the time runs until the client reads EOF. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WRITE_SIZE (1 << 20)
#define READ_SIZE (64 << 10)
#define HDR_LEN 16
enum { OP_UPLOAD = 1, OP_DOWNLOAD = 2 };

static void die(const char* what) {
    fprintf(stderr, "tcp_baseline: %s: %s\n", what, strerror(errno));
    exit(1);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void put_u64(uint8_t* p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get_u64(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void write_all(int fd, const uint8_t* p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            die("write");
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Reads exactly n bytes; returns 0 at EOF before them. */
static int read_exact(int fd, uint8_t* p, size_t n) {
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0) {
            if (errno == EINTR) continue;
            die("read");
        }
        if (r == 0) return 0;
        p += r;
        n -= (size_t)r;
    }
    return 1;
}

/* Reads until EOF in READ_SIZE reads; returns the byte count. */
static uint64_t drain(int fd, uint8_t* buf) {
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(fd, buf, READ_SIZE);
        if (r < 0) {
            if (errno == EINTR) continue;
            die("read");
        }
        if (r == 0) return total;
        total += (uint64_t)r;
    }
}

static void send_bytes(int fd, const uint8_t* data, uint64_t n) {
    while (n > 0) {
        size_t k = n > WRITE_SIZE ? WRITE_SIZE : (size_t)n;
        write_all(fd, data, k);
        n -= k;
    }
}

static uint8_t* Data;

static void* serve(void* arg) {
    int fd = (int)(intptr_t)arg;
    uint8_t hdr[HDR_LEN];
    uint8_t* buf = malloc(READ_SIZE);
    if (read_exact(fd, hdr, HDR_LEN) && memcmp(hdr, "PERF", 4) == 0) {
        uint64_t size = get_u64(hdr + 8);
        if (hdr[4] == OP_UPLOAD) {
            uint8_t reply[8];
            put_u64(reply, drain(fd, buf));
            write_all(fd, reply, sizeof(reply));
        } else if (hdr[4] == OP_DOWNLOAD) {
            send_bytes(fd, Data, size);
        }
    } else {
        fprintf(stderr, "tcp_baseline: bad request header\n");
    }
    free(buf);
    close(fd);
    return NULL;
}

int main(int argc, char** argv) {
    int server = 0, client = 0, json = 0, port = 0;
    const char *target = "127.0.0.1", *scenario = NULL, *label = "tcp";
    uint64_t bytes = 1ull << 30;
    for (int i = 1; i < argc; i++) {
        const char* v = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(argv[i], "-server") == 0) server = 1;
        else if (strcmp(argv[i], "-client") == 0) client = 1;
        else if (strcmp(argv[i], "-json") == 0) json = 1;
        else if (strcmp(argv[i], "-port") == 0) port = atoi(v), i++;
        else if (strcmp(argv[i], "-target") == 0) target = v, i++;
        else if (strcmp(argv[i], "-scenario") == 0) scenario = v, i++;
        else if (strcmp(argv[i], "-label") == 0) label = v, i++;
        else if (strcmp(argv[i], "-buffered") == 0) i++; /* accepted for symmetry with perf */
        else if (strcmp(argv[i], "-bytes") == 0) {
            char* end = NULL;
            double d = strtod(v, &end);
            uint64_t m = 1;
            if (strcasecmp(end, "kib") == 0 || strcasecmp(end, "k") == 0) m = 1ull << 10;
            else if (strcasecmp(end, "mib") == 0 || strcasecmp(end, "m") == 0) m = 1ull << 20;
            else if (strcasecmp(end, "gib") == 0 || strcasecmp(end, "g") == 0) m = 1ull << 30;
            bytes = (uint64_t)(d * (double)m);
            i++;
        } else {
            fprintf(stderr, "usage: tcp_baseline -server -port P | -client [-target A] -port P "
                            "-scenario upload|download [-bytes N] [-json]\n");
            return 2;
        }
    }
    if (server == client || port == 0) {
        fprintf(stderr, "tcp_baseline: give -server or -client, and -port\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    Data = malloc(WRITE_SIZE);
    memset(Data, 0x5a, WRITE_SIZE);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (server) {
        int l = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (l < 0 || bind(l, (struct sockaddr*)&a, sizeof(a)) != 0 || listen(l, 128) != 0) die("listen");
        printf("tcp_baseline server listening on port %d\n", port);
        fflush(stdout);
        for (;;) {
            int fd = accept(l, NULL, NULL);
            if (fd < 0) {
                if (errno == EINTR) continue;
                die("accept");
            }
            pthread_t t;
            pthread_create(&t, NULL, serve, (void*)(intptr_t)fd);
            pthread_detach(t);
        }
    }
    int op;
    if (scenario != NULL && strcmp(scenario, "upload") == 0) op = OP_UPLOAD;
    else if (scenario != NULL && strcmp(scenario, "download") == 0) op = OP_DOWNLOAD;
    else {
        fprintf(stderr, "tcp_baseline: -scenario upload|download\n");
        return 2;
    }
    if (inet_pton(AF_INET, target, &a.sin_addr) != 1) {
        fprintf(stderr, "tcp_baseline: -target must be an IPv4 address\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr*)&a, sizeof(a)) != 0) die("connect");
    uint8_t hdr[HDR_LEN] = {'P', 'E', 'R', 'F', (uint8_t)op};
    put_u64(hdr + 8, bytes);
    uint8_t* buf = malloc(READ_SIZE);
    double t0 = now_s();
    write_all(fd, hdr, HDR_LEN);
    uint64_t got;
    if (op == OP_UPLOAD) {
        send_bytes(fd, Data, bytes);
        shutdown(fd, SHUT_WR);
        uint8_t reply[8];
        if (!read_exact(fd, reply, sizeof(reply))) {
            fprintf(stderr, "tcp_baseline: no reply\n");
            return 1;
        }
        got = get_u64(reply);
    } else {
        got = drain(fd, buf);
    }
    double secs = now_s() - t0;
    close(fd);
    if (got != bytes) {
        fprintf(stderr, "tcp_baseline: the receiver got %llu bytes of %llu\n", (unsigned long long)got,
                (unsigned long long)bytes);
        return 1;
    }
    long hwm = 0;
    FILE* f = fopen("/proc/self/status", "r");
    char line[256];
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "VmHWM:", 6) == 0) hwm = strtol(line + 6, NULL, 10) * 1024;
    if (f != NULL) fclose(f);
    double gbps = (double)bytes / secs / 1e9;
    printf("%s [%s, plain TCP]: %llu bytes in %.3f s = %.3f GB/s\n", scenario, label, (unsigned long long)bytes,
           secs, gbps);
    if (json)
        printf("{\"scenario\":\"%s\",\"impl\":\"%s\",\"transport\":\"tcp\",\"lib\":\"none\",\"lib_path\":\"none\","
               "\"buffered\":1,\"bytes\":%llu,\"seconds\":%.6f,\"gbps\":%.6f,\"peak_rss\":%ld}\n",
               scenario, label, (unsigned long long)bytes, secs, gbps, hwm);
    return 0;
}
