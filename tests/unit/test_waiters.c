/* test_waiters.c - exactly one party takes each waiting request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
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
static int taken_by[2];

static void *taker(void *arg) {
    int who = (int)(intptr_t)arg;
    for (int i = 0; i < N; i++)
        if (erps_waiters_take(shared, many[i].id))
            taken_by[who]++;
    return NULL;
}

static void concurrent_takers_never_share(void **state) {
    pthread_t a, b;
    (void)state;
    shared = erps_waiters_new();
    for (int i = 0; i < N; i++) {
        snprintf(many[i].id, sizeof(many[i].id),
                 "00000000-0000-4000-8000-%012d", i);
        many[i].deadline_mono_ms = INT64_MAX;
        erps_waiters_add(shared, &many[i]);
    }
    pthread_create(&a, NULL, taker, (void *)0);
    pthread_create(&b, NULL, taker, (void *)1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    assert_int_equal(taken_by[0] + taken_by[1], N);
    assert_int_equal(erps_waiters_count(shared), 0);
    erps_waiters_destroy(shared);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(take_once),
        cmocka_unit_test(concurrent_takers_never_share),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
