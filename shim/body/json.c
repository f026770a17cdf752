/*
 * json.c - strict JSON (RFC 8259): cJSON parses, a scan first refuses what
 * cJSON would let through (control characters, \u0000, numbers such as 01).
 * Depth and member names are checked after any decoding, so every content
 * type ends in the same request object rules.
 */
#include "body_int.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int json_blank(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Past the digits at s[i], at least one: the index after them, or
 * SIZE_MAX when there is none. */
static size_t digits(const unsigned char *s, size_t n, size_t i) {
    if (i >= n || !is_digit(s[i]))
        return SIZE_MAX;
    while (i < n && is_digit(s[i]))
        i++;
    return i;
}

/* What may not follow a number's end: it would be a malformed number. */
static int number_char(unsigned char c) {
    return is_digit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' ||
           c == '-';
}

/* End of an RFC 8259 number at s[i] (-? int frac? exp?), or SIZE_MAX with
 * *bad at the first byte that breaks it. */
static size_t json_number_end(const unsigned char *s, size_t n, size_t i,
                              size_t *bad) {
    size_t j;
    i += i < n && s[i] == '-';
    /* int: 0, or a digit 1-9 and more digits (no leading zeros) */
    j = i < n && s[i] == '0' ? i + 1 : digits(s, n, i);
    if (j == SIZE_MAX)
        goto bad;
    i = j;
    if (i < n && s[i] == '.' && (i = digits(s, n, i + 1)) == SIZE_MAX) {
        i = j + 1;
        goto bad;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        j = i + 1;
        j += j < n && (s[j] == '+' || s[j] == '-');
        if ((i = digits(s, n, j)) == SIZE_MAX) {
            i = j;
            goto bad;
        }
    }
    if (i < n && number_char(s[i]))
        goto bad;
    return i;
bad:
    *bad = i;
    return SIZE_MAX;
}

/*
 * cJSON is lenient where RFC 8259 is not: it takes every byte up to 0x20
 * (NUL too) as a blank, control characters and \u0000 inside strings (the
 * latter silently cuts the string), and numbers such as 01, 1. or -.5. Run
 * on text cJSON accepted, so strings are known to be closed.
 * @returns the offset of the first byte RFC 8259 forbids, or n.
 */
/* Past the string whose opening quote is at s[i]: the index after its
 * closing quote (or n), or SIZE_MAX with *bad at a control character or a
 * \u0000 escape. */
static size_t string_end(const unsigned char *s, size_t n, size_t i,
                         size_t *bad) {
    for (i++; i < n && s[i] != '"'; i++) {
        if (s[i] < 0x20 || (s[i] == '\\' && i + 5 < n && s[i + 1] == 'u' &&
                            !memcmp(s + i + 2, "0000", 4))) {
            *bad = i;
            return SIZE_MAX;
        }
        i += s[i] == '\\';
    }
    return i + 1;
}

static size_t json_strict_scan(const char *p, size_t n) {
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0, bad = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c == '"')
            i = string_end(s, n, i, &bad);
        else if (c == '-' || is_digit(c))
            i = json_number_end(s, n, i, &bad);
        else if (json_blank(c) || strchr("{}[]:,", c) || (c >= 'a' && c <= 'z'))
            i++; /* cJSON checked the literals true, false and null */
        else
            return i;
        if (i == SIZE_MAX)
            return bad;
    }
    return n;
}

/* Parses any JSON value filling the whole text. */
cJSON *body_json_parse(const text_t *t, berr_t *e) {
    const char *end = NULL;
    size_t at = 0;
    while (at < t->n && json_blank((unsigned char)t->p[at]))
        at++;
    if (at == t->n) { /* the commonest mistake deserves its own words */
        body_fail(e, 400, "the request body is empty");
        return NULL;
    }
    cJSON *v = cJSON_ParseWithLengthOpts(t->p, t->n, &end, 0);

    if (!v) {
        at =
            end && end >= t->p && end <= t->p + t->n ? (size_t)(end - t->p) : 0;
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
    body_fail(e, 400, "the body is not valid JSON (at byte %zu%s)",
              at + t->skipped, body_where_note(t));
    return NULL;
}

/*
 * Checks depth (the container v is at level depth) and, with CHECK_NAMES,
 * the member names of every object. Stops descending past the limit, so the
 * recursion is bounded whatever v holds. where: the member holding v.
 * @returns 0, or -1 with e set.
 */
/* A member's name: not empty, not one the object has already (in any
 * case). where: the member holding the object. @returns 0, or -1 with e. */
static int check_name(const cJSON *m, nameset_t *set, const char *where,
                      berr_t *e) {
    char c1[CLIP_MAX + 4], c2[CLIP_MAX + 4];
    const char *in = where ? " (in '" : "",
               *w = where ? body_clip(where, c1) : "", *out = where ? "')" : "";
    if (!m->string || !m->string[0]) {
        body_fail(e, 400, "a member name is empty%s%s%s", in, w, out);
        return -1;
    }
    int r = body_nameset_add(set, m->string, NULL);
    if (r < 0)
        body_fail_oom(e);
    else if (r > 0)
        body_fail(e, 400, "member '%s' appears twice%s%s%s",
                  body_clip(m->string, c2), in, w, out);
    return r == 0 ? 0 : -1;
}

int body_json_check(const cJSON *v, int depth, int flags, const char *where,
                    berr_t *e) {
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return 0;
    if (depth > ERPS_BODY_JSON_MAX_DEPTH) {
        body_fail(e, 400, "the body is nested deeper than %d levels",
                  ERPS_BODY_JSON_MAX_DEPTH);
        return -1;
    }
    nameset_t set = {0};
    int rc = 0, object = cJSON_IsObject(v);
    int names = object && (flags & CHECK_NAMES);
    for (const cJSON *m = v->child; m && !rc; m = m->next)
        rc = (names && check_name(m, &set, where, e)) ||
                     body_json_check(m, depth + 1, flags,
                                     object ? m->string : where, e)
                 ? -1
                 : 0;
    body_nameset_free(&set);
    return rc;
}

/* Depth of v (a scalar 0, an empty container 1), at most cap + 1. */
int body_json_depth(const cJSON *v, int cap) {
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return 0;
    if (cap <= 0)
        return 1;
    int d = 0;
    for (const cJSON *m = v->child; m; m = m->next) {
        int md = body_json_depth(m, cap - 1);
        if (md > d)
            d = md;
    }
    return d + 1;
}

/* Nodes and string bytes of v (depth already bounded). */
void body_json_size(const cJSON *v, size_t *nodes, size_t *bytes) {
    for (; v; v = v->next) {
        (*nodes)++;
        if (v->string)
            *bytes += strlen(v->string);
        if (cJSON_IsString(v) && v->valuestring)
            *bytes += strlen(v->valuestring);
        if (v->child)
            body_json_size(v->child, nodes, bytes);
    }
}

/* Gives item a new name (NULL: none). @returns 0 or -1 (out of memory). */
int body_set_name(cJSON *item, const char *name) {
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
static const char *str_or_empty(const char *s) {
    return s ? s : "";
}

static int arrays_equal(const cJSON *a, const cJSON *b) {
    const cJSON *x = a->child, *y = b->child;
    for (; x && y; x = x->next, y = y->next) {
        int r = body_json_equal(x, y);
        if (r != 1)
            return r;
    }
    return !x && !y;
}

/* Same names with equal values, in any order. Sorted by name, so large
 * objects compare in n log n. */
static int objects_equal(const cJSON *a, const cJSON *b) {
    int n = cJSON_GetArraySize(a), i = 0, r = 1;
    if (n != cJSON_GetArraySize(b))
        return 0;
    if (n == 0)
        return 1;
    const cJSON **va = malloc(2 * (size_t)n * sizeof(*va));
    if (!va)
        return -1;
    const cJSON **vb = va + n;
    for (const cJSON *m = a->child; m; m = m->next)
        va[i++] = m;
    i = 0;
    for (const cJSON *m = b->child; m; m = m->next)
        vb[i++] = m;
    qsort(va, (size_t)n, sizeof(*va), cmp_named);
    qsort(vb, (size_t)n, sizeof(*vb), cmp_named);
    for (i = 0; i < n && r == 1; i++)
        r = strcmp(str_or_empty(va[i]->string), str_or_empty(vb[i]->string)) ==
                    0
                ? body_json_equal(va[i], vb[i])
                : 0;
    free(va);
    return r;
}

int body_json_equal(const cJSON *a, const cJSON *b) {
    if ((a->type & 0xFF) != (b->type & 0xFF))
        return 0;
    if (cJSON_IsNumber(a))
        return a->valuedouble == b->valuedouble;
    if (cJSON_IsString(a) || cJSON_IsRaw(a))
        return strcmp(str_or_empty(a->valuestring),
                      str_or_empty(b->valuestring)) == 0;
    if (cJSON_IsArray(a))
        return arrays_equal(a, b);
    if (cJSON_IsObject(a))
        return objects_equal(a, b);
    return 1; /* null, true, false */
}
