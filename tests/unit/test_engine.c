/* test_engine.c - the engine's state machine, driven by a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "erpsync/engine.h"

#define MIN (60 * 1000)

typedef struct seen {
    int n;
    erps_engine_event_t ev[32];
    erps_state_t state[32];
    char cause[32][40];
} seen_t;

static void record(void *opaque, const erps_engine_t *eng,
                   erps_engine_event_t ev, const char *cause) {
    seen_t *s = opaque;
    assert_true(s->n < 32);
    s->ev[s->n] = ev;
    s->state[s->n] = erps_engine_state(eng);
    strncpy(s->cause[s->n], cause, sizeof(s->cause[0]) - 1);
    s->n++;
}

static erps_engine_t *new_engine(seen_t *s, bool run, int64_t interval_s) {
    erps_engine_saved_t saved;
    memset(&saved, 0, sizeof(saved));
    memset(s, 0, sizeof(*s));
    saved.desired_run = run;
    saved.interval_s = interval_s;
    erps_engine_t *eng = erps_engine_new(&saved, record, s);
    assert_non_null(eng);
    return eng;
}

static void start_and_stop(void **state) {
    seen_t s;
    (void)state;
    erps_engine_t *eng = new_engine(&s, false, 900);
    assert_int_equal(erps_engine_state(eng), ERPS_STATE_STOPPED);

    assert_int_equal(erps_engine_set_run(eng, true, 1000, "cmd-1"), 1);
    assert_int_equal(s.n, 2); /* Starting, then Running: each its own event */
    assert_int_equal(s.state[0], ERPS_STATE_STARTING);
    assert_int_equal(s.state[1], ERPS_STATE_RUNNING);
    assert_string_equal(s.cause[0], "cmd-1");
    assert_string_equal(s.cause[1], "cmd-1");
    assert_int_equal(erps_engine_next_iteration(eng), 1000);

    /* Asking again changes nothing and says so. */
    assert_int_equal(erps_engine_set_run(eng, true, 1001, "cmd-2"), 0);
    assert_int_equal(s.n, 2);

    assert_int_equal(erps_engine_set_run(eng, false, 2000, "cmd-3"), 1);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.state[2], ERPS_STATE_STOPPED);
    assert_int_equal(erps_engine_set_run(eng, false, 2001, "cmd-4"), 0);

    erps_engine_saved_t sv;
    erps_engine_saved(eng, &sv);
    assert_false(sv.desired_run);
    assert_int_equal(sv.generation, 2);
    erps_engine_destroy(eng);
}

static void iterations_follow_the_interval(void **state) {
    seen_t s;
    (void)state;
    erps_engine_t *eng = new_engine(&s, false, 900);
    erps_engine_set_run(eng, true, 0, "c");
    s.n = 0;
    /* First iteration at once, then every 15 minutes from its start. */
    assert_int_equal(erps_engine_tick(eng, 0), 900 * 1000);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ev[0], ERPS_ENGINE_EV_ITERATION);
    assert_int_equal(erps_engine_tick(eng, 899 * 1000), 900 * 1000);
    assert_int_equal(s.n, 1);
    assert_int_equal(erps_engine_tick(eng, 900 * 1000), 1800 * 1000);
    assert_int_equal(s.n, 2);

    /* A tick an hour late runs one iteration, not four: no catch-up burst. */
    assert_int_equal(erps_engine_tick(eng, 5400 * 1000), 6300 * 1000);
    assert_int_equal(s.n, 3);
    erps_status_t st;
    memset(&st, 0, sizeof(st));
    erps_engine_fill_status(eng, &st);
    assert_int_equal(st.last.number, 3);
    assert_int_equal(st.last.start_ms, 5400 * 1000);
    assert_string_equal(st.last.outcome, "Succeeded");
    assert_int_equal(st.next_iteration_ms, 6300 * 1000);
    assert_string_equal(st.message_id, "SR_ERPSYNC_RUNNING");
    assert_true(st.is_running);

    /* Stopped engines do not iterate. */
    erps_engine_set_run(eng, false, 5500 * 1000, "c2");
    assert_int_equal(erps_engine_tick(eng, 99999 * 1000), INT64_MAX);
    erps_engine_destroy(eng);
}

/* A runner whose job keeps running until the test says it ended. */
static int background_runner(void *opaque, int64_t number,
                             erps_iteration_t *res) {
    (void)opaque;
    (void)number;
    (void)res;
    return 0;
}

static void stop_waits_for_the_running_iteration(void **state) {
    seen_t s;
    (void)state;
    erps_engine_t *eng = new_engine(&s, false, 60);
    erps_engine_set_runner(eng, background_runner, NULL);
    erps_engine_set_run(eng, true, 0, "start");
    erps_engine_tick(eng, 0);
    assert_true(erps_engine_iterating(eng));
    s.n = 0;

    assert_int_equal(erps_engine_set_run(eng, false, 10, "stop"), 1);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.state[0], ERPS_STATE_STOPPING);
    erps_status_t st;
    memset(&st, 0, sizeof(st));
    erps_engine_fill_status(eng, &st);
    assert_false(st.is_running);
    assert_string_equal(st.message_id, "SR_ERPSYNC_STOPPING");

    erps_iteration_t res;
    memset(&res, 0, sizeof(res));
    strcpy(res.outcome, "Succeeded");
    erps_engine_iteration_done(eng, &res, 5000);
    assert_int_equal(s.n, 3); /* the iteration, then Stopped */
    assert_int_equal(s.ev[1], ERPS_ENGINE_EV_ITERATION);
    assert_int_equal(s.state[2], ERPS_STATE_STOPPED);
    assert_string_equal(s.cause[2], "stop"); /* Stopped names who asked */
    erps_engine_destroy(eng);
}

static void run_while_stopping_cancels_the_stop(void **state) {
    seen_t s;
    (void)state;
    erps_engine_t *eng = new_engine(&s, false, 60);
    erps_engine_set_runner(eng, background_runner, NULL);
    erps_engine_set_run(eng, true, 0, "a");
    erps_engine_tick(eng, 0);
    erps_engine_set_run(eng, false, 1, "b");
    s.n = 0;
    assert_int_equal(erps_engine_set_run(eng, true, 2, "c"), 1);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.state[0], ERPS_STATE_RUNNING);
    erps_iteration_t res;
    memset(&res, 0, sizeof(res));
    strcpy(res.outcome, "Failed");
    erps_engine_iteration_done(eng, &res, 3);
    assert_int_equal(erps_engine_state(eng), ERPS_STATE_RUNNING);
    erps_engine_saved_t sv;
    erps_engine_saved(eng, &sv);
    assert_int_equal(sv.failures, 1);
    assert_int_equal(erps_engine_next_iteration(eng), 60 * 1000);
    erps_engine_destroy(eng);
}

static int failing_runner(void *opaque, int64_t number, erps_iteration_t *res) {
    (void)opaque;
    (void)number;
    strcpy(res->outcome, "NotStarted");
    strcpy(res->detail, "/opt/sync: No such file or directory");
    return -1;
}

static void job_that_cannot_start_fails_the_engine(void **state) {
    seen_t s;
    (void)state;
    erps_engine_t *eng = new_engine(&s, false, 60);
    erps_engine_set_runner(eng, failing_runner, NULL);
    erps_engine_set_run(eng, true, 0, "a");
    s.n = 0;
    assert_int_equal(erps_engine_tick(eng, 0), INT64_MAX);
    assert_int_equal(erps_engine_state(eng), ERPS_STATE_FAILED);
    erps_status_t st;
    memset(&st, 0, sizeof(st));
    erps_engine_fill_status(eng, &st);
    assert_false(st.is_running);
    assert_non_null(strstr(st.message, "No such file"));
    /* Run=true restarts a failed engine; Run=false clears it to Stopped. */
    assert_int_equal(erps_engine_set_run(eng, false, 1, "b"), 1);
    assert_int_equal(erps_engine_state(eng), ERPS_STATE_STOPPED);
    erps_engine_destroy(eng);
}

static void interval_change_reschedules_from_last_start(void **state) {
    seen_t s;
    (void)state;
    erps_engine_t *eng = new_engine(&s, false, 900);
    erps_engine_set_run(eng, true, 0, "a");
    erps_engine_tick(eng, 0);
    s.n = 0;
    assert_int_equal(erps_engine_set_interval(eng, 300, 100 * 1000, "b"), 1);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ev[0], ERPS_ENGINE_EV_INTERVAL);
    assert_int_equal(erps_engine_next_iteration(eng), 300 * 1000);
    /* Shorter than the time already passed: the next one is due now. */
    assert_int_equal(erps_engine_set_interval(eng, 60, 200 * 1000, "c"), 1);
    assert_int_equal(erps_engine_next_iteration(eng), 200 * 1000);
    assert_int_equal(erps_engine_set_interval(eng, 60, 200 * 1000, "d"), 0);
    erps_engine_destroy(eng);
}

static void resume_after_restart(void **state) {
    seen_t s;
    (void)state;
    erps_engine_t *eng = new_engine(&s, true, 900);
    erps_engine_resume(eng, 42);
    assert_int_equal(erps_engine_state(eng), ERPS_STATE_RUNNING);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.cause[1], "");
    erps_engine_destroy(eng);

    eng = new_engine(&s, false, 900);
    erps_engine_resume(eng, 42);
    assert_int_equal(erps_engine_state(eng), ERPS_STATE_STOPPED);
    assert_int_equal(s.n, 0);
    erps_engine_destroy(eng);
}

static int failing_sync_runner(void *opaque, int64_t number,
                               erps_iteration_t *res) {
    (void)opaque;
    (void)number;
    strcpy(res->outcome, "Failed");
    res->exit_code = 1;
    return 1;
}

static void failures_back_off(void **state) {
    seen_t s;
    (void)state;
    erps_engine_t *eng = new_engine(&s, false, 60);
    erps_engine_set_runner(eng, failing_sync_runner, NULL);
    erps_engine_set_run(eng, true, 0, "a");
    /* Waits of 1, 2, 4, 8, 8 intervals after 1..5 consecutive failures. */
    static const int64_t waits[] = {60, 120, 240, 480, 480};
    int64_t now = 0;
    for (size_t i = 0; i < 5; i++) {
        int64_t next = erps_engine_tick(eng, now);
        assert_int_equal(next - now, waits[i] * 1000);
        now = next;
    }
    erps_status_t st;
    memset(&st, 0, sizeof(st));
    erps_engine_fill_status(eng, &st);
    assert_int_equal(st.failures, 5);
    assert_string_equal(st.last.outcome, "Failed");
    erps_engine_destroy(eng);
}

static void restart_keeps_the_slot(void **state) {
    seen_t s;
    erps_engine_saved_t saved;
    (void)state;
    memset(&saved, 0, sizeof(saved));
    saved.desired_run = true;
    saved.interval_s = 900;
    saved.last.number = 4;
    saved.last.start_ms = 1000 * 1000;
    strcpy(saved.last.outcome, "Succeeded");
    erps_engine_t *eng = erps_engine_new(&saved, record, &s);
    memset(&s, 0, sizeof(s));
    /* Restarted 5 minutes after iteration 4 began: 5 ran, not a 5th now. */
    erps_engine_resume(eng, 1300 * 1000);
    assert_int_equal(erps_engine_next_iteration(eng), 1900 * 1000);
    assert_int_equal(erps_engine_tick(eng, 1300 * 1000), 1900 * 1000);
    assert_int_equal(s.n, 2); /* Starting, Running; no iteration */
    erps_engine_tick(eng, 1900 * 1000);
    erps_status_t st;
    memset(&st, 0, sizeof(st));
    erps_engine_fill_status(eng, &st);
    assert_int_equal(st.last.number, 5);
    erps_engine_destroy(eng);

    /* Restarted long after: the overdue iteration runs at once, once. */
    eng = erps_engine_new(&saved, record, &s);
    erps_engine_resume(eng, 99999 * 1000);
    assert_int_equal(erps_engine_next_iteration(eng), 99999 * 1000);
    erps_engine_destroy(eng);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(start_and_stop),
        cmocka_unit_test(iterations_follow_the_interval),
        cmocka_unit_test(stop_waits_for_the_running_iteration),
        cmocka_unit_test(run_while_stopping_cancels_the_stop),
        cmocka_unit_test(job_that_cannot_start_fails_the_engine),
        cmocka_unit_test(interval_change_reschedules_from_last_start),
        cmocka_unit_test(resume_after_restart),
        cmocka_unit_test(failures_back_off),
        cmocka_unit_test(restart_keeps_the_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
