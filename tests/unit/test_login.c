/* test_login.c - who is calling: the order of the checks in shim/login.c,
 * the limits, restricted mode and the session a password login earns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "login.h"
#include "tokens.h"

#define NFILES 4
static char files[NFILES][64];
static int nfiles;

static const char *write_file(const char *text) {
    char *path = files[nfiles++];
    strcpy(path, "/tmp/erpsync-login-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void remove_files(void) {
    while (nfiles > 0)
        unlink(files[--nfiles]);
}

/* alice (admin, acme), bob (reader, globex: no engine); limits of 3. */
static erps_shim_conf_t conf_for(int restricted, int sessions) {
    erps_shim_conf_t c;
    char hash[256], text[1024], hex[65];
    memset(&c, 0, sizeof(c));
    assert_int_equal(erps_password_hash("s3cret", hash, sizeof(hash)), 0);
    snprintf(text, sizeof(text), "alice:%s:acme:admin\nbob:%s:globex:reader\n",
             hash, hash);
    strcpy(c.users_file, write_file(text));
    strcpy(c.tenants_file, write_file("acme:erp-acme\nglobex:erp-globex\n"));
    if (restricted) {
        erps_sha256_hex("app-token-1", hex);
        snprintf(text, sizeof(text), "%s:Invoice Sync\n", hex);
        strcpy(c.apptokens_file, write_file(text));
        c.restricted = 1;
    }
    if (sessions) {
        strcpy(c.session_key_file,
               write_file("0123456789abcdef0123456789abcdef-session-key\n"));
        c.session_ttl_ms = 3600000;
    }
    c.login_failures_max = 3;
    c.login_failures_window_ms = 60000;
    c.account_failures_max = 100;
    c.account_failures_window_ms = 60000;
    c.credential_cache_ms = 0;
    return c;
}

/* "Basic " + base64("alice:s3cret") */
#define ALICE       "Basic YWxpY2U6czNjcmV0"
#define ALICE_WRONG "Basic YWxpY2U6d3Jvbmc=" /* alice:wrong */
#define BOB         "Basic Ym9iOnMzY3JldA==" /* bob:s3cret */

static int check(erps_login_t *lg, const char *auth, const char *addr,
                 erps_login_out_t *out, char *err) {
    erps_login_in_t in = {.authorization = auth, .client_addr = addr};
    return erps_login_check(lg, &in, out, err, 256);
}

static void basic_gives_principal_and_engine(void **state) {
    (void)state;
    erps_shim_conf_t c = conf_for(0, 0);
    char err[256];
    erps_login_t *lg = erps_login_new(&c, err, sizeof(err));
    assert_non_null(lg);
    erps_login_out_t out;
    assert_int_equal(check(lg, ALICE, "10.0.0.1", &out, err), 0);
    assert_string_equal(out.who.name, "alice");
    assert_string_equal(out.who.engine_id, "erp-acme");
    assert_int_equal(out.who.role, ERPS_ROLE_ADMIN);
    assert_int_equal(out.basic, 1);
    assert_string_equal(out.account, "alice");
    erps_login_destroy(lg);
    remove_files();
}

static void refusals_name_the_cause_not_the_secret(void **state) {
    (void)state;
    erps_shim_conf_t c = conf_for(0, 0);
    char err[256];
    erps_login_t *lg = erps_login_new(&c, err, sizeof(err));
    erps_login_out_t out;
    erps_login_stats_t st;

    assert_int_equal(check(lg, NULL, "10.0.0.2", &out, err), 401);
    assert_non_null(strstr(err, "authentication required"));
    assert_non_null(strstr(err, "(Basic)")); /* only the schemes on */
    assert_int_equal(check(lg, ALICE_WRONG, "10.0.0.2", &out, err), 401);
    assert_string_equal(err, "wrong user name or password");
    assert_int_equal(out.basic, 0);
    assert_int_equal(check(lg, "Bearer abc.def.ghi", "10.0.0.2", &out, err),
                     401);
    assert_non_null(strstr(err, "Bearer authentication is not enabled"));
    /* A client that forgot the scheme: its credentials are not echoed. */
    assert_int_equal(check(lg, "c2VjcmV0LXRva2Vu", "10.0.0.9", &out, err), 401);
    assert_null(strstr(err, "c2VjcmV0"));
    assert_non_null(strstr(err, "malformed"));
    assert_int_equal(check(lg, "Digest x=1", "10.0.0.9", &out, err), 401);
    assert_non_null(strstr(err, "\"Digest\" is not supported"));
    /* bob's tenant is known but a reader of another engine: fine; a tenant
     * without an engine would be 403 (test_auth covers the file). */
    assert_int_equal(check(lg, BOB, "10.0.0.3", &out, err), 0);
    assert_string_equal(out.who.engine_id, "erp-globex");
    erps_login_stats(lg, &st);
    assert_int_equal(st.failures, 4); /* the first call had no credentials */
    erps_login_destroy(lg);
    remove_files();
}

static void address_limit_is_429_with_retry_after(void **state) {
    (void)state;
    erps_shim_conf_t c = conf_for(0, 0);
    char err[256];
    erps_login_t *lg = erps_login_new(&c, err, sizeof(err));
    erps_login_out_t out;
    erps_login_stats_t st;
    for (int i = 0; i < 3; i++)
        assert_int_equal(check(lg, ALICE_WRONG, "10.0.0.4", &out, err), 401);
    /* Even the right password waits now, from that address only. */
    assert_int_equal(check(lg, ALICE, "10.0.0.4", &out, err), 429);
    assert_true(out.retry_after_s >= 1 && out.retry_after_s <= 60);
    assert_non_null(strstr(err, "from this address"));
    assert_int_equal(check(lg, ALICE, "10.0.0.5", &out, err), 0);
    erps_login_stats(lg, &st);
    assert_int_equal(st.limited, 1);
    assert_int_equal(st.failures, 3);
    erps_login_destroy(lg);
    remove_files();
}

static void restricted_mode_needs_a_registered_app(void **state) {
    (void)state;
    erps_shim_conf_t c = conf_for(1, 0);
    char err[256];
    erps_login_t *lg = erps_login_new(&c, err, sizeof(err));
    assert_non_null(lg);
    erps_login_out_t out;
    erps_login_in_t in = {.authorization = ALICE, .client_addr = "10.0.0.6"};
    assert_int_equal(erps_login_check(lg, &in, &out, err, sizeof(err)), 403);
    assert_non_null(strstr(err, "send its SO-AppToken"));
    in.app_token = "app-token-2";
    assert_int_equal(erps_login_check(lg, &in, &out, err, sizeof(err)), 403);
    assert_non_null(strstr(err, "not registered"));
    in.app_token = "app-token-1";
    assert_int_equal(erps_login_check(lg, &in, &out, err, sizeof(err)), 0);
    /* Credentials first: a wrong password is 401 whatever the app. */
    in.authorization = ALICE_WRONG;
    assert_int_equal(erps_login_check(lg, &in, &out, err, sizeof(err)), 401);
    erps_login_destroy(lg);
    remove_files();

    c = conf_for(0, 0);
    c.restricted = 1; /* without an app tokens file: refused at start */
    assert_null(erps_login_new(&c, err, sizeof(err)));
    assert_non_null(strstr(err, "auth.restricted needs auth.apptokens.file"));
    remove_files();
}

static void a_password_login_earns_a_session(void **state) {
    (void)state;
    erps_shim_conf_t c = conf_for(0, 1);
    char err[256], sess[ERPS_SET_COOKIE_MAX], xsrf[ERPS_SET_COOKIE_MAX];
    char cookie[ERPS_SET_COOKIE_MAX], token[ERPS_SET_COOKIE_MAX];
    erps_login_t *lg = erps_login_new(&c, err, sizeof(err));
    assert_non_null(lg);
    erps_login_out_t out, again;
    assert_int_equal(check(lg, ALICE, "10.0.0.7", &out, err), 0);
    assert_int_equal(erps_login_session_cookies(lg, &out.who, sess, xsrf), 0);
    assert_non_null(strstr(sess, "HttpOnly"));
    assert_null(strstr(xsrf, "HttpOnly")); /* the page's script reads it */
    /* The cookie and the token, as a browser sends them back. */
    assert_int_equal(
        sscanf(sess, ERPS_SESSION_COOKIE_NAME "=%1023[^;]", cookie), 1);
    assert_int_equal(sscanf(xsrf, ERPS_XSRF_COOKIE_NAME "=%1023[^;]", token),
                     1);
    char header[ERPS_SET_COOKIE_MAX + 32];
    snprintf(header, sizeof(header),
             "theme=dark; " ERPS_SESSION_COOKIE_NAME "=%s", cookie);
    erps_login_in_t in = {
        .cookie = header, .xsrf = token, .client_addr = "10.0.0.7"};
    assert_int_equal(erps_login_check(lg, &in, &again, err, sizeof(err)), 0);
    assert_string_equal(again.who.name, "alice");
    assert_string_equal(again.who.engine_id, "erp-acme");
    assert_int_equal(again.basic, 0); /* no new session for a session */
    in.xsrf = NULL; /* a cross-site form cannot echo the token */
    assert_int_equal(erps_login_check(lg, &in, &again, err, sizeof(err)), 401);
    erps_login_destroy(lg);
    remove_files();
}

/* SIGHUP's reload: a new password takes effect at once (the cached
 * credential is forgotten), a new user can log in, and a broken file keeps
 * the files read before. */
static void reload_reads_the_files_again(void **state) {
    (void)state;
    erps_shim_conf_t c = conf_for(0, 0);
    c.credential_cache_ms = 60000; /* the cache must not outlive a reload */
    char err[256], hash[256], text[1024];
    erps_login_t *lg = erps_login_new(&c, err, sizeof(err));
    assert_non_null(lg);
    erps_login_out_t out;
    erps_login_stats_t st;
    assert_int_equal(check(lg, ALICE, "10.0.1.1", &out, err), 0);
    assert_int_equal(check(lg, ALICE, "10.0.1.1", &out, err), 0);
    erps_login_stats(lg, &st);
    assert_int_equal(st.cache_hits, 1);

    /* alice's password is now "wrong"; bob is gone; carol (admin) came. */
    assert_int_equal(erps_password_hash("wrong", hash, sizeof(hash)), 0);
    snprintf(text, sizeof(text), "alice:%s:acme:admin\ncarol:%s:acme:admin\n",
             hash, hash);
    FILE *fp = fopen(c.users_file, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(check(lg, BOB, "10.0.1.2", &out, err), 0); /* not yet */
    char what[200];
    erps_login_describe(lg, what, sizeof(what)); /* takes the lock too */
    assert_non_null(strstr(what, "2 users, 2 tenants"));
    assert_int_equal(erps_login_reload(lg, err, sizeof(err)), 0);
    erps_login_describe(lg, what, sizeof(what));
    assert_non_null(strstr(what, "2 users, 2 tenants"));
    assert_int_equal(check(lg, ALICE, "10.0.1.3", &out, err), 401);
    assert_int_equal(check(lg, ALICE_WRONG, "10.0.1.3", &out, err), 0);
    assert_int_equal(check(lg, BOB, "10.0.1.4", &out, err), 401);
    assert_int_equal(check(lg, "Basic Y2Fyb2w6d3Jvbmc=", "10.0.1.5", &out, err),
                     0); /* carol:wrong */
    assert_string_equal(out.who.engine_id, "erp-acme");

    /* A user of a tenant the tenants file lacks: all or nothing. */
    fp = fopen(c.users_file, "w");
    assert_non_null(fp);
    fprintf(fp, "dave:%s:initech:admin\n", hash);
    fclose(fp);
    assert_int_equal(erps_login_reload(lg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "initech"));
    assert_int_equal(check(lg, ALICE_WRONG, "10.0.1.6", &out, err), 0);
    erps_login_destroy(lg);
    remove_files();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(basic_gives_principal_and_engine),
        cmocka_unit_test(refusals_name_the_cause_not_the_secret),
        cmocka_unit_test(address_limit_is_429_with_retry_after),
        cmocka_unit_test(restricted_mode_needs_a_registered_app),
        cmocka_unit_test(a_password_login_earns_a_session),
        cmocka_unit_test(reload_reads_the_files_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
