/*
 * util.h - clocks, identifiers and small string helpers shared by every part.
 */
#ifndef ERPSYNC_UTIL_H
#define ERPSYNC_UTIL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define ERPS_UUID_LEN 36 /* text form, without the NUL */
#define ERPS_TIME_LEN 48 /* an RFC 3339 timestamp with millis, any year */

/** Wall clock, milliseconds since the Unix epoch. */
int64_t erps_now_ms(void);
/** Monotonic clock in milliseconds: for timeouts, never for timestamps. */
int64_t erps_mono_ms(void);

/** Writes a new random (version 4) UUID from libuuid, lower case. */
void erps_uuid_new(char out[ERPS_UUID_LEN + 1]);
/** @returns 1 if s is a UUID in canonical text form, else 0. */
int erps_uuid_valid(const char *s);

/** Formats ms as RFC 3339 UTC with milliseconds: 2026-11-28T07:41:32.123Z. */
void erps_time_format(int64_t ms, char out[ERPS_TIME_LEN]);
/**
 * Parses an RFC 3339 timestamp (any offset, optional fraction), from 1970 to
 * the end of 9999 in UTC.
 * @returns 0 and sets *ms, or -1 when s is not RFC 3339 or out of range.
 */
int erps_time_parse(const char *s, int64_t *ms);

/** write() until all n bytes are out (EINTR retried). @returns 0, or -1
 *  with errno (a write of 0 bytes counts as an error). */
int erps_write_all(int fd, const void *buf, size_t n);

/** strlcpy semantics: always NUL-terminates, @returns strlen(src). */
size_t erps_strlcpy(char *dst, const char *src, size_t size);

/** SIGINT and SIGTERM call stop (which should only set a flag); SIGPIPE is
 *  ignored, so a closed socket is an error return, not a death; SIGHUP
 *  reopens the log file (erps_log_reopen) and counts in erps_hangups. */
void erps_signals_on_stop(void (*stop)(int));
extern volatile sig_atomic_t erps_hangups;

/**
 * Starts a thread that, once *flag is set (a stop was asked for), gives the
 * process ms milliseconds to finish and then ends it with _exit(code). For
 * a client library call that ignores its own timeout while the network is
 * gone: a program must still stop. Whatever must survive is durable before
 * then (the agent's state file is written before every commit).
 * @returns 0, or -1 if the thread could not start.
 */
int erps_exit_watchdog(volatile sig_atomic_t *flag, int64_t ms, int code);

/** Compares two byte strings in time independent of where they differ. */
int erps_consttime_eq(const void *a, size_t alen, const void *b, size_t blen);

/** The value of a base64 digit (RFC 4648): the standard alphabet ("+/"),
 *  or with url set the URL-safe one ("-_"). @returns 0..63, or -1. */
int erps_b64_value(int c, int url);

/**
 * Decodes one UTF-8 character strictly (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) from s[0..n), n >= 1.
 * @returns the code point with *len its byte count, or -1 with *len 1.
 */
long erps_utf8_decode(const unsigned char *s, size_t n, size_t *len);

#endif
