/*
 * config.c - table-driven settings: file, environment, command line, help,
 * and the flags every program shares (--version, --check).
 */
#include "erpsync/config.h"
#include "erpsync/log.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* CMakeLists.txt's one project VERSION; the fuzz build compiles this file
 * on its own and has no version to give. */
#ifndef ERPSYNC_VERSION
#define ERPSYNC_VERSION "unknown"
#endif

/* Set by erps_cfg_startup when --check was given; read by erps_cfg_checked.
 * Start-up runs on the main thread before any other thread exists. */
static int check_only;
/* librdkafka's view of -X properties, when the program links the glue. */
static erps_cfg_prop_check_fn *prop_check;

void erps_cfg_set_prop_check(erps_cfg_prop_check_fn *fn) {
    prop_check = fn;
}

const char *erps_version(void) {
    return ERPSYNC_VERSION;
}

int erps_kprops_add(erps_kprops_t *kp, const char *name, const char *value) {
    for (int i = 0; i < kp->cnt; i++) {
        if (strcmp(kp->name[i], name) == 0) {
            char *v = strdup(value);
            if (!v)
                return -1;
            free(kp->value[i]);
            kp->value[i] = v;
            return 0;
        }
    }
    if (kp->cnt >= ERPS_KPROPS_MAX)
        return -1;
    kp->name[kp->cnt] = strdup(name);
    kp->value[kp->cnt] = strdup(value);
    if (!kp->name[kp->cnt] || !kp->value[kp->cnt]) {
        free(kp->name[kp->cnt]);
        free(kp->value[kp->cnt]);
        return -1;
    }
    kp->cnt++;
    return 0;
}

void erps_kprops_clear(erps_kprops_t *kp) {
    for (int i = 0; i < kp->cnt; i++) {
        free(kp->name[i]);
        free(kp->value[i]);
    }
    kp->cnt = 0;
}

static const erps_cfg_opt_t *find_opt(const erps_cfg_opt_t *table,
                                      const char *name) {
    for (; table->name; table++)
        if (strcmp(table->name, name) == 0)
            return table;
    return NULL;
}

static int parse_bool(const char *v, int *out) {
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int set_opt(const erps_cfg_opt_t *o, void *obj, const char *value,
                   char *errstr, size_t errstr_size) {
    char *field = (char *)obj + o->offset;

    switch (o->type) {
    case ERPS_CFG_STR:
        if (strlen(value) >= o->size) {
            snprintf(errstr, errstr_size, "%s: value longer than %zu bytes",
                     o->name, o->size - 1);
            return -1;
        }
        memcpy(field, value, strlen(value) + 1);
        return 0;
    case ERPS_CFG_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end != '\0') {
            snprintf(errstr, errstr_size, "%s: \"%s\" is not an integer",
                     o->name, value);
            return -1;
        }
        if (v < o->min || v > o->max) {
            snprintf(errstr, errstr_size,
                     "%s: %lld is out of range %" PRId64 "..%" PRId64, o->name,
                     v, o->min, o->max);
            return -1;
        }
        *(int64_t *)field = v;
        return 0;
    }
    case ERPS_CFG_BOOL:
        if (parse_bool(value, (int *)field)) {
            snprintf(errstr, errstr_size,
                     "%s: \"%s\" is not a boolean (true/false)", o->name,
                     value);
            return -1;
        }
        return 0;
    }
    return -1;
}

void erps_cfg_defaults(const erps_cfg_opt_t *table, void *obj) {
    char err[256];
    for (; table->name; table++) {
        /* Defaults are ours and tested; a bad one is a programming error. */
        if (set_opt(table, obj, table->def ? table->def : "", err,
                    sizeof(err))) {
            fprintf(stderr, "BUG: default for %s\n", err);
            abort();
        }
    }
}

int erps_cfg_set(const erps_cfg_opt_t *table, void *obj, const char *name,
                 const char *value, char *errstr, size_t errstr_size) {
    const erps_cfg_opt_t *o = find_opt(table, name);
    if (!o) {
        snprintf(errstr, errstr_size, "unknown setting \"%s\"", name);
        return -1;
    }
    return set_opt(o, obj, value, errstr, errstr_size);
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int erps_cfg_load_file(const erps_cfg_opt_t *table, void *obj,
                       erps_kprops_t *kp, const char *path, char *errstr,
                       size_t errstr_size) {
    FILE *fp = fopen(path, "r");
    char line[4096], err[512];
    int lineno = 0, ret = -1;

    if (!fp) {
        snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), fp)) {
        lineno++;
        /* The rest of an over-long line would read as a line of its own. */
        if (!strchr(line, '\n') && !feof(fp)) {
            snprintf(errstr, errstr_size, "%s:%d: line longer than %zu bytes",
                     path, lineno, sizeof(line) - 2);
            goto out;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(errstr, errstr_size, "%s:%d: expected name = value", path,
                     lineno);
            goto out;
        }
        *eq = '\0';
        char *name = trim(s), *value = trim(eq + 1);
        if (strncmp(name, "kafka.", 6) == 0) {
            if (erps_kprops_add(kp, name + 6, value)) {
                snprintf(errstr, errstr_size,
                         "%s:%d: too many kafka.* settings", path, lineno);
                goto out;
            }
        } else if (erps_cfg_set(table, obj, name, value, err, sizeof(err))) {
            snprintf(errstr, errstr_size, "%s:%d: %s", path, lineno, err);
            goto out;
        }
    }
    ret = 0;
out:
    fclose(fp);
    return ret;
}

int erps_cfg_load_env(const erps_cfg_opt_t *table, void *obj, char *errstr,
                      size_t errstr_size) {
    char envname[128], err[512];
    for (; table->name; table++) {
        size_t n = (size_t)snprintf(envname, sizeof(envname), "ERPSYNC_%s",
                                    table->name);
        if (n >= sizeof(envname))
            continue;
        for (char *p = envname; *p; p++)
            *p = (*p == '.' || *p == '-') ? '_'
                                          : (char)toupper((unsigned char)*p);
        const char *v = getenv(envname);
        if (v && set_opt(table, obj, v, err, sizeof(err))) {
            snprintf(errstr, errstr_size, "environment %s: %s", envname, err);
            return -1;
        }
    }
    return 0;
}

void erps_cfg_print_help(const erps_cfg_opt_t *table, const char *usage) {
    static const char *const tnames[] = {"string", "int", "bool"};
    printf(
        "%s\n\nOptions:\n"
        "  -c FILE              read settings from FILE (name = value)\n"
        "  -X PROP=VALUE        pass a librdkafka property through\n"
        "  --NAME=VALUE         set a setting (also ERPSYNC_NAME in the "
        "environment)\n"
        "  --check              validate the settings, then exit (0: valid)\n"
        "  --version            print the version and exit\n"
        "  -h, --help           this help\n\nSettings:\n",
        usage);
    for (; table->name; table++) {
        printf("  %-28s %-6s default: %s", table->name, tnames[table->type],
               table->def && *table->def ? table->def : "(empty)");
        if (table->type == ERPS_CFG_INT)
            printf(" [%" PRId64 "..%" PRId64 "]", table->min, table->max);
        printf("\n      %s\n", table->help);
    }
}

/* Splits "name=value" in place. */
static int split_kv(char *arg, char **name, char **value) {
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return -1;
    *eq = '\0';
    *name = arg;
    *value = eq + 1;
    return 0;
}

/* -X PROP=VALUE or -XPROP=VALUE at argv[*i]; *i moves past a separate
 * value. */
static int parse_x(erps_kprops_t *kp, int argc, char **argv, int *i,
                   char *errstr, size_t errstr_size) {
    char buf[4096], *name, *value;
    const char *a = argv[*i];
    const char *kv = a[2] ? a + 2 : (*i + 1 < argc ? argv[++*i] : NULL);
    if (!kv || strlen(kv) >= sizeof(buf)) {
        snprintf(errstr, errstr_size, "-X needs property=value");
        return -1;
    }
    memcpy(buf, kv, strlen(kv) + 1);
    if (split_kv(buf, &name, &value)) {
        snprintf(errstr, errstr_size, "-X %s: expected property=value", kv);
        return -1;
    }
    if (erps_kprops_add(kp, name, value)) {
        snprintf(errstr, errstr_size, "-X: too many properties");
        return -1;
    }
    return 0;
}

int erps_cfg_takes_next(const erps_cfg_opt_t *table, const char *name,
                        const char *next) {
    const erps_cfg_opt_t *o = find_opt(table, name);
    int b;
    if (!o || !next)
        return 0;
    return o->type != ERPS_CFG_BOOL || parse_bool(next, &b) == 0;
}

/* --name=value, --name value, or a boolean's --name alone (true) at
 * argv[*i] (shorter than buf). */
static int parse_setting(const erps_cfg_opt_t *table, void *obj, int argc,
                         char **argv, int *i, char *errstr,
                         size_t errstr_size) {
    char buf[4096], err[512], *name, *value;
    const char *a = argv[*i];
    memcpy(buf, a + 2, strlen(a + 2) + 1);
    if (split_kv(buf, &name, &value)) {
        /* --name value. An unknown name is named as such, not as a
         * setting that lacks its value. */
        if (!find_opt(table, buf)) {
            snprintf(errstr, errstr_size, "unknown setting \"%s\" (see --help)",
                     buf);
            return -1;
        }
        name = buf;
        if (erps_cfg_takes_next(table, buf,
                                *i + 1 < argc ? argv[*i + 1] : NULL)) {
            value = argv[++*i];
        } else if (find_opt(table, buf)->type == ERPS_CFG_BOOL) {
            value = "true"; /* --follow */
        } else {
            snprintf(errstr, errstr_size, "%s needs a value", a);
            return -1;
        }
    }
    if (erps_cfg_set(table, obj, name, value, err, sizeof(err))) {
        snprintf(errstr, errstr_size, "%s", err);
        return -1;
    }
    return 0;
}

/* -h/--help, then every -c FILE: files first, wherever -c stands, so the
 * command line wins. @returns 0, 1 after help, -1 on error. */
static int help_and_files(const erps_cfg_opt_t *table, void *obj,
                          erps_kprops_t *kp, int argc, char **argv,
                          const char *usage, char *errstr, size_t errstr_size) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            erps_cfg_print_help(table, usage);
            return 1;
        }
        if (strcmp(argv[i], "-c") == 0) {
            if (i + 1 >= argc) {
                snprintf(errstr, errstr_size, "-c needs a file name");
                return -1;
            }
            if (erps_cfg_load_file(table, obj, kp, argv[++i], errstr,
                                   errstr_size))
                return -1;
        }
    }
    return 0;
}

int erps_cfg_parse_args(const erps_cfg_opt_t *table, void *obj,
                        erps_kprops_t *kp, int argc, char **argv,
                        const char *usage, char *errstr, size_t errstr_size) {
    int rc =
        help_and_files(table, obj, kp, argc, argv, usage, errstr, errstr_size);
    if (rc)
        return rc;
    if (erps_cfg_load_env(table, obj, errstr, errstr_size))
        return -1;

    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-c") == 0) {
            i++;
        } else if (strcmp(a, "--check") == 0 || strcmp(a, "--version") == 0) {
            continue; /* erps_cfg_startup's flags, not settings */
        } else if (strncmp(a, "-X", 2) == 0) {
            rc = parse_x(kp, argc, argv, &i, errstr, errstr_size);
        } else if (strncmp(a, "--", 2) == 0 && strlen(a + 2) < 4096) {
            rc = parse_setting(table, obj, argc, argv, &i, errstr, errstr_size);
        } else {
            snprintf(errstr, errstr_size,
                     "unexpected argument \"%s\" (see --help)", a);
            rc = -1;
        }
    }
    return rc;
}

/* @returns 1 when argv holds flag as an argument of its own (not the value
 * of -c or -X). */
static int has_flag(int argc, char **argv, const char *flag) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "-X") == 0)
            i++;
        else if (strcmp(argv[i], flag) == 0)
            return 1;
    }
    return 0;
}

int erps_cfg_startup(const erps_cfg_opt_t *table, void *obj, erps_kprops_t *kp,
                     int argc, char **argv, const char *prog,
                     const char *usage) {
    char err[1024];
    erps_log_set_ident(prog);
    /* Before anything else, so a broken config file cannot hide it. */
    if (has_flag(argc, argv, "--version")) {
        printf("%s %s\n", prog, erps_version());
        return 1;
    }
    check_only = has_flag(argc, argv, "--check");
    erps_cfg_defaults(table, obj);
    int rc = erps_cfg_parse_args(table, obj, kp, argc, argv, usage, err,
                                 sizeof(err));
    if (rc < 0)
        fprintf(stderr, "%s: %s\n", prog, err);
    if (rc)
        return rc;
    const erps_cfg_opt_t *lvl = find_opt(table, "log.level");
    if (lvl && erps_log_set_level((const char *)obj + lvl->offset)) {
        fprintf(stderr, "%s: log.level: unknown level \"%s\"\n", prog,
                (const char *)obj + lvl->offset);
        return -1;
    }
    const erps_cfg_opt_t *file = find_opt(table, "log.file");
    if (file && erps_log_open((const char *)obj + file->offset)) {
        fprintf(stderr, "%s: log.file: cannot open \"%s\": %s\n", prog,
                (const char *)obj + file->offset, strerror(errno));
        return -1;
    }
    const erps_cfg_opt_t *fmt = find_opt(table, "log.format");
    if (fmt && erps_log_set_format((const char *)obj + fmt->offset)) {
        fprintf(stderr, "%s: log.format: \"%s\" is neither text nor json\n",
                prog, (const char *)obj + fmt->offset);
        return -1;
    }
    /* A start finds a bad property when it creates its client; --check
     * opens no client, so it asks librdkafka here. */
    if (check_only && prop_check && prop_check(kp, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return -1;
    }
    return 0;
}

int erps_cfg_checked(const char *prog, erps_kprops_t *kp) {
    if (!check_only)
        return 0;
    if (kp)
        erps_kprops_clear(kp);
    printf("%s: configuration is valid\n", prog);
    return 1;
}
