/*
 * secret.c - hashes, MACs and encodings for the token kinds, files read with
 * a cap, and secrets wiped before they are freed (secret.h).
 */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "erpsync/util.h"
#include "../tokens.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Writes the unpadded base64url text of in and a NUL. */
void secret_b64url_encode(const unsigned char *in, size_t n, char *out) {
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        *out++ = b64url_alphabet[in[i] >> 2];
        *out++ = b64url_alphabet[(in[i] & 3) << 4 | in[i + 1] >> 4];
        *out++ = b64url_alphabet[(in[i + 1] & 15) << 2 | in[i + 2] >> 6];
        *out++ = b64url_alphabet[in[i + 2] & 63];
    }
    if (n - i == 1) {
        *out++ = b64url_alphabet[in[i] >> 2];
        *out++ = b64url_alphabet[(in[i] & 3) << 4];
    } else if (n - i == 2) {
        *out++ = b64url_alphabet[in[i] >> 2];
        *out++ = b64url_alphabet[(in[i] & 3) << 4 | in[i + 1] >> 4];
        *out++ = b64url_alphabet[(in[i + 1] & 15) << 2];
    }
    *out = '\0';
}

/*
 * Decodes unpadded base64url strictly: the URL alphabet only and the unused
 * low bits zero, so each byte string has exactly one text form. out holds
 * n * 3 / 4 bytes. @returns the byte count, or -1.
 */
long secret_b64url_decode(const char *in, size_t n, unsigned char *out) {
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;

    if (n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = erps_b64_value((unsigned char)in[i], 1);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
        acc &= (1u << bits) - 1;
    }
    if (acc != 0)
        return -1;
    return (long)o;
}

int secret_sha256(const void *data, size_t n, unsigned char out[SHA256_LEN]) {
    unsigned int len = 0;
    if (EVP_Digest(data, n, out, &len, EVP_sha256(), NULL) != 1 ||
        len != SHA256_LEN)
        return -1;
    return 0;
}

/* HMAC-SHA256 of the concatenation of nparts strings. */
int secret_hmac_sha256(const unsigned char *key, size_t key_len,
                       const char *const *parts, int nparts,
                       unsigned char out[SHA256_LEN]) {
    size_t total = 0, at = 0;
    unsigned int len = 0;
    int rc = -1;

    for (int i = 0; i < nparts; i++)
        total += strlen(parts[i]);
    unsigned char *msg = malloc(total ? total : 1);
    if (!msg)
        return -1;
    for (int i = 0; i < nparts; i++) {
        size_t l = strlen(parts[i]);
        memcpy(msg + at, parts[i], l);
        at += l;
    }
    if (key_len <= INT32_MAX &&
        HMAC(EVP_sha256(), key, (int)key_len, msg, total, out, &len) &&
        len == SHA256_LEN)
        rc = 0;
    free(msg);
    return rc;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes exactly 2 * n hex digits (either case). */
int secret_hex_decode(const char *s, unsigned char *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int hi = hexval((unsigned char)s[2 * i]);
        int lo = hi < 0 ? -1 : hexval((unsigned char)s[2 * i + 1]);
        if (lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

void secret_hex_encode(const unsigned char *in, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void erps_sha256_hex(const char *s, char out[65]) {
    unsigned char md[SHA256_LEN];
    if (secret_sha256(s, strlen(s), md)) {
        out[0] = '\0';
        return;
    }
    secret_hex_encode(md, SHA256_LEN, out);
}

/* 1..max bytes, none a control character. */
int secret_text_ok(const char *s, size_t max) {
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

int secret_read_fd(int fd, const char *what, const char *path, size_t max,
                   char **buf, size_t *len, char *errstr, size_t errstr_size) {
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);

    if (!b) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                snprintf(errstr, errstr_size, "%s %s is larger than %zu bytes",
                         what, path, max);
                goto fail;
            }
            size_t ncap = cap * 2;
            char *nb = realloc(b, ncap + 1);
            if (!nb) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
            }
            b = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(errstr, errstr_size, "%s %s: %s", what, path,
                     strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > max) {
        snprintf(errstr, errstr_size, "%s %s is larger than %zu bytes", what,
                 path, max);
        goto fail;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
fail:
    OPENSSL_cleanse(b, cap + 1);
    free(b);
    return -1;
}

/* Reads a whole file (NUL-terminated copy, caller frees). */
int secret_read_path(const char *what, const char *path, size_t max, char **buf,
                     size_t *len, char *errstr, size_t errstr_size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(errstr, errstr_size, "%s %s: %s", what, path, strerror(errno));
        return -1;
    }
    int rc = secret_read_fd(fd, what, path, max, buf, len, errstr, errstr_size);
    close(fd);
    return rc;
}

void secret_free(char *p, size_t n) {
    if (p) {
        OPENSSL_cleanse(p, n);
        free(p);
    }
}

char *secret_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ------------------------------------------------------------------ */
/* Line files: tickets and app tokens                                  */
/* ------------------------------------------------------------------ */

/*
 * Calls fn for each line of text that is not empty or a comment, with the
 * line NUL-terminated (CR LF endings accepted). Stops at the first line fn
 * refuses, or one holding a NUL or longer than LINE_MAX_LEN.
 * @returns 0, or the 1-based number of the bad line.
 */
int secret_each_line(const char *text, size_t len,
                     int (*fn)(void *ctx, char *line), void *ctx) {
    const char *p = text, *end = text + len;
    char line[LINE_MAX_LEN + 1];
    int lineno = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = (size_t)((nl ? nl : end) - p);
        const char *start = p;
        p = nl ? nl + 1 : end;
        lineno++;
        if (ll > 0 && start[ll - 1] == '\r')
            ll--;
        if (ll == 0 || start[0] == '#')
            continue;
        if (ll > LINE_MAX_LEN || memchr(start, '\0', ll))
            return lineno;
        memcpy(line, start, ll);
        line[ll] = '\0';
        if (fn(ctx, line))
            return lineno;
    }
    return 0;
}

/* Grows *v (elements of size sz) to hold one more. */
void *secret_grow(void *v, size_t cnt, size_t *cap, size_t sz) {
    if (cnt < *cap)
        return v;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *nv = realloc(v, ncap * sz);
    if (nv)
        *cap = ncap;
    return nv;
}

/* ---- JSON in base64url ---- */

/* Decodes one base64url segment holding a JSON object. */
cJSON *secret_segment_json(const char *seg, size_t n) {
    unsigned char *buf = malloc(n / 4 * 3 + 3);
    cJSON *o = NULL;

    if (!buf)
        return NULL;
    long len = secret_b64url_decode(seg, n, buf);
    /* cJSON stops at a NUL; text after one would go unread. */
    if (len > 0 && !memchr(buf, '\0', (size_t)len)) {
        const char *end = NULL;
        buf[len] = '\0';
        o = cJSON_ParseWithOpts((const char *)buf, &end, 1);
        if (o && !cJSON_IsObject(o)) {
            cJSON_Delete(o);
            o = NULL;
        }
    }
    free(buf);
    return o;
}
