/*
 * fence.h - reads that wait until the status view has caught up with the
 * status topic (read your writes across shims), batched the way Raft's
 * ReadIndex batches reads.
 *
 * A read joins the open batch when it arrives. One asker thread at a time
 * takes the open batch (erps_fence_begin), asks Kafka where each partition
 * the batch reads ends (its last stable offset), and hands the answer back
 * (erps_fence_end): each read now has a target offset. Reads that arrive
 * while a query is in flight join the next batch: the query under way may
 * have been answered before they arrived, so it proves nothing to them. A
 * read is ready once the view has read its partition up to its target.
 *
 * Pure bookkeeping, no Kafka: the waiters (waiters.h) live inside their
 * requests; the fence only links them. Thread-safe; every take is atomic, so
 * exactly one party answers each read.
 */
#ifndef ERPSYNC_SHIM_FENCE_H
#define ERPSYNC_SHIM_FENCE_H

#include <stddef.h>
#include <stdint.h>

#include "waiters.h"

typedef struct erps_fence erps_fence_t;

/** For a topic of `partitions` partitions. @returns NULL when out of memory. */
erps_fence_t *erps_fence_new(int32_t partitions);
void erps_fence_destroy(erps_fence_t *f);

/** A read arrives (w->partition and w->deadline_mono_ms set; code 0). */
void erps_fence_add(erps_fence_t *f, erps_waiter_t *w);

/**
 * Asker thread: waits up to timeout_ms for a read, then takes the open batch
 * and sets want[p] = 1 for each partition one of its reads is on (want has
 * `partitions` entries, cleared first) and *deadline to the batch's earliest.
 * @returns how many reads it took; 0 when none came or the fence stopped.
 */
int erps_fence_begin(erps_fence_t *f, int64_t timeout_ms, unsigned char *want,
                     int64_t *deadline);
/** The batch's query answered: end[p] for every partition it wanted. */
void erps_fence_end(erps_fence_t *f, const int64_t *end);
/** The batch's query failed: its reads are ready at once with 503, detail. */
void erps_fence_fail(erps_fence_t *f, const char *detail);

/**
 * Takes reads that may be answered now into out[0..max): those whose
 * partition the view has read up to their target (read_to[p] >= target),
 * and those whose query failed (code set).
 */
int erps_fence_take_ready(erps_fence_t *f, const int64_t *read_to,
                          erps_waiter_t **out, int max);
/** Takes reads past their deadline (all when now is INT64_MAX), any stage. */
int erps_fence_take_expired(erps_fence_t *f, int64_t now_mono_ms,
                            erps_waiter_t **out, int max);
/** Takes w back wherever it is. @returns 1 if it was there, 0 if taken. */
int erps_fence_take(erps_fence_t *f, erps_waiter_t *w);
/** Reads with a target (or a failure) not yet taken: nothing to check at 0. */
size_t erps_fence_waiting(erps_fence_t *f);
/** Wakes the asker for good: erps_fence_begin returns 0 from now on. */
void erps_fence_stop(erps_fence_t *f);

#endif
