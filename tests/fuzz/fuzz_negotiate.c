/*
 * fuzz_negotiate - the input split at its first three NUL or newline bytes
 * into Content-Type, Accept, Accept-Language and $select text (missing parts
 * are NULL), each an exact-size NUL-terminated copy:
 *
 *   erps_ctype_parse     result within bounds (charset lower-case printable
 *                        ASCII); what parses still parses the same with
 *                        blanks around it and an empty parameter, and as
 *                        "type/subtype; charset=<charset>"
 *   erps_accept_choose   0 with one of the four content types, or 406
 *   erps_lang_choose     the third part as Accept-Language, as SO-Language,
 *                        and split at '|' as both: the answer is always one
 *                        of the available codes, the fallback or "x"
 *   erps_select_parse    accepts exactly what an independent reading of the
 *                        grammar accepts; erps_select_apply on a fixed
 *                        answer fails exactly when a path does not resolve,
 *                        and otherwise keeps every selected value as it
 *                        was and nulls every member off the selected paths
 */
#include "fuzz_common.h"
#include "negotiate.h"
#include "select.h"

#define MAX_PATHS    ERPS_SELECT_MAX_PATHS
#define MAX_DEPTH    ERPS_SELECT_MAX_DEPTH
#define NAME_MAX_LEN ERPS_SELECT_NAME_MAX

static const char answer[] =
    "{\"IsRunning\":true,\"StatusMessage\":\"Running\",\"Interval\":\"00:15:"
    "00\","
    "\"TableRight\":{\"Mask\":\"FULL\",\"Reason\":\"\"},"
    "\"FieldProperties\":{\"IsRunning\":{\"FieldRight\":{\"Mask\":\"FULL\","
    "\"Reason\":\"\"},\"FieldType\":\"System.Boolean\",\"FieldLength\":0},"
    "\"Interval\":{\"FieldRight\":{\"Mask\":\"Read\",\"Reason\":\"role\"},"
    "\"FieldType\":\"System.String\",\"FieldLength\":0}},"
    "\"Nothing\":null,\"List\":[1,{\"a\":2}],"
    "\"A\":{\"B\":{\"C\":{\"D\":{\"E\":{\"F\":{\"G\":{\"H\":1,\"I\":2}}}}}}}}";

static int lower(int c) {
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int eq_nc(const char *a, const char *b) {
    while (*a && lower((unsigned char)*a) == lower((unsigned char)*b))
        a++, b++;
    return lower((unsigned char)*a) == lower((unsigned char)*b);
}

/* ---- Content-Type ---- */

static const char *media_name(erps_media_t m) {
    switch (m) {
    case ERPS_MEDIA_JSON:
        return "application/json";
    case ERPS_MEDIA_XML:
        return "text/xml";
    case ERPS_MEDIA_FORM:
        return "application/x-www-form-urlencoded";
    case ERPS_MEDIA_JSON_PATCH:
        return "application/json-patch+json";
    case ERPS_MEDIA_MERGE_PATCH:
        return "application/merge-patch+json";
    }
    return NULL;
}

static int is_token(const char *s) {
    if (!*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c)))
            return 0;
    }
    return 1;
}

static void check_ctype(const char *value) {
    erps_ctype_t ct, again;
    char err[512] = "", err2[512] = "";
    int rc = erps_ctype_parse(value, &ct, err, sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == 415, "rc %d", rc);
    if (rc) {
        FUZZ_CHECK(strstr(err, "supported: application/json"),
                   "415 without the supported types: \"%s\"", err);
        return;
    }
    FUZZ_CHECK(media_name(ct.media), "media %d", (int)ct.media);
    size_t n = strnlen(ct.charset, sizeof(ct.charset));
    FUZZ_CHECK(n < sizeof(ct.charset), "charset not terminated");
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(ct.charset[i] > 0x20 && ct.charset[i] < 0x7F &&
                       !(ct.charset[i] >= 'A' && ct.charset[i] <= 'Z'),
                   "charset \"%s\" not lower-case printable ASCII", ct.charset);

    /* Blanks around it and an empty parameter change nothing. */
    size_t vl = strlen(value);
    char *padded = malloc(vl + 5);
    if (!padded)
        abort();
    memcpy(padded, " \t", 2);
    memcpy(padded + 2, value, vl);
    memcpy(padded + 2 + vl, " ;", 3);
    rc = erps_ctype_parse(padded, &again, err2, sizeof(err2));
    FUZZ_CHECK(rc == 0 && again.media == ct.media &&
                   strcmp(again.charset, ct.charset) == 0,
               "\"%s\" parses differently with blanks: %d %s", value, rc, err2);
    free(padded);

    /* The canonical form parses to the same (charset quoted when needed). */
    char canon[128];
    if (!ct.charset[0])
        snprintf(canon, sizeof(canon), "%s", media_name(ct.media));
    else if (is_token(ct.charset))
        snprintf(canon, sizeof(canon), "%s; charset=%s", media_name(ct.media),
                 ct.charset);
    else {
        size_t k = (size_t)snprintf(canon, sizeof(canon), "%s; charset=\"",
                                    media_name(ct.media));
        for (size_t i = 0; i < n; i++) {
            if (ct.charset[i] == '"' || ct.charset[i] == '\\')
                canon[k++] = '\\';
            canon[k++] = ct.charset[i];
        }
        canon[k++] = '"';
        canon[k] = '\0';
    }
    rc = erps_ctype_parse(canon, &again, err2, sizeof(err2));
    FUZZ_CHECK(rc == 0 && again.media == ct.media &&
                   strcmp(again.charset, ct.charset) == 0,
               "canonical \"%s\" of \"%s\": %d %s", canon, value, rc, err2);
}

/* ---- Accept ---- */

static void check_accept(const char *value) {
    static const char *const cts[] = {
        "application/json; charset=utf-8", "text/json; charset=utf-8",
        "application/xml; charset=utf-8", "text/xml; charset=utf-8"};
    erps_accept_t a;
    char err[256] = "";
    int rc = erps_accept_choose(value, &a, err, sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == 406, "rc %d", rc);
    if (rc) {
        FUZZ_CHECK(err[0], "406 without a message");
        return;
    }
    FUZZ_CHECK(a.content_type, "no content type");
    int i = 0;
    while (i < 4 && strcmp(a.content_type, cts[i]) != 0)
        i++;
    FUZZ_CHECK(i < 4, "content type \"%s\"", a.content_type);
    FUZZ_CHECK(a.fmt == (i < 2 ? ERPS_FMT_JSON : ERPS_FMT_XML),
               "%s with format %d", a.content_type, (int)a.fmt);
}

/* ---- languages ---- */

static void lang_one(const char *al, const char *so, const char *const *avail,
                     size_t n, const char *fallback) {
    char out[16];
    erps_lang_choose(al, so, avail, n, fallback, out, sizeof(out));
    int ok = strcmp(out, fallback) == 0 || strcmp(out, "x") == 0;
    for (size_t i = 0; i < n && !ok; i++)
        ok = avail[i] && strcmp(out, avail[i]) == 0;
    FUZZ_CHECK(ok, "chose \"%s\"", out);

    /* A buffer smaller than the code: truncated, never overrun. */
    char *small = malloc(2);
    if (!small)
        abort();
    erps_lang_choose(al, so, avail, n, fallback, small, 2);
    FUZZ_CHECK(strnlen(small, 2) < 2, "not terminated");
    free(small);
}

static void check_lang(const char *text) {
    static const char *const langs[] = {"en", "nb", "sv", "da",
                                        "de", "nl", "fr"};
    static const char *const odd[] = {"NB", NULL, "de-AT", "nn", "x-klingon"};
    lang_one(text, NULL, langs, 7, "en");
    lang_one(text, NULL, odd, 5, "zz");
    lang_one("nb, en;q=0.5", text, langs, 7, "en");
    lang_one(NULL, text, odd, 5, "zz");
    if (text) {
        char *bar = strchr(text, '|');
        if (bar) {
            *bar = '\0';
            lang_one(text, bar + 1, langs, 7, "en");
            lang_one(text, bar + 1, odd, 5, "zz");
            *bar = '|';
        }
    }
}

/* ---- $select ---- */

typedef struct ref_path {
    int depth;
    char name[MAX_DEPTH][NAME_MAX_LEN + 1];
} ref_path_t;

/* The $select grammar read independently of negotiate.c: split at ',' and
 * '/', trim blanks, check each name. @returns the count, or -1. */
static int ref_parse(const char *text, ref_path_t *paths) {
    const char *p = text;
    int n = 0;
    if (!text)
        return -1;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p)
        return -1;
    for (const char *seg = text;;) {
        const char *end = strchr(seg, ',');
        if (!end)
            end = seg + strlen(seg);
        if (n == MAX_PATHS)
            return -1;
        ref_path_t *rp = &paths[n++];
        rp->depth = 0;
        for (const char *nm = seg;;) {
            const char *ne = memchr(nm, '/', (size_t)(end - nm));
            if (!ne)
                ne = end;
            const char *b = nm, *e = ne;
            while (b < e && (*b == ' ' || *b == '\t'))
                b++;
            while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            size_t len = (size_t)(e - b);
            if (len == 0 || len > NAME_MAX_LEN || rp->depth == MAX_DEPTH)
                return -1;
            for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)b[i];
                int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            c == '_';
                if (!alpha && (i == 0 || !(c >= '0' && c <= '9')))
                    return -1;
            }
            memcpy(rp->name[rp->depth], b, len);
            rp->name[rp->depth++][len] = '\0';
            if (ne == end)
                break;
            nm = ne + 1;
        }
        if (!*end)
            return n;
        seg = end + 1;
    }
}

/* Whether a path resolves in the answer: each name a member, each member
 * on the way an object (or null, which ends the walk). */
static int ref_resolves(const cJSON *obj, const ref_path_t *rp) {
    for (int d = 0; d < rp->depth; d++) {
        const cJSON *c = obj->child;
        while (c && !eq_nc(c->string, rp->name[d]))
            c = c->next;
        if (!c)
            return 0;
        if (d + 1 == rp->depth || cJSON_IsNull(c))
            return 1;
        if (!cJSON_IsObject(c))
            return 0;
        obj = c;
    }
    return 1;
}

/* How the member at names[0..k] relates to the selection: 2 selected or
 * inside a selected value, 1 on the way to one, 0 neither. */
static int ref_status(const ref_path_t *paths, int n, const char **names,
                      int k) {
    int st = 0;
    for (int i = 0; i < n; i++) {
        int common = 0;
        while (common <= k && common < paths[i].depth &&
               eq_nc(names[common], paths[i].name[common]))
            common++;
        if (common == paths[i].depth)
            return 2;
        if (common == k + 1)
            st = 1;
    }
    return st;
}

static void ref_check(const cJSON *got, const cJSON *orig,
                      const ref_path_t *paths, int n, const char **names,
                      int k) {
    const cJSON *g = got->child, *o = orig->child;
    for (; g && o; g = g->next, o = o->next) {
        FUZZ_CHECK(strcmp(g->string, o->string) == 0,
                   "member \"%s\" became "
                   "\"%s\"",
                   o->string, g->string);
        names[k] = o->string;
        int st = ref_status(paths, n, names, k);
        if (st == 2 || (st == 1 && !cJSON_IsObject(o)))
            FUZZ_CHECK(cJSON_Compare(g, o, 1),
                       "selected \"%s\" (level %d) "
                       "changed",
                       o->string, k);
        else if (st == 1)
            ref_check(g, o, paths, n, names, k + 1);
        else
            FUZZ_CHECK(cJSON_IsNull(g),
                       "\"%s\" (level %d) not selected, "
                       "not null",
                       o->string, k);
    }
    FUZZ_CHECK(!g && !o, "members added or removed");
}

static void check_select(const char *text, const cJSON *orig) {
    ref_path_t paths[MAX_PATHS];
    char err[256] = "";
    erps_select_t *sel = erps_select_parse(text, err, sizeof(err));
    int n = ref_parse(text, paths);
    FUZZ_CHECK((sel != NULL) == (n >= 0), "parse says %s, grammar says %s (%s)",
               sel ? "ok" : "no", n >= 0 ? "ok" : "no", err);
    if (!sel) {
        FUZZ_CHECK(strncmp(err, "$select", 7) == 0, "message \"%s\"", err);
        return;
    }
    int resolves = 1;
    for (int i = 0; i < n; i++)
        resolves &= ref_resolves(orig, &paths[i]);

    cJSON *obj = cJSON_Duplicate(orig, 1);
    if (!obj)
        abort();
    int rc = erps_select_apply(sel, obj, err, sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == 400, "rc %d", rc);
    FUZZ_CHECK((rc == 0) == resolves, "apply %d (%s), paths %s", rc,
               rc ? err : "", resolves ? "resolve" : "do not resolve");
    if (rc == 0) {
        const char *names[MAX_DEPTH + 8];
        ref_check(obj, orig, paths, n, names, 0);
    } else {
        FUZZ_CHECK(strncmp(err, "$select: ", 9) == 0, "message \"%s\"", err);
    }
    cJSON_Delete(obj);
    erps_select_free(sel);
}

/* ---- driver ---- */

static cJSON *orig;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    orig = cJSON_Parse(answer);
    if (!orig)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *part[4] = {NULL, NULL, NULL, NULL};
    size_t start = 0;
    int k = 0;
    for (size_t i = 0; i <= size && k < 4; i++) {
        if (i == size || (k < 3 && (data[i] == '\0' || data[i] == '\n'))) {
            part[k++] = fuzz_cstr(data + start, i - start);
            start = i + 1;
        }
    }
    check_ctype(part[0]);
    check_accept(part[1]);
    check_lang(part[2]);
    check_select(part[3], orig);
    for (int i = 0; i < 4; i++)
        free(part[i]);
    return 0;
}
