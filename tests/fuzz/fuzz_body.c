/*
 * fuzz_body - erps_body_decode on any body in any content type. The first
 * byte picks the media type (byte % 5) and the charset ((byte / 5) % 4: "",
 * "utf-8", "utf-16", "iso-8859-1"); the rest is the body, an exact-size
 * copy as libmicrohttpd hands it over. The base is the shim's
 * {"Run": false, "Interval": null}.
 *
 * A failure must be 400 with a reason that is valid UTF-8. A success must be
 * a JSON object that erps_xml_encode writes and erps_body_decode reads back
 * as XML with the same members in the same order: leaves become strings
 * (numbers and booleans as written, strings trimmed of XML blanks with
 * characters XML cannot hold as U+FFFD), null stays null, lists stay lists,
 * an empty object inside becomes "". Only an object nested deeper than the XML
 * limit may fail to read back, and then with that reason.
 */
#include <math.h>

#include "body.h"
#include "fuzz_common.h"

static cJSON *base;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    erps_body_init();
    base = cJSON_Parse("{\"Run\": false, \"Interval\": null}");
    if (!base)
        abort();
    return 0;
}

static int utf8_ok(const char *s) {
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        size_t k = *u < 0x80             ? 1
                   : (*u & 0xE0) == 0xC0 ? 2
                   : (*u & 0xF0) == 0xE0 ? 3
                   : (*u & 0xF8) == 0xF0 ? 4
                                         : 0;
        if (!k)
            return 0;
        for (size_t i = 1; i < k; i++)
            if ((u[i] & 0xC0) != 0x80)
                return 0;
        u += k;
    }
    return 1;
}

/* Elements the value becomes, counting its own (a leaf is 1). */
static int xml_depth(const cJSON *v) {
    int d = 0;
    if (cJSON_IsObject(v) || cJSON_IsArray(v))
        for (const cJSON *m = v->child; m; m = m->next) {
            int md = xml_depth(m);
            if (md > d)
                d = md;
        }
    return d + 1;
}

/* What a string reads back as: each character XML 1.0 forbids as U+FFFD
 * (the decoder let through valid UTF-8 only), then XML blanks trimmed. */
static char *expected_text(const char *s) {
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1), *o = out;
    if (!out)
        abort();
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            memcpy(o, "\xEF\xBF\xBD", 3), o += 3, i++;
        } else if (c == 0xEF && (unsigned char)s[i + 1] == 0xBF &&
                   ((unsigned char)s[i + 2] == 0xBE ||
                    (unsigned char)s[i + 2] == 0xBF)) {
            memcpy(o, "\xEF\xBF\xBD", 3), o += 3, i += 3;
        } else {
            *o++ = (char)c, i++;
        }
    }
    *o = '\0';
    char *a = out;
    while (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r')
        a++;
    size_t l = strlen(a);
    while (l && (a[l - 1] == ' ' || a[l - 1] == '\t' || a[l - 1] == '\n' ||
                 a[l - 1] == '\r'))
        l--;
    memmove(out, a, l);
    out[l] = '\0';
    return out;
}

static void same(const cJSON *a, const cJSON *b, const char *where, int root) {
    if (cJSON_IsNull(a)) {
        FUZZ_CHECK(cJSON_IsNull(b), "%s: null came back as type %d", where,
                   b->type);
    } else if (cJSON_IsObject(a) && !a->child && !root) {
        FUZZ_CHECK(cJSON_IsString(b) && !b->valuestring[0],
                   "%s: {} did not come back as \"\"", where);
    } else if (cJSON_IsObject(a) || cJSON_IsArray(a)) {
        FUZZ_CHECK((a->type & 0xFF) == (b->type & 0xFF),
                   "%s: type %d became %d", where, a->type, b->type);
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next) {
            if (cJSON_IsObject(a))
                FUZZ_CHECK(strcmp(x->string, y->string) == 0,
                           "%s: member \"%s\" came back as \"%s\"", where,
                           x->string, y->string);
            same(x, y, x->string ? x->string : where, 0);
        }
        FUZZ_CHECK(!x && !y, "%s: %s members or items", where,
                   x ? "lost" : "gained");
    } else {
        FUZZ_CHECK(cJSON_IsString(b), "%s: a leaf came back as type %d", where,
                   b->type);
        if (cJSON_IsBool(a)) {
            FUZZ_CHECK(
                !strcmp(b->valuestring, cJSON_IsTrue(a) ? "true" : "false"),
                "%s: boolean came back as \"%s\"", where, b->valuestring);
        } else if (cJSON_IsNumber(a)) {
            double d = a->valuedouble;
            if (isinf(d))
                FUZZ_CHECK(!strcmp(b->valuestring, d > 0 ? "INF" : "-INF"),
                           "%s: infinity came back as \"%s\"", where,
                           b->valuestring);
            else
                FUZZ_CHECK(strtod(b->valuestring, NULL) == d,
                           "%s: %.17g came back as \"%s\"", where, d,
                           b->valuestring);
        } else {
            char *want = expected_text(a->valuestring);
            FUZZ_CHECK(!strcmp(want, b->valuestring),
                       "%s: \"%s\" came back as \"%s\"", where, want,
                       b->valuestring);
            free(want);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const charsets[] = {"", "utf-8", "utf-16", "iso-8859-1"};
    erps_ctype_t ct;
    char err[512];
    int status = 0;

    if (size == 0)
        return 0;
    memset(&ct, 0, sizeof(ct));
    ct.media = (erps_media_t)(data[0] % 5 + 1);
    strcpy(ct.charset, charsets[data[0] / 5 % 4]);
    char *body = fuzz_dup(data + 1, size - 1);
    char *before = cJSON_PrintUnformatted(base);

    err[0] = '\0';
    cJSON *v =
        erps_body_decode(&ct, body, size - 1, base, &status, err, sizeof(err));
    if (!v) {
        FUZZ_CHECK(status == 400, "status %d (%s)", status, err);
        FUZZ_CHECK(err[0] && utf8_ok(err), "reason \"%s\"", err);
    } else {
        FUZZ_CHECK(cJSON_IsObject(v), "decoded to type %d", v->type);
        size_t xl = 0;
        char *xml = erps_xml_encode(v, "request", &xl);
        FUZZ_CHECK(xml && xl == strlen(xml), "encode failed");

        erps_ctype_t xt = {ERPS_MEDIA_XML, ""};
        char *copy = fuzz_dup((const uint8_t *)xml, xl);
        err[0] = '\0';
        cJSON *back =
            erps_body_decode(&xt, copy, xl, NULL, &status, err, sizeof(err));
        if (xml_depth(v) <= ERPS_BODY_XML_MAX_DEPTH) {
            FUZZ_CHECK(back, "%s does not read back: %d %s", xml, status, err);
            same(v, back, "request", 1);
        } else {
            FUZZ_CHECK(!back && status == 400 && strstr(err, "nested deeper"),
                       "too deep %s: %d %s", xml, status, err);
        }
        cJSON_Delete(back);
        free(copy);
        free(xml);
        cJSON_Delete(v);
    }
    char *after = cJSON_PrintUnformatted(base);
    FUZZ_CHECK(!strcmp(before, after), "base changed to %s", after);
    free(after);
    free(before);
    free(body);
    return 0;
}
