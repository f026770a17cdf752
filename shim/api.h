/*
 * api.h - the REST contract as pure functions: routes, content types, request
 * bodies, answers and errors in the WebAPI's shape. No sockets and no Kafka
 * here, so every rule is unit-tested and fuzzed directly.
 */
#ifndef ERPSYNC_SHIM_API_H
#define ERPSYNC_SHIM_API_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
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

/** @returns 1 when the route changes the engine (needs the admin role). */
int erps_api_route_changes(erps_route_t route);
/** @returns 1 when the route reads a body. */
int erps_api_route_has_body(erps_route_t route);

/**
 * Checks Content-Type for a request body: application/json or text/json,
 * charset utf-8 when given. @returns 0, or 415 with errstr.
 */
int erps_api_content_type(const char *ct, char *errstr, size_t errstr_size);

/** {"Run": bool}, names matched case-insensitively. @returns 0 or 400. */
int erps_api_parse_change_status(const char *body, size_t len, bool *run,
                                 char *errstr, size_t errstr_size);
/** {"Interval": "00:15:00" | "PT15M"} within min..max seconds. @returns 0 or 400. */
int erps_api_parse_change_interval(const char *body, size_t len,
                                   int64_t min_s, int64_t max_s,
                                   int64_t *interval_s, char *errstr,
                                   size_t errstr_size);

/** ErpSyncEngineStatus JSON for the caller's role. Caller frees. */
char *erps_api_status_json(const erps_status_t *st, erps_role_t role);
/** The WebAPI error body. Caller frees. */
char *erps_api_error_json(int http_status, const char *message);
/** ErrorType for a status code, e.g. 400 -> "BadRequest". */
const char *erps_api_error_type(int http_status);

#endif
