/*
 * msg.c - the transport-neutral message and the CloudEvents attributes.
 */
#include "msg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void erps_msg_release(erps_msg_t *msg) {
    free(msg->owned_value);
    msg->owned_value = NULL;
}

const erps_hdr_t *erps_msg_header(const erps_msg_t *msg, const char *name) {
    for (int i = msg->hdr_cnt - 1; i >= 0; i--)
        if (strcmp(msg->hdrs[i].name, name) == 0)
            return &msg->hdrs[i];
    return NULL;
}

int erps_msg_add_header(erps_msg_t *msg, const char *name, const char *value) {
    size_t len = strlen(value);
    if (msg->hdr_cnt >= ERPS_MSG_MAX_HDRS ||
        msg->arena_used + len + 1 > sizeof(msg->arena))
        return -1;
    char *dst = msg->arena + msg->arena_used;
    memcpy(dst, value, len + 1);
    msg->arena_used += len + 1;
    msg->hdrs[msg->hdr_cnt].name = name;
    msg->hdrs[msg->hdr_cnt].value = dst;
    msg->hdrs[msg->hdr_cnt].size = len;
    msg->hdr_cnt++;
    return 0;
}

int erps_msg_header_str(const erps_msg_t *msg, const char *name, char *out,
                        size_t size, int required, char *errstr,
                        size_t errstr_size) {
    const erps_hdr_t *h = erps_msg_header(msg, name);
    if (!h || !h->value) {
        out[0] = '\0';
        if (required) {
            snprintf(errstr, errstr_size, "missing header %s", name);
            return -1;
        }
        return 0;
    }
    if (h->size >= size) {
        snprintf(errstr, errstr_size, "header %s longer than %zu bytes", name,
                 size - 1);
        return -1;
    }
    if (memchr(h->value, '\0', h->size)) {
        snprintf(errstr, errstr_size, "header %s contains a NUL byte", name);
        return -1;
    }
    memcpy(out, h->value, h->size);
    out[h->size] = '\0';
    return 0;
}

int erps_engine_id_valid(const char *id) {
    size_t n = 0;
    for (const char *p = id; *p; p++, n++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return n >= 1 && n <= ERPS_ENGINE_ID_MAX;
}

void erps_ce_init(erps_ce_t *ce, const char *source, const char *engine_id) {
    erps_uuid_new(ce->id);
    erps_strlcpy(ce->source, source, sizeof(ce->source));
    erps_strlcpy(ce->subject, engine_id, sizeof(ce->subject));
    ce->time_ms = erps_now_ms();
    ce->traceparent[0] = ce->request_id[0] = '\0';
}

/* n lowercase hex digits, and (when nonzero) not all of them 0. */
static int hex_field(const char *s, size_t n, int nonzero) {
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
        any |= s[i] != '0';
    }
    return any || !nonzero;
}

int erps_traceparent_valid(const char *s) {
    return strlen(s) == ERPS_TRACEPARENT_LEN && strncmp(s, "00-", 3) == 0 &&
           hex_field(s + 3, 32, 1) && s[35] == '-' &&
           hex_field(s + 36, 16, 1) && s[52] == '-' && hex_field(s + 53, 2, 0);
}

int erps_request_id_valid(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > ERPS_REQUEST_ID_MAX)
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789._:-") == n;
}

/* The schema that describes an event's data, by its type (prefix match,
 * so every command type shares command.schema.json). */
static const char *dataschema(const char *type) {
    static const struct {
        const char *prefix, *schema;
    } map[] = {
        {"com.erpsync.command.", ERPS_SCHEMA_BASE "command.schema.json"},
        {ERPS_TYPE_STATUS, ERPS_SCHEMA_BASE "status.schema.json"},
        {ERPS_TYPE_AUDIT, ERPS_SCHEMA_BASE "audit.schema.json"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strncmp(type, map[i].prefix, strlen(map[i].prefix)) == 0)
            return map[i].schema;
    return NULL;
}

int erps_ce_encode(const erps_ce_t *ce, const char *type, erps_msg_t *out) {
    char ts[ERPS_TIME_LEN];
    const char *schema = dataschema(type);
    size_t klen = strlen(ce->subject);
    erps_time_format(ce->time_ms, ts);
    /* The key lives in the arena too, so the message outlives ce. */
    if (out->arena_used + klen + 1 > sizeof(out->arena))
        return -1;
    memcpy(out->arena + out->arena_used, ce->subject, klen + 1);
    out->key = out->arena + out->arena_used;
    out->key_len = klen;
    out->arena_used += klen + 1;
    if (erps_msg_add_header(out, "ce_specversion", ERPS_CE_SPECVERSION) ||
        erps_msg_add_header(out, "ce_id", ce->id) ||
        erps_msg_add_header(out, "ce_source", ce->source) ||
        erps_msg_add_header(out, "ce_type", type) ||
        erps_msg_add_header(out, "ce_time", ts) ||
        erps_msg_add_header(out, "ce_subject", ce->subject) ||
        erps_msg_add_header(out, "content-type", ERPS_CONTENT_TYPE_JSON) ||
        (schema && erps_msg_add_header(out, "ce_dataschema", schema)) ||
        (ce->traceparent[0] &&
         erps_msg_add_header(out, "ce_traceparent", ce->traceparent)) ||
        (ce->request_id[0] &&
         erps_msg_add_header(out, "ce_requestid", ce->request_id)))
        return -1;
    return 0;
}

/* Every CloudEvents attribute once: with two ce_principal headers, one
 * reader would take the first and another the last. */
static int headers_once(const erps_msg_t *in, char *errstr,
                        size_t errstr_size) {
    if (in->hdr_dropped) {
        snprintf(errstr, errstr_size, "more than %d headers",
                 ERPS_MSG_MAX_HDRS);
        return -1;
    }
    for (int i = 0; i < in->hdr_cnt; i++) {
        const char *n = in->hdrs[i].name;
        if (strncmp(n, "ce_", 3) != 0 && strcmp(n, "content-type") != 0)
            continue;
        for (int j = i + 1; j < in->hdr_cnt; j++) {
            if (strcmp(n, in->hdrs[j].name) == 0) {
                snprintf(errstr, errstr_size, "header %.64s is repeated", n);
                return -1;
            }
        }
    }
    return 0;
}

/* ce_source, ce_type and ce_subject, which must be the record's key. */
static int ce_names(const erps_msg_t *in, erps_ce_t *ce, char *type,
                    size_t type_size, char *errstr, size_t errstr_size) {
    if (erps_msg_header_str(in, "ce_source", ce->source, sizeof(ce->source), 1,
                            errstr, errstr_size) ||
        erps_msg_header_str(in, "ce_type", type, type_size, 1, errstr,
                            errstr_size) ||
        erps_msg_header_str(in, "ce_subject", ce->subject, sizeof(ce->subject),
                            1, errstr, errstr_size))
        return -1;
    const char *bad = ce->source[0] == '\0' ? "ce_source is empty"
                      : !erps_engine_id_valid(ce->subject)
                          ? "ce_subject is not a valid engine id"
                      : in->key_len != strlen(ce->subject) ||
                              memcmp(in->key, ce->subject, in->key_len) != 0
                          ? "record key does not match ce_subject"
                          : NULL;
    if (bad)
        snprintf(errstr, errstr_size, "%s", bad);
    return bad ? -1 : 0;
}

/* content-type: absent means application/json (CloudEvents' JSON
 * default); parameters such as charset may follow the media type. */
static int ce_content_type(const erps_msg_t *in, char *errstr,
                           size_t errstr_size) {
    char buf[ERPS_TIME_LEN + 16];
    if (erps_msg_header_str(in, "content-type", buf, sizeof(buf), 0, errstr,
                            errstr_size))
        return -1;
    size_t jl = strlen(ERPS_CONTENT_TYPE_JSON);
    if (buf[0] && (strncmp(buf, ERPS_CONTENT_TYPE_JSON, jl) != 0 ||
                   (buf[jl] != '\0' && buf[jl] != ';' && buf[jl] != ' '))) {
        snprintf(errstr, errstr_size, "unsupported content-type \"%s\"", buf);
        return -1;
    }
    return 0;
}

/* Trace context is the caller's: one that is not well formed is dropped
 * (W3C: restart the trace), never a reason to refuse. */
static void ce_trace(const erps_msg_t *in, erps_ce_t *ce) {
    char tmp[ERPS_REQUEST_ID_MAX + 2], err[8];
    ce->traceparent[0] = ce->request_id[0] = '\0';
    if (erps_msg_header_str(in, "ce_traceparent", tmp, sizeof(tmp), 0, err,
                            sizeof(err)) == 0 &&
        erps_traceparent_valid(tmp))
        erps_strlcpy(ce->traceparent, tmp, sizeof(ce->traceparent));
    if (erps_msg_header_str(in, "ce_requestid", tmp, sizeof(tmp), 0, err,
                            sizeof(err)) == 0 &&
        erps_request_id_valid(tmp))
        erps_strlcpy(ce->request_id, tmp, sizeof(ce->request_id));
}

int erps_ce_decode(const erps_msg_t *in, erps_ce_t *ce, char *type,
                   size_t type_size, char *errstr, size_t errstr_size) {
    char buf[ERPS_TIME_LEN + 16];

    if (headers_once(in, errstr, errstr_size) ||
        erps_msg_header_str(in, "ce_specversion", buf, sizeof(buf), 1, errstr,
                            errstr_size))
        return -1;
    if (strcmp(buf, ERPS_CE_SPECVERSION) != 0) {
        snprintf(errstr, errstr_size, "unsupported ce_specversion \"%s\"", buf);
        return -1;
    }
    if (erps_msg_header_str(in, "ce_id", ce->id, sizeof(ce->id), 1, errstr,
                            errstr_size))
        return -1;
    if (!erps_uuid_valid(ce->id)) {
        snprintf(errstr, errstr_size, "ce_id is not a UUID");
        return -1;
    }
    if (ce_names(in, ce, type, type_size, errstr, errstr_size) ||
        erps_msg_header_str(in, "ce_time", buf, sizeof(buf), 1, errstr,
                            errstr_size))
        return -1;
    if (erps_time_parse(buf, &ce->time_ms)) {
        snprintf(errstr, errstr_size, "ce_time is not RFC 3339");
        return -1;
    }
    if (ce_content_type(in, errstr, errstr_size))
        return -1;
    ce_trace(in, ce);
    return 0;
}

cJSON *erps_json_parse_value(const erps_msg_t *in, char *errstr,
                             size_t errstr_size) {
    if (!in->value || in->value_len == 0) {
        snprintf(errstr, errstr_size, "empty value");
        return NULL;
    }
    if (in->value_len > ERPS_MAX_VALUE) {
        snprintf(errstr, errstr_size, "value larger than %d bytes",
                 ERPS_MAX_VALUE);
        return NULL;
    }
    cJSON *root = cJSON_ParseWithLength(in->value, in->value_len);
    if (!root) {
        snprintf(errstr, errstr_size, "value is not valid JSON");
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        snprintf(errstr, errstr_size, "value is not a JSON object");
        return NULL;
    }
    return root;
}

int erps_json_finish(cJSON *root, erps_msg_t *out, char *errstr,
                     size_t errstr_size) {
    char *s = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!s) {
        snprintf(errstr, errstr_size, "out of memory encoding JSON");
        return -1;
    }
    out->owned_value = s;
    out->value = s;
    out->value_len = strlen(s);
    return 0;
}

int erps_msg_take_json(erps_jw_t *w, erps_msg_t *out, char *errstr,
                       size_t errstr_size) {
    size_t len;
    char *text = erps_jw_take(w, &len);
    if (!text) {
        snprintf(errstr, errstr_size, "out of memory encoding JSON");
        return -1;
    }
    out->owned_value = text;
    out->value = text;
    out->value_len = len;
    return 0;
}

/* Typed getters that name the field in the error. */
int erps_json_get_bool(const cJSON *o, const char *name, bool *v, char *errstr,
                       size_t n) {
    const cJSON *it = cJSON_GetObjectItem(o, name);
    if (!cJSON_IsBool(it)) {
        snprintf(errstr, n, "\"%s\" is missing or not a boolean", name);
        return -1;
    }
    *v = cJSON_IsTrue(it);
    return 0;
}

int erps_json_get_int(const cJSON *o, const char *name, int64_t *v,
                      char *errstr, size_t n) {
    const cJSON *it = cJSON_GetObjectItem(o, name);
    if (!cJSON_IsNumber(it) || !(it->valuedouble >= -ERPS_JSON_INT_MAX) ||
        !(it->valuedouble <= ERPS_JSON_INT_MAX) ||
        it->valuedouble != (double)(int64_t)it->valuedouble) {
        snprintf(errstr, n, "\"%s\" is missing or not an integer", name);
        return -1;
    }
    *v = (int64_t)it->valuedouble;
    return 0;
}

int erps_json_get_str(const cJSON *o, const char *name, char *out, size_t size,
                      char *errstr, size_t n) {
    const cJSON *it = cJSON_GetObjectItem(o, name);
    if (!cJSON_IsString(it) || strlen(it->valuestring) >= size) {
        snprintf(errstr, n, "\"%s\" is missing, not a string or too long",
                 name);
        return -1;
    }
    memcpy(out, it->valuestring, strlen(it->valuestring) + 1);
    return 0;
}

int erps_json_get_time(const cJSON *o, const char *name, int64_t *ms,
                       char *errstr, size_t n) {
    const cJSON *it = cJSON_GetObjectItem(o, name);
    if (cJSON_IsNull(it) || !it) {
        *ms = 0;
        return 0;
    }
    if (!cJSON_IsString(it) || erps_time_parse(it->valuestring, ms)) {
        snprintf(errstr, n, "\"%s\" is not an RFC 3339 time", name);
        return -1;
    }
    return 0;
}
