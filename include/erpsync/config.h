/*
 * config.h - one table per program describes every setting: its name, type,
 * default, bounds and help. The same table reads the config file, the
 * environment and the command line, validates, and prints --help, so the
 * three never drift apart (the way Redis' config.c works).
 *
 * Precedence, lowest first: defaults, config file (-c FILE), environment
 * (ERPSYNC_<NAME> with dots as underscores, upper case), command line.
 * Any librdkafka property passes through unchanged with -X key=value, or as
 * `kafka.<property> = value` in the file (kcat's habit): SASL and SSL need no
 * code of ours.
 */
#ifndef ERPSYNC_CONFIG_H
#define ERPSYNC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef enum erps_cfg_type {
    ERPS_CFG_STR,  /* char[size] */
    ERPS_CFG_INT,  /* int64_t, min..max */
    ERPS_CFG_BOOL, /* int, 0 or 1; true/false/yes/no/on/off/1/0 */
} erps_cfg_type_t;

typedef struct erps_cfg_opt {
    const char *name;
    erps_cfg_type_t type;
    const char *def; /* default as text; NULL for "" */
    int64_t min, max;
    size_t offset; /* offsetof() into the program's config struct */
    size_t size;   /* for STR: the buffer size */
    const char *help;
} erps_cfg_opt_t;

/* The log.level, log.format and log.file rows every long-running program
 * has, for a struct with char members log_level[16], log_format[8] and
 * log_file[1024]. */
#define ERPS_CFG_LOG(type)                                                     \
    {"log.level", ERPS_CFG_STR,                                                \
     "info",      0,                                                           \
     0,           offsetof(type, log_level),                                   \
     16,          "error, warn, info or debug"},                               \
        {"log.format",                                                         \
         ERPS_CFG_STR,                                                         \
         "text",                                                               \
         0,                                                                    \
         0,                                                                    \
         offsetof(type, log_format),                                           \
         8,                                                                    \
         "text (time program level: message) or json (one object per line)"},  \
    {                                                                          \
        "log.file", ERPS_CFG_STR, "", 0, 0, offsetof(type, log_file), 1024,    \
            "append log lines to this file instead of standard error; SIGHUP " \
            "reopens it"                                                       \
    }

#define ERPS_CFG_END                                                           \
    { NULL, 0, NULL, 0, 0, 0, 0, NULL }

/** librdkafka properties passed through (-X / kafka.*), in order given. */
#define ERPS_KPROPS_MAX 64
typedef struct erps_kprops {
    int cnt;
    char *name[ERPS_KPROPS_MAX];
    char *value[ERPS_KPROPS_MAX];
} erps_kprops_t;

int erps_kprops_add(erps_kprops_t *kp, const char *name, const char *value);
void erps_kprops_clear(erps_kprops_t *kp);

/** Applies every default in the table to obj. */
void erps_cfg_defaults(const erps_cfg_opt_t *table, void *obj);

/**
 * Sets one setting by name from text, validating type and bounds.
 * @returns 0, or -1 with a message naming the setting in errstr.
 */
int erps_cfg_set(const erps_cfg_opt_t *table, void *obj, const char *name,
                 const char *value, char *errstr, size_t errstr_size);

/** Reads `name = value` lines ('#' comments). kafka.* go to kp. */
int erps_cfg_load_file(const erps_cfg_opt_t *table, void *obj,
                       erps_kprops_t *kp, const char *path, char *errstr,
                       size_t errstr_size);

/** Applies ERPSYNC_* environment variables that name a setting. */
int erps_cfg_load_env(const erps_cfg_opt_t *table, void *obj, char *errstr,
                      size_t errstr_size);

/**
 * Whether `--name next` takes next as the value of setting name: always for
 * strings and integers, for a boolean only when next reads as one (so
 * `--follow` alone means true). 0 for an unknown name or no next.
 */
int erps_cfg_takes_next(const erps_cfg_opt_t *table, const char *name,
                        const char *next);

/**
 * Parses argv: -c FILE, -X prop=value, --name=value, --name value, a
 * boolean's --name alone (true), -h/--help
 * (--check and --version are left to erps_cfg_startup). An unknown --name is
 * "unknown setting", with or without a value.
 * File first, then environment, then the other arguments.
 * @returns 0 to run, 1 when help was printed, -1 on error (errstr set).
 */
int erps_cfg_parse_args(const erps_cfg_opt_t *table, void *obj,
                        erps_kprops_t *kp, int argc, char **argv,
                        const char *usage, char *errstr, size_t errstr_size);

/**
 * The start of every program: log ident, defaults, then file, environment
 * and argv, then the level from the table's `log.level` setting. Errors are
 * printed as "PROG: message" on stderr. `--version` prints "PROG VERSION"
 * and returns 1 without reading any setting; `--check` also checks the -X
 * properties (when a checker is registered) and is remembered for
 * erps_cfg_checked().
 * @returns 0 to run, 1 when help or the version was printed, -1 on a
 * configuration error.
 */
int erps_cfg_startup(const erps_cfg_opt_t *table, void *obj, erps_kprops_t *kp,
                     int argc, char **argv, const char *prog,
                     const char *usage);

/**
 * Call once the program has validated its settings, before it opens a file,
 * a socket or a Kafka client: with --check it prints "PROG: configuration is
 * valid", clears kp (may be NULL) and returns 1: the program then exits 0.
 * Otherwise returns 0 and leaves kp alone.
 */
int erps_cfg_checked(const char *prog, erps_kprops_t *kp);

/**
 * Checks the pass-through properties during --check. The settings machinery
 * does not link librdkafka; the Kafka glue (common/kafka.c) registers
 * librdkafka's own check when a program is linked with it.
 * @returns 0, or -1 with the reason in errstr.
 */
typedef int(erps_cfg_prop_check_fn)(const erps_kprops_t *kp, char *errstr,
                                    size_t errstr_size);
void erps_cfg_set_prop_check(erps_cfg_prop_check_fn *fn);

/** The version of this build: CMakeLists.txt's project VERSION. */
const char *erps_version(void);

/** Prints one line per setting: name, type, default, bounds, help. */
void erps_cfg_print_help(const erps_cfg_opt_t *table, const char *usage);

#endif
