/*
 * view.c - a mutex-protected hash of the latest status per engine. See view.h.
 */
#include "view.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "strhash.h"

#define BUCKETS 256

typedef struct entry {
    erps_status_t st;
    struct entry *next;
} entry_t;

struct erps_view {
    pthread_mutex_t lock;
    entry_t *bucket[BUCKETS];
    uint64_t engines;
};

static unsigned hash_str(const char *s) {
    return erps_strhash(s) % BUCKETS;
}

/* Called with the lock held. */
static entry_t *find(erps_view_t *v, const char *engine_id) {
    entry_t *e = v->bucket[hash_str(engine_id)];
    while (e && strcmp(e->st.ce.subject, engine_id) != 0)
        e = e->next;
    return e;
}

erps_view_t *erps_view_new(void) {
    erps_view_t *v = calloc(1, sizeof(*v));
    if (v)
        pthread_mutex_init(&v->lock, NULL);
    return v;
}

void erps_view_destroy(erps_view_t *v) {
    if (!v)
        return;
    for (int b = 0; b < BUCKETS; b++) {
        for (entry_t *e = v->bucket[b], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    }
    pthread_mutex_destroy(&v->lock);
    free(v);
}

int erps_view_put(erps_view_t *v, const erps_status_t *st,
                  erps_status_t *held) {
    int rc = 1;
    pthread_mutex_lock(&v->lock);
    entry_t *e = find(v, st->ce.subject);
    if (e && e->st.sequence >= st->sequence) {
        if (held)
            *held = e->st;
        rc = 0;
    } else if (e) {
        e->st = *st;
    } else if ((e = malloc(sizeof(*e)))) {
        unsigned b = hash_str(st->ce.subject);
        e->st = *st;
        e->next = v->bucket[b];
        v->bucket[b] = e;
        v->engines++;
    } else {
        rc = -1;
    }
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int erps_view_get(erps_view_t *v, const char *engine_id, erps_status_t *out) {
    pthread_mutex_lock(&v->lock);
    entry_t *e = find(v, engine_id);
    if (e)
        *out = e->st;
    pthread_mutex_unlock(&v->lock);
    return e ? 0 : -1;
}

uint64_t erps_view_engines(erps_view_t *v) {
    pthread_mutex_lock(&v->lock);
    uint64_t n = v->engines;
    pthread_mutex_unlock(&v->lock);
    return n;
}
