/*
 * topics.c - topic bootstrap through the Admin API: create what is missing,
 * refuse what is misconfigured. A compacted audit topic would lose history;
 * a non-compacted status topic grows without bound and a late subscriber
 * would read all of it: both are worth refusing to start over.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "erpsync/kafka.h"
#include "erpsync/log.h"

typedef struct spec {
    const char *name;
    const char *cleanup;
    int64_t retention_ms; /* 0: broker default */
} spec_t;

static void specs_of(const erps_topics_t *t, const erps_topic_policy_t *p,
                     spec_t out[4]) {
    out[0] = (spec_t){t->commands, "delete", p->commands_retention_ms};
    out[1] = (spec_t){t->status, "compact", 0};
    out[2] = (spec_t){t->audit, "delete", p->audit_retention_ms};
    out[3] = (spec_t){t->dlq, "delete", p->dlq_retention_ms};
}

static rd_kafka_event_t *wait_result(rd_kafka_queue_t *q, int timeout_ms) {
    return rd_kafka_queue_poll(q, timeout_ms);
}

/* The NewTopic of each missing topic, with its cleanup and retention.
 * @returns 0, or -1 with errstr (nothing left to free). */
static int new_topics(rd_kafka_NewTopic_t *nt[], spec_t *missing[], int n,
                      const erps_topic_policy_t *p, char *errstr,
                      size_t errstr_size) {
    char err[256], ret[32];
    for (int i = 0; i < n; i++) {
        nt[i] = rd_kafka_NewTopic_new(missing[i]->name, (int)p->partitions,
                                      (int)p->replication, err, sizeof(err));
        if (!nt[i]) {
            snprintf(errstr, errstr_size, "topic %s: %s", missing[i]->name,
                     err);
            rd_kafka_NewTopic_destroy_array(nt, (size_t)i);
            return -1;
        }
        rd_kafka_NewTopic_set_config(nt[i], "cleanup.policy",
                                     missing[i]->cleanup);
        if (missing[i]->retention_ms > 0) {
            snprintf(ret, sizeof(ret), "%" PRId64, missing[i]->retention_ms);
            rd_kafka_NewTopic_set_config(nt[i], "retention.ms", ret);
        }
    }
    return 0;
}

/* Each topic's result: created, or already there (another agent or shim
 * was quicker). @returns 0, or -1 with errstr. */
static int created(rd_kafka_event_t *ev, int timeout_ms, char *errstr,
                   size_t errstr_size) {
    if (!ev) {
        snprintf(errstr, errstr_size, "creating topics: no answer in %d ms",
                 timeout_ms);
        return -1;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(errstr, errstr_size, "creating topics: %s",
                 rd_kafka_event_error_string(ev));
        return -1;
    }
    size_t cnt;
    const rd_kafka_topic_result_t **res = rd_kafka_CreateTopics_result_topics(
        rd_kafka_event_CreateTopics_result(ev), &cnt);
    for (size_t i = 0; i < cnt; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
        const char *name = rd_kafka_topic_result_name(res[i]);
        if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            snprintf(errstr, errstr_size, "creating topic %s: %s", name,
                     rd_kafka_topic_result_error_string(res[i]));
            return -1;
        }
        if (!e)
            erps_info("created topic %s", name);
    }
    return 0;
}

static int create_missing(rd_kafka_t *rk, spec_t *missing[], int n,
                          const erps_topic_policy_t *p, int timeout_ms,
                          char *errstr, size_t errstr_size) {
    rd_kafka_NewTopic_t *nt[4];
    char err[256];
    if (new_topics(nt, missing, n, p, errstr, errstr_size))
        return -1;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opts =
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, err,
                                              sizeof(err));
    rd_kafka_CreateTopics(rk, nt, (size_t)n, opts, q);
    rd_kafka_event_t *ev = wait_result(q, timeout_ms + 1000);
    int ok = created(ev, timeout_ms, errstr, errstr_size);
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy_array(nt, (size_t)n);
    return ok;
}

/* One topic's described configs against the cleanup.policy it needs.
 * @returns 0, or -1 with errstr saying how to fix it. */
static int cleanup_ok(const rd_kafka_ConfigResource_t *rr, spec_t *existing[],
                      int n, char *errstr, size_t errstr_size) {
    const char *name = rd_kafka_ConfigResource_name(rr), *want = NULL;
    for (int k = 0; k < n; k++)
        if (strcmp(existing[k]->name, name) == 0)
            want = existing[k]->cleanup;
    if (rd_kafka_ConfigResource_error(rr)) {
        erps_warn("cannot check cleanup.policy of %s: %s", name,
                  rd_kafka_ConfigResource_error_string(rr));
        return 0;
    }
    size_t ccnt;
    const rd_kafka_ConfigEntry_t **ce =
        rd_kafka_ConfigResource_configs(rr, &ccnt);
    for (size_t j = 0; j < ccnt; j++) {
        if (strcmp(rd_kafka_ConfigEntry_name(ce[j]), "cleanup.policy"))
            continue;
        const char *have = rd_kafka_ConfigEntry_value(ce[j]);
        if (want && (!have || strcmp(have, want) != 0)) {
            snprintf(errstr, errstr_size,
                     "topic %s has cleanup.policy=%s but erpsync needs %s; "
                     "fix it with: kafka-configs.sh --alter --entity-type "
                     "topics --entity-name %s --add-config cleanup.policy=%s",
                     name, have ? have : "(none)", want, name, want);
            return -1;
        }
    }
    return 0;
}

static int check_cleanup(rd_kafka_t *rk, spec_t *existing[], int n,
                         int timeout_ms, char *errstr, size_t errstr_size) {
    rd_kafka_ConfigResource_t *res[4];
    char err[256];
    int ok = 0;

    for (int i = 0; i < n; i++)
        res[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC,
                                             existing[i]->name);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opts =
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, err,
                                              sizeof(err));
    rd_kafka_DescribeConfigs(rk, res, (size_t)n, opts, q);
    rd_kafka_event_t *ev = wait_result(q, timeout_ms + 1000);
    if (!ev || rd_kafka_event_error(ev)) {
        erps_warn("cannot check the topics' cleanup.policy (%s); going on",
                  ev ? rd_kafka_event_error_string(ev) : "no answer");
    } else {
        size_t cnt;
        const rd_kafka_ConfigResource_t **rr =
            rd_kafka_DescribeConfigs_result_resources(
                rd_kafka_event_DescribeConfigs_result(ev), &cnt);
        for (size_t i = 0; i < cnt && ok == 0; i++)
            ok = cleanup_ok(rr[i], existing, n, errstr, errstr_size);
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy_array(res, (size_t)n);
    return ok;
}

/* The four roles name four topics. */
static int distinct(const spec_t specs[4], char *errstr, size_t errstr_size) {
    static const char *const role[] = {"topic.commands", "topic.status",
                                       "topic.audit", "topic.dlq"};
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            if (strcmp(specs[i].name, specs[j].name) == 0) {
                snprintf(errstr, errstr_size,
                         "%s and %s name the same topic %s; each needs its "
                         "own",
                         role[i], role[j], specs[i].name);
                return -1;
            }
    return 0;
}

/* Sorts the specs into those the cluster has and those it lacks, and says
 * whether it has a controller for admin requests: librdkafka's mock
 * cluster (the devbroker) names one that is not among its brokers, and
 * each request would wait for it until its timeout. */
static int classify(rd_kafka_t *rk, spec_t specs[4], spec_t *existing[],
                    int *nexisting, spec_t *missing[], int *nmissing,
                    int *has_controller, int timeout_ms, char *errstr,
                    size_t errstr_size) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (err) {
        snprintf(errstr, errstr_size, "listing topics: %s",
                 rd_kafka_err2str(err));
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        int found = 0;
        for (int t = 0; t < md->topic_cnt; t++)
            found |= strcmp(md->topics[t].topic, specs[i].name) == 0 &&
                     md->topics[t].err == RD_KAFKA_RESP_ERR_NO_ERROR;
        if (found)
            existing[(*nexisting)++] = &specs[i];
        else
            missing[(*nmissing)++] = &specs[i];
    }
    int32_t controller = rd_kafka_controllerid(rk, 0);
    *has_controller = 0;
    for (int b = 0; b < md->broker_cnt; b++)
        *has_controller |= md->brokers[b].id == controller;
    rd_kafka_metadata_destroy(md);
    return 0;
}

int erps_kafka_ensure_topics(rd_kafka_t *rk, const erps_topics_t *topics,
                             const erps_topic_policy_t *policy, int timeout_ms,
                             char *errstr, size_t errstr_size) {
    spec_t specs[4], *missing[4], *existing[4];
    int nmissing = 0, nexisting = 0, has_controller;

    specs_of(topics, policy, specs);
    if (distinct(specs, errstr, errstr_size) ||
        classify(rk, specs, existing, &nexisting, missing, &nmissing,
                 &has_controller, timeout_ms, errstr, errstr_size))
        return -1;
    if (nmissing > 0 && !policy->create) {
        snprintf(errstr, errstr_size,
                 "topic %s does not exist: create it (docs/operations.md) or "
                 "start with --topics.create=true",
                 missing[0]->name);
        return -1;
    }
    if (nmissing > 0 && !has_controller) {
        snprintf(errstr, errstr_size,
                 "topic %s does not exist and this cluster has no controller "
                 "to create it (devbroker: list it in --topics)",
                 missing[0]->name);
        return -1;
    }
    if (nmissing > 0 && create_missing(rk, missing, nmissing, policy,
                                       timeout_ms, errstr, errstr_size))
        return -1;
    if (!has_controller) {
        erps_info("no controller in this cluster (a devbroker?): topic "
                  "settings not checked");
        return 0;
    }
    if (nexisting > 0)
        return check_cleanup(rk, existing, nexisting, timeout_ms, errstr,
                             errstr_size);
    return 0;
}
