/*
 * fuzz_command_decode - erps_command_decode on a Kafka record built from the
 * input (framing in fuzz_common.h). A command that decodes must re-encode with
 * erps_command_encode and decode again to the same fields.
 */
#include "fuzz_common.h"

static void same_command(const erps_command_t *a, const erps_command_t *b) {
    SAME_STR(ce.id);
    SAME_STR(ce.source);
    SAME_STR(ce.subject);
    SAME_INT(ce.time_ms);
    SAME_INT(type);
    SAME_INT(deadline_ms);
    SAME_STR(principal);
    SAME_STR(client_addr);
    if (a->type == ERPS_CMD_CHANGE_STATUS)
        SAME_INT(run);
    else
        SAME_INT(interval_s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_record_t rec;
    erps_command_t cmd, again;
    erps_msg_t out;
    char err[256];

    fuzz_record_split(data, size, &rec);
    err[0] = '\0';
    if (erps_command_decode(&rec.msg, &cmd, err, sizeof(err)) != 0) {
        FUZZ_CHECK(err[0] != '\0', "decode failed without a reason");
        fuzz_record_free(&rec);
        return 0;
    }
    fuzz_record_free(&rec); /* the command must not point into the record */

    FUZZ_CHECK(cmd.type == ERPS_CMD_CHANGE_STATUS ||
                   cmd.type == ERPS_CMD_CHANGE_INTERVAL,
               "type %d", (int)cmd.type);
    FUZZ_CHECK(erps_engine_id_valid(cmd.ce.subject), "subject \"%s\"",
               cmd.ce.subject);
    FUZZ_CHECK(erps_uuid_valid(cmd.ce.id), "id \"%s\"", cmd.ce.id);
    FUZZ_CHECK(cmd.principal[0] != '\0', "empty principal accepted");
    if (cmd.type == ERPS_CMD_CHANGE_INTERVAL)
        FUZZ_CHECK(cmd.interval_s > 0, "interval %lld accepted",
                   (long long)cmd.interval_s);

    err[0] = '\0';
    FUZZ_CHECK(erps_command_encode(&cmd, &out, err, sizeof(err)) == 0,
               "re-encode failed: %s", err);
    err[0] = '\0';
    int rc = erps_command_decode(&out, &again, err, sizeof(err));
    FUZZ_CHECK(rc == 0, "re-decode of \"%.*s\" failed: %s", (int)out.value_len,
               out.value, err);
    same_command(&cmd, &again);
    erps_msg_release(&out);
    return 0;
}
