/*
 * fuzz_audit_decode - erps_audit_decode on a Kafka record built from the
 * input (framing in fuzz_common.h). An event that decodes must re-encode with
 * erps_audit_encode and decode again to the same fields.
 */
#include "fuzz_common.h"

static void same_audit(const erps_audit_t *a, const erps_audit_t *b) {
    SAME_STR(ce.id);
    SAME_STR(ce.source);
    SAME_STR(ce.subject);
    SAME_INT(ce.time_ms);
    SAME_INT(outcome);
    SAME_STR(command_id);
    SAME_STR(command_type);
    SAME_STR(principal);
    SAME_STR(client_addr);
    SAME_STR(reason);
    SAME_INT(before_state);
    SAME_INT(after_state);
    SAME_INT(before_interval_s);
    SAME_INT(after_interval_s);
    SAME_INT(generation);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_record_t rec;
    erps_audit_t au, again;
    erps_msg_t out;
    char err[256];

    fuzz_record_split(data, size, &rec);
    err[0] = '\0';
    if (erps_audit_decode(&rec.msg, &au, err, sizeof(err)) != 0) {
        FUZZ_CHECK(err[0] != '\0', "decode failed without a reason");
        fuzz_record_free(&rec);
        return 0;
    }
    fuzz_record_free(&rec); /* the event must not point into the record */

    FUZZ_CHECK(au.outcome >= ERPS_OUTCOME_APPLIED &&
                   au.outcome <= ERPS_OUTCOME_DEADLETTERED,
               "outcome %d", (int)au.outcome);
    FUZZ_CHECK(erps_engine_id_valid(au.ce.subject), "subject \"%s\"",
               au.ce.subject);

    err[0] = '\0';
    FUZZ_CHECK(erps_audit_encode(&au, &out, err, sizeof(err)) == 0,
               "re-encode failed: %s", err);
    err[0] = '\0';
    int rc = erps_audit_decode(&out, &again, err, sizeof(err));
    FUZZ_CHECK(rc == 0, "re-decode of \"%.*s\" failed: %s", (int)out.value_len,
               out.value, err);
    same_audit(&au, &again);
    erps_msg_release(&out);
    return 0;
}
