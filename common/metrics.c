/*
 * metrics.c - latency histograms and process metrics for /metrics. See
 * metrics.h.
 */
#include "erpsync/metrics.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

const double erps_latency_bounds_s[ERPS_LATENCY_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

void erps_histogram_observe(erps_histogram_t *h, int64_t us) {
    if (us < 0)
        us = 0;
    int i = 0;
    while (i < ERPS_LATENCY_BUCKETS &&
           (double)us > erps_latency_bounds_s[i] * 1e6)
        i++;
    atomic_fetch_add(&h->bucket[i], 1);
    atomic_fetch_add(&h->sum_us, (uint64_t)us);
}

void erps_histogram_write(FILE *out, const char *name, const char *labels,
                          const erps_histogram_t *h) {
    const char *sep = labels[0] ? "," : "";
    uint64_t cum = 0;
    /* _count is the +Inf bucket, as Prometheus requires; a concurrent
     * observation may still land between the buckets and _sum. */
    for (int i = 0; i <= ERPS_LATENCY_BUCKETS; i++) {
        cum += atomic_load(&h->bucket[i]);
        if (i < ERPS_LATENCY_BUCKETS)
            fprintf(out, "%s_bucket{%s%sle=\"%g\"} %" PRIu64 "\n", name, labels,
                    sep, erps_latency_bounds_s[i], cum);
        else
            fprintf(out, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", name,
                    labels, sep, cum);
    }
    const char *lb = labels[0] ? "{" : "", *rb = labels[0] ? "}" : "";
    fprintf(out, "%s_sum%s%s%s %.6f\n", name, lb, labels, rb,
            (double)atomic_load(&h->sum_us) / 1e6);
    fprintf(out, "%s_count%s%s%s %" PRIu64 "\n", name, lb, labels, rb, cum);
}

static void gauge(FILE *out, const char *name, const char *help,
                  const char *type, double v) {
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name,
            type, name, v);
}

/* /proc/self/stat fields 14, 15 (utime, stime in ticks), 22 (starttime in
 * ticks after boot), 23 (vsize bytes), 24 (rss pages). */
static int proc_stat(double *cpu_s, double *start_ticks, double *vsize,
                     double *rss_pages) {
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces: fields count from its ')'. */
    char *p = strrchr(buf, ')');
    unsigned long long v[22] = {0};
    if (!p || sscanf(p + 2,
                     "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
                     "%*d %*d %*d %*d %*d %*d %llu %llu %llu",
                     &v[0], &v[1], &v[2], &v[3], &v[4]) != 5)
        return -1;
    double hz = (double)sysconf(_SC_CLK_TCK);
    *cpu_s = (double)(v[0] + v[1]) / hz;
    *start_ticks = (double)v[2] / hz;
    *vsize = (double)v[3];
    *rss_pages = (double)v[4];
    return 0;
}

/* Seconds since the epoch at boot: "btime" of /proc/stat. */
static double boot_time(void) {
    char line[256];
    double bt = -1;
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "btime ", 6) == 0)
            bt = strtod(line + 6, NULL);
    fclose(f);
    return bt;
}

static int open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the directory's own descriptor */
}

void erps_process_metrics_write(FILE *out) {
    double cpu, start, vsize, rss;
    if (proc_stat(&cpu, &start, &vsize, &rss) == 0) {
        double bt = boot_time();
        gauge(out, "process_cpu_seconds_total",
              "Total user and system CPU time spent in seconds.", "counter",
              cpu);
        gauge(out, "process_resident_memory_bytes",
              "Resident memory size in bytes.", "gauge",
              rss * (double)sysconf(_SC_PAGESIZE));
        gauge(out, "process_virtual_memory_bytes",
              "Virtual memory size in bytes.", "gauge", vsize);
        if (bt > 0)
            gauge(out, "process_start_time_seconds",
                  "Start time of the process since unix epoch in seconds.",
                  "gauge", bt + start);
    }
    int fds = open_fds();
    if (fds >= 0)
        gauge(out, "process_open_fds", "Number of open file descriptors.",
              "gauge", fds);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        gauge(out, "process_max_fds",
              "Maximum number of open file descriptors.", "gauge",
              (double)rl.rlim_cur);
}
