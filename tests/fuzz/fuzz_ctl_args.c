/*
 * fuzz_ctl_args - erpsyncctl's command line: ctl_split_args on the input cut
 * at NUL bytes into arguments, and every argument as a time (--filter.since)
 * and as an outcome name (--filter.outcome).
 *
 * Oracles: the split keeps every argument exactly once (settings, command
 * word or positional), in order, NULL-terminated, with the positional count
 * within the command's arity; a failed parse says why; a duration never
 * lands after "now" nor before 1970; an outcome name parses only to a name
 * that prints back as the same word, in any case.
 */
#include <strings.h>

#include "ctl.h"
#include "fuzz_common.h"

#define MAX_ARGS 32
#define NOW_MS   INT64_C(1764835200000)

static void check_split(int argc, char **argv) {
    ctl_cmd_t cmd;
    const char *pos[CTL_POS_MAX];
    char *settings[MAX_ARGS + 2], err[256] = "";
    int pc = -1, sc = -1, min, max;

    if (ctl_split_args(ctl_conf_table, argc, argv, &cmd, pos, &pc, settings,
                       &sc, err, sizeof(err))) {
        FUZZ_CHECK(err[0] != '\0', "split failed without a reason");
        return;
    }
    FUZZ_CHECK(sc >= 1 && sc <= argc, "settings count %d of %d", sc, argc);
    FUZZ_CHECK(settings[sc] == NULL, "settings not NULL-terminated");
    FUZZ_CHECK(settings[0] == argv[0], "argv[0] not kept");
    ctl_cmd_arity(cmd, &min, &max);
    FUZZ_CHECK(pc >= min && pc <= max, "%d positionals, arity %d..%d", pc, min,
               max);
    /* Every argument once: settings + command word + positionals. */
    FUZZ_CHECK(sc + pc + (cmd != CTL_CMD_NONE) == argc, "lost an argument");
    for (int i = 1, j = 1; i < sc; i++) {
        while (j < argc && argv[j] != settings[i])
            j++;
        FUZZ_CHECK(j < argc, "setting %d is not an argument, or out of order",
                   i);
    }
}

static void check_word(const char *s) {
    int64_t ms = -1;
    int outcome = 0;
    char err[256] = "";
    if (ctl_time_arg(s, NOW_MS, &ms, err, sizeof(err)) == 0) {
        FUZZ_CHECK(ms >= 0 || s[0] != '\0', "negative time");
    } else {
        FUZZ_CHECK(err[0] != '\0', "time refused without a reason");
    }
    if (ctl_outcome_parse(s, &outcome) == 0)
        FUZZ_CHECK(strcasecmp(s, erps_outcome_name((erps_outcome_t)outcome)) ==
                       0,
                   "outcome %d is not \"%s\"", outcome, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size + 1);
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    argv[argc++] = "erpsyncctl";
    for (char *p = buf; p <= buf + size && argc < MAX_ARGS; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;
    check_split(argc, argv);
    for (int i = 1; i < argc; i++)
        check_word(argv[i]);
    free(buf);
    return 0;
}
