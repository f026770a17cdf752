/*
 * conf.c - erpsyncctl's settings table: the same machinery as the agent's
 * and the shim's reads it from files, ERPSYNC_* and --flags, and prints it
 * in --help and the man page.
 */
#include <stddef.h>

#include "ctl.h"

#define O(f) offsetof(ctl_conf_t, f)
#define S(f) sizeof(((ctl_conf_t *)0)->f)
const erps_cfg_opt_t ctl_conf_table[] = {
    {"bootstrap.servers", ERPS_CFG_STR, "127.0.0.1:9092", 0, 0, O(bootstrap),
     S(bootstrap), "Kafka bootstrap servers"},
    {"topic.commands", ERPS_CFG_STR, ERPS_TOPIC_COMMANDS, 0, 0,
     O(topic_commands), S(topic_commands), "command topic"},
    {"topic.status", ERPS_CFG_STR, ERPS_TOPIC_STATUS, 0, 0, O(topic_status),
     S(topic_status), "status topic (compacted)"},
    {"topic.audit", ERPS_CFG_STR, ERPS_TOPIC_AUDIT, 0, 0, O(topic_audit),
     S(topic_audit), "audit topic"},
    {"engine.id", ERPS_CFG_STR, NULL, 0, 0, O(engine_id), S(engine_id),
     "the engine (also the command's argument); empty: every engine"},
    {"format", ERPS_CFG_STR, "auto", 0, 0, O(format), S(format),
     "text, json (one object a line) or auto: text on a terminal, else json"},
    {"timeout.ms", ERPS_CFG_INT, "10000", 100, 3600000, O(timeout_ms), 0,
     "how long to wait for Kafka, and for a command's outcome (its deadline)"},
    {"source", ERPS_CFG_STR, "/erpsync/ctl", 0, 0, O(source), S(source),
     "ce_source of the commands sent"},
    {"principal", ERPS_CFG_STR, NULL, 0, 0, O(principal), S(principal),
     "ce_principal of the commands sent; empty: ctl:<login name>"},
    {"filter.principal", ERPS_CFG_STR, NULL, 0, 0, O(filter_principal),
     S(filter_principal), "audit: only commands by this principal"},
    {"filter.outcome", ERPS_CFG_STR, NULL, 0, 0, O(filter_outcome),
     S(filter_outcome),
     "audit: only Applied, NoChange, Rejected, Expired or DeadLettered"},
    {"filter.since", ERPS_CFG_STR, NULL, 0, 0, O(filter_since), S(filter_since),
     "audit: from this time (RFC 3339, or ago: 15m, 2h, 7d)"},
    {"filter.until", ERPS_CFG_STR, NULL, 0, 0, O(filter_until), S(filter_until),
     "audit: up to this time (RFC 3339, or ago)"},
    {"follow", ERPS_CFG_BOOL, "false", 0, 0, O(follow), 0,
     "audit: keep printing new events (like tail -f)"},
    {"log.level", ERPS_CFG_STR, "warn", 0, 0, O(log_level), S(log_level),
     "error, warn, info or debug (on standard error)"},
    ERPS_CFG_END};
#undef O
#undef S
