/*
 * server.c - the HTTP side: the order of the checks from a request's
 * headers to its answer, suspend and resume. Every rule it applies lives in
 * a pure module (api, negotiate, body, login, i18n); this file only orders
 * them and talks to libmicrohttpd and the bus (server_int.h).
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server_int.h"

#include "api.h"
#include "body.h"
#include "bus.h"
#include "cors.h"
#include "erpsync/log.h"
#include "http_deadline.h"
#include "http_guard.h"
#include "i18n.h"
#include "login.h"
#include "negotiate.h"
#include "shim.h"
#include "waiters.h"

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
        inet_ntop(AF_INET6,
                  &((struct sockaddr_in6 *)ci->client_addr)->sin6_addr, out,
                  (socklen_t)size);
}

/* The caller's W3C traceparent and X-Request-Id, carried into the command
 * (and from there into its audit record) when well formed; a malformed one
 * is dropped, as the Trace Context spec says, never refused. */
static void trace_context(struct MHD_Connection *c, erps_ce_t *ce) {
    const char *tp =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "traceparent");
    const char *rid =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
    if (tp && erps_traceparent_valid(tp))
        erps_strlcpy(ce->traceparent, tp, sizeof(ce->traceparent));
    if (rid && erps_request_id_valid(rid))
        erps_strlcpy(ce->request_id, rid, sizeof(ce->request_id));
}

static enum MHD_Result start_command(req_t *r) {
    erps_shim_t *shim = r->shim;
    const erps_shim_conf_t *conf = shim->conf;
    erps_command_t cmd;
    char err[512];
    int code;

    memset(&cmd, 0, sizeof(cmd));
    if (r->too_large) {
        snprintf(err, sizeof(err),
                 "the request body is larger than %" PRId64 " bytes",
                 conf->body_max);
        return http_send_error(r, 413, err);
    }
    cJSON *base = erps_api_request_base(r->route);
    cJSON *req = base ? erps_body_decode(&r->ctype, r->body ? r->body : "",
                                         r->len, base, &code, err, sizeof(err))
                      : NULL;
    cJSON_Delete(base);
    if (!req)
        return http_send_error(r, base ? code : 500,
                               base ? err : "out of memory");
    const erps_api_method_t *m = erps_api_method(r->route);
    erps_api_limits_t lim = {conf->interval_min_s, conf->interval_max_s};
    cmd.type = m->command;
    code = m->decode(req, r->ctype.media, &lim, &cmd, err, sizeof(err));
    cJSON_Delete(req);
    if (code)
        return http_send_error(r, code, err);

    erps_ce_init(&cmd.ce, conf->source, r->login.who.engine_id);
    /* The deadline is the moment this call gives up with 504; agents stop
     * applying a command their clock skew before it. */
    cmd.deadline_ms = cmd.ce.time_ms + conf->request_timeout_ms;
    erps_strlcpy(cmd.principal, r->login.who.name, sizeof(cmd.principal));
    erps_strlcpy(cmd.client_addr, r->client_addr, sizeof(cmd.client_addr));
    trace_context(r->conn, &cmd.ce);

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
             erps_command_type_name(cmd.type), r->login.who.engine_id,
             r->login.who.name);
    return MHD_YES;
}

/* GetEngineStatus waits (suspended) until the view has caught up with the
 * status topic as it was now, so it sees every change already answered. */
static enum MHD_Result start_read(req_t *r) {
    char err[256];
    memset(&r->w, 0, sizeof(r->w));
    r->w.deadline_mono_ms = erps_mono_ms() + r->shim->conf->request_timeout_ms;
    r->w.opaque = r;
    r->phase = PH_WAIT;
    MHD_suspend_connection(r->conn);
    if (erps_bus_read(r->shim->bus, r->login.who.engine_id, &r->w, err,
                      sizeof(err))) {
        r->w.code = 503;
        erps_strlcpy(r->w.detail, err, sizeof(r->w.detail));
        MHD_resume_connection(r->conn);
    }
    return MHD_YES;
}

/* Resumed in the headers' call it was suspended in: the answer is held
 * (PH_HELD) and goes once the request, a body included, is read, or
 * libmicrohttpd would close the connection after it. */
static enum MHD_Result finish_read(req_t *r) {
    r->phase = PH_FIRST;
    if (r->w.code != 200)
        return http_send_error(r, r->w.code, r->w.detail);
    return http_send_status(r, &r->w.status);
}

/* Every answer to a change names its command: the key to the status and
 * audit events on Kafka, and what to quote when asking what happened. */
static enum MHD_Result finish_command(req_t *r) {
    r->phase = PH_ANSWERED;
    http_reply_header(&r->reply, ERPS_HEADER_COMMAND_ID, r->w.id);
    if (r->w.code != 200)
        return http_send_error(r, r->w.code, r->w.detail);
    if (erps_api_method(r->route)->answer == ERPS_ANSWER_EMPTY)
        return http_answer(r, 204, strdup(""), r->reply.accept.content_type);
    return http_send_status(r, &r->w.status);
}

/* ---- the first call: everything decided from the headers ---- */

static enum MHD_Result add_len(void *cls, enum MHD_ValueKind kind,
                               const char *key, const char *value) {
    (void)kind;
    /* name, ": " or "=", value, and CRLF or "&" */
    *(size_t *)cls += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

/* Our own limits, under libmicrohttpd's connection memory, so an oversized
 * request gets a WebAPI error in the caller's format instead of the
 * library's HTML page (which only requests past the pool still get). */
static int request_size(req_t *r, const char *url, char *err, size_t err_size) {
    const erps_shim_conf_t *conf = r->shim->conf;
    size_t hdrs = 0, query = 0;
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, add_len, &hdrs);
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_len, &query);
    if (strlen(url) + query > (size_t)conf->url_max) {
        snprintf(err, err_size,
                 "the path and query are longer than %" PRId64 " bytes",
                 conf->url_max);
        return 414;
    }
    if (hdrs > (size_t)conf->headers_max) {
        snprintf(err, err_size,
                 "the request headers are larger than %" PRId64 " bytes",
                 conf->headers_max);
        return 431;
    }
    return 0;
}

/* Every request owns a req_t (on_completed frees it), so every answer can
 * wait for the end of the request and keep the connection open. */
static req_t *req_new(erps_shim_t *shim, struct MHD_Connection *c) {
    req_t *r = calloc(1, sizeof(*r));
    if (r) {
        r->shim = shim;
        r->conn = c;
        clock_gettime(CLOCK_MONOTONIC, &r->began);
    }
    return r;
}

/* libmicrohttpd passes the target here before decoding it (the access
 * handler only sees it decoded, cut at a %00): the req_t starts here. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
    erps_shim_t *shim = cls;
    req_t *r = req_new(shim, c);
    erps_deadlines_head_begun(shim->deadlines, c);
    if (r)
        erps_http_target_check(uri, r->target_err, sizeof(r->target_err));
    return r;
}

static enum MHD_Result head_visit(void *cls, enum MHD_ValueKind kind,
                                  const char *key, const char *value) {
    (void)kind;
    erps_http_head_add(cls, key, value);
    return MHD_YES;
}

/* Framing the library let through (RFC 9112 6.3): the end of this request
 * is not known, so the 400 goes at once and the connection closes. A
 * refused target is answered the same way. @returns 1 when answered. */
static int framing_refused(req_t *r, const char *version) {
    erps_http_head_t h;
    char err[160];
    memset(&h, 0, sizeof(h));
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, head_visit, &h);
    r->expect_continue = h.expect_continue;
    int code = erps_http_head_check(&h, version, err, sizeof(err));
    if (!code && r->target_err[0]) {
        snprintf(err, sizeof(err), "%s", r->target_err);
        code = 400;
    }
    if (!code)
        return 0;
    if (erps_accept_choose(http_header(r->conn, MHD_HTTP_HEADER_ACCEPT),
                           &r->reply.accept, NULL, 0))
        erps_accept_choose(NULL, &r->reply.accept, NULL, 0);
    http_reply_header(&r->reply, MHD_HTTP_HEADER_CONNECTION, "close");
    r->phase = PH_ANSWERED;
    http_send_error(r, code, err);
    return 1;
}

/* /healthz, /readyz, /metrics: plain text, no WebAPI headers. */
static enum MHD_Result ops_call(req_t *r) {
    erps_shim_t *shim = r->shim;
    if (r->route == ERPS_ROUTE_HEALTHZ)
        return http_send_text(r, 200, "ok\n", "text/plain");
    if (r->route == ERPS_ROUTE_METRICS)
        return http_send_metrics(r);
    if (atomic_load(&shim->draining))
        return http_send_text(r, 503, "shutting down\n", "text/plain");
    if (!erps_bus_kafka_up(shim->bus))
        return http_send_text(r, 503, "Kafka unreachable\n", "text/plain");
    if (!erps_bus_caught_up(shim->bus))
        return http_send_text(r, 503, "reading the status topic\n",
                              "text/plain");
    return http_send_text(r, 200, "ready\n", "text/plain");
}

static enum MHD_Result get_status(req_t *r) {
    erps_status_t st;
    char err[256];
    if (erps_bus_latest(r->shim->bus, r->login.who.engine_id, &st)) {
        snprintf(err, sizeof(err),
                 "no agent has reported a status for "
                 "engine %s yet",
                 r->login.who.engine_id);
        return http_send_error(r, 503, err);
    }
    return http_send_status(r, &st);
}

/* A change: its Content-Type and size, then on to reading the body. */
static enum MHD_Result body_start(req_t *r) {
    const erps_shim_conf_t *conf = r->shim->conf;
    char err[512];
    int code =
        erps_ctype_parse(http_header(r->conn, MHD_HTTP_HEADER_CONTENT_TYPE),
                         &r->ctype, err, sizeof(err));
    if (code)
        return http_send_error(r, code, err);
    const char *cl = http_header(r->conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long len = cl ? strtoull(cl, NULL, 10) : 0;
    if (len > (unsigned long long)conf->body_max) {
        snprintf(err, sizeof(err),
                 "the request body is larger than %" PRId64 " bytes",
                 conf->body_max);
        if (len > DRAIN_MAX) /* at once, and close: not worth reading */
            r->phase = PH_ANSWERED;
        return http_send_error(r, 413, err);
    }
    r->phase = PH_BODY;
    return MHD_YES;
}

static enum MHD_Result preflight(req_t *r);

/* 404, 405, or the CORS preflight. */
static enum MHD_Result route_error(req_t *r, const char *url,
                                   const char *method, int rcode,
                                   const char *allow) {
    char err[512];
    if (rcode == 404) {
        char shown[201];
        http_ascii_clip(shown, sizeof(shown),
                        url); /* answers stay valid UTF-8 */
        snprintf(err, sizeof(err), "no such resource: %s", shown);
        return http_send_error(r, 404, err);
    }
    /* A preflight names an origin and a method; a bare OPTIONS, or one on
     * a path of ours (not a WebAPI call), is just another method. */
    if (strcmp(method, "OPTIONS") == 0 && r->shim->conf->cors_origins[0] &&
        strcmp(allow, "POST") == 0 && http_header(r->conn, "Origin") &&
        http_header(r->conn, "Access-Control-Request-Method"))
        return preflight(r);
    snprintf(err, sizeof(err), "%s is not allowed here; use %s", method, allow);
    http_reply_header(&r->reply, MHD_HTTP_HEADER_ALLOW, allow);
    return http_send_error(r, 405, err);
}

/* An allowed browser origin may read every answer, errors included, with
 * the credentials it sent. */
static void cors_allow(req_t *r) {
    const char *origin = http_header(r->conn, "Origin");
    if (!r->shim->conf->cors_origins[0])
        return;
    http_reply_header(&r->reply, MHD_HTTP_HEADER_VARY, "Origin");
    if (!erps_cors_allowed(r->shim->conf->cors_origins, origin))
        return;
    http_reply_header(&r->reply, "Access-Control-Allow-Origin", origin);
    http_reply_header(&r->reply, "Access-Control-Allow-Credentials", "true");
    http_reply_header(&r->reply, "Access-Control-Expose-Headers",
                      ERPS_CORS_EXPOSE_HEADERS);
}

/* OPTIONS on a call, with cors.origins set: the CORS preflight. */
static enum MHD_Result preflight(req_t *r) {
    char err[160];
    int code = erps_cors_preflight(
        r->shim->conf->cors_origins, http_header(r->conn, "Origin"),
        http_header(r->conn, "Access-Control-Request-Method"),
        http_header(r->conn, "Access-Control-Request-Headers"), err,
        sizeof(err));
    if (code)
        return http_send_error(r, code, err);
    http_reply_header(&r->reply, "Access-Control-Allow-Methods", "POST");
    http_reply_header(&r->reply, "Access-Control-Allow-Headers",
                      ERPS_CORS_ALLOW_HEADERS);
    http_reply_header(&r->reply, "Access-Control-Max-Age", ERPS_CORS_MAX_AGE);
    return http_answer(r, 204, strdup(""), NULL);
}

static enum MHD_Result first_call(req_t *r, const char *url, const char *method,
                                  const char *version) {
    erps_shim_t *shim = r->shim;
    struct MHD_Connection *c = r->conn;
    erps_route_t route;
    const char *allow;
    char err[512];

    erps_deadlines_head_done(shim->deadlines, c);
    snprintf(r->method, sizeof(r->method), "%s", method);
    if (framing_refused(r, version))
        return MHD_YES;
    int rcode = erps_api_route(method, url, &route, &allow), code;
    r->route = route;
    r->phase = PH_FIRST;
    r->plain = 1;
    if (rcode == 200 && erps_api_method(route)->operational)
        return ops_call(r);
    r->plain = 0;
    cors_allow(r);
    client_address(c, r->client_addr, sizeof(r->client_addr));
    int acode = erps_accept_choose(http_header(c, MHD_HTTP_HEADER_ACCEPT),
                                   &r->reply.accept, err, sizeof(err));
    if (acode) { /* answered in the default format, as nothing else is */
        erps_accept_choose(NULL, &r->reply.accept, NULL, 0);
        return http_send_error(r, acode, err);
    }
    if ((code = request_size(r, url, err, sizeof(err))))
        return http_send_error(r, code, err);
    if (rcode != 200)
        return route_error(r, url, method, rcode, allow);
    /* Before credentials are looked at: a page on another site gets
     * nothing from them, and nothing reaches Kafka. */
    if (erps_api_route_changes(route) &&
        (code = erps_cors_cross_site(
             shim->conf->cors_origins, http_header(c, "Origin"),
             http_header(c, "Sec-Fetch-Site"),
             http_header(c, MHD_HTTP_HEADER_HOST), err, sizeof(err))))
        return http_send_error(r, code, err);
    if ((code = http_authenticate(r, err, sizeof(err))))
        return http_send_error(r, code, err);
    if (erps_api_route_changes(route) && r->login.who.role != ERPS_ROLE_ADMIN)
        return http_send_error(r, 403,
                               "the caller may read the engine status but "
                               "not change it");
    if ((code = http_read_options(r, err, sizeof(err))))
        return http_send_error(r, code, err);
    /* Issued only once the caller is known to be allowed this call. */
    if (r->login.basic)
        http_issue_session(r);

    if (erps_api_route_changes(route))
        return body_start(r);
    return shim->conf->status_read_cached ? get_status(r) : start_read(r);
}

/* A piece of the body (PH_BODY); past body.max it is read and dropped,
 * and the answer is 413. */
static enum MHD_Result body_piece(req_t *r, const char *data, size_t n) {
    if (r->too_large || r->len + n > (size_t)r->shim->conf->body_max) {
        r->too_large = 1;
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
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return MHD_YES;
}

/* PH_HELD: read and drop the body, so the answer is not lost to the reset
 * a close with unread data sends; past DRAIN_MAX the answer goes now and
 * the connection closes with it. */
static enum MHD_Result drain_then_answer(req_t *r, size_t n) {
    r->dropped += n;
    if (n > 0 && r->dropped <= DRAIN_MAX)
        return MHD_YES;
    char *body = r->held_body;
    r->held_body = NULL;
    return http_answer(r, r->held_code, body, r->held_ctype);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    req_t *r = *con_cls;
    size_t n = *upload_data_size;
    if (!r && !(r = *con_cls = req_new(cls, c)))
        return MHD_NO;
    if (!r->phase)
        return first_call(r, url, method, version);
    /* Resumed: a read's body, if any, comes again in the next calls and is
     * drained there (PH_HELD). */
    if (r->phase == PH_WAIT)
        return erps_api_route_changes(r->route) ? finish_command(r)
                                                : finish_read(r);
    *upload_data_size = 0; /* every piece is taken, kept or dropped */
    switch (r->phase) {
    case PH_BODY:
        return n > 0 ? body_piece(r, upload_data, n) : start_command(r);
    case PH_HELD:
        return drain_then_answer(r, n);
    default:
        return MHD_YES;
    }
}

/* One line per request: method, route, status, duration, who, and the
 * command it sent. Never a header or a body (they may hold secrets), nor
 * the path (an unknown one is the caller's text). Probes log at debug. */
static int64_t elapsed_us(const req_t *r) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - r->began.tv_sec) * 1000000 +
           (now.tv_nsec - r->began.tv_nsec) / 1000;
}

static void access_line(const req_t *r, enum MHD_RequestTerminationCode toe,
                        int64_t us) {
    double ms = (double)us / 1e3;
    const erps_api_method_t *m = erps_api_method(r->route);
    int probe = m && m->operational;
    int sent_command = erps_api_route_changes(r->route) && r->w.id[0];
    char code[32];
    if (r->code)
        snprintf(code, sizeof(code), "%d", r->code);
    else
        snprintf(code, sizeof(code), "- (%s)",
                 toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timed out"
                                                               : "closed");
    erps_log(probe ? ERPS_LOG_DEBUG : ERPS_LOG_INFO,
             "access: %s %s %s %.1f ms %s%s%s", r->method[0] ? r->method : "-",
             erps_api_route_name(r->route), code, ms,
             r->login.who.name[0] ? r->login.who.name : "-",
             sent_command ? " command " : "", sent_command ? r->w.id : "");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    req_t *r = *con_cls;
    erps_shim_t *shim = cls;
    erps_deadlines_idle(shim->deadlines, c);
    if (!r)
        return;
    int64_t us = elapsed_us(r);
    access_line(r, toe, us);
    http_count(r, us);
    /* Not answered yet (connection failed while waiting): unregister. */
    if (r->phase == PH_WAIT && !erps_api_route_changes(r->route))
        erps_bus_read_cancel(r->shim->bus, &r->w);
    else if (r->phase == PH_WAIT)
        erps_waiters_take(r->shim->waiters, r->w.id);
    erps_select_free(r->select);
    http_reply_clear(&r->reply);
    free(r->held_body);
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

/* Every credential store the settings name (login.c: a named file that
 * cannot be read stops the start, so a typo never silently turns a scheme
 * off), the interval bounds, and the language and time zone answers
 * default to. */
static int open_settings(erps_shim_t *shim, char *errstr, size_t errstr_size) {
    const erps_shim_conf_t *conf = shim->conf;
    if (!(shim->login = erps_login_new(conf, errstr, errstr_size)) ||
        erps_interval_bounds_check(conf->interval_min_s, conf->interval_max_s,
                                   errstr, errstr_size))
        return -1;
    size_t i = 0;
    while (i < erps_i18n_language_count &&
           strcmp(erps_i18n_languages[i], conf->default_language) != 0)
        i++;
    if (i == erps_i18n_language_count) {
        snprintf(errstr, errstr_size,
                 "i18n.default.language %s is not one of "
                 "the catalog's languages (en nb sv da de nl fr)",
                 conf->default_language);
        return -1;
    }
    char zerr[256];
    if (erps_i18n_zone_parse(conf->default_timezone, shim->default_zone,
                             sizeof(shim->default_zone), &shim->default_offset,
                             zerr, sizeof(zerr))) {
        snprintf(errstr, errstr_size, "i18n.default.timezone: %s", zerr);
        return -1;
    }
    return 0;
}

/* The head-deadline sweeper, then libmicrohttpd on the bound socket. */
static int start_http(erps_shim_t *shim, int listen_fd, char *errstr,
                      size_t errstr_size) {
    const erps_shim_conf_t *conf = shim->conf;
    if (!(shim->deadlines = erps_deadlines_new(conf->head_timeout_ms,
                                               conf->conn_timeout_s * 1000))) {
        snprintf(errstr, errstr_size, "cannot start the request-head timer");
        return -1;
    }
    /* The daemon's from here on (MHD_stop_daemon closes it); a failed start
     * may have closed it already, so it is never closed twice. */
    shim->listen_fd = -1;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    shim->d = MHD_start_daemon(
        flags, (uint16_t)conf->port, NULL, NULL, on_request, shim,
        /* First, so that even option errors reach our log. */
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, shim,
        /* Bound by main.c: SO_REUSEPORT only when listen.reuseport says. */
        MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)conf->threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)conf->conn_limit,
        /* One address cannot take every connection (slowloris); the head
         * deadline covers many addresses. */
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)conf->per_addr_limit,
        MHD_OPTION_NOTIFY_CONNECTION, erps_deadlines_notify, shim->deadlines,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)conf->conn_timeout_s,
        /* Room for http.headers.max.bytes and http.url.max.bytes and the
         * read buffer, so those limits (not the library's) answer first;
         * no more, as libmicrohttpd clears the pool after every request. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(conf->headers_max + conf->url_max + 16384),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, shim,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, shim, MHD_OPTION_END);
    if (!shim->d) {
        snprintf(errstr, errstr_size, "cannot serve HTTP on %s:%" PRId64,
                 conf->listen_addr, conf->port);
        return -1;
    }
    return 0;
}

erps_shim_t *erps_shim_start(const erps_shim_conf_t *conf,
                             const erps_kprops_t *kp, int listen_fd,
                             char *errstr, size_t errstr_size) {
    erps_shim_t *shim = calloc(1, sizeof(*shim));
    if (!shim) {
        snprintf(errstr, errstr_size, "out of memory");
        close(listen_fd);
        return NULL;
    }
    shim->listen_fd = listen_fd;
    shim->conf = conf;
    if (open_settings(shim, errstr, errstr_size))
        goto fail;
    if (!(shim->waiters = erps_waiters_new())) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    shim->bus = erps_bus_new(conf->bootstrap, kp, &conf->topics,
                             &conf->topic_policy, conf->request_timeout_ms,
                             shim->waiters, on_answer, errstr, errstr_size);
    if (!shim->bus || (conf->sign_key_file[0] &&
                       erps_bus_set_sign_key(shim->bus, conf->sign_key_file,
                                             errstr, errstr_size)))
        goto fail;

    if (start_http(shim, listen_fd, errstr, errstr_size))
        goto fail;
    char logins[200];
    erps_login_describe(shim->login, logins, sizeof(logins));
    erps_info("listening on http://%s:%" PRId64 "%s (%s)", conf->listen_addr,
              conf->port, ERPS_API_BASE, logins);
    return shim;
fail:
    erps_shim_stop(shim);
    return NULL;
}

void erps_shim_drain(erps_shim_t *shim) {
    atomic_store(&shim->draining, true);
}

void erps_shim_reload(erps_shim_t *shim) {
    char err[512], what[200];
    if (erps_login_reload(shim->login, err, sizeof(err))) {
        erps_err("reload: %s; keeping the files read before", err);
        return;
    }
    erps_login_describe(shim->login, what, sizeof(what));
    erps_info("reload: read the users, tenants and app tokens files again "
              "(%s)",
              what);
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
    erps_deadlines_destroy(shim->deadlines);
    erps_bus_destroy(shim->bus);
    erps_waiters_destroy(shim->waiters);
    erps_login_destroy(shim->login);
    if (shim->listen_fd >= 0)
        close(shim->listen_fd);
    free(shim);
}
