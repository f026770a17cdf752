/*
 * api.c - the REST contract as pure functions. See api.h.
 */
#include "api.h"

#include "body.h"
#include "http_guard.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int decode_run(const cJSON *req, erps_media_t media,
                      const erps_api_limits_t *lim, erps_command_t *cmd,
                      char *err, size_t err_size);
static int decode_interval(const cJSON *req, erps_media_t media,
                           const erps_api_limits_t *lim, erps_command_t *cmd,
                           char *err, size_t err_size);

/* Every method the shim answers, once. */
static const erps_api_method_t methods[] = {
    {"ChangeEngineStatus", ERPS_ROUTE_CHANGE_STATUS, "POST", 0,
     ERPS_CMD_CHANGE_STATUS, "Run", decode_run, ERPS_ANSWER_STATUS},
    {"GetEngineStatus", ERPS_ROUTE_GET_STATUS, "POST", 0, 0, NULL, NULL,
     ERPS_ANSWER_STATUS},
    {"ChangeEngineInterval", ERPS_ROUTE_CHANGE_INTERVAL, "POST", 0,
     ERPS_CMD_CHANGE_INTERVAL, "Interval", decode_interval, ERPS_ANSWER_EMPTY},
    {"/healthz", ERPS_ROUTE_HEALTHZ, "GET", 1, 0, NULL, NULL,
     ERPS_ANSWER_EMPTY},
    {"/readyz", ERPS_ROUTE_READYZ, "GET", 1, 0, NULL, NULL, ERPS_ANSWER_EMPTY},
    {"/metrics", ERPS_ROUTE_METRICS, "GET", 1, 0, NULL, NULL,
     ERPS_ANSWER_EMPTY},
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

const erps_api_method_t *erps_api_method(erps_route_t route) {
    for (size_t i = 0; i < NMETHODS; i++)
        if (methods[i].route == route)
            return &methods[i];
    return NULL;
}

const char *erps_api_route_name(erps_route_t route) {
    const erps_api_method_t *m = erps_api_method(route);
    return m ? m->name : "-";
}

/* ASP.NET routes match case-insensitively, and after its URL forms are
 * reduced: absolute-form, doubled and trailing slashes. The operational
 * paths are ours, not the WebAPI's, and match exactly. */
static int route_match(const char *path, const char *api_path, size_t i) {
    size_t base_len = strlen(ERPS_API_BASE);
    if (methods[i].name[0] == '/')
        return strcmp(path, methods[i].name) == 0;
    return strncasecmp(api_path, ERPS_API_BASE, base_len) == 0 &&
           strcasecmp(api_path + base_len, methods[i].name) == 0;
}

int erps_api_route(const char *method, const char *path, erps_route_t *route,
                   const char **allow) {
    size_t size = strlen(path) + 2;
    char *api_path = malloc(size);
    int code = 404;
    *route = ERPS_ROUTE_NONE;
    *allow = NULL;
    /* Out of memory: the path as it came, which the common form matches. */
    const char *p =
        api_path && erps_http_path_normalize(path, api_path, size) == 0
            ? api_path
            : path;
    for (size_t i = 0; i < NMETHODS; i++) {
        if (!route_match(path, p, i))
            continue;
        int ok = strcmp(method, methods[i].http_method) == 0 ||
                 (strcmp(method, "HEAD") == 0 &&
                  strcmp(methods[i].http_method, "GET") == 0);
        if (!ok) {
            *allow = methods[i].http_method;
            code = 405;
        } else {
            *route = methods[i].route;
            code = 200;
        }
        break;
    }
    free(api_path);
    return code;
}

int erps_api_route_changes(erps_route_t route) {
    const erps_api_method_t *m = erps_api_method(route);
    return m && m->command != 0;
}

cJSON *erps_api_request_base(erps_route_t route) {
    const erps_api_method_t *m = erps_api_method(route);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    /* The request object a patch edits: its one member present but not
     * set (null), so "replace" finds it and a patch that sets nothing is
     * refused like an empty body ("no Run, no change"). */
    if (m && m->member && !cJSON_AddNullToObject(o, m->member)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Text as .NET reads it into a bool: bool.TryParse (Newtonsoft for JSON
 * strings, model binding for forms) takes "true"/"false" in any case;
 * XmlConvert.ToBoolean (DataContractSerializer) takes exactly "true",
 * "false", "1" and "0". Both ignore surrounding white space. */
static int bool_text(const char *v, erps_media_t media, bool *out) {
    size_t n;
    while (isspace((unsigned char)*v))
        v++;
    n = strlen(v);
    while (n && isspace((unsigned char)v[n - 1]))
        n--;
    bool xml = media == ERPS_MEDIA_XML;
    static const struct {
        const char *text;
        bool value, xml_only;
    } forms[] = {{"true", true, false},
                 {"false", false, false},
                 {"1", true, true},
                 {"0", false, true}};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        if (n != strlen(forms[i].text) || (forms[i].xml_only && !xml))
            continue;
        if (xml ? strncmp(v, forms[i].text, n) == 0
                : strncasecmp(v, forms[i].text, n) == 0) {
            *out = forms[i].value;
            return 0;
        }
    }
    return -1;
}

int erps_api_change_status_req(const cJSON *req, erps_media_t media, bool *run,
                               char *errstr, size_t errstr_size) {
    const cJSON *it = cJSON_GetObjectItem(req, "Run"); /* case-insensitive */
    /* null is a patch's "not set" as well as JSON's: no Run, no change. */
    if (!it || cJSON_IsNull(it)) {
        snprintf(errstr, errstr_size,
                 "\"Run\" is missing: send {\"Run\": true} "
                 "or {\"Run\": false}");
        return 400;
    }
    if (cJSON_IsBool(it)) {
        *run = cJSON_IsTrue(it);
        return 0;
    }
    /* Newtonsoft.Json reads a JSON number into a bool as "not zero"; XML
     * and form bodies have no numbers (their values are text). */
    if (cJSON_IsNumber(it)) {
        *run = it->valuedouble != 0;
        return 0;
    }
    if (cJSON_IsString(it) && bool_text(it->valuestring, media, run) == 0)
        return 0;
    snprintf(errstr, errstr_size, "%s",
             media == ERPS_MEDIA_XML
                 ? "\"Run\" must be a boolean (true, false, 1 or 0)"
                 : "\"Run\" must be a boolean (true or false)");
    return 400;
}

int erps_api_change_interval_req(const cJSON *req, int64_t min_s, int64_t max_s,
                                 int64_t *interval_s, char *errstr,
                                 size_t errstr_size) {
    char lo[ERPS_TIMESPAN_LEN], hi[ERPS_TIMESPAN_LEN];
    const cJSON *it = cJSON_GetObjectItem(req, "Interval");
    if (!it || cJSON_IsNull(it)) {
        snprintf(errstr, errstr_size,
                 "\"Interval\" is missing: send {\"Interval\": \"00:15:00\"}");
        return 400;
    }
    if (!cJSON_IsString(it)) {
        snprintf(errstr, errstr_size,
                 "\"Interval\" must be a string such as \"00:15:00\" or "
                 "\"PT15M\"");
        return 400;
    }
    if (erps_timespan_parse(it->valuestring, interval_s, errstr, errstr_size))
        return 400;
    if (*interval_s < min_s || *interval_s > max_s) {
        erps_timespan_format(min_s, lo);
        erps_timespan_format(max_s, hi);
        snprintf(errstr, errstr_size, "\"Interval\" must be between %s and %s",
                 lo, hi);
        return 400;
    }
    return 0;
}

static int decode_run(const cJSON *req, erps_media_t media,
                      const erps_api_limits_t *lim, erps_command_t *cmd,
                      char *err, size_t err_size) {
    (void)lim;
    return erps_api_change_status_req(req, media, &cmd->run, err, err_size);
}

static int decode_interval(const cJSON *req, erps_media_t media,
                           const erps_api_limits_t *lim, erps_command_t *cmd,
                           char *err, size_t err_size) {
    (void)media;
    return erps_api_change_interval_req(req, lim->interval_min_s,
                                        lim->interval_max_s, &cmd->interval_s,
                                        err, err_size);
}

cJSON *erps_api_status_obj(const erps_status_t *st, erps_role_t role,
                           const char *message, const char *reader_reason) {
    char iv[ERPS_TIMESPAN_LEN];
    int admin = role == ERPS_ROLE_ADMIN;
    erps_timespan_format(st->interval_s, iv);
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    if (!cJSON_AddBoolToObject(root, "IsRunning", st->is_running) ||
        !cJSON_AddStringToObject(root, "StatusMessage", message) ||
        !cJSON_AddStringToObject(root, "Interval", iv) ||
        erps_status_rights_add(root, admin ? ERPS_TR_FULL : ERPS_TR_RF,
                               admin ? ERPS_FR_UPDATE : ERPS_FR_READ,
                               admin ? "" : reader_reason)) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* The WebAPI's ErrorType of each status the shim answers with. */
static const struct {
    int code;
    const char *type;
} error_types[] = {
    // clang-format off
    {400, "BadRequest"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "NotFound"},
    {405, "MethodNotAllowed"},
    {406, "NotAcceptable"},
    {413, "PayloadTooLarge"},
    {414, "URITooLong"},
    {415, "UnsupportedMediaType"},
    {429, "TooManyRequests"},
    {431, "RequestHeaderFieldsTooLarge"},
    {503, "ServiceUnavailable"},
    {504, "GatewayTimeout"},
    // clang-format on
};

const char *erps_api_error_type(int code) {
    for (size_t i = 0; i < sizeof(error_types) / sizeof(error_types[0]); i++)
        if (error_types[i].code == code)
            return error_types[i].type;
    return "InternalServerError";
}

cJSON *erps_api_error_obj(int code, const char *message) {
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddBoolToObject(root, "Error", 1);
    cJSON_AddStringToObject(root, "ErrorType", erps_api_error_type(code));
    cJSON_AddStringToObject(root, "ErrorMessage", message);
    cJSON_AddStringToObject(root, "ErrorSource", "erpsync-shim");
    return root;
}

char *erps_api_render(cJSON *obj, erps_format_t fmt, const char *root) {
    if (!obj)
        return NULL;
    if (fmt == ERPS_FMT_JSON)
        return cJSON_PrintUnformatted(obj);
    /* DataContract writes a TimeSpan as xs:duration (PT15M), JSON as text. */
    cJSON *iv = cJSON_GetObjectItemCaseSensitive(obj, "Interval");
    int64_t secs;
    char err[8], dur[ERPS_TIMESPAN_LEN];
    if (cJSON_IsString(iv) &&
        erps_timespan_parse(iv->valuestring, &secs, err, sizeof(err)) == 0) {
        erps_duration_format(secs, dur);
        cJSON_ReplaceItemInObjectCaseSensitive(obj, "Interval",
                                               cJSON_CreateString(dur));
    }
    size_t len;
    return erps_xml_encode(obj, root, &len);
}
