/*
 * ascii.h - character classes of HTTP header and query text: ASCII only,
 * whatever the locale (ctype.h's answers change with it). Header-only, for
 * negotiate.c and select.c.
 */
#ifndef ERPSYNC_SHIM_ASCII_H
#define ERPSYNC_SHIM_ASCII_H

#include <stddef.h>

static inline int lower(int c) {
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static inline int is_alpha(int c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline int is_digit(int c) {
    return c >= '0' && c <= '9';
}

/* RFC 9110 optional white space: SP and HTAB. */
static inline int is_ows(int c) {
    return c == ' ' || c == '\t';
}

/* Case-insensitive equality of a counted string and a C string. */
static inline int eq_nc(const char *a, size_t alen, const char *b) {
    size_t i = 0;
    for (; i < alen && b[i]; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return i == alen && b[i] == '\0';
}

/* NULL, empty or only white space. */
static inline int is_blank(const char *s) {
    if (!s)
        return 1;
    while (is_ows((unsigned char)*s))
        s++;
    return *s == '\0';
}

#endif
