/*
 * guard.h - what stands in front of the password check: limits on failed
 * logins per client address and per account (429 once spent) and a
 * short-lived cache of
 * credentials already verified, so a client that sends Basic on every call
 * pays the deliberately slow yescrypt check once per TTL, not per call.
 *
 * Both tables have a fixed size: a flood of addresses or names evicts old
 * entries instead of growing memory. The cache never holds a password, only
 * HMAC-SHA256 of name and password under a key drawn at start-up, so a memory
 * dump does not give a password away and cannot be checked offline without
 * the key.
 */
#ifndef ERPSYNC_SHIM_GUARD_H
#define ERPSYNC_SHIM_GUARD_H

#include <stdint.h>

#include "auth.h"

typedef struct erps_guard erps_guard_t;

/* now_ms everywhere below: a monotonic clock (erps_mono_ms), so a step of the
 * wall clock neither lifts a block nor stretches the cache. */

typedef struct erps_guard_conf {
    /* failed logins an address may have per window (a token bucket of that
     * size, refilled over window_ms); 0 = no limit */
    int64_t max_failures, window_ms;
    /* the same for one account, whatever the addresses: rotating source
     * addresses do not buy more guesses at one password; 0 = no limit */
    int64_t account_max_failures, account_window_ms;
    int64_t cache_ttl_ms; /* how long a verified credential is trusted; 0 = no
                             cache */
} erps_guard_conf_t;

/** @returns the guard, or NULL (out of memory, no random bytes). */
erps_guard_t *erps_guard_new(const erps_guard_conf_t *conf);
void erps_guard_destroy(erps_guard_t *g);

/** @returns 0 when addr may try, else the milliseconds until it may. */
int64_t erps_guard_blocked(erps_guard_t *g, const char *addr, int64_t now_ms);
/** @returns 0 when a password may be checked for the account name (any
 *  case), else the milliseconds until one may. */
int64_t erps_guard_account_blocked(erps_guard_t *g, const char *name,
                                   int64_t now_ms);
/** Counts one failed login for addr and, when name is not NULL or "", for
 *  that account. */
void erps_guard_failed(erps_guard_t *g, const char *addr, const char *name,
                       int64_t now_ms);

/** @returns 0 and fills *who when name and password were verified within the
 * TTL. */
int erps_guard_cache_get(erps_guard_t *g, const char *name,
                         const char *password, int64_t now_ms,
                         erps_principal_t *who);
/** Forgets every cached credential (the users file was read again). */
void erps_guard_cache_clear(erps_guard_t *g);
/** Remembers a verified credential. */
void erps_guard_cache_put(erps_guard_t *g, const char *name,
                          const char *password, int64_t now_ms,
                          const erps_principal_t *who);

#endif
