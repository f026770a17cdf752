/*
 * jsonw.h - JSON text written member by member into one growing buffer,
 * byte for byte as cJSON prints the same tree (unformatted, or formatted
 * like cJSON_Print with pretty set), without building the tree: for the
 * texts a hot path writes (events, the agent's state file).
 *
 * A NULL name is an array element or the top value. Errors (out of memory,
 * over 16 levels, over 64 MiB) stick, and erps_jw_take() reports them.
 */
#ifndef ERPSYNC_JSONW_H
#define ERPSYNC_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct erps_jw {
    char *buf;
    size_t len, cap;
    int depth, failed, pretty;
    unsigned char first[16]; /* per open container: no member yet */
    unsigned char array[16]; /* per open container: an array */
} erps_jw_t;

/** Starts a text; pretty: as cJSON_Print() lays it out. */
void erps_jw_init(erps_jw_t *w, int pretty);
void erps_jw_object(erps_jw_t *w, const char *name);
void erps_jw_object_end(erps_jw_t *w);
void erps_jw_array(erps_jw_t *w, const char *name);
void erps_jw_array_end(erps_jw_t *w);
void erps_jw_string(erps_jw_t *w, const char *name, const char *value);
/** As cJSON prints the double: exact up to 15 digits. */
void erps_jw_int(erps_jw_t *w, const char *name, int64_t value);
void erps_jw_bool(erps_jw_t *w, const char *name, bool value);
void erps_jw_null(erps_jw_t *w, const char *name);
/**
 * The text (NUL-terminated, the caller frees it) and its length, or NULL
 * after an error or with a container still open (the buffer is freed).
 */
char *erps_jw_take(erps_jw_t *w, size_t *len);

#endif
