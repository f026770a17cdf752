/*
 * fuzz_status_decode - erps_status_decode on a Kafka record built from the
 * input (framing in fuzz_common.h). A status that decodes must re-encode with
 * erps_status_encode and decode again to the same fields.
 *
 * The encoder has two documented conventions the round trip honours: a time
 * <= 0 means "none" and is written as null (read back as 0), and a
 * LastIteration whose Number is <= 0 means "none yet" and is written as null.
 */
#include "fuzz_common.h"

static void same_status(const erps_status_t *a, const erps_status_t *b) {
    SAME_STR(ce.id);
    SAME_STR(ce.source);
    SAME_STR(ce.subject);
    SAME_INT(ce.time_ms);
    SAME_STR(correlation_id);
    SAME_INT(sequence);
    SAME_INT(state);
    SAME_INT(is_running);
    SAME_INT(interval_s);
    SAME_INT(generation);
    SAME_INT(next_iteration_ms);
    SAME_INT(failures);
    SAME_INT(last.number);
    SAME_INT(last.start_ms);
    SAME_INT(last.end_ms);
    SAME_INT(last.exit_code);
    SAME_INT(last.signal);
    SAME_STR(last.outcome);
    SAME_STR(last.detail);
    SAME_STR(message_id);
    SAME_STR(message);
}

/* What the encoder is meant to preserve of a decoded status. */
static void expected(const erps_status_t *st, erps_status_t *exp) {
    *exp = *st;
    if (exp->next_iteration_ms < 0)
        exp->next_iteration_ms = 0;
    if (exp->last.number <= 0) {
        memset(&exp->last, 0, sizeof(exp->last));
    } else {
        if (exp->last.start_ms < 0)
            exp->last.start_ms = 0;
        if (exp->last.end_ms < 0)
            exp->last.end_ms = 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_record_t rec;
    erps_status_t st, exp, again;
    erps_msg_t out;
    char err[256];

    fuzz_record_split(data, size, &rec);
    err[0] = '\0';
    if (erps_status_decode(&rec.msg, &st, err, sizeof(err)) != 0) {
        FUZZ_CHECK(err[0] != '\0', "decode failed without a reason");
        fuzz_record_free(&rec);
        return 0;
    }
    fuzz_record_free(&rec); /* the status must not point into the record */

    FUZZ_CHECK((unsigned)st.state <= ERPS_STATE_FAILED, "state %d",
               (int)st.state);
    FUZZ_CHECK(erps_engine_id_valid(st.ce.subject), "subject \"%s\"",
               st.ce.subject);
    FUZZ_CHECK(erps_uuid_valid(st.ce.id), "id \"%s\"", st.ce.id);
    FUZZ_CHECK(st.sequence >= 0, "sequence %lld", (long long)st.sequence);

    /* The text the shim and agent derive from a status must not overflow. */
    erps_status_t rendered = st;
    erps_status_render_message(&rendered);
    FUZZ_CHECK(rendered.message[0] != '\0', "no message rendered");

    expected(&st, &exp);
    err[0] = '\0';
    FUZZ_CHECK(erps_status_encode(&st, &out, err, sizeof(err)) == 0,
               "re-encode failed: %s", err);
    err[0] = '\0';
    int rc = erps_status_decode(&out, &again, err, sizeof(err));
    FUZZ_CHECK(rc == 0, "re-decode of \"%.*s\" failed: %s", (int)out.value_len,
               out.value, err);
    same_status(&exp, &again);
    erps_msg_release(&out);
    return 0;
}
