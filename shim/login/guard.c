/*
 * guard.c - failed-login limits and the credential cache. See guard.h.
 */
#include "../guard.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "erpsync/util.h"

/* Addresses (and, apart, accounts) tracked at once. */
#define LIMIT_SLOTS 4096
#define CACHE_SLOTS 1024 /* credentials cached at once */
#define PROBE       8    /* slots looked at per lookup */

typedef struct limit_slot {
    char addr[ERPS_PRINCIPAL_MAX + 1]; /* an address, or a lower-cased name */
    double tokens;                     /* failures still allowed */
    int64_t stamp_ms;                  /* when tokens was computed */
} limit_slot_t;

/* One token bucket per key (a client address, or an account name): a
 * fixed table, so a flood of keys evicts old buckets, never grows. */
typedef struct limits {
    int64_t max, window_ms;
    limit_slot_t *slots;
} limits_t;

typedef struct cache_slot {
    unsigned char mac[32];
    int64_t expires_ms; /* 0: empty */
    erps_principal_t who;
} cache_slot_t;

struct erps_guard {
    pthread_mutex_t lock;
    int64_t ttl_ms;
    unsigned char key[32];
    limits_t by_addr, by_account;
    cache_slot_t *cache;
};

/* FNV-1a from a random start: callers cannot pick addresses that crowd one
 * probe run and push each other's buckets out. */
static uint64_t fnv1a(uint64_t seed, const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

static int limits_init(limits_t *l, int64_t max, int64_t window_ms) {
    l->max = max;
    l->window_ms = window_ms > 0 ? window_ms : 1;
    l->slots = max > 0 ? calloc(LIMIT_SLOTS, sizeof(*l->slots)) : NULL;
    return max > 0 && !l->slots ? -1 : 0;
}

erps_guard_t *erps_guard_new(const erps_guard_conf_t *conf) {
    erps_guard_t *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->ttl_ms = conf->cache_ttl_ms;
    g->cache = calloc(CACHE_SLOTS, sizeof(*g->cache));
    if (limits_init(&g->by_addr, conf->max_failures, conf->window_ms) ||
        limits_init(&g->by_account, conf->account_max_failures,
                    conf->account_window_ms) ||
        !g->cache || RAND_bytes(g->key, sizeof(g->key)) != 1) {
        free(g->by_addr.slots);
        free(g->by_account.slots);
        free(g->cache);
        free(g);
        return NULL;
    }
    pthread_mutex_init(&g->lock, NULL);
    return g;
}

void erps_guard_destroy(erps_guard_t *g) {
    if (!g)
        return;
    pthread_mutex_destroy(&g->lock);
    OPENSSL_cleanse(g->key, sizeof(g->key));
    OPENSSL_cleanse(g->cache, CACHE_SLOTS * sizeof(*g->cache));
    free(g->by_addr.slots);
    free(g->by_account.slots);
    free(g->cache);
    free(g);
}

/* Refills a bucket for the time since it was last looked at. */
static void refill(const limits_t *l, limit_slot_t *s, int64_t now_ms) {
    if (now_ms > s->stamp_ms) {
        s->tokens += (double)(now_ms - s->stamp_ms) * (double)l->max /
                     (double)l->window_ms;
        if (s->tokens > (double)l->max)
            s->tokens = (double)l->max;
    }
    s->stamp_ms = now_ms;
}

/* The slot of addr, or (create) the emptiest of its probe run: a full bucket
 * tells nothing, so it is the one to forget. */
static limit_slot_t *limit_slot(const erps_guard_t *g, limits_t *l,
                                const char *addr, int64_t now_ms, int create) {
    size_t n = strnlen(addr, sizeof(l->slots[0].addr) - 1);
    uint64_t seed;
    memcpy(&seed, g->key, sizeof(seed));
    uint64_t h = fnv1a(seed, addr, n);
    limit_slot_t *victim = NULL;
    for (int i = 0; i < PROBE; i++) {
        limit_slot_t *s = &l->slots[(h + (uint64_t)i) % LIMIT_SLOTS];
        if (s->addr[0] && strncmp(s->addr, addr, n) == 0 && s->addr[n] == '\0')
            return s;
        if (!create)
            continue;
        if (s->addr[0])
            refill(l, s, now_ms);
        if (!victim || !s->addr[0] ||
            (victim->addr[0] && s->tokens > victim->tokens))
            victim = s;
    }
    if (victim) {
        memcpy(victim->addr, addr, n);
        victim->addr[n] = '\0';
        victim->tokens = (double)l->max;
        victim->stamp_ms = now_ms;
    }
    return victim;
}

/* Account names compare without regard to case (auth.c): ALICE and alice
 * share one bucket. */
static void account_key(const char *name, char out[ERPS_PRINCIPAL_MAX + 1]) {
    size_t i = 0;
    for (; name[i] && i < ERPS_PRINCIPAL_MAX; i++)
        out[i] = (char)tolower((unsigned char)name[i]);
    out[i] = '\0';
}

static int64_t limits_wait(const erps_guard_t *g, limits_t *l, const char *key,
                           int64_t now_ms) {
    int64_t wait = 0;
    if (l->max <= 0)
        return 0;
    limit_slot_t *s = limit_slot(g, l, key, now_ms, 0);
    if (s) {
        refill(l, s, now_ms);
        if (s->tokens < 1.0) /* until one failure's worth has refilled */
            wait = (int64_t)((1.0 - s->tokens) * (double)l->window_ms /
                             (double)l->max) +
                   1;
    }
    return wait;
}

static void limits_spend(const erps_guard_t *g, limits_t *l, const char *key,
                         int64_t now_ms) {
    if (l->max <= 0)
        return;
    limit_slot_t *s = limit_slot(g, l, key, now_ms, 1);
    refill(l, s, now_ms);
    s->tokens -= 1.0;
    if (s->tokens < 0)
        s->tokens = 0;
}

int64_t erps_guard_blocked(erps_guard_t *g, const char *addr, int64_t now_ms) {
    pthread_mutex_lock(&g->lock);
    int64_t wait = limits_wait(g, &g->by_addr, addr, now_ms);
    pthread_mutex_unlock(&g->lock);
    return wait;
}

int64_t erps_guard_account_blocked(erps_guard_t *g, const char *name,
                                   int64_t now_ms) {
    char key[ERPS_PRINCIPAL_MAX + 1];
    account_key(name, key);
    pthread_mutex_lock(&g->lock);
    int64_t wait = limits_wait(g, &g->by_account, key, now_ms);
    pthread_mutex_unlock(&g->lock);
    return wait;
}

void erps_guard_failed(erps_guard_t *g, const char *addr, const char *name,
                       int64_t now_ms) {
    char key[ERPS_PRINCIPAL_MAX + 1];
    pthread_mutex_lock(&g->lock);
    limits_spend(g, &g->by_addr, addr, now_ms);
    if (name && name[0]) {
        account_key(name, key);
        limits_spend(g, &g->by_account, key, now_ms);
    }
    pthread_mutex_unlock(&g->lock);
}

static int cred_mac(const erps_guard_t *g, const char *name,
                    const char *password, unsigned char mac[32]) {
    unsigned int len = 32;
    size_t nl = strlen(name), pl = strlen(password);
    /* name, NUL, password: no two different pairs give the same input */
    unsigned char *buf = malloc(nl + pl + 1);
    if (!buf)
        return -1;
    memcpy(buf, name, nl);
    buf[nl] = '\0';
    memcpy(buf + nl + 1, password, pl);
    unsigned char *r =
        HMAC(EVP_sha256(), g->key, sizeof(g->key), buf, nl + pl + 1, mac, &len);
    OPENSSL_cleanse(buf, nl + pl + 1);
    free(buf);
    return r && len == 32 ? 0 : -1;
}

int erps_guard_cache_get(erps_guard_t *g, const char *name,
                         const char *password, int64_t now_ms,
                         erps_principal_t *who) {
    unsigned char mac[32];
    int found = -1;
    if (g->ttl_ms <= 0 || cred_mac(g, name, password, mac))
        return -1;
    uint64_t h;
    memcpy(&h, mac, sizeof(h));
    pthread_mutex_lock(&g->lock);
    for (int i = 0; i < PROBE && found; i++) {
        cache_slot_t *s = &g->cache[(h + (uint64_t)i) % CACHE_SLOTS];
        if (s->expires_ms > now_ms && CRYPTO_memcmp(s->mac, mac, 32) == 0) {
            *who = s->who;
            found = 0;
        }
    }
    pthread_mutex_unlock(&g->lock);
    return found;
}

void erps_guard_cache_clear(erps_guard_t *g) {
    pthread_mutex_lock(&g->lock);
    OPENSSL_cleanse(g->cache, CACHE_SLOTS * sizeof(*g->cache));
    pthread_mutex_unlock(&g->lock);
}

void erps_guard_cache_put(erps_guard_t *g, const char *name,
                          const char *password, int64_t now_ms,
                          const erps_principal_t *who) {
    unsigned char mac[32];
    if (g->ttl_ms <= 0 || cred_mac(g, name, password, mac))
        return;
    uint64_t h;
    memcpy(&h, mac, sizeof(h));
    pthread_mutex_lock(&g->lock);
    cache_slot_t *victim = NULL;
    for (int i = 0; i < PROBE; i++) {
        cache_slot_t *s = &g->cache[(h + (uint64_t)i) % CACHE_SLOTS];
        if (CRYPTO_memcmp(s->mac, mac, 32) == 0) {
            victim = s;
            break;
        }
        if (!victim || s->expires_ms < victim->expires_ms)
            victim = s;
    }
    memcpy(victim->mac, mac, 32);
    victim->expires_ms = now_ms + g->ttl_ms;
    victim->who = *who;
    pthread_mutex_unlock(&g->lock);
}
