/*
 * bench_micro.c - the two fixed costs inside an erpsync call, timed alone:
 *
 *   bench_micro crypt SETTING [N]   one password check as erpsync-shim does
 *       it per request (crypt_rn of the password with the stored hash as
 *       setting, a fresh struct crypt_data each time); SETTING is a line's
 *       hash from the users file, so the cost parameters are the real ones.
 *   bench_micro fsync DIR [N] [BYTES]   the agent's durable state write:
 *       BYTES to DIR/x.tmp, fsync, rename, fsync DIR.
 *
 * Prints p50/p90/p99/max/mean in ms; with -o CSV (first argument) appends
 * long-format rows (section micro). Never fails on time.
 */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

static void report(const char *csv, const char *label, double *v, int n) {
    double sum = 0;
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    for (int i = 0; i < n; i++)
        sum += v[i];
    printf("%-8s n=%d  p50=%.3f  p90=%.3f  p99=%.3f  max=%.3f  mean=%.3f ms\n",
           label, n, pct(v, n, .5), pct(v, n, .9), pct(v, n, .99), v[n - 1],
           sum / n);
    if (!csv)
        return;
    FILE *f = fopen(csv, "a");
    if (!f) {
        perror(csv);
        exit(1);
    }
    fprintf(f,
            "micro,%s,1,n,%d\nmicro,%s,1,p50_ms,%.4f\nmicro,%s,1,p90_ms,%.4f\n"
            "micro,%s,1,p99_ms,%.4f\nmicro,%s,1,max_ms,%.4f\n"
            "micro,%s,1,mean_ms,%.4f\n",
            label, n, label, pct(v, n, .5), label, pct(v, n, .9), label,
            pct(v, n, .99), label, v[n - 1], label, sum / n);
    fclose(f);
}

static int bench_crypt(const char *csv, const char *setting, int n) {
    double *v = calloc((size_t)n, sizeof(double));
    for (int i = 0; i < n; i++) {
        double t0 = mono_ms();
        struct crypt_data *cd = calloc(1, sizeof(*cd));
        const char *h = crypt_rn("not-the-password", setting, cd, sizeof(*cd));
        if (!h || h[0] == '*') {
            fprintf(stderr, "bench_micro: crypt_rn refused the setting\n");
            return 1;
        }
        explicit_bzero(cd, sizeof(*cd));
        free(cd);
        v[i] = mono_ms() - t0;
    }
    report(csv, "yescrypt", v, n);
    free(v);
    return 0;
}

static int bench_fsync(const char *csv, const char *dir, int n, int bytes) {
    char path[4096], tmp[4200];
    char *buf = malloc((size_t)bytes);
    double *v = calloc((size_t)n, sizeof(double));
    memset(buf, 'x', (size_t)bytes);
    snprintf(path, sizeof(path), "%s/bench-micro.state.json", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    for (int i = 0; i < n; i++) {
        double t0 = mono_ms();
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, buf, (size_t)bytes) != bytes || fsync(fd) ||
            close(fd) || rename(tmp, path)) {
            perror(tmp);
            return 1;
        }
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        if (dfd < 0 || fsync(dfd)) {
            perror(dir);
            return 1;
        }
        close(dfd);
        v[i] = mono_ms() - t0;
    }
    unlink(path);
    report(csv, "fsync", v, n);
    free(v);
    free(buf);
    return 0;
}

int main(int argc, char **argv) {
    const char *csv = NULL;
    if (argc > 2 && strcmp(argv[1], "-o") == 0) {
        csv = argv[2];
        argc -= 2;
        argv += 2;
    }
    if (argc >= 3 && strcmp(argv[1], "crypt") == 0)
        return bench_crypt(csv, argv[2], argc > 3 ? atoi(argv[3]) : 200);
    if (argc >= 3 && strcmp(argv[1], "fsync") == 0)
        return bench_fsync(csv, argv[2], argc > 3 ? atoi(argv[3]) : 200,
                           argc > 4 ? atoi(argv[4]) : 45000);
    fprintf(stderr, "usage: bench_micro [-o CSV] crypt SETTING [N]\n"
                    "       bench_micro [-o CSV] fsync DIR [N] [BYTES]\n");
    return 2;
}
