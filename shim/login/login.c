/*
 * login.c - the request's credentials into a principal (login.h).
 *
 * The order is the WebAPI's: the address limit, then Authorization (or the
 * session cookie), then the tenant's engine, then restricted mode's app
 * token. Limits and the credential cache run on the monotonic clock; tokens
 * and cookies expire on the wall clock.
 */
#include "../login.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../guard.h"
#include "../tokens.h"
#include "erpsync/log.h"
#include "erpsync/util.h"

#define RESTRICTED_MSG                                                         \
    "The ErpSync agent is not available by default; access must be requested " \
    "when the app is registered"

struct erps_login {
    const erps_shim_conf_t *conf;
    /* Read-held by every check, write-held while a reload swaps the files
     * read again: a check sees one generation of them from start to end. */
    pthread_rwlock_t lock;
    erps_users_t *users;
    erps_tenants_t *tenants;
    erps_tickets_t *tickets; /* NULL: SOTicket off */
    erps_jwt_t *jwt;         /* NULL: Bearer off */
    erps_session_t *session; /* NULL: no cookies */
    erps_apptokens_t *apptokens;
    erps_guard_t *guard;
    _Atomic uint64_t failures, limited, cache_hits;
};

/* ---- set-up ---- */

static int open_jwt(erps_login_t *lg, char *errstr, size_t errstr_size) {
    const erps_shim_conf_t *conf = lg->conf;
    if (!conf->jwt_hs256_key_file[0] && !conf->jwt_rs256_key_file[0])
        return 0;
    erps_jwt_conf_t jc = {
        .hs256_key_file =
            conf->jwt_hs256_key_file[0] ? conf->jwt_hs256_key_file : NULL,
        .rs256_key_file =
            conf->jwt_rs256_key_file[0] ? conf->jwt_rs256_key_file : NULL,
        .issuer = conf->jwt_issuer,
        .audience = conf->jwt_audience,
        .skew_ms = conf->jwt_skew_ms,
        .tenant_claim = conf->jwt_tenant_claim,
        .role_claim = conf->jwt_role_claim,
    };
    char jerr[512];
    if (!(lg->jwt = erps_jwt_new(&jc, jerr, sizeof(jerr)))) {
        snprintf(errstr, errstr_size, "auth.jwt.*: %s", jerr);
        return -1;
    }
    return 0;
}

static int open_files(erps_login_t *lg, char *errstr, size_t n) {
    const erps_shim_conf_t *conf = lg->conf;
    if (!(lg->users = erps_users_load(conf->users_file, errstr, n)) ||
        !(lg->tenants = erps_tenants_load(conf->tenants_file, errstr, n)) ||
        erps_users_check_tenants(lg->users, lg->tenants, errstr, n))
        return -1;
    if (conf->tickets_file[0] &&
        !(lg->tickets = erps_tickets_open(conf->tickets_file, errstr, n)))
        return -1;
    if (open_jwt(lg, errstr, n))
        return -1;
    if (conf->session_key_file[0] &&
        !(lg->session = erps_session_new(conf->session_key_file,
                                         conf->session_ttl_ms, errstr, n)))
        return -1;
    if (conf->apptokens_file[0] &&
        !(lg->apptokens = erps_apptokens_load(conf->apptokens_file, errstr, n)))
        return -1;
    if (conf->restricted && !lg->apptokens) {
        snprintf(errstr, n, "auth.restricted needs auth.apptokens.file");
        return -1;
    }
    return 0;
}

erps_login_t *erps_login_new(const erps_shim_conf_t *conf, char *errstr,
                             size_t errstr_size) {
    erps_login_t *lg = calloc(1, sizeof(*lg));
    if (!lg) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    lg->conf = conf;
    pthread_rwlock_init(&lg->lock, NULL);
    if (open_files(lg, errstr, errstr_size)) {
        erps_login_destroy(lg);
        return NULL;
    }
    erps_guard_conf_t gc = {
        conf->login_failures_max, conf->login_failures_window_ms,
        conf->account_failures_max, conf->account_failures_window_ms,
        conf->credential_cache_ms};
    if (!(lg->guard = erps_guard_new(&gc))) {
        snprintf(errstr, errstr_size, "out of memory");
        erps_login_destroy(lg);
        return NULL;
    }
    return lg;
}

void erps_login_destroy(erps_login_t *lg) {
    if (!lg)
        return;
    erps_users_destroy(lg->users);
    erps_tenants_destroy(lg->tenants);
    erps_tickets_destroy(lg->tickets);
    erps_jwt_destroy(lg->jwt);
    erps_session_destroy(lg->session);
    erps_apptokens_destroy(lg->apptokens);
    erps_guard_destroy(lg->guard);
    pthread_rwlock_destroy(&lg->lock);
    free(lg);
}

/* The files SIGHUP reads again, read into a blank login. */
static int reread(const erps_shim_conf_t *conf, erps_login_t *fresh,
                  char *errstr, size_t n) {
    if (!(fresh->users = erps_users_load(conf->users_file, errstr, n)) ||
        !(fresh->tenants = erps_tenants_load(conf->tenants_file, errstr, n)) ||
        erps_users_check_tenants(fresh->users, fresh->tenants, errstr, n))
        return -1;
    if (conf->apptokens_file[0] && !(fresh->apptokens = erps_apptokens_load(
                                         conf->apptokens_file, errstr, n)))
        return -1;
    return 0;
}

int erps_login_reload(erps_login_t *lg, char *errstr, size_t errstr_size) {
    erps_login_t fresh = {0};
    int rc = reread(lg->conf, &fresh, errstr, errstr_size);
    if (rc == 0) {
        pthread_rwlock_wrlock(&lg->lock);
        erps_users_t *u = lg->users;
        erps_tenants_t *t = lg->tenants;
        erps_apptokens_t *a = lg->apptokens;
        lg->users = fresh.users;
        lg->tenants = fresh.tenants;
        lg->apptokens = fresh.apptokens;
        fresh.users = u, fresh.tenants = t, fresh.apptokens = a;
        /* Under the lock: no check that began on the old files can put a
         * credential into the cache after it was cleared. */
        erps_guard_cache_clear(lg->guard);
        pthread_rwlock_unlock(&lg->lock);
    }
    erps_users_destroy(fresh.users);
    erps_tenants_destroy(fresh.tenants);
    erps_apptokens_destroy(fresh.apptokens);
    return rc;
}

/* "Basic, SOTicket or Bearer", naming only the schemes this shim takes:
 * a client is never sent after a scheme that cannot work. */
static const char *schemes_text(const erps_login_t *lg) {
    static const char *const text[2][2] = {
        {"Basic", "Basic or Bearer"},
        {"Basic or SOTicket", "Basic, SOTicket or Bearer"}};
    return text[lg->tickets != NULL][lg->jwt != NULL];
}

int erps_login_challenges(const erps_login_t *lg, const char *out[3]) {
    int n = 0;
    out[n++] = "Basic realm=\"erpsync\", charset=\"UTF-8\"";
    if (lg->tickets)
        out[n++] = "SOTicket realm=\"erpsync\"";
    if (lg->jwt)
        out[n++] = "Bearer realm=\"erpsync\"";
    return n;
}

void erps_login_stats(const erps_login_t *lg, erps_login_stats_t *st) {
    st->failures = lg->failures;
    st->limited = lg->limited;
    st->cache_hits = lg->cache_hits;
}

void erps_login_describe(erps_login_t *lg, char *out, size_t size) {
    pthread_rwlock_rdlock(&lg->lock);
    snprintf(out, size,
             "%d users, %d tenants; SOTicket %s, Bearer %s, "
             "sessions %s, restricted %s",
             erps_users_count(lg->users), erps_tenants_count(lg->tenants),
             lg->tickets ? "on" : "off", lg->jwt ? "on" : "off",
             lg->session ? "on" : "off", lg->conf->restricted ? "on" : "off");
    pthread_rwlock_unlock(&lg->lock);
}

/* ---- the schemes ---- */

/* 429: too many failed logins (from an address, or for an account). */
static int too_many(erps_login_t *lg, erps_login_out_t *out, int64_t wait_ms,
                    const char *whose, char *err, size_t err_size) {
    out->retry_after_s = (wait_ms + 999) / 1000;
    snprintf(err, err_size,
             "too many failed logins %s; try again in %" PRId64 " s", whose,
             out->retry_after_s);
    lg->limited++;
    return 429;
}

static int login_basic(erps_login_t *lg, const char *auth,
                       erps_login_out_t *out, char *err, size_t err_size) {
    char name[ERPS_PRINCIPAL_MAX + 1], pw[512];
    if (erps_basic_parse(auth, name, sizeof(name), pw, sizeof(pw))) {
        snprintf(err, err_size,
                 "the Authorization header is not valid Basic "
                 "credentials");
        return 401;
    }
    int bad = 0;
    int64_t mono = erps_mono_ms(), wait = 0;
    erps_strlcpy(out->account, name, sizeof(out->account));
    /* A credential verified within the TTL passes even while its account
     * is limited: the real user is not locked out by attackers guessing
     * her password from elsewhere. */
    if (erps_guard_cache_get(lg->guard, name, pw, mono, &out->who) == 0) {
        lg->cache_hits++;
    } else if ((wait = erps_guard_account_blocked(lg->guard, name, mono))) {
        bad = 1;
    } else if (!(bad = erps_users_verify(lg->users, name, pw, &out->who))) {
        erps_guard_cache_put(lg->guard, name, pw, mono, &out->who);
    }
    explicit_bzero(pw, sizeof(pw));
    if (wait)
        return too_many(lg, out, wait, "for this account", err, err_size);
    if (bad) {
        snprintf(err, err_size, "wrong user name or password");
        return 401;
    }
    out->basic = 1;
    return 0;
}

static int login_ticket(erps_login_t *lg, const char *cred,
                        erps_login_out_t *out, char *err, size_t err_size) {
    char name[ERPS_PRINCIPAL_MAX + 1], ferr[512];
    if (!lg->tickets) {
        snprintf(err, err_size,
                 "SOTicket authentication is not enabled on "
                 "this server");
        return 401;
    }
    int rc = erps_tickets_check(lg->tickets, cred, erps_now_ms(), name,
                                sizeof(name), err, err_size);
    if (erps_tickets_error(lg->tickets, ferr, sizeof(ferr)))
        erps_warn("%s (still using the tickets read before)", ferr);
    if (rc == -1)
        snprintf(err, err_size, "the SOTicket is not known");
    if (rc)
        return 401;
    /* A ticket outlives nothing: its user must still exist. */
    if (erps_users_find(lg->users, name, &out->who)) {
        snprintf(err, err_size, "the SOTicket's user no longer exists");
        return 401;
    }
    return 0;
}

static int login_bearer(erps_login_t *lg, const char *cred,
                        erps_login_out_t *out, char *err, size_t err_size) {
    if (!lg->jwt) {
        snprintf(err, err_size,
                 "Bearer authentication is not enabled on this "
                 "server");
        return 401;
    }
    return erps_jwt_verify(lg->jwt, cred, erps_now_ms(), &out->who, err,
                           err_size)
               ? 401
               : 0;
}

/* Names the scheme only when it looks like one: a client that forgot it
 * sends the credentials first, and those never go to a log or answer. */
static int unknown_scheme(const erps_login_t *lg, const char *auth, size_t slen,
                          char *err, size_t err_size) {
    int named = slen >= 1 && slen <= 16 && auth[slen] == ' ';
    for (size_t i = 0; named && i < slen; i++)
        named = (auth[i] >= 'A' && auth[i] <= 'Z') ||
                (auth[i] >= 'a' && auth[i] <= 'z') || auth[i] == '-';
    if (named)
        snprintf(err, err_size,
                 "the Authorization scheme \"%.*s\" is not "
                 "supported; use %s",
                 (int)slen, auth, schemes_text(lg));
    else
        snprintf(err, err_size,
                 "the Authorization header is malformed: "
                 "expected a scheme (%s), a space and the "
                 "credentials",
                 schemes_text(lg));
    return 401;
}

/* @returns 0 with out->who, or 401 (429: the account is limited). */
static int login_with_header(erps_login_t *lg, const char *auth,
                             erps_login_out_t *out, char *err,
                             size_t err_size) {
    size_t slen = strcspn(auth, " ");
    const char *cred = auth + slen;
    while (*cred == ' ')
        cred++;
    if (slen == 5 && strncasecmp(auth, "Basic", 5) == 0)
        return login_basic(lg, auth, out, err, err_size);
    if (slen == 8 && strncasecmp(auth, "SOTicket", 8) == 0)
        return login_ticket(lg, cred, out, err, err_size);
    if (slen == 6 && strncasecmp(auth, "Bearer", 6) == 0)
        return login_bearer(lg, cred, out, err, err_size);
    return unknown_scheme(lg, auth, slen, err, err_size);
}

/* A session stands for a user of the users file, and only while that user
 * is there with the same tenant, role and password: removing or demoting a
 * user, or giving them a new password, ends their sessions at once. */
static int login_session(erps_login_t *lg, const char *cookie, const char *xsrf,
                         erps_login_out_t *out, char *err, size_t err_size) {
    erps_principal_t now_is, *who = &out->who;
    char bound[ERPS_BINDING_LEN + 1];
    if (erps_session_check(lg->session, cookie, xsrf, erps_now_ms(), who, err,
                           err_size))
        return 401;
    const char *hash = erps_users_hash(lg->users, who->name);
    if (!hash || erps_session_bind(lg->session, hash, bound) ||
        !erps_consttime_eq(bound, strlen(bound), who->binding,
                           strlen(who->binding)) ||
        erps_users_find(lg->users, who->name, &now_is) ||
        strcmp(now_is.tenant, who->tenant) != 0 || now_is.role != who->role) {
        snprintf(err, err_size,
                 "the session ended: its user's password, "
                 "tenant or role changed; log in again");
        return 401;
    }
    who->binding[0] = '\0';
    return 0;
}

/* Restricted mode: the WebAPI hides the ErpSync agent from apps that were
 * not granted it when registered. */
static int app_allowed(const erps_login_t *lg, const char *token, char *err,
                       size_t err_size) {
    char app[ERPS_APP_NAME_MAX + 1];
    if (!lg->conf->restricted)
        return 0;
    if (!token || !*token) {
        snprintf(err, err_size, RESTRICTED_MSG "; send its SO-AppToken");
        return 403;
    }
    if (!lg->apptokens ||
        erps_apptokens_check(lg->apptokens, token, app, sizeof(app))) {
        snprintf(err, err_size,
                 RESTRICTED_MSG "; this SO-AppToken is not "
                                "registered for it");
        return 403;
    }
    return 0;
}

/* Authorization, else the session cookie. @returns 0, 401 or 429; -1 when
 * the request carries no credentials at all. */
static int credentials(erps_login_t *lg, const erps_login_in_t *in,
                       erps_login_out_t *out, char *err, size_t err_size) {
    char cookie[ERPS_SESSION_COOKIE_MAX];
    if (in->authorization)
        return login_with_header(lg, in->authorization, out, err, err_size);
    if (!lg->session || !in->cookie ||
        erps_cookie_get(in->cookie, ERPS_SESSION_COOKIE_NAME, cookie,
                        sizeof(cookie)) != 0)
        return -1;
    /* Browsers send cookies on their own; only a page that could read the
     * XSRF cookie can echo it, so a cross-site form cannot. */
    int code = login_session(lg, cookie, in->xsrf, out, err, err_size);
    explicit_bzero(cookie, sizeof(cookie));
    return code;
}

static int check_locked(erps_login_t *lg, const erps_login_in_t *in,
                        erps_login_out_t *out, char *err, size_t err_size) {
    int64_t mono = erps_mono_ms(); /* limits and the cache: no wall clock */
    memset(out, 0, sizeof(*out));
    int64_t wait = erps_guard_blocked(lg->guard, in->client_addr, mono);
    if (wait > 0)
        return too_many(lg, out, wait, "from this address", err, err_size);
    int code = credentials(lg, in, out, err, err_size);
    if (code == -1) {
        /* The usual first call of a client that waits for the challenge:
         * not a failed login, so it does not count against the address. */
        snprintf(err, err_size,
                 "authentication required: send Authorization "
                 "(%s)%s",
                 schemes_text(lg),
                 lg->session ? ", or the session cookie with X-XSRF-TOKEN"
                             : "");
        return 401;
    }
    if (code == 429) /* a limited account: no password was checked */
        return code;
    if (code) {
        lg->failures++;
        erps_guard_failed(lg->guard, in->client_addr, out->account, mono);
        erps_info("login failed from %s: %s", in->client_addr, err);
        return code;
    }
    if (erps_tenants_engine(lg->tenants, &out->who)) {
        snprintf(err, err_size, "tenant %s has no engine", out->who.tenant);
        return 403;
    }
    return app_allowed(lg, in->app_token, err, err_size);
}

int erps_login_check(erps_login_t *lg, const erps_login_in_t *in,
                     erps_login_out_t *out, char *err, size_t err_size) {
    pthread_rwlock_rdlock(&lg->lock);
    int code = check_locked(lg, in, out, err, err_size);
    pthread_rwlock_unlock(&lg->lock);
    return code;
}

static int session_cookies_locked(const erps_login_t *lg,
                                  const erps_principal_t *who,
                                  char session[ERPS_SET_COOKIE_MAX],
                                  char xsrf[ERPS_SET_COOKIE_MAX]) {
    char cookie[ERPS_SESSION_COOKIE_MAX], token[ERPS_XSRF_MAX];
    if (!lg->session)
        return -1;
    const char *secure = lg->conf->session_secure ? "; Secure" : "";
    int64_t max_age = erps_session_ttl_ms(lg->session) / 1000;
    erps_principal_t bound = *who;
    const char *hash = erps_users_hash(lg->users, who->name);
    if (!hash || erps_session_bind(lg->session, hash, bound.binding) ||
        erps_session_issue(lg->session, &bound, erps_now_ms(), cookie,
                           sizeof(cookie), token, sizeof(token)))
        return -1;
    snprintf(session, ERPS_SET_COOKIE_MAX,
             ERPS_SESSION_COOKIE_NAME "=%s; Path=/api/; Max-Age=%" PRId64
                                      "; HttpOnly; "
                                      "SameSite=Strict%s",
             cookie, max_age, secure);
    /* Readable by the page's script, which echoes it in X-XSRF-TOKEN. */
    snprintf(xsrf, ERPS_SET_COOKIE_MAX,
             ERPS_XSRF_COOKIE_NAME "=%s; Path=/; Max-Age=%" PRId64
                                   "; SameSite=Strict%s",
             token, max_age, secure);
    explicit_bzero(cookie, sizeof(cookie));
    return 0;
}

int erps_login_session_cookies(erps_login_t *lg, const erps_principal_t *who,
                               char session[ERPS_SET_COOKIE_MAX],
                               char xsrf[ERPS_SET_COOKIE_MAX]) {
    pthread_rwlock_rdlock(&lg->lock);
    int rc = session_cookies_locked(lg, who, session, xsrf);
    pthread_rwlock_unlock(&lg->lock);
    return rc;
}
