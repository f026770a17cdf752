/*
 * observe.h - what the agent tells a monitoring system: its counters (the
 * loop writes them, lock-free) and an optional HTTP listener
 * (metrics.listen, off by default) answering /healthz, /readyz and
 * /metrics from them. The listener's thread only reads; it never touches
 * the agent's own state, Kafka or the engines.
 */
#ifndef ERPSYNC_AGENT_OBSERVE_H
#define ERPSYNC_AGENT_OBSERVE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "erpsync/metrics.h"
#include "erpsync/proto.h"

#define ERPS_CMD_TYPE_SLOTS     3     /* 0: undecodable, then erps_cmd_type_t */
#define ERPS_OUTCOME_SLOTS      6     /* erps_outcome_t, from 1 */
#define ERPS_STATE_SLOTS        5     /* erps_state_t */
#define ERPS_STALL_UNHEALTHY_MS 30000 /* /healthz: the loop stopped turning */

enum { ERPS_PHASE_STARTING, ERPS_PHASE_SERVING, ERPS_PHASE_STOPPING };

typedef struct erps_agent_stats {
    _Atomic uint64_t outcomes[ERPS_CMD_TYPE_SLOTS][ERPS_OUTCOME_SLOTS];
    _Atomic uint64_t transactions;   /* committed */
    erps_histogram_t commit_latency; /* one transaction, begin to commit */
    _Atomic int64_t command_lag;     /* records not yet read; -1 unknown */
    _Atomic int engines[ERPS_STATE_SLOTS];
    _Atomic int phase;
    _Atomic int64_t alive_ms; /* erps_mono_ms() of the loop's last turn */
} erps_agent_stats_t;

/** Counts a command's outcome (type 0: it could not be decoded). */
void erps_stats_outcome(erps_agent_stats_t *st, int type, int outcome);

typedef struct erps_observer erps_observer_t;

/**
 * Listens on addr ("host:port", IPv4) with one thread of its own.
 * @returns the listener, or NULL with errstr (bad address, port taken).
 */
erps_observer_t *erps_observer_start(const char *addr,
                                     const erps_agent_stats_t *st, char *errstr,
                                     size_t errstr_size);
void erps_observer_stop(erps_observer_t *o);

#endif
