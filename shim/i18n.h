/*
 * i18n.h - StatusMessage in the caller's language, culture and time zone.
 *
 * The agent publishes a status with a resource id (SR_ERPSYNC_RUNNING, ...)
 * and the facts behind it; the shim renders the text per request from a
 * catalog of seven languages, formatting dates and numbers with ICU for the
 * caller's culture (SO-Culture) and time zone (SO-TimeZone).
 *
 * Placeholders in the catalog, and what fills them:
 *   {interval}   st->interval_s as .NET TimeSpan text (erps_timespan_format),
 *                the same in every culture, as the WebAPI's Interval field
 *   {next}       st->next_iteration_ms as ICU's medium date and medium time
 *                of the culture, in the zone; with include_offset followed
 *                by " " and the offset as ICU pattern "xxx": "+01:00", and
 *                "+00:00" (never "Z") in UTC. English too: the agent's
 *                own text has RFC 3339 UTC here, the rendered one does not
 *   {iteration}  st->last.number + 1 as a decimal number with the culture's
 *                grouping ("12,345" en-US, "12 345" nb-NO, "12.345" de-DE)
 *   {detail}     st->last.detail
 * Text that comes from the agent (detail, the fallback message, a raw id) is
 * copied as valid UTF-8: ill-formed bytes, control characters other than
 * tab, CR and LF, and U+FFFE/U+FFFF become U+FFFD, so every JSON or XML
 * writer can carry the result.
 *
 * @locality every function: any thread, at the same time. ICU objects are
 * opened and closed within each call; nothing here holds mutable state.
 */
#ifndef ERPSYNC_SHIM_I18N_H
#define ERPSYNC_SHIM_I18N_H

#include <stdbool.h>
#include <stddef.h>

#include "erpsync/proto.h"

/* The catalog's languages, in this order: en nb sv da de nl fr. */
extern const char *const erps_i18n_languages[];
extern const size_t erps_i18n_language_count;

/* An out buffer of this size holds any message erps_i18n_render writes. */
#define ERPS_I18N_MESSAGE_MAX 2048

typedef struct erps_i18n_req {
    char language[16];   /* one of erps_i18n_languages (any case), or "x" or
                            "*": raw ids; anything else renders English */
    char culture[64];    /* ICU locale id for dates and numbers, only as
                            erps_i18n_culture_parse writes it (other ids
                            would reach ICU's caches unchecked); "" = the
                            language's default (en-US nb-NO sv-SE da-DK de-DE
                            nl-NL fr-FR) */
    char zone[64];       /* IANA time zone id, as erps_i18n_zone_parse writes
                            it; "" = UTC */
    bool include_offset; /* append the UTC offset to times */
} erps_i18n_req_t;

/**
 * Parses SO-Culture: a BCP 47 tag or .NET culture name ("nb-NO", "en-US",
 * "de", "fr-CA", "zh-Hans-CN", also "en_US"; .NET's legacy "zh-CHS" and
 * "zh-CHT" mean zh-Hans and zh-Hant). Blanks around the value are ignored;
 * an empty value means the language's default culture (out = "").
 * The language must be one ICU has data for; a script or region, when
 * given, must be one ICU knows. The result is always one of ICU's available
 * locales (about 800), the one ICU's own fallback would format the tag with:
 * "zh-TW" gives "zh_Hant_TW", "fr-US" "fr", "en-US-x-anything" "en_US".
 * Unicode extensions (-u-nu-, -u-ca-, ...) and private use are ignored, as
 * .NET's formatting ignores them; a locale's own calendar and digits apply.
 * This keeps ICU's per-locale caches bounded whatever callers send.
 * @returns 0 with the ICU locale id in out ("nb_NO", "zh_Hans_CN"), or 400
 * with errstr naming the header and its value: malformed ("is not a valid
 * culture name"), unknown ("SO-Culture \"xx-YY\" is not a known culture"),
 * or longer than out can hold.
 * @locality any thread
 */
int erps_i18n_culture_parse(const char *header, char *out, size_t out_size,
                            char *errstr, size_t errstr_size);

/**
 * The catalog language of an ICU locale id ("de_DE" -> "de", "nb" -> "nb");
 * leaves language as it is when the catalog has no such language.
 * @locality any thread
 */
void erps_i18n_culture_language(const char *culture, char *language,
                                size_t language_size);

/**
 * Parses SO-TimeZone: "Europe/Oslo", "UTC", "America/New_York,
 * includeTZOffset" (the option case-insensitive, blanks allowed around the
 * comma and the value; more than one option is allowed, each must be
 * includeTZOffset). The zone must be a system zone ICU knows, matched as
 * ICU does (case matters); ICU's "Etc/Unknown" and custom ids such as
 * "GMT+3" are refused (use "Etc/GMT-3", whose sign is POSIX's). A name
 * that is no IANA id may be SuperOffice's own (sozone.h: "NO", "US-NY",
 * "261"), which stands for an IANA id. An empty value means UTC.
 * @returns 0 with the zone id in zone, as given without blanks (the IANA id
 * for a SuperOffice name; "" for an empty value), and *include_offset set;
 * or 400 with errstr naming the unknown zone or option, or saying the id
 * does not fit zone_size.
 * @locality any thread
 */
int erps_i18n_zone_parse(const char *header, char *zone, size_t zone_size,
                         bool *include_offset, char *errstr,
                         size_t errstr_size);

/**
 * Renders st's StatusMessage for req into out (UTF-8, NUL-terminated).
 * Raw mode ("x"): "[SR_ERPSYNC_RUNNING]". A message id the catalog lacks:
 * st->message (the agent's English text).
 * @returns 0, or -1 when ICU fails or out is too small (out is then "").
 * ERPS_I18N_MESSAGE_MAX bytes are always enough.
 * @locality any thread
 */
int erps_i18n_render(const erps_status_t *st, const erps_i18n_req_t *req,
                     char *out, size_t out_size);

/**
 * A catalog text without placeholders (such as "SR_ERPSYNC_READER_REASON")
 * in req's language: English for a language the catalog lacks, "[id]" in
 * raw mode. @returns 0, or -1 when the id is unknown or out is too small
 * (out is then "").
 * @locality any thread
 */
int erps_i18n_text(const erps_i18n_req_t *req, const char *id, char *out,
                   size_t out_size);

#endif
