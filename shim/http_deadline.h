/*
 * http_deadline.h - a deadline for the whole request head. libmicrohttpd
 * 0.9.75 only has an idle timeout, which every byte resets: a client that
 * trickles a header line every few seconds holds its connection forever
 * (slowloris). This module tracks each connection's state and shuts down
 * the socket of one whose head is not complete in time; libmicrohttpd then
 * sees the end of the stream and closes it as usual.
 */
#ifndef ERPSYNC_SHIM_HTTP_DEADLINE_H
#define ERPSYNC_SHIM_HTTP_DEADLINE_H

#include <microhttpd.h>
#include <stdint.h>

typedef struct erps_deadlines erps_deadlines_t;

/**
 * Starts the sweeper thread. A head (request line and headers) must be
 * complete head_ms after its request line was read; a connection waiting
 * for a request line gets idle_ms + head_ms in all, however its bytes
 * trickle in. @returns NULL when out of memory or no thread.
 */
erps_deadlines_t *erps_deadlines_new(int64_t head_ms, int64_t idle_ms);
/** Stops the sweeper. Call after MHD_stop_daemon (no callbacks left). */
void erps_deadlines_destroy(erps_deadlines_t *d);

/** MHD_OPTION_NOTIFY_CONNECTION callback (cls: the erps_deadlines_t).
 * @locality libmicrohttpd's threads. */
void erps_deadlines_notify(void *cls, struct MHD_Connection *c,
                           void **socket_context,
                           enum MHD_ConnectionNotificationCode toe);
/** The request line was read (MHD_OPTION_URI_LOG_CALLBACK): the head's
 * deadline starts. */
void erps_deadlines_head_begun(erps_deadlines_t *d, struct MHD_Connection *c);
/** The headers are complete (first call of the access handler). */
void erps_deadlines_head_done(erps_deadlines_t *d, struct MHD_Connection *c);
/** The answer went out (MHD_OPTION_NOTIFY_COMPLETED): waiting for the next
 * request line. */
void erps_deadlines_idle(erps_deadlines_t *d, struct MHD_Connection *c);
/** Connections shut down for a late head since the start. */
uint64_t erps_deadlines_closed(erps_deadlines_t *d);

#endif
