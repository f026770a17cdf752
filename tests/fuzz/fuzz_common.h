/*
 * fuzz_common.h - helpers shared by the libFuzzer targets: the record framing
 * that turns fuzzer bytes into a Kafka record (key, headers, value), exact-size
 * copies so ASan sees every read past a field, and a loud check macro.
 *
 * Record framing (all integers big-endian):
 *
 *   u8 nhdr                    number of headers, clipped to ERPS_MSG_MAX_HDRS
 *   field key                  the record key
 *   nhdr x (field name, field value)
 *   value                      every byte left is the record value
 *
 *   field = u16 len, then len bytes. len 0xFFFF means "null" (a Kafka record
 *   without a key, a header without a value). A len past the end of the input
 *   is clipped to the bytes left, so every input is a valid record.
 *
 * Header names are handed over NUL-terminated (librdkafka does the same);
 * everything else is an exact-size heap copy with no terminator.
 */
#ifndef ERPSYNC_FUZZ_COMMON_H
#define ERPSYNC_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "erpsync/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_NULL_LEN 0xFFFFu

/* Aborts with a message: libFuzzer records the input as a crash. */
#define FUZZ_CHECK(cond, ...)                                                  \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__,   \
                    #cond);                                                    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* An exact-size copy (malloc(0) is fine under ASan: any read is reported). */
/* Round-trip checks: field f of a and b (in scope) must be equal. */
#define SAME_STR(f)                                                            \
    FUZZ_CHECK(strcmp(a->f, b->f) == 0, "%s: \"%s\" became \"%s\"", #f, a->f,  \
               b->f)
#define SAME_INT(f)                                                            \
    FUZZ_CHECK(a->f == b->f, "%s: %lld became %lld", #f, (long long)a->f,      \
               (long long)b->f)

static inline char *fuzz_dup(const uint8_t *p, size_t n) {
    char *d = malloc(n ? n : 1);
    if (!d)
        abort();
    if (n)
        memcpy(d, p, n);
    return d;
}

/* A NUL-terminated copy of the whole input. */
static inline char *fuzz_cstr(const uint8_t *p, size_t n) {
    char *d = malloc(n + 1);
    if (!d)
        abort();
    if (n)
        memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

typedef struct fuzz_record {
    erps_msg_t msg;
    char *owned[2 * ERPS_MSG_MAX_HDRS + 2];
    int nowned;
} fuzz_record_t;

typedef struct fuzz_reader {
    const uint8_t *p;
    size_t left;
} fuzz_reader_t;

/* Reads one field. @returns its bytes (NULL for a null field) and *len. */
static inline const uint8_t *fuzz_field(fuzz_reader_t *r, size_t *len,
                                        int *is_null) {
    unsigned n;
    *is_null = 0;
    *len = 0;
    if (r->left < 2) {
        r->p += r->left;
        r->left = 0;
        return r->p;
    }
    n = (unsigned)r->p[0] << 8 | r->p[1];
    r->p += 2;
    r->left -= 2;
    if (n == FUZZ_NULL_LEN) {
        *is_null = 1;
        return NULL;
    }
    if (n > r->left)
        n = (unsigned)r->left;
    const uint8_t *at = r->p;
    r->p += n;
    r->left -= n;
    *len = n;
    return at;
}

static inline char *fuzz_keep(fuzz_record_t *rec, char *p) {
    rec->owned[rec->nowned++] = p;
    return p;
}

/* Splits data into rec->msg as described at the top of this file. */
static inline void fuzz_record_split(const uint8_t *data, size_t size,
                                     fuzz_record_t *rec) {
    fuzz_reader_t r = {data, size};
    const uint8_t *f;
    size_t len;
    int is_null;

    memset(rec, 0, sizeof(*rec));
    if (size == 0)
        return;
    int nhdr = data[0];
    r.p++;
    r.left--;
    if (nhdr > ERPS_MSG_MAX_HDRS)
        nhdr = ERPS_MSG_MAX_HDRS;

    f = fuzz_field(&r, &len, &is_null);
    if (!is_null) {
        rec->msg.key = fuzz_keep(rec, fuzz_dup(f, len));
        rec->msg.key_len = len;
    }
    for (int i = 0; i < nhdr; i++) {
        erps_hdr_t *h = &rec->msg.hdrs[i];
        f = fuzz_field(&r, &len, &is_null);
        h->name = fuzz_keep(rec, fuzz_cstr(is_null ? NULL : f, len));
        f = fuzz_field(&r, &len, &is_null);
        if (!is_null) {
            h->value = fuzz_keep(rec, fuzz_dup(f, len));
            h->size = len;
        }
        rec->msg.hdr_cnt++;
    }
    rec->msg.value = fuzz_keep(rec, fuzz_dup(r.p, r.left));
    rec->msg.value_len = r.left;
}

static inline void fuzz_record_free(fuzz_record_t *rec) {
    for (int i = 0; i < rec->nowned; i++)
        free(rec->owned[i]);
    rec->nowned = 0;
}

/*
 * For parsers that take a path: one private directory and file per process,
 * made on first use and removed at exit; each input overwrites the file.
 */
static char fuzz_tmp_dir[4096], fuzz_tmp_path[4096 + 32];

static inline void fuzz_tmp_cleanup(void) {
    if (fuzz_tmp_path[0])
        unlink(fuzz_tmp_path);
    if (fuzz_tmp_dir[0])
        rmdir(fuzz_tmp_dir);
}

static inline const char *fuzz_tmp_write(const char *name, const uint8_t *data,
                                         size_t size) {
    if (!fuzz_tmp_path[0]) {
        const char *base = getenv("TMPDIR");
        /* mkdtemp wants the name to end in six 'X' characters. */
        int n = snprintf(fuzz_tmp_dir, sizeof(fuzz_tmp_dir) - 6,
                         "%s/erpsync-fuzz-", base && *base ? base : "/tmp");
        if (n < 0 || (size_t)n >= sizeof(fuzz_tmp_dir) - 6)
            abort();
        memset(fuzz_tmp_dir + n, 'X', 6);
        fuzz_tmp_dir[n + 6] = '\0';
        if (!mkdtemp(fuzz_tmp_dir)) {
            perror(fuzz_tmp_dir);
            abort();
        }
        snprintf(fuzz_tmp_path, sizeof(fuzz_tmp_path), "%s/%s", fuzz_tmp_dir,
                 name);
        atexit(fuzz_tmp_cleanup);
    }
    FILE *fp = fopen(fuzz_tmp_path, "wb");
    if (!fp) {
        perror(fuzz_tmp_path);
        abort();
    }
    int bad = size && fwrite(data, 1, size, fp) != size;
    if (fclose(fp) || bad) {
        perror(fuzz_tmp_path);
        abort();
    }
    return fuzz_tmp_path;
}

#endif
