/*
 * log.c - one line per event on stderr: time, program, level, message, as
 * text for people or as one JSON object per line for log shippers.
 */
#include "erpsync/log.h"
#include "erpsync/util.h"

#include <fcntl.h>
#include <stdarg.h>
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

void erps_log_impl(erps_log_level_t level, const char *fmt, ...) {
    char ts[ERPS_TIME_LEN], line[2048];
    va_list ap;
    erps_time_format(erps_now_ms(), ts);
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* One fprintf per line so concurrent threads do not interleave. */
    if (!log_json) {
        fprintf(stderr, "%s %s %s: %s\n", ts, log_ident, level_names[level],
                line);
        return;
    }
    char msg[sizeof(line) * 6 + 8], ident[256];
    erps_json_escape(line, msg, sizeof(msg));
    erps_json_escape(log_ident, ident, sizeof(ident));
    fprintf(stderr,
            "{\"time\":\"%s\",\"program\":\"%s\",\"level\":\"%s\",\"msg\":\"%"
            "s\"}\n",
            ts, ident, level_names[level], msg);
}
