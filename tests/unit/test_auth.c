/* test_auth.c - users file, Basic credentials, password hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"

static char path[64];

static void write_users(const char *text) {
    strcpy(path, "/tmp/erpsync-users-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void hash_and_verify(void **state) {
    char h1[256], h2[256], text[1024];
    erps_principal_t who;
    char err[256];
    (void)state;
    assert_int_equal(erps_password_hash("s3cret", h1, sizeof(h1)), 0);
    assert_int_equal(erps_password_hash("s3cret", h2, sizeof(h2)), 0);
    assert_true(strncmp(h1, "$y$", 3) == 0);
    assert_string_not_equal(h1, h2); /* salted */
    snprintf(text, sizeof(text),
             "# users\nalice:%s:acme:admin\n\nbob:%s:acme:reader\n", h1, h2);
    write_users(text);
    erps_users_t *u = erps_users_load(path, err, sizeof(err));
    unlink(path);
    assert_non_null(u);
    assert_int_equal(erps_users_count(u), 2);

    assert_int_equal(erps_users_verify(u, "alice", "s3cret", &who), 0);
    assert_string_equal(who.name, "alice");
    assert_string_equal(who.tenant, "acme");
    assert_string_equal(who.engine_id, ""); /* the tenants file's job */
    assert_int_equal(who.role, ERPS_ROLE_ADMIN);
    assert_int_equal(erps_users_find(u, "bob", &who), 0);
    assert_string_equal(who.tenant, "acme");
    assert_int_equal(erps_users_find(u, "carol", &who), -1);
    assert_int_equal(erps_users_verify(u, "bob", "s3cret", &who), 0);
    assert_int_equal(who.role, ERPS_ROLE_READER);
    assert_int_equal(erps_users_verify(u, "alice", "S3cret", &who), -1);
    assert_int_equal(erps_users_verify(u, "alice", "", &who), -1);
    assert_int_equal(erps_users_verify(u, "carol", "s3cret", &who), -1);
    /* Names without regard to case, as SuperOffice's; the file's spelling
     * is the principal's; passwords keep their case. */
    assert_int_equal(erps_users_verify(u, "ALICE", "s3cret", &who), 0);
    assert_string_equal(who.name, "alice");
    assert_int_equal(erps_users_find(u, "Bob", &who), 0);
    assert_string_equal(who.name, "bob");
    assert_non_null(erps_users_hash(u, "aLiCe"));
    assert_int_equal(erps_users_verify(u, "Alice", "S3CRET", &who), -1);
    erps_users_destroy(u);

    /* Two spellings of one name are one name listed twice. */
    snprintf(text, sizeof(text), "alice:%s:acme:admin\nAlice:%s:acme:reader\n",
             h1, h2);
    write_users(text);
    assert_null(erps_users_load(path, err, sizeof(err)));
    unlink(path);
    assert_non_null(strstr(err, "listed twice"));
}

static void bad_users_files(void **state) {
    static const char *const bad[] = {
        "alice:$y$j9T$abc:acme:superuser\n",   /* unknown role */
        "alice:$y$j9T$abc:acme\n",             /* missing field */
        "alice:plaintext:acme:admin\n",        /* not a hash */
        "alice:$y$j9T$abc:bad tenant:admin\n", /* tenant name */
        "alice:$y$j9T$abc::admin\n",           /* empty tenant */
        ":$y$j9T$abc:acme:admin\n",            /* empty name */
        "alice:$y$j9T$abc:acme:admin:extra\n",
        "alice:$y$j9T$abc:acme:erp:admin\n", /* the old five fields */
        "alice:$y$j9T$salt$hash:acme:demo:admin:extra\n", /* fuzzing */
    };
    char err[256];
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_users(bad[i]);
        erps_users_t *u = erps_users_load(path, err, sizeof(err));
        unlink(path);
        if (u)
            fail_msg("accepted: %s", bad[i]);
        assert_non_null(strstr(err, ":1:"));
    }
    assert_null(erps_users_load("/nonexistent/users", err, sizeof(err)));
    /* An over-long line is an error, not two lines (found by fuzzing). */
    static char longline[3000];
    memset(longline, 'c', sizeof(longline) - 2);
    longline[0] = '#';
    longline[sizeof(longline) - 2] = '\n';
    write_users(longline);
    assert_null(erps_users_load(path, err, sizeof(err)));
    unlink(path);
    assert_non_null(strstr(err, "line longer than"));
}

static void tenants_file(void **state) {
    char err[256];
    erps_principal_t who;
    (void)state;
    write_users("# tenant:engine\nacme:erp-acme\nglobex:erp-globex\n");
    erps_tenants_t *t = erps_tenants_load(path, err, sizeof(err));
    unlink(path);
    assert_non_null(t);
    assert_int_equal(erps_tenants_count(t), 2);
    memset(&who, 0, sizeof(who));
    strcpy(who.tenant, "globex");
    assert_int_equal(erps_tenants_engine(t, &who), 0);
    assert_string_equal(who.engine_id, "erp-globex");
    strcpy(who.tenant, "initech");
    assert_int_equal(erps_tenants_engine(t, &who), -1);
    assert_string_equal(who.engine_id, ""); /* never the previous engine */
    erps_tenants_destroy(t);

    static const char *const bad[] = {
        "acme\n",
        "acme:erp:x\n",
        "acme:bad engine\n",
        "a cme:erp\n",
        ":erp\n",
        /* one tenant, two engines; two tenants, one engine */
        "acme:erp-1\nacme:erp-2\n",
        "acme:erp-1\nglobex:erp-1\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_users(bad[i]);
        t = erps_tenants_load(path, err, sizeof(err));
        unlink(path);
        if (t)
            fail_msg("accepted: %s", bad[i]);
        assert_non_null(strstr(err, "tenants file"));
    }
}

static void names(void **state) {
    char longest[ERPS_PRINCIPAL_MAX + 2];
    (void)state;
    assert_true(erps_name_valid("alice"));
    assert_true(erps_name_valid("j\xc3\xbcrgen@acme.example"));
    assert_false(erps_name_valid(""));
    assert_false(erps_name_valid("a:b"));
    assert_false(erps_name_valid("a\nb"));
    assert_false(erps_name_valid("a\x7f"));
    memset(longest, 'n', sizeof(longest) - 1);
    longest[ERPS_PRINCIPAL_MAX] = '\0';
    assert_true(erps_name_valid(longest));
    longest[ERPS_PRINCIPAL_MAX] = 'n';
    longest[ERPS_PRINCIPAL_MAX + 1] = '\0';
    assert_false(erps_name_valid(longest));
    assert_true(erps_tenant_valid("acme-1.eu_x"));
    assert_false(erps_tenant_valid("acme corp"));
}

static void basic_headers(void **state) {
    char name[64], pw[64];
    (void)state;
    /* "alice:s3cret" */
    assert_int_equal(erps_basic_parse("Basic YWxpY2U6czNjcmV0", name,
                                      sizeof(name), pw, sizeof(pw)),
                     0);
    assert_string_equal(name, "alice");
    assert_string_equal(pw, "s3cret");
    assert_int_equal(erps_basic_parse("basic   YWxpY2U6czNjcmV0  ", name,
                                      sizeof(name), pw, sizeof(pw)),
                     0);
    /* "a:b:c": the password may contain colons */
    assert_int_equal(
        erps_basic_parse("Basic YTpiOmM=", name, sizeof(name), pw, sizeof(pw)),
        0);
    assert_string_equal(pw, "b:c");
    /* "alice:" : empty password is parsed, and then fails verification */
    assert_int_equal(
        erps_basic_parse("Basic YWxpY2U6", name, sizeof(name), pw, sizeof(pw)),
        0);
    assert_string_equal(pw, "");
    static const char *const bad[] = {
        "Bearer abc",    "Basic",
        "Basic ",        "Basic !!!!",
        "Basic YWxpY2U", "Basic YWxpY2U=x",
        "Basic Og==",    "BasicYWxpY2U6czNjcmV0",
        "Basic YW=x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (erps_basic_parse(bad[i], name, sizeof(name), pw, sizeof(pw)) == 0)
            fail_msg("accepted: %s", bad[i]);
    /* Too long for the caller's buffers. */
    assert_int_equal(
        erps_basic_parse("Basic YWxpY2U6czNjcmV0", name, 3, pw, sizeof(pw)),
        -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_and_verify), cmocka_unit_test(bad_users_files),
        cmocka_unit_test(tenants_file),    cmocka_unit_test(names),
        cmocka_unit_test(basic_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
