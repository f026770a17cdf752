/*
 * apptokens.c - SO-AppTokens: the applications restricted mode lets call
 * the ErpSync agent, by the SHA-256 of their token.
 */
#include "../tokens.h"
#include "../tokens_internal.h"
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "erpsync/util.h"

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
    if (len < 2 * SHA256_LEN || secret_hex_decode(line, t.hash, SHA256_LEN))
        return -1;
    if (len > 2 * SHA256_LEN) {
        const char *app = line + 2 * SHA256_LEN + 1;
        if (line[2 * SHA256_LEN] != ':' ||
            (*app && !secret_text_ok(app, ERPS_APP_NAME_MAX)))
            return -1;
        erps_strlcpy(t.app, app, sizeof(t.app));
    }
    apptoken_t *nv = secret_grow(a->v, a->cnt, &a->cap, sizeof(*nv));
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
    int bad = secret_each_line(text, len, apptoken_line, a);
    if (bad) {
        if (a->oom)
            snprintf(errstr, errstr_size, "out of memory");
        else
            snprintf(errstr, errstr_size,
                     "app tokens file %s:%d: expected "
                     "<sha256 hex>[:<app name>]",
                     origin, bad);
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
    if (secret_read_path("app tokens file", path, LIST_FILE_MAX, &buf, &len,
                         errstr, errstr_size))
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
        secret_sha256(token, strlen(token), h))
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
