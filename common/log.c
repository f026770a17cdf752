/*
 * log.c - one line per event on stderr: time, program, level, message, as
 * text for people or as one JSON object per line for log shippers.
 */
#include "erpsync/log.h"
#include "erpsync/util.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int erps_log_threshold = ERPS_LOG_INFO;
static const char *log_ident = "erpsync";
static int log_json;
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

void erps_log_set_ident(const char *ident) {
    log_ident = ident;
}

static char log_path[1024];

int erps_log_open(const char *path) {
    if (!path[0])
        return 0;
    if (strlen(path) >= sizeof(log_path))
        return -1;
    memcpy(log_path, path, strlen(path) + 1);
    return erps_log_reopen();
}

/* Only open, dup2 and close: async-signal-safe, so SIGHUP's handler can
 * call it while logrotate waits. Lines written meanwhile go to either the
 * old or the new file, never nowhere. */
int erps_log_reopen(void) {
    if (!log_path[0])
        return 0;
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    int rc = dup2(fd, STDERR_FILENO) < 0 ? -1 : 0;
    close(fd);
    return rc;
}

int erps_log_set_format(const char *name) {
    if (strcasecmp(name, "text") == 0 || strcasecmp(name, "json") == 0) {
        log_json = strcasecmp(name, "json") == 0;
        return 0;
    }
    return -1;
}

size_t erps_json_escape(const char *in, char *out, size_t out_size) {
    const unsigned char *s = (const unsigned char *)in;
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n && o + 7 < out_size;) {
        size_t len = 1;
        if (s[i] >= 0x80 && erps_utf8_decode(s + i, n - i, &len) < 0)
            len = 0; /* not UTF-8 */
        if (s[i] == '"' || s[i] == '\\') {
            out[o++] = '\\';
            out[o++] = (char)s[i++];
        } else if (s[i] < 0x20 || s[i] == 0x7F) {
            o += (size_t)snprintf(out + o, out_size - o, "\\u%04x", s[i++]);
        } else if (len == 0) { /* not UTF-8: JSON text must be */
            o += (size_t)snprintf(out + o, out_size - o, "\\ufffd");
            i++;
        } else {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        }
    }
    out[o] = '\0';
    return o;
}

/* Held lines: a process that logs a line per event in a hot loop (the
 * agent, a line per engine transition) would otherwise pay a write(2) per
 * line, 20-30% of its throughput in a burst. Lines wait here, in the order
 * written, until the owner flushes (before each commit and every loop turn)
 * or the buffer fills; a warning or an error goes out at once with what is
 * before it. */
static struct {
    pthread_mutex_t mu;
    atomic_int on;
    size_t len;
    char buf[64 * 1024];
} held = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void held_write_locked(void) {
    if (held.len > 0)
        (void)erps_write_all(STDERR_FILENO, held.buf, held.len);
    held.len = 0;
}

void erps_log_hold(int on) {
    pthread_mutex_lock(&held.mu);
    held_write_locked();
    atomic_store(&held.on, on);
    pthread_mutex_unlock(&held.mu);
}

void erps_log_flush(void) {
    if (!atomic_load(&held.on))
        return;
    pthread_mutex_lock(&held.mu);
    held_write_locked();
    pthread_mutex_unlock(&held.mu);
}

static void emit(erps_log_level_t level, const char *text, size_t n) {
    if (!atomic_load(&held.on)) {
        /* One write per line so concurrent threads do not interleave. */
        fwrite(text, 1, n, stderr);
        return;
    }
    pthread_mutex_lock(&held.mu);
    if (held.len + n > sizeof(held.buf))
        held_write_locked();
    if (n > sizeof(held.buf)) {
        (void)erps_write_all(STDERR_FILENO, text, n);
    } else {
        memcpy(held.buf + held.len, text, n);
        held.len += n;
    }
    if (level <= ERPS_LOG_WARN)
        held_write_locked();
    pthread_mutex_unlock(&held.mu);
}

/* A line cut to fit still ends with its newline. */
static size_t line_length(char *out, size_t size, int n) {
    if (n < 0)
        return 0;
    if ((size_t)n < size)
        return (size_t)n;
    out[size - 2] = '\n';
    return size - 1;
}

void erps_log_impl(erps_log_level_t level, const char *fmt, ...) {
    char ts[ERPS_TIME_LEN], line[2048];
    va_list ap;
    erps_time_format(erps_now_ms(), ts);
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (!log_json) {
        char out[sizeof(line) + 512];
        int n = snprintf(out, sizeof(out), "%s %s %s: %s\n", ts, log_ident,
                         level_names[level], line);
        emit(level, out, line_length(out, sizeof(out), n));
        return;
    }
    char msg[sizeof(line) * 6 + 8], ident[256], out[sizeof(msg) + 512];
    erps_json_escape(line, msg, sizeof(msg));
    erps_json_escape(log_ident, ident, sizeof(ident));
    int n = snprintf(out, sizeof(out),
                     "{\"time\":\"%s\",\"program\":\"%s\",\"level\":\"%s\","
                     "\"msg\":\"%s\"}\n",
                     ts, ident, level_names[level], msg);
    emit(level, out, line_length(out, sizeof(out), n));
}
