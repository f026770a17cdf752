/*
 * negotiate.h - HTTP negotiation for the WebAPI shim: the Content-Type of a
 * request body, the answer format from Accept, the language of
 * StatusMessage ($select is select.h). These are pure functions of header and
 * query text (no sockets, no global state), so every rule is unit-tested and
 * fuzzed directly, and any HTTP thread may call them at the same time.
 */
#ifndef ERPSYNC_SHIM_NEGOTIATE_H
#define ERPSYNC_SHIM_NEGOTIATE_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* ---- Content-Type of a request body ---- */

typedef enum erps_media {
    ERPS_MEDIA_JSON = 1,    /* application/json, text/json */
    ERPS_MEDIA_XML,         /* application/xml, text/xml */
    ERPS_MEDIA_FORM,        /* application/x-www-form-urlencoded */
    ERPS_MEDIA_JSON_PATCH,  /* application/json-patch+json (RFC 6902) */
    ERPS_MEDIA_MERGE_PATCH, /* application/merge-patch+json (RFC 7396) */
} erps_media_t;

typedef struct erps_ctype {
    erps_media_t media;
    char charset[40]; /* lower-cased; "" when the header gave none */
} erps_ctype_t;

/**
 * Parses a Content-Type value: RFC 9110 `type "/" subtype *( OWS ";" OWS
 * [ name "=" ( token / quoted-string ) ] )`, type, subtype and parameter
 * names case-insensitive, blanks around the whole value allowed. Empty
 * parameters ("application/json;") are allowed, as RFC 9110 allows them.
 * Parameters other than charset are ignored. charset is a token or a
 * quoted-string of 1 to 39 printable ASCII characters without blanks, given
 * at most once (so it is safe to print). Whether the charset is acceptable
 * for the media type is the caller's decision.
 * @returns 0 and fills *ct, or 415 with errstr when the header is missing or
 * blank, malformed (names the position, 1-based), names an unsupported
 * media type, or has a bad charset. Every message lists the supported types.
 * @locality any thread
 */
int erps_ctype_parse(const char *value, erps_ctype_t *ct, char *errstr,
                     size_t errstr_size);

/* ---- Accept: the answer format ---- */

typedef enum erps_format { ERPS_FMT_JSON = 1, ERPS_FMT_XML } erps_format_t;

typedef struct erps_accept {
    erps_format_t fmt;
    /* Static, the one chosen: "application/json; charset=utf-8",
     * "text/json; charset=utf-8", "application/xml; charset=utf-8" or
     * "text/xml; charset=utf-8". */
    const char *content_type;
} erps_accept_t;

/**
 * Chooses the answer format (RFC 9110 §12.5.1). The server offers, in order
 * of preference, application/json, text/json, application/xml, text/xml.
 * Each offer gets the q of the most specific range that matches it (an
 * exact type/subtype beats a subtype wildcard, which beats the full
 * wildcard; among equally specific ranges the highest q); parameters other
 * than q are ignored for matching.
 * The highest q above 0 wins, ties go to the server's order; q=0 excludes.
 * An element with a malformed range or q is ignored. Only the first 64
 * elements and the first 4096 bytes are read (an element cut by that limit
 * is dropped). NULL, blank, or a header without a single well-formed
 * element -> application/json.
 * @returns 0 and fills *out, or 406 with errstr naming what the server can
 * produce.
 * @locality any thread
 */
int erps_accept_choose(const char *accept, erps_accept_t *out, char *errstr,
                       size_t errstr_size);

/* ---- Language of StatusMessage ---- */

/**
 * Chooses the language of StatusMessage. so_language (SO-Language header)
 * when present and non-blank overrides accept_language entirely: "*" or "x"
 * (case-insensitive) choose raw resource ids (out = "x"); otherwise it is
 * one language tag, matched as below; no match (or not a tag) -> fallback.
 * accept_language: RFC 9110 §12.5.4 list with q-values, tried best q first
 * (in header order for equal q), q=0 excluded, "*" means the fallback,
 * malformed elements skipped; same 64-element and 4096-byte limits as
 * Accept. Nothing matches -> fallback.
 * A tag matches an available code (e.g. "en","nb","sv","da","de","nl","fr")
 * case-insensitively: exactly, else by its primary subtag ("nb-NO" -> "nb",
 * "fr-CA" -> "fr"), else "no" and "nn" (with any region) -> "nb" when "nb"
 * is available. NULL entries of available are skipped; fallback NULL is "".
 * Never fails: writes the chosen code (spelled as in available, or the
 * fallback, or "x") into out, truncated to out_size (make out larger than
 * the longest code).
 * @locality any thread
 */
void erps_lang_choose(const char *accept_language, const char *so_language,
                      const char *const *available, size_t n_available,
                      const char *fallback, char *out, size_t out_size);

#endif
