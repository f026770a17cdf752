/* msg_internal.h - helpers shared by the codec's files; not a public API. */
#ifndef ERPSYNC_PROTO_MSG_INTERNAL_H
#define ERPSYNC_PROTO_MSG_INTERNAL_H

#include <cjson/cJSON.h>

#include "erpsync/jsonw.h"
#include "erpsync/proto.h"

/* No event of ours comes near this; a larger value is someone's mistake. */
#define ERPS_MAX_VALUE (64 * 1024)

/* cJSON prints numbers with 15 significant digits: larger integers would not
 * survive a decode and re-encode unchanged, so decoders refuse them. */
#define ERPS_JSON_INT_MAX 999999999999999.0

int erps_msg_add_header(erps_msg_t *msg, const char *name, const char *value);
int erps_msg_header_str(const erps_msg_t *msg, const char *name, char *out,
                        size_t size, int required, char *errstr,
                        size_t errstr_size);
int erps_ce_encode(const erps_ce_t *ce, const char *type, erps_msg_t *out);
int erps_ce_decode(const erps_msg_t *in, erps_ce_t *ce, char *type,
                   size_t type_size, char *errstr, size_t errstr_size);
cJSON *erps_json_parse_value(const erps_msg_t *in, char *errstr,
                             size_t errstr_size);
/* Prints root into out->owned_value and frees root (also when NULL). */
int erps_json_finish(cJSON *root, erps_msg_t *out, char *errstr,
                     size_t errstr_size);

/* Hands a JSON text writer's text to out->owned_value; on error frees it
 * and says so in errstr. @returns 0 or -1. */
int erps_msg_take_json(erps_jw_t *w, erps_msg_t *out, char *errstr,
                       size_t errstr_size);

/* Typed getters for decoders; each names the field in errstr on failure.
 * Names match case-insensitively. A missing or null time is 0. */
int erps_json_get_bool(const cJSON *o, const char *name, bool *v, char *errstr,
                       size_t n);
int erps_json_get_int(const cJSON *o, const char *name, int64_t *v,
                      char *errstr, size_t n);
int erps_json_get_str(const cJSON *o, const char *name, char *out, size_t size,
                      char *errstr, size_t n);
int erps_json_get_time(const cJSON *o, const char *name, int64_t *ms,
                       char *errstr, size_t n);

#endif
