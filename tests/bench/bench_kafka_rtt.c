/*
 * bench_kafka_rtt.c - the raw Kafka round trip erpsync is built on, measured
 * with librdkafka alone, so erpsync's end-to-end latency can be read as a
 * ratio against it.
 *
 * Variants (-m, comma-separated, or "all"):
 *   plain      producer -> topic REQ -> consumer. One hop, like a command
 *              reaching the agent.
 *   txn        requester produces to REQ; a responder consumes it and, in one
 *              transaction, produces a reply to REP, sends its offset and
 *              commits; the requester waits for the reply (read_committed).
 *              Two hops plus a commit: the shape of a ChangeEngineStatus.
 *   txn-audit  as txn, plus a second record to AUDIT in the same transaction
 *              (the agent publishes status and audit together).
 *   txn-audit-fsync  as txn-audit, plus the agent's durable state write
 *              before the transaction: write a temp file of the agent's state
 *              size, fsync, rename, fsync the directory (-d DIR).
 *
 * Client settings are the ones erpsync uses: linger.ms=0, idempotent
 * producers, fetch.wait.max.ms=10 (-f changes it),
 * isolation.level=read_committed, consumers assigned at the end offset. Records
 * carry a ~200-byte JSON value and eight ce_* headers, like an erpsync command.
 *
 * Prints a table (ms) and, with -o FILE, appends long-format CSV rows
 * (section,label,param,metric,value). Never fails on time.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define T_REQ         "bench.rtt.req"
#define T_REP         "bench.rtt.rep"
#define T_AUDIT       "bench.rtt.audit"
#define PART          0
#define STATE_IDS_MAX 1024 /* the agent remembers this many command ids */

enum { V_PLAIN, V_TXN, V_TXN_AUDIT, V_TXN_AUDIT_FSYNC, V_CNT };
static const char *const vname[V_CNT] = {"plain", "txn", "txn-audit",
                                         "txn-audit-fsync"};

typedef struct opts {
    const char *bootstrap;
    int n, warmup, size;
    int fetch_wait_ms;
    int dr_cb; /* a delivery-report callback on the responder */
    const char *state_dir;
    const char *csv;
    int variants[V_CNT];
} opts_t;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
                        void *opaque) {
    (void)rk;
    (void)opaque;
    if (rkm->err)
        die("delivery", rd_kafka_err2str(rkm->err));
}

static rd_kafka_t *producer(const opts_t *o, const char *txn_id) {
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    set(c, "bootstrap.servers", o->bootstrap);
    set(c, "client.id", "bench-kafka-rtt");
    set(c, "linger.ms", "0");
    set(c, "enable.idempotence", "true");
    if (txn_id) {
        set(c, "transactional.id", txn_id);
        set(c, "transaction.timeout.ms", "10000");
        /* commit_transaction() flushes first; without delivery reports
         * nothing wakes the flush's poll, which then waits its 10 ms
         * slices (librdkafka rd_kafka_flush()). -D sets a callback. */
        if (o->dr_cb)
            rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    if (!rk)
        die("producer", err);
    if (txn_id) {
        rd_kafka_error_t *e = rd_kafka_init_transactions(rk, 30000);
        if (e)
            die("init_transactions", rd_kafka_error_string(e));
    }
    return rk;
}

/* A consumer of one partition from its end offset; group.id only so a
 * responder can send its offsets to a transaction. */
static rd_kafka_t *consumer(const opts_t *o, const char *topic,
                            const char *group) {
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    set(c, "bootstrap.servers", o->bootstrap);
    set(c, "client.id", "bench-kafka-rtt");
    set(c, "group.id", group);
    set(c, "enable.auto.commit", "false");
    char fw[16];
    snprintf(fw, sizeof(fw), "%d", o->fetch_wait_ms);
    set(c, "fetch.wait.max.ms", fw);
    set(c, "isolation.level", "read_committed");
    set(c, "enable.partition.eof", "false");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
    if (!rk)
        die("consumer", err);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, PART)->offset =
        RD_KAFKA_OFFSET_END;
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        die("assign", rd_kafka_err2str(e));
    return rk;
}

static void close_consumer(rd_kafka_t *rk) {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

/* ~200-byte JSON value and the headers an erpsync command carries. */
static void produce(rd_kafka_t *rk, const char *topic, int64_t seq, int size) {
    char val[4096], hdr[64];
    int n = snprintf(val, sizeof(val),
                     "{\"seq\":%" PRId64 ",\"Run\":true,"
                     "\"pad\":\"",
                     seq);
    while (n < size - 2 && n < (int)sizeof(val) - 3)
        val[n++] = 'x';
    val[n++] = '"';
    val[n++] = '}';
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    snprintf(hdr, sizeof(hdr), "%" PRId64, seq);
    rd_kafka_header_add(h, "ce_specversion", -1, "1.0", -1);
    rd_kafka_header_add(h, "ce_id", -1, "3b241101-e2bb-4255-8caf-4136c566a962",
                        -1);
    rd_kafka_header_add(h, "ce_source", -1, "/erpsync/shim", -1);
    rd_kafka_header_add(h, "ce_type", -1,
                        "com.erpsync.command.ChangeEngineStatus", -1);
    rd_kafka_header_add(h, "ce_time", -1, "2026-01-01T00:00:00.000Z", -1);
    rd_kafka_header_add(h, "ce_subject", -1, "bench", -1);
    rd_kafka_header_add(h, "content-type", -1, "application/json", -1);
    rd_kafka_header_add(h, "bench_seq", -1, hdr, -1);
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(PART),
                RD_KAFKA_V_KEY("bench", 5), RD_KAFKA_V_VALUE(val, (size_t)n),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(rk, 10);
    if (e) {
        rd_kafka_headers_destroy(h);
        die("produce", rd_kafka_err2str(e));
    }
}

static int64_t seq_of(const rd_kafka_message_t *m) {
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t sz;
    char buf[32];
    if (rd_kafka_message_headers(m, &h) ||
        rd_kafka_header_get_last(h, "bench_seq", &v, &sz) || sz >= sizeof(buf))
        return INT64_MIN;
    memcpy(buf, v, sz);
    buf[sz] = '\0';
    return strtoll(buf, NULL, 10);
}

/* ---- the responder: consume, (state write,) transaction, commit ---- */

typedef struct responder {
    const opts_t *o;
    int variant;
    rd_kafka_t *in, *out;
    atomic_int stop;
    atomic_int measuring; /* record phase times only after the warm-up */
    int64_t ids;          /* commands "remembered" so far, for the state size */
    /* Per request, in the responder: state write, send_offsets, commit. */
    double *t_fsync, *t_offsets, *t_commit;
    int t_cnt, t_cap;
    char err[512];
} responder_t;

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* What the agent's statefile.c does per command: the whole state (its ring
 * of applied command ids, ~41 bytes each once pretty-printed) to a temp
 * file, fsync, rename over the old one, fsync the directory. */
static void state_write(responder_t *r) {
    static char buf[400 + STATE_IDS_MAX * 48];
    char path[1100], tmp[1200];
    int64_t ids = ++r->ids < STATE_IDS_MAX ? r->ids : STATE_IDS_MAX;
    size_t n =
        (size_t)snprintf(buf, sizeof(buf),
                         "{\n\t\"Version\":\t1,\n\t\"DesiredRun\":\ttrue,"
                         "\n\t\"AppliedCommands\":\t[");
    for (int64_t i = 0; i < ids; i++)
        n +=
            (size_t)snprintf(buf + n, sizeof(buf) - n,
                             "\"3b241101-e2bb-4255-8caf-%012" PRId64 "\", ", i);
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "]\n}\n");
    snprintf(path, sizeof(path), "%s/bench.state.json", r->o->state_dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write_all(fd, buf, n) || fsync(fd))
        die(tmp, strerror(errno));
    close(fd);
    if (rename(tmp, path))
        die(path, strerror(errno));
    int dfd = open(r->o->state_dir, O_RDONLY | O_DIRECTORY);
    if (dfd < 0 || fsync(dfd))
        die(r->o->state_dir, strerror(errno));
    close(dfd);
}

static void txn_check(rd_kafka_error_t *e, const char *what) {
    if (e)
        die(what, rd_kafka_error_string(e));
}

static void *responder_main(void *arg) {
    responder_t *r = arg;
    rd_kafka_consumer_group_metadata_t *cgmd =
        rd_kafka_consumer_group_metadata(r->in);
    while (!atomic_load(&r->stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->in, 100);
        if (!m)
            continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        int64_t seq = seq_of(m);
        double t0 = mono_ms();
        if (r->variant == V_TXN_AUDIT_FSYNC)
            state_write(r);
        double t1 = mono_ms();
        txn_check(rd_kafka_begin_transaction(r->out), "begin_transaction");
        produce(r->out, T_REP, seq, r->o->size);
        if (r->variant != V_TXN)
            produce(r->out, T_AUDIT, seq, r->o->size);
        rd_kafka_topic_partition_list_t *offs =
            rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(offs, T_REQ, PART)->offset =
            m->offset + 1;
        double t2 = mono_ms();
        txn_check(
            rd_kafka_send_offsets_to_transaction(r->out, offs, cgmd, 5000),
            "send_offsets_to_transaction");
        rd_kafka_topic_partition_list_destroy(offs);
        double t3 = mono_ms();
        txn_check(rd_kafka_commit_transaction(r->out, 5000),
                  "commit_transaction");
        double t4 = mono_ms();
        if (atomic_load(&r->measuring) && r->t_cnt < r->t_cap) {
            r->t_fsync[r->t_cnt] = t1 - t0;
            r->t_offsets[r->t_cnt] = t3 - t2;
            r->t_commit[r->t_cnt] = t4 - t3;
            r->t_cnt++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    return NULL;
}

/* ---- the requester ---- */

/* Sends seq and waits for it to come back on rx.
 * @returns the round trip in ms, or -1 after timeout_ms. */
static double round_trip(rd_kafka_t *tx, rd_kafka_t *rx, int64_t seq, int size,
                         int timeout_ms) {
    double t0 = mono_ms();
    produce(tx, T_REQ, seq, size);
    while (mono_ms() - t0 < timeout_ms) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rx, 100);
        rd_kafka_poll(tx, 0);
        if (!m)
            continue;
        int64_t got = m->err ? INT64_MIN : seq_of(m);
        rd_kafka_message_destroy(m);
        if (got == seq)
            return mono_ms() - t0;
    }
    return -1;
}

static void report(const opts_t *o, const char *label, double *v, int n,
                   int lost, double wall_ms) {
    double sum = 0;
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    for (int i = 0; i < n; i++)
        sum += v[i];
    double mean = n ? sum / n : 0;
    if (n == 0) {
        printf("%-16s %5d %5d  (no samples)\n", label, n, lost);
        return;
    }
    printf("%-16s %5d %5d %8.2f %8.2f %8.2f %8.2f %8.2f\n", label, n, lost,
           pct(v, n, .5), pct(v, n, .9), pct(v, n, .99), v[n - 1], mean);
    fflush(stdout);
    if (!o->csv)
        return;
    FILE *f = fopen(o->csv, "a");
    if (!f)
        die(o->csv, strerror(errno));
    struct {
        const char *k;
        double v;
    } rows[] = {{"n", n},
                {"lost", lost},
                {"p50_ms", pct(v, n, .5)},
                {"p90_ms", pct(v, n, .9)},
                {"p99_ms", pct(v, n, .99)},
                {"max_ms", v[n - 1]},
                {"mean_ms", mean},
                {"rps", wall_ms > 0 ? n * 1000.0 / wall_ms : 0}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        fprintf(f, "kafka_rtt,%s,1,%s,%.4f\n", label + strspn(label, " "),
                rows[i].k, rows[i].v);
    fclose(f);
}

static void run_variant(const opts_t *o, int variant) {
    char group[128], tid[128];
    responder_t r;
    pthread_t th;
    int txn = variant != V_PLAIN;
    static int64_t seq = 1;

    memset(&r, 0, sizeof(r));
    snprintf(group, sizeof(group), "bench-rtt-%d-%s", (int)getpid(),
             vname[variant]);
    snprintf(tid, sizeof(tid), "bench-rtt-responder-%d-%s", (int)getpid(),
             vname[variant]);
    rd_kafka_t *tx = producer(o, NULL);
    rd_kafka_t *rx = consumer(o, txn ? T_REP : T_REQ, group);
    if (txn) {
        char rgroup[160];
        snprintf(rgroup, sizeof(rgroup), "%s-responder", group);
        r.o = o;
        r.variant = variant;
        r.in = consumer(o, T_REQ, rgroup);
        r.out = producer(o, tid);
        r.t_cap = o->n;
        r.t_fsync = calloc((size_t)o->n, sizeof(double));
        r.t_offsets = calloc((size_t)o->n, sizeof(double));
        r.t_commit = calloc((size_t)o->n, sizeof(double));
        if (pthread_create(&th, NULL, responder_main, &r))
            die("thread", "cannot start the responder");
    }
    /* The consumers resolve their end offsets asynchronously: send probes
     * until one comes back, then warm up, then measure. */
    int synced = 0;
    for (int i = 0; i < 30 && !synced; i++)
        synced = round_trip(tx, rx, seq++, o->size, 1000) >= 0;
    if (!synced)
        die(vname[variant], "no record came back within 30 s");
    for (int i = 0; i < o->warmup; i++)
        round_trip(tx, rx, seq++, o->size, 5000);

    double *v = calloc((size_t)o->n, sizeof(double));
    int got = 0, lost = 0;
    atomic_store(&r.measuring, 1);
    double t0 = mono_ms();
    for (int i = 0; i < o->n; i++) {
        double ms = round_trip(tx, rx, seq++, o->size, 5000);
        if (ms < 0)
            lost++;
        else
            v[got++] = ms;
    }
    double wall = mono_ms() - t0;
    char label[64], fw[16] = "";
    if (o->fetch_wait_ms != 10)
        snprintf(fw, sizeof(fw), "-fw%d", o->fetch_wait_ms);
    snprintf(label, sizeof(label), "%s%s%s", vname[variant], fw,
             o->dr_cb && txn ? "-dr" : "");
    report(o, label, v, got, lost, wall);
    free(v);

    if (txn) {
        atomic_store(&r.stop, 1);
        pthread_join(th, NULL);
        /* Where the responder's time went, per request. */
        struct {
            const char *what;
            double *v;
        } parts[] = {{"state-fsync", r.t_fsync},
                     {"send-offsets", r.t_offsets},
                     {"commit", r.t_commit}};
        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
            char l2[128];
            if (i == 0 && variant != V_TXN_AUDIT_FSYNC)
                continue;
            snprintf(l2, sizeof(l2), "  %s:%s", label, parts[i].what);
            report(o, l2, parts[i].v, r.t_cnt, 0, 0);
            free(parts[i].v);
        }
        if (variant != V_TXN_AUDIT_FSYNC)
            free(r.t_fsync);
        close_consumer(r.in);
        rd_kafka_flush(r.out, 5000);
        rd_kafka_destroy(r.out);
    }
    close_consumer(rx);
    rd_kafka_flush(tx, 5000);
    rd_kafka_destroy(tx);
}

static void usage(void) {
    fprintf(stderr,
            "usage: bench_kafka_rtt -b HOST:PORT [-n 500] [-w 50] [-s 200]"
            " [-f 10] [-D]\n"
            "         [-m all|plain,txn,txn-audit,txn-audit-fsync] [-d DIR]"
            " [-o CSV]\n"
            "topics " T_REQ ", " T_REP " and " T_AUDIT " (partition 0) must "
            "exist; -d is the directory of the fsync variant's state file;\n"
            "-f sets fetch.wait.max.ms (erpsync uses 10; other values are "
            "labelled <variant>-fw<f>); -D gives the transactional producer a "
            "delivery-report\ncallback (labelled <variant>-dr).\n");
    exit(2);
}

int main(int argc, char **argv) {
    opts_t o = {.n = 500,
                .warmup = 50,
                .size = 200,
                .fetch_wait_ms = 10,
                .state_dir = "."};
    const char *modes = "all";
    int c;
    while ((c = getopt(argc, argv, "b:n:w:s:m:d:o:f:D")) != -1) {
        switch (c) {
        case 'b':
            o.bootstrap = optarg;
            break;
        case 'n':
            o.n = atoi(optarg);
            break;
        case 'w':
            o.warmup = atoi(optarg);
            break;
        case 's':
            o.size = atoi(optarg);
            break;
        case 'm':
            modes = optarg;
            break;
        case 'd':
            o.state_dir = optarg;
            break;
        case 'o':
            o.csv = optarg;
            break;
        case 'f':
            o.fetch_wait_ms = atoi(optarg);
            break;
        case 'D':
            o.dr_cb = 1;
            break;
        default:
            usage();
        }
    }
    if (!o.bootstrap || o.n < 1 || o.warmup < 0 || o.size < 40 ||
        o.size > 4000 || o.fetch_wait_ms < 0)
        usage();
    char *list = strdup(modes), *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        int found = 0;
        for (int v = 0; v < V_CNT; v++)
            if (strcmp(t, "all") == 0 || strcmp(t, vname[v]) == 0)
                o.variants[v] = found = 1;
        if (!found)
            usage();
    }
    free(list);

    printf("Kafka round trip on %s: %d iterations after %d warm-up, %d-byte "
           "value + 8 headers, fetch.wait.max.ms=%d (ms)\n",
           o.bootstrap, o.n, o.warmup, o.size, o.fetch_wait_ms);
    printf("%-16s %5s %5s %8s %8s %8s %8s %8s\n", "variant", "n", "lost", "p50",
           "p90", "p99", "max", "mean");
    for (int v = 0; v < V_CNT; v++)
        if (o.variants[v])
            run_variant(&o, v);
    return 0;
}
