/*
 * ctl.h - erpsyncctl, the operator's command line: reads engine status and
 * the audit trail straight from Kafka and sends commands the way the shim
 * does. Internal to ctl/.
 *
 * filter.c and print.c are pure (no Kafka, no I/O but the FILE they are
 * given): unit-tested and fuzzed. reader.c adds the Kafka consumer, send.c
 * the producer, main.c the settings and the exit codes.
 */
#ifndef ERPSYNC_CTL_H
#define ERPSYNC_CTL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "erpsync/config.h"
#include "erpsync/proto.h"

/* Exit codes a script can rely on (docs in ctl/README.md). */
enum {
    CTL_EXIT_OK = 0, /* done; for start/stop/interval: Applied or NoChange */
    CTL_EXIT_FAILED =
        1,              /* Kafka unreachable, a topic missing, a write failed */
    CTL_EXIT_USAGE = 2, /* bad command line, setting or config file */
    CTL_EXIT_REJECTED =
        3, /* the agent refused the command (Rejected, DeadLettered) */
    CTL_EXIT_TIMEOUT = 4, /* no outcome before timeout.ms, or Expired */
    CTL_EXIT_NOT_FOUND =
        5, /* status: no status for the engine (or none at all) */
};

typedef struct ctl_conf {
    char bootstrap[1024];
    char topic_commands[250];
    char topic_status[250];
    char topic_audit[250];
    char engine_id[ERPS_ENGINE_ID_MAX + 1];
    char format[8]; /* auto, text, json */
    int64_t timeout_ms;
    char source[ERPS_SOURCE_MAX + 1];
    char principal[ERPS_PRINCIPAL_MAX + 1];
    char filter_principal[ERPS_PRINCIPAL_MAX + 1];
    char filter_outcome[32];
    char filter_since[64];
    char filter_until[64];
    int follow;
    char log_level[8];
} ctl_conf_t;

extern const erps_cfg_opt_t ctl_conf_table[];

/* ---- filter.c: the command line and the audit filter ---- */

#define CTL_POS_MAX 2
typedef enum ctl_cmd {
    CTL_CMD_NONE = 0,
    CTL_CMD_STATUS,
    CTL_CMD_WATCH,
    CTL_CMD_AUDIT,
    CTL_CMD_START,
    CTL_CMD_STOP,
    CTL_CMD_INTERVAL,
} ctl_cmd_t;

/**
 * Splits argv into the command, its positional arguments (engine id,
 * interval) and the settings left for erps_cfg_startup (argv[0] kept).
 * table says which `--name` takes the next argument as its value.
 * settings must hold argc + 1 pointers; they point into argv.
 * @returns 0, or -1 with errstr (unknown command, too many arguments).
 * With no command at all (only --help, --version, --check or settings)
 * it returns 0 with *cmd = CTL_CMD_NONE.
 */
int ctl_split_args(const erps_cfg_opt_t *table, int argc, char **argv,
                   ctl_cmd_t *cmd, const char *pos[CTL_POS_MAX], int *pos_cnt,
                   char **settings, int *settings_cnt, char *errstr,
                   size_t errstr_size);

/** How many positional arguments cmd takes: *min..*max. */
void ctl_cmd_arity(ctl_cmd_t cmd, int *min, int *max);

typedef struct ctl_filter {
    const char *engine_id; /* "" or NULL: every engine */
    const char *principal; /* "" or NULL: everyone */
    int outcome;           /* 0: any, else an erps_outcome_t */
    int64_t since_ms;      /* 0: from the start */
    int64_t until_ms;      /* 0: no end */
} ctl_filter_t;

/**
 * A point in time on the command line: RFC 3339, or a duration back from
 * now_ms (90s, 15m, 2h, 7d, or .NET TimeSpan / ISO 8601 text: 01:00:00, PT1H).
 * @returns 0, or -1 with the reason in errstr.
 */
int ctl_time_arg(const char *s, int64_t now_ms, int64_t *out_ms, char *errstr,
                 size_t errstr_size);

/** Outcome by name, any case. @returns 0, or -1 for an unknown name. */
int ctl_outcome_parse(const char *s, int *outcome);

/** True when an audit event passes the filter (time is ce_time). */
bool ctl_audit_match(const ctl_filter_t *f, const erps_audit_t *au);

/* ---- print.c: statuses and audit events for people and for programs ---- */

/** One JSON object, no newline; the caller frees it. NULL: out of memory. */
char *ctl_status_json(const erps_status_t *st);
char *ctl_audit_json(const erps_audit_t *au);
/** One line of text (with newline) into buf; truncated to size. */
void ctl_status_text(const erps_status_t *st, char *buf, size_t size);
void ctl_audit_text(const erps_audit_t *au, char *buf, size_t size);

/** Writes a status or an audit event, as JSON line or as text. @returns 0 or
 *  -1 when out of memory or fp failed. */
int ctl_print_status(FILE *fp, bool json, const erps_status_t *st);
int ctl_print_audit(FILE *fp, bool json, const erps_audit_t *au);

/* ---- reader.c and send.c: the commands (each returns a CTL_EXIT_*) ---- */

int ctl_cmd_status(const ctl_conf_t *conf, const erps_kprops_t *kp, bool json);
int ctl_cmd_watch(const ctl_conf_t *conf, const erps_kprops_t *kp, bool json,
                  volatile sig_atomic_t *stop);
int ctl_cmd_audit(const ctl_conf_t *conf, const erps_kprops_t *kp, bool json,
                  const ctl_filter_t *filter, volatile sig_atomic_t *stop);
/** Sends one command and waits for its outcome (as the shim does). */
int ctl_cmd_send(const ctl_conf_t *conf, const erps_kprops_t *kp, bool json,
                 const erps_command_t *cmd, volatile sig_atomic_t *stop);

#endif
