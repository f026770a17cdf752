/*
 * http_deadline.c - request-head deadlines. See http_deadline.h.
 *
 * Entries live in one list under one mutex. The sweeper only ever calls
 * shutdown() on a socket whose entry is still listed, and libmicrohttpd
 * removes the entry (NOTIFY_CLOSED) before it closes the socket, so the
 * sweeper never touches a descriptor number that was reused.
 */
#include "http_deadline.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "erpsync/log.h"
#include "erpsync/util.h"

#define SWEEP_MS 200

enum { ST_LINE, ST_HEAD, ST_BUSY };

typedef struct entry {
    struct entry *prev, *next;
    int fd;
    int state;
    int64_t since_ms; /* monotonic: when the state began */
} entry_t;

struct erps_deadlines {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int stopping;
    entry_t head; /* list sentinel */
    int64_t head_ms, idle_ms;
    uint64_t closed;
};

static entry_t *entry_of(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void set_state(erps_deadlines_t *d, struct MHD_Connection *c, int st) {
    entry_t *e = entry_of(c);
    if (!d || !e)
        return;
    pthread_mutex_lock(&d->lock);
    e->state = st;
    e->since_ms = erps_mono_ms();
    pthread_mutex_unlock(&d->lock);
}

void erps_deadlines_head_begun(erps_deadlines_t *d, struct MHD_Connection *c) {
    set_state(d, c, ST_HEAD);
}

void erps_deadlines_head_done(erps_deadlines_t *d, struct MHD_Connection *c) {
    set_state(d, c, ST_BUSY);
}

void erps_deadlines_idle(erps_deadlines_t *d, struct MHD_Connection *c) {
    set_state(d, c, ST_LINE);
}

void erps_deadlines_notify(void *cls, struct MHD_Connection *c,
                           void **socket_context,
                           enum MHD_ConnectionNotificationCode toe) {
    erps_deadlines_t *d = cls;
    entry_t *e = *socket_context;
    pthread_mutex_lock(&d->lock);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        /* Untracked when out of memory: the idle timeout still holds. */
        if (ci && (e = calloc(1, sizeof(*e)))) {
            e->fd = ci->connect_fd;
            e->state = ST_LINE;
            e->since_ms = erps_mono_ms();
            e->prev = &d->head;
            e->next = d->head.next;
            d->head.next->prev = e;
            d->head.next = e;
            *socket_context = e;
        }
    } else if (e) {
        e->prev->next = e->next;
        e->next->prev = e->prev;
        free(e);
        *socket_context = NULL;
    }
    pthread_mutex_unlock(&d->lock);
}

/* @locks d->lock held by the caller. */
static void sweep(erps_deadlines_t *d, int64_t now) {
    for (entry_t *e = d->head.next; e != &d->head; e = e->next) {
        int64_t limit = e->state == ST_HEAD   ? d->head_ms
                        : e->state == ST_LINE ? d->idle_ms + d->head_ms
                                              : -1;
        if (limit < 0 || now - e->since_ms <= limit)
            continue;
        /* Not close(): the descriptor stays libmicrohttpd's to close. */
        if (shutdown(e->fd, SHUT_RDWR) == 0)
            d->closed++;
        e->state = ST_BUSY; /* once */
    }
}

static void *sweeper(void *arg) {
    erps_deadlines_t *d = arg;
    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += SWEEP_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&d->wake, &d->lock, &ts);
        if (!d->stopping)
            sweep(d, erps_mono_ms());
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

erps_deadlines_t *erps_deadlines_new(int64_t head_ms, int64_t idle_ms) {
    erps_deadlines_t *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->head.next = d->head.prev = &d->head;
    d->head_ms = head_ms;
    d->idle_ms = idle_ms;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    if (pthread_create(&d->thread, NULL, sweeper, d)) {
        pthread_cond_destroy(&d->wake);
        pthread_mutex_destroy(&d->lock);
        free(d);
        return NULL;
    }
    return d;
}

uint64_t erps_deadlines_closed(erps_deadlines_t *d) {
    pthread_mutex_lock(&d->lock);
    uint64_t n = d->closed;
    pthread_mutex_unlock(&d->lock);
    return n;
}

void erps_deadlines_destroy(erps_deadlines_t *d) {
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = 1;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    /* Connections the daemon did not report closed (it is stopped). */
    while (d->head.next != &d->head) {
        entry_t *e = d->head.next;
        d->head.next = e->next;
        free(e);
    }
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    free(d);
}
