/*
 * negotiate.c - Content-Type, Accept, languages and $select. See negotiate.h.
 *
 * Header text is read as bytes with ASCII rules only: the process locale
 * must not change what a header means, and tolower() of a byte above 0x7F
 * depends on it.
 */
#include "negotiate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "erpsync/util.h"

/* Past these, a list header is not read further (no error). */
#define LIST_MAX_BYTES 4096
#define LIST_MAX_ELEMS 64

#define SUPPORTED_CTYPES                                                       \
    "application/json, text/json, application/xml, text/xml, "                 \
    "application/x-www-form-urlencoded, application/json-patch+json, "         \
    "application/merge-patch+json"

/* ---- ASCII helpers ---- */

/* RFC 9110 tchar. */
static int is_tchar(int c) {
    return is_alpha(c) || is_digit(c) ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* qdtext and the second byte of a quoted-pair (HTAB, SP, VCHAR, obs-text). */
static int is_qchar(int c) {
    return c == '\t' || (c >= 0x20 && c != 0x7F);
}

static const char *skip_ows(const char *p, const char *end) {
    while (p < end && is_ows((unsigned char)*p))
        p++;
    return p;
}

static const char *scan_token(const char *p, const char *end) {
    while (p < end && is_tchar((unsigned char)*p))
        p++;
    return p;
}

/* p is at the opening quote. @returns the byte after the closing quote, or
 * NULL when the string is not terminated or holds a control character. */
static const char *scan_quoted(const char *p, const char *end) {
    for (p++; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c == '\\') {
            if (++p == end || !is_qchar((unsigned char)*p))
                return NULL;
        } else if (!is_qchar(c)) {
            return NULL;
        }
    }
    return NULL;
}

/* ---- media types and parameters (shared by Content-Type and Accept) ---- */

typedef struct param {
    const char *name,
        *val; /* val: raw, without the quotes of a quoted-string */
    size_t name_len, val_len;
    int quoted;
} param_t;

typedef enum { PARAM_END, PARAM_OK, PARAM_BAD } param_rc_t;

/*
 * Reads the next parameter at *pp: OWS ";" OWS [ name "=" value ]. Empty
 * parameters are skipped. On PARAM_BAD, *pp points at the offending byte and
 * *what says what was expected there.
 */
static param_rc_t next_param(const char **pp, const char *end, param_t *prm,
                             const char **what) {
    const char *p = *pp;
    for (;;) {
        p = skip_ows(p, end);
        if (p == end) {
            *pp = p;
            return PARAM_END;
        }
        if (*p != ';') {
            *pp = p;
            *what = "unexpected character";
            return PARAM_BAD;
        }
        p = skip_ows(p + 1, end);
        if (p == end || *p == ';')
            continue; /* an empty parameter */
        const char *n = p;
        p = scan_token(p, end);
        if (p == n) {
            *pp = p;
            *what = "expected a parameter name";
            return PARAM_BAD;
        }
        if (p == end || *p != '=') {
            *pp = p;
            *what = "expected '=' after the parameter name";
            return PARAM_BAD;
        }
        prm->name = n;
        prm->name_len = (size_t)(p - n);
        p++;
        if (p < end && *p == '"') {
            const char *q = scan_quoted(p, end);
            if (!q) {
                *pp = p;
                *what = "unterminated or invalid quoted string";
                return PARAM_BAD;
            }
            prm->val = p + 1;
            prm->val_len = (size_t)(q - p - 2);
            prm->quoted = 1;
            p = q;
        } else {
            const char *v = p;
            p = scan_token(p, end);
            if (p == v) {
                *pp = p;
                *what = "expected a parameter value";
                return PARAM_BAD;
            }
            prm->val = v;
            prm->val_len = (size_t)(p - v);
            prm->quoted = 0;
        }
        *pp = p;
        return PARAM_OK;
    }
}

/* Reads type "/" subtype at *pp. @returns 0, or -1 with *pp at the fault. */
static int scan_media(const char **pp, const char *end, const char **type,
                      size_t *type_len, const char **sub, size_t *sub_len) {
    const char *p = *pp, *t = scan_token(p, end);
    if (t == p || t == end || *t != '/') {
        *pp = t;
        return -1;
    }
    const char *s = scan_token(t + 1, end);
    if (s == t + 1) {
        *pp = s;
        return -1;
    }
    *type = p;
    *type_len = (size_t)(t - p);
    *sub = t + 1;
    *sub_len = (size_t)(s - t - 1);
    *pp = s;
    return 0;
}

/* The length of a parameter value once quoted-pairs are undone. */
static size_t unquoted_len(const param_t *prm) {
    size_t n = 0;
    for (size_t i = 0; i < prm->val_len; i++, n++)
        if (prm->quoted && prm->val[i] == '\\')
            i++;
    return n;
}

/* Copies a parameter value, quoted-pairs undone and lower-cased; out must
 * hold unquoted_len() + 1 bytes. */
static void unquote_lower(const param_t *prm, char *out) {
    size_t n = 0;
    for (size_t i = 0; i < prm->val_len; i++) {
        if (prm->quoted && prm->val[i] == '\\')
            i++;
        out[n++] = (char)lower((unsigned char)prm->val[i]);
    }
    out[n] = '\0';
}

/*
 * qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), as
 * thousandths. @returns 0, or -1 when malformed.
 */
static int parse_qvalue(const param_t *prm, int *q) {
    const char *v = prm->val;
    size_t n = prm->val_len;
    if (prm->quoted || n == 0 || n > 5 || (v[0] != '0' && v[0] != '1'))
        return -1;
    if (n > 1 && v[1] != '.')
        return -1;
    int milli = (v[0] - '0') * 1000, scale = 100;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (!is_digit((unsigned char)v[i]))
            return -1;
        milli += (v[i] - '0') * scale;
    }
    if (milli > 1000)
        return -1;
    *q = milli;
    return 0;
}

/* ---- Content-Type ---- */

static const struct {
    const char *name;
    erps_media_t media;
} media_types[] = {
    {"application/json", ERPS_MEDIA_JSON},
    {"text/json", ERPS_MEDIA_JSON},
    {"application/xml", ERPS_MEDIA_XML},
    {"text/xml", ERPS_MEDIA_XML},
    {"application/x-www-form-urlencoded", ERPS_MEDIA_FORM},
    {"application/json-patch+json", ERPS_MEDIA_JSON_PATCH},
    {"application/merge-patch+json", ERPS_MEDIA_MERGE_PATCH},
};

static int ctype_malformed(const char *value, const char *at, const char *what,
                           char *errstr, size_t errstr_size) {
    snprintf(errstr, errstr_size,
             "Content-Type is malformed: %s at position %zu; "
             "supported: " SUPPORTED_CTYPES,
             what, (size_t)(at - value) + 1);
    return 415;
}

/* The charset parameter into ct->charset, lower-cased. Charset names are
 * printable ASCII without blanks (RFC 2978); a quoted-string could carry
 * more, and callers print the name. @returns 0 or 415 with errstr. */
static int ctype_charset(const param_t *charset, erps_ctype_t *ct, char *errstr,
                         size_t errstr_size) {
    size_t n = unquoted_len(charset);
    const char *bad = n == 0 ? "is empty"
                      : n >= sizeof(ct->charset)
                          ? "is longer than 39 characters"
                          : NULL;
    if (!bad) {
        unquote_lower(charset, ct->charset);
        for (size_t i = 0; i < n && !bad; i++) {
            unsigned char c = (unsigned char)ct->charset[i];
            if (c <= 0x20 || c >= 0x7F)
                bad = "is not a charset name (blank or non-ASCII character)";
        }
    }
    if (!bad)
        return 0;
    memset(ct, 0, sizeof(*ct));
    snprintf(errstr, errstr_size,
             "Content-Type charset %s; supported: " SUPPORTED_CTYPES, bad);
    return 415;
}

/* The parameters: only charset counts, and only once. @returns 0 with
 * *charset (name NULL when absent), or 415 with errstr. */
static int ctype_params(const char *value, const char **p, const char *end,
                        param_t *charset, char *errstr, size_t errstr_size) {
    param_t prm;
    const char *what = NULL;
    param_rc_t rc;
    memset(charset, 0, sizeof(*charset));
    while ((rc = next_param(p, end, &prm, &what)) == PARAM_OK) {
        if (!eq_nc(prm.name, prm.name_len, "charset"))
            continue;
        if (charset->name)
            return ctype_malformed(value, prm.name, "charset given twice",
                                   errstr, errstr_size);
        *charset = prm;
    }
    return rc == PARAM_BAD
               ? ctype_malformed(value, *p, what, errstr, errstr_size)
               : 0;
}

int erps_ctype_parse(const char *value, erps_ctype_t *ct, char *errstr,
                     size_t errstr_size) {
    memset(ct, 0, sizeof(*ct));
    const char *end = value ? value + strlen(value) : NULL;
    const char *p = value ? skip_ows(value, end) : NULL;
    while (value && end > p && is_ows((unsigned char)end[-1]))
        end--;
    if (!value || p == end) {
        snprintf(errstr, errstr_size,
                 "Content-Type is missing; supported: " SUPPORTED_CTYPES);
        return 415;
    }
    const char *type, *sub;
    size_t type_len, sub_len;
    param_t charset;
    if (scan_media(&p, end, &type, &type_len, &sub, &sub_len) < 0)
        return ctype_malformed(value, p, "expected type/subtype", errstr,
                               errstr_size);
    int code = ctype_params(value, &p, end, &charset, errstr, errstr_size);
    if (code)
        return code;
    /* Media type: both halves are tokens, so safe to echo. */
    size_t mlen = type_len + 1 + sub_len;
    for (size_t i = 0; i < sizeof(media_types) / sizeof(media_types[0]); i++)
        if (eq_nc(type, mlen, media_types[i].name))
            ct->media = media_types[i].media;
    if (!ct->media) {
        snprintf(errstr, errstr_size,
                 "Content-Type \"%.*s\" is not supported; "
                 "supported: " SUPPORTED_CTYPES,
                 (int)(mlen > 100 ? 100 : mlen), type);
        return 415;
    }
    return charset.name ? ctype_charset(&charset, ct, errstr, errstr_size) : 0;
}

/* ---- lists (Accept, Accept-Language) ---- */

typedef struct list_iter {
    const char *base, *p, *end;
    int cut;   /* the header is longer than LIST_MAX_BYTES */
    int count; /* non-empty elements handed out */
} list_iter_t;

static void list_init(list_iter_t *it, const char *s) {
    size_t n = strnlen(s, LIST_MAX_BYTES + 1);
    it->base = s;
    it->p = s;
    it->cut = n > LIST_MAX_BYTES;
    it->end = s + (it->cut ? LIST_MAX_BYTES : n);
    it->count = 0;
}

/*
 * The next non-empty element, without surrounding OWS, into [*b, *e).
 * Commas inside quoted strings do not split. @returns 0 past the last
 * element, the element limit, or at an element the byte limit cut short.
 */
/* The next comma not inside a quoted-string, from p: its place, or end. */
static const char *next_comma(const char *p, const char *end) {
    int in_quote = 0;
    for (; p < end; p++) {
        if (in_quote && *p == '\\' && p + 1 < end)
            p++;
        else if (*p == '"')
            in_quote = !in_quote;
        else if (*p == ',' && !in_quote)
            break;
    }
    return p;
}

static int list_next(list_iter_t *it, const char **b, const char **e) {
    while (it->p < it->end) {
        const char *p = next_comma(it->p, it->end);
        int hit_comma = p < it->end;
        const char *eb = it->p, *ee = p;
        it->p = hit_comma ? p + 1 : it->end;
        /* The element runs on past the limit: half an element could mean
         * something else ("q=0.8" cut to "q=0"). */
        if (!hit_comma && it->cut && it->base[LIST_MAX_BYTES] != ',')
            return 0;
        eb = skip_ows(eb, ee);
        while (ee > eb && is_ows((unsigned char)ee[-1]))
            ee--;
        if (eb == ee)
            continue;
        if (++it->count > LIST_MAX_ELEMS)
            return 0;
        *b = eb;
        *e = ee;
        return 1;
    }
    return 0;
}

/* ---- Accept ---- */

static const struct {
    const char *type, *sub, *content_type;
    erps_format_t fmt;
} offers[] = {
    {"application", "json", "application/json; charset=utf-8", ERPS_FMT_JSON},
    {"text", "json", "text/json; charset=utf-8", ERPS_FMT_JSON},
    {"application", "xml", "application/xml; charset=utf-8", ERPS_FMT_XML},
    {"text", "xml", "text/xml; charset=utf-8", ERPS_FMT_XML},
};
#define N_OFFERS (sizeof(offers) / sizeof(offers[0]))

/* One Accept element: media-range and q. @returns 0, or -1 if malformed. */
static int parse_accept_elem(const char *p, const char *end, const char **type,
                             size_t *type_len, const char **sub,
                             size_t *sub_len, int *q) {
    if (scan_media(&p, end, type, type_len, sub, sub_len) < 0)
        return -1;
    if (eq_nc(*type, *type_len, "*") && !eq_nc(*sub, *sub_len, "*"))
        return -1; /* "*" + "/json" is no media-range */
    param_t prm;
    const char *what;
    param_rc_t rc;
    int have_q = 0;
    *q = 1000;
    while ((rc = next_param(&p, end, &prm, &what)) == PARAM_OK) {
        if (!eq_nc(prm.name, prm.name_len, "q"))
            continue;
        if (have_q || parse_qvalue(&prm, q) < 0)
            return -1;
        have_q = 1;
    }
    return rc == PARAM_BAD ? -1 : 0;
}

/* How closely a media range matches an offer: 3 exactly, 2 by a subtype
 * wildcard, 1 by any, 0 not at all. */
static int specificity(const char *type, size_t type_len, const char *sub,
                       size_t sub_len, size_t offer) {
    if (eq_nc(type, type_len, "*"))
        return 1;
    if (!eq_nc(type, type_len, offers[offer].type))
        return 0;
    if (eq_nc(sub, sub_len, "*"))
        return 2;
    return eq_nc(sub, sub_len, offers[offer].sub) ? 3 : 0;
}

/* Each offer's q from the most specific range that matches it (the highest
 * q among equally specific ones). @returns the ranges read. */
static int offer_qualities(const char *accept, int q[N_OFFERS]) {
    int spec[N_OFFERS] = {0}, valid = 0;
    list_iter_t it;
    const char *b, *e, *type, *sub;
    size_t type_len, sub_len;
    int eq;
    list_init(&it, accept);
    while (list_next(&it, &b, &e)) {
        if (parse_accept_elem(b, e, &type, &type_len, &sub, &sub_len, &eq) < 0)
            continue;
        valid++;
        for (size_t i = 0; i < N_OFFERS; i++) {
            int sp = specificity(type, type_len, sub, sub_len, i);
            if (sp > spec[i] || (sp && sp == spec[i] && eq > q[i])) {
                spec[i] = sp;
                q[i] = eq;
            }
        }
    }
    return valid;
}

int erps_accept_choose(const char *accept, erps_accept_t *out, char *errstr,
                       size_t errstr_size) {
    int q[N_OFFERS] = {0};
    out->fmt = ERPS_FMT_JSON;
    out->content_type = offers[0].content_type;
    /* Nothing readable is no preference at all, as for a missing header. */
    if (is_blank(accept) || offer_qualities(accept, q) == 0)
        return 0;
    size_t best = N_OFFERS;
    for (size_t i = 0; i < N_OFFERS; i++)
        if (q[i] > 0 && (best == N_OFFERS || q[i] > q[best]))
            best = i;
    if (best == N_OFFERS) {
        snprintf(errstr, errstr_size,
                 "Accept allows no format this server produces; it produces "
                 "application/json, text/json, application/xml and text/xml");
        return 406;
    }
    out->fmt = offers[best].fmt;
    out->content_type = offers[best].content_type;
    return 0;
}

/* ---- languages ---- */

/* language-range = ( 1*8ALPHA *( "-" 1*8alphanum ) ) / "*" */
static int is_lang_range(const char *p, size_t n) {
    if (n == 1 && p[0] == '*')
        return 1;
    size_t i = 0, run = 0;
    for (; i < n && is_alpha((unsigned char)p[i]); i++)
        if (++run > 8)
            return 0;
    if (run == 0)
        return 0;
    while (i < n) {
        if (p[i++] != '-')
            return 0;
        for (run = 0; i < n && p[i] != '-'; i++) {
            unsigned char c = (unsigned char)p[i];
            if ((!is_alpha(c) && !is_digit(c)) || ++run > 8)
                return 0;
        }
        if (run == 0)
            return 0;
    }
    return 1;
}

/* @returns the available code a tag (a valid language-range) matches, or
 * NULL. */
static const char *lang_match(const char *tag, size_t n,
                              const char *const *available, size_t n_avail) {
    const char *dash = memchr(tag, '-', n);
    size_t primary = dash ? (size_t)(dash - tag) : n;
    for (size_t i = 0; i < n_avail; i++)
        if (available[i] && eq_nc(tag, n, available[i]))
            return available[i];
    for (size_t i = 0; i < n_avail; i++)
        if (available[i] && eq_nc(tag, primary, available[i]))
            return available[i];
    /* Norwegian: "no" is the macrolanguage, "nn" the other written form;
     * both read Bokmål better than the fallback. */
    if (eq_nc(tag, primary, "no") || eq_nc(tag, primary, "nn"))
        for (size_t i = 0; i < n_avail; i++)
            if (available[i] && eq_nc("nb", 2, available[i]))
                return available[i];
    return NULL;
}

typedef struct lang_elem {
    const char *tag;
    size_t len;
    int q;
} lang_elem_t;

/* One Accept-Language element [b, e): a language range with an optional
 * weight (OWS ";" OWS "q=" qvalue, and nothing else). @returns 0 with *x,
 * or -1 to skip it. */
static int lang_elem(const char *b, const char *e, lang_elem_t *x) {
    const char *t = b, *what;
    param_t prm;
    while (t < e && !is_ows((unsigned char)*t) && *t != ';')
        t++;
    *x = (lang_elem_t){b, (size_t)(t - b), 1000};
    if (!is_lang_range(x->tag, x->len))
        return -1;
    param_rc_t rc = next_param(&t, e, &prm, &what);
    if (rc == PARAM_END)
        return 0;
    if (rc == PARAM_BAD || !eq_nc(prm.name, prm.name_len, "q") ||
        parse_qvalue(&prm, &x->q) < 0 ||
        next_param(&t, e, &prm, &what) != PARAM_END)
        return -1;
    return 0;
}

static const char *lang_from_list(const char *accept_language,
                                  const char *const *available, size_t n_avail,
                                  const char *fallback) {
    lang_elem_t el[LIST_MAX_ELEMS], x;
    size_t n = 0;
    list_iter_t it;
    const char *b, *e;
    list_init(&it, accept_language);
    while (list_next(&it, &b, &e)) {
        if (lang_elem(b, e, &x))
            continue;
        /* Insert after every element of equal or higher q: stable. */
        size_t at = n;
        while (at > 0 && el[at - 1].q < x.q) {
            el[at] = el[at - 1];
            at--;
        }
        el[at] = x;
        n++;
    }
    for (size_t i = 0; i < n && el[i].q > 0; i++) {
        if (el[i].len == 1 && el[i].tag[0] == '*')
            return fallback;
        const char *m = lang_match(el[i].tag, el[i].len, available, n_avail);
        if (m)
            return m;
    }
    return fallback;
}

void erps_lang_choose(const char *accept_language, const char *so_language,
                      const char *const *available, size_t n_available,
                      const char *fallback, char *out, size_t out_size) {
    const char *chosen;
    if (!fallback)
        fallback = "";
    if (!available)
        n_available = 0;
    if (!is_blank(so_language)) {
        const char *end = so_language + strnlen(so_language, LIST_MAX_BYTES);
        const char *b = skip_ows(so_language, end);
        while (end > b && is_ows((unsigned char)end[-1]))
            end--;
        size_t n = (size_t)(end - b);
        if (eq_nc(b, n, "*") || eq_nc(b, n, "x"))
            chosen = "x";
        else if (is_lang_range(b, n))
            chosen = lang_match(b, n, available, n_available);
        else
            chosen = NULL;
        if (!chosen)
            chosen = fallback;
    } else if (!is_blank(accept_language)) {
        chosen =
            lang_from_list(accept_language, available, n_available, fallback);
    } else {
        chosen = fallback;
    }
    if (out && out_size)
        erps_strlcpy(out, chosen, out_size);
}
