/* test_statefile.c - durable agent state: round trip, atomicity, corruption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "erpsync/util.h"
#include "statefile.h"

static char dir[64];
static char path[128];

/* One engine on one partition, as a single-engine agent has. */
static erps_agent_state_t *new_state(void) {
    erps_agent_state_t *st = calloc(1, sizeof(*st));
    st->engines = calloc(1, sizeof(*st->engines));
    st->parts = calloc(1, sizeof(*st->parts));
    st->engine_cnt = st->part_cnt = 1;
    strcpy(st->engines[0].id, "demo");
    st->parts[0].committed = st->parts[0].pending = -1;
    return st;
}

static void free_state(erps_agent_state_t *st) {
    if (st) {
        free(st->engines);
        free(st->parts);
        free(st);
    }
}

static int setup(void **state) {
    (void)state;
    strcpy(dir, "/tmp/erpsync-state-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/demo.state.json", dir);
    return 0;
}

static int teardown(void **state) {
    char tmp[160];
    (void)state;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    unlink(path);
    unlink(tmp);
    rmdir(dir);
    return 0;
}

static void missing_file_keeps_defaults(void **state) {
    erps_agent_state_t *st = new_state();
    char err[256];
    int found = 1;
    (void)state;
    st->engines[0].engine.interval_s = 900;
    assert_int_equal(erps_state_load(path, st, &found, err, sizeof(err)), 0);
    assert_int_equal(found, 0);
    assert_int_equal(st->engines[0].engine.interval_s, 900);
    free_state(st);
}

static void round_trip(void **state) {
    erps_agent_state_t *a = new_state(), *b = new_state();
    char err[256], tmp[160];
    int found;
    struct stat sb;
    (void)state;
    a->engines[0].engine.desired_run = true;
    a->engines[0].engine.interval_s = 1800;
    a->engines[0].engine.generation = 7;
    a->engines[0].engine.failures = 2;
    a->engines[0].engine.last.number = 12;
    a->engines[0].engine.last.start_ms = 1795852233123;
    a->engines[0].engine.last.end_ms = 1795852234123;
    a->engines[0].engine.last.exit_code = 3;
    strcpy(a->engines[0].engine.last.outcome, "Failed");
    strcpy(a->engines[0].engine.last.detail, "connection refused \"erp\"");
    a->engines[0].sequence = 99;
    a->parts[0].committed = 4242;
    erps_state_applied_add(a, "5f0c8a3e-2b1d-4c6e-9a7f-0d1e2f3a4b5c");
    erps_state_applied_add(a, "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");

    assert_int_equal(erps_state_save(path, a, err, sizeof(err)), 0);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_equal(stat(tmp, &sb), -1); /* renamed away, nothing left over */
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    assert_int_equal(erps_state_load(path, b, &found, err, sizeof(err)), 0);
    assert_int_equal(found, 1);
    assert_true(b->engines[0].engine.desired_run);
    assert_int_equal(b->engines[0].engine.interval_s, 1800);
    assert_int_equal(b->engines[0].engine.generation, 7);
    assert_int_equal(b->engines[0].engine.failures, 2);
    assert_int_equal(b->engines[0].engine.last.number, 12);
    assert_int_equal(b->engines[0].engine.last.start_ms, 1795852233123);
    assert_int_equal(b->engines[0].engine.last.exit_code, 3);
    assert_string_equal(b->engines[0].engine.last.detail,
                        "connection refused \"erp\"");
    assert_int_equal(b->engines[0].sequence, 99);
    assert_int_equal(b->parts[0].committed, 4242);
    assert_true(
        erps_state_applied_has(b, "5f0c8a3e-2b1d-4c6e-9a7f-0d1e2f3a4b5c"));
    assert_true(
        erps_state_applied_has(b, "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"));
    assert_false(
        erps_state_applied_has(b, "00000000-0000-4000-8000-000000000000"));
    free_state(a);
    free_state(b);
}

static void applied_ring_forgets_the_oldest(void **state) {
    erps_agent_state_t *a = new_state(), *b = new_state();
    char id[40], err[256];
    int found;
    (void)state;
    a->engines[0].engine.interval_s = 60;
    for (int i = 0; i < ERPS_APPLIED_MAX + 10; i++) {
        snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", i);
        erps_state_applied_add(a, id);
    }
    assert_int_equal(a->applied_cnt, ERPS_APPLIED_MAX);
    assert_false(
        erps_state_applied_has(a, "00000000-0000-4000-8000-000000000009"));
    assert_true(
        erps_state_applied_has(a, "00000000-0000-4000-8000-000000000010"));
    assert_int_equal(erps_state_save(path, a, err, sizeof(err)), 0);
    assert_int_equal(erps_state_load(path, b, &found, err, sizeof(err)), 0);
    assert_int_equal(b->applied_cnt, ERPS_APPLIED_MAX);
    snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d",
             ERPS_APPLIED_MAX + 9);
    assert_true(erps_state_applied_has(b, id));
    /* Order survives: the next add evicts the oldest that is left. */
    erps_state_applied_add(b, "11111111-0000-4000-8000-000000000000");
    assert_false(
        erps_state_applied_has(b, "00000000-0000-4000-8000-000000000010"));
    assert_true(
        erps_state_applied_has(b, "00000000-0000-4000-8000-000000000011"));
    free_state(a);
    free_state(b);
}

static void corrupt_file_is_an_error(void **state) {
    erps_agent_state_t *st = new_state();
    char err[256];
    int found;
    (void)state;
    FILE *fp = fopen(path, "w");
    fputs("{\"DesiredRun\": tru", fp);
    fclose(fp);
    assert_int_equal(erps_state_load(path, st, &found, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not an erpsync state file"));
    fp = fopen(path, "w");
    fputs("{\"IntervalSeconds\": 0}", fp);
    fclose(fp);
    assert_int_equal(erps_state_load(path, st, &found, err, sizeof(err)), -1);
    /* Out-of-range numbers are refused or ignored, never cast (fuzzing). */
    fp = fopen(path, "w");
    fputs("{\"IntervalSeconds\": 1e300}", fp);
    fclose(fp);
    assert_int_equal(erps_state_load(path, st, &found, err, sizeof(err)), -1);
    fp = fopen(path, "w");
    fputs("{\"IntervalSeconds\": 60, \"Generation\": 1e300}", fp);
    fclose(fp);
    assert_int_equal(erps_state_load(path, st, &found, err, sizeof(err)), 0);
    assert_int_equal(st->engines[0].engine.generation, 0);
    free_state(st);
}

static void unwritable_dir_is_an_error(void **state) {
    erps_agent_state_t *st = new_state();
    char err[256];
    (void)state;
    st->engines[0].engine.interval_s = 60;
    assert_int_equal(
        erps_state_save("/nonexistent-dir/x.json", st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "nonexistent-dir"));
    free_state(st);
}

static void pending_until_confirmed(void **state) {
    erps_agent_state_t *a = new_state(), *b = new_state();
    erps_pending_t p;
    char err[256];
    int found;
    (void)state;
    a->engines[0].engine.interval_s = 60;
    memset(&p, 0, sizeof(p));
    strcpy(p.id, "5f0c8a3e-2b1d-4c6e-9a7f-0d1e2f3a4b5c");
    p.outcome = ERPS_OUTCOME_APPLIED;
    p.before_state = ERPS_STATE_STOPPED;
    p.before_interval_s = 900;
    assert_int_equal(erps_state_pending_add(a, &p), 0);
    assert_int_equal(erps_state_pending_add(a, &p), 0); /* once */
    assert_int_equal(a->pending_cnt, 1);
    assert_false(erps_state_applied_has(a, p.id));
    /* Saved before the transaction, it survives a crash as pending. */
    assert_int_equal(erps_state_save(path, a, err, sizeof(err)), 0);
    assert_int_equal(erps_state_load(path, b, &found, err, sizeof(err)), 0);
    const erps_pending_t *q = erps_state_pending_find(b, p.id);
    assert_non_null(q);
    assert_int_equal(q->outcome, ERPS_OUTCOME_APPLIED);
    assert_int_equal(q->before_state, ERPS_STATE_STOPPED);
    assert_int_equal(q->before_interval_s, 900);
    assert_true(q->recovered);
    /* A commit of something else (the start-up status) does not confirm a
     * recovered id: its outcome is not on Kafka yet. */
    erps_state_pending_confirm(b);
    assert_non_null(erps_state_pending_find(b, p.id));
    assert_false(erps_state_applied_has(b, p.id));
    /* Republished in the next transaction, then confirmed: applied. */
    erps_state_pending_republish(b, p.id);
    erps_state_pending_confirm(b);
    assert_null(erps_state_pending_find(b, p.id));
    assert_true(erps_state_applied_has(b, p.id));
    free_state(a);
    free_state(b);
}

/* A batch: written once before its transaction with the offset that
 * transaction commits; its pending ids come back marked in flight, those
 * recovered from an earlier crash do not. */
static void batch_in_flight_round_trip(void **state) {
    erps_agent_state_t *a = new_state(), *b = new_state();
    char err[256];
    int found;
    (void)state;
    a->engines[0].engine.interval_s = 60;
    a->parts[0].committed = 100;
    a->parts[0].pending = 100 + ERPS_BATCH_MAX;
    for (int i = 0; i < ERPS_BATCH_MAX; i++) {
        erps_pending_t p;
        memset(&p, 0, sizeof(p));
        snprintf(p.id, sizeof(p.id), "00000000-0000-4000-8000-%012d", i);
        p.outcome = ERPS_OUTCOME_APPLIED;
        p.recovered = i == 0; /* a leftover of an earlier crash */
        assert_int_equal(erps_state_pending_add(a, &p), 0);
    }
    assert_int_equal(erps_state_save(path, a, err, sizeof(err)), 0);
    assert_int_equal(erps_state_load(path, b, &found, err, sizeof(err)), 0);
    assert_int_equal(b->parts[0].committed, 100);
    assert_int_equal(b->parts[0].pending, 100 + ERPS_BATCH_MAX);
    assert_int_equal(b->pending_cnt, ERPS_BATCH_MAX);
    assert_false(b->pending[0].in_flight);
    for (int i = 1; i < ERPS_BATCH_MAX; i++)
        assert_true(b->pending[i].in_flight && b->pending[i].recovered);
    /* Confirmed after the commit, every id of the batch is deduplicated. */
    for (int i = 0; i < b->pending_cnt; i++)
        b->pending[i].recovered = 0;
    erps_state_pending_confirm(b);
    assert_int_equal(b->applied_cnt, ERPS_BATCH_MAX);
    assert_true(
        erps_state_applied_has(b, "00000000-0000-4000-8000-000000000999"));
    free_state(a);
    free_state(b);
}

/* Many engines: one file, each engine's record found by id, each command
 * partition's offsets by number; an engine the file does not know starts
 * from the caller's defaults. */
static void fleet_round_trip(void **state) {
    erps_agent_state_t *a = new_state(), *b = new_state();
    char err[256];
    int found;
    (void)state;
    for (erps_agent_state_t *st = a;; st = b) {
        st->engines = realloc(st->engines, 3 * sizeof(*st->engines));
        st->parts = realloc(st->parts, 2 * sizeof(*st->parts));
        memset(st->engines, 0, 3 * sizeof(*st->engines));
        st->engine_cnt = 3;
        st->part_cnt = 2;
        strcpy(st->engines[0].id, "alpha");
        strcpy(st->engines[1].id, "beta");
        strcpy(st->engines[2].id, "gamma");
        for (int i = 0; i < 3; i++)
            st->engines[i].engine.interval_s = 900;
        st->parts[0] = (erps_part_rec_t){3, -1, -1};
        st->parts[1] = (erps_part_rec_t){7, -1, -1};
        if (st == b)
            break;
    }
    a->engines[0].engine.desired_run = true;
    a->engines[0].sequence = 11;
    a->engines[1].engine.interval_s = 120;
    a->engines[1].sequence = 22;
    a->engine_cnt = 2; /* gamma is new to the file */
    a->parts[0].committed = 40;
    a->parts[1].committed = 70;
    a->parts[1].pending = 75;
    assert_int_equal(erps_state_save(path, a, err, sizeof(err)), 0);
    assert_int_equal(erps_state_load(path, b, &found, err, sizeof(err)), 0);
    assert_true(b->engines[0].found && b->engines[1].found);
    assert_false(b->engines[2].found);
    assert_true(b->engines[0].engine.desired_run);
    assert_int_equal(b->engines[0].sequence, 11);
    assert_int_equal(b->engines[1].engine.interval_s, 120);
    assert_int_equal(b->engines[1].sequence, 22);
    assert_int_equal(b->engines[2].engine.interval_s, 900);
    assert_int_equal(b->parts[0].committed, 40);
    assert_int_equal(b->parts[1].committed, 70);
    assert_int_equal(b->parts[1].pending, 75);
    free_state(a);
    free_state(b);
}

/* A single-engine agent's file, written before fleets, is found by the
 * engine it is named after when that engine joins a fleet. */
static void single_engine_file_joins_a_fleet(void **state) {
    erps_agent_state_t *a = new_state(), *b = new_state();
    char err[256];
    int found;
    (void)state;
    a->engines[0].engine.interval_s = 300;
    a->engines[0].sequence = 5;
    assert_int_equal(erps_state_save(path, a, err, sizeof(err)), 0);
    b->engines = realloc(b->engines, 2 * sizeof(*b->engines));
    memset(b->engines, 0, 2 * sizeof(*b->engines));
    b->engine_cnt = 2;
    strcpy(b->engines[0].id, "other");
    strcpy(b->engines[1].id, "demo"); /* the file is demo.state.json */
    b->engines[0].engine.interval_s = b->engines[1].engine.interval_s = 900;
    assert_int_equal(erps_state_load(path, b, &found, err, sizeof(err)), 0);
    assert_false(b->engines[0].found);
    assert_true(b->engines[1].found);
    assert_int_equal(b->engines[1].engine.interval_s, 300);
    assert_int_equal(b->engines[1].sequence, 5);
    free_state(a);
    free_state(b);
}

/* ---- the file as the cJSON tree written before jsonw.c printed it ---- */

static void ref_engine(cJSON *o, const erps_engine_rec_t *rec) {
    const erps_iteration_t *it = &rec->engine.last;
    cJSON_AddBoolToObject(o, "DesiredRun", rec->engine.desired_run);
    cJSON_AddNumberToObject(o, "IntervalSeconds",
                            (double)rec->engine.interval_s);
    cJSON_AddNumberToObject(o, "Generation", (double)rec->engine.generation);
    cJSON_AddNumberToObject(o, "Failures", (double)rec->engine.failures);
    cJSON_AddNumberToObject(o, "Sequence", (double)rec->sequence);
    cJSON *li = cJSON_AddObjectToObject(o, "LastIteration");
    cJSON_AddNumberToObject(li, "Number", (double)it->number);
    cJSON_AddNumberToObject(li, "StartMs", (double)it->start_ms);
    cJSON_AddNumberToObject(li, "EndMs", (double)it->end_ms);
    cJSON_AddNumberToObject(li, "ExitCode", it->exit_code);
    cJSON_AddNumberToObject(li, "Signal", it->signal);
    cJSON_AddStringToObject(li, "Outcome", it->outcome);
    cJSON_AddStringToObject(li, "Detail", it->detail);
}

static void ref_part(cJSON *o, const erps_part_rec_t *pr) {
    cJSON_AddNumberToObject(o, "CommittedOffset", (double)pr->committed);
    cJSON_AddNumberToObject(o, "PendingOffset", (double)pr->pending);
}

static char *ref_file(const erps_agent_state_t *st) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "Version", 1);
    if (st->engine_cnt == 1 && st->part_cnt <= 1) {
        if (st->part_cnt == 1)
            ref_part(root, &st->parts[0]);
        ref_engine(root, &st->engines[0]);
    } else {
        cJSON *engines = cJSON_AddArrayToObject(root, "Engines");
        cJSON *parts = cJSON_AddArrayToObject(root, "Partitions");
        for (int i = 0; i < st->engine_cnt; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddItemToArray(engines, e);
            cJSON_AddStringToObject(e, "EngineId", st->engines[i].id);
            ref_engine(e, &st->engines[i]);
        }
        for (int i = 0; i < st->part_cnt; i++) {
            cJSON *p = cJSON_CreateObject();
            cJSON_AddItemToArray(parts, p);
            cJSON_AddNumberToObject(p, "Partition", st->parts[i].partition);
            ref_part(p, &st->parts[i]);
        }
    }
    cJSON *ids = cJSON_AddArrayToObject(root, "AppliedCommands");
    cJSON *pend = cJSON_AddArrayToObject(root, "PendingCommands");
    for (int i = 0; i < st->applied_cnt; i++) {
        int k = (st->applied_next - st->applied_cnt + i + ERPS_APPLIED_MAX) %
                ERPS_APPLIED_MAX;
        cJSON_AddItemToArray(ids, cJSON_CreateString(st->applied[k]));
    }
    for (int i = 0; i < st->pending_cnt; i++) {
        const erps_pending_t *p = &st->pending[i];
        cJSON *pe = cJSON_CreateObject();
        cJSON_AddItemToArray(pend, pe);
        cJSON_AddStringToObject(pe, "Id", p->id);
        cJSON_AddNumberToObject(pe, "Outcome", p->outcome);
        cJSON_AddStringToObject(pe, "BeforeState",
                                erps_state_name(p->before_state));
        cJSON_AddNumberToObject(pe, "BeforeIntervalSeconds",
                                (double)p->before_interval_s);
        cJSON_AddBoolToObject(pe, "InFlight", !p->recovered);
    }
    char *json =
        st->engine_cnt == 1 ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return json;
}

static void fill_engine(erps_engine_rec_t *e, int i) {
    memset(e, 0, sizeof(*e));
    snprintf(e->id, sizeof(e->id), "engine-%d", i);
    e->engine.desired_run = i % 2;
    e->engine.interval_s = 60 + i;
    e->engine.generation = i * 7;
    e->engine.failures = i % 3;
    e->sequence = 1000000 + i;
    e->engine.last.number = i;
    e->engine.last.start_ms = 1795852233123 + i;
    e->engine.last.end_ms = i % 4 ? 1795852234123 + i : 0;
    e->engine.last.exit_code = i % 5 - 1;
    e->engine.last.signal = i % 5 == 0 ? 9 : 0;
    strcpy(e->engine.last.outcome, i % 2 ? "Succeeded" : "Failed");
    snprintf(e->engine.last.detail, sizeof(e->engine.last.detail),
             "line \"%d\"\twith\\escapes\x01 and \xc3\xa9", i);
}

/* What erps_state_save writes is what cJSON printed for the same state:
 * one engine laid out for people, a fleet compact, full rings and
 * pending batches. */
static void file_as_cjson_printed(void **state) {
    static const int fleets[] = {1, 2, 1000};
    char err[256];
    (void)state;
    for (size_t f = 0; f < sizeof(fleets) / sizeof(fleets[0]); f++) {
        erps_agent_state_t *st = new_state();
        int n = fleets[f], parts = n == 1 ? (f ? 0 : 1) : 3;
        st->engines = realloc(st->engines, (size_t)n * sizeof(*st->engines));
        st->parts = realloc(st->parts, 3 * sizeof(*st->parts));
        st->engine_cnt = n;
        st->part_cnt = parts;
        for (int i = 0; i < n; i++)
            fill_engine(&st->engines[i], i);
        for (int i = 0; i < 3; i++)
            st->parts[i] = (erps_part_rec_t){i * 5, 100 * i - 1, 200 * i - 1};
        for (int i = 0; i < ERPS_APPLIED_MAX + 10 * (int)f; i++) {
            char id[ERPS_UUID_LEN + 1];
            erps_uuid_new(id);
            erps_state_applied_add(st, id);
        }
        for (int i = 0; i < (f == 2 ? ERPS_PENDING_MAX : 3); i++) {
            erps_pending_t *p = &st->pending[st->pending_cnt++];
            erps_uuid_new(p->id);
            p->outcome = 1 + i % 5;
            p->before_state = (erps_state_t)(i % 5);
            p->before_interval_s = 300 + i;
            p->recovered = i % 2;
        }
        assert_int_equal(erps_state_save(path, st, err, sizeof(err)), 0);
        char *want = ref_file(st);
        FILE *fp = fopen(path, "r");
        assert_non_null(fp);
        size_t cap = strlen(want) + 64, len;
        char *got = malloc(cap);
        len = fread(got, 1, cap - 1, fp);
        fclose(fp);
        got[len] = '\0';
        assert_int_equal(len, strlen(want) + 1);
        assert_int_equal(got[len - 1], '\n');
        got[len - 1] = '\0';
        assert_string_equal(got, want);
        free(got);
        cJSON_free(want);
        free_state(st);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(missing_file_keeps_defaults, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_in_flight_round_trip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(applied_ring_forgets_the_oldest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(corrupt_file_is_an_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unwritable_dir_is_an_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(pending_until_confirmed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(fleet_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(file_as_cjson_printed, setup, teardown),
        cmocka_unit_test_setup_teardown(single_engine_file_joins_a_fleet, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
