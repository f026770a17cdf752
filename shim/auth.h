/*
 * auth.h - principals and the users file.
 *
 * Users file: one principal per line, `name:hash:tenant:engine:role`, where
 * hash is a crypt(5) hash (yescrypt `$y$` by default, bcrypt `$2b$` and the
 * SHA-crypt family also verify) made with `erpsync-shim --hash-password`.
 * Lines starting with '#' are comments. Each principal belongs to one tenant,
 * and a tenant controls one engine.
 */
#ifndef ERPSYNC_SHIM_AUTH_H
#define ERPSYNC_SHIM_AUTH_H

#include <stddef.h>

#include "erpsync/proto.h"

typedef enum erps_role {
    ERPS_ROLE_READER = 1, /* may read status */
    ERPS_ROLE_ADMIN,      /* may also change the engine */
} erps_role_t;

typedef struct erps_principal {
    char name[ERPS_PRINCIPAL_MAX + 1];
    char tenant[64];
    char engine_id[ERPS_ENGINE_ID_MAX + 1];
    erps_role_t role;
} erps_principal_t;

typedef struct erps_users erps_users_t;

/** Loads a users file. @returns the set, or NULL with errstr (names the line). */
erps_users_t *erps_users_load(const char *path, char *errstr, size_t errstr_size);
void erps_users_destroy(erps_users_t *u);
int erps_users_count(const erps_users_t *u);

/**
 * Checks name and password. Unknown names cost as much as wrong passwords,
 * so response times do not tell which names exist.
 * @returns 0 and fills *who, or -1.
 * @locality any thread (crypt_rn with a stack buffer)
 */
int erps_users_verify(const erps_users_t *u, const char *name,
                      const char *password, erps_principal_t *who);

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
