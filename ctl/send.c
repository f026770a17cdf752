/*
 * send.c - erpsyncctl start, stop and interval: one command straight to
 * Kafka, then its outcome, as the shim waits for it. The audit event with
 * the command's id says what happened (Applied, NoChange, Rejected,
 * Expired); for Applied and NoChange the agent also publishes the resulting
 * status, which is printed. Both come in one transaction.
 */
#include "reader.h"

#include <inttypes.h>
#include <string.h>

#include "erpsync/kafka.h"
#include "erpsync/log.h"

typedef struct outcome {
    const char *id; /* the command's ce_id */
    bool have_audit, have_status;
    erps_audit_t audit;
    erps_status_t status;
} outcome_t;

static bool wants_status(const outcome_t *o) {
    return o->audit.outcome == ERPS_OUTCOME_APPLIED ||
           o->audit.outcome == ERPS_OUTCOME_NOCHANGE;
}

static int collect(const rd_kafka_message_t *rkm, void *opaque) {
    outcome_t *o = opaque;
    erps_msg_t view;
    char err[256];
    erps_kafka_view(rkm, &view);
    const erps_hdr_t *type = erps_msg_header(&view, "ce_type");
    bool is_audit = type && type->size == strlen(ERPS_TYPE_AUDIT) &&
                    memcmp(type->value, ERPS_TYPE_AUDIT, type->size) == 0;
    if (is_audit) {
        erps_audit_t au;
        if (erps_audit_decode(&view, &au, err, sizeof(err)) == 0 &&
            strcmp(au.command_id, o->id) == 0) {
            o->audit = au;
            o->have_audit = true;
        }
    } else {
        erps_status_t st;
        /* Starting always gives way to Running or Failed at once. */
        if (erps_status_decode(&view, &st, err, sizeof(err)) == 0 &&
            strcmp(st.correlation_id, o->id) == 0 &&
            st.state != ERPS_STATE_STARTING) {
            o->status = st;
            o->have_status = true;
        }
    }
    if (o->have_audit && (o->have_status || !wants_status(o)))
        return CTL_READ_DONE;
    return CTL_READ_MORE;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
                        void *opaque) {
    (void)opaque;
    *(rd_kafka_resp_err_t *)rd_kafka_opaque(rk) = rkm->err;
}

/* Produces cmd and waits for Kafka's acknowledgement. */
static int produce(const ctl_conf_t *conf, const erps_kprops_t *kp,
                   const erps_command_t *cmd, char *errstr, size_t n) {
    static const char *const tuning[] = {"linger.ms", "0", "log_level", "2",
                                         NULL};
    rd_kafka_resp_err_t delivered = RD_KAFKA_RESP_ERR__IN_PROGRESS;
    char tmo[32], err[512];
    erps_msg_t msg;
    int rc = -1;

    snprintf(tmo, sizeof(tmo), "%" PRId64, conf->timeout_ms);
    rd_kafka_conf_t *kc =
        erps_kafka_conf(conf->bootstrap, "erpsyncctl", tuning, kp, errstr, n);
    if (!kc)
        return -1;
    /* The shim's producer settings: the engine's partition by key, as Java
     * clients compute it, and no duplicate on a retry. */
    if (erps_kafka_set(kc, "partitioner", "murmur2_random", errstr, n) ||
        erps_kafka_set(kc, "enable.idempotence", "true", errstr, n) ||
        erps_kafka_set(kc, "message.timeout.ms", tmo, errstr, n)) {
        rd_kafka_conf_destroy(kc);
        return -1;
    }
    rd_kafka_conf_set_dr_msg_cb(kc, on_delivery);
    rd_kafka_conf_set_opaque(kc, &delivered);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, err, sizeof(err));
    if (!rk) {
        rd_kafka_conf_destroy(kc);
        snprintf(errstr, n, "creating the Kafka producer: %.400s", err);
        return -1;
    }
    if (erps_command_encode(cmd, &msg, errstr, n) == 0) {
        rd_kafka_resp_err_t e = erps_kafka_produce(
            rk, conf->topic_commands, RD_KAFKA_PARTITION_UA, &msg, NULL);
        erps_msg_release(&msg);
        if (!e) {
            rd_kafka_flush(rk, (int)conf->timeout_ms);
            e = delivered;
        }
        if (e)
            snprintf(errstr, n, "sending to %s: %s", conf->topic_commands,
                     rd_kafka_err2str(e));
        rc = e ? -1 : 0;
    }
    rd_kafka_destroy(rk);
    return rc;
}

/* The exit code and what to print for an outcome. */
static int report(const outcome_t *o, bool json) {
    int code = CTL_EXIT_OK;
    switch (o->audit.outcome) {
    case ERPS_OUTCOME_APPLIED:
    case ERPS_OUTCOME_NOCHANGE:
        break;
    case ERPS_OUTCOME_EXPIRED:
        code = CTL_EXIT_TIMEOUT;
        break;
    default:
        code = CTL_EXIT_REJECTED;
    }
    if (ctl_print_audit(stdout, json, &o->audit) ||
        (o->have_status && ctl_print_status(stdout, json, &o->status)))
        return CTL_EXIT_FAILED;
    if (code != CTL_EXIT_OK)
        fprintf(stderr, "erpsyncctl: command %s: %s%s%s\n", o->id,
                erps_outcome_name(o->audit.outcome),
                o->audit.reason[0] ? ": " : "", o->audit.reason);
    return code;
}

int ctl_cmd_send(const ctl_conf_t *conf, const erps_kprops_t *kp, bool json,
                 const erps_command_t *cmd, volatile sig_atomic_t *stop) {
    ctl_reader_t r;
    outcome_t o = {.id = cmd->ce.id};
    char err[512] = "";
    int tmo = (int)conf->timeout_ms, rc = CTL_READ_ERROR;
    int64_t deadline = erps_mono_ms() + conf->timeout_ms;

    /* Read positions first: the outcome cannot come before them. */
    if (ctl_reader_open(&r, conf, kp, err, sizeof(err)) == 0 &&
        ctl_reader_add(&r, conf->topic_audit, cmd->ce.subject, CTL_FROM_NOW,
                       tmo, err, sizeof(err)) == 0 &&
        ctl_reader_add(&r, conf->topic_status, cmd->ce.subject, CTL_FROM_NOW,
                       tmo, err, sizeof(err)) == 0 &&
        ctl_reader_start(&r, false, tmo, err, sizeof(err)) == 0 &&
        produce(conf, kp, cmd, err, sizeof(err)) == 0)
        rc = ctl_reader_run(&r, false, deadline, stop, collect, &o, err,
                            sizeof(err));
    ctl_reader_close(&r);
    if (rc == CTL_READ_ERROR) {
        fprintf(stderr, "erpsyncctl: %s\n", err);
        return CTL_EXIT_FAILED;
    }
    if (!o.have_audit) {
        fprintf(stderr,
                "erpsyncctl: no outcome for command %s within %" PRId64
                " ms (is the agent for engine %s running?)\n",
                o.id, conf->timeout_ms, cmd->ce.subject);
        return CTL_EXIT_TIMEOUT;
    }
    return report(&o, json);
}
