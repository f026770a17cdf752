/* test_guard.c - failed-login limits and the credential cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "guard.h"

/* A guard with the address limit (max per window) and the cache TTL given,
 * and the account limit off unless a test turns it on. */
static erps_guard_t *guard(int64_t max, int64_t window_ms, int64_t ttl_ms) {
    erps_guard_conf_t c = {max, window_ms, 0, 60000, ttl_ms};
    return erps_guard_new(&c);
}

static void limit_blocks_after_max_and_refills(void **state) {
    (void)state;
    erps_guard_t *g = guard(3, 60000, 0);
    assert_non_null(g);
    int64_t t = 1000000;
    assert_int_equal(erps_guard_blocked(g, "10.0.0.1", t), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(erps_guard_blocked(g, "10.0.0.1", t), 0);
        erps_guard_failed(g, "10.0.0.1", NULL, t);
    }
    /* spent: one failure refills in window/max = 20 s */
    int64_t wait = erps_guard_blocked(g, "10.0.0.1", t);
    assert_in_range(wait, 19000, 20001);
    /* other addresses are not touched */
    assert_int_equal(erps_guard_blocked(g, "10.0.0.2", t), 0);
    assert_in_range(erps_guard_blocked(g, "10.0.0.1", t + 10000), 9000, 10001);
    assert_int_equal(erps_guard_blocked(g, "10.0.0.1", t + 20001), 0);
    /* one more failure right away blocks again */
    erps_guard_failed(g, "10.0.0.1", NULL, t + 20001);
    assert_true(erps_guard_blocked(g, "10.0.0.1", t + 20001) > 0);
    erps_guard_destroy(g);
}

static void limit_zero_means_off(void **state) {
    (void)state;
    erps_guard_t *g = guard(0, 60000, 0);
    for (int i = 0; i < 100; i++)
        erps_guard_failed(g, "a", NULL, 5);
    assert_int_equal(erps_guard_blocked(g, "a", 5), 0);
    erps_guard_destroy(g);
}

/* A flood of addresses stays in the fixed table; a blocked address loses its
 * slot only to a newcomer in the same probe run, and the table never grows. */
static void limit_flood_is_bounded(void **state) {
    (void)state;
    erps_guard_t *g = guard(2, 60000, 0);
    char a[32];
    erps_guard_failed(g, "victim", NULL, 1);
    erps_guard_failed(g, "victim", NULL, 1);
    for (int i = 0; i < 100000; i++) {
        snprintf(a, sizeof(a), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        erps_guard_failed(g, a, NULL, 2);
    }
    /* The spent bucket is the one a newcomer never evicts (it evicts the
     * fullest of its probe run): the flood does not unblock the victim. */
    assert_true(erps_guard_blocked(g, "victim", 2) > 0);
    /* An address of the flood that failed once may still try. */
    assert_int_equal(erps_guard_blocked(g, "10.1.134.159", 2), 0);
    erps_guard_destroy(g);
}

/* Rotating source addresses buy no more guesses at one account. */
static void account_limit_spans_addresses(void **state) {
    (void)state;
    erps_guard_conf_t c = {10, 60000, 5, 15000, 0};
    erps_guard_t *g = erps_guard_new(&c);
    char a[32];
    int64_t t = 1000000;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(erps_guard_account_blocked(g, "alice", t), 0);
        snprintf(a, sizeof(a), "10.9.0.%d", i);
        erps_guard_failed(g, a, "alice", t);
        assert_int_equal(erps_guard_blocked(g, a, t), 0); /* one each */
    }
    /* spent: one guess refills in 15 s / 5 = 3 s, for any spelling */
    assert_in_range(erps_guard_account_blocked(g, "alice", t), 2900, 3001);
    assert_in_range(erps_guard_account_blocked(g, "ALICE", t), 2900, 3001);
    assert_int_equal(erps_guard_account_blocked(g, "bob", t), 0);
    assert_int_equal(erps_guard_account_blocked(g, "alice", t + 3001), 0);
    /* a failure with no name (a bad token) counts for the address only */
    erps_guard_failed(g, "10.9.0.99", NULL, t + 3001);
    erps_guard_failed(g, "10.9.0.99", "", t + 3001);
    assert_int_equal(erps_guard_account_blocked(g, "alice", t + 3001), 0);
    erps_guard_destroy(g);

    erps_guard_conf_t off = {10, 60000, 0, 15000, 0};
    g = erps_guard_new(&off);
    for (int i = 0; i < 100; i++)
        erps_guard_failed(g, "10.9.1.1", "alice", t);
    assert_int_equal(erps_guard_account_blocked(g, "alice", t), 0);
    erps_guard_destroy(g);
}

static void cache_hits_only_exact_pair_within_ttl(void **state) {
    (void)state;
    erps_guard_t *g = guard(3, 60000, 1000);
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
    erps_guard_t *g = guard(3, 60000, 0);
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
        cmocka_unit_test(account_limit_spans_addresses),
        cmocka_unit_test(cache_hits_only_exact_pair_within_ttl),
        cmocka_unit_test(cache_off_with_zero_ttl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
