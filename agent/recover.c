/*
 * recover.c - what Kafka says, for the times our own memory is not enough:
 *
 *  - at start: each engine's status sequence continues from what
 *    subscribers saw; commands a crash left pending are told apart (outcome
 *    published or lost); and no engine another live agent serves is taken;
 *  - right after the first statuses (the claims): of two agents that
 *    started together for one engine, the one whose status came first keeps
 *    it, the other stops before applying anything;
 *  - while running: a status of ours from another agent stops us;
 *  - after a producer died in a commit: whether its batch made it.
 *
 * Reads go through a consumer of its own, read_committed, one partition at
 * a time, newest window first where only the latest records matter.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "erpsync/log.h"
#include "served.h"

#define SCAN_WINDOW    500
#define SCAN_BUDGET_MS 15000 /* per partition: a start is never stuck here */

typedef int(scan_fn)(erps_served_t *s, const erps_msg_t *view, int64_t offset,
                     void *arg);

static rd_kafka_t *scan_consumer(erps_agent_t *ag, char *err, size_t n) {
    static const char *const tuning[] = {"fetch.wait.max.ms", "10", NULL};
    char gid[300];
    snprintf(gid, sizeof(gid), "erpsync-agent-%s-scan", ag->conf->agent_id);
    rd_kafka_conf_t *kc =
        erps_kafka_conf(ag->conf->bootstrap, gid, tuning, ag->kp, err, n);
    if (!kc)
        return NULL;
    if (erps_kafka_set(kc, "group.id", gid, err, n) ||
        erps_kafka_set(kc, "isolation.level", "read_committed", err, n) ||
        erps_kafka_set(kc, "enable.auto.commit", "false", err, n) ||
        erps_kafka_set(kc, "enable.partition.eof", "true", err, n)) {
        rd_kafka_conf_destroy(kc);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, n);
    if (!rk)
        rd_kafka_conf_destroy(kc);
    return rk;
}

static void scan_close(rd_kafka_t *rk) {
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
}

/* Reads [start, end) of one partition whole, calling fn for our engines'
 * records. A commit marker may end the range, so any record beyond it (or
 * the end of the partition) closes it. @returns 1 when fn said it has seen
 * enough, 0 when not, -1 when the deadline passed first. */
static int scan_range(erps_agent_t *ag, rd_kafka_t *rk, const char *topic,
                      int32_t part, int64_t start, int64_t end,
                      int64_t deadline, scan_fn *fn, void *arg) {
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic, part)->offset = start;
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    int64_t pos = start;
    int done = 0;
    while (pos < end) {
        /* While running, a stall here counts as anywhere else. */
        if (erps_mono_ms() > deadline || (ag->alive_ms && erps_agent_alive(ag)))
            return -1;
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 100);
        if (!rkm)
            continue;
        if (!rkm->err) {
            erps_msg_t view;
            pos = rkm->offset + 1;
            erps_kafka_view(rkm, &view);
            int i = erps_engine_index_find(&ag->index, view.key, view.key_len);
            if (rkm->offset < end && i >= 0 &&
                fn(&ag->srv[i], &view, rkm->offset, arg))
                done = 1;
        } else if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF &&
                   (rkm->offset >= end || rkm->offset < 0)) {
            /* read_committed stops at the last stable offset: an end below
             * ours is a transaction still open in the range, whose records
             * (another agent's claim, say) count once it commits. */
            pos = end;
        }
        rd_kafka_message_destroy(rkm);
    }
    return done;
}

/* The partition's offsets, retried for a while: a topic created a moment
 * ago has no leader yet. @returns 0 or -1. */
static int watermarks(rd_kafka_t *rk, const char *topic, int32_t part,
                      int64_t *lo, int64_t *hi) {
    rd_kafka_resp_err_t err;
    int64_t until = erps_mono_ms() + 30000;
    while ((err = rd_kafka_query_watermark_offsets(rk, topic, part, lo, hi,
                                                   5000)) &&
           erps_mono_ms() < until) {
        erps_dbg("offsets of %s [%" PRId32 "]: %s; retrying", topic, part,
                 rd_kafka_err2str(err));
        struct timespec ts = {0, 250 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (err)
        erps_warn("offsets of %s [%" PRId32 "]: %s", topic, part,
                  rd_kafka_err2str(err));
    return err ? -1 : 0;
}

/* Newest window first, until fn has seen enough or the partition starts.
 * @returns 0 (also when the time budget ran out: what was read is what we
 * know), or -1 when the partition cannot be read; *hi_out (may be NULL)
 * gets where it ended when the scan began. */
static int scan_back(erps_agent_t *ag, rd_kafka_t *rk, const char *topic,
                     int32_t part, scan_fn *fn, void *arg, int64_t *hi_out) {
    int64_t lo = 0, hi = 0;
    if (watermarks(rk, topic, part, &lo, &hi))
        return -1;
    int64_t deadline = erps_mono_ms() + SCAN_BUDGET_MS;
    if (hi_out)
        *hi_out = hi;
    for (int64_t end = hi; end > lo; end -= SCAN_WINDOW) {
        int64_t start = end - SCAN_WINDOW > lo ? end - SCAN_WINDOW : lo;
        int rc = scan_range(ag, rk, topic, part, start, end, deadline, fn, arg);
        if (rc < 0)
            erps_warn("reading %s [%" PRId32 "] took over %d ms; going on "
                      "with what was read",
                      topic, part, SCAN_BUDGET_MS);
        if (rc)
            break;
    }
    return 0;
}

/* ---- at start: sequences and claims ---- */

/* What the status topic says of each engine. */
typedef struct seen {
    int64_t sequence;                 /* highest published, -1: none */
    int64_t offset;                   /* of the latest status, -1: none */
    int64_t time_ms;                  /* ce_time of the latest status */
    char source[ERPS_SOURCE_MAX + 1]; /* ce_source of the latest status */
    erps_engine_saved_t saved;        /* what the latest status says */
} seen_t;

typedef struct status_scan {
    seen_t *seen; /* by engine position */
    int left;     /* engines of this partition not seen yet */
} status_scan_t;

static int on_status(erps_served_t *s, const erps_msg_t *view, int64_t offset,
                     void *arg) {
    status_scan_t *sc = arg;
    seen_t *e = &sc->seen[s - s->ag->srv];
    erps_status_t st;
    char err[256];
    if (erps_status_decode(view, &st, err, sizeof(err)))
        return 0;
    if (e->offset < 0)
        sc->left--;
    if (st.sequence > e->sequence)
        e->sequence = st.sequence;
    if (offset > e->offset) {
        e->offset = offset;
        e->time_ms = st.ce.time_ms;
        erps_strlcpy(e->source, st.ce.source, sizeof(e->source));
        e->saved.desired_run =
            st.state != ERPS_STATE_STOPPED && st.state != ERPS_STATE_STOPPING;
        e->saved.interval_s = st.interval_s;
        e->saved.generation = st.generation;
        e->saved.failures = st.failures;
        e->saved.last = st.last;
    }
    /* The window is read whole before this counts. */
    return sc->left == 0;
}

/* Another agent's status younger than engine.claim.timeout.ms: it still
 * serves the engine. @returns 0, or -1 with errstr. */
static int check_claim(erps_served_t *s, const seen_t *e, char *errstr,
                       size_t n) {
    const erps_agent_conf_t *conf = s->ag->conf;
    int64_t age = erps_now_ms() - e->time_ms;
    if (conf->claim_timeout_ms <= 0 || e->offset < 0 ||
        strcmp(e->source, conf->source) == 0 || age >= conf->claim_timeout_ms)
        return 0;
    snprintf(errstr, n,
             "engine %s is served by %s (its last status %" PRId64 " ms ago, "
             "engine.claim.timeout.ms is %" PRId64 "): stop that agent or "
             "take the engine out of one of the lists",
             s->rec->id, e->source, age, conf->claim_timeout_ms);
    return -1;
}

/* Scans each status partition our engines live in. */
static int scan_statuses(erps_agent_t *ag, rd_kafka_t *rk, seen_t *seen,
                         char *errstr, size_t n) {
    for (int p = 0; p < ag->status_partitions; p++) {
        status_scan_t sc = {seen, 0};
        for (int i = 0; i < ag->list.cnt; i++)
            sc.left += ag->srv[i].status_part == p;
        if (sc.left == 0)
            continue;
        if (scan_back(ag, rk, ag->conf->topics.status, p, on_status, &sc,
                      &ag->status_end[p])) {
            snprintf(errstr, n, "cannot read %s [%d]", ag->conf->topics.status,
                     p);
            return -1;
        }
    }
    return 0;
}

/* An engine another agent served last (or one our file does not know)
 * continues as its last status says: Run, interval, generation, last
 * iteration. Commands that agent committed are not ours to apply again:
 * those below its consumer group's committed offset are skipped. */
static void take_over(erps_agent_t *ag, erps_served_t *s, const seen_t *e) {
    erps_engine_rec_t *rec = s->rec;
    const char *prefix = "/erpsync/agent/";
    int64_t interval = rec->engine.interval_s;
    rec->engine = e->saved;
    if (rec->engine.interval_s < 1 ||
        rec->engine.interval_s > ERPS_INTERVAL_MAX_S)
        rec->engine.interval_s = interval;
    rec->found = 1;
    if (strcmp(e->source, ag->conf->source) == 0)
        return; /* ours, only our state file was lost */
    erps_strlcpy(s->prev_agent,
                 strncmp(e->source, prefix, strlen(prefix)) == 0
                     ? e->source + strlen(prefix)
                     : "",
                 sizeof(s->prev_agent));
    s->skip_below = INT64_MAX; /* until the previous agent's offset is known */
    erps_info("engine %s: taken over from %s: %s, interval %" PRId64 " s, as "
              "its last status says",
              rec->id, e->source, rec->engine.desired_run ? "Run" : "stopped",
              rec->engine.interval_s);
}

/* Sequences continue from what subscribers saw; a live claim refuses. */
static int adopt_statuses(erps_agent_t *ag, const seen_t *seen, char *errstr,
                          size_t n) {
    for (int i = 0; i < ag->list.cnt; i++) {
        erps_engine_rec_t *rec = ag->srv[i].rec;
        if (check_claim(&ag->srv[i], &seen[i], errstr, n))
            return -1;
        if (seen[i].offset >= 0 &&
            (!rec->found || strcmp(seen[i].source, ag->conf->source) != 0))
            take_over(ag, &ag->srv[i], &seen[i]);
        if (seen[i].sequence >= 0 && seen[i].sequence != rec->sequence) {
            erps_info("engine %s: status sequence continues from %" PRId64
                      " as published (state file said %" PRId64 ")",
                      rec->id, seen[i].sequence, rec->sequence);
            rec->sequence = seen[i].sequence;
        }
    }
    return 0;
}

/* Where the previous agent of each engine we took over got to: its
 * consumer group's committed offset of the engine's command partition.
 * Unknown (another naming of the source, no committed offset, an
 * unreadable group): everything on the partition now is skipped, since it
 * may have been applied. */
/* The previous agent's consumer, by its group, or NULL. */
static rd_kafka_t *previous_consumer(erps_agent_t *ag, const char *prev) {
    char gid[300], err[256];
    if (!prev[0])
        return NULL;
    snprintf(gid, sizeof(gid), "erpsync-agent-%s", prev);
    rd_kafka_conf_t *kc = erps_kafka_conf(ag->conf->bootstrap, gid, NULL,
                                          ag->kp, err, sizeof(err));
    if (kc && erps_kafka_set(kc, "group.id", gid, err, sizeof(err)) == 0)
        return rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof(err));
    if (kc)
        rd_kafka_conf_destroy(kc);
    return NULL;
}

/* Where the previous agent of s got to on partition part: its committed
 * offset (*known), else the partition's end (never twice, at the price of
 * what waited meanwhile), else -1. */
static int64_t previous_offset(erps_agent_t *ag, const erps_served_t *s,
                               int32_t part, int *known) {
    int64_t lo = 0, hi = 0, off = -1;
    rd_kafka_t *rk = previous_consumer(ag, s->prev_agent);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, ag->conf->topics.commands, part);
    *known = 0;
    if (rk && !rd_kafka_committed(rk, l, 10000) && !l->elems[0].err &&
        l->elems[0].offset >= 0)
        off = l->elems[0].offset, *known = 1;
    else if (!rd_kafka_query_watermark_offsets(ag->consumer,
                                               ag->conf->topics.commands, part,
                                               &lo, &hi, 10000))
        off = hi;
    rd_kafka_topic_partition_list_destroy(l);
    if (rk)
        rd_kafka_destroy(rk);
    return off;
}

static void previous_offsets(erps_agent_t *ag) {
    for (int i = 0; i < ag->list.cnt; i++) {
        erps_served_t *s = &ag->srv[i];
        if (s->skip_below != INT64_MAX)
            continue;
        int32_t part = ag->part[s->part_ix].partition;
        int known;
        int64_t off = previous_offset(ag, s, part, &known);
        /* The same agent's other engines on this partition share it. */
        for (int j = i; j < ag->list.cnt; j++)
            if (ag->srv[j].skip_below == INT64_MAX &&
                ag->srv[j].part_ix == s->part_ix &&
                strcmp(ag->srv[j].prev_agent, s->prev_agent) == 0)
                ag->srv[j].skip_below = off;
        if (off < 0)
            erps_warn(
                "engine %s: where its previous agent got to on %s [%" PRId32
                "] is unknown and the partition's end could not be read: "
                "its commands are applied from where this agent "
                "resumes, and one the previous agent applied may be "
                "applied again",
                s->rec->id, ag->conf->topics.commands, part);
        else
            erps_info("engine %s: commands before offset %" PRId64
                      " of %s [%" PRId32 "] were %s",
                      s->rec->id, off, ag->conf->topics.commands, part,
                      !known ? "skipped: where its previous agent got to is "
                               "unknown"
                             : "its previous agent's");
    }
}

/* A recovered pending command whose audit line is on Kafka was committed
 * before the crash: it is applied, not to be published again. */
static int confirm_published(erps_served_t *s, const erps_msg_t *view,
                             int64_t offset, void *arg) {
    const erps_hdr_t *h = erps_msg_header(view, "ce_correlationid");
    erps_agent_state_t *st = s->ag->state;
    int *left = arg;
    char id[ERPS_UUID_LEN + 1];
    (void)offset;
    if (!h || h->size != ERPS_UUID_LEN)
        return 0;
    memcpy(id, h->value, ERPS_UUID_LEN);
    id[ERPS_UUID_LEN] = '\0';
    for (int i = 0; i < st->pending_cnt; i++) {
        erps_pending_t *p = &st->pending[i];
        if (p->recovered && strcmp(p->id, id) == 0) {
            p->recovered = 0; /* confirmed below */
            (*left)--;
        }
    }
    return *left == 0;
}

/* Which of the commands a crash left pending had their outcome published?
 * The audit partitions of our engines tell. */
/* Whether any of our engines writes to audit partition p of cnt. */
static int audit_partition_ours(const erps_agent_t *ag, int p, int cnt) {
    for (int i = 0; i < ag->list.cnt; i++)
        if (erps_kafka_engine_partition(ag->srv[i].rec->id, cnt) == p)
            return 1;
    return 0;
}

/* Looks for the pending commands' audit records (*left of them) on our
 * audit partitions. @returns 0, or -1 when a partition was unreadable or
 * the partitions unknown. */
static int find_published(erps_agent_t *ag, rd_kafka_t *rk, int *left) {
    char err[256];
    int cnt = erps_kafka_partition_count(rk, ag->conf->topics.audit, 10000, err,
                                         sizeof(err));
    if (cnt < 0)
        return -1;
    for (int p = 0; p<cnt && * left> 0; p++)
        if (audit_partition_ours(ag, p, cnt) &&
            scan_back(ag, rk, ag->conf->topics.audit, p, confirm_published,
                      left, NULL))
            return -1;
    return 0;
}

static void confirm_pending(erps_agent_t *ag, rd_kafka_t *rk) {
    erps_agent_state_t *st = ag->state;
    int left = 0, in_flight = 0, lost = 0;
    for (int i = 0; i < st->pending_cnt; i++) {
        left += st->pending[i].recovered;
        in_flight += st->pending[i].in_flight;
    }
    int before = left;
    /* Unreadable: all stay pending, published once more. */
    if (left == 0 || find_published(ag, rk, &left))
        return;
    /* The last batch's outcomes all on Kafka: its transaction committed, and
     * its offsets with them (brokers that forget them need to know). */
    for (int i = 0; i < st->pending_cnt; i++)
        lost += st->pending[i].in_flight && st->pending[i].recovered;
    for (int i = 0; in_flight > 0 && lost == 0 && i < st->part_cnt; i++)
        if (st->parts[i].pending > st->parts[i].committed)
            st->parts[i].committed = st->parts[i].pending;
    /* Those found had recovered cleared: confirm moves them to applied. */
    erps_state_pending_confirm(st);
    erps_info("%d command(s) applied before the restart: %d published, %d to "
              "publish when they come again",
              before, before - left, left);
}

int erps_recover_at_start(erps_agent_t *ag, char *errstr, size_t errstr_size) {
    seen_t *seen = calloc((size_t)ag->list.cnt, sizeof(*seen));
    rd_kafka_t *rk = seen ? scan_consumer(ag, errstr, errstr_size) : NULL;
    int rc = -1;
    if (!rk) {
        if (!seen)
            snprintf(errstr, errstr_size, "out of memory");
        free(seen);
        return -1;
    }
    for (int i = 0; i < ag->list.cnt; i++)
        seen[i].sequence = seen[i].offset = -1;
    int64_t t0 = erps_mono_ms();
    if (scan_statuses(ag, rk, seen, errstr, errstr_size) == 0) {
        rc = adopt_statuses(ag, seen, errstr, errstr_size) ? -2 : 0;
        if (rc == 0) {
            confirm_pending(ag, rk);
            previous_offsets(ag);
        }
    }
    erps_info("read what Kafka holds for %d engine(s) in %" PRId64 " ms",
              ag->list.cnt, erps_mono_ms() - t0);
    scan_close(rk);
    free(seen);
    return rc;
}

/* ---- right after our first statuses ---- */

typedef struct first_claim {
    erps_agent_t *ag;
    signed char *first; /* by engine: 0 not yet, 1 ours came first, -1 not */
    seen_t *theirs;
} first_claim_t;

static int on_claim(erps_served_t *s, const erps_msg_t *view, int64_t offset,
                    void *arg) {
    first_claim_t *fc = arg;
    int i = (int)(s - fc->ag->srv);
    erps_status_t st;
    char err[256];
    (void)offset;
    if (fc->first[i] || erps_status_decode(view, &st, err, sizeof(err)))
        return 0;
    if (strcmp(st.ce.source, fc->ag->conf->source) == 0) {
        fc->first[i] = 1;
    } else {
        fc->first[i] = -1;
        fc->theirs[i].offset = offset;
        fc->theirs[i].time_ms = st.ce.time_ms;
        erps_strlcpy(fc->theirs[i].source, st.ce.source,
                     sizeof(fc->theirs[i].source));
    }
    return 0;
}

int erps_recover_claims(erps_agent_t *ag, char *errstr, size_t errstr_size) {
    if (ag->conf->claim_timeout_ms <= 0)
        return 0;
    first_claim_t fc = {ag, calloc((size_t)ag->list.cnt, 1),
                        calloc((size_t)ag->list.cnt, sizeof(seen_t))};
    rd_kafka_t *rk = NULL;
    int rc = -1;
    if (!fc.first || !fc.theirs)
        snprintf(errstr, errstr_size, "out of memory");
    else if ((rk = scan_consumer(ag, errstr, errstr_size)))
        rc = 0;
    for (int p = 0; rc == 0 && p < ag->status_partitions; p++) {
        int64_t lo = 0, hi = 0;
        if (ag->status_end[p] < 0)
            continue; /* none of ours here */
        if (watermarks(rk, ag->conf->topics.status, p, &lo, &hi)) {
            snprintf(errstr, errstr_size, "cannot read %s [%d]",
                     ag->conf->topics.status, p);
            rc = -1;
            break;
        }
        if (scan_range(ag, rk, ag->conf->topics.status, p, ag->status_end[p],
                       hi, erps_mono_ms() + SCAN_BUDGET_MS, on_claim,
                       &fc) < 0) {
            snprintf(errstr, errstr_size,
                     "%s [%d]: no end within %d ms (a "
                     "transaction left open?): cannot tell whose claim came "
                     "first",
                     ag->conf->topics.status, p, SCAN_BUDGET_MS);
            rc = -1;
            break;
        }
        ag->status_end[p] = hi; /* the watch goes on from here */
    }
    for (int i = 0; rc == 0 && i < ag->list.cnt; i++)
        if (fc.first[i] < 0 &&
            check_claim(&ag->srv[i], &fc.theirs[i], errstr, errstr_size))
            rc = -1;
    scan_close(rk);
    free(fc.first);
    free(fc.theirs);
    return rc;
}

int erps_recover_watch_status(erps_agent_t *ag, const rd_kafka_message_t *rkm) {
    erps_msg_t view;
    erps_kafka_view(rkm, &view);
    int i = erps_engine_index_find(&ag->index, view.key, view.key_len);
    const erps_hdr_t *src = erps_msg_header(&view, "ce_source");
    size_t ours = strlen(ag->conf->source);
    if (i < 0 || !src ||
        (src->size == ours && memcmp(src->value, ag->conf->source, ours) == 0))
        return 0;
    erps_served_t *s = &ag->srv[i];
    /* An agent that started with us but whose claim landed after ours: it
     * reads ours first and stops itself. Later than that, an agent only
     * claims an engine whose statuses stopped for the claim timeout, which
     * a live agent's heartbeats prevent; seeing one then is a conflict. */
    if (erps_mono_ms() - s->claimed_ms < ag->conf->claim_timeout_ms) {
        if (!s->latecomer_seen++)
            erps_warn("engine %s: %.*s claimed it after us; it stops itself",
                      s->rec->id, (int)src->size, src->value);
        return 0;
    }
    erps_err("engine %s: a status from %.*s at %s [%" PRId32 "] offset %" PRId64
             ": another agent serves this engine too; stopping without "
             "committing",
             s->rec->id, (int)src->size, src->value,
             rd_kafka_topic_name(rkm->rkt), rkm->partition, rkm->offset);
    ag->fatal_exit = ERPS_AGENT_EXIT_FENCED;
    return -1;
}

/* ---- after a producer died in a commit ---- */

typedef struct find_id {
    char id[ERPS_UUID_LEN + 1];
    int found;
} find_id_t;

static int match_ce_id(erps_served_t *s, const erps_msg_t *view, int64_t offset,
                       void *arg) {
    find_id_t *f = arg;
    const erps_hdr_t *h = erps_msg_header(view, "ce_id");
    (void)s;
    (void)offset;
    if (h && h->size == strlen(f->id) && memcmp(h->value, f->id, h->size) == 0)
        f->found = 1;
    return f->found;
}

int erps_recover_batch_committed(erps_agent_t *ag) {
    find_id_t f = {"", 0};
    const erps_event_t *ev = &ag->out.ev[0];
    const erps_hdr_t *h;
    char err[256], key[ERPS_ENGINE_ID_MAX + 1];
    if (ag->out.cnt == 0)
        return 0;
    h = erps_msg_header(&ev->msg, "ce_id");
    if (!h || h->size != ERPS_UUID_LEN || ev->msg.key_len > ERPS_ENGINE_ID_MAX)
        return 0;
    memcpy(f.id, h->value, ERPS_UUID_LEN);
    f.id[ERPS_UUID_LEN] = '\0';
    memcpy(key, ev->msg.key, ev->msg.key_len);
    key[ev->msg.key_len] = '\0';
    rd_kafka_t *rk = scan_consumer(ag, err, sizeof(err));
    int cnt =
        rk ? erps_kafka_partition_count(rk, ev->topic, 10000, err, sizeof(err))
           : -1;
    int rc = cnt > 0 ? scan_back(ag, rk, ev->topic,
                                 erps_kafka_engine_partition(key, cnt),
                                 match_ce_id, &f, NULL)
                     : -1;
    scan_close(rk);
    return rc ? -1 : f.found;
}
