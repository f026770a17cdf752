/*
 * bench_read_floor.c - the Kafka part of a read-your-writes GetEngineStatus,
 * with librdkafka alone: the floor a shim's read latency is compared with.
 *
 * A read_committed consumer holds every partition of the status topic from
 * the beginning, as erpsync-shim's view does. Each read asks where one
 * partition ends (rd_kafka_offsets_for_times with "latest": the last stable
 * offset, one ListOffsets round trip to its leader, from a second client as
 * the shim does, so it never queues behind the view's long-poll fetch), then
 * polls the consumer until its position has reached that offset. Reads are
 * offered at -r RATE per second (open loop: a read late for its slot is timed
 * from the slot), or back to back without -r.
 *
 *   bench_read_floor -b BOOTSTRAP -t TOPIC [-p PARTITION] [-n N] [-w WARMUP]
 *                    [-r RATE] [-o CSV -S SECTION -L LABEL]
 *
 * Prints the same columns as http_load and, with -o, appends the same CSV
 * rows (section,label,1,metric,value). Never fails on time.
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

static rd_kafka_t *client(const char *bootstrap) {
    return committed_reader(bootstrap, "bench-read-floor");
}

/* erpsync-shim's view consumer: every partition from the beginning. */
static rd_kafka_t *view_consumer(const char *bootstrap, const char *topic) {
    rd_kafka_t *rk = client(bootstrap);
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1 ||
        md->topics[0].partition_cnt < 1)
        die("metadata", topic);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    for (int p = 0; p < md->topics[0].partition_cnt; p++)
        rd_kafka_topic_partition_list_add(l, topic, p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        die("assign", rd_kafka_err2str(e));
    return rk;
}

/* One read: where the partition ends, then the consumer up to there. */
static void one_read(rd_kafka_t *rk, rd_kafka_t *asker, const char *topic,
                     int partition) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset =
        RD_KAFKA_OFFSET_END;
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(asker, l, 5000);
    if (e || l->elems[0].err)
        die("offsets_for_times", rd_kafka_err2str(e ? e : l->elems[0].err));
    int64_t end = l->elems[0].offset;
    for (;;) {
        l->elems[0].offset = RD_KAFKA_OFFSET_INVALID;
        rd_kafka_position(rk, l);
        if (l->elems[0].offset >= end || end <= 0)
            break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 10);
        if (m)
            rd_kafka_message_destroy(m);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static void report(double *v, int n, double wall_ms, const char *csv,
                   const char *section, const char *label) {
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    printf("%-30s c=1   n=%-6d %9.1f req/s  p50 %7.2f  p90 %7.2f  p99 %7.2f"
           "  p99.9 %7.2f  max %7.2f  mean %7.2f ms\n",
           label, n, n * 1e3 / wall_ms, pct(v, n, .5), pct(v, n, .9),
           pct(v, n, .99), pct(v, n, .999), v[n - 1], sum / n);
    if (!csv)
        return;
    FILE *f = fopen(csv, "a");
    if (!f)
        die(csv, strerror(errno));
    struct {
        const char *k;
        double v;
    } rows[] = {{"n", n},
                {"errors", 0},
                {"rps", n * 1e3 / wall_ms},
                {"p50_ms", pct(v, n, .5)},
                {"p90_ms", pct(v, n, .9)},
                {"p99_ms", pct(v, n, .99)},
                {"p999_ms", pct(v, n, .999)},
                {"max_ms", v[n - 1]},
                {"mean_ms", sum / n}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        fprintf(f, "%s,%s,1,%s,%.4f\n", section, label, rows[i].k, rows[i].v);
    fclose(f);
}

static void usage(void) {
    fprintf(stderr,
            "usage: bench_read_floor -b BOOTSTRAP -t TOPIC [-p PARTITION]"
            " [-n N] [-w WARMUP] [-r RATE]\n"
            "         [-o CSV -S SECTION -L LABEL]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *bootstrap = NULL, *topic = NULL, *csv = NULL;
    const char *section = "floor", *label = "read-floor";
    int partition = 0, n = 1000, warmup = 50, c;
    double rate = 0;
    while ((c = getopt(argc, argv, "b:t:p:n:w:r:o:S:L:")) != -1) {
        switch (c) {
        case 'b':
            bootstrap = optarg;
            break;
        case 't':
            topic = optarg;
            break;
        case 'p':
            partition = atoi(optarg);
            break;
        case 'n':
            n = atoi(optarg);
            break;
        case 'w':
            warmup = atoi(optarg);
            break;
        case 'r':
            rate = atof(optarg);
            break;
        case 'o':
            csv = optarg;
            break;
        case 'S':
            section = optarg;
            break;
        case 'L':
            label = optarg;
            break;
        default:
            usage();
        }
    }
    if (!bootstrap || !topic || n < 1 || warmup < 0 || rate < 0 ||
        partition < 0)
        usage();
    rd_kafka_t *rk = view_consumer(bootstrap, topic),
               *asker = client(bootstrap);
    for (int i = 0; i < warmup; i++)
        one_read(rk, asker, topic, partition);
    double *v = calloc((size_t)n, sizeof(double));
    if (!v)
        die("memory", "out of memory");
    double start = mono_ms();
    for (int i = 0; i < n; i++) {
        double t0 = mono_ms();
        if (rate > 0) {
            double at = start + i * 1e3 / rate;
            if (at > t0) {
                struct timespec ts = {0, (long)((at - t0) * 1e6)};
                while (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                nanosleep(&ts, NULL);
            }
            t0 = at;
        }
        one_read(rk, asker, topic, partition);
        v[i] = mono_ms() - t0;
    }
    report(v, n, mono_ms() - start, csv, section, label);
    free(v);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    rd_kafka_destroy(asker);
    return 0;
}
