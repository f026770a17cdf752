/*
 * listener.c - the listening socket. See listener.h.
 */
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int erps_listener_open(const char *addr, int port, int reuseport, int *in_use,
                       char *errstr, size_t errstr_size) {
    struct sockaddr_in sa;
    int one = 1, fd = -1;
    *in_use = 0;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        snprintf(errstr, errstr_size,
                 "listen.address %s is not an IPv4 address", addr);
        return -1;
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(errstr, errstr_size, "cannot open a socket: %s",
                 strerror(errno));
        return -1;
    }
    /* SO_REUSEADDR only lets a restart bind past connections in TIME_WAIT;
     * on Linux it never lets two listeners share the port. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        (reuseport &&
         setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))) {
        snprintf(errstr, errstr_size, "cannot set socket options: %s",
                 strerror(errno));
        goto fail;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        int e = errno;
        *in_use = e == EADDRINUSE;
        snprintf(errstr, errstr_size, "cannot listen on %s:%d: %s%s", addr,
                 port, strerror(e),
                 *in_use ? " (another process holds the port; stop it, choose "
                           "another listen.port, or set listen.reuseport=true "
                           "on every shim meant to share it)"
                         : "");
        goto fail;
    }
    if (listen(fd, SOMAXCONN)) {
        snprintf(errstr, errstr_size, "cannot listen on %s:%d: %s", addr, port,
                 strerror(errno));
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}
