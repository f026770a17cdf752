/*
 * reader.c - erpsyncctl's Kafka consumer: status (the compacted topic read
 * to its end), watch (new statuses as they are committed) and audit (the
 * audit trail, filtered). No consumer group is joined and nothing is
 * committed: reading never disturbs the agents or the shims.
 */
#include "reader.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "erpsync/kafka.h"
#include "erpsync/log.h"

rd_kafka_t *ctl_consumer_new(const ctl_conf_t *conf, const erps_kprops_t *kp,
                             char *errstr, size_t n) {
    /* librdkafka's own log lines repeat what its error_cb reports (as
     * warnings); -X log_level=7 brings them back for debugging. */
    static const char *const tuning[] = {"fetch.wait.max.ms", "100",
                                         "log_level", "2", NULL};
    char err[512];
    rd_kafka_conf_t *kc =
        erps_kafka_conf(conf->bootstrap, "erpsyncctl", tuning, kp, errstr, n);
    if (!kc)
        return NULL;
    /* Only committed outcomes count, as for every erpsync reader; the group
     * id is never joined (assign, not subscribe) and never committed to. */
    if (erps_kafka_set(kc, "group.id", "erpsyncctl", errstr, n) ||
        erps_kafka_set(kc, "enable.auto.commit", "false", errstr, n) ||
        erps_kafka_set(kc, "enable.partition.eof", "true", errstr, n) ||
        erps_kafka_set(kc, "isolation.level", "read_committed", errstr, n)) {
        rd_kafka_conf_destroy(kc);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof(err));
    if (!rk) {
        rd_kafka_conf_destroy(kc);
        snprintf(errstr, n, "creating the Kafka consumer: %.400s", err);
    }
    return rk;
}

/* The offset to start partition p at: the log start, its end now (so a
 * command produced afterwards is not missed), or a time (resolved later). */
static int start_offset(rd_kafka_t *rk, const char *topic, int32_t p,
                        int64_t from, int timeout_ms, int64_t *offset,
                        char *errstr, size_t n) {
    int64_t lo, hi;
    if (from != CTL_FROM_NOW) {
        *offset = from == CTL_FROM_START ? RD_KAFKA_OFFSET_BEGINNING : from;
        return 0;
    }
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, timeout_ms);
    if (err) {
        snprintf(errstr, n, "end of %s [%" PRId32 "]: %s", topic, p,
                 rd_kafka_err2str(err));
        return -1;
    }
    *offset = hi;
    return 0;
}

int ctl_reader_add(ctl_reader_t *r, const char *topic, const char *engine_id,
                   int64_t from, int timeout_ms, char *errstr, size_t n) {
    int cnt = erps_kafka_partition_count(r->rk, topic, timeout_ms, errstr, n);
    if (cnt < 0)
        return -1;
    int32_t only = engine_id && engine_id[0]
                       ? erps_kafka_engine_partition(engine_id, cnt)
                       : -1;
    for (int32_t p = 0; p < cnt; p++) {
        int64_t offset;
        if (only >= 0 && p != only)
            continue;
        if (start_offset(r->rk, topic, p, from, timeout_ms, &offset, errstr, n))
            return -1;
        rd_kafka_topic_partition_list_add(r->parts, topic, p)->offset = offset;
    }
    return 0;
}

/* Turns start times (offset = ms) into the first offset at or after them. */
static int resolve_times(ctl_reader_t *r, bool by_time, int timeout_ms,
                         char *errstr, size_t n) {
    if (!by_time)
        return 0;
    rd_kafka_resp_err_t err =
        rd_kafka_offsets_for_times(r->rk, r->parts, timeout_ms);
    if (err) {
        snprintf(errstr, n, "offsets for the start time: %s",
                 rd_kafka_err2str(err));
        return -1;
    }
    /* -1: no record at or after the time on Apache Kafka, but also the
     * devbroker's answer to every time (librdkafka's mock cannot look up
     * times). Reading such a partition from its start is right on both:
     * the filter drops what came before; it only costs a longer read. */
    for (int i = 0; i < r->parts->cnt; i++)
        if (r->parts->elems[i].offset < 0)
            r->parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    return 0;
}

int ctl_reader_start(ctl_reader_t *r, bool by_time, int timeout_ms,
                     char *errstr, size_t n) {
    if (resolve_times(r, by_time, timeout_ms, errstr, n))
        return -1;
    r->at_end = calloc((size_t)r->parts->cnt + 1, 1);
    if (!r->at_end) {
        snprintf(errstr, n, "out of memory");
        return -1;
    }
    r->ends_left = r->parts->cnt;
    rd_kafka_resp_err_t err = rd_kafka_assign(r->rk, r->parts);
    if (err) {
        snprintf(errstr, n, "assign: %s", rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

static void note_end(ctl_reader_t *r, const rd_kafka_message_t *rkm) {
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    for (int i = 0; i < r->parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &r->parts->elems[i];
        if (tp->partition == rkm->partition && strcmp(tp->topic, topic) == 0 &&
            !r->at_end[i]) {
            r->at_end[i] = 1;
            r->ends_left--;
        }
    }
}

/* One polled message: an end of partition, an error (fatal for a reader:
 * a topic gone, access denied; transport errors are retried by librdkafka
 * and only logged), or a record for cb. @returns CTL_READ_MORE to go on. */
static int on_message(ctl_reader_t *r, rd_kafka_message_t *rkm,
                      ctl_on_msg_cb *cb, void *opaque, char *errstr, size_t n) {
    if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        note_end(r, rkm);
        return CTL_READ_MORE;
    }
    if (!rkm->err)
        return cb(rkm, opaque);
    if (rkm->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
        rkm->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
        rkm->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
        snprintf(errstr, n, "%s", rd_kafka_message_errstr(rkm));
        return CTL_READ_ERROR;
    }
    erps_warn("%s", rd_kafka_message_errstr(rkm));
    return CTL_READ_MORE;
}

int ctl_reader_run(ctl_reader_t *r, bool until_end, int64_t deadline_mono,
                   volatile sig_atomic_t *stop, ctl_on_msg_cb *cb, void *opaque,
                   char *errstr, size_t n) {
    int64_t last = erps_mono_ms();
    while (!(stop && *stop)) {
        int64_t now = erps_mono_ms();
        if (until_end && r->ends_left <= 0)
            return CTL_READ_END;
        if ((deadline_mono && now >= deadline_mono) ||
            (r->idle_ms > 0 && now - last >= r->idle_ms))
            return CTL_READ_TIMEOUT;
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(r->rk, 100);
        if (!rkm)
            continue;
        last = erps_mono_ms();
        int rc = on_message(r, rkm, cb, opaque, errstr, n);
        rd_kafka_message_destroy(rkm);
        if (rc != CTL_READ_MORE)
            return rc;
    }
    return CTL_READ_STOPPED;
}

void ctl_reader_close(ctl_reader_t *r) {
    if (r->rk) {
        rd_kafka_consumer_close(r->rk);
        rd_kafka_destroy(r->rk);
    }
    if (r->parts)
        rd_kafka_topic_partition_list_destroy(r->parts);
    free(r->at_end);
    memset(r, 0, sizeof(*r));
}

int ctl_reader_open(ctl_reader_t *r, const ctl_conf_t *conf,
                    const erps_kprops_t *kp, char *errstr, size_t n) {
    memset(r, 0, sizeof(*r));
    r->parts = rd_kafka_topic_partition_list_new(8);
    if (!r->parts) {
        snprintf(errstr, n, "out of memory");
        return -1;
    }
    r->rk = ctl_consumer_new(conf, kp, errstr, n);
    if (!r->rk) {
        ctl_reader_close(r);
        return -1;
    }
    return 0;
}

int ctl_reader_open_one(ctl_reader_t *r, const ctl_conf_t *conf,
                        const erps_kprops_t *kp, const char *topic,
                        const char *engine_id, int64_t from, char *errstr,
                        size_t n) {
    int tmo = (int)conf->timeout_ms;
    if (ctl_reader_open(r, conf, kp, errstr, n) ||
        ctl_reader_add(r, topic, engine_id, from, tmo, errstr, n) ||
        ctl_reader_start(r, from >= 0, tmo, errstr, n))
        return -1;
    return 0;
}
