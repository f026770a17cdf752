/*
 * job.c - runs the sync job as a child process. See job.h.
 */
#include "job.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "erpsync/log.h"

extern char **environ;

struct erps_job {
    erps_job_conf_t conf;
    char engine_id[ERPS_ENGINE_ID_MAX + 1];
    char *argv[ERPS_JOB_MAX_ARGS + 2];
    char argbuf[2048];

    pid_t pid;  /* 0 when none runs */
    int err_fd; /* read end of the job's stderr */
    int64_t start_mono;
    int64_t term_sent; /* when SIGTERM went out, 0 if not */
    int kill_sent;
    int timed_out;
    int terminated;                    /* by a stop, not by the timeout */
    char line[ERPS_REASON_MAX + 1];    /* last complete stderr line */
    char partial[ERPS_REASON_MAX + 1]; /* the line being read */
    size_t partial_len;
};

/* Splits args on spaces; a backslash keeps the next character literal. */
static int split_args(erps_job_t *job) {
    int n = 0;
    char *out = job->argbuf;
    const char *p = job->conf.args;
    job->argv[n++] = job->conf.command;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        if (n >= ERPS_JOB_MAX_ARGS + 1)
            return -1;
        job->argv[n++] = out;
        while (*p && *p != ' ') {
            if (*p == '\\' && p[1])
                p++;
            *out++ = *p++;
        }
        *out++ = '\0';
    }
    job->argv[n] = NULL;
    return 0;
}

erps_job_t *erps_job_new(const erps_job_conf_t *conf, const char *engine_id) {
    erps_job_t *job = calloc(1, sizeof(*job));
    if (!job)
        return NULL;
    job->conf = *conf;
    job->err_fd = -1;
    erps_strlcpy(job->engine_id, engine_id, sizeof(job->engine_id));
    if (split_args(job)) {
        free(job);
        return NULL;
    }
    return job;
}

int erps_job_configured(const erps_job_t *job) {
    return job && job->conf.command[0] != '\0';
}

int erps_job_running(const erps_job_t *job) {
    return job && job->pid > 0;
}

/* The agent's environment plus ours, ours first so they win. */
static char **build_env(const erps_job_t *job, int64_t number, const char *prev,
                        char store[3][320]) {
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 4, sizeof(*env));
    if (!env)
        return NULL;
    snprintf(store[0], 320, "ERPSYNC_ENGINE_ID=%s", job->engine_id);
    snprintf(store[1], 320, "ERPSYNC_ITERATION=%lld", (long long)number);
    snprintf(store[2], 320, "ERPSYNC_PREVIOUS_OUTCOME=%s",
             prev && *prev ? prev : "None");
    size_t k = 0;
    for (int i = 0; i < 3; i++)
        env[k++] = store[i];
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "ERPSYNC_ENGINE_ID=", 18) &&
            strncmp(environ[i], "ERPSYNC_ITERATION=", 18) &&
            strncmp(environ[i], "ERPSYNC_PREVIOUS_OUTCOME=", 25))
            env[k++] = environ[i];
    env[k] = NULL;
    return env;
}

/* posix_spawn with the job's stderr into the pipe, stdin from /dev/null,
 * in a process group of its own (timeouts and stops reach the job's
 * children too) with default signal dispositions (the agent's handlers are
 * not the job's). @returns posix_spawn's result. */
static int spawn(const erps_job_t *job, int err_fd, char **env, pid_t *pid) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t all, none;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY,
                                     0);
    posix_spawnattr_init(&attr);
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
                                        POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETSIGMASK);
    int rc = posix_spawn(pid, job->conf.command, &fa, &attr, job->argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

static int not_started(erps_iteration_t *res) {
    erps_strlcpy(res->outcome, "NotStarted", sizeof(res->outcome));
    return -1;
}

int erps_job_start(erps_job_t *job, int64_t number, const char *prev_outcome,
                   erps_iteration_t *res) {
    int pfd[2];
    char store[3][320];
    pid_t pid = 0;

    memset(res, 0, sizeof(*res));
    if (job->pid > 0) {
        erps_strlcpy(res->detail, "the previous iteration is still running",
                     sizeof(res->detail));
        return not_started(res);
    }
    if (pipe(pfd) || fcntl(pfd[0], F_SETFD, FD_CLOEXEC) ||
        fcntl(pfd[1], F_SETFD, FD_CLOEXEC)) {
        snprintf(res->detail, sizeof(res->detail), "pipe: %s", strerror(errno));
        return not_started(res);
    }
    char **env = build_env(job, number, prev_outcome, store);
    int rc = env ? spawn(job, pfd[1], env, &pid) : ENOMEM;
    free(env);
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        /* The reason first: the path may be long, the reason must show. */
        snprintf(res->detail, sizeof(res->detail),
                 "cannot start the sync job (%s): %.180s", strerror(rc),
                 job->conf.command);
        return not_started(res);
    }
    fcntl(pfd[0], F_SETFL, O_NONBLOCK);
    job->pid = pid;
    job->err_fd = pfd[0];
    job->start_mono = erps_mono_ms();
    job->term_sent = job->kill_sent = job->timed_out = job->terminated = 0;
    job->line[0] = '\0';
    job->partial_len = 0;
    erps_info("iteration %lld: started %s (pid %d)", (long long)number,
              job->conf.command, (int)pid);
    return 0;
}

/* Reads what the job wrote to stderr; keeps the last non-empty line. */
static void drain_stderr(erps_job_t *job) {
    char buf[4096];
    ssize_t n;
    while ((n = read(job->err_fd, buf, sizeof(buf))) > 0) {
        (void)!write(STDERR_FILENO, buf, (size_t)n);
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n' || buf[i] == '\r') {
                if (job->partial_len > 0) {
                    job->partial[job->partial_len] = '\0';
                    memcpy(job->line, job->partial, job->partial_len + 1);
                    job->partial_len = 0;
                }
            } else if (job->partial_len < sizeof(job->partial) - 1) {
                job->partial[job->partial_len++] = buf[i];
            }
        }
    }
}

static void signal_group(erps_job_t *job, int sig) {
    if (job->pid > 0 && kill(-job->pid, sig) && errno == ESRCH)
        kill(job->pid, sig);
}

void erps_job_terminate(erps_job_t *job, int64_t now) {
    if (job->pid <= 0 || job->term_sent)
        return;
    erps_info("terminating sync job (pid %d)", (int)job->pid);
    if (!job->timed_out)
        job->terminated = 1;
    signal_group(job, SIGTERM);
    job->term_sent = now > 0 ? now : 1;
}

/* A running job past its timeout gets SIGTERM; one that ignores SIGTERM
 * for kill_grace_ms gets SIGKILL. */
static void enforce_deadlines(erps_job_t *job, int64_t now) {
    if (!job->term_sent && job->conf.timeout_ms > 0 &&
        now - job->start_mono > job->conf.timeout_ms) {
        erps_warn("sync job over its %lld ms timeout",
                  (long long)job->conf.timeout_ms);
        job->timed_out = 1;
        erps_job_terminate(job, now);
    } else if (job->term_sent && !job->kill_sent &&
               now - job->term_sent > job->conf.kill_grace_ms) {
        erps_warn("sync job ignored SIGTERM for %lld ms; SIGKILL",
                  (long long)job->conf.kill_grace_ms);
        signal_group(job, SIGKILL);
        job->kill_sent = 1;
    }
}

/* The iteration's outcome from waitpid's answer r and status. */
static void outcome_of(const erps_job_t *job, pid_t r, int status,
                       erps_iteration_t *res) {
    if (r < 0) {
        erps_strlcpy(res->outcome, "Failed", sizeof(res->outcome));
        snprintf(res->detail, sizeof(res->detail), "waitpid: %s",
                 strerror(errno));
        res->exit_code = -1;
        return;
    }
    const char *outcome;
    if (WIFEXITED(status)) {
        res->exit_code = WEXITSTATUS(status);
        outcome = job->timed_out        ? "TimedOut"
                  : res->exit_code == 0 ? "Succeeded"
                                        : "Failed";
    } else {
        res->exit_code = -1;
        res->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        outcome = job->timed_out    ? "TimedOut"
                  : job->terminated ? "Terminated"
                                    : "Failed";
    }
    erps_strlcpy(res->outcome, outcome, sizeof(res->outcome));
    if (job->timed_out && res->detail[0] == '\0')
        snprintf(res->detail, sizeof(res->detail),
                 "terminated after the %lld ms timeout",
                 (long long)job->conf.timeout_ms);
}

int erps_job_poll(erps_job_t *job, int64_t now, erps_iteration_t *res) {
    int status;
    if (job->pid <= 0)
        return -1;
    drain_stderr(job);
    pid_t r = waitpid(job->pid, &status, WNOHANG);
    if (r == 0) {
        enforce_deadlines(job, now);
        return 0;
    }
    /* Ended (or vanished): whatever is left of its process group goes too. */
    signal_group(job, SIGKILL);
    drain_stderr(job);
    if (job->partial_len > 0) {
        job->partial[job->partial_len] = '\0';
        memcpy(job->line, job->partial, job->partial_len + 1);
        job->partial_len = 0;
    }
    close(job->err_fd);
    job->err_fd = -1;
    job->pid = 0;
    memset(res, 0, sizeof(*res));
    erps_strlcpy(res->detail, job->line, sizeof(res->detail));
    outcome_of(job, r, status, res);
    erps_info("sync job ended: %s (exit %d, signal %d)%s%s", res->outcome,
              res->exit_code, res->signal, res->detail[0] ? ": " : "",
              res->detail);
    return 1;
}

void erps_job_destroy(erps_job_t *job) {
    if (!job)
        return;
    if (job->pid > 0) {
        /* The agent is going away: the job must not outlive it unnoticed. */
        signal_group(job, SIGKILL);
        waitpid(job->pid, NULL, 0);
    }
    if (job->err_fd >= 0)
        close(job->err_fd);
    free(job);
}
