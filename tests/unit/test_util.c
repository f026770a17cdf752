/* test_util.c - clocks, RFC 3339, UUIDs, string helpers, log lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "erpsync/log.h"
#include "erpsync/util.h"

static void time_round_trip(void **state) {
    char buf[ERPS_TIME_LEN];
    int64_t ms;
    (void)state;
    erps_time_format(1795852233123, buf);
    assert_string_equal(buf, "2026-11-28T07:50:33.123Z");
    assert_int_equal(erps_time_parse(buf, &ms), 0);
    assert_int_equal(ms, 1795852233123);
    erps_time_format(0, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
}

static void time_offsets_and_fractions(void **state) {
    int64_t a, b;
    (void)state;
    assert_int_equal(erps_time_parse("2026-11-28T08:00:00+01:00", &a), 0);
    assert_int_equal(erps_time_parse("2026-11-28T07:00:00Z", &b), 0);
    assert_int_equal(a, b);
    assert_int_equal(erps_time_parse("2026-11-28T07:00:00.5Z", &a), 0);
    assert_int_equal(a - b, 500);
    assert_int_equal(erps_time_parse("2026-11-28t07:00:00.123456789z", &a), 0);
    assert_int_equal(a - b, 123);
    assert_int_equal(erps_time_parse("2024-02-29T00:00:00-00:30", &a), 0);
}

static void time_rejects(void **state) {
    int64_t ms;
    static const char *const bad[] = {
        "", "2026-11-28", "2026-11-28T07:00:00", "2026-13-01T00:00:00Z",
        "2026-11-31T00:00:00Z", "2026-11-28T24:00:00Z", "2026-11-28T07:00Z",
        "2026-11-28T07:00:00.Z", "2026-11-28T07:00:00+0100",
        "2026-11-28T07:00:00Zjunk", "x026-11-28T07:00:00Z",
        "2026-11-28T07:00:00.1234567890Z",
        /* outside what erps_time_format writes back (found by fuzzing) */
        "0000-01-01T00:00:00+00:01", "1969-12-31T23:59:59Z",
        "9999-12-31T23:59:59-00:01", "2026-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z"};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(erps_time_parse(bad[i], &ms), -1);
    assert_int_equal(erps_time_parse(NULL, &ms), -1);
}

static void uuids(void **state) {
    char a[ERPS_UUID_LEN + 1], b[ERPS_UUID_LEN + 1];
    (void)state;
    erps_uuid_new(a);
    erps_uuid_new(b);
    assert_int_equal(strlen(a), ERPS_UUID_LEN);
    assert_true(erps_uuid_valid(a));
    assert_string_not_equal(a, b);
    assert_int_equal(a[14], '4'); /* version 4, random */
    assert_false(erps_uuid_valid("not-a-uuid"));
    assert_false(erps_uuid_valid("5f0c8a3e-2b1d-4c6e-9a7f-0d1e2f3a4b5"));
    assert_false(erps_uuid_valid(NULL));
}

static void strings(void **state) {
    char small[4];
    (void)state;
    assert_int_equal(erps_strlcpy(small, "abcdef", sizeof(small)), 6);
    assert_string_equal(small, "abc");
    assert_true(erps_consttime_eq("abc", 3, "abc", 3));
    assert_false(erps_consttime_eq("abc", 3, "abd", 3));
    assert_false(erps_consttime_eq("abc", 3, "abcd", 4));
}

static void base64_digits(void **state) {
    static const char std[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char url[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (void)state;
    for (int i = 0; i < 64; i++) {
        assert_int_equal(erps_b64_value(std[i], 0), i);
        assert_int_equal(erps_b64_value(url[i], 1), i);
    }
    /* each alphabet's own two digits only */
    assert_int_equal(erps_b64_value('-', 0), -1);
    assert_int_equal(erps_b64_value('/', 1), -1);
    assert_int_equal(erps_b64_value('=', 0), -1);
    assert_int_equal(erps_b64_value(0xC3, 1), -1);
}

static void clocks(void **state) {
    (void)state;
    int64_t m1 = erps_mono_ms(), m2 = erps_mono_ms();
    assert_true(m2 >= m1);
    assert_true(erps_now_ms() > 1700000000000);
}

static void json_escapes(void **state) {
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"plain", "plain"},
        {"say \"hi\" \\ bye", "say \\\"hi\\\" \\\\ bye"},
        {"tab\tnl\ncr\r\x01\x7f", "tab\\u0009nl\\u000acr\\u000d\\u0001\\u007f"},
        {"k\xc3\xb8"
         "benhavn \xe2\x82\xac \xf0\x9f\x98\x80",
         "k\xc3\xb8"
         "benhavn \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"bad \xff end", "bad \\ufffd end"},
        {"cut \xc3", "cut \\ufffd"},              /* truncated sequence */
        {"over \xc0\xaf", "over \\ufffd\\ufffd"}, /* overlong '/' */
        {"surr \xed\xa0\x80",
         "surr \\ufffd\\ufffd\\ufffd"}, /* UTF-16 surrogate */
        {"big \xf4\x90\x80\x80",
         "big \\ufffd\\ufffd\\ufffd\\ufffd"}, /* > U+10FFFF */
    };
    char out[256];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = erps_json_escape(cases[i].in, out, sizeof(out));
        assert_string_equal(out, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
    }
    /* A small buffer is never overrun and ends on a whole escape. */
    char small[12];
    memset(small, 'Z', sizeof(small));
    erps_json_escape("\x01\x01\x01\x01", small, 10);
    assert_string_equal(small, "\\u0001");
    assert_int_equal(small[11], 'Z');
}

/* Captures what one erps_info writes to stderr. */
static void log_capture(const char *msg, char *out, size_t out_size) {
    char path[] = "/tmp/erpsync-test-log-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    assert_true(fd >= 0 && saved >= 0);
    unlink(path);
    fflush(stderr);
    assert_int_equal(dup2(fd, 2), 2);
    erps_info("%s", msg);
    fflush(stderr);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    ssize_t n = pread(fd, out, out_size - 1, 0);
    close(fd);
    assert_true(n > 0);
    out[n] = '\0';
}

static void log_formats(void **state) {
    char line[512];
    (void)state;
    erps_log_set_ident("erpsync-test");
    assert_int_equal(erps_log_set_format("yaml"), -1);
    assert_int_equal(erps_log_set_format("JSON"), 0);
    log_capture("engine \"demo\": started\n\xff", line, sizeof(line));
    assert_int_equal(strncmp(line, "{\"time\":\"20", 11), 0);
    const char *rest = strstr(line, "Z\",\"program\"");
    assert_non_null(rest);
    assert_string_equal(
        rest, "Z\",\"program\":\"erpsync-test\",\"level\":\"info\","
              "\"msg\":\"engine \\\"demo\\\": started\\u000a\\ufffd\"}\n");
    assert_int_equal(erps_log_set_format("text"), 0);
    log_capture("plain", line, sizeof(line));
    assert_non_null(strstr(line, "Z erpsync-test info: plain\n"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(time_round_trip),
        cmocka_unit_test(time_offsets_and_fractions),
        cmocka_unit_test(time_rejects),
        cmocka_unit_test(uuids),
        cmocka_unit_test(strings),
        cmocka_unit_test(clocks),
        cmocka_unit_test(base64_digits),
        cmocka_unit_test(json_escapes),
        cmocka_unit_test(log_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
