/*
 * engine.c - the sync engine's state machine. See include/erpsync/engine.h.
 */
#include "erpsync/engine.h"

#include <stdlib.h>
#include <string.h>

struct erps_engine {
    erps_state_t state;
    bool desired_run;
    bool iterating;
    int64_t interval_s;
    int64_t generation;
    int64_t failures;
    int64_t next_ms;       /* next iteration; 0 when none is scheduled */
    int64_t cur_start_ms;  /* the iteration in hand, while iterating */
    erps_iteration_t last; /* the last finished iteration */
    char stop_cause[ERPS_UUID_LEN + 1]; /* who asked for a pending Stopped */

    erps_engine_notify_cb *notify;
    void *notify_opaque;
    erps_engine_runner_cb *runner;
    void *runner_opaque;
};

erps_engine_t *erps_engine_new(const erps_engine_saved_t *saved,
                               erps_engine_notify_cb *notify, void *opaque) {
    erps_engine_t *eng = calloc(1, sizeof(*eng));
    if (!eng)
        return NULL;
    eng->state = ERPS_STATE_STOPPED;
    eng->desired_run = saved->desired_run;
    eng->interval_s = saved->interval_s;
    eng->generation = saved->generation;
    eng->failures = saved->failures;
    eng->last = saved->last;
    eng->notify = notify;
    eng->notify_opaque = opaque;
    return eng;
}

void erps_engine_destroy(erps_engine_t *eng) {
    free(eng);
}

void erps_engine_set_runner(erps_engine_t *eng, erps_engine_runner_cb *run,
                            void *opaque) {
    eng->runner = run;
    eng->runner_opaque = opaque;
}

static void emit(erps_engine_t *eng, erps_engine_event_t ev,
                 const char *cause) {
    if (eng->notify)
        eng->notify(eng->notify_opaque, eng, ev, cause ? cause : "");
}

static void set_state(erps_engine_t *eng, erps_state_t s, const char *cause) {
    eng->state = s;
    emit(eng, ERPS_ENGINE_EV_STATE, cause);
}

/* Failed iterations back off: the next one waits interval x 2^(failures-1),
 * at most ERPS_ENGINE_BACKOFF_MAX x interval, and never more than a day
 * beyond the interval. */
static int64_t delay_ms(const erps_engine_t *eng) {
    int64_t factor = 1;
    for (int64_t f = 1; f < eng->failures && factor < ERPS_ENGINE_BACKOFF_MAX;
         f++)
        factor *= 2;
    int64_t d = eng->interval_s * 1000 * factor;
    int64_t cap = eng->interval_s * 1000 + 86400 * 1000;
    return d < cap ? d : cap;
}

/* Starting, then Running once the first iteration is scheduled: at once, or
 * (after a restart) in the slot the last iteration left, so no slot runs
 * twice. */
static void start(erps_engine_t *eng, int64_t now, const char *cause) {
    set_state(eng, ERPS_STATE_STARTING, cause);
    eng->next_ms = now;
    if (!*cause && eng->last.number > 0 &&
        eng->last.start_ms + delay_ms(eng) > now)
        eng->next_ms = eng->last.start_ms + delay_ms(eng);
    set_state(eng, ERPS_STATE_RUNNING, cause);
}

void erps_engine_resume(erps_engine_t *eng, int64_t now) {
    if (eng->desired_run && eng->state == ERPS_STATE_STOPPED)
        start(eng, now, "");
}

int erps_engine_set_run(erps_engine_t *eng, bool run, int64_t now,
                        const char *cause_id) {
    erps_state_t s = eng->state;

    if (run) {
        if (s == ERPS_STATE_RUNNING || s == ERPS_STATE_STARTING)
            return 0;
        eng->desired_run = true;
        eng->generation++;
        if (s == ERPS_STATE_STOPPING) {
            /* The iteration in hand goes on; nothing was stopped yet. */
            eng->stop_cause[0] = '\0';
            set_state(eng, ERPS_STATE_RUNNING, cause_id);
        } else {
            start(eng, now, cause_id);
        }
        return 1;
    }

    if (s == ERPS_STATE_STOPPED || s == ERPS_STATE_STOPPING)
        return 0;
    eng->desired_run = false;
    eng->generation++;
    eng->next_ms = 0;
    if (eng->iterating) {
        erps_strlcpy(eng->stop_cause, cause_id, sizeof(eng->stop_cause));
        set_state(eng, ERPS_STATE_STOPPING, cause_id);
    } else {
        set_state(eng, ERPS_STATE_STOPPED, cause_id);
    }
    return 1;
}

int erps_engine_set_interval(erps_engine_t *eng, int64_t interval_s,
                             int64_t now, const char *cause_id) {
    if (interval_s == eng->interval_s)
        return 0;
    eng->interval_s = interval_s;
    eng->generation++;
    /* Rescheduled from the last start, but never into the past. */
    if (eng->state == ERPS_STATE_RUNNING && !eng->iterating &&
        eng->last.number > 0) {
        int64_t next = eng->last.start_ms + interval_s * 1000;
        eng->next_ms = next > now ? next : now;
    }
    emit(eng, ERPS_ENGINE_EV_INTERVAL, cause_id);
    return 1;
}

static void finish_iteration(erps_engine_t *eng, const erps_iteration_t *res,
                             int64_t now) {
    eng->iterating = false;
    eng->last = *res;
    eng->last.start_ms = eng->cur_start_ms;
    eng->last.end_ms = now;
    if (strcmp(res->outcome, "Succeeded") == 0)
        eng->failures = 0;
    else
        eng->failures++;
    if (eng->state == ERPS_STATE_STOPPING) {
        emit(eng, ERPS_ENGINE_EV_ITERATION, "");
        set_state(eng, ERPS_STATE_STOPPED, eng->stop_cause);
        eng->stop_cause[0] = '\0';
        return;
    }
    /* From the start of this one: a late iteration causes no burst. */
    if (eng->state == ERPS_STATE_RUNNING)
        eng->next_ms = eng->last.start_ms + delay_ms(eng);
    emit(eng, ERPS_ENGINE_EV_ITERATION, "");
}

int64_t erps_engine_tick(erps_engine_t *eng, int64_t now) {
    if (eng->state != ERPS_STATE_RUNNING || eng->iterating)
        return INT64_MAX;
    if (now < eng->next_ms)
        return eng->next_ms;

    erps_iteration_t res;
    int64_t number = eng->last.number + 1;
    memset(&res, 0, sizeof(res));
    eng->iterating = true;
    eng->cur_start_ms = now;

    int rc = 1;
    if (eng->runner) {
        rc = eng->runner(eng->runner_opaque, number, &res);
    } else {
        erps_strlcpy(res.outcome, "Succeeded", sizeof(res.outcome));
        erps_strlcpy(res.detail, "no sync job configured", sizeof(res.detail));
    }
    if (rc == 0)
        return INT64_MAX; /* the runner will call iteration_done */
    res.number = number;
    res.start_ms = now;
    if (rc < 0) {
        eng->iterating = false;
        eng->last = res;
        eng->last.end_ms = now;
        eng->failures++;
        eng->next_ms = 0;
        set_state(eng, ERPS_STATE_FAILED, "");
        return INT64_MAX;
    }
    finish_iteration(eng, &res, now);
    return eng->next_ms > 0 ? eng->next_ms : INT64_MAX;
}

void erps_engine_iteration_done(erps_engine_t *eng,
                                const erps_iteration_t *result, int64_t now) {
    if (!eng->iterating)
        return;
    erps_iteration_t res = *result;
    res.number = eng->last.number + 1;
    finish_iteration(eng, &res, now);
}

erps_state_t erps_engine_state(const erps_engine_t *eng) {
    return eng->state;
}
bool erps_engine_iterating(const erps_engine_t *eng) {
    return eng->iterating;
}
int64_t erps_engine_next_iteration(const erps_engine_t *eng) {
    return eng->next_ms;
}

void erps_engine_saved(const erps_engine_t *eng, erps_engine_saved_t *out) {
    out->desired_run = eng->desired_run;
    out->interval_s = eng->interval_s;
    out->generation = eng->generation;
    out->failures = eng->failures;
    out->last = eng->last;
}

void erps_engine_fill_status(const erps_engine_t *eng, erps_status_t *st) {
    st->state = eng->state;
    st->is_running = erps_state_is_running(eng->state);
    st->interval_s = eng->interval_s;
    st->generation = eng->generation;
    st->next_iteration_ms =
        eng->state == ERPS_STATE_RUNNING && !eng->iterating ? eng->next_ms : 0;
    st->failures = eng->failures;
    st->last = eng->last;
    erps_status_render_message(st);
}
