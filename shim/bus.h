/*
 * bus.h - the shim's side of Kafka: sends commands, reads the status topic,
 * answers waiting requests, keeps the latest status of every engine.
 *
 * One thread (the bus thread) polls the status consumer and the producer's
 * delivery reports and enforces request deadlines; it calls `answer` for each
 * waiter it takes. A second, idle-most-of-the-time thread probes the cluster
 * so that requests fail fast with 503 while Kafka is unreachable.
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
    uint64_t answered;
    uint64_t timeouts;
    uint64_t engines_known;
} erps_bus_stats_t;

erps_bus_t *erps_bus_new(const char *bootstrap, const erps_kprops_t *kp,
                         const erps_topics_t *topics,
                         const erps_topic_policy_t *policy,
                         int64_t request_timeout_ms,
                         erps_waiters_t *waiters, erps_bus_answer_cb *answer,
                         char *errstr, size_t errstr_size);
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

/** False while the last probe of the cluster failed. */
bool erps_bus_kafka_up(erps_bus_t *bus);
/** True once the status consumer has read up to where it stood at start. */
bool erps_bus_caught_up(erps_bus_t *bus);
/** Copies the latest status of engine_id. @returns 0, or -1 if none known. */
int erps_bus_latest(erps_bus_t *bus, const char *engine_id, erps_status_t *out);
void erps_bus_stats(erps_bus_t *bus, erps_bus_stats_t *out);

/** From now on every command is signed with the key in the file at path
 *  (erps_command_sign); call before the first send. @returns 0 or -1. */
int erps_bus_set_sign_key(erps_bus_t *bus, const char *path, char *errstr,
                          size_t errstr_size);

#endif
