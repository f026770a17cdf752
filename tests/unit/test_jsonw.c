/* test_jsonw.c - the JSON text writer (common/jsonw.c) against cJSON:
 * random trees, formatted and not, and the status and audit events the
 * encoders write, byte for byte what cJSON printed for the trees they built
 * before, with every kind of byte in their strings and every number size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "erpsync/jsonw.h"
#include "erpsync/proto.h"
#include "erpsync/util.h"
#include "msg_internal.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t next(void) { /* xorshift64* */
    rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
    return rng * 2685821657736338717ULL;
}

/* Text with what JSON must escape, UTF-8, DEL and plain letters. */
static void random_text(char *out, size_t size) {
    static const char *const pieces[] = {"a",
                                         "Z",
                                         " ",
                                         "\"",
                                         "\\",
                                         "/",
                                         "\b",
                                         "\f",
                                         "\n",
                                         "\r",
                                         "\t",
                                         "\x01",
                                         "\x1f",
                                         "\x7f",
                                         "\xc3\xa9",
                                         "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80",
                                         "{}",
                                         "\xff",
                                         "0",
                                         "%s",
                                         "<&>"};
    size_t len = 0, want = next() % (size - 1);
    while (len < want) {
        const char *p = pieces[next() % (sizeof(pieces) / sizeof(pieces[0]))];
        size_t n = strlen(p);
        if (len + n > want)
            break;
        memcpy(out + len, p, n);
        len += n;
    }
    out[len] = '\0';
}

static int64_t random_int(void) {
    static const int64_t edges[] = {0,
                                    1,
                                    -1,
                                    999999999999999LL,
                                    1000000000000000LL,
                                    -999999999999999LL,
                                    -1000000000000000LL,
                                    1234567890123456LL,
                                    9007199254740993LL,
                                    INT64_MAX,
                                    INT64_MIN,
                                    2147483647,
                                    2147483648LL,
                                    -2147483649LL};
    switch (next() % 4) {
    case 0:
        return edges[next() % (sizeof(edges) / sizeof(edges[0]))];
    case 1:
        return (int64_t)(next() % 100000);
    case 2:
        return (int64_t)next(); /* any, negative too */
    default:
        return (int64_t)(next() % 2000000000000000ULL) - 1000000000000000;
    }
}

static int64_t random_time(void) {
    switch (next() % 3) {
    case 0:
        return 0; /* null */
    case 1:
        return -(int64_t)(next() % 1000);
    default:
        return (int64_t)(next() % 4102444800000ULL);
    }
}

/* ---- what the encoders built before jsonw.c, as they built it ---- */

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

/* ---- the comparisons ---- */

static void random_status(erps_status_t *st) {
    memset(st, 0, sizeof(*st));
    erps_ce_init(&st->ce, "/erpsync/test", "engine-1");
    random_text(st->ce.subject, sizeof(st->ce.subject));
    st->state = (erps_state_t)(next() % 5);
    st->is_running = next() & 1;
    st->interval_s =
        (int64_t)(next() % (next() % 3 ? 864000 : 10000000000000ULL));
    st->generation = random_int();
    st->next_iteration_ms = random_time();
    st->failures = random_int();
    st->last.number = next() % 3 ? (int64_t)(next() % 100) : random_int();
    st->last.start_ms = random_time();
    st->last.end_ms = random_time();
    st->last.exit_code = (int)random_int();
    st->last.signal = (int)(next() % 65);
    random_text(st->last.outcome, sizeof(st->last.outcome));
    random_text(st->last.detail, sizeof(st->last.detail));
    random_text(st->message_id, sizeof(st->message_id));
    random_text(st->message, sizeof(st->message));
}

static void status_as_cjson_printed(void **state) {
    erps_status_t st;
    erps_msg_t msg;
    char err[256];
    (void)state;
    for (int i = 0; i < 100000; i++) {
        random_status(&st);
        assert_int_equal(erps_status_encode(&st, &msg, err, sizeof(err)), 0);
        char *want = ref_status(&st);
        assert_non_null(want);
        assert_int_equal(msg.value_len, strlen(want));
        assert_memory_equal(msg.value, want, msg.value_len);
        cJSON_free(want);
        erps_msg_release(&msg);
    }
}

static void audit_as_cjson_printed(void **state) {
    erps_audit_t au;
    erps_msg_t msg;
    char err[256];
    (void)state;
    for (int i = 0; i < 100000; i++) {
        memset(&au, 0, sizeof(au));
        erps_ce_init(&au.ce, "/erpsync/test", "engine-1");
        au.ce.time_ms = random_time() + 1;
        au.outcome = (erps_outcome_t)(1 + next() % 5);
        erps_uuid_new(au.command_id);
        random_text(au.command_type, sizeof(au.command_type));
        random_text(au.principal, sizeof(au.principal));
        random_text(au.client_addr, sizeof(au.client_addr));
        random_text(au.reason, sizeof(au.reason));
        au.before_state = (erps_state_t)(next() % 5);
        au.after_state = (erps_state_t)(next() % 5);
        au.before_interval_s = (int64_t)(next() % 864000);
        au.after_interval_s = (int64_t)(next() % 10000000000000ULL);
        au.generation = random_int();
        assert_int_equal(erps_audit_encode(&au, &msg, err, sizeof(err)), 0);
        char *want = ref_audit(&au);
        assert_int_equal(msg.value_len, strlen(want));
        assert_memory_equal(msg.value, want, msg.value_len);
        cJSON_free(want);
        erps_msg_release(&msg);
    }
}

/* A random tree, built both ways at once: objects, arrays, empties,
 * nesting, every scalar. */
static cJSON *random_tree(erps_jw_t *w, const char *name, int depth) {
    char text[48];
    unsigned kind = depth >= 5 ? 2 + (unsigned)(next() % 4) : next() % 6;
    if (kind <= 1) {
        int n = (int)(next() % 5);
        cJSON *c = kind == 0 ? cJSON_CreateObject() : cJSON_CreateArray();
        if (kind == 0)
            erps_jw_object(w, name);
        else
            erps_jw_array(w, name);
        for (int i = 0; i < n; i++) {
            random_text(text, sizeof(text));
            cJSON *item = random_tree(w, kind == 0 ? text : NULL, depth + 1);
            if (kind == 0)
                cJSON_AddItemToObject(c, text, item);
            else
                cJSON_AddItemToArray(c, item);
        }
        if (kind == 0)
            erps_jw_object_end(w);
        else
            erps_jw_array_end(w);
        return c;
    }
    if (kind == 2) {
        random_text(text, sizeof(text));
        erps_jw_string(w, name, text);
        return cJSON_CreateString(text);
    }
    if (kind == 3) {
        int64_t v = random_int();
        erps_jw_int(w, name, v);
        return cJSON_CreateNumber((double)v);
    }
    if (kind == 4) {
        bool b = next() & 1;
        erps_jw_bool(w, name, b);
        return cJSON_CreateBool(b);
    }
    erps_jw_null(w, name);
    return cJSON_CreateNull();
}

static void trees_as_cjson_prints_them(void **state) {
    (void)state;
    for (int i = 0; i < 20000; i++) {
        erps_jw_t w;
        int pretty = i & 1;
        size_t len;
        erps_jw_init(&w, pretty);
        cJSON *root = random_tree(&w, NULL, 0);
        char *got = erps_jw_take(&w, &len);
        char *want = pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
        assert_non_null(got);
        assert_non_null(want);
        assert_string_equal(got, want);
        assert_int_equal(len, strlen(want));
        free(got);
        cJSON_free(want);
        cJSON_Delete(root);
    }
}

/* Refused: too deep, left open, closed with the wrong bracket. */
static void writer_refuses(void **state) {
    erps_jw_t w;
    (void)state;
    erps_jw_init(&w, 0);
    for (int i = 0; i < 20; i++)
        erps_jw_array(&w, NULL);
    assert_null(erps_jw_take(&w, NULL));
    erps_jw_init(&w, 1);
    erps_jw_object(&w, NULL);
    assert_null(erps_jw_take(&w, NULL));
    erps_jw_init(&w, 0);
    erps_jw_object(&w, NULL);
    erps_jw_array_end(&w);
    assert_null(erps_jw_take(&w, NULL));
    erps_jw_init(&w, 0);
    erps_jw_object_end(&w);
    assert_null(erps_jw_take(&w, NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_as_cjson_printed),
        cmocka_unit_test(audit_as_cjson_printed),
        cmocka_unit_test(trees_as_cjson_prints_them),
        cmocka_unit_test(writer_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
