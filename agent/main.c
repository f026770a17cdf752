/*
 * main.c - erpsync-agent: configuration, signals, exit codes.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "observe.h"
#include "registry.h"
#include "erpsync/log.h"

static volatile sig_atomic_t stop_asap;

/* What the metrics listener reads; it outlives the agent. */
static erps_agent_stats_t stats = {.command_lag = -1};

/* Only a flag: the loop finishes the command in hand and commits. */
static void on_signal(int sig) {
    (void)sig;
    stop_asap = 1;
}

/* One engine names the agent after itself; a fleet needs agent.id, since
 * its transactional.id, group and state file must not change when the list
 * does. */
static int check_identity(erps_agent_conf_t *conf,
                          const erps_engine_list_t *l) {
    if (conf->agent_id[0] == '\0' && l->cnt == 1)
        erps_strlcpy(conf->agent_id, l->ids[0], sizeof(conf->agent_id));
    if (!erps_engine_id_valid(conf->agent_id)) {
        fprintf(stderr,
                "erpsync-agent: agent.id %s: 1 to %d of A-Z a-z 0-9 "
                ". _ -\n",
                conf->agent_id[0] ? "is invalid"
                                  : "is required for more than one engine",
                ERPS_ENGINE_ID_MAX);
        return -1;
    }
    if (conf->claim_timeout_ms > 0 && conf->claim_timeout_ms < 15000) {
        /* Half of it must outlast the longest legitimate wait (5 s Kafka
         * calls and a 2 s back-off), or a slow broker looks like a stall. */
        fprintf(stderr, "erpsync-agent: engine.claim.timeout.ms must be 0 or "
                        "at least 15000\n");
        return -1;
    }
    if (conf->claim_timeout_ms > 0 && conf->heartbeat_ms > 0 &&
        conf->heartbeat_ms * 2 > conf->claim_timeout_ms)
        fprintf(stderr, "erpsync-agent: warning: status.heartbeat.ms is over "
                        "half engine.claim.timeout.ms; a quiet agent's engines "
                        "look free to others, who then stop it\n");
    return 0;
}

/* Settings, the engine list and the checks between them. @returns -1 to
 * go on (engines loaded), else the exit code (2, or 0 after --help,
 * --version or --check). */
static int read_settings(int argc, char **argv, erps_agent_conf_t *conf,
                         erps_kprops_t *kp, erps_engine_list_t *engines) {
    char err[1024];
    memset(conf, 0, sizeof(*conf));
    int rc = erps_cfg_startup(erps_agent_conf_table, conf, kp, argc, argv,
                              "erpsync-agent",
                              "usage: erpsync-agent [-c FILE] [-X prop=value] "
                              "--engine.id=ID[,ID...] [--name=value ...]");
    if (rc) {
        erps_kprops_clear(kp);
        return rc < 0 ? ERPS_AGENT_EXIT_CONFIG : 0;
    }
    if (erps_engine_list_load(conf->engine_ids, conf->engines_file, engines,
                              err, sizeof(err)) ||
        erps_interval_bounds_check(conf->interval_min_s, conf->interval_max_s,
                                   err, sizeof(err)))
        fprintf(stderr, "erpsync-agent: %s\n", err);
    else if (check_identity(conf, engines) == 0)
        rc = -1;
    if (rc == -1) {
        if (conf->source[0] == '\0')
            snprintf(conf->source, sizeof(conf->source), "/erpsync/agent/%s",
                     conf->agent_id);
        if (!erps_cfg_checked("erpsync-agent", kp))
            return -1;
        rc = 0;
    } else {
        rc = ERPS_AGENT_EXIT_CONFIG;
    }
    erps_engine_list_free(engines);
    erps_kprops_clear(kp);
    return rc;
}

int main(int argc, char **argv) {
    erps_agent_conf_t conf;
    erps_kprops_t kp = {0};
    erps_engine_list_t engines = {0};
    char err[1024];
    int rc = read_settings(argc, argv, &conf, &kp, &engines);
    if (rc >= 0)
        return rc;

    erps_signals_on_stop(on_signal);
    /* librdkafka 2.0.2's send_offsets_to_transaction() can wait forever
     * while no broker answers (seen): a stop must still end the agent. */
    erps_exit_watchdog(&stop_asap, conf.shutdown_timeout_ms,
                       ERPS_AGENT_EXIT_FATAL);

    /* The listener first: /healthz answers while the start reads Kafka. */
    erps_observer_t *obs = NULL;
    if (conf.metrics_listen[0]) {
        if (!(obs = erps_observer_start(conf.metrics_listen, &stats, err,
                                        sizeof(err)))) {
            erps_err("%s", err);
            erps_engine_list_free(&engines);
            erps_kprops_clear(&kp);
            return ERPS_AGENT_EXIT_CONFIG;
        }
        erps_info("metrics on http://%s/metrics", conf.metrics_listen);
    }
    erps_agent_t *ag =
        erps_agent_new(&conf, &engines, &kp, &stats, &rc, err, sizeof(err));
    if (!ag) {
        erps_err("%s", err);
        erps_observer_stop(obs);
        erps_kprops_clear(&kp);
        erps_info("exit %d", rc);
        return rc;
    }
    erps_info("agent %s started (bootstrap %s)", conf.agent_id, conf.bootstrap);
    rc = erps_agent_run(ag, &stop_asap);
    erps_agent_destroy(ag);
    erps_observer_stop(obs);
    erps_kprops_clear(&kp);
    erps_info("exit %d", rc);
    erps_log_hold(0);
    return rc;
}
