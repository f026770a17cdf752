/*
 * proto.h - the message contracts: commands, status and audit events as
 * CloudEvents 1.0 in Kafka binary mode (JSON value, ce_* headers, key =
 * engine id). The JSON Schemas in proto/schemas/ are the normative form; this
 * codec is the one place in C that reads or writes these messages, used by the
 * agent and the shim alike.
 *
 * The codec knows nothing of librdkafka: an erps_msg_t is key, value and
 * headers as plain bytes, and common/kafka.c maps it onto rd_kafka messages.
 * Decoders validate everything (they read outside input) and never trust a
 * length or a NUL terminator they did not check.
 */
#ifndef ERPSYNC_PROTO_H
#define ERPSYNC_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "erpsync/util.h"

#define ERPS_ENGINE_ID_MAX 128 /* bytes, without NUL: [A-Za-z0-9._-]+ */
#define ERPS_SOURCE_MAX    256
#define ERPS_PRINCIPAL_MAX 128
#define ERPS_MESSAGE_MAX   512
#define ERPS_REASON_MAX    256

#define ERPS_CE_SPECVERSION    "1.0"
#define ERPS_CONTENT_TYPE_JSON "application/json"
/* ce_dataschema of each event: the $id of its JSON Schema in proto/schemas. */
#define ERPS_SCHEMA_BASE "https://erpsync.dev/schemas/"
/* ce_sequence is written zero-padded to this many digits (every
 * non-negative int64 fits), so that it sorts as a string as well as a
 * number (CloudEvents sequence extension: lexicographic order). */
#define ERPS_SEQUENCE_DIGITS 19

#define ERPS_TYPE_CHANGE_STATUS   "com.erpsync.command.ChangeEngineStatus"
#define ERPS_TYPE_CHANGE_INTERVAL "com.erpsync.command.ChangeEngineInterval"
#define ERPS_TYPE_STATUS          "com.erpsync.status.ErpSyncEngineStatus"
#define ERPS_TYPE_AUDIT           "com.erpsync.audit.CommandOutcome"

/* A Kafka message without Kafka: views into someone else's bytes after a
 * decode, or owned buffers after an encode (release with erps_msg_release). */
#define ERPS_MSG_MAX_HDRS 16
typedef struct erps_hdr {
    const char *name;
    const char *value; /* not NUL-terminated on decode */
    size_t size;
} erps_hdr_t;

typedef struct erps_msg {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
    erps_hdr_t hdrs[ERPS_MSG_MAX_HDRS];
    int hdr_cnt;
    int hdr_dropped; /* the record had more headers than hdrs holds */
    /* Owned storage, used by encoders only. */
    char *owned_value;
    char arena[2048];
    size_t arena_used;
} erps_msg_t;

/** Frees what an encoder allocated; safe on a zeroed or decoded message. */
void erps_msg_release(erps_msg_t *msg);
/** Looks up a header; @returns its hdr or NULL. Last occurrence wins. */
const erps_hdr_t *erps_msg_header(const erps_msg_t *msg, const char *name);

#define ERPS_TRACEPARENT_LEN 55 /* W3C Trace Context, version 00 */
#define ERPS_REQUEST_ID_MAX  64

/* The CloudEvents attributes every event carries. */
typedef struct erps_ce {
    char id[ERPS_UUID_LEN + 1];
    char source[ERPS_SOURCE_MAX + 1];
    char subject[ERPS_ENGINE_ID_MAX + 1]; /* engine id, also the key */
    int64_t time_ms;
    /* Optional: the caller's trace (Distributed Tracing extension,
     * ce_traceparent) and request id (ce_requestid); "" when none. A
     * command carries the HTTP request's, its audit record the command's. */
    char traceparent[ERPS_TRACEPARENT_LEN + 1];
    char request_id[ERPS_REQUEST_ID_MAX + 1];
} erps_ce_t;

/** Fills id with a new UUID, time with now, and copies source/subject;
 *  no trace, no request id. */
void erps_ce_init(erps_ce_t *ce, const char *source, const char *engine_id);

/** @returns 1 for a W3C traceparent of version 00 as the spec writes it:
 *  00-<32 lowercase hex, not all 0>-<16 lowercase hex, not all 0>-<2 hex>. */
int erps_traceparent_valid(const char *s);
/** @returns 1 for a request id we carry: 1 to 64 of A-Z a-z 0-9 . _ : - */
int erps_request_id_valid(const char *s);

/** @returns 1 when id is a usable engine id ([A-Za-z0-9._-], 1..128). */
int erps_engine_id_valid(const char *id);

/* ---- engine state, shared by status events and the engine ---- */

typedef enum erps_state {
    ERPS_STATE_STOPPED = 0,
    ERPS_STATE_STARTING,
    ERPS_STATE_RUNNING,
    ERPS_STATE_STOPPING,
    ERPS_STATE_FAILED,
} erps_state_t;

const char *erps_state_name(erps_state_t s);
/** @returns 0 and sets *s, or -1 for an unknown name. */
int erps_state_parse(const char *name, erps_state_t *s);
/** IsRunning as the WebAPI reports it: Starting or Running. */
bool erps_state_is_running(erps_state_t s);

/* ---- commands (topic erpsync.commands) ---- */

typedef enum erps_cmd_type {
    ERPS_CMD_CHANGE_STATUS = 1,
    ERPS_CMD_CHANGE_INTERVAL,
} erps_cmd_type_t;

/** The WebAPI method of a command type ("ChangeEngineStatus"), for audit
 *  records and logs; "unknown command" for a value outside the enum. */
const char *erps_command_type_name(erps_cmd_type_t type);

typedef struct erps_command {
    erps_ce_t ce;
    erps_cmd_type_t type;
    int64_t deadline_ms;                    /* ce_deadline */
    char principal[ERPS_PRINCIPAL_MAX + 1]; /* ce_principal */
    char client_addr[64];                   /* ce_clientaddr, may be "" */
    bool run;                               /* ChangeEngineStatus */
    int64_t interval_s;                     /* ChangeEngineInterval */
} erps_command_t;

int erps_command_encode(const erps_command_t *cmd, erps_msg_t *out,
                        char *errstr, size_t errstr_size);
/**
 * Decodes and validates a command.
 * @returns 0, or -1 with a reason in errstr (fit for the dead-letter header).
 */
int erps_command_decode(const erps_msg_t *in, erps_command_t *cmd, char *errstr,
                        size_t errstr_size);

/* ---- command signatures (shim signs, agent verifies) ---- */

#define ERPS_SIGN_KEY_MAX 1024

/** Adds ce_signature (HMAC-SHA256 of ce_id, ce_subject, ce_type,
 *  ce_deadline, ce_principal and the value) to an encoded command.
 *  @returns 0 or -1 (no room for the header, crypto failure). */
int erps_command_sign(erps_msg_t *msg, const unsigned char *key,
                      size_t key_len);
/** @returns 0 when msg carries a signature by key over what it says, else
 *  -1 with errstr ("the command is not signed", "... does not match"). */
int erps_command_verify(const erps_msg_t *msg, const unsigned char *key,
                        size_t key_len, char *errstr, size_t errstr_size);
/** Reads a signing key file: 32 to key_size bytes (trailing newlines are
 *  not part of the key). @returns 0 or -1 with errstr. */
int erps_sign_key_load(const char *path, unsigned char *key, size_t key_size,
                       size_t *key_len, char *errstr, size_t errstr_size);

/* ---- status (topic erpsync.status) ---- */

typedef struct erps_iteration {
    int64_t number; /* 0: none yet */
    int64_t start_ms;
    int64_t end_ms;
    int exit_code;    /* -1 when killed by a signal */
    int signal;       /* 0 when it exited */
    char outcome[16]; /* Succeeded, Failed, TimedOut, Terminated, NotStarted */
    char detail[ERPS_REASON_MAX + 1]; /* last line of stderr, or the reason */
} erps_iteration_t;

typedef struct erps_status {
    erps_ce_t ce;
    char correlation_id[ERPS_UUID_LEN + 1]; /* "" when no command caused it */
    int64_t sequence;                       /* ce_sequence, per engine */
    erps_state_t state;
    bool is_running;
    int64_t interval_s;
    int64_t generation;        /* bumps on every applied change */
    int64_t next_iteration_ms; /* 0 when not scheduled */
    int64_t failures;          /* consecutive failed iterations */
    erps_iteration_t last;
    char message_id[64]; /* resource id, e.g. SR_ERPSYNC_RUNNING */
    char message[ERPS_MESSAGE_MAX + 1]; /* the English text */
} erps_status_t;

int erps_status_encode(const erps_status_t *st, erps_msg_t *out, char *errstr,
                       size_t errstr_size);
int erps_status_decode(const erps_msg_t *in, erps_status_t *st, char *errstr,
                       size_t errstr_size);

/** Writes the English StatusMessage and its resource id for a status. */
void erps_status_render_message(erps_status_t *st);

/* ---- audit (topic erpsync.audit) ---- */

typedef enum erps_outcome {
    ERPS_OUTCOME_APPLIED = 1,
    ERPS_OUTCOME_NOCHANGE,
    ERPS_OUTCOME_REJECTED,
    ERPS_OUTCOME_EXPIRED,
    ERPS_OUTCOME_DEADLETTERED,
} erps_outcome_t;

const char *erps_outcome_name(erps_outcome_t o);

typedef struct erps_audit {
    erps_ce_t ce;
    erps_outcome_t outcome;
    char command_id[ERPS_UUID_LEN + 1]; /* "" if it could not be decoded */
    char command_type[64];
    char principal[ERPS_PRINCIPAL_MAX + 1];
    char client_addr[64];
    char reason[ERPS_REASON_MAX + 1];
    erps_state_t before_state, after_state;
    int64_t before_interval_s, after_interval_s;
    int64_t generation;
} erps_audit_t;

int erps_audit_encode(const erps_audit_t *au, erps_msg_t *out, char *errstr,
                      size_t errstr_size);
int erps_audit_decode(const erps_msg_t *in, erps_audit_t *au, char *errstr,
                      size_t errstr_size);

/* ---- topics ---- */

/* The default topic names (PRODUCT.md): every program's settings table
 * takes them from here. */
#define ERPS_TOPIC_COMMANDS "erpsync.commands"
#define ERPS_TOPIC_STATUS   "erpsync.status"
#define ERPS_TOPIC_AUDIT    "erpsync.audit"
#define ERPS_TOPIC_DLQ      "erpsync.commands.dlq"

/* ---- .NET TimeSpan text and ISO 8601 durations ---- */

#define ERPS_TIMESPAN_LEN 32
/* The longest interval anything accepts: .NET's TimeSpan.MaxValue in days. */
#define ERPS_INTERVAL_MAX_S (INT64_C(10675199) * 86400)
/* The engine.interval.min and .max rows of the agent's and the shim's
 * settings tables (erpsync/config.h), for a struct with int64_t members MIN
 * and MAX: one default and one range for both programs. */
#define ERPS_CFG_INTERVAL_BOUNDS(type, MIN, MAX)                               \
    {"engine.interval.min",                                                    \
     ERPS_CFG_INT,                                                             \
     "60",                                                                     \
     1,                                                                        \
     INT32_MAX,                                                                \
     offsetof(type, MIN),                                                      \
     0,                                                                        \
     "smallest interval ChangeEngineInterval accepts, seconds"},               \
    {                                                                          \
        "engine.interval.max", ERPS_CFG_INT, "604800", 1, INT32_MAX,           \
            offsetof(type, MAX), 0,                                            \
            "largest interval ChangeEngineInterval accepts, seconds"           \
    }
/** @returns 0 when min_s <= max_s, else -1 with the reason in err. */
int erps_interval_bounds_check(int64_t min_s, int64_t max_s, char *err,
                               size_t err_size);
/** Formats seconds as hh:mm:ss, or d.hh:mm:ss from one day on. */
void erps_timespan_format(int64_t seconds, char out[ERPS_TIMESPAN_LEN]);
/** Formats seconds as an xs:duration the way .NET's DataContract does (PT15M).
 */
void erps_duration_format(int64_t seconds, char out[ERPS_TIMESPAN_LEN]);
/**
 * Parses TimeSpan text ([-][d.]hh:mm[:ss[.fff]]) or an ISO 8601 duration
 * (P[nD][T[nH][nM][nS]]). Fractions of seconds are rejected.
 * @returns 0, or -1 with the reason in errstr.
 */
int erps_timespan_parse(const char *s, int64_t *seconds, char *errstr,
                        size_t errstr_size);

/* ---- WebAPI rights: ETableRight and EFieldRight flags ---- */

/* The WebAPI's own values (SuperOffice ETableRight / EFieldRight): the
 * flags and the named combinations, which clients compare numerically. */
enum {
    ERPS_TR_SELECT = 1,
    ERPS_TR_UPDATE = 2,
    ERPS_TR_UR = 3,
    ERPS_TR_INSERT = 4,
    ERPS_TR_RI = 5,
    ERPS_TR_URI = 7,
    ERPS_TR_DELETE = 8,
    ERPS_TR_UDR = 11,
    ERPS_TR_FULL = 15, /* Select, Update, Insert, Delete */
    ERPS_TR_FILTERING = 16,
    ERPS_TR_RF = 17,
    ERPS_TR_FI = 20,
    ERPS_TR_RESTRICTED_UPDATE = 32,
    ERPS_TR_URU = 34,
    ERPS_TR_WRITE = 38,
};
enum {
    ERPS_FR_READ = 1,
    ERPS_FR_WRITE = 2,
    ERPS_FR_UPDATE = 3, /* Read and Write */
    ERPS_FR_UIHINT_MANDATORY = 64,
    ERPS_FR_UIHINT_READONLY = 128,
};

/** Writes a mask as the WebAPI (.NET Enum.ToString of a [Flags] enum)
 *  does: a named value if one equals it, else the named values that make
 *  it up, smallest first ("None" for 0, the number if no names fit). */
void erps_table_right_name(unsigned mask, char *out, size_t size);
void erps_field_right_name(unsigned mask, char *out, size_t size);

struct cJSON;
/**
 * Adds ErpSyncEngineStatus's TableRight and FieldProperties (one entry per
 * field that carries rights: IsRunning, StatusMessage, Interval, with its
 * .NET type) to root: the one place that list is written. The status event
 * carries the owner's rights, the shim's answer the caller's.
 * @returns 0, or -1 out of memory.
 */
int erps_status_rights_add(struct cJSON *root, unsigned table_right,
                           unsigned field_right, const char *reason);

#endif
