/* test_tokens.c - Bearer JWTs, SOTickets, session cookies with X-XSRF-TOKEN,
 * the Cookie header and SO-AppTokens. Tokens are made here with libjwt itself
 * and an RSA key pair generated at start, so the verifier is checked against
 * an independent signer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "erpsync/util.h"
#include "tokens.h"
#include "tokens_internal.h"

#define NOW_S   INT64_C(1795852800) /* 2026-11-28T08:00:00Z */
#define NOW_MS  (NOW_S * 1000)
#define SKEW_MS 30000

static const char HS_KEY[] = "0123456789abcdef0123456789abcdef-hs"; /* 35 */
static const char OTHER_HS_KEY[] = "fedcba9876543210fedcba9876543210-xx";
static const char ISS[] = "https://idp.example";
static const char AUD[] = "erpsync";

static char dir[64];
static char *rs_priv, *rs_pub, *other_priv; /* PEM text */
static erps_jwt_t *j_hs, *j_rs, *j_both;

/* ---- helpers ---- */

static char *path_in(const char *name) {
    static char p[8][160];
    static int next;
    char *out = p[next++ % 8];
    snprintf(out, sizeof(p[0]), "%s/%s", dir, name);
    return out;
}

static const char *write_file(const char *name, const void *data, size_t n) {
    const char *p = path_in(name);
    FILE *fp = fopen(p, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
    return p;
}

static void append_file(const char *p, const char *text) {
    FILE *fp = fopen(p, "ab");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static char *slurp(const char *p) {
    FILE *fp = fopen(p, "rb");
    assert_non_null(fp);
    char *buf = calloc(1, 1 << 16);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 16) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* tmpl with its "%s" (if any) replaced by arg. */
static void subst(char *out, size_t n, const char *tmpl, const char *arg) {
    const char *at = strstr(tmpl, "%s");
    if (!at)
        snprintf(out, n, "%s", tmpl);
    else
        snprintf(out, n, "%.*s%s%s", (int)(at - tmpl), tmpl, arg, at + 2);
}

static char *pem_of(EVP_PKEY *k, int private_key) {
    BIO *b = BIO_new(BIO_s_mem());
    assert_non_null(b);
    if (private_key)
        assert_int_equal(
            PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
    else
        assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *out = malloc((size_t)n + 1);
    assert_non_null(out);
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    BIO_free(b);
    return out;
}

/* Writes a key's PEM files through a file BIO, as an operator's tool would. */
static void write_pem_files(EVP_PKEY *k, const char *pub, const char *priv) {
    BIO *b = BIO_new_file(path_in(pub), "w");
    assert_non_null(b);
    assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
    BIO_free(b);
    b = BIO_new_file(path_in(priv), "w");
    assert_non_null(b);
    assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL),
                     1);
    BIO_free(b);
}

static char *b64u(const void *data, size_t n) {
    static const char t[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *s = data;
    char *out = malloc(n * 4 / 3 + 4), *o = out;
    assert_non_null(out);
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        *o++ = t[s[i] >> 2];
        *o++ = t[(s[i] & 3) << 4 | s[i + 1] >> 4];
        *o++ = t[(s[i + 1] & 15) << 2 | s[i + 2] >> 6];
        *o++ = t[s[i + 2] & 63];
    }
    if (n - i == 1) {
        *o++ = t[s[i] >> 2];
        *o++ = t[(s[i] & 3) << 4];
    } else if (n - i == 2) {
        *o++ = t[s[i] >> 2];
        *o++ = t[(s[i] & 3) << 4 | s[i + 1] >> 4];
        *o++ = t[(s[i + 1] & 15) << 2];
    }
    *o = '\0';
    return out;
}

/* The standard claims with patch applied: each member of patch replaces
 * the claim of its name, null removes it. Caller frees. */
static char *claims(const char *patch) {
    char base[512];
    snprintf(base, sizeof(base),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"alice\","
             "\"tenant\":\"acme\",\"role\":\"admin\",\"exp\":%lld,"
             "\"iat\":%lld}",
             ISS, AUD, (long long)(NOW_S + 600), (long long)(NOW_S - 10));
    cJSON *o = cJSON_Parse(base), *p = cJSON_Parse(patch ? patch : "{}");
    assert_non_null(o);
    assert_non_null(p);
    for (cJSON *c = p->child; c; c = c->next) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, c->string);
        if (!cJSON_IsNull(c))
            cJSON_AddItemToObject(o, c->string, cJSON_Duplicate(c, 1));
    }
    char *s = cJSON_PrintUnformatted(o);
    assert_non_null(s);
    cJSON_Delete(o);
    cJSON_Delete(p);
    return s;
}

/* A token signed by libjwt. Caller frees. */
static char *mk(jwt_alg_t alg, const void *key, size_t key_len,
                const char *patch) {
    jwt_t *jw = NULL;
    char *c = claims(patch);
    assert_int_equal(jwt_new(&jw), 0);
    assert_int_equal(jwt_add_grants_json(jw, c), 0);
    assert_int_equal(
        jwt_set_alg(jw, alg, (const unsigned char *)key, (int)key_len), 0);
    char *tok = jwt_encode_str(jw);
    assert_non_null(tok);
    jwt_free(jw);
    free(c);
    return tok;
}

static char *hs(const char *patch) {
    return mk(JWT_ALG_HS256, HS_KEY, strlen(HS_KEY), patch);
}

static char *rs(const char *patch) {
    return mk(JWT_ALG_RS256, rs_priv, strlen(rs_priv), patch);
}

/* header.payload signed by hand with HMAC-SHA256 under key. */
static char *hand_hs(const char *header_json, const char *claims_json,
                     const void *key, size_t key_len) {
    char *h = b64u(header_json, strlen(header_json));
    char *p = b64u(claims_json, strlen(claims_json));
    size_t n = strlen(h) + strlen(p) + 64;
    char *tok = malloc(n);
    assert_non_null(tok);
    snprintf(tok, n, "%s.%s", h, p);
    unsigned char mac[32];
    unsigned int ml = 0;
    assert_non_null(HMAC(EVP_sha256(), key, (int)key_len,
                         (const unsigned char *)tok, strlen(tok), mac, &ml));
    char *s = b64u(mac, ml);
    strcat(tok, ".");
    strcat(tok, s);
    free(s);
    free(h);
    free(p);
    return tok;
}

static void expect_ok(const erps_jwt_t *j, const char *tok,
                      erps_principal_t *who) {
    char err[256] = "";
    if (erps_jwt_verify(j, tok, NOW_MS, who, err, sizeof(err)) != 0)
        fail_msg("refused: %s", err);
    assert_string_equal(who->engine_id, "");
}

/* Refused, with a message holding needle and no part of the token. */
static void expect_fail(const erps_jwt_t *j, const char *tok,
                        const char *needle) {
    erps_principal_t who;
    char err[256] = "";
    assert_int_equal(erps_jwt_verify(j, tok, NOW_MS, &who, err, sizeof(err)),
                     -1);
    if (!strstr(err, needle))
        fail_msg("\"%s\" does not say \"%s\"", err, needle);
    const char *last = tok ? strrchr(tok, '.') : NULL;
    if (last && strlen(last + 1) >= 8)
        assert_null(strstr(err, last + 1));
    if (tok && strlen(tok) >= 8)
        assert_null(strstr(err, tok));
}

static erps_jwt_t *make_jwt(const char *hs_file, const char *rs_file) {
    erps_jwt_conf_t c = {hs_file, rs_file, ISS, AUD, SKEW_MS, NULL, NULL};
    char err[256] = "";
    erps_jwt_t *j = erps_jwt_new(&c, err, sizeof(err));
    if (!j)
        fail_msg("erps_jwt_new: %s", err);
    return j;
}

static int setup(void **state) {
    (void)state;
    strcpy(dir, "/tmp/erpsync-tokens-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    EVP_PKEY *k = EVP_RSA_gen(2048), *other = EVP_RSA_gen(2048);
    if (!k || !other)
        return -1;
    write_pem_files(k, "rs.pub", "rs.key");
    rs_priv = slurp(path_in("rs.key"));
    rs_pub = slurp(path_in("rs.pub"));
    other_priv = pem_of(other, 1);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
    write_file("hs.key", HS_KEY, strlen(HS_KEY));
    j_hs = make_jwt(path_in("hs.key"), NULL);
    j_rs = make_jwt(NULL, path_in("rs.pub"));
    j_both = make_jwt(path_in("hs.key"), path_in("rs.pub"));
    return 0;
}

static int teardown(void **state) {
    char cmd[128];
    (void)state;
    erps_jwt_destroy(j_hs);
    erps_jwt_destroy(j_rs);
    erps_jwt_destroy(j_both);
    free(rs_priv);
    free(rs_pub);
    free(other_priv);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- JWT ---- */

static void jwt_valid(void **state) {
    erps_principal_t who;
    (void)state;
    char *t = hs(NULL);
    expect_ok(j_hs, t, &who);
    assert_string_equal(who.name, "alice");
    assert_string_equal(who.tenant, "acme");
    assert_int_equal(who.role, ERPS_ROLE_ADMIN);
    expect_ok(j_both, t, &who);
    expect_fail(j_rs, t, "algorithm HS256 is not accepted here");
    free(t);

    t = rs("{\"sub\":\"bob@example.com\",\"role\":\"reader\"}");
    expect_ok(j_rs, t, &who);
    assert_string_equal(who.name, "bob@example.com");
    assert_int_equal(who.role, ERPS_ROLE_READER);
    expect_ok(j_both, t, &who);
    expect_fail(j_hs, t, "algorithm RS256 is not accepted here");
    free(t);

    /* No role claim: a reader. An explicit typ JWT is fine. */
    t = hs("{\"role\":null}");
    expect_ok(j_hs, t, &who);
    assert_int_equal(who.role, ERPS_ROLE_READER);
    free(t);
}

static void jwt_times(void **state) {
    erps_principal_t who;
    char *t;
    (void)state;
    t = hs("{\"exp\":1795852700}"); /* 100 s ago, skew 30 s */
    expect_fail(j_hs, t, "the token is expired");
    expect_fail(j_hs, t, "2026-11-28T07:58:20.000Z");
    free(t);
    t = hs("{\"exp\":1795852780}"); /* 20 s ago: within the skew */
    expect_ok(j_hs, t, &who);
    free(t);
    t = hs("{\"exp\":1795852770}"); /* exactly at the skew's edge */
    expect_ok(j_hs, t, &who);
    free(t);
    t = hs("{\"exp\":1795852769.999}"); /* a millisecond past it */
    expect_fail(j_hs, t, "the token is expired");
    free(t);
    t = hs("{\"exp\":1795852800}"); /* exactly now */
    expect_ok(j_hs, t, &who);
    free(t);
    t = hs("{\"exp\":1795852800.5}"); /* NumericDate may have a fraction */
    expect_ok(j_hs, t, &who);
    free(t);
    t = hs("{\"exp\":null}");
    expect_fail(j_hs, t, "the token has no exp claim");
    free(t);
    t = hs("{\"exp\":\"1795852900\"}");
    expect_fail(j_hs, t, "the token's exp claim is not a number");
    free(t);

    t = hs("{\"nbf\":1795852920}"); /* two minutes ahead */
    expect_fail(j_hs, t, "the token is not valid before 2026-11-28T08:02:00");
    free(t);
    t = hs("{\"nbf\":1795852820}"); /* 20 s ahead: within the skew */
    expect_ok(j_hs, t, &who);
    free(t);
    t = hs("{\"nbf\":1795852830}"); /* the skew's edge */
    expect_ok(j_hs, t, &who);
    free(t);
    t = hs("{\"nbf\":1795852830.001}");
    expect_fail(j_hs, t, "not valid before");
    free(t);
    t = hs("{\"nbf\":true}");
    expect_fail(j_hs, t, "the token's nbf claim is not a number");
    free(t);

    t = hs("{\"iat\":1795853400}");
    expect_fail(j_hs, t, "the token was issued in the future");
    free(t);
    t = hs("{\"iat\":1795852830.001}");
    expect_fail(j_hs, t, "issued in the future");
    free(t);
    t = hs("{\"iat\":1795852830}");
    expect_ok(j_hs, t, &who);
    free(t);
    t = hs("{\"iat\":null}");
    expect_ok(j_hs, t, &who);
    free(t);
}

static void jwt_issuer_audience(void **state) {
    erps_principal_t who;
    char *t;
    (void)state;
    t = hs("{\"iss\":\"https://evil.example\"}");
    expect_fail(j_hs, t, "the token's issuer is not \"https://idp.example\"");
    free(t);
    t = hs("{\"iss\":null}");
    expect_fail(j_hs, t, "issuer is not");
    free(t);
    t = hs("{\"iss\":[\"https://idp.example\"]}");
    expect_fail(j_hs, t, "issuer is not");
    free(t);

    t = hs("{\"aud\":\"other\"}");
    expect_fail(j_hs, t, "the token's audience is not \"erpsync\"");
    free(t);
    t = hs("{\"aud\":null}");
    expect_fail(j_hs, t, "audience is not");
    free(t);
    t = hs("{\"aud\":[\"other\",\"erpsync\"]}");
    expect_ok(j_hs, t, &who);
    free(t);
    t = hs("{\"aud\":[\"other\",\"erpsync-x\",7]}");
    expect_fail(j_hs, t, "audience is not");
    free(t);
    t = hs("{\"aud\":[]}");
    expect_fail(j_hs, t, "audience is not");
    free(t);
}

static void jwt_subject_tenant_role(void **state) {
    erps_principal_t who;
    char *t, patch[400];
    (void)state;
    t = hs("{\"sub\":null}");
    expect_fail(j_hs, t, "the token has no sub claim");
    free(t);
    t = hs("{\"sub\":42}");
    expect_fail(j_hs, t, "the token has no sub claim");
    free(t);
    static const char *const bad_subs[] = {"\"\"", "\"a:b\"", "\"tab\\there\"",
                                           "\"j\\u00fcrgen\""};
    for (size_t i = 0; i < sizeof(bad_subs) / sizeof(bad_subs[0]); i++) {
        snprintf(patch, sizeof(patch), "{\"sub\":%s}", bad_subs[i]);
        t = hs(patch);
        expect_fail(j_hs, t, "the token's sub claim is not a valid name");
        free(t);
    }
    char longname[ERPS_PRINCIPAL_MAX + 2];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[ERPS_PRINCIPAL_MAX] = '\0'; /* exactly the maximum */
    snprintf(patch, sizeof(patch), "{\"sub\":\"%s\"}", longname);
    t = hs(patch);
    expect_ok(j_hs, t, &who);
    assert_string_equal(who.name, longname);
    free(t);
    longname[ERPS_PRINCIPAL_MAX] = 'n';
    longname[ERPS_PRINCIPAL_MAX + 1] = '\0';
    snprintf(patch, sizeof(patch), "{\"sub\":\"%s\"}", longname);
    t = hs(patch);
    expect_fail(j_hs, t, "not a valid name");
    free(t);

    t = hs("{\"tenant\":null}");
    expect_fail(j_hs, t, "the token has no \"tenant\" claim");
    free(t);
    t = hs("{\"tenant\":\"ac me\"}");
    expect_fail(j_hs, t, "the token's \"tenant\" claim is not a valid tenant");
    free(t);
    t = hs("{\"tenant\":\"0123456789012345678901234567890123456789012345678901"
           "234567890123\"}"); /* 64 */
    expect_fail(j_hs, t, "not a valid tenant");
    free(t);
    t = hs("{\"tenant\":\"Acme-Corp_1.eu\"}");
    expect_ok(j_hs, t, &who);
    assert_string_equal(who.tenant, "Acme-Corp_1.eu");
    free(t);

    t = hs("{\"role\":\"superuser\"}");
    expect_fail(j_hs, t, "the token's \"role\" claim is not admin or reader");
    free(t);
    t = hs("{\"role\":\"Admin\"}");
    expect_fail(j_hs, t, "is not admin or reader");
    free(t);
    t = hs("{\"role\":[\"admin\"]}");
    expect_fail(j_hs, t, "is not admin or reader");
    free(t);
    t = hs("{\"role\":\"reader\"}");
    expect_ok(j_hs, t, &who);
    assert_int_equal(who.role, ERPS_ROLE_READER);
    free(t);

    /* Claim names from the configuration. */
    erps_jwt_conf_t c = {NULL, NULL, ISS, AUD, 0, "org", "erpsync_role"};
    char err[256];
    erps_jwt_t *j = erps_jwt_new_keys(&c, HS_KEY, strlen(HS_KEY), NULL, 0, err,
                                      sizeof(err));
    assert_non_null(j);
    t = hs("{\"org\":\"globex\",\"erpsync_role\":\"admin\",\"role\":null}");
    expect_ok(j, t, &who);
    assert_string_equal(who.tenant, "globex");
    assert_int_equal(who.role, ERPS_ROLE_ADMIN);
    free(t);
    t = hs("{\"role\":\"reader\"}"); /* no "org" claim */
    expect_fail(j, t, "the token has no \"org\" claim");
    free(t);
    t = hs("{\"org\":\"globex\",\"erpsync_role\":\"owner\"}");
    expect_fail(j, t, "\"erpsync_role\" claim is not admin or reader");
    free(t);
    erps_jwt_destroy(j);
}

static void jwt_algorithms(void **state) {
    (void)state;
    char *c = claims(NULL), *p = b64u(c, strlen(c)), tok[1024];

    /* alg none, made by hand and by libjwt. */
    snprintf(tok, sizeof(tok), "eyJhbGciOiJub25lIn0.%s.", p);
    expect_fail(j_hs, tok, "algorithm none is not accepted");
    expect_fail(j_both, tok, "algorithm none is not accepted");
    char *t = mk(JWT_ALG_NONE, NULL, 0, NULL);
    expect_fail(j_both, t, "algorithm none is not accepted");
    free(t);
    /* ... and with a signature appended anyway. */
    snprintf(tok, sizeof(tok), "eyJhbGciOiJub25lIn0.%s.c2lnbmF0dXJl", p);
    expect_fail(j_hs, tok, "algorithm none is not accepted");

    static const char key48[] =
        "0123456789abcdef0123456789abcdef0123456789abcdef";
    t = mk(JWT_ALG_HS384, key48, strlen(key48), NULL);
    expect_fail(j_both, t, "algorithm HS384 is not accepted");
    free(t);
    t = mk(JWT_ALG_HS512, key48, strlen(key48), NULL);
    expect_fail(j_both, t, "algorithm HS512 is not accepted");
    free(t);
    t = mk(JWT_ALG_RS384, rs_priv, strlen(rs_priv), NULL);
    expect_fail(j_both, t, "algorithm RS384 is not accepted");
    free(t);
    /* ES256 and odd alg values: refused before any key is used. */
    t = hand_hs("{\"alg\":\"ES256\"}", c, HS_KEY, strlen(HS_KEY));
    expect_fail(j_both, t, "algorithm ES256 is not accepted");
    free(t);
    t = hand_hs("{\"alg\":\"hs256\"}", c, HS_KEY, strlen(HS_KEY));
    expect_fail(j_both, t, "algorithm hs256 is not accepted");
    free(t);
    t = hand_hs("{\"alg\":\"\\\"\\n\"}", c, HS_KEY, strlen(HS_KEY));
    expect_fail(j_both, t, "the token's algorithm is not accepted");
    free(t);
    t = hand_hs("{\"alg\":7}", c, HS_KEY, strlen(HS_KEY));
    expect_fail(j_both, t, "the token's header has no alg");
    free(t);
    t = hand_hs("{\"typ\":\"JWT\"}", c, HS_KEY, strlen(HS_KEY));
    expect_fail(j_both, t, "the token's header has no alg");
    free(t);

    /* A hand-made HS256 token verifies, typ JWT in any case too. */
    t = hand_hs("{\"alg\":\"HS256\",\"typ\":\"jwt\"}", c, HS_KEY,
                strlen(HS_KEY));
    erps_principal_t who;
    expect_ok(j_hs, t, &who);
    free(t);
    t = hand_hs("{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", c, HS_KEY,
                strlen(HS_KEY));
    expect_fail(j_hs, t, "the token's typ is not JWT");
    free(t);
    t = hand_hs("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", c, HS_KEY,
                strlen(HS_KEY));
    expect_fail(j_hs, t, "crit");
    free(t);
    free(p);
    free(c);
}

static void jwt_signatures(void **state) {
    (void)state;
    char *t, *c, *p, tok[2048];

    /* Tampered payload: the signature of another payload. */
    t = hs("{\"role\":\"reader\"}");
    c = claims(NULL); /* role admin */
    p = b64u(c, strlen(c));
    char *d1 = strchr(t, '.'), *d2 = strchr(d1 + 1, '.');
    snprintf(tok, sizeof(tok), "%.*s.%s%s", (int)(d1 - t), t, p, d2);
    expect_fail(j_hs, tok, "the token's signature is not valid");
    /* One flipped signature character. */
    snprintf(tok, sizeof(tok), "%s", t);
    char *last = strrchr(tok, '.') + 1;
    last[3] = last[3] == 'A' ? 'B' : 'A';
    expect_fail(j_hs, tok, "the token's signature is not valid");
    /* Signature cut short, or missing. */
    snprintf(tok, sizeof(tok), "%s", t);
    tok[strlen(tok) - 4] = '\0';
    expect_fail(j_hs, tok, "the token's signature is not valid");
    snprintf(tok, sizeof(tok), "%.*s", (int)(d2 + 1 - t), t);
    expect_fail(j_hs, tok, "the token has no signature");
    free(t);

    t = rs("{\"role\":\"reader\"}");
    d1 = strchr(t, '.');
    d2 = strchr(d1 + 1, '.');
    snprintf(tok, sizeof(tok), "%.*s.%s%s", (int)(d1 - t), t, p, d2);
    expect_fail(j_rs, tok, "the token's signature is not valid");
    free(t);
    free(p);
    free(c);

    /* Signed with the wrong key. */
    t = mk(JWT_ALG_HS256, OTHER_HS_KEY, strlen(OTHER_HS_KEY), NULL);
    expect_fail(j_hs, t, "the token's signature is not valid");
    free(t);
    t = mk(JWT_ALG_RS256, other_priv, strlen(other_priv), NULL);
    expect_fail(j_rs, t, "the token's signature is not valid");
    expect_fail(j_both, t, "the token's signature is not valid");
    free(t);
}

static void jwt_algorithm_confusion(void **state) {
    (void)state;
    /* HS256 with the RS256 public key's PEM text as the HMAC secret: the
     * classic attack on verifiers that take the key for whatever alg the
     * token names. */
    char *t = mk(JWT_ALG_HS256, rs_pub, strlen(rs_pub), NULL);
    expect_fail(j_rs, t, "algorithm HS256 is not accepted here");
    expect_fail(j_both, t, "the token's signature is not valid");
    free(t);

    /* The same with the alg named twice, so that a parser keeping the first
     * name picks the RSA key while libjwt's, keeping the last, does HMAC. */
    char *c = claims(NULL);
    t = hand_hs("{\"alg\":\"RS256\",\"alg\":\"HS256\"}", c, rs_pub,
                strlen(rs_pub));
    expect_fail(j_rs, t, "the token's header names a field twice");
    expect_fail(j_both, t, "the token's header names a field twice");
    free(t);
    /* And the other way round: RS256 named last, an RSA signature. */
    t = rs(NULL);
    char *h = b64u("{\"alg\":\"HS256\",\"alg\":\"RS256\"}", 29);
    char tok[2048];
    snprintf(tok, sizeof(tok), "%s%s", h, strchr(t, '.'));
    expect_fail(j_both, tok, "the token's header names a field twice");
    free(h);
    free(t);
    free(c);
}

static void jwt_malformed(void **state) {
    (void)state;
    char *huge = malloc(ERPS_JWT_MAX + 100);
    assert_non_null(huge);
    char *t = hs(NULL);
    /* A valid token padded to past the limit with a long claim. */
    char patch[ERPS_JWT_MAX + 64];
    memset(huge, 'x', ERPS_JWT_MAX);
    huge[ERPS_JWT_MAX] = '\0';
    snprintf(patch, sizeof(patch), "{\"pad\":\"%.*s\"}", ERPS_JWT_MAX - 100,
             huge);
    char *big = hs(patch);
    assert_true(strlen(big) > ERPS_JWT_MAX);
    expect_fail(j_hs, big, "the token is longer than 8192 bytes");
    free(big);
    memset(huge, 'A', ERPS_JWT_MAX + 99);
    huge[ERPS_JWT_MAX + 99] = '\0';
    expect_fail(j_hs, huge, "longer than 8192");
    free(huge);

    expect_fail(j_hs, NULL, "the token is empty");
    expect_fail(j_hs, "", "the token is empty");
    expect_fail(j_hs, "abc", "is not a JWT");
    expect_fail(j_hs, "a.b", "is not a JWT");
    expect_fail(j_hs, "a.b.c.d", "is not a JWT");
    expect_fail(j_hs, "..", "the token's header is not");
    expect_fail(j_hs, "e30.e30.", "the token's header has no alg"); /* {} */
    expect_fail(j_hs, "W10.e30.c2ln", "the token's header is not"); /* [] */
    expect_fail(j_hs, "eyJhbGciOiJIUzI1NiJ9=.e30.c2ln", "header is not");
    expect_fail(j_hs, "eyJhbGciOiJIUzI1NiJ9+.e30.c2ln", "header is not");
    /* {"alg":"HS256"} with a payload that is not an object. */
    expect_fail(j_hs, "eyJhbGciOiJIUzI1NiJ9.W10.c2ln",
                "the token's payload is not");
    expect_fail(j_hs, "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln",
                "the token's payload is not");
    /* Space and a second dot in the text. */
    char tok[1024];
    snprintf(tok, sizeof(tok), " %s", t);
    expect_fail(j_hs, tok, "header is not");
    free(t);
}

static void jwt_new_errors(void **state) {
    char err[256];
    (void)state;
    erps_jwt_conf_t c = {NULL, NULL, ISS, AUD, 0, NULL, NULL};
    assert_null(erps_jwt_new(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "no JWT key is configured"));

    c.hs256_key_file = write_file("short.key", HS_KEY, 31);
    assert_null(erps_jwt_new(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "has 31 bytes; it needs 32 at least"));
    assert_null(strstr(err, "0123456789abcdef0123456789abcde"));
    c.hs256_key_file = path_in("no-such.key");
    assert_null(erps_jwt_new(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "no-such.key"));
    assert_non_null(strstr(err, "No such file"));
    c.hs256_key_file = path_in("hs.key");

    c.issuer = "";
    assert_null(erps_jwt_new(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "issuer is not set"));
    c.issuer = ISS;
    c.audience = NULL;
    assert_null(erps_jwt_new(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "audience is not set"));
    c.audience = AUD;
    c.skew_ms = -1;
    assert_null(erps_jwt_new(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "skew must not be negative"));
    c.skew_ms = 0;

    c.hs256_key_file = NULL;
    c.rs256_key_file = path_in("hs.key");
    assert_null(erps_jwt_new(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "is not a PEM public key"));
    c.rs256_key_file = path_in("rs.key"); /* the private key */
    assert_null(erps_jwt_new(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "is not a PEM public key"));
    assert_null(strstr(err, "PRIVATE"));

    EVP_PKEY *ec = EVP_EC_gen("P-256"), *small = EVP_RSA_gen(1024);
    assert_non_null(ec);
    assert_non_null(small);
    write_pem_files(ec, "ec.pub", "ec.key");
    write_pem_files(small, "small.pub", "small.key");
    EVP_PKEY_free(ec);
    EVP_PKEY_free(small);
    c.rs256_key_file = path_in("ec.pub");
    assert_null(erps_jwt_new(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "is not an RSA key"));
    c.rs256_key_file = path_in("small.pub");
    assert_null(erps_jwt_new(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "has 1024 bits"));
    erps_jwt_destroy(NULL);
}

/* ---- SOTickets ---- */

static void tickets_issue_and_check(void **state) {
    char err[256], tk[ERPS_TICKET_LEN + 1], tk2[ERPS_TICKET_LEN + 1];
    char user[ERPS_PRINCIPAL_MAX + 1], hex[65];
    (void)state;
    const char *p = path_in("tickets-1");
    unlink(p);
    /* No file yet: a store without tickets. */
    erps_tickets_t *t = erps_tickets_open_every(p, 0, err, sizeof(err));
    assert_non_null(t);
    assert_int_equal(erps_tickets_error(t, err, sizeof(err)), 0);

    assert_int_equal(erps_tickets_issue(p, "alice", 3600000, NOW_MS, tk,
                                        sizeof(tk), err, sizeof(err)),
                     0);
    assert_int_equal(strlen(tk), ERPS_TICKET_LEN);
    assert_memory_equal(tk, "7T:", 3);
    for (const char *c = tk + 3; *c; c++)
        assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "abcdefghijklmnopqrstuvwxyz0123456789-_",
                               *c));
    assert_int_equal(erps_tickets_issue(p, "j\xc3\xbcrgen", 3600000, NOW_MS,
                                        tk2, sizeof(tk2), err, sizeof(err)),
                     0);
    assert_string_not_equal(tk, tk2);

    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *text = slurp(p);
    erps_sha256_hex(tk, hex);
    char want[256];
    snprintf(want, sizeof(want), "%s:alice:2026-11-28T09:00:00.000Z\n", hex);
    assert_non_null(strstr(text, want));
    assert_null(strstr(text, tk + 3)); /* no secret in the file */
    free(text);

    assert_int_equal(
        erps_tickets_check(t, tk, NOW_MS, user, sizeof(user), err, sizeof(err)),
        0);
    assert_string_equal(user, "alice");
    assert_int_equal(erps_tickets_check(t, tk2, NOW_MS + 3599999, user,
                                        sizeof(user), err, sizeof(err)),
                     0);
    assert_string_equal(user, "j\xc3\xbcrgen");
    /* A user buffer too small is an error, not a cut name. */
    char small[4];
    assert_int_equal(erps_tickets_check(t, tk, NOW_MS, small, sizeof(small),
                                        err, sizeof(err)),
                     -1);

    /* Expired. */
    assert_int_equal(erps_tickets_check(t, tk, NOW_MS + 3600000, user,
                                        sizeof(user), err, sizeof(err)),
                     -2);
    assert_string_equal(err, "the ticket expired at 2026-11-28T09:00:00.000Z");

    /* Unknown, altered, empty. */
    char bad[ERPS_TICKET_LEN + 1];
    strcpy(bad, tk);
    bad[10] = bad[10] == 'A' ? 'B' : 'A';
    assert_int_equal(erps_tickets_check(t, bad, NOW_MS, user, sizeof(user), err,
                                        sizeof(err)),
                     -1);
    assert_string_equal(err, "the ticket is not known");
    assert_null(strstr(err, bad));
    assert_int_equal(
        erps_tickets_check(t, "", NOW_MS, user, sizeof(user), err, sizeof(err)),
        -1);
    assert_int_equal(erps_tickets_check(t, NULL, NOW_MS, user, sizeof(user),
                                        err, sizeof(err)),
                     -1);
    /* A store opened afterwards (another shim) knows them too. */
    erps_tickets_t *t2 = erps_tickets_open(p, err, sizeof(err));
    assert_non_null(t2);
    assert_int_equal(erps_tickets_check(t2, tk2, NOW_MS, user, sizeof(user),
                                        err, sizeof(err)),
                     0);
    erps_tickets_destroy(t2);
    erps_tickets_destroy(t);
}

static void tickets_reload(void **state) {
    char err[256], tk[ERPS_TICKET_LEN + 1], tk2[ERPS_TICKET_LEN + 1];
    char user[ERPS_PRINCIPAL_MAX + 1];
    (void)state;
    const char *p = path_in("tickets-2");
    unlink(p);
    assert_int_equal(erps_tickets_issue(p, "alice", 3600000, NOW_MS, tk,
                                        sizeof(tk), err, sizeof(err)),
                     0);
    erps_tickets_t *every = erps_tickets_open_every(p, 0, err, sizeof(err));
    erps_tickets_t *slow =
        erps_tickets_open_every(p, 3600000, err, sizeof(err));
    assert_non_null(every);
    assert_non_null(slow);

    /* Another writer appends: a ticket issued a moment ago is found at
     * once, by a store that looks every time and by one that looks rarely
     * (a miss always looks: the fresh ticket must not be refused). */
    assert_int_equal(erps_tickets_check(slow, tk, NOW_MS, user, sizeof(user),
                                        err, sizeof(err)),
                     0);
    assert_int_equal(erps_tickets_issue(p, "bob", 3600000, NOW_MS, tk2,
                                        sizeof(tk2), err, sizeof(err)),
                     0);
    assert_int_equal(erps_tickets_check(every, tk2, NOW_MS, user, sizeof(user),
                                        err, sizeof(err)),
                     0);
    assert_string_equal(user, "bob");
    assert_int_equal(erps_tickets_check(slow, tk2, NOW_MS, user, sizeof(user),
                                        err, sizeof(err)),
                     0);
    assert_string_equal(user, "bob");

    /* A bad line: the old contents stay, the error names the line. */
    append_file(p, "not a ticket line\n");
    assert_int_equal(erps_tickets_check(every, tk, NOW_MS, user, sizeof(user),
                                        err, sizeof(err)),
                     0);
    assert_int_equal(erps_tickets_check(every, tk2, NOW_MS, user, sizeof(user),
                                        err, sizeof(err)),
                     0);
    assert_int_equal(erps_tickets_error(every, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "tickets-2:3:"));
    /* Still bad and unchanged: still reported. */
    assert_int_equal(erps_tickets_check(every, tk, NOW_MS, user, sizeof(user),
                                        err, sizeof(err)),
                     0);
    assert_int_equal(erps_tickets_error(every, err, sizeof(err)), -1);

    /* The operator rewrites the file with bob only (rename over it): alice's
     * ticket is gone and the error is cleared. */
    char *text = slurp(p);
    char *second = strchr(text, '\n') + 1;
    *strchr(second, '\n') = '\0';
    char body[512];
    snprintf(body, sizeof(body), "# compacted\r\n%s\r\n", second);
    write_file("tickets-2.new", body, strlen(body));
    assert_int_equal(rename(path_in("tickets-2.new"), p), 0);
    free(text);
    assert_int_equal(erps_tickets_check(every, tk, NOW_MS, user, sizeof(user),
                                        err, sizeof(err)),
                     -1);
    assert_int_equal(erps_tickets_check(every, tk2, NOW_MS, user, sizeof(user),
                                        err, sizeof(err)),
                     0);
    assert_int_equal(erps_tickets_error(every, err, sizeof(err)), 0);

    /* The file removed: no tickets at all. */
    unlink(p);
    assert_int_equal(erps_tickets_check(every, tk2, NOW_MS, user, sizeof(user),
                                        err, sizeof(err)),
                     -1);
    assert_int_equal(erps_tickets_error(every, err, sizeof(err)), 0);
    erps_tickets_destroy(every);
    erps_tickets_destroy(slow);
}

static void tickets_real_interval(void **state) {
    char err[256], tk[ERPS_TICKET_LEN + 1], user[ERPS_PRINCIPAL_MAX + 1];
    (void)state;
    const char *p = path_in("tickets-3");
    unlink(p);
    erps_tickets_t *t = erps_tickets_open_every(p, 100, err, sizeof(err));
    assert_non_null(t);
    assert_int_equal(erps_tickets_issue(p, "carol", 60000, NOW_MS, tk,
                                        sizeof(tk), err, sizeof(err)),
                     0);
    /* Within the interval the store does not look again ... */
    int rc =
        erps_tickets_check(t, tk, NOW_MS, user, sizeof(user), err, sizeof(err));
    /* ... (unless the test was slow to get here) ... */
    if (rc != 0)
        assert_int_equal(rc, -1);
    /* ... after it, it does. */
    usleep(150 * 1000);
    assert_int_equal(
        erps_tickets_check(t, tk, NOW_MS, user, sizeof(user), err, sizeof(err)),
        0);
    assert_string_equal(user, "carol");
    erps_tickets_destroy(t);
}

static void tickets_file_formats(void **state) {
    char err[256], user[ERPS_PRINCIPAL_MAX + 1], hex[65];
    (void)state;
    erps_sha256_hex("7T:hand-made", hex);
    for (char *c = hex; *c; c++) /* upper-case hex is read too */
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    char body[512];
    snprintf(body, sizeof(body),
             "# tickets\n\n%s:dave:2026-11-28T10:00:00+01:00", hex);
    const char *p = write_file("tickets-4", body, strlen(body));
    erps_tickets_t *t = erps_tickets_open(p, err, sizeof(err));
    assert_non_null(t);
    /* 10:00+01:00 is 09:00Z, an hour from now. */
    assert_int_equal(erps_tickets_check(t, "7T:hand-made", NOW_MS, user,
                                        sizeof(user), err, sizeof(err)),
                     0);
    assert_string_equal(user, "dave");
    assert_int_equal(erps_tickets_check(t, "7T:hand-made", NOW_MS + 3600000,
                                        user, sizeof(user), err, sizeof(err)),
                     -2);
    assert_string_equal(err, "the ticket expired at 2026-11-28T09:00:00.000Z");
    erps_tickets_destroy(t);

    /* Issuing onto a file without a final newline starts a new line. */
    char tk[ERPS_TICKET_LEN + 1];
    assert_int_equal(erps_tickets_issue(p, "erin", 1000, NOW_MS, tk, sizeof(tk),
                                        err, sizeof(err)),
                     0);
    t = erps_tickets_open(p, err, sizeof(err));
    if (!t)
        fail_msg("%s", err);
    assert_int_equal(
        erps_tickets_check(t, tk, NOW_MS, user, sizeof(user), err, sizeof(err)),
        0);
    assert_string_equal(user, "erin");
    erps_tickets_destroy(t);

    static const char *const bad[] = {
        "abc:alice:2026-11-28T10:00:00Z\n",
        "%s\n",
        "%s:alice\n",
        "%s::2026-11-28T10:00:00Z\n",
        "%s:alice:tomorrow\n",
        "%s:al\tice:2026-11-28T10:00:00Z\n",
        "%s:alice:2026-11-28T10:00:00Z:extra\n",
        " %s:alice:2026-11-28T10:00:00Z\n",
    };
    erps_sha256_hex("x", hex);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        subst(body, sizeof(body), bad[i], hex);
        char with_comment[600];
        snprintf(with_comment, sizeof(with_comment), "# first\n%s", body);
        p = write_file("tickets-bad", with_comment, strlen(with_comment));
        t = erps_tickets_open(p, err, sizeof(err));
        if (t)
            fail_msg("accepted: %s", body);
        assert_non_null(strstr(err, "tickets-bad:2: expected"));
        assert_null(
            erps_tickets_from_text(body, strlen(body), err, sizeof(err)));
    }
    /* A NUL inside a line. */
    snprintf(body, sizeof(body), "%s:alice:2026-11-28T10:00:00Z\n", hex);
    size_t n = strlen(body);
    body[70] = '\0';
    assert_null(erps_tickets_from_text(body, n, err, sizeof(err)));
    assert_non_null(strstr(err, ":1:"));
    /* A directory is not a tickets file. */
    assert_null(erps_tickets_open(dir, err, sizeof(err)));
    assert_non_null(strstr(err, "tickets file"));
}

static void tickets_issue_errors(void **state) {
    char err[256], tk[ERPS_TICKET_LEN + 1];
    (void)state;
    const char *p = path_in("tickets-5");
    assert_int_equal(erps_tickets_issue(p, "a:b", 1000, NOW_MS, tk, sizeof(tk),
                                        err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "user name"));
    assert_int_equal(erps_tickets_issue(p, "", 1000, NOW_MS, tk, sizeof(tk),
                                        err, sizeof(err)),
                     -1);
    assert_int_equal(erps_tickets_issue(p, "a\nb", 1000, NOW_MS, tk, sizeof(tk),
                                        err, sizeof(err)),
                     -1);
    assert_int_equal(erps_tickets_issue(p, "alice", 0, NOW_MS, tk, sizeof(tk),
                                        err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "lifetime"));
    assert_int_equal(erps_tickets_issue(p, "alice", INT64_MAX, NOW_MS, tk,
                                        sizeof(tk), err, sizeof(err)),
                     -1);
    assert_int_equal(erps_tickets_issue(p, "alice", 1000, NOW_MS, tk,
                                        ERPS_TICKET_LEN, err, sizeof(err)),
                     -1);
    assert_int_equal(access(p, F_OK), -1); /* nothing written */
    assert_int_equal(erps_tickets_issue("/nonexistent/dir/tickets", "alice",
                                        1000, NOW_MS, tk, sizeof(tk), err,
                                        sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "/nonexistent/dir/tickets"));
}

typedef struct race {
    erps_tickets_t *t;
    const char *ticket;
    int failures;
} race_t;

static void *race_reader(void *arg) {
    race_t *r = arg;
    char err[256], user[ERPS_PRINCIPAL_MAX + 1];
    for (int i = 0; i < 300; i++)
        if (erps_tickets_check(r->t, r->ticket, NOW_MS, user, sizeof(user), err,
                               sizeof(err)) != 0 ||
            strcmp(user, "alice") != 0)
            r->failures++;
    return NULL;
}

/* Checks from many threads while another writer appends and the store
 * re-reads on every check. */
static void tickets_threads(void **state) {
    char err[256], tk[ERPS_TICKET_LEN + 1], other[ERPS_TICKET_LEN + 1];
    (void)state;
    const char *p = path_in("tickets-6");
    unlink(p);
    assert_int_equal(erps_tickets_issue(p, "alice", 3600000, NOW_MS, tk,
                                        sizeof(tk), err, sizeof(err)),
                     0);
    erps_tickets_t *t = erps_tickets_open_every(p, 0, err, sizeof(err));
    assert_non_null(t);
    race_t r[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (race_t){t, tk, 0};
        assert_int_equal(pthread_create(&th[i], NULL, race_reader, &r[i]), 0);
    }
    for (int i = 0; i < 30; i++)
        assert_int_equal(erps_tickets_issue(p, "bob", 3600000, NOW_MS, other,
                                            sizeof(other), err, sizeof(err)),
                         0);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(r[i].failures, 0);
    }
    assert_int_equal(erps_tickets_error(t, err, sizeof(err)), 0);
    erps_tickets_destroy(t);
}

/* ---- sessions ---- */

static erps_session_t *make_session(const char *name, const char *key,
                                    int64_t ttl) {
    char err[256];
    const char *p = write_file(name, key, strlen(key));
    erps_session_t *s = erps_session_new(p, ttl, err, sizeof(err));
    if (!s)
        fail_msg("erps_session_new: %s", err);
    return s;
}

static const erps_principal_t ALICE = {
    .name = "alice", .tenant = "acme", .role = ERPS_ROLE_ADMIN};

static void expect_session_fail(const erps_session_t *s, const char *cookie,
                                const char *xsrf, int64_t now,
                                const char *msg) {
    erps_principal_t who;
    char err[256] = "";
    assert_int_equal(
        erps_session_check(s, cookie, xsrf, now, &who, err, sizeof(err)), -1);
    assert_string_equal(err, msg);
}

static void session_issue_and_check(void **state) {
    char cookie[ERPS_SESSION_COOKIE_MAX], xsrf[ERPS_XSRF_MAX], err[256];
    erps_principal_t who;
    (void)state;
    erps_session_t *s = make_session("sess.key", HS_KEY, 3600000);
    assert_int_equal(erps_session_ttl_ms(s), 3600000);
    assert_int_equal(erps_session_issue(s, &ALICE, NOW_MS, cookie,
                                        sizeof(cookie), xsrf, sizeof(xsrf)),
                     0);
    /* Cookie-safe text: base64url and one dot. */
    assert_int_equal(strspn(cookie, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno"
                                    "pqrstuvwxyz0123456789-_."),
                     strlen(cookie));
    assert_int_equal(strlen(xsrf), 22 + 1 + 43);
    assert_int_equal(erps_session_check(s, cookie, xsrf, NOW_MS + 1000, &who,
                                        err, sizeof(err)),
                     0);
    assert_string_equal(who.name, "alice");
    assert_string_equal(who.tenant, "acme");
    assert_string_equal(who.engine_id, "");
    assert_int_equal(who.role, ERPS_ROLE_ADMIN);

    /* The payload is what the header says. */
    char payload[ERPS_SESSION_COOKIE_MAX];
    snprintf(payload, sizeof(payload), "%.*s",
             (int)(strchr(cookie, '.') - cookie), cookie);
    char *json = NULL;
    {
        /* base64url back to text with OpenSSL (standard alphabet, padded). */
        char std[ERPS_SESSION_COOKIE_MAX];
        size_t n = strlen(payload);
        for (size_t i = 0; i < n; i++)
            std[i] = payload[i] == '-'   ? '+'
                     : payload[i] == '_' ? '/'
                                         : payload[i];
        while (n % 4)
            std[n++] = '=';
        std[n] = '\0';
        json = calloc(1, n);
        assert_non_null(json);
        assert_true(EVP_DecodeBlock((unsigned char *)json, (unsigned char *)std,
                                    (int)n) > 0);
    }
    cJSON *o = cJSON_Parse(json);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "n")->valuestring, "alice");
    assert_string_equal(cJSON_GetObjectItem(o, "t")->valuestring, "acme");
    assert_string_equal(cJSON_GetObjectItem(o, "r")->valuestring, "admin");
    assert_true(cJSON_GetObjectItem(o, "e")->valuedouble ==
                (double)(NOW_MS + 3600000));
    assert_int_equal(strlen(cJSON_GetObjectItem(o, "j")->valuestring), 32);
    cJSON_Delete(o);
    free(json);

    /* Another shim with the same key accepts it; one with another key not. */
    erps_session_t *same = make_session("sess2.key", HS_KEY, 60000);
    assert_int_equal(
        erps_session_check(same, cookie, xsrf, NOW_MS, &who, err, sizeof(err)),
        0);
    erps_session_destroy(same);
    erps_session_t *other = make_session("sess3.key", OTHER_HS_KEY, 3600000);
    expect_session_fail(other, cookie, xsrf, NOW_MS,
                        "the session cookie is not valid");
    erps_session_destroy(other);

    /* A reader, and a UTF-8 name from the users file. */
    erps_principal_t bob = {.name = "j\xc3\xbcrgen",
                            .tenant = "acme corp",
                            .engine_id = "erp-1",
                            .role = ERPS_ROLE_READER};
    assert_int_equal(erps_session_issue(s, &bob, NOW_MS, cookie, sizeof(cookie),
                                        xsrf, sizeof(xsrf)),
                     0);
    assert_int_equal(
        erps_session_check(s, cookie, xsrf, NOW_MS, &who, err, sizeof(err)), 0);
    assert_string_equal(who.name, "j\xc3\xbcrgen");
    assert_string_equal(who.tenant, "acme corp");
    assert_string_equal(who.engine_id, ""); /* never carried */
    assert_int_equal(who.role, ERPS_ROLE_READER);

    /* The longest name, all of it escaped in JSON, still fits. */
    erps_principal_t q;
    memset(&q, 0, sizeof(q));
    memset(q.name, '"', ERPS_PRINCIPAL_MAX);
    memset(q.tenant, '\\', sizeof(q.tenant) - 1);
    q.role = ERPS_ROLE_ADMIN;
    assert_int_equal(erps_session_issue(s, &q, NOW_MS, cookie, sizeof(cookie),
                                        xsrf, sizeof(xsrf)),
                     0);
    assert_int_equal(
        erps_session_check(s, cookie, xsrf, NOW_MS, &who, err, sizeof(err)), 0);
    assert_string_equal(who.name, q.name);
    assert_string_equal(who.tenant, q.tenant);

    /* What cannot be carried, and buffers too small. */
    erps_principal_t bad = ALICE;
    strcpy(bad.name, "a:b");
    assert_int_equal(erps_session_issue(s, &bad, NOW_MS, cookie, sizeof(cookie),
                                        xsrf, sizeof(xsrf)),
                     -1);
    bad = ALICE;
    bad.role = 0;
    assert_int_equal(erps_session_issue(s, &bad, NOW_MS, cookie, sizeof(cookie),
                                        xsrf, sizeof(xsrf)),
                     -1);
    assert_int_equal(
        erps_session_issue(s, &ALICE, NOW_MS, cookie, 40, xsrf, sizeof(xsrf)),
        -1);
    assert_int_equal(
        erps_session_issue(s, &ALICE, NOW_MS, cookie, sizeof(cookie), xsrf, 66),
        -1);
    erps_session_destroy(s);
}

/* A binding travels signed in the cookie and comes back unchanged; the
 * shim compares it with erps_session_bind of the user's hash now. */
static void session_binding(void **state) {
    char cookie[ERPS_SESSION_COOKIE_MAX], xsrf[ERPS_XSRF_MAX], err[256];
    char b1[ERPS_BINDING_LEN + 1], b2[ERPS_BINDING_LEN + 1],
        b3[ERPS_BINDING_LEN + 1];
    erps_principal_t who, bound = ALICE;
    (void)state;
    erps_session_t *s = make_session("bind.key", HS_KEY, 3600000);
    erps_session_t *other = make_session("bind2.key", OTHER_HS_KEY, 3600000);
    assert_int_equal(erps_session_bind(s, "$y$j9T$old", b1), 0);
    assert_int_equal(erps_session_bind(s, "$y$j9T$new", b2), 0);
    assert_int_equal(erps_session_bind(other, "$y$j9T$old", b3), 0);
    assert_int_equal(strlen(b1), ERPS_BINDING_LEN);
    assert_string_not_equal(b1, b2); /* a new password, another binding */
    assert_string_not_equal(b1, b3); /* keyed: nothing to learn offline */
    assert_null(strstr(b1, "old"));
    strcpy(bound.binding, b1);
    assert_int_equal(erps_session_issue(s, &bound, NOW_MS, cookie,
                                        sizeof(cookie), xsrf, sizeof(xsrf)),
                     0);
    assert_int_equal(
        erps_session_check(s, cookie, xsrf, NOW_MS, &who, err, sizeof(err)), 0);
    assert_string_equal(who.binding, b1);
    /* without one, none comes back */
    assert_int_equal(erps_session_issue(s, &ALICE, NOW_MS, cookie,
                                        sizeof(cookie), xsrf, sizeof(xsrf)),
                     0);
    assert_int_equal(
        erps_session_check(s, cookie, xsrf, NOW_MS, &who, err, sizeof(err)), 0);
    assert_string_equal(who.binding, "");
    erps_session_destroy(s);
    erps_session_destroy(other);
}

static void session_failures(void **state) {
    char cookie[ERPS_SESSION_COOKIE_MAX], xsrf[ERPS_XSRF_MAX];
    char cookie2[ERPS_SESSION_COOKIE_MAX], xsrf2[ERPS_XSRF_MAX];
    char bad[ERPS_SESSION_COOKIE_MAX + 8], err[256];
    erps_principal_t who;
    (void)state;
    erps_session_t *s = make_session("sess.key", HS_KEY, 3600000);
    assert_int_equal(erps_session_issue(s, &ALICE, NOW_MS, cookie,
                                        sizeof(cookie), xsrf, sizeof(xsrf)),
                     0);
    assert_int_equal(erps_session_issue(s, &ALICE, NOW_MS, cookie2,
                                        sizeof(cookie2), xsrf2, sizeof(xsrf2)),
                     0);
    assert_string_not_equal(cookie, cookie2); /* fresh random per session */

    /* Tampered cookie: payload, MAC, a role re-encoded, cut, empty. */
    static const char *const invalid = "the session cookie is not valid";
    strcpy(bad, cookie);
    bad[5] = bad[5] == 'A' ? 'B' : 'A';
    expect_session_fail(s, bad, xsrf, NOW_MS, invalid);
    strcpy(bad, cookie);
    bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
    expect_session_fail(s, bad, xsrf, NOW_MS, invalid);
    const char *forged = "{\"n\":\"alice\",\"t\":\"acme\",\"r\":\"admin\","
                         "\"e\":99999999999999,\"j\":"
                         "\"00000000000000000000000000000000\"}";
    char *fp = b64u(forged, strlen(forged));
    snprintf(bad, sizeof(bad), "%s%s", fp, strchr(cookie, '.'));
    free(fp);
    expect_session_fail(s, bad, xsrf, NOW_MS, invalid);
    snprintf(bad, sizeof(bad), "%.*s", (int)(strchr(cookie, '.') - cookie),
             cookie);
    expect_session_fail(s, bad, xsrf, NOW_MS, invalid);
    strcpy(bad, cookie);
    strcat(bad, ".x");
    expect_session_fail(s, bad, xsrf, NOW_MS, invalid);
    expect_session_fail(s, "", xsrf, NOW_MS, invalid);
    expect_session_fail(s, NULL, xsrf, NOW_MS, invalid);
    expect_session_fail(s, ".", xsrf, NOW_MS, invalid);
    memset(bad, 'A', ERPS_SESSION_COOKIE_MAX + 4);
    bad[ERPS_SESSION_COOKIE_MAX + 4] = '\0';
    bad[100] = '.';
    expect_session_fail(s, bad, xsrf, NOW_MS, invalid);

    /* The X-XSRF-TOKEN of another session, a missing or altered one. */
    static const char *const foreign =
        "the X-XSRF-TOKEN does not belong to this session";
    expect_session_fail(s, cookie, xsrf2, NOW_MS, foreign);
    expect_session_fail(s, cookie2, xsrf, NOW_MS, foreign);
    expect_session_fail(s, cookie, NULL, NOW_MS,
                        "the X-XSRF-TOKEN header is missing");
    expect_session_fail(s, cookie, "", NOW_MS,
                        "the X-XSRF-TOKEN header is missing");
    strcpy(bad, xsrf);
    bad[0] = bad[0] == 'A' ? 'B' : 'A'; /* the random part */
    expect_session_fail(s, cookie, bad, NOW_MS, foreign);
    strcpy(bad, xsrf);
    bad[30] = bad[30] == 'A' ? 'B' : 'A'; /* the MAC */
    expect_session_fail(s, cookie, bad, NOW_MS, foreign);
    expect_session_fail(s, cookie, "x", NOW_MS, foreign);
    expect_session_fail(s, cookie, cookie, NOW_MS, foreign); /* cookie copied */
    snprintf(bad, sizeof(bad), "%s.", xsrf);
    expect_session_fail(s, cookie, bad, NOW_MS, foreign);

    /* Expiry: the last millisecond is good, the next one not. Expiry is
     * told before a missing header. */
    assert_int_equal(erps_session_check(s, cookie, xsrf, NOW_MS + 3599999, &who,
                                        err, sizeof(err)),
                     0);
    expect_session_fail(s, cookie, xsrf, NOW_MS + 3600000,
                        "the session expired");
    expect_session_fail(s, cookie, NULL, NOW_MS + 7200000,
                        "the session expired");
    erps_session_destroy(s);
}

static void session_new_errors(void **state) {
    char err[256];
    (void)state;
    const char *p = write_file("sess-short.key", HS_KEY, 31);
    assert_null(erps_session_new(p, 1000, err, sizeof(err)));
    assert_non_null(strstr(err, "has 31 bytes"));
    assert_null(erps_session_new(path_in("none.key"), 1000, err, sizeof(err)));
    assert_non_null(strstr(err, "session key file"));
    assert_null(erps_session_new(path_in("hs.key"), 0, err, sizeof(err)));
    assert_non_null(strstr(err, "lifetime"));
    erps_session_destroy(NULL);
}

/* ---- Cookie header ---- */

static void cookie_header(void **state) {
    char v[64];
    (void)state;
    assert_int_equal(erps_cookie_get("a=1; b=2", "b", v, sizeof(v)), 0);
    assert_string_equal(v, "2");
    assert_int_equal(erps_cookie_get("a=1; b=2", "a", v, sizeof(v)), 0);
    assert_string_equal(v, "1");
    assert_int_equal(erps_cookie_get("a=1; b=2", "c", v, sizeof(v)), -1);
    assert_int_equal(erps_cookie_get("a=1;b=2", "b", v, sizeof(v)), 0);
    assert_string_equal(v, "2");
    /* Names match exactly: not a prefix, not a suffix, case counts. */
    assert_int_equal(erps_cookie_get("ab=1; a=2", "a", v, sizeof(v)), 0);
    assert_string_equal(v, "2");
    assert_int_equal(erps_cookie_get("xa=1; ab=2", "a", v, sizeof(v)), -1);
    assert_int_equal(erps_cookie_get("A=1", "a", v, sizeof(v)), -1);
    /* Quoted values are unquoted; a lone quote is kept. */
    assert_int_equal(erps_cookie_get("s=\"x y\"; t=1", "s", v, sizeof(v)), 0);
    assert_string_equal(v, "x y");
    assert_int_equal(erps_cookie_get("s=\"", "s", v, sizeof(v)), 0);
    assert_string_equal(v, "\"");
    assert_int_equal(erps_cookie_get("s=\"\"", "s", v, sizeof(v)), 0);
    assert_string_equal(v, "");
    /* Blanks around pairs and '=', tabs; empty value; '=' inside a value. */
    assert_int_equal(erps_cookie_get("  a = 1 ;\tb=2\t", "a", v, sizeof(v)), 0);
    assert_string_equal(v, "1");
    assert_int_equal(erps_cookie_get("  a = 1 ;\tb=2\t", "b", v, sizeof(v)), 0);
    assert_string_equal(v, "2");
    assert_int_equal(erps_cookie_get("a=; b=2", "a", v, sizeof(v)), 0);
    assert_string_equal(v, "");
    assert_int_equal(erps_cookie_get("t=a=b==", "t", v, sizeof(v)), 0);
    assert_string_equal(v, "a=b==");
    /* Pairs without '=' and empty pairs are skipped; the first of two wins. */
    assert_int_equal(erps_cookie_get("junk;; a=1; a=2;", "a", v, sizeof(v)), 0);
    assert_string_equal(v, "1");
    assert_int_equal(erps_cookie_get("a", "a", v, sizeof(v)), -1);
    assert_int_equal(erps_cookie_get("", "a", v, sizeof(v)), -1);
    assert_int_equal(erps_cookie_get(NULL, "a", v, sizeof(v)), -1);
    assert_int_equal(erps_cookie_get("a=1", "", v, sizeof(v)), -1);
    assert_int_equal(erps_cookie_get("=1", "", v, sizeof(v)), -1);
    /* Exactly fitting, and one byte too long. */
    assert_int_equal(erps_cookie_get("a=1234", "a", v, 5), 0);
    assert_string_equal(v, "1234");
    assert_int_equal(erps_cookie_get("a=12345", "a", v, 5), -1);
    assert_int_equal(erps_cookie_get("a=\"1234\"", "a", v, 5), 0);
    assert_int_equal(erps_cookie_get("a=1", "a", v, 0), -1);
}

/* ---- App tokens ---- */

static void apptokens(void **state) {
    char err[256], app[ERPS_APP_NAME_MAX + 1], h1[65], h2[65], h3[65];
    (void)state;
    erps_sha256_hex("abc", h1);
    assert_string_equal(
        h1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    erps_sha256_hex("", h1);
    assert_string_equal(
        h1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    erps_sha256_hex("app-token-one", h1);
    erps_sha256_hex("app-token-two", h2);
    erps_sha256_hex("app-token-three", h3);
    for (char *c = h2; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    char body[512];
    snprintf(body, sizeof(body),
             "# registered apps\n%s:Invoice Sync (prod)\r\n\n%s\n%s:\n", h1, h2,
             h3);
    const char *p = write_file("apps", body, strlen(body));
    erps_apptokens_t *a = erps_apptokens_load(p, err, sizeof(err));
    if (!a)
        fail_msg("%s", err);
    assert_int_equal(erps_apptokens_check(a, "app-token-one", app, sizeof(app)),
                     0);
    assert_string_equal(app, "Invoice Sync (prod)");
    assert_int_equal(erps_apptokens_check(a, "app-token-two", app, sizeof(app)),
                     0);
    assert_string_equal(app, "");
    assert_int_equal(
        erps_apptokens_check(a, "app-token-three", app, sizeof(app)), 0);
    assert_string_equal(app, "");
    assert_int_equal(erps_apptokens_check(a, "app-token-one", NULL, 0), 0);
    assert_int_equal(
        erps_apptokens_check(a, "app-token-four", app, sizeof(app)), -1);
    assert_int_equal(erps_apptokens_check(a, h1, app, sizeof(app)), -1);
    assert_int_equal(erps_apptokens_check(a, "", app, sizeof(app)), -1);
    assert_int_equal(erps_apptokens_check(a, NULL, app, sizeof(app)), -1);
    assert_int_equal(erps_apptokens_check(a, "app-token-one", app, 5), -1);
    erps_apptokens_destroy(a);

    static const char *const bad[] = {
        "abc\n", "%s;app\n", "%sff\n", "%s:a\tb\n", "zz%s\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char line[256], text[400];
        subst(line, sizeof(line), bad[i], h3 + (i == 4 ? 2 : 0));
        snprintf(text, sizeof(text), "%s\n%s", h1, line);
        p = write_file("apps-bad", text, strlen(text));
        a = erps_apptokens_load(p, err, sizeof(err));
        if (a)
            fail_msg("accepted: %s", line);
        assert_non_null(strstr(err, "apps-bad:2: expected"));
    }
    assert_null(erps_apptokens_load(path_in("no-apps"), err, sizeof(err)));
    assert_non_null(strstr(err, "no-apps"));
    /* An empty file: nothing registered. */
    a = erps_apptokens_from_text("", 0, err, sizeof(err));
    assert_non_null(a);
    assert_int_equal(erps_apptokens_check(a, "app-token-one", app, sizeof(app)),
                     -1);
    erps_apptokens_destroy(a);
    erps_apptokens_destroy(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jwt_valid),
        cmocka_unit_test(jwt_times),
        cmocka_unit_test(jwt_issuer_audience),
        cmocka_unit_test(jwt_subject_tenant_role),
        cmocka_unit_test(jwt_algorithms),
        cmocka_unit_test(jwt_signatures),
        cmocka_unit_test(jwt_algorithm_confusion),
        cmocka_unit_test(jwt_malformed),
        cmocka_unit_test(jwt_new_errors),
        cmocka_unit_test(tickets_issue_and_check),
        cmocka_unit_test(tickets_reload),
        cmocka_unit_test(tickets_real_interval),
        cmocka_unit_test(tickets_file_formats),
        cmocka_unit_test(tickets_issue_errors),
        cmocka_unit_test(tickets_threads),
        cmocka_unit_test(session_issue_and_check),
        cmocka_unit_test(session_binding),
        cmocka_unit_test(session_failures),
        cmocka_unit_test(session_new_errors),
        cmocka_unit_test(cookie_header),
        cmocka_unit_test(apptokens),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
