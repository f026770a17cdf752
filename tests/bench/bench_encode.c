/*
 * bench_encode.c - what encoding one event costs the agent: a status and
 * an audit record written by the encoders (common/jsonw.c) against the
 * same values built as a cJSON tree and printed, the way they were before
 * (tests/unit/ref_events.h), in the same run.
 *
 *   bench_encode [N]     N events of each kind (default 200000)
 *
 * Prints ns per event and the ratio. Built with erpsync (build/tests).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "erpsync/proto.h"
#include "ref_events.h"

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A Running engine's status and a command's audit record, as the agent
 * publishes them in a burst. */
static void sample(erps_status_t *st, erps_audit_t *au) {
    memset(st, 0, sizeof(*st));
    erps_ce_init(&st->ce, "/erpsync/agent/bench", "engine-0042");
    st->sequence = 123456;
    st->state = ERPS_STATE_RUNNING;
    st->is_running = true;
    st->interval_s = 900;
    st->generation = 7781;
    st->next_iteration_ms = st->ce.time_ms + 900000;
    st->last.number = 311;
    st->last.start_ms = st->ce.time_ms - 60000;
    st->last.end_ms = st->ce.time_ms - 30000;
    strcpy(st->last.outcome, "Succeeded");
    strcpy(st->last.detail, "synced 1204 rows");
    erps_status_render_message(st);
    memset(au, 0, sizeof(*au));
    erps_ce_init(&au->ce, "/erpsync/agent/bench", "engine-0042");
    au->outcome = ERPS_OUTCOME_APPLIED;
    erps_uuid_new(au->command_id);
    strcpy(au->command_type, "ChangeEngineStatus");
    strcpy(au->principal, "ops-pipeline");
    strcpy(au->client_addr, "10.1.2.3");
    au->before_state = ERPS_STATE_STOPPED;
    au->after_state = ERPS_STATE_RUNNING;
    au->before_interval_s = au->after_interval_s = 900;
    au->generation = 7781;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 200000;
    erps_status_t st;
    erps_audit_t au;
    erps_msg_t msg;
    char err[128];
    double t[4];
    size_t sink = 0;
    if (n <= 0) {
        fprintf(stderr, "usage: bench_encode [N]\n");
        return 2;
    }
    sample(&st, &au);
    for (int round = 0; round < 2; round++) { /* the first warms up */
        t[0] = now_ns();
        for (int i = 0; i < n; i++) {
            if (erps_status_encode(&st, &msg, err, sizeof(err)))
                return 1;
            sink += msg.value_len;
            erps_msg_release(&msg);
        }
        t[1] = now_ns();
        for (int i = 0; i < n; i++) {
            char *s = ref_status(&st);
            sink += strlen(s);
            cJSON_free(s);
        }
        t[2] = now_ns();
        for (int i = 0; i < n; i++) {
            if (erps_audit_encode(&au, &msg, err, sizeof(err)))
                return 1;
            sink += msg.value_len;
            erps_msg_release(&msg);
        }
        t[3] = now_ns();
        double audit_ref0 = now_ns();
        for (int i = 0; i < n; i++) {
            char *s = ref_audit(&au);
            sink += strlen(s);
            cJSON_free(s);
        }
        double audit_ref = (now_ns() - audit_ref0) / n;
        if (round == 0)
            continue;
        double status_new = (t[1] - t[0]) / n, status_ref = (t[2] - t[1]) / n;
        double audit_new = (t[3] - t[2]) / n;
        printf("event    encoder (headers + value)  cJSON tree (value only)"
               "  encoder / tree\n");
        printf("status   %10.0f ns              %10.0f ns             %6.2f\n",
               status_new, status_ref, status_new / status_ref);
        printf("audit    %10.0f ns              %10.0f ns             %6.2f\n",
               audit_new, audit_ref, audit_new / audit_ref);
    }
    fprintf(stderr, "(%zu bytes written)\n", sink);
    return 0;
}
