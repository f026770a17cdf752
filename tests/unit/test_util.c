/* test_util.c - clocks, RFC 3339, UUIDs, string helpers, log lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
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

/* What erps_time_format wrote before its digits were put by hand. */
static void time_format_reference(int64_t ms, char out[ERPS_TIME_LEN]) {
    time_t secs = (time_t)(ms / 1000);
    int millis = (int)(ms % 1000);
    struct tm tm;
    if (millis < 0) {
        millis += 1000;
        secs -= 1;
    }
    if (!gmtime_r(&secs, &tm))
        memset(&tm, 0, sizeof(tm));
    snprintf(out, ERPS_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, millis);
}

static void time_format_matches_printf(void **state) {
    static const int64_t edges[] = {0,
                                    -1,
                                    1,
                                    999,
                                    -999,
                                    -1000,
                                    253402300799999 /* 9999-12-31 */,
                                    253402300800000 /* 10000-01-01 */,
                                    -62167219200000 /* year 0 */,
                                    -62167219200001,
                                    INT64_MAX,
                                    INT64_MIN,
                                    951782400000 /* 2000-02-29 */};
    char got[ERPS_TIME_LEN], want[ERPS_TIME_LEN];
    uint64_t x = 88172645463325252ULL;
    (void)state;
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        erps_time_format(edges[i], got);
        time_format_reference(edges[i], want);
        assert_string_equal(got, want);
    }
    for (int i = 0; i < 200000; i++) { /* xorshift over years -300..12000 */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t ms = (int64_t)(x % 388000000000000ULL) - 71000000000000LL;
        erps_time_format(ms, got);
        time_format_reference(ms, want);
        assert_string_equal(got, want);
    }
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

static int compare_ids(const void *a, const void *b) {
    return strcmp(a, b);
}

/* Many at once: the random bytes come in 4 KiB (256 UUIDs) per refill. */
static void uuids_many_distinct(void **state) {
    enum { N = 5000 };
    static char ids[N][ERPS_UUID_LEN + 1];
    (void)state;
    for (int i = 0; i < N; i++) {
        erps_uuid_new(ids[i]);
        assert_true(erps_uuid_valid(ids[i]));
        assert_int_equal(ids[i][14], '4');
        assert_non_null(strchr("89ab", ids[i][19])); /* RFC 9562 variant */
    }
    qsort(ids, N, sizeof(ids[0]), compare_ids);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
}

/* A forked child draws other UUIDs than its parent's next ones. */
static void uuids_after_fork(void **state) {
    char first[ERPS_UUID_LEN + 1], parent[ERPS_UUID_LEN + 1];
    char child[ERPS_UUID_LEN + 1] = {0};
    int fds[2], status;
    (void)state;
    erps_uuid_new(first); /* the buffer is filled */
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        erps_uuid_new(child);
        _exit(write(fds[1], child, ERPS_UUID_LEN) == ERPS_UUID_LEN ? 0 : 1);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], child, ERPS_UUID_LEN), ERPS_UUID_LEN);
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(status, 0);
    erps_uuid_new(parent);
    assert_true(erps_uuid_valid(child));
    assert_string_not_equal(child, parent);
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

/* Held lines: written at a flush, at once with a warning, in order. */
static void log_hold_and_flush(void **state) {
    char path[] = "/tmp/erpsync-test-log-XXXXXX", buf[256 * 1024];
    int fd = mkstemp(path), saved = dup(2);
    (void)state;
    assert_true(fd >= 0 && saved >= 0);
    unlink(path);
    fflush(stderr);
    assert_int_equal(dup2(fd, 2), 2);
    erps_log_set_format("text");
    erps_log_hold(1);
    erps_info("held one");
    off_t after_info = lseek(fd, 0, SEEK_END);
    erps_warn("warned");
    off_t after_warn = lseek(fd, 0, SEEK_END);
    erps_info("held two");
    off_t after_two = lseek(fd, 0, SEEK_END);
    erps_log_flush();
    off_t after_flush = lseek(fd, 0, SEEK_END);
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (int i = 0; i < 100; i++) /* 100 KiB: more than the buffer holds */
        erps_info("%03d %s", i, big);
    off_t before_end = lseek(fd, 0, SEEK_END);
    erps_log_hold(0);
    off_t at_end = lseek(fd, 0, SEEK_END);
    erps_info("plain again");
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_int_equal(after_info, 0);
    assert_true(after_warn > 0 && after_two == after_warn);
    assert_true(after_flush > after_two);
    assert_true(before_end > after_flush + 60 * 1000 && before_end < at_end);
    const char *one = strstr(buf, "info: held one\n");
    const char *warn = strstr(buf, "warn: warned\n");
    const char *two = strstr(buf, "info: held two\n");
    assert_true(one && warn && two && one < warn && warn < two);
    const char *prev = two;
    for (int i = 0; i < 100; i++) {
        char tag[32];
        snprintf(tag, sizeof(tag), "info: %03d x", i);
        const char *at = strstr(prev, tag);
        assert_non_null(at);
        prev = at;
    }
    assert_non_null(strstr(prev, "info: plain again\n"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(time_round_trip),
        cmocka_unit_test(time_format_matches_printf),
        cmocka_unit_test(time_offsets_and_fractions),
        cmocka_unit_test(time_rejects),
        cmocka_unit_test(uuids),
        cmocka_unit_test(uuids_many_distinct),
        cmocka_unit_test(uuids_after_fork),
        cmocka_unit_test(strings),
        cmocka_unit_test(clocks),
        cmocka_unit_test(base64_digits),
        cmocka_unit_test(json_escapes),
        cmocka_unit_test(log_formats),
        cmocka_unit_test(log_hold_and_flush),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
