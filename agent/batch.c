/*
 * batch.c - the batch loop and the outbox. See batch.h.
 */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "erpsync/log.h"

int erps_outbox_init(erps_outbox_t *ob, int max_cmds) {
    /* Room for the commands plus what the engine says between batches. */
    ob->cap = (max_cmds + 2) * ERPS_BATCH_EVENTS_PER_CMD;
    ob->cnt = 0;
    ob->ev = calloc((size_t)ob->cap, sizeof(*ob->ev));
    return ob->ev ? 0 : -1;
}

void erps_outbox_free(erps_outbox_t *ob) {
    if (ob->ev)
        erps_outbox_clear(ob);
    free(ob->ev);
    ob->ev = NULL;
    ob->cap = 0;
}

/* A pointer into src's arena, moved to the same place in dst's. */
static const char *repoint(const erps_msg_t *src, erps_msg_t *dst,
                           const char *p) {
    if (p >= src->arena && p < src->arena + sizeof(src->arena))
        return dst->arena + (p - src->arena);
    return p;
}

int erps_outbox_add(erps_outbox_t *ob, const char *topic, erps_msg_t *msg) {
    if (ob->cnt >= ob->cap) {
        erps_err("BUG: more than %d events in one transaction", ob->cap);
        erps_msg_release(msg);
        return -1;
    }
    erps_event_t *e = &ob->ev[ob->cnt++];
    e->topic = topic;
    e->msg = *msg;
    for (int i = 0; i < e->msg.hdr_cnt; i++) {
        e->msg.hdrs[i].name = repoint(msg, &e->msg, msg->hdrs[i].name);
        e->msg.hdrs[i].value = repoint(msg, &e->msg, msg->hdrs[i].value);
    }
    e->msg.key = repoint(msg, &e->msg, msg->key);
    return 0;
}

void erps_outbox_clear(erps_outbox_t *ob) {
    for (int i = 0; i < ob->cnt; i++)
        erps_msg_release(&ob->ev[i].msg);
    ob->cnt = 0;
}

int erps_batch_take(rd_kafka_t *consumer, int wait_ms, int max,
                    const erps_outbox_t *ob, erps_batch_apply_fn *apply,
                    void *opaque) {
    int taken = 0;
    while (taken < max && ob->cnt + ERPS_BATCH_EVENTS_PER_CMD <= ob->cap) {
        /* Only the first poll waits: the rest is what is already here. */
        rd_kafka_message_t *rkm =
            rd_kafka_consumer_poll(consumer, taken == 0 ? wait_ms : 0);
        if (!rkm)
            break;
        if (rkm->err) {
            int eof = rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
            if (!eof)
                erps_warn("consumer: %s", rd_kafka_message_errstr(rkm));
            rd_kafka_message_destroy(rkm);
            break; /* back to the loop, which watches stop and the job */
        }
        apply(opaque, rkm);
        taken++;
        rd_kafka_message_destroy(rkm);
    }
    return taken;
}
