/*
 * body_int.h - what the files of the body module share, and nothing outside
 * shim/body/ may include: the error carrier, text helpers, name sets, the
 * body as UTF-8 text, and each decoder's entry.
 *
 *   decode.c     erps_body_decode: picks the decoder by content type
 *   text.c       errors, UTF-8 and byte buffers, name sets, charsets
 *   json.c       strict JSON (RFC 8259), depth and name checks, equality
 *   patch.c      JSON patch (RFC 6902, pointers RFC 6901), merge patch (RFC
 * 7396) form.c       application/x-www-form-urlencoded xml_name.c   .NET
 * XmlConvert name escapes, what XML 1.0 can hold xml_read.c   XML bodies
 * (libxml2, no DTD) into cJSON xml_write.c  erps_xml_encode: DataContract XML
 * answers
 *
 * The module may call erpsync/util.h, cJSON, libxml2 and iconv; nothing in
 * it knows HTTP, Kafka or the WebAPI's methods.
 */
#ifndef ERPSYNC_SHIM_BODY_INT_H
#define ERPSYNC_SHIM_BODY_INT_H

#include <iconv.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "../body.h"

/* ---- errors (text.c) ---- */

/* Where a decoder puts its refusal: the HTTP status and the message. */
typedef struct berr {
    int status;
    char *buf;
    size_t size;
} berr_t;

#define CLIP_MAX 64

/* Cuts a message before a character snprintf cut in half. */
void body_utf8_cut_tail(char *s);
__attribute__((format(printf, 3, 4))) void body_fail(berr_t *e, int status,
                                                     const char *fmt, ...);
void body_fail_oom(berr_t *e);
/* At most CLIP_MAX bytes of s for a message, "..." when cut. */
const char *body_clip(const char *s, char out[CLIP_MAX + 4]);

/* ---- strings (text.c) ---- */

static inline int ascii_lower(int c) {
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}
static inline int is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}

size_t body_utf8_invalid_at(const char *p, size_t n);
int body_ci_eq(const char *a, const char *b);
/* %XX digits: 0-15, or -1. */
int body_hexval(unsigned char c);

/* A growable byte buffer; oom latches so callers check once at the end. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf_t;

void body_sb_put(sbuf_t *b, const void *s, size_t n);
void body_sb_putc(sbuf_t *b, char c);
void body_sb_utf8(sbuf_t *b, long cp);
char *body_sb_take(sbuf_t *b);

/* ---- case-insensitive name sets (text.c) ---- */

/* Hashing keeps a body with many members linear; comparing each new name
 * with all before it would be quadratic in the body size. */
typedef struct nsent {
    const char *key; /* NULL: free slot; a tombstone: deleted */
    cJSON *item;
} nsent_t;

typedef struct nameset {
    nsent_t *v;
    size_t cap, used; /* used counts tombstones too */
} nameset_t;

void body_nameset_free(nameset_t *s);
nsent_t *body_nameset_find(const nameset_t *s, const char *key);
int body_nameset_add(nameset_t *s, const char *key, cJSON *item);
/* Marks an entry deleted: later lookups of its name find nothing. */
void body_nameset_forget(nsent_t *ent);

/* ---- charsets and the body as text (text.c) ---- */

/* The body as UTF-8 text. */
typedef struct text {
    const char *p;
    size_t n;
    char *owned;
    size_t skipped; /* BOM bytes skipped, for offsets in messages */
    int converted;  /* offsets are in the converted text */
} text_t;

int body_cs_is_utf8(const char *cs);
int body_cs_is_unicode(const char *cs);
iconv_t body_cs_open(const char *cs, berr_t *e);
char *body_cs_convert(iconv_t cd, const char *in, size_t n, size_t *outn,
                      size_t *bad);
const char *body_where_note(const text_t *t);
int body_text_from_body(const char *cs, const char *body, size_t len, text_t *t,
                        berr_t *e);

/* ---- JSON (json.c) ---- */

#define CHECK_NAMES 1 /* no empty names, no names equal but for case */

cJSON *body_json_parse(const text_t *t, berr_t *e);
int body_json_check(const cJSON *v, int depth, int flags, const char *where,
                    berr_t *e);
int body_json_depth(const cJSON *v, int cap);
void body_json_size(const cJSON *v, size_t *nodes, size_t *bytes);
int body_set_name(cJSON *item, const char *name);
int body_json_equal(const cJSON *a, const cJSON *b);

/* ---- patches (patch.c) ---- */

cJSON *body_dup_base(const cJSON *base, berr_t *e);
cJSON *body_json_patch(const cJSON *ops, const cJSON *base, berr_t *e);
int body_merge_into(cJSON *target, const cJSON *patch, berr_t *e);

/* ---- forms (form.c) and XML (xml_*.c) ---- */

cJSON *body_decode_form(const char *cs, const char *body, size_t len,
                        berr_t *e);
cJSON *body_decode_xml(const char *cs, const char *body, size_t len, berr_t *e);
char *body_xml_name_encode(const char *name);
char *body_xml_name_decode(const char *name);
const char *body_xml_clean(const char *s, char **owned);

#endif
