/*
 * bus.c - commands out, statuses in. See bus.h.
 */
#include "bus.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "erpsync/log.h"
#include "fence.h"
#include "view.h"

struct erps_bus {
    unsigned char sign_key[ERPS_SIGN_KEY_MAX]; /* command.signing.key.file */
    size_t sign_len;                           /* 0: commands go unsigned */
    rd_kafka_t *producer;
    rd_kafka_t *consumer;
    rd_kafka_queue_t *consumer_queue; /* what the bus thread polls */
    /* Asks where the status topic ends, on connections of its own: a broker
     * answers a connection's requests in order, so on the view consumer's
     * the query would wait behind its long-poll fetch. */
    rd_kafka_t *fencer;
    erps_topics_t topics;
    erps_waiters_t *waiters;
    erps_bus_answer_cb *answer;
    erps_view_t *view;
    erps_fence_t *fence;

    pthread_t thread, probe_thread, fence_thread;
    atomic_int stop;
    atomic_int closed;
    atomic_int kafka_up;
    atomic_int caught_up;
    rd_kafka_topic_partition_list_t *start_hw; /* high watermarks at start */
    int32_t status_parts;
    /* Per status partition: the offset the view has read up to (every
     * record before it is in the view). Written by the bus thread only. */
    _Atomic int64_t *read_to;
    int64_t *scratch_bus, *scratch_fence; /* one per thread answering reads */
    unsigned char *want; /* fence thread: the partitions asked about */
    int64_t *ends;       /* fence thread: where they ended */

    _Atomic uint64_t sent, failed, received, invalid, stale, answered, timeouts,
        reads, read_queries, read_timeouts, read_failures;
};

int erps_bus_latest(erps_bus_t *bus, const char *engine_id,
                    erps_status_t *out) {
    return erps_view_get(bus->view, engine_id, out);
}

/* A failed delivery answers the waiting request at once with 503. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
                        void *opaque) {
    erps_bus_t *bus = opaque;
    char *id = rkm->_private;
    (void)rk;
    if (rkm->err) {
        bus->failed++;
        erps_warn("command %s not delivered: %s", id ? id : "?",
                  rd_kafka_err2str(rkm->err));
        erps_waiter_t *w = id ? erps_waiters_take(bus->waiters, id) : NULL;
        if (w) {
            w->code = 503;
            snprintf(w->detail, sizeof(w->detail),
                     "Kafka is unavailable: the command could not be "
                     "delivered (%s)",
                     rd_kafka_err2str(rkm->err));
            bus->answered++;
            bus->answer(w);
        }
    }
    free(id);
}

/* Keeps st in the view unless the view holds a status as new or newer for
 * its engine: then st is dropped whole, and answers no waiter either. */
static int keep_status(erps_bus_t *bus, const erps_status_t *st,
                       const rd_kafka_message_t *rkm) {
    erps_status_t held;
    int kept = erps_view_put(bus->view, st, &held);
    if (kept == 1)
        return 1;
    if (kept < 0) {
        erps_warn("out of memory: status of engine %s not kept",
                  st->ce.subject);
        return 0;
    }
    bus->stale++;
    erps_warn("ignoring status of engine %s at %s [%" PRId32 "] offset %" PRId64
              ": ce_sequence %" PRId64 " is not newer than %" PRId64
              " already read",
              st->ce.subject, rd_kafka_topic_name(rkm->rkt), rkm->partition,
              rkm->offset, st->sequence, held.sequence);
    return 0;
}

static void handle_status(erps_bus_t *bus, const rd_kafka_message_t *rkm) {
    erps_msg_t view;
    erps_status_t st;
    char err[256];

    erps_kafka_view(rkm, &view);
    if (erps_status_decode(&view, &st, err, sizeof(err))) {
        bus->invalid++;
        erps_warn("ignoring invalid status at %s [%" PRId32 "] offset %" PRId64
                  ": %s",
                  rd_kafka_topic_name(rkm->rkt), rkm->partition, rkm->offset,
                  err);
        return;
    }
    bus->received++;
    if (!keep_status(bus, &st, rkm))
        return;
    /* Starting always gives way to Running or Failed at once: answer then. */
    if (!st.correlation_id[0] || st.state == ERPS_STATE_STARTING)
        return;
    erps_waiter_t *w = erps_waiters_take(bus->waiters, st.correlation_id);
    if (w) {
        w->code = 200;
        w->status = st;
        bus->answered++;
        bus->answer(w);
    }
}

/* Bus thread, after the record or end-of-partition event at offset `to` - 1
 * (or `to` itself for an end) was handled: the view holds everything before. */
static void advance(erps_bus_t *bus, int32_t partition, int64_t to) {
    if (partition < 0 || partition >= bus->status_parts)
        return;
    if (to > atomic_load(&bus->read_to[partition]))
        atomic_store(&bus->read_to[partition], to);
}

/* Commit markers take offsets but are never handed to us; librdkafka moves
 * the position past them once the records before were polled. */
static void advance_to_position(erps_bus_t *bus) {
    rd_kafka_topic_partition_list_t *pos =
        rd_kafka_topic_partition_list_new(bus->status_parts);
    for (int32_t p = 0; p < bus->status_parts; p++)
        rd_kafka_topic_partition_list_add(pos, bus->topics.status, p);
    if (rd_kafka_position(bus->consumer, pos) == RD_KAFKA_RESP_ERR_NO_ERROR)
        for (int i = 0; i < pos->cnt; i++)
            if (pos->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                pos->elems[i].offset >= 0)
                advance(bus, pos->elems[i].partition, pos->elems[i].offset);
    rd_kafka_topic_partition_list_destroy(pos);
}

/* Answers the reads the view has caught up for, with the view's status then:
 * at least as new as the topic was when each read arrived. read_to is the
 * calling thread's scratch, status_parts long. */
static void answer_reads(erps_bus_t *bus, int64_t *read_to) {
    erps_waiter_t *ready[64];
    int n;
    for (int32_t p = 0; p < bus->status_parts; p++)
        read_to[p] = atomic_load(&bus->read_to[p]);
    while ((n = erps_fence_take_ready(bus->fence, read_to, ready, 64)) > 0) {
        for (int i = 0; i < n; i++) {
            erps_waiter_t *w = ready[i];
            const char *engine = w->status.ce.subject;
            if (w->code == 503) {
                bus->read_failures++;
            } else if (erps_view_get(bus->view, engine, &w->status) == 0) {
                w->code = 200;
            } else {
                w->code = 503;
                snprintf(w->detail, sizeof(w->detail),
                         "no agent has reported "
                         "a status for engine %s yet",
                         engine);
            }
            bus->answer(w);
        }
    }
}

static void expire_reads(erps_bus_t *bus, int64_t now, int code,
                         const char *detail) {
    erps_waiter_t *expired[64];
    int n;
    while ((n = erps_fence_take_expired(bus->fence, now, expired, 64)) > 0) {
        for (int i = 0; i < n; i++) {
            expired[i]->code = code;
            snprintf(expired[i]->detail, sizeof(expired[i]->detail), "%s",
                     detail);
            if (code == 504)
                bus->read_timeouts++;
            bus->answer(expired[i]);
        }
    }
}

static void check_caught_up(erps_bus_t *bus) {
    rd_kafka_topic_partition_list_t *pos;
    if (atomic_load(&bus->caught_up) || !bus->start_hw)
        return;
    pos = rd_kafka_topic_partition_list_copy(bus->start_hw);
    rd_kafka_position(bus->consumer, pos);
    int behind = 0;
    for (int i = 0; i < pos->cnt; i++) {
        int64_t hw = bus->start_hw->elems[i].offset;
        if (hw > 0 && pos->elems[i].offset < hw)
            behind = 1;
    }
    rd_kafka_topic_partition_list_destroy(pos);
    if (!behind) {
        atomic_store(&bus->caught_up, 1);
        erps_info("status topic read up to date");
    }
}

static void consume_one(erps_bus_t *bus) {
    rd_kafka_message_t *rkm = rd_kafka_consumer_poll(bus->consumer, 20);
    if (!rkm)
        return;
    if (!rkm->err) {
        handle_status(bus, rkm);
        advance(bus, rkm->partition, rkm->offset + 1);
    } else if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        /* read_committed: the end is the last stable offset. */
        advance(bus, rkm->partition, rkm->offset);
    } else {
        erps_dbg("status consumer: %s", rd_kafka_message_errstr(rkm));
    }
    rd_kafka_message_destroy(rkm);
}

static void expire_commands(erps_bus_t *bus) {
    erps_waiter_t *expired[64];
    int n;
    while ((n = erps_waiters_take_expired(bus->waiters, erps_mono_ms(), expired,
                                          64)) > 0) {
        for (int i = 0; i < n; i++) {
            expired[i]->code = 504;
            snprintf(expired[i]->detail, sizeof(expired[i]->detail),
                     "no status from the agent before the deadline; "
                     "command %s may still be applied or reported Expired",
                     expired[i]->id);
            bus->timeouts++;
            bus->answer(expired[i]);
        }
    }
}

static void *bus_main(void *arg) {
    erps_bus_t *bus = arg;
    while (!atomic_load(&bus->stop)) {
        consume_one(bus);
        rd_kafka_poll(bus->producer, 0);
        check_caught_up(bus);
        expire_commands(bus);
        if (erps_fence_waiting(bus->fence) > 0) {
            advance_to_position(bus);
            answer_reads(bus, bus->scratch_bus);
        }
        expire_reads(bus, erps_mono_ms(), 504,
                     "the shim could not read the status topic up to where it "
                     "ended when the call arrived, before the deadline");
    }
    return NULL;
}

/* Where each wanted partition of the status topic ends (read_committed: the
 * last stable offset), in one ListOffsets round per leader. Retried until
 * the deadline while the cluster answers: a partition may briefly have no
 * leader (the query must reach it). */
static int query_ends(erps_bus_t *bus, int64_t deadline, int64_t *end,
                      char *errstr, size_t n) {
    rd_kafka_resp_err_t err;
    do {
        rd_kafka_topic_partition_list_t *parts =
            rd_kafka_topic_partition_list_new(bus->status_parts);
        for (int32_t p = 0; p < bus->status_parts; p++)
            if (bus->want[p])
                rd_kafka_topic_partition_list_add(parts, bus->topics.status, p)
                    ->offset = RD_KAFKA_OFFSET_END; /* the latest */
        int64_t left = deadline - erps_mono_ms();
        err = rd_kafka_offsets_for_times(
            bus->fencer, parts,
            left > 1 ? (int)(left < 5000 ? left : 5000) : 1);
        for (int i = 0; !err && i < parts->cnt; i++) {
            err = parts->elems[i].err;
            end[parts->elems[i].partition] = parts->elems[i].offset;
        }
        rd_kafka_topic_partition_list_destroy(parts);
        if (!err)
            return 0;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        /* Once the probe finds no broker, waiting longer helps no one. */
    } while (erps_mono_ms() < deadline && !atomic_load(&bus->stop) &&
             atomic_load(&bus->kafka_up));
    snprintf(errstr, n,
             "Kafka is unavailable: where %.100s ends could not "
             "be learned (%.60s)",
             bus->topics.status, rd_kafka_err2str(err));
    return -1;
}

/* The asker: one query in flight; reads that come meanwhile share the next. */
static void *fence_main(void *arg) {
    erps_bus_t *bus = arg;
    char err[256];
    while (!atomic_load(&bus->stop)) {
        int64_t deadline;
        if (erps_fence_begin(bus->fence, 100, bus->want, &deadline) == 0)
            continue;
        bus->read_queries++;
        if (query_ends(bus, deadline, bus->ends, err, sizeof(err)) == 0)
            erps_fence_end(bus->fence, bus->ends);
        else
            erps_fence_fail(bus->fence, err);
        answer_reads(bus, bus->scratch_fence);
        /* The rest wait for the view: wake the bus thread from its poll to
         * look at once, the records may all be there already. */
        if (erps_fence_waiting(bus->fence) > 0)
            rd_kafka_queue_yield(bus->consumer_queue);
    }
    return NULL;
}

/* Asks the cluster for metadata every second: the cheapest honest answer to
 * "can a command reach Kafka right now". */
static void *probe_main(void *arg) {
    erps_bus_t *bus = arg;
    while (!atomic_load(&bus->stop)) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err =
            rd_kafka_metadata(bus->producer, 0, NULL, &md, 1000);
        int up = err == RD_KAFKA_RESP_ERR_NO_ERROR && md->broker_cnt > 0;
        if (md)
            rd_kafka_metadata_destroy(md);
        if (up != atomic_load(&bus->kafka_up))
            erps_info("Kafka is %s", up ? "reachable" : "unreachable");
        atomic_store(&bus->kafka_up, up);
        for (int i = 0; i < 10 && !atomic_load(&bus->stop); i++) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static rd_kafka_t *make_client(const char *bootstrap, const erps_kprops_t *kp,
                               rd_kafka_type_t type, erps_bus_t *bus,
                               int64_t request_timeout_ms, char *errstr,
                               size_t n) {
    char tmo[32], err[512];
    static const char *const ptuning[] = {"linger.ms", "0", NULL};
    static const char *const ctuning[] = {"fetch.wait.max.ms", "10", NULL};
    const char *const *tuning = type == RD_KAFKA_PRODUCER ? ptuning : ctuning;
    rd_kafka_conf_t *kc =
        erps_kafka_conf(bootstrap, "erpsync-shim", tuning, kp, errstr, n);
    if (!kc)
        return NULL;
    int bad;
    if (type == RD_KAFKA_PRODUCER) {
        /* Delivery must fail before the HTTP deadline, so the caller gets a
         * clear 503 instead of a 504 while Kafka is down. */
        snprintf(tmo, sizeof(tmo), "%" PRId64,
                 request_timeout_ms > 2000 ? request_timeout_ms - 1000
                                           : request_timeout_ms / 2);
        bad = erps_kafka_set(kc, "partitioner", "murmur2_random", errstr, n) ||
              erps_kafka_set(kc, "enable.idempotence", "true", errstr, n) ||
              erps_kafka_set(kc, "message.timeout.ms", tmo, errstr, n);
        rd_kafka_conf_set_dr_msg_cb(kc, on_delivery);
        rd_kafka_conf_set_opaque(kc, bus);
    } else {
        /* No group: every shim reads every status; nothing to commit. */
        bad = erps_kafka_set(kc, "group.id", "erpsync-shim", errstr, n) ||
              erps_kafka_set(kc, "enable.auto.commit", "false", errstr, n) ||
              erps_kafka_set(kc, "isolation.level", "read_committed", errstr,
                             n) ||
              /* The end of a partition tells reads the view is up to date. */
              erps_kafka_set(kc, "enable.partition.eof", "true", errstr, n);
    }
    if (bad) {
        rd_kafka_conf_destroy(kc);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(type, kc, err, sizeof(err));
    if (!rk) {
        rd_kafka_conf_destroy(kc);
        snprintf(errstr, n, "creating Kafka client: %s", err);
    }
    return rk;
}

/* Per-partition state of the view and of the reads waiting for it. */
static int alloc_partitions(erps_bus_t *bus, int cnt, char *errstr, size_t n) {
    size_t c = (size_t)cnt;
    bus->status_parts = cnt;
    bus->read_to = calloc(c, sizeof(*bus->read_to));
    bus->scratch_bus = calloc(c, sizeof(*bus->scratch_bus));
    bus->scratch_fence = calloc(c, sizeof(*bus->scratch_fence));
    bus->want = calloc(c, sizeof(*bus->want));
    bus->ends = calloc(c, sizeof(*bus->ends));
    bus->fence = erps_fence_new(cnt);
    if (!bus->read_to || !bus->scratch_bus || !bus->scratch_fence ||
        !bus->want || !bus->ends || !bus->fence) {
        snprintf(errstr, n, "out of memory");
        return -1;
    }
    for (int p = 0; p < cnt; p++)
        atomic_store(&bus->read_to[p], -1);
    return 0;
}

static void free_partitions(erps_bus_t *bus) {
    free(bus->read_to);
    free(bus->scratch_bus);
    free(bus->scratch_fence);
    free(bus->want);
    free(bus->ends);
    erps_fence_destroy(bus->fence);
}

/* Reads the status topic from the start (it is compacted: the latest status
 * of every engine), and remembers where it ended so /readyz can tell. */
static int assign_status(erps_bus_t *bus, char *errstr, size_t n) {
    int cnt = erps_kafka_partition_count(bus->consumer, bus->topics.status,
                                         5000, errstr, n);
    if (cnt < 0 || alloc_partitions(bus, cnt, errstr, n))
        return -1;
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(cnt);
    bus->start_hw = rd_kafka_topic_partition_list_new(cnt);
    for (int p = 0; p < cnt; p++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_query_watermark_offsets(bus->consumer, bus->topics.status, p,
                                         &lo, &hi, 5000);
        rd_kafka_topic_partition_list_add(parts, bus->topics.status, p)
            ->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_topic_partition_list_add(bus->start_hw, bus->topics.status, p)
            ->offset = hi;
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(bus->consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (err) {
        snprintf(errstr, n, "assign %s: %s", bus->topics.status,
                 rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

/* The bus, probe and fence threads; on failure none is left running. */
static int start_threads(erps_bus_t *bus, char *errstr, size_t n) {
    void *(*const main_of[3])(void *) = {bus_main, probe_main, fence_main};
    pthread_t *const thread_of[3] = {&bus->thread, &bus->probe_thread,
                                     &bus->fence_thread};
    for (int i = 0; i < 3; i++) {
        if (pthread_create(thread_of[i], NULL, main_of[i], bus) == 0)
            continue;
        atomic_store(&bus->stop, 1);
        erps_fence_stop(bus->fence);
        for (int j = 0; j < i; j++)
            pthread_join(*thread_of[j], NULL);
        snprintf(errstr, n, "cannot start the shim's Kafka threads");
        return -1;
    }
    return 0;
}

/* A bus that failed to start, with what it had made. */
static void bus_free_partial(erps_bus_t *bus) {
    if (bus->fencer)
        rd_kafka_destroy(bus->fencer);
    if (bus->consumer_queue)
        rd_kafka_queue_destroy(bus->consumer_queue);
    if (bus->consumer)
        rd_kafka_destroy(bus->consumer);
    if (bus->producer)
        rd_kafka_destroy(bus->producer);
    if (bus->start_hw)
        rd_kafka_topic_partition_list_destroy(bus->start_hw);
    free_partitions(bus);
    erps_view_destroy(bus->view);
    free(bus);
}

/* The producer, the status consumer and the fence's consumer. */
static int make_clients(erps_bus_t *bus, const char *bootstrap,
                        const erps_kprops_t *kp, int64_t timeout_ms,
                        char *errstr, size_t n) {
    bus->producer = make_client(bootstrap, kp, RD_KAFKA_PRODUCER, bus,
                                timeout_ms, errstr, n);
    if (bus->producer)
        bus->consumer = make_client(bootstrap, kp, RD_KAFKA_CONSUMER, bus,
                                    timeout_ms, errstr, n);
    if (bus->consumer)
        bus->fencer = make_client(bootstrap, kp, RD_KAFKA_CONSUMER, bus,
                                  timeout_ms, errstr, n);
    return bus->fencer ? 0 : -1;
}

erps_bus_t *erps_bus_new(const char *bootstrap, const erps_kprops_t *kp,
                         const erps_topics_t *topics,
                         const erps_topic_policy_t *policy,
                         int64_t request_timeout_ms, erps_waiters_t *waiters,
                         erps_bus_answer_cb *answer, char *errstr,
                         size_t errstr_size) {
    erps_bus_t *bus = calloc(1, sizeof(*bus));
    if (!bus || !(bus->view = erps_view_new())) {
        snprintf(errstr, errstr_size, "out of memory");
        free(bus);
        return NULL;
    }
    bus->topics = *topics;
    bus->waiters = waiters;
    bus->answer = answer;
    if (make_clients(bus, bootstrap, kp, request_timeout_ms, errstr,
                     errstr_size) ||
        erps_kafka_ensure_topics(bus->producer, topics, policy, 10000, errstr,
                                 errstr_size) ||
        assign_status(bus, errstr, errstr_size))
        goto fail;
    bus->consumer_queue = rd_kafka_queue_get_consumer(bus->consumer);
    if (!bus->consumer_queue) {
        snprintf(errstr, errstr_size, "the status consumer has no queue");
        goto fail;
    }
    atomic_store(&bus->kafka_up, 1);
    if (start_threads(bus, errstr, errstr_size))
        goto fail;
    return bus;
fail:
    bus_free_partial(bus);
    return NULL;
}

void erps_bus_close(erps_bus_t *bus) {
    erps_waiter_t *left[64];
    int n;
    if (!bus || atomic_exchange(&bus->closed, 1))
        return;
    atomic_store(&bus->stop, 1);
    erps_fence_stop(bus->fence);
    pthread_join(bus->thread, NULL);
    pthread_join(bus->probe_thread, NULL);
    pthread_join(bus->fence_thread, NULL);
    /* A send racing with this sees closed after adding its waiter and
     * takes it back itself (erps_bus_send); the rest are answered here. */
    while ((n = erps_waiters_take_expired(bus->waiters, INT64_MAX, left, 64)) >
           0) {
        for (int i = 0; i < n; i++) {
            left[i]->code = 503;
            snprintf(left[i]->detail, sizeof(left[i]->detail),
                     "the shim is shutting down; command %s may still be "
                     "applied",
                     left[i]->id);
            bus->answer(left[i]);
        }
    }
    expire_reads(bus, INT64_MAX, 503, "the shim is shutting down");
}

void erps_bus_destroy(erps_bus_t *bus) {
    if (!bus)
        return;
    erps_bus_close(bus);
    rd_kafka_flush(bus->producer, 2000);
    rd_kafka_queue_destroy(bus->consumer_queue);
    rd_kafka_consumer_close(bus->consumer);
    rd_kafka_destroy(bus->consumer);
    rd_kafka_destroy(bus->fencer);
    rd_kafka_destroy(bus->producer);
    rd_kafka_topic_partition_list_destroy(bus->start_hw);
    free_partitions(bus);
    erps_view_destroy(bus->view);
    explicit_bzero(bus->sign_key, sizeof(bus->sign_key));
    free(bus);
}

/* Closing, or no broker answers: refused at once. For a read, the end of the
 * topic cannot be learned then, and the view may be older than a change
 * another shim has answered. @returns -1 with errstr, or 0. */
static int refuse(erps_bus_t *bus, char *errstr, size_t errstr_size) {
    if (atomic_load(&bus->closed)) {
        snprintf(errstr, errstr_size, "the shim is shutting down");
        return -1;
    }
    if (!atomic_load(&bus->kafka_up)) {
        snprintf(errstr, errstr_size,
                 "Kafka is unavailable: no broker answers; try again later");
        return -1;
    }
    return 0;
}

int erps_bus_read(erps_bus_t *bus, const char *engine_id, erps_waiter_t *w,
                  char *errstr, size_t errstr_size) {
    if (refuse(bus, errstr, errstr_size))
        return -1;
    erps_strlcpy(w->status.ce.subject, engine_id, sizeof(w->status.ce.subject));
    w->partition = erps_kafka_engine_partition(engine_id, bus->status_parts);
    w->code = 0;
    bus->reads++;
    erps_fence_add(bus->fence, w);
    /* As in erps_bus_send: a read added after close's last sweep is taken
     * back here, never left hanging. */
    if (atomic_load(&bus->closed) && erps_fence_take(bus->fence, w)) {
        snprintf(errstr, errstr_size, "the shim is shutting down");
        return -1;
    }
    return 0;
}

void erps_bus_read_cancel(erps_bus_t *bus, erps_waiter_t *w) {
    erps_fence_take(bus->fence, w);
}

int erps_bus_send(erps_bus_t *bus, const erps_command_t *cmd, erps_waiter_t *w,
                  char *errstr, size_t errstr_size) {
    erps_msg_t msg;
    if (refuse(bus, errstr, errstr_size) ||
        erps_command_encode(cmd, &msg, errstr, errstr_size))
        return -1;
    if (bus->sign_len &&
        erps_command_sign(&msg, bus->sign_key, bus->sign_len)) {
        erps_msg_release(&msg);
        snprintf(errstr, errstr_size, "the command could not be signed");
        return -1;
    }
    char *id = strdup(cmd->ce.id);
    if (!id) {
        erps_msg_release(&msg);
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    /* Registered before producing: the status may come back at once. */
    erps_waiters_add(bus->waiters, w);
    /* erps_bus_close sets closed before its last sweep: a waiter added
     * after that sweep is seen here and taken back, never left hanging. */
    if (atomic_load(&bus->closed)) {
        free(id);
        erps_msg_release(&msg);
        if (erps_waiters_take(bus->waiters, w->id) != w)
            return 0; /* the sweep answered it */
        snprintf(errstr, errstr_size, "the shim is shutting down");
        return -1;
    }
    rd_kafka_resp_err_t err = erps_kafka_produce(
        bus->producer, bus->topics.commands, RD_KAFKA_PARTITION_UA, &msg, id);
    erps_msg_release(&msg);
    if (err) {
        free(id);
        if (erps_waiters_take(bus->waiters, w->id) != w) {
            /* Already answered by someone else: let that answer stand. */
            return 0;
        }
        bus->failed++;
        snprintf(errstr, errstr_size, "Kafka is unavailable: %s",
                 rd_kafka_err2str(err));
        return -1;
    }
    bus->sent++;
    return 0;
}

bool erps_bus_kafka_up(erps_bus_t *bus) {
    return atomic_load(&bus->kafka_up);
}
bool erps_bus_caught_up(erps_bus_t *bus) {
    return atomic_load(&bus->caught_up);
}

void erps_bus_stats(erps_bus_t *bus, erps_bus_stats_t *out) {
    out->commands_sent = bus->sent;
    out->commands_failed = bus->failed;
    out->statuses_received = bus->received;
    out->statuses_invalid = bus->invalid;
    out->answered = bus->answered;
    out->timeouts = bus->timeouts;
    out->statuses_stale = bus->stale;
    out->engines_known = erps_view_engines(bus->view);
    out->reads = bus->reads;
    out->read_queries = bus->read_queries;
    out->read_timeouts = bus->read_timeouts;
    out->read_failures = bus->read_failures;
}

int erps_bus_set_sign_key(erps_bus_t *bus, const char *path, char *errstr,
                          size_t errstr_size) {
    return erps_sign_key_load(path, bus->sign_key, sizeof(bus->sign_key),
                              &bus->sign_len, errstr, errstr_size);
}
