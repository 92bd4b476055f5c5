/* rpc_client.c — the DEALER side of tam/rpc.h: synchronous calls with Lazy
 * Pirate retries, and pipelined send/recv. Everything received is validated:
 * a hostile server gets its messages dropped, never a crash. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "tam/error.h"
#include "tam/log.h"
#include "tam/rpc.h"
#include "tam/sec.h"

struct tam_rpc_client {
    void *zctx;
    void *sock;
    void *mon;       /* PAIR reading the socket's monitor events (NULL for inproc) */
    bool connected;  /* a connection was made since the socket was opened */
    bool shook;      /* a handshake succeeded since the socket was opened */
    bool refused;    /* the server refused our key (ZAP said no) */
    char *endpoint;
    int timeout_ms;
    int retries;
    char obo[TAM_PRINCIPAL_ID_MAX + 1]; /* "on behalf of", "" = none */
    tam_rpc_client_stats_t stats;
};

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (-1: no deadline), never negative. */
static long s_left(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - s_now_ms();
    return left > 0 ? (long)left : 0;
}

static int s_errno_code(int e)
{
    return e == ENOMEM ? TAM_ENOMEM : e == EINVAL || e == EPROTONOSUPPORT ? TAM_EINVAL : TAM_EIO;
}

static void s_close(tam_rpc_client_t *c)
{
    if (c->mon) {
        /* Stop the monitor and drain its events before closing: event messages
         * left in the inproc pipe are otherwise never freed by libzmq. */
        if (c->sock)
            zmq_socket_monitor(c->sock, NULL, 0);
        for (int i = 0; i < 64; i++) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            int n = zmq_msg_recv(&m, c->mon, ZMQ_DONTWAIT);
            zmq_msg_close(&m);
            if (n < 0)
                break;
        }
        zmq_close(c->mon);
    }
    if (c->sock)
        zmq_close(c->sock); /* linger 0: pending requests are dropped */
    c->mon = c->sock = NULL;
    c->connected = false;
    c->shook = c->refused = false;
}

/* Opens the DEALER and, for tcp/ipc, a monitor telling whether a connection
 * was ever made, so that "nobody there" (EUNAVAIL) is told from "no answer"
 * (ETIMEOUT). (ZMQ_IMMEDIATE would tell it too, but drops the answers
 * already received when the server disconnects.) */
static int s_open(tam_rpc_client_t *c)
{
    static unsigned s_mon_seq;
    int zero = 0;
    int64_t maxmsg = TAM_RPC_CLIENT_MAX_FRAME;
    const char *step = "socket";
    c->connected = strncmp(c->endpoint, "inproc://", 9) == 0; /* no monitor events */
    if (!(c->sock = zmq_socket(c->zctx, ZMQ_DEALER)))
        goto fail;
    step = "options";
    int hwm = TAM_RPC_ANSWER_HWM;
    if (zmq_setsockopt(c->sock, ZMQ_RCVHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(c->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg))
        goto fail;
    step = "keys";
    if (tam_sec_client_socket(c->zctx, c->sock, c->endpoint) != 0) {
        s_close(c);
        return TAM_ECONFIG;
    }
    if (!c->connected) {
        char ep[64];
        snprintf(ep, sizeof ep, "inproc://tam-rpc-mon-%p-%u", (void *)c,
                 __atomic_add_fetch(&s_mon_seq, 1, __ATOMIC_RELAXED));
        step = "monitor";
        if (zmq_socket_monitor(c->sock, ep,
                               ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) ||
            !(c->mon = zmq_socket(c->zctx, ZMQ_PAIR)) ||
            zmq_setsockopt(c->mon, ZMQ_LINGER, &zero, sizeof zero) || zmq_connect(c->mon, ep))
            goto fail;
    }
    step = "connect";
    if (zmq_connect(c->sock, c->endpoint) != 0)
        goto fail;
    return 0;
fail:;
    int e = errno;
    tam_error("rpc: cannot connect to %s (%s): %s", c->endpoint, step, zmq_strerror(e));
    s_close(c);
    return s_errno_code(e);
}

/* Reads the monitor events that arrived. */
static void s_monitor(tam_rpc_client_t *c)
{
    while (c->mon) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, c->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        /* [event u16 + value u32][endpoint]: any event we asked for means a
         * connection was made; a failed handshake, that the server (its ZAP
         * handler, in curve mode) refused us. */
        if (zmq_msg_size(&m) >= 2) {
            uint16_t ev;
            memcpy(&ev, zmq_msg_data(&m), sizeof ev);
            c->connected = true;
            if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
                c->shook = true;
            if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
                c->refused = true;
        }
        int more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        while (more) {
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, c->mon, 0) < 0)
                more = 0;
            else
                more = zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
    }
}

int tam_rpc_client_new(tam_rpc_client_t **out, void *zctx, const char *endpoint, int timeout_ms,
                       int retries)
{
    if (!out)
        return TAM_EINVAL;
    *out = NULL;
    if (!zctx || !endpoint || !endpoint[0] || timeout_ms <= 0 || retries < 0)
        return TAM_EINVAL;
    tam_rpc_client_t *c = calloc(1, sizeof *c);
    if (!c)
        return TAM_ENOMEM;
    int ret = TAM_ENOMEM;
    c->zctx = zctx;
    c->timeout_ms = timeout_ms;
    c->retries = retries;
    if (!(c->endpoint = strdup(endpoint)))
        goto fail;
    if ((ret = s_open(c)))
        goto fail;
    *out = c;
    return 0;
fail:
    tam_rpc_client_destroy(&c);
    return ret;
}

void tam_rpc_client_destroy(tam_rpc_client_t **cp)
{
    if (!cp || !*cp)
        return;
    tam_rpc_client_t *c = *cp;
    s_close(c);
    free(c->endpoint);
    free(c);
    *cp = NULL;
}

int tam_rpc_client_reconnect(tam_rpc_client_t *c)
{
    if (!c)
        return TAM_EINVAL;
    s_close(c);
    c->stats.reconnects++;
    return s_open(c);
}

void *tam_rpc_client_socket(tam_rpc_client_t *c)
{
    return c ? c->sock : NULL;
}

void tam_rpc_client_stats(const tam_rpc_client_t *c, tam_rpc_client_stats_t *out)
{
    if (c && out)
        *out = c->stats;
}

void tam_rpc_answer_clear(tam_rpc_answer_t *a)
{
    if (!a)
        return;
    free(a->body);
    tam_rpc_error_clear(&a->error);
    memset(a, 0, sizeof *a);
}

/* ---- sending ------------------------------------------------------------------ */

/* Sends ["", envelope, body], waiting until deadline for a connection (or
 * room in the queue). Returns 0; TAM_EUNAVAIL; TAM_EINVAL; TAM_EIO. */
static int s_send(tam_rpc_client_t *c, const char *id, const char *type, const void *body,
                  size_t len, int64_t deadline)
{
    static const uint8_t nil = 0xc0;
    static const tam_mp_limits_t own = {64, SIZE_MAX, SIZE_MAX};
    uint8_t env[256];
    size_t elen;
    if (!c || !c->sock || !id || !type || (!body && len))
        return TAM_EINVAL;
    if (!body) {
        body = &nil;
        len = 1;
    }
    tam_rpc_envelope_t e = {.v = TAM_RPC_VERSION, .status = -1};
    size_t idlen = strnlen(id, TAM_RPC_ID_MAX + 1), tlen = strnlen(type, TAM_RPC_TYPE_MAX + 1);
    if (!tam_rpc_id_valid(id, idlen) || !tam_rpc_type_valid(type, tlen) ||
        tam_mp_check(body, len, &own, NULL))
        return TAM_EINVAL;
    memcpy(e.id, id, idlen + 1);
    memcpy(e.type, type, tlen + 1);
    memcpy(e.obo, c->obo, sizeof e.obo);
    if (tam_rpc_envelope_encode(&e, env, sizeof env, &elen))
        return TAM_EINTERNAL;
    for (;;) {
        if (zmq_send(c->sock, "", 0, ZMQ_DONTWAIT | ZMQ_SNDMORE) == 0)
            break;
        if (errno != EAGAIN && errno != EINTR)
            return s_errno_code(errno);
        long left = s_left(deadline);
        if (left == 0)
            return TAM_EUNAVAIL;
        zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLOUT, 0};
        if (zmq_poll(&it, 1, left) < 0 && errno != EINTR)
            return s_errno_code(errno);
    }
    if (zmq_send(c->sock, env, elen, ZMQ_SNDMORE) < 0 || zmq_send(c->sock, body, len, 0) < 0)
        return s_errno_code(errno);
    c->stats.sent++;
    return 0;
}

int tam_rpc_client_on_behalf(tam_rpc_client_t *c, const char *name)
{
    if (!c)
        return TAM_EINVAL;
    size_t n = name ? strnlen(name, sizeof c->obo) : 0;
    if (n >= sizeof c->obo || (n && !tam_rpc_id_valid(name, n)))
        return TAM_EINVAL;
    memcpy(c->obo, name ? name : "", n);
    c->obo[n] = 0;
    return 0;
}

int tam_rpc_client_send(tam_rpc_client_t *c, const char *id, const char *type, const void *body,
                        size_t len)
{
    if (!c)
        return TAM_EINVAL;
    return s_send(c, id, type, body, len, s_now_ms() + c->timeout_ms);
}

/* ---- receiving ---------------------------------------------------------------- */

/* Validates one received answer (frames f[0..kept), count frames in all)
 * into ans. Returns 0 or TAM_EPROTO/TAM_ENOMEM. */
static int s_parse(zmq_msg_t *f, unsigned count, tam_rpc_answer_t *ans)
{
    tam_rpc_envelope_t env;
    if (count != TAM_RPC_FRAMES || zmq_msg_size(&f[0]) != 0)
        return TAM_EPROTO;
    if (tam_rpc_envelope_decode(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), true, &env, NULL))
        return TAM_EPROTO;
    const void *body = zmq_msg_data(&f[2]);
    size_t len = zmq_msg_size(&f[2]);
    if (tam_mp_check(body, len, &TAM_MP_LIMITS_DEFAULT, NULL))
        return TAM_EPROTO;
    if (!(ans->body = malloc(len)))
        return TAM_ENOMEM;
    memcpy(ans->body, body, len);
    ans->len = len;
    ans->status = env.status;
    memcpy(ans->id, env.id, sizeof ans->id);
    memcpy(ans->type, env.type, sizeof ans->type);
    if (env.status == TAM_RPC_ERROR && tam_rpc_error_decode(body, len, &ans->error) == TAM_ENOMEM)
        return TAM_ENOMEM;
    return 0;
}

/* Reads one message if one is ready. Returns 1 (ans filled), 0 (nothing
 * ready), 2 (a malformed message was dropped), or a negative code. */
static int s_recv_one(tam_rpc_client_t *c, tam_rpc_answer_t *ans)
{
    zmq_msg_t f[TAM_RPC_FRAMES], spare;
    unsigned kept = 0, count = 0;
    int ret = 0, more = 1;
    while (more) {
        zmq_msg_t *m = kept < TAM_RPC_FRAMES ? &f[kept] : &spare;
        zmq_msg_init(m);
        /* Only the first frame may be absent; the rest arrive with it. */
        if (zmq_msg_recv(m, c->sock, count == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            int e = errno;
            zmq_msg_close(m);
            ret = count == 0 && (e == EAGAIN || e == EINTR) ? 0 : s_errno_code(e);
            goto out;
        }
        count++;
        more = zmq_msg_more(m);
        if (m == &spare)
            zmq_msg_close(&spare);
        else
            kept++;
    }
    ret = s_parse(f, count, ans);
    if (ret == TAM_EPROTO) {
        c->stats.malformed++;
        tam_warn("rpc: dropped a malformed answer from %s", c->endpoint);
        tam_rpc_answer_clear(ans);
        ret = 2;
    } else if (ret == 0) {
        c->stats.answers++;
        ret = 1;
    } else {
        tam_rpc_answer_clear(ans);
    }
out:
    for (unsigned i = 0; i < kept; i++)
        zmq_msg_close(&f[i]);
    return ret;
}

/* Waits until deadline (-1: forever) for a well-formed answer. */
static int s_wait(tam_rpc_client_t *c, int64_t deadline, tam_rpc_answer_t *ans)
{
    for (;;) {
        int r = s_recv_one(c, ans);
        if (r == 1)
            return 0;
        if (r < 0)
            return r;
        /* A flood of malformed messages must not hold us past the deadline. */
        long left = s_left(deadline);
        if (left == 0)
            return TAM_ETIMEOUT;
        if (r == 2)
            continue;
        zmq_pollitem_t it[2] = {{c->sock, 0, ZMQ_POLLIN, 0}, {c->mon, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(it, c->mon ? 2 : 1, left) < 0 && errno != EINTR)
            return s_errno_code(errno);
        s_monitor(c);
    }
}

int tam_rpc_client_recv(tam_rpc_client_t *c, int timeout_ms, tam_rpc_answer_t *ans)
{
    if (!c || !ans || !c->sock)
        return TAM_EINVAL;
    tam_rpc_answer_clear(ans);
    return s_wait(c, timeout_ms < 0 ? -1 : s_now_ms() + timeout_ms, ans);
}

int tam_rpc_call_id(tam_rpc_client_t *c, const char *id, const char *type, const void *body,
                    size_t len, tam_rpc_answer_t *ans)
{
    if (!c || !ans || !id || !type)
        return TAM_EINVAL;
    tam_rpc_answer_clear(ans);
    int last = TAM_ETIMEOUT;
    for (int attempt = 0; attempt <= c->retries; attempt++) {
        int ret;
        if (attempt > 0) {
            tam_info("rpc: no answer from %s for %s, reconnecting (retry %d of %d)", c->endpoint,
                     id, attempt, c->retries);
            if ((ret = tam_rpc_client_reconnect(c)))
                return ret;
        }
        int64_t deadline = s_now_ms() + c->timeout_ms;
        ret = s_send(c, id, type, body, len, deadline);
        if (ret == TAM_EUNAVAIL) {
            last = TAM_EUNAVAIL;
            continue;
        }
        if (ret)
            return ret;
        for (;;) {
            ret = s_wait(c, deadline, ans);
            if (ret == TAM_ETIMEOUT) {
                s_monitor(c);
                last = c->refused && !c->shook ? TAM_EDENIED
                       : c->connected           ? TAM_ETIMEOUT
                                                : TAM_EUNAVAIL;
                break;
            }
            if (ret)
                return ret;
            if (strcmp(ans->id, id) == 0 && strcmp(ans->type, type) == 0)
                return 0;
            c->stats.stale++;
            tam_debug("rpc: dropped a stale answer (id %s) while waiting for %s", ans->id, id);
            tam_rpc_answer_clear(ans);
            if (s_left(deadline) == 0) { /* nor a flood of stale ones */
                s_monitor(c);
                last = c->refused && !c->shook ? TAM_EDENIED
                       : c->connected           ? TAM_ETIMEOUT
                                                : TAM_EUNAVAIL;
                break;
            }
        }
    }
    return last;
}

int tam_rpc_call(tam_rpc_client_t *c, const char *type, const void *body, size_t len,
                 tam_rpc_answer_t *ans)
{
    char id[TAM_RPC_ID_MAX + 1];
    int ret = tam_rpc_new_id(id);
    return ret ? ret : tam_rpc_call_id(c, id, type, body, len, ans);
}
