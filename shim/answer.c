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
    if (code >= 0 && code < CODES)
        shim->responses[code]++;
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
static size_t read_metrics(char *buf, size_t cap, const erps_bus_stats_t *s) {
    int n = snprintf(
        buf, cap,
        "# HELP erpsync_shim_statuses_stale_total Status events ignored: their "
        "ce_sequence was not newer than the engine's status already read.\n"
        "# TYPE erpsync_shim_statuses_stale_total counter\n"
        "erpsync_shim_statuses_stale_total %" PRIu64 "\n"
        "# HELP erpsync_shim_reads_total GetEngineStatus calls that waited for "
        "the view to catch up with the status topic.\n"
        "# TYPE erpsync_shim_reads_total counter\n"
        "erpsync_shim_reads_total %" PRIu64 "\n"
        "# HELP erpsync_shim_read_queries_total Queries of where the status "
        "topic ends, each shared by the reads that arrived together.\n"
        "# TYPE erpsync_shim_read_queries_total counter\n"
        "erpsync_shim_read_queries_total %" PRIu64 "\n"
        "# HELP erpsync_shim_reads_failed_total Reads answered 503 (the query "
        "failed) or 504 (the view did not catch up in time).\n"
        "# TYPE erpsync_shim_reads_failed_total counter\n"
        "erpsync_shim_reads_failed_total{code=\"503\"} %" PRIu64 "\n"
        "erpsync_shim_reads_failed_total{code=\"504\"} %" PRIu64 "\n",
        s->statuses_stale, s->reads, s->read_queries, s->read_failures,
        s->read_timeouts);
    return n < 0 ? 0 : (size_t)n;
}

enum MHD_Result http_send_metrics(req_t *r) {
    erps_shim_t *shim = r->shim;
    erps_bus_stats_t s;
    size_t cap = 8192, used = 0;
    char *buf = malloc(cap);
    if (!buf)
        return http_send_text(r, 500, "out of memory\n", "text/plain");
    erps_login_stats_t ls;
    erps_bus_stats(shim->bus, &s);
    erps_login_stats(shim->login, &ls);
#define P(...)                                                                 \
    do {                                                                       \
        if (used < cap)                                                        \
            used += (size_t)snprintf(buf + used, cap - used, __VA_ARGS__);     \
    } while (0)
    P("# HELP erpsync_shim_http_responses_total HTTP responses by status "
      "code.\n"
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
      "# HELP erpsync_shim_login_failures_total Calls refused 401 for "
      "credentials that did not check out.\n"
      "# TYPE erpsync_shim_login_failures_total counter\n"
      "erpsync_shim_login_failures_total %" PRIu64 "\n"
      "# HELP erpsync_shim_logins_limited_total Calls refused 429 after too "
      "many failed logins.\n"
      "# TYPE erpsync_shim_logins_limited_total counter\n"
      "erpsync_shim_logins_limited_total %" PRIu64 "\n"
      "# HELP erpsync_shim_credential_cache_hits_total Basic credentials "
      "found in the cache (no password hash computed).\n"
      "# TYPE erpsync_shim_credential_cache_hits_total counter\n"
      "erpsync_shim_credential_cache_hits_total %" PRIu64 "\n"
      "# HELP erpsync_shim_kafka_up 1 while the cluster answers.\n"
      "# TYPE erpsync_shim_kafka_up gauge\n"
      "erpsync_shim_kafka_up %d\n",
      s.commands_sent, s.commands_failed, s.statuses_received,
      s.statuses_invalid, s.timeouts, erps_waiters_count(shim->waiters),
      s.engines_known, ls.failures, ls.limited, ls.cache_hits,
      erps_bus_kafka_up(shim->bus) ? 1 : 0);
    P("# HELP erpsync_shim_http_heads_late_total Connections closed for a "
      "request head not complete within http.head.timeout.ms.\n"
      "# TYPE erpsync_shim_http_heads_late_total counter\n"
      "erpsync_shim_http_heads_late_total %" PRIu64 "\n",
      erps_deadlines_closed(shim->deadlines));
    if (used < cap)
        used += read_metrics(buf + used, cap - used, &s);
#undef P
    if (used >= cap) {
        free(buf);
        return http_send_text(r, 500, "metrics buffer too small\n",
                              "text/plain");
    }
    return http_answer(r, 200, buf, "text/plain; version=0.0.4");
}
