/*
 * statefile.h - the agent's durable state: what the engine must come back to
 * after a restart, the status sequence, and the ids of recently applied
 * commands (so a redelivered command is never applied twice).
 *
 * Saved as JSON, atomically: write a temporary file, fsync, rename over the
 * old one, fsync the directory. A crash leaves the old or the new file, never
 * a torn one.
 */
#ifndef ERPSYNC_AGENT_STATEFILE_H
#define ERPSYNC_AGENT_STATEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "erpsync/engine.h"

#define ERPS_APPLIED_MAX 1024

typedef struct erps_agent_state {
    erps_engine_saved_t engine;
    int64_t sequence; /* last ce_sequence published */
    int applied_cnt;  /* ring of command ids, oldest overwritten first */
    int applied_next;
    char applied[ERPS_APPLIED_MAX][ERPS_UUID_LEN + 1];
} erps_agent_state_t;

/**
 * Loads path into st. A missing file is not an error: st keeps the defaults
 * the caller put there and *found is 0.
 * @returns 0, or -1 with errstr when the file exists but cannot be read.
 */
int erps_state_load(const char *path, erps_agent_state_t *st, int *found,
                    char *errstr, size_t errstr_size);
/** Writes st atomically. @returns 0 or -1 with errstr. */
int erps_state_save(const char *path, const erps_agent_state_t *st,
                    char *errstr, size_t errstr_size);

int erps_state_applied_has(const erps_agent_state_t *st, const char *id);
void erps_state_applied_add(erps_agent_state_t *st, const char *id);

#endif
