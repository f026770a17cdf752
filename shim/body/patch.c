/*
 * patch.c - JSON patch (RFC 6902) with JSON pointers (RFC 6901), and merge
 * patch (RFC 7396), applied to a copy of the request's defaults.
 *
 * Ours rather than a library's: pointers match member names
 * case-insensitively and keep the existing spelling, as the WebAPI does,
 * and every operation is bounded (operations, depth, what "copy" may add);
 * no maintained C library in Debian does either.
 */
#include "body_int.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        if (!*name ||
            ascii_lower((unsigned char)c) != ascii_lower((unsigned char)*name))
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

static int tok_is_end(const jtok_t *t) {
    return t->n == 1 && t->s[0] == '-';
}

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
    int index;      /* of the operation */
    const char *op; /* its name */
    size_t copied_nodes, copied_bytes;
    berr_t *e;
} patch_t;

__attribute__((format(printf, 2, 3))) static void
op_fail(patch_t *pt, const char *fmt, ...) {
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    body_utf8_cut_tail(reason);
    if (pt->op)
        body_fail(pt->e, 400, "JSON patch operation %d (%s): %s", pt->index,
                  pt->op, reason);
    else
        body_fail(pt->e, 400, "JSON patch operation %d: %s", pt->index, reason);
}

static void op_missing(patch_t *pt, const char *what, const char *ptr) {
    char c[CLIP_MAX + 4];
    op_fail(pt, "%s \"%s\" does not exist", what, body_clip(ptr, c));
}

/* Resolves a pointer member of the operation. @returns the token count or
 * -1 with the error set. */
static int op_ptr(patch_t *pt, const char *what, const char *ptr, jtok_t *tok) {
    char c[CLIP_MAX + 4];
    int n = ptr_split(ptr, tok);
    if (n == -1)
        op_fail(pt, "%s \"%s\" is not a JSON pointer", what, body_clip(ptr, c));
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

/* Puts value (owned) as the member tok names: a member of that name in
 * any case is replaced and keeps its spelling. */
static int put_member(cJSON *parent, const jtok_t *last, cJSON *value) {
    cJSON *old = obj_member(parent, last);
    if (old) {
        if (body_set_name(value, old->string))
            return -1;
        cJSON_ReplaceItemViaPointer(parent, old, value);
        return 0;
    }
    char *name = tok_unescape(last);
    if (!name || body_set_name(value, NULL)) {
        free(name);
        return -1;
    }
    value->string = name;
    cJSON_AddItemToArray(parent, value); /* keeps value->string */
    return 0;
}

/* Puts value (owned) at index tok of the array parent, or at its end for
 * "-". @returns 0, -1 out of memory, -2 not an index. */
static int put_item(cJSON *parent, const jtok_t *last, cJSON *value,
                    int replace) {
    if (body_set_name(value, NULL))
        return -1;
    int size = cJSON_GetArraySize(parent);
    if (tok_is_end(last)) {
        cJSON_AddItemToArray(parent, value);
        return 0;
    }
    int idx = tok_index(last, replace ? size : size + 1);
    if (idx < 0)
        return -2;
    if (replace)
        cJSON_ReplaceItemViaPointer(parent, cJSON_GetArrayItem(parent, idx),
                                    value);
    else if (idx == size)
        cJSON_AddItemToArray(parent, value);
    else
        list_insert_before(parent, cJSON_GetArrayItem(parent, idx), value);
    return 0;
}

/* Puts value (owned; freed on failure) at tok[0..n): RFC 6902 "add", or
 * with replace set "replace" (an array item is replaced, not shifted). */
static int patch_put(patch_t *pt, const char *ptr, const jtok_t *tok, int n,
                     cJSON *value, int replace) {
    char c[CLIP_MAX + 4];
    int rc;
    if (n + body_json_depth(value, ERPS_BODY_JSON_MAX_DEPTH) >
        ERPS_BODY_JSON_MAX_DEPTH) {
        op_fail(pt, "the result would be nested deeper than %d levels",
                ERPS_BODY_JSON_MAX_DEPTH);
        goto err;
    }
    if (n == 0) {
        if (body_set_name(value, NULL))
            goto oom;
        cJSON_Delete(pt->doc);
        pt->doc = value;
        return 0;
    }
    cJSON *parent = ptr_get(pt->doc, tok, n - 1);
    if (cJSON_IsObject(parent)) {
        rc = put_member(parent, &tok[n - 1], value);
    } else if (cJSON_IsArray(parent)) {
        rc = put_item(parent, &tok[n - 1], value, replace);
    } else {
        op_missing(pt, "path", ptr);
        goto err;
    }
    if (rc == 0)
        return 0;
    if (rc == -1)
        goto oom;
    op_fail(pt, "path \"%s\" is not an index into an array of %d items",
            body_clip(ptr, c), cJSON_GetArraySize(parent));
    goto err;
oom:
    body_fail_oom(pt->e);
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
        body_fail_oom(pt->e);
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

/* One operation, read: its pointers split, its value (not copied). */
typedef struct op_args {
    const char *path, *from;
    jtok_t tok[PTR_MAX_TOKENS], from_tok[PTR_MAX_TOKENS];
    int n, nf;
    const cJSON *value;
} op_args_t;

static int op_dup_put(patch_t *pt, const op_args_t *a, const cJSON *src,
                      int replace) {
    cJSON *v = cJSON_Duplicate(src, 1);
    if (!v) {
        body_fail_oom(pt->e);
        return -1;
    }
    return patch_put(pt, a->path, a->tok, a->n, v, replace);
}

static int op_add(patch_t *pt, const op_args_t *a) {
    return op_dup_put(pt, a, a->value, 0);
}

static int op_remove(patch_t *pt, const op_args_t *a) {
    cJSON *old;
    if (a->n == 0) { /* the whole document: null remains */
        old = pt->doc;
        pt->doc = new_null_doc(pt);
        if (!pt->doc) {
            pt->doc = old;
            return -1;
        }
    } else {
        old = patch_detach(pt, "path", a->path, a->tok, a->n);
        if (!old)
            return -1;
    }
    cJSON_Delete(old);
    return 0;
}

/* The target must exist, then as add. */
static int op_replace(patch_t *pt, const op_args_t *a) {
    if (!ptr_get(pt->doc, a->tok, a->n)) {
        op_missing(pt, "path", a->path);
        return -1;
    }
    return op_dup_put(pt, a, a->value, 1);
}

/* Remove "from", then add at "path". */
static int op_move(patch_t *pt, const op_args_t *a) {
    char c[CLIP_MAX + 4];
    if (tok_prefix(a->from_tok, a->nf, a->tok, a->n)) {
        op_fail(pt, "cannot move \"%s\" into itself", body_clip(a->from, c));
        return -1;
    }
    if (a->nf == 0) /* "" to "": the document stays */
        return 0;
    cJSON *v = patch_detach(pt, "from", a->from, a->from_tok, a->nf);
    if (!v)
        return -1;
    return patch_put(pt, a->path, a->tok, a->n, v, 0);
}

static int op_copy(patch_t *pt, const op_args_t *a) {
    const cJSON *src = ptr_get(pt->doc, a->from_tok, a->nf);
    if (!src) {
        op_missing(pt, "from", a->from);
        return -1;
    }
    /* Copies are the one way a patch grows past its own size: each could
     * double the document. */
    body_json_size(src->child, &pt->copied_nodes, &pt->copied_bytes);
    pt->copied_nodes++;
    if (cJSON_IsString(src) && src->valuestring)
        pt->copied_bytes += strlen(src->valuestring);
    if (pt->copied_nodes > ERPS_BODY_PATCH_COPY_MAX_NODES ||
        pt->copied_bytes > ERPS_BODY_PATCH_COPY_MAX_BYTES) {
        op_fail(pt,
                "the copies make the result too large (more than %d "
                "values or %d bytes copied)",
                ERPS_BODY_PATCH_COPY_MAX_NODES, ERPS_BODY_PATCH_COPY_MAX_BYTES);
        return -1;
    }
    return op_dup_put(pt, a, src, 0);
}

static int op_test(patch_t *pt, const op_args_t *a) {
    char c[CLIP_MAX + 4];
    const cJSON *cur = ptr_get(pt->doc, a->tok, a->n);
    if (!cur) {
        op_missing(pt, "path", a->path);
        return -1;
    }
    int r = body_json_equal(cur, a->value);
    if (r < 0)
        body_fail_oom(pt->e);
    else if (r == 0)
        op_fail(pt, "value differs at \"%s\"", body_clip(a->path, c));
    return r == 1 ? 0 : -1;
}

enum { NEEDS_PATH, NEEDS_VALUE, NEEDS_FROM };

static const struct {
    const char *name;
    int needs; /* besides "path" */
    int (*apply)(patch_t *pt, const op_args_t *a);
} op_table[] = {
    {"add", NEEDS_VALUE, op_add},         {"remove", NEEDS_PATH, op_remove},
    {"replace", NEEDS_VALUE, op_replace}, {"move", NEEDS_FROM, op_move},
    {"copy", NEEDS_FROM, op_copy},        {"test", NEEDS_VALUE, op_test},
};

/* The string member name of the operation, or NULL with the error set. */
static const char *op_string(patch_t *pt, const cJSON *opj, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(opj, name);
    if (!v) {
        op_fail(pt, "'%s' is missing", name);
        return NULL;
    }
    if (!cJSON_IsString(v) || !v->valuestring) {
        op_fail(pt, "'%s' must be a string", name);
        return NULL;
    }
    return v->valuestring;
}

/* Reads and checks one operation in RFC 6902's order of complaints, then
 * applies it. */
static int patch_one(patch_t *pt, const cJSON *opj) {
    op_args_t a = {0};
    char c[CLIP_MAX + 4];
    size_t k, nops = sizeof(op_table) / sizeof(op_table[0]);

    pt->op = NULL;
    if (!cJSON_IsObject(opj)) {
        op_fail(pt, "an operation must be a JSON object");
        return -1;
    }
    const char *op = op_string(pt, opj, "op");
    if (!op)
        return -1;
    for (k = 0; k < nops && strcmp(op, op_table[k].name) != 0; k++)
        ;
    if (k == nops) {
        op_fail(pt,
                "unknown op \"%s\" (expected add, remove, replace, move, "
                "copy or test)",
                body_clip(op, c));
        return -1;
    }
    pt->op = op_table[k].name;
    if (!(a.path = op_string(pt, opj, "path")) ||
        (a.n = op_ptr(pt, "path", a.path, a.tok)) < 0)
        return -1;
    if (op_table[k].needs == NEEDS_FROM) {
        if (!(a.from = op_string(pt, opj, "from")) ||
            (a.nf = op_ptr(pt, "from", a.from, a.from_tok)) < 0)
            return -1;
    } else if (op_table[k].needs == NEEDS_VALUE) {
        a.value = cJSON_GetObjectItemCaseSensitive(opj, "value");
        if (!a.value) {
            op_fail(pt, "'value' is missing");
            return -1;
        }
    }
    return op_table[k].apply(pt, &a);
}

cJSON *body_dup_base(const cJSON *base, berr_t *e) {
    cJSON *d = base ? cJSON_Duplicate(base, 1) : cJSON_CreateObject();
    if (!d)
        body_fail_oom(e);
    return d;
}

cJSON *body_json_patch(const cJSON *ops, const cJSON *base, berr_t *e) {
    patch_t pt = {0};
    pt.e = e;
    if (!cJSON_IsArray(ops)) {
        body_fail(e, 400, "a JSON patch must be a JSON array of operations");
        return NULL;
    }
    if (cJSON_GetArraySize(ops) > ERPS_BODY_PATCH_MAX_OPS) {
        body_fail(e, 400, "a JSON patch may hold at most %d operations",
                  ERPS_BODY_PATCH_MAX_OPS);
        return NULL;
    }
    pt.doc = body_dup_base(base, e);
    if (!pt.doc)
        return NULL;
    for (const cJSON *o = ops->child; o; o = o->next, pt.index++) {
        if (patch_one(&pt, o)) {
            cJSON_Delete(pt.doc);
            return NULL;
        }
    }
    if (!cJSON_IsObject(pt.doc)) {
        body_fail(e, 400, "the result of the JSON patch is not a JSON object");
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
/* The value a merge patch member puts in place of old (NULL: absent): a
 * copy, or an object merged from scratch. @returns it, or NULL with e. */
static cJSON *merged_value(const cJSON *p, const cJSON *old, berr_t *e) {
    cJSON *nv =
        cJSON_IsObject(p) ? cJSON_CreateObject() : cJSON_Duplicate(p, 1);
    if (nv && cJSON_IsObject(p) && body_merge_into(nv, p, e)) {
        cJSON_Delete(nv);
        return NULL;
    }
    if (!nv || body_set_name(nv, old ? old->string : p->string)) {
        cJSON_Delete(nv);
        body_fail_oom(e);
        return NULL;
    }
    return nv;
}

/* One member of the patch into target: null deletes, an object merges into
 * an object, anything else replaces (keeping the existing spelling). */
static int merge_member(cJSON *target, nameset_t *set, const cJSON *p,
                        berr_t *e) {
    nsent_t *ent = body_nameset_find(set, p->string);
    cJSON *old = ent ? ent->item : NULL;
    if (cJSON_IsNull(p)) {
        if (old) {
            cJSON_Delete(cJSON_DetachItemViaPointer(target, old));
            body_nameset_forget(ent);
        }
        return 0;
    }
    if (cJSON_IsObject(p) && cJSON_IsObject(old))
        return body_merge_into(old, p, e);
    cJSON *nv = merged_value(p, old, e);
    if (!nv)
        return -1;
    if (old) {
        cJSON_ReplaceItemViaPointer(target, old, nv);
        ent->key = nv->string;
        ent->item = nv;
    } else {
        /* The patch has no two names equal but for case, so nothing added
         * here is looked up again. */
        cJSON_AddItemToArray(target, nv);
    }
    return 0;
}

int body_merge_into(cJSON *target, const cJSON *patch, berr_t *e) {
    nameset_t set = {0};
    int rc = 0;
    for (cJSON *m = target->child; m && rc == 0; m = m->next)
        if (m->string && body_nameset_add(&set, m->string, m) < 0) {
            body_fail_oom(e);
            rc = -1;
        }
    for (const cJSON *p = patch->child; p && rc == 0; p = p->next)
        rc = merge_member(target, &set, p, e);
    body_nameset_free(&set);
    return rc;
}
