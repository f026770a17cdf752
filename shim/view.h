/*
 * view.h - the latest status of every engine, as this shim has read it from
 * the status topic.
 *
 * A status replaces the one held for its engine only when its ce_sequence is
 * higher: the agent numbers its statuses without gaps, so a lower or equal
 * number is an old record read again (another partition after the topic
 * grew, a re-read from the start) or one written by someone else, and must
 * not turn the view back in time. Thread-safe: one writer (the bus thread),
 * any number of readers.
 */
#ifndef ERPSYNC_SHIM_VIEW_H
#define ERPSYNC_SHIM_VIEW_H

#include <stdint.h>

#include "erpsync/proto.h"

typedef struct erps_view erps_view_t;

/** @returns the view, or NULL when out of memory. */
erps_view_t *erps_view_new(void);
void erps_view_destroy(erps_view_t *v);

/**
 * Keeps st as the latest status of its engine (st->ce.subject) if it is newer
 * than the one held. If the held one is as new or newer, copies it to
 * *held when held is not NULL.
 * @returns 1 when st was kept, 0 when it was older (nothing changed), -1 when
 *          out of memory.
 */
int erps_view_put(erps_view_t *v, const erps_status_t *st, erps_status_t *held);

/** Copies the latest status of engine_id. @returns 0, or -1 if none known. */
int erps_view_get(erps_view_t *v, const char *engine_id, erps_status_t *out);

/** How many engines have a status. */
uint64_t erps_view_engines(erps_view_t *v);

#endif
