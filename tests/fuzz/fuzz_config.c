/*
 * fuzz_config - erps_cfg_load_file on a config file holding the input, with
 * a table of every setting type (string, bounded integer, boolean) and
 * kafka.* pass-through properties.
 *
 * Oracle: comments do not count. Take the same file with every comment line
 * removed (first non-blank character '#'). When both load, they must give the
 * same settings and kafka.* properties; when the one without comments fails,
 * the original must fail too. (The original may fail alone: a comment line
 * too long for the line buffer is an error.)
 */
#include <ctype.h>
#include <stddef.h>

#include "erpsync/config.h"
#include "fuzz_common.h"

typedef struct conf {
    char name[16];
    char path[64];
    int64_t port;
    int64_t big;
    int flag;
} conf_t;

#define O(f) offsetof(conf_t, f)
static const erps_cfg_opt_t table[] = {
    {"name", ERPS_CFG_STR, "erpsync", 0, 0, O(name),
     sizeof(((conf_t *)0)->name), "a short string"},
    {"some.path", ERPS_CFG_STR, NULL, 0, 0, O(path),
     sizeof(((conf_t *)0)->path), "a longer string, empty by default"},
    {"port", ERPS_CFG_INT, "8080", 1, 65535, O(port), 0, "a bounded integer"},
    {"big", ERPS_CFG_INT, "0", INT64_MIN, INT64_MAX, O(big), 0,
     "the whole int64 range"},
    {"flag", ERPS_CFG_BOOL, "false", 0, 0, O(flag), 0, "a boolean"},
    ERPS_CFG_END};
#undef O

typedef struct loaded {
    int rc;
    conf_t c;
    erps_kprops_t kp;
} loaded_t;

static void load(const uint8_t *data, size_t size, loaded_t *l) {
    const char *path = fuzz_tmp_write("erpsync.conf", data, size);
    char err[512];

    memset(l, 0, sizeof(*l));
    erps_cfg_defaults(table, &l->c);
    err[0] = '\0';
    l->rc = erps_cfg_load_file(table, &l->c, &l->kp, path, err, sizeof(err));
    if (l->rc != 0) {
        FUZZ_CHECK(err[0] != '\0', "load failed without a reason");
    } else {
        FUZZ_CHECK(memchr(l->c.name, '\0', sizeof(l->c.name)),
                   "name unterminated");
        FUZZ_CHECK(memchr(l->c.path, '\0', sizeof(l->c.path)),
                   "path unterminated");
        FUZZ_CHECK(l->c.port >= 1 && l->c.port <= 65535, "port %lld",
                   (long long)l->c.port);
        FUZZ_CHECK(l->c.flag == 0 || l->c.flag == 1, "flag %d", l->c.flag);
    }
    FUZZ_CHECK(l->kp.cnt >= 0 && l->kp.cnt <= ERPS_KPROPS_MAX, "kprops %d",
               l->kp.cnt);
    for (int i = 0; i < l->kp.cnt; i++)
        FUZZ_CHECK(l->kp.name[i] && l->kp.value[i], "kprop %d is NULL", i);
}

/* Copies the input without its comment lines. @returns the new size. */
static size_t strip_comments(const uint8_t *d, size_t n, uint8_t *out) {
    size_t i = 0, o = 0;
    while (i < n) {
        size_t end = i, k = i;
        while (end < n && d[end] != '\n')
            end++;
        if (end < n)
            end++; /* keep the '\n' */
        while (k < end && isspace(d[k]) && d[k] != '\n')
            k++;
        if (!(k < end && d[k] == '#')) {
            memcpy(out + o, d + i, end - i);
            o += end - i;
        }
        i = end;
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static loaded_t a, b;
    uint8_t *plain = malloc(size ? size : 1);
    if (!plain)
        abort();
    size_t plain_size = strip_comments(data, size, plain);

    load(data, size, &a);
    load(plain, plain_size, &b);
    FUZZ_CHECK(b.rc == 0 || a.rc != 0,
               "loads with comments, fails without them");
    if (a.rc == 0 && b.rc == 0) {
        FUZZ_CHECK(
            strcmp(a.c.name, b.c.name) == 0 &&
                strcmp(a.c.path, b.c.path) == 0 && a.c.port == b.c.port &&
                a.c.big == b.c.big && a.c.flag == b.c.flag,
            "a comment changed a setting (port %lld vs %lld, name "
            "\"%s\" vs \"%s\")",
            (long long)a.c.port, (long long)b.c.port, a.c.name, b.c.name);
        FUZZ_CHECK(a.kp.cnt == b.kp.cnt,
                   "%d kafka.* properties, %d without "
                   "comments",
                   a.kp.cnt, b.kp.cnt);
        for (int i = 0; i < a.kp.cnt; i++)
            FUZZ_CHECK(strcmp(a.kp.name[i], b.kp.name[i]) == 0 &&
                           strcmp(a.kp.value[i], b.kp.value[i]) == 0,
                       "kafka property %d differs", i);
    }
    erps_kprops_clear(&a.kp);
    erps_kprops_clear(&b.kp);
    free(plain);
    return 0;
}
