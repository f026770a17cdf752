/*
 * fuzz_basic_auth - erps_basic_parse on the Authorization header value (the
 * input, NUL-terminated), into exact-size buffers as big as the shim's and
 * into small ones. Credentials that parse must survive a round trip through
 * base64 and parse to the same name and password.
 */
#include "auth.h"
#include "fuzz_common.h"

static void b64(const char *in, size_t n, char *out) {
    static const char t[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        *out++ = t[s[i] >> 2];
        *out++ = t[(s[i] & 3) << 4 | s[i + 1] >> 4];
        *out++ = t[(s[i + 1] & 15) << 2 | s[i + 2] >> 6];
        *out++ = t[s[i + 2] & 63];
    }
    if (i + 1 == n) {
        *out++ = t[s[i] >> 2];
        *out++ = t[(s[i] & 3) << 4];
        *out++ = '=';
        *out++ = '=';
    } else if (i + 2 == n) {
        *out++ = t[s[i] >> 2];
        *out++ = t[(s[i] & 3) << 4 | s[i + 1] >> 4];
        *out++ = t[(s[i + 1] & 15) << 2];
        *out++ = '=';
    }
    *out = '\0';
}

static void one(const char *header, size_t name_size, size_t pw_size) {
    char *name = malloc(name_size), *pw = malloc(pw_size);
    if (!name || !pw)
        abort();
    if (erps_basic_parse(header, name, name_size, pw, pw_size) == 0) {
        size_t nl = strnlen(name, name_size), pl = strnlen(pw, pw_size);
        FUZZ_CHECK(nl > 0 && nl < name_size, "name length %zu of %zu", nl,
                   name_size);
        FUZZ_CHECK(pl < pw_size, "password length %zu of %zu", pl, pw_size);
        FUZZ_CHECK(!strchr(name, ':'), "name \"%s\" holds a colon", name);

        /* "Basic " + base64(name ":" password) parses to the same. */
        size_t cl = nl + 1 + pl;
        char *cred = malloc(cl + 1), *hdr = malloc(6 + (cl + 2) / 3 * 4 + 1);
        char *name2 = malloc(name_size), *pw2 = malloc(pw_size);
        if (!cred || !hdr || !name2 || !pw2)
            abort();
        memcpy(cred, name, nl);
        cred[nl] = ':';
        memcpy(cred + nl + 1, pw, pl + 1);
        memcpy(hdr, "Basic ", 6);
        b64(cred, cl, hdr + 6);
        FUZZ_CHECK(erps_basic_parse(hdr, name2, name_size, pw2, pw_size) == 0,
                   "re-encoded \"%s\" does not parse", hdr);
        FUZZ_CHECK(strcmp(name, name2) == 0 && strcmp(pw, pw2) == 0,
                   "\"%s\" parses differently", hdr);
        free(pw2);
        free(name2);
        free(hdr);
        free(cred);
    }
    free(pw);
    free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *header = fuzz_cstr(data, size);
    one(header, ERPS_PRINCIPAL_MAX + 1, 512); /* shim/server.c */
    one(header, 8, 8);
    free(header);
    return 0;
}
