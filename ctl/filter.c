/*
 * filter.c - erpsyncctl's command line (the command and its arguments among
 * the settings) and the audit filter. Pure: no Kafka, no I/O.
 */
#include "ctl.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    ctl_cmd_t cmd;
    int min, max; /* positional arguments */
} commands[] = {
    {"status", CTL_CMD_STATUS, 0, 1}, {"watch", CTL_CMD_WATCH, 0, 1},
    {"audit", CTL_CMD_AUDIT, 0, 1},   {"start", CTL_CMD_START, 0, 1},
    {"stop", CTL_CMD_STOP, 0, 1},     {"interval", CTL_CMD_INTERVAL, 1, 2},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char *cmd_name(ctl_cmd_t cmd) {
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (commands[i].cmd == cmd)
            return commands[i].name;
    return "?";
}

void ctl_cmd_arity(ctl_cmd_t cmd, int *min, int *max) {
    *min = *max = 0;
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (commands[i].cmd == cmd) {
            *min = commands[i].min;
            *max = commands[i].max;
        }
}

/* True when arg is a setting whose value is next: -c FILE, -X PROP=VALUE,
 * --name value (not --name=value, not a boolean's --name alone). */
static bool takes_value(const erps_cfg_opt_t *table, const char *arg,
                        const char *next) {
    if (strcmp(arg, "-c") == 0 || strcmp(arg, "-X") == 0)
        return true;
    if (strncmp(arg, "--", 2) != 0 || strchr(arg, '='))
        return false;
    return erps_cfg_takes_next(table, arg + 2, next);
}

static int positional(const char *word, ctl_cmd_t *cmd, const char **pos,
                      int *pos_cnt, char *errstr, size_t n) {
    if (*cmd == CTL_CMD_NONE) {
        for (size_t i = 0; i < N_COMMANDS; i++)
            if (strcmp(word, commands[i].name) == 0)
                *cmd = commands[i].cmd;
        if (*cmd == CTL_CMD_NONE) {
            snprintf(errstr, n,
                     "unknown command \"%s\" (status, watch, audit, "
                     "start, stop, interval; see --help)",
                     word);
            return -1;
        }
        return 0;
    }
    if (*pos_cnt >= CTL_POS_MAX) {
        snprintf(errstr, n, "unexpected argument \"%s\"", word);
        return -1;
    }
    pos[(*pos_cnt)++] = word;
    return 0;
}

int ctl_split_args(const erps_cfg_opt_t *table, int argc, char **argv,
                   ctl_cmd_t *cmd, const char *pos[CTL_POS_MAX], int *pos_cnt,
                   char **settings, int *settings_cnt, char *errstr,
                   size_t errstr_size) {
    *cmd = CTL_CMD_NONE;
    *pos_cnt = 0;
    *settings_cnt = 0;
    if (argc < 1)
        return -1;
    settings[(*settings_cnt)++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-') {
            settings[(*settings_cnt)++] = argv[i];
            if (i + 1 < argc && takes_value(table, a, argv[i + 1]))
                settings[(*settings_cnt)++] = argv[++i];
        } else if (positional(a, cmd, pos, pos_cnt, errstr, errstr_size)) {
            return -1;
        }
    }
    settings[*settings_cnt] = NULL;
    int min, max;
    ctl_cmd_arity(*cmd, &min, &max);
    if (*cmd != CTL_CMD_NONE && (*pos_cnt < min || *pos_cnt > max)) {
        snprintf(errstr, errstr_size, "%s takes %d to %d arguments, not %d",
                 cmd_name(*cmd), min, max, *pos_cnt);
        return -1;
    }
    return 0;
}

/* 90s, 15m, 2h, 7d: a whole number and one unit. */
static int short_duration(const char *s, int64_t *seconds) {
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)s[0]))
        return -1;
    long long v = strtoll(s, &end, 10);
    if (errno || end[0] == '\0' || end[1] != '\0')
        return -1;
    static const char units[] = "smhd";
    static const int64_t mult[] = {1, 60, 3600, 86400};
    const char *u = strchr(units, end[0]);
    if (!u || v > ERPS_INTERVAL_MAX_S / mult[u - units])
        return -1;
    *seconds = v * mult[u - units];
    return 0;
}

int ctl_time_arg(const char *s, int64_t now_ms, int64_t *out_ms, char *errstr,
                 size_t errstr_size) {
    int64_t seconds;
    char err[128];
    if (erps_time_parse(s, out_ms) == 0)
        return 0;
    if (short_duration(s, &seconds) &&
        erps_timespan_parse(s, &seconds, err, sizeof(err))) {
        snprintf(errstr, errstr_size,
                 "\"%.64s\" is neither RFC 3339 time nor "
                 "a duration (90s, 15m, 2h, 7d, 01:00:00, PT1H)",
                 s);
        return -1;
    }
    if (seconds < 0 || seconds > now_ms / 1000) {
        snprintf(errstr, errstr_size, "\"%.64s\" reaches before 1970", s);
        return -1;
    }
    *out_ms = now_ms - seconds * 1000;
    return 0;
}

int ctl_outcome_parse(const char *s, int *outcome) {
    for (int o = ERPS_OUTCOME_APPLIED; o <= ERPS_OUTCOME_DEADLETTERED; o++)
        if (strcasecmp(s, erps_outcome_name((erps_outcome_t)o)) == 0) {
            *outcome = o;
            return 0;
        }
    return -1;
}

bool ctl_audit_match(const ctl_filter_t *f, const erps_audit_t *au) {
    if (f->engine_id && f->engine_id[0] &&
        strcmp(f->engine_id, au->ce.subject) != 0)
        return false;
    if (f->principal && f->principal[0] &&
        strcmp(f->principal, au->principal) != 0)
        return false;
    if (f->outcome && f->outcome != (int)au->outcome)
        return false;
    if (f->since_ms && au->ce.time_ms < f->since_ms)
        return false;
    if (f->until_ms && au->ce.time_ms > f->until_ms)
        return false;
    return true;
}
