/*
 * fuzz_users - erps_users_load and erps_tenants_load on a file holding the
 * input (name:hash:tenant:role and tenant:engine lines, '#' comments).
 *
 * Oracle: a file that loads has one principal per line that is neither empty
 * nor a comment, where a line is everything up to '\n' and ends early at the
 * first '\r' or NUL (what the loader keeps of it). More principals than that
 * means text that is not a line of its own became a principal.
 */
#include "auth.h"
#include "fuzz_common.h"

static int expected_users(const uint8_t *d, size_t n) {
    int cnt = 0;
    size_t i = 0;
    while (i < n) {
        size_t end = i;
        while (end < n && d[end] != '\n')
            end++;
        if (end > i && d[i] != '\r' && d[i] != '\0' && d[i] != '#')
            cnt++;
        i = end + 1;
    }
    return cnt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_tmp_write("users", data, size);
    char err[512];

    int want = expected_users(data, size);
    err[0] = '\0';
    erps_tenants_t *t = erps_tenants_load(path, err, sizeof(err));
    if (t) {
        FUZZ_CHECK(erps_tenants_count(t) == want,
                   "%d tenants loaded from a file with %d lines",
                   erps_tenants_count(t), want);
        erps_tenants_destroy(t);
    } else {
        FUZZ_CHECK(err[0] != '\0', "tenants load failed without a reason");
    }
    err[0] = '\0';
    erps_users_t *u = erps_users_load(path, err, sizeof(err));
    if (!u) {
        FUZZ_CHECK(err[0] != '\0', "load failed without a reason");
        return 0;
    }
    FUZZ_CHECK(erps_users_count(u) == want,
               "%d principals loaded from a file with %d user lines",
               erps_users_count(u), want);
    erps_users_destroy(u);
    return 0;
}
