/*
 * log.c - one line per event on stderr: time, program, level, message.
 */
#include "erpsync/log.h"
#include "erpsync/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int erps_log_threshold = ERPS_LOG_INFO;
static const char *log_ident = "erpsync";
static const char *const level_names[] = {"error", "warn", "info", "debug"};

int erps_log_set_level(const char *name) {
    for (int i = 0; i <= ERPS_LOG_DEBUG; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            erps_log_threshold = i;
            return 0;
        }
    }
    return -1;
}

void erps_log_set_ident(const char *ident) { log_ident = ident; }

void erps_log_impl(erps_log_level_t level, const char *fmt, ...) {
    char ts[ERPS_TIME_LEN], line[2048];
    va_list ap;
    erps_time_format(erps_now_ms(), ts);
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* One fprintf per line so concurrent threads do not interleave. */
    fprintf(stderr, "%s %s %s: %s\n", ts, log_ident, level_names[level], line);
}
