/*
 * fence.c - three lists under one mutex: the open batch, the batch whose
 * query is in flight, and the reads holding a target. See fence.h.
 */
#include "fence.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct erps_fence {
    pthread_mutex_t lock;
    pthread_cond_t arrived;
    int32_t partitions;
    bool stopped;
    erps_waiter_t *open, *inflight, *waiting;
    size_t waiting_cnt;
};

erps_fence_t *erps_fence_new(int32_t partitions) {
    erps_fence_t *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    /* Waits are bounded in monotonic time, as every deadline here is. */
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->arrived, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&f->lock, NULL);
    f->partitions = partitions;
    return f;
}

void erps_fence_destroy(erps_fence_t *f) {
    if (!f)
        return;
    pthread_cond_destroy(&f->arrived);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

void erps_fence_add(erps_fence_t *f, erps_waiter_t *w) {
    pthread_mutex_lock(&f->lock);
    w->next = f->open;
    f->open = w;
    pthread_cond_signal(&f->arrived);
    pthread_mutex_unlock(&f->lock);
}

static void wait_for_reads(erps_fence_t *f, int64_t timeout_ms) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000);
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!f->open && !f->stopped &&
           pthread_cond_timedwait(&f->arrived, &f->lock, &ts) == 0)
        ;
}

int erps_fence_begin(erps_fence_t *f, int64_t timeout_ms, unsigned char *want,
                     int64_t *deadline) {
    int n = 0;
    memset(want, 0, (size_t)f->partitions);
    *deadline = INT64_MAX;
    pthread_mutex_lock(&f->lock);
    wait_for_reads(f, timeout_ms);
    if (!f->stopped && !f->inflight) {
        f->inflight = f->open;
        f->open = NULL;
        for (erps_waiter_t *w = f->inflight; w; w = w->next, n++) {
            want[w->partition] = 1;
            if (w->deadline_mono_ms < *deadline)
                *deadline = w->deadline_mono_ms;
        }
    }
    pthread_mutex_unlock(&f->lock);
    return n;
}

/* Moves the in-flight batch to the waiting list; lock held. */
static void settle(erps_fence_t *f, const int64_t *end, const char *detail) {
    while (f->inflight) {
        erps_waiter_t *w = f->inflight;
        f->inflight = w->next;
        if (detail) {
            w->code = 503;
            snprintf(w->detail, sizeof(w->detail), "%s", detail);
        } else {
            w->target = end[w->partition];
        }
        w->next = f->waiting;
        f->waiting = w;
        f->waiting_cnt++;
    }
}

void erps_fence_end(erps_fence_t *f, const int64_t *end) {
    pthread_mutex_lock(&f->lock);
    settle(f, end, NULL);
    pthread_mutex_unlock(&f->lock);
}

void erps_fence_fail(erps_fence_t *f, const char *detail) {
    pthread_mutex_lock(&f->lock);
    settle(f, NULL, detail);
    pthread_mutex_unlock(&f->lock);
}

/* Unlinks from *list every read `pick` chooses, into out; lock held. */
static int take_from(erps_waiter_t **list,
                     bool (*pick)(const erps_waiter_t *, const void *),
                     const void *arg, erps_waiter_t **out, int max) {
    int n = 0;
    erps_waiter_t **pp = list;
    while (*pp && n < max) {
        erps_waiter_t *w = *pp;
        if (pick(w, arg)) {
            *pp = w->next;
            w->next = NULL;
            out[n++] = w;
        } else {
            pp = &w->next;
        }
    }
    return n;
}

static bool is_ready(const erps_waiter_t *w, const void *arg) {
    const int64_t *read_to = arg;
    return w->code != 0 || read_to[w->partition] >= w->target;
}

static bool is_expired(const erps_waiter_t *w, const void *arg) {
    return w->deadline_mono_ms <= *(const int64_t *)arg;
}

static bool is_this(const erps_waiter_t *w, const void *arg) {
    return w == arg;
}

int erps_fence_take_ready(erps_fence_t *f, const int64_t *read_to,
                          erps_waiter_t **out, int max) {
    pthread_mutex_lock(&f->lock);
    int n = take_from(&f->waiting, is_ready, read_to, out, max);
    f->waiting_cnt -= (size_t)n;
    pthread_mutex_unlock(&f->lock);
    return n;
}

int erps_fence_take_expired(erps_fence_t *f, int64_t now, erps_waiter_t **out,
                            int max) {
    pthread_mutex_lock(&f->lock);
    int n = take_from(&f->waiting, is_expired, &now, out, max);
    f->waiting_cnt -= (size_t)n;
    n += take_from(&f->inflight, is_expired, &now, out + n, max - n);
    n += take_from(&f->open, is_expired, &now, out + n, max - n);
    pthread_mutex_unlock(&f->lock);
    return n;
}

int erps_fence_take(erps_fence_t *f, erps_waiter_t *w) {
    erps_waiter_t *out[1];
    pthread_mutex_lock(&f->lock);
    int n = take_from(&f->waiting, is_this, w, out, 1);
    f->waiting_cnt -= (size_t)n;
    if (!n)
        n = take_from(&f->inflight, is_this, w, out, 1);
    if (!n)
        n = take_from(&f->open, is_this, w, out, 1);
    pthread_mutex_unlock(&f->lock);
    return n;
}

size_t erps_fence_waiting(erps_fence_t *f) {
    pthread_mutex_lock(&f->lock);
    size_t n = f->waiting_cnt;
    pthread_mutex_unlock(&f->lock);
    return n;
}

void erps_fence_stop(erps_fence_t *f) {
    pthread_mutex_lock(&f->lock);
    f->stopped = true;
    pthread_cond_broadcast(&f->arrived);
    pthread_mutex_unlock(&f->lock);
}
