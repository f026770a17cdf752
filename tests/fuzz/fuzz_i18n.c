/*
 * fuzz_i18n - SO-Culture and SO-TimeZone as a caller sends them, then the
 * StatusMessage the shim would answer with.
 *
 * Input (integers big-endian; a short input reads as zeros):
 *
 *   u8  language   index into erps_i18n_languages, then "x" (raw ids), then
 *                  "ja" (not in the catalog)
 *   u8  state      0..4 an engine state, its id and English text made by
 *                  erps_status_render_message as the agent does; 5..255 an
 *                  id the catalog lacks, with the detail text as message
 *   u8  small      size of a second, small output buffer
 *   i64 interval_s mapped into 1..ERPS_INTERVAL_MAX_S, as a decoder admits
 *   i64 next_iteration_ms, any value
 *   i64 last.number, any value
 *   field culture  SO-Culture (u16 length, then bytes; see fuzz_common.h)
 *   field zone     SO-TimeZone
 *   rest           last.detail (and the message for an unknown id)
 *
 * Checks: both parsers answer 0 or 400 with a printable-ASCII message and a
 * terminated value; when both headers parse, rendering into
 * ERPS_I18N_MESSAGE_MAX bytes succeeds with valid UTF-8, and rendering into
 * a small buffer either gives the same text or -1 and "".
 */
#include "i18n.h"
#include "fuzz_common.h"

static int utf8_valid(const char *str) {
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned c = *s, n, min, cp;
        if (c < 0x80) {
            s++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, min = 0x80, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, min = 0x800, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return 0;
        }
        for (unsigned i = 1; i <= n; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        s += n + 1;
    }
    return 1;
}

static int printable(const char *s) {
    for (; *s; s++) {
        if (*s < 0x20 || *s > 0x7e)
            return 0;
    }
    return 1;
}

static uint8_t take_u8(fuzz_reader_t *r) {
    if (r->left == 0)
        return 0;
    r->left--;
    return *r->p++;
}

static uint64_t take_u64(fuzz_reader_t *r) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | take_u8(r);
    return v;
}

/* An error message: said, printable, terminated inside its buffer. */
static void check_err(const char *err, size_t size, const char *what) {
    size_t n = strnlen(err, size);
    FUZZ_CHECK(n > 0 && n < size, "%s: error message of length %zu", what, n);
    FUZZ_CHECK(printable(err), "%s: unprintable error \"%s\"", what, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_reader_t r = {data, size};
    erps_status_t st;
    erps_i18n_req_t req;
    char err[256], out[ERPS_I18N_MESSAGE_MAX];
    const uint8_t *f;
    size_t len;
    int is_null, rc;

    memset(&st, 0, sizeof(st));
    memset(&req, 0, sizeof(req));
    size_t li = take_u8(&r) % (erps_i18n_language_count + 2);
    uint8_t state = take_u8(&r);
    size_t small = take_u8(&r);
    st.interval_s = (int64_t)(take_u64(&r) % (uint64_t)ERPS_INTERVAL_MAX_S) + 1;
    st.next_iteration_ms = (int64_t)take_u64(&r);
    st.last.number = (int64_t)take_u64(&r);

    f = fuzz_field(&r, &len, &is_null);
    char *culture = fuzz_cstr(f, len);
    f = fuzz_field(&r, &len, &is_null);
    char *zone = fuzz_cstr(f, len);
    size_t dlen = r.left < ERPS_REASON_MAX ? r.left : ERPS_REASON_MAX;
    memcpy(st.last.detail, r.p, dlen);
    st.last.detail[dlen] = '\0';

    if (state < 5) {
        st.state = (erps_state_t)state;
        erps_status_render_message(&st);
    } else {
        erps_strlcpy(st.message_id, "SR_ERPSYNC_SOMETHING_NEW",
                     sizeof(st.message_id));
        memcpy(st.message, st.last.detail, dlen + 1);
    }
    erps_strlcpy(req.language,
                 li < erps_i18n_language_count    ? erps_i18n_languages[li]
                 : li == erps_i18n_language_count ? "x"
                                                  : "ja",
                 sizeof(req.language));

    /* Exact-size heap copies, so ASan sees any read past a header's end. */
    char *culture_out = malloc(sizeof(req.culture));
    char *zone_out = malloc(sizeof(req.zone));
    if (!culture_out || !zone_out)
        abort();
    err[0] = '\0';
    rc = erps_i18n_culture_parse(culture, culture_out, sizeof(req.culture), err,
                                 sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == 400, "culture parse returned %d", rc);
    int culture_ok = rc == 0;
    if (culture_ok)
        FUZZ_CHECK(strnlen(culture_out, sizeof(req.culture)) <
                       sizeof(req.culture),
                   "culture unterminated");
    else
        check_err(err, sizeof(err), "SO-Culture");

    err[0] = '\0';
    rc = erps_i18n_zone_parse(zone, zone_out, sizeof(req.zone),
                              &req.include_offset, err, sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == 400, "zone parse returned %d", rc);
    int zone_ok = rc == 0;
    if (zone_ok)
        FUZZ_CHECK(strnlen(zone_out, sizeof(req.zone)) < sizeof(req.zone),
                   "zone unterminated");
    else
        check_err(err, sizeof(err), "SO-TimeZone");

    if (culture_ok && zone_ok) {
        memcpy(req.culture, culture_out, sizeof(req.culture));
        memcpy(req.zone, zone_out, sizeof(req.zone));
        rc = erps_i18n_render(&st, &req, out, sizeof(out));
        FUZZ_CHECK(rc == 0, "render failed: culture \"%s\" zone \"%s\" id %s",
                   req.culture, req.zone, st.message_id);
        FUZZ_CHECK(strnlen(out, sizeof(out)) < sizeof(out),
                   "render unterminated");
        FUZZ_CHECK(utf8_valid(out), "render is not UTF-8: \"%s\"", out);

        char *s = malloc(small ? small : 1);
        if (!s)
            abort();
        rc = erps_i18n_render(&st, &req, s, small);
        if (rc == 0)
            FUZZ_CHECK(strcmp(s, out) == 0, "small render differs: \"%s\"", s);
        else
            FUZZ_CHECK(rc == -1 && (small == 0 || s[0] == '\0'),
                       "small render: rc %d", rc);
        free(s);
    }
    free(zone_out);
    free(culture_out);
    free(zone);
    free(culture);
    return 0;
}
