/*
 * tokens.h - the credentials other than passwords that the WebAPI accepts:
 * Bearer JWTs (HS256, RS256), SOTickets from a file shared by every shim,
 * session cookies with an X-XSRF-TOKEN (OWASP signed double-submit) and
 * SO-AppToken application tokens.
 *
 * Each check fills only name, tenant and role of an erps_principal_t and
 * leaves engine_id "": the caller maps the tenant to its engine.
 *
 * No function here writes a token, ticket, cookie or key into errstr (claim
 * values such as the issuer may appear), so error texts may go to logs and
 * to HTTP answers as they are.
 */
#ifndef ERPSYNC_SHIM_TOKENS_H
#define ERPSYNC_SHIM_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

#define ERPS_JWT_MAX            8192 /* bytes of token text accepted */
#define ERPS_TICKET_LEN         46   /* "7T:" + 43 base64url characters */
#define ERPS_SESSION_COOKIE_MAX 1024 /* cookie buffer that always suffices */
#define ERPS_XSRF_MAX           128  /* X-XSRF-TOKEN buffer that suffices */
#define ERPS_APP_NAME_MAX       128  /* bytes of an app name, without NUL */
#define ERPS_SECRET_MIN         32   /* bytes of an HMAC key file, at least */

/* ---- Bearer JWT (HS256 and RS256 only) ---- */

typedef struct erps_jwt_conf {
    const char *hs256_key_file; /* raw secret bytes (>= 32 bytes, every byte
                                   counts, a trailing newline too), or NULL */
    const char *rs256_key_file; /* PEM public key (RSA >= 2048 bits), or NULL */
    const char *issuer;         /* required "iss" */
    const char *audience;       /* required in "aud" (string or array) */
    int64_t skew_ms;            /* clock skew allowed on exp/nbf/iat, >= 0 */
    const char *tenant_claim;   /* e.g. "tenant"; NULL or "" = "tenant" */
    const char *role_claim;     /* e.g. "role"; "admin" or "reader"; absent
                                   = reader; NULL or "" = "role" */
} erps_jwt_conf_t;

typedef struct erps_jwt erps_jwt_t;

/**
 * Reads the keys. conf is not kept: its strings are copied.
 * @returns NULL with errstr when a key file is unreadable, too short or not a
 * PEM public key, when neither key is given, or issuer/audience is empty.
 */
erps_jwt_t *erps_jwt_new(const erps_jwt_conf_t *conf, char *errstr,
                         size_t errstr_size);
void erps_jwt_destroy(erps_jwt_t *j);

/**
 * Verifies a compact JWS (the text after "Bearer "). The header's alg picks
 * the key: HS256 the secret, RS256 the public key; anything else, or an alg
 * whose key is not configured, is refused. Claims: exp required (now <= exp
 * + skew), nbf and iat checked when present, iss equal, aud equal or an array
 * holding it, sub (printable ASCII without ':', 1..ERPS_PRINCIPAL_MAX) the
 * name, the tenant claim (1..63 of [A-Za-z0-9._-]) and the role claim.
 * @returns 0 with *who filled, or -1 with a reason in errstr ("the token is
 * expired", "the token's audience is not ...", "the token's signature is not
 * valid", "algorithm none is not accepted", ...).
 * @locality any thread (j is read only)
 */
int erps_jwt_verify(const erps_jwt_t *j, const char *token, int64_t now_ms,
                    erps_principal_t *who, char *errstr, size_t errstr_size);

/* ---- SOTicket store: a file shared by every shim ---- */

/*
 * File lines: "<sha256 hex of the ticket>:<user>:<expiry RFC 3339>"; '#'
 * starts a comment line. Only hashes are stored, so the file holds no secret.
 * The store re-reads the file when its mtime, size or inode changed, checking
 * at most once per second (every 100 ms when a ticket is not found, so a
 * ticket just issued works at once); a file that fails to parse keeps the
 * previous contents (and erps_tickets_error reports why until a good read). A
 * file that does not exist holds no tickets. Lines are only ever appended;
 * removing expired lines (rewrite and rename over the file) is up to the
 * operator.
 */
typedef struct erps_tickets erps_tickets_t;

/** @returns the store, or NULL with errstr when the file exists but cannot
 *  be read or parsed (names the line). */
erps_tickets_t *erps_tickets_open(const char *path, char *errstr,
                                  size_t errstr_size);
void erps_tickets_destroy(erps_tickets_t *t);

/**
 * @returns 0 with the user name, -1 unknown ticket ("the ticket is not
 * known"), -2 expired (errstr "the ticket expired at 2026-...Z").
 * @locality any thread
 * @locks the store's own mutex (also held while re-reading the file)
 */
int erps_tickets_check(erps_tickets_t *t, const char *ticket, int64_t now_ms,
                       char *user, size_t user_size, char *errstr,
                       size_t errstr_size);

/** @returns 0 when the last read of the file was good, else -1 with the
 *  reason (the store still answers from the last good contents). */
int erps_tickets_error(erps_tickets_t *t, char *errstr, size_t errstr_size);

/**
 * Issues a ticket for user (1..ERPS_PRINCIPAL_MAX bytes, no ':' or control
 * characters) valid ttl_ms: 32 random bytes -> "7T:" + base64url text (43
 * characters); appends the line (file created 0600, O_APPEND, fsync).
 * ticket_size must be at least ERPS_TICKET_LEN + 1.
 * @returns 0 with the ticket text, -1 with errstr.
 */
int erps_tickets_issue(const char *path, const char *user, int64_t ttl_ms,
                       int64_t now_ms, char *ticket, size_t ticket_size,
                       char *errstr, size_t errstr_size);

/* ---- Session cookie + X-XSRF-TOKEN (OWASP signed double-submit) ---- */

typedef struct erps_session erps_session_t;

/** key_file: >= 32 bytes of secret (shared by every shim); ttl_ms > 0. */
erps_session_t *erps_session_new(const char *key_file, int64_t ttl_ms,
                                 char *errstr, size_t errstr_size);
void erps_session_destroy(erps_session_t *s);

/**
 * cookie: P + "." + base64url(HMAC-SHA256(key, "erpsync-session|" + P)),
 *   P = base64url(JSON {"n":name,"t":tenant,"r":role,"e":expiry_ms,
 *   "j":16 random bytes hex[, "b":who->binding when not ""]}).
 * xsrf: R + "." + base64url(HMAC-SHA256(key, "erpsync-xsrf|" + cookie + "|"
 *   + R)), R = base64url(16 random bytes): bound to this session.
 * Buffers of ERPS_SESSION_COOKIE_MAX and ERPS_XSRF_MAX always suffice.
 * @returns 0, -1 on failure (a buffer too small, a name or tenant that
 * cannot be carried, no random bytes).
 * @locality any thread
 */
int erps_session_issue(const erps_session_t *s, const erps_principal_t *who,
                       int64_t now_ms, char *cookie, size_t cookie_size,
                       char *xsrf, size_t xsrf_size);

/**
 * @returns 0 with *who, or -1 with errstr: "the X-XSRF-TOKEN header is
 * missing", "the X-XSRF-TOKEN does not belong to this session", "the session
 * cookie is not valid", "the session expired". The cookie is judged first,
 * so an expired session says so even without the header.
 * @locality any thread
 */
int erps_session_check(const erps_session_t *s, const char *cookie,
                       const char *xsrf, int64_t now_ms, erps_principal_t *who,
                       char *errstr, size_t errstr_size);
int64_t erps_session_ttl_ms(const erps_session_t *s);

/**
 * What to put in who->binding before erps_session_issue, and to compare with
 * the binding erps_session_check gives back: base64url(HMAC-SHA256(key,
 * "erpsync-bind|" + text)), 43 characters. The shim binds a session to the
 * user's password hash, so a new password ends the old sessions, and the
 * cookie (signed, not encrypted) shows nothing about the hash.
 * @returns 0, or -1 (no HMAC).
 */
int erps_session_bind(const erps_session_t *s, const char *text,
                      char out[ERPS_BINDING_LEN + 1]);

/**
 * Finds cookie `name` in a Cookie request header ("a=1; b=2", RFC 6265;
 * quoted values unquoted; the first of several with that name).
 * @returns 0 with the value, -1 not there or too long for out.
 */
int erps_cookie_get(const char *header, const char *name, char *out,
                    size_t out_size);

/* ---- SO-AppToken: registered applications ---- */

/* File lines "<sha256 hex of the app token>[:<app name>]"; '#' comments. */
typedef struct erps_apptokens erps_apptokens_t;

/** @returns the set, or NULL with errstr (names the line). */
erps_apptokens_t *erps_apptokens_load(const char *path, char *errstr,
                                      size_t errstr_size);
void erps_apptokens_destroy(erps_apptokens_t *a);

/**
 * @returns 0 with the app name ("" when none) when registered, else -1.
 * app may be NULL; ERPS_APP_NAME_MAX + 1 bytes always suffice.
 * @locality any thread (a is read only)
 */
int erps_apptokens_check(const erps_apptokens_t *a, const char *token,
                         char *app, size_t app_size);

/** SHA-256 of s as 64 lower-case hex digits (for the CLI and the files). */
void erps_sha256_hex(const char *s, char out[65]);

#endif
