/*
 * batch.h - the agent's batch loop: every command already fetched (up to
 * batch.max) is applied in memory, and the events they cause wait in an
 * outbox that one transaction publishes, after one state write.
 *
 * Nothing here knows about engines or transactions: the caller applies each
 * message and publishes the outbox, so an agent serving many engines can
 * share one loop.
 */
#ifndef ERPSYNC_AGENT_BATCH_H
#define ERPSYNC_AGENT_BATCH_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

#include "erpsync/proto.h"

/* The most events one command can cause (statuses, audit, dead letter). */
#define ERPS_BATCH_EVENTS_PER_CMD 8

typedef struct erps_event {
    const char *topic;
    erps_msg_t msg; /* owned: header values and key re-pointed into it */
} erps_event_t;

/* The events of one transaction, in publishing order. */
typedef struct erps_outbox {
    erps_event_t *ev;
    int cnt;
    int cap;
} erps_outbox_t;

/** Room for the events of max_cmds commands. @returns 0 or -1 (memory). */
int erps_outbox_init(erps_outbox_t *ob, int max_cmds);
void erps_outbox_free(erps_outbox_t *ob);
/** Takes msg (released on failure). @returns 0, or -1 when full. */
int erps_outbox_add(erps_outbox_t *ob, const char *topic, erps_msg_t *msg);
/** Releases every event: they were published. */
void erps_outbox_clear(erps_outbox_t *ob);

/* Applies one fetched message; its events go to the outbox. */
typedef void(erps_batch_apply_fn)(void *opaque, const rd_kafka_message_t *rkm);

/**
 * Waits up to wait_ms for a command, then takes without waiting those
 * already fetched, until max were taken, nothing more is fetched, or the
 * outbox has no room for one more command's events. A lone command never
 * waits for a batch to fill.
 * apply sees each message's partition and offset and keeps what it needs.
 * @returns the number of messages applied.
 */
int erps_batch_take(rd_kafka_t *consumer, int wait_ms, int max,
                    const erps_outbox_t *ob, erps_batch_apply_fn *apply,
                    void *opaque);

#endif
