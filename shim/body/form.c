/*
 * form.c - application/x-www-form-urlencoded bodies: name=value pairs, every
 * value a string, escaped bytes in the form's charset as browsers send them.
 */
#include "body_int.h"

#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes s[0..n) ("+" space, %XX). off: s's offset in the body.
 * @returns the bytes (NUL-terminated, the caller frees them) and *outn, or
 * NULL with e set. */
static char *pct_decode(const char *s, size_t n, size_t off, const text_t *t,
                        size_t *outn, berr_t *e) {
    char *out = malloc(n + 1), *o = out;
    if (!out) {
        body_fail_oom(e);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%') {
            int hi = i + 2 < n ? body_hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? body_hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                body_fail(e, 400,
                          "the body has a malformed %%-escape at byte "
                          "%zu%s (expected %% and two hex digits)",
                          off + i + t->skipped, body_where_note(t));
                free(out);
                return NULL;
            }
            *o++ = (char)(hi << 4 | lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    *outn = (size_t)(o - out);
    return out;
}

/* Makes a decoded name or value UTF-8 without NUL. cd: the legacy charset's
 * converter, or (iconv_t)-1 when the bytes are UTF-8. name: the field's
 * name, NULL while checking the name itself. @returns the text or NULL. */
static char *form_text(char *raw, size_t n, iconv_t cd, const char *cs,
                       const char *name, size_t pair_at, berr_t *e) {
    char c1[CLIP_MAX + 4], c2[CLIP_MAX + 4];
    char what[CLIP_MAX + 48];
    if (name)
        snprintf(what, sizeof(what), "the value of form field '%s'",
                 body_clip(name, c1));
    else
        snprintf(what, sizeof(what), "the form field name at byte %zu",
                 pair_at);
    if (cd != (iconv_t)-1) {
        size_t bad = 0, on = 0;
        char *u = body_cs_convert(cd, raw, n, &on, &bad);
        free(raw);
        if (!u) {
            if (bad == SIZE_MAX)
                body_fail_oom(e);
            else
                body_fail(e, 400, "%s is not valid %s", what,
                          body_clip(cs, c2));
            return NULL;
        }
        raw = u;
        n = on;
    }
    if (body_utf8_invalid_at(raw, n) < n) {
        body_fail(e, 400, "%s is not valid UTF-8", what);
        free(raw);
        return NULL;
    }
    if (memchr(raw, '\0', n)) {
        body_fail(e, 400, "%s contains a NUL character", what);
        free(raw);
        return NULL;
    }
    return raw;
}

cJSON *body_decode_form(const char *cs, const char *body, size_t len,
                        berr_t *e) {
    char c1[CLIP_MAX + 4];
    text_t t;
    iconv_t cd = (iconv_t)-1;
    nameset_t set = {0};
    cJSON *obj = NULL;

    /* Legacy charsets: split the raw bytes (ASCII-compatible), decode the
     * escapes, then convert, so "Caf%E9" and a raw "Caf\xE9" both read as
     * Café. Unicode charsets: convert first; escapes are UTF-8 then. */
    if (!body_cs_is_utf8(cs) && !body_cs_is_unicode(cs)) {
        cd = body_cs_open(cs, e);
        if (cd == (iconv_t)-1)
            return NULL;
        memset(&t, 0, sizeof(t));
        t.p = body;
        t.n = len;
    } else if (body_text_from_body(cs, body, len, &t, e)) {
        return NULL;
    }
    obj = cJSON_CreateObject();
    if (!obj) {
        body_fail_oom(e);
        goto err;
    }
    for (size_t i = 0, amp; i < t.n; i = amp + 1) {
        const char *s = t.p + i;
        const char *a = memchr(s, '&', t.n - i);
        amp = a ? (size_t)(a - t.p) : t.n;
        if (amp == i)
            continue; /* "a=1&&b=2" */
        const char *eq = memchr(s, '=', amp - i);
        size_t nl = eq ? (size_t)(eq - s) : amp - i, rn, vn;
        char *name = pct_decode(s, nl, i, &t, &rn, e), *val = NULL;
        if (!name)
            goto err;
        name = form_text(name, rn, cd, cs, NULL, i + t.skipped, e);
        if (!name)
            goto err;
        if (!name[0]) {
            body_fail(e, 400, "a form field has an empty name (byte %zu%s)",
                      i + t.skipped, body_where_note(&t));
            free(name);
            goto err;
        }
        if (eq)
            val = pct_decode(eq + 1, amp - i - nl - 1, i + nl + 1, &t, &vn, e);
        else
            val = pct_decode("", 0, i, &t, &vn, e);
        if (val)
            val = form_text(val, vn, cd, cs, name, i + t.skipped, e);
        if (!val) {
            free(name);
            goto err;
        }
        cJSON *v = cJSON_CreateString(val);
        free(val);
        if (!v || !cJSON_AddItemToObject(obj, name, v)) {
            cJSON_Delete(v);
            free(name);
            body_fail_oom(e);
            goto err;
        }
        free(name);
        int r = body_nameset_add(&set, v->string, v);
        if (r < 0) {
            body_fail_oom(e);
            goto err;
        }
        if (r > 0) {
            body_fail(e, 400, "form field '%s' appears twice",
                      body_clip(v->string, c1));
            goto err;
        }
    }
    body_nameset_free(&set);
    if (cd != (iconv_t)-1)
        iconv_close(cd);
    free(t.owned);
    return obj;
err:
    body_nameset_free(&set);
    if (cd != (iconv_t)-1)
        iconv_close(cd);
    free(t.owned);
    cJSON_Delete(obj);
    return NULL;
}
