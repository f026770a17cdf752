/*
 * cors.c - browser origins. See cors.h.
 */
#include "cors.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *skip_sp(const char *p) {
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Whether the comma-separated list holds item (case-insensitive). */
static int list_has(const char *list, const char *item, size_t item_len) {
    const char *p = list;
    while (*(p = skip_sp(p))) {
        size_t n = strcspn(p, ",");
        size_t t = n;
        while (t > 0 && (p[t - 1] == ' ' || p[t - 1] == '\t'))
            t--;
        if (t == item_len && item_len > 0 && strncasecmp(p, item, t) == 0)
            return 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

int erps_cors_allowed(const char *origins, const char *origin) {
    if (!origins || !origin || strcasecmp(origin, "null") == 0)
        return 0;
    return list_has(origins, origin, strlen(origin));
}

int erps_cors_preflight(const char *origins, const char *origin,
                        const char *method, const char *req_headers, char *err,
                        size_t err_size) {
    if (!erps_cors_allowed(origins, origin)) {
        snprintf(err, err_size,
                 "this origin may not call the API "
                 "(cors.origins)");
        return 403;
    }
    /* Methods are case-sensitive (RFC 9110 9.1); every call is a POST. */
    if (!method || strcmp(method, "POST") != 0) {
        snprintf(err, err_size, "only POST may be sent cross-origin");
        return 403;
    }
    const char *p = req_headers ? req_headers : "";
    while (*(p = skip_sp(p))) {
        size_t n = strcspn(p, ", \t");
        if (n && !list_has(ERPS_CORS_ALLOW_HEADERS, p, n)) {
            snprintf(err, err_size,
                     "the request header %.*s may not be sent "
                     "cross-origin",
                     (int)(n > 64 ? 64 : n), p);
            return 403;
        }
        p += n;
        p += strspn(p, ", \t");
    }
    return 0;
}

/* Origin is this server itself: a page it was served with (through a
 * proxy that kept Host). */
static int same_origin(const char *origin, const char *host) {
    if (!host || !*host)
        return 0;
    const char *rest = strncasecmp(origin, "http://", 7) == 0    ? origin + 7
                       : strncasecmp(origin, "https://", 8) == 0 ? origin + 8
                                                                 : NULL;
    return rest && strcasecmp(rest, host) == 0;
}

int erps_cors_cross_site(const char *origins, const char *origin,
                         const char *fetch_site, const char *host, char *err,
                         size_t err_size) {
    if (origin) {
        if (erps_cors_allowed(origins, origin) ||
            (strcasecmp(origin, "null") != 0 && same_origin(origin, host)))
            return 0;
        snprintf(err, err_size,
                 "a change from another site is refused: its "
                 "Origin is not in cors.origins");
        return 403;
    }
    /* Browsers that send Sec-Fetch-Site send Origin on a POST too; this is
     * the belt to that brace. Other clients send neither. */
    if (fetch_site && (strcasecmp(fetch_site, "cross-site") == 0 ||
                       strcasecmp(fetch_site, "same-site") == 0)) {
        snprintf(err, err_size,
                 "a change from another site is refused "
                 "(Sec-Fetch-Site: %s)",
                 strcasecmp(fetch_site, "cross-site") == 0 ? "cross-site"
                                                           : "same-site");
        return 403;
    }
    return 0;
}
