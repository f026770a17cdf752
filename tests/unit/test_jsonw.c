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
#include "ref_events.h"

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
