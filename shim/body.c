/*
 * body.c - request bodies into cJSON request objects, answers into
 * DataContract XML.
 *
 * Everything here works on the caller's buffers and per-call state (a fresh
 * libxml2 parser context, iconv descriptor and text writer per call), so any
 * number of HTTP threads may decode and encode at once. Each recursion is
 * bounded by a depth limit checked before it descends; the XML encoder walks
 * iteratively because it takes any cJSON tree.
 */
#include "body.h"

#include <errno.h>
#include <iconv.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlwriter.h>

#include "erpsync/util.h"

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

typedef struct berr {
    int status;
    char *buf;
    size_t size;
} berr_t;

/* Cuts a truncated message before a character snprintf cut in half, so the
 * message stays valid UTF-8 for the JSON or XML error answer. */
static void utf8_cut_tail(char *s) {
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

__attribute__((format(printf, 3, 4))) static void fail(berr_t *e, int status,
                                                       const char *fmt, ...) {
    va_list ap;
    e->status = status;
    if (!e->buf || !e->size)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(e->buf, e->size, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= e->size)
        utf8_cut_tail(e->buf);
}

static void fail_oom(berr_t *e) { fail(e, 500, "out of memory"); }

#define CLIP_MAX 64

/* At most CLIP_MAX bytes of s for a message, cut between characters, with
 * "..." when cut. */
static const char *clip(const char *s, char out[CLIP_MAX + 4]) {
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
static size_t utf8_invalid_at(const char *p, size_t n) {
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

static int ascii_lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Case-insensitive in ASCII only, whatever the locale, as cJSON compares. */
static int ci_eq(const char *a, const char *b) {
    while (*a && ascii_lower((unsigned char)*a) == ascii_lower((unsigned char)*b))
        a++, b++;
    return ascii_lower((unsigned char)*a) == ascii_lower((unsigned char)*b);
}

/* A growable byte buffer; oom latches so callers check once at the end. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf_t;

static void sb_put(sbuf_t *b, const void *s, size_t n) {
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

static void sb_putc(sbuf_t *b, char c) { sb_put(b, &c, 1); }

/* @returns the NUL-terminated text (the caller frees it), or NULL. */
static char *sb_take(sbuf_t *b) {
    if (!b->oom && !b->p)
        sb_put(b, "", 0);
    if (b->oom) {
        free(b->p);
        b->p = NULL;
        return NULL;
    }
    char *p = b->p;
    b->p = NULL;
    return p;
}

static void sb_utf8(sbuf_t *b, long cp) {
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
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    sb_put(b, u, n);
}

/* ------------------------------------------------------------------ */
/* Case-insensitive name sets (duplicate checks, merge lookups)        */
/* ------------------------------------------------------------------ */

/* Hashing keeps a body with many members linear; comparing each new name
 * with all before it would be quadratic in the body size. */
typedef struct nsent {
    const char *key; /* NULL: free slot; ns_tomb: deleted */
    cJSON *item;
} nsent_t;

typedef struct nameset {
    nsent_t *v;
    size_t cap, used; /* used counts tombstones too */
} nameset_t;

static const char ns_tomb[] = "";

static size_t ci_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (uint64_t)ascii_lower((unsigned char)*s);
        h *= 1099511628211ull;
    }
    return (size_t)(h ^ h >> 29);
}

static void nameset_free(nameset_t *s) {
    free(s->v);
    s->v = NULL;
    s->cap = s->used = 0;
}

static nsent_t *nameset_find(const nameset_t *s, const char *key) {
    if (!s->cap)
        return NULL;
    for (size_t i = ci_hash(key) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        nsent_t *e = &s->v[i];
        if (!e->key)
            return NULL;
        if (e->key != ns_tomb && ci_eq(e->key, key))
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
static int nameset_add(nameset_t *s, const char *key, cJSON *item) {
    if (nameset_find(s, key))
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

/* ------------------------------------------------------------------ */
/* Charsets                                                            */
/* ------------------------------------------------------------------ */

static int cs_is_utf8(const char *cs) {
    return !cs[0] || ci_eq(cs, "utf-8") || ci_eq(cs, "utf8") ||
           ci_eq(cs, "us-ascii");
}

/* UTF-16, UTF-32, UCS-2 ...: forms percent-encode in UTF-8 under these. */
static int cs_is_unicode(const char *cs) {
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
static iconv_t cs_open(const char *cs, berr_t *e) {
    char c[CLIP_MAX + 4];
    iconv_t cd = (iconv_t)-1;
    if (cs_name_ok(cs))
        cd = iconv_open("UTF-8", cs);
    if (cd == (iconv_t)-1) {
        if (!cs_name_ok(cs) || errno == EINVAL)
            fail(e, 415, "charset \"%s\" is not supported", clip(cs, c));
        else if (errno == ENOMEM)
            fail_oom(e);
        else
            fail(e, 500, "charset \"%s\": cannot start the converter",
                 clip(cs, c));
    }
    return cd;
}

/* Converts in[0..n) to UTF-8 (NUL-terminated, the caller frees it).
 * @returns the text and *outn, or NULL with *bad the offset of the first
 * byte that is not valid (n: input ends inside a character, SIZE_MAX: out of
 * memory). */
static char *cs_convert(iconv_t cd, const char *in, size_t n, size_t *outn,
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
        *bad = errno == EINVAL ? n : errno == E2BIG ? SIZE_MAX
                                                     : (size_t)(ip - in);
        free(out);
        return NULL;
    }
    *op = '\0';
    *outn = (size_t)(op - out);
    return out;
}

/* The body as UTF-8 text. */
typedef struct text {
    const char *p;
    size_t n;
    char *owned;
    size_t skipped;   /* BOM bytes skipped, for offsets in messages */
    int converted;    /* offsets are in the converted text */
} text_t;

static const char *where_note(const text_t *t) {
    return t->converted ? " of the body converted to UTF-8" : "";
}

static int text_from_body(const char *cs, const char *body, size_t len,
                          text_t *t, berr_t *e) {
    char c[CLIP_MAX + 4];
    memset(t, 0, sizeof(*t));
    if (cs_is_utf8(cs)) {
        size_t bad = utf8_invalid_at(body, len);
        if (bad < len) {
            fail(e, 400, "the body is not valid UTF-8 (byte %zu)", bad);
            return -1;
        }
        t->p = body;
        t->n = len;
    } else {
        iconv_t cd = cs_open(cs, e);
        size_t bad = 0;
        if (cd == (iconv_t)-1)
            return -1;
        t->owned = cs_convert(cd, body, len, &t->n, &bad);
        iconv_close(cd);
        if (!t->owned) {
            if (bad == SIZE_MAX)
                fail_oom(e);
            else if (bad >= len)
                fail(e, 400, "the body ends inside a %s character",
                     clip(cs, c));
            else
                fail(e, 400, "the body is not valid %s (byte %zu)",
                     clip(cs, c), bad);
            return -1;
        }
        /* iconv writes UTF-8; a converter that passes bad bytes through
         * (UTF-8 aliases) must not pass them on to us. */
        bad = utf8_invalid_at(t->owned, t->n);
        if (bad < t->n) {
            fail(e, 400, "the body is not valid %s (byte %zu of the body "
                 "converted to UTF-8)", clip(cs, c), bad);
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

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

static int json_blank(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* End of an RFC 8259 number at s[i], or SIZE_MAX with *bad. */
static size_t json_number_end(const unsigned char *s, size_t n, size_t i,
                              size_t *bad) {
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0') {
        i++;
    } else if (i < n && s[i] >= '1' && s[i] <= '9') {
        while (i < n && is_digit(s[i]))
            i++;
    } else {
        *bad = i;
        return SIZE_MAX;
    }
    if (i < n && s[i] == '.') {
        if (++i >= n || !is_digit(s[i])) {
            *bad = i;
            return SIZE_MAX;
        }
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i])) {
            *bad = i;
            return SIZE_MAX;
        }
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (is_digit(s[i]) || s[i] == '.' || s[i] == 'e' ||
                  s[i] == 'E' || s[i] == '+' || s[i] == '-')) {
        *bad = i;
        return SIZE_MAX;
    }
    return i;
}

/*
 * cJSON is lenient where RFC 8259 is not: it takes every byte up to 0x20
 * (NUL too) as a blank, control characters and \u0000 inside strings (the
 * latter silently cuts the string), and numbers such as 01, 1. or -.5. Run
 * on text cJSON accepted, so strings are known to be closed.
 * @returns the offset of the first byte RFC 8259 forbids, or n.
 */
static size_t json_strict_scan(const char *p, size_t n) {
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0, bad = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c == '"') {
            for (i++; i < n && s[i] != '"'; i++) {
                if (s[i] < 0x20)
                    return i;
                if (s[i] == '\\') {
                    if (i + 5 < n && s[i + 1] == 'u' && !memcmp(s + i + 2, "0000", 4))
                        return i;
                    i++;
                }
            }
            i++;
        } else if (c == '-' || is_digit(c)) {
            i = json_number_end(s, n, i, &bad);
            if (i == SIZE_MAX)
                return bad;
        } else if (json_blank(c) || strchr("{}[]:,", c) ||
                   (c >= 'a' && c <= 'z')) {
            i++; /* cJSON checked the literals true, false and null */
        } else {
            return i;
        }
    }
    return n;
}

/* Parses any JSON value filling the whole text. */
static cJSON *json_parse(const text_t *t, berr_t *e) {
    const char *end = NULL;
    size_t at = 0;
    while (at < t->n && json_blank((unsigned char)t->p[at]))
        at++;
    if (at == t->n) { /* the commonest mistake deserves its own words */
        fail(e, 400, "the request body is empty");
        return NULL;
    }
    cJSON *v = cJSON_ParseWithLengthOpts(t->p, t->n, &end, 0);

    if (!v) {
        at = end && end >= t->p && end <= t->p + t->n ? (size_t)(end - t->p)
                                                        : 0;
        goto bad;
    }
    for (at = (size_t)(end - t->p); at < t->n; at++)
        if (!json_blank((unsigned char)t->p[at]))
            goto bad;
    at = json_strict_scan(t->p, t->n);
    if (at < t->n)
        goto bad;
    return v;
bad:
    cJSON_Delete(v);
    fail(e, 400, "the body is not valid JSON (at byte %zu%s)", at + t->skipped,
         where_note(t));
    return NULL;
}

#define CHECK_NAMES 1 /* no empty names, no names equal but for case */

/*
 * Checks depth (the container v is at level depth) and, with CHECK_NAMES,
 * the member names of every object. Stops descending past the limit, so the
 * recursion is bounded whatever v holds. where: the member holding v.
 * @returns 0, or -1 with e set.
 */
static int json_check(const cJSON *v, int depth, int flags, const char *where,
                      berr_t *e) {
    char c1[CLIP_MAX + 4], c2[CLIP_MAX + 4];
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return 0;
    if (depth > ERPS_BODY_JSON_MAX_DEPTH) {
        fail(e, 400, "the body is nested deeper than %d levels",
             ERPS_BODY_JSON_MAX_DEPTH);
        return -1;
    }
    nameset_t set = {0};
    int rc = 0;
    int names = cJSON_IsObject(v) && (flags & CHECK_NAMES);
    for (const cJSON *m = v->child; m && !rc; m = m->next) {
        if (names) {
            if (!m->string || !m->string[0]) {
                fail(e, 400, "a member name is empty%s%s%s", where ? " (in '" : "",
                     where ? clip(where, c1) : "", where ? "')" : "");
                rc = -1;
                break;
            }
            int r = nameset_add(&set, m->string, NULL);
            if (r < 0) {
                fail_oom(e);
                rc = -1;
            } else if (r > 0) {
                fail(e, 400, "member '%s' appears twice%s%s%s",
                     clip(m->string, c2), where ? " (in '" : "",
                     where ? clip(where, c1) : "", where ? "')" : "");
                rc = -1;
            }
            if (rc)
                break;
        }
        rc = json_check(m, depth + 1, flags,
                        cJSON_IsObject(v) ? m->string : where, e);
    }
    nameset_free(&set);
    return rc;
}

/* Depth of v (a scalar 0, an empty container 1), at most cap + 1. */
static int json_depth(const cJSON *v, int cap) {
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return 0;
    if (cap <= 0)
        return 1;
    int d = 0;
    for (const cJSON *m = v->child; m; m = m->next) {
        int md = json_depth(m, cap - 1);
        if (md > d)
            d = md;
    }
    return d + 1;
}

/* Nodes and string bytes of v (depth already bounded). */
static void json_size(const cJSON *v, size_t *nodes, size_t *bytes) {
    for (; v; v = v->next) {
        (*nodes)++;
        if (v->string)
            *bytes += strlen(v->string);
        if (cJSON_IsString(v) && v->valuestring)
            *bytes += strlen(v->valuestring);
        if (v->child)
            json_size(v->child, nodes, bytes);
    }
}

/* Gives item a new name (NULL: none). @returns 0 or -1 (out of memory). */
static int set_name(cJSON *item, const char *name) {
    char *n = name ? strdup(name) : NULL;
    if (name && !n)
        return -1;
    if (item->string && !(item->type & cJSON_StringIsConst))
        free(item->string);
    item->type &= ~cJSON_StringIsConst;
    item->string = n;
    return 0;
}

static int cmp_named(const void *a, const void *b) {
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

/* JSON equality for the "test" operation: numbers by value, arrays in
 * order, objects by exactly spelled names in any order. Depth is bounded
 * by the callers. @returns 1, 0, or -1 (out of memory). */
static int json_equal(const cJSON *a, const cJSON *b) {
    if ((a->type & 0xFF) != (b->type & 0xFF))
        return 0;
    if (cJSON_IsNumber(a))
        return a->valuedouble == b->valuedouble;
    if (cJSON_IsString(a) || cJSON_IsRaw(a))
        return strcmp(a->valuestring ? a->valuestring : "",
                      b->valuestring ? b->valuestring : "") == 0;
    if (cJSON_IsArray(a)) {
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next) {
            int r = json_equal(x, y);
            if (r != 1)
                return r;
        }
        return !x && !y;
    }
    if (!cJSON_IsObject(a))
        return 1; /* null, true, false */
    int n = cJSON_GetArraySize(a);
    if (n != cJSON_GetArraySize(b))
        return 0;
    if (n == 0)
        return 1;
    /* Sorted by name, so large objects compare in n log n. */
    const cJSON **va = malloc(2 * (size_t)n * sizeof(*va));
    if (!va)
        return -1;
    const cJSON **vb = va + n;
    int i = 0;
    for (const cJSON *m = a->child; m; m = m->next)
        va[i++] = m;
    i = 0;
    for (const cJSON *m = b->child; m; m = m->next)
        vb[i++] = m;
    qsort(va, (size_t)n, sizeof(*va), cmp_named);
    qsort(vb, (size_t)n, sizeof(*vb), cmp_named);
    int r = 1;
    for (i = 0; i < n && r == 1; i++) {
        if (strcmp(va[i]->string ? va[i]->string : "",
                   vb[i]->string ? vb[i]->string : "") != 0)
            r = 0;
        else
            r = json_equal(va[i], vb[i]);
    }
    free(va);
    return r;
}

/* ------------------------------------------------------------------ */
/* JSON patch (RFC 6902) with JSON pointers (RFC 6901)                 */
/* ------------------------------------------------------------------ */

typedef struct jtok {
    const char *s; /* escaped, as in the pointer */
    size_t n;
} jtok_t;

#define PTR_MAX_TOKENS (ERPS_BODY_JSON_MAX_DEPTH + 1)

/* @returns the token count, -1 when ptr is not a JSON pointer, -2 when it
 * has more tokens than any document here can hold. */
static int ptr_split(const char *ptr, jtok_t *tok) {
    int n = 0;
    if (!ptr[0])
        return 0;
    if (ptr[0] != '/')
        return -1;
    const char *p = ptr + 1;
    for (;;) {
        const char *q = p;
        while (*q && *q != '/') {
            if (*q == '~' && q[1] != '0' && q[1] != '1')
                return -1;
            q++;
        }
        if (n == PTR_MAX_TOKENS)
            return -2;
        tok[n].s = p;
        tok[n].n = (size_t)(q - p);
        n++;
        if (!*q)
            return n;
        p = q + 1;
    }
}

/* Does token t name member name (case-insensitively)? */
static int tok_is(const jtok_t *t, const char *name) {
    size_t i = 0;
    for (; i < t->n; i++, name++) {
        char c = t->s[i];
        if (c == '~') {
            c = t->s[++i] == '0' ? '~' : '/';
        }
        if (!*name || ascii_lower((unsigned char)c) != ascii_lower((unsigned char)*name))
            return 0;
    }
    return *name == '\0';
}

static char *tok_unescape(const jtok_t *t) {
    char *out = malloc(t->n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < t->n; i++) {
        char c = t->s[i];
        if (c == '~')
            c = t->s[++i] == '0' ? '~' : '/';
        *o++ = c;
    }
    *o = '\0';
    return out;
}

/* Array index in t: "0" or digits without a leading zero, below limit.
 * @returns the index or -1. */
static int tok_index(const jtok_t *t, int limit) {
    long v = 0;
    if (t->n == 0 || t->n > 9 || (t->n > 1 && t->s[0] == '0'))
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        if (!is_digit((unsigned char)t->s[i]))
            return -1;
        v = v * 10 + (t->s[i] - '0');
    }
    return v < limit ? (int)v : -1;
}

static int tok_is_end(const jtok_t *t) { return t->n == 1 && t->s[0] == '-'; }

static cJSON *obj_member(const cJSON *obj, const jtok_t *t) {
    for (cJSON *m = obj->child; m; m = m->next)
        if (m->string && tok_is(t, m->string))
            return m;
    return NULL;
}

/* The value at tok[0..n), or NULL. */
static cJSON *ptr_get(cJSON *doc, const jtok_t *tok, int n) {
    cJSON *cur = doc;
    for (int i = 0; i < n && cur; i++) {
        if (cJSON_IsObject(cur)) {
            cur = obj_member(cur, &tok[i]);
        } else if (cJSON_IsArray(cur)) {
            int idx = tok_index(&tok[i], cJSON_GetArraySize(cur));
            cur = idx < 0 ? NULL : cJSON_GetArrayItem(cur, idx);
        } else {
            cur = NULL;
        }
    }
    return cur;
}

typedef struct patch {
    cJSON *doc;
    int index;        /* of the operation */
    const char *op;   /* its name */
    size_t copied_nodes, copied_bytes;
    berr_t *e;
} patch_t;

__attribute__((format(printf, 2, 3))) static void op_fail(patch_t *pt,
                                                          const char *fmt, ...) {
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    utf8_cut_tail(reason);
    if (pt->op)
        fail(pt->e, 400, "JSON patch operation %d (%s): %s", pt->index, pt->op,
             reason);
    else
        fail(pt->e, 400, "JSON patch operation %d: %s", pt->index, reason);
}

static void op_missing(patch_t *pt, const char *what, const char *ptr) {
    char c[CLIP_MAX + 4];
    op_fail(pt, "%s \"%s\" does not exist", what, clip(ptr, c));
}

/* Resolves a pointer member of the operation. @returns the token count or
 * -1 with the error set. */
static int op_ptr(patch_t *pt, const char *what, const char *ptr, jtok_t *tok) {
    char c[CLIP_MAX + 4];
    int n = ptr_split(ptr, tok);
    if (n == -1)
        op_fail(pt, "%s \"%s\" is not a JSON pointer", what, clip(ptr, c));
    else if (n == -2)
        op_missing(pt, what, ptr);
    return n < 0 ? -1 : n;
}

/* Debian's cJSON 1.7.15-1+deb12u4 refuses cJSON_InsertItemInArray before
 * any item but the first, so insert by hand. cJSON's lists: child->prev is
 * the last item, the last item's next is NULL. */
static void list_insert_before(cJSON *parent, cJSON *at, cJSON *item) {
    item->next = at;
    item->prev = at->prev;
    if (at == parent->child)
        parent->child = item;
    else
        item->prev->next = item;
    at->prev = item;
}

/* Puts value (owned; freed on failure) at tok[0..n): RFC 6902 "add", or
 * with replace set "replace" (an array item is replaced, not shifted). */
static int patch_put(patch_t *pt, const char *ptr, const jtok_t *tok, int n,
                     cJSON *value, int replace) {
    char c[CLIP_MAX + 4];
    if (n + json_depth(value, ERPS_BODY_JSON_MAX_DEPTH) > ERPS_BODY_JSON_MAX_DEPTH) {
        op_fail(pt, "the result would be nested deeper than %d levels",
                ERPS_BODY_JSON_MAX_DEPTH);
        goto err;
    }
    if (n == 0) {
        if (set_name(value, NULL))
            goto oom;
        cJSON_Delete(pt->doc);
        pt->doc = value;
        return 0;
    }
    cJSON *parent = ptr_get(pt->doc, tok, n - 1);
    const jtok_t *last = &tok[n - 1];
    if (cJSON_IsObject(parent)) {
        cJSON *old = obj_member(parent, last);
        if (old) {
            if (set_name(value, old->string))
                goto oom;
            cJSON_ReplaceItemViaPointer(parent, old, value);
            return 0;
        }
        char *name = tok_unescape(last);
        if (!name || set_name(value, NULL)) {
            free(name);
            goto oom;
        }
        value->string = name;
        cJSON_AddItemToArray(parent, value); /* keeps value->string */
        return 0;
    }
    if (cJSON_IsArray(parent)) {
        if (set_name(value, NULL))
            goto oom;
        int size = cJSON_GetArraySize(parent);
        if (tok_is_end(last)) {
            cJSON_AddItemToArray(parent, value);
            return 0;
        }
        int idx = tok_index(last, replace ? size : size + 1);
        if (idx < 0) {
            op_fail(pt, "path \"%s\" is not an index into an array of %d "
                    "items", clip(ptr, c), size);
            goto err;
        }
        if (replace) {
            cJSON_ReplaceItemViaPointer(parent, cJSON_GetArrayItem(parent, idx),
                                        value);
        } else if (idx == size) {
            cJSON_AddItemToArray(parent, value);
        } else {
            list_insert_before(parent, cJSON_GetArrayItem(parent, idx), value);
        }
        return 0;
    }
    op_missing(pt, "path", ptr);
    goto err;
oom:
    fail_oom(pt->e);
err:
    cJSON_Delete(value);
    return -1;
}

/* Takes the value at tok[0..n) out of the document (n > 0). @returns it, or
 * NULL with the error set. */
static cJSON *patch_detach(patch_t *pt, const char *what, const char *ptr,
                           const jtok_t *tok, int n) {
    cJSON *parent = ptr_get(pt->doc, tok, n - 1), *item = NULL;
    if (cJSON_IsObject(parent))
        item = obj_member(parent, &tok[n - 1]);
    else if (cJSON_IsArray(parent))
        item = ptr_get(parent, &tok[n - 1], 1);
    if (!item) {
        op_missing(pt, what, ptr);
        return NULL;
    }
    return cJSON_DetachItemViaPointer(parent, item);
}

static cJSON *new_null_doc(patch_t *pt) {
    cJSON *v = cJSON_CreateNull();
    if (!v)
        fail_oom(pt->e);
    return v;
}

/* Is pointer a (as tokens) a proper prefix of b? */
static int tok_prefix(const jtok_t *a, int na, const jtok_t *b, int nb) {
    if (na >= nb)
        return 0;
    for (int i = 0; i < na; i++) {
        char *x = tok_unescape(&a[i]);
        int same = x && tok_is(&b[i], x);
        free(x);
        if (!same)
            return 0;
    }
    return 1;
}

static int patch_one(patch_t *pt, const cJSON *opj) {
    static const char *const ops[] = {"add", "remove", "replace", "move",
                                      "copy", "test"};
    jtok_t tok[PTR_MAX_TOKENS], from_tok[PTR_MAX_TOKENS];
    char c[CLIP_MAX + 4];
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(opj, "op");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(opj, "path");
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(opj, "from");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(opj, "value");
    size_t k;

    pt->op = NULL;
    if (!cJSON_IsObject(opj)) {
        op_fail(pt, "an operation must be a JSON object");
        return -1;
    }
    if (!op) {
        op_fail(pt, "'op' is missing");
        return -1;
    }
    if (!cJSON_IsString(op)) {
        op_fail(pt, "'op' must be a string");
        return -1;
    }
    for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
        if (!strcmp(op->valuestring, ops[k]))
            break;
    if (k == sizeof(ops) / sizeof(ops[0])) {
        op_fail(pt, "unknown op \"%s\" (expected add, remove, replace, move, "
                "copy or test)", clip(op->valuestring, c));
        return -1;
    }
    pt->op = ops[k];
    if (!path) {
        op_fail(pt, "'path' is missing");
        return -1;
    }
    if (!cJSON_IsString(path)) {
        op_fail(pt, "'path' must be a string");
        return -1;
    }
    int n = op_ptr(pt, "path", path->valuestring, tok), nf = 0;
    if (n < 0)
        return -1;
    const char *p = path->valuestring;
    if (k == 3 || k == 4) { /* move, copy */
        if (!from) {
            op_fail(pt, "'from' is missing");
            return -1;
        }
        if (!cJSON_IsString(from)) {
            op_fail(pt, "'from' must be a string");
            return -1;
        }
        nf = op_ptr(pt, "from", from->valuestring, from_tok);
        if (nf < 0)
            return -1;
    } else if (k != 1 && !value) { /* add, replace, test */
        op_fail(pt, "'value' is missing");
        return -1;
    }

    switch (k) {
    case 0: { /* add */
        cJSON *v = cJSON_Duplicate(value, 1);
        if (!v) {
            fail_oom(pt->e);
            return -1;
        }
        return patch_put(pt, p, tok, n, v, 0);
    }
    case 1: /* remove */
        if (n == 0) {
            cJSON *nd = new_null_doc(pt);
            if (!nd)
                return -1;
            cJSON_Delete(pt->doc);
            pt->doc = nd;
            return 0;
        } else {
            cJSON *old = patch_detach(pt, "path", p, tok, n);
            if (!old)
                return -1;
            cJSON_Delete(old);
            return 0;
        }
    case 2: { /* replace: the target must exist, then as add */
        if (!ptr_get(pt->doc, tok, n)) {
            op_missing(pt, "path", p);
            return -1;
        }
        cJSON *v = cJSON_Duplicate(value, 1);
        if (!v) {
            fail_oom(pt->e);
            return -1;
        }
        return patch_put(pt, p, tok, n, v, 1);
    }
    case 3: { /* move: remove "from", then add at "path" */
        if (tok_prefix(from_tok, nf, tok, n)) {
            op_fail(pt, "cannot move \"%s\" into itself",
                    clip(from->valuestring, c));
            return -1;
        }
        if (nf == 0) { /* "" to "": the document stays */
            return 0;
        }
        cJSON *v = patch_detach(pt, "from", from->valuestring, from_tok, nf);
        if (!v)
            return -1;
        return patch_put(pt, p, tok, n, v, 0);
    }
    case 4: { /* copy */
        const cJSON *src = ptr_get(pt->doc, from_tok, nf);
        if (!src) {
            op_missing(pt, "from", from->valuestring);
            return -1;
        }
        /* Copies are the one way a patch grows past its own size: each
         * could double the document. */
        json_size(src->child, &pt->copied_nodes, &pt->copied_bytes);
        pt->copied_nodes++;
        if (cJSON_IsString(src) && src->valuestring)
            pt->copied_bytes += strlen(src->valuestring);
        if (pt->copied_nodes > ERPS_BODY_PATCH_COPY_MAX_NODES ||
            pt->copied_bytes > ERPS_BODY_PATCH_COPY_MAX_BYTES) {
            op_fail(pt, "the copies make the result too large (more than %d "
                    "values or %d bytes copied)", ERPS_BODY_PATCH_COPY_MAX_NODES,
                    ERPS_BODY_PATCH_COPY_MAX_BYTES);
            return -1;
        }
        cJSON *v = cJSON_Duplicate(src, 1);
        if (!v) {
            fail_oom(pt->e);
            return -1;
        }
        return patch_put(pt, p, tok, n, v, 0);
    }
    default: { /* test */
        const cJSON *cur = ptr_get(pt->doc, tok, n);
        if (!cur) {
            op_missing(pt, "path", p);
            return -1;
        }
        int r = json_equal(cur, value);
        if (r < 0)
            fail_oom(pt->e);
        else if (r == 0)
            op_fail(pt, "value differs at \"%s\"", clip(p, c));
        return r == 1 ? 0 : -1;
    }
    }
}

static cJSON *dup_base(const cJSON *base, berr_t *e) {
    cJSON *d = base ? cJSON_Duplicate(base, 1) : cJSON_CreateObject();
    if (!d)
        fail_oom(e);
    return d;
}

static cJSON *json_patch(const cJSON *ops, const cJSON *base, berr_t *e) {
    patch_t pt = {0};
    pt.e = e;
    if (!cJSON_IsArray(ops)) {
        fail(e, 400, "a JSON patch must be a JSON array of operations");
        return NULL;
    }
    if (cJSON_GetArraySize(ops) > ERPS_BODY_PATCH_MAX_OPS) {
        fail(e, 400, "a JSON patch may hold at most %d operations",
             ERPS_BODY_PATCH_MAX_OPS);
        return NULL;
    }
    pt.doc = dup_base(base, e);
    if (!pt.doc)
        return NULL;
    for (const cJSON *o = ops->child; o; o = o->next, pt.index++) {
        if (patch_one(&pt, o)) {
            cJSON_Delete(pt.doc);
            return NULL;
        }
    }
    if (!cJSON_IsObject(pt.doc)) {
        fail(e, 400, "the result of the JSON patch is not a JSON object");
        cJSON_Delete(pt.doc);
        return NULL;
    }
    return pt.doc;
}

/* ------------------------------------------------------------------ */
/* Merge patch (RFC 7396)                                              */
/* ------------------------------------------------------------------ */

/* Merges patch (an object, checked: no names equal but for case, bounded
 * depth) into target (an object) in place. @returns 0 or -1 (out of
 * memory, e set). */
static int merge_into(cJSON *target, const cJSON *patch, berr_t *e) {
    nameset_t set = {0};
    int rc = -1;
    for (cJSON *m = target->child; m; m = m->next)
        if (m->string && nameset_add(&set, m->string, m) < 0)
            goto out;
    for (const cJSON *p = patch->child; p; p = p->next) {
        nsent_t *ent = nameset_find(&set, p->string);
        cJSON *old = ent ? ent->item : NULL, *nv;
        if (cJSON_IsNull(p)) {
            if (old) {
                cJSON_Delete(cJSON_DetachItemViaPointer(target, old));
                ent->key = ns_tomb;
                ent->item = NULL;
            }
            continue;
        }
        if (cJSON_IsObject(p) && cJSON_IsObject(old)) {
            if (merge_into(old, p, e))
                goto out;
            continue;
        }
        if (cJSON_IsObject(p)) {
            nv = cJSON_CreateObject();
            if (nv && merge_into(nv, p, e)) {
                cJSON_Delete(nv);
                goto out;
            }
        } else {
            nv = cJSON_Duplicate(p, 1);
        }
        if (!nv || set_name(nv, old ? old->string : p->string)) {
            cJSON_Delete(nv);
            goto oom;
        }
        if (old) {
            cJSON_ReplaceItemViaPointer(target, old, nv);
            ent->key = nv->string;
            ent->item = nv;
        } else {
            /* The patch has no two names equal but for case, so nothing
             * added here is looked up again. */
            cJSON_AddItemToArray(target, nv);
        }
    }
    rc = 0;
    goto out;
oom:
    fail_oom(e);
out:
    nameset_free(&set);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Form                                                                */
/* ------------------------------------------------------------------ */

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (unsigned char)ascii_lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes s[0..n) ("+" space, %XX). off: s's offset in the body.
 * @returns the bytes (NUL-terminated, the caller frees them) and *outn, or
 * NULL with e set. */
static char *pct_decode(const char *s, size_t n, size_t off, const text_t *t,
                        size_t *outn, berr_t *e) {
    char *out = malloc(n + 1), *o = out;
    if (!out) {
        fail_oom(e);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%') {
            int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                fail(e, 400, "the body has a malformed %%-escape at byte "
                     "%zu%s (expected %% and two hex digits)",
                     off + i + t->skipped, where_note(t));
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
                 clip(name, c1));
    else
        snprintf(what, sizeof(what), "the form field name at byte %zu", pair_at);
    if (cd != (iconv_t)-1) {
        size_t bad = 0, on = 0;
        char *u = cs_convert(cd, raw, n, &on, &bad);
        free(raw);
        if (!u) {
            if (bad == SIZE_MAX)
                fail_oom(e);
            else
                fail(e, 400, "%s is not valid %s", what, clip(cs, c2));
            return NULL;
        }
        raw = u;
        n = on;
    }
    if (utf8_invalid_at(raw, n) < n) {
        fail(e, 400, "%s is not valid UTF-8", what);
        free(raw);
        return NULL;
    }
    if (memchr(raw, '\0', n)) {
        fail(e, 400, "%s contains a NUL character", what);
        free(raw);
        return NULL;
    }
    return raw;
}

static cJSON *decode_form(const char *cs, const char *body, size_t len,
                          berr_t *e) {
    char c1[CLIP_MAX + 4];
    text_t t;
    iconv_t cd = (iconv_t)-1;
    nameset_t set = {0};
    cJSON *obj = NULL;

    /* Legacy charsets: split the raw bytes (ASCII-compatible), decode the
     * escapes, then convert, so "Caf%E9" and a raw "Caf\xE9" both read as
     * Café. Unicode charsets: convert first; escapes are UTF-8 then. */
    if (!cs_is_utf8(cs) && !cs_is_unicode(cs)) {
        cd = cs_open(cs, e);
        if (cd == (iconv_t)-1)
            return NULL;
        memset(&t, 0, sizeof(t));
        t.p = body;
        t.n = len;
    } else if (text_from_body(cs, body, len, &t, e)) {
        return NULL;
    }
    obj = cJSON_CreateObject();
    if (!obj) {
        fail_oom(e);
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
            fail(e, 400, "a form field has an empty name (byte %zu%s)",
                 i + t.skipped, where_note(&t));
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
            fail_oom(e);
            goto err;
        }
        free(name);
        int r = nameset_add(&set, v->string, v);
        if (r < 0) {
            fail_oom(e);
            goto err;
        }
        if (r > 0) {
            fail(e, 400, "form field '%s' appears twice", clip(v->string, c1));
            goto err;
        }
    }
    nameset_free(&set);
    if (cd != (iconv_t)-1)
        iconv_close(cd);
    free(t.owned);
    return obj;
err:
    nameset_free(&set);
    if (cd != (iconv_t)-1)
        iconv_close(cd);
    free(t.owned);
    cJSON_Delete(obj);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* XML names (.NET XmlConvert.EncodeLocalName / DecodeName)            */
/* ------------------------------------------------------------------ */

static int xml_name_start(long c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           (c >= 0xC0 && c <= 0xD6) || (c >= 0xD8 && c <= 0xF6) ||
           (c >= 0xF8 && c <= 0x2FF) || (c >= 0x370 && c <= 0x37D) ||
           (c >= 0x37F && c <= 0x1FFF) || (c >= 0x200C && c <= 0x200D) ||
           (c >= 0x2070 && c <= 0x218F) || (c >= 0x2C00 && c <= 0x2FEF) ||
           (c >= 0x3001 && c <= 0xD7FF) || (c >= 0xF900 && c <= 0xFDCF) ||
           (c >= 0xFDF0 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0xEFFFF);
}

/* NCName characters: XML 1.0 fifth edition NameChar without ':'. */
static int xml_name_char(long c) {
    return xml_name_start(c) || c == '-' || c == '.' || (c >= '0' && c <= '9') ||
           c == 0xB7 || (c >= 0x300 && c <= 0x36F) || (c >= 0x203F && c <= 0x2040);
}

/* Length of an escape "_xHHHH_" or "_xHHHHHHHH_" at s (0 if none) and its
 * code point (-1 when it names none, e.g. _x0000_). s is NUL-terminated. */
static size_t name_escape_at(const char *s, long *cp) {
    size_t h = 0;
    long v = 0;
    *cp = -1;
    if (s[0] != '_' || s[1] != 'x')
        return 0;
    while (h < 8 && hexval((unsigned char)s[2 + h]) >= 0) {
        v = v << 4 | hexval((unsigned char)s[2 + h]);
        h++;
    }
    if ((h != 4 && h != 8) || s[2 + h] != '_')
        return 0;
    if (v > 0 && v <= 0x10FFFF && !(v >= 0xD800 && v <= 0xDFFF))
        *cp = v;
    return h + 3;
}

/* Could a "_" at s start an escape once what follows is written? "x" and
 * four hex digits are enough: the closing "_" may come from the escape of
 * the next character ("a_x0030\"" must not become "a_x0030_x0022_"). */
static int name_escape_prefix(const char *s) {
    if (s[0] != '_' || s[1] != 'x')
        return 0;
    for (int i = 2; i < 6; i++)
        if (hexval((unsigned char)s[i]) < 0)
            return 0;
    return 1;
}

/* Escapes what is not an NCName character as _xHHHH_ (_xHHHHHHHH_ above
 * U+FFFF), and a "_" that could read as an escape as _x005F_, as .NET's
 * XmlConvert.EncodeLocalName does; invalid UTF-8 becomes U+FFFD. */
static char *xml_name_encode(const char *name) {
    const unsigned char *s = (const unsigned char *)name;
    size_t n = strlen(name), i = 0, l;
    sbuf_t b = {0};
    char esc[24];

    if (!n)
        sb_putc(&b, '_');
    while (i < n) {
        long cp = erps_utf8_decode(s + i, n - i, &l);
        if (cp < 0)
            cp = 0xFFFD;
        if (name_escape_prefix(name + i)) {
            sb_put(&b, "_x005F_", 7);
        } else if (i == 0 ? xml_name_start(cp) : xml_name_char(cp)) {
            sb_utf8(&b, cp);
        } else {
            if (cp <= 0xFFFF)
                snprintf(esc, sizeof(esc), "_x%04lX_", cp);
            else
                snprintf(esc, sizeof(esc), "_x%08lX_", cp);
            sb_put(&b, esc, strlen(esc));
        }
        i += l;
    }
    return sb_take(&b);
}

/* XmlConvert.DecodeName: _xHHHH_ and _xHHHHHHHH_ back to characters. */
static char *xml_name_decode(const char *name) {
    sbuf_t b = {0};
    for (size_t i = 0; name[i];) {
        long cp;
        size_t l = name_escape_at(name + i, &cp);
        if (l && cp >= 0) {
            sb_utf8(&b, cp);
            i += l;
        } else {
            sb_putc(&b, name[i++]);
        }
    }
    return sb_take(&b);
}

/* ------------------------------------------------------------------ */
/* XML bodies                                                          */
/* ------------------------------------------------------------------ */

typedef struct xml_guard {
    int doctype;
    int too_many;                 /* elements past ERPS_BODY_XML_MAX_ELEMENTS */
    long elements;
    startElementNsSAX2Func start; /* libxml2's own */
    int have_error; /* the first error, which names the cause; libxml2's
                     * last one is often a consequence ("Extra content") */
    int line, code;
    char message[200];
} xml_guard_t;

static void xml_on_error(void *ctx, xmlErrorPtr err) {
    xmlParserCtxtPtr ctxt = ctx;
    xml_guard_t *g = ctxt ? ctxt->_private : NULL;
    if (!g || g->have_error || !err || err->level < XML_ERR_ERROR)
        return;
    g->have_error = 1;
    g->line = err->line;
    g->code = err->code;
    snprintf(g->message, sizeof(g->message), "%s",
             err->message ? err->message : "");
}

/*
 * Runs as soon as "<!DOCTYPE name ids" is read, before the internal subset
 * ([...]) or an external DTD is looked at: stopping here means no entity is
 * ever declared, expanded or fetched (XXE, billion laughs, DTDs by URL).
 */
static void xml_refuse_dtd(void *ctx, const xmlChar *name,
                           const xmlChar *external_id, const xmlChar *system_id) {
    xmlParserCtxtPtr ctxt = ctx;
    xml_guard_t *g = ctxt->_private;
    (void)name;
    (void)external_id;
    (void)system_id;
    if (g)
        g->doctype = 1;
    xmlStopParser(ctxt);
}

/* libxml2 2.9's name dictionary slows down more than linearly with the
 * number of distinct names (seconds for some 10^5), so the parse stops at
 * the first element past the limit. */
static void xml_count_element(void *ctx, const xmlChar *localname,
                              const xmlChar *prefix, const xmlChar *uri,
                              int nb_namespaces, const xmlChar **namespaces,
                              int nb_attributes, int nb_defaulted,
                              const xmlChar **attributes) {
    xmlParserCtxtPtr ctxt = ctx;
    xml_guard_t *g = ctxt->_private;
    if (++g->elements > ERPS_BODY_XML_MAX_ELEMENTS) {
        g->too_many = 1;
        xmlStopParser(ctxt);
        return;
    }
    g->start(ctx, localname, prefix, uri, nb_namespaces, namespaces,
             nb_attributes, nb_defaulted, attributes);
}

static int xml_blank_char(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int xml_blank(const xmlChar *s) {
    for (; s && *s; s++)
        if (!xml_blank_char(*s))
            return 0;
    return 1;
}

static int xml_has_href(const xmlNs *ns, const char *href) {
    return ns && ns->href && !strcmp((const char *)ns->href, href);
}

static int xml_declares_arrays(const xmlNode *el) {
    for (const xmlNs *ns = el->nsDef; ns; ns = ns->next)
        if (xml_has_href(ns, ERPS_XML_ARRAYS_NS))
            return 1;
    return 0;
}

/* i:nil: @returns 1 (nil), 0 (not), -1 (bad value or out of memory, e set). */
static int xml_nil(xmlNode *el, berr_t *e) {
    char c1[CLIP_MAX + 4];
    xmlChar *v = xmlGetNsProp(el, BAD_CAST "nil", BAD_CAST ERPS_XML_XSI_NS);
    if (!v)
        return 0;
    const xmlChar *p = v, *q;
    while (xml_blank_char(*p))
        p++;
    q = p + strlen((const char *)p);
    while (q > p && xml_blank_char(q[-1]))
        q--;
    size_t n = (size_t)(q - p);
    int r = (n == 4 && !memcmp(p, "true", 4)) || (n == 1 && *p == '1')    ? 1
            : (n == 5 && !memcmp(p, "false", 5)) || (n == 1 && *p == '0') ? 0
                                                                           : -1;
    xmlFree(v);
    if (r < 0)
        fail(e, 400, "element '%s' (line %ld): i:nil must be true or false",
             clip((const char *)el->name, c1), xmlGetLineNo(el));
    return r;
}

static cJSON *xml_value(xmlNode *el, int depth, berr_t *e);

/* Adds el's child elements to obj, each a member. @returns 0 or -1. */
static int xml_members(xmlNode *el, cJSON *obj, int depth, berr_t *e) {
    char c1[CLIP_MAX + 4];
    nameset_t set = {0};
    int rc = -1;
    for (xmlNode *c = el->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        char *name = xml_name_decode((const char *)c->name);
        if (!name) {
            fail_oom(e);
            goto out;
        }
        if (nameset_find(&set, name)) {
            fail(e, 400, "element '%s' appears twice (line %ld)",
                 clip((const char *)c->name, c1), xmlGetLineNo(c));
            free(name);
            goto out;
        }
        cJSON *v = xml_value(c, depth + 1, e);
        if (!v) {
            free(name);
            goto out;
        }
        if (!cJSON_AddItemToObject(obj, name, v)) {
            cJSON_Delete(v);
            free(name);
            fail_oom(e);
            goto out;
        }
        free(name);
        if (nameset_add(&set, v->string, v) < 0) {
            fail_oom(e);
            goto out;
        }
    }
    rc = 0;
out:
    nameset_free(&set);
    return rc;
}

static cJSON *xml_value(xmlNode *el, int depth, berr_t *e) {
    char c1[CLIP_MAX + 4];
    const char *nm = clip((const char *)el->name, c1);
    size_t elems = 0, items = 0;
    int text = 0;
    cJSON *v = NULL;

    if (depth > ERPS_BODY_XML_MAX_DEPTH) {
        fail(e, 400, "element '%s' (line %ld) is nested deeper than %d levels",
             nm, xmlGetLineNo(el), ERPS_BODY_XML_MAX_DEPTH);
        return NULL;
    }
    switch (xml_nil(el, e)) {
    case 1:
        v = cJSON_CreateNull();
        if (!v)
            fail_oom(e);
        return v;
    case -1:
        return NULL;
    }
    for (xmlNode *c = el->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            elems++;
            items += xml_has_href(c->ns, ERPS_XML_ARRAYS_NS);
        } else if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
                   !xml_blank(c->content)) {
            text = 1;
        }
    }
    if (elems && text) {
        fail(e, 400, "element '%s' (line %ld) mixes text and child elements", nm,
             xmlGetLineNo(el));
        return NULL;
    }
    if (elems && items && items != elems) {
        fail(e, 400, "element '%s' (line %ld) mixes list items (namespace %s) "
             "and members", nm, xmlGetLineNo(el), ERPS_XML_ARRAYS_NS);
        return NULL;
    }
    if (elems && !items) {
        v = cJSON_CreateObject();
        if (!v) {
            fail_oom(e);
            return NULL;
        }
        if (xml_members(el, v, depth, e)) {
            cJSON_Delete(v);
            return NULL;
        }
        return v;
    }
    if (items || (!text && xml_declares_arrays(el))) {
        v = cJSON_CreateArray();
        if (!v) {
            fail_oom(e);
            return NULL;
        }
        for (xmlNode *c = el->children; c; c = c->next) {
            if (c->type != XML_ELEMENT_NODE)
                continue;
            cJSON *iv = xml_value(c, depth + 1, e);
            if (!iv) {
                cJSON_Delete(v);
                return NULL;
            }
            cJSON_AddItemToArray(v, iv);
        }
        return v;
    }
    /* Text: text and CDATA children joined, XML blanks trimmed. */
    sbuf_t b = {0};
    for (xmlNode *c = el->children; c; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
            c->content)
            sb_put(&b, c->content, strlen((const char *)c->content));
    char *s = sb_take(&b);
    if (!s) {
        fail_oom(e);
        return NULL;
    }
    size_t a = 0, z = strlen(s);
    while (a < z && xml_blank_char((unsigned char)s[a]))
        a++;
    while (z > a && xml_blank_char((unsigned char)s[z - 1]))
        z--;
    s[z] = '\0';
    if (utf8_invalid_at(s + a, z - a) < z - a) {
        fail(e, 400, "element '%s' (line %ld) holds text that is not valid UTF-8",
             nm, xmlGetLineNo(el));
    } else {
        v = cJSON_CreateString(s + a);
        if (!v)
            fail_oom(e);
    }
    free(s);
    return v;
}

static cJSON *xml_root(xmlNode *root, berr_t *e) {
    char c1[CLIP_MAX + 4];
    const char *nm = clip((const char *)root->name, c1);
    switch (xml_nil(root, e)) {
    case 1:
        fail(e, 400, "the root element '%s' is nil; the request must be an "
             "object", nm);
        return NULL;
    case -1:
        return NULL;
    }
    for (xmlNode *c = root->children; c; c = c->next) {
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
            !xml_blank(c->content)) {
            fail(e, 400, "the root element '%s' holds text; the members must "
                 "be child elements", nm);
            return NULL;
        }
    }
    cJSON *obj = cJSON_CreateObject();
    if (!obj) {
        fail_oom(e);
        return NULL;
    }
    if (xml_members(root, obj, 1, e)) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

static const char *xml_clean(const char *s, char **owned);

/* "the body is not well-formed XML: <libxml2's message>, line N". The
 * message may quote document bytes that are not UTF-8 (libxml2 reads on as
 * Latin-1 after an encoding error): those become U+FFFD. */
static void xml_parse_error(xmlParserCtxtPtr ctxt, const xml_guard_t *g,
                            const char *what, berr_t *e) {
    const xmlError *last = xmlCtxtGetLastError(ctxt);
    const char *m = g->have_error ? g->message
                    : last && last->message ? last->message : "";
    int code = g->have_error ? g->code : last ? last->code : 0;
    int line = g->have_error ? g->line : last ? last->line : 0;
    char msg[256], *owned;

    if (code == XML_ERR_NO_MEMORY) {
        fail_oom(e);
        return;
    }
    snprintf(msg, sizeof(msg), "%s", m);
    for (char *p = msg; *p; p++) /* some messages span lines */
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == ' ')
        msg[--n] = '\0';
    const char *clean = xml_clean(msg, &owned);
    if (!clean) {
        fail_oom(e);
    } else if (!clean[0]) {
        fail(e, 400, "the body is not %s XML", what);
    } else {
        fail(e, 400, "the body is not %s XML: %s, line %d", what, clean, line);
    }
    free(owned);
}

static cJSON *decode_xml(const char *cs, const char *body, size_t len,
                         berr_t *e) {
    text_t t = {0};
    const char *p = body, *enc = NULL;
    size_t n = len;
    int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                  XML_PARSE_BIG_LINES;
    xml_guard_t guard = {0};
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    cJSON *obj = NULL;

    /* A charset from Content-Type wins over the XML declaration: convert,
     * and have libxml2 read UTF-8 whatever the declaration says. */
    if (cs[0]) {
        if (text_from_body(cs, body, len, &t, e))
            return NULL;
        p = t.p;
        n = t.n;
        enc = "UTF-8";
        options |= XML_PARSE_IGNORE_ENC;
    }
    if (n > INT_MAX) {
        fail(e, 400, "the body is too large for XML");
        goto out;
    }
    ctxt = xmlNewParserCtxt();
    if (!ctxt || !ctxt->sax) {
        fail_oom(e);
        goto out;
    }
    ctxt->_private = &guard;
    ctxt->sax->internalSubset = xml_refuse_dtd;
    ctxt->sax->externalSubset = xml_refuse_dtd;
    ctxt->sax->serror = xml_on_error;
    guard.start = ctxt->sax->startElementNs;
    if (guard.start)
        ctxt->sax->startElementNs = xml_count_element;
    doc = xmlCtxtReadMemory(ctxt, n ? p : "", (int)n, NULL, enc, options);
    if (guard.doctype || (doc && (doc->intSubset || doc->extSubset))) {
        fail(e, 400, "DOCTYPE is not allowed in XML bodies");
    } else if (guard.too_many) {
        fail(e, 400, "the body has more than %d XML elements",
             ERPS_BODY_XML_MAX_ELEMENTS);
    } else if (!doc) {
        xml_parse_error(ctxt, &guard, "well-formed", e);
    } else if (!ctxt->nsWellFormed) {
        xml_parse_error(ctxt, &guard, "namespace-well-formed", e);
    } else if (!xmlDocGetRootElement(doc)) {
        fail(e, 400, "the body is not well-formed XML: no root element");
    } else {
        obj = xml_root(xmlDocGetRootElement(doc), e);
    }
out:
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    free(t.owned);
    return obj;
}

/* ------------------------------------------------------------------ */
/* XML answers                                                         */
/* ------------------------------------------------------------------ */

static int xml_char_ok(long cp) {
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
           (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* s with what XML 1.0 cannot hold replaced by U+FFFD: s itself when clean,
 * else a copy in *owned. NULL when out of memory. */
static const char *xml_clean(const char *s, char **owned) {
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, l;
    *owned = NULL;
    for (; i < n; i += l) {
        long cp = erps_utf8_decode(u + i, n - i, &l);
        if (cp < 0 || !xml_char_ok(cp))
            break;
    }
    if (i == n)
        return s;
    sbuf_t b = {0};
    sb_put(&b, s, i);
    for (; i < n; i += l) {
        long cp = erps_utf8_decode(u + i, n - i, &l);
        if (cp < 0 || !xml_char_ok(cp))
            sb_put(&b, "\xEF\xBF\xBD", 3);
        else
            sb_put(&b, s + i, l);
    }
    *owned = sb_take(&b);
    return *owned;
}

static void fmt_number(double d, char out[48]) {
    if (isnan(d)) {
        strcpy(out, "NaN");
    } else if (isinf(d)) {
        strcpy(out, d > 0 ? "INF" : "-INF");
    } else if (d == trunc(d) && fabs(d) < 1e17) {
        snprintf(out, 48, "%.0f", d);
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(out, 48, "%.*g", prec, d);
            if (strtod(out, NULL) == d)
                break;
        }
    }
}

/* The element name DataContract gives the items of a list. */
static const char *list_item_type(const cJSON *arr) {
    int str = 0, boo = 0, num = 0, nul = 0, other = 0, in_int = 1, in_long = 1,
        integral = 1;
    for (const cJSON *v = arr->child; v; v = v->next) {
        if (cJSON_IsString(v)) {
            str = 1;
        } else if (cJSON_IsBool(v)) {
            boo = 1;
        } else if (cJSON_IsNull(v)) {
            nul = 1;
        } else if (cJSON_IsNumber(v)) {
            double d = v->valuedouble;
            num = 1;
            if (!isfinite(d) || d != trunc(d))
                integral = 0;
            if (!(d >= INT32_MIN && d <= INT32_MAX))
                in_int = 0;
            if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
                in_long = 0;
        } else {
            other = 1;
        }
    }
    if (other || str + boo + num > 1 || (nul && !str) || !(str + boo + num))
        return "anyType";
    if (str)
        return "string";
    if (boo)
        return "boolean";
    return !integral ? "double" : in_int ? "int" : in_long ? "long" : "double";
}

typedef struct wframe {
    const cJSON *next; /* the next member or item to write */
    int depth;         /* of the element the frame's container is */
    char item[48];     /* "dNp1:type" for list items, "" for members */
} wframe_t;

typedef struct wstack {
    wframe_t *v;
    size_t n, cap;
} wstack_t;

static int wpush(wstack_t *st, const cJSON *first, int depth, const char *item) {
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 16;
        wframe_t *v = realloc(st->v, cap * sizeof(*v));
        if (!v)
            return -1;
        st->v = v;
        st->cap = cap;
    }
    wframe_t *f = &st->v[st->n++];
    f->next = first;
    f->depth = depth;
    snprintf(f->item, sizeof(f->item), "%s", item ? item : "");
    return 0;
}

/* Writes v into the element just started at depth: scalars and nil close
 * it, containers push a frame (closed when the frame runs out). */
static int enc_value(xmlTextWriterPtr w, const cJSON *v, int depth,
                     wstack_t *st) {
    char buf[48], attr[40];
    if (!v || cJSON_IsNull(v)) {
        if (xmlTextWriterWriteAttribute(w, BAD_CAST "i:nil", BAD_CAST "true") < 0)
            return -1;
    } else if (cJSON_IsObject(v)) {
        return wpush(st, v->child, depth, NULL);
    } else if (cJSON_IsArray(v)) {
        snprintf(attr, sizeof(attr), "xmlns:d%dp1", depth);
        snprintf(buf, sizeof(buf), "d%dp1:%s", depth, list_item_type(v));
        if (xmlTextWriterWriteAttribute(w, BAD_CAST attr,
                                        BAD_CAST ERPS_XML_ARRAYS_NS) < 0)
            return -1;
        return wpush(st, v->child, depth, buf);
    } else if (cJSON_IsBool(v)) {
        if (xmlTextWriterWriteString(w, BAD_CAST(cJSON_IsTrue(v) ? "true" : "false")) < 0)
            return -1;
    } else if (cJSON_IsNumber(v)) {
        fmt_number(v->valuedouble, buf);
        if (xmlTextWriterWriteString(w, BAD_CAST buf) < 0)
            return -1;
    } else if ((cJSON_IsString(v) || cJSON_IsRaw(v)) && v->valuestring) {
        char *owned;
        const char *s = xml_clean(v->valuestring, &owned);
        int rc = s ? xmlTextWriterWriteString(w, BAD_CAST s) : -1;
        free(owned);
        if (rc < 0)
            return -1;
    }
    return xmlTextWriterEndElement(w) < 0 ? -1 : 0;
}

char *erps_xml_encode(const cJSON *obj, const char *root, size_t *len) {
    xmlBufferPtr buf = xmlBufferCreate();
    xmlTextWriterPtr w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
    wstack_t st = {0};
    char *out = NULL, *name = NULL;

    if (!w)
        goto done;
    name = xml_name_encode(root && root[0] ? root : "root");
    if (!name || xmlTextWriterStartElement(w, BAD_CAST name) < 0 ||
        xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:i",
                                    BAD_CAST ERPS_XML_XSI_NS) < 0 ||
        enc_value(w, obj, 1, &st))
        goto done;
    while (st.n) {
        wframe_t *f = &st.v[st.n - 1];
        const cJSON *v = f->next;
        if (!v) {
            st.n--;
            if (xmlTextWriterEndElement(w) < 0)
                goto done;
            continue;
        }
        f->next = v->next;
        int depth = f->depth + 1, rc;
        if (f->item[0]) {
            rc = xmlTextWriterStartElement(w, BAD_CAST f->item);
        } else {
            free(name);
            name = xml_name_encode(v->string ? v->string : "");
            rc = name ? xmlTextWriterStartElement(w, BAD_CAST name) : -1;
        }
        if (rc < 0 || enc_value(w, v, depth, &st)) /* may move st.v */
            goto done;
    }
    if (xmlTextWriterFlush(w) < 0)
        goto done;
    int n = xmlBufferLength(buf);
    out = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (out) {
        memcpy(out, xmlBufferContent(buf), (size_t)n);
        out[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
done:
    free(st.v);
    free(name);
    if (w)
        xmlFreeTextWriter(w);
    if (buf)
        xmlBufferFree(buf);
    return out;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

void erps_body_init(void) {
    LIBXML_TEST_VERSION
    xmlInitParser();
}

void erps_body_cleanup(void) { xmlCleanupParser(); }

static cJSON *decode_json_media(erps_media_t media, const char *cs,
                                const char *body, size_t len,
                                const cJSON *base, berr_t *e) {
    text_t t;
    cJSON *v = NULL, *r = NULL;
    if (text_from_body(cs, body, len, &t, e))
        return NULL;
    v = json_parse(&t, e);
    free(t.owned);
    if (!v)
        return NULL;
    switch (media) {
    case ERPS_MEDIA_JSON:
        if (!cJSON_IsObject(v)) {
            fail(e, 400, "the body must be a JSON object");
            break;
        }
        r = v;
        v = NULL;
        break;
    case ERPS_MEDIA_JSON_PATCH:
        if (json_check(v, 1, 0, NULL, e) == 0)
            r = json_patch(v, base, e);
        break;
    default: /* merge patch */
        if (!cJSON_IsObject(v)) {
            fail(e, 400, "a merge patch must be a JSON object");
            break;
        }
        if (json_check(v, 1, CHECK_NAMES, NULL, e))
            break;
        r = dup_base(base, e);
        if (r && !cJSON_IsObject(r)) {
            cJSON_Delete(r);
            r = cJSON_CreateObject();
            if (!r)
                fail_oom(e);
        }
        if (r && merge_into(r, v, e)) {
            cJSON_Delete(r);
            r = NULL;
        }
        break;
    }
    cJSON_Delete(v);
    if (r && json_check(r, 1, CHECK_NAMES, NULL, e)) {
        cJSON_Delete(r);
        r = NULL;
    }
    return r;
}

cJSON *erps_body_decode(const erps_ctype_t *ct, const char *body, size_t len,
                        const cJSON *base, int *http_status, char *errstr,
                        size_t errstr_size) {
    berr_t e = {500, errstr, errstr_size};
    char cs[sizeof(ct->charset)];
    cJSON *v = NULL;

    if (errstr && errstr_size)
        errstr[0] = '\0';
    memcpy(cs, ct->charset, sizeof(cs));
    cs[sizeof(cs) - 1] = '\0';
    if (!body) {
        body = "";
        len = 0;
    }
    switch (ct->media) {
    case ERPS_MEDIA_JSON:
    case ERPS_MEDIA_JSON_PATCH:
    case ERPS_MEDIA_MERGE_PATCH:
        v = decode_json_media(ct->media, cs, body, len, base, &e);
        break;
    case ERPS_MEDIA_XML:
        v = decode_xml(cs, body, len, &e);
        break;
    case ERPS_MEDIA_FORM:
        v = decode_form(cs, body, len, &e);
        break;
    default:
        fail(&e, 415, "unsupported media type");
        break;
    }
    if (!v && http_status)
        *http_status = e.status;
    return v;
}
