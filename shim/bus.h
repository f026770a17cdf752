/*
 * bus.h - the shim's side of Kafka: sends commands, reads the status topic,
 * answers waiting requests, keeps the latest status of every engine.
 *
 * One thread (the bus thread) polls the status consumer and the producer's
 * delivery reports and enforces request deadlines; it calls `answer` for each
 * waiter it takes. A second, idle-most-of-the-time thread probes the cluster
 * so that requests fail fast with 503 while Kafka is unreachable. A third
 * (the fence thread) asks Kafka where the status topic ends for reads that
 * must see every change answered before they arrived (fence.h); it answers
 * the reads the view has already caught up for, the bus thread the rest.
 */
#ifndef ERPSYNC_SHIM_BUS_H
#define ERPSYNC_SHIM_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "erpsync/kafka.h"
#include "waiters.h"

typedef struct erps_bus erps_bus_t;

/** Called on the bus thread with a waiter it took (code and status set). */
typedef void(erps_bus_answer_cb)(erps_waiter_t *w);

typedef struct erps_bus_stats {
    uint64_t commands_sent;
    uint64_t commands_failed;
    uint64_t statuses_received;
    uint64_t statuses_invalid;
    uint64_t statuses_stale; /* not newer than the view's: ignored */
    uint64_t answered;
    uint64_t timeouts;
    uint64_t engines_known;
    uint64_t reads;         /* erps_bus_read calls */
    uint64_t read_queries;  /* where-does-the-topic-end queries they shared */
    uint64_t read_timeouts; /* reads answered 504 */
    uint64_t read_failures; /* reads answered 503: the query failed */
} erps_bus_stats_t;

erps_bus_t *erps_bus_new(const char *bootstrap, const erps_kprops_t *kp,
                         const erps_topics_t *topics,
                         const erps_topic_policy_t *policy,
                         int64_t request_timeout_ms, erps_waiters_t *waiters,
                         erps_bus_answer_cb *answer, char *errstr,
                         size_t errstr_size);
/** Stops the threads and answers every remaining waiter with 503; later
 *  sends fail. Reads (latest, stats) still work until destroy. */
void erps_bus_close(erps_bus_t *bus);
/** Closes if needed, then frees the Kafka clients and the bus. */
void erps_bus_destroy(erps_bus_t *bus);

/**
 * Registers w and produces cmd. On failure w is not registered and the
 * caller answers (errstr says why). @returns 0 or -1.
 */
int erps_bus_send(erps_bus_t *bus, const erps_command_t *cmd, erps_waiter_t *w,
                  char *errstr, size_t errstr_size);

/**
 * Read your writes: registers w (deadline and opaque set) to be answered,
 * on a bus thread through `answer`, once the view has read the engine's
 * partition of the status topic up to where it ended when this was called:
 * code 200 with the view's status of engine_id then, 503 when Kafka could
 * not say where the topic ends or no status of the engine is known, 504 at
 * the deadline. On failure w is not registered and the caller answers
 * (errstr says why). @returns 0 or -1.
 */
int erps_bus_read(erps_bus_t *bus, const char *engine_id, erps_waiter_t *w,
                  char *errstr, size_t errstr_size);
/** Takes w back if it was not answered yet (its connection went away). */
void erps_bus_read_cancel(erps_bus_t *bus, erps_waiter_t *w);

/** False while the last probe of the cluster failed. */
bool erps_bus_kafka_up(erps_bus_t *bus);
/** True once the status consumer has read up to where it stood at start. */
bool erps_bus_caught_up(erps_bus_t *bus);
/** Copies the latest status of engine_id from the view as it is, without
 *  catching up first. @returns 0, or -1 if none known. */
int erps_bus_latest(erps_bus_t *bus, const char *engine_id, erps_status_t *out);
void erps_bus_stats(erps_bus_t *bus, erps_bus_stats_t *out);

/** From now on every command is signed with the key in the file at path
 *  (erps_command_sign); call before the first send. @returns 0 or -1. */
int erps_bus_set_sign_key(erps_bus_t *bus, const char *path, char *errstr,
                          size_t errstr_size);

#endif
