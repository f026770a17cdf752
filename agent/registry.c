/*
 * registry.c - the engine list and its index. See registry.h.
 */
#include "registry.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t fnv1a(const char *s, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

int erps_engine_index_init(erps_engine_index_t *ix,
                           const erps_engine_list_t *l) {
    unsigned size = 16;
    while (size < 2u * (unsigned)l->cnt) /* at most half full */
        size *= 2;
    ix->list = l;
    ix->mask = size - 1;
    ix->slot = calloc(size, sizeof(*ix->slot));
    if (!ix->slot)
        return -1;
    for (int i = 0; i < l->cnt; i++) {
        unsigned k = fnv1a(l->ids[i], strlen(l->ids[i])) & ix->mask;
        while (ix->slot[k])
            k = (k + 1) & ix->mask;
        ix->slot[k] = i + 1;
    }
    return 0;
}

void erps_engine_index_free(erps_engine_index_t *ix) {
    free(ix->slot);
    ix->slot = NULL;
}

int erps_engine_index_find(const erps_engine_index_t *ix, const char *key,
                           size_t key_len) {
    if (!ix->slot || key_len == 0 || key_len > ERPS_ENGINE_ID_MAX)
        return -1;
    for (unsigned k = fnv1a(key, key_len) & ix->mask; ix->slot[k];
         k = (k + 1) & ix->mask) {
        const char *id = ix->list->ids[ix->slot[k] - 1];
        if (strncmp(id, key, key_len) == 0 && id[key_len] == '\0')
            return ix->slot[k] - 1;
    }
    return -1;
}

/* Adds one id (trimmed of blanks). where names it in errors. */
/* s[0..*len) without blanks around it (and a CR at its end). */
static const char *trim_id(const char *s, size_t *len) {
    while (*len > 0 && (*s == ' ' || *s == '\t'))
        s++, (*len)--;
    while (*len > 0 &&
           (s[*len - 1] == ' ' || s[*len - 1] == '\t' || s[*len - 1] == '\r'))
        (*len)--;
    return s;
}

/* Room for one more id. @returns 0, or -1 with errstr. */
static int make_room(erps_engine_list_t *l, int *cap, const char *where,
                     char *errstr, size_t n) {
    if (l->cnt >= ERPS_AGENT_ENGINES_MAX) {
        snprintf(errstr, n, "%s: more than %d engines", where,
                 ERPS_AGENT_ENGINES_MAX);
        return -1;
    }
    if (l->cnt < *cap)
        return 0;
    int ncap = *cap ? 2 * *cap : 16;
    void *p = realloc(l->ids, (size_t)ncap * sizeof(*l->ids));
    if (!p) {
        snprintf(errstr, n, "out of memory");
        return -1;
    }
    l->ids = p;
    *cap = ncap;
    return 0;
}

/* The last id added, into the duplicate index (rebuilt twice the size
 * when half full). */
static int index_last(erps_engine_list_t *l, erps_engine_index_t *seen,
                      size_t len, char *errstr, size_t n) {
    if ((unsigned)l->cnt * 2 > seen->mask) {
        erps_engine_index_free(seen);
        if (erps_engine_index_init(seen, l) == 0)
            return 0;
        snprintf(errstr, n, "out of memory");
        return -1;
    }
    unsigned k = fnv1a(l->ids[l->cnt - 1], len) & seen->mask;
    while (seen->slot[k])
        k = (k + 1) & seen->mask;
    seen->slot[k] = l->cnt;
    return 0;
}

static int add_id(erps_engine_list_t *l, int *cap, const char *s, size_t len,
                  erps_engine_index_t *seen, const char *where, char *errstr,
                  size_t n) {
    char id[ERPS_ENGINE_ID_MAX + 2];
    s = trim_id(s, &len);
    if (len == 0)
        return 0;
    snprintf(id, sizeof(id), "%.*s",
             (int)(len < sizeof(id) ? len : sizeof(id) - 1), s);
    if (len > ERPS_ENGINE_ID_MAX || !erps_engine_id_valid(id)) {
        snprintf(errstr, n,
                 "%s: engine id \"%.40s\" is not 1 to %d of "
                 "A-Z a-z 0-9 . _ -",
                 where, id, ERPS_ENGINE_ID_MAX);
        return -1;
    }
    if (make_room(l, cap, where, errstr, n))
        return -1;
    /* Duplicates: a linear look would cost n^2 for a 100,000-line file. */
    if (seen->slot && erps_engine_index_find(seen, id, len) >= 0) {
        snprintf(errstr, n, "%s: engine %s is listed twice", where, id);
        return -1;
    }
    memcpy(l->ids[l->cnt++], id, len + 1);
    return index_last(l, seen, len, errstr, n);
}

static int load_file(const char *file, erps_engine_list_t *l, int *cap,
                     erps_engine_index_t *seen, char *errstr, size_t n) {
    FILE *fp = fopen(file, "r");
    if (!fp) {
        snprintf(errstr, n, "engines.file %s: %s", file, strerror(errno));
        return -1;
    }
    char line[1024], where[1100];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), fp)) {
        lineno++;
        size_t len = strcspn(line, "#\n");
        snprintf(where, sizeof(where), "%s:%d", file, lineno);
        if (!strchr(line, '\n') && !feof(fp)) {
            snprintf(errstr, n, "%s: line longer than %zu bytes", where,
                     sizeof(line) - 2);
            rc = -1;
        } else {
            rc = add_id(l, cap, line, len, seen, where, errstr, n);
        }
    }
    if (rc == 0 && ferror(fp)) {
        snprintf(errstr, n, "engines.file %s: read error", file);
        rc = -1;
    }
    fclose(fp);
    return rc;
}

int erps_engine_list_load(const char *ids, const char *file,
                          erps_engine_list_t *out, char *errstr,
                          size_t errstr_size) {
    erps_engine_index_t seen = {0};
    int cap = 0, rc = 0;
    out->ids = NULL;
    out->cnt = 0;
    if (erps_engine_index_init(&seen, out)) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    for (const char *p = ids ? ids : ""; rc == 0 && *p;) {
        size_t len = strcspn(p, ",");
        rc = add_id(out, &cap, p, len, &seen, "engine.id", errstr, errstr_size);
        p += len + (p[len] == ',');
    }
    if (rc == 0 && file && file[0])
        rc = load_file(file, out, &cap, &seen, errstr, errstr_size);
    if (rc == 0 && out->cnt == 0) {
        snprintf(errstr, errstr_size,
                 "no engine: set engine.id (one id or a "
                 "comma-separated list) or engines.file");
        rc = -1;
    }
    erps_engine_index_free(&seen);
    if (rc)
        erps_engine_list_free(out);
    return rc;
}

void erps_engine_list_free(erps_engine_list_t *l) {
    free(l->ids);
    l->ids = NULL;
    l->cnt = 0;
}
