/*
 * cors.h - which browser origins may call the API (setting cors.origins):
 * preflight answers, and the cross-site check that keeps a page on another
 * site from changing the engine with credentials the browser remembered.
 * Pure functions over header values, unit-tested and fuzzed.
 */
#ifndef ERPSYNC_SHIM_CORS_H
#define ERPSYNC_SHIM_CORS_H

#include <stddef.h>

/** Request headers a cross-origin caller may send (the preflight's
 * Access-Control-Allow-Headers). */
#define ERPS_CORS_ALLOW_HEADERS                                                \
    "Authorization, Content-Type, Accept, Accept-Language, SO-Language, "      \
    "SO-Culture, SO-TimeZone, SO-AppToken, X-XSRF-TOKEN"
/** Answer headers a cross-origin page may read. */
#define ERPS_CORS_EXPOSE_HEADERS                                               \
    "X-ErpSync-Command-Id, WWW-Authenticate, Retry-After"
#define ERPS_CORS_MAX_AGE "600"

/** @returns 1 when origin is one of the comma-separated origins (ASCII
 * case-insensitive, whole values; "null" never is). */
int erps_cors_allowed(const char *origins, const char *origin);

/**
 * A preflight (OPTIONS with Origin and Access-Control-Request-Method).
 * @returns 0 when it may go on, or 403 with err naming what is not allowed.
 */
int erps_cors_preflight(const char *origins, const char *origin,
                        const char *method, const char *req_headers, char *err,
                        size_t err_size);

/**
 * Cross-site check for a call that changes the engine: refused when Origin
 * is neither allowed nor this server's own (http(s)://host), or, without
 * Origin, when Sec-Fetch-Site says another site sent it.
 * @returns 0, or 403 with err.
 */
int erps_cors_cross_site(const char *origins, const char *origin,
                         const char *fetch_site, const char *host, char *err,
                         size_t err_size);

#endif
