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
static erps_status_t st;
static erps_audit_t au;

static void sample(void) {
    memset(&st, 0, sizeof(st));
    erps_ce_init(&st.ce, "/erpsync/agent/bench", "engine-0042");
    st.sequence = 123456;
    st.state = ERPS_STATE_RUNNING;
    st.is_running = true;
    st.interval_s = 900;
    st.generation = 7781;
    st.next_iteration_ms = st.ce.time_ms + 900000;
    st.last.number = 311;
    st.last.start_ms = st.ce.time_ms - 60000;
    st.last.end_ms = st.ce.time_ms - 30000;
    strcpy(st.last.outcome, "Succeeded");
    strcpy(st.last.detail, "synced 1204 rows");
    erps_status_render_message(&st);
    memset(&au, 0, sizeof(au));
    erps_ce_init(&au.ce, "/erpsync/agent/bench", "engine-0042");
    au.outcome = ERPS_OUTCOME_APPLIED;
    erps_uuid_new(au.command_id);
    strcpy(au.command_type, "ChangeEngineStatus");
    strcpy(au.principal, "ops-pipeline");
    strcpy(au.client_addr, "10.1.2.3");
    au.before_state = ERPS_STATE_STOPPED;
    au.after_state = ERPS_STATE_RUNNING;
    au.before_interval_s = au.after_interval_s = 900;
    au.generation = 7781;
}

/* One event each way; each returns the bytes written (0: encoding failed). */
static size_t status_encoder(void) {
    erps_msg_t msg;
    char err[128];
    if (erps_status_encode(&st, &msg, err, sizeof(err)))
        return 0;
    size_t len = msg.value_len;
    erps_msg_release(&msg);
    return len;
}

static size_t audit_encoder(void) {
    erps_msg_t msg;
    char err[128];
    if (erps_audit_encode(&au, &msg, err, sizeof(err)))
        return 0;
    size_t len = msg.value_len;
    erps_msg_release(&msg);
    return len;
}

static size_t tree_text(char *s) {
    size_t len = s ? strlen(s) : 0;
    cJSON_free(s);
    return len;
}

static size_t status_tree(void) {
    return tree_text(ref_status(&st));
}

static size_t audit_tree(void) {
    return tree_text(ref_audit(&au));
}

/* ns per event over n, or -1 when one failed; the bytes go to *sink so
 * the work is not optimised away. */
static double per_event_ns(size_t (*encode)(void), int n, size_t *sink) {
    double t0 = now_ns();
    for (int i = 0; i < n; i++) {
        size_t len = encode();
        if (len == 0)
            return -1;
        *sink += len;
    }
    return (now_ns() - t0) / n;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 200000;
    double t[4];
    size_t sink = 0;
    if (n <= 0) {
        fprintf(stderr, "usage: bench_encode [N]\n");
        return 2;
    }
    sample();
    for (int round = 0; round < 2; round++) { /* the first warms up */
        t[0] = per_event_ns(status_encoder, n, &sink);
        t[1] = per_event_ns(status_tree, n, &sink);
        t[2] = per_event_ns(audit_encoder, n, &sink);
        t[3] = per_event_ns(audit_tree, n, &sink);
        if (t[0] < 0 || t[1] < 0 || t[2] < 0 || t[3] < 0) {
            fprintf(stderr, "bench_encode: an event did not encode\n");
            return 1;
        }
    }
    printf("event    encoder (headers + value)  cJSON tree (value only)"
           "  encoder / tree\n");
    printf("status   %10.0f ns              %10.0f ns             %6.2f\n",
           t[0], t[1], t[0] / t[1]);
    printf("audit    %10.0f ns              %10.0f ns             %6.2f\n",
           t[2], t[3], t[2] / t[3]);
    fprintf(stderr, "(%zu bytes written)\n", sink);
    return 0;
}
