/* feed_server.c — the publishing side of a feed (see tam/feed.h, proto/FEED.md).
 *
 * Snapshots are produced inside tam_feed_server_process, by the service's
 * callback, between two publishes: that is what makes the "end" sequence
 * exact. The callback's records are copied into a buffer kept for that
 * requester, and sent from there in slices: each process call sends at most
 * S_SLICE_RECORDS records over all pending snapshots (round robin), never
 * waiting for a requester, so a big snapshot, or ten requesters that never
 * read, cannot hold the service's loop (ten such requesters froze it for up
 * to 17.8 s once, then 34-75 ms per call with a bounded blocking wait). A
 * requester whose queue (S_SNAP_HWM records in libzmq) has taken nothing for
 * S_SNAP_STALL_MS is abandoned: its buffer is freed and its later requests
 * are refused, so a peer that asks and never reads cannot make the service
 * hold unbounded memory. At most S_PENDING_MAX snapshots are in progress,
 * and no new one starts while their copies hold S_PENDING_BYTES; further
 * requests wait in the socket until one ends. The snapshot ROUTER
 * has ZMQ_ROUTER_MANDATORY (a vanished requester is noticed at the first
 * frame). A subscriber reads as fast as the service sends; its feed client
 * uses a new socket (a new identity) for every request.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <stdio.h>
#include <msgpack.h>

#include "tam/error.h"
#include "tam/feed.h"
#include "tam/log.h"
#include "tam/access.h"
#include "tam/mpcheck.h"
#include "tam/sec.h"
#include "feed_int.h"

#define S_PUB_LINGER_MS 100
#define S_PUB_HWM 10000            /* updates queued per subscriber before PUB drops */
#define S_REQUEST_MAX 8192         /* bytes in a snapshot request frame */
#define S_REQUESTS_PER_CALL 16     /* snapshot requests answered per process call */
#define S_ID_MAX 256               /* ROUTER identities are at most 255 bytes */
#define S_SNAP_HWM 10000           /* snapshot messages queued per requester */
#define S_SNAP_STALL_MS 500        /* a requester that takes nothing this long is abandoned */
#define S_PENDING_MAX 16           /* snapshots being sent at once */
#define S_PENDING_BYTES (64u << 20) /* no new snapshot while those in progress hold this much */
#define S_SLICE_RECORDS 512        /* records sent per process call, over all snapshots */
#define S_PUMP_RETRY_MS 2          /* poll timeout while every pending requester is full */
#define S_STUCK_MAX 64             /* requesters remembered as not reading */
/* Largest frame a subscriber may send the PUB (subscriptions, and the CURVE
 * handshake's INITIATE of about 300 bytes). A subscription is 1 + topic bytes
 * (ZMTP 3.0) or a SUBSCRIBE command of 10 + topic bytes (3.1), and feed
 * clients subscribe to "" only. Without a cap libzmq allocates whatever a
 * frame header claims (2^62 bytes aborts under ASan) and keeps a 16 MiB
 * subscription in its trie at ~100 bytes a byte. A peer that sends a larger
 * frame is disconnected by libzmq. */
#define S_PUB_RECV_MAX 1024
/* What the PUB may hold of its subscribers' subscriptions, counted over the
 * distinct topics subscribed (libzmq keeps them in a trie of ~100 bytes per
 * byte: the cap keeps it near 25 MiB). The socket is an XPUB, so that every
 * new distinct subscription and every last unsubscription comes up to the
 * server; when one takes the count or the bytes over the cap, every
 * subscriber is dropped (as for a revocation: the feed is rebound, honest
 * subscribers reconnect and resync) and the key that did it is logged. Feed
 * clients subscribe to "" only; a planner filtering by topic prefixes uses
 * a handful. At most one drop per S_SUBS_DROP_MS. */
#define S_SUBS_MAX 4096
#define S_SUBS_BYTES_MAX (256 * 1024)
#define S_SUBS_DROP_MS 1000
#define S_SUBS_PER_CALL 1024 /* subscription messages read per process call */

/* A snapshot being sent: its records as [u16 topic len][u32 body len][topic]
 * [body], then "end" with the sequence it reflects. */
typedef struct {
    uint8_t id[S_ID_MAX];
    size_t idlen;
    uint8_t *buf;
    size_t len, cap, off;
    uint64_t records, sent; /* in buf; sent so far */
    uint64_t seq;     /* what "end" says */
    int64_t progress_ms; /* when the requester last took something */
} s_pending_t;

struct tam_feed_server_t {
    void *pub;
    void *router;
    void *zctx;
    char pub_endpoint[512];
    uint64_t revocations; /* of the trust store, when the subscribers were last dropped */
    uint64_t epoch;
    uint64_t seq;
    int heartbeat_ms;
    int64_t last_send_ms; /* last update or heartbeat */
    tam_feed_snapshot_fn snapshot_fn;
    void *arg;
    tam_feed_server_stats_t stats;
    /* the request being answered (kept here, not on the stack: 4 KiB) */
    char prefix[TAM_FEED_PREFIXES_MAX][TAM_FEED_TOPIC_MAX + 1];
    size_t nprefix;
    /* requesters whose snapshot was abandoned because they did not read */
    uint8_t stuck[S_STUCK_MAX][S_ID_MAX];
    size_t stuck_len[S_STUCK_MAX];
    size_t nstuck, stuck_next;
    s_pending_t *pending[S_PENDING_MAX];
    size_t npending, next_pending; /* next_pending: where the next slice starts */
    size_t pending_bytes;          /* their buffers */
    bool pump_blocked; /* the last slice sent nothing: every requester was full */
    /* distinct topics subscribed on the PUB, and their bytes */
    uint64_t subs, subs_bytes;
    int64_t subs_dropped_ms; /* when every subscriber was last dropped for them */
    char subs_who[64];       /* the key whose subscription went over the caps */
};

/* State of one snapshot being produced, handed to the service as emit_ctx. */
typedef struct {
    tam_feed_server_t *s;
    s_pending_t *p;
    const char *prefix;
    size_t plen;
    int rc; /* first failure; once set, every emit returns it */
} s_emit_t;

/* Sends [identity][frames...] on the ROUTER, never waiting. Returns 0;
 * TAM_EUNAVAIL (peer gone); TAM_ETIMEOUT (its queue is full: try later);
 * TAM_EIO. */
static int s_route(tam_feed_server_t *s, const void *id, size_t idlen, const void *const *data,
                   const size_t *len, int n)
{
    if (zmq_send(s->router, id, idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return errno == EHOSTUNREACH ? TAM_EUNAVAIL : errno == EAGAIN ? TAM_ETIMEOUT : TAM_EIO;
    for (int i = 0; i < n; i++)
        if (zmq_send(s->router, data[i], len[i], (i + 1 < n ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) < 0)
            return errno == EHOSTUNREACH ? TAM_EUNAVAIL : TAM_EIO;
    return 0;
}

static bool s_is_stuck(const tam_feed_server_t *s, const void *id, size_t idlen)
{
    for (size_t i = 0; i < s->nstuck; i++)
        if (s->stuck_len[i] == idlen && memcmp(s->stuck[i], id, idlen) == 0)
            return true;
    return false;
}

/* Remembers a requester that did not read its snapshot (the oldest entry
 * makes room). */
static void s_mark_stuck(tam_feed_server_t *s, const void *id, size_t idlen)
{
    size_t i = s->nstuck < S_STUCK_MAX ? s->nstuck++ : s->stuck_next;
    s->stuck_next = (i + 1) % S_STUCK_MAX;
    memcpy(s->stuck[i], id, idlen);
    s->stuck_len[i] = idlen;
}

/* Answers ["err", "<errname>: <why>"]; a failure to send only counts. */
static void s_answer_err(tam_feed_server_t *s, const void *id, size_t idlen, int code, const char *why)
{
    char text[160];
    int n = snprintf(text, sizeof text, "%s: %s", tam_errname(code), why);
    const void *data[2] = {"err", text};
    size_t len[2] = {3, n < 0 ? 0 : (size_t)n < sizeof text ? (size_t)n : sizeof text - 1};
    if (s_route(s, id, idlen, data, len, 2) != 0)
        s->stats.peers_gone++;
}

/* Sends one update or heartbeat on the PUB socket. */
static int s_send_update(tam_feed_server_t *s, const char *topic, size_t tlen, uint64_t seq,
                         const void *body, size_t blen)
{
    uint8_t meta[TAM__FEED_META_MAX];
    size_t mlen = tam__feed_meta_encode(meta, s->epoch, seq);
    s->last_send_ms = tam__feed_now_ms();
    if (zmq_send(s->pub, topic, tlen, ZMQ_SNDMORE) < 0 || zmq_send(s->pub, meta, mlen, ZMQ_SNDMORE) < 0 ||
        zmq_send(s->pub, body, blen, 0) < 0) {
        tam_error("feed: publish seq %" PRIu64 ": %s", seq, zmq_strerror(errno));
        return TAM_EIO;
    }
    return 0;
}

static int s_emit(void *ctx, const char *topic, size_t tlen, const void *body, size_t blen)
{
    s_emit_t *e = ctx;
    if (e->rc != 0)
        return e->rc;
    if ((!topic && tlen) || (!body && blen) || tlen == 0 || topic[0] == '~')
        e->rc = TAM_EINVAL;
    else if (tlen > TAM_FEED_TOPIC_MAX || blen > TAM_FEED_BODY_MAX)
        e->rc = TAM_ETOOBIG;
    if (e->rc != 0) {
        tam_error("feed: snapshot callback emitted a bad record (%s)", tam_errname(e->rc));
        return e->rc;
    }
    if (tlen < e->plen || memcmp(topic, e->prefix, e->plen) != 0)
        return 0; /* outside the requested prefix: not ours to send */
    s_pending_t *p = e->p;
    size_t need = 6 + tlen + blen;
    if (p->cap - p->len < need) {
        size_t cap = p->cap ? p->cap : 64 * 1024;
        while (cap - p->len < need)
            cap *= 2;
        uint8_t *nb = realloc(p->buf, cap);
        if (!nb)
            return e->rc = TAM_ENOMEM;
        p->buf = nb;
        p->cap = cap;
    }
    uint8_t *w = p->buf + p->len;
    w[0] = (uint8_t)(tlen >> 8), w[1] = (uint8_t)tlen;
    w[2] = (uint8_t)(blen >> 24), w[3] = (uint8_t)(blen >> 16), w[4] = (uint8_t)(blen >> 8),
    w[5] = (uint8_t)blen;
    memcpy(w + 6, topic, tlen);
    if (blen)
        memcpy(w + 6 + tlen, body, blen);
    p->len += need;
    p->records++;
    return 0;
}

static int s_copy_prefix(const msgpack_object *o, char *out, const char **why)
{
    if (o->type != MSGPACK_OBJECT_STR) {
        *why = "prefix must be a string";
        return TAM_ETYPE;
    }
    size_t n = o->via.str.size;
    if (n > TAM_FEED_TOPIC_MAX) {
        *why = "prefix longer than 256 bytes";
        return TAM_ETOOBIG;
    }
    if (n > 0 && (memchr(o->via.str.ptr, 0, n) || o->via.str.ptr[0] == '~')) {
        *why = "prefix contains NUL or starts with '~'";
        return TAM_EINVAL;
    }
    if (n) /* msgpack-c may give NULL for an empty string */
        memcpy(out, o->via.str.ptr, n);
    out[n] = 0;
    return 0;
}

/* Parses a snapshot request {"prefix": str} or {"prefixes": [str, ...]}
 * into s->prefix / s->nprefix; other keys are ignored. Returns 0 or a code
 * with *why set to a human reason. Changes nothing else. */
static int s_parse_request(tam_feed_server_t *s, const void *buf, size_t len, const char **why)
{
    s->nprefix = 0;
    *why = "request is not one well-formed msgpack object";
    if (len > S_REQUEST_MAX)
        return TAM_ETOOBIG;
    int rc = tam_mp_check(buf, len, &TAM_MP_LIMITS_DEFAULT, NULL);
    if (rc != 0)
        return rc;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS) {
        rc = TAM_EPROTO;
        goto out;
    }
    if (u.data.type != MSGPACK_OBJECT_MAP) {
        *why = "request must be a map";
        rc = TAM_ETYPE;
        goto out;
    }
    int seen = 0;
    for (uint32_t i = 0; i < u.data.via.map.size; i++) {
        const msgpack_object *k = &u.data.via.map.ptr[i].key, *v = &u.data.via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR) {
            *why = "request keys must be strings";
            rc = TAM_ETYPE;
            goto out;
        }
        int one = k->via.str.size == 6 && memcmp(k->via.str.ptr, "prefix", 6) == 0;
        int many = k->via.str.size == 8 && memcmp(k->via.str.ptr, "prefixes", 8) == 0;
        if (!one && !many)
            continue;
        if (seen++) {
            *why = "give one of prefix or prefixes, once";
            rc = TAM_EINVAL;
            goto out;
        }
        if (one) {
            rc = s_copy_prefix(v, s->prefix[0], why);
            s->nprefix = 1;
        } else if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size == 0 ||
                   v->via.array.size > TAM_FEED_PREFIXES_MAX) {
            *why = "prefixes must be an array of 1 to 16 strings";
            rc = TAM_EINVAL;
        } else {
            for (uint32_t j = 0; rc == 0 && j < v->via.array.size; j++)
                rc = s_copy_prefix(&v->via.array.ptr[j], s->prefix[j], why);
            s->nprefix = v->via.array.size;
        }
        if (rc != 0)
            goto out;
    }
    if (!seen) {
        *why = "request has no prefix";
        rc = TAM_EMISSING;
    }
    /* One record is sent once: drop prefixes repeated or covered by another
     * (so a request of 16 empty prefixes is one snapshot, not 16). */
    for (size_t i = 0; rc == 0 && i < s->nprefix; i++)
        for (size_t j = 0; j < s->nprefix; j++) {
            size_t li = strlen(s->prefix[i]), lj = strlen(s->prefix[j]);
            if (i != j && lj <= li && memcmp(s->prefix[i], s->prefix[j], lj) == 0 &&
                (lj < li || j < i)) {
                memmove(s->prefix[i], s->prefix[s->nprefix - 1], sizeof s->prefix[0]);
                s->nprefix--;
                i--; /* look at the one moved here */
                break;
            }
        }
out:
    if (rc != 0)
        s->nprefix = 0;
    msgpack_unpacked_destroy(&u);
    return rc;
}

static void s_pending_free(s_pending_t **pp)
{
    if (*pp) {
        free((*pp)->buf);
        free(*pp);
        *pp = NULL;
    }
}

/* Whether a new snapshot may start now. */
static bool s_accepting(const tam_feed_server_t *s)
{
    return s->npending < S_PENDING_MAX && s->pending_bytes < S_PENDING_BYTES;
}

static bool s_is_pending(const tam_feed_server_t *s, const void *id, size_t idlen)
{
    for (size_t i = 0; i < s->npending; i++)
        if (s->pending[i]->idlen == idlen && memcmp(s->pending[i]->id, id, idlen) == 0)
            return true;
    return false;
}

/* Produces the snapshot for the parsed request into a pending buffer that
 * the next process calls send (s_pump); a failure is answered "err" now. */
static void s_answer_snapshot(tam_feed_server_t *s, const void *id, size_t idlen)
{
    s_pending_t *p = calloc(1, sizeof *p);
    int rc = p ? 0 : TAM_ENOMEM;
    s_emit_t e = {.s = s, .p = p};
    for (size_t i = 0; rc == 0 && i < s->nprefix; i++) {
        e.prefix = s->prefix[i];
        e.plen = strlen(s->prefix[i]);
        rc = s->snapshot_fn(e.prefix, s_emit, &e, s->arg);
        if (rc == 0)
            rc = e.rc; /* a callback that ignored emit's error */
    }
    if (rc != 0) {
        s_pending_free(&p);
        s->stats.snapshot_failed++;
        tam_warn("feed: snapshot failed: %s", tam_strerror(rc));
        s_answer_err(s, id, idlen, rc, "the service could not produce the snapshot");
        return;
    }
    memcpy(p->id, id, idlen);
    p->idlen = idlen;
    p->seq = s->seq;
    p->progress_ms = tam__feed_now_ms();
    s->pending_bytes += p->cap;
    s->pending[s->npending++] = p;
    s->pump_blocked = false;
}

/* Removes pending snapshot i (the order of the others may change). */
static void s_pending_drop(tam_feed_server_t *s, size_t i)
{
    s->pending_bytes -= s->pending[i]->cap;
    s_pending_free(&s->pending[i]);
    s->pending[i] = s->pending[--s->npending];
    if (s->next_pending >= s->npending)
        s->next_pending = 0;
}

/* Sends what one pending snapshot's requester takes now, at most budget
 * records (and "end" after the last). Returns the records sent, or -1 when
 * the snapshot is over (finished, requester gone or abandoned: p freed by
 * the caller). */
static int s_pump_one(tam_feed_server_t *s, s_pending_t *p, int budget, int64_t now)
{
    int sent = 0, rc = 0;
    while (sent < budget && p->off < p->len) {
        const uint8_t *r = p->buf + p->off;
        size_t tlen = (size_t)r[0] << 8 | r[1];
        size_t blen = (size_t)r[2] << 24 | (size_t)r[3] << 16 | (size_t)r[4] << 8 | r[5];
        const void *data[3] = {"rec", r + 6, r + 6 + tlen};
        size_t len[3] = {3, tlen, blen};
        if ((rc = s_route(s, p->id, p->idlen, data, len, 3)) != 0)
            break;
        p->off += 6 + tlen + blen;
        s->stats.snapshot_records++;
        p->sent++;
        sent++;
    }
    if (rc == 0 && p->off == p->len && sent < budget) {
        uint8_t meta[TAM__FEED_META_MAX];
        const void *data[2] = {"end", meta};
        size_t len[2] = {3, tam__feed_meta_encode(meta, s->epoch, p->seq)};
        if ((rc = s_route(s, p->id, p->idlen, data, len, 2)) == 0) {
            s->stats.snapshots++;
            return -1;
        }
    }
    if (sent > 0)
        p->progress_ms = now;
    if (rc == TAM_ETIMEOUT && now - p->progress_ms >= S_SNAP_STALL_MS) {
        s->stats.snapshots_abandoned++;
        s_mark_stuck(s, p->id, p->idlen);
        tam_warn("feed: a snapshot requester took nothing for %d ms; snapshot abandoned (%llu of "
                 "%llu records sent) and its further requests refused",
                 S_SNAP_STALL_MS, (unsigned long long)p->sent, (unsigned long long)p->records);
        return -1;
    }
    if (rc == TAM_EUNAVAIL || rc == TAM_EIO) {
        s->stats.peers_gone++;
        return -1;
    }
    return sent;
}

/* Sends one slice: up to S_SLICE_RECORDS records over the pending snapshots,
 * round robin, without waiting for anyone. */
static void s_pump(tam_feed_server_t *s)
{
    int budget = S_SLICE_RECORDS;
    int64_t now = tam__feed_now_ms();
    size_t visits = s->npending;
    bool progress = false;
    while (visits-- > 0 && budget > 0 && s->npending > 0) {
        size_t i = s->next_pending < s->npending ? s->next_pending : 0;
        int share = budget / (int)(visits + 1) > 64 ? budget / (int)(visits + 1) : budget;
        int n = s_pump_one(s, s->pending[i], share, now);
        if (n < 0) {
            s_pending_drop(s, i); /* the next one moved into i */
            progress = true;
            continue;
        }
        progress |= n > 0;
        budget -= n;
        s->next_pending = (i + 1) % s->npending;
    }
    s->pump_blocked = !progress;
}

/* The per-message check of tam/sec.h: the requester's key is still in the
 * trust store and its roles may read this feed. */
static bool s_may_read(tam_feed_server_t *s, zmq_msg_t *frame)
{
    tam_principal_t p;
    tam_sec_t *sec = tam_sec_of(s->zctx);
    if (tam_principal_from_msg(s->zctx, frame, &p) != 0)
        return false;
    return tam_sec_mode(sec) != TAM_SEC_CURVE ||
           tam_access_may_read_feed(tam_sec_identity(sec), p.roles);
}

/* Receives and answers one request. Returns 2 if a snapshot was produced
 * (it is pending), 1 if the request was answered otherwise, 0 if none was
 * waiting, TAM_EIO on socket failure. */
static int s_serve_one(tam_feed_server_t *s)
{
    zmq_msg_t f[2];
    int n = tam__feed_recv(s->router, f, 2);
    if (n <= 0)
        return n;
    int kept = n < 2 ? n : 2;
    uint8_t id[S_ID_MAX];
    size_t idlen = zmq_msg_size(&f[0]);
    if (idlen > sizeof id)
        idlen = sizeof id; /* cannot happen: libzmq caps identities at 255 */
    memcpy(id, zmq_msg_data(&f[0]), idlen);
    if (n == 2 && !s_may_read(s, &f[1])) {
        /* A key revoked since its handshake, or one that may not read this
         * feed: not one word back. */
        tam__feed_close_frames(f, kept);
        s->stats.bad_requests++;
        return 1;
    }
    const char *why = "a request is exactly one frame";
    int rc = TAM_EPROTO;
    if (s_is_stuck(s, id, idlen)) {
        why = "this connection did not read its last snapshot; reconnect";
        rc = TAM_EUNAVAIL;
    } else if (s_is_pending(s, id, idlen)) {
        why = "a snapshot is still being sent to this connection";
        rc = TAM_ECONFLICT;
    } else if (n == 2) {
        rc = s_parse_request(s, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), &why);
    }
    tam__feed_close_frames(f, kept);
    if (rc != 0) {
        s->stats.bad_requests++;
        tam_debug("feed: bad snapshot request (%d frames): %s", n, tam_errname(rc));
        s_answer_err(s, id, idlen, rc, why);
        return 1;
    }
    s_answer_snapshot(s, id, idlen);
    return 2;
}

int tam_feed_server_new(tam_feed_server_t **out, void *zctx, const char *pub_endpoint,
                        const char *snapshot_endpoint, int heartbeat_ms,
                        tam_feed_snapshot_fn snapshot_fn, void *arg)
{
    if (!out)
        return TAM_EINVAL;
    *out = NULL;
    if (!zctx || !pub_endpoint || !snapshot_endpoint || heartbeat_ms <= 0 || !snapshot_fn)
        return TAM_EINVAL;
    int rc = TAM_EIO;
    tam_feed_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return TAM_ENOMEM;
    s->heartbeat_ms = heartbeat_ms;
    s->zctx = zctx;
    snprintf(s->pub_endpoint, sizeof s->pub_endpoint, "%s", pub_endpoint);
    s->revocations = tam_sec_revocations(tam_sec_of(zctx));
    s->snapshot_fn = snapshot_fn;
    s->arg = arg;
    if (getrandom(&s->epoch, sizeof s->epoch, 0) != (ssize_t)sizeof s->epoch) {
        tam_error("feed: getrandom: %s", strerror(errno));
        goto fail;
    }
    if (s->epoch == 0)
        s->epoch = 1; /* 0 means "none" to clients */

    s->pub = tam__feed_socket(zctx, ZMQ_XPUB, S_PUB_LINGER_MS, pub_endpoint);
    if (!s->pub || tam__feed_setopt_int(s->pub, ZMQ_SNDHWM, S_PUB_HWM, pub_endpoint) != 0)
        goto fail;
    int64_t pub_max = S_PUB_RECV_MAX;
    if (zmq_setsockopt(s->pub, ZMQ_MAXMSGSIZE, &pub_max, sizeof pub_max) != 0) {
        tam_error("feed: %s: ZMQ_MAXMSGSIZE: %s", pub_endpoint, zmq_strerror(errno));
        goto fail;
    }
    if (tam__feed_bind(s->pub, pub_endpoint) != 0)
        goto fail;
    s->router = tam__feed_socket(zctx, ZMQ_ROUTER, 0, snapshot_endpoint);
    if (!s->router || tam__feed_setopt_int(s->router, ZMQ_SNDHWM, S_SNAP_HWM, snapshot_endpoint) != 0 ||
        tam__feed_setopt_int(s->router, ZMQ_ROUTER_MANDATORY, 1, snapshot_endpoint) != 0)
        goto fail;
    int64_t maxmsg = S_REQUEST_MAX;
    if (zmq_setsockopt(s->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0) {
        tam_error("feed: %s: ZMQ_MAXMSGSIZE: %s", snapshot_endpoint, zmq_strerror(errno));
        goto fail;
    }
    if (tam__feed_bind(s->router, snapshot_endpoint) != 0)
        goto fail;
    s->last_send_ms = tam__feed_now_ms();
    tam_info("feed: serving epoch %016" PRIx64 " on %s, snapshots on %s", s->epoch, pub_endpoint,
             snapshot_endpoint);
    *out = s;
    return 0;
fail:
    tam__feed_close(&s->pub);
    tam__feed_close(&s->router);
    free(s);
    return rc;
}

void tam_feed_server_destroy(tam_feed_server_t **sp)
{
    if (!sp || !*sp)
        return;
    tam_feed_server_t *s = *sp;
    for (size_t i = 0; i < s->npending; i++)
        s_pending_free(&s->pending[i]);
    tam__feed_close(&s->pub);
    tam__feed_close(&s->router);
    free(s);
    *sp = NULL;
}

int tam_feed_server_publish(tam_feed_server_t *s, const char *topic, const void *body, size_t len)
{
    if (!s || !topic || (!body && len) || topic[0] == 0 || topic[0] == '~')
        return TAM_EINVAL;
    size_t tlen = strnlen(topic, TAM_FEED_TOPIC_MAX + 1);
    if (tlen > TAM_FEED_TOPIC_MAX || len > TAM_FEED_BODY_MAX)
        return TAM_ETOOBIG;
    s->seq++;
    int rc = s_send_update(s, topic, tlen, s->seq, body, len);
    if (rc == 0)
        s->stats.published++;
    return rc;
}

int tam_feed_server_pollitems(tam_feed_server_t *s, zmq_pollitem_t *items, int max)
{
    if (!s || !items || max < 2)
        return TAM_EINVAL;
    /* With every pending slot taken, new requests wait in the socket: not
     * polled for, so that the loop does not spin on them. */
    items[0] = (zmq_pollitem_t){.socket = s->router,
                                .events = s_accepting(s) ? ZMQ_POLLIN : 0};
    items[1] = (zmq_pollitem_t){.socket = s->pub, .events = ZMQ_POLLIN}; /* subscriptions */
    return 2;
}

/* Drops every subscriber: unbinding closes the connections the PUB
 * accepted; honest subscribers reconnect (through ZAP) and resync. */
static int s_drop_subscribers(tam_feed_server_t *s)
{
    if (zmq_unbind(s->pub, s->pub_endpoint) != 0 || tam__feed_bind(s->pub, s->pub_endpoint) != 0) {
        tam_error("feed: %s: cannot rebind to drop the subscribers", s->pub_endpoint);
        return TAM_EIO;
    }
    return 0;
}

static bool s_subs_over(const tam_feed_server_t *s)
{
    return s->subs > S_SUBS_MAX || s->subs_bytes > S_SUBS_BYTES_MAX;
}

/* Reads what the XPUB passes up (each new distinct subscription, each last
 * unsubscription) and keeps the count; notes the key of the subscription
 * that went over the caps. Returns 0 or TAM_EIO. */
static int s_read_subscriptions(tam_feed_server_t *s)
{
    for (int i = 0; i < S_SUBS_PER_CALL; i++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s->pub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            if (errno == EAGAIN || errno == EINTR)
                break;
            tam_error("feed: %s: reading subscriptions: %s", s->pub_endpoint, zmq_strerror(errno));
            return TAM_EIO;
        }
        size_t n = zmq_msg_size(&m);
        const uint8_t *d = zmq_msg_data(&m);
        if (n >= 1 && d[0] == 1) {
            s->subs++;
            s->subs_bytes += n - 1;
            if (!s->subs_who[0] && s_subs_over(s)) {
                const char *uid = zmq_msg_gets(&m, "User-Id");
                snprintf(s->subs_who, sizeof s->subs_who, "%s",
                         uid && uid[0] ? uid : "(no key: local mode)");
            }
        } else if (n >= 1 && d[0] == 0) {
            s->subs -= s->subs > 0;
            s->subs_bytes -= s->subs_bytes >= n - 1 ? n - 1 : s->subs_bytes;
        }
        zmq_msg_close(&m);
    }
    return 0;
}

/* Milliseconds until the subscriptions over the caps may drop every
 * subscriber (0: now); -1 if they are within the caps. */
static int64_t s_subs_drop_in(const tam_feed_server_t *s)
{
    if (!s_subs_over(s))
        return -1;
    int64_t left = s->subs_dropped_ms ? s->subs_dropped_ms + S_SUBS_DROP_MS - tam__feed_now_ms() : 0;
    return left < 0 ? 0 : left;
}

/* Drops every subscriber when the subscriptions are over the caps (at most
 * once per S_SUBS_DROP_MS: until the dropped connections' unsubscriptions
 * come up, the count stays over). Returns 0 or TAM_EIO. */
static int s_check_subscriptions(tam_feed_server_t *s)
{
    if (s_subs_drop_in(s) != 0)
        return 0;
    s->subs_dropped_ms = tam__feed_now_ms();
    s->stats.subscriber_drops++;
    tam_warn("feed: %s: %llu distinct subscriptions of %llu bytes (caps %d, %d; went over with "
             "key %s): dropping every subscriber",
             s->pub_endpoint, (unsigned long long)s->subs, (unsigned long long)s->subs_bytes,
             S_SUBS_MAX, S_SUBS_BYTES_MAX, s->subs_who[0] ? s->subs_who : "(unknown)");
    s->subs_who[0] = 0;
    return s_drop_subscribers(s);
}

int tam_feed_server_process(tam_feed_server_t *s, const zmq_pollitem_t *items)
{
    if (!s)
        return TAM_EINVAL;
    uint64_t rev = tam_sec_revocations(tam_sec_of(s->zctx));
    if (rev != s->revocations) {
        /* A key left the trust store: ZAP ran only at handshake, and PUB
         * cannot refuse one subscriber, so drop them all (unbinding closes
         * the connections it accepted). The others reconnect through ZAP
         * and resync from a snapshot; a revoked key cannot. */
        s->revocations = rev;
        tam_notice("feed: %s: keys revoked: dropping every subscriber", s->pub_endpoint);
        if (s_drop_subscribers(s) != 0)
            return TAM_EIO;
    }
    if (tam__feed_readable(items, 2, s->pub)) {
        int rc = s_read_subscriptions(s);
        if (rc != 0)
            return rc;
    }
    if (s_check_subscriptions(s) != 0)
        return TAM_EIO;
    if (s_accepting(s) && tam__feed_readable(items, 2, s->router)) {
        for (int i = 0; i < S_REQUESTS_PER_CALL && s_accepting(s); i++) {
            int rc = s_serve_one(s);
            if (rc < 0)
                return rc;
            if (rc == 0 || rc == 2)
                break; /* one snapshot produced per call: its cost is one slice of the loop */
        }
    }
    if (s->npending > 0)
        s_pump(s); /* one slice; the loop's other work goes on between slices */
    if (tam_feed_server_next_timeout_ms(s) == 0) {
        int rc = s_send_update(s, TAM_FEED_HEARTBEAT_TOPIC, strlen(TAM_FEED_HEARTBEAT_TOPIC), s->seq,
                               NULL, 0);
        if (rc != 0)
            return rc;
        s->stats.heartbeats++;
    }
    return 0;
}

int tam_feed_server_next_timeout_ms(const tam_feed_server_t *s)
{
    int64_t left = s->last_send_ms + s->heartbeat_ms - tam__feed_now_ms();
    if (s->npending > 0) /* the next slice: now, or soon if every requester was full */
        left = left < (s->pump_blocked ? S_PUMP_RETRY_MS : 0) ? left
                                                              : (s->pump_blocked ? S_PUMP_RETRY_MS : 0);
    int64_t drop = s_subs_drop_in(s);
    if (drop >= 0 && drop < left)
        left = drop;
    return left < 0 ? 0 : (int)left;
}

uint64_t tam_feed_server_seq(const tam_feed_server_t *s)
{
    return s->seq;
}

uint64_t tam_feed_server_epoch(const tam_feed_server_t *s)
{
    return s->epoch;
}

void tam_feed_server_stats(const tam_feed_server_t *s, tam_feed_server_stats_t *out)
{
    *out = s->stats;
}

int tam_feed_server_skip(tam_feed_server_t *s, uint64_t n)
{
    if (!s)
        return TAM_EINVAL;
    s->seq += n;
    return 0;
}
