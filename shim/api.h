/*
 * api.h - the REST contract as pure functions: routes, content types, request
 * bodies, answers and errors in the WebAPI's shape. No sockets and no Kafka
 * here, so every rule is unit-tested and fuzzed directly.
 */
#ifndef ERPSYNC_SHIM_API_H
#define ERPSYNC_SHIM_API_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "auth.h"
#include "negotiate.h"
#include "erpsync/proto.h"

#define ERPS_API_BASE "/api/v1/Agents/ErpSync/"

typedef enum erps_route {
    ERPS_ROUTE_NONE = 0,
    ERPS_ROUTE_CHANGE_STATUS,
    ERPS_ROUTE_GET_STATUS,
    ERPS_ROUTE_CHANGE_INTERVAL,
    ERPS_ROUTE_HEALTHZ,
    ERPS_ROUTE_READYZ,
    ERPS_ROUTE_METRICS,
    ERPS_ROUTE_COUNT /* not a route: how many there are, NONE included */
} erps_route_t;

/** How a method answers once its command's status came back. */
typedef enum erps_answer {
    ERPS_ANSWER_STATUS, /* 200 with the ErpSyncEngineStatus ($select applies) */
    ERPS_ANSWER_EMPTY,  /* 204, no body */
} erps_answer_t;

/** What the request decoders check against besides the request object. */
typedef struct erps_api_limits {
    int64_t interval_min_s, interval_max_s;
} erps_api_limits_t;

/**
 * One WebAPI method (or operational path), both ends: its path, the request
 * object a body fills, how that becomes a command, and how it answers.
 * Adding a method is one row in api.c's table, its decoder, and the agent's
 * handler for the command type (agent/apply.c).
 */
typedef struct erps_api_method {
    const char *name; /* after ERPS_API_BASE, or a full path */
    erps_route_t route;
    const char *http_method; /* "POST"; "GET" also answers HEAD */
    int operational;         /* /healthz, /readyz, /metrics: no login */
    erps_cmd_type_t command; /* 0: a read, nothing is sent */
    const char *member;      /* the request object's member ("Run"), or NULL */
    /* The request object into cmd's fields. @returns 0 or 400 with err. */
    int (*decode)(const cJSON *req, erps_media_t media,
                  const erps_api_limits_t *lim, erps_command_t *cmd, char *err,
                  size_t err_size);
    erps_answer_t answer;
} erps_api_method_t;

/** The table row of a route, or NULL for ERPS_ROUTE_NONE. */
const erps_api_method_t *erps_api_method(erps_route_t route);

/**
 * Maps method and path to a route. @returns 200 with *route set, 404 for an
 * unknown path, 405 for a known path with the wrong method (*allow names the
 * method that is allowed).
 */
int erps_api_route(const char *method, const char *path, erps_route_t *route,
                   const char **allow);

/** The route's name for logs: the WebAPI method ("ChangeEngineStatus") or
 *  the operational path ("/healthz"); "-" for no route. */
const char *erps_api_route_name(erps_route_t route);

/** @returns 1 when the route changes the engine (needs the admin role). */
int erps_api_route_changes(erps_route_t route);

/** The request object of a route with its member present but null ({"Run":
 * null}): what a JSON patch or merge patch edits. */
cJSON *erps_api_request_base(erps_route_t route);

/**
 * Run from a request object, as the WebAPI's serializers read a bool from a
 * body of that media type: JSON (and patches) true/false, any number (not
 * zero is true) or the strings "true"/"false" in any case; forms the same
 * text; XML exactly "true", "false", "1" or "0". Missing or null: 400 "Run
 * is missing". Names match case-insensitively. @returns 0 or 400.
 */
int erps_api_change_status_req(const cJSON *req, erps_media_t media, bool *run,
                               char *errstr, size_t errstr_size);
/** Interval ("00:15:00" | "PT15M") within min..max seconds. @returns 0 or 400.
 */
int erps_api_change_interval_req(const cJSON *req, int64_t min_s, int64_t max_s,
                                 int64_t *interval_s, char *errstr,
                                 size_t errstr_size);

/** ErpSyncEngineStatus for the caller's role, with StatusMessage and the
 * Reason a reader's rights carry (reader_reason, unused for an admin)
 * already in the caller's language. Caller frees (cJSON_Delete). */
cJSON *erps_api_status_obj(const erps_status_t *st, erps_role_t role,
                           const char *message, const char *reader_reason);
/** The WebAPI error object. Caller frees. */
cJSON *erps_api_error_obj(int http_status, const char *message);
/** Serialises an answer: JSON, or XML under element `root` with Interval as
 * an xs:duration (written into obj, which stays the caller's to free).
 * @returns a string the caller frees, or NULL. */
char *erps_api_render(cJSON *obj, erps_format_t fmt, const char *root);
/** ErrorType for a status code, e.g. 400 -> "BadRequest". */
const char *erps_api_error_type(int http_status);

#endif
