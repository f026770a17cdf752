/*
 * command.c - ChangeEngineStatus and ChangeEngineInterval commands.
 */
#include "msg_internal.h"

#include <stdio.h>
#include <string.h>

int erps_command_encode(const erps_command_t *cmd, erps_msg_t *out,
                        char *errstr, size_t errstr_size) {
    char ts[ERPS_TIME_LEN], iv[ERPS_TIMESPAN_LEN];
    const char *type = cmd->type == ERPS_CMD_CHANGE_STATUS
                           ? ERPS_TYPE_CHANGE_STATUS
                           : ERPS_TYPE_CHANGE_INTERVAL;
    memset(out, 0, sizeof(*out));
    erps_time_format(cmd->deadline_ms, ts);
    if (erps_ce_encode(&cmd->ce, type, out) ||
        erps_msg_add_header(out, "ce_deadline", ts) ||
        erps_msg_add_header(out, "ce_principal", cmd->principal) ||
        (cmd->client_addr[0] &&
         erps_msg_add_header(out, "ce_clientaddr", cmd->client_addr))) {
        snprintf(errstr, errstr_size, "command headers too large");
        return -1;
    }
    cJSON *root = cJSON_CreateObject();
    if (root && cmd->type == ERPS_CMD_CHANGE_STATUS) {
        cJSON_AddBoolToObject(root, "Run", cmd->run);
    } else if (root) {
        erps_timespan_format(cmd->interval_s, iv);
        cJSON_AddStringToObject(root, "Interval", iv);
    }
    return erps_json_finish(root, out, errstr, errstr_size);
}

int erps_command_decode(const erps_msg_t *in, erps_command_t *cmd,
                        char *errstr, size_t errstr_size) {
    char type[128], ts[ERPS_TIME_LEN + 16];
    cJSON *root = NULL;
    int ret = -1;

    memset(cmd, 0, sizeof(*cmd));
    if (erps_ce_decode(in, &cmd->ce, type, sizeof(type), errstr, errstr_size))
        goto out;
    if (strcmp(type, ERPS_TYPE_CHANGE_STATUS) == 0) {
        cmd->type = ERPS_CMD_CHANGE_STATUS;
    } else if (strcmp(type, ERPS_TYPE_CHANGE_INTERVAL) == 0) {
        cmd->type = ERPS_CMD_CHANGE_INTERVAL;
    } else {
        snprintf(errstr, errstr_size, "unknown command type \"%s\"", type);
        goto out;
    }
    if (erps_msg_header_str(in, "ce_deadline", ts, sizeof(ts), 1, errstr,
                            errstr_size))
        goto out;
    if (erps_time_parse(ts, &cmd->deadline_ms)) {
        snprintf(errstr, errstr_size, "ce_deadline is not RFC 3339");
        goto out;
    }
    if (erps_msg_header_str(in, "ce_principal", cmd->principal,
                            sizeof(cmd->principal), 1, errstr, errstr_size) ||
        erps_msg_header_str(in, "ce_clientaddr", cmd->client_addr,
                            sizeof(cmd->client_addr), 0, errstr, errstr_size))
        goto out;
    if (cmd->principal[0] == '\0') {
        snprintf(errstr, errstr_size, "ce_principal is empty");
        goto out;
    }
    /* It goes into audit records and logs as it is: no line breaks or
     * terminal escapes smuggled in under someone's name. */
    for (const unsigned char *c = (const unsigned char *)cmd->principal; *c; c++) {
        if (*c < 0x20 || *c == 0x7f) {
            snprintf(errstr, errstr_size, "ce_principal holds a control character");
            goto out;
        }
    }
    if (!(root = erps_json_parse_value(in, errstr, errstr_size)))
        goto out;
    if (cmd->type == ERPS_CMD_CHANGE_STATUS) {
        const cJSON *run = cJSON_GetObjectItem(root, "Run");
        if (!cJSON_IsBool(run)) {
            snprintf(errstr, errstr_size, run ? "\"Run\" is not a boolean"
                                              : "\"Run\" is missing");
            goto out;
        }
        cmd->run = cJSON_IsTrue(run);
    } else {
        const cJSON *iv = cJSON_GetObjectItem(root, "Interval");
        if (!cJSON_IsString(iv)) {
            snprintf(errstr, errstr_size, iv ? "\"Interval\" is not a string"
                                             : "\"Interval\" is missing");
            goto out;
        }
        if (erps_timespan_parse(iv->valuestring, &cmd->interval_s, errstr,
                                errstr_size))
            goto out;
        if (cmd->interval_s <= 0) {
            snprintf(errstr, errstr_size, "\"Interval\" must be positive");
            goto out;
        }
    }
    ret = 0;
out:
    cJSON_Delete(root);
    return ret;
}
