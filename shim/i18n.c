/*
 * i18n.c - SO-Culture and SO-TimeZone, and StatusMessage rendered from the
 * catalog (i18n_catalog.h) with ICU's C API for dates and numbers.
 *
 * Every ICU object lives for one call: parsing both headers and rendering
 * costs some 80 microseconds, far less than the Kafka round trip behind each
 * answer, and nothing shared means nothing to lock or to leak. What ICU
 * caches by itself stays bounded because only its own available locale ids
 * ever reach it (see resolve_locale).
 */
#include "i18n.h"
#include "sozone.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <unicode/uchar.h>
#include <unicode/ucal.h>
#include <unicode/udat.h>
#include <unicode/uloc.h>
#include <unicode/unum.h>
#include <unicode/uregion.h>
#include <unicode/ustring.h>

#include "erpsync/util.h"
#include "i18n_catalog.h"

const char *const erps_i18n_languages[] = {"en", "nb", "sv", "da",
                                           "de", "nl", "fr"};
const size_t erps_i18n_language_count =
    sizeof(erps_i18n_languages) / sizeof(erps_i18n_languages[0]);

_Static_assert(sizeof(erps_i18n_languages) / sizeof(erps_i18n_languages[0]) ==
                   CATALOG_LANGUAGES,
               "every language needs a catalog column");

/* The culture of each language when SO-Culture does not name one. */
static const char *const default_culture[CATALOG_LANGUAGES] = {
    "en_US", "nb_NO", "sv_SE", "da_DK", "de_DE", "nl_NL", "fr_FR"};

/* Longer than any tag a culture needs (ICU's own limit is 157 bytes). */
#define CULTURE_TAG_MAX 100
#define ZONE_ID_MAX     64
#define OFFSET_OPTION   "includeTZOffset"

/* ---- header values ---- */

static bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

/* The value without blanks around it: start, and its length in *len. */
static const char *trim(const char *s, size_t n, size_t *len) {
    while (n > 0 && is_blank(*s)) {
        s++;
        n--;
    }
    while (n > 0 && is_blank(s[n - 1]))
        n--;
    *len = n;
    return s;
}

/* A header value as an error message may show it: printable ASCII only (the
 * message goes into JSON, XML and logs), cut after 64 bytes. */
static void shown_value(const char *s, size_t n, char *out, size_t size) {
    size_t o = 0, max = n > 64 ? 64 : n;
    for (size_t i = 0; i < max && o + 1 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (n > max && o + 4 < size) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* lang[_Script][_REGION][_VARIANT], or "" when that does not fit. */
static void join(char *out, size_t size, const char *lang, const char *script,
                 const char *region, const char *variant) {
    int n = snprintf(out, size, "%s%s%s%s%s%s%s", lang, script[0] ? "_" : "",
                     script, region[0] ? "_" : "", region,
                     variant[0] ? "_" : "", variant);
    if (n < 0 || (size_t)n >= size)
        out[0] = '\0';
}

/* The subtags of id, each one ICU knows. @returns 0, or -1. */
static int known_subtags(const char *id, char *lang, char *script, char *region,
                         char *variant) {
    UErrorCode st = U_ZERO_ERROR;
    uloc_getLanguage(id, lang, ULOC_LANG_CAPACITY, &st);
    uloc_getScript(id, script, ULOC_SCRIPT_CAPACITY, &st);
    uloc_getCountry(id, region, ULOC_COUNTRY_CAPACITY, &st);
    uloc_getVariant(id, variant, ULOC_FULLNAME_CAPACITY, &st);
    if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING)
        return -1;
    /* "und", "x-private": a tag, but no language to format in. */
    if (!lang[0])
        return -1;
    if (script[0] &&
        u_getPropertyValueEnum(UCHAR_SCRIPT, script) == UCHAR_INVALID_CODE)
        return -1;
    if (region[0]) {
        const URegion *r = uregion_getRegionFromCode(region, &st);
        if (U_FAILURE(st) || !r || uregion_getType(r) == URGN_UNKNOWN)
            return -1;
    }
    return 0;
}

/* The first of cand[0..n) that ICU has data for: its index, or n. */
static int first_available(char cand[][ULOC_FULLNAME_CAPACITY], int n) {
    int best = n;
    int32_t cnt = uloc_countAvailable();
    for (int32_t i = 0; i < cnt && best > 0; i++) {
        const char *a = uloc_getAvailable(i);
        for (int k = 0; k < best; k++)
            if (cand[k][0] && strcmp(a, cand[k]) == 0) {
                best = k;
                break;
            }
    }
    return best;
}

/*
 * ICU caches every locale it is asked to load: its resource cache keeps each
 * name for good, its formatter cache up to a thousand unused entries of tens
 * of kilobytes. A caller who sent a new variant, private-use tag or -u-
 * keyword with every request would grow the shim without bound, or by
 * hundreds of megabytes (measured). So the id this hands on is
 * always one of ICU's available locales (about 800): the one its resource
 * fallback would reach for id, found here on strings (as given, with the
 * likely script, without the script, the language alone). Keywords (-u-nu-,
 * -u-ca-, -u-co-, ...) and private use are dropped, as .NET's culture
 * formatting ignores them; each locale's own calendar and digits still apply
 * (th-TH counts Buddhist years).
 * @returns 0, or -1 when ICU has no data for a subtag of id.
 */
static int resolve_locale(const char *id, char *out, size_t size) {
    char lang[ULOC_LANG_CAPACITY], script[ULOC_SCRIPT_CAPACITY],
        region[ULOC_COUNTRY_CAPACITY], variant[ULOC_FULLNAME_CAPACITY];
    char base[ULOC_FULLNAME_CAPACITY], max[ULOC_FULLNAME_CAPACITY];
    char likely[ULOC_SCRIPT_CAPACITY] = "",
         lang_likely[ULOC_SCRIPT_CAPACITY] = "";
    char cand[6][ULOC_FULLNAME_CAPACITY];
    int ncand = 0;
    UErrorCode st = U_ZERO_ERROR;

    if (known_subtags(id, lang, script, region, variant))
        return -1;
    /* The script a reader of lang in region writes: zh-TW is Hant. */
    join(base, sizeof(base), lang, script, region, "");
    uloc_addLikelySubtags(base, max, sizeof(max), &st);
    uloc_getScript(max, likely, sizeof(likely), &st);
    uloc_addLikelySubtags(lang, max, sizeof(max), &st);
    uloc_getScript(max, lang_likely, sizeof(lang_likely), &st);
    if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING)
        likely[0] = lang_likely[0] = '\0';

    if (variant[0]) /* en-US-POSIX */
        join(cand[ncand++], sizeof(cand[0]), lang, script, region, variant);
    join(cand[ncand++], sizeof(cand[0]), lang, script, region, "");
    if (likely[0])
        join(cand[ncand++], sizeof(cand[0]), lang, likely, region, "");
    if (region[0] && strcmp(likely, lang_likely) == 0)
        join(cand[ncand++], sizeof(cand[0]), lang, "", region, "");
    if (likely[0] && strcmp(likely, lang_likely) != 0)
        join(cand[ncand++], sizeof(cand[0]), lang, likely, "", "");
    join(cand[ncand++], sizeof(cand[0]), lang, "", "", "");

    int best = first_available(cand, ncand);
    if (best == ncand)
        return -1;
    return erps_strlcpy(out, cand[best], size) < size ? 0 : -1;
}

/* Whether ICU formats in the locale: the last word, after the checks on
 * strings above. */
static bool locale_formats(const char *id) {
    static const UChar utc[] = {'U', 'T', 'C'};
    UErrorCode st = U_ZERO_ERROR;
    UNumberFormat *nf = unum_open(UNUM_DECIMAL, NULL, 0, id, NULL, &st);
    unum_close(nf);
    if (U_FAILURE(st))
        return false;
    UDateFormat *df =
        udat_open(UDAT_MEDIUM, UDAT_MEDIUM, id, utc, 3, NULL, 0, &st);
    udat_close(df);
    return U_SUCCESS(st);
}

/* v[0..len) as a BCP 47 tag in tag: .NET writes en_US as readily as
 * en-US (BCP 47 knows only '-'), and its legacy zh-CHS and zh-CHT, which
 * BCP 47 reads as extlangs, are zh-Hans and zh-Hant. @returns 0, or -1
 * for a character no culture name has. */
static int culture_tag(const char *v, size_t len,
                       char tag[CULTURE_TAG_MAX + 1]) {
    for (size_t i = 0; i < len; i++) {
        char c = v[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9');
        if (!alnum && c != '-' && c != '_')
            return -1;
        tag[i] = c == '_' ? '-' : c;
    }
    tag[len] = '\0';
    if (strcasecmp(tag, "zh-CHS") == 0)
        erps_strlcpy(tag, "zh-Hans", CULTURE_TAG_MAX + 1);
    else if (strcasecmp(tag, "zh-CHT") == 0)
        erps_strlcpy(tag, "zh-Hant", CULTURE_TAG_MAX + 1);
    return 0;
}

/* The ICU locale a culture tag names, in out. @returns 0, or why not:
 * "too long", "not valid" or "not known". */
static const char *culture_locale(const char *tag, char *out, size_t out_size) {
    char id[ULOC_FULLNAME_CAPACITY], locale[ULOC_FULLNAME_CAPACITY];
    UErrorCode st = U_ZERO_ERROR;
    int32_t parsed = 0;
    int32_t n = uloc_forLanguageTag(tag, id, sizeof(id), &parsed, &st);
    if (st == U_BUFFER_OVERFLOW_ERROR || st == U_STRING_NOT_TERMINATED_WARNING)
        return "too long";
    /* ICU parses the longest well-formed prefix: "en--US" is "en" to it. */
    if (U_FAILURE(st) || parsed != (int32_t)strlen(tag))
        return "not valid";
    if (n <= 0 || resolve_locale(id, locale, sizeof(locale)) ||
        !locale_formats(locale))
        return "not known";
    if (erps_strlcpy(out, locale, out_size) >= out_size)
        return "too long";
    return NULL;
}

int erps_i18n_culture_parse(const char *header, char *out, size_t out_size,
                            char *errstr, size_t errstr_size) {
    char tag[CULTURE_TAG_MAX + 1], shown[80];
    size_t len;
    const char *v = trim(header, strlen(header), &len), *why = NULL;

    if (out_size > 0)
        out[0] = '\0';
    shown_value(v, len, shown, sizeof(shown));
    if (len == 0)
        return 0; /* the language's own culture */
    if (len > CULTURE_TAG_MAX)
        why = "too long";
    else if (culture_tag(v, len, tag))
        why = "not valid";
    else
        why = culture_locale(tag, out, out_size);
    if (!why)
        return 0;
    if (out_size > 0)
        out[0] = '\0';
    if (strcmp(why, "too long") == 0)
        snprintf(errstr, errstr_size,
                 "SO-Culture \"%s\" is too long for a culture name", shown);
    else if (strcmp(why, "not valid") == 0)
        snprintf(errstr, errstr_size,
                 "SO-Culture \"%s\" is not a valid culture name (a BCP 47 "
                 "tag such as \"nb-NO\")",
                 shown);
    else
        snprintf(errstr, errstr_size,
                 "SO-Culture \"%s\" is not a known culture", shown);
    return 400;
}

/* Whether s[0..n) names a system zone of ICU's: 0, or -1. */
static int zone_known(const char *s, size_t n) {
    UChar in[ZONE_ID_MAX], canon[ZONE_ID_MAX];
    int32_t ulen = 0, clen;
    UBool is_system = false;
    UErrorCode st = U_ZERO_ERROR;

    if (n >= ZONE_ID_MAX)
        return -1;
    u_strFromUTF8(in, ZONE_ID_MAX, &ulen, s, (int32_t)n, &st);
    if (U_FAILURE(st))
        return -1;
    clen = ucal_getCanonicalTimeZoneID(in, ulen, canon, ZONE_ID_MAX, &is_system,
                                       &st);
    /* Custom ids ("GMT+3") are not system ids. Etc/Unknown, ICU's name for
     * "no such zone", is not one either today; it is refused by name too,
     * so a later ICU cannot make it a zone UTC in disguise. */
    if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING || !is_system)
        return -1;
    static const UChar unknown[] = {'E', 't', 'c', '/', 'U', 'n',
                                    'k', 'n', 'o', 'w', 'n'};
    if (clen == (int32_t)(sizeof(unknown) / sizeof(UChar)) &&
        memcmp(canon, unknown, sizeof(unknown)) == 0)
        return -1;
    return 0;
}

/* The options after the zone (each must be includeTZOffset). comma: the
 * first ',' or NULL. @returns 0 with *offset, or -1 with errstr. */
static int zone_options(const char *comma, bool *offset, char *errstr,
                        size_t errstr_size) {
    char shown[80];
    *offset = false;
    while (comma) {
        const char *opt = comma + 1;
        size_t olen;
        comma = strchr(opt, ',');
        opt = trim(opt, comma ? (size_t)(comma - opt) : strlen(opt), &olen);
        if (olen == strlen(OFFSET_OPTION) &&
            strncasecmp(opt, OFFSET_OPTION, olen) == 0) {
            *offset = true;
            continue;
        }
        shown_value(opt, olen, shown, sizeof(shown));
        snprintf(errstr, errstr_size,
                 "SO-TimeZone option \"%s\" is not known (the one option is "
                 "\"" OFFSET_OPTION "\")",
                 shown);
        *offset = false;
        return -1;
    }
    return 0;
}

int erps_i18n_zone_parse(const char *header, char *zone, size_t zone_size,
                         bool *include_offset, char *errstr,
                         size_t errstr_size) {
    char shown[80];
    const char *comma = strchr(header, ',');
    size_t len, hlen = strlen(header);
    const char *name =
        trim(header, comma ? (size_t)(comma - header) : hlen, &len);

    *include_offset = false;
    if (zone_size > 0)
        zone[0] = '\0';
    if (len == 0 && !comma)
        return 0; /* UTC */
    shown_value(name, len, shown, sizeof(shown));
    if (len == 0) {
        snprintf(errstr, errstr_size,
                 "SO-TimeZone names no time zone before its option");
        return 400;
    }
    /* An IANA id, or SuperOffice's own name for a zone ("NO", "US-NY",
     * "261"), which stands for an IANA id. */
    char iana[64];
    const char *why = "";
    if (zone_known(name, len) != 0) {
        if (erps_sozone_to_iana(name, len, iana, sizeof(iana), &why) != 0 ||
            zone_known(iana, strlen(iana)) != 0) {
            snprintf(errstr, errstr_size,
                     "SO-TimeZone \"%s\" is not a known time zone (an IANA id "
                     "such as \"Europe/Oslo\" or \"UTC\"), and %s",
                     shown, why);
            return 400;
        }
        name = iana;
        len = strlen(iana);
    }
    if (len >= zone_size) {
        snprintf(errstr, errstr_size,
                 "SO-TimeZone \"%s\" is too long for a time zone", shown);
        return 400;
    }
    bool offset;
    if (zone_options(comma, &offset, errstr, errstr_size))
        return 400;
    /* As the caller spelled it: ICU matched it exactly, and formats with
     * any system id, link or not. */
    memcpy(zone, name, len);
    zone[len] = '\0';
    *include_offset = offset;
    return 0;
}

/* ---- rendering ---- */

/* Where a message is written: out stays NUL-terminated after every step;
 * once something did not fit, full is set and nothing more is written. */
typedef struct sink {
    char *p;
    size_t size, len;
    bool full;
} sink_t;

static void put(sink_t *s, const char *b, size_t n) {
    if (s->full || n >= s->size - s->len) {
        s->full = true;
        return;
    }
    memcpy(s->p + s->len, b, n);
    s->len += n;
    s->p[s->len] = '\0';
}

static void put_u16(sink_t *s, const UChar *u, int32_t n) {
    UErrorCode st = U_ZERO_ERROR;
    int32_t written = 0;
    size_t room = s->size - s->len - 1; /* the NUL is ours to write */

    if (s->full)
        return;
    if (room > INT32_MAX)
        room = INT32_MAX;
    u_strToUTF8(s->p + s->len, (int32_t)room, &written, u, n, &st);
    if (U_FAILURE(st)) {
        s->p[s->len] = '\0';
        s->full = true;
        return;
    }
    s->len += (size_t)written;
    s->p[s->len] = '\0';
}

/* Agent text, which came off the wire: bounded by its field, made valid
 * UTF-8 and free of control characters that JSON must escape and XML 1.0
 * cannot carry at all. */
static void put_text(sink_t *s, const char *text, size_t field_size) {
    UChar u[ERPS_MESSAGE_MAX + 1];
    int32_t n = 0, subs = 0;
    UErrorCode st = U_ZERO_ERROR;
    size_t len = strnlen(text, field_size);

    if (len > ERPS_MESSAGE_MAX)
        len = ERPS_MESSAGE_MAX;
    /* Each byte becomes at most one UTF-16 unit, so u always has room. */
    u_strFromUTF8WithSub(u, (int32_t)(sizeof(u) / sizeof(u[0])), &n, text,
                         (int32_t)len, 0xFFFD, &subs, &st);
    if (U_FAILURE(st)) {
        s->full = true;
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        UChar c = u[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0xFFFE ||
            c == 0xFFFF)
            u[i] = 0xFFFD;
    }
    put_u16(s, u, n);
}

static int put_date(sink_t *s, int64_t ms, const char *locale, const char *zone,
                    bool include_offset) {
    static const UChar offset_pattern[] = {' ', 'x', 'x', 'x'};
    UChar zid[ZONE_ID_MAX], pat[256], buf[256];
    int32_t zlen = 0, n;
    UErrorCode st = U_ZERO_ERROR;

    u_strFromUTF8(zid, ZONE_ID_MAX, &zlen, zone[0] ? zone : "UTC", -1, &st);
    if (U_FAILURE(st))
        return -1;
    /* An explicit zone always: without one ICU would use the host's. */
    UDateFormat *df =
        udat_open(UDAT_MEDIUM, UDAT_MEDIUM, locale, zid, zlen, NULL, 0, &st);
    if (U_FAILURE(st)) {
        udat_close(df);
        return -1;
    }
    if (include_offset) {
        int32_t room = (int32_t)(sizeof(pat) / sizeof(pat[0]) -
                                 sizeof(offset_pattern) / sizeof(UChar));
        n = udat_toPattern(df, false, pat, room, &st);
        if (U_SUCCESS(st) && n < room) {
            memcpy(pat + n, offset_pattern, sizeof(offset_pattern));
            udat_applyPattern(
                df, false, pat,
                n + (int32_t)(sizeof(offset_pattern) / sizeof(UChar)));
        } else if (U_SUCCESS(st)) {
            st = U_BUFFER_OVERFLOW_ERROR;
        }
    }
    n = udat_format(df, (UDate)ms, buf, (int32_t)(sizeof(buf) / sizeof(buf[0])),
                    NULL, &st);
    udat_close(df);
    if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING)
        return -1;
    put_u16(s, buf, n);
    return 0;
}

static int put_number(sink_t *s, int64_t v, const char *locale) {
    UChar buf[64];
    UErrorCode st = U_ZERO_ERROR;
    UNumberFormat *nf = unum_open(UNUM_DECIMAL, NULL, 0, locale, NULL, &st);
    if (U_FAILURE(st)) {
        unum_close(nf);
        return -1;
    }
    int32_t n = unum_formatInt64(
        nf, v, buf, (int32_t)(sizeof(buf) / sizeof(buf[0])), NULL, &st);
    unum_close(nf);
    if (U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING)
        return -1;
    put_u16(s, buf, n);
    return 0;
}

static bool is_name(const char *name, size_t n, const char *want) {
    return n == strlen(want) && memcmp(name, want, n) == 0;
}

/* The catalog text with its placeholders replaced; -1 for a placeholder the
 * code does not know (a catalog mistake) or an ICU failure. */
static int expand(sink_t *s, const char *text, const erps_status_t *st,
                  const char *locale, const char *zone, bool include_offset) {
    const char *p = text;
    while (*p) {
        const char *open = strchr(p, '{');
        if (!open) {
            put(s, p, strlen(p));
            break;
        }
        put(s, p, (size_t)(open - p));
        const char *close = strchr(open, '}');
        if (!close)
            return -1;
        const char *name = open + 1;
        size_t n = (size_t)(close - name);
        int rc = 0;
        if (is_name(name, n, "interval")) {
            char iv[ERPS_TIMESPAN_LEN];
            erps_timespan_format(st->interval_s, iv);
            put(s, iv, strlen(iv));
        } else if (is_name(name, n, "next")) {
            rc = put_date(s, st->next_iteration_ms, locale, zone,
                          include_offset);
        } else if (is_name(name, n, "iteration")) {
            /* The one in progress follows the last finished; saturated, as
             * the number came off the wire. */
            int64_t num = st->last.number < INT64_MAX ? st->last.number + 1
                                                      : st->last.number;
            rc = put_number(s, num, locale);
        } else if (is_name(name, n, "detail")) {
            put_text(s, st->last.detail, sizeof(st->last.detail));
        } else {
            rc = -1;
        }
        if (rc)
            return -1;
        p = close + 1;
    }
    return 0;
}

static const catalog_entry_t *catalog_find(const char *id, size_t size) {
    for (size_t i = 0; i < sizeof(catalog) / sizeof(catalog[0]); i++) {
        if (strncmp(catalog[i].id, id, size) == 0 &&
            strlen(catalog[i].id) < size)
            return &catalog[i];
    }
    return NULL;
}

#define RAW_IDS ((size_t)-1)

/* The catalog column of req's language (English, 0, for one it lacks), or
 * RAW_IDS for "x" and "*". The request's string is bounded by its array,
 * terminated or not. */
static size_t language_index(const erps_i18n_req_t *req) {
    char lang[sizeof(req->language)];
    size_t li = 0;
    memcpy(lang, req->language, sizeof(lang));
    lang[sizeof(lang) - 1] = '\0';
    if (strcasecmp(lang, "x") == 0 || strcmp(lang, "*") == 0)
        return RAW_IDS;
    for (size_t i = 0; i < erps_i18n_language_count; i++)
        if (strcasecmp(lang, erps_i18n_languages[i]) == 0)
            li = i;
    return li;
}

int erps_i18n_render(const erps_status_t *st, const erps_i18n_req_t *req,
                     char *out, size_t out_size) {
    char locale[sizeof(req->culture)], zone[sizeof(req->zone)];
    sink_t s = {out, out_size, 0, false};
    size_t li = language_index(req);

    if (out_size == 0)
        return -1;
    out[0] = '\0';
    if (li == RAW_IDS) {
        put(&s, "[", 1);
        put_text(&s, st->message_id, sizeof(st->message_id));
        put(&s, "]", 1);
        goto out;
    }
    const catalog_entry_t *e =
        catalog_find(st->message_id, sizeof(st->message_id));
    if (!e) {
        put_text(&s, st->message, sizeof(st->message));
        goto out;
    }
    memcpy(locale, req->culture, sizeof(locale));
    locale[sizeof(locale) - 1] = '\0';
    if (!locale[0])
        erps_strlcpy(locale, default_culture[li], sizeof(locale));
    memcpy(zone, req->zone, sizeof(zone));
    zone[sizeof(zone) - 1] = '\0';
    if (expand(&s, e->text[li], st, locale, zone, req->include_offset))
        s.full = true;
out:
    if (s.full) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

int erps_i18n_text(const erps_i18n_req_t *req, const char *id, char *out,
                   size_t out_size) {
    size_t li = language_index(req);
    const catalog_entry_t *e = catalog_find(id, strlen(id) + 1);
    if (out_size == 0)
        return -1;
    out[0] = '\0';
    if (!e)
        return -1;
    if (li == RAW_IDS) {
        if ((size_t)snprintf(out, out_size, "[%s]", id) >= out_size)
            goto too_small;
        return 0;
    }
    if (erps_strlcpy(out, e->text[li], out_size) < out_size)
        return 0;
too_small:
    out[0] = '\0';
    return -1;
}

void erps_i18n_culture_language(const char *culture, char *language,
                                size_t language_size) {
    size_t n = strcspn(culture, "_-");
    for (size_t i = 0; i < erps_i18n_language_count; i++) {
        const char *l = erps_i18n_languages[i];
        if (strlen(l) == n && strncasecmp(culture, l, n) == 0) {
            erps_strlcpy(language, l, language_size);
            return;
        }
    }
}
