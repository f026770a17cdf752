/* test_negotiate.c - Content-Type, Accept, languages and $select. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "negotiate.h"
#include "select.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void assert_contains(const char *hay, const char *needle) {
    if (!strstr(hay, needle))
        fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* ---- Content-Type ---- */

static void ctype_ok(const char *value, erps_media_t media,
                     const char *charset) {
    erps_ctype_t ct;
    char err[512] = "";
    int rc = erps_ctype_parse(value, &ct, err, sizeof(err));
    if (rc != 0)
        fail_msg("\"%s\": %d %s", value, rc, err);
    assert_int_equal(ct.media, media);
    assert_string_equal(ct.charset, charset);
}

/* Asserts 415, a message holding want, and the list of supported types. */
static void ctype_bad(const char *value, const char *want) {
    erps_ctype_t ct;
    char err[512] = "";
    int rc = erps_ctype_parse(value, &ct, err, sizeof(err));
    if (rc != 415)
        fail_msg("\"%s\": %d, want 415", value ? value : "(null)", rc);
    assert_contains(err, want);
    assert_contains(err, "application/json, text/json, application/xml, "
                         "text/xml, application/x-www-form-urlencoded, "
                         "application/json-patch+json, "
                         "application/merge-patch+json");
    assert_int_equal(ct.media, 0);
    assert_string_equal(ct.charset, "");
}

static void ctype_media_types(void **state) {
    (void)state;
    ctype_ok("application/json", ERPS_MEDIA_JSON, "");
    ctype_ok("text/json", ERPS_MEDIA_JSON, "");
    ctype_ok("application/xml", ERPS_MEDIA_XML, "");
    ctype_ok("text/xml", ERPS_MEDIA_XML, "");
    ctype_ok("application/x-www-form-urlencoded", ERPS_MEDIA_FORM, "");
    ctype_ok("application/json-patch+json", ERPS_MEDIA_JSON_PATCH, "");
    ctype_ok("application/merge-patch+json", ERPS_MEDIA_MERGE_PATCH, "");
    ctype_ok("Application/JSON", ERPS_MEDIA_JSON, "");
    ctype_ok("TEXT/XML", ERPS_MEDIA_XML, "");
    ctype_ok(" \tapplication/json \t", ERPS_MEDIA_JSON, "");
}

static void ctype_parameters(void **state) {
    (void)state;
    ctype_ok("application/json; charset=utf-8", ERPS_MEDIA_JSON, "utf-8");
    ctype_ok("application/json;charset=UTF-8", ERPS_MEDIA_JSON, "utf-8");
    ctype_ok("application/json; Charset=UTF-8", ERPS_MEDIA_JSON, "utf-8");
    ctype_ok("application/json; CHARSET=utf-8", ERPS_MEDIA_JSON, "utf-8");
    ctype_ok("text/json;charset=\"UTF-8\"", ERPS_MEDIA_JSON, "utf-8");
    ctype_ok("text/xml; charset=\"ut\\f-8\"", ERPS_MEDIA_XML, "utf-8");
    ctype_ok("text/xml; charset=ISO-8859-1", ERPS_MEDIA_XML, "iso-8859-1");
    /* Other parameters are ignored, also around charset. */
    ctype_ok("application/json; foo=bar", ERPS_MEDIA_JSON, "");
    ctype_ok("application/json ; foo=bar ;\tcharset=utf-8 ; x=\"a;b,c\"",
             ERPS_MEDIA_JSON, "utf-8");
    ctype_ok("application/json; odata.metadata=minimal; charset=utf-8",
             ERPS_MEDIA_JSON, "utf-8");
    /* RFC 9110 allows empty parameters. */
    ctype_ok("application/json;", ERPS_MEDIA_JSON, "");
    ctype_ok("application/json; ;charset=utf-8;", ERPS_MEDIA_JSON, "utf-8");
    /* charset of exactly 39 characters. */
    ctype_ok(
        "application/json; charset=abcdefghijklmnopqrstuvwxyz0123456789abc",
        ERPS_MEDIA_JSON, "abcdefghijklmnopqrstuvwxyz0123456789abc");
    ctype_ok("application/json; "
             "charset=\"abcdefghijklmnopqrstuvwxyz012345678\\9abc\"",
             ERPS_MEDIA_JSON, "abcdefghijklmnopqrstuvwxyz0123456789abc");
}

static void ctype_missing_and_unknown(void **state) {
    (void)state;
    ctype_bad(NULL, "Content-Type is missing");
    ctype_bad("", "Content-Type is missing");
    ctype_bad(" \t ", "Content-Type is missing");
    ctype_bad("image/png", "Content-Type \"image/png\" is not supported");
    ctype_bad("text/plain; charset=utf-8",
              "Content-Type \"text/plain\" is not supported");
    ctype_bad("application/jsonx", "\"application/jsonx\" is not supported");
    ctype_bad("application/*", "\"application/*\" is not supported");
    ctype_bad("*/*", "\"*/*\" is not supported");
    ctype_bad("multipart/form-data; boundary=x",
              "\"multipart/form-data\" is not supported");
}

static void ctype_malformed(void **state) {
    (void)state;
    ctype_bad("application", "malformed: expected type/subtype at position 12");
    ctype_bad("application/",
              "malformed: expected type/subtype at position 13");
    ctype_bad("/json", "malformed: expected type/subtype at position 1");
    ctype_bad("application /json", "expected type/subtype at position 12");
    ctype_bad("application/json charset=utf-8",
              "malformed: unexpected character at position 18");
    ctype_bad("application/json, text/json",
              "malformed: unexpected character at position 17");
    ctype_bad(
        "application/json; charset",
        "malformed: expected '=' after the parameter name at position 26");
    ctype_bad("application/json; charset =utf-8",
              "expected '=' after the parameter name at position 26");
    ctype_bad("application/json; charset= utf-8",
              "expected a parameter value at position 27");
    ctype_bad("application/json; charset=",
              "expected a parameter value at position 27");
    ctype_bad("application/json; =utf-8",
              "expected a parameter name at position 19");
    ctype_bad("application/json; charset=\"utf-8",
              "unterminated or invalid quoted string at position 27");
    ctype_bad("application/json; charset=\"utf\x01-8\"",
              "unterminated or invalid quoted string at position 27");
    ctype_bad("application/json; charset=utf-8\x01",
              "unexpected character at position 32");
    ctype_bad("application/json; charset=utf-8; charset=utf-8",
              "malformed: charset given twice at position 34");
    ctype_bad("application/json; charset=utf-8; CharSet=\"latin1\"",
              "charset given twice");
    /* Syntax is checked before the media type. */
    ctype_bad("image/png;", "image/png");
    ctype_bad("image/png; x", "expected '=' after the parameter name");
}

static void ctype_bad_charset(void **state) {
    (void)state;
    ctype_bad("application/json; charset=\"\"", "charset is empty");
    ctype_bad(
        "application/json; charset=abcdefghijklmnopqrstuvwxyz0123456789abcd",
        "charset is longer than 39 characters");
    ctype_bad("application/json; "
              "charset=\"abcdefghijklmnopqrstuvwxyz0123456789abcd\"",
              "charset is longer than 39 characters");
    ctype_bad("application/json; charset=\"utf 8\"",
              "charset is not a charset name");
    ctype_bad("application/json; charset=\"utf\t8\"",
              "charset is not a charset name");
    ctype_bad("application/json; charset=\"utf-8\xc3\xa9\"",
              "charset is not a charset name");
}

static void ctype_small_errstr(void **state) {
    erps_ctype_t ct;
    char err[8];
    (void)state;
    memset(err, 'z', sizeof(err));
    assert_int_equal(erps_ctype_parse("image/png", &ct, err, sizeof(err)), 415);
    assert_int_equal(strlen(err), sizeof(err) - 1);
}

/* ---- Accept ---- */

static void accept_is(const char *accept, erps_format_t fmt,
                      const char *content_type) {
    erps_accept_t a;
    char err[256] = "";
    int rc = erps_accept_choose(accept, &a, err, sizeof(err));
    if (rc != 0)
        fail_msg("Accept \"%.200s\": %d %s", accept ? accept : "(null)", rc,
                 err);
    assert_non_null(a.content_type);
    if (strcmp(a.content_type, content_type) != 0 || a.fmt != fmt)
        fail_msg("Accept \"%.200s\": got %s (%d), want %s (%d)",
                 accept ? accept : "(null)", a.content_type, a.fmt,
                 content_type, fmt);
}

static void accept_none(const char *accept) {
    erps_accept_t a;
    char err[256] = "";
    int rc = erps_accept_choose(accept, &a, err, sizeof(err));
    if (rc != 406)
        fail_msg("Accept \"%.200s\": %d, want 406", accept, rc);
    assert_contains(err, "application/json, text/json, application/xml and "
                         "text/xml");
    assert_contains(err, "Accept allows no format");
}

#define AJ ERPS_FMT_JSON, "application/json; charset=utf-8"
#define TJ ERPS_FMT_JSON, "text/json; charset=utf-8"
#define AX ERPS_FMT_XML, "application/xml; charset=utf-8"
#define TX ERPS_FMT_XML, "text/xml; charset=utf-8"

static void accept_defaults(void **state) {
    (void)state;
    accept_is(NULL, AJ);
    accept_is("", AJ);
    accept_is(" \t ", AJ);
    accept_is("*/*", AJ);
    accept_is("application/json", AJ);
    accept_is("text/json", TJ);
    accept_is("application/xml", AX);
    accept_is("text/xml", TX);
    accept_is("APPLICATION/XML", AX);
    accept_is("Text/Xml", TX);
}

static void accept_examples(void **state) {
    (void)state;
    accept_is("text/xml, application/json;q=0.9", TX);
    accept_is("application/xml;q=0.5, */*;q=0.8", AJ);
    accept_is("text/*", TJ);
    accept_is("application/*;q=0, text/xml", TX);
    accept_none("image/png");
    accept_is("application/json;q=0, */*", TJ);
    /* A browser. */
    accept_is("text/html,application/xhtml+xml,application/xml;q=0.9,"
              "image/avif,image/webp,*/*;q=0.8",
              AX);
    accept_is("application/json, text/plain, */*", AJ);
}

static void accept_q_values(void **state) {
    (void)state;
    accept_is("application/xml;q=1", AX);
    accept_is("application/xml;q=1.000, application/json;q=0.999", AX);
    accept_is("application/xml;q=1., application/json;q=0.", AX);
    accept_is("application/json;q=0.001, text/xml;q=0.002", TX);
    accept_is("application/json;q=0.5, application/xml;Q=0.6", AX);
    accept_is("application/json ; q=0.1 , text/xml ;\tq=0.2", TX);
    /* Ties go to the server's order. */
    accept_is("text/xml, application/xml", AX);
    accept_is("text/xml;q=0.5, text/json;q=0.5", TJ);
    accept_is("application/xml;q=0.3, text/json;q=0.3", TJ);
    /* q=0 excludes, in every spelling. */
    accept_none("application/json;q=0, text/json;q=0.0, "
                "application/xml;q=0.00, text/xml;q=0.000");
    accept_none("*/*;q=0");
    accept_none("text/*;q=0, application/*;q=0");
}

static void accept_specificity(void **state) {
    (void)state;
    /* type/subtype beats type/ *, which beats * / *, whatever the order. */
    accept_is("*/*;q=0.1, text/*;q=0.3, text/xml;q=0.9", TX);
    accept_is("text/xml;q=0, text/*", TJ);
    accept_is("text/*;q=0.2, */*;q=0.9", AJ);
    accept_is("*/*;q=0.9, application/*;q=0.2", TJ);
    accept_is("application/json;q=0, application/*;q=1, */*;q=0.5", AX);
    /* Equally specific ranges: the highest q counts. */
    accept_is("application/json;q=0.2, text/json;q=0.5, "
              "application/json;q=0.9",
              AJ);
    /* Parameters other than q do not take part in matching. */
    accept_is("application/xml;charset=utf-8", AX);
    accept_is("application/xml; odata.metadata=minimal; q=0.5, text/xml;q=0.4",
              AX);
    accept_is("text/xml;foo=\"a,b\";q=0.5, image/png", TX);
    accept_is("text/xml;q=0.5;level=1", TX);
}

static void accept_malformed_elements(void **state) {
    (void)state;
    /* Ignored, not an error: the rest of the header still counts. */
    accept_is("application/xml;q=2, text/xml;q=0.5", TX);
    accept_is("application/xml;q=1.5, text/xml;q=0.5", TX);
    accept_is("application/xml;q=1.001, text/xml;q=0.5", TX);
    accept_is("application/xml;q=0.1234, text/xml;q=0.5", TX);
    accept_is("application/xml;q=.5, text/xml;q=0.5", TX);
    accept_is("application/xml;q=\"0.5\", text/xml;q=0.1", TX);
    accept_is("application/xml;q=0.5;q=0.5, text/xml;q=0.1", TX);
    accept_is("application/xml;q=, text/xml;q=0.1", TX);
    accept_is("application/xml;q=-1, text/xml;q=0.1", TX);
    accept_is("xml, text/xml;q=0.1", TX);
    accept_is("*/xml, text/xml;q=0.1", TX);
    accept_is("application/xml garbage, text/xml;q=0.1", TX);
    accept_is("application/xml;foo, text/xml;q=0.1", TX);
    accept_is("application/xml;foo=\"open, text/xml;q=0.1", AJ);
    /* A malformed q=0 excludes nothing. */
    accept_is("application/json;q=0x", AJ);
    /* Empty elements are skipped. */
    accept_is(", ,\t,application/xml,,", AX);
    /* Nothing well-formed at all: as without the header. */
    accept_is("garbage", AJ);
    accept_is(";;;", AJ);
    accept_is("image/png;q=abc", AJ);
}

static void accept_limits(void **state) {
    char hdr[8192];
    size_t n = 0;
    (void)state;

    /* 64 elements are read, the 65th is not. */
    for (int i = 0; i < 64; i++)
        n += (size_t)snprintf(hdr + n, sizeof(hdr) - n, "image/png,");
    snprintf(hdr + n, sizeof(hdr) - n, "application/xml");
    accept_none(hdr);
    n = 0;
    for (int i = 0; i < 63; i++)
        n += (size_t)snprintf(hdr + n, sizeof(hdr) - n, "image/png,");
    snprintf(hdr + n, sizeof(hdr) - n, "application/xml");
    accept_is(hdr, AX);
    /* Empty elements do not count. */
    n = 0;
    for (int i = 0; i < 63; i++)
        n += (size_t)snprintf(hdr + n, sizeof(hdr) - n, "image/png, ,,");
    snprintf(hdr + n, sizeof(hdr) - n, "application/xml");
    accept_is(hdr, AX);

    /* Bytes past 4096 are not read. */
    memset(hdr, ' ', sizeof(hdr));
    memcpy(hdr, "image/png,", 10);
    strcpy(hdr + 4096, ",text/xml");
    accept_none(hdr);
    /* An element ending exactly at 4096 is read. */
    memset(hdr, ' ', sizeof(hdr));
    memcpy(hdr, "image/png,", 10);
    strcpy(hdr + 4096 - 8, "text/xml");
    accept_is(hdr, TX);
    strcpy(hdr + 4096 - 8, "text/xml,image/png"); /* comma at 4096 */
    accept_is(hdr, TX);
    /* An element cut by the limit is dropped: "text/xmlz" must not be read
     * as "text/xml". */
    memset(hdr, ' ', sizeof(hdr));
    memcpy(hdr, "image/png,", 10);
    strcpy(hdr + 4096 - 8, "text/xmlz");
    accept_none(hdr);
    /* Cut inside the only element: nothing readable, as without a header. */
    memset(hdr, 'a', 5000);
    memcpy(hdr, "image/", 6);
    hdr[5000] = '\0';
    accept_is(hdr, AJ);
}

/* ---- languages ---- */

static const char *const langs[] = {"en", "nb", "sv", "da", "de", "nl", "fr"};

static void lang_is(const char *al, const char *so, const char *want) {
    char out[16];
    memset(out, '?', sizeof(out));
    erps_lang_choose(al, so, langs, N(langs), "en", out, sizeof(out));
    if (strcmp(out, want) != 0)
        fail_msg("Accept-Language \"%.200s\", SO-Language \"%s\": got \"%s\", "
                 "want \"%s\"",
                 al ? al : "(null)", so ? so : "(null)", out, want);
}

static void lang_defaults(void **state) {
    (void)state;
    lang_is(NULL, NULL, "en");
    lang_is("", "", "en");
    lang_is(" ", "\t", "en");
    lang_is("ja, zh-CN", NULL, "en");
}

static void lang_matching(void **state) {
    (void)state;
    lang_is("sv", NULL, "sv");
    lang_is("SV", NULL, "sv");
    lang_is("nb-NO", NULL, "nb");
    lang_is("en-GB", NULL, "en");
    lang_is("fr-CA", NULL, "fr");
    lang_is("de-Latn-DE", NULL, "de");
    lang_is("no", NULL, "nb");
    lang_is("NO", NULL, "nb");
    lang_is("nn", NULL, "nb");
    lang_is("nn-NO", NULL, "nb");
    lang_is("no-NO", NULL, "nb");
    lang_is("nbx", NULL, "en");
    lang_is("s", NULL, "en");

    /* Exact codes win over primary subtags; the available spelling is kept. */
    const char *const av[] = {"en", "EN-gb", NULL, "nn"};
    char out[16];
    erps_lang_choose("en-gb", NULL, av, N(av), "en", out, sizeof(out));
    assert_string_equal(out, "EN-gb");
    erps_lang_choose("en-US", NULL, av, N(av), "en", out, sizeof(out));
    assert_string_equal(out, "en");
    /* "nn" itself when available; "no" without "nb": no alias. */
    erps_lang_choose("nn-NO", NULL, av, N(av), "en", out, sizeof(out));
    assert_string_equal(out, "nn");
    erps_lang_choose("no", NULL, av, N(av), "fallback", out, sizeof(out));
    assert_string_equal(out, "fallback");
    const char *const nb_upper[] = {"de", "NB"};
    erps_lang_choose("no", NULL, nb_upper, N(nb_upper), "de", out, sizeof(out));
    assert_string_equal(out, "NB");
}

static void lang_q_values(void **state) {
    (void)state;
    lang_is("nb-NO,nb;q=0.9,en;q=0.8", NULL, "nb");
    lang_is("ja, de-DE;q=0.9, de;q=0.8", NULL, "de");
    lang_is("sv;q=0.5, da;q=0.8", NULL, "da");
    lang_is("sv;q=0.5, da;Q=0.8", NULL, "da");
    lang_is("sv;q=0.5, da;q=0.5", NULL, "sv"); /* stable */
    lang_is("da;q=0.5, sv;q=0.5", NULL, "da");
    lang_is("sv, da", NULL, "sv");
    lang_is("fr;q=0.1, de;q=0.2, nl;q=0.3, da", NULL, "da");
    lang_is("sv;q=0, da;q=0.1", NULL, "da");
    lang_is("sv;q=0", NULL, "en");
    lang_is("sv;q=0.000, da;q=0.001", NULL, "da");
    /* "*" is the fallback, at its place in the order. */
    lang_is("ja, *;q=0.5, de;q=0.1", NULL, "en");
    lang_is("ja, de;q=0.5, *;q=0.1", NULL, "de");
    lang_is("*", NULL, "en");
    lang_is("*;q=0, sv;q=0.1", NULL, "sv");
}

static void lang_malformed(void **state) {
    (void)state;
    lang_is("d@, sv", NULL, "sv");
    lang_is("en-GB;q=abc, sv", NULL, "sv");
    lang_is("en;q=2, sv", NULL, "sv");
    lang_is("abcdefghi, sv", NULL, "sv"); /* primary subtag > 8 */
    lang_is("de-abcdefghi, sv", NULL, "sv");
    lang_is("de-, sv", NULL, "sv");
    lang_is("-de, sv", NULL, "sv");
    lang_is("de--x, sv", NULL, "sv");
    lang_is("1de, sv", NULL, "sv");
    lang_is("de;level=1, sv", NULL, "sv"); /* only a weight may follow */
    lang_is("de;q=0.5;x=1, sv;q=0.1", NULL, "sv");
    lang_is("de sv, da", NULL, "da");
    lang_is("*-de, da", NULL, "da");
    lang_is(",, ,da", NULL, "da");
    lang_is(";", NULL, "en");
}

static void lang_so_language(void **state) {
    (void)state;
    lang_is(NULL, "x", "x");
    lang_is(NULL, "X", "x");
    lang_is(NULL, "*", "x");
    lang_is("sv", " x ", "x");
    lang_is(NULL, "sv", "sv");
    lang_is(NULL, " nb-NO\t", "nb");
    lang_is(NULL, "no", "nb");
    /* It overrides Accept-Language entirely, also when it does not match. */
    lang_is("sv", "de", "de");
    lang_is("sv", "ja", "en");
    lang_is("sv", "en,sv", "en");
    lang_is("sv", "sv;q=1", "en");
    lang_is("sv", "xx", "en");
    /* Blank is absent. */
    lang_is("sv", "", "sv");
    lang_is("sv", " \t", "sv");
}

static void lang_outputs(void **state) {
    char out[4] = "zzz";
    (void)state;
    erps_lang_choose("nb", NULL, langs, N(langs), "en", out, 2);
    assert_string_equal(out, "n"); /* truncated, terminated */
    memcpy(out, "zzz", 4);
    erps_lang_choose("nb", NULL, langs, N(langs), "en", out, 0);
    assert_string_equal(out, "zzz");
    erps_lang_choose("nb", NULL, langs, N(langs), "en", NULL, 16);
    erps_lang_choose("sv", NULL, langs, N(langs), NULL, out, sizeof(out));
    assert_string_equal(out, "sv");
    erps_lang_choose("ja", NULL, langs, N(langs), NULL, out, sizeof(out));
    assert_string_equal(out, "");
    erps_lang_choose("sv", NULL, NULL, 3, "de", out, sizeof(out));
    assert_string_equal(out, "de");
}

static void lang_limits(void **state) {
    char hdr[8192];
    size_t n = 0;
    (void)state;
    for (int i = 0; i < 64; i++)
        n += (size_t)snprintf(hdr + n, sizeof(hdr) - n, "ja,");
    snprintf(hdr + n, sizeof(hdr) - n, "sv");
    lang_is(hdr, NULL, "en");
    n = 0;
    for (int i = 0; i < 63; i++)
        n += (size_t)snprintf(hdr + n, sizeof(hdr) - n, "ja,");
    snprintf(hdr + n, sizeof(hdr) - n, "sv");
    lang_is(hdr, NULL, "sv");
    memset(hdr, ' ', sizeof(hdr));
    memcpy(hdr, "ja,", 3);
    strcpy(hdr + 4096, ",sv");
    lang_is(hdr, NULL, "en");
    memset(hdr, ' ', sizeof(hdr));
    memcpy(hdr, "ja,", 3);
    strcpy(hdr + 4094, "sv");
    lang_is(hdr, NULL, "sv");
    /* An element cut by the limit is dropped: "svx" must not be read as
     * "sv", nor "da;q=0.95" as "da;q=0.9". */
    memset(hdr, ' ', sizeof(hdr));
    memcpy(hdr, "ja,", 3);
    strcpy(hdr + 4096 - 2, "svx");
    lang_is(hdr, NULL, "en");
    memset(hdr, ' ', sizeof(hdr));
    memcpy(hdr, "sv;q=0.5,", 9);
    strcpy(hdr + 4096 - 8, "da;q=0.95");
    lang_is(hdr, NULL, "sv");
}

/* ---- $select ---- */

static const char answer[] =
    "{\"IsRunning\":true,\"StatusMessage\":\"Running\",\"Interval\":\"00:15:"
    "00\","
    "\"TableRight\":{\"Mask\":\"FULL\",\"Reason\":\"\"},"
    "\"FieldProperties\":{\"IsRunning\":{\"FieldRight\":{\"Mask\":\"FULL\","
    "\"Reason\":\"\"},\"FieldType\":\"System.Boolean\",\"FieldLength\":0}}}";

static void select_bad(const char *text, const char *want) {
    char err[256] = "";
    erps_select_t *sel = erps_select_parse(text, err, sizeof(err));
    if (sel) {
        erps_select_free(sel);
        fail_msg("$select \"%s\" parsed", text ? text : "(null)");
    }
    if (strcmp(err, want) != 0)
        fail_msg("$select \"%s\": \"%s\", want \"%s\"", text ? text : "(null)",
                 err, want);
}

/* Parses text, applies it to the answer, compares with want. */
static void select_gives(const char *text, const char *want) {
    char err[256] = "";
    erps_select_t *sel = erps_select_parse(text, err, sizeof(err));
    if (!sel)
        fail_msg("$select \"%s\": %s", text, err);
    cJSON *obj = cJSON_Parse(answer), *exp = cJSON_Parse(want);
    assert_non_null(obj);
    assert_non_null(exp);
    int rc = erps_select_apply(sel, obj, err, sizeof(err));
    if (rc != 0)
        fail_msg("$select \"%s\": %d %s", text, rc, err);
    if (!cJSON_Compare(obj, exp, 1)) {
        char *got = cJSON_PrintUnformatted(obj);
        fail_msg("$select \"%s\": got %s\nwant %s", text, got, want);
    }
    cJSON_Delete(exp);
    cJSON_Delete(obj);
    erps_select_free(sel);
}

static void select_apply_fails(const char *text, const char *want) {
    char err[256] = "";
    erps_select_t *sel = erps_select_parse(text, err, sizeof(err));
    if (!sel)
        fail_msg("$select \"%s\": %s", text, err);
    cJSON *obj = cJSON_Parse(answer);
    assert_non_null(obj);
    assert_int_equal(erps_select_apply(sel, obj, err, sizeof(err)), 400);
    if (strcmp(err, want) != 0)
        fail_msg("$select \"%s\": \"%s\", want \"%s\"", text, err, want);
    cJSON_Delete(obj);
    erps_select_free(sel);
}

static void select_parse_ok(void **state) {
    static const char *const ok[] = {
        "IsRunning,interval, TableRight/Mask",
        "  a  ,\tb / c  ",
        "_x1",
        "a,a,A",
        "a/b/c/d/e/f/g/h",
    };
    char err[256];
    (void)state;
    for (size_t i = 0; i < N(ok); i++) {
        erps_select_t *sel = erps_select_parse(ok[i], err, sizeof(err));
        if (!sel)
            fail_msg("\"%s\": %s", ok[i], err);
        erps_select_free(sel);
    }
    erps_select_free(NULL);
}

static void select_parse_errors(void **state) {
    (void)state;
    select_bad(NULL, "$select is empty");
    select_bad("", "$select is empty");
    select_bad(" \t ", "$select is empty");
    select_bad("IsRunning,,x", "$select: empty field name at position 11");
    select_bad("IsRunning, ,x", "$select: empty field name at position 12");
    select_bad("IsRunning,", "$select: empty field name at position 11");
    select_bad(",a", "$select: empty field name at position 1");
    select_bad("/a", "$select: empty field name at position 1");
    select_bad("a,/b", "$select: empty field name at position 3");
    select_bad("Is!Running", "$select: unexpected character '!' at position 3");
    select_bad("IsRunning Interval",
               "$select: unexpected character 'I' at position 11");
    select_bad("1a", "$select: unexpected character '1' at position 1");
    select_bad("a-b", "$select: unexpected character '-' at position 2");
    select_bad("a/ !", "$select: unexpected character '!' at position 4");
    select_bad("a\x01", "$select: unexpected byte 0x01 at position 2");
    select_bad("a,\xc3\xa9", "$select: unexpected byte 0xC3 at position 3");
    select_bad("a;b", "$select: unexpected character ';' at position 2");
    select_bad("IsRunning/,x",
               "$select: '/' must be followed by a field name at position 10");
    select_bad("TableRight/",
               "$select: '/' must be followed by a field name at position 11");
    select_bad("a//b",
               "$select: '/' must be followed by a field name at position 2");
    select_bad("a / ",
               "$select: '/' must be followed by a field name at position 3");
}

static void select_parse_limits(void **state) {
    char text[1024];
    size_t n = 0;
    char err[256];
    (void)state;

    for (int i = 0; i < 32; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%sf%d", i ? "," : "",
                              i);
    erps_select_t *sel = erps_select_parse(text, err, sizeof(err));
    assert_non_null(sel);
    erps_select_free(sel);
    snprintf(text + n, sizeof(text) - n, ",f32");
    select_bad(text, "$select: more than 32 fields");

    select_bad("x, a/b/c/d/e/f/g/h/i",
               "$select: the field at position 4 has more than 8 levels");

    memset(text, 'n', 64);
    text[64] = '\0';
    sel = erps_select_parse(text, err, sizeof(err));
    assert_non_null(sel);
    erps_select_free(sel);
    memcpy(text, "ab/", 3);
    memset(text + 3, 'n', 65);
    text[68] = '\0';
    select_bad(text, "$select: field name at position 4 is longer than 64 "
                     "characters");
}

static void select_example(void **state) {
    (void)state;
    select_gives("isrunning,tableright/mask",
                 "{\"IsRunning\":true,\"StatusMessage\":null,\"Interval\":null,"
                 "\"TableRight\":{\"Mask\":\"FULL\",\"Reason\":null},"
                 "\"FieldProperties\":null}");
    select_gives("IsRunning,interval",
                 "{\"IsRunning\":true,\"StatusMessage\":null,"
                 "\"Interval\":\"00:15:00\",\"TableRight\":null,"
                 "\"FieldProperties\":null}");
}

static void select_subtrees(void **state) {
    (void)state;
    static const char *const whole =
        "{\"IsRunning\":null,\"StatusMessage\":null,\"Interval\":null,"
        "\"TableRight\":{\"Mask\":\"FULL\",\"Reason\":\"\"},"
        "\"FieldProperties\":null}";
    select_gives("TableRight", whole);
    select_gives("TableRight,TableRight/Mask", whole);
    select_gives("TableRight/Mask, tableright", whole);
    select_gives("TableRight/Mask,TableRight/Reason", whole);
    select_gives("FieldProperties/IsRunning/FieldRight/Mask",
                 "{\"IsRunning\":null,\"StatusMessage\":null,\"Interval\":null,"
                 "\"TableRight\":null,\"FieldProperties\":{\"IsRunning\":{"
                 "\"FieldRight\":{\"Mask\":\"FULL\",\"Reason\":null},"
                 "\"FieldType\":null,\"FieldLength\":null}}}");
    select_gives("fieldproperties/isrunning/fieldtype, STATUSMESSAGE",
                 "{\"IsRunning\":null,\"StatusMessage\":\"Running\","
                 "\"Interval\":null,\"TableRight\":null,\"FieldProperties\":{"
                 "\"IsRunning\":{\"FieldRight\":null,"
                 "\"FieldType\":\"System.Boolean\",\"FieldLength\":null}}}");
    select_gives("IsRunning, isrunning, ISRUNNING",
                 "{\"IsRunning\":true,\"StatusMessage\":null,\"Interval\":null,"
                 "\"TableRight\":null,\"FieldProperties\":null}");
}

static void select_apply_errors(void **state) {
    (void)state;
    select_apply_fails("TableRight/Foo",
                       "$select: unknown field 'Foo' in 'TableRight/Foo'");
    select_apply_fails("IsRunning, Foo", "$select: unknown field 'Foo'");
    select_apply_fails("IsRunning/x",
                       "$select: 'IsRunning' has no fields, in 'IsRunning/x'");
    select_apply_fails("interval/Hours",
                       "$select: 'interval' has no fields, in "
                       "'interval/Hours'");
    /* Inside a selected subtree, paths are still checked. */
    select_apply_fails("TableRight, TableRight/Foo",
                       "$select: unknown field 'Foo' in 'TableRight/Foo'");
    select_apply_fails("FieldProperties/IsRunning/FieldRight/Mask/x",
                       "$select: 'Mask' has no fields, in "
                       "'FieldProperties/IsRunning/FieldRight/Mask/x'");
    select_apply_fails("FieldProperties/Interval/FieldType",
                       "$select: unknown field 'Interval' in "
                       "'FieldProperties/Interval/FieldType'");
}

static void select_apply_edges(void **state) {
    char err[256] = "";
    (void)state;
    erps_select_t *sel = erps_select_parse("a/b", err, sizeof(err));
    assert_non_null(sel);

    /* Not an object. */
    cJSON *arr = cJSON_CreateArray();
    assert_non_null(arr);
    assert_int_equal(erps_select_apply(sel, arr, err, sizeof(err)), 400);
    assert_string_equal(err, "$select: the answer has no fields");
    assert_int_equal(erps_select_apply(sel, NULL, err, sizeof(err)), 400);
    cJSON_Delete(arr);

    /* A null on the way stays null; an array there has no fields. */
    cJSON *obj = cJSON_Parse("{\"A\":null,\"c\":[1]}");
    assert_non_null(obj);
    assert_int_equal(erps_select_apply(sel, obj, err, sizeof(err)), 0);
    char *s = cJSON_PrintUnformatted(obj);
    assert_string_equal(s, "{\"A\":null,\"c\":null}");
    cJSON_free(s);
    cJSON_Delete(obj);
    erps_select_free(sel);

    sel = erps_select_parse("c/x", err, sizeof(err));
    assert_non_null(sel);
    obj = cJSON_Parse("{\"A\":null,\"c\":[1]}");
    assert_int_equal(erps_select_apply(sel, obj, err, sizeof(err)), 400);
    assert_string_equal(err, "$select: 'c' has no fields, in 'c/x'");
    cJSON_Delete(obj);
    erps_select_free(sel);

    /* No selection: nothing changes. */
    obj = cJSON_Parse(answer);
    cJSON *orig = cJSON_Parse(answer);
    assert_int_equal(erps_select_apply(NULL, obj, err, sizeof(err)), 0);
    assert_true(cJSON_Compare(obj, orig, 1));
    cJSON_Delete(orig);
    cJSON_Delete(obj);

    /* Members added by reference and with constant keys are nulled without
     * freeing what they do not own (valgrind/ASan would tell). */
    cJSON *shared = cJSON_Parse("{\"x\":[1,2,3]}");
    cJSON *str = cJSON_CreateStringReference("static text");
    assert_non_null(shared);
    assert_non_null(str);
    obj = cJSON_CreateObject();
    assert_non_null(obj);
    assert_true(cJSON_AddItemReferenceToObject(obj, "Ref", shared));
    assert_true(cJSON_AddItemToObjectCS(obj, "Str", str));
    assert_non_null(cJSON_AddNumberToObject(obj, "Keep", 1));
    sel = erps_select_parse("keep", err, sizeof(err));
    assert_non_null(sel);
    assert_int_equal(erps_select_apply(sel, obj, err, sizeof(err)), 0);
    s = cJSON_PrintUnformatted(obj);
    assert_string_equal(s, "{\"Ref\":null,\"Str\":null,\"Keep\":1}");
    cJSON_free(s);
    cJSON_Delete(obj);
    s = cJSON_PrintUnformatted(shared);
    assert_string_equal(s, "{\"x\":[1,2,3]}");
    cJSON_free(s);
    cJSON_Delete(shared);
    erps_select_free(sel);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ctype_media_types),
        cmocka_unit_test(ctype_parameters),
        cmocka_unit_test(ctype_missing_and_unknown),
        cmocka_unit_test(ctype_malformed),
        cmocka_unit_test(ctype_bad_charset),
        cmocka_unit_test(ctype_small_errstr),
        cmocka_unit_test(accept_defaults),
        cmocka_unit_test(accept_examples),
        cmocka_unit_test(accept_q_values),
        cmocka_unit_test(accept_specificity),
        cmocka_unit_test(accept_malformed_elements),
        cmocka_unit_test(accept_limits),
        cmocka_unit_test(lang_defaults),
        cmocka_unit_test(lang_matching),
        cmocka_unit_test(lang_q_values),
        cmocka_unit_test(lang_malformed),
        cmocka_unit_test(lang_so_language),
        cmocka_unit_test(lang_outputs),
        cmocka_unit_test(lang_limits),
        cmocka_unit_test(select_parse_ok),
        cmocka_unit_test(select_parse_errors),
        cmocka_unit_test(select_parse_limits),
        cmocka_unit_test(select_example),
        cmocka_unit_test(select_subtrees),
        cmocka_unit_test(select_apply_errors),
        cmocka_unit_test(select_apply_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
