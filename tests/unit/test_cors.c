/* test_cors.c - allowed origins, preflights and the cross-site check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cors.h"

#define LIST " https://app.example , https://admin.example:8443"

static void allowed(void **state) {
    (void)state;
    assert_true(erps_cors_allowed(LIST, "https://app.example"));
    assert_true(erps_cors_allowed(LIST, "HTTPS://ADMIN.example:8443"));
    assert_false(erps_cors_allowed(LIST, "https://app.example.evil"));
    assert_false(erps_cors_allowed(LIST, "https://app.exampl"));
    assert_false(erps_cors_allowed(LIST, "null"));
    assert_false(erps_cors_allowed(LIST, ""));
    assert_false(erps_cors_allowed("", "https://app.example"));
    assert_false(erps_cors_allowed(LIST, NULL));
}

static void preflight(void **state) {
    char err[160];
    (void)state;
    assert_int_equal(
        erps_cors_preflight(LIST, "https://app.example", "POST",
                            "Authorization,content-type, SO-Language", err,
                            sizeof(err)),
        0);
    assert_int_equal(erps_cors_preflight(LIST, "https://app.example", "POST",
                                         NULL, err, sizeof(err)),
                     0);
    assert_int_equal(erps_cors_preflight(LIST, "https://evil.example", "POST",
                                         NULL, err, sizeof(err)),
                     403);
    assert_int_equal(erps_cors_preflight(LIST, "https://app.example", "post",
                                         NULL, err, sizeof(err)),
                     403);
    assert_int_equal(erps_cors_preflight(LIST, "https://app.example", NULL,
                                         NULL, err, sizeof(err)),
                     403);
    assert_int_equal(erps_cors_preflight(LIST, "https://app.example", "POST",
                                         "authorization, x-evil", err,
                                         sizeof(err)),
                     403);
}

static void cross_site(void **state) {
    char err[160];
    const char *host = "shim.example:8080";
    (void)state;
    /* no browser markers: an API client */
    assert_int_equal(
        erps_cors_cross_site(LIST, NULL, NULL, host, err, sizeof(err)), 0);
    assert_int_equal(erps_cors_cross_site(LIST, "https://app.example", NULL,
                                          host, err, sizeof(err)),
                     0);
    assert_int_equal(erps_cors_cross_site(LIST, "http://shim.example:8080",
                                          NULL, host, err, sizeof(err)),
                     0);
    assert_int_equal(erps_cors_cross_site(LIST, "https://evil.example", NULL,
                                          host, err, sizeof(err)),
                     403);
    assert_int_equal(
        erps_cors_cross_site(LIST, "null", NULL, host, err, sizeof(err)), 403);
    assert_int_equal(erps_cors_cross_site("", "https://evil.example", NULL,
                                          NULL, err, sizeof(err)),
                     403);
    assert_int_equal(
        erps_cors_cross_site(LIST, NULL, "cross-site", host, err, sizeof(err)),
        403);
    assert_int_equal(
        erps_cors_cross_site(LIST, NULL, "same-site", host, err, sizeof(err)),
        403);
    assert_int_equal(
        erps_cors_cross_site(LIST, NULL, "same-origin", host, err, sizeof(err)),
        0);
    assert_int_equal(
        erps_cors_cross_site(LIST, NULL, "none", host, err, sizeof(err)), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(allowed),
        cmocka_unit_test(preflight),
        cmocka_unit_test(cross_site),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
