/*
 * login.h - who is calling: the request's credential headers into a
 * principal with its engine, or the status and reason of a refusal.
 *
 * One place decides: Authorization (Basic, SOTicket, Bearer), else the
 * session cookie with its X-XSRF-TOKEN; the failed-login limits by address
 * and by account; restricted mode's SO-AppToken; the session cookies a
 * Basic login earns. No sockets and no HTTP library: the server passes
 * header values in and sends what comes out (shim/login/ holds the token
 * kinds, auth.h the users and tenants files, guard.h the limits).
 */
#ifndef ERPSYNC_SHIM_LOGIN_H
#define ERPSYNC_SHIM_LOGIN_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "shim.h"

#define ERPS_SESSION_COOKIE_NAME "ERPSYNC_SESSION"
#define ERPS_XSRF_COOKIE_NAME    "XSRF-TOKEN"
#define ERPS_XSRF_HEADER         "X-XSRF-TOKEN"
/* A Set-Cookie value login writes: the cookie and its attributes. */
#define ERPS_SET_COOKIE_MAX 1400

typedef struct erps_login erps_login_t;

/** What the request brings; NULL for a header it does not carry. */
typedef struct erps_login_in {
    const char *authorization;
    const char *cookie;    /* the Cookie header */
    const char *xsrf;      /* X-XSRF-TOKEN */
    const char *app_token; /* SO-AppToken */
    const char *client_addr;
} erps_login_in_t;

/** What a login decided. */
typedef struct erps_login_out {
    erps_principal_t who;  /* with its engine, on success */
    int basic;             /* a password login: may get a session */
    int64_t retry_after_s; /* with 429 */
    char account[ERPS_PRINCIPAL_MAX + 1]; /* the account a password was
                                           * tried for ("" for tokens) */
} erps_login_out_t;

typedef struct erps_login_stats {
    uint64_t failures;   /* refused 401 */
    uint64_t limited;    /* refused 429 */
    uint64_t cache_hits; /* Basic credentials from the cache */
} erps_login_stats_t;

/**
 * Reads the users, tenants, tickets, key and app token files conf names.
 * @returns the login, or NULL with errstr naming the setting or file.
 */
erps_login_t *erps_login_new(const erps_shim_conf_t *conf, char *errstr,
                             size_t errstr_size);
void erps_login_destroy(erps_login_t *lg);

/**
 * Who is calling, and may they use the ErpSync agent at all.
 * @returns 0 with out->who, or 401, 403 or 429 (out->retry_after_s) with
 * err, which never holds a credential.
 * @locality any thread
 */
int erps_login_check(erps_login_t *lg, const erps_login_in_t *in,
                     erps_login_out_t *out, char *err, size_t err_size);

/**
 * The two Set-Cookie values of a new session for who (after a Basic login):
 * the HttpOnly session cookie and the XSRF cookie a page's script echoes.
 * @returns 0, or -1 when sessions are off or who's user is gone.
 */
int erps_login_session_cookies(erps_login_t *lg, const erps_principal_t *who,
                               char session[ERPS_SET_COOKIE_MAX],
                               char xsrf[ERPS_SET_COOKIE_MAX]);

/**
 * Reads the users, tenants and app tokens files again (SIGHUP). All or
 * nothing: when one is unreadable or they disagree, the ones read before
 * stay and errstr says why. Cached Basic credentials are forgotten, so a
 * changed password or a removed user takes effect at once; sessions check
 * the users file on every call anyway. The tickets file is read again
 * whenever it changes, without a signal.
 * @returns 0, or -1 with errstr.
 * @locality any thread; calls in flight finish on the files they began with
 */
int erps_login_reload(erps_login_t *lg, char *errstr, size_t errstr_size);

/** WWW-Authenticate challenges for a 401: n of them in out. */
int erps_login_challenges(const erps_login_t *lg, const char *out[3]);

void erps_login_stats(const erps_login_t *lg, erps_login_stats_t *st);

/** For the start-up line: "3 users, 1 tenants; SOTicket on, ...". */
void erps_login_describe(erps_login_t *lg, char *out, size_t size);

#endif
