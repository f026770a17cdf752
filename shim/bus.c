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

#define CACHE_BUCKETS 256

typedef struct cached {
    erps_status_t st;
    struct cached *next;
} cached_t;

struct erps_bus {
    unsigned char sign_key[ERPS_SIGN_KEY_MAX]; /* command.signing.key.file */
    size_t sign_len;                           /* 0: commands go unsigned */
    rd_kafka_t *producer;
    rd_kafka_t *consumer;
    erps_topics_t topics;
    erps_waiters_t *waiters;
    erps_bus_answer_cb *answer;

    pthread_t thread, probe_thread;
    atomic_int stop;
    atomic_int closed;
    atomic_int kafka_up;
    atomic_int caught_up;
    rd_kafka_topic_partition_list_t *start_hw; /* high watermarks at start */

    pthread_mutex_t cache_lock;
    cached_t *cache[CACHE_BUCKETS];

    _Atomic uint64_t sent, failed, received, invalid, answered, timeouts,
        engines;
};

static unsigned hash_str(const char *s) {
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % CACHE_BUCKETS;
}

static void cache_put(erps_bus_t *bus, const erps_status_t *st) {
    unsigned b = hash_str(st->ce.subject);
    pthread_mutex_lock(&bus->cache_lock);
    cached_t *c = bus->cache[b];
    while (c && strcmp(c->st.ce.subject, st->ce.subject) != 0)
        c = c->next;
    if (!c && (c = calloc(1, sizeof(*c)))) {
        c->next = bus->cache[b];
        bus->cache[b] = c;
        bus->engines++;
    }
    if (c)
        c->st = *st;
    pthread_mutex_unlock(&bus->cache_lock);
}

int erps_bus_latest(erps_bus_t *bus, const char *engine_id, erps_status_t *out) {
    int rc = -1;
    pthread_mutex_lock(&bus->cache_lock);
    for (cached_t *c = bus->cache[hash_str(engine_id)]; c; c = c->next) {
        if (strcmp(c->st.ce.subject, engine_id) == 0) {
            *out = c->st;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&bus->cache_lock);
    return rc;
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
                     "delivered (%s)", rd_kafka_err2str(rkm->err));
            bus->answered++;
            bus->answer(w);
        }
    }
    free(id);
}

static void handle_status(erps_bus_t *bus, const rd_kafka_message_t *rkm) {
    erps_msg_t view;
    erps_status_t st;
    char err[256];

    erps_kafka_view(rkm, &view);
    if (erps_status_decode(&view, &st, err, sizeof(err))) {
        bus->invalid++;
        erps_warn("ignoring invalid status at %s [%" PRId32 "] offset %" PRId64
                  ": %s", rd_kafka_topic_name(rkm->rkt), rkm->partition,
                  rkm->offset, err);
        return;
    }
    bus->received++;
    cache_put(bus, &st);
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

static void *bus_main(void *arg) {
    erps_bus_t *bus = arg;
    erps_waiter_t *expired[64];

    while (!atomic_load(&bus->stop)) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(bus->consumer, 20);
        if (rkm) {
            if (!rkm->err)
                handle_status(bus, rkm);
            else if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                erps_dbg("status consumer: %s", rd_kafka_message_errstr(rkm));
            rd_kafka_message_destroy(rkm);
        }
        rd_kafka_poll(bus->producer, 0);
        check_caught_up(bus);
        int n;
        while ((n = erps_waiters_take_expired(bus->waiters, erps_mono_ms(),
                                              expired, 64)) > 0) {
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
              erps_kafka_set(kc, "isolation.level", "read_committed", errstr, n);
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

/* Reads the status topic from the start (it is compacted: the latest status
 * of every engine), and remembers where it ended so /readyz can tell. */
static int assign_status(erps_bus_t *bus, char *errstr, size_t n) {
    int cnt = erps_kafka_partition_count(bus->consumer, bus->topics.status,
                                         5000, errstr, n);
    if (cnt < 0)
        return -1;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(cnt);
    bus->start_hw = rd_kafka_topic_partition_list_new(cnt);
    for (int p = 0; p < cnt; p++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_query_watermark_offsets(bus->consumer, bus->topics.status, p,
                                         &lo, &hi, 5000);
        rd_kafka_topic_partition_list_add(parts, bus->topics.status, p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
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

erps_bus_t *erps_bus_new(const char *bootstrap, const erps_kprops_t *kp,
                         const erps_topics_t *topics,
                         const erps_topic_policy_t *policy,
                         int64_t request_timeout_ms,
                         erps_waiters_t *waiters, erps_bus_answer_cb *answer,
                         char *errstr, size_t errstr_size) {
    erps_bus_t *bus = calloc(1, sizeof(*bus));
    if (!bus) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    bus->topics = *topics;
    bus->waiters = waiters;
    bus->answer = answer;
    pthread_mutex_init(&bus->cache_lock, NULL);
    bus->producer = make_client(bootstrap, kp, RD_KAFKA_PRODUCER, bus,
                                request_timeout_ms, errstr, errstr_size);
    if (!bus->producer)
        goto fail;
    bus->consumer = make_client(bootstrap, kp, RD_KAFKA_CONSUMER, bus,
                                request_timeout_ms, errstr, errstr_size);
    if (!bus->consumer ||
        erps_kafka_ensure_topics(bus->producer, topics, policy, 10000, errstr,
                                 errstr_size) ||
        assign_status(bus, errstr, errstr_size))
        goto fail;
    atomic_store(&bus->kafka_up, 1);
    if (pthread_create(&bus->thread, NULL, bus_main, bus)) {
        snprintf(errstr, errstr_size, "cannot start the bus thread");
        goto fail;
    }
    if (pthread_create(&bus->probe_thread, NULL, probe_main, bus)) {
        atomic_store(&bus->stop, 1);
        pthread_join(bus->thread, NULL);
        snprintf(errstr, errstr_size, "cannot start the probe thread");
        goto fail;
    }
    return bus;
fail:
    if (bus->consumer)
        rd_kafka_destroy(bus->consumer);
    if (bus->producer)
        rd_kafka_destroy(bus->producer);
    if (bus->start_hw)
        rd_kafka_topic_partition_list_destroy(bus->start_hw);
    pthread_mutex_destroy(&bus->cache_lock);
    free(bus);
    return NULL;
}

void erps_bus_close(erps_bus_t *bus) {
    erps_waiter_t *left[64];
    int n;
    if (!bus || atomic_exchange(&bus->closed, 1))
        return;
    atomic_store(&bus->stop, 1);
    pthread_join(bus->thread, NULL);
    pthread_join(bus->probe_thread, NULL);
    /* A send racing with this sees closed after adding its waiter and
     * takes it back itself (erps_bus_send); the rest are answered here. */
    while ((n = erps_waiters_take_expired(bus->waiters, INT64_MAX, left, 64)) > 0) {
        for (int i = 0; i < n; i++) {
            left[i]->code = 503;
            snprintf(left[i]->detail, sizeof(left[i]->detail),
                     "the shim is shutting down; command %s may still be "
                     "applied", left[i]->id);
            bus->answer(left[i]);
        }
    }
}

void erps_bus_destroy(erps_bus_t *bus) {
    if (!bus)
        return;
    erps_bus_close(bus);
    rd_kafka_flush(bus->producer, 2000);
    rd_kafka_consumer_close(bus->consumer);
    rd_kafka_destroy(bus->consumer);
    rd_kafka_destroy(bus->producer);
    rd_kafka_topic_partition_list_destroy(bus->start_hw);
    for (int b = 0; b < CACHE_BUCKETS; b++) {
        for (cached_t *c = bus->cache[b], *next; c; c = next) {
            next = c->next;
            free(c);
        }
    }
    pthread_mutex_destroy(&bus->cache_lock);
    explicit_bzero(bus->sign_key, sizeof(bus->sign_key));
    free(bus);
}

int erps_bus_send(erps_bus_t *bus, const erps_command_t *cmd, erps_waiter_t *w,
                  char *errstr, size_t errstr_size) {
    erps_msg_t msg;
    if (atomic_load(&bus->closed)) {
        snprintf(errstr, errstr_size, "the shim is shutting down");
        return -1;
    }
    if (!atomic_load(&bus->kafka_up)) {
        snprintf(errstr, errstr_size,
                 "Kafka is unavailable: no broker answers; try again later");
        return -1;
    }
    if (erps_command_encode(cmd, &msg, errstr, errstr_size))
        return -1;
    if (bus->sign_len && erps_command_sign(&msg, bus->sign_key, bus->sign_len)) {
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

bool erps_bus_kafka_up(erps_bus_t *bus) { return atomic_load(&bus->kafka_up); }
bool erps_bus_caught_up(erps_bus_t *bus) { return atomic_load(&bus->caught_up); }

void erps_bus_stats(erps_bus_t *bus, erps_bus_stats_t *out) {
    out->commands_sent = bus->sent;
    out->commands_failed = bus->failed;
    out->statuses_received = bus->received;
    out->statuses_invalid = bus->invalid;
    out->answered = bus->answered;
    out->timeouts = bus->timeouts;
    out->engines_known = bus->engines;
}

int erps_bus_set_sign_key(erps_bus_t *bus, const char *path, char *errstr,
                          size_t errstr_size) {
    return erps_sign_key_load(path, bus->sign_key, sizeof(bus->sign_key),
                              &bus->sign_len, errstr, errstr_size);
}
