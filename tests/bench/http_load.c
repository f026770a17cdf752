/*
 * http_load.c - a small HTTP/1.1 load generator with per-request latency.
 *
 * C connections (one thread each, keep-alive, TCP_NODELAY) to 127.0.0.1:PORT,
 * each sending N requests back to back after W warm-up requests; all
 * connections start together. Each connection cycles through the -d bodies
 * (request i of connection k sends body (i + k) % count), so with
 * -d '{"Run": true}' -d '{"Run": false}' every connection alternates.
 * Warm-up and measurement are each bounded by -t seconds: the measured run
 * ends when every connection is done or after -t seconds.
 *
 * -r RATE offers RATE requests/s in all instead (open loop): connection k
 * sends its i-th request at start + (i * C + k) / RATE s, or at once when
 * it is behind, and a latency runs from that scheduled time, so time spent
 * queued behind a slow answer counts (no coordinated omission). -p may be
 * given up to four times: connection k talks to the (k % count)-th port
 * (several servers behind one load, e.g. two shims).
 *
 * Prints requests/s and p50/p90/p99/p99.9/max/mean latency (ms), the status
 * codes seen and, when the server closed connections, how many new ones were
 * opened (a reconnect is not in the latency, it is in requests/s); with
 * -o CSV appends long-format rows (section,label,concurrency,metric,value,
 * reconnects included); with -l LOG writes one line per
 * measured request: conn seq start_unix_us latency_us status command_id
 * (the X-ErpSync-Command-Id answer header, "-" when absent).
 * Never fails on time: only on usage and when nothing could be measured.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define MAX_HDRS   32
#define MAX_BODIES 8
#define BUF_SIZE   (256 * 1024)

typedef struct sample {
    double start_unix_us;
    double ms;
    int code;
    char id[40];
} sample_t;

#define MAX_PORTS 4

typedef struct conn {
    int index;
    int fd;
    struct sockaddr_in sa;
    sample_t *s;
    int got;         /* measured responses */
    int failed;      /* transport errors (connection refused, reset, timeout) */
    int reconnects;  /* server closed the connection between requests */
    double deadline; /* warm-up, then measurement: -t each */
    char err[160];
    char *buf;
} conn_t;

static struct {
    int port;
    int ports[MAX_PORTS], port_cnt;
    const char *host;
    int conns, n, warmup;
    double max_s;
    double rate; /* offered requests/s in all; 0: closed loop */
    const char *method, *path;
    const char *hdrs[MAX_HDRS];
    int hdr_cnt;
    const char *bodies[MAX_BODIES];
    int body_cnt;
    int expect;
    const char *csv, *section, *label, *log;
    char *req[MAX_BODIES];
    size_t req_len[MAX_BODIES];
    pthread_barrier_t start;
} g = {.host = "127.0.0.1",
       .conns = 1,
       .n = 100,
       .max_s = 60,
       .method = "GET",
       .path = "/",
       .expect = 200,
       .section = "http",
       .label = "run"};

static void sleep_ms(double ms) {
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1e3);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1e3) * 1e6);
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

static double unix_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void build_requests(void) {
    int cnt = g.body_cnt ? g.body_cnt : 1;
    for (int b = 0; b < cnt; b++) {
        const char *body = g.body_cnt ? g.bodies[b] : NULL;
        size_t cap = 1024 + (body ? strlen(body) : 0);
        for (int i = 0; i < g.hdr_cnt; i++)
            cap += strlen(g.hdrs[i]) + 2;
        char *r = malloc(cap);
        int n = snprintf(r, cap, "%s %s HTTP/1.1\r\nHost: %s:%d\r\n", g.method,
                         g.path, g.host, g.port);
        for (int i = 0; i < g.hdr_cnt; i++)
            n += snprintf(r + n, cap - (size_t)n, "%s\r\n", g.hdrs[i]);
        if (body)
            n += snprintf(r + n, cap - (size_t)n, "Content-Length: %zu\r\n",
                          strlen(body));
        n += snprintf(r + n, cap - (size_t)n, "\r\n%s", body ? body : "");
        g.req[b] = r;
        g.req_len[b] = (size_t)n;
    }
    g.body_cnt = cnt;
}

static int dial(conn_t *c) {
    if (c->fd >= 0)
        close(c->fd);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* A stuck server must not hold the run past its bound. */
    double left_s = (c->deadline - mono_ms()) / 1e3 + 10;
    struct timeval tv = {(time_t)(left_s > 1 ? left_s : 1), 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(c->fd, (struct sockaddr *)&c->sa, sizeof(c->sa))) {
        snprintf(c->err, sizeof(c->err), "connect: %s", strerror(errno));
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static const char *find_hdr(const char *h, const char *end, const char *name,
                            size_t *vlen) {
    size_t nl = strlen(name);
    for (const char *p = strstr(h, "\r\n"); p && p + 2 < end;
         p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if ((size_t)(end - line) > nl && strncasecmp(line, name, nl) == 0 &&
            line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *e = strstr(v, "\r\n");
            *vlen = e ? (size_t)(e - v) : 0;
            return v;
        }
    }
    return NULL;
}

/* @returns 1 when buf[0..len) holds the whole chunked body from off on. */
static int chunked_done(const char *buf, size_t len, size_t off) {
    for (;;) {
        const char *crlf = memmem(buf + off, len - off, "\r\n", 2);
        if (!crlf)
            return 0;
        size_t size = strtoul(buf + off, NULL, 16);
        off = (size_t)(crlf - buf) + 2;
        if (size == 0)
            return memmem(buf + off - 2, len - off + 2, "\r\n\r\n", 4) != NULL;
        if (len < off + size + 2)
            return 0;
        off += size + 2;
    }
}

/* Sends request b and reads one whole response.
 * @returns the status code, 0 when the server had closed the idle
 * connection (nothing read: resend on a new one), -1 on a transport error. */
static int exchange(conn_t *c, int b, char *id, size_t id_size,
                    int *close_after) {
    size_t len = 0;
    const char *p = g.req[b];
    size_t left = g.req_len[b];
    while (left > 0) {
        ssize_t w = send(c->fd, p, left, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return errno == EPIPE || errno == ECONNRESET ? 0 : -1;
        p += w;
        left -= (size_t)w;
    }
    size_t hdr_end = 0, need = 0;
    int code = -1, chunked = 0, have_len = 0;
    for (;;) {
        if (len + 1 >= BUF_SIZE) {
            snprintf(c->err, sizeof(c->err), "response larger than %d bytes",
                     BUF_SIZE);
            return -1;
        }
        ssize_t r = recv(c->fd, c->buf + len, BUF_SIZE - 1 - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (len == 0 && (r == 0 || errno == ECONNRESET))
                return 0;
            snprintf(c->err, sizeof(c->err), "recv: %s",
                     r == 0 ? "connection closed mid-response"
                            : strerror(errno));
            return -1;
        }
        len += (size_t)r;
        c->buf[len] = '\0';
        if (!hdr_end) {
            char *e = strstr(c->buf, "\r\n\r\n");
            if (!e)
                continue;
            hdr_end = (size_t)(e - c->buf) + 4;
            if (sscanf(c->buf, "HTTP/1.%*d %d", &code) != 1) {
                snprintf(c->err, sizeof(c->err), "not an HTTP response");
                return -1;
            }
            size_t vl;
            const char *v;
            if ((v = find_hdr(c->buf, e + 2, "Content-Length", &vl))) {
                need = hdr_end + strtoul(v, NULL, 10);
                have_len = 1;
            }
            if ((v = find_hdr(c->buf, e + 2, "Transfer-Encoding", &vl)) &&
                vl >= 7 && strncasecmp(v, "chunked", 7) == 0)
                chunked = 1;
            if ((v = find_hdr(c->buf, e + 2, "Connection", &vl)) && vl >= 5 &&
                strncasecmp(v, "close", 5) == 0)
                *close_after = 1;
            if ((v = find_hdr(c->buf, e + 2, "X-ErpSync-Command-Id", &vl)) &&
                vl < id_size) {
                memcpy(id, v, vl);
                id[vl] = '\0';
            }
            if (code == 204 || code == 304 || (code >= 100 && code < 200))
                need = hdr_end, have_len = 1;
        }
        if (chunked) {
            if (chunked_done(c->buf, len, hdr_end))
                return code;
        } else if (have_len) {
            if (len >= need)
                return code;
        }
        /* Neither: the body ends when the server closes. */
    }
}

static void *conn_main(void *arg) {
    conn_t *c = arg;
    c->deadline = mono_ms() + g.max_s * 1e3;
    int ready = dial(c) == 0;
    for (int i = 0; ready && i < g.warmup && mono_ms() < c->deadline; i++) {
        char id[40];
        int close_after = 0;
        int code = exchange(c, (i + c->index) % g.body_cnt, id, sizeof(id),
                            &close_after);
        if (code < 0 || ((code == 0 || close_after) && dial(c)))
            ready = 0;
    }
    pthread_barrier_wait(&g.start);
    c->deadline = mono_ms() + g.max_s * 1e3;
    if (!ready) {
        c->failed++;
        return NULL;
    }
    double start = mono_ms();
    for (int i = 0; i < g.n && mono_ms() < c->deadline; i++) {
        sample_t *s = &c->s[c->got];
        int b = (g.warmup + i + c->index) % g.body_cnt, close_after = 0, code;
        strcpy(s->id, "-");
        double t0 = mono_ms();
        if (g.rate > 0) {
            double at = start + ((double)i * g.conns + c->index) * 1e3 / g.rate;
            if (at > t0)
                sleep_ms(at - t0);
            t0 = at; /* behind schedule: the wait counts */
        }
        s->start_unix_us = unix_us();
        code = exchange(c, b, s->id, sizeof(s->id), &close_after);
        if (code == 0) { /* closed while idle: resend once on a new one */
            c->reconnects++;
            if (dial(c) == 0)
                code = exchange(c, b, s->id, sizeof(s->id), &close_after);
            if (code == 0)
                code = -1;
        }
        if (code < 0) {
            c->failed++;
            break;
        }
        s->ms = mono_ms() - t0;
        s->code = code;
        c->got++;
        if (close_after) {
            c->reconnects++;
            if (dial(c)) {
                c->failed++;
                break;
            }
        }
    }
    if (c->fd >= 0)
        close(c->fd);
    return NULL;
}

static void usage(void) {
    fprintf(
        stderr,
        "usage: http_load -p PORT [-p PORT]... [-c CONNS] [-n REQS_PER_CONN]"
        " [-w WARMUP] [-t MAX_S] [-r RATE]\n"
        "         [-m METHOD] [-u PATH] [-H 'Name: value']... [-d BODY]..."
        " [-e CODE]\n"
        "         [-o CSV -S SECTION -L LABEL] [-l REQUEST_LOG]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int opt;
    while ((opt = getopt(argc, argv, "p:c:n:w:t:m:u:H:d:e:o:S:L:l:r:")) != -1) {
        switch (opt) {
        case 'p':
            if (g.port_cnt == MAX_PORTS)
                usage();
            g.ports[g.port_cnt] = atoi(optarg);
            if (g.ports[g.port_cnt] <= 0 || g.ports[g.port_cnt] > 65535)
                usage();
            g.port = g.ports[0];
            g.port_cnt++;
            break;
        case 'r':
            g.rate = atof(optarg);
            break;
        case 'c':
            g.conns = atoi(optarg);
            break;
        case 'n':
            g.n = atoi(optarg);
            break;
        case 'w':
            g.warmup = atoi(optarg);
            break;
        case 't':
            g.max_s = atof(optarg);
            break;
        case 'm':
            g.method = optarg;
            break;
        case 'u':
            g.path = optarg;
            break;
        case 'H':
            if (g.hdr_cnt == MAX_HDRS)
                usage();
            g.hdrs[g.hdr_cnt++] = optarg;
            break;
        case 'd':
            if (g.body_cnt == MAX_BODIES)
                usage();
            g.bodies[g.body_cnt++] = optarg;
            break;
        case 'e':
            g.expect = atoi(optarg);
            break;
        case 'o':
            g.csv = optarg;
            break;
        case 'S':
            g.section = optarg;
            break;
        case 'L':
            g.label = optarg;
            break;
        case 'l':
            g.log = optarg;
            break;
        default:
            usage();
        }
    }
    if (g.port <= 0 || g.port > 65535 || g.conns < 1 || g.conns > 1024 ||
        g.n < 1 || g.warmup < 0 || g.max_s <= 0 || g.rate < 0)
        usage();
    build_requests();

    conn_t *cs = calloc((size_t)g.conns, sizeof(conn_t));
    pthread_t *th = calloc((size_t)g.conns, sizeof(pthread_t));
    pthread_barrier_init(&g.start, NULL, (unsigned)g.conns + 1);
    for (int i = 0; i < g.conns; i++) {
        cs[i].index = i;
        cs[i].fd = -1;
        cs[i].sa.sin_family = AF_INET;
        cs[i].sa.sin_port = htons((uint16_t)g.ports[i % g.port_cnt]);
        inet_pton(AF_INET, g.host, &cs[i].sa.sin_addr);
        cs[i].s = calloc((size_t)g.n, sizeof(sample_t));
        cs[i].buf = malloc(BUF_SIZE);
        if (pthread_create(&th[i], NULL, conn_main, &cs[i])) {
            fprintf(stderr, "http_load: cannot start thread %d\n", i);
            return 1;
        }
    }
    pthread_barrier_wait(&g.start);
    double t0 = mono_ms();
    for (int i = 0; i < g.conns; i++)
        pthread_join(th[i], NULL);
    double wall = mono_ms() - t0;

    int total = 0, failed = 0, reconnects = 0, unexpected = 0;
    int codes[600] = {0};
    for (int i = 0; i < g.conns; i++) {
        total += cs[i].got;
        failed += cs[i].failed;
        reconnects += cs[i].reconnects;
        if (cs[i].err[0])
            fprintf(stderr, "http_load: connection %d: %s\n", i, cs[i].err);
    }
    double *v = calloc((size_t)(total ? total : 1), sizeof(double)), sum = 0;
    FILE *log = g.log ? fopen(g.log, "w") : NULL;
    int k = 0;
    for (int i = 0; i < g.conns; i++) {
        for (int j = 0; j < cs[i].got; j++) {
            sample_t *s = &cs[i].s[j];
            v[k++] = s->ms;
            sum += s->ms;
            if (s->code >= 0 && s->code < 600)
                codes[s->code]++;
            if (s->code != g.expect)
                unexpected++;
            if (log)
                fprintf(log, "%d %d %.0f %.0f %d %s\n", i, j, s->start_unix_us,
                        s->ms * 1e3, s->code, s->id);
        }
    }
    if (log)
        fclose(log);
    if (total == 0) {
        fprintf(stderr, "http_load: %s: no request completed\n", g.label);
        return 1;
    }
    qsort(v, (size_t)total, sizeof(double), cmp_double);
    double rps = total * 1e3 / wall;
    char codes_s[256] = "";
    size_t cl = 0;
    for (int i = 0; i < 600; i++)
        if (codes[i] && cl < sizeof(codes_s) - 16)
            cl += (size_t)snprintf(codes_s + cl, sizeof(codes_s) - cl,
                                   "%s%d:%d", cl ? " " : "", i, codes[i]);
    /* A server that answers "Connection: close" costs a new TCP connection
     * per request (not timed in the latency, counted in req/s). */
    char reconn_s[64] = "";
    if (reconnects)
        snprintf(reconn_s, sizeof(reconn_s),
                 "  new connections: %d (%.2f per request)", reconnects,
                 (double)reconnects / total);
    printf("%-30s c=%-3d n=%-6d %9.1f req/s  p50 %7.2f  p90 %7.2f  p99 %7.2f"
           "  p99.9 %7.2f  max %7.2f  mean %7.2f ms  [%s]%s%s\n",
           g.label, g.conns, total, rps, pct(v, total, .5), pct(v, total, .9),
           pct(v, total, .99), pct(v, total, .999), v[total - 1], sum / total,
           codes_s, reconn_s, failed ? "  TRANSPORT ERRORS" : "");
    if (g.csv) {
        FILE *f = fopen(g.csv, "a");
        if (!f) {
            perror(g.csv);
            return 1;
        }
        struct {
            const char *k;
            double v;
        } rows[] = {{"n", total},
                    {"errors", failed + unexpected},
                    {"reconnects", reconnects},
                    {"wall_s", wall / 1e3},
                    {"rps", rps},
                    {"p50_ms", pct(v, total, .5)},
                    {"p90_ms", pct(v, total, .9)},
                    {"p99_ms", pct(v, total, .99)},
                    {"p999_ms", pct(v, total, .999)},
                    {"max_ms", v[total - 1]},
                    {"mean_ms", sum / total}};
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
            fprintf(f, "%s,%s,%d,%s,%.4f\n", g.section, g.label, g.conns,
                    rows[i].k, rows[i].v);
        for (int i = 0; i < 600; i++)
            if (codes[i])
                fprintf(f, "%s,%s,%d,code_%d,%d\n", g.section, g.label, g.conns,
                        i, codes[i]);
        fclose(f);
    }
    return 0;
}
