/* test_fence.c - reads wait for the view, batched behind one query. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "fence.h"

#define PARTS 4

static void read_on(erps_waiter_t *w, int32_t partition, int64_t deadline) {
    memset(w, 0, sizeof(*w));
    w->partition = partition;
    w->deadline_mono_ms = deadline;
}

/* A read that arrives while a query is in flight waits for the next one:
 * the query under way may have been answered before it arrived. */
static void late_reads_join_the_next_batch(void **state) {
    erps_fence_t *f = erps_fence_new(PARTS);
    erps_waiter_t a, b, c, *out[4];
    unsigned char want[PARTS];
    int64_t deadline, end[PARTS] = {0, 10, 0, 7};
    int64_t read_to[PARTS] = {-1, -1, -1, -1};
    (void)state;

    read_on(&a, 1, 500);
    read_on(&b, 3, 400);
    erps_fence_add(f, &a);
    erps_fence_add(f, &b);
    assert_int_equal(erps_fence_begin(f, 0, want, &deadline), 2);
    assert_int_equal(deadline, 400);
    assert_true(want[1] && want[3] && !want[0] && !want[2]);

    read_on(&c, 1, 600);
    erps_fence_add(f, &c); /* while the query is in flight */
    erps_fence_end(f, end);
    assert_int_equal(erps_fence_waiting(f), 2);
    assert_int_equal(a.target, 10);
    assert_int_equal(b.target, 7);
    assert_int_equal(c.target, 0);

    /* Ready only once the view has read the partition up to the target. */
    assert_int_equal(erps_fence_take_ready(f, read_to, out, 4), 0);
    read_to[1] = 9;
    read_to[3] = 7;
    assert_int_equal(erps_fence_take_ready(f, read_to, out, 4), 1);
    assert_ptr_equal(out[0], &b);
    read_to[1] = 10;
    assert_int_equal(erps_fence_take_ready(f, read_to, out, 4), 1);
    assert_ptr_equal(out[0], &a);

    /* c was never asked about: it is the next batch, alone. */
    assert_int_equal(erps_fence_begin(f, 0, want, &deadline), 1);
    assert_true(want[1] && !want[3]);
    assert_int_equal(deadline, 600);
    end[1] = 12;
    erps_fence_end(f, end);
    assert_int_equal(erps_fence_take_ready(f, read_to, out, 4), 0);
    read_to[1] = 12;
    assert_int_equal(erps_fence_take_ready(f, read_to, out, 4), 1);
    assert_ptr_equal(out[0], &c);
    assert_int_equal(erps_fence_waiting(f), 0);
    erps_fence_destroy(f);
}

static void a_failed_query_answers_its_batch(void **state) {
    erps_fence_t *f = erps_fence_new(PARTS);
    erps_waiter_t a, *out[4];
    unsigned char want[PARTS];
    int64_t deadline, read_to[PARTS] = {-1, -1, -1, -1};
    (void)state;
    read_on(&a, 0, 100);
    erps_fence_add(f, &a);
    assert_int_equal(erps_fence_begin(f, 0, want, &deadline), 1);
    erps_fence_fail(f, "Kafka is unavailable: no leader");
    assert_int_equal(erps_fence_take_ready(f, read_to, out, 4), 1);
    assert_ptr_equal(out[0], &a);
    assert_int_equal(a.code, 503);
    assert_string_equal(a.detail, "Kafka is unavailable: no leader");
    erps_fence_destroy(f);
}

/* Every stage gives up its reads at their deadline, and a read taken back
 * (its connection gone) is never answered. */
static void deadlines_and_take_back_reach_every_stage(void **state) {
    erps_fence_t *f = erps_fence_new(PARTS);
    erps_waiter_t waiting, inflight, open, gone, *out[4];
    unsigned char want[PARTS];
    int64_t deadline, end[PARTS] = {5, 5, 5, 5};
    (void)state;
    read_on(&waiting, 0, 100);
    erps_fence_add(f, &waiting);
    erps_fence_begin(f, 0, want, &deadline);
    erps_fence_end(f, end);
    read_on(&inflight, 1, 100);
    read_on(&gone, 1, 100);
    erps_fence_add(f, &inflight);
    erps_fence_add(f, &gone);
    assert_int_equal(erps_fence_begin(f, 0, want, &deadline), 2);
    read_on(&open, 2, 100);
    erps_fence_add(f, &open);

    assert_int_equal(erps_fence_take(f, &gone), 1);
    assert_int_equal(erps_fence_take(f, &gone), 0);
    assert_int_equal(erps_fence_take_expired(f, 99, out, 4), 0);
    assert_int_equal(erps_fence_take_expired(f, 100, out, 4), 3);
    assert_int_equal(erps_fence_waiting(f), 0);
    erps_fence_end(f, end); /* the query of a batch that expired meanwhile */
    assert_int_equal(erps_fence_waiting(f), 0);
    erps_fence_destroy(f);
}

static void stop_wakes_the_asker(void **state) {
    erps_fence_t *f = erps_fence_new(PARTS);
    erps_waiter_t a;
    unsigned char want[PARTS];
    int64_t deadline;
    (void)state;
    assert_int_equal(erps_fence_begin(f, 1, want, &deadline), 0); /* none */
    erps_fence_stop(f);
    read_on(&a, 0, 100);
    erps_fence_add(f, &a);
    assert_int_equal(erps_fence_begin(f, 60000, want, &deadline), 0);
    assert_int_equal(erps_fence_take(f, &a), 1);
    erps_fence_destroy(f);
}

/* Readers on four threads, one asker, one thread moving the view on and
 * taking ready reads, one taking expired ones: every read is answered once. */
#define ADDERS    4
#define PER_ADDER 2000
static erps_waiter_t reads[ADDERS * PER_ADDER];
static atomic_int answered_once[ADDERS * PER_ADDER];
static atomic_int answered, stop_all;
static _Atomic int64_t view_at;
static erps_fence_t *shared;

static void mark(erps_waiter_t **out, int n) {
    for (int i = 0; i < n; i++) {
        int k = (int)(out[i] - reads);
        assert_int_equal(atomic_fetch_add(&answered_once[k], 1), 0);
        atomic_fetch_add(&answered, 1);
    }
}

static void *adder(void *arg) {
    int base = (int)(intptr_t)arg * PER_ADDER;
    for (int i = 0; i < PER_ADDER; i++) {
        /* Every 7th read has a deadline already gone. */
        read_on(&reads[base + i], (base + i) % PARTS, i % 7 ? INT64_MAX : 0);
        erps_fence_add(shared, &reads[base + i]);
    }
    return NULL;
}

static void *asker(void *arg) {
    unsigned char want[PARTS];
    int64_t deadline, end[PARTS];
    (void)arg;
    while (!atomic_load(&stop_all)) {
        if (erps_fence_begin(shared, 1, want, &deadline) == 0)
            continue;
        for (int p = 0; p < PARTS; p++)
            end[p] = atomic_load(&view_at) + 3; /* a little ahead of the view */
        erps_fence_end(shared, end);
    }
    return NULL;
}

static void *viewer(void *arg) {
    erps_waiter_t *out[16];
    int64_t read_to[PARTS];
    (void)arg;
    while (!atomic_load(&stop_all)) {
        int64_t at = atomic_fetch_add(&view_at, 1) + 1;
        for (int p = 0; p < PARTS; p++)
            read_to[p] = at;
        mark(out, erps_fence_take_ready(shared, read_to, out, 16));
        mark(out, erps_fence_take_expired(shared, 1, out, 16));
    }
    return NULL;
}

static void every_read_is_answered_once(void **state) {
    pthread_t add[ADDERS], ask, view;
    (void)state;
    shared = erps_fence_new(PARTS);
    pthread_create(&ask, NULL, asker, NULL);
    pthread_create(&view, NULL, viewer, NULL);
    for (int i = 0; i < ADDERS; i++)
        pthread_create(&add[i], NULL, adder, (void *)(intptr_t)i);
    for (int i = 0; i < ADDERS; i++)
        pthread_join(add[i], NULL);
    for (int i = 0; i < 10000 && atomic_load(&answered) < ADDERS * PER_ADDER;
         i++) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    atomic_store(&stop_all, 1);
    erps_fence_stop(shared);
    pthread_join(ask, NULL);
    pthread_join(view, NULL);
    assert_int_equal(atomic_load(&answered), ADDERS * PER_ADDER);
    erps_fence_destroy(shared);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(late_reads_join_the_next_batch),
        cmocka_unit_test(a_failed_query_answers_its_batch),
        cmocka_unit_test(deadlines_and_take_back_reach_every_stage),
        cmocka_unit_test(stop_wakes_the_asker),
        cmocka_unit_test(every_read_is_answered_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
