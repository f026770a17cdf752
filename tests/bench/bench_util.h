/*
 * bench_util.h - what every bench tool needs: a monotonic clock in ms, the
 * nearest-rank percentile of sorted samples and, where librdkafka is
 * included first, die() and a config setter that stops the tool on a bad
 * property. Header-only: each tool stays one file, one program.
 */
#ifndef ERPSYNC_BENCH_UTIL_H
#define ERPSYNC_BENCH_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* For qsort of latencies. */
static inline int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile of v[0..n), sorted ascending (nearest rank). */
static inline double pct(const double *v, int n, double q) {
    int k = (int)((q * n) + 0.999999) - 1;
    return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

/* Stops the tool: "<program>: what: why". */
static inline void die(const char *what, const char *why) {
    fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, why);
    exit(1);
}

#ifdef RD_KAFKA_VERSION
static inline void set(rd_kafka_conf_t *c, const char *k, const char *v) {
    char err[512];
    if (rd_kafka_conf_set(c, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        die(k, err);
}

/* A read_committed consumer that fetches promptly (10 ms) and commits
 * nothing: it is assigned partitions by hand, as erpsync's readers are. */
static inline rd_kafka_t *committed_reader(const char *bootstrap,
                                           const char *name) {
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    set(c, "bootstrap.servers", bootstrap);
    set(c, "client.id", name);
    set(c, "group.id", name);
    set(c, "enable.auto.commit", "false");
    set(c, "fetch.wait.max.ms", "10");
    set(c, "isolation.level", "read_committed");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
    if (!rk)
        die("consumer", err);
    return rk;
}
#endif

#endif
