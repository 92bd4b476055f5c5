/* rpc_backlog.c — per-peer answers waiting for a slow reader, bounded in
 * bytes and count (see rpc_backlog.h). */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "tam/error.h"
#include "tam/log.h"
#include "tam/rpc.h"
#include "rpc_backlog.h"

#define S_RETRY_MIN_MS 1
#define S_RETRY_MAX_MS 100

typedef struct s_item {
    struct s_item *next;
    size_t elen, blen;
    uint8_t data[]; /* env then body */
} s_item_t;

typedef struct {
    uint8_t route[256];
    size_t rlen;
    s_item_t *head, *tail;
    size_t n, bytes;
    int64_t progress_ms; /* last time the peer took an answer (or first queued) */
    int64_t retry_ms;    /* next flush attempt */
    int backoff;
    bool warned;
} s_peer_t;

struct tam_rpc__backlog {
    s_peer_t *v;
    size_t n, cap;
    size_t bytes;
};

tam_rpc__backlog_t *tam_rpc__backlog_new(void)
{
    return calloc(1, sizeof(tam_rpc__backlog_t));
}

static void s_peer_clear(tam_rpc__backlog_t *b, s_peer_t *p)
{
    for (s_item_t *it = p->head, *nx; it; it = nx) {
        nx = it->next;
        free(it);
    }
    b->bytes -= p->bytes;
    p->head = p->tail = NULL;
    p->n = p->bytes = 0;
}

void tam_rpc__backlog_destroy(tam_rpc__backlog_t **bp)
{
    if (!bp || !*bp)
        return;
    tam_rpc__backlog_t *b = *bp;
    for (size_t i = 0; i < b->n; i++)
        s_peer_clear(b, &b->v[i]);
    free(b->v);
    free(b);
    *bp = NULL;
}

static s_peer_t *s_find(const tam_rpc__backlog_t *b, const void *route, size_t rlen)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].rlen == rlen && memcmp(b->v[i].route, route, rlen) == 0)
            return &b->v[i];
    return NULL;
}

bool tam_rpc__backlog_has(const tam_rpc__backlog_t *b, const void *route, size_t rlen)
{
    return b && b->n && s_find(b, route, rlen);
}

size_t tam_rpc__backlog_bytes(const tam_rpc__backlog_t *b)
{
    return b ? b->bytes : 0;
}

int tam_rpc__backlog_push(tam_rpc__backlog_t *b, const void *route, size_t rlen, const void *env,
                          size_t elen, const void *body, size_t blen, int64_t now_ms)
{
    if (rlen > sizeof b->v[0].route)
        return TAM_EINVAL;
    s_peer_t *p = s_find(b, route, rlen);
    size_t size = sizeof(s_item_t) + elen + blen;
    if (p && p->n && (p->n + TAM_RPC_PIPE_HWM >= TAM_RPC_ANSWER_HWM ||
                      p->bytes + size > TAM_RPC_PEER_BYTES)) {
        if (!p->warned)
            tam_warn("rpc: a peer does not read its answers (%zu bytes, %zu answers waiting): "
                     "dropping further answers to it",
                     p->bytes, p->n);
        p->warned = true;
        return TAM_ETOOBIG;
    }
    if (!p) {
        if (b->n == b->cap) {
            size_t cap = b->cap ? b->cap * 2 : 8;
            s_peer_t *v = realloc(b->v, cap * sizeof *v);
            if (!v)
                return TAM_ENOMEM;
            b->v = v;
            b->cap = cap;
        }
        p = &b->v[b->n++];
        memset(p, 0, sizeof *p);
        memcpy(p->route, route, rlen);
        p->rlen = rlen;
        p->progress_ms = now_ms;
        p->retry_ms = now_ms + S_RETRY_MIN_MS;
        p->backoff = S_RETRY_MIN_MS;
    }
    s_item_t *it = malloc(size);
    if (!it)
        return TAM_ENOMEM;
    it->next = NULL;
    it->elen = elen;
    it->blen = blen;
    memcpy(it->data, env, elen);
    if (blen)
        memcpy(it->data + elen, body, blen);
    if (p->tail)
        p->tail->next = it;
    else
        p->head = it;
    p->tail = it;
    p->n++;
    p->bytes += size;
    b->bytes += size;
    return 0;
}

/* Sends the peer's answers until its pipe is full. Returns 1 if it took at
 * least one, 0 if none, -1 if the peer is gone. */
static int s_flush_peer(s_peer_t *p, void *sock, tam_rpc__backlog_t *b,
                        tam_rpc__backlog_stats_t *st, bool wait, int64_t until)
{
    int took = 0;
    while (p->head) {
        s_item_t *it = p->head;
        /* Waiting: a blocking send sleeps on the socket's mailbox until
         * libzmq's I/O thread gives the pipe credit back (the peer reads),
         * at most ZMQ_SNDTIMEO (set by the caller). */
        bool w = wait && tam_rpc__now_ms() < until;
        if (zmq_send(sock, p->route, p->rlen, (w ? 0 : ZMQ_DONTWAIT) | ZMQ_SNDMORE) < 0)
            return errno == EAGAIN ? took : -1;
        /* once the routing frame is accepted the rest goes too */
        zmq_send(sock, "", 0, ZMQ_DONTWAIT | ZMQ_SNDMORE);
        zmq_send(sock, it->data, it->elen, ZMQ_DONTWAIT | ZMQ_SNDMORE);
        zmq_send(sock, it->data + it->elen, it->blen, ZMQ_DONTWAIT);
        p->head = it->next;
        if (!p->head)
            p->tail = NULL;
        size_t size = sizeof(s_item_t) + it->elen + it->blen;
        p->bytes -= size;
        b->bytes -= size;
        p->n--;
        free(it);
        st->delivered++;
        took = 1;
    }
    return took;
}

int tam_rpc__backlog_flush(tam_rpc__backlog_t *b, void *sock, int64_t now_ms,
                           tam_rpc__backlog_stats_t *st)
{
    return tam_rpc__backlog_drain(b, sock, now_ms, 0, st);
}

int tam_rpc__backlog_drain(tam_rpc__backlog_t *b, void *sock, int64_t now_ms, int budget_ms,
                           tam_rpc__backlog_stats_t *st)
{
    if (!b || !b->n)
        return -1;
    int64_t until = now_ms + (budget_ms > 0 ? budget_ms : 0);
    int64_t next = -1;
    size_t freed = 0;
    for (size_t i = 0; i < b->n;) {
        s_peer_t *p = &b->v[i];
        /* Draining, a peer that took its last answers is tried at once;
         * one that stopped taking them keeps its backoff. */
        if (now_ms >= p->retry_ms || (budget_ms > 0 && p->backoff == S_RETRY_MIN_MS)) {
            int r = s_flush_peer(p, sock, b, st, budget_ms > 0, until);
            if (r > 0) {
                p->progress_ms = now_ms;
                p->backoff = S_RETRY_MIN_MS;
                p->warned = false;
            } else if (r == 0) {
                p->backoff = p->backoff * 2 > S_RETRY_MAX_MS ? S_RETRY_MAX_MS : p->backoff * 2;
            }
            if (r < 0 || (p->head && now_ms - p->progress_ms > TAM_RPC_STUCK_MS)) {
                tam_warn("rpc: dropping %zu answer(s) (%zu bytes) to a peer that is %s", p->n,
                         p->bytes, r < 0 ? "gone" : "not reading");
                st->dropped += p->n;
                freed += p->bytes;
                s_peer_clear(b, p);
            }
            p->retry_ms = now_ms + p->backoff;
        }
        if (!p->head) {
            b->v[i] = b->v[--b->n];
            continue;
        }
        if (next < 0 || p->retry_ms < next)
            next = p->retry_ms;
        i++;
    }
    if (freed >= (1u << 20))
        malloc_trim(0); /* give a dropped backlog's memory back to the system */
    if (next < 0)
        return -1;
    return next > now_ms ? (int)(next - now_ms) : 0;
}
