/*
 * metrics.h - what the shim's and the agent's /metrics are made of, in the
 * Prometheus text format (version 0.0.4): latency histograms, and the
 * process_* metrics every Prometheus client library exports (from /proc).
 * Lock-free: a histogram is atomics, so any thread observes while another
 * writes /metrics. No sockets, no HTTP: unit-tested directly, and the
 * output is checked with Prometheus' own parser in the integration tests.
 */
#ifndef ERPSYNC_METRICS_H
#define ERPSYNC_METRICS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

/* Upper bounds in seconds; +Inf is implied. From 1 ms (a cached read) to
 * 10 s (past request.timeout.ms's default of 5 s: the 504s). */
#define ERPS_LATENCY_BUCKETS 12
extern const double erps_latency_bounds_s[ERPS_LATENCY_BUCKETS];

typedef struct erps_histogram {
    _Atomic uint64_t bucket[ERPS_LATENCY_BUCKETS + 1]; /* not cumulative */
    _Atomic uint64_t sum_us;
} erps_histogram_t;

/** Counts one observation of us microseconds (negative counts as 0). */
void erps_histogram_observe(erps_histogram_t *h, int64_t us);

/**
 * Writes h's series: name_bucket{labels,le="..."} (cumulative, +Inf last),
 * name_sum (seconds) and name_count. labels: "" or `route="X"` (no braces).
 * The # HELP and # TYPE lines are the caller's, once per name.
 */
void erps_histogram_write(FILE *out, const char *name, const char *labels,
                          const erps_histogram_t *h);

/**
 * process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds and
 * process_start_time_seconds, with their HELP and TYPE lines, as the
 * Prometheus client libraries name them. A value /proc does not give is
 * left out. @locality any thread
 */
void erps_process_metrics_write(FILE *out);

#endif
