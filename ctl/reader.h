/*
 * reader.h - the Kafka consumer behind erpsyncctl's commands: assigns the
 * partitions it is given (no group, nothing committed), read_committed, and
 * knows when each has reached its end.
 */
#ifndef ERPSYNC_CTL_READER_H
#define ERPSYNC_CTL_READER_H

#include <librdkafka/rdkafka.h>

#include "ctl.h"

/* Where a partition is read from: a time in ms (>= 0) or one of these. */
#define CTL_FROM_START (-2)
#define CTL_FROM_NOW   (-1)

/* What ctl_reader_run and its callback return. */
enum {
    CTL_READ_MORE = 0, /* callback: go on */
    CTL_READ_DONE,     /* callback: found what it wanted */
    CTL_READ_END,      /* every partition read to its end */
    CTL_READ_TIMEOUT,  /* the deadline passed */
    CTL_READ_STOPPED,  /* *stop was set (a signal) */
    CTL_READ_ERROR,    /* errstr says why */
};

typedef struct ctl_reader {
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *parts;
    char *at_end; /* per parts element: its end was seen */
    int ends_left;
    int64_t idle_ms; /* > 0: give up after this long without a record or
                      * an end (reads to the end of a large topic take as
                      * long as they take, a silent broker does not) */
} ctl_reader_t;

/** Called with every record read (never an error or an end event). */
typedef int(ctl_on_msg_cb)(const rd_kafka_message_t *rkm, void *opaque);

rd_kafka_t *ctl_consumer_new(const ctl_conf_t *conf, const erps_kprops_t *kp,
                             char *errstr, size_t n);
/** A consumer and an empty assignment. @returns 0 or -1 (errstr). */
int ctl_reader_open(ctl_reader_t *r, const ctl_conf_t *conf,
                    const erps_kprops_t *kp, char *errstr, size_t n);
/** Adds topic's partitions (only engine_id's when given) from `from`. */
int ctl_reader_add(ctl_reader_t *r, const char *topic, const char *engine_id,
                   int64_t from, int timeout_ms, char *errstr, size_t n);
/** Assigns what was added; by_time: the offsets added are times in ms. */
int ctl_reader_start(ctl_reader_t *r, bool by_time, int timeout_ms,
                     char *errstr, size_t n);
/** open + add one topic + start: from a time (>= 0), the start or now. */
int ctl_reader_open_one(ctl_reader_t *r, const ctl_conf_t *conf,
                        const erps_kprops_t *kp, const char *topic,
                        const char *engine_id, int64_t from, char *errstr,
                        size_t n);
/** Polls until the callback is done, every partition is at its end (when
 *  until_end), deadline_mono (0: none) or r->idle_ms passes, or *stop is
 *  set. */
int ctl_reader_run(ctl_reader_t *r, bool until_end, int64_t deadline_mono,
                   volatile sig_atomic_t *stop, ctl_on_msg_cb *cb, void *opaque,
                   char *errstr, size_t n);
void ctl_reader_close(ctl_reader_t *r);

#endif
