/*
 * decode.c - a request body, by its content type, into the request object;
 * libxml2's process-wide set-up.
 *
 * Everything in shim/body/ works on the caller's buffers and per-call state
 * (a fresh libxml2 parser context, iconv descriptor and text writer per
 * call), so any number of HTTP threads may decode and encode at once.
 */
#include "body_int.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

void erps_body_init(void) {
    LIBXML_TEST_VERSION
    xmlInitParser();
}

void erps_body_cleanup(void) {
    xmlCleanupParser();
}

/* A merge patch (an object, names checked) applied to a copy of base (an
 * object, or empty when base is not one). @returns it, or NULL with e. */
static cJSON *merge_patch(const cJSON *v, const cJSON *base, berr_t *e) {
    if (!cJSON_IsObject(v)) {
        body_fail(e, 400, "a merge patch must be a JSON object");
        return NULL;
    }
    if (body_json_check(v, 1, CHECK_NAMES, NULL, e))
        return NULL;
    cJSON *r = body_dup_base(base, e);
    if (r && !cJSON_IsObject(r)) {
        cJSON_Delete(r);
        if (!(r = cJSON_CreateObject()))
            body_fail_oom(e);
    }
    if (r && body_merge_into(r, v, e)) {
        cJSON_Delete(r);
        r = NULL;
    }
    return r;
}

/* The parsed body v as the request object its media type makes of it.
 * Takes v. */
static cJSON *json_media_object(erps_media_t media, cJSON *v, const cJSON *base,
                                berr_t *e) {
    cJSON *r = NULL;
    if (media == ERPS_MEDIA_JSON) {
        if (cJSON_IsObject(v))
            return v;
        body_fail(e, 400, "the body must be a JSON object");
    } else if (media == ERPS_MEDIA_JSON_PATCH) {
        if (body_json_check(v, 1, 0, NULL, e) == 0)
            r = body_json_patch(v, base, e);
    } else {
        r = merge_patch(v, base, e);
    }
    cJSON_Delete(v);
    return r;
}

static cJSON *decode_json_media(erps_media_t media, const char *cs,
                                const char *body, size_t len, const cJSON *base,
                                berr_t *e) {
    text_t t;
    if (body_text_from_body(cs, body, len, &t, e))
        return NULL;
    cJSON *v = body_json_parse(&t, e);
    free(t.owned);
    cJSON *r = v ? json_media_object(media, v, base, e) : NULL;
    if (r && body_json_check(r, 1, CHECK_NAMES, NULL, e)) {
        cJSON_Delete(r);
        r = NULL;
    }
    return r;
}

cJSON *erps_body_decode(const erps_ctype_t *ct, const char *body, size_t len,
                        const cJSON *base, int *http_status, char *errstr,
                        size_t errstr_size) {
    berr_t e = {500, errstr, errstr_size};
    char cs[sizeof(ct->charset)];
    cJSON *v = NULL;

    if (errstr && errstr_size)
        errstr[0] = '\0';
    memcpy(cs, ct->charset, sizeof(cs));
    cs[sizeof(cs) - 1] = '\0';
    if (!body) {
        body = "";
        len = 0;
    }
    switch (ct->media) {
    case ERPS_MEDIA_JSON:
    case ERPS_MEDIA_JSON_PATCH:
    case ERPS_MEDIA_MERGE_PATCH:
        v = decode_json_media(ct->media, cs, body, len, base, &e);
        break;
    case ERPS_MEDIA_XML:
        v = body_decode_xml(cs, body, len, &e);
        break;
    case ERPS_MEDIA_FORM:
        v = body_decode_form(cs, body, len, &e);
        break;
    default:
        body_fail(&e, 415, "unsupported media type");
        break;
    }
    if (!v && http_status)
        *http_status = e.status;
    return v;
}
