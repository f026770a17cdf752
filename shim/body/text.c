/*
 * text.c - what every decoder needs: refusals with a status and a message
 * that stays valid UTF-8, byte buffers, case-insensitive name sets, and the
 * body as UTF-8 text whatever charset it came in.
 */
#include "body_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "erpsync/util.h"

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/* Cuts a truncated message before a character snprintf cut in half, so the
 * message stays valid UTF-8 for the JSON or XML error answer. */
void body_utf8_cut_tail(char *s) {
    size_t len = strlen(s), i = len;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (len - (i - 1) < need)
        s[i - 1] = '\0';
}

__attribute__((format(printf, 3, 4))) void body_fail(berr_t *e, int status,
                                                     const char *fmt, ...) {
    va_list ap;
    e->status = status;
    if (!e->buf || !e->size)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(e->buf, e->size, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= e->size)
        body_utf8_cut_tail(e->buf);
}

void body_fail_oom(berr_t *e) {
    body_fail(e, 500, "out of memory");
}

/* At most CLIP_MAX bytes of s for a message, cut between characters, with
 * "..." when cut. */
const char *body_clip(const char *s, char out[CLIP_MAX + 4]) {
    size_t n = strlen(s);
    if (n <= CLIP_MAX)
        return s;
    n = CLIP_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    memcpy(out, s, n);
    memcpy(out + n, "...", 4);
    return out;
}

/* ------------------------------------------------------------------ */
/* Strings                                                             */
/* ------------------------------------------------------------------ */

/* @returns the offset of the first byte that starts no valid UTF-8
 * character, or n. */
size_t body_utf8_invalid_at(const char *p, size_t n) {
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0, l;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        if (erps_utf8_decode(s + i, n - i, &l) < 0)
            return i;
        i += l;
    }
    return n;
}

/* Case-insensitive in ASCII only, whatever the locale, as cJSON compares. */
int body_ci_eq(const char *a, const char *b) {
    while (*a &&
           ascii_lower((unsigned char)*a) == ascii_lower((unsigned char)*b))
        a++, b++;
    return ascii_lower((unsigned char)*a) == ascii_lower((unsigned char)*b);
}

void body_sb_put(sbuf_t *b, const void *s, size_t n) {
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1) {
            if (cap > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            cap *= 2;
        }
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void body_sb_putc(sbuf_t *b, char c) {
    body_sb_put(b, &c, 1);
}

/* @returns the NUL-terminated text (the caller frees it), or NULL. */
char *body_sb_take(sbuf_t *b) {
    if (!b->oom && !b->p)
        body_sb_put(b, "", 0);
    if (b->oom) {
        free(b->p);
        b->p = NULL;
        return NULL;
    }
    char *p = b->p;
    b->p = NULL;
    return p;
}

void body_sb_utf8(sbuf_t *b, long cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F)),
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    body_sb_put(b, u, n);
}

/* ------------------------------------------------------------------ */
/* Case-insensitive name sets (duplicate checks, merge lookups)        */
/* ------------------------------------------------------------------ */

static const char ns_tomb[] = "";

static size_t ci_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (uint64_t)ascii_lower((unsigned char)*s);
        h *= 1099511628211ull;
    }
    return (size_t)(h ^ h >> 29);
}

void body_nameset_free(nameset_t *s) {
    free(s->v);
    s->v = NULL;
    s->cap = s->used = 0;
}

nsent_t *body_nameset_find(const nameset_t *s, const char *key) {
    if (!s->cap)
        return NULL;
    for (size_t i = ci_hash(key) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        nsent_t *e = &s->v[i];
        if (!e->key)
            return NULL;
        if (e->key != ns_tomb && body_ci_eq(e->key, key))
            return e;
    }
}

static int nameset_grow(nameset_t *s) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    nsent_t *v = calloc(cap, sizeof(*v));
    if (!v)
        return -1;
    size_t used = 0;
    for (size_t i = 0; i < s->cap; i++) {
        nsent_t *e = &s->v[i];
        if (!e->key || e->key == ns_tomb)
            continue;
        size_t j = ci_hash(e->key) & (cap - 1);
        while (v[j].key)
            j = (j + 1) & (cap - 1);
        v[j] = *e;
        used++;
    }
    free(s->v);
    s->v = v;
    s->cap = cap;
    s->used = used;
    return 0;
}

/* @returns 0 when added, 1 when a name equal but for case is there, -1
 * when out of memory. key must outlive the set. */
int body_nameset_add(nameset_t *s, const char *key, cJSON *item) {
    if (body_nameset_find(s, key))
        return 1;
    if ((s->used + 1) * 2 > s->cap && nameset_grow(s))
        return -1;
    size_t i = ci_hash(key) & (s->cap - 1);
    while (s->v[i].key)
        i = (i + 1) & (s->cap - 1);
    s->v[i].key = key;
    s->v[i].item = item;
    s->used++;
    return 0;
}

void body_nameset_forget(nsent_t *ent) {
    ent->key = ns_tomb;
    ent->item = NULL;
}

/* ---- form escapes ---- */

int body_hexval(unsigned char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (unsigned char)ascii_lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* ------------------------------------------------------------------ */
/* Charsets                                                            */
/* ------------------------------------------------------------------ */

int body_cs_is_utf8(const char *cs) {
    return !cs[0] || body_ci_eq(cs, "utf-8") || body_ci_eq(cs, "utf8") ||
           body_ci_eq(cs, "us-ascii");
}

/* UTF-16, UTF-32, UCS-2 ...: forms percent-encode in UTF-8 under these. */
int body_cs_is_unicode(const char *cs) {
    return !strncasecmp(cs, "utf", 3) || !strncasecmp(cs, "ucs", 3) ||
           !strncasecmp(cs, "unicode", 7);
}

/* glibc's iconv_open reads "//TRANSLIT", "//IGNORE" and "," suffixes, which
 * would change how invalid bytes are treated; a charset is a plain name. */
static int cs_name_ok(const char *cs) {
    for (const char *p = cs; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
              c == ':' || c == '+'))
            return 0;
    }
    return cs[0] != '\0';
}

/* @returns a descriptor from cs to UTF-8, or (iconv_t)-1 with e set (415
 * unknown, 500 otherwise). */
iconv_t body_cs_open(const char *cs, berr_t *e) {
    char c[CLIP_MAX + 4];
    iconv_t cd = (iconv_t)-1;
    if (cs_name_ok(cs))
        cd = iconv_open("UTF-8", cs);
    if (cd == (iconv_t)-1) {
        if (!cs_name_ok(cs) || errno == EINVAL)
            body_fail(e, 415, "charset \"%s\" is not supported",
                      body_clip(cs, c));
        else if (errno == ENOMEM)
            body_fail_oom(e);
        else
            body_fail(e, 500, "charset \"%s\": cannot start the converter",
                      body_clip(cs, c));
    }
    return cd;
}

/* Converts in[0..n) to UTF-8 (NUL-terminated, the caller frees it).
 * @returns the text and *outn, or NULL with *bad the offset of the first
 * byte that is not valid (n: input ends inside a character, SIZE_MAX: out of
 * memory). */
char *body_cs_convert(iconv_t cd, const char *in, size_t n, size_t *outn,
                      size_t *bad) {
    size_t cap = n < SIZE_MAX / 4 - 16 ? n * 2 + 16 : 0;
    char *out = cap ? malloc(cap) : NULL;
    char *ip = (char *)in, *op = out;
    size_t il = n, ol = cap - 1;

    if (!out) {
        *bad = SIZE_MAX;
        return NULL;
    }
    iconv(cd, NULL, NULL, NULL, NULL); /* initial shift state */
    for (;;) {
        if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 &&
            iconv(cd, NULL, NULL, &op, &ol) != (size_t)-1)
            break;
        if (errno == E2BIG && cap < SIZE_MAX / 2) {
            size_t used = (size_t)(op - out);
            char *np = realloc(out, cap * 2);
            if (!np) {
                *bad = SIZE_MAX;
                free(out);
                return NULL;
            }
            out = np;
            cap *= 2;
            op = out + used;
            ol = cap - used - 1;
            continue;
        }
        *bad = errno == EINVAL  ? n
               : errno == E2BIG ? SIZE_MAX
                                : (size_t)(ip - in);
        free(out);
        return NULL;
    }
    *op = '\0';
    *outn = (size_t)(op - out);
    return out;
}

const char *body_where_note(const text_t *t) {
    return t->converted ? " of the body converted to UTF-8" : "";
}

int body_text_from_body(const char *cs, const char *body, size_t len, text_t *t,
                        berr_t *e) {
    char c[CLIP_MAX + 4];
    memset(t, 0, sizeof(*t));
    if (body_cs_is_utf8(cs)) {
        size_t bad = body_utf8_invalid_at(body, len);
        if (bad < len) {
            body_fail(e, 400, "the body is not valid UTF-8 (byte %zu)", bad);
            return -1;
        }
        t->p = body;
        t->n = len;
    } else {
        iconv_t cd = body_cs_open(cs, e);
        size_t bad = 0;
        if (cd == (iconv_t)-1)
            return -1;
        t->owned = body_cs_convert(cd, body, len, &t->n, &bad);
        iconv_close(cd);
        if (!t->owned) {
            if (bad == SIZE_MAX)
                body_fail_oom(e);
            else if (bad >= len)
                body_fail(e, 400, "the body ends inside a %s character",
                          body_clip(cs, c));
            else
                body_fail(e, 400, "the body is not valid %s (byte %zu)",
                          body_clip(cs, c), bad);
            return -1;
        }
        /* iconv writes UTF-8; a converter that passes bad bytes through
         * (UTF-8 aliases) must not pass them on to us. */
        bad = body_utf8_invalid_at(t->owned, t->n);
        if (bad < t->n) {
            body_fail(e, 400,
                      "the body is not valid %s (byte %zu of the body "
                      "converted to UTF-8)",
                      body_clip(cs, c), bad);
            free(t->owned);
            t->owned = NULL;
            return -1;
        }
        t->p = t->owned;
        t->converted = 1;
    }
    if (t->n >= 3 && !memcmp(t->p, "\xEF\xBB\xBF", 3)) {
        t->p += 3;
        t->n -= 3;
        t->skipped = 3;
    }
    return 0;
}
