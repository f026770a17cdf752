/*
 * command.c - ChangeEngineStatus and ChangeEngineInterval commands.
 */
#include "msg_internal.h"

#include <stdio.h>
#include <string.h>

/* ---- the body of each command type ---- */

static void status_body(const erps_command_t *cmd, cJSON *root) {
    cJSON_AddBoolToObject(root, "Run", cmd->run);
}

static int status_parse(const cJSON *root, erps_command_t *cmd, char *errstr,
                        size_t n) {
    const cJSON *run = cJSON_GetObjectItem(root, "Run");
    if (!cJSON_IsBool(run)) {
        snprintf(errstr, n,
                 run ? "\"Run\" is not a boolean" : "\"Run\" is missing");
        return -1;
    }
    cmd->run = cJSON_IsTrue(run);
    return 0;
}

static void interval_body(const erps_command_t *cmd, cJSON *root) {
    char iv[ERPS_TIMESPAN_LEN];
    erps_timespan_format(cmd->interval_s, iv);
    cJSON_AddStringToObject(root, "Interval", iv);
}

static int interval_parse(const cJSON *root, erps_command_t *cmd, char *errstr,
                          size_t n) {
    const cJSON *iv = cJSON_GetObjectItem(root, "Interval");
    if (!cJSON_IsString(iv)) {
        snprintf(errstr, n,
                 iv ? "\"Interval\" is not a string"
                    : "\"Interval\" is missing");
        return -1;
    }
    if (erps_timespan_parse(iv->valuestring, &cmd->interval_s, errstr, n))
        return -1;
    if (cmd->interval_s <= 0) {
        snprintf(errstr, n, "\"Interval\" must be positive");
        return -1;
    }
    return 0;
}

/* Every command type once: its WebAPI name, its CloudEvents type and its
 * body. A new type is one row here (and its handling in the agent). */
static const struct cmd_kind {
    erps_cmd_type_t type;
    const char *name;
    const char *ce_type;
    void (*body)(const erps_command_t *cmd, cJSON *root);
    int (*parse)(const cJSON *root, erps_command_t *cmd, char *errstr,
                 size_t n);
} kinds[] = {
    {ERPS_CMD_CHANGE_STATUS, "ChangeEngineStatus", ERPS_TYPE_CHANGE_STATUS,
     status_body, status_parse},
    {ERPS_CMD_CHANGE_INTERVAL, "ChangeEngineInterval",
     ERPS_TYPE_CHANGE_INTERVAL, interval_body, interval_parse},
};

static const struct cmd_kind *kind_of(erps_cmd_type_t type) {
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (kinds[i].type == type)
            return &kinds[i];
    return NULL;
}

const char *erps_command_type_name(erps_cmd_type_t type) {
    const struct cmd_kind *k = kind_of(type);
    return k ? k->name : "unknown command";
}

int erps_command_encode(const erps_command_t *cmd, erps_msg_t *out,
                        char *errstr, size_t errstr_size) {
    char ts[ERPS_TIME_LEN];
    const struct cmd_kind *k = kind_of(cmd->type);
    memset(out, 0, sizeof(*out));
    if (!k) {
        snprintf(errstr, errstr_size, "unknown command type %d",
                 (int)cmd->type);
        return -1;
    }
    erps_time_format(cmd->deadline_ms, ts);
    if (erps_ce_encode(&cmd->ce, k->ce_type, out) ||
        erps_msg_add_header(out, "ce_deadline", ts) ||
        erps_msg_add_header(out, "ce_principal", cmd->principal) ||
        (cmd->client_addr[0] &&
         erps_msg_add_header(out, "ce_clientaddr", cmd->client_addr))) {
        snprintf(errstr, errstr_size, "command headers too large");
        return -1;
    }
    cJSON *root = cJSON_CreateObject();
    if (root)
        k->body(cmd, root);
    return erps_json_finish(root, out, errstr, errstr_size);
}

/* ce_deadline, ce_principal (not empty, no control characters: it goes
 * into audit records and logs as it is, so no line breaks or terminal
 * escapes are smuggled in under someone's name) and ce_clientaddr. */
static int command_headers(const erps_msg_t *in, erps_command_t *cmd,
                           char *errstr, size_t errstr_size) {
    char ts[ERPS_TIME_LEN + 16];
    if (erps_msg_header_str(in, "ce_deadline", ts, sizeof(ts), 1, errstr,
                            errstr_size))
        return -1;
    if (erps_time_parse(ts, &cmd->deadline_ms)) {
        snprintf(errstr, errstr_size, "ce_deadline is not RFC 3339");
        return -1;
    }
    if (erps_msg_header_str(in, "ce_principal", cmd->principal,
                            sizeof(cmd->principal), 1, errstr, errstr_size) ||
        erps_msg_header_str(in, "ce_clientaddr", cmd->client_addr,
                            sizeof(cmd->client_addr), 0, errstr, errstr_size))
        return -1;
    if (cmd->principal[0] == '\0') {
        snprintf(errstr, errstr_size, "ce_principal is empty");
        return -1;
    }
    for (const unsigned char *c = (const unsigned char *)cmd->principal; *c;
         c++)
        if (*c < 0x20 || *c == 0x7f) {
            snprintf(errstr, errstr_size,
                     "ce_principal holds a control character");
            return -1;
        }
    return 0;
}

int erps_command_decode(const erps_msg_t *in, erps_command_t *cmd, char *errstr,
                        size_t errstr_size) {
    char type[128];
    const struct cmd_kind *k = NULL;
    memset(cmd, 0, sizeof(*cmd));
    if (erps_ce_decode(in, &cmd->ce, type, sizeof(type), errstr, errstr_size))
        return -1;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && !k; i++)
        if (strcmp(type, kinds[i].ce_type) == 0)
            k = &kinds[i];
    if (!k) {
        snprintf(errstr, errstr_size, "unknown command type \"%s\"", type);
        return -1;
    }
    cmd->type = k->type;
    if (command_headers(in, cmd, errstr, errstr_size))
        return -1;
    cJSON *root = erps_json_parse_value(in, errstr, errstr_size);
    int ret = root && k->parse(root, cmd, errstr, errstr_size) == 0 ? 0 : -1;
    cJSON_Delete(root);
    return ret;
}
