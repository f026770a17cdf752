/* test_config.c - the settings table: defaults, bounds, file, env, argv. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "erpsync/config.h"

typedef struct conf {
    char name[16];
    int64_t count;
    int flag;
} conf_t;

static const erps_cfg_opt_t table[] = {
    {"name", ERPS_CFG_STR, "dflt", 0, 0, offsetof(conf_t, name), 16, "a name"},
    {"count", ERPS_CFG_INT, "5", 1, 10, offsetof(conf_t, count), 0, "a count"},
    {"flag.on", ERPS_CFG_BOOL, "false", 0, 0, offsetof(conf_t, flag), 0,
     "a flag"},
    ERPS_CFG_END};

static void defaults(void **state) {
    conf_t c;
    (void)state;
    memset(&c, 0xff, sizeof(c));
    erps_cfg_defaults(table, &c);
    assert_string_equal(c.name, "dflt");
    assert_int_equal(c.count, 5);
    assert_int_equal(c.flag, 0);
}

static void set_validates(void **state) {
    conf_t c;
    char err[256];
    (void)state;
    erps_cfg_defaults(table, &c);
    assert_int_equal(erps_cfg_set(table, &c, "count", "10", err, sizeof(err)),
                     0);
    assert_int_equal(c.count, 10);
    assert_int_equal(erps_cfg_set(table, &c, "count", "11", err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "count"));
    assert_non_null(strstr(err, "1..10"));
    assert_int_equal(erps_cfg_set(table, &c, "count", "3x", err, sizeof(err)),
                     -1);
    assert_int_equal(erps_cfg_set(table, &c, "count", "", err, sizeof(err)),
                     -1);
    assert_int_equal(c.count, 10);
    assert_int_equal(
        erps_cfg_set(table, &c, "flag.on", "YES", err, sizeof(err)), 0);
    assert_int_equal(c.flag, 1);
    assert_int_equal(
        erps_cfg_set(table, &c, "flag.on", "maybe", err, sizeof(err)), -1);
    assert_int_equal(
        erps_cfg_set(table, &c, "name", "0123456789abcdef", err, sizeof(err)),
        -1);
    assert_string_equal(c.name, "dflt");
    assert_int_equal(erps_cfg_set(table, &c, "nope", "1", err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "unknown setting"));
}

static char *write_tmp(const char *text) {
    static char path[64];
    strcpy(path, "/tmp/erpsync-cfg-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void file_and_kafka_props(void **state) {
    conf_t c;
    erps_kprops_t kp = {0};
    char err[256];
    (void)state;
    erps_cfg_defaults(table, &c);
    char *path = write_tmp("# comment\n\n name = from-file \ncount=7\n"
                           "kafka.security.protocol = SASL_SSL\n");
    assert_int_equal(erps_cfg_load_file(table, &c, &kp, path, err, sizeof(err)),
                     0);
    assert_string_equal(c.name, "from-file");
    assert_int_equal(c.count, 7);
    assert_int_equal(kp.cnt, 1);
    assert_string_equal(kp.name[0], "security.protocol");
    assert_string_equal(kp.value[0], "SASL_SSL");
    unlink(path);

    path = write_tmp("count = 70\n");
    assert_int_equal(erps_cfg_load_file(table, &c, &kp, path, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, ":1: count"));
    unlink(path);
    /* An over-long line is an error, not two lines (found by fuzzing). */
    static char longline[6000];
    memset(longline, 'c', sizeof(longline) - 2);
    longline[0] = '#';
    longline[sizeof(longline) - 2] = '\n';
    path = write_tmp(longline);
    assert_int_equal(erps_cfg_load_file(table, &c, &kp, path, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "line longer than"));
    unlink(path);
    path = write_tmp("just words\n");
    assert_int_equal(erps_cfg_load_file(table, &c, &kp, path, err, sizeof(err)),
                     -1);
    unlink(path);
    assert_int_equal(
        erps_cfg_load_file(table, &c, &kp, "/nonexistent/x", err, sizeof(err)),
        -1);
    erps_kprops_clear(&kp);
}

static void argv_precedence(void **state) {
    conf_t c;
    erps_kprops_t kp = {0};
    char err[256];
    (void)state;
    erps_cfg_defaults(table, &c);
    char *path = write_tmp("name = file\ncount = 2\n");
    setenv("ERPSYNC_COUNT", "3", 1);
    setenv("ERPSYNC_FLAG_ON", "true", 1);
    char *argv[] = {"prog",     "--name=cli",    "-c",      path, "-X",
                    "acks=all", "-Xlinger.ms=5", "--count", "4",  NULL};
    assert_int_equal(
        erps_cfg_parse_args(table, &c, &kp, 9, argv, "usage", err, sizeof(err)),
        0);
    assert_string_equal(c.name, "cli"); /* command line beats file */
    assert_int_equal(c.count, 4);       /* command line beats env */
    assert_int_equal(c.flag, 1);        /* env beats default */
    assert_int_equal(kp.cnt, 2);
    assert_string_equal(kp.value[1], "5");
    unsetenv("ERPSYNC_COUNT");
    unsetenv("ERPSYNC_FLAG_ON");
    unlink(path);

    char *bad1[] = {"prog", "stray", NULL};
    assert_int_equal(
        erps_cfg_parse_args(table, &c, &kp, 2, bad1, "u", err, sizeof(err)),
        -1);
    char *bad2[] = {"prog", "-X", "noequals", NULL};
    assert_int_equal(
        erps_cfg_parse_args(table, &c, &kp, 3, bad2, "u", err, sizeof(err)),
        -1);
    char *bad3[] = {"prog", "--count", NULL};
    assert_int_equal(
        erps_cfg_parse_args(table, &c, &kp, 2, bad3, "u", err, sizeof(err)),
        -1);
    erps_kprops_clear(&kp);
}

/* "--nosuch" used to read as a setting without its value ("--nosuch needs
 * a value"); it is an unknown setting, with a value or without. */
static void unknown_flag_is_named(void **state) {
    conf_t c;
    erps_kprops_t kp = {0};
    char err[256];
    (void)state;
    erps_cfg_defaults(table, &c);
    char *alone[] = {"prog", "--nosuch", NULL};
    assert_int_equal(
        erps_cfg_parse_args(table, &c, &kp, 2, alone, "u", err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "unknown setting \"nosuch\""));
    assert_null(strstr(err, "needs a value"));
    char *spaced[] = {"prog", "--nosuch", "1", NULL};
    assert_int_equal(
        erps_cfg_parse_args(table, &c, &kp, 3, spaced, "u", err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "unknown setting"));
    char *eq[] = {"prog", "--nosuch=1", NULL};
    assert_int_equal(
        erps_cfg_parse_args(table, &c, &kp, 2, eq, "u", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown setting"));
    /* A known one without its value still says so. */
    char *novalue[] = {"prog", "--count", NULL};
    assert_int_equal(
        erps_cfg_parse_args(table, &c, &kp, 2, novalue, "u", err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "needs a value"));
    erps_kprops_clear(&kp);
}

/* A boolean's --name alone is true; it used to take the next argument as
 * its value ("--flag.on --count=3": not a boolean). */
static void bool_flag_alone(void **state) {
    conf_t c;
    erps_kprops_t kp = {0};
    char err[256];
    (void)state;
    erps_cfg_defaults(table, &c);
    char *alone[] = {"prog", "--flag.on", "--count=3", NULL};
    assert_int_equal(
        erps_cfg_parse_args(table, &c, &kp, 3, alone, "u", err, sizeof(err)),
        0);
    assert_int_equal(c.flag, 1);
    assert_int_equal(c.count, 3);
    char *last[] = {"prog", "--flag.on", NULL};
    c.flag = 0;
    assert_int_equal(
        erps_cfg_parse_args(table, &c, &kp, 2, last, "u", err, sizeof(err)), 0);
    assert_int_equal(c.flag, 1);
    char *off[] = {"prog", "--flag.on", "off", NULL};
    assert_int_equal(
        erps_cfg_parse_args(table, &c, &kp, 3, off, "u", err, sizeof(err)), 0);
    assert_int_equal(c.flag, 0);
    assert_int_equal(erps_cfg_takes_next(table, "flag.on", "yes"), 1);
    assert_int_equal(erps_cfg_takes_next(table, "flag.on", "status"), 0);
    assert_int_equal(erps_cfg_takes_next(table, "count", "--x"), 1);
    assert_int_equal(erps_cfg_takes_next(table, "nope", "1"), 0);
    assert_int_equal(erps_cfg_takes_next(table, "count", NULL), 0);
    erps_kprops_clear(&kp);
}

/* --version used to be "--version needs a value". */
static void version_flag(void **state) {
    conf_t c;
    erps_kprops_t kp = {0};
    (void)state;
    /* The version comes from CMakeLists.txt: digits and dots, not the
     * fallback of a build without one. */
    const char *v = erps_version();
    assert_string_not_equal(v, "unknown");
    assert_true(strspn(v, "0123456789.") == strlen(v) && v[0] != '\0');
    /* Printed before any setting is read: a bad one cannot hide it. */
    char *argv[] = {"prog", "--count=99", "--version", NULL};
    assert_int_equal(erps_cfg_startup(table, &c, &kp, 3, argv, "prog", "u"), 1);
    assert_int_equal(kp.cnt, 0);
}

static void check_flag(void **state) {
    conf_t c;
    erps_kprops_t kp = {0};
    (void)state;
    /* Valid settings: start-up goes on, and the program's own checks run
     * before erps_cfg_checked() says "valid" and frees kp. */
    char *ok[] = {"prog", "--check", "--count=3", "-X", "acks=all", NULL};
    assert_int_equal(erps_cfg_startup(table, &c, &kp, 5, ok, "prog", "u"), 0);
    assert_int_equal(c.count, 3);
    assert_int_equal(kp.cnt, 1);
    assert_int_equal(erps_cfg_checked("prog", &kp), 1);
    assert_int_equal(kp.cnt, 0);
    /* An invalid one is the same error as without --check. */
    char *bad[] = {"prog", "--check", "--count=99", NULL};
    assert_int_equal(erps_cfg_startup(table, &c, &kp, 3, bad, "prog", "u"), -1);
    erps_kprops_clear(&kp);
    /* Without --check the program runs. */
    char *run[] = {"prog", "--count=2", NULL};
    assert_int_equal(erps_cfg_startup(table, &c, &kp, 2, run, "prog", "u"), 0);
    assert_int_equal(erps_cfg_checked("prog", &kp), 0);
    /* "--check" as the value of -X is not the flag. */
    char *xval[] = {"prog", "-X", "--check", NULL};
    assert_int_equal(erps_cfg_startup(table, &c, &kp, 3, xval, "prog", "u"),
                     -1);
    assert_int_equal(erps_cfg_checked("prog", &kp), 0);
    erps_kprops_clear(&kp);
}

static void kprops_replace(void **state) {
    erps_kprops_t kp = {0};
    (void)state;
    assert_int_equal(erps_kprops_add(&kp, "a", "1"), 0);
    assert_int_equal(erps_kprops_add(&kp, "a", "2"), 0);
    assert_int_equal(kp.cnt, 1);
    assert_string_equal(kp.value[0], "2");
    erps_kprops_clear(&kp);
    assert_int_equal(kp.cnt, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(set_validates),
        cmocka_unit_test(file_and_kafka_props),
        cmocka_unit_test(argv_precedence),
        cmocka_unit_test(kprops_replace),
        cmocka_unit_test(unknown_flag_is_named),
        cmocka_unit_test(version_flag),
        cmocka_unit_test(check_flag),
        cmocka_unit_test(bool_flag_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
