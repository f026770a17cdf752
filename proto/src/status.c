/*
 * status.c - ErpSyncEngineStatus events and the English StatusMessage.
 */
#include "msg_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {"Stopped", "Starting", "Running",
                                          "Stopping", "Failed"};

const char *erps_state_name(erps_state_t s) {
    return (unsigned)s < 5 ? state_names[s] : "Unknown";
}

int erps_state_parse(const char *name, erps_state_t *s) {
    for (int i = 0; i < 5; i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *s = (erps_state_t)i;
            return 0;
        }
    }
    return -1;
}

bool erps_state_is_running(erps_state_t s) {
    return s == ERPS_STATE_STARTING || s == ERPS_STATE_RUNNING;
}

/* The iteration in progress is the one after the last finished; saturated,
 * since the number comes off the wire and must not overflow. */
static long long iteration_in_progress(const erps_status_t *st) {
    return st->last.number < INT64_MAX ? (long long)st->last.number + 1
                                       : (long long)st->last.number;
}

void erps_status_render_message(erps_status_t *st) {
    char iv[ERPS_TIMESPAN_LEN], next[ERPS_TIME_LEN];
    erps_timespan_format(st->interval_s, iv);
    switch (st->state) {
    case ERPS_STATE_STOPPED:
        erps_strlcpy(st->message_id, "SR_ERPSYNC_STOPPED",
                     sizeof(st->message_id));
        snprintf(st->message, sizeof(st->message),
                 "The ERP sync engine is stopped.");
        break;
    case ERPS_STATE_STARTING:
        erps_strlcpy(st->message_id, "SR_ERPSYNC_STARTING",
                     sizeof(st->message_id));
        snprintf(st->message, sizeof(st->message),
                 "The ERP sync engine is starting.");
        break;
    case ERPS_STATE_RUNNING:
        erps_strlcpy(st->message_id, "SR_ERPSYNC_RUNNING",
                     sizeof(st->message_id));
        if (st->next_iteration_ms > 0) {
            erps_time_format(st->next_iteration_ms, next);
            snprintf(st->message, sizeof(st->message),
                     "The ERP sync engine is running every %s; next iteration "
                     "at %s.",
                     iv, next);
        } else {
            erps_strlcpy(st->message_id, "SR_ERPSYNC_RUNNING_ITERATING",
                         sizeof(st->message_id));
            snprintf(st->message, sizeof(st->message),
                     "The ERP sync engine is running every %s; iteration %lld "
                     "is in progress.",
                     iv, iteration_in_progress(st));
        }
        break;
    case ERPS_STATE_STOPPING:
        erps_strlcpy(st->message_id, "SR_ERPSYNC_STOPPING",
                     sizeof(st->message_id));
        snprintf(st->message, sizeof(st->message),
                 "The ERP sync engine is stopping after the running "
                 "iteration.");
        break;
    case ERPS_STATE_FAILED:
        erps_strlcpy(st->message_id, "SR_ERPSYNC_FAILED",
                     sizeof(st->message_id));
        snprintf(st->message, sizeof(st->message),
                 "The ERP sync engine has failed: %s", st->last.detail);
        break;
    }
}

static void time_or_null(erps_jw_t *w, const char *name, int64_t ms) {
    char ts[ERPS_TIME_LEN];
    if (ms <= 0) {
        erps_jw_null(w, name);
        return;
    }
    erps_time_format(ms, ts);
    erps_jw_string(w, name, ts);
}

/* LastIteration: the last finished iteration, null before the first. */
static void last_iteration(erps_jw_t *w, const erps_status_t *st) {
    if (st->last.number <= 0) {
        erps_jw_null(w, "LastIteration");
        return;
    }
    erps_jw_object(w, "LastIteration");
    erps_jw_int(w, "Number", st->last.number);
    time_or_null(w, "StartedAt", st->last.start_ms);
    time_or_null(w, "EndedAt", st->last.end_ms);
    erps_jw_string(w, "Outcome", st->last.outcome);
    erps_jw_int(w, "ExitCode", st->last.exit_code);
    erps_jw_int(w, "Signal", st->last.signal);
    erps_jw_string(w, "Detail", st->last.detail);
    erps_jw_object_end(w);
}

/* The values the resource's {0}, {1} stand for, as invariant text, so a
 * reader renders StatusMessage in its own language and time zone. */
static void status_arguments(erps_jw_t *w, const erps_status_t *st,
                             const char *iv) {
    erps_jw_array(w, "StatusArguments");
    if (st->state == ERPS_STATE_RUNNING) {
        erps_jw_string(w, NULL, iv);
        if (st->next_iteration_ms > 0) {
            char next[ERPS_TIME_LEN];
            erps_time_format(st->next_iteration_ms, next);
            erps_jw_string(w, NULL, next);
        } else {
            char num[24];
            snprintf(num, sizeof(num), "%lld", iteration_in_progress(st));
            erps_jw_string(w, NULL, num);
        }
    } else if (st->state == ERPS_STATE_FAILED) {
        erps_jw_string(w, NULL, st->last.detail);
    }
    erps_jw_array_end(w);
}

/* The fields whose rights a status carries, one table for both ways of
 * writing them (the shim's cJSON tree, the agent's JSON text). */
static const char *const rights_fields[][2] = {
    {"IsRunning", "System.Boolean"},
    {"StatusMessage", "System.String"},
    {"Interval", "System.TimeSpan"}};
#define RIGHTS_FIELDS (sizeof(rights_fields) / sizeof(rights_fields[0]))

int erps_status_rights_add(cJSON *root, unsigned table_right,
                           unsigned field_right, const char *reason) {
    char tmask[96], fmask[96];
    erps_table_right_name(table_right, tmask, sizeof(tmask));
    erps_field_right_name(field_right, fmask, sizeof(fmask));
    cJSON *tr = cJSON_AddObjectToObject(root, "TableRight");
    cJSON *fp = cJSON_AddObjectToObject(root, "FieldProperties");
    if (!tr || !cJSON_AddStringToObject(tr, "Mask", tmask) ||
        !cJSON_AddStringToObject(tr, "Reason", reason) || !fp)
        return -1;
    for (size_t i = 0; i < RIGHTS_FIELDS; i++) {
        cJSON *f = cJSON_AddObjectToObject(fp, rights_fields[i][0]);
        cJSON *fr = f ? cJSON_AddObjectToObject(f, "FieldRight") : NULL;
        if (!fr || !cJSON_AddStringToObject(fr, "Mask", fmask) ||
            !cJSON_AddStringToObject(fr, "Reason", reason) ||
            !cJSON_AddStringToObject(f, "FieldType", rights_fields[i][1]) ||
            !cJSON_AddNumberToObject(f, "FieldLength", 0))
            return -1;
    }
    return 0;
}

static void rights_write(erps_jw_t *w, unsigned table_right,
                         unsigned field_right, const char *reason) {
    char tmask[96], fmask[96];
    erps_table_right_name(table_right, tmask, sizeof(tmask));
    erps_field_right_name(field_right, fmask, sizeof(fmask));
    erps_jw_object(w, "TableRight");
    erps_jw_string(w, "Mask", tmask);
    erps_jw_string(w, "Reason", reason);
    erps_jw_object_end(w);
    erps_jw_object(w, "FieldProperties");
    for (size_t i = 0; i < RIGHTS_FIELDS; i++) {
        erps_jw_object(w, rights_fields[i][0]);
        erps_jw_object(w, "FieldRight");
        erps_jw_string(w, "Mask", fmask);
        erps_jw_string(w, "Reason", reason);
        erps_jw_object_end(w);
        erps_jw_string(w, "FieldType", rights_fields[i][1]);
        erps_jw_int(w, "FieldLength", 0);
        erps_jw_object_end(w);
    }
    erps_jw_object_end(w);
}

int erps_status_encode(const erps_status_t *st, erps_msg_t *out, char *errstr,
                       size_t errstr_size) {
    char iv[ERPS_TIMESPAN_LEN], seq[24];
    memset(out, 0, sizeof(*out));
    snprintf(seq, sizeof(seq), "%0*" PRId64, ERPS_SEQUENCE_DIGITS,
             st->sequence);
    if (erps_ce_encode(&st->ce, ERPS_TYPE_STATUS, out) ||
        erps_msg_add_header(out, "ce_sequence", seq) ||
        (st->correlation_id[0] &&
         erps_msg_add_header(out, "ce_correlationid", st->correlation_id))) {
        snprintf(errstr, errstr_size, "status headers too large");
        return -1;
    }
    erps_jw_t w;
    erps_jw_init(&w, 0);
    erps_timespan_format(st->interval_s, iv);
    erps_jw_object(&w, NULL);
    erps_jw_bool(&w, "IsRunning", st->is_running);
    erps_jw_string(&w, "StatusMessage", st->message);
    erps_jw_string(&w, "Interval", iv);
    /* The owner's rights; the shim replaces them with the caller's. */
    rights_write(&w, ERPS_TR_FULL, ERPS_FR_UPDATE, "");
    erps_jw_string(&w, "EngineId", st->ce.subject);
    erps_jw_string(&w, "State", erps_state_name(st->state));
    erps_jw_int(&w, "IntervalSeconds", st->interval_s);
    erps_jw_int(&w, "Generation", st->generation);
    time_or_null(&w, "NextIterationAt", st->next_iteration_ms);
    erps_jw_int(&w, "ConsecutiveFailures", st->failures);
    last_iteration(&w, st);
    erps_jw_string(&w, "StatusResourceId", st->message_id);
    status_arguments(&w, st, iv);
    erps_jw_object_end(&w);
    return erps_msg_take_json(&w, out, errstr, errstr_size);
}

/* ce_sequence: digits only (zero-padded or not), no sign, at most 19 of
 * them and no more than INT64_MAX, so strtoll cannot overflow. */
static int sequence_parse(const char *buf, int64_t *seq, char *errstr,
                          size_t errstr_size) {
    size_t ndig = strspn(buf, "0123456789");
    if (ndig == 0 || ndig > ERPS_SEQUENCE_DIGITS || buf[ndig] != '\0' ||
        (ndig == ERPS_SEQUENCE_DIGITS &&
         strcmp(buf, "9223372036854775807") > 0)) {
        snprintf(errstr, errstr_size, "ce_sequence is not a number");
        return -1;
    }
    *seq = strtoll(buf, NULL, 10);
    return 0;
}

/* LastIteration, when the engine has run one (null before). */
static int last_iteration_parse(const cJSON *li, erps_status_t *st,
                                char *errstr, size_t errstr_size) {
    int64_t code, sig;
    if (!cJSON_IsObject(li))
        return 0;
    if (erps_json_get_int(li, "Number", &st->last.number, errstr,
                          errstr_size) ||
        erps_json_get_time(li, "StartedAt", &st->last.start_ms, errstr,
                           errstr_size) ||
        erps_json_get_time(li, "EndedAt", &st->last.end_ms, errstr,
                           errstr_size) ||
        erps_json_get_str(li, "Outcome", st->last.outcome,
                          sizeof(st->last.outcome), errstr, errstr_size) ||
        erps_json_get_int(li, "ExitCode", &code, errstr, errstr_size) ||
        erps_json_get_int(li, "Signal", &sig, errstr, errstr_size) ||
        erps_json_get_str(li, "Detail", st->last.detail,
                          sizeof(st->last.detail), errstr, errstr_size))
        return -1;
    st->last.exit_code = (int)code;
    st->last.signal = (int)sig;
    return 0;
}

/* The body's fields (the WebAPI's and ours). */
static int status_body_parse(const cJSON *root, erps_status_t *st, char *errstr,
                             size_t errstr_size) {
    char state[64];
    if (erps_json_get_bool(root, "IsRunning", &st->is_running, errstr,
                           errstr_size) ||
        erps_json_get_str(root, "StatusMessage", st->message,
                          sizeof(st->message), errstr, errstr_size) ||
        erps_json_get_str(root, "State", state, sizeof(state), errstr,
                          errstr_size))
        return -1;
    if (erps_state_parse(state, &st->state)) {
        snprintf(errstr, errstr_size, "unknown State \"%s\"", state);
        return -1;
    }
    if (erps_json_get_int(root, "IntervalSeconds", &st->interval_s, errstr,
                          errstr_size))
        return -1;
    if (st->interval_s < 1 || st->interval_s > ERPS_INTERVAL_MAX_S) {
        snprintf(errstr, errstr_size, "\"IntervalSeconds\" is out of range");
        return -1;
    }
    if (erps_json_get_int(root, "Generation", &st->generation, errstr,
                          errstr_size) ||
        erps_json_get_int(root, "ConsecutiveFailures", &st->failures, errstr,
                          errstr_size) ||
        erps_json_get_time(root, "NextIterationAt", &st->next_iteration_ms,
                           errstr, errstr_size) ||
        erps_json_get_str(root, "StatusResourceId", st->message_id,
                          sizeof(st->message_id), errstr, errstr_size))
        return -1;
    return last_iteration_parse(cJSON_GetObjectItem(root, "LastIteration"), st,
                                errstr, errstr_size);
}

int erps_status_decode(const erps_msg_t *in, erps_status_t *st, char *errstr,
                       size_t errstr_size) {
    char type[128], seq[64];
    cJSON *root = NULL;
    int ret = -1;

    memset(st, 0, sizeof(*st));
    if (erps_ce_decode(in, &st->ce, type, sizeof(type), errstr, errstr_size))
        goto out;
    if (strcmp(type, ERPS_TYPE_STATUS) != 0) {
        snprintf(errstr, errstr_size, "not a status event: \"%s\"", type);
        goto out;
    }
    if (erps_msg_header_str(in, "ce_sequence", seq, sizeof(seq), 1, errstr,
                            errstr_size) ||
        erps_msg_header_str(in, "ce_correlationid", st->correlation_id,
                            sizeof(st->correlation_id), 0, errstr,
                            errstr_size) ||
        sequence_parse(seq, &st->sequence, errstr, errstr_size))
        goto out;
    if (!(root = erps_json_parse_value(in, errstr, errstr_size)))
        goto out;
    ret = status_body_parse(root, st, errstr, errstr_size);
out:
    cJSON_Delete(root);
    return ret;
}
