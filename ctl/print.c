/*
 * print.c - statuses and audit events as erpsyncctl prints them: one JSON
 * object a line for programs (stable names, below), one line of text for
 * people. Pure: writes only to the FILE it is given.
 */
#include "ctl.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void add_time(cJSON *o, const char *name, int64_t ms) {
    char ts[ERPS_TIME_LEN];
    if (ms <= 0) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    erps_time_format(ms, ts);
    cJSON_AddStringToObject(o, name, ts);
}

static void add_interval(cJSON *o, const char *name, int64_t seconds) {
    char iv[ERPS_TIMESPAN_LEN];
    erps_timespan_format(seconds, iv);
    cJSON_AddStringToObject(o, name, iv);
}

static void add_iteration(cJSON *root, const erps_iteration_t *it) {
    if (it->number == 0) {
        cJSON_AddNullToObject(root, "lastIteration");
        return;
    }
    cJSON *o = cJSON_AddObjectToObject(root, "lastIteration");
    if (!o)
        return;
    cJSON_AddNumberToObject(o, "number", (double)it->number);
    add_time(o, "start", it->start_ms);
    add_time(o, "end", it->end_ms);
    cJSON_AddStringToObject(o, "outcome", it->outcome);
    cJSON_AddNumberToObject(o, "exitCode", it->exit_code);
    cJSON_AddStringToObject(o, "detail", it->detail);
}

/* Prints and frees root; NULL when cJSON ran out of memory anywhere. */
static char *finish(cJSON *root) {
    char *text = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

char *ctl_status_json(const erps_status_t *st) {
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddStringToObject(root, "engine", st->ce.subject);
    add_time(root, "time", st->ce.time_ms);
    cJSON_AddNumberToObject(root, "sequence", (double)st->sequence);
    cJSON_AddStringToObject(root, "state", erps_state_name(st->state));
    cJSON_AddBoolToObject(root, "isRunning", st->is_running);
    add_interval(root, "interval", st->interval_s);
    cJSON_AddNumberToObject(root, "generation", (double)st->generation);
    add_time(root, "nextIteration", st->next_iteration_ms);
    cJSON_AddNumberToObject(root, "failures", (double)st->failures);
    add_iteration(root, &st->last);
    cJSON_AddStringToObject(root, "message", st->message);
    if (st->correlation_id[0])
        cJSON_AddStringToObject(root, "commandId", st->correlation_id);
    else
        cJSON_AddNullToObject(root, "commandId");
    cJSON_AddStringToObject(root, "id", st->ce.id);
    return finish(root);
}

static void add_side(cJSON *root, const char *name, erps_state_t state,
                     int64_t interval_s) {
    cJSON *o = cJSON_AddObjectToObject(root, name);
    if (!o)
        return;
    cJSON_AddStringToObject(o, "state", erps_state_name(state));
    add_interval(o, "interval", interval_s);
}

char *ctl_audit_json(const erps_audit_t *au) {
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    add_time(root, "time", au->ce.time_ms);
    cJSON_AddStringToObject(root, "engine", au->ce.subject);
    cJSON_AddStringToObject(root, "outcome", erps_outcome_name(au->outcome));
    cJSON_AddStringToObject(root, "commandId", au->command_id);
    cJSON_AddStringToObject(root, "commandType", au->command_type);
    cJSON_AddStringToObject(root, "principal", au->principal);
    cJSON_AddStringToObject(root, "clientAddress", au->client_addr);
    cJSON_AddStringToObject(root, "reason", au->reason);
    add_side(root, "before", au->before_state, au->before_interval_s);
    add_side(root, "after", au->after_state, au->after_interval_s);
    cJSON_AddNumberToObject(root, "generation", (double)au->generation);
    cJSON_AddStringToObject(root, "id", au->ce.id);
    return finish(root);
}

/* Text from Kafka goes to a terminal: no control characters (escape
 * sequences, line breaks) but the final newline. */
static void scrub(char *buf) {
    size_t len = strlen(buf);
    for (size_t i = 0; i + 1 < len; i++)
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
            buf[i] = '?';
}

void ctl_status_text(const erps_status_t *st, char *buf, size_t size) {
    char ts[ERPS_TIME_LEN], iv[ERPS_TIMESPAN_LEN];
    erps_time_format(st->ce.time_ms, ts);
    erps_timespan_format(st->interval_s, iv);
    snprintf(buf, size, "%s  %-20s %-8s every %s  seq %lld  %s\n", ts,
             st->ce.subject, erps_state_name(st->state), iv,
             (long long)st->sequence, st->message);
    scrub(buf);
}

void ctl_audit_text(const erps_audit_t *au, char *buf, size_t size) {
    char ts[ERPS_TIME_LEN], b[ERPS_TIMESPAN_LEN], a[ERPS_TIMESPAN_LEN];
    erps_time_format(au->ce.time_ms, ts);
    erps_timespan_format(au->before_interval_s, b);
    erps_timespan_format(au->after_interval_s, a);
    snprintf(buf, size, "%s  %-20s %-12s %s by %s%s%s  %s %s -> %s %s%s%s\n",
             ts, au->ce.subject, erps_outcome_name(au->outcome),
             au->command_type[0] ? au->command_type : "(undecodable)",
             au->principal[0] ? au->principal : "?",
             au->client_addr[0] ? " from " : "", au->client_addr,
             erps_state_name(au->before_state), b,
             erps_state_name(au->after_state), a, au->reason[0] ? "  " : "",
             au->reason);
    scrub(buf);
}

/* Writes json (freed here) when as_json, else the text line; every line is
 * flushed: `watch | tool` must see each event when it comes. */
static int emit(FILE *fp, bool as_json, char *json, const char *line) {
    int rc = -1;
    if (!as_json)
        rc = fputs(line, fp);
    else if (json) /* NULL: out of memory */
        rc = fprintf(fp, "%s\n", json);
    free(json);
    return rc < 0 || fflush(fp) ? -1 : 0;
}

int ctl_print_status(FILE *fp, bool json, const erps_status_t *st) {
    char line[2048];
    ctl_status_text(st, line, sizeof(line));
    return emit(fp, json, json ? ctl_status_json(st) : NULL, line);
}

int ctl_print_audit(FILE *fp, bool json, const erps_audit_t *au) {
    char line[2048];
    ctl_audit_text(au, line, sizeof(line));
    return emit(fp, json, json ? ctl_audit_json(au) : NULL, line);
}
