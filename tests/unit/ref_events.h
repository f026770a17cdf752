/* ref_events.h - the status and audit values as the encoders built them
 * through a cJSON tree before common/jsonw.c: the reference test_jsonw
 * compares with, and the baseline bench_encode times. Static functions for
 * a test or benchmark program to include. */
#ifndef ERPSYNC_TESTS_REF_EVENTS_H
#define ERPSYNC_TESTS_REF_EVENTS_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "erpsync/proto.h"
#include "erpsync/util.h"

static void ref_time_or_null(cJSON *obj, const char *name, int64_t ms) {
    char ts[ERPS_TIME_LEN];
    if (ms <= 0) {
        cJSON_AddNullToObject(obj, name);
        return;
    }
    erps_time_format(ms, ts);
    cJSON_AddStringToObject(obj, name, ts);
}

static char *ref_status(const erps_status_t *st) {
    char iv[ERPS_TIMESPAN_LEN];
    cJSON *root = cJSON_CreateObject();
    erps_timespan_format(st->interval_s, iv);
    cJSON_AddBoolToObject(root, "IsRunning", st->is_running);
    cJSON_AddStringToObject(root, "StatusMessage", st->message);
    cJSON_AddStringToObject(root, "Interval", iv);
    erps_status_rights_add(root, ERPS_TR_FULL, ERPS_FR_UPDATE, "");
    cJSON_AddStringToObject(root, "EngineId", st->ce.subject);
    cJSON_AddStringToObject(root, "State", erps_state_name(st->state));
    cJSON_AddNumberToObject(root, "IntervalSeconds", (double)st->interval_s);
    cJSON_AddNumberToObject(root, "Generation", (double)st->generation);
    ref_time_or_null(root, "NextIterationAt", st->next_iteration_ms);
    cJSON_AddNumberToObject(root, "ConsecutiveFailures", (double)st->failures);
    if (st->last.number > 0) {
        cJSON *li = cJSON_AddObjectToObject(root, "LastIteration");
        cJSON_AddNumberToObject(li, "Number", (double)st->last.number);
        ref_time_or_null(li, "StartedAt", st->last.start_ms);
        ref_time_or_null(li, "EndedAt", st->last.end_ms);
        cJSON_AddStringToObject(li, "Outcome", st->last.outcome);
        cJSON_AddNumberToObject(li, "ExitCode", st->last.exit_code);
        cJSON_AddNumberToObject(li, "Signal", st->last.signal);
        cJSON_AddStringToObject(li, "Detail", st->last.detail);
    } else {
        cJSON_AddNullToObject(root, "LastIteration");
    }
    cJSON_AddStringToObject(root, "StatusResourceId", st->message_id);
    cJSON *args = cJSON_AddArrayToObject(root, "StatusArguments");
    if (st->state == ERPS_STATE_RUNNING) {
        cJSON_AddItemToArray(args, cJSON_CreateString(iv));
        if (st->next_iteration_ms > 0) {
            char next_at[ERPS_TIME_LEN];
            erps_time_format(st->next_iteration_ms, next_at);
            cJSON_AddItemToArray(args, cJSON_CreateString(next_at));
        } else {
            char num[24];
            long long n = st->last.number < INT64_MAX
                              ? (long long)st->last.number + 1
                              : (long long)st->last.number;
            snprintf(num, sizeof(num), "%lld", n);
            cJSON_AddItemToArray(args, cJSON_CreateString(num));
        }
    } else if (st->state == ERPS_STATE_FAILED) {
        cJSON_AddItemToArray(args, cJSON_CreateString(st->last.detail));
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

static void ref_side(cJSON *root, const char *name, erps_state_t st,
                     int64_t interval_s) {
    char iv[ERPS_TIMESPAN_LEN];
    cJSON *o = cJSON_AddObjectToObject(root, name);
    erps_timespan_format(interval_s, iv);
    cJSON_AddStringToObject(o, "State", erps_state_name(st));
    cJSON_AddBoolToObject(o, "IsRunning", erps_state_is_running(st));
    cJSON_AddStringToObject(o, "Interval", iv);
}

static char *ref_audit(const erps_audit_t *au) {
    char ts[ERPS_TIME_LEN];
    cJSON *root = cJSON_CreateObject();
    erps_time_format(au->ce.time_ms, ts);
    cJSON_AddStringToObject(root, "Time", ts);
    cJSON_AddStringToObject(root, "Outcome", erps_outcome_name(au->outcome));
    cJSON_AddStringToObject(root, "EngineId", au->ce.subject);
    cJSON_AddStringToObject(root, "CommandId", au->command_id);
    cJSON_AddStringToObject(root, "CommandType", au->command_type);
    cJSON_AddStringToObject(root, "Principal", au->principal);
    cJSON_AddStringToObject(root, "ClientAddress", au->client_addr);
    cJSON_AddStringToObject(root, "Reason", au->reason);
    ref_side(root, "Before", au->before_state, au->before_interval_s);
    ref_side(root, "After", au->after_state, au->after_interval_s);
    cJSON_AddNumberToObject(root, "Generation", (double)au->generation);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

#endif
