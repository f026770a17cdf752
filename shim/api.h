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
} erps_route_t;

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

/** The request object of a route with the WebAPI's defaults ({"Run":
 * false}, {"Interval": null}): what a JSON patch or merge patch edits. */
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
/** Interval ("00:15:00" | "PT15M") within min..max seconds. @returns 0 or 400. */
int erps_api_change_interval_req(const cJSON *req, int64_t min_s,
                                 int64_t max_s, int64_t *interval_s,
                                 char *errstr, size_t errstr_size);

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
