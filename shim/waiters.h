/*
 * waiters.h - HTTP requests waiting for the status their command caused.
 *
 * A request registers under its command id; whichever comes first takes it
 * out: the matching status (bus thread), a failed delivery (bus thread), its
 * deadline (bus thread), or shutdown. Taking is atomic, so exactly one party
 * answers each request. The table never owns the waiters: they live inside
 * the request they belong to.
 */
#ifndef ERPSYNC_SHIM_WAITERS_H
#define ERPSYNC_SHIM_WAITERS_H

#include <stddef.h>
#include <stdint.h>

#include "erpsync/proto.h"

typedef struct erps_waiter {
    char id[ERPS_UUID_LEN + 1];
    int64_t deadline_mono_ms;
    /* Filled by whoever takes the waiter, before it resumes the request. */
    int code; /* 200, 503 or 504 */
    char detail[256];
    erps_status_t status;
    void *opaque;
    /* Reads only (fence.h): the status partition of the engine read, and
     * the offset the view must have read it up to before answering. */
    int32_t partition;
    int64_t target;
    struct erps_waiter *next; /* bucket chain, owned by the table */
} erps_waiter_t;

typedef struct erps_waiters erps_waiters_t;

erps_waiters_t *erps_waiters_new(void);
void erps_waiters_destroy(erps_waiters_t *t);
void erps_waiters_add(erps_waiters_t *t, erps_waiter_t *w);
/** Removes and returns the waiter for id, or NULL if none (already taken). */
erps_waiter_t *erps_waiters_take(erps_waiters_t *t, const char *id);
/** Removes waiters past their deadline (or all when now is INT64_MAX) into
 *  out[0..max). @returns how many. */
int erps_waiters_take_expired(erps_waiters_t *t, int64_t now_mono_ms,
                              erps_waiter_t **out, int max);
size_t erps_waiters_count(erps_waiters_t *t);

#endif
