/*
 * fuzz_http_guard - the input split at newlines: the first line is a
 * request target, the lines after it headers ("name:value", split at the
 * first ':'), each an exact-size NUL-terminated copy:
 *
 *   erps_http_target_check   400 exactly when the target holds %00 or a
 *                            control byte (an independent scan), else 0
 *   erps_http_path_normalize no "//" left, no trailing '/' but the root's,
 *                            never longer than the input, idempotent
 *   erps_api_route           200, 404 or 405 for the target
 *   erps_http_head_add/check 0 or 400; 400 whenever two Content-Lengths
 *   erps_cors_*              the second and third lines as cors.origins and
 *                            Origin: allowed only when the list holds it;
 *                            preflight 0 or 403, cross-site 0 or 403
 */
#include "api.h"
#include "cors.h"
#include "fuzz_common.h"
#include "http_guard.h"

#include <strings.h>

#define MAX_LINES 32

static void target_checks(const char *t, size_t len) {
    char err[80];
    int bad = 0;
    for (size_t i = 0; i < len; i++)
        bad |=
            (unsigned char)t[i] < 0x20 || t[i] == 0x7f ||
            (t[i] == '%' && i + 2 < len && t[i + 1] == '0' && t[i + 2] == '0');
    int code = erps_http_target_check(t, err, sizeof(err));
    FUZZ_CHECK(code == (bad ? 400 : 0), "target check %d for %zu bytes", code,
               len);

    char *a = malloc(len + 2), *b = malloc(len + 2);
    FUZZ_CHECK(a && b, "out of memory");
    FUZZ_CHECK(erps_http_path_normalize(t, a, len + 2) == 0,
               "normalize failed");
    size_t n = strlen(a);
    FUZZ_CHECK(n <= len, "normalized path grew");
    FUZZ_CHECK(!strstr(a, "//"), "\"//\" left in \"%s\"", a);
    FUZZ_CHECK(n <= 1 || a[n - 1] != '/', "trailing slash in \"%s\"", a);
    FUZZ_CHECK(erps_http_path_normalize(a, b, len + 2) == 0 &&
                   strcmp(a, b) == 0,
               "not idempotent: \"%s\" -> \"%s\"", a, b);
    free(a);
    free(b);

    erps_route_t route;
    const char *allow;
    code = erps_api_route("POST", t, &route, &allow);
    FUZZ_CHECK(code == 200 || code == 404 || code == 405, "route %d", code);
}

static void head_checks(char **lines, int n) {
    erps_http_head_t h;
    char err[160];
    int cls = 0;
    memset(&h, 0, sizeof(h));
    for (int i = 1; i < n; i++) {
        char *colon = strchr(lines[i], ':');
        if (!colon)
            continue;
        *colon = '\0';
        cls += strcasecmp(lines[i], "Content-Length") == 0;
        erps_http_head_add(&h, lines[i], colon + 1);
        *colon = ':';
    }
    int code = erps_http_head_check(&h, "HTTP/1.1", err, sizeof(err));
    FUZZ_CHECK(code == 0 || code == 400, "head check %d", code);
    FUZZ_CHECK(cls < 2 || code == 400, "two Content-Lengths passed");
}

static void cors_checks(const char *origins, const char *origin,
                        const char *more) {
    char err[160];
    if (erps_cors_allowed(origins, origin))
        FUZZ_CHECK(*origin && strcasestr(origins, origin),
                   "\"%s\" allowed "
                   "by \"%s\"",
                   origin, origins);
    int code =
        erps_cors_preflight(origins, origin, "POST", more, err, sizeof(err));
    FUZZ_CHECK(code == 0 || code == 403, "preflight %d", code);
    code = erps_cors_cross_site(origins, origin, more, more, err, sizeof(err));
    FUZZ_CHECK(code == 0 || code == 403, "cross-site %d", code);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *lines[MAX_LINES];
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= size && n < MAX_LINES; i++) {
        if (i == size || data[i] == '\n') {
            lines[n++] = fuzz_cstr(data + start, i - start);
            start = i + 1;
        }
    }
    target_checks(lines[0], strlen(lines[0]));
    head_checks(lines, n);
    cors_checks(n > 1 ? lines[1] : "", n > 2 ? lines[2] : "",
                n > 3 ? lines[3] : NULL);
    for (int i = 0; i < n; i++)
        free(lines[i]);
    return 0;
}
