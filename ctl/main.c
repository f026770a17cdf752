/*
 * main.c - erpsyncctl: settings (the same table machinery as the agent and
 * the shim: file, ERPSYNC_* environment, --flags, -X), the command line,
 * signals and exit codes.
 */
#include <pwd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "erpsync/log.h"

static const char usage[] =
    "usage: erpsyncctl [settings] COMMAND [ARGS]\n"
    "  status [ENGINE]            latest status of one or every engine\n"
    "  watch [ENGINE]             status events as they are committed\n"
    "  audit [ENGINE]             the audit trail (--filter.*, --follow)\n"
    "  start [ENGINE]             run the engine; waits for the outcome\n"
    "  stop [ENGINE]              stop the engine; waits for the outcome\n"
    "  interval [ENGINE] TIME     set the interval (00:15:00, PT15M)\n"
    "Exit codes: 0 done, 1 Kafka or I/O failure, 2 usage, 3 command rejected,\n"
    "4 no outcome in time (or Expired), 5 no status for the engine.";

static volatile sig_atomic_t stop_asap;

static void on_signal(int sig) {
    (void)sig;
    stop_asap = 1;
}

static int usage_error(const char *msg) {
    fprintf(stderr, "erpsyncctl: %s\n", msg);
    return CTL_EXIT_USAGE;
}

/* The engine: the command's first argument, else engine.id. Sets *arg to
 * interval's TIME. @returns 0, or -1 with errstr. */
static int take_args(ctl_conf_t *conf, ctl_cmd_t cmd, const char **pos,
                     int pos_cnt, const char **arg, char *errstr, size_t n) {
    int engine_args = pos_cnt;
    *arg = NULL;
    if (cmd == CTL_CMD_INTERVAL) {
        *arg = pos[pos_cnt - 1];
        engine_args--;
    }
    if (engine_args > 0 &&
        erps_cfg_set(ctl_conf_table, conf, "engine.id", pos[0], errstr, n))
        return -1;
    if (conf->engine_id[0] && !erps_engine_id_valid(conf->engine_id)) {
        snprintf(errstr, n,
                 "\"%.64s\" is not an engine id (1 to %d of "
                 "A-Z a-z 0-9 . _ -)",
                 conf->engine_id, ERPS_ENGINE_ID_MAX);
        return -1;
    }
    if (cmd >= CTL_CMD_START && !conf->engine_id[0]) {
        snprintf(errstr, n,
                 "which engine? give it as the argument or "
                 "--engine.id");
        return -1;
    }
    return 0;
}

static int make_filter(const ctl_conf_t *conf, ctl_filter_t *f, char *errstr,
                       size_t n) {
    int64_t now = erps_now_ms();
    memset(f, 0, sizeof(*f));
    f->engine_id = conf->engine_id;
    f->principal = conf->filter_principal;
    if (conf->filter_outcome[0] &&
        ctl_outcome_parse(conf->filter_outcome, &f->outcome)) {
        snprintf(errstr, n,
                 "filter.outcome: \"%s\" is not Applied, NoChange, "
                 "Rejected, Expired or DeadLettered",
                 conf->filter_outcome);
        return -1;
    }
    if ((conf->filter_since[0] &&
         ctl_time_arg(conf->filter_since, now, &f->since_ms, errstr, n)) ||
        (conf->filter_until[0] &&
         ctl_time_arg(conf->filter_until, now, &f->until_ms, errstr, n)))
        return -1;
    return 0;
}

static int make_command(const ctl_conf_t *conf, ctl_cmd_t cmd, const char *arg,
                        erps_command_t *out, char *errstr, size_t n) {
    char err[256];
    memset(out, 0, sizeof(*out));
    if (cmd == CTL_CMD_INTERVAL) {
        out->type = ERPS_CMD_CHANGE_INTERVAL;
        if (erps_timespan_parse(arg, &out->interval_s, err, sizeof(err)) ||
            out->interval_s <= 0) {
            snprintf(errstr, n, "interval \"%.64s\": %s", arg,
                     out->interval_s <= 0 ? "must be positive" : err);
            return -1;
        }
    } else {
        out->type = ERPS_CMD_CHANGE_STATUS;
        out->run = cmd == CTL_CMD_START;
    }
    erps_ce_init(&out->ce, conf->source, conf->engine_id);
    /* As the shim does: the agent never applies it after we gave up. */
    out->deadline_ms = out->ce.time_ms + conf->timeout_ms;
    if (conf->principal[0]) {
        erps_strlcpy(out->principal, conf->principal, sizeof(out->principal));
    } else {
        const struct passwd *pw = getpwuid(geteuid());
        snprintf(out->principal, sizeof(out->principal), "ctl:%.100s",
                 pw ? pw->pw_name : "unknown");
    }
    return 0;
}

static int want_json(const ctl_conf_t *conf, bool *json, char *errstr,
                     size_t n) {
    if (strcmp(conf->format, "auto") == 0)
        *json = !isatty(STDOUT_FILENO);
    else if (strcmp(conf->format, "json") == 0 ||
             strcmp(conf->format, "text") == 0)
        *json = conf->format[0] == 'j';
    else {
        snprintf(errstr, n, "format: \"%s\" is not text, json or auto",
                 conf->format);
        return -1;
    }
    return 0;
}

static int run(const ctl_conf_t *conf, const erps_kprops_t *kp, ctl_cmd_t cmd,
               const char *arg) {
    char err[512];
    bool json;
    ctl_filter_t filter;
    erps_command_t command;

    if (want_json(conf, &json, err, sizeof(err)))
        return usage_error(err);
    switch (cmd) {
    case CTL_CMD_STATUS:
        return ctl_cmd_status(conf, kp, json);
    case CTL_CMD_WATCH:
        return ctl_cmd_watch(conf, kp, json, &stop_asap);
    case CTL_CMD_AUDIT:
        if (make_filter(conf, &filter, err, sizeof(err)))
            return usage_error(err);
        return ctl_cmd_audit(conf, kp, json, &filter, &stop_asap);
    default:
        if (make_command(conf, cmd, arg, &command, err, sizeof(err)))
            return usage_error(err);
        return ctl_cmd_send(conf, kp, json, &command, &stop_asap);
    }
}

int main(int argc, char **argv) {
    ctl_conf_t conf;
    erps_kprops_t kp = {0};
    ctl_cmd_t cmd;
    const char *pos[CTL_POS_MAX], *arg = NULL;
    char **settings = calloc((size_t)argc + 1, sizeof(char *));
    char err[512];
    int pos_cnt, settings_cnt, rc;

    if (!settings)
        return CTL_EXIT_FAILED;
    memset(&conf, 0, sizeof(conf));
    if (ctl_split_args(ctl_conf_table, argc, argv, &cmd, pos, &pos_cnt,
                       settings, &settings_cnt, err, sizeof(err))) {
        free(settings);
        return usage_error(err);
    }
    rc = erps_cfg_startup(ctl_conf_table, &conf, &kp, settings_cnt, settings,
                          "erpsyncctl", usage);
    free(settings);
    if (rc) {
        erps_kprops_clear(&kp);
        return rc < 0 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
    }
    if (cmd == CTL_CMD_NONE) {
        /* --check alone checks the settings; anything else needs a command. */
        if (erps_cfg_checked("erpsyncctl", &kp))
            return CTL_EXIT_OK;
        erps_kprops_clear(&kp);
        return usage_error("a command is needed: status, watch, audit, start, "
                           "stop or interval (see --help)");
    }
    if (take_args(&conf, cmd, pos, pos_cnt, &arg, err, sizeof(err))) {
        erps_kprops_clear(&kp);
        return usage_error(err);
    }
    if (erps_cfg_checked("erpsyncctl", &kp))
        return CTL_EXIT_OK;
    erps_signals_on_stop(on_signal);
    rc = run(&conf, &kp, cmd, arg);
    erps_kprops_clear(&kp);
    return rc;
}