/*
 * api.c - the REST contract as pure functions. See api.h.
 */
#define _GNU_SOURCE /* strcasestr */
#include "api.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name; /* after ERPS_API_BASE, or a full path */
    erps_route_t route;
    const char *method;
} routes[] = {
    {"ChangeEngineStatus", ERPS_ROUTE_CHANGE_STATUS, "POST"},
    {"GetEngineStatus", ERPS_ROUTE_GET_STATUS, "POST"},
    {"ChangeEngineInterval", ERPS_ROUTE_CHANGE_INTERVAL, "POST"},
    {"/healthz", ERPS_ROUTE_HEALTHZ, "GET"},
    {"/readyz", ERPS_ROUTE_READYZ, "GET"},
    {"/metrics", ERPS_ROUTE_METRICS, "GET"},
};

int erps_api_route(const char *method, const char *path, erps_route_t *route,
                   const char **allow) {
    size_t base_len = strlen(ERPS_API_BASE);
    *route = ERPS_ROUTE_NONE;
    *allow = NULL;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int match;
        if (routes[i].name[0] == '/')
            match = strcmp(path, routes[i].name) == 0;
        else /* ASP.NET routes match case-insensitively */
            match = strncasecmp(path, ERPS_API_BASE, base_len) == 0 &&
                    strcasecmp(path + base_len, routes[i].name) == 0;
        if (!match)
            continue;
        int ok = strcmp(method, routes[i].method) == 0 ||
                 (strcmp(method, "HEAD") == 0 &&
                  strcmp(routes[i].method, "GET") == 0);
        if (!ok) {
            *allow = routes[i].method;
            return 405;
        }
        *route = routes[i].route;
        return 200;
    }
    return 404;
}

int erps_api_route_changes(erps_route_t route) {
    return route == ERPS_ROUTE_CHANGE_STATUS ||
           route == ERPS_ROUTE_CHANGE_INTERVAL;
}

int erps_api_route_has_body(erps_route_t route) {
    return erps_api_route_changes(route);
}

int erps_api_content_type(const char *ct, char *errstr, size_t errstr_size) {
    static const char *const ok[] = {"application/json", "text/json"};
    if (!ct || !*ct) {
        snprintf(errstr, errstr_size,
                 "Content-Type is missing; use application/json");
        return 415;
    }
    size_t mlen = strcspn(ct, ";");
    while (mlen > 0 && isspace((unsigned char)ct[mlen - 1]))
        mlen--;
    int known = 0;
    for (size_t i = 0; i < 2; i++)
        if (strlen(ok[i]) == mlen && strncasecmp(ct, ok[i], mlen) == 0)
            known = 1;
    if (!known) {
        snprintf(errstr, errstr_size,
                 "Content-Type \"%.*s\" is not supported; use "
                 "application/json or text/json", (int)(mlen > 100 ? 100 : mlen),
                 ct);
        return 415;
    }
    /* Parameters: only charset matters, and JSON is UTF-8. */
    const char *p = strcasestr(ct + mlen, "charset=");
    if (p) {
        p += 8;
        if (*p == '"')
            p++;
        if (strncasecmp(p, "utf-8", 5) != 0 && strncasecmp(p, "utf8", 4) != 0) {
            snprintf(errstr, errstr_size,
                     "charset in Content-Type is not supported; use utf-8");
            return 415;
        }
    }
    return 0;
}

static cJSON *parse_object(const char *body, size_t len, char *errstr,
                           size_t errstr_size) {
    if (len == 0) {
        snprintf(errstr, errstr_size, "the request body is empty");
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!root) {
        size_t at = end && end >= body ? (size_t)(end - body) : 0;
        snprintf(errstr, errstr_size,
                 "the request body is not valid JSON (at byte %zu)", at);
        return NULL;
    }
    /* Only whitespace may follow the value. */
    for (const char *p = end; p && p < body + len; p++) {
        if (!isspace((unsigned char)*p) && *p != '\0') {
            cJSON_Delete(root);
            snprintf(errstr, errstr_size,
                     "the request body has data after the JSON value (at byte "
                     "%zu)", (size_t)(p - body));
            return NULL;
        }
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        snprintf(errstr, errstr_size, "the request body must be a JSON object");
        return NULL;
    }
    return root;
}

int erps_api_parse_change_status(const char *body, size_t len, bool *run,
                                 char *errstr, size_t errstr_size) {
    cJSON *root = parse_object(body, len, errstr, errstr_size);
    if (!root)
        return 400;
    const cJSON *it = cJSON_GetObjectItem(root, "Run"); /* case-insensitive */
    int rc = 0;
    if (!it) {
        snprintf(errstr, errstr_size, "\"Run\" is missing: send {\"Run\": true} "
                                      "or {\"Run\": false}");
        rc = 400;
    } else if (!cJSON_IsBool(it)) {
        snprintf(errstr, errstr_size, "\"Run\" must be a boolean (true or false)");
        rc = 400;
    } else {
        *run = cJSON_IsTrue(it);
    }
    cJSON_Delete(root);
    return rc;
}

int erps_api_parse_change_interval(const char *body, size_t len,
                                   int64_t min_s, int64_t max_s,
                                   int64_t *interval_s, char *errstr,
                                   size_t errstr_size) {
    char lo[ERPS_TIMESPAN_LEN], hi[ERPS_TIMESPAN_LEN];
    cJSON *root = parse_object(body, len, errstr, errstr_size);
    if (!root)
        return 400;
    const cJSON *it = cJSON_GetObjectItem(root, "Interval");
    int rc = 400;
    if (!it)
        snprintf(errstr, errstr_size,
                 "\"Interval\" is missing: send {\"Interval\": \"00:15:00\"}");
    else if (!cJSON_IsString(it))
        snprintf(errstr, errstr_size,
                 "\"Interval\" must be a string such as \"00:15:00\" or "
                 "\"PT15M\"");
    else if (erps_timespan_parse(it->valuestring, interval_s, errstr,
                                 errstr_size) == 0) {
        if (*interval_s < min_s || *interval_s > max_s) {
            erps_timespan_format(min_s, lo);
            erps_timespan_format(max_s, hi);
            snprintf(errstr, errstr_size,
                     "\"Interval\" must be between %s and %s", lo, hi);
        } else {
            rc = 0;
        }
    }
    cJSON_Delete(root);
    return rc;
}

char *erps_api_status_json(const erps_status_t *st, erps_role_t role) {
    static const char *const fields[][2] = {{"IsRunning", "System.Boolean"},
                                            {"StatusMessage", "System.String"},
                                            {"Interval", "System.TimeSpan"}};
    char iv[ERPS_TIMESPAN_LEN], tmask[96], fmask[96];
    unsigned tr = ERPS_TR_SELECT | ERPS_TR_FILTERING, fr = ERPS_FR_READ;
    const char *reason = "the caller may only read the engine status";
    if (role == ERPS_ROLE_ADMIN) {
        tr = ERPS_TR_SELECT | ERPS_TR_UPDATE | ERPS_TR_INSERT | ERPS_TR_DELETE |
             ERPS_TR_FILTERING;
        fr = ERPS_FR_READ | ERPS_FR_WRITE | ERPS_FR_UPDATE;
        reason = "";
    }
    erps_table_right_name(tr, tmask, sizeof(tmask));
    erps_field_right_name(fr, fmask, sizeof(fmask));
    erps_timespan_format(st->interval_s, iv);

    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddBoolToObject(root, "IsRunning", st->is_running);
    cJSON_AddStringToObject(root, "StatusMessage", st->message);
    cJSON_AddStringToObject(root, "Interval", iv);
    cJSON *t = cJSON_AddObjectToObject(root, "TableRight");
    cJSON_AddStringToObject(t, "Mask", tmask);
    cJSON_AddStringToObject(t, "Reason", reason);
    cJSON *fp = cJSON_AddObjectToObject(root, "FieldProperties");
    for (size_t i = 0; i < 3; i++) {
        cJSON *f = cJSON_AddObjectToObject(fp, fields[i][0]);
        cJSON *r = cJSON_AddObjectToObject(f, "FieldRight");
        cJSON_AddStringToObject(r, "Mask", fmask);
        cJSON_AddStringToObject(r, "Reason", reason);
        cJSON_AddStringToObject(f, "FieldType", fields[i][1]);
        cJSON_AddNumberToObject(f, "FieldLength", 0);
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

const char *erps_api_error_type(int code) {
    switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 413: return "PayloadTooLarge";
    case 415: return "UnsupportedMediaType";
    case 429: return "TooManyRequests";
    case 431: return "RequestHeaderFieldsTooLarge";
    case 503: return "ServiceUnavailable";
    case 504: return "GatewayTimeout";
    default: return "InternalServerError";
    }
}

char *erps_api_error_json(int code, const char *message) {
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddBoolToObject(root, "Error", 1);
    cJSON_AddStringToObject(root, "ErrorType", erps_api_error_type(code));
    cJSON_AddStringToObject(root, "ErrorMessage", message);
    cJSON_AddStringToObject(root, "ErrorSource", "erpsync-shim");
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}
