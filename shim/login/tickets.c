/*
 * tickets.c - SOTickets: a file of ticket hashes shared by every shim, read
 * again when it changes; erpsyncctl appends to it.
 */
#include "../tokens.h"
#include "../tokens_internal.h"
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "erpsync/util.h"

/* The last millisecond erps_time_parse reads back (end of 9999). */
#define TIME_MAX_MS INT64_C(253402300799999)

typedef struct ticket {
    unsigned char hash[SHA256_LEN];
    int64_t expiry_ms;
    char user[ERPS_PRINCIPAL_MAX + 1];
} ticket_t;

typedef struct ticket_list {
    ticket_t *v;
    size_t cnt, cap;
    int oom;
} ticket_list_t;

struct erps_tickets {
    pthread_mutex_t lock;
    char *path; /* NULL: made from a buffer, never re-read */
    int64_t check_ms;
    int64_t checked_at; /* erps_mono_ms() of the last look at the file */
    int looked;         /* st describes the file last read (good or bad) */
    struct stat st;
    ticket_t *v;
    size_t cnt;
    char err[512]; /* "" after a good read */
};

static int ticket_line(void *ctx, char *line) {
    ticket_list_t *l = ctx;
    ticket_t t;
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

    memset(&t, 0, sizeof(t));
    if (!c1 || !c2 || c1 - line != 2 * SHA256_LEN ||
        secret_hex_decode(line, t.hash, SHA256_LEN))
        return -1;
    *c2 = '\0';
    if (!erps_name_valid(c1 + 1) || erps_time_parse(c2 + 1, &t.expiry_ms))
        return -1;
    erps_strlcpy(t.user, c1 + 1, sizeof(t.user));
    ticket_t *nv = secret_grow(l->v, l->cnt, &l->cap, sizeof(*nv));
    if (!nv) {
        l->oom = 1;
        return -1;
    }
    l->v = nv;
    l->v[l->cnt++] = t;
    return 0;
}

static int parse_tickets(const char *text, size_t len, const char *origin,
                         ticket_list_t *l, char *errstr, size_t errstr_size) {
    memset(l, 0, sizeof(*l));
    int bad = secret_each_line(text, len, ticket_line, l);
    if (!bad)
        return 0;
    if (l->oom)
        snprintf(errstr, errstr_size, "out of memory");
    else
        snprintf(errstr, errstr_size,
                 "tickets file %s:%d: expected "
                 "<sha256 hex>:<user>:<expiry RFC 3339>",
                 origin, bad);
    free(l->v);
    l->v = NULL;
    return -1;
}

static int same_file(const struct stat *a, const struct stat *b) {
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void tickets_replace(erps_tickets_t *t, ticket_list_t *l) {
    free(t->v);
    t->v = l->v;
    t->cnt = l->cnt;
    t->err[0] = '\0';
}

/*
 * Reads the file if it changed since the last look. On a bad read the old
 * tickets stay and t->err says why. The stat is taken before reading: a
 * writer finishing its line during the read changes the file again, so the
 * next look reads it again. @locks t->lock held by the caller
 */
static int tickets_load(erps_tickets_t *t) {
    ticket_list_t l;
    struct stat st;
    char *buf = NULL;
    size_t len = 0;

    int fd = open(t->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            /* Nothing issued yet, or the operator removed every ticket. */
            memset(&l, 0, sizeof(l));
            tickets_replace(t, &l);
            t->looked = 0;
            return 0;
        }
        snprintf(t->err, sizeof(t->err), "tickets file %s: %s", t->path,
                 strerror(errno));
        return -1;
    }
    if (fstat(fd, &st)) {
        snprintf(t->err, sizeof(t->err), "tickets file %s: %s", t->path,
                 strerror(errno));
        close(fd);
        return -1;
    }
    if (t->looked && same_file(&st, &t->st)) {
        close(fd);
        return t->err[0] ? -1 : 0;
    }
    int rc = secret_read_fd(fd, "tickets file", t->path, LIST_FILE_MAX, &buf,
                            &len, t->err, sizeof(t->err));
    close(fd);
    if (rc)
        return -1;
    t->st = st;
    t->looked = 1;
    rc = parse_tickets(buf, len, t->path, &l, t->err, sizeof(t->err));
    free(buf);
    if (rc)
        return -1;
    tickets_replace(t, &l);
    return 0;
}

static erps_tickets_t *tickets_alloc(void) {
    erps_tickets_t *t = calloc(1, sizeof(*t));
    if (t && pthread_mutex_init(&t->lock, NULL)) {
        free(t);
        t = NULL;
    }
    return t;
}

erps_tickets_t *erps_tickets_open_every(const char *path, int64_t check_ms,
                                        char *errstr, size_t errstr_size) {
    erps_tickets_t *t = tickets_alloc();
    if (!t || !(t->path = secret_strdup(path))) {
        snprintf(errstr, errstr_size, "out of memory");
        erps_tickets_destroy(t);
        return NULL;
    }
    t->check_ms = check_ms;
    t->checked_at = erps_mono_ms();
    if (tickets_load(t)) {
        snprintf(errstr, errstr_size, "%s", t->err);
        erps_tickets_destroy(t);
        return NULL;
    }
    return t;
}

erps_tickets_t *erps_tickets_open(const char *path, char *errstr,
                                  size_t errstr_size) {
    return erps_tickets_open_every(path, 1000, errstr, errstr_size);
}

erps_tickets_t *erps_tickets_from_text(const char *text, size_t len,
                                       char *errstr, size_t errstr_size) {
    ticket_list_t l;
    erps_tickets_t *t = tickets_alloc();
    if (!t) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (parse_tickets(text, len, "(text)", &l, errstr, errstr_size)) {
        erps_tickets_destroy(t);
        return NULL;
    }
    tickets_replace(t, &l);
    return t;
}

void erps_tickets_destroy(erps_tickets_t *t) {
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t->v);
    free(t->path);
    free(t);
}

int erps_tickets_error(erps_tickets_t *t, char *errstr, size_t errstr_size) {
    pthread_mutex_lock(&t->lock);
    int rc = t->err[0] ? -1 : 0;
    if (rc)
        snprintf(errstr, errstr_size, "%s", t->err);
    pthread_mutex_unlock(&t->lock);
    return rc;
}

/* The ticket of hash h in the list: its expiry and user. Every line is
 * compared, so the time taken does not say which. Under t->lock. */
static int find_hash(const erps_tickets_t *t, const unsigned char *h,
                     int64_t *expiry, char *user, size_t user_size) {
    int found = 0;
    for (size_t i = 0; i < t->cnt; i++) {
        int eq = CRYPTO_memcmp(t->v[i].hash, h, SHA256_LEN) == 0;
        if (eq && !found) {
            found = 1;
            *expiry = t->v[i].expiry_ms;
            erps_strlcpy(user, t->v[i].user, user_size);
        }
    }
    return found;
}

/* The file is looked at again every check_ms; and at every miss, as a
 * ticket not in the list may have been issued a moment ago: a client may
 * use it right after --issue-ticket printed it. A look is an open and an
 * fstat; the file is read again only when it changed. */
static int lookup_ticket(erps_tickets_t *t, const unsigned char *h,
                         int64_t *expiry, char *user, size_t user_size) {
    int found = 0;
    pthread_mutex_lock(&t->lock);
    for (int pass = 0; pass < 2 && !found; pass++) {
        int64_t mono = erps_mono_ms();
        if (t->path && (pass || mono - t->checked_at >= t->check_ms)) {
            t->checked_at = mono;
            (void)tickets_load(t); /* on failure t->err tells */
        }
        found = find_hash(t, h, expiry, user, user_size);
    }
    pthread_mutex_unlock(&t->lock);
    return found;
}

int erps_tickets_check(erps_tickets_t *t, const char *ticket, int64_t now_ms,
                       char *user, size_t user_size, char *errstr,
                       size_t errstr_size) {
    unsigned char h[SHA256_LEN];
    char found_user[ERPS_PRINCIPAL_MAX + 1], when[ERPS_TIME_LEN];
    int64_t expiry = 0;
    if (!ticket || !ticket[0] ||
        strnlen(ticket, SECRET_TEXT_MAX + 1) > SECRET_TEXT_MAX ||
        secret_sha256(ticket, strlen(ticket), h) ||
        !lookup_ticket(t, h, &expiry, found_user, sizeof(found_user))) {
        snprintf(errstr, errstr_size, "the ticket is not known");
        return -1;
    }
    if (now_ms >= expiry) {
        erps_time_format(expiry, when);
        snprintf(errstr, errstr_size, "the ticket expired at %s", when);
        return -2;
    }
    if (erps_strlcpy(user, found_user, user_size) >= user_size) {
        snprintf(errstr, errstr_size, "the ticket's user name does not fit");
        return -1;
    }
    return 0;
}

/* A new ticket ("7T:" and 32 random bytes in base64url) and the hex of
 * its SHA-256, which is all the file keeps. */
static int ticket_new(char text[ERPS_TICKET_LEN + 1],
                      char hex[2 * SHA256_LEN + 1], char *errstr,
                      size_t errstr_size) {
    unsigned char rnd[32], h[SHA256_LEN];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        snprintf(errstr, errstr_size, "no random bytes for a ticket");
        return -1;
    }
    memcpy(text, "7T:", 3);
    secret_b64url_encode(rnd, sizeof(rnd), text + 3);
    OPENSSL_cleanse(rnd, sizeof(rnd));
    if (secret_sha256(text, strlen(text), h)) {
        snprintf(errstr, errstr_size, "SHA-256 is not available");
        return -1;
    }
    secret_hex_encode(h, SHA256_LEN, hex);
    return 0;
}

/* Appends line (n bytes, with one byte of room before it) to the file in
 * one write(): O_APPEND keeps the lines of shims issuing at the same time
 * apart. A hand-edited file may lack its last newline; ours must not be
 * glued to that line. */
static int append_line(const char *path, char *line, size_t n, char *errstr,
                       size_t errstr_size) {
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    struct stat st;
    char last = '\n';
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
        int rfd = open(path, O_RDONLY | O_CLOEXEC);
        if (rfd >= 0) {
            if (pread(rfd, &last, 1, st.st_size - 1) != 1)
                last = '\n';
            close(rfd);
        }
    }
    line[0] = '\n';
    const char *from = last == '\n' ? line + 1 : line;
    int bad = fd < 0 ||
              erps_write_all(fd, from, n + (size_t)(line + 1 - from)) ||
              fsync(fd);
    if (fd >= 0 && close(fd))
        bad = 1;
    if (bad)
        snprintf(errstr, errstr_size, "tickets file %s: %s", path,
                 strerror(errno));
    return bad ? -1 : 0;
}

int erps_tickets_issue(const char *path, const char *user, int64_t ttl_ms,
                       int64_t now_ms, char *ticket, size_t ticket_size,
                       char *errstr, size_t errstr_size) {
    char text[ERPS_TICKET_LEN + 1], hex[2 * SHA256_LEN + 1];
    char when[ERPS_TIME_LEN],
        line[2 * SHA256_LEN + ERPS_PRINCIPAL_MAX + ERPS_TIME_LEN + 8];
    int rc = -1;

    if (ticket_size < sizeof(text)) {
        snprintf(errstr, errstr_size, "the ticket buffer is too small");
        return -1;
    }
    if (!user || !erps_name_valid(user)) {
        snprintf(errstr, errstr_size,
                 "a ticket user name has 1 to %d bytes, without ':' or "
                 "control characters",
                 ERPS_PRINCIPAL_MAX);
        return -1;
    }
    if (ttl_ms <= 0 || now_ms < 0 || now_ms > TIME_MAX_MS ||
        ttl_ms > TIME_MAX_MS - now_ms) {
        snprintf(errstr, errstr_size,
                 "the ticket lifetime must be positive "
                 "and end before the year 10000");
        return -1;
    }
    if (ticket_new(text, hex, errstr, errstr_size))
        goto out;
    erps_time_format(now_ms + ttl_ms, when);
    /* Room for a newline in front, for a file whose last line lacks one. */
    int n = snprintf(line + 1, sizeof(line) - 1, "%s:%s:%s\n", hex, user, when);
    if (n < 0 || (size_t)n >= sizeof(line) - 1) {
        snprintf(errstr, errstr_size, "the ticket line does not fit");
        goto out;
    }
    if (append_line(path, line, (size_t)n, errstr, errstr_size))
        goto out;
    memcpy(ticket, text, sizeof(text));
    rc = 0;
out:
    OPENSSL_cleanse(text, sizeof(text));
    return rc;
}
