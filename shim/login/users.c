/*
 * users.c - users and tenants files, Basic credentials, password hashing
 * (libxcrypt).
 *
 * User names compare without regard to ASCII case, as SuperOffice's do
 * (ALICE logs in as alice); the principal always carries the name as the
 * users file writes it, so audit records and sessions see one spelling.
 */
#include "../auth.h"

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
    int cnt, cap;
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

/* Calls line_cb for each non-comment line of a colon-separated file, its
 * fields split in place (empty fields kept, unlike strtok). */
typedef int (*line_cb)(void *ctx, char **f, int n, char *errstr,
                       size_t errstr_size, const char *where);

static int read_fields(const char *what, const char *path, line_cb cb,
                       void *ctx, char *errstr, size_t errstr_size) {
    char line[1024], where[1200];
    int lineno = 0;
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(errstr, errstr_size, "%s file %s: %s", what, path,
                 strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), fp)) {
        lineno++;
        /* The rest of an over-long line would read as a line of its own. */
        if (!strchr(line, '\n') && !feof(fp)) {
            snprintf(errstr, errstr_size,
                     "%s file %s:%d: line longer than "
                     "%zu bytes",
                     what, path, lineno, sizeof(line) - 2);
            fclose(fp);
            return -1;
        }
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        char *f[8];
        int n = 1;
        f[0] = line;
        for (char *p = line; *p; p++) {
            if (*p != ':')
                continue;
            if (n == 8) { /* more fields than any file has: a bad line */
                n++;
                break;
            }
            *p = '\0';
            f[n++] = p + 1;
        }
        snprintf(where, sizeof(where), "%s file %s:%d", what, path, lineno);
        if (cb(ctx, f, n > 8 ? 9 : n, errstr, errstr_size, where)) {
            fclose(fp);
            return -1;
        }
    }
    fclose(fp);
    return 0;
}

int erps_name_valid(const char *s) {
    size_t n = strnlen(s, ERPS_PRINCIPAL_MAX + 1);
    if (n == 0 || n > ERPS_PRINCIPAL_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == ':')
            return 0;
    return 1;
}

/* Tenant names and engine ids share the rules of a Kafka key we log. */
int erps_tenant_valid(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > ERPS_TENANT_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
            return 0;
    return 1;
}

static int user_line(void *ctx, char **f, int n, char *errstr,
                     size_t errstr_size, const char *where) {
    erps_users_t *u = ctx;
    user_t nu;
    memset(&nu, 0, sizeof(nu));
    if (n != 4 || !f[0][0] || !f[1][0] || strlen(f[0]) > ERPS_PRINCIPAL_MAX ||
        strlen(f[1]) >= sizeof(nu.hash) || !erps_tenant_valid(f[2]) ||
        parse_role(f[3], &nu.p.role)) {
        snprintf(errstr, errstr_size,
                 "%s: expected name:hash:tenant:role (role admin or reader)",
                 where);
        return -1;
    }
    if (f[1][0] != '$') {
        snprintf(errstr, errstr_size,
                 "%s: the password must be a crypt hash "
                 "(erpsync-shim --hash-password)",
                 where);
        return -1;
    }
    for (int i = 0; i < u->cnt; i++) {
        if (strcasecmp(u->v[i].p.name, f[0]) == 0) {
            snprintf(errstr, errstr_size,
                     "%s: user %s is listed twice (user "
                     "names do not differ by case)",
                     where, f[0]);
            return -1;
        }
    }
    erps_strlcpy(nu.p.name, f[0], sizeof(nu.p.name));
    erps_strlcpy(nu.hash, f[1], sizeof(nu.hash));
    erps_strlcpy(nu.p.tenant, f[2], sizeof(nu.p.tenant));
    if (u->cnt == u->cap) {
        int cap = u->cap ? u->cap * 2 : 16;
        user_t *nv = realloc(u->v, (size_t)cap * sizeof(*nv));
        if (!nv) {
            snprintf(errstr, errstr_size, "out of memory");
            return -1;
        }
        u->v = nv;
        u->cap = cap;
    }
    u->v[u->cnt++] = nu;
    return 0;
}

erps_users_t *erps_users_load(const char *path, char *errstr,
                              size_t errstr_size) {
    erps_users_t *u = calloc(1, sizeof(*u));
    if (!u) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (read_fields("users", path, user_line, u, errstr, errstr_size))
        goto fail;
    /* Unknown names are checked against a hash made with the first user's
     * method and cost (bcrypt, SHA-crypt or a yescrypt of other strength
     * than ours), so they take as long as that user's wrong password. */
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    const char *h = cd && u->cnt ? crypt_rn("erpsync-no-such-user",
                                            u->v[0].hash, cd, sizeof(*cd))
                                 : NULL;
    if (h && h[0] != '*' && strlen(h) < sizeof(u->dummy_hash))
        memcpy(u->dummy_hash, h, strlen(h) + 1);
    free(cd);
    if (!u->dummy_hash[0] &&
        erps_password_hash("erpsync-no-such-user", u->dummy_hash,
                           sizeof(u->dummy_hash))) {
        snprintf(errstr, errstr_size, "password hashing is not available");
        goto fail;
    }
    return u;
fail:
    erps_users_destroy(u);
    return NULL;
}

int erps_users_find(const erps_users_t *u, const char *name,
                    erps_principal_t *who) {
    for (int i = 0; i < u->cnt; i++) {
        if (strcasecmp(u->v[i].p.name, name) == 0) {
            *who = u->v[i].p;
            return 0;
        }
    }
    return -1;
}

int erps_users_check_tenants(const erps_users_t *u, const erps_tenants_t *t,
                             char *errstr, size_t errstr_size) {
    for (int i = 0; i < u->cnt; i++) {
        erps_principal_t p = u->v[i].p;
        if (erps_tenants_engine(t, &p)) {
            snprintf(errstr, errstr_size,
                     "user %s belongs to tenant %s, which "
                     "the tenants file does not list",
                     p.name, p.tenant);
            return -1;
        }
    }
    return 0;
}

const char *erps_users_hash(const erps_users_t *u, const char *name) {
    for (int i = 0; i < u->cnt; i++)
        if (strcasecmp(u->v[i].p.name, name) == 0)
            return u->v[i].hash;
    return NULL;
}

typedef struct tenant {
    char name[ERPS_TENANT_MAX + 1];
    char engine_id[ERPS_ENGINE_ID_MAX + 1];
} tenant_t;

struct erps_tenants {
    int cnt, cap;
    tenant_t *v;
};

static int tenant_line(void *ctx, char **f, int n, char *errstr,
                       size_t errstr_size, const char *where) {
    erps_tenants_t *t = ctx;
    if (n != 2 || !erps_tenant_valid(f[0]) || !erps_engine_id_valid(f[1])) {
        snprintf(errstr, errstr_size, "%s: expected tenant:engine", where);
        return -1;
    }
    for (int i = 0; i < t->cnt; i++) {
        /* One engine per tenant, and no engine shared by two tenants:
         * otherwise one tenant's principals would reach another's engine. */
        if (strcmp(t->v[i].name, f[0]) == 0 ||
            strcmp(t->v[i].engine_id, f[1]) == 0) {
            snprintf(errstr, errstr_size,
                     "%s: tenant %s or engine %s is "
                     "already listed",
                     where, f[0], f[1]);
            return -1;
        }
    }
    if (t->cnt == t->cap) {
        int cap = t->cap ? t->cap * 2 : 16;
        tenant_t *nv = realloc(t->v, (size_t)cap * sizeof(*nv));
        if (!nv) {
            snprintf(errstr, errstr_size, "out of memory");
            return -1;
        }
        t->v = nv;
        t->cap = cap;
    }
    erps_strlcpy(t->v[t->cnt].name, f[0], sizeof(t->v[0].name));
    erps_strlcpy(t->v[t->cnt].engine_id, f[1], sizeof(t->v[0].engine_id));
    t->cnt++;
    return 0;
}

erps_tenants_t *erps_tenants_load(const char *path, char *errstr,
                                  size_t errstr_size) {
    erps_tenants_t *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (read_fields("tenants", path, tenant_line, t, errstr, errstr_size)) {
        erps_tenants_destroy(t);
        return NULL;
    }
    return t;
}

void erps_tenants_destroy(erps_tenants_t *t) {
    if (!t)
        return;
    free(t->v);
    free(t);
}

int erps_tenants_count(const erps_tenants_t *t) {
    return t->cnt;
}

int erps_tenants_engine(const erps_tenants_t *t, erps_principal_t *who) {
    for (int i = 0; i < t->cnt; i++) {
        if (strcmp(t->v[i].name, who->tenant) == 0) {
            erps_strlcpy(who->engine_id, t->v[i].engine_id,
                         sizeof(who->engine_id));
            return 0;
        }
    }
    who->engine_id[0] = '\0';
    return -1;
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

int erps_users_count(const erps_users_t *u) {
    return u->cnt;
}

int erps_users_verify(const erps_users_t *u, const char *name,
                      const char *password, erps_principal_t *who) {
    const user_t *found = NULL;
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    int ok = 0;

    if (!cd)
        return -1;
    for (int i = 0; i < u->cnt; i++)
        if (strcasecmp(u->v[i].p.name, name) == 0)
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

/* Standard base64 of p[0..len) (padding only at the end, at most two)
 * into out. @returns the byte count, or -1. */
static long b64_decode(const char *p, size_t len, unsigned char *out,
                       size_t out_size) {
    size_t n = 0, pad = 0;
    unsigned acc = 0;
    int bits = 0;
    if (len == 0 || len % 4 != 0 || len / 4 * 3 > out_size)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int v = p[i] == '=' ? -2 : erps_b64_value((unsigned char)p[i], 0);
        if (v == -2) {
            pad++;
            continue;
        }
        if (v < 0 || pad)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return pad > 2 ? -1 : (long)n;
}

int erps_basic_parse(const char *header, char *name, size_t name_size,
                     char *password, size_t password_size) {
    unsigned char out[768];
    int rc = -1;
    if (strncasecmp(header, "Basic", 5) != 0 || header[5] != ' ')
        return -1;
    const char *p = header + 6;
    while (*p == ' ')
        p++;
    size_t len = strlen(p);
    while (len > 0 && p[len - 1] == ' ')
        len--;
    long got = b64_decode(p, len, out, sizeof(out));
    size_t n = got < 0 ? 0 : (size_t)got;
    char *colon = got < 0 ? NULL : memchr(out, ':', n);
    if (colon && !memchr(out, '\0', n)) {
        size_t nl = (size_t)(colon - (char *)out), pl = n - nl - 1;
        if (nl > 0 && nl < name_size && pl < password_size) {
            memcpy(name, out, nl);
            name[nl] = '\0';
            memcpy(password, colon + 1, pl);
            password[pl] = '\0';
            rc = 0;
        }
    }
    /* What was decoded, even of a bad header, is part of a password. */
    explicit_bzero(out, sizeof(out));
    return rc;
}
