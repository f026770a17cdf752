/*
 * fuzz_api_body - what the shim makes of a decoded request object and the
 * request path: the input, parsed as JSON by cJSON (any value, not only
 * objects), goes to the ChangeEngineStatus and ChangeEngineInterval rules,
 * and the same bytes as a NUL-terminated path to the router. Byte-level
 * decoding (charsets, XML, forms, patches) is fuzz_body's.
 */
#include <cjson/cJSON.h>
#include <stdbool.h>

#include "api.h"
#include "fuzz_common.h"

/* engine.interval.min / engine.interval.max defaults (shim/server.c). */
#define INTERVAL_MIN 60
#define INTERVAL_MAX 604800

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_cstr(data, size);
    char err[256];
    bool run = false;
    int64_t iv = -1;
    int rc;

    cJSON *req = cJSON_ParseWithLength((const char *)data, size);
    if (req) {
        /* The same object under each media type's bool rules. */
        for (int m = ERPS_MEDIA_JSON; m <= ERPS_MEDIA_MERGE_PATCH; m++) {
            err[0] = '\0';
            rc = erps_api_change_status_req(req, (erps_media_t)m, &run, err,
                                            sizeof(err));
            FUZZ_CHECK(rc == 0 || rc == 400, "change status returned %d", rc);
            FUZZ_CHECK(rc == 0 || err[0], "change status %d without a reason",
                       rc);
        }

        err[0] = '\0';
        rc = erps_api_change_interval_req(req, INTERVAL_MIN, INTERVAL_MAX, &iv,
                                          err, sizeof(err));
        FUZZ_CHECK(rc == 0 || rc == 400, "change interval returned %d", rc);
        FUZZ_CHECK(rc == 0 || err[0], "change interval %d without a reason",
                   rc);
        if (rc == 0)
            FUZZ_CHECK(iv >= INTERVAL_MIN && iv <= INTERVAL_MAX,
                       "interval %lld accepted outside %d..%d", (long long)iv,
                       INTERVAL_MIN, INTERVAL_MAX);
        cJSON_Delete(req);
    }

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
    return 0;
}
