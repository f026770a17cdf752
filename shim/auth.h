/*
 * auth.h - principals, the users file and the tenants file.
 *
 * Users file: one principal per line, `name:hash:tenant:role`, where hash is
 * a crypt(5) hash (yescrypt `$y$` by default, bcrypt `$2b$` and the
 * SHA-crypt family also verify) made with `erpsync-shim --hash-password`.
 * Tenants file: `tenant:engine` per line. Lines starting with '#' are
 * comments. Every principal - from a password, a ticket, a token or a session
 * - names a tenant, and only the tenants file turns that into an engine id,
 * so nothing a caller sends can name another tenant's engine.
 */
#ifndef ERPSYNC_SHIM_AUTH_H
#define ERPSYNC_SHIM_AUTH_H

#include <stddef.h>

#include "erpsync/proto.h"

typedef enum erps_role {
    ERPS_ROLE_READER = 1, /* may read status */
    ERPS_ROLE_ADMIN,      /* may also change the engine */
} erps_role_t;

#define ERPS_TENANT_MAX 63

#define ERPS_BINDING_LEN 43 /* base64url of an HMAC-SHA256 */

typedef struct erps_principal {
    char name[ERPS_PRINCIPAL_MAX + 1];
    char tenant[ERPS_TENANT_MAX + 1];
    /* What a session cookie stays bound to (erps_session_bind of the user's
     * password hash), so a new password ends the sessions of the old; ""
     * outside sessions. */
    char binding[ERPS_BINDING_LEN + 1];
    char engine_id[ERPS_ENGINE_ID_MAX + 1];
    erps_role_t role;
} erps_principal_t;

typedef struct erps_users erps_users_t;

/** Loads a users file. @returns the set, or NULL with errstr (names the line).
 */
erps_users_t *erps_users_load(const char *path, char *errstr,
                              size_t errstr_size);
void erps_users_destroy(erps_users_t *u);
int erps_users_count(const erps_users_t *u);

/**
 * Checks name and password. Unknown names cost as much as wrong passwords,
 * so response times do not tell which names exist. Fills name, tenant and
 * role; the engine comes from the tenants file.
 * @returns 0 and fills *who, or -1.
 * @locality any thread (crypt_rn with a stack buffer)
 */
int erps_users_verify(const erps_users_t *u, const char *name,
                      const char *password, erps_principal_t *who);

/** Looks a user up by name (tickets name their user). @returns 0 or -1. */
int erps_users_find(const erps_users_t *u, const char *name,
                    erps_principal_t *who);
/** The stored password hash of a user, or NULL. */
const char *erps_users_hash(const erps_users_t *u, const char *name);

/** 1 when s can name a principal in any of the shim's files and cookies:
 *  1..ERPS_PRINCIPAL_MAX bytes (UTF-8 allowed), no control character and no
 *  ':', which separates fields everywhere. */
int erps_name_valid(const char *s);

/** 1 when s is a tenant name: 1..63 of [A-Za-z0-9._-]. */
int erps_tenant_valid(const char *s);

typedef struct erps_tenants erps_tenants_t;
/** Loads a tenants file; a tenant or an engine listed twice is an error. */
erps_tenants_t *erps_tenants_load(const char *path, char *errstr,
                                  size_t errstr_size);
void erps_tenants_destroy(erps_tenants_t *t);
int erps_tenants_count(const erps_tenants_t *t);
/** Sets who->engine_id from who->tenant. @returns 0, or -1 (unknown tenant). */
int erps_tenants_engine(const erps_tenants_t *t, erps_principal_t *who);
/** Start-up check: every user's tenant is in the tenants file. @returns 0 or
 * -1. */
int erps_users_check_tenants(const erps_users_t *u, const erps_tenants_t *t,
                             char *errstr, size_t errstr_size);

/**
 * Parses an Authorization: Basic header value into name and password.
 * @returns 0, or -1 when the header is not Basic or not valid base64 of
 * "name:password".
 */
int erps_basic_parse(const char *header, char *name, size_t name_size,
                     char *password, size_t password_size);

/** Hashes a password with a fresh salt (yescrypt). @returns 0 or -1. */
int erps_password_hash(const char *password, char *out, size_t out_size);

const char *erps_role_name(erps_role_t r);

#endif
