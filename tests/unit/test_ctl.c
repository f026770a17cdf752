/* test_ctl.c - erpsyncctl's pure half: the command line among the settings,
 * time arguments, the audit filter, and what it prints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cjson/cJSON.h"
#include "ctl.h"

static int split(int argc, char **argv, ctl_cmd_t *cmd, const char **pos,
                 int *pos_cnt, char **settings, int *settings_cnt) {
    char err[256];
    return ctl_split_args(ctl_conf_table, argc, argv, cmd, pos, pos_cnt,
                          settings, settings_cnt, err, sizeof(err));
}

static void split_finds_the_command_among_settings(void **state) {
    ctl_cmd_t cmd;
    const char *pos[CTL_POS_MAX];
    char *settings[16];
    int pc, sc;
    (void)state;
    /* --name value, -c FILE and -X PROP=VALUE keep their values. */
    char *argv[] = {"erpsyncctl", "--timeout.ms",  "500",
                    "-c",         "f.conf",        "interval",
                    "-X",         "acks=all",      "plant-7",
                    "PT15M",      "--format=json", NULL};
    assert_int_equal(split(11, argv, &cmd, pos, &pc, settings, &sc), 0);
    assert_int_equal(cmd, CTL_CMD_INTERVAL);
    assert_int_equal(pc, 2);
    assert_string_equal(pos[0], "plant-7");
    assert_string_equal(pos[1], "PT15M");
    assert_int_equal(sc, 8);
    assert_string_equal(settings[0], "erpsyncctl");
    assert_string_equal(settings[2], "500");
    assert_string_equal(settings[4], "f.conf");
    assert_string_equal(settings[6], "acks=all");
    assert_string_equal(settings[7], "--format=json");
    assert_null(settings[8]);
    /* --check, --version and --help take no value. */
    char *flags[] = {"erpsyncctl", "--check", "status", NULL};
    assert_int_equal(split(3, flags, &cmd, pos, &pc, settings, &sc), 0);
    assert_int_equal(cmd, CTL_CMD_STATUS);
    assert_int_equal(pc, 0);
    char *none[] = {"erpsyncctl", "--version", NULL};
    assert_int_equal(split(2, none, &cmd, pos, &pc, settings, &sc), 0);
    assert_int_equal(cmd, CTL_CMD_NONE);
    /* A boolean alone is true and does not swallow the command (it took
     * "audit" as its value); a boolean word after it is its value. */
    char *follow[] = {"erpsyncctl", "--follow", "audit",
                      "--follow",   "false",    NULL};
    assert_int_equal(split(5, follow, &cmd, pos, &pc, settings, &sc), 0);
    assert_int_equal(cmd, CTL_CMD_AUDIT);
    assert_int_equal(pc, 0);
    assert_int_equal(sc, 4);
    assert_string_equal(settings[3], "false");
}

static void split_refuses_bad_command_lines(void **state) {
    ctl_cmd_t cmd;
    const char *pos[CTL_POS_MAX];
    char *settings[16], err[256];
    int pc, sc;
    (void)state;
    char *unknown[] = {"erpsyncctl", "restart", NULL};
    assert_int_equal(ctl_split_args(ctl_conf_table, 2, unknown, &cmd, pos, &pc,
                                    settings, &sc, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "unknown command \"restart\""));
    char *many[] = {"erpsyncctl", "status", "a", "b", NULL};
    assert_int_equal(split(4, many, &cmd, pos, &pc, settings, &sc), -1);
    char *three[] = {"erpsyncctl", "interval", "a", "b", "c", NULL};
    assert_int_equal(split(5, three, &cmd, pos, &pc, settings, &sc), -1);
    char *none[] = {"erpsyncctl", "interval", NULL};
    assert_int_equal(ctl_split_args(ctl_conf_table, 2, none, &cmd, pos, &pc,
                                    settings, &sc, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "interval takes 1 to 2"));
}

static void time_args(void **state) {
    int64_t now = INT64_C(1764835200000), ms; /* 2025-12-04T08:00:00Z */
    char err[256];
    (void)state;
    assert_int_equal(
        ctl_time_arg("2025-12-04T07:00:00Z", now, &ms, err, sizeof(err)), 0);
    assert_int_equal(ms, now - 3600000);
    assert_int_equal(ctl_time_arg("15m", now, &ms, err, sizeof(err)), 0);
    assert_int_equal(ms, now - 900000);
    assert_int_equal(ctl_time_arg("2d", now, &ms, err, sizeof(err)), 0);
    assert_int_equal(ms, now - 2 * 86400000);
    assert_int_equal(ctl_time_arg("90s", now, &ms, err, sizeof(err)), 0);
    assert_int_equal(ms, now - 90000);
    assert_int_equal(ctl_time_arg("PT1H", now, &ms, err, sizeof(err)), 0);
    assert_int_equal(ms, now - 3600000);
    assert_int_equal(ctl_time_arg("01:00:00", now, &ms, err, sizeof(err)), 0);
    assert_int_equal(ms, now - 3600000);
    /* A bare number is .NET TimeSpan text: days. */
    assert_int_equal(ctl_time_arg("15", now, &ms, err, sizeof(err)), 0);
    assert_int_equal(ms, now - 15 * INT64_C(86400000));
    const char *bad[] = {"",
                         "m",
                         "15x",
                         "1.5h",
                         "-5m",
                         "15mm",
                         "99999999999999999999d",
                         "100000000d",
                         "yesterday"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ctl_time_arg(bad[i], now, &ms, err, sizeof(err)), -1);
    /* Further back than 1970. */
    assert_int_equal(ctl_time_arg("30000d", now, &ms, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "1970"));
}

static void audit_filter(void **state) {
    erps_audit_t au;
    int o;
    (void)state;
    memset(&au, 0, sizeof(au));
    strcpy(au.ce.subject, "plant-7");
    strcpy(au.principal, "alice");
    au.outcome = ERPS_OUTCOME_REJECTED;
    au.ce.time_ms = 5000;
    ctl_filter_t f = {0};
    assert_true(ctl_audit_match(&f, &au));
    assert_int_equal(ctl_outcome_parse("rejected", &o), 0);
    assert_int_equal(o, ERPS_OUTCOME_REJECTED);
    assert_int_equal(ctl_outcome_parse("DEADLETTERED", &o), 0);
    assert_int_equal(ctl_outcome_parse("Maybe", &o), -1);
    assert_int_equal(ctl_outcome_parse("", &o), -1);
    f = (ctl_filter_t){"plant-7", "alice", ERPS_OUTCOME_REJECTED, 5000, 5000};
    assert_true(ctl_audit_match(&f, &au));
    f.engine_id = "plant-8";
    assert_false(ctl_audit_match(&f, &au));
    f.engine_id = "";
    f.principal = "bob";
    assert_false(ctl_audit_match(&f, &au));
    f.principal = NULL;
    f.outcome = ERPS_OUTCOME_APPLIED;
    assert_false(ctl_audit_match(&f, &au));
    f.outcome = 0;
    f.since_ms = 5001;
    assert_false(ctl_audit_match(&f, &au));
    f.since_ms = 0;
    f.until_ms = 4999;
    assert_false(ctl_audit_match(&f, &au));
}

static void status_json_and_text(void **state) {
    erps_status_t st;
    char line[2048];
    (void)state;
    memset(&st, 0, sizeof(st));
    strcpy(st.ce.subject, "plant-7");
    st.ce.time_ms = INT64_C(1764835200000);
    st.state = ERPS_STATE_RUNNING;
    st.is_running = true;
    st.interval_s = 900;
    st.sequence = 12;
    strcpy(st.message, "running\x1b[2J\nfake line");
    char *json = ctl_status_json(&st);
    assert_non_null(json);
    cJSON *o = cJSON_Parse(json);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "engine")->valuestring,
                        "plant-7");
    assert_string_equal(cJSON_GetObjectItem(o, "state")->valuestring,
                        "Running");
    assert_string_equal(cJSON_GetObjectItem(o, "interval")->valuestring,
                        "00:15:00");
    assert_string_equal(cJSON_GetObjectItem(o, "time")->valuestring,
                        "2025-12-04T08:00:00.000Z");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "commandId")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "lastIteration")));
    assert_int_equal(cJSON_GetObjectItem(o, "sequence")->valueint, 12);
    cJSON_Delete(o);
    free(json);
    /* Text for a terminal: one line, no escape sequence from Kafka. */
    ctl_status_text(&st, line, sizeof(line));
    assert_non_null(strstr(line, "plant-7"));
    assert_non_null(strstr(line, "every 00:15:00"));
    assert_null(strchr(line, '\x1b'));
    assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1);
}

static void audit_json_and_text(void **state) {
    erps_audit_t au;
    char line[2048];
    (void)state;
    memset(&au, 0, sizeof(au));
    strcpy(au.ce.subject, "plant-7");
    au.outcome = ERPS_OUTCOME_APPLIED;
    strcpy(au.command_type, "ChangeEngineStatus");
    strcpy(au.principal, "alice");
    strcpy(au.client_addr, "10.0.0.1");
    au.before_state = ERPS_STATE_STOPPED;
    au.after_state = ERPS_STATE_RUNNING;
    au.before_interval_s = au.after_interval_s = 60;
    char *json = ctl_audit_json(&au);
    assert_non_null(json);
    cJSON *o = cJSON_Parse(json);
    assert_string_equal(cJSON_GetObjectItem(o, "outcome")->valuestring,
                        "Applied");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(o, "after"), "state")
            ->valuestring,
        "Running");
    cJSON_Delete(o);
    free(json);
    ctl_audit_text(&au, line, sizeof(line));
    assert_non_null(strstr(line, "Applied"));
    assert_non_null(strstr(line, "by alice from 10.0.0.1"));
    assert_non_null(strstr(line, "Stopped 00:01:00 -> Running 00:01:00"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_finds_the_command_among_settings),
        cmocka_unit_test(split_refuses_bad_command_lines),
        cmocka_unit_test(time_args),
        cmocka_unit_test(audit_filter),
        cmocka_unit_test(status_json_and_text),
        cmocka_unit_test(audit_json_and_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
