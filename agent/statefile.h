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

/* batch.max at most. A batch's commands are pending until its transaction
 * committed, next to those recovered from a crash (at most a batch more);
 * the dedupe window keeps the ids of several batches. */
#define ERPS_BATCH_MAX    1000
#define ERPS_APPLIED_MAX  4096
#define ERPS_PENDING_MAX  (2 * ERPS_BATCH_MAX + 64)
#define ERPS_APPLIED_HASH 8192 /* buckets of the ring's index, a power of 2 */

/* A command whose effect is in this state but whose outcome is not yet on
 * Kafka: saved before the transaction, confirmed after it. Found pending
 * after a restart, its outcome is published then, once. */
typedef struct erps_pending {
    char id[ERPS_UUID_LEN + 1];
    int outcome; /* erps_outcome_t */
    erps_state_t before_state;
    int64_t before_interval_s;
    int recovered; /* loaded from the file: its outcome is not published yet */
    int in_flight; /* loaded: was in the batch the file was written for */
} erps_pending_t;

/* One engine's durable part. */
typedef struct erps_engine_rec {
    char id[ERPS_ENGINE_ID_MAX + 1];
    erps_engine_saved_t engine;
    int64_t sequence; /* last ce_sequence published */
    int found;        /* loaded from the file */
} erps_engine_rec_t;

/* One partition of the command topic the agent reads. */
typedef struct erps_part_rec {
    int32_t partition;
    int64_t committed; /* next command offset, as last committed; -1 */
    int64_t pending;   /* what the pending batch's transaction commits; -1 */
} erps_part_rec_t;

/* The state of one agent: its engines, its partitions' offsets, and the
 * command ids it applied (ids are UUIDs, unique across engines, so one
 * window serves them all). */
typedef struct erps_agent_state {
    /* Set by the caller (ids, partitions, defaults); filled by load. */
    erps_engine_rec_t *engines;
    int engine_cnt;
    erps_part_rec_t *parts;
    int part_cnt;
    int applied_cnt; /* ring of command ids, oldest overwritten first */
    int applied_next;
    char applied[ERPS_APPLIED_MAX][ERPS_UUID_LEN + 1];
    /* Index of the ring: chains of slot + 1 (0 ends one), so a lookup costs
     * a few compares, not the whole window. Kept by erps_state_applied_add. */
    int applied_bucket[ERPS_APPLIED_HASH];
    int applied_chain[ERPS_APPLIED_MAX];
    int pending_cnt;
    erps_pending_t pending[ERPS_PENDING_MAX];
} erps_agent_state_t;

/**
 * Loads path into st: the records of st's engines and partitions (matched
 * by id and partition; others in the file are ignored) and the command ids.
 * One engine and one partition use the single-engine layout, which is what
 * agents before fleets wrote. A missing file is not an error: st keeps the
 * defaults the caller put there and *found is 0.
 * @returns 0, or -1 with errstr when the file exists but cannot be read.
 */
int erps_state_load(const char *path, erps_agent_state_t *st, int *found,
                    char *errstr, size_t errstr_size);
/** Writes st atomically. @returns 0 or -1 with errstr. */
int erps_state_save(const char *path, const erps_agent_state_t *st,
                    char *errstr, size_t errstr_size);

int erps_state_applied_has(const erps_agent_state_t *st, const char *id);
void erps_state_applied_add(erps_agent_state_t *st, const char *id);

/** @returns the pending entry for id, or NULL. */
const erps_pending_t *erps_state_pending_find(const erps_agent_state_t *st,
                                              const char *id);
/** @returns 0, or -1 when full (the caller commits first). */
int erps_state_pending_add(erps_agent_state_t *st, const erps_pending_t *p);
/** A transaction committed: the pending ids this process published become
 *  applied. Recovered ones stay until their outcome is published again. */
void erps_state_pending_confirm(erps_agent_state_t *st);
/** The outcome of a recovered id goes into the next transaction. */
void erps_state_pending_republish(erps_agent_state_t *st, const char *id);

#endif
