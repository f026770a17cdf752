/*
 * agent.c - the agent's life: settings, start-up, the loop, shutdown.
 *
 * Group commit: every command already fetched (up to batch.max, see
 * batch.c) is applied in memory (apply.c); everything they cause waits in
 * the outbox. The state file, one for all the agent's engines, is written
 * once, then one transaction (txn.c) publishes the outbox together with the
 * consumer offsets. The state is never written after the commit that
 * publishes it. Fatal errors, fencing included, stop the agent.
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

#include "erpsync/log.h"
#include "served.h"

const erps_cfg_opt_t erps_agent_conf_table[] = {
#define O(f) offsetof(erps_agent_conf_t, f)
    {"engine.id", ERPS_CFG_STR, "", 0, 0, O(engine_ids),
     sizeof(((erps_agent_conf_t *)0)->engine_ids),
     "engine this agent controls, or a comma-separated list of them "
     "([A-Za-z0-9._-]; this or engines.file is required)"},
    {"engines.file", ERPS_CFG_STR, "", 0, 0, O(engines_file), 1024,
     "file of more engines to serve: one id per line, # starts a comment"},
    {"agent.id", ERPS_CFG_STR, "", 0, 0, O(agent_id), ERPS_ENGINE_ID_MAX + 1,
     "this agent's identity: its transactional.id, consumer group and state "
     "file name (default: the engine id when it serves one; required for "
     "more)"},
    {"engine.claim.timeout.ms", ERPS_CFG_INT, "0", 0, 86400000,
     O(claim_timeout_ms), 0,
     "claim checks between agents (0: off): an engine whose last status from "
     "another agent is younger than this is not taken (exit 3); a stall of "
     "half this stops the agent; 90000 suits the default heartbeat"},
    {"bootstrap.servers", ERPS_CFG_STR, "127.0.0.1:9092", 0, 0, O(bootstrap),
     1024, "Kafka bootstrap servers"},
    ERPS_CFG_TOPICS(erps_agent_conf_t, topics, topic_policy),
    {"state.dir", ERPS_CFG_STR, "./state", 0, 0, O(state_dir), 1024,
     "directory of the durable state file <agent.id>.state.json"},
    {"command.signing.key.file", ERPS_CFG_STR, "", 0, 0, O(sign_key_file), 1024,
     "apply only commands signed with this key (the shims'); others are "
     "audited Rejected and dead-lettered (empty: no signature needed)"},
    {"source", ERPS_CFG_STR, "", 0, 0, O(source), ERPS_SOURCE_MAX + 1,
     "ce_source of published events (default /erpsync/agent/<agent.id>)"},
    {"engine.interval", ERPS_CFG_INT, "900", 1, 7 * 86400 * 100, O(interval_s),
     0, "seconds between iterations until changed by command"},
    ERPS_CFG_INTERVAL_BOUNDS(erps_agent_conf_t, interval_min_s, interval_max_s),
    {"status.heartbeat.ms", ERPS_CFG_INT, "30000", 0, 86400000, O(heartbeat_ms),
     0, "republish status this often when quiet (0: never)"},
    {"command.clock.skew.ms", ERPS_CFG_INT, "1000", 0, 600000, O(clock_skew_ms),
     0,
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
    ERPS_CFG_LOG(erps_agent_conf_t),
    {"metrics.listen", ERPS_CFG_STR, "", 0, 0, O(metrics_listen), 64,
     "serve /metrics, /healthz and /readyz over HTTP on this IPv4 "
     "address:port (empty: no listener)"},
    ERPS_CFG_END
#undef O
};

/* ---- state ---- */

static int save_state(erps_agent_t *ag) {
    char err[512];
    ag->state_dirty = 0;
    for (int i = 0; i < ag->list.cnt; i++)
        erps_engine_saved(ag->srv[i].eng, &ag->srv[i].rec->engine);
    if (erps_state_save(ag->state_path, ag->state, err, sizeof(err))) {
        erps_err("saving state: %s", err);
        ag->fatal_exit = ERPS_AGENT_EXIT_FATAL;
        return -1;
    }
    return 0;
}

static int offsets_moved(const erps_agent_t *ag) {
    for (int i = 0; i < ag->part_cnt; i++)
        if (ag->part[i].next >= 0 && ag->part[i].next != ag->part[i].committed)
            return 1;
    return 0;
}

/* Group commit: the state of the whole batch is written once (one atomic
 * write) before the one transaction that publishes its outcomes and offsets;
 * never after it. The commands are then confirmed in memory only: the next
 * batch's write records that, and a crash before it leaves them pending, to
 * be confirmed from the audit topic at the restart (recover.c). */
static int flush(erps_agent_t *ag, volatile sig_atomic_t *stop) {
    if (ag->out.cnt == 0 && !offsets_moved(ag))
        return 0;
    /* A stall while the batch was taken: not even our state file may say
     * what another agent may be doing with these engines now. */
    if (erps_agent_alive(ag))
        return -1;
    int64_t t0 = erps_mono_ms();
    if (ag->out.cnt > 0) {
        for (int i = 0; i < ag->part_cnt; i++)
            ag->state->parts[i].pending = ag->part[i].next;
        if (save_state(ag))
            return -1;
    }
    int64_t t1 = erps_mono_ms();
    int events = ag->out.cnt;
    /* The batch's log lines are on disk before its outcomes are published. */
    erps_log_flush();
    if (erps_txn_commit(ag, stop))
        return -1;
    atomic_fetch_add(&ag->stats->transactions, 1);
    erps_histogram_observe(&ag->stats->commit_latency,
                           (erps_mono_ms() - t1) * 1000);
    erps_dbg("batch of %d commands: %d events, state %" PRId64
             " ms, transaction %" PRId64 " ms",
             ag->batch_cmds, events, t1 - t0, erps_mono_ms() - t1);
    ag->batch_cmds = 0;
    if (ag->state->pending_cnt > 0) {
        erps_state_pending_confirm(ag->state);
        for (int i = 0; i < ag->part_cnt; i++)
            ag->state->parts[i].committed = ag->part[i].committed;
        ag->state_dirty = 1;
    }
    return 0;
}

/* ---- set-up ---- */

static int fail_oom(char *errstr, size_t n) {
    snprintf(errstr, n, "out of memory");
    return -1;
}

/* The command partitions of our engines, each once, and every engine's
 * place in them and in the status topic. */
static int map_partitions(erps_agent_t *ag, char *errstr, size_t n) {
    const erps_agent_conf_t *conf = ag->conf;
    int cmd = erps_kafka_partition_count(ag->consumer, conf->topics.commands,
                                         10000, errstr, n);
    int status =
        cmd < 0 ? -1
                : erps_kafka_partition_count(ag->consumer, conf->topics.status,
                                             10000, errstr, n);
    if (status < 0)
        return -1;
    ag->cmd_partitions = cmd;
    ag->status_partitions = status;
    ag->part_of = malloc((size_t)cmd * sizeof(*ag->part_of));
    ag->status_end = malloc((size_t)status * sizeof(*ag->status_end));
    ag->part = calloc((size_t)(ag->list.cnt < cmd ? ag->list.cnt : cmd),
                      sizeof(*ag->part));
    if (!ag->part_of || !ag->status_end || !ag->part)
        return fail_oom(errstr, n);
    for (int p = 0; p < cmd; p++)
        ag->part_of[p] = -1;
    for (int p = 0; p < status; p++)
        ag->status_end[p] = -1;
    for (int i = 0; i < ag->list.cnt; i++) {
        int32_t p = erps_kafka_engine_partition(ag->list.ids[i], cmd);
        if (ag->part_of[p] < 0) {
            ag->part_of[p] = ag->part_cnt;
            ag->part[ag->part_cnt++] = (erps_cmd_part_t){p, -1, -1};
        }
        ag->srv[i].ag = ag;
        ag->srv[i].skip_below = -1;
        ag->srv[i].part_ix = ag->part_of[p];
        ag->srv[i].status_part =
            erps_kafka_engine_partition(ag->list.ids[i], status);
    }
    return 0;
}

/* Loads the state file, one record per engine and per command partition. */
static int load_state(erps_agent_t *ag, char *errstr, size_t n) {
    const erps_agent_conf_t *conf = ag->conf;
    erps_agent_state_t *st = ag->state;
    int found = 0;
    if (mkdir(conf->state_dir, 0700) && errno != EEXIST) {
        snprintf(errstr, n, "state.dir %s: %s", conf->state_dir,
                 strerror(errno));
        return -1;
    }
    snprintf(ag->state_path, sizeof(ag->state_path), "%s/%s.state.json",
             conf->state_dir, conf->agent_id);
    st->engines = calloc((size_t)ag->list.cnt, sizeof(*st->engines));
    st->parts = calloc((size_t)ag->part_cnt, sizeof(*st->parts));
    if (!st->engines || !st->parts)
        return fail_oom(errstr, n);
    st->engine_cnt = ag->list.cnt;
    st->part_cnt = ag->part_cnt;
    for (int i = 0; i < ag->list.cnt; i++) {
        erps_strlcpy(st->engines[i].id, ag->list.ids[i],
                     sizeof(st->engines[i].id));
        st->engines[i].engine.interval_s = conf->interval_s;
        ag->srv[i].rec = &st->engines[i];
    }
    for (int i = 0; i < ag->part_cnt; i++)
        st->parts[i] = (erps_part_rec_t){ag->part[i].partition, -1, -1};
    if (erps_state_load(ag->state_path, st, &found, errstr, n))
        return -1;
    int fresh = 0;
    for (int i = 0; i < ag->list.cnt; i++)
        fresh += !st->engines[i].found;
    erps_info("state %s: %s%s", ag->state_path, found ? "loaded" : "none yet",
              fresh ? ", new engines start Stopped" : "");
    return 0;
}

/* Where each command partition resumes: its committed offset, fetched by
 * us, retrying: on a cluster that is still creating its offsets topic the
 * first answer is "not coordinator", and an assignment left to librdkafka
 * then never starts fetching. Our own record covers brokers that forget
 * transactional offset commits (the devbroker); one beyond the end of the
 * partition belongs to an earlier life of the topic and is ignored. */
/* The group's committed offsets of parts, retried for a minute (a
 * coordinator still loading answers with a retriable error). */
static rd_kafka_resp_err_t
committed_offsets(erps_agent_t *ag, rd_kafka_topic_partition_list_t *parts) {
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int64_t until = erps_mono_ms() + 60000;;) {
        for (int i = 0; i < parts->cnt; i++) {
            parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
            parts->elems[i].err = RD_KAFKA_RESP_ERR_NO_ERROR;
        }
        err = rd_kafka_committed(ag->consumer, parts, 5000);
        for (int i = 0; !err && i < parts->cnt; i++)
            err = parts->elems[i].err;
        if (!err || erps_mono_ms() > until)
            return err;
        erps_warn("committed offsets of %s: %s; retrying",
                  ag->conf->topics.commands, rd_kafka_err2str(err));
        struct timespec ts = {0, 250 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Where partition i resumes: Kafka's committed offset, or our state
 * file's when it is further and the partition still holds it (a broker
 * that lost its offsets). */
static void resume_at(erps_agent_t *ag, int i, int64_t off) {
    const char *topic = ag->conf->topics.commands;
    int64_t lo = 0, hi = 0, mine = ag->state->parts[i].committed;
    if (mine > off &&
        rd_kafka_query_watermark_offsets(
            ag->consumer, topic, ag->part[i].partition, &lo, &hi, 10000) == 0 &&
        mine <= hi)
        off = mine;
    ag->part[i].committed = off >= 0 ? off : -1;
    if (off >= 0)
        erps_info("%s [%" PRId32 "]: commands resume at offset %" PRId64, topic,
                  ag->part[i].partition, off);
    else
        erps_info("%s [%" PRId32 "]: commands resume at the beginning", topic,
                  ag->part[i].partition);
}

static int resume_offsets(erps_agent_t *ag, char *errstr, size_t n) {
    const char *topic = ag->conf->topics.commands;
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(ag->part_cnt);
    for (int i = 0; i < ag->part_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, topic, ag->part[i].partition);
    rd_kafka_resp_err_t err = committed_offsets(ag, parts);
    for (int i = 0; !err && i < parts->cnt; i++)
        resume_at(ag, i, parts->elems[i].offset);
    rd_kafka_topic_partition_list_destroy(parts);
    if (err)
        snprintf(errstr, n, "committed offsets of %s: %s", topic,
                 rd_kafka_err2str(err));
    return err ? -1 : 0;
}

/* Each engine's state machine and job. */
static int make_engines(erps_agent_t *ag, char *errstr, size_t n) {
    for (int i = 0; i < ag->list.cnt; i++) {
        erps_served_t *s = &ag->srv[i];
        s->eng = erps_engine_new(&s->rec->engine, erps_served_on_engine, s);
        s->job = erps_job_new(&ag->conf->job, s->rec->id);
        if (!s->eng || !s->job) {
            snprintf(errstr, n,
                     s->eng ? "job.args: more than %d arguments"
                            : "out of memory",
                     ERPS_JOB_MAX_ARGS);
            return -1;
        }
        if (erps_job_configured(s->job))
            erps_engine_set_runner(s->eng, erps_served_run_job, s);
    }
    return 0;
}

static int connect_kafka(erps_agent_t *ag, char *errstr, size_t n) {
    const erps_agent_conf_t *conf = ag->conf;
    ag->producer =
        erps_agent_client(conf, ag->kp, RD_KAFKA_PRODUCER, errstr, n);
    if (!ag->producer)
        return -1;
    ag->consumer =
        erps_agent_client(conf, ag->kp, RD_KAFKA_CONSUMER, errstr, n);
    if (!ag->consumer)
        return -1;
    /* Fences older processes of this agent: from here on only we commit. */
    rd_kafka_error_t *error = rd_kafka_init_transactions(ag->producer, 30000);
    if (error) {
        snprintf(errstr, n, "init_transactions: %s",
                 rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        return -1;
    }
    return erps_kafka_ensure_topics(ag->producer, &conf->topics,
                                    &conf->topic_policy, 10000, errstr, n);
}

/* What needs no Kafka: the signing key, the engine index, the served
 * engines and an outbox with room for a full batch and for what the
 * engines say between batches (a turn that finds it full leaves the rest
 * for the next). */
static int local_parts(erps_agent_t *ag, char *errstr, size_t n) {
    const erps_agent_conf_t *conf = ag->conf;
    if (conf->sign_key_file[0] &&
        erps_sign_key_load(conf->sign_key_file, ag->sign_key,
                           sizeof(ag->sign_key), &ag->sign_len, errstr, n))
        return -1;
    if (erps_engine_index_init(&ag->index, &ag->list) ||
        !(ag->srv = calloc((size_t)ag->list.cnt, sizeof(*ag->srv))) ||
        erps_outbox_init(&ag->out,
                         (int)conf->batch_max +
                             (ag->list.cnt < 1000 ? ag->list.cnt : 1000)))
        return fail_oom(errstr, n);
    return 0;
}

erps_agent_t *erps_agent_new(const erps_agent_conf_t *conf,
                             erps_engine_list_t *engines,
                             const erps_kprops_t *kp, erps_agent_stats_t *stats,
                             int *exit_code, char *errstr, size_t errstr_size) {
    erps_agent_t *ag = calloc(1, sizeof(*ag));
    *exit_code = ERPS_AGENT_EXIT_FATAL;
    if (!ag || !(ag->state = calloc(1, sizeof(*ag->state)))) {
        free(ag);
        erps_engine_list_free(engines);
        fail_oom(errstr, errstr_size);
        return NULL;
    }
    ag->conf = conf;
    ag->stats = stats;
    ag->kp = kp;
    ag->list = *engines;
    engines->ids = NULL;
    engines->cnt = 0;
    if (local_parts(ag, errstr, errstr_size) ||
        connect_kafka(ag, errstr, errstr_size) ||
        map_partitions(ag, errstr, errstr_size) ||
        load_state(ag, errstr, errstr_size))
        goto fail;
    int rc = erps_recover_at_start(ag, errstr, errstr_size);
    if (rc == -2)
        *exit_code = ERPS_AGENT_EXIT_FENCED;
    if (rc || resume_offsets(ag, errstr, errstr_size) ||
        make_engines(ag, errstr, errstr_size))
        goto fail;
    ag->cgmd = rd_kafka_consumer_group_metadata(ag->consumer);
    erps_info("agent %s: %d engine(s), commands from %d of %d partitions of %s",
              conf->agent_id, ag->list.cnt, ag->part_cnt, ag->cmd_partitions,
              conf->topics.commands);
    return ag;
fail:
    erps_agent_destroy(ag);
    return NULL;
}

/* Our engines' command partitions from where they resume and, to see
 * another agent's statuses for our engines, their status partitions from
 * where the claim check read to. */
static int assign(erps_agent_t *ag) {
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(ag->part_cnt + ag->status_partitions);
    for (int i = 0; i < ag->part_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, ag->conf->topics.commands,
                                          ag->part[i].partition)
            ->offset = ag->part[i].committed >= 0 ? ag->part[i].committed
                                                  : RD_KAFKA_OFFSET_BEGINNING;
    for (int p = 0; ag->conf->claim_timeout_ms > 0 && p < ag->status_partitions;
         p++)
        if (ag->status_end[p] >= 0)
            rd_kafka_topic_partition_list_add(parts, ag->conf->topics.status, p)
                ->offset = ag->status_end[p];
    rd_kafka_resp_err_t err = rd_kafka_assign(ag->consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (err) {
        erps_err("assign: %s", rd_kafka_err2str(err));
        ag->fatal_exit = ERPS_AGENT_EXIT_FATAL;
        return -1;
    }
    return 0;
}

/* ---- the loop ---- */

/* The engines' own business: finished jobs, interval timers, heartbeats.
 * @returns when an engine next needs a tick (wall ms). */
static int64_t engines_turn(erps_agent_t *ag) {
    int64_t next = INT64_MAX, now = erps_now_ms(), mono = erps_mono_ms();
    for (int i = 0; i < ag->list.cnt; i++) {
        erps_served_t *s = &ag->srv[i];
        /* Each engine may say a few things; the rest waits a turn. */
        if (ag->out.cnt + ERPS_BATCH_EVENTS_PER_CMD > ag->out.cap)
            return now;
        erps_served_supervise(s);
        int64_t t = erps_engine_tick(s->eng, now);
        if (t < next)
            next = t;
        if (ag->conf->heartbeat_ms > 0 &&
            mono - s->last_status_ms >= ag->conf->heartbeat_ms)
            erps_served_status(s, "");
    }
    return next;
}

/* A job in hand is terminated (SIGTERM, then SIGKILL after its grace) and
 * its outcome published before we go. */
static void stop_jobs(erps_agent_t *ag) {
    int running = 0;
    for (int i = 0; i < ag->list.cnt; i++)
        if (erps_job_running(ag->srv[i].job)) {
            erps_job_terminate(ag->srv[i].job, erps_mono_ms());
            running++;
        }
    while (running > 0 && erps_agent_alive(ag) == 0) {
        running = 0;
        for (int i = 0; i < ag->list.cnt; i++) {
            erps_served_supervise(&ag->srv[i]);
            running += erps_job_running(ag->srv[i].job);
        }
        struct timespec ts = {0, 20 * 1000000L};
        if (running)
            nanosleep(&ts, NULL);
    }
}

/* Subscribers learn at once that this agent is alive and where each engine
 * is; those statuses are also our claims, checked against any other agent
 * that started at the same time before a command is applied. */
static int start(erps_agent_t *ag, volatile sig_atomic_t *stop) {
    char err[512];
    ag->alive_ms = erps_mono_ms();
    for (int i = 0; i < ag->list.cnt; i++) {
        erps_engine_resume(ag->srv[i].eng, erps_now_ms());
        if (ag->out.cnt + ERPS_BATCH_EVENTS_PER_CMD > ag->out.cap &&
            flush(ag, stop))
            return -1;
        if (ag->srv[i].last_status_ms == 0)
            erps_served_status(&ag->srv[i], "");
    }
    if (flush(ag, stop))
        return -1;
    for (int i = 0; i < ag->list.cnt; i++)
        ag->srv[i].claimed_ms = erps_mono_ms();
    if (erps_recover_claims(ag, err, sizeof(err))) {
        erps_err("%s", err);
        ag->fatal_exit = ERPS_AGENT_EXIT_FENCED;
        return -1;
    }
    if (assign(ag))
        return -1;
    erps_info("ready: serving %d engine(s)", ag->list.cnt);
    return 0;
}

/* What the metrics listener shows of the loop: it turns, the engines'
 * states, and how far behind the command partitions it reads. The high
 * watermarks are the ones the last fetches brought (no broker call). */
static void observe(erps_agent_t *ag) {
    erps_agent_stats_t *st = ag->stats;
    int by_state[ERPS_STATE_SLOTS] = {0};
    int64_t lag = 0, lo, hi;
    atomic_store(&st->alive_ms, erps_mono_ms());
    for (int i = 0; i < ag->list.cnt; i++) {
        int s = (int)erps_engine_state(ag->srv[i].eng);
        if (s >= 0 && s < ERPS_STATE_SLOTS)
            by_state[s]++;
    }
    for (int s = 0; s < ERPS_STATE_SLOTS; s++)
        atomic_store(&st->engines[s], by_state[s]);
    for (int i = 0; i < ag->part_cnt && lag >= 0; i++) {
        const erps_cmd_part_t *p = &ag->part[i];
        int64_t at = p->next >= 0 ? p->next : p->committed;
        if (rd_kafka_get_watermark_offsets(ag->consumer,
                                           ag->conf->topics.commands,
                                           p->partition, &lo, &hi) ||
            hi < 0 || at < 0)
            lag = -1;
        else if (hi > at)
            lag += hi - at;
    }
    atomic_store(&st->command_lag, lag);
}

int erps_agent_run(erps_agent_t *ag, volatile sig_atomic_t *stop) {
    if (start(ag, stop))
        return ag->fatal_exit;
    atomic_store(&ag->stats->phase, ERPS_PHASE_SERVING);
    /* A line per engine transition: held, and written before each commit
     * and every loop turn, not one write(2) each (main() lets go at exit). */
    erps_log_hold(1);
    while (!*stop) {
        observe(ag);
        if (erps_agent_alive(ag))
            return ag->fatal_exit;
        int64_t next = engines_turn(ag);
        int64_t wait = next == INT64_MAX ? 200 : next - erps_now_ms();
        wait = wait < 0 ? 0 : wait > 200 ? 200 : wait;
        /* Foreign commands' offsets ride along with the next batch. */
        if (erps_batch_take(ag->consumer, (int)wait, (int)ag->conf->batch_max,
                            &ag->out, erps_apply_command, ag) > 0)
            engines_turn(ag); /* what the batch set off joins its transaction */
        if (ag->fatal_exit || flush(ag, stop))
            return ag->fatal_exit;
        rd_kafka_poll(ag->producer, 0);
        erps_log_flush();
    }
    atomic_store(&ag->stats->phase, ERPS_PHASE_STOPPING);
    stop_jobs(ag);
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
    for (int i = 0; ag->srv && i < ag->list.cnt; i++) {
        erps_engine_destroy(ag->srv[i].eng);
        erps_job_destroy(ag->srv[i].job);
    }
    free(ag->srv);
    free(ag->part);
    free(ag->part_of);
    free(ag->status_end);
    erps_engine_index_free(&ag->index);
    erps_engine_list_free(&ag->list);
    free(ag->state->engines);
    free(ag->state->parts);
    free(ag->state);
    explicit_bzero(ag->sign_key, sizeof(ag->sign_key));
    free(ag);
}
