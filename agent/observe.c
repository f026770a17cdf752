/*
 * observe.c - the agent's /healthz, /readyz and /metrics (observe.h).
 */
#include "observe.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "erpsync/config.h"
#include "erpsync/util.h"

_Static_assert(ERPS_OUTCOME_DEADLETTERED < ERPS_OUTCOME_SLOTS, "outcomes");
_Static_assert(ERPS_CMD_CHANGE_INTERVAL < ERPS_CMD_TYPE_SLOTS, "types");
_Static_assert(ERPS_STATE_FAILED < ERPS_STATE_SLOTS, "states");

struct erps_observer {
    struct MHD_Daemon *d;
    const erps_agent_stats_t *st;
};

void erps_stats_outcome(erps_agent_stats_t *st, int type, int outcome) {
    if (!st || type < 0 || type >= ERPS_CMD_TYPE_SLOTS || outcome < 1 ||
        outcome >= ERPS_OUTCOME_SLOTS)
        return;
    atomic_fetch_add(&st->outcomes[type][outcome], 1);
}

static void write_metrics(FILE *f, const erps_agent_stats_t *st) {
    fprintf(f,
            "# HELP erpsync_build_info The program and its version.\n"
            "# TYPE erpsync_build_info gauge\n"
            "erpsync_build_info{program=\"erpsync-agent\",version=\"%s\"} 1\n",
            erps_version());
    fprintf(f, "# HELP erpsync_agent_commands_total Commands by type and "
               "outcome (the outcome of the audit record).\n"
               "# TYPE erpsync_agent_commands_total counter\n");
    for (int t = 0; t < ERPS_CMD_TYPE_SLOTS; t++)
        for (int o = 1; o < ERPS_OUTCOME_SLOTS; o++) {
            uint64_t n = atomic_load(&st->outcomes[t][o]);
            if (n)
                fprintf(f,
                        "erpsync_agent_commands_total{type=\"%s\","
                        "outcome=\"%s\"} %" PRIu64 "\n",
                        t ? erps_command_type_name((erps_cmd_type_t)t)
                          : "undecodable",
                        erps_outcome_name((erps_outcome_t)o), n);
        }
    fprintf(f,
            "# HELP erpsync_agent_transactions_total Kafka transactions "
            "committed (one per batch).\n"
            "# TYPE erpsync_agent_transactions_total counter\n"
            "erpsync_agent_transactions_total %" PRIu64 "\n",
            (uint64_t)atomic_load(&st->transactions));
    fprintf(f, "# HELP erpsync_agent_commit_duration_seconds One batch's "
               "Kafka transaction, begin to commit: the agent's round trips "
               "to the brokers.\n"
               "# TYPE erpsync_agent_commit_duration_seconds histogram\n");
    erps_histogram_write(f, "erpsync_agent_commit_duration_seconds", "",
                         &st->commit_latency);
    int64_t lag = atomic_load(&st->command_lag);
    if (lag >= 0)
        fprintf(f,
                "# HELP erpsync_agent_command_lag Command records on the "
                "agent's partitions not read yet.\n"
                "# TYPE erpsync_agent_command_lag gauge\n"
                "erpsync_agent_command_lag %" PRId64 "\n",
                lag);
    fprintf(f, "# HELP erpsync_agent_engines The agent's engines by state.\n"
               "# TYPE erpsync_agent_engines gauge\n");
    for (int s = 0; s < ERPS_STATE_SLOTS; s++)
        fprintf(f, "erpsync_agent_engines{state=\"%s\"} %d\n",
                erps_state_name((erps_state_t)s), atomic_load(&st->engines[s]));
    fprintf(f,
            "# HELP erpsync_agent_ready 1 while the agent applies "
            "commands.\n"
            "# TYPE erpsync_agent_ready gauge\n"
            "erpsync_agent_ready %d\n",
            atomic_load(&st->phase) == ERPS_PHASE_SERVING);
    erps_process_metrics_write(f);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code,
                             char *body, const char *ctype) {
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result rc = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned code,
                            const char *msg) {
    char *body = strdup(msg);
    return body ? reply(c, code, body, "text/plain") : MHD_NO;
}

/* /healthz: alive while the loop turns (a start-up scan counts as
 * turning). /readyz: serving, not starting and not stopping. */
static enum MHD_Result probe(const erps_agent_stats_t *st,
                             struct MHD_Connection *c, int ready) {
    int phase = atomic_load(&st->phase);
    if (ready)
        return phase == ERPS_PHASE_SERVING    ? text(c, 200, "ready\n")
               : phase == ERPS_PHASE_STARTING ? text(c, 503, "starting\n")
                                              : text(c, 503, "shutting down\n");
    int64_t alive = atomic_load(&st->alive_ms);
    if (alive && erps_mono_ms() - alive > ERPS_STALL_UNHEALTHY_MS)
        return text(c, 503, "the loop has stopped turning\n");
    return text(c, 200, "ok\n");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
    erps_observer_t *o = cls;
    (void)version, (void)upload, (void)con_cls;
    if (*upload_size)
        return text(c, 413, "no body expected\n");
    int known = !strcmp(url, "/healthz") || !strcmp(url, "/readyz") ||
                !strcmp(url, "/metrics");
    if (!known)
        return text(c, 404, "not found: /healthz, /readyz or /metrics\n");
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        struct MHD_Response *r = MHD_create_response_from_buffer(
            0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET");
        enum MHD_Result rc =
            MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
        MHD_destroy_response(r);
        return rc;
    }
    if (strcmp(url, "/metrics") != 0)
        return probe(o->st, c, strcmp(url, "/readyz") == 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return text(c, 500, "out of memory\n");
    write_metrics(f, o->st);
    if (fclose(f) || !buf) {
        free(buf);
        return text(c, 500, "out of memory\n");
    }
    return reply(c, 200, buf, "text/plain; version=0.0.4");
}

static int parse_addr(const char *addr, struct sockaddr_in *sa) {
    char host[64];
    const char *colon = strrchr(addr, ':');
    char *end;
    if (!colon || (size_t)(colon - addr) >= sizeof(host))
        return -1;
    long port = strtol(colon + 1, &end, 10);
    if (*end || colon[1] == '\0' || port < 0 || port > 65535)
        return -1;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa->sin_addr) == 1
               ? 0
               : -1;
}

erps_observer_t *erps_observer_start(const char *addr,
                                     const erps_agent_stats_t *st, char *errstr,
                                     size_t errstr_size) {
    struct sockaddr_in sa;
    if (parse_addr(addr, &sa)) {
        snprintf(errstr, errstr_size,
                 "metrics.listen \"%s\" is not IPv4-address:port", addr);
        return NULL;
    }
    erps_observer_t *o = calloc(1, sizeof(*o));
    if (!o) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    o->st = st;
    o->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
                            0, NULL, NULL, on_request, o, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)16, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)10, MHD_OPTION_END);
    if (!o->d) {
        snprintf(errstr, errstr_size,
                 "metrics.listen %s: cannot listen there "
                 "(address in use?)",
                 addr);
        free(o);
        return NULL;
    }
    return o;
}

void erps_observer_stop(erps_observer_t *o) {
    if (!o)
        return;
    MHD_stop_daemon(o->d);
    free(o);
}
