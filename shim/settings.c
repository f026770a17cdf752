/*
 * settings.c - erpsync-shim's settings: name, type, default, range and the
 * --help text of each, read by common/config.c from files, ERPSYNC_*
 * variables and --flags (docs/configuration.md lists them; a test checks).
 */
#include <stddef.h>
#include <stdint.h>

#include "erpsync/config.h"
#include "erpsync/kafka.h"
#include "erpsync/proto.h"
#include "shim.h"

const erps_cfg_opt_t erps_shim_conf_table[] = {
#define O(f) offsetof(erps_shim_conf_t, f)
    {"listen.address", ERPS_CFG_STR, "127.0.0.1", 0, 0, O(listen_addr), 64,
     "IPv4 address to listen on (0.0.0.0 for all)"},
    {"listen.port", ERPS_CFG_INT, "8080", 0, 65535, O(port), 0, "HTTP port"},
    {"bootstrap.servers", ERPS_CFG_STR, "127.0.0.1:9092", 0, 0, O(bootstrap),
     1024, "Kafka bootstrap servers"},
    ERPS_CFG_TOPICS(erps_shim_conf_t, topics, topic_policy),
    {"users.file", ERPS_CFG_STR, "", 0, 0, O(users_file), 1024,
     "users file: name:hash:tenant:role per line (required)"},
    {"tenants.file", ERPS_CFG_STR, "", 0, 0, O(tenants_file), 1024,
     "tenants file: tenant:engine per line (required)"},
    {"command.signing.key.file", ERPS_CFG_STR, "", 0, 0, O(sign_key_file), 1024,
     "sign every command with this key (32+ bytes, shared with the agents; "
     "empty: unsigned)"},
    {"auth.tickets.file", ERPS_CFG_STR, "", 0, 0, O(tickets_file), 1024,
     "SOTicket store (sha256:user:expiry per line); empty: SOTicket off"},
    {"auth.jwt.hs256.key.file", ERPS_CFG_STR, "", 0, 0, O(jwt_hs256_key_file),
     1024, "HS256 secret for Bearer tokens (at least 32 bytes)"},
    {"auth.jwt.rs256.key.file", ERPS_CFG_STR, "", 0, 0, O(jwt_rs256_key_file),
     1024, "RS256 public key (PEM) for Bearer tokens"},
    {"auth.jwt.issuer", ERPS_CFG_STR, "", 0, 0, O(jwt_issuer), 256,
     "required iss of Bearer tokens"},
    {"auth.jwt.audience", ERPS_CFG_STR, "erpsync", 0, 0, O(jwt_audience), 256,
     "required aud of Bearer tokens"},
    {"auth.jwt.clock.skew.ms", ERPS_CFG_INT, "60000", 0, 3600000,
     O(jwt_skew_ms), 0, "leeway on exp, nbf and iat"},
    {"auth.jwt.tenant.claim", ERPS_CFG_STR, "tenant", 0, 0, O(jwt_tenant_claim),
     64, "claim naming the caller's tenant"},
    {"auth.jwt.role.claim", ERPS_CFG_STR, "role", 0, 0, O(jwt_role_claim), 64,
     "claim naming the caller's role (admin or reader; absent: reader)"},
    {"auth.session.key.file", ERPS_CFG_STR, "", 0, 0, O(session_key_file), 1024,
     "secret (>= 32 bytes) signing session cookies and XSRF tokens; empty: "
     "no sessions"},
    {"auth.session.ttl.ms", ERPS_CFG_INT, "28800000", 60000, 604800000,
     O(session_ttl_ms), 0, "how long a session cookie is valid"},
    {"auth.session.cookie.secure", ERPS_CFG_BOOL, "true", 0, 1,
     O(session_secure), 0,
     "mark cookies Secure (HTTPS only; put TLS in front)"},
    {"auth.apptokens.file", ERPS_CFG_STR, "", 0, 0, O(apptokens_file), 1024,
     "registered SO-AppTokens (sha256[:app] per line)"},
    {"auth.restricted", ERPS_CFG_BOOL, "false", 0, 1, O(restricted), 0,
     "only callers with a registered SO-AppToken may use the agent"},
    {"auth.failures.max", ERPS_CFG_INT, "10", 0, 1000000, O(login_failures_max),
     0, "failed logins per client address per window before 429 (0: no limit)"},
    {"auth.failures.window.ms", ERPS_CFG_INT, "60000", 1000, 86400000,
     O(login_failures_window_ms), 0, "the window of auth.failures.max"},
    {"auth.account.failures.max", ERPS_CFG_INT, "20", 0, 1000000,
     O(account_failures_max), 0,
     "failed logins per account per window, from "
     "any addresses, before its passwords wait (429) (0: no limit)"},
    {"auth.account.failures.window.ms", ERPS_CFG_INT, "60000", 1000, 86400000,
     O(account_failures_window_ms), 0,
     "the window of auth.account.failures.max"},
    {"auth.cache.ttl.ms", ERPS_CFG_INT, "60000", 0, 3600000,
     O(credential_cache_ms), 0,
     "a verified Basic credential is trusted this long (0: check every call)"},
    {"i18n.default.language", ERPS_CFG_STR, "en", 0, 0, O(default_language), 16,
     "StatusMessage language when the caller asks for none we have"},
    {"i18n.default.timezone", ERPS_CFG_STR, "UTC", 0, 0, O(default_timezone),
     64, "time zone of times in StatusMessage without SO-TimeZone"},
    {"source", ERPS_CFG_STR, "/erpsync/shim", 0, 0, O(source),
     ERPS_SOURCE_MAX + 1, "ce_source of the commands this shim sends"},
    {"request.timeout.ms", ERPS_CFG_INT, "10000", 500, 300000,
     O(request_timeout_ms), 0,
     "how long a call waits for the agent before 504"},
    {"status.read.cached", ERPS_CFG_BOOL, "false", 0, 1, O(status_read_cached),
     0,
     "GetEngineStatus answers from this shim's view at once, without first "
     "reading the status topic to its end: no Kafka round trip, but it may "
     "miss a change another shim has just answered"},
    {"http.body.max.bytes", ERPS_CFG_INT, "65536", 16, 16777216, O(body_max), 0,
     "larger request bodies get 413"},
    {"http.headers.max.bytes", ERPS_CFG_INT, "16384", 1024, 65536,
     O(headers_max), 0, "larger request headers (all of them) get 431"},
    {"http.url.max.bytes", ERPS_CFG_INT, "8192", 256, 65536, O(url_max), 0,
     "a longer path and query get 414"},
    {"http.threads", ERPS_CFG_INT, "2", 1, 256, O(threads), 0,
     "HTTP event-loop threads (requests waiting for Kafka hold none)"},
    {"http.connection.limit", ERPS_CFG_INT, "4096", 1, 1000000, O(conn_limit),
     0, "concurrent connections"},
    {"http.connection.timeout.s", ERPS_CFG_INT, "30", 1, 3600,
     O(conn_timeout_s), 0, "idle keep-alive connections are closed after"},
    ERPS_CFG_INTERVAL_BOUNDS(erps_shim_conf_t, interval_min_s, interval_max_s),
    ERPS_CFG_LOG(erps_shim_conf_t),
    /* front door (HTTP guards) */
    {"listen.reuseport", ERPS_CFG_BOOL, "false", 0, 1, O(listen_reuseport), 0,
     "share listen.port with other processes that set it (SO_REUSEPORT)"},
    {"http.connection.per.address.limit", ERPS_CFG_INT, "64", 0, 1000000,
     O(per_addr_limit), 0,
     "concurrent connections from one client address "
     "(0: no limit)"},
    {"http.head.timeout.ms", ERPS_CFG_INT, "10000", 100, 3600000,
     O(head_timeout_ms), 0,
     "a request line and headers not complete this "
     "long after the request line began are closed"},
    {"shutdown.drain.ms", ERPS_CFG_INT, "0", 0, 600000, O(drain_ms), 0,
     "on SIGINT or SIGTERM, answer /readyz 503 but keep serving calls this "
     "long before stopping (time for a load balancer to notice; a second "
     "signal stops at once)"},
    {"cors.origins", ERPS_CFG_STR, "", 0, 0, O(cors_origins), 1024,
     "origins allowed to call from a browser, comma-separated (empty: none)"},
    ERPS_CFG_END
#undef O
};
