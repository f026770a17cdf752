/*
 * served.h - inside the agent: the engines it serves and the state its
 * files (apply.c, txn.c, recover.c, agent.c) share. Not for other modules.
 *
 * One process, one consumer, one transactional producer for all engines;
 * each engine keeps its own state machine, job, status sequence and
 * heartbeat. Everything runs on the loop thread.
 */
#ifndef ERPSYNC_AGENT_SERVED_H
#define ERPSYNC_AGENT_SERVED_H

#include "agent.h"
#include "batch.h"
#include "observe.h"
#include "erpsync/engine.h"
#include "registry.h"
#include "statefile.h"

typedef struct erps_served {
    erps_agent_t *ag;
    erps_engine_rec_t *rec; /* id, saved engine and sequence (in ag->state) */
    int part_ix;            /* its command partition: ag->part[part_ix] */
    int32_t status_part;    /* its partition of the status topic */
    erps_engine_t *eng;
    erps_job_t *job;
    int64_t stopping_since; /* mono ms when Stopping began, 0 if not */
    int64_t last_status_ms; /* mono ms of the last status put in the outbox */
    /* Taken over from another agent: its commands below this offset were
     * that agent's to apply (-1: none). */
    int64_t skip_below;
    char prev_agent[ERPS_ENGINE_ID_MAX + 1];
    int64_t claimed_ms; /* mono ms our first status (the claim) committed */
    int latecomer_seen; /* another agent's losing claim was logged */
} erps_served_t;

/* A command partition the agent reads: where it is and what is committed. */
typedef struct erps_cmd_part {
    int32_t partition;
    int64_t next;      /* offset after the last command taken; -1: none */
    int64_t committed; /* as committed to Kafka; -1: nothing yet */
} erps_cmd_part_t;

struct erps_agent {
    const erps_agent_conf_t *conf;
    unsigned char sign_key[ERPS_SIGN_KEY_MAX];
    size_t sign_len;         /* 0: commands need no signature */
    const erps_kprops_t *kp; /* owned by the caller, lives as long as we do */
    rd_kafka_t *producer;
    rd_kafka_t *consumer;
    rd_kafka_consumer_group_metadata_t *cgmd;

    erps_engine_list_t list;
    erps_engine_index_t index;
    erps_served_t *srv; /* list.cnt of them, in list order */
    erps_cmd_part_t *part;
    int part_cnt;
    int *part_of;       /* command partition -> index in part, or -1 */
    int cmd_partitions; /* of the command topic */
    int status_partitions;
    int64_t
        *status_end; /* by status partition: read up to here; -1: not ours */

    erps_agent_state_t *state;
    char state_path[1200];

    erps_outbox_t out; /* the events of the next transaction */
    int batch_cmds;    /* commands applied into it */
    int state_dirty;   /* confirmed commands not yet in the state file */
    int64_t txn_began; /* mono ms of the last begin_transaction() */
    int64_t alive_ms;  /* mono ms the loop last showed it was not paused */
    erps_agent_stats_t *stats; /* for the metrics listener (observe.h) */
    int fatal_exit;            /* set when the agent must stop */
};

/* apply.c: commands and engine events into the outbox. */
void erps_apply_command(void *opaque, const rd_kafka_message_t *rkm);
void erps_served_status(erps_served_t *s, const char *cause);
void erps_served_on_engine(void *opaque, const erps_engine_t *eng,
                           erps_engine_event_t ev, const char *cause_id);
int erps_served_run_job(void *opaque, int64_t number, erps_iteration_t *res);
void erps_served_supervise(erps_served_t *s);

/* txn.c: Kafka clients and the transaction that publishes a batch. */
rd_kafka_t *erps_agent_client(const erps_agent_conf_t *conf,
                              const erps_kprops_t *kp, rd_kafka_type_t type,
                              char *errstr, size_t errstr_size);
int erps_txn_commit(erps_agent_t *ag, volatile sig_atomic_t *stop);
/** @returns 0 while the agent may still commit for its engines, or -1
 *  (fatal_exit set) after a stall longer than half engine.claim.timeout.ms. */
int erps_agent_alive(erps_agent_t *ag);

/* recover.c: what Kafka says after a restart or a failed commit. */
/** @returns 0, -1 with errstr, or -2 with errstr when another agent serves
 *  one of our engines. */
int erps_recover_at_start(erps_agent_t *ag, char *errstr, size_t errstr_size);
/** After our first statuses: an engine whose status from another agent came
 *  first is theirs. @returns 0, or -1 with errstr. */
int erps_recover_claims(erps_agent_t *ag, char *errstr, size_t errstr_size);
int erps_recover_batch_committed(erps_agent_t *ag);
/** A status record of one of our engines, seen while running: another
 *  agent's means it took the engine over. @returns 0, or -1 (fatal_exit). */
int erps_recover_watch_status(erps_agent_t *ag, const rd_kafka_message_t *rkm);

#endif
