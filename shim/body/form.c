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

typedef struct form {
    const char *cs;
    iconv_t cd; /* legacy charsets; (iconv_t)-1 for Unicode ones */
    text_t t;
    cJSON *obj;
    nameset_t set;
    berr_t *e;
} form_t;

/* The pair at t[i..amp) ("name=value", or "name") into the object.
 * @returns 0, or -1 with the error set. */
static int form_pair(form_t *f, size_t i, size_t amp) {
    char c1[CLIP_MAX + 4];
    const text_t *t = &f->t;
    const char *s = t->p + i;
    const char *eq = memchr(s, '=', amp - i);
    size_t nl = eq ? (size_t)(eq - s) : amp - i, rn, vn;
    char *name = pct_decode(s, nl, i, t, &rn, f->e), *val = NULL;
    if (name)
        name = form_text(name, rn, f->cd, f->cs, NULL, i + t->skipped, f->e);
    if (!name)
        return -1;
    if (!name[0]) {
        body_fail(f->e, 400, "a form field has an empty name (byte %zu%s)",
                  i + t->skipped, body_where_note(t));
        free(name);
        return -1;
    }
    if (eq)
        val = pct_decode(eq + 1, amp - i - nl - 1, i + nl + 1, t, &vn, f->e);
    else
        val = pct_decode("", 0, i, t, &vn, f->e);
    if (val)
        val = form_text(val, vn, f->cd, f->cs, name, i + t->skipped, f->e);
    cJSON *v = val ? cJSON_CreateString(val) : NULL;
    free(val);
    if (v && cJSON_AddItemToObject(f->obj, name, v)) {
        free(name);
        int r = body_nameset_add(&f->set, v->string, v);
        if (r > 0)
            body_fail(f->e, 400, "form field '%s' appears twice",
                      body_clip(v->string, c1));
        else if (r < 0)
            body_fail_oom(f->e);
        return r == 0 ? 0 : -1;
    }
    if (val) /* decoded, but no memory for the member */
        body_fail_oom(f->e);
    cJSON_Delete(v);
    free(name);
    return -1;
}

cJSON *body_decode_form(const char *cs, const char *body, size_t len,
                        berr_t *e) {
    form_t f = {.cs = cs, .cd = (iconv_t)-1, .e = e};
    /* Legacy charsets: split the raw bytes (ASCII-compatible), decode the
     * escapes, then convert, so "Caf%E9" and a raw "Caf\xE9" both read as
     * Café. Unicode charsets: convert first; escapes are UTF-8 then. */
    if (!body_cs_is_utf8(cs) && !body_cs_is_unicode(cs)) {
        f.cd = body_cs_open(cs, e);
        if (f.cd == (iconv_t)-1)
            return NULL;
        f.t.p = body;
        f.t.n = len;
    } else if (body_text_from_body(cs, body, len, &f.t, e)) {
        return NULL;
    }
    if (!(f.obj = cJSON_CreateObject()))
        body_fail_oom(e);
    for (size_t i = 0, amp; f.obj && i < f.t.n; i = amp + 1) {
        const char *a = memchr(f.t.p + i, '&', f.t.n - i);
        amp = a ? (size_t)(a - f.t.p) : f.t.n;
        if (amp > i && form_pair(&f, i, amp)) { /* amp == i: "a=1&&b=2" */
            cJSON_Delete(f.obj);
            f.obj = NULL;
        }
    }
    body_nameset_free(&f.set);
    if (f.cd != (iconv_t)-1)
        iconv_close(f.cd);
    free(f.t.owned);
    return f.obj;
}
