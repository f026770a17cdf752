/*
 * tokens.c - Bearer JWTs (libjwt), SOTickets, session cookies with their
 * X-XSRF-TOKEN, and SO-AppTokens. OpenSSL libcrypto gives the hashes, MACs
 * and random bytes; every comparison of a secret-derived value is
 * CRYPTO_memcmp, so response times do not tell how much of a guess matched.
 */
#include "tokens.h"
#include "tokens_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "erpsync/util.h"

#define SHA256_LEN 32
#define KEY_FILE_MAX (64 * 1024)
/* Tickets are appended for every login and never removed by the shim, so
 * the file may grow big before an operator compacts it. */
#define LIST_FILE_MAX (64 * 1024 * 1024)
#define LINE_MAX_LEN 1024
/* Tickets and app tokens are short; longer text cannot be one, and is not
 * worth hashing. */
#define SECRET_TEXT_MAX 1024
#define XSRF_RANDOM_LEN 16
#define SESSION_JTI_LEN 16
/* Session expiries travel as JSON numbers (doubles): exact up to 2^53. */
#define JSON_INT_MAX INT64_C(9007199254740991)
/* The last millisecond erps_time_parse reads back (end of 9999). */
#define TIME_MAX_MS INT64_C(253402300799999)

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Characters of the unpadded base64url text of n bytes. */
#define B64URL_LEN(n) (((n) * 4 + 2) / 3)

/* Writes the unpadded base64url text of in and a NUL. */
static void b64url_encode(const unsigned char *in, size_t n, char *out) {
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        *out++ = b64url_alphabet[in[i] >> 2];
        *out++ = b64url_alphabet[(in[i] & 3) << 4 | in[i + 1] >> 4];
        *out++ = b64url_alphabet[(in[i + 1] & 15) << 2 | in[i + 2] >> 6];
        *out++ = b64url_alphabet[in[i + 2] & 63];
    }
    if (n - i == 1) {
        *out++ = b64url_alphabet[in[i] >> 2];
        *out++ = b64url_alphabet[(in[i] & 3) << 4];
    } else if (n - i == 2) {
        *out++ = b64url_alphabet[in[i] >> 2];
        *out++ = b64url_alphabet[(in[i] & 3) << 4 | in[i + 1] >> 4];
        *out++ = b64url_alphabet[(in[i + 1] & 15) << 2];
    }
    *out = '\0';
}

/*
 * Decodes unpadded base64url strictly: the URL alphabet only and the unused
 * low bits zero, so each byte string has exactly one text form. out holds
 * n * 3 / 4 bytes. @returns the byte count, or -1.
 */
static long b64url_decode(const char *in, size_t n, unsigned char *out) {
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;

    if (n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = erps_b64_value((unsigned char)in[i], 1);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
        acc &= (1u << bits) - 1;
    }
    if (acc != 0)
        return -1;
    return (long)o;
}

static int sha256(const void *data, size_t n, unsigned char out[SHA256_LEN]) {
    unsigned int len = 0;
    if (EVP_Digest(data, n, out, &len, EVP_sha256(), NULL) != 1 ||
        len != SHA256_LEN)
        return -1;
    return 0;
}

/* HMAC-SHA256 of the concatenation of nparts strings. */
static int hmac_sha256(const unsigned char *key, size_t key_len,
                       const char *const *parts, int nparts,
                       unsigned char out[SHA256_LEN]) {
    size_t total = 0, at = 0;
    unsigned int len = 0;
    int rc = -1;

    for (int i = 0; i < nparts; i++)
        total += strlen(parts[i]);
    unsigned char *msg = malloc(total ? total : 1);
    if (!msg)
        return -1;
    for (int i = 0; i < nparts; i++) {
        size_t l = strlen(parts[i]);
        memcpy(msg + at, parts[i], l);
        at += l;
    }
    if (key_len <= INT32_MAX &&
        HMAC(EVP_sha256(), key, (int)key_len, msg, total, out, &len) &&
        len == SHA256_LEN)
        rc = 0;
    free(msg);
    return rc;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes exactly 2 * n hex digits (either case). */
static int hex_decode(const char *s, unsigned char *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int hi = hexval((unsigned char)s[2 * i]);
        int lo = hi < 0 ? -1 : hexval((unsigned char)s[2 * i + 1]);
        if (lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static void hex_encode(const unsigned char *in, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void erps_sha256_hex(const char *s, char out[65]) {
    unsigned char md[SHA256_LEN];
    if (sha256(s, strlen(s), md)) {
        out[0] = '\0';
        return;
    }
    hex_encode(md, SHA256_LEN, out);
}

/* 1..max bytes, none a control character. */
static int text_ok(const char *s, size_t max) {
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

/* A JWT subject: printable ASCII without ':' (an identity provider's ids). */
static int jwt_name_ok(const char *s) {
    if (!erps_name_valid(s))
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p > 0x7e)
            return 0;
    return 1;
}

static int read_fd(int fd, const char *what, const char *path, size_t max,
                   char **buf, size_t *len, char *errstr, size_t errstr_size) {
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);

    if (!b) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                snprintf(errstr, errstr_size, "%s %s is larger than %zu bytes",
                         what, path, max);
                goto fail;
            }
            size_t ncap = cap * 2;
            char *nb = realloc(b, ncap + 1);
            if (!nb) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
            }
            b = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(errstr, errstr_size, "%s %s: %s", what, path,
                     strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > max) {
        snprintf(errstr, errstr_size, "%s %s is larger than %zu bytes", what,
                 path, max);
        goto fail;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
fail:
    OPENSSL_cleanse(b, cap + 1);
    free(b);
    return -1;
}

/* Reads a whole file (NUL-terminated copy, caller frees). */
static int read_path(const char *what, const char *path, size_t max,
                     char **buf, size_t *len, char *errstr,
                     size_t errstr_size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(errstr, errstr_size, "%s %s: %s", what, path,
                 strerror(errno));
        return -1;
    }
    int rc = read_fd(fd, what, path, max, buf, len, errstr, errstr_size);
    close(fd);
    return rc;
}

static void free_secret(char *p, size_t n) {
    if (p) {
        OPENSSL_cleanse(p, n);
        free(p);
    }
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
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
    free_secret((char *)j->hs_key, j->hs_len);
    free(j->rs_pem);
    free(j->issuer);
    free(j->audience);
    free(j->tenant_claim);
    free(j->role_claim);
    free(j);
}

/* origin names the key in messages: a path, or "given" for keys in memory. */
static erps_jwt_t *jwt_build(const erps_jwt_conf_t *conf, const void *hs_key,
                             size_t hs_len, const char *hs_origin,
                             const char *rs_pem, size_t rs_len,
                             const char *rs_origin, char *errstr,
                             size_t errstr_size) {
    erps_jwt_t *j;

    if (!conf->issuer || !conf->issuer[0]) {
        snprintf(errstr, errstr_size, "the JWT issuer is not set");
        return NULL;
    }
    if (!conf->audience || !conf->audience[0]) {
        snprintf(errstr, errstr_size, "the JWT audience is not set");
        return NULL;
    }
    if (conf->skew_ms < 0) {
        snprintf(errstr, errstr_size,
                 "the JWT clock skew must not be negative");
        return NULL;
    }
    if (!hs_key && !rs_pem) {
        snprintf(errstr, errstr_size, "no JWT key is configured (an HS256 "
                 "secret file or an RS256 public key file)");
        return NULL;
    }
    if (hs_key && hs_len < ERPS_SECRET_MIN) {
        snprintf(errstr, errstr_size, "the JWT HS256 key %s has %zu bytes; it "
                 "needs %d at least", hs_origin, hs_len, ERPS_SECRET_MIN);
        return NULL;
    }
    if (rs_pem) {
        if (rs_len > INT32_MAX) {
            snprintf(errstr, errstr_size, "the JWT RS256 key %s is too large",
                     rs_origin);
            return NULL;
        }
        BIO *bio = BIO_new_mem_buf(rs_pem, (int)rs_len);
        EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
        int bits = pk ? EVP_PKEY_get_bits(pk) : 0;
        int rsa = pk && EVP_PKEY_is_a(pk, "RSA");
        EVP_PKEY_free(pk);
        BIO_free(bio);
        ERR_clear_error();
        if (!pk) {
            snprintf(errstr, errstr_size, "the JWT RS256 key %s is not a PEM "
                     "public key (-----BEGIN PUBLIC KEY-----)", rs_origin);
            return NULL;
        }
        if (!rsa) {
            snprintf(errstr, errstr_size, "the JWT RS256 key %s is not an RSA "
                     "key", rs_origin);
            return NULL;
        }
        if (bits < 2048) {
            snprintf(errstr, errstr_size, "the JWT RS256 key %s has %d bits; "
                     "it needs 2048 at least", rs_origin, bits);
            return NULL;
        }
    }
    j = calloc(1, sizeof(*j));
    if (!j)
        goto oom;
    const char *tc = conf->tenant_claim && conf->tenant_claim[0]
                         ? conf->tenant_claim : "tenant";
    const char *rc = conf->role_claim && conf->role_claim[0] ? conf->role_claim
                                                             : "role";
    j->skew_ms = conf->skew_ms;
    j->issuer = dup_str(conf->issuer);
    j->audience = dup_str(conf->audience);
    j->tenant_claim = dup_str(tc);
    j->role_claim = dup_str(rc);
    if (!j->issuer || !j->audience || !j->tenant_claim || !j->role_claim)
        goto oom;
    if (hs_key) {
        j->hs_key = malloc(hs_len);
        if (!j->hs_key)
            goto oom;
        memcpy(j->hs_key, hs_key, hs_len);
        j->hs_len = hs_len;
    }
    if (rs_pem) {
        j->rs_pem = malloc(rs_len + 1);
        if (!j->rs_pem)
            goto oom;
        memcpy(j->rs_pem, rs_pem, rs_len);
        j->rs_pem[rs_len] = '\0';
        j->rs_len = rs_len;
    }
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
        read_path("JWT HS256 key file", conf->hs256_key_file, KEY_FILE_MAX,
                  &hs, &hs_len, errstr, errstr_size))
        goto out;
    if (conf->rs256_key_file &&
        read_path("JWT RS256 key file", conf->rs256_key_file, KEY_FILE_MAX,
                  &rs, &rs_len, errstr, errstr_size))
        goto out;
    j = jwt_build(conf, hs, hs_len, conf->hs256_key_file, rs, rs_len,
                  conf->rs256_key_file, errstr, errstr_size);
out:
    free_secret(hs, hs_len);
    free(rs);
    return j;
}

/* Decodes one base64url segment holding a JSON object. */
static cJSON *segment_json(const char *seg, size_t n) {
    unsigned char *buf = malloc(n / 4 * 3 + 3);
    cJSON *o = NULL;

    if (!buf)
        return NULL;
    long len = b64url_decode(seg, n, buf);
    /* cJSON stops at a NUL; text after one would go unread. */
    if (len > 0 && !memchr(buf, '\0', (size_t)len)) {
        const char *end = NULL;
        buf[len] = '\0';
        o = cJSON_ParseWithOpts((const char *)buf, &end, 1);
        if (o && !cJSON_IsObject(o)) {
            cJSON_Delete(o);
            o = NULL;
        }
    }
    free(buf);
    return o;
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

static int check_claims(const erps_jwt_t *j, const cJSON *claims,
                        int64_t now_ms, erps_principal_t *who, char *errstr,
                        size_t errstr_size) {
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
    r = numeric_date(claims, "nbf", 0, &t, errstr, errstr_size);
    if (r < 0)
        return -1;
    if (r == 0 && now < t * 1000.0 - skew) {
        numeric_date_text(t, when);
        snprintf(errstr, errstr_size, "the token is not valid before %s", when);
        return -1;
    }
    r = numeric_date(claims, "iat", 0, &t, errstr, errstr_size);
    if (r < 0)
        return -1;
    if (r == 0 && t * 1000.0 > now + skew) {
        numeric_date_text(t, when);
        snprintf(errstr, errstr_size, "the token was issued in the future "
                 "(iat %s)", when);
        return -1;
    }

    const cJSON *iss = cJSON_GetObjectItemCaseSensitive(claims, "iss");
    if (!cJSON_IsString(iss) || strcmp(iss->valuestring, j->issuer) != 0) {
        snprintf(errstr, errstr_size, "the token's issuer is not \"%s\"",
                 j->issuer);
        return -1;
    }

    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud");
    int aud_ok = 0;
    if (cJSON_IsString(aud)) {
        aud_ok = strcmp(aud->valuestring, j->audience) == 0;
    } else if (cJSON_IsArray(aud)) {
        const cJSON *a;
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

    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(claims, "sub");
    if (!cJSON_IsString(sub)) {
        snprintf(errstr, errstr_size, "the token has no sub claim");
        return -1;
    }
    if (!jwt_name_ok(sub->valuestring)) {
        snprintf(errstr, errstr_size, "the token's sub claim is not a valid "
                 "name (1 to %d printable ASCII characters without ':')",
                 ERPS_PRINCIPAL_MAX);
        return -1;
    }

    const cJSON *ten =
        cJSON_GetObjectItemCaseSensitive(claims, j->tenant_claim);
    if (!cJSON_IsString(ten)) {
        snprintf(errstr, errstr_size, "the token has no \"%s\" claim (the "
                 "tenant)", j->tenant_claim);
        return -1;
    }
    if (!erps_tenant_valid(ten->valuestring)) {
        snprintf(errstr, errstr_size, "the token's \"%s\" claim is not a valid "
                 "tenant (1 to %d of A-Z a-z 0-9 . _ -)", j->tenant_claim,
                 ERPS_TENANT_MAX);
        return -1;
    }

    const cJSON *role = cJSON_GetObjectItemCaseSensitive(claims, j->role_claim);
    erps_role_t rl = ERPS_ROLE_READER;
    if (role) {
        if (cJSON_IsString(role) && strcmp(role->valuestring, "admin") == 0)
            rl = ERPS_ROLE_ADMIN;
        else if (!cJSON_IsString(role) ||
                 strcmp(role->valuestring, "reader") != 0) {
            snprintf(errstr, errstr_size, "the token's \"%s\" claim is not "
                     "admin or reader", j->role_claim);
            return -1;
        }
    }

    memset(who, 0, sizeof(*who));
    erps_strlcpy(who->name, sub->valuestring, sizeof(who->name));
    erps_strlcpy(who->tenant, ten->valuestring, sizeof(who->tenant));
    who->role = rl;
    return 0;
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
        b64url_decode(sig, sig_len, got) == SHA256_LEN &&
        hmac_sha256(j->hs_key, j->hs_len, parts, 1, want) == 0)
        ok = CRYPTO_memcmp(want, got, SHA256_LEN) == 0;
    free(head);
    return ok;
}

/* Names an alg we refuse, if it is short printable text. */
static void refuse_alg(const char *alg, char *errstr, size_t errstr_size) {
    int printable = text_ok(alg, 16);
    for (const char *p = alg; printable && *p; p++)
        printable = (unsigned char)*p < 0x7f && *p != '"';
    if (printable)
        snprintf(errstr, errstr_size, "algorithm %s is not accepted (HS256 or "
                 "RS256)", alg);
    else
        snprintf(errstr, errstr_size, "the token's algorithm is not accepted "
                 "(HS256 or RS256)");
}

int erps_jwt_verify(const erps_jwt_t *j, const char *token, int64_t now_ms,
                    erps_principal_t *who, char *errstr, size_t errstr_size) {
    cJSON *hdr = NULL, *payload = NULL, *claims = NULL;
    jwt_t *decoded = NULL;
    char *claims_text = NULL;
    int rc = -1;

    if (!token || !token[0]) {
        snprintf(errstr, errstr_size, "the token is empty");
        return -1;
    }
    size_t len = strnlen(token, ERPS_JWT_MAX + 1);
    if (len > ERPS_JWT_MAX) {
        snprintf(errstr, errstr_size, "the token is longer than %d bytes",
                 ERPS_JWT_MAX);
        return -1;
    }
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token))
                        : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token))) {
        snprintf(errstr, errstr_size, "the token is not a JWT (three "
                 "base64url parts separated by dots)");
        return -1;
    }
    const char *sig = d2 + 1;
    size_t sig_len = len - (size_t)(sig - token);

    hdr = segment_json(token, (size_t)(d1 - token));
    if (!hdr) {
        snprintf(errstr, errstr_size, "the token's header is not a base64url "
                 "JSON object");
        goto out;
    }
    if (has_duplicate_names(hdr)) {
        snprintf(errstr, errstr_size, "the token's header names a field "
                 "twice");
        goto out;
    }
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
    if (!cJSON_IsString(alg)) {
        snprintf(errstr, errstr_size, "the token's header has no alg");
        goto out;
    }
    jwt_alg_t want = JWT_ALG_INVAL;
    const unsigned char *key = NULL;
    size_t key_len = 0;
    if (strcmp(alg->valuestring, "none") == 0) {
        snprintf(errstr, errstr_size, "algorithm none is not accepted");
        goto out;
    } else if (strcmp(alg->valuestring, "HS256") == 0) {
        want = JWT_ALG_HS256;
        key = j->hs_key;
        key_len = j->hs_len;
    } else if (strcmp(alg->valuestring, "RS256") == 0) {
        want = JWT_ALG_RS256;
        key = (const unsigned char *)j->rs_pem;
        key_len = j->rs_len;
    } else {
        refuse_alg(alg->valuestring, errstr, errstr_size);
        goto out;
    }
    if (!key) {
        snprintf(errstr, errstr_size, "algorithm %s is not accepted here (no "
                 "%s key is configured)", alg->valuestring, alg->valuestring);
        goto out;
    }
    const cJSON *typ = cJSON_GetObjectItemCaseSensitive(hdr, "typ");
    if (typ && (!cJSON_IsString(typ) || strcasecmp(typ->valuestring, "JWT"))) {
        snprintf(errstr, errstr_size, "the token's typ is not JWT");
        goto out;
    }
    /* RFC 7515 4.1.11: extensions a verifier does not know must fail. */
    if (cJSON_GetObjectItemCaseSensitive(hdr, "crit")) {
        snprintf(errstr, errstr_size, "the token's header has crit "
                 "extensions, which are not supported");
        goto out;
    }
    /* Read here only to tell a malformed payload from a bad signature. */
    payload = segment_json(d1 + 1, (size_t)(d2 - d1 - 1));
    if (!payload) {
        snprintf(errstr, errstr_size, "the token's payload is not a base64url "
                 "JSON object");
        goto out;
    }
    if (sig_len == 0) {
        snprintf(errstr, errstr_size, "the token has no signature");
        goto out;
    }
    if (want == JWT_ALG_HS256 &&
        !hs256_ok(j, token, (size_t)(d2 - token), sig, sig_len)) {
        snprintf(errstr, errstr_size, "the token's signature is not valid");
        goto out;
    }
    if (jwt_decode(&decoded, token, key, (int)key_len) != 0 || !decoded) {
        decoded = NULL;
        snprintf(errstr, errstr_size, "the token's signature is not valid");
        goto out;
    }
    /* The key was picked by the alg we read; libjwt must have read the same
     * one, or a public key could have served as an HMAC secret. */
    if (jwt_get_alg(decoded) != want) {
        snprintf(errstr, errstr_size, "the token's algorithm does not match "
                 "its key");
        goto out;
    }
    claims_text = jwt_get_grants_json(decoded, NULL);
    claims = claims_text ? cJSON_Parse(claims_text) : NULL;
    if (!cJSON_IsObject(claims)) {
        snprintf(errstr, errstr_size, "the token's claims cannot be read");
        goto out;
    }
    rc = check_claims(j, claims, now_ms, who, errstr, errstr_size);
out:
    cJSON_Delete(claims);
    free(claims_text);
    jwt_free(decoded);
    cJSON_Delete(payload);
    cJSON_Delete(hdr);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Line files: tickets and app tokens                                  */
/* ------------------------------------------------------------------ */

/*
 * Calls fn for each line of text that is not empty or a comment, with the
 * line NUL-terminated (CR LF endings accepted). Stops at the first line fn
 * refuses, or one holding a NUL or longer than LINE_MAX_LEN.
 * @returns 0, or the 1-based number of the bad line.
 */
static int each_line(const char *text, size_t len,
                     int (*fn)(void *ctx, char *line), void *ctx) {
    const char *p = text, *end = text + len;
    char line[LINE_MAX_LEN + 1];
    int lineno = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = (size_t)((nl ? nl : end) - p);
        const char *start = p;
        p = nl ? nl + 1 : end;
        lineno++;
        if (ll > 0 && start[ll - 1] == '\r')
            ll--;
        if (ll == 0 || start[0] == '#')
            continue;
        if (ll > LINE_MAX_LEN || memchr(start, '\0', ll))
            return lineno;
        memcpy(line, start, ll);
        line[ll] = '\0';
        if (fn(ctx, line))
            return lineno;
    }
    return 0;
}

/* Grows *v (elements of size sz) to hold one more. */
static void *grow(void *v, size_t cnt, size_t *cap, size_t sz) {
    if (cnt < *cap)
        return v;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *nv = realloc(v, ncap * sz);
    if (nv)
        *cap = ncap;
    return nv;
}

/* ------------------------------------------------------------------ */
/* SOTickets                                                           */
/* ------------------------------------------------------------------ */

typedef struct ticket {
    unsigned char hash[SHA256_LEN];
    int64_t expiry_ms;
    char user[ERPS_PRINCIPAL_MAX + 1];
} ticket_t;

typedef struct ticket_list {
    ticket_t *v;
    size_t cnt, cap;
    int oom;
} ticket_list_t;

struct erps_tickets {
    pthread_mutex_t lock;
    char *path; /* NULL: made from a buffer, never re-read */
    int64_t check_ms;
    int64_t checked_at; /* erps_mono_ms() of the last look at the file */
    int looked;         /* st describes the file last read (good or bad) */
    struct stat st;
    ticket_t *v;
    size_t cnt;
    char err[512]; /* "" after a good read */
};

static int ticket_line(void *ctx, char *line) {
    ticket_list_t *l = ctx;
    ticket_t t;
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

    memset(&t, 0, sizeof(t));
    if (!c1 || !c2 || c1 - line != 2 * SHA256_LEN ||
        hex_decode(line, t.hash, SHA256_LEN))
        return -1;
    *c2 = '\0';
    if (!erps_name_valid(c1 + 1) || erps_time_parse(c2 + 1, &t.expiry_ms))
        return -1;
    erps_strlcpy(t.user, c1 + 1, sizeof(t.user));
    ticket_t *nv = grow(l->v, l->cnt, &l->cap, sizeof(*nv));
    if (!nv) {
        l->oom = 1;
        return -1;
    }
    l->v = nv;
    l->v[l->cnt++] = t;
    return 0;
}

static int parse_tickets(const char *text, size_t len, const char *origin,
                         ticket_list_t *l, char *errstr, size_t errstr_size) {
    memset(l, 0, sizeof(*l));
    int bad = each_line(text, len, ticket_line, l);
    if (!bad)
        return 0;
    if (l->oom)
        snprintf(errstr, errstr_size, "out of memory");
    else
        snprintf(errstr, errstr_size, "tickets file %s:%d: expected "
                 "<sha256 hex>:<user>:<expiry RFC 3339>", origin, bad);
    free(l->v);
    l->v = NULL;
    return -1;
}

static int same_file(const struct stat *a, const struct stat *b) {
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void tickets_replace(erps_tickets_t *t, ticket_list_t *l) {
    free(t->v);
    t->v = l->v;
    t->cnt = l->cnt;
    t->err[0] = '\0';
}

/*
 * Reads the file if it changed since the last look. On a bad read the old
 * tickets stay and t->err says why. The stat is taken before reading: a
 * writer finishing its line during the read changes the file again, so the
 * next look reads it again. @locks t->lock held by the caller
 */
static int tickets_load(erps_tickets_t *t) {
    ticket_list_t l;
    struct stat st;
    char *buf = NULL;
    size_t len = 0;

    int fd = open(t->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            /* Nothing issued yet, or the operator removed every ticket. */
            memset(&l, 0, sizeof(l));
            tickets_replace(t, &l);
            t->looked = 0;
            return 0;
        }
        snprintf(t->err, sizeof(t->err), "tickets file %s: %s", t->path,
                 strerror(errno));
        return -1;
    }
    if (fstat(fd, &st)) {
        snprintf(t->err, sizeof(t->err), "tickets file %s: %s", t->path,
                 strerror(errno));
        close(fd);
        return -1;
    }
    if (t->looked && same_file(&st, &t->st)) {
        close(fd);
        return t->err[0] ? -1 : 0;
    }
    int rc = read_fd(fd, "tickets file", t->path, LIST_FILE_MAX, &buf, &len,
                     t->err, sizeof(t->err));
    close(fd);
    if (rc)
        return -1;
    t->st = st;
    t->looked = 1;
    rc = parse_tickets(buf, len, t->path, &l, t->err, sizeof(t->err));
    free(buf);
    if (rc)
        return -1;
    tickets_replace(t, &l);
    return 0;
}

static erps_tickets_t *tickets_alloc(void) {
    erps_tickets_t *t = calloc(1, sizeof(*t));
    if (t && pthread_mutex_init(&t->lock, NULL)) {
        free(t);
        t = NULL;
    }
    return t;
}

erps_tickets_t *erps_tickets_open_every(const char *path, int64_t check_ms,
                                        char *errstr, size_t errstr_size) {
    erps_tickets_t *t = tickets_alloc();
    if (!t || !(t->path = dup_str(path))) {
        snprintf(errstr, errstr_size, "out of memory");
        erps_tickets_destroy(t);
        return NULL;
    }
    t->check_ms = check_ms;
    t->checked_at = erps_mono_ms();
    if (tickets_load(t)) {
        snprintf(errstr, errstr_size, "%s", t->err);
        erps_tickets_destroy(t);
        return NULL;
    }
    return t;
}

erps_tickets_t *erps_tickets_open(const char *path, char *errstr,
                                  size_t errstr_size) {
    return erps_tickets_open_every(path, 1000, errstr, errstr_size);
}

erps_tickets_t *erps_tickets_from_text(const char *text, size_t len,
                                       char *errstr, size_t errstr_size) {
    ticket_list_t l;
    erps_tickets_t *t = tickets_alloc();
    if (!t) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (parse_tickets(text, len, "(text)", &l, errstr, errstr_size)) {
        erps_tickets_destroy(t);
        return NULL;
    }
    tickets_replace(t, &l);
    return t;
}

void erps_tickets_destroy(erps_tickets_t *t) {
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t->v);
    free(t->path);
    free(t);
}

int erps_tickets_error(erps_tickets_t *t, char *errstr, size_t errstr_size) {
    pthread_mutex_lock(&t->lock);
    int rc = t->err[0] ? -1 : 0;
    if (rc)
        snprintf(errstr, errstr_size, "%s", t->err);
    pthread_mutex_unlock(&t->lock);
    return rc;
}

int erps_tickets_check(erps_tickets_t *t, const char *ticket, int64_t now_ms,
                       char *user, size_t user_size, char *errstr,
                       size_t errstr_size) {
    unsigned char h[SHA256_LEN];
    char found_user[ERPS_PRINCIPAL_MAX + 1];
    int64_t expiry = 0;
    int found = 0;

    if (!ticket || !ticket[0] ||
        strnlen(ticket, SECRET_TEXT_MAX + 1) > SECRET_TEXT_MAX ||
        sha256(ticket, strlen(ticket), h)) {
        snprintf(errstr, errstr_size, "the ticket is not known");
        return -1;
    }
    pthread_mutex_lock(&t->lock);
    /* The file is looked at again every check_ms; and at every miss, as
     * a ticket not in the list may have been issued a moment ago: a client
     * may use it right after --issue-ticket printed it. A look is an open
     * and an fstat; the file is read again only when it changed. */
    for (int pass = 0; pass < 2 && !found; pass++) {
        if (t->path) {
            int64_t mono = erps_mono_ms();
            if (pass || mono - t->checked_at >= t->check_ms) {
                t->checked_at = mono;
                (void)tickets_load(t); /* on failure t->err tells */
            }
        }
        /* Every line is compared, so the time taken does not say which. */
        for (size_t i = 0; i < t->cnt; i++) {
            int eq = CRYPTO_memcmp(t->v[i].hash, h, SHA256_LEN) == 0;
            if (eq && !found) {
                found = 1;
                expiry = t->v[i].expiry_ms;
                erps_strlcpy(found_user, t->v[i].user, sizeof(found_user));
            }
        }
    }
    pthread_mutex_unlock(&t->lock);

    if (!found) {
        snprintf(errstr, errstr_size, "the ticket is not known");
        return -1;
    }
    if (now_ms >= expiry) {
        char when[ERPS_TIME_LEN];
        erps_time_format(expiry, when);
        snprintf(errstr, errstr_size, "the ticket expired at %s", when);
        return -2;
    }
    if (erps_strlcpy(user, found_user, user_size) >= user_size) {
        snprintf(errstr, errstr_size, "the ticket's user name does not fit");
        return -1;
    }
    return 0;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int erps_tickets_issue(const char *path, const char *user, int64_t ttl_ms,
                       int64_t now_ms, char *ticket, size_t ticket_size,
                       char *errstr, size_t errstr_size) {
    unsigned char rnd[32], h[SHA256_LEN];
    char text[ERPS_TICKET_LEN + 1], hex[2 * SHA256_LEN + 1];
    char when[ERPS_TIME_LEN], line[2 * SHA256_LEN + ERPS_PRINCIPAL_MAX +
                                   ERPS_TIME_LEN + 8];
    int rc = -1, fd = -1;

    if (ticket_size < sizeof(text)) {
        snprintf(errstr, errstr_size, "the ticket buffer is too small");
        return -1;
    }
    if (!user || !erps_name_valid(user)) {
        snprintf(errstr, errstr_size, "a ticket user name has 1 to %d bytes, "
                 "without ':' or control characters", ERPS_PRINCIPAL_MAX);
        return -1;
    }
    if (ttl_ms <= 0 || now_ms < 0 || now_ms > TIME_MAX_MS ||
        ttl_ms > TIME_MAX_MS - now_ms) {
        snprintf(errstr, errstr_size, "the ticket lifetime must be positive "
                 "and end before the year 10000");
        return -1;
    }
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        snprintf(errstr, errstr_size, "no random bytes for a ticket");
        return -1;
    }
    memcpy(text, "7T:", 3);
    b64url_encode(rnd, sizeof(rnd), text + 3);
    OPENSSL_cleanse(rnd, sizeof(rnd));
    if (sha256(text, strlen(text), h)) {
        snprintf(errstr, errstr_size, "SHA-256 is not available");
        goto out;
    }
    hex_encode(h, SHA256_LEN, hex);
    erps_time_format(now_ms + ttl_ms, when);
    /* Room for a newline in front, for a file whose last line lacks one. */
    int n = snprintf(line + 1, sizeof(line) - 1, "%s:%s:%s\n", hex, user,
                     when);
    if (n < 0 || (size_t)n >= sizeof(line) - 1) {
        snprintf(errstr, errstr_size, "the ticket line does not fit");
        goto out;
    }
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(errstr, errstr_size, "tickets file %s: %s", path,
                 strerror(errno));
        goto out;
    }
    /* A hand-edited file may lack its last newline; our line must not be
     * glued to that one. One write() per line: O_APPEND keeps the lines of
     * shims issuing at the same time apart. */
    struct stat st;
    char last = '\n';
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        int rfd = open(path, O_RDONLY | O_CLOEXEC);
        if (rfd >= 0) {
            if (pread(rfd, &last, 1, st.st_size - 1) != 1)
                last = '\n';
            close(rfd);
        }
    }
    line[0] = '\n';
    const char *from = last == '\n' ? line + 1 : line;
    if (write_all(fd, from, (size_t)n + (size_t)(line + 1 - from)) ||
        fsync(fd)) {
        snprintf(errstr, errstr_size, "tickets file %s: %s", path,
                 strerror(errno));
        goto out;
    }
    memcpy(ticket, text, sizeof(text));
    rc = 0;
out:
    if (fd >= 0 && close(fd) && rc == 0) {
        snprintf(errstr, errstr_size, "tickets file %s: %s", path,
                 strerror(errno));
        rc = -1;
    }
    OPENSSL_cleanse(text, sizeof(text));
    return rc;
}

/* ------------------------------------------------------------------ */
/* Session cookie + X-XSRF-TOKEN                                       */
/* ------------------------------------------------------------------ */

struct erps_session {
    unsigned char *key;
    size_t key_len;
    int64_t ttl_ms;
};

erps_session_t *erps_session_new_key(const void *key, size_t key_len,
                                     int64_t ttl_ms, char *errstr,
                                     size_t errstr_size) {
    if (key_len < ERPS_SECRET_MIN) {
        snprintf(errstr, errstr_size, "the session key has %zu bytes; it needs "
                 "%d at least", key_len, ERPS_SECRET_MIN);
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
    if (read_path("session key file", key_file, KEY_FILE_MAX, &key, &len,
                  errstr, errstr_size))
        return NULL;
    erps_session_t *s = NULL;
    if (len < ERPS_SECRET_MIN)
        snprintf(errstr, errstr_size, "session key file %s has %zu bytes; it "
                 "needs %d at least", key_file, len, ERPS_SECRET_MIN);
    else
        s = erps_session_new_key(key, len, ttl_ms, errstr, errstr_size);
    free_secret(key, len);
    return s;
}

void erps_session_destroy(erps_session_t *s) {
    if (!s)
        return;
    free_secret((char *)s->key, s->key_len);
    free(s);
}

int64_t erps_session_ttl_ms(const erps_session_t *s) {
    return s->ttl_ms;
}

/* The X-XSRF-TOKEN of cookie for the random part r (22 characters). */
static int xsrf_mac(const erps_session_t *s, const char *cookie,
                    const char *r, unsigned char mac[SHA256_LEN]) {
    const char *parts[] = {"erpsync-xsrf|", cookie, "|", r};
    return hmac_sha256(s->key, s->key_len, parts, 4, mac);
}

static int session_mac(const erps_session_t *s, const char *payload,
                       unsigned char mac[SHA256_LEN]) {
    const char *parts[] = {"erpsync-session|", payload};
    return hmac_sha256(s->key, s->key_len, parts, 2, mac);
}

int erps_session_bind(const erps_session_t *s, const char *text,
                      char out[ERPS_BINDING_LEN + 1]) {
    unsigned char mac[SHA256_LEN];
    const char *parts[] = {"erpsync-bind|", text};
    if (hmac_sha256(s->key, s->key_len, parts, 2, mac))
        return -1;
    b64url_encode(mac, SHA256_LEN, out);
    OPENSSL_cleanse(mac, sizeof(mac));
    return 0;
}

int erps_session_issue(const erps_session_t *s, const erps_principal_t *who,
                       int64_t now_ms, char *cookie, size_t cookie_size,
                       char *xsrf, size_t xsrf_size) {
    unsigned char jti[SESSION_JTI_LEN], rnd[XSRF_RANDOM_LEN], mac[SHA256_LEN];
    char jti_hex[2 * SESSION_JTI_LEN + 1];
    char r[B64URL_LEN(XSRF_RANDOM_LEN) + 1];
    char mac_text[B64URL_LEN(SHA256_LEN) + 1];
    char *json = NULL, *payload = NULL;
    cJSON *o = NULL;
    int rc = -1;

    if (!erps_name_valid(who->name) || !text_ok(who->tenant, ERPS_TENANT_MAX) ||
        strnlen(who->binding, sizeof(who->binding)) == sizeof(who->binding) ||
        (who->binding[0] && !text_ok(who->binding, ERPS_BINDING_LEN)) ||
        (who->role != ERPS_ROLE_ADMIN && who->role != ERPS_ROLE_READER) ||
        now_ms < 0 || s->ttl_ms > JSON_INT_MAX - now_ms)
        return -1;
    if (RAND_bytes(jti, sizeof(jti)) != 1 || RAND_bytes(rnd, sizeof(rnd)) != 1)
        return -1;
    hex_encode(jti, sizeof(jti), jti_hex);
    o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "n", who->name) ||
        !cJSON_AddStringToObject(o, "t", who->tenant) ||
        !cJSON_AddStringToObject(o, "r", erps_role_name(who->role)) ||
        !cJSON_AddNumberToObject(o, "e", (double)(now_ms + s->ttl_ms)) ||
        !cJSON_AddStringToObject(o, "j", jti_hex) ||
        (who->binding[0] && !cJSON_AddStringToObject(o, "b", who->binding)))
        goto out;
    json = cJSON_PrintUnformatted(o);
    if (!json)
        goto out;
    size_t jl = strlen(json);
    size_t pl = B64URL_LEN(jl), cl = pl + 1 + B64URL_LEN(SHA256_LEN);
    /* erps_session_check refuses what does not fit ERPS_SESSION_COOKIE_MAX. */
    if (cl + 1 > cookie_size || cl >= ERPS_SESSION_COOKIE_MAX)
        goto out;
    payload = malloc(pl + 1);
    if (!payload)
        goto out;
    b64url_encode((const unsigned char *)json, jl, payload);
    if (session_mac(s, payload, mac))
        goto out;
    b64url_encode(mac, SHA256_LEN, mac_text);
    snprintf(cookie, cookie_size, "%s.%s", payload, mac_text);

    b64url_encode(rnd, sizeof(rnd), r);
    if (strlen(r) + 1 + strlen(mac_text) + 1 > xsrf_size ||
        xsrf_mac(s, cookie, r, mac))
        goto out;
    b64url_encode(mac, SHA256_LEN, mac_text);
    snprintf(xsrf, xsrf_size, "%s.%s", r, mac_text);
    rc = 0;
out:
    if (rc && cookie_size)
        cookie[0] = '\0';
    if (rc && xsrf_size)
        xsrf[0] = '\0';
    free(payload);
    cJSON_free(json);
    cJSON_Delete(o);
    return rc;
}

/* Checks that text is "<part>.<HMAC>" where the HMAC (base64url) equals
 * mac. @returns 1 when it does. */
static int mac_text_ok(const char *text, const unsigned char mac[SHA256_LEN]) {
    unsigned char got[SHA256_LEN + 3];
    return strlen(text) == B64URL_LEN(SHA256_LEN) &&
           b64url_decode(text, strlen(text), got) == SHA256_LEN &&
           CRYPTO_memcmp(got, mac, SHA256_LEN) == 0;
}

/* Reads a signed session payload. @returns 0 with *who and *expiry. */
static int session_payload(const char *payload, size_t pl,
                           erps_principal_t *who, int64_t *expiry) {
    cJSON *o = segment_json(payload, pl);
    int rc = -1;
    if (!o)
        return -1;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "n");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "t");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "r");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "e");
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, "j");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "b");
    if (b && (!cJSON_IsString(b) || strlen(b->valuestring) > ERPS_BINDING_LEN))
        goto out;
    if (!cJSON_IsString(n) || !erps_name_valid(n->valuestring) ||
        !cJSON_IsString(t) || !text_ok(t->valuestring, ERPS_TENANT_MAX) ||
        !cJSON_IsString(r) || !cJSON_IsNumber(e) || !cJSON_IsString(j) ||
        strlen(j->valuestring) != 2 * SESSION_JTI_LEN ||
        !(e->valuedouble >= 0 && e->valuedouble <= (double)JSON_INT_MAX))
        goto out;
    memset(who, 0, sizeof(*who));
    if (strcmp(r->valuestring, "admin") == 0)
        who->role = ERPS_ROLE_ADMIN;
    else if (strcmp(r->valuestring, "reader") == 0)
        who->role = ERPS_ROLE_READER;
    else
        goto out;
    erps_strlcpy(who->name, n->valuestring, sizeof(who->name));
    erps_strlcpy(who->tenant, t->valuestring, sizeof(who->tenant));
    if (b)
        erps_strlcpy(who->binding, b->valuestring, sizeof(who->binding));
    *expiry = (int64_t)e->valuedouble;
    rc = 0;
out:
    cJSON_Delete(o);
    return rc;
}

int erps_session_check(const erps_session_t *s, const char *cookie,
                       const char *xsrf, int64_t now_ms, erps_principal_t *who,
                       char *errstr, size_t errstr_size) {
    unsigned char mac[SHA256_LEN];
    char *payload = NULL;
    erps_principal_t p;
    int64_t expiry = 0;
    int rc = -1;

    size_t cl = cookie ? strnlen(cookie, ERPS_SESSION_COOKIE_MAX) : 0;
    const char *dot = cl ? memchr(cookie, '.', cl) : NULL;
    if (!dot || cl >= ERPS_SESSION_COOKIE_MAX)
        goto invalid;
    size_t pl = (size_t)(dot - cookie);
    payload = malloc(pl + 1);
    if (!payload)
        goto invalid;
    memcpy(payload, cookie, pl);
    payload[pl] = '\0';
    if (session_mac(s, payload, mac) || !mac_text_ok(dot + 1, mac) ||
        session_payload(payload, pl, &p, &expiry))
        goto invalid;
    if (now_ms >= expiry) {
        snprintf(errstr, errstr_size, "the session expired");
        goto out;
    }
    if (!xsrf || !xsrf[0]) {
        snprintf(errstr, errstr_size, "the X-XSRF-TOKEN header is missing");
        goto out;
    }
    size_t xl = strnlen(xsrf, ERPS_XSRF_MAX);
    size_t rl = B64URL_LEN(XSRF_RANDOM_LEN);
    char r[B64URL_LEN(XSRF_RANDOM_LEN) + 1];
    if (xl >= ERPS_XSRF_MAX || xl <= rl || xsrf[rl] != '.') {
        snprintf(errstr, errstr_size, "the X-XSRF-TOKEN does not belong to "
                 "this session");
        goto out;
    }
    memcpy(r, xsrf, rl);
    r[rl] = '\0';
    if (xsrf_mac(s, cookie, r, mac) || !mac_text_ok(xsrf + rl + 1, mac)) {
        snprintf(errstr, errstr_size, "the X-XSRF-TOKEN does not belong to "
                 "this session");
        goto out;
    }
    *who = p;
    rc = 0;
    goto out;
invalid:
    snprintf(errstr, errstr_size, "the session cookie is not valid");
out:
    free(payload);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Cookie header                                                       */
/* ------------------------------------------------------------------ */

static int ows(char c) {
    return c == ' ' || c == '\t';
}

int erps_cookie_get(const char *header, const char *name, char *out,
                    size_t out_size) {
    size_t nl;

    if (!header || !name || !(nl = strlen(name)) || out_size == 0)
        return -1;
    const char *p = header;
    while (*p) {
        const char *end = strchr(p, ';');
        if (!end)
            end = p + strlen(p);
        const char *a = p, *b = end;
        p = *end ? end + 1 : end;
        while (a < b && ows(*a))
            a++;
        while (b > a && ows(b[-1]))
            b--;
        const char *eq = memchr(a, '=', (size_t)(b - a));
        if (!eq)
            continue;
        const char *ne = eq;
        while (ne > a && ows(ne[-1]))
            ne--;
        if ((size_t)(ne - a) != nl || memcmp(a, name, nl) != 0)
            continue;
        const char *v = eq + 1;
        while (v < b && ows(*v))
            v++;
        if (b - v >= 2 && *v == '"' && b[-1] == '"') {
            v++;
            b--;
        }
        size_t vl = (size_t)(b - v);
        if (vl >= out_size)
            return -1;
        memcpy(out, v, vl);
        out[vl] = '\0';
        return 0;
    }
    return -1;
}

/* ------------------------------------------------------------------ */
/* SO-AppToken                                                         */
/* ------------------------------------------------------------------ */

typedef struct apptoken {
    unsigned char hash[SHA256_LEN];
    char app[ERPS_APP_NAME_MAX + 1];
} apptoken_t;

struct erps_apptokens {
    apptoken_t *v;
    size_t cnt, cap;
    int oom;
};

static int apptoken_line(void *ctx, char *line) {
    erps_apptokens_t *a = ctx;
    apptoken_t t;
    size_t len = strlen(line);

    memset(&t, 0, sizeof(t));
    if (len < 2 * SHA256_LEN || hex_decode(line, t.hash, SHA256_LEN))
        return -1;
    if (len > 2 * SHA256_LEN) {
        const char *app = line + 2 * SHA256_LEN + 1;
        if (line[2 * SHA256_LEN] != ':' ||
            (*app && !text_ok(app, ERPS_APP_NAME_MAX)))
            return -1;
        erps_strlcpy(t.app, app, sizeof(t.app));
    }
    apptoken_t *nv = grow(a->v, a->cnt, &a->cap, sizeof(*nv));
    if (!nv) {
        a->oom = 1;
        return -1;
    }
    a->v = nv;
    a->v[a->cnt++] = t;
    return 0;
}

static erps_apptokens_t *apptokens_parse(const char *text, size_t len,
                                         const char *origin, char *errstr,
                                         size_t errstr_size) {
    erps_apptokens_t *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    int bad = each_line(text, len, apptoken_line, a);
    if (bad) {
        if (a->oom)
            snprintf(errstr, errstr_size, "out of memory");
        else
            snprintf(errstr, errstr_size, "app tokens file %s:%d: expected "
                     "<sha256 hex>[:<app name>]", origin, bad);
        erps_apptokens_destroy(a);
        return NULL;
    }
    return a;
}

erps_apptokens_t *erps_apptokens_from_text(const char *text, size_t len,
                                           char *errstr, size_t errstr_size) {
    return apptokens_parse(text, len, "(text)", errstr, errstr_size);
}

erps_apptokens_t *erps_apptokens_load(const char *path, char *errstr,
                                      size_t errstr_size) {
    char *buf = NULL;
    size_t len = 0;
    if (read_path("app tokens file", path, LIST_FILE_MAX, &buf, &len, errstr,
                  errstr_size))
        return NULL;
    erps_apptokens_t *a = apptokens_parse(buf, len, path, errstr, errstr_size);
    free(buf);
    return a;
}

void erps_apptokens_destroy(erps_apptokens_t *a) {
    if (!a)
        return;
    free(a->v);
    free(a);
}

int erps_apptokens_check(const erps_apptokens_t *a, const char *token,
                         char *app, size_t app_size) {
    unsigned char h[SHA256_LEN];
    const apptoken_t *found = NULL;

    if (!token || !token[0] ||
        strnlen(token, SECRET_TEXT_MAX + 1) > SECRET_TEXT_MAX ||
        sha256(token, strlen(token), h))
        return -1;
    for (size_t i = 0; i < a->cnt; i++) {
        int eq = CRYPTO_memcmp(a->v[i].hash, h, SHA256_LEN) == 0;
        if (eq && !found)
            found = &a->v[i];
    }
    if (!found)
        return -1;
    if (app && erps_strlcpy(app, found->app, app_size) >= app_size)
        return -1;
    return 0;
}
