/* test_metrics.c - latency histograms and process metrics as Prometheus
 * reads them: cumulative buckets, _count equal to the +Inf bucket, _sum in
 * seconds, and the process_* series from /proc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "erpsync/metrics.h"

static char *written(erps_histogram_t *h, const char *labels) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    erps_histogram_write(f, "lat_seconds", labels, h);
    fclose(f);
    return buf;
}

static void histogram_buckets_are_cumulative(void **state) {
    (void)state;
    erps_histogram_t h;
    memset(&h, 0, sizeof(h));
    erps_histogram_observe(&h, 500);      /* 0.5 ms: le 0.001 */
    erps_histogram_observe(&h, 1000);     /* exactly 1 ms: le 0.001 too */
    erps_histogram_observe(&h, 1001);     /* le 0.0025 */
    erps_histogram_observe(&h, 3000000);  /* 3 s: le 10 */
    erps_histogram_observe(&h, 60000000); /* 60 s: +Inf only */
    erps_histogram_observe(&h, -5);       /* a clock step: counts as 0 */
    char *out = written(&h, "route=\"GetEngineStatus\"");
    assert_non_null(strstr(out, "lat_seconds_bucket{route=\"GetEngineStatus\","
                                "le=\"0.001\"} 3\n"));
    assert_non_null(strstr(out, "le=\"0.0025\"} 4\n"));
    assert_non_null(strstr(out, "le=\"2.5\"} 4\n"));
    assert_non_null(strstr(out, "le=\"10\"} 5\n"));
    assert_non_null(strstr(out, "le=\"+Inf\"} 6\n"));
    assert_non_null(
        strstr(out, "lat_seconds_count{route=\"GetEngineStatus\"} 6\n"));
    assert_non_null(
        strstr(out, "lat_seconds_sum{route=\"GetEngineStatus\"} 63.002501\n"));
    free(out);

    memset(&h, 0, sizeof(h));
    out = written(&h, ""); /* no labels: no stray comma or braces */
    assert_non_null(strstr(out, "lat_seconds_bucket{le=\"+Inf\"} 0\n"));
    assert_non_null(strstr(out, "lat_seconds_sum 0.000000\n"));
    assert_non_null(strstr(out, "lat_seconds_count 0\n"));
    free(out);
}

static void process_metrics_from_proc(void **state) {
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    erps_process_metrics_write(f);
    fclose(f);
    static const char *const names[] = {"process_cpu_seconds_total",
                                        "process_resident_memory_bytes",
                                        "process_virtual_memory_bytes",
                                        "process_start_time_seconds",
                                        "process_open_fds",
                                        "process_max_fds"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char line[128];
        snprintf(line, sizeof(line), "\n%s ", names[i]);
        const char *at = strstr(buf, line);
        assert_non_null(at);
        double v = strtod(at + strlen(line), NULL);
        /* Some of each, but CPU time: a test may not have used one tick. */
        assert_true(i == 0 ? v >= 0 : v > 0);
    }
    /* Started within the last day, not at the epoch or in the future. */
    const char *st = strstr(buf, "\nprocess_start_time_seconds ");
    double start = strtod(st + strlen("\nprocess_start_time_seconds "), NULL);
    double now = (double)time(NULL);
    assert_true(start <= now + 1 && start > now - 86400);
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(histogram_buckets_are_cumulative),
        cmocka_unit_test(process_metrics_from_proc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
