/*
 * session.c - session cookies (HMAC-signed, bound to the user's password
 * hash) with the X-XSRF-TOKEN a page must echo; reading Cookie headers.
 */
#include "../tokens.h"
#include "../tokens_internal.h"
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "erpsync/util.h"

#define XSRF_RANDOM_LEN 16
#define SESSION_JTI_LEN 16
/* Session expiries travel as JSON numbers (doubles): exact up to 2^53. */
#define JSON_INT_MAX INT64_C(9007199254740991)

struct erps_session {
    unsigned char *key;
    size_t key_len;
    int64_t ttl_ms;
};

erps_session_t *erps_session_new_key(const void *key, size_t key_len,
                                     int64_t ttl_ms, char *errstr,
                                     size_t errstr_size) {
    if (key_len < ERPS_SECRET_MIN) {
        snprintf(errstr, errstr_size,
                 "the session key has %zu bytes; it needs "
                 "%d at least",
                 key_len, ERPS_SECRET_MIN);
        return NULL;
    }
    if (ttl_ms <= 0) {
        snprintf(errstr, errstr_size, "the session lifetime must be positive");
        return NULL;
    }
    erps_session_t *s = calloc(1, sizeof(*s));
    if (!s || !(s->key = malloc(key_len))) {
        free(s);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    memcpy(s->key, key, key_len);
    s->key_len = key_len;
    s->ttl_ms = ttl_ms;
    return s;
}

erps_session_t *erps_session_new(const char *key_file, int64_t ttl_ms,
                                 char *errstr, size_t errstr_size) {
    char *key = NULL;
    size_t len = 0;
    if (secret_read_path("session key file", key_file, KEY_FILE_MAX, &key, &len,
                         errstr, errstr_size))
        return NULL;
    erps_session_t *s = NULL;
    if (len < ERPS_SECRET_MIN)
        snprintf(errstr, errstr_size,
                 "session key file %s has %zu bytes; it "
                 "needs %d at least",
                 key_file, len, ERPS_SECRET_MIN);
    else
        s = erps_session_new_key(key, len, ttl_ms, errstr, errstr_size);
    secret_free(key, len);
    return s;
}

void erps_session_destroy(erps_session_t *s) {
    if (!s)
        return;
    secret_free((char *)s->key, s->key_len);
    free(s);
}

int64_t erps_session_ttl_ms(const erps_session_t *s) {
    return s->ttl_ms;
}

/* The X-XSRF-TOKEN of cookie for the random part r (22 characters). */
static int xsrf_mac(const erps_session_t *s, const char *cookie, const char *r,
                    unsigned char mac[SHA256_LEN]) {
    const char *parts[] = {"erpsync-xsrf|", cookie, "|", r};
    return secret_hmac_sha256(s->key, s->key_len, parts, 4, mac);
}

static int session_mac(const erps_session_t *s, const char *payload,
                       unsigned char mac[SHA256_LEN]) {
    const char *parts[] = {"erpsync-session|", payload};
    return secret_hmac_sha256(s->key, s->key_len, parts, 2, mac);
}

int erps_session_bind(const erps_session_t *s, const char *text,
                      char out[ERPS_BINDING_LEN + 1]) {
    unsigned char mac[SHA256_LEN];
    const char *parts[] = {"erpsync-bind|", text};
    if (secret_hmac_sha256(s->key, s->key_len, parts, 2, mac))
        return -1;
    secret_b64url_encode(mac, SHA256_LEN, out);
    OPENSSL_cleanse(mac, sizeof(mac));
    return 0;
}

/* Only a principal a session can carry, and an expiry JSON keeps exact. */
static int issuable(const erps_session_t *s, const erps_principal_t *who,
                    int64_t now_ms) {
    return erps_name_valid(who->name) &&
           secret_text_ok(who->tenant, ERPS_TENANT_MAX) &&
           strnlen(who->binding, sizeof(who->binding)) < sizeof(who->binding) &&
           (!who->binding[0] ||
            secret_text_ok(who->binding, ERPS_BINDING_LEN)) &&
           (who->role == ERPS_ROLE_ADMIN || who->role == ERPS_ROLE_READER) &&
           now_ms >= 0 && s->ttl_ms <= JSON_INT_MAX - now_ms;
}

/* The cookie's claims as compact JSON (the caller frees it), or NULL. */
static char *claims_json(const erps_session_t *s, const erps_principal_t *who,
                         int64_t now_ms) {
    unsigned char jti[SESSION_JTI_LEN];
    char jti_hex[2 * SESSION_JTI_LEN + 1], *json = NULL;
    if (RAND_bytes(jti, sizeof(jti)) != 1)
        return NULL;
    secret_hex_encode(jti, sizeof(jti), jti_hex);
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "n", who->name) &&
        cJSON_AddStringToObject(o, "t", who->tenant) &&
        cJSON_AddStringToObject(o, "r", erps_role_name(who->role)) &&
        cJSON_AddNumberToObject(o, "e", (double)(now_ms + s->ttl_ms)) &&
        cJSON_AddStringToObject(o, "j", jti_hex) &&
        (!who->binding[0] || cJSON_AddStringToObject(o, "b", who->binding)))
        json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return json;
}

/* "payload.mac" of json into cookie. @returns 0, or -1 when it does not
 * fit (erps_session_check refuses what exceeds ERPS_SESSION_COOKIE_MAX). */
static int sign_cookie(const erps_session_t *s, const char *json, char *cookie,
                       size_t cookie_size) {
    unsigned char mac[SHA256_LEN];
    char mac_text[B64URL_LEN(SHA256_LEN) + 1];
    size_t jl = strlen(json);
    size_t pl = B64URL_LEN(jl), cl = pl + 1 + B64URL_LEN(SHA256_LEN);
    if (cl + 1 > cookie_size || cl >= ERPS_SESSION_COOKIE_MAX)
        return -1;
    char *payload = malloc(pl + 1);
    if (!payload)
        return -1;
    secret_b64url_encode((const unsigned char *)json, jl, payload);
    int rc = session_mac(s, payload, mac);
    if (rc == 0) {
        secret_b64url_encode(mac, SHA256_LEN, mac_text);
        snprintf(cookie, cookie_size, "%s.%s", payload, mac_text);
    }
    free(payload);
    return rc;
}

/* The XSRF token bound to cookie: "random.mac". */
static int sign_xsrf(const erps_session_t *s, const char *cookie, char *xsrf,
                     size_t xsrf_size) {
    unsigned char rnd[XSRF_RANDOM_LEN], mac[SHA256_LEN];
    char r[B64URL_LEN(XSRF_RANDOM_LEN) + 1];
    char mac_text[B64URL_LEN(SHA256_LEN) + 1];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return -1;
    secret_b64url_encode(rnd, sizeof(rnd), r);
    if (strlen(r) + 1 + B64URL_LEN(SHA256_LEN) + 1 > xsrf_size ||
        xsrf_mac(s, cookie, r, mac))
        return -1;
    secret_b64url_encode(mac, SHA256_LEN, mac_text);
    snprintf(xsrf, xsrf_size, "%s.%s", r, mac_text);
    return 0;
}

int erps_session_issue(const erps_session_t *s, const erps_principal_t *who,
                       int64_t now_ms, char *cookie, size_t cookie_size,
                       char *xsrf, size_t xsrf_size) {
    if (!issuable(s, who, now_ms))
        return -1;
    char *json = claims_json(s, who, now_ms);
    int rc = json && sign_cookie(s, json, cookie, cookie_size) == 0 &&
                     sign_xsrf(s, cookie, xsrf, xsrf_size) == 0
                 ? 0
                 : -1;
    cJSON_free(json);
    if (rc && cookie_size)
        cookie[0] = '\0';
    if (rc && xsrf_size)
        xsrf[0] = '\0';
    return rc;
}

/* Checks that text is "<part>.<HMAC>" where the HMAC (base64url) equals
 * mac. @returns 1 when it does. */
static int mac_text_ok(const char *text, const unsigned char mac[SHA256_LEN]) {
    unsigned char got[SHA256_LEN + 3];
    return strlen(text) == B64URL_LEN(SHA256_LEN) &&
           secret_b64url_decode(text, strlen(text), got) == SHA256_LEN &&
           CRYPTO_memcmp(got, mac, SHA256_LEN) == 0;
}

/* Reads a signed session payload. @returns 0 with *who and *expiry. */
/* Every claim a session cookie must carry, each well formed. */
static int claims_ok(const cJSON *o) {
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "n");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "t");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "r");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "e");
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, "j");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "b");
    if (b && (!cJSON_IsString(b) || strlen(b->valuestring) > ERPS_BINDING_LEN))
        return 0;
    return cJSON_IsString(n) && erps_name_valid(n->valuestring) &&
           cJSON_IsString(t) &&
           secret_text_ok(t->valuestring, ERPS_TENANT_MAX) &&
           cJSON_IsString(r) && cJSON_IsNumber(e) && cJSON_IsString(j) &&
           strlen(j->valuestring) == 2 * SESSION_JTI_LEN &&
           e->valuedouble >= 0 && e->valuedouble <= (double)JSON_INT_MAX;
}

static int session_payload(const char *payload, size_t pl,
                           erps_principal_t *who, int64_t *expiry) {
    cJSON *o = secret_segment_json(payload, pl);
    int rc = -1;
    if (!o || !claims_ok(o))
        goto out;
    const char *role = cJSON_GetObjectItemCaseSensitive(o, "r")->valuestring;
    memset(who, 0, sizeof(*who));
    if (strcmp(role, "admin") != 0 && strcmp(role, "reader") != 0)
        goto out;
    who->role = role[0] == 'a' ? ERPS_ROLE_ADMIN : ERPS_ROLE_READER;
    erps_strlcpy(who->name,
                 cJSON_GetObjectItemCaseSensitive(o, "n")->valuestring,
                 sizeof(who->name));
    erps_strlcpy(who->tenant,
                 cJSON_GetObjectItemCaseSensitive(o, "t")->valuestring,
                 sizeof(who->tenant));
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "b");
    if (b)
        erps_strlcpy(who->binding, b->valuestring, sizeof(who->binding));
    *expiry = (int64_t)cJSON_GetObjectItemCaseSensitive(o, "e")->valuedouble;
    rc = 0;
out:
    cJSON_Delete(o);
    return rc;
}

/* The cookie's MAC and claims. @returns 0 with *p and *expiry, or -1. */
static int cookie_claims(const erps_session_t *s, const char *cookie,
                         erps_principal_t *p, int64_t *expiry) {
    unsigned char mac[SHA256_LEN];
    size_t cl = cookie ? strnlen(cookie, ERPS_SESSION_COOKIE_MAX) : 0;
    const char *dot = cl ? memchr(cookie, '.', cl) : NULL;
    if (!dot || cl >= ERPS_SESSION_COOKIE_MAX)
        return -1;
    size_t pl = (size_t)(dot - cookie);
    char *payload = malloc(pl + 1);
    if (!payload)
        return -1;
    memcpy(payload, cookie, pl);
    payload[pl] = '\0';
    int rc = session_mac(s, payload, mac) || !mac_text_ok(dot + 1, mac) ||
                     session_payload(payload, pl, p, expiry)
                 ? -1
                 : 0;
    free(payload);
    return rc;
}

/* The X-XSRF-TOKEN: "random.mac", the MAC binding it to this cookie. */
static int xsrf_ok(const erps_session_t *s, const char *cookie,
                   const char *xsrf) {
    unsigned char mac[SHA256_LEN];
    size_t xl = strnlen(xsrf, ERPS_XSRF_MAX);
    size_t rl = B64URL_LEN(XSRF_RANDOM_LEN);
    char r[B64URL_LEN(XSRF_RANDOM_LEN) + 1];
    if (xl >= ERPS_XSRF_MAX || xl <= rl || xsrf[rl] != '.')
        return 0;
    memcpy(r, xsrf, rl);
    r[rl] = '\0';
    return xsrf_mac(s, cookie, r, mac) == 0 && mac_text_ok(xsrf + rl + 1, mac);
}

int erps_session_check(const erps_session_t *s, const char *cookie,
                       const char *xsrf, int64_t now_ms, erps_principal_t *who,
                       char *errstr, size_t errstr_size) {
    erps_principal_t p;
    int64_t expiry = 0;
    const char *why = NULL;
    if (cookie_claims(s, cookie, &p, &expiry))
        why = "the session cookie is not valid";
    else if (now_ms >= expiry)
        why = "the session expired";
    else if (!xsrf || !xsrf[0])
        why = "the X-XSRF-TOKEN header is missing";
    else if (!xsrf_ok(s, cookie, xsrf))
        why = "the X-XSRF-TOKEN does not belong to this session";
    if (why) {
        snprintf(errstr, errstr_size, "%s", why);
        return -1;
    }
    *who = p;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Cookie header                                                       */
/* ------------------------------------------------------------------ */

static int ows(char c) {
    return c == ' ' || c == '\t';
}

/* [a, b) without white space at either end. */
static void trim_ows(const char **a, const char **b) {
    while (*a < *b && ows(**a))
        (*a)++;
    while (*b > *a && ows((*b)[-1]))
        (*b)--;
}

/* The value of one "name=value" pair [a, b) when its name is name (nl
 * bytes), quotes removed: 0 with [*v, *ve), or -1. */
static int pair_value(const char *a, const char *b, const char *name, size_t nl,
                      const char **v, const char **ve) {
    const char *eq = memchr(a, '=', (size_t)(b - a)), *ne = eq;
    if (!eq)
        return -1;
    trim_ows(&a, &ne);
    if ((size_t)(ne - a) != nl || memcmp(a, name, nl) != 0)
        return -1;
    *v = eq + 1;
    *ve = b;
    trim_ows(v, ve);
    if (*ve - *v >= 2 && **v == '"' && (*ve)[-1] == '"')
        (*v)++, (*ve)--;
    return 0;
}

int erps_cookie_get(const char *header, const char *name, char *out,
                    size_t out_size) {
    size_t nl;
    if (!header || !name || !(nl = strlen(name)) || out_size == 0)
        return -1;
    for (const char *p = header; *p;) {
        const char *end = strchr(p, ';'), *a = p, *v, *ve;
        if (!end)
            end = p + strlen(p);
        p = *end ? end + 1 : end;
        const char *b = end;
        trim_ows(&a, &b);
        if (pair_value(a, b, name, nl, &v, &ve))
            continue;
        size_t vl = (size_t)(ve - v);
        if (vl >= out_size)
            return -1;
        memcpy(out, v, vl);
        out[vl] = '\0';
        return 0;
    }
    return -1;
}
