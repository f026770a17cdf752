/* test_http_guard.c - request framing, targets and ASP.NET URL forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api.h"
#include "http_guard.h"

static int check(const char *const *hdrs, const char *version) {
    erps_http_head_t h;
    char err[160];
    memset(&h, 0, sizeof(h));
    for (size_t i = 0; hdrs[i]; i += 2)
        erps_http_head_add(&h, hdrs[i], hdrs[i + 1]);
    return erps_http_head_check(&h, version, err, sizeof(err));
}

static void framing(void **state) {
    (void)state;
    const char *ok[] = {"Host", "x", "Content-Length", "13", NULL};
    const char *chunked[] = {"Host", "x", "Transfer-Encoding", "Chunked", NULL};
    const char *two_cl[] = {
        "Host", "x", "Content-Length", "0", "Content-Length", "45", NULL};
    const char *same_cl[] = {
        "Host", "x", "Content-Length", "5", "Content-Length", "5", NULL};
    const char *cl_te[] = {
        "Host",    "x", "Content-Length", "5", "Transfer-Encoding",
        "chunked", NULL};
    const char *te_space[] = {"Host", "x", "Transfer-Encoding ", "chunked",
                              NULL};
    const char *te_gzip[] = {"Host", "x", "Transfer-Encoding", "gzip, chunked",
                             NULL};
    const char *no_host[] = {"Content-Length", "0", NULL};
    const char *two_hosts[] = {"Host", "a", "Host", "b", NULL};
    const char *bad_cl[][5] = {
        {"Host", "x", "Content-Length", "-1", NULL},
        {"Host", "x", "Content-Length", "+13", NULL},
        {"Host", "x", "Content-Length", "", NULL},
        {"Host", "x", "Content-Length", "1 3", NULL},
        {"Host", "x", "Content-Length", "99999999999999999999", NULL}};
    assert_int_equal(check(ok, "HTTP/1.1"), 0);
    assert_int_equal(check(chunked, "HTTP/1.1"), 0);
    assert_int_equal(check(two_cl, "HTTP/1.1"), 400);
    assert_int_equal(check(same_cl, "HTTP/1.1"), 400);
    assert_int_equal(check(cl_te, "HTTP/1.1"), 400);
    assert_int_equal(check(te_space, "HTTP/1.1"), 400);
    assert_int_equal(check(te_gzip, "HTTP/1.1"), 400);
    assert_int_equal(check(no_host, "HTTP/1.1"), 400);
    assert_int_equal(check(no_host, "HTTP/1.0"), 0); /* Host is 1.1's */
    assert_int_equal(check(two_hosts, "HTTP/1.0"), 400);
    for (size_t i = 0; i < sizeof(bad_cl) / sizeof(bad_cl[0]); i++)
        assert_int_equal(check(bad_cl[i], "HTTP/1.1"), 400);
}

static void expect(void **state) {
    erps_http_head_t h;
    (void)state;
    memset(&h, 0, sizeof(h));
    erps_http_head_add(&h, "expect", "100-Continue");
    assert_true(h.expect_continue);
}

static void targets(void **state) {
    char err[80];
    (void)state;
    assert_int_equal(
        erps_http_target_check("/api/v1/x?$select=a", err, sizeof(err)), 0);
    assert_int_equal(erps_http_target_check("/api/ChangeEngineStatus%00.gif",
                                            err, sizeof(err)),
                     400);
    assert_int_equal(erps_http_target_check("/a?b=%00", err, sizeof(err)), 400);
    assert_int_equal(erps_http_target_check("/a\tb", err, sizeof(err)), 400);
    assert_int_equal(erps_http_target_check("/a%01b%0", err, sizeof(err)), 0);
}

static void normalize(void **state) {
    char out[64];
    (void)state;
    const char *cases[][2] = {
        {"/api/v1/Agents/ErpSync/GetEngineStatus/",
         "/api/v1/Agents/ErpSync/GetEngineStatus"},
        {"//api//v1///Agents/ErpSync/GetEngineStatus",
         "/api/v1/Agents/ErpSync/GetEngineStatus"},
        {"http://host:8080/api/v1/x", "/api/v1/x"},
        {"HTTPS://host", "/"},
        {"/", "/"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(
            erps_http_path_normalize(cases[i][0], out, sizeof(out)), 0);
        assert_string_equal(out, cases[i][1]);
    }
    assert_int_equal(erps_http_path_normalize("/abcdef", out, 4), -1);
    assert_int_equal(erps_http_path_normalize("/", out, 0), -1);
}

static void routes(void **state) {
    erps_route_t r;
    const char *allow;
    (void)state;
    const char *forms[] = {
        "/api/v1/Agents/ErpSync/GetEngineStatus/",
        "/api//v1/Agents//ErpSync/GetEngineStatus",
        "http://127.0.0.1:8080/api/v1/Agents/ErpSync/GetEngineStatus",
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        assert_int_equal(erps_api_route("POST", forms[i], &r, &allow), 200);
        assert_int_equal(r, ERPS_ROUTE_GET_STATUS);
    }
    /* ours, not ASP.NET's: exact */
    assert_int_equal(erps_api_route("GET", "/healthz/", &r, &allow), 404);
    assert_int_equal(erps_api_route("GET",
                                    "/api/v1/Agents/ErpSync/GetEngineStatus/",
                                    &r, &allow),
                     405);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(framing), cmocka_unit_test(expect),
        cmocka_unit_test(targets), cmocka_unit_test(normalize),
        cmocka_unit_test(routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
