/*
 * shim.h - erpsync-shim: the HTTP front door (libmicrohttpd). A change
 * (ChangeEngineStatus, ChangeEngineInterval) becomes a command on Kafka and
 * its request is suspended (no thread held) until the status it caused
 * arrives, its deadline passes, or Kafka refuses it; GetEngineStatus waits
 * only until the shim's view of the status topic has caught up.
 */
#ifndef ERPSYNC_SHIM_H
#define ERPSYNC_SHIM_H

#include <stdint.h>

#include "erpsync/config.h"
#include "erpsync/kafka.h"

typedef struct erps_shim_conf {
    char listen_addr[64];
    int64_t port;
    char bootstrap[1024];
    erps_topics_t topics;
    erps_topic_policy_t topic_policy;
    char users_file[1024];
    char tenants_file[1024];
    char sign_key_file[1024];
    char tickets_file[1024];
    char jwt_hs256_key_file[1024];
    char jwt_rs256_key_file[1024];
    char jwt_issuer[256];
    char jwt_audience[256];
    int64_t jwt_skew_ms;
    char jwt_tenant_claim[64];
    char jwt_role_claim[64];
    char session_key_file[1024];
    int64_t session_ttl_ms;
    int session_secure;
    char apptokens_file[1024];
    int restricted;
    int64_t login_failures_max;
    int64_t login_failures_window_ms;
    int64_t account_failures_max;
    int64_t account_failures_window_ms;
    int64_t credential_cache_ms;
    char default_language[16];
    char default_timezone[64];
    char source[ERPS_SOURCE_MAX + 1];
    int64_t request_timeout_ms;
    int status_read_cached;
    int64_t body_max;
    int64_t headers_max;
    int64_t url_max;
    int64_t threads;
    int64_t conn_limit;
    int64_t conn_timeout_s;
    int64_t interval_min_s;
    int64_t interval_max_s;
    char log_level[16];
    char log_format[8];
    char log_file[1024];
    /* front door (HTTP guards): listener, per-address limit, head deadline,
     * CORS and cross-site checks */
    int listen_reuseport;
    int64_t per_addr_limit;
    int64_t head_timeout_ms;
    int64_t drain_ms; /* shutdown.drain.ms */
    char cors_origins[1024];
} erps_shim_conf_t;

extern const erps_cfg_opt_t erps_shim_conf_table[];

typedef struct erps_shim erps_shim_t;

/** listen_fd: a listening socket (erps_listener_open), owned by the shim
 * from here on, also when the start fails. */
erps_shim_t *erps_shim_start(const erps_shim_conf_t *conf,
                             const erps_kprops_t *kp, int listen_fd,
                             char *errstr, size_t errstr_size);
/** Answers every waiting request (503), then stops the HTTP daemon. */
/** Shutdown began: /readyz answers 503 from now on, so load balancers
 *  stop sending calls; everything else is served until erps_shim_stop. */
void erps_shim_drain(erps_shim_t *shim);
/** Reads the users, tenants and app tokens files again (SIGHUP); logs what
 *  it read, or why it kept the ones it had. */
void erps_shim_reload(erps_shim_t *shim);
void erps_shim_stop(erps_shim_t *shim);

#endif
