/* test_waiters.c - exactly one party takes each waiting request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "waiters.h"

static void take_once(void **state) {
    erps_waiters_t *t = erps_waiters_new();
    erps_waiter_t a, b;
    (void)state;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    strcpy(a.id, "5f0c8a3e-2b1d-4c6e-9a7f-0d1e2f3a4b5c");
    strcpy(b.id, "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
    a.deadline_mono_ms = 100;
    b.deadline_mono_ms = 200;
    erps_waiters_add(t, &a);
    erps_waiters_add(t, &b);
    assert_int_equal(erps_waiters_count(t), 2);
    assert_ptr_equal(erps_waiters_take(t, a.id), &a);
    assert_null(erps_waiters_take(t, a.id));
    assert_null(erps_waiters_take(t, "00000000-0000-4000-8000-000000000000"));

    erps_waiter_t *out[4];
    assert_int_equal(erps_waiters_take_expired(t, 199, out, 4), 0);
    assert_int_equal(erps_waiters_take_expired(t, 200, out, 4), 1);
    assert_ptr_equal(out[0], &b);
    assert_int_equal(erps_waiters_count(t), 0);
    erps_waiters_destroy(t);
}

#define N 4000
static erps_waiter_t many[N];
static erps_waiters_t *shared;
static _Atomic int taken[N]; /* by whom: times each waiter came out */
static pthread_barrier_t go;

static void count(const erps_waiter_t *w) {
    atomic_fetch_add(&taken[w - many], 1);
}

/* The bus thread: takes each waiter by id, as its status arrives. */
static void *by_id(void *arg) {
    (void)arg;
    pthread_barrier_wait(&go);
    for (int i = N - 1; i >= 0; i--) {
        erps_waiter_t *w = erps_waiters_take(shared, many[i].id);
        if (w)
            count(w);
    }
    return NULL;
}

/* The deadline sweep: takes whatever is past its deadline, a few at a time,
 * from the other end of the table. */
static void *by_deadline(void *arg) {
    erps_waiter_t *out[7];
    (void)arg;
    pthread_barrier_wait(&go);
    for (int got;
         (got = erps_waiters_take_expired(shared, INT64_MAX, out, 7)) > 0;)
        for (int i = 0; i < got; i++)
            count(out[i]);
    return NULL;
}

/* A status and a deadline racing for the same requests: each request is
 * answered exactly once, by one of them. A take or a sweep that is not
 * atomic hands one waiter to both (taken twice) or to neither (lost). */
static void status_and_deadline_race(void **state) {
    pthread_t a, b;
    (void)state;
    for (int round = 0; round < 20; round++) {
        shared = erps_waiters_new();
        for (int i = 0; i < N; i++) {
            snprintf(many[i].id, sizeof(many[i].id),
                     "00000000-0000-4000-8000-%012d", i);
            many[i].deadline_mono_ms = 0;
            atomic_store(&taken[i], 0);
            erps_waiters_add(shared, &many[i]);
        }
        pthread_barrier_init(&go, NULL, 2);
        pthread_create(&a, NULL, by_id, NULL);
        pthread_create(&b, NULL, by_deadline, NULL);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        pthread_barrier_destroy(&go);
        for (int i = 0; i < N; i++)
            if (atomic_load(&taken[i]) != 1)
                fail_msg("round %d: waiter %d taken %d times", round, i,
                         atomic_load(&taken[i]));
        assert_int_equal(erps_waiters_count(shared), 0);
        erps_waiters_destroy(shared);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(take_once),
        cmocka_unit_test(status_and_deadline_race),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
