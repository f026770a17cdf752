/*
 * timespan.c - intervals as the WebAPI writes them (.NET TimeSpan text and
 * xs:duration) and reads them (also ISO 8601 durations such as PT15M).
 */
#include "erpsync/proto.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MAX_SECONDS ERPS_INTERVAL_MAX_S

int erps_interval_bounds_check(int64_t min_s, int64_t max_s, char *err,
                               size_t err_size) {
    if (min_s <= max_s)
        return 0;
    snprintf(err, err_size,
             "engine.interval.min (%" PRId64 " s) is larger "
             "than engine.interval.max (%" PRId64 " s)",
             min_s, max_s);
    return -1;
}

void erps_timespan_format(int64_t secs, char out[ERPS_TIMESPAN_LEN]) {
    const char *sign = "";
    /* Unsigned, so that INT64_MIN has a magnitude too. */
    uint64_t s = (uint64_t)secs;
    if (secs < 0) {
        sign = "-";
        s = 0 - s;
    }
    uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
    if (d > 0)
        snprintf(out, ERPS_TIMESPAN_LEN,
                 "%s%" PRIu64 ".%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64, sign,
                 d, h, m, sec);
    else
        snprintf(out, ERPS_TIMESPAN_LEN,
                 "%s%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64, sign, h, m, sec);
}

void erps_duration_format(int64_t secs, char out[ERPS_TIMESPAN_LEN]) {
    char *p = out, *end = out + ERPS_TIMESPAN_LEN;
    uint64_t s = (uint64_t)secs; /* as in erps_timespan_format */
    if (secs < 0) {
        *p++ = '-';
        s = 0 - s;
    }
    uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
    p += snprintf(p, (size_t)(end - p), "P");
    if (d)
        p += snprintf(p, (size_t)(end - p), "%" PRIu64 "D", d);
    if (h || m || sec || !d) {
        p += snprintf(p, (size_t)(end - p), "T");
        if (h)
            p += snprintf(p, (size_t)(end - p), "%" PRIu64 "H", h);
        if (m)
            p += snprintf(p, (size_t)(end - p), "%" PRIu64 "M", m);
        if (sec || (!h && !m))
            snprintf(p, (size_t)(end - p), "%" PRIu64 "S", sec);
    }
}

/* Reads a run of digits as a bounded non-negative number. */
static int read_num(const char **p, int64_t *v, int *ndigits) {
    int64_t n = 0;
    int k = 0;
    while (isdigit((unsigned char)**p)) {
        if (n > MAX_SECONDS)
            return -1;
        n = n * 10 + (**p - '0');
        (*p)++;
        k++;
    }
    if (k == 0)
        return -1;
    *v = n;
    if (ndigits)
        *ndigits = k;
    return 0;
}

static int64_t unit_seconds(char u) {
    return u == 'W'   ? 604800
           : u == 'D' ? 86400
           : u == 'H' ? 3600
           : u == 'M' ? 60
                      : 1;
}

/* One "<n><unit>" at *p, the unit one of next_unit (the units still
 * allowed, in the order ISO 8601 requires them, each at most once), into
 * *total. @returns 0; 1 not a duration; 2 a fraction; 3 too large. */
static int iso_part(const char **p, const char **next_unit, int64_t *total) {
    int64_t v;
    if (read_num(p, &v, NULL))
        return 1;
    if (**p == '.' || **p == ',')
        return 2;
    char u = (char)toupper((unsigned char)**p);
    const char *pos = u ? strchr(*next_unit, u) : NULL;
    if (!pos)
        return 1;
    *next_unit = pos + 1;
    int64_t mult = unit_seconds(u);
    if (v > MAX_SECONDS / mult || *total > MAX_SECONDS - v * mult)
        return 3;
    *total += v * mult;
    (*p)++;
    return 0;
}

static int parse_iso(const char *s, int64_t *seconds, char *errstr,
                     size_t errstr_size) {
    const char *p = s + 1; /* after 'P' */
    const char *next_unit = "WD";
    int64_t total = 0;
    int in_time = 0, any = 0, rc = 0;
    while (*p && rc == 0) {
        if (*p == 'T' || *p == 't') {
            rc = in_time || !p[1]; /* one T, and something after it */
            in_time = 1;
            next_unit = "HMS";
            p++;
            continue;
        }
        rc = iso_part(&p, &next_unit, &total);
        any = 1;
    }
    if (rc == 0 && any) {
        *seconds = total;
        return 0;
    }
    if (rc == 2)
        snprintf(errstr, errstr_size,
                 "interval \"%s\": fractions are not supported", s);
    else if (rc == 3)
        snprintf(errstr, errstr_size, "interval \"%s\" is too large", s);
    else
        snprintf(errstr, errstr_size,
                 "interval \"%s\" is not an ISO 8601 duration (e.g. PT15M)", s);
    return -1;
}

/* [d.]hh:mm[:ss] at p into d, h, m, sec; .NET also takes a bare day count
 * ("1"), as do we. @returns 0, 1 not a TimeSpan, 2 with a fraction of a
 * second. */
static int read_clock(const char *p, int64_t *d, int64_t *h, int64_t *m,
                      int64_t *sec) {
    int nd;
    *d = *m = *sec = 0;
    if (read_num(&p, h, &nd))
        return 1;
    if (*p == '\0') {
        *d = *h;
        *h = 0;
        return 0;
    }
    if (*p == '.') {
        *d = *h;
        p++;
        if (read_num(&p, h, &nd))
            return 1;
    }
    if (*p++ != ':' || read_num(&p, m, &nd) || nd > 2)
        return 1;
    if (*p == ':') {
        p++;
        if (read_num(&p, sec, &nd) || nd > 2)
            return 1;
        if (*p == '.')
            return 2;
    }
    return *p != '\0';
}

int erps_timespan_parse(const char *s, int64_t *seconds, char *errstr,
                        size_t errstr_size) {
    const char *p = s;
    int64_t d, h, m, sec;
    int neg = *p == '-';
    p += neg;
    if (*p == 'P' || *p == 'p') {
        if (parse_iso(p, seconds, errstr, errstr_size))
            return -1;
        if (neg)
            *seconds = -*seconds;
        return 0;
    }
    int rc = read_clock(p, &d, &h, &m, &sec);
    if (rc == 1) {
        snprintf(errstr, errstr_size,
                 "interval \"%s\" is not a TimeSpan (hh:mm:ss or d.hh:mm:ss) "
                 "nor an ISO 8601 duration (PT15M)",
                 s);
        return -1;
    }
    if (rc == 2) {
        snprintf(errstr, errstr_size,
                 "interval \"%s\": fractions of seconds are not supported", s);
        return -1;
    }
    if (h > 23 || m > 59 || sec > 59) {
        snprintf(errstr, errstr_size,
                 "interval \"%s\": hours must be 0-23, minutes and seconds "
                 "0-59",
                 s);
        return -1;
    }
    if (d > MAX_SECONDS / 86400) {
        snprintf(errstr, errstr_size, "interval \"%s\" is too large", s);
        return -1;
    }
    *seconds = d * 86400 + h * 3600 + m * 60 + sec;
    if (neg)
        *seconds = -*seconds;
    return 0;
}
