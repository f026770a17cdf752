/*
 * erpsync-devbroker - a development Kafka broker in one process.
 *
 * librdkafka's mock cluster (rdkafka_mock.h) speaks enough of the Kafka
 * protocol for erpsync (produce, fetch, consumer groups, offsets,
 * transactions) but listens on ephemeral ports. We add what `make run` and
 * the tests need: a fixed, configurable bootstrap port (a small TCP relay to
 * the first mock broker; clients then talk to the brokers the metadata names)
 * and erpsync's topics created at start-up.
 *
 * It is a test double, not Kafka: no persistence, no compaction, no ACLs.
 * Production points erpsync at a real cluster.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "erpsync/config.h"
#include "erpsync/log.h"
#include "erpsync/proto.h"
#include "erpsync/util.h"

typedef struct devbroker_conf {
    char listen_addr[64];
    int64_t port;
    int64_t brokers;
    int64_t partitions;
    char topics[1024];
    char port_file[1024];
    int control;
    char log_level[16];
    char log_format[8];
    char log_file[1024];
} devbroker_conf_t;

#define O(f) offsetof(devbroker_conf_t, f)
static const erps_cfg_opt_t conf_table[] = {
    {"listen.address", ERPS_CFG_STR, "127.0.0.1", 0, 0, O(listen_addr), 64,
     "address of the fixed bootstrap port"},
    {"port", ERPS_CFG_INT, "9092", 0, 65535, O(port), 0,
     "fixed bootstrap port (0: pick a free one and print it)"},
    {"brokers", ERPS_CFG_INT, "1", 1, 9, O(brokers), 0, "mock brokers"},
    {"partitions", ERPS_CFG_INT, "4", 1, 1000, O(partitions), 0,
     "partitions of each topic created at start-up"},
    {"topics", ERPS_CFG_STR,
     ERPS_TOPIC_COMMANDS "," ERPS_TOPIC_STATUS "," ERPS_TOPIC_AUDIT
                         "," ERPS_TOPIC_DLQ,
     0, 0, O(topics), 1024, "comma-separated topics to create at start-up"},
    {"port.file", ERPS_CFG_STR, "", 0, 0, O(port_file), 1024,
     "write host:port here once ready (for scripts)"},
    {"control", ERPS_CFG_BOOL, "false", 0, 0, O(control), 0,
     "read fault-injection commands from standard input (see --help)"},
    ERPS_CFG_LOG(devbroker_conf_t),
    ERPS_CFG_END};

/* Fault injection for tests, one command a line on standard input, each
 * answered "ok" or "error: ..." on standard output:
 *   down BROKER | up BROKER        (-1: all brokers)
 *   rtt BROKER MS
 *   error API ERRCODE [COUNT]      next COUNT (1) requests of API fail
 *   coordinator txn|group KEY BROKER
 * API is a name (Produce, Fetch, FindCoordinator, InitProducerId,
 * AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit, OffsetCommit,
 * OffsetFetch, Metadata) or a number; ERRCODE is a Kafka error code number. */
static const struct {
    const char *name;
    int16_t key;
} apis[] = {{"Produce", 0},          {"Fetch", 1},
            {"Metadata", 3},         {"OffsetCommit", 8},
            {"OffsetFetch", 9},      {"FindCoordinator", 10},
            {"InitProducerId", 22},  {"AddPartitionsToTxn", 24},
            {"AddOffsetsToTxn", 25}, {"EndTxn", 26},
            {"TxnOffsetCommit", 28}};
#undef O

static volatile sig_atomic_t stop_asap;
static struct sockaddr_in upstream;

static void on_signal(int sig) {
    (void)sig;
    stop_asap = 1;
}

/* Copies bytes both ways until either side closes. */
static void *relay(void *arg) {
    int a = (int)(intptr_t)arg, b = socket(AF_INET, SOCK_STREAM, 0);
    char buf[65536];
    if (b < 0 || connect(b, (struct sockaddr *)&upstream, sizeof(upstream))) {
        close(a);
        if (b >= 0)
            close(b);
        return NULL;
    }
    struct pollfd pfd[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    while (!stop_asap) {
        if (poll(pfd, 2, 500) < 0 && errno != EINTR)
            break;
        int done = 0;
        for (int i = 0; i < 2 && !done; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(pfd[i].fd, buf, sizeof(buf));
            if (n <= 0) {
                done = 1;
                break;
            }
            for (ssize_t off = 0; off < n;) {
                ssize_t w = write(pfd[1 - i].fd, buf + off, (size_t)(n - off));
                if (w <= 0) {
                    done = 1;
                    break;
                }
                off += w;
            }
        }
        if (done)
            break;
    }
    close(a);
    close(b);
    return NULL;
}

/* The first host:port of a comma-separated list. */
static int parse_hostport(const char *list, struct sockaddr_in *sa) {
    char host[64], s[128];
    size_t n = strcspn(list, ",");
    if (n >= sizeof(s))
        return -1;
    memcpy(s, list, n);
    s[n] = '\0';
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof(host))
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)atoi(colon + 1));
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int api_key(const char *s) {
    for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++)
        if (strcmp(s, apis[i].name) == 0)
            return apis[i].key;
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= 0 && v < 100 ? (int)v : -1;
}

typedef rd_kafka_mock_cluster_t mock_t;

static rd_kafka_resp_err_t c_down(mock_t *mc, char **argv) {
    return rd_kafka_mock_broker_set_down(mc, atoi(argv[1]));
}

static rd_kafka_resp_err_t c_up(mock_t *mc, char **argv) {
    return rd_kafka_mock_broker_set_up(mc, atoi(argv[1]));
}

static rd_kafka_resp_err_t c_rtt(mock_t *mc, char **argv) {
    return rd_kafka_mock_broker_set_rtt(mc, atoi(argv[1]), atoi(argv[2]));
}

static rd_kafka_resp_err_t c_coordinator(mock_t *mc, char **argv) {
    return rd_kafka_mock_coordinator_set(mc, argv[1], argv[2], atoi(argv[3]));
}

/* "error API CODE [COUNT]": the next COUNT requests of API fail with CODE.
 * An unknown API or a bad count is INVALID_ARG. */
static rd_kafka_resp_err_t c_error(mock_t *mc, char **argv) {
    int key = api_key(argv[1]), cnt = argv[3] ? atoi(argv[3]) : 1;
    if (key < 0 || cnt < 1 || cnt > 1000)
        return RD_KAFKA_RESP_ERR__INVALID_ARG;
    rd_kafka_resp_err_t errs[1000];
    for (int i = 0; i < cnt; i++)
        errs[i] = (rd_kafka_resp_err_t)atoi(argv[2]);
    rd_kafka_mock_push_request_errors_array(mc, (int16_t)key, (size_t)cnt,
                                            errs);
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

static const struct {
    const char *name;
    int min_args, max_args; /* words after the name */
    rd_kafka_resp_err_t (*run)(mock_t *mc, char **argv);
} commands[] = {
    {"down", 1, 1, c_down},
    {"up", 1, 1, c_up},
    {"rtt", 2, 2, c_rtt},
    {"error", 2, 3, c_error},
    {"coordinator", 3, 3, c_coordinator},
};

/* One control line: down N | up N | rtt N MS | error API CODE [COUNT] |
 * coordinator TYPE KEY N. Answers "ok" or "error: ..." on stdout. */
static void control(mock_t *mc, char *line) {
    char *argv[6] = {0};
    int argc = 0;
    size_t i = 0, n = sizeof(commands) / sizeof(commands[0]);
    for (char *save = NULL, *t = strtok_r(line, " \t\r\n", &save);
         t && argc < 5; t = strtok_r(NULL, " \t\r\n", &save))
        argv[argc++] = t;
    if (argc == 0)
        return;
    while (i < n && !(strcmp(argv[0], commands[i].name) == 0 &&
                      argc - 1 >= commands[i].min_args &&
                      argc - 1 <= commands[i].max_args))
        i++;
    if (i == n) {
        printf("error: unknown command %s\n", argv[0]);
        fflush(stdout);
        return;
    }
    rd_kafka_resp_err_t err = commands[i].run(mc, argv);
    if (err)
        printf("error: %s\n", err == RD_KAFKA_RESP_ERR__INVALID_ARG
                                  ? "unknown API or bad count"
                                  : rd_kafka_err2str(err));
    else
        printf("ok\n");
    fflush(stdout);
    erps_info("control: %s%s%s", argv[0], err ? ": " : "",
              err ? rd_kafka_err2str(err) : "");
}

/* Listens first: a taken port fails fast, before any mock is built.
 * @returns the socket with *la its address, or -1. */
static int listen_on(const devbroker_conf_t *conf, struct sockaddr_in *la) {
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    memset(la, 0, sizeof(*la));
    la->sin_family = AF_INET;
    la->sin_port = htons((uint16_t)conf->port);
    if (lfd < 0 ||
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        inet_pton(AF_INET, conf->listen_addr, &la->sin_addr) != 1 ||
        bind(lfd, (struct sockaddr *)la, sizeof(*la)) || listen(lfd, 64)) {
        erps_err("cannot listen on %s:%d: %s", conf->listen_addr,
                 (int)conf->port, strerror(errno));
        if (lfd >= 0)
            close(lfd);
        return -1;
    }
    socklen_t lalen = sizeof(*la);
    getsockname(lfd, (struct sockaddr *)la, &lalen);
    return lfd;
}

/* The mock cluster with its topics, on a client of its own (-X settings
 * apply to it). @returns the cluster, or NULL with the reason logged. */
static rd_kafka_mock_cluster_t *
mock_new(devbroker_conf_t *conf, const erps_kprops_t *kp, rd_kafka_t **rkp) {
    char err[512];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    rd_kafka_conf_set(kc, "client.id", "erpsync-devbroker", NULL, 0);
    for (int i = 0; i < kp->cnt; i++)
        if (rd_kafka_conf_set(kc, kp->name[i], kp->value[i], err,
                              sizeof(err))) {
            erps_err("-X %s: %s", kp->name[i], err);
            rd_kafka_conf_destroy(kc);
            return NULL;
        }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, err, sizeof(err));
    if (!rk) {
        erps_err("%s", err);
        return NULL;
    }
    rd_kafka_mock_cluster_t *mc =
        rd_kafka_mock_cluster_new(rk, (int)conf->brokers);
    const char *bootstraps = mc ? rd_kafka_mock_cluster_bootstraps(mc) : "";
    if (!mc) {
        erps_err("cannot create the mock cluster");
        goto fail;
    }
    if (parse_hostport(bootstraps, &upstream)) {
        erps_err("unexpected mock bootstrap list \"%s\"", bootstraps);
        goto fail;
    }
    int rf = conf->brokers >= 3 ? 3 : (int)conf->brokers;
    for (char *save = NULL, *t = strtok_r(conf->topics, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        rd_kafka_resp_err_t e =
            rd_kafka_mock_topic_create(mc, t, (int)conf->partitions, rf);
        if (e) {
            erps_err("creating topic %s: %s", t, rd_kafka_err2str(e));
            goto fail;
        }
    }
    *rkp = rk;
    return mc;
fail:
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return NULL;
}

/* host:port for scripts, replaced atomically (rename). */
static int write_port_file(const char *path, const char *addr) {
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    if (!fp || fprintf(fp, "%s\n", addr) < 0 || fclose(fp) ||
        rename(tmp, path)) {
        erps_err("port.file %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Control lines from standard input (see control()). @returns 0 once the
 * input closed: the broker keeps serving. */
static int read_control(rd_kafka_mock_cluster_t *mc, char *cline, size_t size,
                        size_t *clen) {
    ssize_t n = read(0, cline + *clen, size - 1 - *clen);
    if (n <= 0)
        return 0;
    *clen += (size_t)n;
    cline[*clen] = '\0';
    char *nl;
    while ((nl = strchr(cline, '\n'))) {
        *nl = '\0';
        control(mc, cline);
        *clen -= (size_t)(nl + 1 - cline);
        memmove(cline, nl + 1, *clen + 1);
    }
    if (*clen == size - 1)
        *clen = 0; /* an over-long line is dropped */
    return 1;
}

/* One relay thread per client connection, until a stop signal. */
static void serve(int lfd, rd_kafka_mock_cluster_t *mc, int ctl) {
    char cline[512];
    size_t clen = 0;
    while (!stop_asap) {
        struct pollfd p[2] = {{lfd, POLLIN, 0}, {ctl ? 0 : -1, POLLIN, 0}};
        if (poll(p, 2, 500) <= 0)
            continue;
        if (p[1].revents & (POLLIN | POLLHUP))
            ctl = read_control(mc, cline, sizeof(cline), &clen);
        if (!(p[0].revents & POLLIN))
            continue;
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0)
            continue;
        pthread_t th;
        if (pthread_create(&th, NULL, relay, (void *)(intptr_t)cfd) == 0)
            pthread_detach(th);
        else
            close(cfd);
    }
}

int main(int argc, char **argv) {
    devbroker_conf_t conf;
    erps_kprops_t kp = {0};
    struct sockaddr_in la;
    rd_kafka_t *rk = NULL;

    memset(&conf, 0, sizeof(conf));
    int rc = erps_cfg_startup(
        conf_table, &conf, &kp, argc, argv, "erpsync-devbroker",
        "usage: erpsync-devbroker [--port=9092] [--brokers=1] [--name=value "
        "...]\n"
        "A development Kafka broker (librdkafka's mock cluster). Not for "
        "production.");
    if (rc)
        return rc < 0 ? 2 : 0;
    if (erps_cfg_checked("erpsync-devbroker", &kp))
        return 0;
    erps_signals_on_stop(on_signal);

    int lfd = listen_on(&conf, &la);
    if (lfd < 0)
        return 1;
    rd_kafka_mock_cluster_t *mc = mock_new(&conf, &kp, &rk);
    if (!mc) {
        close(lfd);
        return 1;
    }
    char addr[96];
    snprintf(addr, sizeof(addr), "%s:%d", conf.listen_addr, ntohs(la.sin_port));
    if (conf.port_file[0] && write_port_file(conf.port_file, addr)) {
        rc = 1;
    } else {
        printf("erpsync-devbroker: bootstrap.servers=%s (mock brokers %s)\n",
               addr, rd_kafka_mock_cluster_bootstraps(mc));
        fflush(stdout);
        serve(lfd, mc, (int)conf.control);
        erps_info("stopping");
    }
    close(lfd);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    erps_kprops_clear(&kp);
    return rc;
}
