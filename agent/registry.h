/*
 * registry.h - the engines one agent serves: the list from engine.id and
 * engines.file, and an index from a record key to its engine.
 *
 * Pure data: no Kafka, no I/O besides reading engines.file, so the list
 * rules (valid ids, no duplicates, at most ERPS_AGENT_ENGINES_MAX) are
 * unit-tested on their own.
 */
#ifndef ERPSYNC_AGENT_REGISTRY_H
#define ERPSYNC_AGENT_REGISTRY_H

#include <stddef.h>

#include "erpsync/proto.h"

#define ERPS_AGENT_ENGINES_MAX 10000

typedef char erps_engine_id_t[ERPS_ENGINE_ID_MAX + 1];

typedef struct erps_engine_list {
    erps_engine_id_t *ids;
    int cnt;
} erps_engine_list_t;

/**
 * The engines of `ids` (comma-separated, blanks around names ignored) and of
 * `file` (one id per line, '#' starts a comment; "" for none), in that order.
 * @returns 0, or -1 with errstr naming the bad id or line (invalid id,
 * duplicate, none at all, too many, unreadable file).
 */
int erps_engine_list_load(const char *ids, const char *file,
                          erps_engine_list_t *out, char *errstr,
                          size_t errstr_size);
void erps_engine_list_free(erps_engine_list_t *l);

/* Record key -> position in the list, by open addressing. */
typedef struct erps_engine_index {
    const erps_engine_list_t *list;
    int *slot; /* position + 1, 0 for empty */
    unsigned mask;
} erps_engine_index_t;

/** @returns 0, or -1 (memory). The list must outlive the index. */
int erps_engine_index_init(erps_engine_index_t *ix,
                           const erps_engine_list_t *l);
void erps_engine_index_free(erps_engine_index_t *ix);
/** @returns the position of the engine whose id is key, or -1. */
int erps_engine_index_find(const erps_engine_index_t *ix, const char *key,
                           size_t key_len);

#endif
