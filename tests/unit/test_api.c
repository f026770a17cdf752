/* test_api.c - the REST contract: routes, content types, bodies, answers. */
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
    assert_int_equal(erps_api_route("POST", "/api/v1/Agents/ErpSync/ChangeEngineStatus",
                                    &r, &allow), 200);
    assert_int_equal(r, ERPS_ROUTE_CHANGE_STATUS);
    /* ASP.NET routing is case-insensitive; so are we. */
    assert_int_equal(erps_api_route("POST", "/API/v1/agents/erpsync/changeenginestatus",
                                    &r, &allow), 200);
    assert_int_equal(r, ERPS_ROUTE_CHANGE_STATUS);
    assert_int_equal(erps_api_route("POST", "/api/v1/Agents/ErpSync/GetEngineStatus",
                                    &r, &allow), 200);
    assert_int_equal(r, ERPS_ROUTE_GET_STATUS);
    assert_int_equal(erps_api_route("GET", "/api/v1/Agents/ErpSync/ChangeEngineStatus",
                                    &r, &allow), 405);
    assert_string_equal(allow, "POST");
    assert_int_equal(erps_api_route("POST", "/api/v1/Agents/ErpSync/Nope", &r, &allow),
                     404);
    assert_int_equal(erps_api_route("POST", "/api/v1/Agents/ErpSync/ChangeEngineStatus/x",
                                    &r, &allow), 404);
    assert_int_equal(erps_api_route("GET", "/healthz", &r, &allow), 200);
    assert_int_equal(r, ERPS_ROUTE_HEALTHZ);
    assert_int_equal(erps_api_route("HEAD", "/readyz", &r, &allow), 200);
    assert_int_equal(erps_api_route("POST", "/metrics", &r, &allow), 405);
    assert_string_equal(allow, "GET");
    assert_int_equal(erps_api_route("GET", "/", &r, &allow), 404);
    assert_true(erps_api_route_changes(ERPS_ROUTE_CHANGE_INTERVAL));
    assert_false(erps_api_route_changes(ERPS_ROUTE_GET_STATUS));
}

static void content_types(void **state) {
    char err[256];
    (void)state;
    assert_int_equal(erps_api_content_type("application/json", err, sizeof(err)), 0);
    assert_int_equal(erps_api_content_type("text/json", err, sizeof(err)), 0);
    assert_int_equal(erps_api_content_type("Application/JSON; charset=UTF-8", err,
                                           sizeof(err)), 0);
    assert_int_equal(erps_api_content_type("application/json;charset=\"utf-8\"", err,
                                           sizeof(err)), 0);
    assert_int_equal(erps_api_content_type("application/json; charset=latin1", err,
                                           sizeof(err)), 415);
    assert_int_equal(erps_api_content_type("text/plain", err, sizeof(err)), 415);
    assert_non_null(strstr(err, "text/plain"));
    assert_int_equal(erps_api_content_type("application/jsonx", err, sizeof(err)), 415);
    assert_int_equal(erps_api_content_type(NULL, err, sizeof(err)), 415);
    assert_non_null(strstr(err, "missing"));
    assert_int_equal(erps_api_content_type("", err, sizeof(err)), 415);
}

static void change_status_bodies(void **state) {
    static const struct {
        const char *body;
        int code;
        int run;
        const char *fragment;
    } cases[] = {
        {"{\"Run\": true}", 0, 1, NULL},
        {"{\"run\":false}", 0, 0, NULL},
        {" {\"RUN\" : true , \"Other\": 1} \n", 0, 1, NULL},
        {"", 400, 0, "empty"},
        {"{\"Run\": true", 400, 0, "not valid JSON"},
        {"{\"Run\": true} x", 400, 0, "after the JSON value"},
        {"[{\"Run\": true}]", 400, 0, "JSON object"},
        {"true", 400, 0, "JSON object"},
        {"{}", 400, 0, "\"Run\" is missing"},
        {"{\"Running\": true}", 400, 0, "\"Run\" is missing"},
        {"{\"Run\": \"true\"}", 400, 0, "must be a boolean"},
        {"{\"Run\": null}", 400, 0, "must be a boolean"},
        {"{\"Run\": 1}", 400, 0, "must be a boolean"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool run = !cases[i].run;
        char err[256] = "";
        int code = erps_api_parse_change_status(cases[i].body, strlen(cases[i].body),
                                                &run, err, sizeof(err));
        if (code != cases[i].code)
            fail_msg("%s: got %d (%s)", cases[i].body, code, err);
        if (code == 0)
            assert_int_equal(run, cases[i].run);
        else if (!strstr(err, cases[i].fragment))
            fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].body, err, cases[i].fragment);
    }
}

static void change_interval_bodies(void **state) {
    int64_t s;
    char err[256];
    (void)state;
    const char *b = "{\"Interval\": \"00:15:00\"}";
    assert_int_equal(erps_api_parse_change_interval(b, strlen(b), 60, 604800, &s, err,
                                                    sizeof(err)), 0);
    assert_int_equal(s, 900);
    b = "{\"interval\": \"PT2H\"}";
    assert_int_equal(erps_api_parse_change_interval(b, strlen(b), 60, 604800, &s, err,
                                                    sizeof(err)), 0);
    assert_int_equal(s, 7200);
    b = "{\"Interval\": \"00:00:30\"}";
    assert_int_equal(erps_api_parse_change_interval(b, strlen(b), 60, 604800, &s, err,
                                                    sizeof(err)), 400);
    assert_non_null(strstr(err, "between 00:01:00 and 7.00:00:00"));
    b = "{\"Interval\": \"8.00:00:00\"}";
    assert_int_equal(erps_api_parse_change_interval(b, strlen(b), 60, 604800, &s, err,
                                                    sizeof(err)), 400);
    b = "{\"Interval\": 900}";
    assert_int_equal(erps_api_parse_change_interval(b, strlen(b), 60, 604800, &s, err,
                                                    sizeof(err)), 400);
    assert_non_null(strstr(err, "must be a string"));
    b = "{\"Interval\": \"often\"}";
    assert_int_equal(erps_api_parse_change_interval(b, strlen(b), 60, 604800, &s, err,
                                                    sizeof(err)), 400);
    assert_non_null(strstr(err, "often"));
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
    strcpy(st.message, "running");
    cJSON *a = parse_free(erps_api_status_json(&st, ERPS_ROLE_ADMIN));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(a, "IsRunning")));
    assert_string_equal(cJSON_GetObjectItem(a, "Interval")->valuestring, "1.02:03:04");
    assert_string_equal(cJSON_GetObjectItem(a, "StatusMessage")->valuestring, "running");
    cJSON *tr = cJSON_GetObjectItem(a, "TableRight");
    assert_string_equal(cJSON_GetObjectItem(tr, "Mask")->valuestring, "FULL");
    cJSON *fp = cJSON_GetObjectItem(a, "FieldProperties");
    cJSON *ir = cJSON_GetObjectItem(fp, "IsRunning");
    assert_string_equal(cJSON_GetObjectItem(ir, "FieldType")->valuestring,
                        "System.Boolean");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(ir, "FieldRight"), "Mask")->valuestring,
        "FULL");
    /* Only the five WebAPI fields: machine fields stay on Kafka. */
    assert_int_equal(cJSON_GetArraySize(a), 5);
    cJSON_Delete(a);

    cJSON *r = parse_free(erps_api_status_json(&st, ERPS_ROLE_READER));
    tr = cJSON_GetObjectItem(r, "TableRight");
    assert_string_equal(cJSON_GetObjectItem(tr, "Mask")->valuestring, "RF");
    assert_true(strlen(cJSON_GetObjectItem(tr, "Reason")->valuestring) > 0);
    fp = cJSON_GetObjectItem(r, "FieldProperties");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(fp, "Interval"),
                                                "FieldRight"),
                            "Mask")->valuestring,
        "Read");
    cJSON_Delete(r);
}

static void errors_keep_the_webapi_shape(void **state) {
    static const int codes[] = {400, 401, 403, 404, 405, 413, 415, 503, 504};
    (void)state;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        cJSON *e = parse_free(erps_api_error_json(codes[i], "what \"went\" wrong"));
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
        cmocka_unit_test(content_types),
        cmocka_unit_test(change_status_bodies),
        cmocka_unit_test(change_interval_bodies),
        cmocka_unit_test(status_answer_reflects_the_role),
        cmocka_unit_test(errors_keep_the_webapi_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
