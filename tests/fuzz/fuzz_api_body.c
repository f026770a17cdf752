/*
 * fuzz_api_body - what the shim reads from an HTTP request: the JSON body of
 * ChangeEngineStatus and ChangeEngineInterval, the Content-Type header and the
 * request path. The input is all of them at once.
 */
#include <stdbool.h>

#include "api.h"
#include "fuzz_common.h"

/* engine.interval.min / engine.interval.max defaults (shim/server.c). */
#define INTERVAL_MIN 60
#define INTERVAL_MAX 604800

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *body = fuzz_dup(data, size); /* not NUL-terminated, as MHD gives it */
    char *text = fuzz_cstr(data, size);
    char err[256];
    bool run = false;
    int64_t iv = -1;
    int rc;

    err[0] = '\0';
    rc = erps_api_parse_change_status(body, size, &run, err, sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == 400, "change status returned %d", rc);
    FUZZ_CHECK(rc == 0 || err[0], "change status %d without a reason", rc);

    err[0] = '\0';
    rc = erps_api_parse_change_interval(body, size, INTERVAL_MIN, INTERVAL_MAX,
                                        &iv, err, sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == 400, "change interval returned %d", rc);
    FUZZ_CHECK(rc == 0 || err[0], "change interval %d without a reason", rc);
    if (rc == 0)
        FUZZ_CHECK(iv >= INTERVAL_MIN && iv <= INTERVAL_MAX,
                   "interval %lld accepted outside %d..%d", (long long)iv,
                   INTERVAL_MIN, INTERVAL_MAX);

    /* The same bytes as a NUL-terminated header value and as a path. */
    err[0] = '\0';
    rc = erps_api_content_type(text, err, sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == 415, "content type returned %d", rc);
    FUZZ_CHECK(rc == 0 || err[0], "content type %d without a reason", rc);

    static const char *const methods[] = {"GET", "POST", "HEAD"};
    for (size_t i = 0; i < 3; i++) {
        erps_route_t route;
        const char *allow = NULL;
        rc = erps_api_route(methods[i], text, &route, &allow);
        FUZZ_CHECK(rc == 200 || rc == 404 || rc == 405, "route returned %d",
                   rc);
        FUZZ_CHECK(rc != 405 || allow, "405 without Allow");
        FUZZ_CHECK(rc == 200 || route == ERPS_ROUTE_NONE, "route %d on %d",
                   (int)route, rc);
    }

    free(text);
    free(body);
    return 0;
}
