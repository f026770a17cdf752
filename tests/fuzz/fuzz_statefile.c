/*
 * fuzz_statefile - erps_state_load on a state file holding the input, for an
 * agent of two engines on two partitions (so both layouts are read: the
 * single-engine one, found by the file name "state", and a fleet's). The
 * file lives in a private temporary directory made once per process.
 */
#include "fuzz_common.h"
#include "statefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static erps_agent_state_t st; /* large: not on the stack */
    static erps_engine_rec_t engines[2];
    static erps_part_rec_t parts[2];
    const char *path = fuzz_tmp_write("state.json", data, size);
    char err[512];
    int found = -1;

    memset(&st, 0, sizeof(st));
    memset(engines, 0, sizeof(engines));
    strcpy(engines[0].id, "state");
    strcpy(engines[1].id, "other");
    for (int i = 0; i < 2; i++) {
        engines[i].engine.interval_s = 900;
        parts[i] = (erps_part_rec_t){i, -1, -1};
    }
    st.engines = engines;
    st.engine_cnt = 2;
    st.parts = parts;
    st.part_cnt = 2;
    err[0] = '\0';
    if (erps_state_load(path, &st, &found, err, sizeof(err)) != 0) {
        FUZZ_CHECK(err[0] != '\0', "load failed without a reason");
        return 0;
    }
    FUZZ_CHECK(found == 1, "an existing file loaded with found=%d", found);
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
    for (int e = 0; e < 2; e++) {
        const erps_engine_saved_t *sv = &engines[e].engine;
        FUZZ_CHECK(sv->interval_s >= 1, "engine %d: interval %lld loaded", e,
                   (long long)sv->interval_s);
        FUZZ_CHECK(memchr(sv->last.outcome, '\0', sizeof(sv->last.outcome)) !=
                       NULL,
                   "outcome not terminated");
        FUZZ_CHECK(memchr(sv->last.detail, '\0', sizeof(sv->last.detail)) !=
                       NULL,
                   "detail not terminated");
    }
    FUZZ_CHECK(parts[0].partition == 0 && parts[1].partition == 1,
               "partition numbers changed");
    return 0;
}
