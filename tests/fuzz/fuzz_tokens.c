/*
 * fuzz_tokens - the credentials of shim/login/ on outside text. The input
 * is a list of fields as fuzz_common.h frames them (u16 big-endian length,
 * then the bytes; a length past the end is clipped):
 *
 *   1 a Bearer JWT, verified against a fixed HS256 secret and RS256 public
 *     key, issuer and audience
 *   2 a Cookie request header, its "erpsync_session" cookie then checked
 *     as a session cookie with
 *   3 the X-XSRF-TOKEN header
 *   4 a tickets file body, then
 *   5 a ticket checked against it
 *   6 an app tokens file body, then
 *   7 an app token checked against it
 *
 * Beyond "no crash": an accepted JWT or session yields a well-formed
 * principal, which survives a session round trip; error messages never hold
 * the token's signature; a session is refused only with one of the four
 * documented messages; an accepted ticket or app token is one whose SHA-256
 * the file holds.
 */
#include <ctype.h>

#include "fuzz_common.h"
#include "tokens.h"
#include "tokens_internal.h"

#define NOW_MS INT64_C(1795852800000) /* 2026-11-28T08:00:00Z */

static const char hs_key[] = "erpsync-fuzz-hs256-key-0123456789abcdef";
static const char session_key[] = "erpsync-fuzz-session-key-0123456789abcdef";
/* The public half of a key made for the seeds (its private half was
 * thrown away after signing seed-rs256-valid). */
static const char rs_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtCTPQMxLIum9a2IJrSVq\n"
    "oqpq3kFBh3t8SO6G75aa8RDMtMjggat1VaxoE9I/0Kg7X7Xw5YUqOa3pgvUXlgHG\n"
    "T9DL5TPha9/mqEA3X9OeSIlgGCrcTINM9xOnsVrTQNrqv2GLI4S2+fxyhnN//K01\n"
    "YdiXPf0ju69uNB6Im21m5W4ULKJmeCaFhzU6vHlKv9of7Y45XqtJ6K8Kx47Ku6LG\n"
    "gVmeTV+BkaH+KBTjvK5LSDATIyUC2kqMj4yG0WtZ7alFLo5jMcPdIVawzfYAawkd\n"
    "b5kJJSF3p6zifJzoNuyAjd3/VjYO/8mI8zgp7iAVUb52yycAf7bAF+Bho6ks6Kuv\n"
    "dwIDAQAB\n"
    "-----END PUBLIC KEY-----\n";
static erps_jwt_t *jwt;
static erps_session_t *sess;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    char err[256];
    erps_jwt_conf_t conf = {
        NULL, NULL, "https://idp.example", "erpsync", 60000, "tenant", "role"};
    (void)argc;
    (void)argv;
    jwt = erps_jwt_new_keys(&conf, hs_key, strlen(hs_key), rs_pub,
                            strlen(rs_pub), err, sizeof(err));
    sess = erps_session_new_key(session_key, strlen(session_key), 3600000, err,
                                sizeof(err));
    if (!jwt || !sess) {
        fprintf(stderr, "fuzz_tokens: %s\n", err);
        abort();
    }
    return 0;
}

static char *next_cstr(fuzz_reader_t *r) {
    size_t len;
    int is_null;
    const uint8_t *f = fuzz_field(r, &len, &is_null);
    return fuzz_cstr(is_null ? NULL : f, len);
}

static char *next_bytes(fuzz_reader_t *r, size_t *len) {
    int is_null;
    const uint8_t *f = fuzz_field(r, len, &is_null);
    return fuzz_dup(is_null ? NULL : f, *len);
}

static void check_principal(const erps_principal_t *who, const char *what) {
    size_t nl = strnlen(who->name, sizeof(who->name));
    size_t tl = strnlen(who->tenant, sizeof(who->tenant));
    FUZZ_CHECK(nl > 0 && nl < sizeof(who->name), "%s: name length %zu", what,
               nl);
    FUZZ_CHECK(tl > 0 && tl < sizeof(who->tenant), "%s: tenant length %zu",
               what, tl);
    FUZZ_CHECK(!strchr(who->name, ':'), "%s: name \"%s\" has a colon", what,
               who->name);
    FUZZ_CHECK(who->engine_id[0] == '\0', "%s: engine id \"%s\" filled", what,
               who->engine_id);
    FUZZ_CHECK(who->role == ERPS_ROLE_ADMIN || who->role == ERPS_ROLE_READER,
               "%s: role %d", what, (int)who->role);
}

/* A principal that was let in gets a session that lets it in again. */
static void session_round_trip(const erps_principal_t *who) {
    char cookie[ERPS_SESSION_COOKIE_MAX], xsrf[ERPS_XSRF_MAX], err[256];
    erps_principal_t back;
    FUZZ_CHECK(erps_session_issue(sess, who, NOW_MS, cookie, sizeof(cookie),
                                  xsrf, sizeof(xsrf)) == 0,
               "no session for \"%s\"", who->name);
    FUZZ_CHECK(erps_session_check(sess, cookie, xsrf, NOW_MS + 1, &back, err,
                                  sizeof(err)) == 0,
               "own session refused: %s", err);
    FUZZ_CHECK(strcmp(back.name, who->name) == 0 &&
                   strcmp(back.tenant, who->tenant) == 0 &&
                   back.role == who->role,
               "session changed \"%s\"", who->name);
    FUZZ_CHECK(erps_session_check(sess, cookie, NULL, NOW_MS, &back, err,
                                  sizeof(err)) == -1,
               "session without X-XSRF-TOKEN accepted");
}

static void one_jwt(const char *token) {
    erps_principal_t who;
    char err[256];
    int rc = erps_jwt_verify(jwt, token, NOW_MS, &who, err, sizeof(err));
    if (rc == 0) {
        check_principal(&who, "jwt");
        session_round_trip(&who);
        return;
    }
    FUZZ_CHECK(rc == -1 && err[0], "jwt: rc %d, message \"%s\"", rc, err);
    /* No message holds a run of 16 base64url characters, so one that
     * does has copied the signature. */
    const char *sig = strrchr(token, '.');
    if (sig && strlen(sig + 1) >= 16 &&
        strspn(sig + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789-_") == strlen(sig + 1))
        FUZZ_CHECK(!strstr(err, sig + 1), "jwt: message holds the signature");
}

static void one_session(const char *header, const char *xsrf) {
    static const char *const msgs[] = {
        "the X-XSRF-TOKEN header is missing",
        "the X-XSRF-TOKEN does not belong to this session",
        "the session cookie is not valid",
        "the session expired",
    };
    char value[ERPS_SESSION_COOKIE_MAX], small[8], err[256];
    erps_principal_t who;

    if (erps_cookie_get(header, "x", small, sizeof(small)) == 0)
        FUZZ_CHECK(strlen(small) < sizeof(small), "cookie overflows");
    if (erps_cookie_get(header, "erpsync_session", value, sizeof(value)))
        return;
    FUZZ_CHECK(strlen(value) < sizeof(value), "cookie overflows");
    int rc =
        erps_session_check(sess, value, xsrf, NOW_MS, &who, err, sizeof(err));
    if (rc == 0) {
        check_principal(&who, "session");
        return;
    }
    int known = 0;
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
        known |= strcmp(err, msgs[i]) == 0;
    FUZZ_CHECK(rc == -1 && known, "session: rc %d, message \"%s\"", rc, err);
}

/* Whether body holds hex (either case) at the start of a line. */
static int body_has_hash(const char *body, size_t len, const char *hex) {
    for (size_t i = 0; i + 64 <= len; i++) {
        if (i > 0 && body[i - 1] != '\n')
            continue;
        size_t k = 0;
        while (k < 64 && tolower((unsigned char)body[i + k]) == hex[k])
            k++;
        if (k == 64)
            return 1;
    }
    return 0;
}

static void one_tickets(const char *body, size_t len, const char *ticket) {
    char err[256], user[ERPS_PRINCIPAL_MAX + 1], hex[65];
    erps_tickets_t *t = erps_tickets_from_text(body, len, err, sizeof(err));
    if (!t) {
        FUZZ_CHECK(strstr(err, ": expected") || strstr(err, "out of memory"),
                   "tickets: message \"%s\"", err);
        return;
    }
    int rc = erps_tickets_check(t, ticket, NOW_MS, user, sizeof(user), err,
                                sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == -1 || rc == -2, "tickets: rc %d", rc);
    if (rc == 0 || rc == -2) {
        erps_sha256_hex(ticket, hex);
        FUZZ_CHECK(body_has_hash(body, len, hex), "ticket not in the file");
    }
    if (rc == 0)
        FUZZ_CHECK(user[0] && !strchr(user, ':'), "tickets: user \"%s\"", user);
    if (rc == -2)
        FUZZ_CHECK(strncmp(err, "the ticket expired at ", 22) == 0,
                   "tickets: message \"%s\"", err);
    FUZZ_CHECK(erps_tickets_error(t, err, sizeof(err)) == 0,
               "tickets: error on a store from text");
    erps_tickets_destroy(t);
}

static void one_apps(const char *body, size_t len, const char *token) {
    char err[256], app[ERPS_APP_NAME_MAX + 1], hex[65];
    erps_apptokens_t *a = erps_apptokens_from_text(body, len, err, sizeof(err));
    if (!a) {
        FUZZ_CHECK(strstr(err, ": expected") || strstr(err, "out of memory"),
                   "apps: message \"%s\"", err);
        return;
    }
    if (erps_apptokens_check(a, token, app, sizeof(app)) == 0) {
        erps_sha256_hex(token, hex);
        FUZZ_CHECK(body_has_hash(body, len, hex), "app token not in the file");
        FUZZ_CHECK(strlen(app) <= ERPS_APP_NAME_MAX, "app name too long");
    }
    erps_apptokens_destroy(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_reader_t r = {data, size};
    size_t tl, al;
    char *token = next_cstr(&r);
    char *header = next_cstr(&r);
    char *xsrf = next_cstr(&r);
    char *tickets = next_bytes(&r, &tl);
    char *ticket = next_cstr(&r);
    char *apps = next_bytes(&r, &al);
    char *app_token = next_cstr(&r);

    one_jwt(token);
    one_session(header, xsrf[0] ? xsrf : NULL);
    one_tickets(tickets, tl, ticket);
    one_apps(apps, al, app_token);

    free(app_token);
    free(apps);
    free(ticket);
    free(tickets);
    free(xsrf);
    free(header);
    free(token);
    return 0;
}
