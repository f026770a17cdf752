/*
 * waiters.c - a mutex-protected hash of waiting requests. See waiters.h.
 */
#include "waiters.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "strhash.h"

#define BUCKETS 1024

struct erps_waiters {
    pthread_mutex_t lock;
    erps_waiter_t *bucket[BUCKETS];
    size_t cnt;
};

static unsigned hash_id(const char *id) {
    return erps_strhash(id) % BUCKETS;
}

erps_waiters_t *erps_waiters_new(void) {
    erps_waiters_t *t = calloc(1, sizeof(*t));
    if (t)
        pthread_mutex_init(&t->lock, NULL);
    return t;
}

void erps_waiters_destroy(erps_waiters_t *t) {
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t);
}

void erps_waiters_add(erps_waiters_t *t, erps_waiter_t *w) {
    unsigned b = hash_id(w->id);
    pthread_mutex_lock(&t->lock);
    w->next = t->bucket[b];
    t->bucket[b] = w;
    t->cnt++;
    pthread_mutex_unlock(&t->lock);
}

erps_waiter_t *erps_waiters_take(erps_waiters_t *t, const char *id) {
    unsigned b = hash_id(id);
    erps_waiter_t *found = NULL;
    pthread_mutex_lock(&t->lock);
    for (erps_waiter_t **pp = &t->bucket[b]; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->id, id) == 0) {
            found = *pp;
            *pp = found->next;
            found->next = NULL;
            t->cnt--;
            break;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return found;
}

int erps_waiters_take_expired(erps_waiters_t *t, int64_t now,
                              erps_waiter_t **out, int max) {
    int n = 0;
    pthread_mutex_lock(&t->lock);
    for (unsigned b = 0; b < BUCKETS && n < max; b++) {
        erps_waiter_t **pp = &t->bucket[b];
        while (*pp && n < max) {
            erps_waiter_t *w = *pp;
            if (w->deadline_mono_ms <= now) {
                *pp = w->next;
                w->next = NULL;
                out[n++] = w;
                t->cnt--;
            } else {
                pp = &w->next;
            }
        }
    }
    pthread_mutex_unlock(&t->lock);
    return n;
}

size_t erps_waiters_count(erps_waiters_t *t) {
    pthread_mutex_lock(&t->lock);
    size_t n = t->cnt;
    pthread_mutex_unlock(&t->lock);
    return n;
}
