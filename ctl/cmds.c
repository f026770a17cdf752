/*
 * cmds.c - erpsyncctl's reading commands: status, watch and audit.
 */
#include "reader.h"

#include <stdlib.h>
#include <string.h>

#include "erpsync/kafka.h"
#include "erpsync/log.h"

/* The latest status of every engine seen, in the order first seen. */
typedef struct latest {
    erps_status_t *st;
    size_t cnt, cap;
    const char *engine_id; /* only this one, when set */
} latest_t;

/* Decodes a record; one that does not decode is skipped with a warning
 * (anyone with write access can put bytes on a topic). */
static bool status_of(const rd_kafka_message_t *rkm, erps_status_t *st) {
    erps_msg_t view;
    char err[256];
    erps_kafka_view(rkm, &view);
    if (erps_status_decode(&view, st, err, sizeof(err)) == 0)
        return true;
    erps_warn("skipping an invalid status at offset %lld: %s",
              (long long)rkm->offset, err);
    return false;
}

static bool audit_of(const rd_kafka_message_t *rkm, erps_audit_t *au) {
    erps_msg_t view;
    char err[256];
    erps_kafka_view(rkm, &view);
    if (erps_audit_decode(&view, au, err, sizeof(err)) == 0)
        return true;
    erps_warn("skipping an invalid audit event at offset %lld: %s",
              (long long)rkm->offset, err);
    return false;
}

static int keep_latest(const rd_kafka_message_t *rkm, void *opaque) {
    latest_t *l = opaque;
    erps_status_t st;
    if (!status_of(rkm, &st))
        return CTL_READ_MORE;
    if (l->engine_id && strcmp(l->engine_id, st.ce.subject) != 0)
        return CTL_READ_MORE;
    for (size_t i = 0; i < l->cnt; i++)
        if (strcmp(l->st[i].ce.subject, st.ce.subject) == 0) {
            l->st[i] = st; /* later in the partition is newer */
            return CTL_READ_MORE;
        }
    if (l->cnt == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        erps_status_t *grown = realloc(l->st, cap * sizeof(*grown));
        if (!grown)
            return CTL_READ_ERROR;
        l->st = grown;
        l->cap = cap;
    }
    l->st[l->cnt++] = st;
    return CTL_READ_MORE;
}

static int by_engine(const void *a, const void *b) {
    return strcmp(((const erps_status_t *)a)->ce.subject,
                  ((const erps_status_t *)b)->ce.subject);
}

/* Exit code for a reader that ended with rc (errstr set on errors). */
static int read_exit(int rc, const char *errstr) {
    if (rc == CTL_READ_ERROR) {
        fprintf(stderr, "erpsyncctl: %s\n",
                errstr[0] ? errstr : "out of memory");
        return CTL_EXIT_FAILED;
    }
    if (rc == CTL_READ_TIMEOUT) {
        fprintf(stderr, "erpsyncctl: Kafka did not answer within timeout.ms\n");
        return CTL_EXIT_TIMEOUT;
    }
    return CTL_EXIT_OK;
}

int ctl_cmd_status(const ctl_conf_t *conf, const erps_kprops_t *kp, bool json) {
    ctl_reader_t r;
    latest_t l = {.engine_id = conf->engine_id[0] ? conf->engine_id : NULL};
    char err[512] = "";
    int rc = CTL_READ_ERROR;

    if (ctl_reader_open_one(&r, conf, kp, conf->topic_status, l.engine_id,
                            CTL_FROM_START, err, sizeof(err)) == 0) {
        r.idle_ms = conf->timeout_ms;
        rc = ctl_reader_run(&r, true, 0, NULL, keep_latest, &l, err,
                            sizeof(err));
    }
    ctl_reader_close(&r);
    int code = read_exit(rc, err);
    if (code == CTL_EXIT_OK && l.cnt == 0) {
        fprintf(stderr, "erpsyncctl: no status %s%s on %s\n",
                l.engine_id ? "for engine " : "yet",
                l.engine_id ? l.engine_id : "", conf->topic_status);
        code = CTL_EXIT_NOT_FOUND;
    }
    if (code == CTL_EXIT_OK) {
        qsort(l.st, l.cnt, sizeof(*l.st), by_engine);
        for (size_t i = 0; i < l.cnt && code == CTL_EXIT_OK; i++)
            if (ctl_print_status(stdout, json, &l.st[i]))
                code = CTL_EXIT_FAILED;
    }
    free(l.st);
    return code;
}

typedef struct watch {
    const char *engine_id;
    bool json;
} watch_t;

static int print_new_status(const rd_kafka_message_t *rkm, void *opaque) {
    watch_t *w = opaque;
    erps_status_t st;
    if (!status_of(rkm, &st))
        return CTL_READ_MORE;
    if (w->engine_id && strcmp(w->engine_id, st.ce.subject) != 0)
        return CTL_READ_MORE;
    /* A closed pipe (watch | head) ends the watch. */
    return ctl_print_status(stdout, w->json, &st) ? CTL_READ_DONE
                                                  : CTL_READ_MORE;
}

int ctl_cmd_watch(const ctl_conf_t *conf, const erps_kprops_t *kp, bool json,
                  volatile sig_atomic_t *stop) {
    ctl_reader_t r;
    watch_t w = {conf->engine_id[0] ? conf->engine_id : NULL, json};
    char err[512] = "";
    int rc = CTL_READ_ERROR;

    if (ctl_reader_open_one(&r, conf, kp, conf->topic_status, w.engine_id,
                            CTL_FROM_NOW, err, sizeof(err)) == 0) {
        if (!json)
            fprintf(stderr, "erpsyncctl: watching %s on %s (Ctrl-C ends)\n",
                    conf->topic_status, conf->bootstrap);
        rc = ctl_reader_run(&r, false, 0, stop, print_new_status, &w, err,
                            sizeof(err));
    }
    ctl_reader_close(&r);
    return read_exit(rc, err);
}

typedef struct audit {
    const ctl_filter_t *filter;
    bool json;
    long printed;
} audit_t;

static int print_audit(const rd_kafka_message_t *rkm, void *opaque) {
    audit_t *a = opaque;
    erps_audit_t au;
    if (!audit_of(rkm, &au) || !ctl_audit_match(a->filter, &au))
        return CTL_READ_MORE;
    a->printed++;
    return ctl_print_audit(stdout, a->json, &au) ? CTL_READ_DONE
                                                 : CTL_READ_MORE;
}

int ctl_cmd_audit(const ctl_conf_t *conf, const erps_kprops_t *kp, bool json,
                  const ctl_filter_t *filter, volatile sig_atomic_t *stop) {
    ctl_reader_t r;
    audit_t a = {filter, json, 0};
    char err[512] = "";
    int rc = CTL_READ_ERROR;
    int64_t from = filter->since_ms ? filter->since_ms : CTL_FROM_START;

    if (ctl_reader_open_one(&r, conf, kp, conf->topic_audit, filter->engine_id,
                            from, err, sizeof(err)) == 0) {
        /* Without follow, the trail as it stands: read to the end. */
        r.idle_ms = conf->follow ? 0 : conf->timeout_ms;
        rc = ctl_reader_run(&r, !conf->follow, 0, stop, print_audit, &a, err,
                            sizeof(err));
    }
    ctl_reader_close(&r);
    return read_exit(rc, err);
}
