/*
 * audit.c - one CommandOutcome event per command outcome.
 */
#include "msg_internal.h"

#include <stdio.h>
#include <string.h>

static const char *const outcome_names[] = {
    "", "Applied", "NoChange", "Rejected", "Expired", "DeadLettered"};

const char *erps_outcome_name(erps_outcome_t o) {
    return (unsigned)o < 6 ? outcome_names[o] : "";
}

static void side(erps_jw_t *w, const char *name, erps_state_t st,
                 int64_t interval_s) {
    char iv[ERPS_TIMESPAN_LEN];
    erps_timespan_format(interval_s, iv);
    erps_jw_object(w, name);
    erps_jw_string(w, "State", erps_state_name(st));
    erps_jw_bool(w, "IsRunning", erps_state_is_running(st));
    erps_jw_string(w, "Interval", iv);
    erps_jw_object_end(w);
}

int erps_audit_encode(const erps_audit_t *au, erps_msg_t *out, char *errstr,
                      size_t errstr_size) {
    char ts[ERPS_TIME_LEN];
    memset(out, 0, sizeof(*out));
    if (erps_ce_encode(&au->ce, ERPS_TYPE_AUDIT, out) ||
        (au->command_id[0] &&
         erps_msg_add_header(out, "ce_correlationid", au->command_id))) {
        snprintf(errstr, errstr_size, "audit headers too large");
        return -1;
    }
    erps_jw_t w;
    erps_jw_init(&w, 0);
    erps_jw_object(&w, NULL);
    /* The time again in the value (it is ce_time): sinks such as Kafka
     * Connect's JDBC or S3 connectors and ksqlDB streams often keep only
     * the record value, and an audit row without a time is useless. */
    erps_time_format(au->ce.time_ms, ts);
    erps_jw_string(&w, "Time", ts);
    erps_jw_string(&w, "Outcome", erps_outcome_name(au->outcome));
    erps_jw_string(&w, "EngineId", au->ce.subject);
    erps_jw_string(&w, "CommandId", au->command_id);
    erps_jw_string(&w, "CommandType", au->command_type);
    erps_jw_string(&w, "Principal", au->principal);
    erps_jw_string(&w, "ClientAddress", au->client_addr);
    erps_jw_string(&w, "Reason", au->reason);
    side(&w, "Before", au->before_state, au->before_interval_s);
    side(&w, "After", au->after_state, au->after_interval_s);
    erps_jw_int(&w, "Generation", au->generation);
    erps_jw_object_end(&w);
    return erps_msg_take_json(&w, out, errstr, errstr_size);
}

static int read_side(const cJSON *root, const char *name, erps_state_t *st,
                     int64_t *interval_s, char *errstr, size_t n) {
    char buf[ERPS_TIMESPAN_LEN];
    const cJSON *o = cJSON_GetObjectItem(root, name);
    if (!cJSON_IsObject(o)) {
        snprintf(errstr, n, "\"%s\" is missing", name);
        return -1;
    }
    if (erps_json_get_str(o, "State", buf, sizeof(buf), errstr, n))
        return -1;
    if (erps_state_parse(buf, st)) {
        snprintf(errstr, n, "%s.State \"%s\" is unknown", name, buf);
        return -1;
    }
    if (erps_json_get_str(o, "Interval", buf, sizeof(buf), errstr, n))
        return -1;
    return erps_timespan_parse(buf, interval_s, errstr, n);
}

/* The record's body: outcome, command, who, why, before and after. */
static int audit_body(const cJSON *root, erps_audit_t *au, char *errstr,
                      size_t errstr_size) {
    char buf[32];
    if (erps_json_get_str(root, "Outcome", buf, sizeof(buf), errstr,
                          errstr_size))
        return -1;
    for (int i = ERPS_OUTCOME_APPLIED; i <= ERPS_OUTCOME_DEADLETTERED; i++)
        if (strcmp(buf, outcome_names[i]) == 0)
            au->outcome = (erps_outcome_t)i;
    if (!au->outcome) {
        snprintf(errstr, errstr_size, "unknown Outcome \"%s\"", buf);
        return -1;
    }
    if (erps_json_get_str(root, "CommandId", au->command_id,
                          sizeof(au->command_id), errstr, errstr_size) ||
        erps_json_get_str(root, "CommandType", au->command_type,
                          sizeof(au->command_type), errstr, errstr_size) ||
        erps_json_get_str(root, "Principal", au->principal,
                          sizeof(au->principal), errstr, errstr_size) ||
        erps_json_get_str(root, "ClientAddress", au->client_addr,
                          sizeof(au->client_addr), errstr, errstr_size) ||
        erps_json_get_str(root, "Reason", au->reason, sizeof(au->reason),
                          errstr, errstr_size) ||
        read_side(root, "Before", &au->before_state, &au->before_interval_s,
                  errstr, errstr_size) ||
        read_side(root, "After", &au->after_state, &au->after_interval_s,
                  errstr, errstr_size) ||
        erps_json_get_int(root, "Generation", &au->generation, errstr,
                          errstr_size))
        return -1;
    if (au->generation < 0) {
        snprintf(errstr, errstr_size, "\"Generation\" is negative");
        return -1;
    }
    return 0;
}

int erps_audit_decode(const erps_msg_t *in, erps_audit_t *au, char *errstr,
                      size_t errstr_size) {
    char type[128];
    memset(au, 0, sizeof(*au));
    if (erps_ce_decode(in, &au->ce, type, sizeof(type), errstr, errstr_size))
        return -1;
    if (strcmp(type, ERPS_TYPE_AUDIT) != 0) {
        snprintf(errstr, errstr_size, "not an audit event: \"%s\"", type);
        return -1;
    }
    cJSON *root = erps_json_parse_value(in, errstr, errstr_size);
    int ret = root ? audit_body(root, au, errstr, errstr_size) : -1;
    cJSON_Delete(root);
    return ret;
}
