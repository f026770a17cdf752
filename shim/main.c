/*
 * main.c - erpsync-shim: configuration, signals, and the small tools for
 * its files: --hash-password (users file), --issue-ticket (ticket store),
 * --hash-token (app tokens file).
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "body.h"
#include "listener.h"
#include "erpsync/log.h"
#include "erpsync/util.h"
#include "shim.h"
#include "tokens.h"

static volatile sig_atomic_t stop_asap; /* signals received */

static void on_signal(int sig) {
    (void)sig;
    stop_asap++;
}

/* /readyz turns 503 at once; calls are served for shutdown.drain.ms more,
 * or until a second signal. */
static void drain(erps_shim_t *shim, int64_t ms) {
    erps_shim_drain(shim);
    if (ms <= 0)
        return;
    erps_info("draining: /readyz answers 503, calls are served for %" PRId64
              " ms more",
              ms);
    for (int64_t end = erps_mono_ms() + ms;
         stop_asap < 2 && erps_mono_ms() < end;) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Reads one line from stdin (no echo handling: meant for pipes and scripts)
 * and prints its crypt hash for the users file. */
static int hash_password(void) {
    char pw[512], hash[256];
    if (!fgets(pw, sizeof(pw), stdin)) {
        fprintf(stderr, "erpsync-shim: --hash-password reads the password from "
                        "standard input\n");
        return 2;
    }
    if (!strchr(pw, '\n') && !feof(stdin)) {
        explicit_bzero(pw, sizeof(pw));
        fprintf(stderr,
                "erpsync-shim: the password is longer than %zu "
                "bytes\n",
                sizeof(pw) - 2);
        return 1;
    }
    pw[strcspn(pw, "\r\n")] = '\0';
    if (pw[0] == '\0' || erps_password_hash(pw, hash, sizeof(hash))) {
        explicit_bzero(pw, sizeof(pw));
        fprintf(stderr, "erpsync-shim: cannot hash an empty password\n");
        return 1;
    }
    explicit_bzero(pw, sizeof(pw));
    printf("%s\n", hash);
    return 0;
}

/* Prints a new SOTicket for a user and records its hash in the store. */
static int issue_ticket(const char *path, const char *user, const char *ttl) {
    char ticket[128], err[512], *end;
    long long secs = strtoll(ttl, &end, 10);
    if (*end || secs < 1 || secs > 366LL * 86400) {
        fprintf(stderr,
                "erpsync-shim: the ticket lifetime is 1..31622400 "
                "seconds, not %s\n",
                ttl);
        return 2;
    }
    if (!erps_name_valid(user)) {
        fprintf(stderr,
                "erpsync-shim: \"%s\" cannot be a user name (1-%d "
                "printable bytes, no ':')\n",
                user, ERPS_PRINCIPAL_MAX);
        return 2;
    }
    if (erps_tickets_issue(path, user, secs * 1000, erps_now_ms(), ticket,
                           sizeof(ticket), err, sizeof(err))) {
        fprintf(stderr, "erpsync-shim: %s\n", err);
        return 1;
    }
    printf("%s\n", ticket);
    explicit_bzero(ticket, sizeof(ticket));
    return 0;
}

/* Reads an app token from stdin and prints the line for the app tokens file. */
static int hash_token(const char *app) {
    char tok[1024], hex[65];
    if (!fgets(tok, sizeof(tok), stdin)) {
        fprintf(stderr, "erpsync-shim: --hash-token reads the token from "
                        "standard input\n");
        return 2;
    }
    if (!strchr(tok, '\n') && !feof(stdin)) {
        explicit_bzero(tok, sizeof(tok));
        fprintf(stderr, "erpsync-shim: the token is longer than %zu bytes\n",
                sizeof(tok) - 2);
        return 1;
    }
    tok[strcspn(tok, "\r\n")] = '\0';
    if (!tok[0]) {
        fprintf(stderr, "erpsync-shim: the token is empty\n");
        return 1;
    }
    if (app && !erps_name_valid(app)) {
        fprintf(stderr,
                "erpsync-shim: \"%s\" cannot be an app name (1-%d "
                "printable bytes, no ':')\n",
                app, ERPS_PRINCIPAL_MAX);
        return 2;
    }
    erps_sha256_hex(tok, hex);
    explicit_bzero(tok, sizeof(tok));
    printf("%s%s%s\n", hex, app ? ":" : "", app ? app : "");
    return 0;
}

/* The commands that help set up the files, before any setting is read.
 * @returns their exit code, or -1 when argv is not one of them. */
static int tool_command(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--hash-password") == 0)
        return hash_password();
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "--issue-ticket") == 0)
        return issue_ticket(argv[2], argv[3], argc == 5 ? argv[4] : "3600");
    if ((argc == 2 || argc == 3) && strcmp(argv[1], "--hash-token") == 0)
        return hash_token(argc == 3 ? argv[2] : NULL);
    return -1;
}

/* Settings from files, ERPSYNC_* and flags. @returns -1 to go on, else the
 * exit code (2 for bad settings, 0 after --help, --version or --check). */
static int read_settings(int argc, char **argv, erps_shim_conf_t *conf,
                         erps_kprops_t *kp) {
    memset(conf, 0, sizeof(*conf));
    int rc = erps_cfg_startup(
        erps_shim_conf_table, conf, kp, argc, argv, "erpsync-shim",
        "usage: erpsync-shim [-c FILE] [-X prop=value] --users.file=FILE "
        "--tenants.file=FILE [--name=value ...]\n"
        "       erpsync-shim --hash-password < password\n"
        "       erpsync-shim --issue-ticket TICKETS_FILE USER [TTL_SECONDS]\n"
        "       erpsync-shim --hash-token [APP_NAME] < token");
    if (rc) {
        erps_kprops_clear(kp);
        return rc < 0 ? 2 : 0;
    }
    if (!conf->users_file[0] || !conf->tenants_file[0]) {
        fprintf(stderr, "erpsync-shim: users.file and tenants.file are "
                        "required\n");
        erps_kprops_clear(kp);
        return 2;
    }
    return erps_cfg_checked("erpsync-shim", kp) ? 0 : -1;
}

/* Until SIGINT or SIGTERM; SIGHUP (counted by the handler) reads the
 * credential files again here, outside the signal handler. */
static void serve(erps_shim_t *shim) {
    sig_atomic_t hangups = erps_hangups;
    while (!stop_asap) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
        if (erps_hangups != hangups) {
            hangups = erps_hangups;
            erps_shim_reload(shim);
        }
    }
}

int main(int argc, char **argv) {
    erps_shim_conf_t conf;
    erps_kprops_t kp = {0};
    char err[1024];
    int rc = tool_command(argc, argv), in_use;

    if (rc >= 0 || (rc = read_settings(argc, argv, &conf, &kp)) >= 0)
        return rc;
    erps_signals_on_stop(on_signal);
    erps_body_init(); /* libxml2, before any HTTP thread */
    /* First: a busy port is the commonest mistake, and says so at once. */
    int fd =
        erps_listener_open(conf.listen_addr, (int)conf.port,
                           conf.listen_reuseport, &in_use, err, sizeof(err));
    erps_shim_t *shim =
        fd < 0 ? NULL : erps_shim_start(&conf, &kp, fd, err, sizeof(err));
    if (!shim) {
        erps_err("%s", err);
        erps_body_cleanup();
        erps_kprops_clear(&kp);
        return fd < 0 && in_use ? ERPS_SHIM_EXIT_PORT_IN_USE : 1;
    }
    serve(shim);
    drain(shim, conf.drain_ms);
    erps_info("stopping");
    erps_shim_stop(shim);
    erps_body_cleanup();
    erps_kprops_clear(&kp);
    return 0;
}
