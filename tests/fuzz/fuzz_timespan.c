/*
 * fuzz_timespan - erps_timespan_parse (TimeSpan text and ISO 8601 durations)
 * and erps_time_parse (RFC 3339) on the input, NUL-terminated. What parses
 * must format and parse back to the same value: intervals through
 * erps_timespan_format and erps_duration_format, instants through
 * erps_time_format.
 */
#include "fuzz_common.h"

#define MAX_DAYS INT64_C(10675199) /* TimeSpan.MaxValue, whole days */

static void interval(const char *s) {
    char err[256], text[ERPS_TIMESPAN_LEN];
    int64_t v, back;

    err[0] = '\0';
    if (erps_timespan_parse(s, &v, err, sizeof(err)) != 0) {
        FUZZ_CHECK(err[0] != '\0', "timespan failed without a reason");
        return;
    }
    if (v < -MAX_DAYS * 86400 || v > MAX_DAYS * 86400)
        return;

    erps_timespan_format(v, text);
    err[0] = '\0';
    FUZZ_CHECK(erps_timespan_parse(text, &back, err, sizeof(err)) == 0,
               "\"%s\" -> %lld -> \"%s\" does not parse: %s", s, (long long)v,
               text, err);
    FUZZ_CHECK(back == v, "\"%s\" -> %lld -> \"%s\" -> %lld", s, (long long)v,
               text, (long long)back);

    erps_duration_format(v, text);
    err[0] = '\0';
    FUZZ_CHECK(erps_timespan_parse(text, &back, err, sizeof(err)) == 0,
               "\"%s\" -> %lld -> \"%s\" does not parse: %s", s, (long long)v,
               text, err);
    FUZZ_CHECK(back == v, "\"%s\" -> %lld -> \"%s\" -> %lld", s, (long long)v,
               text, (long long)back);
}

static void instant(const char *s) {
    char text[ERPS_TIME_LEN];
    int64_t ms, back;

    if (erps_time_parse(s, &ms) != 0)
        return;
    erps_time_format(ms, text);
    FUZZ_CHECK(erps_time_parse(text, &back) == 0,
               "\"%s\" -> %lld ms -> \"%s\", which erps_time_parse rejects", s,
               (long long)ms, text);
    FUZZ_CHECK(back == ms, "\"%s\" -> %lld -> \"%s\" -> %lld", s, (long long)ms,
               text, (long long)back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = fuzz_cstr(data, size);
    interval(s);
    instant(s);
    free(s);
    return 0;
}
