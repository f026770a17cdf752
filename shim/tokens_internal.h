/*
 * tokens_internal.h - ways into tokens.c for the unit tests and the fuzz
 * target only: keys from memory instead of files, file contents from a
 * buffer, and a tickets store with its own re-check interval. Not for the
 * server.
 */
#ifndef ERPSYNC_SHIM_TOKENS_INTERNAL_H
#define ERPSYNC_SHIM_TOKENS_INTERNAL_H

#include "tokens.h"

/* As erps_jwt_new, with the key bytes given (hs_key or rs_pem may be NULL;
 * the *_file fields of conf are ignored). */
erps_jwt_t *erps_jwt_new_keys(const erps_jwt_conf_t *conf, const void *hs_key,
                              size_t hs_len, const char *rs_pem, size_t rs_len,
                              char *errstr, size_t errstr_size);

/* As erps_tickets_open, looking at the file at most every check_ms (0 = on
 * every check). */
erps_tickets_t *erps_tickets_open_every(const char *path, int64_t check_ms,
                                        char *errstr, size_t errstr_size);

/* A store holding the tickets of a file body, never re-read. */
erps_tickets_t *erps_tickets_from_text(const char *text, size_t len,
                                       char *errstr, size_t errstr_size);

/* As erps_session_new, with the key bytes given. */
erps_session_t *erps_session_new_key(const void *key, size_t key_len,
                                     int64_t ttl_ms, char *errstr,
                                     size_t errstr_size);

/* As erps_apptokens_load, from a file body. */
erps_apptokens_t *erps_apptokens_from_text(const char *text, size_t len,
                                           char *errstr, size_t errstr_size);

#endif
