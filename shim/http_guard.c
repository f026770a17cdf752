/*
 * http_guard.c - request-line and header checks. See http_guard.h.
 */
#include "http_guard.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Every decimal Content-Length the shim could ever read fits in 18 digits;
 * more is refused rather than parsed into an overflow. */
#define LENGTH_DIGITS_MAX 18

static int length_valid(const char *v) {
    size_t n = 0;
    while (v[n] >= '0' && v[n] <= '9')
        n++;
    return n >= 1 && n <= LENGTH_DIGITS_MAX && v[n] == '\0';
}

void erps_http_head_add(erps_http_head_t *h, const char *name,
                        const char *value) {
    const char *v = value ? value : "";
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            h->bad_name = 1;
    if (strcasecmp(name, "Content-Length") == 0) {
        h->content_lengths++;
        h->bad_length |= !length_valid(v);
    } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
        h->transfer_encodings++;
        /* Only the coding libmicrohttpd decodes; anything else would be
         * read as something it is not. */
        h->bad_coding |= strcasecmp(v, "chunked") != 0;
    } else if (strcasecmp(name, "Host") == 0) {
        h->hosts++;
    } else if (strcasecmp(name, "Expect") == 0) {
        h->expect_continue = strcasecmp(v, "100-continue") == 0;
    }
}

int erps_http_head_check(const erps_http_head_t *h, const char *version,
                         char *err, size_t err_size) {
    const char *why = NULL;
    if (h->bad_name)
        why = "a header name holds whitespace or a control character";
    else if (h->content_lengths > 1)
        why = "the request has more than one Content-Length";
    else if (h->content_lengths && h->transfer_encodings)
        why = "the request has both Content-Length and Transfer-Encoding";
    else if (h->transfer_encodings > 1 || h->bad_coding)
        why = "Transfer-Encoding must be exactly \"chunked\"";
    else if (h->bad_length)
        why = "Content-Length must be a decimal number of bytes";
    else if (h->hosts > 1)
        why = "the request has more than one Host";
    else if (!h->hosts && version && strcmp(version, "HTTP/1.1") == 0)
        why = "an HTTP/1.1 request must carry Host";
    if (!why)
        return 0;
    snprintf(err, err_size, "%s", why);
    return 400;
}

int erps_http_target_check(const char *raw_target, char *err, size_t err_size) {
    for (const char *p = raw_target; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            snprintf(err, err_size,
                     "the request target holds a control "
                     "character");
            return 400;
        }
        if (p[0] == '%' && p[1] == '0' && p[2] == '0') {
            snprintf(err, err_size, "the request target holds %%00");
            return 400;
        }
    }
    return 0;
}

int erps_http_path_normalize(const char *path, char *out, size_t out_size) {
    size_t n = 0;
    const char *p = path;
    if (out_size == 0)
        return -1;
    /* absolute-form (RFC 9112 3.2.2): the path starts after the authority */
    if (strncasecmp(p, "http://", 7) == 0 ||
        strncasecmp(p, "https://", 8) == 0) {
        p = strstr(p, "//") + 2;
        p += strcspn(p, "/");
        if (!*p)
            p = "/";
    }
    for (; *p; p++) {
        if (*p == '/' && n > 0 && out[n - 1] == '/')
            continue;
        if (n + 1 >= out_size)
            return -1;
        out[n++] = *p;
    }
    if (n > 1 && out[n - 1] == '/')
        n--;
    out[n] = '\0';
    return 0;
}
