/*
 * engine.h - the local sync engine: a state machine with an interval timer.
 *
 * Stopped -> Starting -> Running -> (Stopping ->) Stopped, and Failed when an
 * iteration cannot start. The engine does no I/O and reads no clock: every
 * call takes `now` in milliseconds, so tests drive it through days in
 * microseconds. Each state change and each finished iteration is reported
 * through the notify callback, synchronously, on the caller's thread; the
 * agent turns each report into one status event.
 *
 * Iterations run through a runner (agent/job.c runs an external command); with
 * no runner an iteration is a no-op that succeeds at once (the demo).
 */
#ifndef ERPSYNC_ENGINE_H
#define ERPSYNC_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "erpsync/proto.h"

typedef struct erps_engine erps_engine_t;

/* After n consecutive failed iterations the next waits interval x
 * 2^(n-1), at most this many intervals (and at most a day longer). */
#define ERPS_ENGINE_BACKOFF_MAX 8

typedef enum erps_engine_event {
    ERPS_ENGINE_EV_STATE = 1, /* state changed */
    ERPS_ENGINE_EV_ITERATION, /* an iteration finished */
    ERPS_ENGINE_EV_INTERVAL,  /* interval changed, state did not */
} erps_engine_event_t;

/** @param cause_id the command that caused it, or "" (timer, restart). */
typedef void(erps_engine_notify_cb)(void *opaque, const erps_engine_t *eng,
                                    erps_engine_event_t ev,
                                    const char *cause_id);

/**
 * Starts iteration `number`. @returns 0 when the job runs in the background
 * (the runner later calls erps_engine_iteration_done), 1 when it finished at
 * once and *result is filled, -1 when it could not be started (*result says
 * why; the engine goes to Failed).
 */
typedef int(erps_engine_runner_cb)(void *opaque, int64_t number,
                                   erps_iteration_t *result);

/** What survives a restart. */
typedef struct erps_engine_saved {
    bool desired_run;
    int64_t interval_s;
    int64_t generation;
    int64_t failures;
    erps_iteration_t last;
} erps_engine_saved_t;

erps_engine_t *erps_engine_new(const erps_engine_saved_t *saved,
                               erps_engine_notify_cb *notify, void *opaque);
void erps_engine_destroy(erps_engine_t *eng);
void erps_engine_set_runner(erps_engine_t *eng, erps_engine_runner_cb *run,
                            void *opaque);

/** After a restart: resumes Running if that was the desired state. */
void erps_engine_resume(erps_engine_t *eng, int64_t now);

/**
 * Run=true/false. @returns 1 when something changed (and was notified),
 * 0 when the engine already was where the command asks.
 */
int erps_engine_set_run(erps_engine_t *eng, bool run, int64_t now,
                        const char *cause_id);
/** @returns 1 when changed, 0 when equal. The caller checks bounds. */
int erps_engine_set_interval(erps_engine_t *eng, int64_t interval_s,
                             int64_t now, const char *cause_id);

/** Starts a due iteration. @returns the next time tick wants to run. */
int64_t erps_engine_tick(erps_engine_t *eng, int64_t now);

/** The runner reports the end of a background iteration. */
void erps_engine_iteration_done(erps_engine_t *eng,
                                const erps_iteration_t *result, int64_t now);

erps_state_t erps_engine_state(const erps_engine_t *eng);
bool erps_engine_iterating(const erps_engine_t *eng);
void erps_engine_saved(const erps_engine_t *eng, erps_engine_saved_t *out);
int64_t erps_engine_next_iteration(const erps_engine_t *eng);

/** Fills the engine part of a status: state, interval, iteration, message. */
void erps_engine_fill_status(const erps_engine_t *eng, erps_status_t *st);

#endif
