/*
 * secret.h - what the token kinds of shim/login/ share, and nothing outside
 * it may include: hashes and MACs (OpenSSL libcrypto), base64url and hex,
 * key and list files read with a size cap, and wiping secrets on free.
 *
 *   login.c      request headers into a principal, or a refusal
 *   jwt.c        Bearer JWTs (libjwt; HS256, RS256)
 *   tickets.c    SOTickets from a file shared by every shim
 *   session.c    session cookies with their X-XSRF-TOKEN; Cookie headers
 *   apptokens.c  SO-AppTokens (restricted mode)
 *   secret.c     these helpers
 *
 * Every comparison of a secret-derived value is CRYPTO_memcmp, so response
 * times do not tell how much of a guess matched.
 */
#ifndef ERPSYNC_SHIM_LOGIN_SECRET_H
#define ERPSYNC_SHIM_LOGIN_SECRET_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define SHA256_LEN   32
#define KEY_FILE_MAX (64 * 1024)
/* Tickets are appended for every login and never removed by the shim, so
 * the file may grow big before an operator compacts it. */
#define LIST_FILE_MAX (64 * 1024 * 1024)
#define LINE_MAX_LEN  1024
/* Tickets and app tokens are short; longer text cannot be one, and is not
 * worth hashing. */
#define SECRET_TEXT_MAX 1024
/* Characters of the unpadded base64url text of n bytes. */
#define B64URL_LEN(n) (((n)*4 + 2) / 3)

void secret_b64url_encode(const unsigned char *in, size_t n, char *out);
long secret_b64url_decode(const char *in, size_t n, unsigned char *out);
/* One base64url segment holding a JSON object, or NULL. */
cJSON *secret_segment_json(const char *seg, size_t n);
int secret_sha256(const void *data, size_t n, unsigned char out[SHA256_LEN]);
int secret_hmac_sha256(const unsigned char *key, size_t key_len,
                       const char *const *parts, int nparts,
                       unsigned char out[SHA256_LEN]);
int secret_hex_decode(const char *s, unsigned char *out, size_t n);
void secret_hex_encode(const unsigned char *in, size_t n, char *out);

/* 1..max bytes, none a control character. */
int secret_text_ok(const char *s, size_t max);
char *secret_strdup(const char *s);
/* Zeroes n bytes of p, then frees it. */
void secret_free(char *p, size_t n);

/* A whole file or descriptor, at most max bytes (NUL-terminated copy, the
 * caller frees it); errstr names what and path. */
int secret_read_fd(int fd, const char *what, const char *path, size_t max,
                   char **buf, size_t *len, char *errstr, size_t errstr_size);
int secret_read_path(const char *what, const char *path, size_t max, char **buf,
                     size_t *len, char *errstr, size_t errstr_size);

/* Line files (tickets, app tokens): fn for each line that is not empty or a
 * comment. @returns 0, or the 1-based number of the bad line. */
int secret_each_line(const char *text, size_t len,
                     int (*fn)(void *ctx, char *line), void *ctx);
/* Room for one more of cnt items of sz bytes in v (doubling), or NULL. */
void *secret_grow(void *v, size_t cnt, size_t *cap, size_t sz);

#endif
