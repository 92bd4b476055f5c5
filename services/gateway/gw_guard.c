/* gw_guard.c — keeps idle and slow HTTP connections from locking others out
 * (docs/gateway.md, "Threads and limits").
 *
 * libmicrohttpd has one idle timeout for every connection and, at
 * MHD_OPTION_CONNECTION_LIMIT, stops accepting: max_connections clients that
 * connect and send nothing held every newcomer in the kernel's backlog for a
 * whole connection_timeout. The guard adds what mature servers do (nginx's
 * client_header_timeout, and its reuse of idle connections when it runs out):
 *   - a connection that has not completed a request header within
 *     [gateway] header_timeout (at most connection_timeout) of its accept
 *     is closed (a deadline, so a client trickling a byte at a time is
 *     closed too; between keep-alive requests connection_timeout applies);
 *   - when the open connections come within a reserve of max_connections,
 *     the oldest connections not in a request (no complete header yet, or
 *     idle between keep-alive requests) are closed to make room. A request
 *     in progress, a body being uploaded and an event stream are never.
 *
 * The guard learns of each connection through MHD_OPTION_NOTIFY_CONNECTION
 * (STARTED, CLOSED; both in MHD's thread) and of each request through the
 * access handler and MHD_OPTION_NOTIFY_COMPLETED. It closes a connection by
 * shutdown(2) of its socket, which MHD's epoll sees at once as the end of the
 * connection and cleans up as usual. It does so from the accept policy
 * callback (MHD's thread, for every accepted connection) and from a watchdog
 * thread (every S_TICK_MS: the deadlines, and room when MHD sits at its limit
 * and accepts nothing). The watchdog may shut down a socket only while its
 * entry is listed, under the mutex; libmicrohttpd (0.9.75, daemon.c
 * MHD_cleanup_connections and new_connection_process_) calls NOTIFY_CLOSED,
 * which unlists it under the same mutex, BEFORE it closes the descriptor: a
 * listed descriptor is never one already reused by another connection.
 * A connection with input MHD has not read yet is never closed: then MHD's
 * thread is late (a request waiting for a slow service holds it up to
 * [gateway] timeout; a stopped process), not the client. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include "tam/error.h"
#include "tam/log.h"
#include "gateway.h"

#define S_TICK_MS 100

typedef enum { S_HEADER, S_BUSY, S_IDLE } s_state_t;

typedef struct s_list s_list_t;

typedef struct s_conn {
    struct s_conn *prev, *next;
    s_list_t *list; /* the one it is on */
    int fd;
    s_state_t state;
    bool closing;   /* shut down by the guard, not yet cleaned up by MHD */
    int64_t since;  /* ms: accepted (S_HEADER) or its last request ended (S_IDLE) */
} s_conn_t;

struct s_list {
    s_conn_t *head, *tail;
};

struct gw_guard {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool started, stop;
    s_list_t ready;        /* S_HEADER and S_IDLE, not closing: by since, oldest first */
    s_list_t other;        /* S_BUSY, or closing */
    unsigned n, closing;   /* listed; of them shut down by the guard */
    unsigned max, high;    /* max_connections; make room from high on */
    int64_t header_ms;
    uint64_t logged[2];    /* counts at the last log line */
    int64_t logged_at;
};

static _Atomic uint64_t s_timeouts, s_evictions;

void gw_guard_counts(uint64_t *header_timeouts, uint64_t *evictions)
{
    *header_timeouts = atomic_load(&s_timeouts);
    *evictions = atomic_load(&s_evictions);
}

static int64_t s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_unlink(s_conn_t *c)
{
    s_list_t *l = c->list;
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
    c->list = NULL;
}

static void s_append(s_list_t *l, s_conn_t *c)
{
    c->list = l;
    c->prev = l->tail;
    c->next = NULL;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
}

/* Under g->mu: c is on g->ready. */
static void s_close(gw_guard_t *g, s_conn_t *c)
{
    s_unlink(c);
    s_append(&g->other, c);
    c->closing = true;
    g->closing++;
    shutdown(c->fd, SHUT_RDWR);
}

/* Whether fd has input MHD has not read yet: then MHD's thread is behind
 * (busy with a request, or the process was stopped), not the client, and the
 * connection is left alone until MHD has read it. */
static bool s_unread(int fd)
{
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 && n > 0;
}

/* Under g->mu: closes the oldest connections not in a request while the
 * ones left (plus incoming) reach g->high. */
static void s_make_room(gw_guard_t *g, unsigned incoming)
{
    s_conn_t *c = g->ready.head, *next;
    for (; c && g->n - g->closing + incoming > g->high; c = next) {
        next = c->next;
        if (s_unread(c->fd))
            continue;
        s_close(g, c); /* (none left: all in a request, MHD's limit refuses) */
        atomic_fetch_add(&s_evictions, 1);
    }
}

/* Under g->mu: closes the connections past their header deadline. */
static void s_deadlines(gw_guard_t *g, int64_t now)
{
    s_conn_t *next;
    for (s_conn_t *c = g->ready.head; c && now - c->since >= g->header_ms; c = next) {
        next = c->next;
        if (c->state == S_HEADER && !s_unread(c->fd)) { /* (idle: connection_timeout) */
            s_close(g, c);
            atomic_fetch_add(&s_timeouts, 1);
        }
    }
}

/* Under g->mu: one line at most every 10 s while connections are closed. */
static void s_log(gw_guard_t *g, int64_t now)
{
    uint64_t t = atomic_load(&s_timeouts), e = atomic_load(&s_evictions);
    if ((t == g->logged[0] && e == g->logged[1]) || now - g->logged_at < 10000)
        return;
    tam_notice("gateway: closed %llu connections with no request header within header_timeout "
               "and %llu not in a request to make room near max_connections (%llu and %llu "
               "in all); %u open",
               (unsigned long long)(t - g->logged[0]), (unsigned long long)(e - g->logged[1]),
               (unsigned long long)t, (unsigned long long)e, g->n - g->closing);
    g->logged[0] = t;
    g->logged[1] = e;
    g->logged_at = now;
}

static void *s_watchdog(void *arg)
{
    gw_guard_t *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts); /* the clock of g->cv */
        ts.tv_nsec += S_TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        if (g->stop)
            break;
        int64_t now = s_now();
        s_deadlines(g, now);
        if (g->n >= g->max) /* MHD accepts nothing until one closes */
            s_make_room(g, 0);
        s_log(g, now);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

int gw_guard_new(gw_guard_t **out, const tam_config_t *cfg)
{
    gw_guard_t *g = calloc(1, sizeof *g);
    if (!g)
        return TAM_ENOMEM;
    g->max = (unsigned)cfg->gateway.max_connections;
    unsigned reserve = g->max / 16 + 1;
    g->high = g->max > reserve ? g->max - reserve : 1;
    g->header_ms = cfg->gateway.header_timeout < cfg->gateway.connection_timeout
                       ? cfg->gateway.header_timeout
                       : cfg->gateway.connection_timeout;
    pthread_mutex_init(&g->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&g->thread, NULL, s_watchdog, g) != 0) {
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->mu);
        free(g);
        return TAM_ENOMEM;
    }
    g->started = true;
    *out = g;
    return 0;
}

void gw_guard_destroy(gw_guard_t **gp)
{
    if (!gp || !*gp)
        return;
    gw_guard_t *g = *gp;
    pthread_mutex_lock(&g->mu);
    g->stop = true;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    if (g->started)
        pthread_join(g->thread, NULL);
    for (int i = 0; i < 2; i++) { /* none once MHD has stopped; freed all the same */
        s_list_t *l = i ? &g->ready : &g->other;
        while (l->head) {
            s_conn_t *c = l->head;
            s_unlink(c);
            free(c);
        }
    }
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
    *gp = NULL;
}

enum MHD_Result gw_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)addr;
    (void)addrlen;
    gw_guard_t *g = cls;
    pthread_mutex_lock(&g->mu);
    s_deadlines(g, s_now());
    s_make_room(g, 1);
    pthread_mutex_unlock(&g->mu);
    return MHD_YES;
}

void gw_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                     enum MHD_ConnectionNotificationCode code)
{
    gw_guard_t *g = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        s_conn_t *c = ci ? calloc(1, sizeof *c) : NULL;
        if (!c)
            return; /* not guarded: MHD's own timeout still applies */
        c->fd = ci->connect_fd;
        c->state = S_HEADER;
        c->since = s_now();
        pthread_mutex_lock(&g->mu);
        s_append(&g->ready, c);
        g->n++;
        pthread_mutex_unlock(&g->mu);
        *socket_context = c;
        return;
    }
    s_conn_t *c = *socket_context;
    if (!c)
        return;
    pthread_mutex_lock(&g->mu);
    s_unlink(c);
    g->n--;
    if (c->closing)
        g->closing--;
    pthread_mutex_unlock(&g->mu);
    free(c);
    *socket_context = NULL;
}

void gw_guard_request(gw_guard_t *g, struct MHD_Connection *conn, bool busy)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    s_conn_t *c = ci ? ci->socket_context : NULL;
    if (!c)
        return;
    pthread_mutex_lock(&g->mu);
    c->state = busy ? S_BUSY : S_IDLE;
    c->since = s_now();
    if (!c->closing) { /* to the end of ready (the newest), or off it */
        s_unlink(c);
        s_append(busy ? &g->other : &g->ready, c);
    }
    pthread_mutex_unlock(&g->mu);
}
