/* test_registry.c - the engine list an agent serves: engine.id lists,
 * engines.file, the rules on ids, and the key index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry.h"

static char file[64];

static int setup(void **state) {
    (void)state;
    strcpy(file, "/tmp/erpsync-engines-XXXXXX");
    int fd = mkstemp(file);
    assert_true(fd >= 0);
    close(fd);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(file);
    return 0;
}

static void write_file(const char *text) {
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void one_engine(void **state) {
    erps_engine_list_t l;
    char err[256];
    (void)state;
    assert_int_equal(erps_engine_list_load("demo", "", &l, err, sizeof(err)),
                     0);
    assert_int_equal(l.cnt, 1);
    assert_string_equal(l.ids[0], "demo");
    erps_engine_list_free(&l);
}

static void list_and_file_in_order(void **state) {
    erps_engine_list_t l;
    char err[256];
    (void)state;
    write_file("# customer databases\n  c-1 \n\nc-2 # moved here in May\r\n"
               "c.3\n   # indented comment\nc_4");
    assert_int_equal(
        erps_engine_list_load(" a , b,", file, &l, err, sizeof(err)), 0);
    assert_int_equal(l.cnt, 6);
    const char *want[] = {"a", "b", "c-1", "c-2", "c.3", "c_4"};
    for (int i = 0; i < 6; i++)
        assert_string_equal(l.ids[i], want[i]);
    erps_engine_list_free(&l);
}

static void bad_lists_are_refused(void **state) {
    erps_engine_list_t l;
    char err[256];
    (void)state;
    assert_int_equal(erps_engine_list_load("a,b,a", "", &l, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "engine a is listed twice"));
    assert_int_equal(erps_engine_list_load("a,b c", "", &l, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "\"b c\""));
    assert_int_equal(erps_engine_list_load(" , ,", "", &l, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "no engine"));
    assert_int_equal(erps_engine_list_load("a", "/nonexistent/engines", &l, err,
                                           sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "/nonexistent/engines"));
    write_file("x\ny\nx\n");
    assert_int_equal(erps_engine_list_load("", file, &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":3: engine x is listed twice"));
    write_file("ok\nnot/ok\n");
    assert_int_equal(erps_engine_list_load("", file, &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":2: engine id"));
    char longid[200];
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    assert_int_equal(erps_engine_list_load(longid, "", &l, err, sizeof(err)),
                     -1);
}

/* ERPS_AGENT_ENGINES_MAX engines: every id is found by its key, and none
 * else is; one more is refused. */
static void index_finds_every_engine(void **state) {
    erps_engine_list_t l;
    erps_engine_index_t ix;
    char err[256], key[32];
    (void)state;
    FILE *fp = fopen(file, "w");
    for (int i = 0; i < 10000; i++)
        fprintf(fp, "engine-%05d\n", i);
    fclose(fp);
    assert_int_equal(erps_engine_list_load("", file, &l, err, sizeof(err)), 0);
    assert_int_equal(l.cnt, 10000);
    assert_int_equal(erps_engine_index_init(&ix, &l), 0);
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "engine-%05d", i);
        assert_int_equal(erps_engine_index_find(&ix, key, strlen(key)), i);
    }
    /* A key is not NUL-terminated in a Kafka record: only len counts. */
    assert_int_equal(erps_engine_index_find(&ix, "engine-00042xyz", 12), 42);
    assert_int_equal(erps_engine_index_find(&ix, "engine-0004", 11), -1);
    assert_int_equal(erps_engine_index_find(&ix, "engine-10000", 12), -1);
    assert_int_equal(erps_engine_index_find(&ix, "", 0), -1);
    erps_engine_index_free(&ix);
    erps_engine_list_free(&l);
    assert_int_equal(
        erps_engine_list_load("one-more", file, &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "more than 10000 engines"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_engine),
        cmocka_unit_test_setup_teardown(list_and_file_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_lists_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(index_finds_every_engine, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
