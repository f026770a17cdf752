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

#include <stddef.h>

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
int32_t erps_kafka_engine_partition(const char *engine_id,
                                    int32_t partition_cnt);

/** Partition count of topic, or -1 with errstr (missing topic, timeout). */
int erps_kafka_partition_count(rd_kafka_t *rk, const char *topic,
                               int timeout_ms, char *errstr,
                               size_t errstr_size);

/* How missing topics are created, and what existing ones must look like. */
typedef struct erps_topic_policy {
    int create; /* create missing topics (else a missing one is an error) */
    int64_t partitions;  /* for created topics */
    int64_t replication; /* for created topics; -1: the broker's default */
    int64_t commands_retention_ms;
    int64_t audit_retention_ms;
    int64_t dlq_retention_ms;
} erps_topic_policy_t;

/* Settings-table rows shared by the agent and the shim (config.h), for a
 * struct with an erps_topics_t member T and an erps_topic_policy_t member P. */
#define ERPS_CFG_TOPICS(type, T, P)                                            \
    {"topic.commands",           ERPS_CFG_STR, ERPS_TOPIC_COMMANDS, 0, 0,      \
     offsetof(type, T.commands), 250,          "command topic"},               \
        {"topic.status",                                                       \
         ERPS_CFG_STR,                                                         \
         ERPS_TOPIC_STATUS,                                                    \
         0,                                                                    \
         0,                                                                    \
         offsetof(type, T.status),                                             \
         250,                                                                  \
         "status topic (compacted)"},                                          \
        {"topic.audit",           ERPS_CFG_STR, ERPS_TOPIC_AUDIT, 0, 0,        \
         offsetof(type, T.audit), 250,          "audit topic"},                \
        {"topic.dlq",                                                          \
         ERPS_CFG_STR,                                                         \
         ERPS_TOPIC_DLQ,                                                       \
         0,                                                                    \
         0,                                                                    \
         offsetof(type, T.dlq),                                                \
         250,                                                                  \
         "dead-letter topic for undecodable commands"},                        \
        {"topics.create",                                                      \
         ERPS_CFG_BOOL,                                                        \
         "false",                                                              \
         0,                                                                    \
         0,                                                                    \
         offsetof(type, P.create),                                             \
         0,                                                                    \
         "create missing topics at start-up (Admin API)"},                     \
        {"topics.partitions",                                                  \
         ERPS_CFG_INT,                                                         \
         "4",                                                                  \
         1,                                                                    \
         100000,                                                               \
         offsetof(type, P.partitions),                                         \
         0,                                                                    \
         "partitions of created topics"},                                      \
        {"topics.replication",                                                 \
         ERPS_CFG_INT,                                                         \
         "-1",                                                                 \
         -1,                                                                   \
         32,                                                                   \
         offsetof(type, P.replication),                                        \
         0,                                                                    \
         "replication factor of created topics (-1: broker default)"},         \
        {"topic.commands.retention.ms",                                        \
         ERPS_CFG_INT,                                                         \
         "3600000",                                                            \
         60000,                                                                \
         INT64_MAX,                                                            \
         offsetof(type, P.commands_retention_ms),                              \
         0,                                                                    \
         "retention of a created command topic"},                              \
        {"topic.audit.retention.ms",                                           \
         ERPS_CFG_INT,                                                         \
         "2592000000",                                                         \
         60000,                                                                \
         INT64_MAX,                                                            \
         offsetof(type, P.audit_retention_ms),                                 \
         0,                                                                    \
         "retention of a created audit topic (30 days)"},                      \
    {                                                                          \
        "topic.dlq.retention.ms", ERPS_CFG_INT, "604800000", 60000, INT64_MAX, \
            offsetof(type, P.dlq_retention_ms), 0,                             \
            "retention of a created dead-letter topic (7 days)"                \
    }

/**
 * Checks erpsync's four topics: each must exist (or is created when
 * policy->create), and an existing one must have the cleanup policy erpsync
 * relies on (status: compact; the others: delete). Brokers that cannot
 * describe configs (the devbroker) skip that check with a warning.
 * @returns 0, or -1 with a message that says what to fix.
 */
int erps_kafka_ensure_topics(rd_kafka_t *rk, const erps_topics_t *topics,
                             const erps_topic_policy_t *policy, int timeout_ms,
                             char *errstr, size_t errstr_size);

#endif
