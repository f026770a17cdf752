/* test_view.c - the status view only ever moves forward, per engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "view.h"

static erps_status_t status(const char *engine, int64_t seq, bool running) {
    erps_status_t st;
    memset(&st, 0, sizeof(st));
    strcpy(st.ce.subject, engine);
    st.sequence = seq;
    st.is_running = running;
    st.state = running ? ERPS_STATE_RUNNING : ERPS_STATE_STOPPED;
    return st;
}

static void newer_replaces_older_never(void **state) {
    erps_view_t *v = erps_view_new();
    erps_status_t got, held, st;
    (void)state;
    assert_int_equal(erps_view_get(v, "demo", &got), -1);

    st = status("demo", 314, true);
    assert_int_equal(erps_view_put(v, &st, NULL), 1);
    /* Issue 15: a hand-written record with ce_sequence=1 said stopped. */
    st = status("demo", 1, false);
    assert_int_equal(erps_view_put(v, &st, &held), 0);
    assert_int_equal(held.sequence, 314);
    assert_int_equal(erps_view_get(v, "demo", &got), 0);
    assert_true(got.is_running);
    assert_int_equal(got.sequence, 314);

    /* The same number again is no newer either. */
    st = status("demo", 314, false);
    assert_int_equal(erps_view_put(v, &st, NULL), 0);
    assert_int_equal(erps_view_get(v, "demo", &got), 0);
    assert_true(got.is_running);

    st = status("demo", 315, false);
    assert_int_equal(erps_view_put(v, &st, NULL), 1);
    assert_int_equal(erps_view_get(v, "demo", &got), 0);
    assert_false(got.is_running);
    assert_int_equal(erps_view_engines(v), 1);
    erps_view_destroy(v);
}

static void engines_are_numbered_apart(void **state) {
    erps_view_t *v = erps_view_new();
    erps_status_t got, st;
    (void)state;
    st = status("a", 50, true);
    assert_int_equal(erps_view_put(v, &st, NULL), 1);
    st = status("b", 2, true); /* lower than a's: another engine's count */
    assert_int_equal(erps_view_put(v, &st, NULL), 1);
    assert_int_equal(erps_view_get(v, "b", &got), 0);
    assert_int_equal(got.sequence, 2);
    assert_int_equal(erps_view_get(v, "a", &got), 0);
    assert_int_equal(got.sequence, 50);
    assert_int_equal(erps_view_get(v, "c", &got), -1);
    assert_int_equal(erps_view_engines(v), 2);
    erps_view_destroy(v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(newer_replaces_older_never),
        cmocka_unit_test(engines_are_numbered_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
