/*
 * fuzz_statefile - erps_state_load on a state file holding the input. The
 * file lives in a private temporary directory made once per process.
 */
#include "fuzz_common.h"
#include "statefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static erps_agent_state_t st; /* 37 KiB: not on the stack */
    const char *path = fuzz_tmp_write("state.json", data, size);
    char err[512];
    int found = -1;

    memset(&st, 0, sizeof(st));
    st.engine.interval_s = 900;
    err[0] = '\0';
    if (erps_state_load(path, &st, &found, err, sizeof(err)) != 0) {
        FUZZ_CHECK(err[0] != '\0', "load failed without a reason");
        return 0;
    }
    FUZZ_CHECK(found == 1, "an existing file loaded with found=%d", found);
    FUZZ_CHECK(st.engine.interval_s >= 1, "interval %lld loaded",
               (long long)st.engine.interval_s);
    FUZZ_CHECK(st.applied_cnt >= 0 && st.applied_cnt <= ERPS_APPLIED_MAX,
               "applied_cnt %d", st.applied_cnt);
    FUZZ_CHECK(st.applied_next >= 0 && st.applied_next < ERPS_APPLIED_MAX,
               "applied_next %d", st.applied_next);
    for (int i = 0; i < st.applied_cnt; i++) {
        FUZZ_CHECK(erps_uuid_valid(st.applied[i]), "applied[%d] \"%s\"", i,
                   st.applied[i]);
        FUZZ_CHECK(erps_state_applied_has(&st, st.applied[i]),
                   "applied[%d] not found", i);
    }
    FUZZ_CHECK(memchr(st.engine.last.outcome, '\0',
                      sizeof(st.engine.last.outcome)) != NULL,
               "outcome not terminated");
    FUZZ_CHECK(memchr(st.engine.last.detail, '\0',
                      sizeof(st.engine.last.detail)) != NULL,
               "detail not terminated");
    return 0;
}
