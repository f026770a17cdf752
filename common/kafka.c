/*
 * kafka.c - librdkafka glue. See include/erpsync/kafka.h.
 */
#include "erpsync/kafka.h"
#include "erpsync/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int erps_kafka_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                   char *errstr, size_t errstr_size) {
    char err[512];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) !=
        RD_KAFKA_CONF_OK) {
        snprintf(errstr, errstr_size, "kafka property %s: %s", name, err);
        return -1;
    }
    return 0;
}

/* Every pass-through property, as librdkafka would take it. */
static int check_props(const erps_kprops_t *kp, char *errstr,
                       size_t errstr_size) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = 0;
    for (int i = 0; rc == 0 && i < kp->cnt; i++)
        rc = erps_kafka_set(conf, kp->name[i], kp->value[i], errstr,
                            errstr_size);
    rd_kafka_conf_destroy(conf);
    return rc;
}

/* The settings machinery (erpsync_base) does not link librdkafka: a
 * program linked with this glue offers it librdkafka's check for --check. */
__attribute__((constructor)) static void offer_prop_check(void) {
    erps_cfg_set_prop_check(check_props);
}

/* librdkafka also logs every connection failure (facility FAIL, level
 * LOG_ERR) before it reports it here: those are left to the log callback,
 * so that each broker error appears once. */
static void log_error_cb(rd_kafka_t *rk, int err, const char *reason,
                         void *opaque) {
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__TRANSPORT ||
        err == RD_KAFKA_RESP_ERR__RESOLVE)
        return;
    erps_warn("kafka %s: %s: %s", rd_kafka_name(rk),
              rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* librdkafka's own lines (syslog levels) through our logger, in our
 * format, instead of its default "%3|time|FAC|..." on stderr. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf) {
    /* LOG_ERR lines are broker errors librdkafka retries by itself: a
     * warning, as the error callback always said. */
    erps_log_level_t ours = level <= 2   ? ERPS_LOG_ERROR
                            : level <= 4 ? ERPS_LOG_WARN
                            : level <= 6 ? ERPS_LOG_INFO
                                         : ERPS_LOG_DEBUG;
    erps_log(ours, "kafka %s: %s: %s", rd_kafka_name(rk), fac, buf);
}

rd_kafka_conf_t *erps_kafka_conf(const char *bootstrap, const char *client_id,
                                 const char *const *defaults,
                                 const erps_kprops_t *kp, char *errstr,
                                 size_t errstr_size) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (erps_kafka_set(conf, "bootstrap.servers", bootstrap, errstr,
                       errstr_size) ||
        erps_kafka_set(conf, "client.id", client_id, errstr, errstr_size))
        goto fail;
    for (int i = 0; defaults && defaults[i]; i += 2)
        if (erps_kafka_set(conf, defaults[i], defaults[i + 1], errstr,
                           errstr_size))
            goto fail;
    for (int i = 0; kp && i < kp->cnt; i++)
        if (erps_kafka_set(conf, kp->name[i], kp->value[i], errstr,
                           errstr_size))
            goto fail;
    rd_kafka_conf_set_error_cb(conf, log_error_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

rd_kafka_resp_err_t erps_kafka_produce(rd_kafka_t *rk, const char *topic,
                                       int32_t partition, const erps_msg_t *msg,
                                       void *msg_opaque) {
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new((size_t)msg->hdr_cnt);
    for (int i = 0; i < msg->hdr_cnt; i++)
        rd_kafka_header_add(hdrs, msg->hdrs[i].name, -1, msg->hdrs[i].value,
                            (ssize_t)msg->hdrs[i].size);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_KEY(msg->key, msg->key_len),
        RD_KAFKA_V_VALUE((void *)msg->value, msg->value_len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
        RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
    /* On success the message owns the headers; on failure we still do. */
    if (err)
        rd_kafka_headers_destroy(hdrs);
    return err;
}

void erps_kafka_view(const rd_kafka_message_t *rkm, erps_msg_t *out) {
    rd_kafka_headers_t *hdrs = NULL;
    memset(out, 0, sizeof(*out));
    out->key = rkm->key;
    out->key_len = rkm->key ? rkm->key_len : 0;
    out->value = rkm->payload;
    out->value_len = rkm->payload ? rkm->len : 0;
    if (rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    const char *name;
    const void *value;
    size_t size;
    for (size_t i = 0; out->hdr_cnt < ERPS_MSG_MAX_HDRS &&
                       rd_kafka_header_get_all(hdrs, i, &name, &value, &size) ==
                           RD_KAFKA_RESP_ERR_NO_ERROR;
         i++) {
        out->hdrs[out->hdr_cnt].name = name;
        out->hdrs[out->hdr_cnt].value = value;
        out->hdrs[out->hdr_cnt].size = value ? size : 0;
        out->hdr_cnt++;
    }
    /* A header past the table could repeat one we read: the decoders
     * refuse such a record rather than read it half. */
    out->hdr_dropped =
        rd_kafka_header_get_all(hdrs, (size_t)out->hdr_cnt, &name, &value,
                                &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

int32_t erps_kafka_engine_partition(const char *engine_id,
                                    int32_t partition_cnt) {
    /* The murmur2 partitioner ignores its topic and opaque arguments. */
    return rd_kafka_msg_partitioner_murmur2(NULL, engine_id, strlen(engine_id),
                                            partition_cnt, NULL, NULL);
}

int erps_kafka_partition_count(rd_kafka_t *rk, const char *topic,
                               int timeout_ms, char *errstr,
                               size_t errstr_size) {
    int64_t deadline = erps_mono_ms() + timeout_ms;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int cnt = -1;

    /* A topic created a moment ago (by us or a peer) is unknown to some
     * brokers until their metadata catches up: ask again until the
     * deadline. */
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        int left = (int)(deadline - erps_mono_ms());
        rd_kafka_resp_err_t err =
            rd_kafka_metadata(rk, 0, rkt, &md, left > 100 ? left : 100);
        if (err) {
            snprintf(errstr, errstr_size, "metadata for topic %s: %s", topic,
                     rd_kafka_err2str(err));
            break;
        }
        rd_kafka_resp_err_t terr =
            md->topic_cnt == 1 ? md->topics[0].err
                               : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        if (terr == RD_KAFKA_RESP_ERR_NO_ERROR &&
            md->topics[0].partition_cnt > 0)
            cnt = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
        if (cnt > 0)
            break;
        if ((terr != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART &&
             terr != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE &&
             terr != RD_KAFKA_RESP_ERR_NO_ERROR) ||
            erps_mono_ms() >= deadline) {
            snprintf(errstr, errstr_size, "topic %s: %s", topic,
                     rd_kafka_err2str(terr));
            break;
        }
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    rd_kafka_topic_destroy(rkt);
    return cnt;
}
