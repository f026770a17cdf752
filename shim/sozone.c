/*
 * sozone.c - SuperOffice time zone names to IANA ids (sozone.h).
 *
 * The region tables name each region's zone as the IANA tz database
 * (zone1970.tab) places it; where a region spans two zones, the zone of its
 * most populous part (Florida: New York, Idaho: Boise, British Columbia:
 * Vancouver, ...).
 */
#include "sozone.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unicode/ucal.h>
#include <unicode/uenum.h>

#include "erpsync/util.h"

typedef struct {
    const char *code;
    const char *zone;
} zone_of_t;

/* The ids SuperOffice's documentation publishes for its /api/v1/timezone
 * list; an installation's list may hold more, with ids of its own. */
static const struct {
    int id;
    const char *code;
} published[] = {
    {1, "UTC"},  {36, "AU-ACT"}, {50, "BD"},     {114, "CA-QC"}, {140, "DK"},
    {156, "FR"}, {261, "NO"},    {425, "US-CA"}, {433, "US-HI"}, {460, "US-NY"},
};

// clang-format off
static const zone_of_t regions[] = {
    /* United States: the 50 states and DC. */
    {"US-AL", "America/Chicago"},  {"US-AK", "America/Anchorage"},
    {"US-AZ", "America/Phoenix"},  {"US-AR", "America/Chicago"},
    {"US-CA", "America/Los_Angeles"}, {"US-CO", "America/Denver"},
    {"US-CT", "America/New_York"}, {"US-DE", "America/New_York"},
    {"US-DC", "America/New_York"}, {"US-FL", "America/New_York"},
    {"US-GA", "America/New_York"}, {"US-HI", "Pacific/Honolulu"},
    {"US-ID", "America/Boise"},    {"US-IL", "America/Chicago"},
    {"US-IN", "America/Indiana/Indianapolis"}, {"US-IA", "America/Chicago"},
    {"US-KS", "America/Chicago"},  {"US-KY", "America/New_York"},
    {"US-LA", "America/Chicago"},  {"US-ME", "America/New_York"},
    {"US-MD", "America/New_York"}, {"US-MA", "America/New_York"},
    {"US-MI", "America/Detroit"},  {"US-MN", "America/Chicago"},
    {"US-MS", "America/Chicago"},  {"US-MO", "America/Chicago"},
    {"US-MT", "America/Denver"},   {"US-NE", "America/Chicago"},
    {"US-NV", "America/Los_Angeles"}, {"US-NH", "America/New_York"},
    {"US-NJ", "America/New_York"}, {"US-NM", "America/Denver"},
    {"US-NY", "America/New_York"}, {"US-NC", "America/New_York"},
    {"US-ND", "America/Chicago"},  {"US-OH", "America/New_York"},
    {"US-OK", "America/Chicago"},  {"US-OR", "America/Los_Angeles"},
    {"US-PA", "America/New_York"}, {"US-RI", "America/New_York"},
    {"US-SC", "America/New_York"}, {"US-SD", "America/Chicago"},
    {"US-TN", "America/Chicago"},  {"US-TX", "America/Chicago"},
    {"US-UT", "America/Denver"},   {"US-VT", "America/New_York"},
    {"US-VA", "America/New_York"}, {"US-WA", "America/Los_Angeles"},
    {"US-WV", "America/New_York"}, {"US-WI", "America/Chicago"},
    {"US-WY", "America/Denver"},
    /* Canada: provinces and territories. */
    {"CA-AB", "America/Edmonton"}, {"CA-BC", "America/Vancouver"},
    {"CA-MB", "America/Winnipeg"}, {"CA-NB", "America/Moncton"},
    {"CA-NL", "America/St_Johns"}, {"CA-NS", "America/Halifax"},
    {"CA-NT", "America/Yellowknife"}, {"CA-NU", "America/Iqaluit"},
    {"CA-ON", "America/Toronto"},  {"CA-PE", "America/Halifax"},
    {"CA-QC", "America/Toronto"},  {"CA-SK", "America/Regina"},
    {"CA-YT", "America/Whitehorse"},
    /* Australia: states and territories. */
    {"AU-ACT", "Australia/Sydney"}, {"AU-NSW", "Australia/Sydney"},
    {"AU-NT", "Australia/Darwin"},  {"AU-QLD", "Australia/Brisbane"},
    {"AU-SA", "Australia/Adelaide"}, {"AU-TAS", "Australia/Hobart"},
    {"AU-VIC", "Australia/Melbourne"}, {"AU-WA", "Australia/Perth"},
};

/* Countries with a remote zone besides the one nearly everyone lives in. */
static const zone_of_t main_zones[] = {
    {"CL", "America/Santiago"}, {"DE", "Europe/Berlin"},
    {"EC", "America/Guayaquil"}, {"ES", "Europe/Madrid"},
    {"NZ", "Pacific/Auckland"}, {"PT", "Europe/Lisbon"},
    {"UA", "Europe/Kyiv"},      {"CY", "Asia/Nicosia"},
    {"MY", "Asia/Kuala_Lumpur"}, {"UZ", "Asia/Tashkent"},
};
// clang-format on

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup(const zone_of_t *t, size_t n, const char *code) {
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(t[i].code, code) == 0)
            return t[i].zone;
    return NULL;
}

/* The one canonical location zone ICU lists for a country, or NULL (none,
 * or several: *several set). */
static const char *only_zone(const char *cc, char *buf, size_t size,
                             bool *several) {
    UErrorCode st = U_ZERO_ERROR;
    UEnumeration *e = ucal_openTimeZoneIDEnumeration(
        UCAL_ZONE_TYPE_CANONICAL_LOCATION, cc, NULL, &st);
    int32_t n = U_SUCCESS(st) ? uenum_count(e, &st) : 0;
    const char *z = n == 1 ? uenum_next(e, NULL, &st) : NULL;
    *several = n > 1;
    if (z && U_SUCCESS(st) && erps_strlcpy(buf, z, size) < size)
        z = buf;
    else
        z = NULL;
    uenum_close(e);
    return z;
}

static int all(const char *s, size_t n, int (*is)(int)) {
    for (size_t i = 0; i < n; i++)
        if (!is((unsigned char)s[i]))
            return 0;
    return n > 0;
}

static int is_digit(int c) {
    return c >= '0' && c <= '9';
}

static int is_letter(int c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* A numeric id of the published list: its code, or NULL. */
static const char *published_code(const char *name, size_t len) {
    if (len > 4 || !all(name, len, is_digit))
        return NULL;
    int id = atoi(name);
    for (size_t i = 0; i < COUNT(published); i++)
        if (published[i].id == id)
            return published[i].code;
    return NULL;
}

/* A country code (upper-cased here): its main zone, or ICU's one zone of
 * it. */
static const char *country_zone(char code[3], char *buf, size_t size,
                                const char **why) {
    bool several = false;
    code[0] = (char)(code[0] & ~0x20), code[1] = (char)(code[1] & ~0x20);
    const char *zone = lookup(main_zones, COUNT(main_zones), code);
    if (!zone)
        zone = only_zone(code, buf, size, &several);
    if (!zone)
        *why = several ? "a country of several time zones: name the region "
                         "too, such as \"US-NY\", or send the IANA id"
                       : "not a country code";
    return zone;
}

int erps_sozone_to_iana(const char *name, size_t len, char *out,
                        size_t out_size, const char **why) {
    char code[8], one[64];
    const char *zone = NULL;
    *why = "not a SuperOffice time zone either (a country code such as "
           "\"NO\", a country and region such as \"US-NY\", or an id of "
           "SuperOffice's list such as \"261\")";
    if (len > 0 && len <= 4 && all(name, len, is_digit)) {
        if (!(name = published_code(name, len))) {
            *why = "not one of the SuperOffice time zone ids published (ids "
                   "differ between installations: send the zone's code, "
                   "such as \"NO\" or \"US-NY\")";
            return -1;
        }
        len = strlen(name); /* then as if the code came */
    }
    if (len >= sizeof(code))
        return -1;
    memcpy(code, name, len);
    code[len] = '\0';
    if (strcasecmp(code, "UTC") == 0) {
        zone = "UTC";
    } else if (len > 3 && code[2] == '-' && all(code, 2, is_letter)) {
        if (!(zone = lookup(regions, COUNT(regions), code)))
            *why = "a region SuperOffice's zone names know only for US, CA "
                   "and AU (send the IANA id, such as \"America/Sao_Paulo\")";
    } else if (len == 2 && all(code, 2, is_letter)) {
        zone = country_zone(code, one, sizeof(one), why);
    }
    return zone && erps_strlcpy(out, zone, out_size) < out_size ? 0 : -1;
}
