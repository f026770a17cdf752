/*
 * strhash.h - FNV-1a of a NUL-terminated string: the bucket of a command id
 * (waiters.c) or an engine id (view.c) in the shim's small hash tables.
 */
#ifndef ERPSYNC_SHIM_STRHASH_H
#define ERPSYNC_SHIM_STRHASH_H

static inline unsigned erps_strhash(const char *s) {
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

#endif
