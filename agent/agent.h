/*
 * agent.h - erpsync-agent: consumes the commands of the engines it serves
 * (one or many), applies them to those engines and publishes status and
 * audit events, each batch in one Kafka transaction together with the
 * consumer offsets.
 */
#ifndef ERPSYNC_AGENT_H
#define ERPSYNC_AGENT_H

#include <signal.h>
#include <stdint.h>

#include "erpsync/config.h"
#include "erpsync/kafka.h"
#include "job.h"

typedef struct erps_agent_conf {
    char engine_ids[8192];   /* one id or a comma-separated list */
    char engines_file[1024]; /* more ids, one per line */
    char agent_id[ERPS_ENGINE_ID_MAX + 1]; /* default: the one engine's id */
    int64_t claim_timeout_ms;              /* 0: no claim checks */
    char bootstrap[1024];
    erps_topics_t topics;
    erps_topic_policy_t topic_policy;
    char state_dir[1024];
    char sign_key_file[1024]; /* "": commands need no signature */
    char source[ERPS_SOURCE_MAX + 1];
    int64_t interval_s;     /* first start, before a state file exists */
    int64_t interval_min_s; /* bounds for ChangeEngineInterval */
    int64_t interval_max_s;
    int64_t heartbeat_ms;  /* 0: no heartbeat */
    int64_t clock_skew_ms; /* tolerated when checking ce_deadline */
    int64_t txn_timeout_ms;
    erps_job_conf_t job;
    int64_t job_stop_grace_ms;   /* Run=false lets the job finish this long */
    int64_t shutdown_timeout_ms; /* after SIGTERM, exit 4 at the latest then */
    int64_t batch_max;           /* commands per transaction at most */
    char log_level[16];
    char log_format[8];
    char log_file[1024];
    char metrics_listen[64]; /* "" : no /metrics, /healthz, /readyz */
} erps_agent_conf_t;

extern const erps_cfg_opt_t erps_agent_conf_table[];

/* Exit codes, so supervisors can tell why an agent stopped. */
enum {
    ERPS_AGENT_EXIT_OK = 0,
    ERPS_AGENT_EXIT_CONFIG = 2,
    ERPS_AGENT_EXIT_FENCED = 3, /* another agent serves (one of) our engines */
    ERPS_AGENT_EXIT_FATAL = 4,  /* Kafka or state file: cannot go on */
};

typedef struct erps_agent erps_agent_t;

struct erps_engine_list;
struct erps_agent_stats;

/** @returns the agent, or NULL with errstr and *exit_code (FENCED when
 *  another agent serves one of the engines, else FATAL). Takes the engine
 *  list (emptied either way). Connects, fences older processes of this
 *  agent, reads what Kafka holds for its engines. Counts what it does in
 *  *stats (observe.h), which must outlive it. */
erps_agent_t *erps_agent_new(const erps_agent_conf_t *conf,
                             struct erps_engine_list *engines,
                             const erps_kprops_t *kp,
                             struct erps_agent_stats *stats, int *exit_code,
                             char *errstr, size_t errstr_size);
/** Runs until *stop is set or a fatal error. @returns an exit code. */
int erps_agent_run(erps_agent_t *ag, volatile sig_atomic_t *stop);
void erps_agent_destroy(erps_agent_t *ag);

#endif
