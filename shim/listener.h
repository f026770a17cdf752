/*
 * listener.h - the shim's listening socket, bound before anything else
 * starts so that a busy port stops the start at once with a clear message.
 */
#ifndef ERPSYNC_SHIM_LISTENER_H
#define ERPSYNC_SHIM_LISTENER_H

#include <stddef.h>

/** The port is held by another socket (exit code of erpsync-shim). */
#define ERPS_SHIM_EXIT_PORT_IN_USE 3

/**
 * Opens, binds and listens on addr:port (IPv4). SO_REUSEPORT only when
 * reuseport is set: without it a second shim on the same port fails here
 * instead of silently taking half the calls.
 * @returns the socket (the caller owns it), or -1 with errstr set and
 * *in_use set to 1 when the port is held by someone else.
 */
int erps_listener_open(const char *addr, int port, int reuseport, int *in_use,
                       char *errstr, size_t errstr_size);

#endif
