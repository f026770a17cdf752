/*
 * kafka.h - the librdkafka glue shared by the agent and the shim: client
 * configuration with pass-through properties, proto messages to and from
 * rd_kafka messages, and where an engine's commands live.
 */
#ifndef ERPSYNC_KAFKA_H
#define ERPSYNC_KAFKA_H

#include <librdkafka/rdkafka.h>

#include "erpsync/config.h"
#include "erpsync/proto.h"

/* Topic names every part agrees on; each is configurable. */
typedef struct erps_topics {
    char commands[250];
    char status[250];
    char audit[250];
    char dlq[250];
} erps_topics_t;

/**
 * New librdkafka config: bootstrap.servers, client.id and our tuning
 * defaults (NULL-terminated name, value pairs, may be NULL), then every
 * pass-through property, which wins over all of them, and an error_cb that
 * logs. Settings erpsync's correctness depends on are set by the caller
 * afterwards, so no pass-through can break them.
 * @returns the conf, or NULL with errstr naming the bad property.
 * The caller owns the conf until it hands it to rd_kafka_new().
 */
rd_kafka_conf_t *erps_kafka_conf(const char *bootstrap, const char *client_id,
                                 const char *const *defaults,
                                 const erps_kprops_t *kp, char *errstr,
                                 size_t errstr_size);

/** Sets one property or fails with errstr. */
int erps_kafka_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                   char *errstr, size_t errstr_size);

/**
 * Produces msg (copied) to topic, key and headers included.
 * @returns RD_KAFKA_RESP_ERR_NO_ERROR or the error from rd_kafka_producev().
 */
rd_kafka_resp_err_t erps_kafka_produce(rd_kafka_t *rk, const char *topic,
                                       int32_t partition, const erps_msg_t *msg,
                                       void *msg_opaque);

/**
 * A view of rkm as an erps_msg_t: pointers into rkm, valid while it lives.
 * Headers past ERPS_MSG_MAX_HDRS are dropped (decoders then miss them and
 * reject the message).
 */
void erps_kafka_view(const rd_kafka_message_t *rkm, erps_msg_t *out);

/** The partition an engine's records live in: murmur2 of the engine id, as
 *  Java clients and librdkafka's "murmur2" partitioner compute it. */
int32_t erps_kafka_engine_partition(const char *engine_id, int32_t partition_cnt);

/** Partition count of topic, or -1 with errstr (missing topic, timeout). */
int erps_kafka_partition_count(rd_kafka_t *rk, const char *topic,
                               int timeout_ms, char *errstr, size_t errstr_size);

#endif
