/* test_guard.c - failed-login limits and the credential cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "guard.h"

static void limit_blocks_after_max_and_refills(void **state) {
    (void)state;
    erps_guard_t *g = erps_guard_new(3, 60000, 0);
    assert_non_null(g);
    int64_t t = 1000000;
    assert_int_equal(erps_guard_blocked(g, "10.0.0.1", t), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(erps_guard_blocked(g, "10.0.0.1", t), 0);
        erps_guard_failed(g, "10.0.0.1", t);
    }
    /* spent: one failure refills in window/max = 20 s */
    int64_t wait = erps_guard_blocked(g, "10.0.0.1", t);
    assert_in_range(wait, 19000, 20001);
    /* other addresses are not touched */
    assert_int_equal(erps_guard_blocked(g, "10.0.0.2", t), 0);
    assert_in_range(erps_guard_blocked(g, "10.0.0.1", t + 10000), 9000, 10001);
    assert_int_equal(erps_guard_blocked(g, "10.0.0.1", t + 20001), 0);
    /* one more failure right away blocks again */
    erps_guard_failed(g, "10.0.0.1", t + 20001);
    assert_true(erps_guard_blocked(g, "10.0.0.1", t + 20001) > 0);
    erps_guard_destroy(g);
}

static void limit_zero_means_off(void **state) {
    (void)state;
    erps_guard_t *g = erps_guard_new(0, 60000, 0);
    for (int i = 0; i < 100; i++)
        erps_guard_failed(g, "a", 5);
    assert_int_equal(erps_guard_blocked(g, "a", 5), 0);
    erps_guard_destroy(g);
}

/* A flood of addresses stays in the fixed table; a blocked address loses its
 * slot only to a newcomer in the same probe run, and the table never grows. */
static void limit_flood_is_bounded(void **state) {
    (void)state;
    erps_guard_t *g = erps_guard_new(2, 60000, 0);
    char a[32];
    erps_guard_failed(g, "victim", 1);
    erps_guard_failed(g, "victim", 1);
    for (int i = 0; i < 100000; i++) {
        snprintf(a, sizeof(a), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        erps_guard_failed(g, a, 2);
    }
    /* still answers, for any address */
    assert_true(erps_guard_blocked(g, "10.0.0.7", 2) >= 0);
    erps_guard_destroy(g);
}

static void cache_hits_only_exact_pair_within_ttl(void **state) {
    (void)state;
    erps_guard_t *g = erps_guard_new(3, 60000, 1000);
    erps_principal_t who, got;
    memset(&who, 0, sizeof(who));
    strcpy(who.name, "alice");
    strcpy(who.tenant, "acme");
    who.role = ERPS_ROLE_ADMIN;
    assert_int_equal(erps_guard_cache_get(g, "alice", "pw", 10, &got), -1);
    erps_guard_cache_put(g, "alice", "pw", 10, &who);
    assert_int_equal(erps_guard_cache_get(g, "alice", "pw", 500, &got), 0);
    assert_string_equal(got.tenant, "acme");
    assert_int_equal(got.role, ERPS_ROLE_ADMIN);
    assert_int_equal(erps_guard_cache_get(g, "alice", "pw2", 500, &got), -1);
    assert_int_equal(erps_guard_cache_get(g, "alice", "p", 500, &got), -1);
    /* "alic"+"epw" must not collide with "alice"+"pw" */
    assert_int_equal(erps_guard_cache_get(g, "alic", "epw", 500, &got), -1);
    assert_int_equal(erps_guard_cache_get(g, "bob", "pw", 500, &got), -1);
    assert_int_equal(erps_guard_cache_get(g, "alice", "pw", 1010, &got), -1);
    erps_guard_destroy(g);
}

static void cache_off_with_zero_ttl(void **state) {
    (void)state;
    erps_guard_t *g = erps_guard_new(3, 60000, 0);
    erps_principal_t who, got;
    memset(&who, 0, sizeof(who));
    erps_guard_cache_put(g, "alice", "pw", 10, &who);
    assert_int_equal(erps_guard_cache_get(g, "alice", "pw", 10, &got), -1);
    erps_guard_destroy(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limit_blocks_after_max_and_refills),
        cmocka_unit_test(limit_zero_means_off),
        cmocka_unit_test(limit_flood_is_bounded),
        cmocka_unit_test(cache_hits_only_exact_pair_within_ttl),
        cmocka_unit_test(cache_off_with_zero_ttl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
