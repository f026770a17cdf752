/*
 * http_guard.h - checks on the request line and headers that libmicrohttpd
 * 0.9.75 lets through: request smuggling (two Content-Lengths, Content-Length
 * with Transfer-Encoding, whitespace before a header's colon), a missing or
 * doubled Host, %00 in the target, and the URL forms ASP.NET routing
 * accepts. Pure functions (no sockets), so they are unit-tested and fuzzed.
 */
#ifndef ERPSYNC_SHIM_HTTP_GUARD_H
#define ERPSYNC_SHIM_HTTP_GUARD_H

#include <stddef.h>

/** What the framing checks need from the headers; fill with
 * erps_http_head_add() for every header, in any order. */
typedef struct erps_http_head {
    int content_lengths;
    int transfer_encodings;
    int hosts;
    int bad_name;        /* a name with whitespace or a control byte */
    int bad_length;      /* a Content-Length that is not 1*DIGIT */
    int bad_coding;      /* a Transfer-Encoding other than "chunked" */
    int expect_continue; /* Expect: 100-continue */
} erps_http_head_t;

void erps_http_head_add(erps_http_head_t *h, const char *name,
                        const char *value);

/**
 * Framing rules of RFC 9112 (6.3, 3.2) for a request of `version`.
 * @returns 0, or 400 with err set: the caller answers and closes the
 * connection, as the end of this request (and the start of the next) is
 * not known.
 */
int erps_http_head_check(const erps_http_head_t *h, const char *version,
                         char *err, size_t err_size);

/** @returns 400 (err set) when the raw request target holds %00 or a
 * control byte: libmicrohttpd decodes %00 to a NUL that cuts the path. */
int erps_http_target_check(const char *raw_target, char *err, size_t err_size);

/**
 * The path as ASP.NET routing sees it: an absolute-form target's scheme and
 * authority dropped, runs of '/' made one, a trailing '/' dropped (not the
 * root's). @returns 0, or -1 when out is too small.
 */
int erps_http_path_normalize(const char *path, char *out, size_t out_size);

#endif
