/* test_proto.c - the codec against the examples in proto/examples, and every
 * way a decoder must refuse a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "erpsync/proto.h"

/* A structured CloudEvent (the example files' form) as a Kafka binary-mode
 * message: attributes become ce_* headers, data the value, subject the key. */
typedef struct record {
    erps_msg_t msg;
    char names[16][64];
    char values[16][512];
    char *value;
    cJSON *data;
} record_t;

static cJSON *load_json(const char *name) {
    char path[1024], *buf;
    const char *dir = getenv("ERPSYNC_PROTO_DIR");
    snprintf(path, sizeof(path), "%s/examples/%s", dir ? dir : "../proto",
             name);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, fp);
    fclose(fp);
    cJSON *j = cJSON_ParseWithLength(buf, n);
    free(buf);
    assert_non_null(j);
    return j;
}

static void record_from_example(record_t *r, const char *name) {
    cJSON *ev = load_json(name), *it;
    memset(r, 0, sizeof(*r));
    cJSON_ArrayForEach(it, ev) {
        if (strcmp(it->string, "data") == 0)
            continue;
        int i = r->msg.hdr_cnt++;
        if (strcmp(it->string, "datacontenttype") == 0)
            snprintf(r->names[i], sizeof(r->names[i]), "content-type");
        else
            snprintf(r->names[i], sizeof(r->names[i]), "ce_%s", it->string);
        snprintf(r->values[i], sizeof(r->values[i]), "%s", it->valuestring);
        r->msg.hdrs[i].name = r->names[i];
        r->msg.hdrs[i].value = r->values[i];
        r->msg.hdrs[i].size = strlen(r->values[i]);
        if (strcmp(it->string, "subject") == 0) {
            r->msg.key = r->values[i];
            r->msg.key_len = strlen(r->values[i]);
        }
    }
    r->data = cJSON_DetachItemFromObject(ev, "data");
    r->value = cJSON_PrintUnformatted(r->data);
    r->msg.value = r->value;
    r->msg.value_len = strlen(r->value);
    cJSON_Delete(ev);
}

static void record_free(record_t *r) {
    free(r->value);
    cJSON_Delete(r->data);
}

/* Every header of the example is in the encoding, with the same value. */
static void assert_same_headers(const erps_msg_t *want, const erps_msg_t *got) {
    for (int i = 0; i < want->hdr_cnt; i++) {
        const erps_hdr_t *h = erps_msg_header(got, want->hdrs[i].name);
        assert_non_null(h);
        assert_int_equal(h->size, want->hdrs[i].size);
        assert_memory_equal(h->value, want->hdrs[i].value, h->size);
    }
    assert_int_equal(got->hdr_cnt, want->hdr_cnt);
    assert_int_equal(got->key_len, want->key_len);
    assert_memory_equal(got->key, want->key, got->key_len);
}

static void assert_same_value(const record_t *r, const erps_msg_t *got) {
    cJSON *v = cJSON_ParseWithLength(got->value, got->value_len);
    assert_non_null(v);
    assert_true(cJSON_Compare(v, r->data, 1));
    cJSON_Delete(v);
}

static void command_examples(void **state) {
    static const char *const files[] = {"command.change-status.json",
                                        "command.change-interval.json"};
    (void)state;
    for (size_t f = 0; f < 2; f++) {
        record_t r;
        erps_command_t cmd;
        erps_msg_t out;
        char err[256];
        record_from_example(&r, files[f]);
        assert_int_equal(erps_command_decode(&r.msg, &cmd, err, sizeof(err)),
                         0);
        assert_string_equal(cmd.ce.subject, "demo");
        assert_string_equal(cmd.principal, "alice");
        assert_true(cmd.deadline_ms > cmd.ce.time_ms);
        assert_int_equal(erps_command_encode(&cmd, &out, err, sizeof(err)), 0);
        assert_same_headers(&r.msg, &out);
        assert_same_value(&r, &out);
        erps_msg_release(&out);
        record_free(&r);
    }
}

static void command_fields(void **state) {
    record_t r;
    erps_command_t cmd;
    char err[256];
    (void)state;
    record_from_example(&r, "command.change-status.json");
    assert_int_equal(erps_command_decode(&r.msg, &cmd, err, sizeof(err)), 0);
    assert_int_equal(cmd.type, ERPS_CMD_CHANGE_STATUS);
    assert_true(cmd.run);
    assert_int_equal(cmd.deadline_ms - cmd.ce.time_ms, 8000);
    assert_string_equal(cmd.client_addr, "127.0.0.1");
    record_free(&r);
    record_from_example(&r, "command.change-interval.json");
    assert_int_equal(erps_command_decode(&r.msg, &cmd, err, sizeof(err)), 0);
    assert_int_equal(cmd.type, ERPS_CMD_CHANGE_INTERVAL);
    assert_int_equal(cmd.interval_s, 1800);
    record_free(&r);
}

/* Each command type has its WebAPI name, and a type outside the enum is
 * refused instead of being sent as another command. */
static void command_types(void **state) {
    erps_command_t cmd;
    erps_msg_t msg;
    char err[256];
    (void)state;
    assert_string_equal(erps_command_type_name(ERPS_CMD_CHANGE_STATUS),
                        "ChangeEngineStatus");
    assert_string_equal(erps_command_type_name(ERPS_CMD_CHANGE_INTERVAL),
                        "ChangeEngineInterval");
    assert_string_equal(erps_command_type_name((erps_cmd_type_t)99),
                        "unknown command");
    memset(&cmd, 0, sizeof(cmd));
    erps_ce_init(&cmd.ce, "/test", "demo");
    strcpy(cmd.principal, "alice");
    cmd.deadline_ms = cmd.ce.time_ms + 1000;
    cmd.type = (erps_cmd_type_t)3;
    assert_int_equal(erps_command_encode(&cmd, &msg, err, sizeof(err)), -1);
    assert_string_equal(err, "unknown command type 3");
    erps_msg_release(&msg);
    cmd.type = ERPS_CMD_CHANGE_INTERVAL;
    cmd.interval_s = 90;
    assert_int_equal(erps_command_encode(&cmd, &msg, err, sizeof(err)), 0);
    erps_command_t back;
    assert_int_equal(erps_command_decode(&msg, &back, err, sizeof(err)), 0);
    assert_int_equal(back.type, ERPS_CMD_CHANGE_INTERVAL);
    assert_int_equal(back.interval_s, 90);
    erps_msg_release(&msg);
}

/* Trace context: a well-formed traceparent and request id go through a
 * command's encoding; malformed ones are dropped, not refused. */
static void trace_context(void **state) {
    (void)state;
    const char *good =
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert_true(erps_traceparent_valid(good));
    assert_false(erps_traceparent_valid(""));
    assert_false(erps_traceparent_valid(
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")); /* upper */
    assert_false(erps_traceparent_valid(
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01")); /* zero id
                                                                      */
    assert_false(erps_traceparent_valid(
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
    assert_false(erps_traceparent_valid(
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")); /* version
                                                                      */
    assert_false(erps_traceparent_valid(
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"));
    assert_true(erps_request_id_valid("req-42.a_b:c"));
    assert_false(erps_request_id_valid("has space"));
    assert_false(erps_request_id_valid(""));
    char longid[80];
    memset(longid, 'a', 65);
    longid[65] = '\0';
    assert_false(erps_request_id_valid(longid));

    erps_command_t cmd, back;
    erps_msg_t msg;
    char err[256];
    memset(&cmd, 0, sizeof(cmd));
    erps_ce_init(&cmd.ce, "/test", "demo");
    strcpy(cmd.principal, "alice");
    cmd.deadline_ms = cmd.ce.time_ms + 1000;
    cmd.type = ERPS_CMD_CHANGE_STATUS;
    strcpy(cmd.ce.traceparent, good);
    strcpy(cmd.ce.request_id, "req-42");
    assert_int_equal(erps_command_encode(&cmd, &msg, err, sizeof(err)), 0);
    assert_int_equal(erps_command_decode(&msg, &back, err, sizeof(err)), 0);
    assert_string_equal(back.ce.traceparent, good);
    assert_string_equal(back.ce.request_id, "req-42");
    erps_msg_release(&msg);
    strcpy(cmd.ce.traceparent, "00-nonsense");
    strcpy(cmd.ce.request_id, "bad id");
    assert_int_equal(erps_command_encode(&cmd, &msg, err, sizeof(err)), 0);
    assert_int_equal(erps_command_decode(&msg, &back, err, sizeof(err)), 0);
    assert_string_equal(back.ce.traceparent, "");
    assert_string_equal(back.ce.request_id, "");
    erps_msg_release(&msg);
}

/* Points header name of msg at value (the test's own storage). */
static void hdr_set(erps_msg_t *m, const char *name, const char *value) {
    for (int i = 0; i < m->hdr_cnt; i++) {
        if (strcmp(m->hdrs[i].name, name) == 0) {
            m->hdrs[i].value = value;
            m->hdrs[i].size = strlen(value);
        }
    }
}

static void command_signatures(void **state) {
    static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
    static const unsigned char other[] = "0123456789abcdef0123456789abcdeF";
    record_t r;
    erps_command_t cmd;
    erps_msg_t out;
    char err[256];
    (void)state;
    record_from_example(&r, "command.change-status.json");
    assert_int_equal(erps_command_decode(&r.msg, &cmd, err, sizeof(err)), 0);
    assert_int_equal(erps_command_encode(&cmd, &out, err, sizeof(err)), 0);
    assert_int_equal(erps_command_verify(&out, key, 32, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not signed"));
    assert_int_equal(erps_command_sign(&out, key, 32), 0);
    assert_int_equal(erps_command_verify(&out, key, 32, err, sizeof(err)), 0);
    assert_int_equal(erps_command_verify(&out, other, 32, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "does not match"));
    /* Every field it covers: changed, the signature no longer holds. */
    static const char *const fields[][2] = {
        {"ce_principal", "ceo"},
        {"ce_subject", "other"},
        {"ce_id", "00000000-0000-4000-8000-000000000000"},
        {"ce_type", ERPS_TYPE_CHANGE_INTERVAL},
        {"ce_deadline", "2099-01-01T00:00:00.000Z"}};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        erps_msg_t m = out;
        hdr_set(&m, fields[i][0], fields[i][1]);
        assert_int_equal(erps_command_verify(&m, key, 32, err, sizeof(err)),
                         -1);
    }
    erps_msg_t m = out;
    m.value = "{\"Run\":false}";
    m.value_len = strlen(m.value);
    assert_int_equal(erps_command_verify(&m, key, 32, err, sizeof(err)), -1);
    m = out;
    hdr_set(&m, "ce_signature", "hmac-sha256=zz");
    assert_int_equal(erps_command_verify(&m, key, 32, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "64 hex digits"));
    erps_msg_release(&out);
    record_free(&r);
}

static void status_examples(void **state) {
    static const char *const files[] = {"status.running.json",
                                        "status.stopped.json"};
    (void)state;
    for (size_t f = 0; f < 2; f++) {
        record_t r;
        erps_status_t st;
        erps_msg_t out;
        char err[256];
        record_from_example(&r, files[f]);
        assert_int_equal(erps_status_decode(&r.msg, &st, err, sizeof(err)), 0);
        assert_int_equal(erps_status_encode(&st, &out, err, sizeof(err)), 0);
        assert_same_headers(&r.msg, &out);
        assert_same_value(&r, &out);
        /* The English message is what the engine facts say. */
        erps_status_t again = st;
        erps_status_render_message(&again);
        assert_string_equal(again.message, st.message);
        assert_string_equal(again.message_id, st.message_id);
        erps_msg_release(&out);
        record_free(&r);
    }
}

static void status_fields(void **state) {
    record_t r;
    erps_status_t st;
    char err[256];
    (void)state;
    record_from_example(&r, "status.running.json");
    assert_int_equal(erps_status_decode(&r.msg, &st, err, sizeof(err)), 0);
    assert_int_equal(st.sequence, 3);
    assert_string_equal(st.correlation_id,
                        "5f0c8a3e-2b1d-4c6e-9a7f-0d1e2f3a4b5c");
    assert_int_equal(st.state, ERPS_STATE_RUNNING);
    assert_true(st.is_running);
    assert_int_equal(st.interval_s, 900);
    assert_int_equal(st.last.number, 1);
    assert_string_equal(st.last.outcome, "Succeeded");
    record_free(&r);
}

static void audit_example(void **state) {
    record_t r;
    erps_audit_t au;
    erps_msg_t out;
    char err[256];
    (void)state;
    record_from_example(&r, "audit.applied.json");
    assert_int_equal(erps_audit_decode(&r.msg, &au, err, sizeof(err)), 0);
    assert_int_equal(au.outcome, ERPS_OUTCOME_APPLIED);
    assert_int_equal(au.before_state, ERPS_STATE_STOPPED);
    assert_int_equal(au.after_state, ERPS_STATE_RUNNING);
    assert_int_equal(erps_audit_encode(&au, &out, err, sizeof(err)), 0);
    assert_same_headers(&r.msg, &out);
    assert_same_value(&r, &out);
    erps_msg_release(&out);
    record_free(&r);
}

/* Sets header `name` of r to value (NULL removes it). */
static void set_header(record_t *r, const char *name, const char *value) {
    for (int i = 0; i < r->msg.hdr_cnt; i++) {
        if (strcmp(r->msg.hdrs[i].name, name) != 0)
            continue;
        if (!value) {
            r->msg.hdrs[i] = r->msg.hdrs[--r->msg.hdr_cnt];
            return;
        }
        snprintf(r->values[i], sizeof(r->values[i]), "%s", value);
        r->msg.hdrs[i].value = r->values[i];
        r->msg.hdrs[i].size = strlen(value);
        return;
    }
    fail_msg("no header %s", name);
}

static void expect_command_error(record_t *r, const char *fragment) {
    erps_command_t cmd;
    char err[256] = "";
    assert_int_equal(erps_command_decode(&r->msg, &cmd, err, sizeof(err)), -1);
    if (!strstr(err, fragment))
        fail_msg("error \"%s\" does not mention \"%s\"", err, fragment);
}

static void command_rejects(void **state) {
    static const struct {
        const char *header, *value, *fragment;
    } cases[] = {
        {"ce_specversion", "0.3", "ce_specversion"},
        {"ce_specversion", NULL, "missing header ce_specversion"},
        {"ce_id", "abc", "ce_id is not a UUID"},
        {"ce_id", NULL, "missing header ce_id"},
        {"ce_type", "com.example.Other", "unknown command type"},
        {"ce_subject", "other", "key does not match"},
        {"ce_subject", "bad engine!", "not a valid engine id"},
        {"ce_time", "yesterday", "ce_time"},
        {"ce_deadline", "soon", "ce_deadline"},
        {"ce_deadline", NULL, "missing header ce_deadline"},
        {"ce_principal", "", "ce_principal is empty"},
        {"ce_principal", NULL, "missing header ce_principal"},
        {"ce_source", "", "ce_source is empty"},
        {"content-type", "application/xml", "content-type"},
        {"content-type", "application/jsonp", "content-type"},
        {"ce_principal", "ceo\nApplied by alice", "control character"},
        {"ce_principal", "al\x1b[31mice", "control character"},
        {"ce_principal", "tab\there", "control character"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        record_t r;
        record_from_example(&r, "command.change-status.json");
        set_header(&r, cases[i].header, cases[i].value);
        expect_command_error(&r, cases[i].fragment);
        record_free(&r);
    }
}

/* Each attribute once: a second ce_principal (kcat -H twice) would make
 * readers disagree on who asked. And no header left unread. */
static void command_rejects_repeated_headers(void **state) {
    static const char *const names[] = {"ce_principal", "ce_id", "ce_subject",
                                        "content-type"};
    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        record_t r;
        record_from_example(&r, "command.change-status.json");
        int n = r.msg.hdr_cnt++;
        snprintf(r.names[n], sizeof(r.names[n]), "%s", names[i]);
        snprintf(r.values[n], sizeof(r.values[n]), "%s", "ceo");
        r.msg.hdrs[n].name = r.names[n];
        r.msg.hdrs[n].value = r.values[n];
        r.msg.hdrs[n].size = 3;
        expect_command_error(&r, "is repeated");
        record_free(&r);
    }
    record_t r;
    record_from_example(&r, "command.change-status.json");
    r.msg.hdr_dropped = 1;
    expect_command_error(&r, "more than 16 headers");
    record_free(&r);
}

static void command_rejects_values(void **state) {
    static const struct {
        const char *value, *fragment;
    } cases[] = {
        {"", "empty value"},
        {"{\"Run\": tru", "not valid JSON"},
        {"[true]", "not a JSON object"},
        {"{}", "\"Run\" is missing"},
        {"{\"Run\": \"true\"}", "\"Run\" is not a boolean"},
        {"{\"Run\": 1}", "\"Run\" is not a boolean"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        record_t r;
        record_from_example(&r, "command.change-status.json");
        r.msg.value = cases[i].value;
        r.msg.value_len = strlen(cases[i].value);
        expect_command_error(&r, cases[i].fragment);
        record_free(&r);
    }
    /* Property names match case-insensitively, as in the WebAPI. */
    record_t r;
    erps_command_t cmd;
    char err[256];
    record_from_example(&r, "command.change-status.json");
    r.msg.value = "{\"rUN\": false}";
    r.msg.value_len = strlen(r.msg.value);
    assert_int_equal(erps_command_decode(&r.msg, &cmd, err, sizeof(err)), 0);
    assert_false(cmd.run);

    /* Oversized values are refused before parsing. */
    size_t big = 70 * 1024;
    char *v = malloc(big);
    memset(v, ' ', big);
    v[0] = '{';
    v[big - 1] = '}';
    r.msg.value = v;
    r.msg.value_len = big;
    expect_command_error(&r, "larger than");
    free(v);

    /* A header with a NUL byte inside is refused, not truncated. */
    r.msg.value = "{\"Run\": true}";
    r.msg.value_len = strlen(r.msg.value);
    for (int i = 0; i < r.msg.hdr_cnt; i++)
        if (strcmp(r.msg.hdrs[i].name, "ce_principal") == 0)
            r.msg.hdrs[i].size = strlen("alice") + 1;
    expect_command_error(&r, "NUL");
    record_free(&r);

    record_from_example(&r, "command.change-interval.json");
    r.msg.value = "{\"Interval\": \"00:00:00\"}";
    r.msg.value_len = strlen(r.msg.value);
    expect_command_error(&r, "must be positive");
    r.msg.value = "{\"Interval\": \"soon\"}";
    r.msg.value_len = strlen(r.msg.value);
    expect_command_error(&r, "not a TimeSpan");
    record_free(&r);
}

static void status_rejects(void **state) {
    record_t r;
    erps_status_t st;
    char err[256];
    (void)state;
    record_from_example(&r, "status.running.json");
    static const char *const bad_seq[] = {
        "x",
        "-1",
        "+1",
        "",
        "1 ",
        "99999999999999999999",
        "9223372036854775808",   /* INT64_MAX + 1, 19 digits */
        "00000000000000000004"}; /* 20 digits, even if small */
    for (size_t i = 0; i < sizeof(bad_seq) / sizeof(bad_seq[0]); i++) {
        set_header(&r, "ce_sequence", bad_seq[i]);
        assert_int_equal(erps_status_decode(&r.msg, &st, err, sizeof(err)), -1);
    }
    set_header(&r, "ce_sequence", "4");
    set_header(&r, "ce_type", ERPS_TYPE_AUDIT);
    assert_int_equal(erps_status_decode(&r.msg, &st, err, sizeof(err)), -1);
    set_header(&r, "ce_type", ERPS_TYPE_STATUS);
    r.msg.value = "{\"IsRunning\": true}";
    r.msg.value_len = strlen(r.msg.value);
    assert_int_equal(erps_status_decode(&r.msg, &st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "StatusMessage"));
    record_free(&r);
}

/* ce_sequence sorts as text the way it sorts as a number (CloudEvents
 * sequence extension), and readers still take the unpadded form. */
static void status_sequence_sorts_as_text(void **state) {
    static const int64_t seqs[] = {
        0, 9, 10, 99, 100, 314, 999999999, INT64_MAX - 1, INT64_MAX};
    char prev[32] = "", err[256];
    record_t r;
    erps_status_t st;
    (void)state;
    record_from_example(&r, "status.running.json");
    assert_int_equal(erps_status_decode(&r.msg, &st, err, sizeof(err)), 0);
    for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
        erps_msg_t out;
        erps_status_t back;
        st.sequence = seqs[i];
        assert_int_equal(erps_status_encode(&st, &out, err, sizeof(err)), 0);
        const erps_hdr_t *h = erps_msg_header(&out, "ce_sequence");
        assert_non_null(h);
        assert_int_equal(h->size, ERPS_SEQUENCE_DIGITS);
        char text[32];
        memcpy(text, h->value, h->size);
        text[h->size] = '\0';
        assert_true(strcmp(prev, text) < 0);
        memcpy(prev, text, sizeof(text));
        assert_int_equal(erps_status_decode(&out, &back, err, sizeof(err)), 0);
        assert_true(back.sequence == seqs[i]);
        erps_msg_release(&out);
    }
    set_header(&r, "ce_sequence", "314");
    assert_int_equal(erps_status_decode(&r.msg, &st, err, sizeof(err)), 0);
    assert_int_equal(st.sequence, 314);
    record_free(&r);
}

static void timespans(void **state) {
    static const struct {
        const char *in;
        int64_t secs;
    } ok[] = {
        {"00:15:00", 900},   {"1.00:00:00", 86400}, {"7.00:00:00", 604800},
        {"23:59:59", 86399}, {"00:01", 60},         {"2", 172800},
        {"PT15M", 900},      {"PT1H30M", 5400},     {"P1D", 86400},
        {"P1DT2H", 93600},   {"pt45s", 45},         {"P1W", 604800},
        {"-00:00:10", -10}};
    static const char *const bad[] = {
        "",    "00:60:00", "24:00:00",    "00:15:00.5",
        "P",   "PT",       "PT1.5M",      "PT1M1H",
        "P1H", "abc",      "1.2.3:00:00", "PT99999999999999999999S"};
    char out[ERPS_TIMESPAN_LEN], err[256];
    int64_t s;
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (erps_timespan_parse(ok[i].in, &s, err, sizeof(err)))
            fail_msg("%s: %s", ok[i].in, err);
        assert_int_equal(s, ok[i].secs);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (erps_timespan_parse(bad[i], &s, err, sizeof(err)) == 0)
            fail_msg("\"%s\" parsed as %lld", bad[i], (long long)s);
    }
    erps_timespan_format(900, out);
    assert_string_equal(out, "00:15:00");
    erps_timespan_format(93784, out);
    assert_string_equal(out, "1.02:03:04");
    erps_timespan_format(-93784, out);
    assert_string_equal(out, "-1.02:03:04");
    /* no magnitude in int64_t: negating it was undefined behaviour */
    erps_timespan_format(INT64_MIN, out);
    assert_string_equal(out, "-106751991167300.15:30:08");
    erps_duration_format(900, out);
    assert_string_equal(out, "PT15M");
    erps_duration_format(93784, out);
    assert_string_equal(out, "P1DT2H3M4S");
    erps_duration_format(0, out);
    assert_string_equal(out, "PT0S");
    erps_duration_format(86400, out);
    assert_string_equal(out, "P1D");
}

/* The WebAPI's numbers, and .NET's [Flags] text for each. */
static void rights(void **state) {
    static const struct {
        unsigned mask;
        const char *text;
    } table[] =
        {
            {0, "None"},
            {1, "Select"},
            {2, "Update"},
            {3, "UR"},
            {4, "Insert"},
            {5, "RI"},
            {7, "URI"},
            {8, "Delete"},
            {11, "UDR"},
            {15, "FULL"},
            {16, "Filtering"},
            {17, "RF"},
            {20, "FI"},
            {32, "RestrictedUpdate"},
            {34, "URU"},
            {38, "WRITE"},
            {6, "Update, Insert"}, /* no name: the parts, smallest first */
            {31, "UDR, FI"},       /* greedy from the largest, as .NET */
            {40, "Delete, RestrictedUpdate"},
            {63, "Delete, RF, WRITE"}, /* WRITE (38) first, then RF, Delete */
            {64, "64"},                /* a bit with no name: the number */
        },
      field[] = {
          {0, "None"},
          {1, "Read"},
          {2, "Write"},
          {3, "Update"},
          {64, "UIHintMandatory"},
          {128, "UIHintReadOnly"},
          {129, "Read, UIHintReadOnly"},
          {195, "Update, UIHintMandatory, UIHintReadOnly"},
          {4, "4"},
      };
    char out[96];
    (void)state;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        erps_table_right_name(table[i].mask, out, sizeof(out));
        assert_string_equal(out, table[i].text);
    }
    for (size_t i = 0; i < sizeof(field) / sizeof(field[0]); i++) {
        erps_field_right_name(field[i].mask, out, sizeof(out));
        assert_string_equal(out, field[i].text);
    }
    assert_int_equal(ERPS_TR_FULL, 15);
    assert_int_equal(ERPS_FR_UPDATE, 3);
}

static void engine_ids(void **state) {
    char long_id[200];
    (void)state;
    assert_true(erps_engine_id_valid("demo"));
    assert_true(erps_engine_id_valid("erp-1.prod_A"));
    assert_false(erps_engine_id_valid(""));
    assert_false(erps_engine_id_valid("a b"));
    assert_false(erps_engine_id_valid("a/b"));
    memset(long_id, 'a', 129);
    long_id[129] = '\0';
    assert_false(erps_engine_id_valid(long_id));
    long_id[128] = '\0';
    assert_true(erps_engine_id_valid(long_id));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(command_examples),
        cmocka_unit_test(command_fields),
        cmocka_unit_test(command_types),
        cmocka_unit_test(trace_context),
        cmocka_unit_test(status_examples),
        cmocka_unit_test(status_fields),
        cmocka_unit_test(audit_example),
        cmocka_unit_test(command_rejects),
        cmocka_unit_test(command_rejects_repeated_headers),
        cmocka_unit_test(command_signatures),
        cmocka_unit_test(command_rejects_values),
        cmocka_unit_test(status_rejects),
        cmocka_unit_test(status_sequence_sorts_as_text),
        cmocka_unit_test(timespans),
        cmocka_unit_test(rights),
        cmocka_unit_test(engine_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
