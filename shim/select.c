/*
 * select.c - $select: parsed once per request, applied to the answer
 * object (select.h).
 */
#include "select.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "erpsync/util.h"

typedef struct sel_path {
    int depth;
    char name[ERPS_SELECT_MAX_DEPTH][ERPS_SELECT_NAME_MAX + 1];
} sel_path_t;

struct erps_select {
    int n;
    sel_path_t path[ERPS_SELECT_MAX_PATHS];
};

static int is_name_start(int c) {
    return is_alpha(c) || c == '_';
}
static int is_name_char(int c) {
    return is_name_start(c) || is_digit(c);
}

static const char *skip_blanks(const char *p) {
    while (is_ows((unsigned char)*p))
        p++;
    return p;
}

static void sel_unexpected(const char *text, const char *p, char *errstr,
                           size_t errstr_size) {
    unsigned char c = (unsigned char)*p;
    size_t pos = (size_t)(p - text) + 1;
    if (c > 0x20 && c < 0x7F)
        snprintf(errstr, errstr_size,
                 "$select: unexpected character '%c' at position %zu", c, pos);
    else
        snprintf(errstr, errstr_size,
                 "$select: unexpected byte 0x%02X at position %zu", c, pos);
}

/* Why there is no name at p: a stray character, a '/' with nothing
 * after it, or nothing at all. */
static void no_name(const char *text, const char *p, const char *slash,
                    char *errstr, size_t errstr_size) {
    if (*p != ',' && *p != '/' && *p != '\0')
        sel_unexpected(text, p, errstr, errstr_size);
    else if (slash)
        snprintf(errstr, errstr_size,
                 "$select: '/' must be followed by a field name at position "
                 "%zu",
                 (size_t)(slash - text) + 1);
    else
        snprintf(errstr, errstr_size,
                 "$select: empty field name at position %zu",
                 (size_t)(p - text) + 1);
}

/* One path of names joined by '/', from *pp; leaves *pp after it.
 * @returns 0, or -1 with errstr. */
static int parse_path(const char *text, const char **pp, sel_path_t *path,
                      char *errstr, size_t errstr_size) {
    const char *p = skip_blanks(*pp), *start = p, *slash = NULL;
    for (;;) {
        if (!is_name_start((unsigned char)*p)) {
            no_name(text, p, slash, errstr, errstr_size);
            return -1;
        }
        const char *n = p;
        while (is_name_char((unsigned char)*p))
            p++;
        size_t len = (size_t)(p - n);
        if (len > ERPS_SELECT_NAME_MAX) {
            snprintf(errstr, errstr_size,
                     "$select: field name at position %zu is longer than %d "
                     "characters",
                     (size_t)(n - text) + 1, ERPS_SELECT_NAME_MAX);
            return -1;
        }
        if (path->depth == ERPS_SELECT_MAX_DEPTH) {
            snprintf(errstr, errstr_size,
                     "$select: the field at position %zu has more than %d "
                     "levels",
                     (size_t)(start - text) + 1, ERPS_SELECT_MAX_DEPTH);
            return -1;
        }
        memcpy(path->name[path->depth], n, len);
        path->name[path->depth++][len] = '\0';
        p = skip_blanks(p);
        if (*p != '/')
            break;
        slash = p;
        p = skip_blanks(p + 1);
    }
    *pp = p;
    return 0;
}

erps_select_t *erps_select_parse(const char *text, char *errstr,
                                 size_t errstr_size) {
    if (is_blank(text)) {
        snprintf(errstr, errstr_size, "$select is empty");
        return NULL;
    }
    erps_select_t *sel = calloc(1, sizeof(*sel));
    if (!sel) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    for (const char *p = text;; p++) { /* p++: past the comma */
        if (sel->n == ERPS_SELECT_MAX_PATHS) {
            snprintf(errstr, errstr_size, "$select: more than %d fields",
                     ERPS_SELECT_MAX_PATHS);
            break;
        }
        if (parse_path(text, &p, &sel->path[sel->n], errstr, errstr_size))
            break;
        sel->n++;
        if (*p == '\0')
            return sel;
        if (*p != ',') {
            sel_unexpected(text, p, errstr, errstr_size);
            break;
        }
    }
    free(sel);
    return NULL;
}

void erps_select_free(erps_select_t *sel) {
    free(sel);
}

/* "A/B/C" as the caller spelled it, for messages. */
static void path_text(const sel_path_t *path, char *out, size_t out_size) {
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < path->depth && n < out_size; i++)
        n += (size_t)snprintf(out + n, out_size - n, "%s%s", i ? "/" : "",
                              path->name[i]);
}

static int name_eq(const char *member, const char *name) {
    return eq_nc(name, strlen(name), member ? member : "");
}

/*
 * Turns an item into null where it stands: no allocation, so applying a
 * selection cannot fail half-way for want of memory. Follows what
 * cJSON_Delete frees (the key stays, it is still the member's name).
 */
static void make_null(cJSON *c) {
    if (!(c->type & cJSON_IsReference)) {
        if (c->child)
            cJSON_Delete(c->child);
        if (c->valuestring)
            cJSON_free(c->valuestring);
    }
    c->child = NULL;
    c->valuestring = NULL;
    c->valueint = 0;
    c->valuedouble = 0;
    c->type = cJSON_NULL | (c->type & cJSON_StringIsConst);
}

/*
 * Level d of obj, for the paths in act[] (each deeper than d). keep: obj is
 * inside a selected subtree, so only check that the paths exist.
 */
static int apply_level(const erps_select_t *sel, cJSON *obj, const int *act,
                       int nact, int d, int keep, char *errstr,
                       size_t errstr_size) {
    char ptext[ERPS_SELECT_MAX_DEPTH * (ERPS_SELECT_NAME_MAX + 1)];
    for (int i = 0; i < nact; i++) {
        const sel_path_t *path = &sel->path[act[i]];
        cJSON *c = obj->child;
        while (c && !name_eq(c->string, path->name[d]))
            c = c->next;
        if (c)
            continue;
        if (path->depth == 1) {
            snprintf(errstr, errstr_size, "$select: unknown field '%s'",
                     path->name[d]);
        } else {
            path_text(path, ptext, sizeof(ptext));
            snprintf(errstr, errstr_size, "$select: unknown field '%s' in '%s'",
                     path->name[d], ptext);
        }
        return 400;
    }
    for (cJSON *c = obj->child; c; c = c->next) {
        int sub[ERPS_SELECT_MAX_PATHS], nsub = 0, whole = keep;
        for (int i = 0; i < nact; i++) {
            const sel_path_t *path = &sel->path[act[i]];
            if (!name_eq(c->string, path->name[d]))
                continue;
            if (path->depth == d + 1)
                whole = 1;
            else
                sub[nsub++] = act[i];
        }
        if (nsub == 0) {
            if (!whole)
                make_null(c);
        } else if (cJSON_IsObject(c)) {
            int rc = apply_level(sel, c, sub, nsub, d + 1, whole, errstr,
                                 errstr_size);
            if (rc)
                return rc;
        } else if (!cJSON_IsNull(c)) {
            const sel_path_t *path = &sel->path[sub[0]];
            path_text(path, ptext, sizeof(ptext));
            snprintf(errstr, errstr_size,
                     "$select: '%s' has no fields, in '%s'", path->name[d],
                     ptext);
            return 400;
        }
    }
    return 0;
}

int erps_select_apply(const erps_select_t *sel, cJSON *obj, char *errstr,
                      size_t errstr_size) {
    if (!sel)
        return 0;
    if (!cJSON_IsObject(obj)) {
        snprintf(errstr, errstr_size, "$select: the answer has no fields");
        return 400;
    }
    int act[ERPS_SELECT_MAX_PATHS];
    for (int i = 0; i < sel->n; i++)
        act[i] = i;
    return apply_level(sel, obj, act, sel->n, 0, 0, errstr, errstr_size);
}
