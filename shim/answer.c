/*
 * answer.c - every answer the shim sends: held until the request is read
 * (libmicrohttpd closes a keep-alive connection answered early), in the
 * format the request accepts, with the headers decided on the way; the
 * WebAPI error object, the status answer and /metrics.
 */
#include "server_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "erpsync/config.h"
#include "erpsync/log.h"

void http_reply_header(reply_t *rp, const char *name, const char *value) {
    if (rp->n < EXTRA_HEADERS && (rp->value[rp->n] = strdup(value)))
        rp->name[rp->n++] = name;
}

void http_reply_clear(reply_t *rp) {
    for (int i = 0; i < rp->n; i++)
        free(rp->value[i]);
    rp->n = 0;
}

static enum MHD_Result queue(erps_shim_t *shim, struct MHD_Connection *c,
                             int code, char *body, const char *ctype,
                             const reply_t *rp) {
    static const char fallback[] = "out of memory\n";
    struct MHD_Response *resp;
    if (body) {
        resp = MHD_create_response_from_buffer(strlen(body), body,
                                               MHD_RESPMEM_MUST_FREE);
    } else {
        code = 500;
        ctype = "text/plain";
        resp = MHD_create_response_from_buffer(
            sizeof(fallback) - 1, (void *)fallback, MHD_RESPMEM_PERSISTENT);
    }
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    /* A 204 has no content, so no type for it (RFC 9110 15.3.5). */
    if (code != 204 && ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    /* The answer's language and format depend on these request headers. */
    if (rp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY,
                                "Accept, Accept-Language, SO-Language, "
                                "SO-Culture, SO-TimeZone");
    for (int i = 0; rp && i < rp->n; i++)
        MHD_add_response_header(resp, rp->name[i], rp->value[i]);
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)code, resp);
    MHD_destroy_response(resp);
    return rc;
}

enum MHD_Result http_answer(req_t *r, int code, char *body, const char *ctype) {
    r->code = code;
    /* A client waiting for 100 Continue gets the final answer instead
     * (RFC 9110 10.1.1): it sends no body, libmicrohttpd no 100. */
    if (r->phase == PH_FIRST && !r->expect_continue) {
        r->phase = PH_HELD;
        r->held_code = code;
        r->held_body = body;
        r->held_ctype = ctype;
        return MHD_YES;
    }
    r->phase = PH_ANSWERED;
    return queue(r->shim, r->conn, code, body, ctype,
                 r->plain ? NULL : &r->reply);
}

enum MHD_Result http_send_text(req_t *r, int code, const char *text,
                               const char *ctype) {
    return http_answer(r, code, strdup(text), ctype);
}

/* An object in the format the caller accepts. */
enum MHD_Result http_send_obj(req_t *r, int code, cJSON *obj,
                              const char *root) {
    char *body = erps_api_render(obj, r->reply.accept.fmt, root);
    cJSON_Delete(obj);
    return http_answer(r, code, body, r->reply.accept.content_type);
}

enum MHD_Result http_send_error(req_t *r, int code, const char *msg) {
    if (code == 401) {
        const char *challenge[3];
        int n = erps_login_challenges(r->shim->login, challenge);
        for (int i = 0; i < n; i++)
            http_reply_header(&r->reply, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                              challenge[i]);
    }
    return http_send_obj(r, code, erps_api_error_obj(code, msg),
                         "ErrorInformation");
}

/* Copies text as printable ASCII ('?' for anything else), cut to fit: for
 * bytes from outside (a path, the agent's text) put into an answer. */
void http_ascii_clip(char *out, size_t size, const char *in) {
    size_t i = 0;
    for (; in[i] && i < size - 1; i++) {
        unsigned char ch = (unsigned char)in[i];
        out[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[i] = '\0';
}

/* StatusMessage in the caller's language, then $select. */
enum MHD_Result http_send_status(req_t *r, const erps_status_t *st) {
    char msg[ERPS_I18N_MESSAGE_MAX], err[512], reason[256];
    if (erps_i18n_render(st, &r->lang, msg, sizeof(msg)))
        http_ascii_clip(msg, sizeof(msg),
                        st->message); /* ICU failed: English */
    if (erps_i18n_text(&r->lang, "SR_ERPSYNC_READER_REASON", reason,
                       sizeof(reason)))
        erps_strlcpy(reason, "the caller may only read the engine status",
                     sizeof(reason));
    cJSON *obj = erps_api_status_obj(st, r->login.who.role, msg, reason);
    if (!obj)
        return http_send_error(r, 500, "out of memory");
    if (r->select) {
        int code = erps_select_apply(r->select, obj, err, sizeof(err));
        if (code) {
            cJSON_Delete(obj);
            return http_send_error(r, code, err);
        }
    }
    return http_send_obj(r, 200, obj, "ErpSyncEngineStatus");
}

/* ---- observability ---- */

/* The status view's order guard and read your writes (bus.h). */
/* One counter or gauge with its HELP and TYPE lines. */
static void metric(FILE *f, const char *name, const char *type,
                   const char *help, uint64_t v) {
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help, name,
            type, name, v);
}

/* WebAPI answers by status code, all routes together (the metric from
 * before routes were counted apart). */
static void write_responses(FILE *f, erps_shim_t *shim) {
    fprintf(f, "# HELP erpsync_shim_http_responses_total WebAPI answers by "
               "status code (probes not included).\n"
               "# TYPE erpsync_shim_http_responses_total counter\n");
    for (int c = 100; c < CODES; c++) {
        uint64_t n = 0;
        for (int r = 0; r < ERPS_ROUTE_COUNT; r++)
            n += atomic_load(&shim->calls[r][c]);
        if (n)
            fprintf(f,
                    "erpsync_shim_http_responses_total{code=\"%d\"} %" PRIu64
                    "\n",
                    c, n);
    }
}

static const char *route_label(int r) {
    const erps_api_method_t *m = erps_api_method((erps_route_t)r);
    return m ? m->name : "other";
}

static int is_probe(int r) {
    const erps_api_method_t *m = erps_api_method((erps_route_t)r);
    return m && m->operational;
}

/* API calls by route and status, their latency, and the probes apart. */
static void write_calls(FILE *f, erps_shim_t *shim) {
    write_responses(f, shim);
    fprintf(f, "# HELP erpsync_shim_http_requests_total WebAPI calls by "
               "method (route) and status code; for the change methods the "
               "code is the command's outcome: 200/204 applied, 503 not "
               "delivered, 504 no status in time, 4xx refused before it was "
               "sent.\n# TYPE erpsync_shim_http_requests_total counter\n");
    for (int r = 0; r < ERPS_ROUTE_COUNT; r++)
        for (int c = 100; !is_probe(r) && c < CODES; c++)
            if (atomic_load(&shim->calls[r][c]))
                fprintf(f,
                        "erpsync_shim_http_requests_total{route=\"%s\","
                        "code=\"%d\"} %" PRIu64 "\n",
                        route_label(r), c,
                        (uint64_t)atomic_load(&shim->calls[r][c]));
    fprintf(f, "# HELP erpsync_shim_http_request_duration_seconds Time from "
               "a WebAPI call's headers to its answer, by route.\n"
               "# TYPE erpsync_shim_http_request_duration_seconds "
               "histogram\n");
    for (int r = 0; r < ERPS_ROUTE_COUNT; r++) {
        char labels[64];
        if (is_probe(r))
            continue;
        snprintf(labels, sizeof(labels), "route=\"%s\"", route_label(r));
        erps_histogram_write(f, "erpsync_shim_http_request_duration_seconds",
                             labels, &shim->latency[r]);
    }
    fprintf(f, "# HELP erpsync_shim_probe_requests_total Calls of /healthz, "
               "/readyz and /metrics (not counted with the WebAPI's).\n"
               "# TYPE erpsync_shim_probe_requests_total counter\n");
    for (int r = 0; r < ERPS_ROUTE_COUNT; r++)
        if (is_probe(r))
            fprintf(f,
                    "erpsync_shim_probe_requests_total{path=\"%s\"} %" PRIu64
                    "\n",
                    route_label(r), (uint64_t)atomic_load(&shim->probes[r]));
}

void http_count(req_t *r, int64_t us) {
    erps_shim_t *shim = r->shim;
    const erps_api_method_t *m = erps_api_method(r->route);
    int route = (int)r->route;
    if (route < 0 || route >= ERPS_ROUTE_COUNT)
        route = ERPS_ROUTE_NONE;
    if (m && m->operational) {
        atomic_fetch_add(&shim->probes[route], 1);
        return;
    }
    if (r->code >= 100 && r->code < CODES)
        atomic_fetch_add(&shim->calls[route][r->code], 1);
    erps_histogram_observe(&shim->latency[route], us);
}

/* The bus's and the login's counters. */
static void write_counters(FILE *f, erps_shim_t *shim) {
    erps_bus_stats_t s;
    erps_login_stats_t ls;
    erps_bus_stats(shim->bus, &s);
    erps_login_stats(shim->login, &ls);
    metric(f, "erpsync_shim_commands_sent_total", "counter",
           "Commands handed to Kafka.", s.commands_sent);
    metric(f, "erpsync_shim_commands_failed_total", "counter",
           "Commands Kafka did not take.", s.commands_failed);
    metric(f, "erpsync_shim_statuses_received_total", "counter",
           "Status events read.", s.statuses_received);
    metric(f, "erpsync_shim_statuses_invalid_total", "counter",
           "Status events that failed to decode.", s.statuses_invalid);
    metric(f, "erpsync_shim_statuses_stale_total", "counter",
           "Status events ignored: their ce_sequence was not newer than the "
           "engine's status already read.",
           s.statuses_stale);
    metric(f, "erpsync_shim_requests_timed_out_total", "counter",
           "Calls answered 504.", s.timeouts);
    metric(f, "erpsync_shim_requests_waiting", "gauge",
           "Calls waiting for a status.", erps_waiters_count(shim->waiters));
    metric(f, "erpsync_shim_engines_known", "gauge",
           "Engines with a known status.", s.engines_known);
    metric(f, "erpsync_shim_reads_total", "counter",
           "GetEngineStatus calls that waited for the view to catch up with "
           "the status topic.",
           s.reads);
    metric(f, "erpsync_shim_read_queries_total", "counter",
           "Queries of where the status topic ends, each shared by the reads "
           "that arrived together.",
           s.read_queries);
    fprintf(f,
            "# HELP erpsync_shim_reads_failed_total Reads answered 503 (the "
            "query failed) or 504 (the view did not catch up in time).\n"
            "# TYPE erpsync_shim_reads_failed_total counter\n"
            "erpsync_shim_reads_failed_total{code=\"503\"} %" PRIu64 "\n"
            "erpsync_shim_reads_failed_total{code=\"504\"} %" PRIu64 "\n",
            s.read_failures, s.read_timeouts);
    metric(f, "erpsync_shim_login_failures_total", "counter",
           "Calls refused 401 for credentials that did not check out.",
           ls.failures);
    metric(f, "erpsync_shim_logins_limited_total", "counter",
           "Calls refused 429 after too many failed logins.", ls.limited);
    metric(f, "erpsync_shim_credential_cache_hits_total", "counter",
           "Basic credentials found in the cache (no password hash "
           "computed).",
           ls.cache_hits);
    metric(f, "erpsync_shim_kafka_up", "gauge", "1 while the cluster answers.",
           erps_bus_kafka_up(shim->bus) ? 1 : 0);
    metric(f, "erpsync_shim_http_heads_late_total", "counter",
           "Connections closed for a request head not complete within "
           "http.head.timeout.ms.",
           erps_deadlines_closed(shim->deadlines));
}

enum MHD_Result http_send_metrics(req_t *r) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return http_send_text(r, 500, "out of memory\n", "text/plain");
    fprintf(f,
            "# HELP erpsync_build_info The program and its version.\n"
            "# TYPE erpsync_build_info gauge\n"
            "erpsync_build_info{program=\"erpsync-shim\",version=\"%s\"} "
            "1\n",
            erps_version());
    write_calls(f, r->shim);
    write_counters(f, r->shim);
    erps_process_metrics_write(f);
    if (fclose(f) || !buf) {
        free(buf);
        return http_send_text(r, 500, "out of memory\n", "text/plain");
    }
    return http_answer(r, 200, buf, "text/plain; version=0.0.4");
}
