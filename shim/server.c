/*
 * server.c - the HTTP side: routing, auth, bodies, suspend/resume, answers.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "api.h"
#include "auth.h"
#include "bus.h"
#include "erpsync/log.h"
#include "shim.h"
#include "waiters.h"

#define CODES 600
#define ERPS_HEADER_COMMAND_ID "X-ErpSync-Command-Id"

struct erps_shim {
    const erps_shim_conf_t *conf;
    struct MHD_Daemon *d;
    erps_users_t *users;
    erps_waiters_t *waiters;
    erps_bus_t *bus;
    _Atomic uint64_t responses[CODES];
};

enum { PH_BODY = 1, PH_WAIT, PH_ANSWERED };

typedef struct req {
    erps_shim_t *shim;
    struct MHD_Connection *conn;
    erps_route_t route;
    int phase;
    char *body;
    size_t len, cap;
    int too_large;
    erps_principal_t who;
    char client_addr[64];
    erps_waiter_t w;
} req_t;

const erps_cfg_opt_t erps_shim_conf_table[] = {
#define O(f) offsetof(erps_shim_conf_t, f)
    {"listen.address", ERPS_CFG_STR, "127.0.0.1", 0, 0, O(listen_addr), 64,
     "IPv4 address to listen on (0.0.0.0 for all)"},
    {"listen.port", ERPS_CFG_INT, "8080", 0, 65535, O(port), 0,
     "HTTP port"},
    {"bootstrap.servers", ERPS_CFG_STR, "127.0.0.1:9092", 0, 0, O(bootstrap),
     1024, "Kafka bootstrap servers"},
    ERPS_CFG_TOPICS(erps_shim_conf_t, topics, topic_policy),
    {"users.file", ERPS_CFG_STR, "", 0, 0, O(users_file), 1024,
     "users file: name:hash:tenant:engine:role per line (required)"},
    {"source", ERPS_CFG_STR, "/erpsync/shim", 0, 0, O(source),
     ERPS_SOURCE_MAX + 1, "ce_source of the commands this shim sends"},
    {"request.timeout.ms", ERPS_CFG_INT, "10000", 500, 300000,
     O(request_timeout_ms), 0,
     "how long a call waits for the agent before 504"},
    {"http.body.max.bytes", ERPS_CFG_INT, "65536", 16, 16777216, O(body_max), 0,
     "larger request bodies get 413"},
    {"http.threads", ERPS_CFG_INT, "2", 1, 256, O(threads), 0,
     "HTTP event-loop threads (requests waiting for Kafka hold none)"},
    {"http.connection.limit", ERPS_CFG_INT, "4096", 1, 1000000, O(conn_limit),
     0, "concurrent connections"},
    {"http.connection.timeout.s", ERPS_CFG_INT, "30", 1, 3600,
     O(conn_timeout_s), 0, "idle keep-alive connections are closed after"},
    {"engine.interval.min", ERPS_CFG_INT, "60", 1, INT32_MAX, O(interval_min_s),
     0, "smallest interval ChangeEngineInterval accepts, seconds"},
    {"engine.interval.max", ERPS_CFG_INT, "604800", 1, INT32_MAX,
     O(interval_max_s), 0, "largest interval ChangeEngineInterval accepts"},
    {"log.level", ERPS_CFG_STR, "info", 0, 0, O(log_level), 16,
     "error, warn, info or debug"},
    ERPS_CFG_END
#undef O
};

/* ---- answers ---- */

static enum MHD_Result send_body(erps_shim_t *shim, struct MHD_Connection *c,
                                 int code, char *body, const char *ctype,
                                 const char *hname, const char *hvalue) {
    const char *fallback = "{\"Error\":true,\"ErrorType\":\"InternalServerError\","
                           "\"ErrorMessage\":\"out of memory\","
                           "\"ErrorSource\":\"erpsync-shim\"}";
    struct MHD_Response *resp;
    if (body)
        resp = MHD_create_response_from_buffer(strlen(body), body,
                                               MHD_RESPMEM_MUST_FREE);
    else
        resp = MHD_create_response_from_buffer(strlen(fallback), (void *)fallback,
                                               MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (hname)
        MHD_add_response_header(resp, hname, hvalue);
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)code, resp);
    MHD_destroy_response(resp);
    if (code >= 0 && code < CODES)
        shim->responses[code]++;
    return rc;
}

static enum MHD_Result send_error(erps_shim_t *shim, struct MHD_Connection *c,
                                  int code, const char *msg) {
    const char *hn = NULL, *hv = NULL;
    if (code == 401) {
        hn = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
        hv = "Basic realm=\"erpsync\", charset=\"UTF-8\"";
    }
    return send_body(shim, c, code, erps_api_error_json(code, msg),
                     "application/json; charset=utf-8", hn, hv);
}

static enum MHD_Result send_status(erps_shim_t *shim, struct MHD_Connection *c,
                                   const erps_status_t *st, erps_role_t role) {
    return send_body(shim, c, 200, erps_api_status_json(st, role),
                     "application/json; charset=utf-8", NULL, NULL);
}

static enum MHD_Result send_text(erps_shim_t *shim, struct MHD_Connection *c,
                                 int code, const char *text, const char *ctype) {
    return send_body(shim, c, code, strdup(text), ctype, NULL, NULL);
}

/* ---- observability ---- */

static enum MHD_Result send_metrics(erps_shim_t *shim, struct MHD_Connection *c) {
    erps_bus_stats_t s;
    size_t cap = 8192, used = 0;
    char *buf = malloc(cap);
    if (!buf)
        return send_error(shim, c, 500, "out of memory");
    erps_bus_stats(shim->bus, &s);
#define P(...)                                                                 \
    do {                                                                       \
        if (used < cap)                                                        \
            used += (size_t)snprintf(buf + used, cap - used, __VA_ARGS__);     \
    } while (0)
    P("# HELP erpsync_shim_http_responses_total HTTP responses by status code.\n"
      "# TYPE erpsync_shim_http_responses_total counter\n");
    for (int i = 100; i < CODES; i++)
        if (shim->responses[i])
            P("erpsync_shim_http_responses_total{code=\"%d\"} %" PRIu64 "\n", i,
              (uint64_t)shim->responses[i]);
    P("# HELP erpsync_shim_commands_sent_total Commands handed to Kafka.\n"
      "# TYPE erpsync_shim_commands_sent_total counter\n"
      "erpsync_shim_commands_sent_total %" PRIu64 "\n"
      "# HELP erpsync_shim_commands_failed_total Commands Kafka did not take.\n"
      "# TYPE erpsync_shim_commands_failed_total counter\n"
      "erpsync_shim_commands_failed_total %" PRIu64 "\n"
      "# HELP erpsync_shim_statuses_received_total Status events read.\n"
      "# TYPE erpsync_shim_statuses_received_total counter\n"
      "erpsync_shim_statuses_received_total %" PRIu64 "\n"
      "# HELP erpsync_shim_statuses_invalid_total Status events that failed "
      "to decode.\n"
      "# TYPE erpsync_shim_statuses_invalid_total counter\n"
      "erpsync_shim_statuses_invalid_total %" PRIu64 "\n"
      "# HELP erpsync_shim_requests_timed_out_total Calls answered 504.\n"
      "# TYPE erpsync_shim_requests_timed_out_total counter\n"
      "erpsync_shim_requests_timed_out_total %" PRIu64 "\n"
      "# HELP erpsync_shim_requests_waiting Calls waiting for a status.\n"
      "# TYPE erpsync_shim_requests_waiting gauge\n"
      "erpsync_shim_requests_waiting %zu\n"
      "# HELP erpsync_shim_engines_known Engines with a known status.\n"
      "# TYPE erpsync_shim_engines_known gauge\n"
      "erpsync_shim_engines_known %" PRIu64 "\n"
      "# HELP erpsync_shim_kafka_up 1 while the cluster answers.\n"
      "# TYPE erpsync_shim_kafka_up gauge\n"
      "erpsync_shim_kafka_up %d\n",
      s.commands_sent, s.commands_failed, s.statuses_received,
      s.statuses_invalid, s.timeouts, erps_waiters_count(shim->waiters),
      s.engines_known, erps_bus_kafka_up(shim->bus) ? 1 : 0);
#undef P
    if (used >= cap) {
        free(buf);
        return send_error(shim, c, 500, "metrics buffer too small");
    }
    return send_body(shim, c, 200, buf, "text/plain; version=0.0.4", NULL, NULL);
}

/* ---- the waiting part ---- */

/* Bus thread: the waiter was taken, its code set; wake the request up. */
static void on_answer(erps_waiter_t *w) {
    req_t *r = w->opaque;
    MHD_resume_connection(r->conn);
}

static void client_address(struct MHD_Connection *c, char *out, size_t size) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    out[0] = '\0';
    if (!ci || !ci->client_addr)
        return;
    if (ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)ci->client_addr)->sin_addr,
                  out, (socklen_t)size);
    else if (ci->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ci->client_addr)->sin6_addr,
                  out, (socklen_t)size);
}

static enum MHD_Result start_command(req_t *r) {
    erps_shim_t *shim = r->shim;
    const erps_shim_conf_t *conf = shim->conf;
    erps_command_t cmd;
    char err[512];
    int code;

    memset(&cmd, 0, sizeof(cmd));
    if (r->too_large) {
        snprintf(err, sizeof(err), "the request body is larger than %" PRId64
                 " bytes", conf->body_max);
        return send_error(shim, r->conn, 413, err);
    }
    if (r->route == ERPS_ROUTE_CHANGE_STATUS) {
        cmd.type = ERPS_CMD_CHANGE_STATUS;
        code = erps_api_parse_change_status(r->body, r->len, &cmd.run, err,
                                            sizeof(err));
    } else {
        cmd.type = ERPS_CMD_CHANGE_INTERVAL;
        code = erps_api_parse_change_interval(r->body, r->len,
                                              conf->interval_min_s,
                                              conf->interval_max_s,
                                              &cmd.interval_s, err, sizeof(err));
    }
    if (code)
        return send_error(shim, r->conn, code, err);

    erps_ce_init(&cmd.ce, conf->source, r->who.engine_id);
    /* The deadline is the moment this call gives up with 504; agents stop
     * applying a command their clock skew before it. */
    cmd.deadline_ms = cmd.ce.time_ms + conf->request_timeout_ms;
    erps_strlcpy(cmd.principal, r->who.name, sizeof(cmd.principal));
    erps_strlcpy(cmd.client_addr, r->client_addr, sizeof(cmd.client_addr));

    memset(&r->w, 0, sizeof(r->w));
    erps_strlcpy(r->w.id, cmd.ce.id, sizeof(r->w.id));
    r->w.deadline_mono_ms = erps_mono_ms() + conf->request_timeout_ms;
    r->w.opaque = r;

    /* Suspend before the waiter is visible to the bus thread: a resume can
     * then never come before the suspend. */
    r->phase = PH_WAIT;
    MHD_suspend_connection(r->conn);
    if (erps_bus_send(shim->bus, &cmd, &r->w, err, sizeof(err))) {
        r->w.code = 503;
        erps_strlcpy(r->w.detail, err, sizeof(r->w.detail));
        MHD_resume_connection(r->conn);
    }
    erps_dbg("command %s (%s) for engine %s by %s", cmd.ce.id,
             cmd.type == ERPS_CMD_CHANGE_STATUS ? "ChangeEngineStatus"
                                                : "ChangeEngineInterval",
             r->who.engine_id, r->who.name);
    return MHD_YES;
}

/* Every answer to a change names its command: the key to the status and
 * audit events on Kafka, and what to quote when asking what happened. */
static enum MHD_Result finish_command(req_t *r) {
    erps_shim_t *shim = r->shim;
    const char *hn = ERPS_HEADER_COMMAND_ID;
    r->phase = PH_ANSWERED;
    if (r->w.code != 200)
        return send_body(shim, r->conn, r->w.code,
                         erps_api_error_json(r->w.code, r->w.detail),
                         "application/json; charset=utf-8", hn, r->w.id);
    if (r->route == ERPS_ROUTE_CHANGE_INTERVAL)
        return send_body(shim, r->conn, 204, strdup(""), "text/plain", hn, r->w.id);
    return send_body(shim, r->conn, 200,
                     erps_api_status_json(&r->w.status, r->who.role),
                     "application/json; charset=utf-8", hn, r->w.id);
}

/* ---- the first call: everything decided from the headers ---- */

static enum MHD_Result first_call(erps_shim_t *shim, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  void **con_cls) {
    erps_route_t route;
    const char *allow;
    char err[256], name[ERPS_PRINCIPAL_MAX + 1], pw[512];
    erps_principal_t who;

    int code = erps_api_route(method, url, &route, &allow);
    if (code == 404) {
        snprintf(err, sizeof(err), "no such resource: %.200s", url);
        return send_error(shim, c, 404, err);
    }
    if (code == 405) {
        snprintf(err, sizeof(err), "%s is not allowed here; use %s", method, allow);
        char *body = erps_api_error_json(405, err);
        return send_body(shim, c, 405, body, "application/json; charset=utf-8",
                         MHD_HTTP_HEADER_ALLOW, allow);
    }
    switch (route) {
    case ERPS_ROUTE_HEALTHZ:
        return send_text(shim, c, 200, "ok\n", "text/plain");
    case ERPS_ROUTE_READYZ:
        if (!erps_bus_kafka_up(shim->bus))
            return send_text(shim, c, 503, "Kafka unreachable\n", "text/plain");
        if (!erps_bus_caught_up(shim->bus))
            return send_text(shim, c, 503, "reading the status topic\n",
                             "text/plain");
        return send_text(shim, c, 200, "ready\n", "text/plain");
    case ERPS_ROUTE_METRICS:
        return send_metrics(shim, c);
    default:
        break;
    }

    const char *auth =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!auth)
        return send_error(shim, c, 401, "authentication required: send "
                                        "Authorization: Basic");
    if (erps_basic_parse(auth, name, sizeof(name), pw, sizeof(pw)))
        return send_error(shim, c, 401, "the Authorization header is not valid "
                                        "Basic credentials");
    int bad = erps_users_verify(shim->users, name, pw, &who);
    explicit_bzero(pw, sizeof(pw));
    if (bad)
        return send_error(shim, c, 401, "wrong user name or password");
    if (erps_api_route_changes(route) && who.role != ERPS_ROLE_ADMIN)
        return send_error(shim, c, 403, "the caller may read the engine status "
                                        "but not change it");

    if (route == ERPS_ROUTE_GET_STATUS) {
        erps_status_t st;
        if (erps_bus_latest(shim->bus, who.engine_id, &st)) {
            snprintf(err, sizeof(err), "no agent has reported a status for "
                     "engine %s yet", who.engine_id);
            return send_error(shim, c, 503, err);
        }
        return send_status(shim, c, &st, who.role);
    }

    code = erps_api_content_type(
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
        err, sizeof(err));
    if (code)
        return send_error(shim, c, code, err);
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > (unsigned long long)shim->conf->body_max) {
        snprintf(err, sizeof(err), "the request body is larger than %" PRId64
                 " bytes", shim->conf->body_max);
        return send_error(shim, c, 413, err);
    }

    req_t *r = calloc(1, sizeof(*r));
    if (!r)
        return MHD_NO;
    r->shim = shim;
    r->conn = c;
    r->route = route;
    r->phase = PH_BODY;
    r->who = who;
    client_address(c, r->client_addr, sizeof(r->client_addr));
    *con_cls = r;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    erps_shim_t *shim = cls;
    req_t *r = *con_cls;
    (void)version;

    if (!r)
        return first_call(shim, c, url, method, con_cls);
    if (r->phase == PH_BODY) {
        if (*upload_data_size > 0) {
            size_t n = *upload_data_size;
            *upload_data_size = 0;
            if (r->too_large || r->len + n > (size_t)shim->conf->body_max) {
                r->too_large = 1; /* read and drop the rest, then 413 */
                return MHD_YES;
            }
            if (r->len + n + 1 > r->cap) {
                size_t cap = r->cap ? r->cap * 2 : 1024;
                while (cap < r->len + n + 1)
                    cap *= 2;
                char *nb = realloc(r->body, cap);
                if (!nb)
                    return MHD_NO;
                r->body = nb;
                r->cap = cap;
            }
            memcpy(r->body + r->len, upload_data, n);
            r->len += n;
            r->body[r->len] = '\0';
            return MHD_YES;
        }
        return start_command(r);
    }
    if (r->phase == PH_WAIT)
        return finish_command(r);
    return MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    req_t *r = *con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (!r)
        return;
    /* Not answered yet (connection failed while waiting): unregister. */
    if (r->phase == PH_WAIT)
        erps_waiters_take(r->shim->waiters, r->w.id);
    free(r->body);
    free(r);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    erps_warn("http: %s", line);
}

erps_shim_t *erps_shim_start(const erps_shim_conf_t *conf,
                             const erps_kprops_t *kp, char *errstr,
                             size_t errstr_size) {
    erps_shim_t *shim = calloc(1, sizeof(*shim));
    if (!shim) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    shim->conf = conf;
    if (!(shim->users = erps_users_load(conf->users_file, errstr, errstr_size)))
        goto fail;
    if (!(shim->waiters = erps_waiters_new())) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    shim->bus = erps_bus_new(conf->bootstrap, kp, &conf->topics,
                             &conf->topic_policy,
                             conf->request_timeout_ms, shim->waiters, on_answer,
                             errstr, errstr_size);
    if (!shim->bus)
        goto fail;

    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)conf->port);
    if (inet_pton(AF_INET, conf->listen_addr, &sa.sin_addr) != 1) {
        snprintf(errstr, errstr_size, "listen.address %s is not an IPv4 address",
                 conf->listen_addr);
        goto fail;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    shim->d = MHD_start_daemon(
        flags, (uint16_t)conf->port, NULL, NULL, on_request, shim,
        /* First, so that even option errors reach our log. */
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, shim,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)conf->threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)conf->conn_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)conf->conn_timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, shim,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (!shim->d) {
        snprintf(errstr, errstr_size, "cannot listen on %s:%" PRId64,
                 conf->listen_addr, conf->port);
        goto fail;
    }
    erps_info("listening on http://%s:%" PRId64 "%s (%d users)",
              conf->listen_addr, conf->port, ERPS_API_BASE,
              erps_users_count(shim->users));
    return shim;
fail:
    erps_shim_stop(shim);
    return NULL;
}

void erps_shim_stop(erps_shim_t *shim) {
    if (!shim)
        return;
    /* Answer the waiting calls first, give the event loop a moment to send
     * those answers, then stop it: MHD must not stop with suspended ones. */
    erps_bus_close(shim->bus);
    if (shim->d) {
        struct timespec ts = {0, 300 * 1000000L};
        nanosleep(&ts, NULL);
        MHD_stop_daemon(shim->d);
    }
    erps_bus_destroy(shim->bus);
    erps_waiters_destroy(shim->waiters);
    erps_users_destroy(shim->users);
    free(shim);
}
