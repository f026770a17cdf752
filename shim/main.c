/*
 * main.c - erpsync-shim: configuration, signals, --hash-password.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "erpsync/log.h"
#include "shim.h"

static volatile sig_atomic_t stop_asap;

static void on_signal(int sig) {
    (void)sig;
    stop_asap = 1;
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

int main(int argc, char **argv) {
    erps_shim_conf_t conf;
    erps_kprops_t kp = {0};
    char err[1024];

    if (argc == 2 && strcmp(argv[1], "--hash-password") == 0)
        return hash_password();

    memset(&conf, 0, sizeof(conf));
    int rc = erps_cfg_startup(
        erps_shim_conf_table, &conf, &kp, argc, argv, "erpsync-shim",
        "usage: erpsync-shim [-c FILE] [-X prop=value] --users.file=FILE "
        "[--name=value ...]\n"
        "       erpsync-shim --hash-password < password");
    if (rc) {
        erps_kprops_clear(&kp);
        return rc < 0 ? 2 : 0;
    }
    if (!conf.users_file[0]) {
        fprintf(stderr, "erpsync-shim: users.file is required\n");
        return 2;
    }

    erps_signals_on_stop(on_signal);

    erps_shim_t *shim = erps_shim_start(&conf, &kp, err, sizeof(err));
    if (!shim) {
        erps_err("%s", err);
        erps_kprops_clear(&kp);
        return 1;
    }
    while (!stop_asap) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    erps_info("stopping");
    erps_shim_stop(shim);
    erps_kprops_clear(&kp);
    return 0;
}
