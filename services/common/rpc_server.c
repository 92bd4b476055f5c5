/* rpc_server.c — the ROUTER side of tam/rpc.h: receives requests, answers
 * envelope problems itself, sends answers without ever blocking. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "tam/error.h"
#include "tam/log.h"
#include "tam/rpc.h"
#include "tam/sec.h"
#include "rpc_backlog.h"

const tam_rpc_limits_t TAM_RPC_LIMITS_DEFAULT = {TAM_RPC_MAX_FRAME_DEFAULT, TAM_RPC_FRAMES, NULL};

/* Malformed messages skipped per tam_rpc_server_recv call before returning,
 * so that a flood of garbage cannot starve the rest of the loop. */
#define S_REJECT_BURST 64

struct tam_rpc_server {
    void *sock;
    void *zctx;
    char endpoint[256];
    size_t max_frame;
    unsigned max_frames;
    tam_mp_limits_t body_limits;
    tam_rpc_server_stats_t stats;
    tam_rpc__backlog_t *backlog; /* answers waiting for slow peers */
};

int64_t tam_rpc__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
#define s_now_ms tam_rpc__now_ms

/* Large answers in their own mappings, always: glibc otherwise raises its
 * mmap threshold after the first large free, and the memory of answers
 * queued for a client that never read stayed in the heap after it left. */
static void s_malloc_once(void)
{
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

static int s_errno_code(int e)
{
    return e == ENOMEM ? TAM_ENOMEM : e == EINVAL || e == EPROTONOSUPPORT ? TAM_EINVAL : TAM_EIO;
}

int tam_rpc_server_new(tam_rpc_server_t **out, void *zctx, const char *endpoint,
                       const tam_rpc_limits_t *lim)
{
    if (!out)
        return TAM_EINVAL;
    *out = NULL;
    if (!zctx || !endpoint || !endpoint[0])
        return TAM_EINVAL;
    if (!lim)
        lim = &TAM_RPC_LIMITS_DEFAULT;
    tam_rpc_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return TAM_ENOMEM;
    int ret;
    s->max_frame = lim->max_frame ? lim->max_frame : TAM_RPC_MAX_FRAME_DEFAULT;
    s->max_frames = lim->max_frames < TAM_RPC_FRAMES ? TAM_RPC_FRAMES : lim->max_frames;
    s->body_limits = lim->body_limits ? *lim->body_limits : TAM_MP_LIMITS_DEFAULT;
    s->zctx = zctx;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, s_malloc_once);
    if (!(s->backlog = tam_rpc__backlog_new())) {
        ret = TAM_ENOMEM;
        goto fail;
    }
    if (!(s->sock = zmq_socket(zctx, ZMQ_ROUTER))) {
        ret = s_errno_code(errno);
        goto fail;
    }
    if ((ret = tam_sec_server_socket(zctx, s->sock, endpoint, TAM_SEC_DOMAIN)))
        goto fail;
    int one = 1, linger = TAM_RPC_LINGER_MS;
    int64_t maxmsg = (int64_t)s->max_frame;
    /* libzmq's pipe to a peer holds TAM_RPC_PIPE_HWM answers; more wait in
     * the backlog, bounded in bytes (rpc_backlog.h): a client may pipeline
     * TAM_RPC_ANSWER_HWM requests without its answers being dropped. */
    int hwm = TAM_RPC_PIPE_HWM;
    if (zmq_setsockopt(s->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(s->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one) ||
        zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_setsockopt(s->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg)) {
        ret = TAM_EIO;
        goto fail;
    }
    if (zmq_bind(s->sock, endpoint) != 0) {
        tam_error("rpc: cannot bind %s: %s", endpoint, zmq_strerror(errno));
        ret = s_errno_code(errno);
        goto fail;
    }
    size_t elen = sizeof s->endpoint;
    if (zmq_getsockopt(s->sock, ZMQ_LAST_ENDPOINT, s->endpoint, &elen) != 0)
        snprintf(s->endpoint, sizeof s->endpoint, "%s", endpoint);
    if ((ret = tam_sec_ipc_private(s->endpoint)))
        goto fail;
    *out = s;
    return 0;
fail:
    tam_rpc_server_destroy(&s);
    return ret;
}

void tam_rpc_server_destroy(tam_rpc_server_t **sp)
{
    if (!sp || !*sp)
        return;
    tam_rpc_server_t *s = *sp;
    /* Answers still waiting get TAM_RPC_LINGER_MS to leave, as the queued ones do. */
    int64_t end = s_now_ms() + TAM_RPC_LINGER_MS;
    while (s->sock && tam_rpc__backlog_bytes(s->backlog) && s_now_ms() < end) {
        int next = tam_rpc_server_flush(s);
        if (next < 0)
            break;
        zmq_poll(NULL, 0, next > 0 ? next : 1);
    }
    if (s->sock)
        zmq_close(s->sock);
    tam_rpc__backlog_destroy(&s->backlog);
    free(*sp);
    *sp = NULL;
}

void *tam_rpc_server_socket(tam_rpc_server_t *s)
{
    return s ? s->sock : NULL;
}

const char *tam_rpc_server_endpoint(const tam_rpc_server_t *s)
{
    return s ? s->endpoint : "";
}

int tam_rpc_server_flush(tam_rpc_server_t *s)
{
    if (!s)
        return -1;
    tam_rpc__backlog_stats_t st = {0};
    int next = tam_rpc__backlog_flush(s->backlog, s->sock, s_now_ms(), &st);
    s->stats.undelivered += st.dropped;
    return next;
}

int tam_rpc_server_drain(tam_rpc_server_t *s, int wait_ms, int budget_ms)
{
    if (!s)
        return -1;
    if (!tam_rpc__backlog_bytes(s->backlog) || wait_ms <= 0 || budget_ms <= 0)
        return tam_rpc_server_flush(s);
    tam_rpc__backlog_stats_t st = {0};
    int next = -1;
    if (zmq_setsockopt(s->sock, ZMQ_SNDTIMEO, &wait_ms, sizeof wait_ms) == 0) {
        next = tam_rpc__backlog_drain(s->backlog, s->sock, s_now_ms(), budget_ms, &st);
        int never = 0; /* every other send says ZMQ_DONTWAIT; this keeps it so */
        zmq_setsockopt(s->sock, ZMQ_SNDTIMEO, &never, sizeof never);
    } else {
        next = tam_rpc__backlog_flush(s->backlog, s->sock, s_now_ms(), &st);
    }
    s->stats.undelivered += st.dropped;
    return next;
}

size_t tam_rpc_server_backlog(const tam_rpc_server_t *s)
{
    return s ? tam_rpc__backlog_bytes(s->backlog) : 0;
}

void tam_rpc_server_stats(const tam_rpc_server_t *s, tam_rpc_server_stats_t *out)
{
    if (s && out)
        *out = s->stats;
}

void tam_rpc_req_free(tam_rpc_req_t **req)
{
    if (!req || !*req)
        return;
    free((*req)->body);
    free(*req);
    *req = NULL;
}

/* ---- sending ------------------------------------------------------------------ */

/* Sends [route, "", envelope, body] without blocking. */
static int s_send(tam_rpc_server_t *s, const tam_rpc_req_t *req, int status, const void *body,
                  size_t len)
{
    uint8_t env[256];
    size_t elen = 0;
    tam_rpc_envelope_t e = {.v = TAM_RPC_VERSION, .status = status};
    /* The layer may answer a request whose id or type was invalid: that one
     * is echoed empty (a client never matches an empty id to a request of its
     * own), the other one still as it came. */
    if (tam_rpc_type_valid(req->type, strnlen(req->type, sizeof req->type)))
        memcpy(e.type, req->type, sizeof e.type);
    if (tam_rpc_id_valid(req->id, strnlen(req->id, sizeof req->id)))
        memcpy(e.id, req->id, sizeof e.id);
    bool echo = e.id[0] != 0;
    if (tam_rpc_envelope_encode(&e, env, sizeof env, &elen))
        return TAM_EINTERNAL;
    int flags = ZMQ_DONTWAIT | ZMQ_SNDMORE;
    if (tam_rpc__backlog_has(s->backlog, req->route_, req->route_len_))
        goto queue; /* behind the answers already waiting */
    if (zmq_send(s->sock, req->route_, req->route_len_, flags) < 0) {
        if (errno == EAGAIN)
            goto queue;
        s->stats.undelivered++;
        if (errno == EHOSTUNREACH) {
            tam_debug("rpc: answer to %s not delivered: peer gone", echo ? req->id : "(no id)");
            return TAM_EUNAVAIL;
        }
        tam_warn("rpc: send failed: %s", zmq_strerror(errno));
        return s_errno_code(errno);
    }
    /* Once the routing frame is accepted the rest of the message goes too. */
    if (zmq_send(s->sock, "", 0, flags) < 0 || zmq_send(s->sock, env, elen, flags) < 0 ||
        zmq_send(s->sock, body, len, ZMQ_DONTWAIT) < 0) {
        tam_warn("rpc: send failed mid-message: %s", zmq_strerror(errno));
        s->stats.undelivered++;
        return TAM_EIO;
    }
    s->stats.answers++;
    return 0;
queue:;
    int rc = tam_rpc__backlog_push(s->backlog, req->route_, req->route_len_, env, elen, body, len,
                                   s_now_ms());
    if (rc) {
        s->stats.undelivered++;
        tam_debug("rpc: answer to %s not delivered: %s", echo ? req->id : "(no id)",
                  rc == TAM_ETOOBIG ? "peer's queue full" : tam_strerror(rc));
        return rc == TAM_ETOOBIG ? TAM_EUNAVAIL : rc;
    }
    s->stats.answers++;
    return 0;
}

int tam_rpc_server_reply_ok(tam_rpc_server_t *s, const tam_rpc_req_t *req, const void *body,
                            size_t len)
{
    static const uint8_t nil = 0xc0;
    if (!s || !req || (!body && len))
        return TAM_EINVAL;
    if (!body) {
        body = &nil;
        len = 1;
    }
    static const tam_mp_limits_t own = {64, SIZE_MAX, SIZE_MAX};
    if (tam_mp_check(body, len, &own, NULL))
        return TAM_EINVAL;
    return s_send(s, req, TAM_RPC_OK, body, len);
}

int tam_rpc_server_reply_error(tam_rpc_server_t *s, const tam_rpc_req_t *req,
                               const tam_rpc_error_t *e)
{
    void *body = NULL;
    size_t len = 0;
    if (!s || !req || !e)
        return TAM_EINVAL;
    int ret = tam_rpc_error_encode(e, &body, &len);
    if (ret == 0)
        ret = s_send(s, req, TAM_RPC_ERROR, body, len);
    free(body);
    return ret;
}

int tam_rpc_server_reply_stored(tam_rpc_server_t *s, const tam_rpc_req_t *req, const void *bytes,
                                size_t len)
{
    int status;
    const void *body;
    size_t blen;
    if (!s || !req || !bytes)
        return TAM_EINVAL;
    int ret = tam_rpc_answer_split(bytes, len, &status, &body, &blen);
    return ret ? ret : s_send(s, req, status, body, blen);
}

/* ---- receiving ---------------------------------------------------------------- */

/* One incoming message: the frames kept, and what was seen of the rest. */
typedef struct {
    zmq_msg_t f[TAM_RPC_FRAMES]; /* delimiter, envelope, body */
    unsigned kept;
    unsigned count;              /* frames after the routing id */
    int oversize;                /* index+1 of the first frame over max_frame, 0 = none */
    size_t oversize_len;
    bool unknown;                /* curve mode: no key of the trust store (revoked): drop */
} s_incoming_t;

static void s_incoming_close(s_incoming_t *in)
{
    for (unsigned i = 0; i < in->kept; i++)
        zmq_msg_close(&in->f[i]);
    in->kept = 0;
}

/* Answers a message the layer refuses (if it can be answered) and counts it. */
static void s_reject(tam_rpc_server_t *s, tam_rpc_req_t *req, const tam_rpc_error_t *e)
{
    s->stats.rejected++;
    tam_info("rpc: refused a request (id %s): %s at %s", req->id[0] ? req->id : "unknown",
             tam_errname(e->code), e->field[0] ? e->field : "message");
    tam_rpc_server_reply_error(s, req, e);
}

static const char *s_frame_name(unsigned i)
{
    return i == 0 ? "delimiter" : i == 1 ? "envelope" : i == 2 ? "body" : "frames";
}

/* Validates the frames of one message; fills req (id/type as far as valid)
 * and err. Returns 0 if the message is a well-formed request. */
static int s_validate(tam_rpc_server_t *s, s_incoming_t *in, tam_rpc_req_t *req,
                      tam_rpc_error_t *err)
{
    /* What can be salvaged of the envelope for the echo, even if other frames
     * are wrong. */
    tam_rpc_envelope_t env;
    tam_rpc_error_t env_err = {0};
    int env_rc = TAM_EMISSING;
    if (in->kept >= 2 && in->oversize != 2) {
        env_rc = tam_rpc_envelope_decode(zmq_msg_data(&in->f[1]), zmq_msg_size(&in->f[1]), false,
                                         &env, &env_err);
        memcpy(req->id, env.id, sizeof req->id);
        memcpy(req->type, env.type, sizeof req->type);
    }
    int ret = TAM_EPROTO;
    if (in->count > s->max_frames) {
        tam_rpc_error_set(err, TAM_ETOOBIG, "frames", "a request has %u frames, this one %u",
                          TAM_RPC_FRAMES, in->count);
        ret = TAM_ETOOBIG;
    } else if (in->oversize) {
        tam_rpc_error_set(err, TAM_ETOOBIG, s_frame_name((unsigned)in->oversize - 1),
                          "frame of %zu bytes, at most %zu", in->oversize_len, s->max_frame);
        ret = TAM_ETOOBIG;
    } else if (in->count != TAM_RPC_FRAMES) {
        tam_rpc_error_set(err, TAM_EPROTO, "frames",
                          "a request has %u frames (empty delimiter, envelope, body), this one %u",
                          TAM_RPC_FRAMES, in->count);
    } else if (zmq_msg_size(&in->f[0]) != 0) {
        tam_rpc_error_set(err, TAM_EPROTO, "delimiter", "the first frame must be empty");
    } else if (env_rc) {
        *err = env_err; /* moves the list */
        memset(&env_err, 0, sizeof env_err);
        ret = env_rc;
    } else {
        size_t off = 0;
        int rc = tam_mp_check(zmq_msg_data(&in->f[2]), zmq_msg_size(&in->f[2]), &s->body_limits,
                              &off);
        if (rc) {
            tam_rpc_error_set(err, rc, "body", "body is not one msgpack value within limits: %s "
                              "at byte %zu", tam_strerror(rc), off);
            ret = rc;
        } else if (env.obo[0]) {
            /* "On behalf of": a gateway key names the person it acts for,
             * who becomes the principal (roles and audit name). */
            tam_principal_t p;
            ret = tam_principal_on_behalf(s->zctx, &req->principal, env.obo, &p);
            if (ret == 0)
                req->principal = p;
            else
                tam_rpc_error_set(err, TAM_EDENIED, "envelope.obo",
                                  "principal '%s' may not act on behalf of '%s': it needs the role "
                                  "gateway, and '%s' a key in the trust store",
                                  req->principal.id, env.obo, env.obo);
        } else {
            ret = 0;
        }
    }
    tam_rpc_error_clear(&env_err);
    return ret;
}

/* Receives one whole message (all its frames) into in and req->route_.
 * Returns 1 if a message was read, 0 if none is ready, or a negative code. */
static int s_read_message(tam_rpc_server_t *s, s_incoming_t *in, tam_rpc_req_t *req)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, s->sock, ZMQ_DONTWAIT) < 0) {
        int e = errno;
        zmq_msg_close(&m);
        if (e == EAGAIN || e == EINTR)
            return 0;
        tam_error("rpc: receive failed: %s", zmq_strerror(e));
        return s_errno_code(e);
    }
    /* The routing id, added by the ROUTER (at most 255 bytes). */
    size_t rlen = zmq_msg_size(&m);
    if (rlen > sizeof req->route_)
        rlen = 0; /* cannot happen with libzmq; unanswerable if it did */
    memcpy(req->route_, zmq_msg_data(&m), rlen);
    req->route_len_ = rlen;
    int more = zmq_msg_more(&m);
    zmq_msg_close(&m);
    /* The frames of a message arrive together: the rest never blocks. Frames
     * beyond the ones we keep are received and discarded at once. */
    while (more) {
        zmq_msg_t *f = in->kept < TAM_RPC_FRAMES && in->count < s->max_frames ? &in->f[in->kept] : &m;
        zmq_msg_init(f);
        if (zmq_msg_recv(f, s->sock, 0) < 0) {
            int e = errno;
            zmq_msg_close(f);
            tam_error("rpc: receive failed mid-message: %s", zmq_strerror(e));
            return s_errno_code(e);
        }
        in->count++;
        more = zmq_msg_more(f);
        if (zmq_msg_size(f) > s->max_frame && !in->oversize) {
            in->oversize = (int)(in->count <= TAM_RPC_FRAMES ? in->count : TAM_RPC_FRAMES + 1);
            in->oversize_len = zmq_msg_size(f);
        }
        if (f == &m) {
            zmq_msg_close(&m);
        } else {
            if (in->kept == 0) {
                /* The principal comes from the connection, via the metadata
                 * every frame decoded from the peer carries. */
                if (tam_principal_from_msg(s->zctx, f, &req->principal) != 0)
                    in->unknown = true;
            }
            in->kept++;
        }
    }
    return 1;
}

int tam_rpc_server_recv(tam_rpc_server_t *s, tam_rpc_req_t **out)
{
    if (!out)
        return TAM_EINVAL;
    *out = NULL;
    if (!s)
        return TAM_EINVAL;
    for (int skipped = 0; skipped < S_REJECT_BURST; skipped++) {
        tam_rpc_req_t *req = calloc(1, sizeof *req);
        if (!req)
            return TAM_ENOMEM;
        s_incoming_t in = {.kept = 0};
        tam_rpc_error_t err = {0};
        int ret = s_read_message(s, &in, req);
        if (ret <= 0) {
            s_incoming_close(&in);
            free(req);
            return ret;
        }
        if (in.unknown) {
            /* A key revoked since its handshake (or no key at all): not one
             * word back, nothing handed to the service. */
            s_incoming_close(&in);
            s->stats.rejected++;
            tam_notice("rpc: %s: dropped a message from a key not in the trust store",
                       s->endpoint);
            free(req);
            continue;
        }
        if (s_validate(s, &in, req, &err) == 0) {
            size_t blen = zmq_msg_size(&in.f[2]);
            req->body = malloc(blen);
            if (!req->body) {
                s_incoming_close(&in);
                free(req);
                return TAM_ENOMEM;
            }
            memcpy(req->body, zmq_msg_data(&in.f[2]), blen);
            req->body_len = blen;
            s_incoming_close(&in);
            s->stats.requests++;
            *out = req;
            return 0;
        }
        s_incoming_close(&in);
        if (req->route_len_)
            s_reject(s, req, &err);
        else
            s->stats.rejected++;
        tam_rpc_error_clear(&err);
        free(req);
    }
    return 0;
}
