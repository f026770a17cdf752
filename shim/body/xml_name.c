/*
 * xml_name.c - member names as XML element names and back, the way .NET's
 * XmlConvert escapes them (_xHHHH_), and text cleaned of what XML 1.0
 * cannot hold. Shared by the reader and the writer.
 */
#include "body_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "erpsync/util.h"

typedef struct {
    long lo, hi;
} range_t;

static int in_ranges(long c, const range_t *r, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (c >= r[i].lo && c <= r[i].hi)
            return 1;
    return 0;
}

/* NCName start characters: XML 1.0 fifth edition NameStartChar without
 * ':'. */
static int xml_name_start(long c) {
    static const range_t start[] = {
        {'A', 'Z'},       {'a', 'z'},       {'_', '_'},
        {0xC0, 0xD6},     {0xD8, 0xF6},     {0xF8, 0x2FF},
        {0x370, 0x37D},   {0x37F, 0x1FFF},  {0x200C, 0x200D},
        {0x2070, 0x218F}, {0x2C00, 0x2FEF}, {0x3001, 0xD7FF},
        {0xF900, 0xFDCF}, {0xFDF0, 0xFFFD}, {0x10000, 0xEFFFF},
    };
    return in_ranges(c, start, sizeof(start) / sizeof(start[0]));
}

/* NCName characters: XML 1.0 fifth edition NameChar without ':'. */
static int xml_name_char(long c) {
    static const range_t more[] = {
        {'-', '.'}, {'0', '9'}, {0xB7, 0xB7}, {0x300, 0x36F}, {0x203F, 0x2040},
    };
    return xml_name_start(c) ||
           in_ranges(c, more, sizeof(more) / sizeof(more[0]));
}

/* Length of an escape "_xHHHH_" or "_xHHHHHHHH_" at s (0 if none) and its
 * code point (-1 when it names none, e.g. _x0000_). s is NUL-terminated. */
static size_t name_escape_at(const char *s, long *cp) {
    size_t h = 0;
    long v = 0;
    *cp = -1;
    if (s[0] != '_' || s[1] != 'x')
        return 0;
    while (h < 8 && body_hexval((unsigned char)s[2 + h]) >= 0) {
        v = v << 4 | body_hexval((unsigned char)s[2 + h]);
        h++;
    }
    if ((h != 4 && h != 8) || s[2 + h] != '_')
        return 0;
    if (v > 0 && v <= 0x10FFFF && !(v >= 0xD800 && v <= 0xDFFF))
        *cp = v;
    return h + 3;
}

/* Could a "_" at s start an escape once what follows is written? "x" and
 * four hex digits are enough: the closing "_" may come from the escape of
 * the next character ("a_x0030\"" must not become "a_x0030_x0022_"). */
static int name_escape_prefix(const char *s) {
    if (s[0] != '_' || s[1] != 'x')
        return 0;
    for (int i = 2; i < 6; i++)
        if (body_hexval((unsigned char)s[i]) < 0)
            return 0;
    return 1;
}

/* Escapes what is not an NCName character as _xHHHH_ (_xHHHHHHHH_ above
 * U+FFFF), and a "_" that could read as an escape as _x005F_, as .NET's
 * XmlConvert.EncodeLocalName does; invalid UTF-8 becomes U+FFFD. */
char *body_xml_name_encode(const char *name) {
    const unsigned char *s = (const unsigned char *)name;
    size_t n = strlen(name), i = 0, l;
    sbuf_t b = {0};
    char esc[24];

    if (!n)
        body_sb_putc(&b, '_');
    while (i < n) {
        long cp = erps_utf8_decode(s + i, n - i, &l);
        if (cp < 0)
            cp = 0xFFFD;
        if (name_escape_prefix(name + i)) {
            body_sb_put(&b, "_x005F_", 7);
        } else if (i == 0 ? xml_name_start(cp) : xml_name_char(cp)) {
            body_sb_utf8(&b, cp);
        } else {
            if (cp <= 0xFFFF)
                snprintf(esc, sizeof(esc), "_x%04lX_", cp);
            else
                snprintf(esc, sizeof(esc), "_x%08lX_", cp);
            body_sb_put(&b, esc, strlen(esc));
        }
        i += l;
    }
    return body_sb_take(&b);
}

/* XmlConvert.DecodeName: _xHHHH_ and _xHHHHHHHH_ back to characters. */
char *body_xml_name_decode(const char *name) {
    sbuf_t b = {0};
    for (size_t i = 0; name[i];) {
        long cp;
        size_t l = name_escape_at(name + i, &cp);
        if (l && cp >= 0) {
            body_sb_utf8(&b, cp);
            i += l;
        } else {
            body_sb_putc(&b, name[i++]);
        }
    }
    return body_sb_take(&b);
}

/* ---- what XML 1.0 can hold ---- */

static int xml_char_ok(long cp) {
    return cp == 0x9 || cp == 0xA || cp == 0xD ||
           (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
           (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* s with what XML 1.0 cannot hold replaced by U+FFFD: s itself when clean,
 * else a copy in *owned. NULL when out of memory. */
const char *body_xml_clean(const char *s, char **owned) {
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, l;
    *owned = NULL;
    for (; i < n; i += l) {
        long cp = erps_utf8_decode(u + i, n - i, &l);
        if (cp < 0 || !xml_char_ok(cp))
            break;
    }
    if (i == n)
        return s;
    sbuf_t b = {0};
    body_sb_put(&b, s, i);
    for (; i < n; i += l) {
        long cp = erps_utf8_decode(u + i, n - i, &l);
        if (cp < 0 || !xml_char_ok(cp))
            body_sb_put(&b, "\xEF\xBF\xBD", 3);
        else
            body_sb_put(&b, s + i, l);
    }
    *owned = body_sb_take(&b);
    return *owned;
}
