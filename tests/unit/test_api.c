/* test_api.c - the REST contract: routes, request objects, answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static void routes(void **state) {
    erps_route_t r;
    const char *allow;
    (void)state;
    assert_int_equal(erps_api_route("POST",
                                    "/api/v1/Agents/ErpSync/ChangeEngineStatus",
                                    &r, &allow),
                     200);
    assert_int_equal(r, ERPS_ROUTE_CHANGE_STATUS);
    /* ASP.NET routing is case-insensitive; so are we. */
    assert_int_equal(erps_api_route("POST",
                                    "/API/v1/agents/erpsync/changeenginestatus",
                                    &r, &allow),
                     200);
    assert_int_equal(r, ERPS_ROUTE_CHANGE_STATUS);
    assert_int_equal(erps_api_route("POST",
                                    "/api/v1/Agents/ErpSync/GetEngineStatus",
                                    &r, &allow),
                     200);
    assert_int_equal(r, ERPS_ROUTE_GET_STATUS);
    assert_int_equal(erps_api_route("GET",
                                    "/api/v1/Agents/ErpSync/ChangeEngineStatus",
                                    &r, &allow),
                     405);
    assert_string_equal(allow, "POST");
    assert_int_equal(
        erps_api_route("POST", "/api/v1/Agents/ErpSync/Nope", &r, &allow), 404);
    assert_int_equal(
        erps_api_route("POST", "/api/v1/Agents/ErpSync/ChangeEngineStatus/x",
                       &r, &allow),
        404);
    assert_int_equal(erps_api_route("GET", "/healthz", &r, &allow), 200);
    assert_int_equal(r, ERPS_ROUTE_HEALTHZ);
    assert_int_equal(erps_api_route("HEAD", "/readyz", &r, &allow), 200);
    assert_int_equal(erps_api_route("POST", "/metrics", &r, &allow), 405);
    assert_string_equal(allow, "GET");
    assert_int_equal(erps_api_route("GET", "/", &r, &allow), 404);
    assert_true(erps_api_route_changes(ERPS_ROUTE_CHANGE_INTERVAL));
    assert_false(erps_api_route_changes(ERPS_ROUTE_GET_STATUS));
}

static void change_status_bodies(void **state) {
    /* J: JSON and patches (Newtonsoft.Json), F: form (bool.Parse),
     * X: XML (XmlConvert.ToBoolean). */
    enum { J = 1, F = 2, X = 4, ALL = J | F | X };
    static const struct {
        const char *body;
        int ok_for; /* media kinds that take it; the others answer 400 */
        int run;
        const char *fragment; /* of the 400 when no kind takes it */
    } cases[] = {
        {"{\"Run\": true}", ALL, 1, NULL},
        {"{\"run\":false}", ALL, 0, NULL},
        {" {\"RUN\" : true , \"Other\": 1} \n", ALL, 1, NULL},
        /* numbers: Newtonsoft's "not zero" */
        {"{\"Run\": 1}", J | F | X, 1, NULL},
        {"{\"Run\": 0}", J | F | X, 0, NULL},
        {"{\"Run\": -7}", J | F | X, 1, NULL},
        {"{\"Run\": 0.5}", J | F | X, 1, NULL},
        /* text: bool.TryParse any case; XmlConvert exact, with 1 and 0 */
        {"{\"Run\": \"true\"}", ALL, 1, NULL},
        {"{\"Run\": \" false \"}", ALL, 0, NULL},
        {"{\"Run\": \"FALSE\"}", J | F, 0, NULL},
        {"{\"Run\": \"True\"}", J | F, 1, NULL},
        {"{\"Run\": \"1\"}", X, 1, "must be a boolean"},
        {"{\"Run\": \"0\"}", X, 0, "must be a boolean"},
        {"{}", 0, 0, "\"Run\" is missing"},
        {"{\"Running\": true}", 0, 0, "\"Run\" is missing"},
        {"{\"Run\": null}", 0, 0, "\"Run\" is missing"},
        {"{\"Run\": \"yes\"}", 0, 0, "must be a boolean"},
        {"{\"Run\": \"\"}", 0, 0, "must be a boolean"},
        {"{\"Run\": \"1.0\"}", 0, 0, "must be a boolean"},
        {"{\"Run\": [true]}", 0, 0, "must be a boolean"},
        {"{\"Run\": {}}", 0, 0, "must be a boolean"},
    };
    static const struct {
        erps_media_t media;
        int kind;
    } medias[] = {{ERPS_MEDIA_JSON, J},
                  {ERPS_MEDIA_JSON_PATCH, J},
                  {ERPS_MEDIA_MERGE_PATCH, J},
                  {ERPS_MEDIA_FORM, F},
                  {ERPS_MEDIA_XML, X}};
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t m = 0; m < sizeof(medias) / sizeof(medias[0]); m++) {
            bool run = !cases[i].run, ok = cases[i].ok_for & medias[m].kind;
            char err[256] = "";
            cJSON *req = cJSON_Parse(cases[i].body);
            assert_non_null(req);
            int code = erps_api_change_status_req(req, medias[m].media, &run,
                                                  err, sizeof(err));
            cJSON_Delete(req);
            if (code != (ok ? 0 : 400))
                fail_msg("%s as media %d: got %d (%s)", cases[i].body,
                         (int)medias[m].media, code, err);
            if (code == 0)
                assert_int_equal(run, cases[i].run);
            else if (cases[i].fragment && !strstr(err, cases[i].fragment))
                fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].body, err,
                         cases[i].fragment);
        }
    }
}

static int interval(const char *body, int64_t *s, char *err, size_t err_size) {
    cJSON *req = cJSON_Parse(body);
    assert_non_null(req);
    int code = erps_api_change_interval_req(req, 60, 604800, s, err, err_size);
    cJSON_Delete(req);
    return code;
}

static void change_interval_bodies(void **state) {
    int64_t s;
    char err[256];
    (void)state;
    assert_int_equal(
        interval("{\"Interval\": \"00:15:00\"}", &s, err, sizeof(err)), 0);
    assert_int_equal(s, 900);
    assert_int_equal(interval("{\"interval\": \"PT2H\"}", &s, err, sizeof(err)),
                     0);
    assert_int_equal(s, 7200);
    assert_int_equal(
        interval("{\"Interval\": \"00:00:30\"}", &s, err, sizeof(err)), 400);
    assert_non_null(strstr(err, "between 00:01:00 and 7.00:00:00"));
    assert_int_equal(
        interval("{\"Interval\": \"8.00:00:00\"}", &s, err, sizeof(err)), 400);
    assert_int_equal(interval("{\"Interval\": 900}", &s, err, sizeof(err)),
                     400);
    assert_non_null(strstr(err, "must be a string"));
    assert_int_equal(
        interval("{\"Interval\": \"often\"}", &s, err, sizeof(err)), 400);
    assert_non_null(strstr(err, "often"));
    /* the default request object, unpatched */
    assert_int_equal(interval("{\"Interval\": null}", &s, err, sizeof(err)),
                     400);
    assert_non_null(strstr(err, "missing"));
}

/* The method table owns both ends: each WebAPI method that changes the
 * engine names its command type, its request member and a decoder that
 * fills exactly that command's fields; reads and probes send nothing. */
static void method_table(void **state) {
    (void)state;
    erps_api_limits_t lim = {60, 86400};
    char err[256];
    for (int r = ERPS_ROUTE_CHANGE_STATUS; r <= ERPS_ROUTE_METRICS; r++) {
        const erps_api_method_t *m = erps_api_method((erps_route_t)r);
        assert_non_null(m);
        assert_int_equal(m->route, r);
        assert_int_equal(erps_api_route_changes((erps_route_t)r),
                         m->command != 0);
        assert_true(!m->command || (m->decode && m->member));
        assert_true(!m->operational || !m->command);
    }
    assert_null(erps_api_method(ERPS_ROUTE_NONE));

    const erps_api_method_t *m = erps_api_method(ERPS_ROUTE_CHANGE_STATUS);
    erps_command_t cmd;
    memset(&cmd, 0, sizeof(cmd));
    cJSON *req = cJSON_Parse("{\"run\": true}");
    assert_int_equal(
        m->decode(req, ERPS_MEDIA_JSON, &lim, &cmd, err, sizeof(err)), 0);
    assert_int_equal(m->command, ERPS_CMD_CHANGE_STATUS);
    assert_true(cmd.run);
    assert_int_equal(cmd.interval_s, 0);
    assert_int_equal(m->answer, ERPS_ANSWER_STATUS);
    cJSON_Delete(req);

    m = erps_api_method(ERPS_ROUTE_CHANGE_INTERVAL);
    memset(&cmd, 0, sizeof(cmd));
    req = cJSON_Parse("{\"Interval\": \"00:02:00\"}");
    assert_int_equal(
        m->decode(req, ERPS_MEDIA_JSON, &lim, &cmd, err, sizeof(err)), 0);
    assert_int_equal(m->command, ERPS_CMD_CHANGE_INTERVAL);
    assert_int_equal(cmd.interval_s, 120);
    assert_false(cmd.run);
    assert_int_equal(m->answer, ERPS_ANSWER_EMPTY);
    cJSON_Delete(req);
    /* The limits come from the caller, not from the table. */
    lim.interval_min_s = 300;
    req = cJSON_Parse("{\"Interval\": \"00:02:00\"}");
    assert_int_equal(
        m->decode(req, ERPS_MEDIA_JSON, &lim, &cmd, err, sizeof(err)), 400);
    assert_non_null(strstr(err, "between 00:05:00"));
    cJSON_Delete(req);
    assert_string_equal(erps_command_type_name(m->command), m->name);
}

static void request_bases(void **state) {
    (void)state;
    static const struct {
        erps_route_t route;
        const char *json;
    } bases[] = {{ERPS_ROUTE_CHANGE_STATUS, "{\"Run\":null}"},
                 {ERPS_ROUTE_CHANGE_INTERVAL, "{\"Interval\":null}"}};
    for (size_t i = 0; i < 2; i++) {
        cJSON *o = erps_api_request_base(bases[i].route);
        char *a = cJSON_PrintUnformatted(o);
        assert_non_null(a);
        assert_string_equal(a, bases[i].json);
        free(a);
        cJSON_Delete(o);
    }
}

/* erps_api_render leaves obj to the caller, as server.c's send_obj frees it. */
static char *render(cJSON *obj, erps_format_t fmt, const char *root) {
    char *s = erps_api_render(obj, fmt, root);
    cJSON_Delete(obj);
    return s;
}

static cJSON *parse_free(char *s) {
    assert_non_null(s);
    cJSON *j = cJSON_Parse(s);
    free(s);
    assert_non_null(j);
    return j;
}

static void status_answer_reflects_the_role(void **state) {
    erps_status_t st;
    (void)state;
    memset(&st, 0, sizeof(st));
    st.is_running = true;
    st.state = ERPS_STATE_RUNNING;
    st.interval_s = 93784;
    strcpy(st.message, "the agent's English");
    cJSON *a = parse_free(
        render(erps_api_status_obj(&st, ERPS_ROLE_ADMIN, "running", "why"),
               ERPS_FMT_JSON, "x"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(a, "IsRunning")));
    assert_string_equal(cJSON_GetObjectItem(a, "Interval")->valuestring,
                        "1.02:03:04");
    assert_string_equal(cJSON_GetObjectItem(a, "StatusMessage")->valuestring,
                        "running");
    cJSON *tr = cJSON_GetObjectItem(a, "TableRight");
    assert_string_equal(cJSON_GetObjectItem(tr, "Mask")->valuestring, "FULL");
    cJSON *fp = cJSON_GetObjectItem(a, "FieldProperties");
    cJSON *ir = cJSON_GetObjectItem(fp, "IsRunning");
    assert_string_equal(cJSON_GetObjectItem(ir, "FieldType")->valuestring,
                        "System.Boolean");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(ir, "FieldRight"), "Mask")
            ->valuestring,
        "Update"); /* EFieldRight 3: Read and Write */
    /* Only the five WebAPI fields: machine fields stay on Kafka. */
    assert_int_equal(cJSON_GetArraySize(a), 5);
    cJSON_Delete(a);

    cJSON *r = parse_free(
        render(erps_api_status_obj(&st, ERPS_ROLE_READER, "running", "why"),
               ERPS_FMT_JSON, "x"));
    tr = cJSON_GetObjectItem(r, "TableRight");
    assert_string_equal(cJSON_GetObjectItem(tr, "Mask")->valuestring, "RF");
    assert_string_equal(cJSON_GetObjectItem(tr, "Reason")->valuestring, "why");
    fp = cJSON_GetObjectItem(r, "FieldProperties");
    assert_string_equal(
        cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(fp, "Interval"),
                                "FieldRight"),
            "Mask")
            ->valuestring,
        "Read");
    cJSON_Delete(r);
}

static void xml_answers_write_interval_as_duration(void **state) {
    erps_status_t st;
    (void)state;
    memset(&st, 0, sizeof(st));
    st.is_running = true;
    st.interval_s = 93784;
    char *x = render(erps_api_status_obj(&st, ERPS_ROLE_READER, "a < b", "why"),
                     ERPS_FMT_XML, "ErpSyncEngineStatus");
    assert_non_null(x);
    assert_non_null(strstr(x, "<ErpSyncEngineStatus"));
    assert_non_null(strstr(x, "<IsRunning>true</IsRunning>"));
    assert_non_null(strstr(x, "<StatusMessage>a &lt; b</StatusMessage>"));
    assert_non_null(strstr(x, "<Interval>P1DT2H3M4S</Interval>"));
    assert_non_null(strstr(x, "<Mask>RF</Mask>"));
    free(x);
    x = render(erps_api_error_obj(406, "no"), ERPS_FMT_XML, "ErrorInformation");
    assert_non_null(x);
    assert_non_null(strstr(x, "<ErrorType>NotAcceptable</ErrorType>"));
    assert_non_null(strstr(x, "<Error>true</Error>"));
    free(x);
}

static void errors_keep_the_webapi_shape(void **state) {
    static const int codes[] = {400, 401, 403, 404, 405, 406,
                                413, 415, 429, 503, 504};
    (void)state;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        cJSON *e = parse_free(
            render(erps_api_error_obj(codes[i], "what \"went\" wrong"),
                   ERPS_FMT_JSON, "x"));
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(e, "Error")));
        assert_string_equal(cJSON_GetObjectItem(e, "ErrorType")->valuestring,
                            erps_api_error_type(codes[i]));
        assert_string_equal(cJSON_GetObjectItem(e, "ErrorMessage")->valuestring,
                            "what \"went\" wrong");
        assert_string_equal(cJSON_GetObjectItem(e, "ErrorSource")->valuestring,
                            "erpsync-shim");
        cJSON_Delete(e);
    }
    assert_string_equal(erps_api_error_type(504), "GatewayTimeout");
    assert_string_equal(erps_api_error_type(415), "UnsupportedMediaType");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes),
        cmocka_unit_test(change_status_bodies),
        cmocka_unit_test(change_interval_bodies),
        cmocka_unit_test(method_table),
        cmocka_unit_test(request_bases),
        cmocka_unit_test(xml_answers_write_interval_as_duration),
        cmocka_unit_test(status_answer_reflects_the_role),
        cmocka_unit_test(errors_keep_the_webapi_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
