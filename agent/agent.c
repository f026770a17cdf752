/*
 * agent.c - the agent's Kafka loop: consume, apply, publish, commit.
 *
 * Group commit: every command already fetched (up to batch.max, see
 * batch.c) is applied in memory; everything they cause (status events, audit
 * events, dead letters) waits in the outbox. The state file is written once,
 * then one transaction publishes the outbox together with the consumer
 * offset. An abortable error aborts and replays the same outbox (same ids,
 * same sequence numbers), so read_committed readers see each outcome exactly
 * once and the sequence has no gaps. Fatal errors, fencing included, stop the agent.
 */
#include "agent.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "erpsync/engine.h"
#include "erpsync/log.h"
#include "batch.h"
#include "statefile.h"

struct erps_agent {
    const erps_agent_conf_t *conf;
    unsigned char sign_key[ERPS_SIGN_KEY_MAX];
    size_t sign_len; /* 0: commands need no signature */
    const erps_kprops_t *kp; /* owned by the caller, lives as long as we do */
    rd_kafka_t *producer;
    rd_kafka_t *consumer;
    rd_kafka_consumer_group_metadata_t *cgmd;
    int32_t partition; /* of the commands topic, where our engine lives */
    int64_t next_offset; /* to commit; -1 before the first message */
    int64_t committed_offset;

    erps_engine_t *eng;
    erps_job_t *job;
    int64_t stopping_since; /* mono ms when Stopping began, 0 if not */
    erps_agent_state_t *state;
    char state_path[1200];
    int64_t last_status_ms;

    erps_outbox_t out; /* the events of the next transaction */
    int batch_cmds;    /* commands applied into it */
    int state_dirty;   /* confirmed commands not yet in the state file */
    int64_t txn_began; /* mono ms of the last begin_transaction() */
    int fatal_exit; /* set when a transaction failed fatally */
};

const erps_cfg_opt_t erps_agent_conf_table[] = {
#define O(f) offsetof(erps_agent_conf_t, f)
    {"engine.id", ERPS_CFG_STR, "", 0, 0, O(engine_id), ERPS_ENGINE_ID_MAX + 1,
     "engine this agent controls (required; [A-Za-z0-9._-])"},
    {"bootstrap.servers", ERPS_CFG_STR, "127.0.0.1:9092", 0, 0, O(bootstrap),
     1024, "Kafka bootstrap servers"},
    ERPS_CFG_TOPICS(erps_agent_conf_t, topics, topic_policy),
    {"state.dir", ERPS_CFG_STR, "./state", 0, 0, O(state_dir), 1024,
     "directory of the durable state file <engine.id>.state.json"},
    {"command.signing.key.file", ERPS_CFG_STR, "", 0, 0, O(sign_key_file), 1024,
     "apply only commands signed with this key (the shims'); others are "
     "audited Rejected and dead-lettered (empty: no signature needed)"},
    {"source", ERPS_CFG_STR, "", 0, 0, O(source), ERPS_SOURCE_MAX + 1,
     "ce_source of published events (default /erpsync/agent/<engine.id>)"},
    {"engine.interval", ERPS_CFG_INT, "900", 1, 7 * 86400 * 100,
     O(interval_s), 0, "seconds between iterations until changed by command"},
    {"engine.interval.min", ERPS_CFG_INT, "60", 1, INT32_MAX,
     O(interval_min_s), 0, "smallest interval a command may set, seconds"},
    {"engine.interval.max", ERPS_CFG_INT, "604800", 1, INT32_MAX,
     O(interval_max_s), 0, "largest interval a command may set, seconds"},
    {"status.heartbeat.ms", ERPS_CFG_INT, "30000", 0, 86400000,
     O(heartbeat_ms), 0, "republish status this often when quiet (0: never)"},
    {"command.clock.skew.ms", ERPS_CFG_INT, "1000", 0, 600000,
     O(clock_skew_ms), 0,
     "a command is Expired this long before its ce_deadline, so a clock "
     "this far behind the sender's never applies one late"},
    {"transaction.timeout.ms", ERPS_CFG_INT, "10000", 1000, 900000,
     O(txn_timeout_ms), 0, "Kafka transaction timeout"},
    {"job.command", ERPS_CFG_STR, "", 0, 0, O(job.command), 1024,
     "sync job program run every iteration, no shell (empty: no-op demo)"},
    {"job.args", ERPS_CFG_STR, "", 0, 0, O(job.args), 2048,
     "its arguments, space-separated ('\\ ' for a literal space)"},
    {"job.timeout.ms", ERPS_CFG_INT, "3600000", 100, 7 * 86400000LL,
     O(job.timeout_ms), 0, "an iteration running longer is terminated"},
    {"job.kill.grace.ms", ERPS_CFG_INT, "10000", 0, 3600000,
     O(job.kill_grace_ms), 0, "SIGTERM to SIGKILL when terminating the job"},
    {"job.stop.grace.ms", ERPS_CFG_INT, "30000", 0, 86400000,
     O(job_stop_grace_ms), 0,
     "after Run=false the running iteration may finish this long"},
    {"shutdown.timeout.ms", ERPS_CFG_INT, "60000", 1000, 3600000,
     O(shutdown_timeout_ms), 0,
     "after SIGTERM/SIGINT the agent exits (code 4) at the latest after this"},
    {"batch.max", ERPS_CFG_INT, "500", 1, ERPS_BATCH_MAX, O(batch_max), 0,
     "commands applied and published in one transaction at most"},
    {"log.level", ERPS_CFG_STR, "info", 0, 0, O(log_level), 16,
     "error, warn, info or debug"},
    {"log.format", ERPS_CFG_STR, "text", 0, 0, O(log_format), 8,
     "text (time program level: message) or json (one object per line)"},
    {"log.file", ERPS_CFG_STR, "", 0, 0, O(log_file), 1024,
     "append log lines to this file instead of standard error; SIGHUP reopens it"},
    ERPS_CFG_END
#undef O
};

static int batch_add(erps_agent_t *ag, const char *topic, erps_msg_t *msg) {
    return erps_outbox_add(&ag->out, topic, msg);
}

/* ---- status events from engine notifications ---- */

static void publish_status(erps_agent_t *ag, const char *cause) {
    erps_status_t st;
    erps_msg_t msg;
    char err[256];

    memset(&st, 0, sizeof(st));
    erps_ce_init(&st.ce, ag->conf->source, ag->conf->engine_id);
    erps_strlcpy(st.correlation_id, cause, sizeof(st.correlation_id));
    st.sequence = ++ag->state->sequence;
    erps_engine_fill_status(ag->eng, &st);
    if (erps_status_encode(&st, &msg, err, sizeof(err))) {
        erps_err("encoding status: %s", err);
        ag->state->sequence--;
        return;
    }
    if (batch_add(ag, ag->conf->topics.status, &msg) == 0)
        ag->last_status_ms = erps_mono_ms();
    else
        ag->state->sequence--;
}

static void on_engine(void *opaque, const erps_engine_t *eng,
                      erps_engine_event_t ev, const char *cause_id) {
    erps_agent_t *ag = opaque;
    (void)eng;
    ag->stopping_since = erps_engine_state(ag->eng) == ERPS_STATE_STOPPING
                             ? (ag->stopping_since ? ag->stopping_since
                                                   : erps_mono_ms())
                             : 0;
    erps_info("engine %s: %s%s%s", ag->conf->engine_id,
              ev == ERPS_ENGINE_EV_ITERATION  ? "iteration finished, "
              : ev == ERPS_ENGINE_EV_INTERVAL ? "interval changed, "
                                              : "",
              erps_state_name(erps_engine_state(ag->eng)),
              *cause_id ? " (by command)" : "");
    publish_status(ag, cause_id);
}

/* The engine's runner: iterations run the configured sync job. */
static int run_job(void *opaque, int64_t number, erps_iteration_t *res) {
    erps_agent_t *ag = opaque;
    erps_engine_saved_t sv;
    erps_engine_saved(ag->eng, &sv);
    return erps_job_start(ag->job, number,
                          sv.last.number > 0 ? sv.last.outcome : "", res);
}

/* Called every loop turn: collects a finished job, enforces the stop grace. */
static void supervise_job(erps_agent_t *ag) {
    erps_iteration_t res;
    int64_t mono = erps_mono_ms();
    if (!erps_job_running(ag->job))
        return;
    if (ag->stopping_since &&
        mono - ag->stopping_since > ag->conf->job_stop_grace_ms)
        erps_job_terminate(ag->job, mono);
    if (erps_job_poll(ag->job, mono, &res) == 1)
        erps_engine_iteration_done(ag->eng, &res, erps_now_ms());
}

/* ---- transactions ---- */

/* A fatal error: fencing stops the agent (another one owns the engine now);
 * any other leaves this producer unusable, and a new one (same
 * transactional.id, next epoch) replays the batch. @returns -1 to stop,
 * 1 to recreate the producer. */
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
        erps_err("fenced: another agent for engine %s has taken over (%s); "
                 "stopping", ag->conf->engine_id, rd_kafka_error_string(error));
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

static rd_kafka_t *make_client(const erps_agent_conf_t *conf,
                               const erps_kprops_t *kp, rd_kafka_type_t type,
                               char *errstr, size_t errstr_size);
static int batch_was_committed(erps_agent_t *ag);

/* Replaces a producer that hit a fatal error. init_transactions() aborts
 * whatever the old one left open. @returns 0, or -1 (fatal_exit set). */
static int recreate_producer(erps_agent_t *ag, volatile sig_atomic_t *stop) {
    char err[512];
    rd_kafka_destroy(ag->producer);
    ag->producer = make_client(ag->conf, ag->kp, RD_KAFKA_PRODUCER, err,
                               sizeof(err));
    if (!ag->producer) {
        erps_err("new producer: %s", err);
        ag->fatal_exit = ERPS_AGENT_EXIT_FATAL;
        return -1;
    }
    for (int attempt = 0; attempt < 12 && !*stop; attempt++) {
        rd_kafka_error_t *error = rd_kafka_init_transactions(ag->producer, 5000);
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
    ag->fatal_exit = ERPS_AGENT_EXIT_FATAL;
    return -1;
}

static rd_kafka_error_t *txn_produce_all(erps_agent_t *ag) {
    for (int i = 0; i < ag->out.cnt; i++) {
        rd_kafka_resp_err_t err;
        while ((err = erps_kafka_produce(ag->producer, ag->out.ev[i].topic,
                                         RD_KAFKA_PARTITION_UA,
                                         &ag->out.ev[i].msg, NULL)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(ag->producer, 50);
        if (err)
            return rd_kafka_error_new(err, "produce to %s: %s",
                                      ag->out.ev[i].topic, rd_kafka_err2str(err));
    }
    return NULL;
}

/* After a new producer replaced one that failed fatally: was the batch
 * committed before it failed? @returns 1 (done), 0 (replay), -1 (stop). */
static int settle_after_recreate(erps_agent_t *ag, int64_t offset,
                                 int with_offset) {
    int committed = batch_was_committed(ag);
    if (committed < 0) {
        /* Neither replay (maybe twice) nor drop (maybe never): a restart
         * reconciles from the state file and the topics. */
        erps_err("cannot tell whether the failed transaction committed; "
                 "stopping so a restart reconciles");
        ag->fatal_exit = ERPS_AGENT_EXIT_FATAL;
        return -1;
    }
    if (committed) {
        erps_info("the failed producer's transaction had committed; not "
                  "replaying it");
        if (with_offset)
            ag->committed_offset = offset;
        erps_outbox_clear(&ag->out);
        return 1;
    }
    return 0;
}

/* A fatal error in a transaction: stop when fenced, else a new producer
 * and a look at whether the batch made it. @returns -1 to stop, 1 when the
 * batch is on Kafka, 0 to replay it. Takes error. */
static int after_fatal(erps_agent_t *ag, rd_kafka_error_t *error,
                       volatile sig_atomic_t *stop, int *recreated,
                       int64_t offset, int with_offset) {
    if (txn_fatal(ag, error) < 0 || ++*recreated > 5 ||
        recreate_producer(ag, stop)) {
        if (!ag->fatal_exit)
            ag->fatal_exit = ERPS_AGENT_EXIT_FATAL;
        return -1;
    }
    return settle_after_recreate(ag, offset, with_offset);
}

/* Publishes the batch and the offset in one transaction; replays it after
 * abortable errors. @returns 0, or -1 when fatal (ag->fatal_exit set). */
static int txn_commit(erps_agent_t *ag, volatile sig_atomic_t *stop) {
    int64_t offset = ag->next_offset;
    int with_offset = offset >= 0 && offset != ag->committed_offset;
    int backoff_ms = 100, recreated = 0;

    /* Every call is bounded, so a stop request is seen even while Kafka is
     * unreachable; a timed-out call is retriable and simply tried again. */
    int call_ms = ag->conf->txn_timeout_ms < 5000 ? (int)ag->conf->txn_timeout_ms
                                                   : 5000;

    if (ag->out.cnt == 0 && !with_offset)
        return 0;
    for (;;) {
        ag->txn_began = erps_mono_ms();
        rd_kafka_error_t *error = rd_kafka_begin_transaction(ag->producer);
        if (!error)
            error = txn_produce_all(ag);
        if (!error && with_offset) {
            rd_kafka_topic_partition_list_t *offs =
                rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(offs, ag->conf->topics.commands,
                                              ag->partition)
                ->offset = offset;
            error = rd_kafka_send_offsets_to_transaction(ag->producer, offs,
                                                         ag->cgmd, call_ms);
            rd_kafka_topic_partition_list_destroy(offs);
        }
        if (!error) {
            while ((error = rd_kafka_commit_transaction(ag->producer,
                                                        call_ms)) &&
                   rd_kafka_error_is_retriable(error) && !*stop) {
                erps_warn("commit: %s; retrying", rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
            }
        }
        if (!error) {
            if (with_offset)
                ag->committed_offset = offset;
            erps_outbox_clear(&ag->out);
            return 0;
        }
        if (rd_kafka_error_is_fatal(error)) {
            int settled = after_fatal(ag, error, stop, &recreated, offset,
                                      with_offset);
            if (settled)
                return settled > 0 ? 0 : -1;
            continue; /* replay the batch on the new producer */
        }
        erps_warn("transaction failed (%s); aborting and replaying %d events",
                  rd_kafka_error_string(error), ag->out.cnt);
        rd_kafka_error_destroy(error);
        /* A timed-out abort is resumed by calling abort again, never by
         * beginning another transaction. */
        for (int tries = 0;
             (error = rd_kafka_abort_transaction(ag->producer, call_ms)) &&
             rd_kafka_error_is_retriable(error) && !*stop && tries < 12;
             tries++) {
            erps_warn("abort: %s; retrying", rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
        }
        if (error) {
            if (rd_kafka_error_is_fatal(error)) {
                int settled = after_fatal(ag, error, stop, &recreated, offset,
                                          with_offset);
                if (settled)
                    return settled > 0 ? 0 : -1;
                continue;
            }
            erps_warn("abort failed: %s", rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
        }
        if (*stop) {
            erps_err("stopping with %d unpublished events", ag->out.cnt);
            ag->fatal_exit = ERPS_AGENT_EXIT_FATAL;
            return -1;
        }
        struct timespec ts = {0, (long)backoff_ms * 1000000L};
        nanosleep(&ts, NULL);
        if (backoff_ms < 2000)
            backoff_ms *= 2;
    }
}

static int save_state(erps_agent_t *ag) {
    char err[512];
    ag->state_dirty = 0;
    erps_engine_saved(ag->eng, &ag->state->engine);
    if (erps_state_save(ag->state_path, ag->state, err, sizeof(err))) {
        erps_err("saving state: %s", err);
        ag->fatal_exit = ERPS_AGENT_EXIT_FATAL;
        return -1;
    }
    return 0;
}

/* Group commit: the state of the whole batch is written once (one atomic
 * write) before the one transaction that publishes its outcomes and offset;
 * never after it. The commands are then confirmed in memory only: the next
 * batch's write records that, and a crash before it leaves them pending, to
 * be confirmed from the audit topic at the restart (reconcile_with_kafka). */
static int flush(erps_agent_t *ag, volatile sig_atomic_t *stop) {
    if (ag->out.cnt == 0 &&
        (ag->next_offset < 0 || ag->next_offset == ag->committed_offset))
        return 0;
    int64_t t0 = erps_mono_ms();
    if (ag->out.cnt > 0) {
        ag->state->pending_offset = ag->next_offset;
        if (save_state(ag))
            return -1;
    }
    int64_t t1 = erps_mono_ms();
    int events = ag->out.cnt;
    if (txn_commit(ag, stop))
        return -1;
    erps_dbg("batch of %d commands: %d events, state %" PRId64
             " ms, transaction %" PRId64 " ms", ag->batch_cmds, events,
             t1 - t0, erps_mono_ms() - t1);
    ag->batch_cmds = 0;
    if (ag->state->pending_cnt > 0) {
        erps_state_pending_confirm(ag->state);
        ag->state->committed_offset = ag->committed_offset;
        ag->state_dirty = 1;
    }
    return 0;
}

/* ---- commands ---- */

static void audit(erps_agent_t *ag, erps_outcome_t outcome,
                  const erps_command_t *cmd, const char *command_id,
                  const char *reason, erps_state_t before_state,
                  int64_t before_iv) {
    erps_audit_t au;
    erps_msg_t msg;
    char err[256];

    memset(&au, 0, sizeof(au));
    erps_ce_init(&au.ce, ag->conf->source, ag->conf->engine_id);
    au.outcome = outcome;
    erps_strlcpy(au.command_id, command_id, sizeof(au.command_id));
    if (cmd) {
        erps_strlcpy(au.command_type,
                     cmd->type == ERPS_CMD_CHANGE_STATUS ? "ChangeEngineStatus"
                                                         : "ChangeEngineInterval",
                     sizeof(au.command_type));
        erps_strlcpy(au.principal, cmd->principal, sizeof(au.principal));
        erps_strlcpy(au.client_addr, cmd->client_addr, sizeof(au.client_addr));
    }
    erps_strlcpy(au.reason, reason, sizeof(au.reason));
    au.before_state = before_state;
    au.before_interval_s = before_iv;
    erps_engine_saved_t now;
    erps_engine_saved(ag->eng, &now);
    au.after_state = erps_engine_state(ag->eng);
    au.after_interval_s = now.interval_s;
    au.generation = now.generation;
    if (erps_audit_encode(&au, &msg, err, sizeof(err))) {
        erps_err("encoding audit: %s", err);
        return;
    }
    batch_add(ag, ag->conf->topics.audit, &msg);
}

static void dead_letter(erps_agent_t *ag, const rd_kafka_message_t *rkm,
                        const erps_msg_t *view, const char *reason,
                        erps_outcome_t outcome) {
    erps_msg_t dl;
    char num[32];
    char id[ERPS_UUID_LEN + 1] = "";

    /* Everything is copied: the outbox outlives the consumed message. */
    memset(&dl, 0, sizeof(dl));
    dl.key = ag->conf->engine_id; /* the key it came with: ours */
    dl.key_len = strlen(ag->conf->engine_id);
    if (view->value_len > 0) {
        dl.owned_value = malloc(view->value_len);
        if (dl.owned_value)
            memcpy(dl.owned_value, view->value, view->value_len);
        dl.value = dl.owned_value;
        dl.value_len = dl.owned_value ? view->value_len : 0;
    }
    /* The original headers as far as they fit, then ours. */
    for (int i = 0; i < view->hdr_cnt && dl.hdr_cnt < ERPS_MSG_MAX_HDRS - 5;
         i++) {
        const erps_hdr_t *h = &view->hdrs[i];
        size_t name_len = strlen(h->name) + 1;
        if (dl.arena_used + name_len + h->size > sizeof(dl.arena) - 600)
            break;
        memcpy(dl.arena + dl.arena_used, h->name, name_len);
        dl.hdrs[dl.hdr_cnt].name = dl.arena + dl.arena_used;
        dl.arena_used += name_len;
        memcpy(dl.arena + dl.arena_used, h->value ? h->value : "", h->size);
        dl.hdrs[dl.hdr_cnt].value = dl.arena + dl.arena_used;
        dl.hdrs[dl.hdr_cnt].size = h->size;
        dl.arena_used += h->size;
        dl.hdr_cnt++;
        if (strcmp(h->name, "ce_id") == 0 && h->size == ERPS_UUID_LEN) {
            memcpy(id, h->value, ERPS_UUID_LEN);
            id[ERPS_UUID_LEN] = '\0';
            if (!erps_uuid_valid(id))
                id[0] = '\0';
        }
    }
    erps_hdr_t extra[4] = {{"erpsync_error", reason, strlen(reason)},
                           {"erpsync_original_topic", rd_kafka_topic_name(rkm->rkt),
                            strlen(rd_kafka_topic_name(rkm->rkt))},
                           {"erpsync_original_partition", NULL, 0},
                           {"erpsync_original_offset", NULL, 0}};
    char part[16];
    snprintf(part, sizeof(part), "%" PRId32, rkm->partition);
    snprintf(num, sizeof(num), "%" PRId64, rkm->offset);
    extra[2].value = part;
    extra[2].size = strlen(part);
    extra[3].value = num;
    extra[3].size = strlen(num);
    for (int i = 0; i < 4; i++) {
        size_t n = extra[i].size < 255 ? extra[i].size : 255;
        memcpy(dl.arena + dl.arena_used, extra[i].value, n);
        dl.hdrs[dl.hdr_cnt].name = extra[i].name;
        dl.hdrs[dl.hdr_cnt].value = dl.arena + dl.arena_used;
        dl.hdrs[dl.hdr_cnt].size = n;
        dl.arena_used += n;
        dl.hdr_cnt++;
    }
    erps_warn("dead-lettering command at %s [%" PRId32 "] offset %" PRId64
              ": %s", rd_kafka_topic_name(rkm->rkt), rkm->partition,
              rkm->offset, reason);
    batch_add(ag, ag->conf->topics.dlq, &dl);
    erps_engine_saved_t now;
    erps_engine_saved(ag->eng, &now);
    audit(ag, outcome, NULL, id, reason, erps_engine_state(ag->eng),
          now.interval_s);
}

static void remember(erps_agent_t *ag, const char *id, erps_outcome_t outcome,
                     erps_state_t before_state, int64_t before_interval_s) {
    erps_pending_t p;
    memset(&p, 0, sizeof(p));
    erps_strlcpy(p.id, id, sizeof(p.id));
    p.outcome = outcome;
    p.before_state = before_state;
    p.before_interval_s = before_interval_s;
    /* Full only if one batch held more commands than fit: then the oldest
     * ids go straight to applied (a crash could lose their outcome only). */
    if (erps_state_pending_add(ag->state, &p)) {
        erps_state_pending_confirm(ag->state);
        erps_state_pending_add(ag->state, &p);
    }
}

static const char *outcome_reason(erps_outcome_t o) {
    switch (o) {
    case ERPS_OUTCOME_NOCHANGE:
        return "engine already in the requested state";
    case ERPS_OUTCOME_EXPIRED:
        return "deadline passed (within the tolerated clock skew) before the "
               "agent received it";
    default:
        return "";
    }
}

static void handle_command(erps_agent_t *ag, const rd_kafka_message_t *rkm) {
    erps_msg_t view;
    erps_command_t cmd;
    char err[256];
    erps_engine_saved_t before;
    erps_state_t before_state = erps_engine_state(ag->eng);
    int64_t now = erps_now_ms();

    erps_kafka_view(rkm, &view);
    erps_engine_saved(ag->eng, &before);

    /* Other engines share this partition: their commands are not ours. */
    if (view.key_len != strlen(ag->conf->engine_id) ||
        memcmp(view.key, ag->conf->engine_id, view.key_len) != 0)
        return;

    if (erps_command_decode(&view, &cmd, err, sizeof(err))) {
        dead_letter(ag, rkm, &view, err, ERPS_OUTCOME_DEADLETTERED);
        return;
    }
    /* Readable but not from a shim that holds the key: refused, and kept
     * in the dead-letter topic for whoever investigates the forgery. */
    if (ag->sign_len &&
        erps_command_verify(&view, ag->sign_key, ag->sign_len, err, sizeof(err))) {
        dead_letter(ag, rkm, &view, err, ERPS_OUTCOME_REJECTED);
        return;
    }
    const erps_pending_t *pend = erps_state_pending_find(ag->state, cmd.ce.id);
    if (pend) {
        /* Applied before a crash that came before its transaction: the
         * effect is in our state, its outcome was never published. */
        erps_info("command %s: publishing the outcome lost in a crash",
                  cmd.ce.id);
        erps_pending_t p = *pend;
        erps_state_pending_republish(ag->state, cmd.ce.id);
        if (p.outcome == ERPS_OUTCOME_APPLIED || p.outcome == ERPS_OUTCOME_NOCHANGE)
            publish_status(ag, cmd.ce.id);
        audit(ag, (erps_outcome_t)p.outcome, &cmd, cmd.ce.id,
              p.outcome == ERPS_OUTCOME_REJECTED ? "rejected before a restart"
                                                 : outcome_reason(p.outcome),
              p.before_state, p.before_interval_s);
        return;
    }
    if (erps_state_applied_has(ag->state, cmd.ce.id)) {
        /* A resent command still awaited gets the current status as its
         * answer; an old redelivery gets only its audit line. */
        int awaited = now <= cmd.deadline_ms - ag->conf->clock_skew_ms;
        erps_info("command %s was applied before%s", cmd.ce.id,
                  awaited ? "; answering with the current status" : "");
        if (awaited)
            publish_status(ag, cmd.ce.id);
        audit(ag, ERPS_OUTCOME_NOCHANGE, &cmd, cmd.ce.id,
              "duplicate: command id already applied", before_state,
              before.interval_s);
        return;
    }
    /* The sender gives up at the deadline; with our clock up to skew behind
     * its clock, only a command we see before deadline - skew is surely
     * still awaited. */
    if (now > cmd.deadline_ms - ag->conf->clock_skew_ms) {
        erps_info("command %s reached the agent %" PRId64 " ms before its "
                  "deadline (%" PRId64 " ms skew tolerated); not applied",
                  cmd.ce.id, cmd.deadline_ms - now, ag->conf->clock_skew_ms);
        remember(ag, cmd.ce.id, ERPS_OUTCOME_EXPIRED, before_state,
                 before.interval_s);
        audit(ag, ERPS_OUTCOME_EXPIRED, &cmd, cmd.ce.id,
              outcome_reason(ERPS_OUTCOME_EXPIRED), before_state,
              before.interval_s);
        return;
    }
    int changed;
    if (cmd.type == ERPS_CMD_CHANGE_INTERVAL) {
        if (cmd.interval_s < ag->conf->interval_min_s ||
            cmd.interval_s > ag->conf->interval_max_s) {
            snprintf(err, sizeof(err),
                     "interval %" PRId64 " s outside %" PRId64 "..%" PRId64
                     " s", cmd.interval_s, ag->conf->interval_min_s,
                     ag->conf->interval_max_s);
            remember(ag, cmd.ce.id, ERPS_OUTCOME_REJECTED, before_state,
                     before.interval_s);
            audit(ag, ERPS_OUTCOME_REJECTED, &cmd, cmd.ce.id, err,
                  before_state, before.interval_s);
            return;
        }
        changed = erps_engine_set_interval(ag->eng, cmd.interval_s, now,
                                           cmd.ce.id);
    } else {
        changed = erps_engine_set_run(ag->eng, cmd.run, now, cmd.ce.id);
    }
    /* Every accepted command answers with a status the shim can match. */
    if (!changed)
        publish_status(ag, cmd.ce.id);
    erps_outcome_t outcome = changed ? ERPS_OUTCOME_APPLIED : ERPS_OUTCOME_NOCHANGE;
    remember(ag, cmd.ce.id, outcome, before_state, before.interval_s);
    audit(ag, outcome, &cmd, cmd.ce.id, outcome_reason(outcome), before_state,
          before.interval_s);
}

/* The batch loop's view of handle_command. */
static void apply_command(void *opaque, const rd_kafka_message_t *rkm) {
    erps_agent_t *ag = opaque;
    ag->batch_cmds++;
    handle_command(ag, rkm);
}

/* ---- set-up ---- */

/* Reads this engine's records in its partition of topic, newest window
 * first, as read_committed readers see them, calling fn for each (fn returns
 * 1 when it has seen enough). What was published is the truth after a crash;
 * our state file may be ahead of it. @returns 0, or -1 if it cannot read. */
typedef int(own_record_cb)(erps_agent_t *ag, const erps_msg_t *view, void *arg);

static int scan_own_records(erps_agent_t *ag, const char *topic, own_record_cb *fn,
                            void *arg) {
    char err[256];
    /* A consumer of its own: the agent's keeps its assignment meanwhile. */
    static const char *const tuning[] = {"fetch.wait.max.ms", "10", NULL};
    char gid[300];
    snprintf(gid, sizeof(gid), "erpsync-agent-%s-scan", ag->conf->engine_id);
    rd_kafka_conf_t *kc = erps_kafka_conf(ag->conf->bootstrap, gid, tuning,
                                          ag->kp, err, sizeof(err));
    if (!kc)
        return -1;
    if (erps_kafka_set(kc, "group.id", gid, err, sizeof(err)) ||
        erps_kafka_set(kc, "isolation.level", "read_committed", err,
                       sizeof(err)) ||
        erps_kafka_set(kc, "enable.auto.commit", "false", err, sizeof(err)) ||
        erps_kafka_set(kc, "enable.partition.eof", "true", err, sizeof(err))) {
        rd_kafka_conf_destroy(kc);
        return -1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof(err));
    if (!rk) {
        rd_kafka_conf_destroy(kc);
        return -1;
    }
    int rc = -1;
    int cnt = erps_kafka_partition_count(rk, topic, 10000, err, sizeof(err));
    if (cnt < 0)
        goto out;
    int32_t part = erps_kafka_engine_partition(ag->conf->engine_id, cnt);
    int64_t lo = 0, hi = 0;
    int done = 0;
    if (rd_kafka_query_watermark_offsets(rk, topic, part, &lo, &hi, 10000))
        goto out;
    const int64_t window = 500;
    int64_t deadline = erps_mono_ms() + 15000;
    for (int64_t end = hi; end > lo && !done && erps_mono_ms() < deadline;
         end -= window) {
        int64_t start = end - window > lo ? end - window : lo;
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(parts, topic, part)->offset = start;
        rd_kafka_assign(rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        /* Until past the window: a commit marker may end it, so any record
         * beyond it (or the end of the partition) closes the window. */
        int64_t pos = start;
        while (pos < end && erps_mono_ms() < deadline) {
            rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 100);
            if (!rkm)
                continue;
            if (!rkm->err) {
                erps_msg_t view;
                pos = rkm->offset + 1;
                erps_kafka_view(rkm, &view);
                if (rkm->offset < end &&
                    view.key_len == strlen(ag->conf->engine_id) &&
                    memcmp(view.key, ag->conf->engine_id, view.key_len) == 0 &&
                    fn(ag, &view, arg))
                    done = 1;
            } else if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                pos = end;
            }
            rd_kafka_message_destroy(rkm);
        }
    }
    rc = 0;
out:
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

/* The highest ce_sequence among our statuses (a window is read whole). */
static int max_sequence(erps_agent_t *ag, const erps_msg_t *view, void *arg) {
    erps_status_t st;
    char err[256];
    int64_t *found = arg;
    (void)ag;
    if (erps_status_decode(view, &st, err, sizeof(err)) == 0 &&
        st.sequence > *found)
        *found = st.sequence;
    return 0;
}

/* A recovered pending command whose audit line is on Kafka was committed
 * before the crash: it is applied, not to be published again. */
static int confirm_published(erps_agent_t *ag, const erps_msg_t *view,
                             void *arg) {
    const erps_hdr_t *h = erps_msg_header(view, "ce_correlationid");
    int *left = arg;
    char id[ERPS_UUID_LEN + 1];
    if (!h || h->size != ERPS_UUID_LEN)
        return 0;
    memcpy(id, h->value, ERPS_UUID_LEN);
    id[ERPS_UUID_LEN] = '\0';
    for (int i = 0; i < ag->state->pending_cnt; i++) {
        erps_pending_t *p = &ag->state->pending[i];
        if (p->recovered && strcmp(p->id, id) == 0) {
            p->recovered = 0; /* confirmed below */
            (*left)--;
        }
    }
    return *left == 0;
}

/* Finds a record by its ce_id. */
typedef struct find_id {
    char id[ERPS_UUID_LEN + 1];
    int found;
} find_id_t;

static int match_ce_id(erps_agent_t *ag, const erps_msg_t *view, void *arg) {
    find_id_t *f = arg;
    const erps_hdr_t *h = erps_msg_header(view, "ce_id");
    (void)ag;
    if (h && h->size == strlen(f->id) && memcmp(h->value, f->id, h->size) == 0)
        f->found = 1;
    return f->found;
}

/* After a producer died in a commit, its new incarnation has completed or
 * aborted that transaction: is the batch on Kafka? @returns 1, 0, or -1 when
 * that cannot be read. */
static int batch_was_committed(erps_agent_t *ag) {
    find_id_t f = {"", 0};
    const erps_hdr_t *h;
    if (ag->out.cnt == 0)
        return 0;
    h = erps_msg_header(&ag->out.ev[0].msg, "ce_id");
    if (!h || h->size != ERPS_UUID_LEN)
        return 0;
    memcpy(f.id, h->value, ERPS_UUID_LEN);
    f.id[ERPS_UUID_LEN] = '\0';
    if (scan_own_records(ag, ag->out.ev[0].topic, match_ce_id, &f))
        return -1;
    return f.found;
}

/* After a restart: continue the status sequence from what subscribers saw,
 * and tell recovered commands whose outcome was published from those whose
 * outcome was lost in the crash. */
static void reconcile_with_kafka(erps_agent_t *ag) {
    int64_t seq = -1;
    if (scan_own_records(ag, ag->conf->topics.status, max_sequence, &seq) == 0 &&
        seq >= 0 && seq != ag->state->sequence) {
        erps_info("status sequence continues from %" PRId64 " as published "
                  "(state file said %" PRId64 ")", seq, ag->state->sequence);
        ag->state->sequence = seq;
    }
    int left = 0, in_flight = 0;
    for (int i = 0; i < ag->state->pending_cnt; i++) {
        left += ag->state->pending[i].recovered;
        in_flight += ag->state->pending[i].in_flight;
    }
    if (left == 0)
        return;
    int before = left;
    if (scan_own_records(ag, ag->conf->topics.audit, confirm_published, &left))
        return;
    /* The last batch's outcomes all on Kafka: its transaction committed, and
     * its offset with them (brokers that forget it need to know). */
    int lost = 0;
    for (int i = 0; i < ag->state->pending_cnt; i++)
        lost += ag->state->pending[i].in_flight && ag->state->pending[i].recovered;
    if (in_flight > 0 && lost == 0 &&
        ag->state->pending_offset > ag->state->committed_offset)
        ag->state->committed_offset = ag->state->pending_offset;
    /* Those found had recovered cleared: confirm moves them to applied. */
    erps_state_pending_confirm(ag->state);
    erps_info("%d command(s) applied before the restart: %d published, %d to "
              "publish when they come again", before, before - left, left);
}

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

static rd_kafka_t *make_client(const erps_agent_conf_t *conf,
                               const erps_kprops_t *kp, rd_kafka_type_t type,
                               char *errstr, size_t errstr_size) {
    char id[256], tid[300];
    snprintf(id, sizeof(id), "erpsync-agent-%s", conf->engine_id);
    /* Latency over batching: one command is a handful of small records. */
    static const char *const ptuning[] = {"linger.ms", "0", NULL};
    static const char *const ctuning[] = {"fetch.wait.max.ms", "10", NULL};
    const char *const *tuning = type == RD_KAFKA_PRODUCER ? ptuning : ctuning;
    rd_kafka_conf_t *kc =
        erps_kafka_conf(conf->bootstrap, id, tuning, kp, errstr, errstr_size);
    if (!kc)
        return NULL;
    char tmo[32];
    snprintf(tmo, sizeof(tmo), "%" PRId64, conf->txn_timeout_ms);
    int bad;
    if (type == RD_KAFKA_PRODUCER) {
        /* One transactional id per engine: a new agent fences the old. */
        snprintf(tid, sizeof(tid), "erpsync-agent-%s", conf->engine_id);
        /* Status and audit land in the engine's partition, as commands do. */
        bad = erps_kafka_set(kc, "transactional.id", tid, errstr, errstr_size) ||
              erps_kafka_set(kc, "partitioner", "murmur2_random", errstr,
                             errstr_size) ||
              erps_kafka_set(kc, "transaction.timeout.ms", tmo, errstr,
                             errstr_size);
    } else {
        bad = erps_kafka_set(kc, "group.id", id, errstr, errstr_size) ||
              erps_kafka_set(kc, "isolation.level", "read_committed", errstr,
                             errstr_size) ||
              erps_kafka_set(kc, "enable.auto.commit", "false", errstr,
                             errstr_size) ||
              erps_kafka_set(kc, "auto.offset.reset", "earliest", errstr,
                             errstr_size) ||
              /* read_committed readers end at the last stable offset, which
               * a commit marker may keep below the high watermark */
              erps_kafka_set(kc, "enable.partition.eof", "true", errstr,
                             errstr_size);
    }
    if (bad) {
        rd_kafka_conf_destroy(kc);
        return NULL;
    }
    if (type == RD_KAFKA_PRODUCER)
        rd_kafka_conf_set_dr_msg_cb(kc, on_delivery);
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(type, kc, err, sizeof(err));
    if (!rk) {
        rd_kafka_conf_destroy(kc);
        snprintf(errstr, errstr_size, "creating Kafka client: %s", err);
    }
    return rk;
}

erps_agent_t *erps_agent_new(const erps_agent_conf_t *conf,
                             const erps_kprops_t *kp, char *errstr,
                             size_t errstr_size) {
    erps_agent_t *ag = calloc(1, sizeof(*ag));
    int found = 0;
    if (!ag || !(ag->state = calloc(1, sizeof(*ag->state)))) {
        free(ag);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    ag->conf = conf;
    ag->kp = kp;
    if (erps_outbox_init(&ag->out, (int)conf->batch_max)) {
        free(ag->state);
        free(ag);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    ag->next_offset = ag->committed_offset = -1;
    if (conf->sign_key_file[0] &&
        erps_sign_key_load(conf->sign_key_file, ag->sign_key,
                           sizeof(ag->sign_key), &ag->sign_len, errstr,
                           errstr_size)) {
        free(ag);
        return NULL;
    }

    if (mkdir(conf->state_dir, 0700) && errno != EEXIST) {
        snprintf(errstr, errstr_size, "state.dir %s: %s", conf->state_dir,
                 strerror(errno));
        goto fail;
    }
    snprintf(ag->state_path, sizeof(ag->state_path), "%s/%s.state.json",
             conf->state_dir, conf->engine_id);
    ag->state->engine.interval_s = conf->interval_s;
    ag->state->committed_offset = ag->state->pending_offset = -1;
    if (erps_state_load(ag->state_path, ag->state, &found, errstr, errstr_size))
        goto fail;
    erps_info("state %s: %s", ag->state_path,
              found ? "loaded" : "none yet, starting Stopped");

    ag->producer = make_client(conf, kp, RD_KAFKA_PRODUCER, errstr, errstr_size);
    if (!ag->producer)
        goto fail;
    ag->consumer = make_client(conf, kp, RD_KAFKA_CONSUMER, errstr, errstr_size);
    if (!ag->consumer)
        goto fail;

    rd_kafka_error_t *error = rd_kafka_init_transactions(ag->producer, 30000);
    if (error) {
        snprintf(errstr, errstr_size, "init_transactions: %s",
                 rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        goto fail;
    }
    if (erps_kafka_ensure_topics(ag->producer, &conf->topics,
                                 &conf->topic_policy, 10000, errstr,
                                 errstr_size))
        goto fail;
    int cnt = erps_kafka_partition_count(ag->consumer, conf->topics.commands,
                                         10000, errstr, errstr_size);
    if (cnt < 0)
        goto fail;
    ag->partition = erps_kafka_engine_partition(conf->engine_id, cnt);

    reconcile_with_kafka(ag);

    /* Only our engine's partition: thousands of engines can share a topic.
     * We fetch its committed offset ourselves, retrying: on a cluster that
     * is still creating its offsets topic the first answer is "not
     * coordinator", and an assignment left to librdkafka then never starts
     * fetching. */
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(
        parts, conf->topics.commands, ag->partition);
    rd_kafka_resp_err_t err;
    int64_t until = erps_mono_ms() + 60000;
    for (;;) {
        tp->offset = RD_KAFKA_OFFSET_INVALID;
        tp->err = RD_KAFKA_RESP_ERR_NO_ERROR;
        err = rd_kafka_committed(ag->consumer, parts, 5000);
        if (!err)
            err = tp->err;
        if (!err || erps_mono_ms() > until)
            break;
        erps_warn("committed offset of %s [%" PRId32 "]: %s; retrying",
                  conf->topics.commands, ag->partition, rd_kafka_err2str(err));
        struct timespec ts = {0, 250 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (err) {
        rd_kafka_topic_partition_list_destroy(parts);
        snprintf(errstr, errstr_size, "committed offset of %s: %s",
                 conf->topics.commands, rd_kafka_err2str(err));
        goto fail;
    }
    /* Our own record of what was committed covers brokers that forget
     * transactional offset commits (the devbroker); one beyond the end of
     * the partition belongs to an earlier life of the topic and is ignored. */
    int64_t lo = 0, hi = 0, mine = ag->state->committed_offset;
    if (mine > tp->offset &&
        rd_kafka_query_watermark_offsets(ag->consumer, conf->topics.commands,
                                         ag->partition, &lo, &hi, 10000) == 0 &&
        mine <= hi)
        tp->offset = mine;
    if (tp->offset < 0)
        tp->offset = RD_KAFKA_OFFSET_BEGINNING; /* nothing committed yet */
    ag->committed_offset = tp->offset >= 0 ? tp->offset : -1;
    if (tp->offset >= 0)
        erps_info("commands resume at offset %" PRId64, tp->offset);
    else
        erps_info("commands resume at the beginning");
    err = rd_kafka_assign(ag->consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (err) {
        snprintf(errstr, errstr_size, "assign: %s", rd_kafka_err2str(err));
        goto fail;
    }
    ag->cgmd = rd_kafka_consumer_group_metadata(ag->consumer);
    erps_info("engine %s: commands from %s [%" PRId32 "] of %d partitions",
              conf->engine_id, conf->topics.commands, ag->partition, cnt);

    ag->eng = erps_engine_new(&ag->state->engine, on_engine, ag);
    ag->job = erps_job_new(&conf->job, conf->engine_id);
    if (!ag->eng || !ag->job) {
        snprintf(errstr, errstr_size, ag->eng ? "job.args: more than %d arguments"
                                              : "out of memory",
                 ERPS_JOB_MAX_ARGS);
        goto fail;
    }
    if (erps_job_configured(ag->job))
        erps_engine_set_runner(ag->eng, run_job, ag);
    return ag;
fail:
    erps_agent_destroy(ag);
    return NULL;
}

/* The engine's own business: a finished job, the interval timer, the
 * heartbeat. @returns when the engine next needs a tick (wall ms). */
static int64_t engine_turn(erps_agent_t *ag) {
    supervise_job(ag);
    int64_t next = erps_engine_tick(ag->eng, erps_now_ms());
    if (ag->conf->heartbeat_ms > 0 && ag->out.cnt == 0 &&
        erps_mono_ms() - ag->last_status_ms >= ag->conf->heartbeat_ms)
        publish_status(ag, "");
    return next;
}

int erps_agent_run(erps_agent_t *ag, volatile sig_atomic_t *stop) {
    /* Subscribers learn at once that this agent is alive and where it is. */
    erps_engine_resume(ag->eng, erps_now_ms());
    if (ag->out.cnt == 0)
        publish_status(ag, "");
    if (flush(ag, stop))
        return ag->fatal_exit;

    while (!*stop) {
        int64_t next = engine_turn(ag);
        int64_t wait = next == INT64_MAX ? 200 : next - erps_now_ms();
        wait = wait < 0 ? 0 : wait > 200 ? 200 : wait;
        /* Foreign commands' offsets ride along with the next batch. */
        if (erps_batch_take(ag->consumer, (int)wait, (int)ag->conf->batch_max,
                            &ag->out, apply_command, ag, &ag->next_offset) > 0)
            engine_turn(ag); /* what the batch set off joins its transaction */
        if (flush(ag, stop))
            return ag->fatal_exit;
        rd_kafka_poll(ag->producer, 0);
    }
    /* A job in hand is terminated (SIGTERM, then SIGKILL after its grace) and
     * its outcome published before we go. */
    if (erps_job_running(ag->job)) {
        erps_job_terminate(ag->job, erps_mono_ms());
        while (erps_job_running(ag->job)) {
            supervise_job(ag);
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    erps_info("stopping: committing what is in hand");
    if (flush(ag, stop) || (ag->state_dirty && save_state(ag)))
        return ag->fatal_exit;
    return ERPS_AGENT_EXIT_OK;
}

void erps_agent_destroy(erps_agent_t *ag) {
    if (!ag)
        return;
    erps_outbox_free(&ag->out);
    if (ag->consumer) {
        rd_kafka_consumer_close(ag->consumer);
        rd_kafka_destroy(ag->consumer);
    }
    if (ag->cgmd)
        rd_kafka_consumer_group_metadata_destroy(ag->cgmd);
    if (ag->producer) {
        rd_kafka_flush(ag->producer, 5000);
        rd_kafka_destroy(ag->producer);
    }
    erps_engine_destroy(ag->eng);
    erps_job_destroy(ag->job);
    free(ag->state);
    explicit_bzero(ag->sign_key, sizeof(ag->sign_key));
    free(ag);
}
