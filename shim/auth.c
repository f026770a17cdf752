/*
 * auth.c - users file, Basic credentials, password hashing (libxcrypt).
 */
#include "auth.h"

#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "erpsync/util.h"

typedef struct user {
    erps_principal_t p;
    char hash[CRYPT_OUTPUT_SIZE];
} user_t;

struct erps_users {
    int cnt;
    user_t *v;
    char dummy_hash[CRYPT_OUTPUT_SIZE]; /* verified against for unknown names */
};

const char *erps_role_name(erps_role_t r) {
    return r == ERPS_ROLE_ADMIN ? "admin" : "reader";
}

static int parse_role(const char *s, erps_role_t *r) {
    if (strcmp(s, "admin") == 0)
        *r = ERPS_ROLE_ADMIN;
    else if (strcmp(s, "reader") == 0)
        *r = ERPS_ROLE_READER;
    else
        return -1;
    return 0;
}

int erps_password_hash(const char *password, char *out, size_t out_size) {
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data cd;
    if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)))
        return -1;
    memset(&cd, 0, sizeof(cd));
    const char *h = crypt_rn(password, salt, &cd, sizeof(cd));
    if (!h || h[0] == '*' || strlen(h) >= out_size)
        return -1;
    memcpy(out, h, strlen(h) + 1);
    return 0;
}

erps_users_t *erps_users_load(const char *path, char *errstr,
                              size_t errstr_size) {
    FILE *fp = fopen(path, "r");
    char line[1024];
    int lineno = 0, cap = 0;
    erps_users_t *u = calloc(1, sizeof(*u));

    if (!u) {
        snprintf(errstr, errstr_size, "out of memory");
        if (fp)
            fclose(fp);
        return NULL;
    }
    if (!fp) {
        snprintf(errstr, errstr_size, "users file %s: %s", path,
                 strerror(errno));
        free(u);
        return NULL;
    }
    while (fgets(line, sizeof(line), fp)) {
        lineno++;
        /* The rest of an over-long line would read as a line of its own. */
        if (!strchr(line, '\n') && !feof(fp)) {
            snprintf(errstr, errstr_size, "users file %s:%d: line longer than "
                     "%zu bytes", path, lineno, sizeof(line) - 2);
            goto fail;
        }
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        /* Exactly five fields; strtok would merge empty ones. */
        char *f[5];
        int colons = 0, n = 0;
        for (char *p = line; *p; p++)
            colons += *p == ':';
        if (colons == 4) {
            f[0] = line;
            for (int i = 1; i < 5; i++) {
                f[i] = strchr(f[i - 1], ':');
                *f[i]++ = '\0';
            }
            n = 5;
        }
        user_t nu;
        memset(&nu, 0, sizeof(nu));
        if (n != 5 || !f[0][0] || !f[1][0] ||
            strlen(f[0]) > ERPS_PRINCIPAL_MAX || strlen(f[1]) >= sizeof(nu.hash) ||
            strlen(f[2]) >= sizeof(nu.p.tenant) || !erps_engine_id_valid(f[3]) ||
            parse_role(f[4], &nu.p.role)) {
            snprintf(errstr, errstr_size,
                     "users file %s:%d: expected name:hash:tenant:engine:role "
                     "(role admin or reader)", path, lineno);
            goto fail;
        }
        if (f[1][0] != '$') {
            snprintf(errstr, errstr_size,
                     "users file %s:%d: the password must be a crypt hash "
                     "(erpsync-shim --hash-password)", path, lineno);
            goto fail;
        }
        erps_strlcpy(nu.p.name, f[0], sizeof(nu.p.name));
        erps_strlcpy(nu.hash, f[1], sizeof(nu.hash));
        erps_strlcpy(nu.p.tenant, f[2], sizeof(nu.p.tenant));
        erps_strlcpy(nu.p.engine_id, f[3], sizeof(nu.p.engine_id));
        if (u->cnt == cap) {
            cap = cap ? cap * 2 : 16;
            user_t *nv = realloc(u->v, (size_t)cap * sizeof(*nv));
            if (!nv) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
            }
            u->v = nv;
        }
        u->v[u->cnt++] = nu;
    }
    fclose(fp);
    if (erps_password_hash("erpsync-no-such-user", u->dummy_hash,
                           sizeof(u->dummy_hash))) {
        snprintf(errstr, errstr_size, "password hashing is not available");
        erps_users_destroy(u);
        return NULL;
    }
    return u;
fail:
    fclose(fp);
    erps_users_destroy(u);
    return NULL;
}

void erps_users_destroy(erps_users_t *u) {
    if (!u)
        return;
    /* Hashes are not secrets, but there is no reason to leave them around. */
    if (u->v)
        memset(u->v, 0, (size_t)u->cnt * sizeof(*u->v));
    free(u->v);
    free(u);
}

int erps_users_count(const erps_users_t *u) { return u->cnt; }

int erps_users_verify(const erps_users_t *u, const char *name,
                      const char *password, erps_principal_t *who) {
    const user_t *found = NULL;
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    int ok = 0;

    if (!cd)
        return -1;
    for (int i = 0; i < u->cnt; i++)
        if (strcmp(u->v[i].p.name, name) == 0)
            found = &u->v[i];
    const char *setting = found ? found->hash : u->dummy_hash;
    const char *h = crypt_rn(password, setting, cd, sizeof(*cd));
    if (h && h[0] != '*')
        ok = erps_consttime_eq(h, strlen(h), setting, strlen(setting));
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    if (!ok || !found)
        return -1;
    *who = found->p;
    return 0;
}

static int b64val(int c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int erps_basic_parse(const char *header, char *name, size_t name_size,
                     char *password, size_t password_size) {
    unsigned char out[768];
    size_t n = 0, pad = 0;
    unsigned acc = 0;
    int bits = 0;

    if (strncasecmp(header, "Basic", 5) != 0 || header[5] != ' ')
        return -1;
    const char *p = header + 6;
    while (*p == ' ')
        p++;
    size_t len = strlen(p);
    while (len > 0 && p[len - 1] == ' ')
        len--;
    if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(out))
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '=') {
            pad++;
            continue;
        }
        int v = b64val((unsigned char)p[i]);
        if (v < 0 || pad)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    if (pad > 2)
        return -1;
    char *colon = memchr(out, ':', n);
    if (!colon || memchr(out, '\0', n))
        return -1;
    size_t nl = (size_t)(colon - (char *)out), pl = n - nl - 1;
    if (nl == 0 || nl >= name_size || pl >= password_size)
        return -1;
    memcpy(name, out, nl);
    name[nl] = '\0';
    memcpy(password, colon + 1, pl);
    password[pl] = '\0';
    explicit_bzero(out, sizeof(out));
    return 0;
}
