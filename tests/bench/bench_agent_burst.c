/*
 * bench_agent_burst.c - how fast one erpsync-agent works through a queue of
 * commands, without the shim: K ChangeEngineStatus commands (Run alternating
 * true/false, so each one changes the engine) are produced to the command
 * topic at once, as the shim would encode them, and the program waits for
 * the status that answers each (read_committed, the first one that is not
 * Starting, matched by ce_correlationid).
 *
 *   bench_agent_burst -b HOST:PORT -e ENGINE [-n 200] [-L LABEL] [-o CSV] [-w
 * 60]
 *                     [-t PREFIX] [-p P] [-E COUNT] [-x]
 *
 * Prints commands/s (K over the time from the first produce to the last
 * answer) and per-command latency percentiles; with -o appends long-format
 * rows (section agent_burst); -w: seconds to wait for the answers (60).
 * Never fails on time. -t: topics PREFIXerpsync.commands and
 * PREFIXerpsync.status; -p: a poison record (invalid JSON) after every P-th
 * command; -E: spread the commands over COUNT engines ENGINE-0 ..
 * ENGINE-(COUNT-1), round robin (one agent serving a fleet); -x: produce
 * only, no waiting (tests/integration/test_batch.py, test_fleet.py).
 */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define UUID_LEN 36

#define now_ms mono_ms

static void uuid4(char out[UUID_LEN + 1]) {
    static FILE *f; /* kept open: the producer, not the agent, was the bound */
    unsigned char b[16];
    if (!f && !(f = fopen("/dev/urandom", "rb")))
        die("/dev/urandom", strerror(errno));
    if (fread(b, 1, sizeof(b), f) != sizeof(b))
        die("/dev/urandom", "short read");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(
        out, UUID_LEN + 1,
        "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
        b[11], b[12], b[13], b[14], b[15]);
}

static void rfc3339(int64_t ms, char out[32]) {
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One ChangeEngineStatus command as the shim encodes it. */
static void produce(rd_kafka_t *tx, const char *topic, const char *engine,
                    const char *id, const char *value) {
    char now_s[32], dl_s[32];
    int64_t w = wall_ms();
    rfc3339(w, now_s);
    rfc3339(w + 60000, dl_s);
    rd_kafka_headers_t *h = rd_kafka_headers_new(9);
    rd_kafka_header_add(h, "ce_specversion", -1, "1.0", -1);
    rd_kafka_header_add(h, "ce_id", -1, id, -1);
    rd_kafka_header_add(h, "ce_source", -1, "/erpsync/bench", -1);
    rd_kafka_header_add(h, "ce_type", -1,
                        "com.erpsync.command.ChangeEngineStatus", -1);
    rd_kafka_header_add(h, "ce_time", -1, now_s, -1);
    rd_kafka_header_add(h, "ce_subject", -1, engine, -1);
    rd_kafka_header_add(h, "content-type", -1, "application/json", -1);
    rd_kafka_header_add(h, "ce_deadline", -1, dl_s, -1);
    rd_kafka_header_add(h, "ce_principal", -1, "bench", -1);
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(
                tx, RD_KAFKA_V_TOPIC(topic),
                RD_KAFKA_V_KEY(engine, strlen(engine)),
                RD_KAFKA_V_VALUE((void *)value, strlen(value)),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(tx, 10);
    if (e)
        die("produce", rd_kafka_err2str(e));
}

/* The status reader: every partition of the status topic from its current
 * end, so nothing older is counted. */
static rd_kafka_t *status_reader(const char *bootstrap, const char *topic) {
    rd_kafka_t *rx = committed_reader(bootstrap, "bench-agent-burst");
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rx, topic, NULL);
    if (rd_kafka_metadata(rx, 0, rkt, &md, 10000) || md->topic_cnt != 1 ||
        md->topics[0].partition_cnt < 1)
        die("metadata", "status topic not found");
    int parts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; p++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rx, topic, p, &lo, &hi, 10000))
            die("watermarks", topic);
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = hi;
    }
    if (rd_kafka_assign(rx, l))
        die("assign", topic);
    rd_kafka_topic_partition_list_destroy(l);
    return rx;
}

int main(int argc, char **argv) {
    const char *bootstrap = NULL, *engine = NULL, *csv = NULL, *label = "agent";
    int n = 200, wait_s = 60, poison_every = 0, produce_only = 0, engines = 0,
        c;
    const char *prefix = "";
    char cmd_topic[300], st_topic[300];
    char err[512];
    while ((c = getopt(argc, argv, "b:e:n:L:o:w:t:p:E:x")) != -1) {
        switch (c) {
        case 'b':
            bootstrap = optarg;
            break;
        case 'e':
            engine = optarg;
            break;
        case 'n':
            n = atoi(optarg);
            break;
        case 'L':
            label = optarg;
            break;
        case 'o':
            csv = optarg;
            break;
        case 'w':
            wait_s = atoi(optarg);
            break;
        case 't':
            prefix = optarg;
            break;
        case 'p':
            poison_every = atoi(optarg);
            break;
        case 'E':
            engines = atoi(optarg);
            break;
        case 'x':
            produce_only = 1;
            break;
        default:
            bootstrap = NULL;
            break;
        }
    }
    if (!bootstrap || !engine || n < 1) {
        fprintf(stderr,
                "usage: bench_agent_burst -b HOST:PORT -e ENGINE [-n 200]"
                " [-L LABEL] [-o CSV] [-w 60] [-t PREFIX] [-p P] [-E COUNT] "
                "[-x]\n");
        return 2;
    }
    snprintf(cmd_topic, sizeof(cmd_topic), "%serpsync.commands", prefix);
    snprintf(st_topic, sizeof(st_topic), "%serpsync.status", prefix);
    rd_kafka_t *rx = produce_only ? NULL : status_reader(bootstrap, st_topic);

    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    set(pc, "bootstrap.servers", bootstrap);
    set(pc, "linger.ms", "0");
    set(pc, "enable.idempotence", "true");
    set(pc, "partitioner", "murmur2_random"); /* as the shim: the agent reads
                                                 its engine's partition only */
    rd_kafka_t *tx = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof(err));
    if (!tx)
        die("producer", err);

    char(*ids)[UUID_LEN + 1] = calloc((size_t)n, sizeof(*ids));
    double *sent = calloc((size_t)n, sizeof(double));
    double *lat = calloc((size_t)n, sizeof(double));
    int answered = 0;

    double t0 = now_ms();
    char key[256];
    for (int i = 0; i < n; i++) {
        /* Each command changes its engine: Run alternates per engine. */
        int turn = engines > 0 ? i / engines : i;
        if (engines > 0)
            snprintf(key, sizeof(key), "%s-%d", engine, i % engines);
        else
            snprintf(key, sizeof(key), "%s", engine);
        uuid4(ids[i]);
        sent[i] = now_ms();
        produce(tx, cmd_topic, key, ids[i],
                turn % 2 == 0 ? "{\"Run\":true}" : "{\"Run\":false}");
        if (poison_every > 0 && (i + 1) % poison_every == 0) {
            char pid[UUID_LEN + 1];
            uuid4(pid);
            produce(tx, cmd_topic, key, pid, "{\"Run\": tru");
        }
        rd_kafka_poll(tx, 0);
    }
    if (rd_kafka_flush(tx, 30000))
        die("flush", "not every command was delivered");
    double produced = now_ms() - t0;
    if (!rx) {
        rd_kafka_destroy(tx);
        return 0; /* -x: produce only */
    }

    double deadline = now_ms() + wait_s * 1000.0;
    int hint = 0;
    while (answered < n && now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rx, 100);
        if (!m)
            continue;
        rd_kafka_headers_t *h = NULL;
        const void *v;
        size_t sz;
        if (!m->err && !rd_kafka_message_headers(m, &h) &&
            !rd_kafka_header_get_last(h, "ce_correlationid", &v, &sz) &&
            sz == UUID_LEN &&
            !(m->payload &&
              memmem(m->payload, m->len, "\"State\":\"Starting\"", 18))) {
            /* Answers come in order: look from after the last one. */
            for (int j = 0; j < n; j++) {
                int i = (hint + j) % n;
                if (lat[i] == 0 && memcmp(ids[i], v, UUID_LEN) == 0) {
                    lat[i] = now_ms() - sent[i];
                    answered++;
                    hint = i + 1;
                    break;
                }
            }
        }
        rd_kafka_message_destroy(m);
    }
    double wall = now_ms() - t0;

    double *v2 = calloc((size_t)n, sizeof(double));
    int k = 0;
    for (int i = 0; i < n; i++)
        if (lat[i] > 0)
            v2[k++] = lat[i];
    if (k == 0)
        die(label, "no command was answered in time");
    qsort(v2, (size_t)k, sizeof(double), cmp_double);
    double rate = k * 1e3 / wall;
    printf("%-24s %d commands at once (produced in %.0f ms): %d answered in "
           "%.0f ms"
           " = %.1f commands/s; per command p50 %.1f  p90 %.1f  max %.1f ms\n",
           label, n, produced, k, wall, rate, pct(v2, k, .5), pct(v2, k, .9),
           v2[k - 1]);
    if (csv) {
        FILE *f = fopen(csv, "a");
        if (!f)
            die(csv, strerror(errno));
        fprintf(f,
                "agent_burst,%s,%d,n,%d\nagent_burst,%s,%d,lost,%d\n"
                "agent_burst,%s,%d,wall_ms,%.1f\nagent_burst,%s,%d,rps,%.2f\n"
                "agent_burst,%s,%d,p50_ms,%.2f\nagent_burst,%s,%d,p90_ms,%.2f\n"
                "agent_burst,%s,%d,max_ms,%.2f\n",
                label, n, k, label, n, n - k, label, n, wall, label, n, rate,
                label, n, pct(v2, k, .5), label, n, pct(v2, k, .9), label, n,
                v2[k - 1]);
        fclose(f);
    }
    rd_kafka_consumer_close(rx);
    rd_kafka_destroy(rx);
    rd_kafka_destroy(tx);
    return 0;
}
