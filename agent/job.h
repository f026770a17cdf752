/*
 * job.h - the sync job: the external command an engine iteration runs.
 *
 * Started without a shell (posix_spawn), in a process group of its own so
 * that a timeout or a stop reaches its children too, with these variables
 * added to the agent's environment:
 *   ERPSYNC_ENGINE_ID         the engine id
 *   ERPSYNC_ITERATION         the iteration number, from 1
 *   ERPSYNC_PREVIOUS_OUTCOME  Succeeded, Failed, TimedOut, NotStarted or None
 * Its stdout goes to the agent's stdout; of its stderr the last line is kept
 * for the status (the rest goes to the agent's stderr).
 *
 * Outcomes: Succeeded (exit 0), Failed (other exit or signal), TimedOut
 * (over job.timeout.ms), Terminated (stopped by Run=false or shutdown),
 * NotStarted (could not be started). A job over its timeout gets SIGTERM,
 * then SIGKILL after the kill grace.
 * All calls are non-blocking and made from the agent's loop thread.
 */
#ifndef ERPSYNC_AGENT_JOB_H
#define ERPSYNC_AGENT_JOB_H

#include <stdint.h>

#include "erpsync/proto.h"

#define ERPS_JOB_MAX_ARGS 32

typedef struct erps_job_conf {
    char command[1024];    /* path of the program; "" for no job (demo) */
    char args[2048];       /* arguments, space-separated ('\ ' for a space) */
    int64_t timeout_ms;    /* an iteration longer than this is terminated */
    int64_t kill_grace_ms; /* SIGTERM to SIGKILL */
} erps_job_conf_t;

typedef struct erps_job erps_job_t;

erps_job_t *erps_job_new(const erps_job_conf_t *conf, const char *engine_id);
void erps_job_destroy(erps_job_t *job);

/** @returns 1 when a command is configured. */
int erps_job_configured(const erps_job_t *job);

/**
 * Starts iteration `number`. @returns 0 when started, -1 when the program
 * could not be started (res->detail says why, res->outcome = NotStarted).
 */
int erps_job_start(erps_job_t *job, int64_t number, const char *prev_outcome,
                   erps_iteration_t *res);

/**
 * Advances a running job: reads its stderr, enforces the timeout.
 * @returns 1 when it has ended (res filled: outcome, exit code or signal,
 * last stderr line), 0 while it runs, -1 when no job is running.
 */
int erps_job_poll(erps_job_t *job, int64_t now_mono_ms, erps_iteration_t *res);

/** Asks a running job to stop: SIGTERM now, SIGKILL after the kill grace
 *  (enforced by later polls). */
void erps_job_terminate(erps_job_t *job, int64_t now_mono_ms);

/** @returns 1 while a job runs. */
int erps_job_running(const erps_job_t *job);

#endif
