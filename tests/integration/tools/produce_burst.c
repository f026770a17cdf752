/*
 * produce_burst.c - produces N ChangeEngineStatus commands for one engine
 * straight to the command topic at once (Run alternating true/false), as
 * the shim encodes them, with a poison record (invalid JSON) after every
 * P-th command if -p P is given. Built by tests/integration/test_batch.py.
 *
 *   produce_burst -b HOST:PORT -t TOPIC -e ENGINE -n N [-p P]
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

static void die(const char *what, const char *why) {
    fprintf(stderr, "produce_burst: %s: %s\n", what, why);
    exit(1);
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v) {
    char err[512];
    if (rd_kafka_conf_set(c, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        die(k, err);
}

static void rfc3339(time_t s, char out[32]) {
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

static void produce(rd_kafka_t *rk, const char *topic, const char *engine,
                    const char *value) {
    char id[37], now_s[32], dl_s[32];
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, id);
    rfc3339(time(NULL), now_s);
    rfc3339(time(NULL) + 600, dl_s);
    rd_kafka_headers_t *h = rd_kafka_headers_new(9);
    rd_kafka_header_add(h, "ce_specversion", -1, "1.0", -1);
    rd_kafka_header_add(h, "ce_id", -1, id, -1);
    rd_kafka_header_add(h, "ce_source", -1, "/tests/burst", -1);
    rd_kafka_header_add(h, "ce_type", -1,
                        "com.erpsync.command.ChangeEngineStatus", -1);
    rd_kafka_header_add(h, "ce_time", -1, now_s, -1);
    rd_kafka_header_add(h, "ce_subject", -1, engine, -1);
    rd_kafka_header_add(h, "content-type", -1, "application/json", -1);
    rd_kafka_header_add(h, "ce_deadline", -1, dl_s, -1);
    rd_kafka_header_add(h, "ce_principal", -1, "burst", -1);
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(engine, strlen(engine)),
                RD_KAFKA_V_VALUE((void *)value, strlen(value)),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(rk, 10);
    if (e)
        die("produce", rd_kafka_err2str(e));
}

int main(int argc, char **argv) {
    const char *bootstrap = NULL, *topic = NULL, *engine = NULL;
    int n = 0, poison_every = 0, c;
    char err[512];
    while ((c = getopt(argc, argv, "b:t:e:n:p:")) != -1) {
        switch (c) {
        case 'b': bootstrap = optarg; break;
        case 't': topic = optarg; break;
        case 'e': engine = optarg; break;
        case 'n': n = atoi(optarg); break;
        case 'p': poison_every = atoi(optarg); break;
        default: die("usage", "-b HOST:PORT -t TOPIC -e ENGINE -n N [-p P]");
        }
    }
    if (!bootstrap || !topic || !engine || n < 1)
        die("usage", "-b HOST:PORT -t TOPIC -e ENGINE -n N [-p P]");
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "partitioner", "murmur2_random"); /* as the shim */
    set(conf, "linger.ms", "5");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk)
        die("producer", err);
    for (int i = 0; i < n; i++) {
        produce(rk, topic, engine, i % 2 == 0 ? "{\"Run\":true}" : "{\"Run\":false}");
        if (poison_every > 0 && (i + 1) % poison_every == 0)
            produce(rk, topic, engine, "{\"Run\": tru");
        rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 30000))
        die("flush", "not every command was delivered");
    rd_kafka_destroy(rk);
    return 0;
}
