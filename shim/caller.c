/*
 * caller.c - who is calling and what they asked for, from the request's
 * headers: credentials (login.h decides), the session a password login
 * earns, the language, culture and time zone of the answer, and $select.
 */
#include "server_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "erpsync/log.h"

const char *http_header(struct MHD_Connection *c, const char *name) {
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* Who is calling, with what the answer must carry for it: Retry-After on
 * a 429; a new session's cookies after a password login (issued only once
 * the caller is known to be allowed this call, see first_call). */
int http_authenticate(req_t *r, char *err, size_t err_size) {
    struct MHD_Connection *c = r->conn;
    erps_login_in_t in = {
        .authorization = http_header(c, MHD_HTTP_HEADER_AUTHORIZATION),
        .cookie = http_header(c, MHD_HTTP_HEADER_COOKIE),
        .xsrf = http_header(c, ERPS_XSRF_HEADER),
        .app_token = http_header(c, "SO-AppToken"),
        .client_addr = r->client_addr,
    };
    int code = erps_login_check(r->shim->login, &in, &r->login, err, err_size);
    if (code == 429) {
        char secs[24];
        snprintf(secs, sizeof(secs), "%" PRId64, r->login.retry_after_s);
        http_reply_header(&r->reply, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    }
    return code;
}

void http_issue_session(req_t *r) {
    char session[ERPS_SET_COOKIE_MAX], xsrf[ERPS_SET_COOKIE_MAX];
    if (erps_login_session_cookies(r->shim->login, &r->login.who, session,
                                   xsrf) == 0) {
        http_reply_header(&r->reply, MHD_HTTP_HEADER_SET_COOKIE, session);
        http_reply_header(&r->reply, MHD_HTTP_HEADER_SET_COOKIE, xsrf);
        explicit_bzero(session, sizeof(session));
    }
}

typedef struct joined {
    char text[4097];
    size_t len;
    int count, overflow;
} joined_t;

static enum MHD_Result join_select(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value) {
    joined_t *j = cls;
    (void)kind;
    if (strcmp(key, "$select") != 0 || !value)
        return MHD_YES;
    size_t n = strlen(value);
    if (j->len + (j->count ? 1 : 0) + n >= sizeof(j->text)) {
        j->overflow = 1;
        return MHD_NO;
    }
    if (j->count++)
        j->text[j->len++] = ',';
    memcpy(j->text + j->len, value, n + 1);
    j->len += n;
    return MHD_YES;
}

/* $select given more than once selects what all of them name, as ASP.NET
 * joins a repeated query key with commas. */
static const char *select_value(struct MHD_Connection *c, joined_t *j) {
    memset(j, 0, sizeof(*j));
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, join_select, j);
    return j->count ? j->text : NULL;
}

/* Language, culture, time zone and $select: all decided before any work. */
/* Language, culture and time zone of the answer. @returns 0 or 400. */
static int read_locale(req_t *r, char *err, size_t err_size) {
    erps_shim_t *shim = r->shim;
    struct MHD_Connection *c = r->conn;
    const char *v;
    erps_lang_choose(http_header(c, MHD_HTTP_HEADER_ACCEPT_LANGUAGE),
                     http_header(c, "SO-Language"), erps_i18n_languages,
                     erps_i18n_language_count, shim->conf->default_language,
                     r->lang.language, sizeof(r->lang.language));
    if ((v = http_header(c, "SO-Culture")) && *v &&
        erps_i18n_culture_parse(v, r->lang.culture, sizeof(r->lang.culture),
                                err, err_size))
        return 400;
    /* A culture and no language at all: the language is the culture's, as
     * .NET's request localization sets UICulture from Culture when only
     * one is given (de-DE alone: German text, German dates). */
    if (r->lang.culture[0] && !http_header(c, "SO-Language") &&
        !http_header(c, MHD_HTTP_HEADER_ACCEPT_LANGUAGE))
        erps_i18n_culture_language(r->lang.culture, r->lang.language,
                                   sizeof(r->lang.language));
    if ((v = http_header(c, "SO-TimeZone")) && *v)
        return erps_i18n_zone_parse(v, r->lang.zone, sizeof(r->lang.zone),
                                    &r->lang.include_offset, err, err_size)
                   ? 400
                   : 0;
    erps_strlcpy(r->lang.zone, shim->default_zone, sizeof(r->lang.zone));
    r->lang.include_offset = shim->default_offset;
    return 0;
}

/* $select, refused now when it names a field the answer lacks: before a
 * change is sent, not after it was made. @returns 0, 400 or 500. */
static int read_select(req_t *r, char *err, size_t err_size) {
    joined_t sel;
    const char *v = select_value(r->conn, &sel);
    if (sel.overflow) {
        snprintf(err, err_size, "$select: longer than %zu bytes in all",
                 sizeof(sel.text) - 1);
        return 400;
    }
    if (v && !(r->select = erps_select_parse(v, err, err_size)))
        return 400;
    if (!r->select || erps_api_method(r->route)->answer != ERPS_ANSWER_STATUS)
        return 0;
    erps_status_t blank;
    memset(&blank, 0, sizeof(blank));
    cJSON *shape = erps_api_status_obj(&blank, r->login.who.role, "", "");
    if (!shape) {
        snprintf(err, err_size, "out of memory");
        return 500;
    }
    int code = erps_select_apply(r->select, shape, err, err_size);
    cJSON_Delete(shape);
    return code;
}

int http_read_options(req_t *r, char *err, size_t err_size) {
    int code = read_locale(r, err, err_size);
    return code ? code : read_select(r, err, err_size);
}
