/*
 * txn.c - the agent's Kafka clients and the transaction that publishes a
 * batch: its outbox and the offsets of every command partition it advanced,
 * together. An abortable error aborts and replays the same outbox (same ids,
 * same sequence numbers), so read_committed readers see each outcome exactly
 * once and sequences have no gaps. A fatal error gets a new producer (same
 * transactional.id, next epoch), unless the agent was fenced.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "erpsync/log.h"
#include "served.h"

/* A delivery report callback, though every outcome is judged by the
 * transaction: without one, librdkafka's flush inside commit_transaction()
 * polls in 10 ms naps (measured: commit 10.4 ms without, 1.3 ms with). */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
                        void *opaque) {
    (void)rk;
    (void)opaque;
    if (rkm->err)
        erps_dbg("delivery to %s failed: %s", rd_kafka_topic_name(rkm->rkt),
                 rd_kafka_err2str(rkm->err));
}

static int set_producer(rd_kafka_conf_t *kc, const erps_agent_conf_t *conf,
                        const char *id, char *errstr, size_t n) {
    char tmo[32];
    snprintf(tmo, sizeof(tmo), "%" PRId64, conf->txn_timeout_ms);
    /* One transactional id per agent: a new process of the same agent
     * fences the old one. Status and audit land in each engine's
     * partition, as its commands do. */
    if (erps_kafka_set(kc, "transactional.id", id, errstr, n) ||
        erps_kafka_set(kc, "partitioner", "murmur2_random", errstr, n) ||
        erps_kafka_set(kc, "transaction.timeout.ms", tmo, errstr, n))
        return -1;
    rd_kafka_conf_set_dr_msg_cb(kc, on_delivery);
    return 0;
}

static int set_consumer(rd_kafka_conf_t *kc, const char *id, char *errstr,
                        size_t n) {
    return erps_kafka_set(kc, "group.id", id, errstr, n) ||
           erps_kafka_set(kc, "isolation.level", "read_committed", errstr, n) ||
           erps_kafka_set(kc, "enable.auto.commit", "false", errstr, n) ||
           erps_kafka_set(kc, "auto.offset.reset", "earliest", errstr, n) ||
           /* read_committed readers end at the last stable offset, which a
            * commit marker may keep below the high watermark */
           erps_kafka_set(kc, "enable.partition.eof", "true", errstr, n);
}

rd_kafka_t *erps_agent_client(const erps_agent_conf_t *conf,
                              const erps_kprops_t *kp, rd_kafka_type_t type,
                              char *errstr, size_t errstr_size) {
    char id[300];
    snprintf(id, sizeof(id), "erpsync-agent-%s", conf->agent_id);
    /* Latency over batching: one command is a handful of small records.
     * The broker answers a fetch as soon as a record is there, so a longer
     * fetch wait costs a lone command nothing (measured on Kafka: 15-18 ms
     * at 100 as at 10) and an idle agent 0.35% of a core instead of 1.1%.
     * The prefetch queue of each partition is capped at 4 MiB instead of
     * 64: a batch takes 1,000 commands (about 1 MiB) at most, and a queued
     * burst no longer costs its size in RSS (measured with 1,000 engines,
     * 20,000 commands queued: peak 84 MiB at 64, 64 at 16, 46 at 4, the
     * same 10,000 commands/s). */
    static const char *const ptuning[] = {"linger.ms", "0", NULL};
    static const char *const ctuning[] = {
        "fetch.wait.max.ms", "100", "queued.max.messages.kbytes", "4096", NULL};
    rd_kafka_conf_t *kc = erps_kafka_conf(
        conf->bootstrap, id, type == RD_KAFKA_PRODUCER ? ptuning : ctuning, kp,
        errstr, errstr_size);
    if (!kc)
        return NULL;
    if (type == RD_KAFKA_PRODUCER
            ? set_producer(kc, conf, id, errstr, errstr_size)
            : set_consumer(kc, id, errstr, errstr_size)) {
        rd_kafka_conf_destroy(kc);
        return NULL;
    }
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(type, kc, err, sizeof(err));
    if (!rk) {
        rd_kafka_conf_destroy(kc);
        snprintf(errstr, errstr_size, "creating Kafka client: %s", err);
    }
    return rk;
}

int erps_agent_alive(erps_agent_t *ag) {
    int64_t now = erps_mono_ms(), gap = now - ag->alive_ms;
    ag->alive_ms = now;
    /* Another agent may take our engines once their last status is older
     * than engine.claim.timeout.ms; a process stopped (SIGSTOP, a frozen
     * VM) for half of that must not commit for them any more. */
    if (ag->conf->claim_timeout_ms > 0 &&
        gap > ag->conf->claim_timeout_ms / 2) {
        erps_err("the agent was stalled for %" PRId64 " ms, more than half "
                 "engine.claim.timeout.ms (%" PRId64 "): another agent may "
                 "serve its engines now; stopping without committing",
                 gap, ag->conf->claim_timeout_ms);
        ag->fatal_exit = ERPS_AGENT_EXIT_FENCED;
        return -1;
    }
    return 0;
}

/* A fatal error: fencing stops the agent (a new process of this agent took
 * over); any other leaves this producer unusable, and a new one replays the
 * batch. @returns -1 to stop, 1 to recreate the producer. */
static int txn_fatal(erps_agent_t *ag, rd_kafka_error_t *error) {
    rd_kafka_resp_err_t code = rd_kafka_error_code(error);
    int rc = 1;
    int fenced = code == RD_KAFKA_RESP_ERR__FENCED ||
                 code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
                 code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
    /* The coordinator also bumps the epoch of a transaction that outlived
     * transaction.timeout.ms (a long outage): that is not another agent. */
    int timed_out = erps_mono_ms() - ag->txn_began >= ag->conf->txn_timeout_ms;
    if (fenced && !timed_out) {
        erps_err("fenced: another process of agent %s has taken over (%s); "
                 "stopping",
                 ag->conf->agent_id, rd_kafka_error_string(error));
        ag->fatal_exit = ERPS_AGENT_EXIT_FENCED;
        rc = -1;
    } else if (fenced) {
        erps_warn("the transaction outlived transaction.timeout.ms and was "
                  "aborted by the coordinator (%s); starting a new producer",
                  rd_kafka_error_string(error));
    } else {
        erps_warn("fatal transaction error: %s; starting a new producer",
                  rd_kafka_error_string(error));
    }
    rd_kafka_error_destroy(error);
    return rc;
}

/* Replaces a producer that hit a fatal error. init_transactions() aborts
 * whatever the old one left open. @returns 0, or -1 (fatal_exit set). */
static int recreate_producer(erps_agent_t *ag, volatile sig_atomic_t *stop) {
    char err[512];
    rd_kafka_destroy(ag->producer);
    ag->producer = erps_agent_client(ag->conf, ag->kp, RD_KAFKA_PRODUCER, err,
                                     sizeof(err));
    if (!ag->producer) {
        erps_err("new producer: %s", err);
        ag->fatal_exit = ERPS_AGENT_EXIT_FATAL;
        return -1;
    }
    for (int attempt = 0; attempt < 12 && !*stop && !erps_agent_alive(ag);
         attempt++) {
        rd_kafka_error_t *error =
            rd_kafka_init_transactions(ag->producer, 5000);
        if (!error) {
            erps_info("new producer ready");
            return 0;
        }
        int fatal = rd_kafka_error_is_fatal(error);
        erps_warn("init_transactions: %s", rd_kafka_error_string(error));
        if (fatal)
            return txn_fatal(ag, error) < 0 ? -1 : recreate_producer(ag, stop);
        rd_kafka_error_destroy(error);
    }
    erps_err("no usable producer after a fatal error; stopping");
    if (!ag->fatal_exit)
        ag->fatal_exit = ERPS_AGENT_EXIT_FATAL;
    return -1;
}

static rd_kafka_error_t *produce_all(erps_agent_t *ag) {
    for (int i = 0; i < ag->out.cnt; i++) {
        rd_kafka_resp_err_t err;
        while ((err = erps_kafka_produce(
                    ag->producer, ag->out.ev[i].topic, RD_KAFKA_PARTITION_UA,
                    &ag->out.ev[i].msg, NULL)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(ag->producer, 50);
        if (err)
            return rd_kafka_error_new(err, "produce to %s: %s",
                                      ag->out.ev[i].topic,
                                      rd_kafka_err2str(err));
    }
    return NULL;
}

/* The command partitions whose offset moved since the last commit, or NULL
 * when none did. */
static rd_kafka_topic_partition_list_t *moved_offsets(const erps_agent_t *ag) {
    rd_kafka_topic_partition_list_t *offs = NULL;
    for (int i = 0; i < ag->part_cnt; i++) {
        const erps_cmd_part_t *p = &ag->part[i];
        if (p->next < 0 || p->next == p->committed)
            continue;
        if (!offs)
            offs = rd_kafka_topic_partition_list_new(ag->part_cnt);
        rd_kafka_topic_partition_list_add(offs, ag->conf->topics.commands,
                                          p->partition)
            ->offset = p->next;
    }
    return offs;
}

/* The transaction is on Kafka: its offsets are what is committed now. */
static void committed(erps_agent_t *ag,
                      const rd_kafka_topic_partition_list_t *offs) {
    for (int i = 0; offs && i < offs->cnt; i++) {
        int32_t p = offs->elems[i].partition;
        ag->part[ag->part_of[p]].committed = offs->elems[i].offset;
    }
    erps_outbox_clear(&ag->out);
}

/* After a new producer replaced one that failed fatally: was the batch
 * committed before it failed? @returns 1 (done), 0 (replay), -1 (stop). */
static int settle_after_recreate(erps_agent_t *ag,
                                 const rd_kafka_topic_partition_list_t *offs) {
    int was = erps_recover_batch_committed(ag);
    if (was < 0) {
        /* Neither replay (maybe twice) nor drop (maybe never): a restart
         * reconciles from the state file and the topics. */
        erps_err("cannot tell whether the failed transaction committed; "
                 "stopping so a restart reconciles");
        ag->fatal_exit = ERPS_AGENT_EXIT_FATAL;
        return -1;
    }
    if (was) {
        erps_info("the failed producer's transaction had committed; not "
                  "replaying it");
        committed(ag, offs);
        return 1;
    }
    return 0;
}

/* A fatal error in a transaction: stop when fenced, else a new producer
 * and a look at whether the batch made it. @returns -1 to stop, 1 when the
 * batch is on Kafka, 0 to replay it. Takes error. */
static int after_fatal(erps_agent_t *ag, rd_kafka_error_t *error,
                       volatile sig_atomic_t *stop, int *recreated,
                       const rd_kafka_topic_partition_list_t *offs) {
    if (txn_fatal(ag, error) < 0 || ++*recreated > 5 ||
        recreate_producer(ag, stop)) {
        if (!ag->fatal_exit)
            ag->fatal_exit = ERPS_AGENT_EXIT_FATAL;
        return -1;
    }
    return settle_after_recreate(ag, offs);
}

/* One attempt: begin, produce, offsets, commit (retrying a retriable
 * commit). @returns NULL when committed, else the error. */
static rd_kafka_error_t *attempt(erps_agent_t *ag,
                                 const rd_kafka_topic_partition_list_t *offs,
                                 int call_ms, volatile sig_atomic_t *stop) {
    ag->txn_began = erps_mono_ms();
    rd_kafka_error_t *error = rd_kafka_begin_transaction(ag->producer);
    if (!error)
        error = produce_all(ag);
    if (!error && offs)
        error = rd_kafka_send_offsets_to_transaction(ag->producer, offs,
                                                     ag->cgmd, call_ms);
    /* Last look before each commit: a stalled agent may have been
     * replaced meanwhile, and its transaction must not land. */
    while (!error) {
        if (erps_agent_alive(ag))
            return rd_kafka_error_new(
                RD_KAFKA_RESP_ERR__FENCED,
                "stalled past engine.claim.timeout.ms / 2");
        error = rd_kafka_commit_transaction(ag->producer, call_ms);
        if (!error || !rd_kafka_error_is_retriable(error) || *stop)
            break;
        erps_warn("commit: %s; retrying", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        error = NULL;
    }
    return error;
}

/* Aborts after an abortable error. A timed-out abort is resumed by calling
 * abort again, never by beginning another transaction. @returns NULL, or a
 * fatal error for after_fatal(). */
static rd_kafka_error_t *abort_txn(erps_agent_t *ag, int call_ms,
                                   volatile sig_atomic_t *stop) {
    rd_kafka_error_t *error;
    for (int tries = 0;
         (error = rd_kafka_abort_transaction(ag->producer, call_ms)) &&
         rd_kafka_error_is_retriable(error) && !*stop && tries < 12 &&
         erps_agent_alive(ag) == 0;
         tries++) {
        erps_warn("abort: %s; retrying", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    if (error && !rd_kafka_error_is_fatal(error)) {
        erps_warn("abort failed: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        error = NULL;
    }
    return error;
}

/* @returns 0 committed, 1 to try again, -1 to stop. Takes error. */
static int after_error(erps_agent_t *ag, rd_kafka_error_t *error,
                       volatile sig_atomic_t *stop, int *recreated,
                       const rd_kafka_topic_partition_list_t *offs,
                       int call_ms) {
    if (ag->fatal_exit) { /* stalled: nothing more may reach Kafka */
        rd_kafka_error_destroy(error);
        return -1;
    }
    if (!rd_kafka_error_is_fatal(error)) {
        erps_warn("transaction failed (%s); aborting and replaying %d events",
                  rd_kafka_error_string(error), ag->out.cnt);
        rd_kafka_error_destroy(error);
        error = abort_txn(ag, call_ms, stop);
        if (!error)
            return 1;
    }
    int settled = after_fatal(ag, error, stop, recreated, offs);
    return settled < 0 ? -1 : settled > 0 ? 0 : 1;
}

int erps_txn_commit(erps_agent_t *ag, volatile sig_atomic_t *stop) {
    int backoff_ms = 100, recreated = 0, rc;
    /* Every call is bounded, so a stop request is seen even while Kafka is
     * unreachable; a timed-out call is retriable and simply tried again. */
    int call_ms =
        ag->conf->txn_timeout_ms < 5000 ? (int)ag->conf->txn_timeout_ms : 5000;
    rd_kafka_topic_partition_list_t *offs = moved_offsets(ag);

    if (ag->out.cnt == 0 && !offs)
        return 0;
    for (;;) {
        rd_kafka_error_t *error = attempt(ag, offs, call_ms, stop);
        if (!error) {
            committed(ag, offs);
            rc = 0;
            break;
        }
        rc = after_error(ag, error, stop, &recreated, offs, call_ms);
        if (rc <= 0)
            break;
        if (*stop) {
            erps_err("stopping with %d unpublished events", ag->out.cnt);
            ag->fatal_exit = ERPS_AGENT_EXIT_FATAL;
            rc = -1;
            break;
        }
        struct timespec ts = {0, (long)backoff_ms * 1000000L};
        nanosleep(&ts, NULL);
        if (backoff_ms < 2000)
            backoff_ms *= 2;
        if (erps_agent_alive(ag)) {
            rc = -1;
            break;
        }
    }
    if (offs)
        rd_kafka_topic_partition_list_destroy(offs);
    return rc;
}
