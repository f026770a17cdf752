/*
 * apply.c - what a command or an engine event does: the engine changes in
 * memory and the events it causes (status, audit, dead letter) go to the
 * outbox that the batch's transaction publishes.
 *
 * Every function works on one served engine; an engine's poison command or
 * failing job touches only its own records, so it never holds up another's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "erpsync/log.h"
#include "served.h"

/* ---- status events from engine notifications ---- */

void erps_served_status(erps_served_t *s, const char *cause) {
    erps_agent_t *ag = s->ag;
    erps_status_t st;
    erps_msg_t msg;
    char err[256];

    memset(&st, 0, sizeof(st));
    erps_ce_init(&st.ce, ag->conf->source, s->rec->id);
    erps_strlcpy(st.correlation_id, cause, sizeof(st.correlation_id));
    st.sequence = ++s->rec->sequence;
    erps_engine_fill_status(s->eng, &st);
    if (erps_status_encode(&st, &msg, err, sizeof(err))) {
        erps_err("encoding status: %s", err);
        s->rec->sequence--;
        return;
    }
    if (erps_outbox_add(&ag->out, ag->conf->topics.status, &msg) == 0)
        s->last_status_ms = erps_mono_ms();
    else
        s->rec->sequence--;
}

void erps_served_on_engine(void *opaque, const erps_engine_t *eng,
                           erps_engine_event_t ev, const char *cause_id) {
    erps_served_t *s = opaque;
    (void)eng;
    s->stopping_since =
        erps_engine_state(s->eng) == ERPS_STATE_STOPPING
            ? (s->stopping_since ? s->stopping_since : erps_mono_ms())
            : 0;
    erps_info("engine %s: %s%s%s%s%s", s->rec->id,
              ev == ERPS_ENGINE_EV_ITERATION  ? "iteration finished, "
              : ev == ERPS_ENGINE_EV_INTERVAL ? "interval changed, "
                                              : "",
              erps_state_name(erps_engine_state(s->eng)),
              *cause_id ? " (by command " : "", cause_id, *cause_id ? ")" : "");
    erps_served_status(s, cause_id);
}

/* The engine's runner: iterations run the configured sync job. */
int erps_served_run_job(void *opaque, int64_t number, erps_iteration_t *res) {
    erps_served_t *s = opaque;
    erps_engine_saved_t sv;
    erps_engine_saved(s->eng, &sv);
    return erps_job_start(s->job, number,
                          sv.last.number > 0 ? sv.last.outcome : "", res);
}

/* Called every loop turn: collects a finished job, enforces the stop grace. */
void erps_served_supervise(erps_served_t *s) {
    erps_iteration_t res;
    int64_t mono;
    if (!erps_job_running(s->job))
        return;
    mono = erps_mono_ms();
    if (s->stopping_since &&
        mono - s->stopping_since > s->ag->conf->job_stop_grace_ms)
        erps_job_terminate(s->job, mono);
    if (erps_job_poll(s->job, mono, &res) == 1)
        erps_engine_iteration_done(s->eng, &res, erps_now_ms());
}

/* ---- commands ---- */

static void audit(erps_served_t *s, erps_outcome_t outcome,
                  const erps_command_t *cmd, const char *command_id,
                  const char *reason, erps_state_t before_state,
                  int64_t before_iv) {
    erps_agent_t *ag = s->ag;
    erps_audit_t au;
    erps_msg_t msg;
    char err[256];

    memset(&au, 0, sizeof(au));
    erps_ce_init(&au.ce, ag->conf->source, s->rec->id);
    au.outcome = outcome;
    erps_strlcpy(au.command_id, command_id, sizeof(au.command_id));
    if (cmd) {
        /* The caller's trace goes on with the outcome. */
        erps_strlcpy(au.ce.traceparent, cmd->ce.traceparent,
                     sizeof(au.ce.traceparent));
        erps_strlcpy(au.ce.request_id, cmd->ce.request_id,
                     sizeof(au.ce.request_id));
        erps_strlcpy(au.command_type, erps_command_type_name(cmd->type),
                     sizeof(au.command_type));
        erps_strlcpy(au.principal, cmd->principal, sizeof(au.principal));
        erps_strlcpy(au.client_addr, cmd->client_addr, sizeof(au.client_addr));
    }
    erps_strlcpy(au.reason, reason, sizeof(au.reason));
    au.before_state = before_state;
    au.before_interval_s = before_iv;
    erps_engine_saved_t now;
    erps_engine_saved(s->eng, &now);
    au.after_state = erps_engine_state(s->eng);
    au.after_interval_s = now.interval_s;
    au.generation = now.generation;
    if (erps_audit_encode(&au, &msg, err, sizeof(err))) {
        erps_err("encoding audit: %s", err);
        return;
    }
    erps_outbox_add(&ag->out, ag->conf->topics.audit, &msg);
    erps_stats_outcome(ag->stats, cmd ? (int)cmd->type : 0, (int)outcome);
}

/* Appends one header (name and value copied into dl's arena, the value cut
 * to max bytes). @returns 0, or -1 when the arena keeps less than reserve. */
static int dl_header(erps_msg_t *dl, const char *name, const char *value,
                     size_t size, size_t max, size_t reserve) {
    size_t name_len = strlen(name) + 1, n = size < max ? size : max;
    if (dl->hdr_cnt >= ERPS_MSG_MAX_HDRS ||
        dl->arena_used + name_len + n + reserve > sizeof(dl->arena))
        return -1;
    memcpy(dl->arena + dl->arena_used, name, name_len);
    dl->hdrs[dl->hdr_cnt].name = dl->arena + dl->arena_used;
    dl->arena_used += name_len;
    memcpy(dl->arena + dl->arena_used, value ? value : "", n);
    dl->hdrs[dl->hdr_cnt].value = dl->arena + dl->arena_used;
    dl->hdrs[dl->hdr_cnt].size = n;
    dl->arena_used += n;
    dl->hdr_cnt++;
    return 0;
}

/* The command's ce_id, when it carries a valid one: the audit names it. */
static void view_ce_id(const erps_msg_t *view, char id[ERPS_UUID_LEN + 1]) {
    const erps_hdr_t *h = erps_msg_header(view, "ce_id");
    id[0] = '\0';
    if (h && h->size == ERPS_UUID_LEN) {
        memcpy(id, h->value, ERPS_UUID_LEN);
        id[ERPS_UUID_LEN] = '\0';
        if (!erps_uuid_valid(id))
            id[0] = '\0';
    }
}

static void dead_letter(erps_served_t *s, const rd_kafka_message_t *rkm,
                        const erps_msg_t *view, const char *reason,
                        erps_outcome_t outcome) {
    erps_msg_t dl;
    char part[16], num[32], id[ERPS_UUID_LEN + 1];
    const char *topic = rd_kafka_topic_name(rkm->rkt);

    /* Everything is copied: the outbox outlives the consumed message. */
    memset(&dl, 0, sizeof(dl));
    dl.key = s->rec->id; /* the key it came with: ours */
    dl.key_len = strlen(s->rec->id);
    if (view->value_len > 0) {
        dl.owned_value = malloc(view->value_len);
        if (dl.owned_value)
            memcpy(dl.owned_value, view->value, view->value_len);
        dl.value = dl.owned_value;
        dl.value_len = dl.owned_value ? view->value_len : 0;
    }
    /* The original headers as far as they fit (ours need 5 slots and up to
     * 700 bytes with their names), then ours. */
    for (int i = 0; i < view->hdr_cnt && dl.hdr_cnt < ERPS_MSG_MAX_HDRS - 5;
         i++)
        if (dl_header(&dl, view->hdrs[i].name, view->hdrs[i].value,
                      view->hdrs[i].size, SIZE_MAX, 700))
            break;
    view_ce_id(view, id);
    snprintf(part, sizeof(part), "%" PRId32, rkm->partition);
    snprintf(num, sizeof(num), "%" PRId64, rkm->offset);
    dl_header(&dl, "erpsync_error", reason, strlen(reason), 255, 0);
    dl_header(&dl, "erpsync_original_topic", topic, strlen(topic), 255, 0);
    dl_header(&dl, "erpsync_original_partition", part, strlen(part), 255, 0);
    dl_header(&dl, "erpsync_original_offset", num, strlen(num), 255, 0);
    erps_warn("dead-lettering command at %s [%" PRId32 "] offset %" PRId64
              ": %s",
              topic, rkm->partition, rkm->offset, reason);
    erps_outbox_add(&s->ag->out, s->ag->conf->topics.dlq, &dl);
    erps_engine_saved_t now;
    erps_engine_saved(s->eng, &now);
    audit(s, outcome, NULL, id, reason, erps_engine_state(s->eng),
          now.interval_s);
}

static void remember(erps_served_t *s, const char *id, erps_outcome_t outcome,
                     erps_state_t before_state, int64_t before_interval_s) {
    erps_agent_state_t *st = s->ag->state;
    erps_pending_t p;
    memset(&p, 0, sizeof(p));
    erps_strlcpy(p.id, id, sizeof(p.id));
    p.outcome = outcome;
    p.before_state = before_state;
    p.before_interval_s = before_interval_s;
    /* Full only if one batch held more commands than fit: then the oldest
     * ids go straight to applied (a crash could lose their outcome only). */
    if (erps_state_pending_add(st, &p)) {
        erps_state_pending_confirm(st);
        erps_state_pending_add(st, &p);
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

/* Applied before a crash that came before its transaction: the effect is in
 * our state, its outcome was never published. */
static void republish(erps_served_t *s, const erps_command_t *cmd,
                      const erps_pending_t *pend) {
    erps_pending_t p = *pend;
    erps_info("command %s: publishing the outcome lost in a crash", cmd->ce.id);
    erps_state_pending_republish(s->ag->state, cmd->ce.id);
    if (p.outcome == ERPS_OUTCOME_APPLIED || p.outcome == ERPS_OUTCOME_NOCHANGE)
        erps_served_status(s, cmd->ce.id);
    audit(s, (erps_outcome_t)p.outcome, cmd, cmd->ce.id,
          p.outcome == ERPS_OUTCOME_REJECTED ? "rejected before a restart"
                                             : outcome_reason(p.outcome),
          p.before_state, p.before_interval_s);
}

/* What each command type does to its engine. @returns 1 changed, 0 no
 * change, -1 refused (err says why). A new command type is one row here
 * and its engine function (engine.c). */
typedef int(cmd_handler_fn)(erps_served_t *s, const erps_command_t *cmd,
                            int64_t now, char *err, size_t err_size);

static int do_change_status(erps_served_t *s, const erps_command_t *cmd,
                            int64_t now, char *err, size_t err_size) {
    (void)err, (void)err_size;
    return erps_engine_set_run(s->eng, cmd->run, now, cmd->ce.id);
}

static int do_change_interval(erps_served_t *s, const erps_command_t *cmd,
                              int64_t now, char *err, size_t err_size) {
    const erps_agent_conf_t *conf = s->ag->conf;
    if (cmd->interval_s < conf->interval_min_s ||
        cmd->interval_s > conf->interval_max_s) {
        snprintf(err, err_size,
                 "interval %" PRId64 " s outside %" PRId64 "..%" PRId64 " s",
                 cmd->interval_s, conf->interval_min_s, conf->interval_max_s);
        return -1;
    }
    return erps_engine_set_interval(s->eng, cmd->interval_s, now, cmd->ce.id);
}

static const struct {
    erps_cmd_type_t type;
    cmd_handler_fn *run;
} handlers[] = {
    {ERPS_CMD_CHANGE_STATUS, do_change_status},
    {ERPS_CMD_CHANGE_INTERVAL, do_change_interval},
};

/* A command that passed every check: the engine does what it asks. */
static void execute(erps_served_t *s, const erps_command_t *cmd, int64_t now,
                    erps_state_t before_state, int64_t before_iv) {
    char err[256];
    int changed = -1;
    size_t i = 0, n = sizeof(handlers) / sizeof(handlers[0]);
    while (i < n && handlers[i].type != cmd->type)
        i++;
    if (i < n)
        changed = handlers[i].run(s, cmd, now, err, sizeof(err));
    else
        snprintf(err, sizeof(err), "%s is not a command this agent applies",
                 erps_command_type_name(cmd->type));
    if (changed < 0) {
        remember(s, cmd->ce.id, ERPS_OUTCOME_REJECTED, before_state, before_iv);
        audit(s, ERPS_OUTCOME_REJECTED, cmd, cmd->ce.id, err, before_state,
              before_iv);
        return;
    }
    /* Every accepted command answers with a status the shim can match. */
    if (!changed)
        erps_served_status(s, cmd->ce.id);
    erps_outcome_t outcome =
        changed ? ERPS_OUTCOME_APPLIED : ERPS_OUTCOME_NOCHANGE;
    remember(s, cmd->ce.id, outcome, before_state, before_iv);
    audit(s, outcome, cmd, cmd->ce.id, outcome_reason(outcome), before_state,
          before_iv);
}

static void handle_command(erps_served_t *s, const rd_kafka_message_t *rkm,
                           const erps_msg_t *view) {
    erps_agent_t *ag = s->ag;
    erps_command_t cmd;
    char err[256];
    erps_engine_saved_t before;
    erps_state_t before_state = erps_engine_state(s->eng);
    int64_t now = erps_now_ms();

    erps_engine_saved(s->eng, &before);
    if (erps_command_decode(view, &cmd, err, sizeof(err))) {
        dead_letter(s, rkm, view, err, ERPS_OUTCOME_DEADLETTERED);
        return;
    }
    /* Readable but not from a shim that holds the key: refused, and kept
     * in the dead-letter topic for whoever investigates the forgery. */
    if (ag->sign_len && erps_command_verify(view, ag->sign_key, ag->sign_len,
                                            err, sizeof(err))) {
        dead_letter(s, rkm, view, err, ERPS_OUTCOME_REJECTED);
        return;
    }
    const erps_pending_t *pend = erps_state_pending_find(ag->state, cmd.ce.id);
    if (pend && pend->recovered) {
        republish(s, &cmd, pend);
        return;
    }
    /* Pending and not recovered: applied earlier in this very batch. */
    if (pend || erps_state_applied_has(ag->state, cmd.ce.id)) {
        /* A resent command still awaited gets the current status as its
         * answer; an old redelivery gets only its audit line. */
        int awaited = now <= cmd.deadline_ms - ag->conf->clock_skew_ms;
        erps_info("command %s was applied before%s", cmd.ce.id,
                  awaited ? "; answering with the current status" : "");
        if (awaited)
            erps_served_status(s, cmd.ce.id);
        audit(s, ERPS_OUTCOME_NOCHANGE, &cmd, cmd.ce.id,
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
        remember(s, cmd.ce.id, ERPS_OUTCOME_EXPIRED, before_state,
                 before.interval_s);
        audit(s, ERPS_OUTCOME_EXPIRED, &cmd, cmd.ce.id,
              outcome_reason(ERPS_OUTCOME_EXPIRED), before_state,
              before.interval_s);
        return;
    }
    execute(s, &cmd, now, before_state, before.interval_s);
}

/* The batch loop's callback: a command for one of our engines, one for an
 * engine another agent serves (its offset still advances), or a status
 * record that tells whether another agent has taken one of ours. */
void erps_apply_command(void *opaque, const rd_kafka_message_t *rkm) {
    erps_agent_t *ag = opaque;
    erps_msg_t view;
    if (strcmp(rd_kafka_topic_name(rkm->rkt), ag->conf->topics.commands) != 0) {
        erps_recover_watch_status(ag, rkm);
        return;
    }
    if (rkm->partition >= 0 && rkm->partition < ag->cmd_partitions &&
        ag->part_of[rkm->partition] >= 0)
        ag->part[ag->part_of[rkm->partition]].next = rkm->offset + 1;
    erps_kafka_view(rkm, &view);
    int pos = erps_engine_index_find(&ag->index, view.key, view.key_len);
    if (pos < 0 || rkm->offset < ag->srv[pos].skip_below)
        return;
    ag->batch_cmds++;
    handle_command(&ag->srv[pos], rkm, &view);
}
