/*
 * server_int.h - what the files of erpsync-shim's HTTP side share, and
 * nothing else may include: the shim's state, one request's state, and the
 * answer functions.
 *
 *   server.c    libmicrohttpd's callbacks and the order of the checks: the
 *               path of a request from its headers to its answer
 *   caller.c    who is calling and what they asked for (login, language,
 *               time zone, $select)
 *   answer.c    answers in the WebAPI's shape (JSON or XML, held or sent),
 *               the error object, the status, /metrics
 *   settings.c  the shim's settings table
 *
 * Everything that decides (routes, bodies, who is calling, languages) is in
 * the pure modules these files call: api.h, body.h, login.h, i18n.h,
 * negotiate.h.
 */
#ifndef ERPSYNC_SHIM_SERVER_INT_H
#define ERPSYNC_SHIM_SERVER_INT_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "api.h"
#include "bus.h"
#include "http_deadline.h"
#include "i18n.h"
#include "login.h"
#include "erpsync/metrics.h"
#include "negotiate.h"
#include "select.h"
#include "shim.h"
#include "waiters.h"

#define CODES                  600
#define ERPS_HEADER_COMMAND_ID "X-ErpSync-Command-Id"

struct erps_shim {
    const erps_shim_conf_t *conf;
    struct MHD_Daemon *d;
    erps_login_t *login;
    char default_zone[64]; /* i18n.default.timezone, canonical */
    bool default_offset;
    erps_waiters_t *waiters;
    erps_bus_t *bus;
    int listen_fd;               /* until the daemon owns it; then -1 */
    erps_deadlines_t *deadlines; /* http.head.timeout.ms */
    atomic_bool draining;        /* shutdown began: /readyz answers 503 */
    /* /metrics: API calls by route and status, their latency by route;
     * probes (/healthz, /readyz, /metrics) apart. */
    _Atomic uint64_t calls[ERPS_ROUTE_COUNT][CODES];
    erps_histogram_t latency[ERPS_ROUTE_COUNT];
    _Atomic uint64_t probes[ERPS_ROUTE_COUNT];
};

/* PH_FIRST: the headers' call; an answer decided there is held (PH_HELD)
 * and sent once the body is read, as libmicrohttpd closes a keep-alive
 * connection whose answer came before its request was read. */
enum { PH_FIRST = 1, PH_HELD, PH_BODY, PH_WAIT, PH_ANSWERED };

#define EXTRA_HEADERS 12
/* A body behind an answer already decided is read and dropped up to this,
 * so the answer is not lost to a reset; past it the connection closes. */
#define DRAIN_MAX (16u * 1024 * 1024)

/* What an answer carries besides its body: decided while the request is
 * read, sent with whatever answer comes. */
typedef struct reply {
    erps_accept_t accept;
    int n;
    const char *name[EXTRA_HEADERS];
    char *value[EXTRA_HEADERS];
} reply_t;

typedef struct req {
    erps_shim_t *shim;
    struct MHD_Connection *conn;
    erps_route_t route;
    int phase;
    char *body;
    size_t len, cap;
    int too_large;
    erps_ctype_t ctype;
    erps_login_out_t login; /* who is calling */
    char client_addr[64];
    erps_i18n_req_t lang;
    erps_select_t *select;
    reply_t reply;
    int held_code; /* PH_HELD: the answer to send */
    char *held_body;
    const char *held_ctype;
    size_t dropped;      /* PH_HELD: body bytes read and dropped */
    int expect_continue; /* Expect: 100-continue: answer at once, no 100 */
    char target_err[80]; /* the raw target was refused (see on_uri) */
    int plain;           /* /healthz, /readyz, /metrics: no WebAPI headers */
    erps_waiter_t w;
    /* For the access line (on_completed). */
    struct timespec began;
    char method[16];
    int code; /* the status sent, 0 for none */
} req_t;

/* ---- caller.c ---- */

const char *http_header(struct MHD_Connection *c, const char *name);
/* 0 with r->login, or 401/403/429 with err (and Retry-After on a 429). */
int http_authenticate(req_t *r, char *err, size_t err_size);
/* Session cookies on the answer, after a password login. */
void http_issue_session(req_t *r);
/* Language, culture, time zone and $select. @returns 0 or 400/500. */
int http_read_options(req_t *r, char *err, size_t err_size);

/* ---- answer.c ---- */

/* Adds a header to whatever answer the request gets. */
void http_reply_header(reply_t *rp, const char *name, const char *value);
void http_reply_clear(reply_t *rp);
/* Sends body (owned) with code, or holds it until the request is read. */
enum MHD_Result http_answer(req_t *r, int code, char *body, const char *ctype);
enum MHD_Result http_send_text(req_t *r, int code, const char *text,
                               const char *ctype);
/* obj (owned) as JSON or as XML under root, as the request accepts. */
enum MHD_Result http_send_obj(req_t *r, int code, cJSON *obj, const char *root);
/* The WebAPI error object; a 401 names the schemes in WWW-Authenticate. */
enum MHD_Result http_send_error(req_t *r, int code, const char *msg);
/* The ErpSyncEngineStatus for the caller's role and language. */
enum MHD_Result http_send_status(req_t *r, const erps_status_t *st);
enum MHD_Result http_send_metrics(req_t *r);
/* Counts a finished request in the metrics (on_completed). */
void http_count(req_t *r, int64_t us);
/* Printable ASCII of in ('?' for anything else), cut to fit. */
void http_ascii_clip(char *out, size_t size, const char *in);

#endif
