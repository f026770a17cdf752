/*
 * util.c - clocks, UUIDs, RFC 3339 timestamps and string helpers.
 */
#include "erpsync/util.h"
#include "erpsync/log.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <uuid/uuid.h>

int64_t erps_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t erps_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Random bytes for UUIDs, 4 KiB at a time per thread from the kernel's
 * CSPRNG: libuuid's uuid_generate_random() reseeds a PRNG of its own
 * (getpid, getppid, the time, srandom) on every call, which was 9% of the
 * agent's CPU in a burst of commands (three UUIDs per command). */
static _Thread_local struct {
    size_t left;
    unsigned char buf[4096];
} rnd;

/* A forked child must not hand out its parent's next UUIDs. */
static void rnd_forget(void) {
    rnd.left = 0;
}

static void rnd_at_fork(void) {
    pthread_atfork(NULL, NULL, rnd_forget);
}

static int rnd_fill(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    size_t got = 0;
    pthread_once(&once, rnd_at_fork);
    while (got < sizeof(rnd.buf)) {
        ssize_t n = getrandom(rnd.buf + got, sizeof(rnd.buf) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    rnd.left = sizeof(rnd.buf);
    return 0;
}

void erps_uuid_new(char out[ERPS_UUID_LEN + 1]) {
    uuid_t u;
    if (rnd.left < sizeof(u) && rnd_fill()) {
        uuid_generate_random(u); /* no getrandom(2): libuuid's own way */
    } else {
        memcpy(u, rnd.buf + sizeof(rnd.buf) - rnd.left, sizeof(u));
        rnd.left -= sizeof(u);
        u[6] = (unsigned char)((u[6] & 0x0F) | 0x40); /* version 4 */
        u[8] = (unsigned char)((u[8] & 0x3F) | 0x80); /* RFC 9562 variant */
    }
    uuid_unparse_lower(u, out);
}

int erps_uuid_valid(const char *s) {
    uuid_t u;
    if (!s || strlen(s) != ERPS_UUID_LEN)
        return 0;
    return uuid_parse(s, u) == 0;
}

static char *put_digits(char *p, unsigned v, int width) {
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

void erps_time_format(int64_t ms, char out[ERPS_TIME_LEN]) {
    time_t secs = (time_t)(ms / 1000);
    int millis = (int)(ms % 1000);
    struct tm tm;
    if (millis < 0) {
        millis += 1000;
        secs -= 1;
    }
    if (!gmtime_r(&secs, &tm))
        memset(&tm, 0, sizeof(tm)); /* beyond any year an int holds */
    if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        snprintf(out, ERPS_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, millis);
        return;
    }
    /* Digits by hand: this runs for every event and log line, and
     * snprintf's format parsing was most of its cost. */
    char *p = put_digits(out, (unsigned)(tm.tm_year + 1900), 4);
    *p++ = '-';
    p = put_digits(p, (unsigned)(tm.tm_mon + 1), 2);
    *p++ = '-';
    p = put_digits(p, (unsigned)tm.tm_mday, 2);
    *p++ = 'T';
    p = put_digits(p, (unsigned)tm.tm_hour, 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)tm.tm_min, 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)tm.tm_sec, 2);
    *p++ = '.';
    p = put_digits(p, (unsigned)millis, 3);
    *p++ = 'Z';
    *p = '\0';
}

/* Reads exactly n digits. */
static int read_digits(const char **p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * algorithm): timegm() is not in C11 or POSIX. */
static int64_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Literal c at *p, then past it. */
static int expect(const char **p, char c) {
    return *(*p)++ == c ? 0 : -1;
}

/* A real date and time of day, seconds up to 60 (a leap second). */
static int date_time_valid(const int f[6]) {
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int Y = f[0], M = f[1], D = f[2];
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] ||
        (M == 2 && D == 29 && !leap))
        return 0;
    return f[3] <= 23 && f[4] <= 59 && f[5] <= 60;
}

/* YYYY-MM-DDThh:mm:ss (T or t) into f: year, month, day, h, m, s. */
static int read_date_time(const char **p, int f[6]) {
    static const struct {
        int digits;
        char after; /* '\0': none */
    } fields[6] = {{4, '-'}, {2, '-'}, {2, 'T'}, {2, ':'}, {2, ':'}, {2, 0}};
    for (int i = 0; i < 6; i++) {
        if (read_digits(p, fields[i].digits, &f[i]))
            return -1;
        char c = fields[i].after;
        if (c && **p != c && !(c == 'T' && **p == 't'))
            return -1;
        *p += c != 0;
    }
    return date_time_valid(f) ? 0 : -1;
}

/* ".ddd": 1 to 9 digits, milliseconds kept. */
static int read_fraction(const char **p, int *frac) {
    int scale = 100, ndig = 0;
    *frac = 0;
    if (**p != '.')
        return 0;
    for ((*p)++; isdigit((unsigned char)**p); (*p)++, ndig++) {
        if (scale > 0)
            *frac += (**p - '0') * scale;
        scale /= 10;
    }
    return ndig == 0 || ndig > 9 ? -1 : 0;
}

/* "Z" or "+hh:mm" / "-hh:mm", in minutes east of UTC. */
static int read_offset(const char **p, int64_t *offset_min) {
    int oh, om, sign = **p == '-' ? -1 : 1;
    *offset_min = 0;
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        return 0;
    }
    if (**p != '+' && **p != '-')
        return -1;
    (*p)++;
    if (read_digits(p, 2, &oh) || expect(p, ':') || read_digits(p, 2, &om) ||
        oh > 23 || om > 59)
        return -1;
    *offset_min = sign * (oh * 60 + om);
    return 0;
}

int erps_time_parse(const char *s, int64_t *ms) {
    int f[6], frac;
    int64_t offset_min;
    const char *p = s;
    if (!s || read_date_time(&p, f) || read_fraction(&p, &frac) ||
        read_offset(&p, &offset_min) || *p != '\0')
        return -1;
    int sec = f[5] == 60 ? 59 : f[5]; /* leap second: Unix time has none */
    int64_t days = days_from_civil(f[0], f[1], f[2]);
    int64_t secs =
        days * 86400 + f[3] * 3600 + f[4] * 60 + sec - offset_min * 60;
    /* Only what erps_time_format writes back: 1970 to the end of 9999. */
    if (secs < 0 || secs > INT64_C(253402300799))
        return -1;
    *ms = secs * 1000 + frac;
    return 0;
}

int erps_write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

size_t erps_strlcpy(char *dst, const char *src, size_t size) {
    size_t len = strlen(src);
    if (size > 0) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

int erps_b64_value(int c, int url) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

int erps_consttime_eq(const void *a, size_t alen, const void *b, size_t blen) {
    const unsigned char *x = a, *y = b;
    unsigned char diff = (unsigned char)(alen != blen);
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++)
        diff |= x[i] ^ y[i];
    return diff == 0;
}

volatile sig_atomic_t erps_hangups;

/* SIGHUP is the operator's "reopen your files" (logrotate's postrotate),
 * never a reason to die: the log file is opened again at once, and
 * programs that reload more look at erps_hangups. */
static void on_hangup(int sig) {
    (void)sig;
    int saved = errno;
    (void)erps_log_reopen();
    erps_hangups++;
    errno = saved;
}

void erps_signals_on_stop(void (*stop)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_hangup;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

typedef struct watchdog {
    volatile sig_atomic_t *flag;
    int64_t ms;
    int code;
} watchdog_t;

static void *watchdog_main(void *arg) {
    watchdog_t *w = arg;
    struct timespec tick = {0, 100 * 1000000L};
    while (!*w->flag)
        nanosleep(&tick, NULL);
    int64_t until = erps_mono_ms() + w->ms;
    while (erps_mono_ms() < until)
        nanosleep(&tick, NULL);
    static const char msg[] = "erpsync: did not stop in time after the stop "
                              "request; exiting\n";
    erps_log_flush();
    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
    _exit(w->code);
    return NULL;
}

int erps_exit_watchdog(volatile sig_atomic_t *flag, int64_t ms, int code) {
    static watchdog_t w;
    pthread_t th;
    w.flag = flag;
    w.ms = ms;
    w.code = code;
    if (pthread_create(&th, NULL, watchdog_main, &w))
        return -1;
    pthread_detach(th);
    return 0;
}

/* Decodes one UTF-8 character strictly (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). @returns the code point and *len, or
 * -1 with *len 1. */
long erps_utf8_decode(const unsigned char *s, size_t n, size_t *len) {
    unsigned c = s[0];
    size_t k;
    long cp, min;
    *len = 1;
    if (c < 0x80)
        return c;
    if (c >= 0xC2 && c <= 0xDF) {
        k = 1, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        k = 2, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 3, cp = c & 0x07, min = 0x10000;
    } else {
        return -1;
    }
    if (n < k + 1)
        return -1;
    for (size_t i = 1; i <= k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *len = k + 1;
    return cp;
}
