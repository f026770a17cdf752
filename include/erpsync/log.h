/*
 * log.h - leveled logging to stderr.
 *
 * The level is checked before the message is formatted, so debug lines cost
 * nothing in production. Never pass a secret (password, token, ticket) here.
 */
#ifndef ERPSYNC_LOG_H
#define ERPSYNC_LOG_H

#include <stddef.h>

typedef enum erps_log_level {
    ERPS_LOG_ERROR = 0,
    ERPS_LOG_WARN,
    ERPS_LOG_INFO,
    ERPS_LOG_DEBUG,
} erps_log_level_t;

extern int erps_log_threshold;

/** Sets the threshold from a name (error, warn, info, debug). @returns 0 or -1.
 */
int erps_log_set_level(const char *name);
/** Sets the program name printed in front of every line. */
void erps_log_set_ident(const char *ident);
/**
 * Sets the line format: "text" (time program level: message) or "json"
 * (one object per line: time, program, level, msg). @returns 0 or -1.
 */
int erps_log_set_format(const char *name);
/**
 * Sends standard error (every log line) to the file at path, appending;
 * "" keeps standard error. @returns 0, or -1 with errno set.
 */
int erps_log_open(const char *path);
/** Opens the log file again (after logrotate moved it); SIGHUP calls it. */
int erps_log_reopen(void);
/**
 * on=1: lines wait in a 64 KiB buffer until erps_log_flush(), until it is
 * full, or until a warning or error line (which goes out at once, after
 * what is before it); for a process that logs per event in a hot loop and
 * flushes at its own checkpoints. on=0 writes what waits and goes back to a
 * write per line. A crash loses the lines still held.
 */
void erps_log_hold(int on);
/** Writes the lines held so far (nothing to do when not holding). */
void erps_log_flush(void);
/**
 * Writes `in` as the inside of a JSON string: quotes, backslashes and
 * control characters escaped, bytes that are not UTF-8 as U+FFFD. Stops
 * early rather than overflow (out_size of 6 * strlen(in) + 8 never does).
 * @returns the length written.
 */
size_t erps_json_escape(const char *in, char *out, size_t out_size);

void erps_log_impl(erps_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define erps_log(level, ...)                                                   \
    do {                                                                       \
        if ((int)(level) <= erps_log_threshold)                                \
            erps_log_impl((level), __VA_ARGS__);                               \
    } while (0)

#define erps_err(...)  erps_log(ERPS_LOG_ERROR, __VA_ARGS__)
#define erps_warn(...) erps_log(ERPS_LOG_WARN, __VA_ARGS__)
#define erps_info(...) erps_log(ERPS_LOG_INFO, __VA_ARGS__)
#define erps_dbg(...)  erps_log(ERPS_LOG_DEBUG, __VA_ARGS__)

#endif
