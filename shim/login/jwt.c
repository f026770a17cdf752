/*
 * jwt.c - Bearer JWTs (compact JWS, HS256 or RS256) verified with libjwt
 * after our own checks of the header and the claims: libjwt would accept
 * what the WebAPI refuses (alg none, duplicate names, a missing exp).
 */
#include "../tokens.h"
#include "../tokens_internal.h"
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "erpsync/util.h"

/* A JWT subject: printable ASCII without ':' (an identity provider's ids). */
static int jwt_name_ok(const char *s) {
    if (!erps_name_valid(s))
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p > 0x7e)
            return 0;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Bearer JWT                                                          */
/* ------------------------------------------------------------------ */

struct erps_jwt {
    unsigned char *hs_key; /* NULL when HS256 is not accepted */
    size_t hs_len;
    char *rs_pem; /* NULL when RS256 is not accepted */
    size_t rs_len;
    char *issuer, *audience, *tenant_claim, *role_claim;
    int64_t skew_ms;
};

void erps_jwt_destroy(erps_jwt_t *j) {
    if (!j)
        return;
    secret_free((char *)j->hs_key, j->hs_len);
    free(j->rs_pem);
    free(j->issuer);
    free(j->audience);
    free(j->tenant_claim);
    free(j->role_claim);
    free(j);
}

/* An RS256 key must be a PEM RSA public key of 2048 bits at least.
 * origin names it in messages: a path, or "given" for keys in memory. */
static int rs256_key_ok(const char *pem, size_t len, const char *origin,
                        char *errstr, size_t errstr_size) {
    if (len > INT32_MAX) {
        snprintf(errstr, errstr_size, "the JWT RS256 key %s is too large",
                 origin);
        return -1;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    int bits = pk ? EVP_PKEY_get_bits(pk) : 0;
    int rsa = pk && EVP_PKEY_is_a(pk, "RSA");
    EVP_PKEY_free(pk);
    BIO_free(bio);
    ERR_clear_error();
    if (!pk)
        snprintf(errstr, errstr_size,
                 "the JWT RS256 key %s is not a PEM public key (-----BEGIN "
                 "PUBLIC KEY-----)",
                 origin);
    else if (!rsa)
        snprintf(errstr, errstr_size, "the JWT RS256 key %s is not an RSA key",
                 origin);
    else if (bits < 2048)
        snprintf(errstr, errstr_size,
                 "the JWT RS256 key %s has %d bits; it needs 2048 at least",
                 origin, bits);
    return pk && rsa && bits >= 2048 ? 0 : -1;
}

/* The settings and keys, checked before anything is kept. */
static int jwt_conf_ok(const erps_jwt_conf_t *conf, const void *hs_key,
                       size_t hs_len, const char *hs_origin, const char *rs_pem,
                       size_t rs_len, const char *rs_origin, char *errstr,
                       size_t errstr_size) {
    const char *bad =
        !conf->issuer || !conf->issuer[0]       ? "the JWT issuer is not set"
        : !conf->audience || !conf->audience[0] ? "the JWT audience is not set"
        : conf->skew_ms < 0  ? "the JWT clock skew must not be negative"
        : !hs_key && !rs_pem ? "no JWT key is configured (an HS256 secret file "
                               "or an RS256 public key file)"
                             : NULL;
    if (bad) {
        snprintf(errstr, errstr_size, "%s", bad);
        return -1;
    }
    if (hs_key && hs_len < ERPS_SECRET_MIN) {
        snprintf(errstr, errstr_size,
                 "the JWT HS256 key %s has %zu bytes; it needs %d at least",
                 hs_origin, hs_len, ERPS_SECRET_MIN);
        return -1;
    }
    return rs_pem ? rs256_key_ok(rs_pem, rs_len, rs_origin, errstr, errstr_size)
                  : 0;
}

/* A copy of n bytes with a NUL after them, or NULL. */
static void *copy_key(const void *key, size_t n) {
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, key, n);
        p[n] = '\0';
    }
    return p;
}

static erps_jwt_t *jwt_build(const erps_jwt_conf_t *conf, const void *hs_key,
                             size_t hs_len, const char *hs_origin,
                             const char *rs_pem, size_t rs_len,
                             const char *rs_origin, char *errstr,
                             size_t errstr_size) {
    if (jwt_conf_ok(conf, hs_key, hs_len, hs_origin, rs_pem, rs_len, rs_origin,
                    errstr, errstr_size))
        return NULL;
    erps_jwt_t *j = calloc(1, sizeof(*j));
    if (!j)
        goto oom;
    const char *tc = conf->tenant_claim && conf->tenant_claim[0]
                         ? conf->tenant_claim
                         : "tenant";
    const char *rc =
        conf->role_claim && conf->role_claim[0] ? conf->role_claim : "role";
    j->skew_ms = conf->skew_ms;
    j->issuer = secret_strdup(conf->issuer);
    j->audience = secret_strdup(conf->audience);
    j->tenant_claim = secret_strdup(tc);
    j->role_claim = secret_strdup(rc);
    if (!j->issuer || !j->audience || !j->tenant_claim || !j->role_claim)
        goto oom;
    if (hs_key && !(j->hs_key = copy_key(hs_key, hs_len)))
        goto oom;
    j->hs_len = hs_key ? hs_len : 0;
    if (rs_pem && !(j->rs_pem = copy_key(rs_pem, rs_len)))
        goto oom;
    j->rs_len = rs_pem ? rs_len : 0;
    return j;
oom:
    snprintf(errstr, errstr_size, "out of memory");
    erps_jwt_destroy(j);
    return NULL;
}

erps_jwt_t *erps_jwt_new_keys(const erps_jwt_conf_t *conf, const void *hs_key,
                              size_t hs_len, const char *rs_pem, size_t rs_len,
                              char *errstr, size_t errstr_size) {
    return jwt_build(conf, hs_key, hs_len, "given", rs_pem, rs_len, "given",
                     errstr, errstr_size);
}

erps_jwt_t *erps_jwt_new(const erps_jwt_conf_t *conf, char *errstr,
                         size_t errstr_size) {
    char *hs = NULL, *rs = NULL;
    size_t hs_len = 0, rs_len = 0;
    erps_jwt_t *j = NULL;

    if (conf->hs256_key_file &&
        secret_read_path("JWT HS256 key file", conf->hs256_key_file,
                         KEY_FILE_MAX, &hs, &hs_len, errstr, errstr_size))
        goto out;
    if (conf->rs256_key_file &&
        secret_read_path("JWT RS256 key file", conf->rs256_key_file,
                         KEY_FILE_MAX, &rs, &rs_len, errstr, errstr_size))
        goto out;
    j = jwt_build(conf, hs, hs_len, conf->hs256_key_file, rs, rs_len,
                  conf->rs256_key_file, errstr, errstr_size);
out:
    secret_free(hs, hs_len);
    free(rs);
    return j;
}

/* cJSON finds the first of two equal names, libjwt's jansson the last:
 * a header naming "alg" twice could mean one thing to each. */
static int has_duplicate_names(const cJSON *o) {
    for (const cJSON *a = o->child; a; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next)
            if (a->string && b->string && strcmp(a->string, b->string) == 0)
                return 1;
    return 0;
}

/* Formats a NumericDate (seconds) for a message. */
static void numeric_date_text(double secs, char out[ERPS_TIME_LEN]) {
    if (secs >= 0 && secs <= 253402300799.0)
        erps_time_format((int64_t)(secs * 1000.0), out);
    else
        snprintf(out, ERPS_TIME_LEN, "%s", "a time out of range");
}

/* @returns 1 absent (and not required), 0 with *secs, -1 with errstr. */
static int numeric_date(const cJSON *claims, const char *name, int required,
                        double *secs, char *errstr, size_t errstr_size) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(claims, name);
    if (!c) {
        if (!required)
            return 1;
        snprintf(errstr, errstr_size, "the token has no %s claim", name);
        return -1;
    }
    if (!cJSON_IsNumber(c)) {
        snprintf(errstr, errstr_size, "the token's %s claim is not a number",
                 name);
        return -1;
    }
    *secs = c->valuedouble;
    return 0;
}

/* exp (required), nbf and iat, each with the allowed clock skew. */
static int check_times(const erps_jwt_t *j, const cJSON *claims, int64_t now_ms,
                       char *errstr, size_t errstr_size) {
    const double now = (double)now_ms, skew = (double)j->skew_ms;
    char when[ERPS_TIME_LEN];
    double t;
    int r;
    if (numeric_date(claims, "exp", 1, &t, errstr, errstr_size))
        return -1;
    if (now > t * 1000.0 + skew) {
        numeric_date_text(t, when);
        snprintf(errstr, errstr_size, "the token is expired (exp %s)", when);
        return -1;
    }
    if ((r = numeric_date(claims, "nbf", 0, &t, errstr, errstr_size)) < 0)
        return -1;
    if (r == 0 && now < t * 1000.0 - skew) {
        numeric_date_text(t, when);
        snprintf(errstr, errstr_size, "the token is not valid before %s", when);
        return -1;
    }
    if ((r = numeric_date(claims, "iat", 0, &t, errstr, errstr_size)) < 0)
        return -1;
    if (r == 0 && t * 1000.0 > now + skew) {
        numeric_date_text(t, when);
        snprintf(errstr, errstr_size,
                 "the token was issued in the future (iat %s)", when);
        return -1;
    }
    return 0;
}

/* iss is ours, and aud (a string or an array of them) names us. */
static int check_parties(const erps_jwt_t *j, const cJSON *claims, char *errstr,
                         size_t errstr_size) {
    const cJSON *iss = cJSON_GetObjectItemCaseSensitive(claims, "iss");
    if (!cJSON_IsString(iss) || strcmp(iss->valuestring, j->issuer) != 0) {
        snprintf(errstr, errstr_size, "the token's issuer is not \"%s\"",
                 j->issuer);
        return -1;
    }
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud"), *a;
    int aud_ok =
        cJSON_IsString(aud) && strcmp(aud->valuestring, j->audience) == 0;
    if (cJSON_IsArray(aud)) {
        cJSON_ArrayForEach(a, aud) {
            if (cJSON_IsString(a) && strcmp(a->valuestring, j->audience) == 0)
                aud_ok = 1;
        }
    }
    if (!aud_ok) {
        snprintf(errstr, errstr_size, "the token's audience is not \"%s\"",
                 j->audience);
        return -1;
    }
    return 0;
}

/* sub, the tenant claim and the role claim (reader when absent). */
static int principal_of(const erps_jwt_t *j, const cJSON *claims,
                        erps_principal_t *who, char *errstr,
                        size_t errstr_size) {
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(claims, "sub");
    const cJSON *ten =
        cJSON_GetObjectItemCaseSensitive(claims, j->tenant_claim);
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(claims, j->role_claim);
    if (!cJSON_IsString(sub)) {
        snprintf(errstr, errstr_size, "the token has no sub claim");
        return -1;
    }
    if (!jwt_name_ok(sub->valuestring)) {
        snprintf(errstr, errstr_size,
                 "the token's sub claim is not a valid name (1 to %d "
                 "printable ASCII characters without ':')",
                 ERPS_PRINCIPAL_MAX);
        return -1;
    }
    if (!cJSON_IsString(ten)) {
        snprintf(errstr, errstr_size,
                 "the token has no \"%s\" claim (the tenant)", j->tenant_claim);
        return -1;
    }
    if (!erps_tenant_valid(ten->valuestring)) {
        snprintf(errstr, errstr_size,
                 "the token's \"%s\" claim is not a valid tenant (1 to %d "
                 "of A-Z a-z 0-9 . _ -)",
                 j->tenant_claim, ERPS_TENANT_MAX);
        return -1;
    }
    int admin = cJSON_IsString(role) && strcmp(role->valuestring, "admin") == 0;
    if (role && !admin &&
        (!cJSON_IsString(role) || strcmp(role->valuestring, "reader") != 0)) {
        snprintf(errstr, errstr_size,
                 "the token's \"%s\" claim is not admin or reader",
                 j->role_claim);
        return -1;
    }
    memset(who, 0, sizeof(*who));
    erps_strlcpy(who->name, sub->valuestring, sizeof(who->name));
    erps_strlcpy(who->tenant, ten->valuestring, sizeof(who->tenant));
    who->role = admin ? ERPS_ROLE_ADMIN : ERPS_ROLE_READER;
    return 0;
}

static int check_claims(const erps_jwt_t *j, const cJSON *claims,
                        int64_t now_ms, erps_principal_t *who, char *errstr,
                        size_t errstr_size) {
    if (check_times(j, claims, now_ms, errstr, errstr_size) ||
        check_parties(j, claims, errstr, errstr_size))
        return -1;
    return principal_of(j, claims, who, errstr, errstr_size);
}

/* HS256 checked here too, with CRYPTO_memcmp, so a timing-safe comparison
 * does not depend on how the installed libjwt compares. */
static int hs256_ok(const erps_jwt_t *j, const char *token, size_t signed_len,
                    const char *sig, size_t sig_len) {
    unsigned char want[SHA256_LEN], got[SHA256_LEN + 3];
    char *head = malloc(signed_len + 1);
    int ok = 0;

    if (!head)
        return 0;
    memcpy(head, token, signed_len);
    head[signed_len] = '\0';
    const char *parts[] = {head};
    if (sig_len == B64URL_LEN(SHA256_LEN) &&
        secret_b64url_decode(sig, sig_len, got) == SHA256_LEN &&
        secret_hmac_sha256(j->hs_key, j->hs_len, parts, 1, want) == 0)
        ok = CRYPTO_memcmp(want, got, SHA256_LEN) == 0;
    free(head);
    return ok;
}

/* Names an alg we refuse, if it is short printable text. */
static void refuse_alg(const char *alg, char *errstr, size_t errstr_size) {
    int printable = secret_text_ok(alg, 16);
    for (const char *p = alg; printable && *p; p++)
        printable = (unsigned char)*p < 0x7f && *p != '"';
    if (printable)
        snprintf(errstr, errstr_size,
                 "algorithm %s is not accepted (HS256 or "
                 "RS256)",
                 alg);
    else
        snprintf(errstr, errstr_size,
                 "the token's algorithm is not accepted "
                 "(HS256 or RS256)");
}

/* The three parts of a compact JWS: the dots' places, or -1. */
static int split_token(const char *token, const char **d1, const char **d2,
                       size_t *len, char *errstr, size_t errstr_size) {
    if (!token || !token[0]) {
        snprintf(errstr, errstr_size, "the token is empty");
        return -1;
    }
    *len = strnlen(token, ERPS_JWT_MAX + 1);
    if (*len > ERPS_JWT_MAX) {
        snprintf(errstr, errstr_size, "the token is longer than %d bytes",
                 ERPS_JWT_MAX);
        return -1;
    }
    *d1 = memchr(token, '.', *len);
    *d2 = *d1 ? memchr(*d1 + 1, '.', *len - (size_t)(*d1 + 1 - token)) : NULL;
    if (!*d1 || !*d2 ||
        memchr(*d2 + 1, '.', *len - (size_t)(*d2 + 1 - token))) {
        snprintf(errstr, errstr_size,
                 "the token is not a JWT (three "
                 "base64url parts separated by dots)");
        return -1;
    }
    return 0;
}

/* The header's alg picks the key: HS256 or RS256, and only with its key
 * configured; none, unknown typ and crit extensions are refused. */
static int header_key(const erps_jwt_t *j, const cJSON *hdr, jwt_alg_t *alg,
                      const unsigned char **key, size_t *key_len, char *errstr,
                      size_t errstr_size) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
    const cJSON *typ = cJSON_GetObjectItemCaseSensitive(hdr, "typ");
    if (has_duplicate_names(hdr)) {
        snprintf(errstr, errstr_size, "the token's header names a field twice");
        return -1;
    }
    if (!cJSON_IsString(a)) {
        snprintf(errstr, errstr_size, "the token's header has no alg");
        return -1;
    }
    if (strcmp(a->valuestring, "none") == 0) {
        snprintf(errstr, errstr_size, "algorithm none is not accepted");
        return -1;
    } else if (strcmp(a->valuestring, "HS256") == 0) {
        *alg = JWT_ALG_HS256, *key = j->hs_key, *key_len = j->hs_len;
    } else if (strcmp(a->valuestring, "RS256") == 0) {
        *alg = JWT_ALG_RS256, *key = (const unsigned char *)j->rs_pem;
        *key_len = j->rs_len;
    } else {
        refuse_alg(a->valuestring, errstr, errstr_size);
        return -1;
    }
    if (!*key) {
        snprintf(errstr, errstr_size,
                 "algorithm %s is not accepted here (no %s key is configured)",
                 a->valuestring, a->valuestring);
        return -1;
    }
    if (typ && (!cJSON_IsString(typ) || strcasecmp(typ->valuestring, "JWT"))) {
        snprintf(errstr, errstr_size, "the token's typ is not JWT");
        return -1;
    }
    /* RFC 7515 4.1.11: extensions a verifier does not know must fail. */
    if (cJSON_GetObjectItemCaseSensitive(hdr, "crit")) {
        snprintf(errstr, errstr_size,
                 "the token's header has crit "
                 "extensions, which are not supported");
        return -1;
    }
    return 0;
}

/* The signature (ours for HS256, then libjwt's) and the claims libjwt read.
 * @returns the claims, or NULL with errstr. */
static cJSON *verified_claims(const erps_jwt_t *j, const char *token,
                              const char *d2, size_t len, jwt_alg_t want,
                              const unsigned char *key, size_t key_len,
                              char *errstr, size_t errstr_size) {
    const char *sig = d2 + 1;
    size_t sig_len = len - (size_t)(sig - token);
    jwt_t *decoded = NULL;
    cJSON *claims = NULL;
    if (sig_len == 0) {
        snprintf(errstr, errstr_size, "the token has no signature");
        return NULL;
    }
    if ((want == JWT_ALG_HS256 &&
         !hs256_ok(j, token, (size_t)(d2 - token), sig, sig_len)) ||
        jwt_decode(&decoded, token, key, (int)key_len) != 0 || !decoded) {
        snprintf(errstr, errstr_size, "the token's signature is not valid");
        return NULL;
    }
    /* The key was picked by the alg we read; libjwt must have read the same
     * one, or a public key could have served as an HMAC secret. */
    if (jwt_get_alg(decoded) != want) {
        snprintf(errstr, errstr_size,
                 "the token's algorithm does not match its key");
    } else {
        char *text = jwt_get_grants_json(decoded, NULL);
        claims = text ? cJSON_Parse(text) : NULL;
        free(text);
        if (!cJSON_IsObject(claims)) {
            cJSON_Delete(claims);
            claims = NULL;
            snprintf(errstr, errstr_size, "the token's claims cannot be read");
        }
    }
    jwt_free(decoded);
    return claims;
}

int erps_jwt_verify(const erps_jwt_t *j, const char *token, int64_t now_ms,
                    erps_principal_t *who, char *errstr, size_t errstr_size) {
    const char *d1, *d2;
    size_t len, key_len = 0;
    jwt_alg_t want = JWT_ALG_INVAL;
    const unsigned char *key = NULL;
    cJSON *hdr = NULL, *payload = NULL, *claims = NULL;
    int rc = -1;

    if (split_token(token, &d1, &d2, &len, errstr, errstr_size))
        return -1;
    if (!(hdr = secret_segment_json(token, (size_t)(d1 - token)))) {
        snprintf(errstr, errstr_size,
                 "the token's header is not a base64url JSON object");
        goto out;
    }
    if (header_key(j, hdr, &want, &key, &key_len, errstr, errstr_size))
        goto out;
    /* Read here only to tell a malformed payload from a bad signature. */
    if (!(payload = secret_segment_json(d1 + 1, (size_t)(d2 - d1 - 1)))) {
        snprintf(errstr, errstr_size,
                 "the token's payload is not a base64url JSON object");
        goto out;
    }
    claims = verified_claims(j, token, d2, len, want, key, key_len, errstr,
                             errstr_size);
    if (claims)
        rc = check_claims(j, claims, now_ms, who, errstr, errstr_size);
out:
    cJSON_Delete(claims);
    cJSON_Delete(payload);
    cJSON_Delete(hdr);
    return rc;
}
